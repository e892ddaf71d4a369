// A safe impl cannot borrow another impl's trust: `Trust` names its type.
use std::cell::RefCell;
use recycle::{Gc, Trace, Tracer, Trust};

struct Liar {
    me: RefCell<Option<Gc<Liar>>>,
}

impl Trace for Liar {
    const TRUSTED: Option<Trust<Self>> = <u32 as Trace>::TRUSTED;
    fn trace(&self, t: &mut Tracer) {
        self.me.trace(t);
        self.me.trace(t);
    }
}

fn main() {}
