// A type alias of the type itself is the type itself: asking for its trust
// inside its own impl is a cycle the compiler refuses, never a trust.
use std::cell::RefCell;
use recycle::{Gc, Trace, Tracer, Trust};

type Me = Liar;

struct Liar {
    me: RefCell<Option<Gc<Liar>>>,
}

impl Trace for Liar {
    const TRUSTED: Option<Trust<Self>> = <Me as Trace>::TRUSTED;
    fn trace(&self, t: &mut Tracer) {
        self.me.trace(t);
    }
}

fn main() {
    let _ = <Liar as Trace>::TRUSTED;
}
