// A boxed closure cannot be traced: the error points to `TracedFn`.
use recycle::Trace;

#[derive(Trace)]
struct Button {
    on_click: Box<dyn Fn()>,
}

fn main() {}
