//! `gc::snapshot`: objects, counts, generations, edges, cycles, garbage
//! captured with SAVEALL, and the DOT and JSON exports.

use std::cell::RefCell;

use recycle::gc::{self, DebugFlags, HeapSnapshot};
use recycle::{Finalize, Gc, GcAny, Trace, Weak};

use crate::common::{Node, Tally};

fn index(snapshot: &HeapSnapshot, object: &Gc<Node>) -> usize {
    snapshot
        .index_of(&GcAny::from(object.clone()))
        .expect("the object is in the snapshot")
}

#[test]
fn objects_counts_edges_and_cycles() {
    let tally = Tally::new();
    // a <-> b (a cycle), a -> c (not part of it), c -> c (a self-loop).
    let (a, b, c) = (
        Node::new(1, &tally),
        Node::new(2, &tally),
        Node::new(3, &tally),
    );
    a.link(&b);
    b.link(&a);
    a.link(&c);
    c.link(&c);
    let weak = Gc::downgrade(&a);
    let before = (
        Gc::strong_count(&a),
        Gc::strong_count(&b),
        Gc::strong_count(&c),
    );

    let snapshot = gc::snapshot();
    let (ia, ib, ic) = (
        index(&snapshot, &a),
        index(&snapshot, &b),
        index(&snapshot, &c),
    );
    let oa = &snapshot.objects[ia];
    assert_eq!((oa.strong, oa.weak), (2, 1), "`a` and b's edge; `weak`");
    assert_eq!(
        snapshot.objects[ic].strong, 3,
        "`c`, a's edge, its own edge"
    );
    assert!(oa.type_name.ends_with("common::Node"));
    assert_eq!(oa.generation, Some(0));
    assert!(!oa.frozen && !oa.finalized && !oa.garbage);
    let mut from_a: Vec<usize> = snapshot.referents_of(ia).collect();
    from_a.sort_unstable();
    let mut expected = vec![ib, ic];
    expected.sort_unstable();
    assert_eq!(from_a, expected);
    assert_eq!(snapshot.referents_of(ic).collect::<Vec<_>>(), vec![ic]);

    assert_eq!(snapshot.cycles.len(), 2, "{:?}", snapshot.cycles);
    assert_eq!(oa.cycle, snapshot.objects[ib].cycle);
    assert!(oa.cycle.is_some());
    assert_ne!(snapshot.objects[ic].cycle, oa.cycle);
    assert!(
        snapshot.objects[ic].cycle.is_some(),
        "a self-loop is a cycle"
    );

    drop(snapshot);
    assert_eq!(
        (
            Gc::strong_count(&a),
            Gc::strong_count(&b),
            Gc::strong_count(&c)
        ),
        before,
        "the snapshot's handles are gone"
    );
    drop((a, b, c, weak));
    assert_eq!(gc::collect(), 3);
}

/// Tracked: its handles sit in a `RefCell` (else it would be untracked at
/// birth, all its handles being to untracked objects).
#[derive(Trace)]
struct Holder {
    name: Gc<String>,
    numbers: RefCell<Vec<Gc<u64>>>,
}

#[test]
fn untracked_referents_appear_with_no_generation() {
    let name = Gc::new("a name".to_string());
    let holder = Gc::new(Holder {
        name: name.clone(),
        numbers: RefCell::new(vec![Gc::new(7), Gc::new(8)]),
    });
    let snapshot = gc::snapshot();
    let ih = snapshot.index_of(&GcAny::from(holder.clone())).unwrap();
    let referents: Vec<usize> = snapshot.referents_of(ih).collect();
    assert_eq!(referents.len(), 3);
    let i_name = snapshot.index_of(&GcAny::from(name.clone())).unwrap();
    assert!(referents.contains(&i_name));
    let o = &snapshot.objects[i_name];
    assert_eq!(
        (o.generation, o.strong),
        (None, 2),
        "untracked: `name` and the field"
    );
    assert_eq!(o.type_name, "alloc::string::String");
    assert!(snapshot.cycles.is_empty());
    assert_eq!(o.caption().1, "strong 2, untracked");
}

#[test]
fn saveall_garbage_is_captured_before_it_is_freed() {
    let tally = Tally::new();
    let (a, b) = (Node::new(1, &tally), Node::new(2, &tally));
    a.link(&b);
    b.link(&a);
    drop((a, b));
    gc::set_debug(DebugFlags::SAVEALL);
    assert_eq!(gc::collect(), 2);
    gc::set_debug(DebugFlags::empty());
    let snapshot = gc::snapshot();
    let garbage: Vec<_> = snapshot.objects.iter().filter(|o| o.garbage).collect();
    assert_eq!(garbage.len(), 2);
    for o in &garbage {
        assert_eq!(o.strong, 1, "only the other's edge: {o:?}");
        assert!(o.cycle.is_some());
    }
    assert!(snapshot.to_dot().contains("dashed"));
    drop(gc::take_garbage());
    assert_eq!(gc::collect(), 2);
    assert_eq!(tally.dropped(), 2);
}

#[derive(Trace)]
#[trace(finalize)]
struct Returner {
    me: RefCell<Weak<Returner>>,
}

