//! The demo: the article's reference-counting program retold in Rust, with
//! the counts that really happen, then what counting alone cannot do.

use std::cell::RefCell;
use std::fmt;

use recycle::tracemalloc::{self, KeyType};
use recycle::{Finalize, Gc, Trace, Weak, alloc, gc};

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
    finalizers();
    weak_callback();
    resurrection();
    statistics();
    memory();
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
    println!("    End of demo. Leaving the scope drops obj1, then obj2:");
    // CPython clears a function's locals in the order they were made (obj1
    // first); Rust would drop them in reverse, so the order is made explicit.
    drop(obj1);
    drop(obj2);
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
         returns and its locals go away, obj1 first. That is the output CPython 3.11 \
         prints, and the output above.",
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

/// An object with a PEP 442 finalizer (Python's `__del__` in a cycle).
#[derive(Trace)]
#[trace(finalize)]
struct Account {
    name: &'static str,
    balance: i64,
    partner: RefCell<Option<Gc<Account>>>,
    me: RefCell<Weak<Account>>,
    #[trace(skip)]
    resurrect: bool,
}

thread_local! {
    /// Where a finalizer puts an object it resurrects.
    static ARCHIVE: RefCell<Vec<Gc<Account>>> = const { RefCell::new(Vec::new()) };
}

impl Account {
    fn new(name: &'static str, balance: i64, resurrect: bool) -> Gc<Account> {
        let a = Gc::new(Account {
            name,
            balance,
            partner: RefCell::new(None),
            me: RefCell::new(Weak::new()),
            resurrect,
        });
        *a.me.borrow_mut() = Gc::downgrade(&a);
        a
    }
}

impl Finalize for Account {
    fn finalize(&self) {
        // Every object of the cycle is still intact here.
        let partner = self.partner.borrow().as_ref().map(|p| (p.name, p.balance));
        println!(
            "    finalize {}: balance {}, partner {partner:?}",
            self.name, self.balance
        );
        if self.resurrect {
            let me = self
                .me
                .borrow()
                .upgrade()
                .expect("weak handles work in finalizers");
            println!(
                "    finalize {}: archiving myself (resurrection)",
                self.name
            );
            ARCHIVE.with(|a| a.borrow_mut().push(me));
        }
    }
}

impl Drop for Account {
    fn drop(&mut self) {
        println!("    drop {}", self.name);
    }
}

/// Part 5: finalizers in a cycle run before any value is dropped.
fn finalizers() {
    heading("5. Finalizers (PEP 442): all run first, on intact objects");
    let a = Account::new("savings", 100, false);
    let b = Account::new("checking", 20, false);
    *a.partner.borrow_mut() = Some(b.clone());
    *b.partner.borrow_mut() = Some(a.clone());
    drop((a, b));
    let found = gc::collect();
    println!("    gc::collect() found {found}");
}

/// Part 6: a weak reference with a callback.
fn weak_callback() {
    heading("6. A weak reference with a callback");
    let session = Gc::new(String::from("session #42"));
    let watch = Gc::downgrade_with_callback(&session, || {
        println!("    callback: the session is gone");
    });
    println!("    watching {}; dropping the last handle...", *session);
    drop(session);
    println!("    watch.upgrade() = {:?}", watch.upgrade());
}

/// Part 7: a finalizer resurrects its object; it is never finalized again.
fn resurrection() {
    heading("7. Resurrection");
    let a = Account::new("phoenix", 7, true);
    *a.partner.borrow_mut() = Some(a.clone());
    drop(a);
    let found = gc::collect();
    println!("    gc::collect() found {found}: the object came back, so it does not count");
    let back = ARCHIVE.with(|a| a.borrow_mut().pop()).expect("archived");
    println!(
        "    back from the archive: {} (balance {}), is_finalized = {}",
        back.name,
        back.balance,
        gc::is_finalized(&back)
    );
    back.partner.borrow_mut().take();
    println!("    dropping it for good: no second finalizer call");
    drop(back);
}

/// Part 8: automatic, generational collection and its statistics.
fn statistics() {
    heading("8. Generations and statistics");
    println!(
        "    thresholds {:?} (CPython's defaults from 3.13 on; 3.12 and earlier use (700, 10, 10))",
        gc::get_threshold()
    );
    let before = gc::get_stats();
    for i in 0..20_000 {
        let node = CustomObjectQuiet::cycle(i);
        drop(node);
    }
    println!(
        "    made 20,000 self-referencing objects; counts now {:?}",
        gc::get_count()
    );
    println!("    the automatic collections this part ran (parts 1-7 ran explicit ones):");
    for (generation, (s, was)) in gc::get_stats().iter().zip(&before).enumerate() {
        println!(
            "    generation {generation}: {:>3} collections, {:>6} collected, {:>6} examined, {:?}",
            s.collections - was.collections,
            s.collected - was.collected,
            s.candidates - was.candidates,
            s.duration.saturating_sub(was.duration)
        );
    }
    println!("    gc::collect() frees the rest: {}", gc::collect());
}

