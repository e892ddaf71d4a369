//! A doubly linked list with strong links both ways: every pair of
//! neighbours is a reference cycle. With `Rc` this needs `Weak` back-links;
//! with `Gc`, `gc::collect()` frees the list once nothing outside holds it.
//!
//! `cargo run -p recycle --example doubly_linked_list`

use std::cell::RefCell;

use recycle::{Gc, Trace, gc};

#[derive(Trace)]
struct Node {
    value: u32,
    prev: RefCell<Option<Gc<Node>>>,
    next: RefCell<Option<Gc<Node>>>,
}

/// Builds a list of `values`; returns its head.
fn build(values: impl IntoIterator<Item = u32>) -> Option<Gc<Node>> {
    let mut head: Option<Gc<Node>> = None;
    let mut tail: Option<Gc<Node>> = None;
    for value in values {
        let node = Gc::new(Node {
            value,
            prev: RefCell::new(tail.clone()),
            next: RefCell::new(None),
        });
        match &tail {
            Some(t) => *t.next.borrow_mut() = Some(node.clone()),
            None => head = Some(node.clone()),
        }
        tail = Some(node);
    }
    head
}

fn main() {
    let head = build(1..=5).expect("non-empty");

    // Walk forwards, then back from the tail.
    let mut forwards = vec![];
    let mut node = Some(head.clone());
    let mut last = head.clone();
    while let Some(n) = node {
        forwards.push(n.value);
        node = n.next.borrow().clone();
        last = n;
    }
    let mut backwards = vec![];
    let mut node = Some(last);
    while let Some(n) = node {
        backwards.push(n.value);
        node = n.prev.borrow().clone();
    }
    println!("forwards  {forwards:?}");
    println!("backwards {backwards:?}");
    assert_eq!(backwards, [5, 4, 3, 2, 1]);

    println!(
        "strong count of the head: {} (ours and node 2's prev)",
        Gc::strong_count(&head)
    );
    drop(head);
    // Every node is still referenced by a neighbour: counting frees nothing.
    let freed = gc::collect();
    println!("gc::collect() freed {freed} nodes");
    assert_eq!(freed, 5);
}
