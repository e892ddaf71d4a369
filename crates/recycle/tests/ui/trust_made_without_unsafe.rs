// There is no safe constructor, conversion or combinator.
use recycle::{Trace, Tracer, Trust};

struct Liar;

impl Trace for Liar {
    const TRUSTED: Option<Trust<Self>> = Some(Trust::new_unchecked());
    fn trace(&self, _: &mut Tracer) {}
}

struct Liar2;

impl Trace for Liar2 {
    const TRUSTED: Option<Trust<Self>> = Trust::all(<u8 as Trace>::TRUSTED, <u8 as Trace>::TRUSTED);
    fn trace(&self, _: &mut Tracer) {}
}

struct Liar3;

impl Trace for Liar3 {
    const TRUSTED: Option<Trust<Self>> = match <u8 as Trace>::TRUSTED {
        Some(t) => Some(Trust::from(t)),
        None => None,
    };
    fn trace(&self, _: &mut Tracer) {}
}

fn main() {}