thread_local! {
    static KEPT: RefCell<Vec<Gc<Returner>>> = const { RefCell::new(Vec::new()) };
}

impl Finalize for Returner {
    fn finalize(&self) {
        let me = self
            .me
            .borrow()
            .upgrade()
            .expect("weak handles work in finalizers");
        KEPT.with(|k| k.borrow_mut().push(me));
    }
}

#[test]
fn frozen_finalized_and_older_generations_are_told_apart() {
    let r = Gc::new(Returner {
        me: RefCell::new(Weak::new()),
    });
    *r.me.borrow_mut() = Gc::downgrade(&r);
    drop(r); // finalized, resurrected into KEPT
    let r = KEPT.with(|k| k.borrow()[0].clone());
    let tally = Tally::new();
    let old = Node::new(1, &tally);
    gc::collect(); // survivors go to the oldest generation
    let young = Node::new(2, &tally);

    let snapshot = gc::snapshot();
    let ir = snapshot.index_of(&GcAny::from(r.clone())).unwrap();
    assert!(snapshot.objects[ir].finalized);
    assert!(snapshot.objects[ir].caption().1.ends_with("finalized"));
    assert_eq!(snapshot.objects[index(&snapshot, &old)].generation, Some(2));
    assert_eq!(
        snapshot.objects[index(&snapshot, &young)].generation,
        Some(0)
    );

    gc::freeze();
    let frozen = gc::snapshot();
    assert!(frozen.objects[index(&frozen, &young)].frozen);
    gc::unfreeze();
    drop((r, old, young));
    KEPT.with(|k| k.borrow_mut().clear());
}

#[test]
fn labels_come_from_the_labeller() {
    let tally = Tally::new();
    let n = Node::new(41, &tally);
    let snapshot = gc::snapshot_with(|o| o.downcast::<Node>().map(|n| format!("node {}", n.id)));
    let o = &snapshot.objects[index(&snapshot, &n)];
    assert_eq!(o.label.as_deref(), Some("node 41"));
    assert_eq!(o.caption().0, "node 41");
    assert!(
        snapshot
            .to_dot()
            .contains("label=\"node 41\\nstrong 1, gen 0\"")
    );
}

#[test]
fn json_is_valid_and_complete() {
    let tally = Tally::new();
    let (a, b) = (Node::new(1, &tally), Node::new(2, &tally));
    a.link(&b);
    b.link(&a);
    let snapshot = gc::snapshot_with(|o| Some(format!("\"quoted\"\n{}", o.type_name())));
    let json: serde_json::Value = serde_json::from_str(&snapshot.to_json()).expect("valid JSON");
    let objects = json["objects"].as_array().unwrap();
    assert_eq!(objects.len(), snapshot.objects.len());
    let ia = index(&snapshot, &a);
    assert_eq!(objects[ia]["strong"], 2);
    assert_eq!(objects[ia]["generation"], 0);
    assert!(
        objects[ia]["label"]
            .as_str()
            .unwrap()
            .starts_with("\"quoted\"\n")
    );
    assert_eq!(
        json["edges"].as_array().unwrap().len(),
        snapshot.edges.len()
    );
    assert_eq!(json["cycles"].as_array().unwrap().len(), 1);
    drop((a, b));
    gc::collect();
}

/// A snapshot runs every `trace` twice (strong edges, then weak ones). An
/// untrusted `trace` that empties its own value, drops the last handle to
/// another object and collects, between or during the two passes, changes
/// nothing the snapshot relies on: every object stays held until the counts
/// are read, and the weak pass skips what is gone.
#[test]
fn a_trace_that_changes_the_heap_between_the_snapshot_passes_is_harmless() {
    use std::cell::{Cell, RefCell};

    use recycle::{Tracer, Weak};

    struct Shifty {
        held: RefCell<Option<Gc<u32>>>,
        back: RefCell<Weak<Shifty>>,
        calls: Cell<u32>,
    }
    impl Trace for Shifty {
        fn trace(&self, tracer: &mut Tracer) {
            let calls = self.calls.get() + 1;
            self.calls.set(calls);
            if let Some(held) = &*self.held.borrow() {
                held.trace(tracer);
            }
            self.back.borrow().trace(tracer);
            if calls == 1 {
                // After the strong pass reported it, the held object dies.
                drop(self.held.borrow_mut().take());
                *self.back.borrow_mut() = Weak::new();
                gc::collect();
            }
        }
    }
    let shifty = Gc::new(Shifty {
        held: RefCell::new(Some(Gc::new(7))),
        back: RefCell::new(Weak::new()),
        calls: Cell::new(0),
    });
    *shifty.back.borrow_mut() = Gc::downgrade(&shifty);
    let snapshot = gc::snapshot();
    assert!(shifty.calls.get() >= 2, "both passes ran");
    let me = snapshot
        .index_of(&recycle::GcAny::from(&shifty))
        .expect("the object is in the snapshot");
    // The strong pass saw the `u32`, held by the snapshot until it read the
    // counts; the weak pass, after the trace cleared its weak handle, saw none.
    assert_eq!(snapshot.referents_of(me).count(), 1);
    assert!(snapshot.weak_edges.is_empty());
    drop(snapshot);
    assert!(shifty.held.borrow().is_none());
}
