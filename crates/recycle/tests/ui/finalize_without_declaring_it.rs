// An `impl Finalize` on a type whose derive does not say `#[trace(finalize)]`
// would never run: it must not compile.
use recycle::{Finalize, Trace};

#[derive(Trace)]
struct Resource {
    open: bool,
}

impl Finalize for Resource {
    fn finalize(&self) {}
}

fn main() {}
