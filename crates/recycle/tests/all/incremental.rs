//! The incremental collection of generation 2: automatic full collections
//! run as bounded steps, and the program runs (and changes the heap)
//! between them.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use recycle::gc::{self, CollectionInfo, Phase};
use recycle::{Gc, Weak};

use crate::common::{Node, Tally, size};

/// Records the automatic steps of generation 2 (their `candidates`).
struct Steps {
    seen: Rc<RefCell<Vec<CollectionInfo>>>,
    id: gc::CallbackId,
}

impl Steps {
    fn record() -> Steps {
        let seen: Rc<RefCell<Vec<CollectionInfo>>> = Rc::default();
        let sink = seen.clone();
        let id = gc::add_callback(move |phase, info| {
            if phase == Phase::Stop && info.generation == 2 {
                sink.borrow_mut().push(*info);
            }
        });
        Steps { seen, id }
    }

    fn count(&self) -> usize {
        self.seen.borrow().len()
    }
}

impl Drop for Steps {
    fn drop(&mut self) {
        gc::remove_callback(self.id);
        gc::set_threshold(2000, 10, 10);
    }
}

/// Old garbage: a ring of `n` nodes, made old by `gc::collect()` while
/// held, then dropped (which marks generation 2 as holding garbage).
fn old_ring(n: usize, tally: &Tally) -> Vec<Gc<Node>> {
    let ring: Vec<Gc<Node>> = (0..n).map(|i| Node::new(i, tally)).collect();
    for i in 0..n {
        ring[i].link(&ring[(i + 1) % n]);
    }
    ring
}

/// Allocates young nodes (kept in `keep`) until `done` says so.
fn allocate_until(keep: &mut Vec<Gc<Node>>, tally: &Tally, done: impl Fn() -> bool) {
    let limit = keep.len() + 200_000;
    while !done() {
        keep.push(Node::new(0, tally));
        assert!(keep.len() < limit, "the collector never got there");
    }
}

#[test]
fn automatic_full_collections_run_in_bounded_steps() {
    let tally = Tally::new();
    let live: Vec<Gc<Node>> = (0..size(5_000, 60)).map(|i| Node::new(i, &tally)).collect();
    let garbage = old_ring(size(3_000, 20), &tally);
    gc::collect();
    drop(garbage);
    let steps = Steps::record();
    // (Under Miri, a lower threshold: fewer young objects reach generation
    // 2 before the cycle starts, and the cycle takes fewer allocations.)
    gc::set_threshold(size(100, 10), 1, 1);
    let mut keep = Vec::new();
    let garbage_freed = || tally.dropped() == size(3_000, 20);
    allocate_until(&mut keep, &tally, garbage_freed);
    let infos = steps.seen.borrow().clone();
    drop(steps);
    assert!(infos.len() >= 2, "a scan step and a mark step: {infos:?}");
    // Each step handles at most its budget: 1/8 of the members, at least
    // 4096 and at most 32768.
    let members = live.len() + keep.len() + size(3_000, 20);
    let budget = members.div_ceil(8).clamp(4096, 32768);
    assert!(
        infos.iter().all(|i| i.candidates <= budget),
        "a step over its budget: {infos:?}"
    );
    assert_eq!(
        infos.iter().map(|i| i.collected).sum::<usize>(),
        size(3_000, 20),
        "the ring, found by the collect step"
    );
    assert_eq!(tally.dropped(), size(3_000, 20), "nothing live was freed");
    drop((live, keep));
}

#[test]
fn what_the_program_moves_between_steps_is_never_freed() {
    // The scan step counts `holder -> a` as a reference from inside
    // generation 2; before the next step the program takes `a` out of
    // `holder` into a local. `a` and `b` then look unreachable to the
    // counts gathered so far, but the collect step counts again and keeps
    // them.
    let tally = Tally::new();
    let holder = Node::new(0, &tally);
    let a = Node::new(1, &tally);
    let b = Node::new(2, &tally);
    holder.link(&a);
    a.link(&b);
    b.link(&a);
    drop(b);
    let garbage = old_ring(3, &tally);
    gc::collect();
    drop(garbage); // something to find, and generation 2 is marked
    let steps = Steps::record();
    gc::set_threshold(10, 1, 1);
    let mut keep = Vec::new();
    allocate_until(&mut keep, &tally, || steps.count() >= 1);
    assert_eq!(tally.dropped(), 0, "the first step only scans");
    let a_kept = holder.edges.borrow_mut().pop().unwrap();
    drop(a);
    allocate_until(&mut keep, &tally, || tally.dropped() == 3);
    drop(steps);
    assert_eq!(a_kept.id, 1);
    let b_kept = a_kept.edges.borrow()[0].clone();
    assert_eq!(b_kept.id, 2);
    assert!(Gc::ptr_eq(&b_kept.edges.borrow()[0], &a_kept));
    let young = keep.len();
    drop((b_kept, a_kept, holder, keep));
    gc::collect();
    assert_eq!(
        tally.dropped(),
        3 + 3 + young,
        "the ring, holder, a, b, the young"
    );
}

