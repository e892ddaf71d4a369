//! `TracedFn`: callbacks whose captured handles the collector sees.

use std::cell::{Cell, RefCell};

use recycle::{Gc, Trace, TracedFn, Tracer, gc};

use crate::common::{Tally, Token};

#[derive(Trace)]
struct Element {
    listeners: RefCell<Vec<TracedFn<u32, bool>>>,
    parent: RefCell<Option<Gc<Element>>>,
    seen: Cell<u32>,
    #[trace(skip)]
    token: Token,
}

fn element(tally: &Tally) -> Gc<Element> {
    Gc::new(Element {
        listeners: RefCell::default(),
        parent: RefCell::default(),
        seen: Cell::new(0),
        token: tally.token(),
    })
}

#[test]
fn a_listener_that_captures_its_element_is_collected_with_it() {
    let tally = Tally::new();
    let parent = element(&tally);
    let child = element(&tally);
    *child.parent.borrow_mut() = Some(parent.clone());
    // Each listener captures both elements: cycles through the closures.
    let listener = TracedFn::new(
        (parent.clone(), child.clone()),
        |(parent, child): &(Gc<Element>, Gc<Element>), event: u32| {
            parent.seen.set(parent.seen.get() + event);
            child.seen.set(child.seen.get() + 1);
            event > 1
        },
    );
    child.listeners.borrow_mut().push(listener);
    let fired: Vec<bool> = child.listeners.borrow().iter().map(|l| l.call(5)).collect();
    assert_eq!(fired, [true]);
    assert_eq!((parent.seen.get(), child.seen.get()), (5, 1));
    assert_eq!(
        format!("{:?}", child.listeners.borrow()[0]),
        format!(
            "[TracedFn(captures: {})]",
            std::any::type_name::<(Gc<Element>, Gc<Element>)>()
        )
        .trim_matches(['[', ']'])
    );
    drop((parent, child));
    assert_eq!(gc::collect(), 2);
    assert_eq!(tally.dropped(), 2);
}

/// Captures whose `Trace` is not trusted are opaque: what they hold stays
/// alive (a leak, never an early free), and the callback still works.
#[test]
fn untrusted_captures_leak_but_stay_usable() {
    struct Untrusted(Gc<Element>);
    impl Trace for Untrusted {
        fn trace(&self, tracer: &mut Tracer) {
            self.0.trace(tracer)
        }
    }
    let tally = Tally::new();
    let node = element(&tally);
    let listener = TracedFn::new(Untrusted(node.clone()), |held: &Untrusted, n: u32| {
        held.0.seen.set(n);
        true
    });
    node.listeners.borrow_mut().push(listener);
    let weak = Gc::downgrade(&node);
    drop(node);
    assert_eq!(gc::collect(), 0);
    assert_eq!(tally.dropped(), 0);
    let node = weak.upgrade().expect("kept alive by its listener");
    assert!(node.listeners.borrow()[0].call(7));
    assert_eq!(node.seen.get(), 7);
    // Breaking the cycle by hand frees it.
    node.listeners.borrow_mut().clear();
    drop(node);
    assert_eq!(tally.dropped(), 1);
}

/// A listener may run a collection: the `TracedFn` it runs from is held
/// by the caller (taken out of its `RefCell` first, so that the listener
/// can borrow the list), and its captures stay alive.
#[test]
fn a_listener_may_collect_while_it_runs() {
    let tally = Tally::new();
    let node = element(&tally);
    let listener = TracedFn::new(node.clone(), |node: &Gc<Element>, _: u32| {
        let taken = std::mem::take(&mut *node.listeners.borrow_mut());
        drop(taken);
        gc::collect();
        node.seen.get() == 0
    });
    node.listeners.borrow_mut().push(listener);
    let running = node.listeners.borrow_mut().pop().unwrap();
    assert!(running.call(0));
    drop(running);
    drop(node);
    assert_eq!(tally.dropped(), 1);
}
