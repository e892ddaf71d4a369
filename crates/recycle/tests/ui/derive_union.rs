// The collector cannot know which field of a union is live.
use recycle::Trace;

#[derive(Trace)]
union Either {
    a: u32,
    b: f32,
}

fn main() {}