#[test]
fn a_weak_upgrade_between_steps_keeps_its_object() {
    let tally = Tally::new();
    let pair = old_ring(2, &tally);
    let weak: Weak<Node> = Gc::downgrade(&pair[0]);
    let garbage = old_ring(3, &tally);
    gc::collect();
    drop((pair, garbage)); // both rings are garbage now
    let steps = Steps::record();
    gc::set_threshold(10, 1, 1);
    let mut keep = Vec::new();
    allocate_until(&mut keep, &tally, || steps.count() >= 1);
    let revived = weak.upgrade().expect("not collected yet");
    allocate_until(&mut keep, &tally, || tally.dropped() >= 3);
    drop(steps);
    assert_eq!(tally.dropped(), 3, "only the other ring");
    assert_eq!(revived.id, 0);
    assert_eq!(revived.edges.borrow()[0].edges.borrow()[0].id, 0);
    drop(revived);
    gc::collect();
    assert_eq!(tally.dropped(), 5);
    drop(keep);
}

#[test]
fn collect_and_freeze_abandon_a_running_cycle() {
    let tally = Tally::new();
    let live: Vec<Gc<Node>> = (0..size(10_000, 100))
        .map(|i| Node::new(i, &tally))
        .collect();
    let garbage = old_ring(5, &tally);
    gc::collect();
    drop(garbage);
    let steps = Steps::record();
    gc::set_threshold(10, 1, 1);
    let mut keep = Vec::new();
    allocate_until(&mut keep, &tally, || steps.count() >= 1);
    assert_eq!(tally.dropped(), 0);
    // Everything is still counted in generation 2 while the cycle runs.
    assert!(gc::get_objects(Some(2)).unwrap().len() >= live.len());

    gc::freeze();
    assert!(gc::get_freeze_count() >= live.len() + 5);
    gc::unfreeze();
    assert_eq!(gc::collect(), 5, "a full collection finds the ring");
    assert_eq!(tally.dropped(), 5);
    drop(steps);
    drop((live, keep));
}

#[test]
fn a_panicking_trace_during_a_step_abandons_the_cycle_and_loses_nothing() {
    use recycle::{Trace, Tracer};
    struct Grumpy {
        armed: Rc<Cell<bool>>,
        next: RefCell<Option<Gc<Grumpy>>>,
        /// Held across the failed step, and freed with grumpy later.
        extra: RefCell<Option<Gc<Node>>>,
    }
    impl Trace for Grumpy {
        // SAFETY: reports the one handle it owns, once.
        const TRUSTED: Option<recycle::Trust<Self>> =
            Some(unsafe { recycle::Trust::new_unchecked() });
        fn trace(&self, tracer: &mut Tracer) {
            self.next.trace(tracer);
            self.extra.trace(tracer);
            if self.armed.get() {
                // Breaks the promise (a trusted trace must return): the
                // collector still restores the heap.
                panic!("trace refuses");
            }
        }
    }
    let armed = Rc::new(Cell::new(false));
    let extra_tally = Tally::new();
    let grumpy = Gc::new(Grumpy {
        armed: armed.clone(),
        next: RefCell::new(None),
        extra: RefCell::new(Some(Node::new(7, &extra_tally))),
    });
    *grumpy.next.borrow_mut() = Some(grumpy.clone());
    let weak = Gc::downgrade(&grumpy);
    gc::collect();
    drop(grumpy); // old garbage, which will refuse to be traced
    armed.set(true);
    let steps = Steps::record();
    gc::set_threshold(10, 1, 1);
    let tally = Tally::new();
    let mut keep = Vec::new();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        allocate_until(&mut keep, &tally, || steps.count() >= 1);
    }));
    assert!(result.is_err(), "the panic reached the allocating caller");
    drop(steps);
    assert!(weak.upgrade().is_some(), "nothing was freed");
    assert_eq!(extra_tally.dropped(), 0, "nothing was freed");
    armed.set(false);
    let before = gc::get_stats()[2];
    assert_eq!(gc::collect(), 2, "grumpy and the node it holds");
    assert_eq!(gc::get_stats()[2].uncollectable, before.uncollectable);
    assert!(weak.upgrade().is_none(), "a later collection frees it");
    assert_eq!(
        extra_tally.dropped(),
        1,
        "and the object left without handles"
    );
    drop(keep);
}
