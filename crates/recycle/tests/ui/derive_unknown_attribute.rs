// A misspelled attribute is an error, not silently ignored.
use recycle::Trace;

#[derive(Trace)]
struct Node {
    #[trace(skipp)]
    data: Vec<u8>,
}

fn main() {}
