//! Introspection: `GcAny`, `get_objects`, `get_referents`, `get_referrers`,
//! `freeze`. Tests that follow CPython's Lib/test/test_gc.py name it.

use std::cell::RefCell;

use recycle::{Gc, GcAny, Trace, Tracer, gc};

use crate::common::{Node, Tally};

fn contains(list: &[GcAny], gc: &Gc<Node>) -> bool {
    list.iter().any(|o| o.ptr_eq(&GcAny::from(gc)))
}

#[test]
fn gc_any_keeps_alive_names_and_downcasts() {
    let tally = Tally::new();
    let node = Node::new(3, &tally);
    let any = GcAny::from(&node);
    assert_eq!(any.strong_count(), 2);
    assert!(any.is::<Node>() && !any.is::<u8>());
    assert!(
        any.type_name().ends_with("common::Node"),
        "{}",
        any.type_name()
    );
    drop(node);
    assert_eq!(tally.dropped(), 0, "the GcAny keeps it alive");
    let back = any.downcast::<Node>().unwrap();
    assert_eq!(back.id, 3);
    assert!(any.downcast::<String>().is_none());
    assert_eq!(any, GcAny::from(back.clone()));
    assert!(format!("{any:?}").starts_with('<') && format!("{any:?}").contains(" at 0x"));
    drop((any, back));
    assert_eq!(tally.dropped(), 1);
}

#[test]
fn gc_any_from_a_trait_object_downcasts_to_the_concrete_type() {
    let shown: Gc<dyn std::fmt::Debug> =
        recycle::coerce_gc!(Gc::new(RefCell::new(vec![Gc::new(1u8)])));
    let any = GcAny::from(shown);
    assert_eq!(
        any.downcast::<RefCell<Vec<Gc<u8>>>>()
            .unwrap()
            .borrow()
            .len(),
        1
    );
}

#[test]
fn get_objects_lists_tracked_objects_by_generation() {
    // test_gc.test_get_objects_generations
    gc::collect();
    let tally = Tally::new();
    let node = Node::new(0, &tally);
    let atom = Gc::new(String::from("untracked"));
    assert!(contains(&gc::get_objects(None).unwrap(), &node));
    assert!(contains(&gc::get_objects(Some(0)).unwrap(), &node));
    assert!(!contains(&gc::get_objects(Some(1)).unwrap(), &node));
    assert!(
        !gc::get_objects(None)
            .unwrap()
            .iter()
            .any(|o| o.is::<String>()),
        "untracked objects are not listed"
    );
    gc::collect_generation(0).unwrap();
    assert!(!contains(&gc::get_objects(Some(0)).unwrap(), &node));
    assert!(contains(&gc::get_objects(Some(1)).unwrap(), &node));
    gc::collect_generation(1).unwrap();
    assert!(contains(&gc::get_objects(Some(2)).unwrap(), &node));
    assert_eq!(
        gc::get_objects(Some(3)).unwrap_err(),
        gc::InvalidGeneration(3)
    );
    drop(atom);
}

#[test]
fn get_referents_reports_what_trace_reports() {
    // test_gc.test_get_referents
    let tally = Tally::new();
    let a = Node::new(0, &tally);
    let b = Node::new(1, &tally);
    a.link(&b);
    a.link(&a);
    let referents = gc::get_referents(&GcAny::from(&a));
    assert_eq!(referents.len(), 2);
    assert!(contains(&referents, &b) && contains(&referents, &a));
    assert!(gc::get_referents(&GcAny::from(&b)).is_empty());
    #[derive(Trace)]
    struct Holder {
        text: Gc<String>,
    }
    let h = Gc::new(Holder {
        text: Gc::new("atom".into()),
    });
    let found = gc::get_referents(&GcAny::from(&h));
    assert_eq!(
        *found[0].downcast::<String>().unwrap(),
        "atom",
        "untracked referents too"
    );
    a.edges.borrow_mut().clear();
}

#[test]
fn get_referrers_finds_the_containers() {
    // test_gc.test_get_referrers
    let tally = Tally::new();
    let target = Node::new(0, &tally);
    let holder1 = Node::new(1, &tally);
    let holder2 = Node::new(2, &tally);
    let bystander = Node::new(3, &tally);
    holder1.link(&target);
    holder2.link(&target);
    holder2.link(&bystander);
    let found = gc::get_referrers(&[GcAny::from(&target)]);
    assert_eq!(found.len(), 2);
    assert!(contains(&found, &holder1) && contains(&found, &holder2));
    assert!(gc::get_referrers(&[GcAny::from(&holder1)]).is_empty());
}

/// A `trace` that does what it should not: collects and drops its last
/// handle to another object. get_referrers must survive it.
struct Rowdy {
    spare: RefCell<Option<Gc<Node>>>,
}

impl Trace for Rowdy {
    fn trace(&self, tracer: &mut Tracer) {
        assert_eq!(gc::collect(), 0, "no collection while the heap is walked");
        drop(self.spare.borrow_mut().take());
        let _ = Gc::new(RefCell::new(Vec::<Gc<u8>>::new())); // allocates mid-walk
        self.spare.trace(tracer);
    }
}

#[test]
fn get_referrers_survives_trace_code_that_mutates_the_heap() {
    let tally = Tally::new();
    let spare = Node::new(0, &tally);
    let rowdy = Gc::new(Rowdy {
        spare: RefCell::new(Some(spare.clone())),
    });
    drop(spare);
    let found = gc::get_referrers(&[GcAny::from(&rowdy)]);
    assert!(found.is_empty());
    assert_eq!(
        tally.dropped(),
        1,
        "the spare dropped by trace was destroyed afterwards"
    );
    drop(rowdy);
    assert_eq!(gc::collect(), 0);
}

#[test]
fn frozen_objects_are_not_collected() {
    // test_gc.test_freeze
    gc::collect();
    let tally = Tally::new();
    let cycle = Node::new(0, &tally);
    cycle.link(&cycle);
    gc::freeze();
    assert!(gc::get_freeze_count() >= 1);
    assert!(
        !contains(&gc::get_objects(None).unwrap(), &cycle),
        "frozen objects are not listed"
    );
    drop(cycle);
    assert_eq!(gc::collect(), 0);
    assert_eq!(tally.dropped(), 0);
    gc::unfreeze();
    assert_eq!(gc::get_freeze_count(), 0);
    assert_eq!(gc::collect(), 1);
    assert_eq!(tally.dropped(), 1);
}

#[test]
fn is_finalized_is_false_without_a_finalizer() {
    let tally = Tally::new();
    assert!(!gc::is_finalized(&Node::new(0, &tally)));
}
