// Sharing a &Gc across threads would let two threads clone it at once.
use recycle::Gc;

fn require_sync<T: Sync>(_: &T) {}

fn main() {
    let gc = Gc::new(1u32);
    require_sync(&gc);
}
