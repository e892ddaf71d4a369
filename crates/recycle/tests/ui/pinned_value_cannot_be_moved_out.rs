// A value pinned by `Gc::pin` cannot be moved: the `Pin` gives no `Gc<T>`
// to `try_unwrap` and no `&mut Gc<T>` to `get_mut` (the heap's own routes,
// `GcAny::downcast`, never find the object: tested at run time).
use std::marker::PhantomPinned;
use std::pin::Pin;

use recycle::Gc;

fn main() {
    let pinned: Pin<Gc<PhantomPinned>> = Gc::pin(PhantomPinned);
    let mut handle: Gc<PhantomPinned> = Pin::into_inner(pinned);
    let _moved = Gc::get_mut(&mut handle).map(std::mem::take);
}
