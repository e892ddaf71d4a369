// The collector may look at a value long after the borrow it holds ended.
use recycle::Gc;

fn main() {
    let text = String::from("short-lived");
    let _gc = Gc::new(&text);
}
