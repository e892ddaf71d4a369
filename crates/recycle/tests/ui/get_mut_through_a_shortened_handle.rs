// A `Gc` is covariant, as `Rc` is; writing a shorter-lived reference
// through a shortened handle must not compile, or it could be read back as
// `'static` through `gc::get_objects` or `GcAny::downcast` (the sixth
// outside audit's use after free).
use recycle::{Gc, GcAny};

fn main() {
    let g: Gc<Vec<&'static str>> = Gc::new(Vec::new());
    let any;
    {
        let local = String::from("short-lived");
        let mut short: Gc<Vec<&str>> = g;
        Gc::get_mut(&mut short).unwrap().push(&local);
        any = GcAny::from(short);
    }
    let back: Gc<Vec<&'static str>> = any.downcast().unwrap();
    println!("{}", back[0]);
}