/// A silent cycle member, for the statistics part.
#[derive(Trace)]
struct CustomObjectQuiet {
    id: usize,
    me: RefCell<Option<Gc<CustomObjectQuiet>>>,
}

impl CustomObjectQuiet {
    fn cycle(id: usize) -> Gc<CustomObjectQuiet> {
        let c = Gc::new(CustomObjectQuiet {
            id,
            me: RefCell::new(None),
        });
        *c.me.borrow_mut() = Some(c.clone());
        debug_assert_eq!(c.id, id);
        c
    }
}

/// A tree node with a weak link to its parent, for part 9.
#[derive(Trace)]
struct TreeNode {
    label: u32,
    parent: RefCell<Weak<TreeNode>>,
    children: RefCell<Vec<Gc<TreeNode>>>,
}

/// A doubly linked list cell (strong links both ways: cycles), for part 9.
#[derive(Trace)]
struct ListCell {
    value: u64,
    next: RefCell<Option<Gc<ListCell>>>,
    prev: RefCell<Option<Gc<ListCell>>>,
}

/// Part 9: where the memory is: the pool allocator's table and tracemalloc.
fn memory() {
    heading("9. Memory: the pool allocator and tracemalloc");
    tracemalloc::start();
    let before = tracemalloc::take_snapshot();

    let root = Gc::new(TreeNode {
        label: 0,
        parent: RefCell::new(Weak::new()),
        children: RefCell::new(Vec::new()),
    });
    for label in 1..=1_000 {
        let child = Gc::new(TreeNode {
            label,
            parent: RefCell::new(Gc::downgrade(&root)),
            children: RefCell::new(Vec::new()),
        });
        root.children.borrow_mut().push(child);
    }
    let head = Gc::new(ListCell {
        value: 0,
        next: RefCell::new(None),
        prev: RefCell::new(None),
    });
    let mut tail = head.clone();
    for value in 1..2_000 {
        let cell = Gc::new(ListCell {
            value,
            next: RefCell::new(None),
            prev: RefCell::new(Some(tail.clone())),
        });
        *tail.next.borrow_mut() = Some(cell.clone());
        tail = cell;
    }
    let numbers: Vec<Gc<u64>> = (0..3_000).map(|n| Gc::new(n)).collect();
    let names: Vec<Gc<String>> = (0..500).map(|n| Gc::new(format!("name {n}"))).collect();
    let big = Gc::new([0u8; 4096]);

    println!("    a tree of 1,001 nodes with parent links, a 2,000-cell doubly linked");
    println!("    list, 3,000 numbers, 500 strings and one 4 KiB array; the allocator");
    println!("    (as CPython's sys._debugmallocstats()):\n");
    for line in alloc::stats().to_string().lines() {
        println!("    {line}");
    }

    let after = tracemalloc::take_snapshot();
    println!("\n    tracemalloc, top 5 lines by size (as Python's snapshot.statistics('lineno')):");
    for stat in after.statistics(KeyType::Line).iter().take(5) {
        println!("    {stat}");
    }
    println!("\n    the same, grouped by type:");
    for stat in after.statistics(KeyType::TypeName).iter().take(5) {
        // The demo's own types, by the names a reader knows them by (the
        // full paths name the demo's module: `recycle::demo::ListCell`).
        println!("    {}", short_type_names(&stat.to_string()));
    }
    let growth = after.compare_to(&before, KeyType::Line);
    println!("\n    biggest growth since the part began: {}", growth[0]);

    let leaf = root.children.borrow()[999].clone();
    let parent = leaf.parent.borrow().upgrade().map(|p| p.label);
    println!(
        "    (the last leaf is {}, its parent {parent:?})",
        leaf.label
    );
    drop((leaf, root, numbers, names, big));
    drop((head, tail));
    let (current, peak) = tracemalloc::get_traced_memory();
    println!("\n    all dropped: {current} bytes still traced (the list's cycles), peak {peak}");
    println!("    gc::collect() frees the list: {}", gc::collect());
    let (current, peak) = tracemalloc::get_traced_memory();
    println!("    now traced: {current} bytes, peak {peak}");
    tracemalloc::stop();
}

/// `text` with every type path shortened to its last segment
/// (`alloc::string::String` to `String`, `recycle::demo::ListCell` to
/// `ListCell`).
fn short_type_names(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    for c in text.chars().chain(core::iter::once(' ')) {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            word.push(c);
            continue;
        }
        match word.rfind("::") {
            Some(at) if !word.ends_with("::") => out.push_str(&word[at + 2..]),
            _ => out.push_str(&word),
        }
        word.clear();
        out.push(c);
    }
    out.pop();
    out
}
