// A Gc's count is not atomic: moving one to another thread must not compile.
use recycle::Gc;

fn main() {
    let gc = Gc::new(1u32);
    std::thread::spawn(move || {
        let _ = *gc;
    });
}
