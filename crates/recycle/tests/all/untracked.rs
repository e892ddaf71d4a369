//! Objects untracked at birth (`Trace::FIXED_EDGES`): a value whose handles
//! can never change, and all point to untracked objects, cannot be part of a
//! cycle, so it gets no collector header and no list (CPython untracks
//! tuples of atoms for the same reason).

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};

use recycle::{Finalize, Gc, GcAny, Trace, Tracer, Weak, gc};

use crate::common::{Tally, Token};

/// Fixed edges: untracked when its handles are.
#[derive(Trace)]
struct Leaf {
    value: u64,
    next: Option<Gc<Leaf>>,
    #[trace(skip)]
    token: Token,
}

/// Its handle can change: always tracked.
#[derive(Trace)]
struct Slot {
    to: RefCell<Option<Gc<Pair>>>,
    #[trace(skip)]
    token: Token,
}

/// Fixed edges, holding a tracked object: tracked.
#[derive(Trace)]
struct Pair {
    cell: Gc<Slot>,
    leaf: Option<Gc<Leaf>>,
}

fn leaf(value: u64, next: Option<Gc<Leaf>>, tally: &Tally) -> Gc<Leaf> {
    Gc::new(Leaf {
        value,
        next,
        token: tally.token(),
    })
}

fn fixed<T: Trace + ?Sized>() -> bool {
    T::FIXED_EDGES
}

#[test]
fn fixed_edges_follow_the_fields() {
    #[derive(Trace)]
    struct Boxed {
        next: Option<Box<Boxed>>,
    }
    #[derive(Trace)]
    struct Generic<T> {
        inner: T,
    }
    #[derive(Trace)]
    #[trace(tracked)]
    struct Declared {
        next: Option<Gc<Declared>>,
    }
    #[derive(Trace)]
    enum Tree {
        Leaf(u64),
        Node(Gc<Tree>, Gc<Tree>),
    }
    struct ByHand;
    impl Trace for ByHand {
        fn trace(&self, _: &mut Tracer) {}
    }
    assert!(fixed::<Leaf>());
    assert!(fixed::<Tree>());
    assert!(fixed::<Pair>());
    assert!(!fixed::<Slot>(), "a RefCell around a Gc");
    assert!(fixed::<RefCell<u64>>(), "no Gc in the RefCell");
    assert!(!fixed::<Boxed>(), "recursive by value: assumed to change");
    assert!(fixed::<Generic<Gc<u64>>>());
    assert!(!fixed::<Generic<RefCell<Gc<u64>>>>());
    assert!(!fixed::<Declared>(), "#[trace(tracked)]");
    assert!(!fixed::<ByHand>(), "hand-written: the safe default");
    assert!(fixed::<String>());
    assert!(fixed::<Vec<(u8, Option<Gc<Leaf>>)>>());
}

#[test]
fn an_immutable_list_is_untracked_and_freed_by_counting() {
    let tally = Tally::new();
    let counts = gc::get_count();
    let mut list = None;
    for value in 0..10 {
        list = Some(leaf(value, list, &tally));
    }
    let head = list.unwrap();
    assert!(!gc::is_tracked(&head));
    assert_eq!(gc::get_count(), counts, "no allocation counted");
    let any = GcAny::from(head.clone());
    assert!(
        gc::get_objects(None)
            .unwrap()
            .iter()
            .all(|o| !o.ptr_eq(&any)),
        "in no generation"
    );
    // `get_referents` still sees into it, as Python's does for a tuple.
    let referents = gc::get_referents(&any);
    assert_eq!(referents.len(), 1);
    assert_eq!(referents[0].downcast::<Leaf>().unwrap().value, 8);
    drop((any, referents));
    let weak = Gc::downgrade(&head);
    drop(head);
    assert_eq!(tally.dropped(), 10);
    assert!(weak.upgrade().is_none());
    assert_eq!(gc::collect(), 0);
}

#[test]
fn a_handle_to_a_tracked_object_makes_it_tracked_and_its_cycle_collectable() {
    let tally = Tally::new();
    let cell = Gc::new(Slot {
        to: RefCell::new(None),
        token: tally.token(),
    });
    let pair = Gc::new(Pair {
        cell: cell.clone(),
        leaf: Some(leaf(1, None, &tally)),
    });
    assert!(gc::is_tracked(&pair), "it holds a tracked object");
    assert!(!gc::is_tracked(pair.leaf.as_ref().unwrap()));
    // The cycle cell -> pair -> cell closes through the fixed-edge object.
    *cell.to.borrow_mut() = Some(pair.clone());
    drop((cell, pair));
    assert_eq!(tally.dropped(), 0);
    assert_eq!(
        gc::collect(),
        2,
        "the cycle; the untracked leaf is not counted"
    );
    assert_eq!(tally.dropped(), 2);
}

