// A generic impl cannot pass its part's trust on as its own.
use recycle::{Trace, Tracer, Trust};

struct Twice<T>(T);

impl<T: Trace> Trace for Twice<T> {
    const TRUSTED: Option<Trust<Self>> = T::TRUSTED;
    fn trace(&self, t: &mut Tracer) {
        self.0.trace(t);
        self.0.trace(t);
    }
}

fn main() {}
