// A field whose type has no `Trace` says how to skip it or trace it.
use recycle::Trace;

struct Socket;

#[derive(Trace)]
struct Conn {
    socket: Socket,
}

fn main() {}