#[test]
fn get_mut_refuses_an_object_untracked_at_birth() {
    let tally = Tally::new();
    let mut list = leaf(1, None, &tally);
    assert!(
        Gc::get_mut(&mut list).is_none(),
        "a handle stored through it could close a cycle nobody sees"
    );
    let mut number = Gc::new(5u64);
    *Gc::get_mut(&mut number).unwrap() += 1;
    assert_eq!(*number, 6);
    // Moving the value out and in again checks it afresh.
    let value = Gc::try_unwrap(list).ok().unwrap();
    assert_eq!(value.value, 1);
    let again = Gc::new(value);
    assert!(!gc::is_tracked(&again));
}

#[test]
fn finalizers_and_new_cyclic_keep_objects_tracked() {
    #[derive(Trace)]
    #[trace(finalize)]
    struct Finalized {
        next: Option<Gc<u64>>,
    }
    impl Finalize for Finalized {
        fn finalize(&self) {}
    }
    #[derive(Trace)]
    struct Me {
        me: Weak<Me>,
    }
    assert!(gc::is_tracked(&Gc::new(Finalized { next: None })));
    let me = Gc::new_cyclic(|me| Me { me: me.clone() });
    assert!(gc::is_tracked(&me), "allocated before its value existed");
    assert!(Gc::ptr_eq(&me.me.upgrade().unwrap(), &me));
}

/// Claims fixed edges but keeps its handle in a `RefCell`: a wrong claim.
struct Liar {
    next: RefCell<Option<Gc<Liar>>>,
    token: Token,
}

impl Trace for Liar {
    const FIXED_EDGES: bool = true;
    fn trace(&self, tracer: &mut Tracer) {
        self.next.trace(tracer);
    }
}

#[test]
fn a_wrong_fixed_edges_claim_only_leaks() {
    let tally = Tally::new();
    let liar = Gc::new(Liar {
        next: RefCell::new(None),
        token: tally.token(),
    });
    assert!(!gc::is_tracked(&liar));
    *liar.next.borrow_mut() = Some(liar.clone());
    let weak = Gc::downgrade(&liar);
    drop(liar);
    assert_eq!(gc::collect(), 0, "the collector cannot see the cycle");
    assert_eq!(tally.dropped(), 0, "leaked, never freed early");
    // Breaking the cycle by hand frees it.
    let liar = weak.upgrade().unwrap();
    liar.next.borrow_mut().take();
    drop(liar);
    assert_eq!(tally.dropped(), 1);
}

/// Its `trace` panics: `Gc::new` runs it to decide.
struct Fuse {
    _next: Option<Gc<u64>>,
    _token: Token,
}

impl Trace for Fuse {
    const FIXED_EDGES: bool = true;
    fn trace(&self, _: &mut Tracer) {
        panic!("trace blew");
    }
}

#[test]
fn a_panicking_trace_in_new_drops_the_value() {
    let tally = Tally::new();
    let err = catch_unwind(AssertUnwindSafe(|| {
        drop(Gc::new(Fuse {
            _next: Some(Gc::new(1)),
            _token: tally.token(),
        }))
    }))
    .unwrap_err();
    assert_eq!(err.downcast_ref::<&str>(), Some(&"trace blew"));
    assert_eq!(tally.dropped(), 1);
}

/// Drops the last handle to an untracked list from inside `trace`, while
/// the collector walks its lists.
#[derive(Trace)]
struct Dropper {
    me: RefCell<Option<Gc<Dropper>>>,
    #[trace(skip)]
    list: RefCell<Option<Gc<Leaf>>>,
}

#[test]
fn an_untrusted_trace_never_runs_in_a_collection_and_frees_at_once_elsewhere() {
    let tally = Tally::new();
    let mut list = None;
    for value in 0..5 {
        list = Some(leaf(value, list, &tally));
    }
    let dropper = Gc::new(Dropper {
        me: RefCell::new(None),
        list: RefCell::new(list),
    });
    *dropper.me.borrow_mut() = Some(dropper.clone());
    thread_local! {
        static CALLS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }
    // A trace that drops the list: a hand-written (untrusted) impl around
    // the derived one.
    struct Dropping(Gc<Dropper>);
    impl Trace for Dropping {
        fn trace(&self, tracer: &mut Tracer) {
            CALLS.with(|c| c.set(c.get() + 1));
            drop(self.0.list.borrow_mut().take());
            self.0.trace(tracer);
        }
    }
    let outer = Gc::new(RefCell::new(Some(Dropping(dropper.clone()))));
    drop(dropper);
    assert_eq!(gc::collect(), 0, "everything is still reachable");
    assert_eq!(CALLS.with(|c| c.get()), 0, "the collector never runs it");
    assert_eq!(tally.dropped(), 0);
    // Introspection does run it, outside any walk: what it frees goes at once.
    let reported = gc::get_referents(&recycle::GcAny::from(&outer));
    assert_eq!(CALLS.with(|c| c.get()), 1);
    assert_eq!(reported.len(), 1, "the dropper");
    assert_eq!(tally.dropped(), 5, "the list went inside the trace");
    drop(reported);
    outer.borrow_mut().take();
    assert_eq!(gc::collect(), 1, "the dropper's self-loop");
}
