//! recycle's optional features: `serde`, and `Trace` for the `indexmap`,
//! `hashbrown` and `smallvec` containers.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use recycle::{Gc, GcAny, Trace, Weak, gc};
use serde::{Deserialize, Serialize};

/// Counts its drops.
#[derive(Clone, Default)]
struct Tally(Rc<Cell<usize>>);

struct Token(Tally);

impl Drop for Token {
    fn drop(&mut self) {
        let count = &(self.0).0;
        count.set(count.get() + 1);
    }
}

impl Tally {
    fn token(&self) -> Token {
        Token(self.clone())
    }
    fn dropped(&self) -> usize {
        self.0.get()
    }
}

#[derive(Trace)]
#[allow(dead_code)] // `token` is there for its `Drop`
struct Holder<F: Trace + 'static> {
    edge: F,
    #[trace(skip)]
    token: Token,
}

/// Makes a `Holder` whose field refers back to it (through a `GcAny`),
/// drops it, and returns what a full collection found.
fn collect_self_cycle<F: Trace + 'static>(
    tally: &Tally,
    empty: F,
    close: impl FnOnce(&F, GcAny),
) -> usize {
    let node = Gc::new(Holder {
        edge: empty,
        token: tally.token(),
    });
    close(&node.edge, GcAny::from(node.clone()));
    drop(node);
    gc::collect()
}

#[test]
fn cycles_through_indexmap_hashbrown_and_smallvec_are_collected() {
    let tally = Tally::default();
    let found = collect_self_cycle(
        &tally,
        RefCell::new(indexmap::IndexMap::new()),
        |map, me| {
            map.borrow_mut().insert("me", me);
        },
    );
    assert_eq!((found, tally.dropped()), (1, 1));
    let found = collect_self_cycle(
        &tally,
        RefCell::new(indexmap::IndexSet::new()),
        |set, me| {
            set.borrow_mut().insert(me);
        },
    );
    assert_eq!((found, tally.dropped()), (1, 2));
    let found = collect_self_cycle(
        &tally,
        RefCell::new(hashbrown::HashMap::new()),
        |map, me| {
            map.borrow_mut().insert(me, 1u8);
        },
    );
    assert_eq!((found, tally.dropped()), (1, 3));
    let found = collect_self_cycle(
        &tally,
        RefCell::new(hashbrown::HashSet::new()),
        |set, me| {
            set.borrow_mut().insert(me);
        },
    );
    assert_eq!((found, tally.dropped()), (1, 4));
    let found = collect_self_cycle(
        &tally,
        RefCell::new(smallvec::SmallVec::<[GcAny; 2]>::new()),
        |vec, me| {
            // Spilled to the heap: three items in an inline capacity of two.
            let mut vec = vec.borrow_mut();
            vec.extend([me.clone(), me.clone(), me]);
            assert!(vec.spilled());
        },
    );
    assert_eq!((found, tally.dropped()), (1, 5));
}

#[test]
fn containers_of_leaves_are_untracked() {
    let map: indexmap::IndexMap<String, u32> = [("a".to_string(), 1)].into_iter().collect();
    assert!(!gc::is_tracked(&Gc::new(map)));
    let vec: smallvec::SmallVec<[u8; 4]> = smallvec::smallvec![1, 2];
    assert!(!gc::is_tracked(&Gc::new(vec)));
}

#[derive(Serialize, Deserialize, Trace)]
struct Doc {
    title: String,
    sections: Vec<Gc<Section>>,
}

#[derive(Serialize, Deserialize, Trace)]
struct Section {
    heading: String,
    parent: RefCell<Weak<Doc>>,
}

#[test]
fn a_gc_serializes_as_its_value_and_a_weak_as_an_option() {
    let doc = Gc::new_cyclic(|me: &Weak<Doc>| Doc {
        title: "notes".into(),
        sections: vec![Gc::new(Section {
            heading: "one".into(),
            parent: RefCell::new(me.clone()),
        })],
    });
    // The `Weak` to the document is written as its value, which would be a
    // cycle: the document is being written already.
    let error = serde_json::to_string(&doc).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("a cycle of Gc handles cannot be serialized"),
        "{error}"
    );
    // Without the back link, it is written as a tree.
    *doc.sections[0].parent.borrow_mut() = Weak::new();
    let json = serde_json::to_string(&doc).unwrap();
    assert_eq!(
        json,
        r#"{"title":"notes","sections":[{"heading":"one","parent":null}]}"#
    );
    let back: Gc<Doc> = serde_json::from_str(&json).unwrap();
    assert_eq!(back.title, "notes");
    assert_eq!(back.sections[0].heading, "one");
    assert!(back.sections[0].parent.borrow().upgrade().is_none());
    // A written cycle error leaves nothing behind: the same handle writes
    // again once the cycle is gone.
    assert_eq!(serde_json::to_string(&doc).unwrap(), json);
}

#[test]
fn shared_handles_are_written_in_full_each_time() {
    let shared = Gc::new(String::from("x"));
    let pair = (shared.clone(), shared);
    let json = serde_json::to_string(&pair).unwrap();
    assert_eq!(json, r#"["x","x"]"#);
    let (a, b): (Gc<String>, Gc<String>) = serde_json::from_str(&json).unwrap();
    assert!(!Gc::ptr_eq(&a, &b), "sharing is not kept");
}
