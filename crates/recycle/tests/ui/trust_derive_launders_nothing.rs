// The derive trusts a type only when every traced field's type is trusted,
// whatever the field's type looks like: checked at compile time here.
use std::cell::RefCell;
use std::marker::PhantomData;
use recycle::{Gc, Trace, Tracer};

struct Evil(Gc<u8>);
impl Trace for Evil {
    fn trace(&self, t: &mut Tracer) {
        self.0.trace(t);
        self.0.trace(t);
    }
}

type Alias = (Evil, PhantomData<Holder>);

macro_rules! evil_field {
    ($t:ty) => { (Evil, PhantomData<$t>) };
}

#[derive(Trace)]
struct Holder {
    a: (Evil, PhantomData<Holder>),
    b: Vec<(Self, Evil)>,
    c: Alias,
    d: evil_field!(Self),
    me: RefCell<Option<Gc<Holder>>>,
}

#[derive(Trace)]
struct Generic<T> {
    t: T,
    me: RefCell<Option<Gc<Generic<T>>>>,
}

const _: () = assert!(<Holder as Trace>::TRUSTED.is_some());
const _: () = assert!(<Generic<Evil> as Trace>::TRUSTED.is_some());

fn main() {}
