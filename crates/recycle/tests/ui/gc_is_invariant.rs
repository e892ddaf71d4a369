// A `Gc` is invariant (unlike `Rc`): an object can be found again with the
// type it was made with (`GcAny::downcast`, `gc::get_objects`), so a handle
// that saw it as a supertype could write what the real type forbids (the
// seventh outside audit's use after free, through a higher-ranked `fn`).
use recycle::{Gc, Trace, Weak};

#[derive(Trace)]
struct Holder<F>(#[trace(skip)] F);

fn main() {
    let real: Gc<Holder<for<'a> fn(&'a str)>> = Gc::new(Holder((|_| {}) as for<'a> fn(&'a str)));
    let weak: Weak<Holder<for<'a> fn(&'a str)>> = Gc::downgrade(&real);
    let _view: Gc<Holder<fn(&'static str)>> = real;
    let _weak_view: Weak<Holder<fn(&'static str)>> = weak;
}
