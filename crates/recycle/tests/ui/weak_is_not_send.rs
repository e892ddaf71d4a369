// A Weak shares the same non-atomic counts.
use recycle::{Gc, Weak};

fn require_send<T: Send>(_: T) {}

fn main() {
    let gc = Gc::new(1u32);
    let weak: Weak<u32> = Gc::downgrade(&gc);
    require_send(weak);
}
