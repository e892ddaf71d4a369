// `coerce_gc!` unsizes; it must not do what invariance forbids (its raw
// pointer is a `*mut`, which is invariant too).
use recycle::{Gc, Trace, coerce_gc};

#[derive(Trace)]
struct Holder<F>(#[trace(skip)] F);

fn main() {
    let real: Gc<Holder<for<'a> fn(&'a str)>> = Gc::new(Holder((|_| {}) as for<'a> fn(&'a str)));
    let _view: Gc<Holder<fn(&'static str)>> = coerce_gc!(real);
}
