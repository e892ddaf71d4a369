//! Drawing your own heap: a small DOM with parent links, an event listener
//! that captures its element, and a detached subtree that became garbage,
//! drawn by `HeapSnapshot::to_svg` and `to_html` (or saved as JSON for
//! `recycle graph --from`).
//!
//! `cargo run -p recycle --example draw_heap [-- OUT.svg]` writes the
//! picture (and the page and the JSON beside it) to OUT.svg, by default in
//! the system's temporary directory.

use std::cell::RefCell;
use std::path::PathBuf;

use recycle::{Gc, GcAny, Trace, TracedFn, Weak, gc};

#[derive(Trace)]
struct Element {
    #[trace(skip)]
    tag: &'static str,
    parent: RefCell<Weak<Element>>,
    children: RefCell<Vec<Gc<Element>>>,
    listeners: RefCell<Vec<TracedFn<&'static str>>>,
}

fn element(tag: &'static str, parent: Option<&Gc<Element>>) -> Gc<Element> {
    let node = Gc::new(Element {
        tag,
        parent: RefCell::new(parent.map_or_else(Weak::new, Gc::downgrade)),
        children: RefCell::default(),
        listeners: RefCell::default(),
    });
    if let Some(parent) = parent {
        parent.children.borrow_mut().push(node.clone());
    }
    node
}

fn main() -> std::io::Result<()> {
    let out = std::env::args().nth(1).map_or_else(
        || std::env::temp_dir().join("recycle-heap.svg"),
        PathBuf::from,
    );

    let body = element("body", None);
    let form = element("form", Some(&body));
    let button = element("button", Some(&form));
    let _input = element("input", Some(&form));
    // The listener captures the form it submits: a cycle through a closure,
    // which the collector sees because the closure is a `TracedFn`.
    let submit = TracedFn::new(form.clone(), |form: &Gc<Element>, event| {
        println!("{event} on <{}>", form.tag);
    });
    button.listeners.borrow_mut().push(submit);
    // A dialog removed from the page, whose close button still listens to
    // it: garbage, held only by its own cycle.
    let dialog = element("dialog", None);
    let close = element("button", Some(&dialog));
    let hide = TracedFn::new(dialog.clone(), |dialog: &Gc<Element>, event| {
        println!("{event}: hide <{}>", dialog.tag);
    });
    close.listeners.borrow_mut().push(hide);
    drop((dialog, close));
    button.listeners.borrow()[0].call("click");

    // Label each object by its tag: the picture says `<form>`, not `Element`.
    let snapshot = gc::snapshot_with(|object: &GcAny| {
        object.downcast::<Element>().map(|e| format!("<{}>", e.tag))
    });
    std::fs::write(&out, snapshot.to_svg())?;
    std::fs::write(
        out.with_extension("html"),
        snapshot.to_html("my page's heap"),
    )?;
    std::fs::write(out.with_extension("json"), snapshot.to_json())?;
    println!(
        "{} objects, {} cycles; wrote {} (and .html, .json: `recycle graph --from` draws the JSON)",
        snapshot.objects.len(),
        snapshot.cycles.len(),
        out.display()
    );
    assert_eq!(gc::collect(), 2, "the detached dialog and its button");
    drop(body);
    Ok(())
}
