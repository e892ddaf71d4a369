//! The demo: the article's reference-counting program retold in Rust, with
//! the counts that really happen, then what counting alone cannot do.

use std::cell::RefCell;
use std::fmt;

use recycle::{Gc, Trace, Weak, gc};

/// The article's `CustomObject`: some data, and a destructor that says so.
#[derive(Trace)]
struct CustomObject {
    name: &'static str,
    data: String,
    /// Not in the article: lets part 2 build a reference cycle.
    partner: RefCell<Option<Gc<CustomObject>>>,
}

impl CustomObject {
    fn new(name: &'static str) -> Gc<CustomObject> {
        Gc::new(CustomObject {
            name,
            data: "Some data".into(),
            partner: RefCell::new(None),
        })
    }
}

impl fmt::Display for CustomObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<CustomObject {} at {:p}>", self.name, self)
    }
}

impl Drop for CustomObject {
    /// Python's `__del__` in the article.
    fn drop(&mut self) {
        println!("    {self} is being deleted");
    }
}

fn heading(title: &str) {
    println!("\n== {title} ==\n");
}

/// Runs every part of the demo.
pub(crate) fn run() {
    println!(
        "recycle {}: CPython's memory management, in Rust.",
        env!("CARGO_PKG_VERSION")
    );
    article();
    what_the_article_got_wrong();
    cycle();
    weak_reference();
}

/// Part 1: the article's program, line for line.
fn article() {
    heading("1. The article's program, in Rust");
    println!("    Creating objects...");
    let obj1 = CustomObject::new("obj1");
    let obj2 = CustomObject::new("obj2");
    println!("    Reference count for obj1: {}", Gc::strong_count(&obj1));

    let x = Gc::clone(&obj1);
    let y = Gc::clone(&obj1);
    let z = Gc::clone(&obj1);
    println!(
        "    Incremented reference count for obj1: {}",
        Gc::strong_count(&obj1)
    );

    drop(x);
    drop(y);
    drop(z);
    println!(
        "    Decremented reference count for obj1: {}",
        Gc::strong_count(&obj1)
    );
    println!("    (nothing is deleted: obj1 still refers to it)");

    println!("    Forcing garbage collection...");
    let found = gc::collect();
    println!("    gc::collect() found {found} unreachable objects: both objects are still in use");
    println!("    Reference count for obj2: {}", Gc::strong_count(&obj2));
    println!(
        "    {} and {} still hold '{}'",
        obj1.name, obj2.name, obj2.data
    );
    println!("    End of demo. Leaving the scope drops obj2, then obj1:");
    // Rust drops locals in reverse order of declaration; CPython clears a
    // function's locals in order (obj1 first). Either way: at scope exit.
}

/// Part 2: where the article's printed output was wrong, and why.
fn what_the_article_got_wrong() {
    heading("2. What the article's printed output got wrong");
    let points = [
        "It prints \"is being deleted\" right after the count went from 4 back to 1. \
         An object is deleted when its count reaches 0, not when it drops: obj1 was \
         still bound, and CPython 3.11 prints nothing there.",
        "It shows gc.collect() deleting an object. The collector frees only garbage \
         that counting cannot free (reference cycles); obj1 and obj2 were referenced, \
         so gc.collect() freed nothing, as gc::collect() above found 0.",
        "It prints \"Reference Count for obj2: 0\". obj2 was alive, so its count was 1. \
         A live object never has count 0: reading the count of a freed object would \
         be reading freed memory.",
        "Both objects are really deleted after \"End of demo.\", when the function \
         returns and its locals go away. That is the output CPython 3.11 prints, and \
         the output above.",
    ];
    for (i, point) in points.iter().enumerate() {
        println!("    {}. {}", i + 1, wrap(point, 72, 7));
    }
}

/// Part 3: a reference cycle, which counting cannot free.
fn cycle() {
    heading("3. A reference cycle: what counting cannot free");
    let a = CustomObject::new("a");
    let b = CustomObject::new("b");
    *a.partner.borrow_mut() = Some(b.clone());
    *b.partner.borrow_mut() = Some(a.clone());
    println!(
        "    a and b refer to each other: counts {} and {}",
        Gc::strong_count(&a),
        Gc::strong_count(&b)
    );
    drop(a);
    drop(b);
    println!(
        "    dropped both handles: nothing is deleted, each is still referenced by the other."
    );
    println!("    (std::rc::Rc would leak them here, forever.)");
    println!("    Forcing garbage collection...");
    let found = gc::collect();
    println!("    gc::collect() found {found} unreachable objects and freed them");
}

/// Part 4: a weak reference sees its referent go.
fn weak_reference() {
    heading("4. A weak reference");
    let a = CustomObject::new("c");
    *a.partner.borrow_mut() = Some(a.clone());
    let weak: Weak<CustomObject> = Gc::downgrade(&a);
    drop(a);
    let alive = weak.upgrade().map(|c| c.to_string());
    println!("    c refers to itself; its handle is dropped. weak.upgrade() = {alive:?}");
    println!("    Forcing garbage collection...");
    let found = gc::collect();
    println!(
        "    gc::collect() found {found}; now weak.upgrade() = {:?}",
        weak.upgrade().map(|c| c.to_string())
    );
}

/// Wraps `text` at `width` columns, indenting continuation lines.
fn wrap(text: &str, width: usize, indent: usize) -> String {
    let mut out = String::new();
    let mut column = 0;
    for word in text.split_whitespace() {
        if column > 0 && column + 1 + word.len() > width {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            column = 0;
        } else if column > 0 {
            out.push(' ');
            column += 1;
        }
        out.push_str(word);
        column += word.len();
    }
    out
}
