//! The recycle demo (placeholder while the library comes up).
fn main() {
    println!("{}", recycle::gc::collect());
}
