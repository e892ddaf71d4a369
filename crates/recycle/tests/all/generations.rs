//! Generations, automatic collection, and the `gc` module's counters,
//! thresholds, statistics and callbacks. Several tests follow CPython's
//! Lib/test/test_gc.py, named in a comment.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use recycle::gc::{self, CollectionInfo, InvalidGeneration, Phase};
use recycle::{Gc, Trace};

use crate::common::{Node, Tally, size};

/// A self-cycle: garbage as soon as its handle is dropped.
fn self_cycle(tally: &Tally) -> Gc<Node> {
    let n = Node::new(0, tally);
    n.link(&n);
    n
}

#[test]
fn defaults_are_cpythons() {
    assert_eq!(gc::get_threshold(), (2000, 10, 10));
    assert!(gc::is_enabled());
}

#[test]
fn get_count_counts_net_tracked_allocations() {
    // test_gc.test_get_count
    gc::collect();
    let (a, b, c) = gc::get_count();
    assert_eq!((a, b, c), (0, 0, 0));
    let tally = Tally::new();
    let x = Node::new(1, &tally);
    let (d, e, f) = gc::get_count();
    assert_eq!((d, e, f), (1, 0, 0));
    let _untracked = Gc::new(String::from("atom"));
    assert_eq!(gc::get_count().0, 1, "untracked objects do not count");
    drop(x);
    assert_eq!(
        gc::get_count().0,
        0,
        "a tracked object's destruction counts down"
    );
}

#[test]
fn collect_generations_moves_the_counters() {
    // test_gc.test_collect_generations
    gc::collect();
    let tally = Tally::new();
    let _x = Node::new(0, &tally);
    gc::collect_generation(0).unwrap();
    let (_, b, c) = gc::get_count();
    gc::collect_generation(1).unwrap();
    let (_, e, f) = gc::get_count();
    gc::collect_generation(2).unwrap();
    let (_, h, i) = gc::get_count();
    assert_eq!((b, c), (1, 0));
    assert_eq!((e, f), (0, 1));
    assert_eq!((h, i), (0, 0));
}

#[test]
fn bad_generation_is_an_error() {
    // test_gc: gc.collect(3) raises ValueError.
    assert_eq!(gc::collect_generation(3), Err(InvalidGeneration(3)));
    let msg = gc::collect_generation(7).unwrap_err().to_string();
    assert!(msg.contains("generations 0, 1 and 2"), "{msg}");
}

#[test]
fn survivors_are_promoted_one_generation_per_collection() {
    let tally = Tally::new();
    let cycle = self_cycle(&tally);
    gc::collect_generation(0).unwrap(); // survives: now in generation 1
    drop(cycle);
    assert_eq!(
        gc::collect_generation(0),
        Ok(0),
        "generation 0 no longer holds it"
    );
    assert_eq!(tally.dropped(), 0);
    assert_eq!(gc::collect_generation(1), Ok(1));
    assert_eq!(tally.dropped(), 1);

    let cycle = self_cycle(&tally);
    gc::collect_generation(0).unwrap();
    gc::collect_generation(1).unwrap(); // now in generation 2
    drop(cycle);
    assert_eq!(gc::collect_generation(1), Ok(0));
    assert_eq!(gc::collect_generation(2), Ok(1));
    assert_eq!(tally.dropped(), 2);
}

#[test]
fn young_collection_keeps_what_old_objects_reference() {
    // An old live object referencing a young cycle keeps it alive; a young
    // collection counts the old object's edge as an outside reference.
    let tally = Tally::new();
    let old = Node::new(0, &tally);
    gc::collect_generation(1).unwrap(); // `old` is in generation 2
    let young = self_cycle(&tally);
    old.link(&young);
    drop(young);
    assert_eq!(gc::collect_generation(0), Ok(0));
    assert_eq!(tally.dropped(), 0);
    old.edges.borrow_mut().clear();
    assert_eq!(
        gc::collect_generation(0),
        Ok(0),
        "the cycle was promoted to 1"
    );
    assert_eq!(gc::collect_generation(1), Ok(1));
    assert_eq!(tally.dropped(), 1);
}

#[test]
fn a_cycle_across_generations_needs_the_older_collection() {
    let tally = Tally::new();
    let old = Node::new(0, &tally);
    gc::collect_generation(1).unwrap(); // generation 2
    let young = Node::new(1, &tally);
    old.link(&young);
    young.link(&old);
    drop((old, young));
    assert_eq!(
        gc::collect_generation(0),
        Ok(0),
        "young half kept by the old half"
    );
    assert_eq!(gc::collect_generation(1), Ok(0));
    assert_eq!(gc::collect(), 2);
    assert_eq!(tally.dropped(), 2);
}

#[test]
fn automatic_collection_frees_cycles_without_collect() {
    gc::set_threshold(50, 10, 10);
    let tally = Tally::new();
    // Under Miri too, enough for generation 1 to be collected (every 11th).
    let n = size(10_000, 1_500);
    for _ in 0..n {
        drop(self_cycle(&tally));
    }
    // At most threshold0 + 1 young objects can be waiting.
    assert!(
        tally.dropped() >= n - 51,
        "dropped {} of {n}",
        tally.dropped()
    );
    let stats = gc::get_stats();
    let collections: u64 = stats.iter().map(|s| s.collections).sum();
    let collected: u64 = stats.iter().map(|s| s.collected).sum();
    assert!(collections >= (n / 51) as u64 - 1, "{stats:?}");
    assert_eq!(collected as usize, tally.dropped(), "{stats:?}");
    assert!(stats[1].collections >= 1 && stats[1].collections <= stats[0].collections / 10 + 1);
    gc::collect();
    assert_eq!(tally.dropped(), n);
}

#[test]
fn disable_and_threshold_zero_stop_automatic_collection() {
    // test_gc: gc.disable() does not stop explicit collection.
    let tally = Tally::new();
    gc::set_threshold(10, 10, 10);
    gc::disable();
    assert!(!gc::is_enabled());
    for _ in 0..100 {
        drop(self_cycle(&tally));
    }
    assert_eq!(tally.dropped(), 0);
    assert_eq!(gc::get_count().0, 100);
    assert_eq!(
        gc::collect(),
        100,
        "explicit collection works while disabled"
    );
    gc::enable();
    gc::set_threshold(0, 10, 10);
    for _ in 0..100 {
        drop(self_cycle(&tally));
    }
    assert_eq!(
        tally.dropped(),
        100,
        "threshold0 = 0 disables automatic collection"
    );
    gc::collect();
    assert_eq!(tally.dropped(), 200);
}

#[test]
fn get_stats_counts_each_generation() {
    // test_gc.test_get_stats: collect(2) increments only stats[2].
    let before = gc::get_stats();
    let tally = Tally::new();
    drop(self_cycle(&tally));
    drop(self_cycle(&tally));
    assert_eq!(gc::collect(), 2);
    let after = gc::get_stats();
    assert_eq!(after[0], before[0]);
    assert_eq!(after[1], before[1]);
    assert_eq!(after[2].collections, before[2].collections + 1);
    assert_eq!(after[2].collected, before[2].collected + 2);
    assert_eq!(after[2].uncollectable, before[2].uncollectable);
    assert!(after[2].candidates >= before[2].candidates + 2);
    gc::collect_generation(0).unwrap();
    assert_eq!(gc::get_stats()[0].collections, before[0].collections + 1);
}

#[test]
fn callbacks_see_start_and_stop() {
    // test_gc.GCCallbackTests.test_collect
    let seen: Rc<RefCell<Vec<(Phase, CollectionInfo)>>> = Rc::default();
    let log = seen.clone();
    let id = gc::add_callback(move |phase, info| log.borrow_mut().push((phase, *info)));
    let tally = Tally::new();
    drop(self_cycle(&tally));
    assert_eq!(gc::collect_generation(1), Ok(1));
    assert!(gc::remove_callback(id));
    assert!(!gc::remove_callback(id), "already removed");
    gc::collect();
    let seen = seen.borrow();
    assert_eq!(seen.len(), 2, "removed callbacks are not called");
    let (start, stop) = (seen[0], seen[1]);
    assert_eq!(start.0, Phase::Start);
    assert_eq!((start.1.generation, start.1.collected), (1, 0));
    assert_eq!(stop.0, Phase::Stop);
    assert_eq!(stop.1.generation, 1);
    assert_eq!(stop.1.collected, 1);
    assert_eq!(stop.1.uncollectable, 0);
    assert!(stop.1.candidates >= 1);
}

#[test]
fn callbacks_run_oldest_first_and_may_collect_and_allocate() {
    // test_gc.GCCallbackTests: callbacks may themselves call gc.collect().
    let order = Rc::new(RefCell::new(Vec::new()));
    let tally = Tally::new();
    let (o1, o2) = (order.clone(), order.clone());
    let t = tally.clone();
    let a = gc::add_callback(move |phase, _| {
        o1.borrow_mut().push((1, phase, gc::collect()));
        drop(self_cycle(&t)); // garbage for the next collection
    });
    let b = gc::add_callback(move |phase, _| o2.borrow_mut().push((2, phase, 0)));
    // The cycle made by the start callback is collected with the rest of
    // generation 0; the one made by the stop callback waits for the next.
    assert_eq!(gc::collect(), 1);
    gc::remove_callback(a);
    gc::remove_callback(b);
    assert_eq!(
        *order.borrow(),
        [
            (1, Phase::Start, 0),
            (2, Phase::Start, 0),
            (1, Phase::Stop, 0),
            (2, Phase::Stop, 0)
        ]
    );
    assert_eq!(gc::collect(), 1, "the stop callback's cycle");
    assert_eq!(tally.dropped(), 2);
}

#[test]
fn a_panicking_callback_does_not_stop_the_collection() {
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    let bad = gc::add_callback(|phase, _| {
        if phase == Phase::Stop {
            panic!("callback failed");
        }
    });
    let good = gc::add_callback(move |_, _| c.set(c.get() + 1));
    let tally = Tally::new();
    drop(self_cycle(&tally));
    let err = std::panic::catch_unwind(gc::collect).unwrap_err();
    assert_eq!(err.downcast_ref::<&str>(), Some(&"callback failed"));
    assert_eq!(tally.dropped(), 1, "the garbage was freed");
    assert_eq!(calls.get(), 2, "the other callback ran at start and stop");
    gc::remove_callback(bad);
    gc::remove_callback(good);
    assert_eq!(gc::collect(), 0);
}

#[test]
fn automatic_collection_inside_trace_heavy_allocation() {
    // Objects allocated by user code that runs inside a collection (a Drop)
    // are not part of it, and automatic collection does not nest.
    #[derive(Trace)]
    struct Spawner {
        me: RefCell<Option<Gc<Spawner>>>,
        #[trace(skip)]
        tally: Tally,
    }
    impl Drop for Spawner {
        fn drop(&mut self) {
            for _ in 0..30 {
                drop(self_cycle(&self.tally));
            }
        }
    }
    gc::set_threshold(10, 10, 10);
    let tally = Tally::new();
    for _ in 0..size(200, 20) {
        let s = Gc::new(Spawner {
            me: RefCell::new(None),
            tally: tally.clone(),
        });
        *s.me.borrow_mut() = Some(s.clone());
    }
    gc::set_threshold(0, 10, 10);
    while gc::collect() > 0 {}
    assert_eq!(tally.dropped(), size(200, 20) * 30);
}

#[test]
fn full_collections_stay_rare_while_a_structure_grows() {
    // CPython's rule (issue #4074): a full collection also needs the objects
    // promoted to generation 2 since the last one to exceed 25% of those
    // there then, so building a large live structure costs linear time.
    gc::set_threshold(10, 2, 2);
    let tally = Tally::new();
    let n = size(50_000, 2_000);
    let keep: Vec<_> = (0..n).map(|i| Node::new(i, &tally)).collect();
    let stats = gc::get_stats();
    gc::set_threshold(2000, 10, 10);
    // Without the rule, one full collection per 3 of generation 1.
    assert!(stats[1].collections > 3 * stats[2].collections, "{stats:?}");
    // Each full collection happens only once generation 2 grew by 25%:
    // about log(n) / log(1.25) of them.
    let bound = ((n as f64).ln() / 1.25f64.ln()) as u64 + 5;
    assert!(
        stats[2].collections <= bound,
        "{} > {bound}: {stats:?}",
        stats[2].collections
    );
    assert_eq!(tally.dropped(), 0);
    drop(keep);
    assert_eq!(tally.dropped(), n);
}

#[test]
fn building_without_dropping_a_reference_examines_nothing() {
    // Only a handle dropped while others remain can make cyclic garbage, so
    // the automatic collections of a program that only builds promote the
    // young objects without examining them.
    gc::collect();
    gc::set_threshold(100, 2, 2);
    let before = gc::get_stats();
    let tally = Tally::new();
    let n = size(20_000, 1_000);
    let mut keep: Vec<Gc<Node>> = Vec::with_capacity(n);
    for i in 0..n {
        let node = Node::new(i, &tally);
        if let Some(last) = keep.last() {
            node.link(last); // a chain: the link clones, nothing is dropped
        }
        keep.push(node);
    }
    let after = gc::get_stats();
    gc::set_threshold(2000, 10, 10);
    let collections: u64 = (0..3)
        .map(|g| after[g].collections - before[g].collections)
        .sum();
    let examined: u64 = (0..3)
        .map(|g| after[g].candidates - before[g].candidates)
        .sum();
    assert!(collections >= (n / 200) as u64, "{after:?}");
    assert_eq!(examined, 0, "nothing could be garbage: {after:?}");
    // The skipped collections still promoted: the chain is in generation 2.
    assert!(gc::get_objects(Some(2)).unwrap().len() >= n - 200);
    drop(keep);
    assert_eq!(tally.dropped(), n);
}

#[test]
fn a_dropped_reference_makes_the_next_automatic_collection_examine() {
    gc::collect();
    gc::set_threshold(100, 1_000, 1_000);
    let tally = Tally::new();
    let keep: Vec<Gc<Node>> = (0..150).map(|i| Node::new(i, &tally)).collect();
    let before = gc::get_stats()[0];
    // A garbage cycle: made by dropping a handle whose object stays alive
    // (its own edge holds it).
    drop(self_cycle(&tally));
    let more: Vec<Gc<Node>> = (0..150).map(|i| Node::new(i, &tally)).collect();
    let after = gc::get_stats()[0];
    gc::set_threshold(2000, 10, 10);
    assert!(after.collections > before.collections);
    assert!(after.candidates > before.candidates, "examined: {after:?}");
    assert_eq!(after.collected - before.collected, 1, "{after:?}");
    assert_eq!(tally.dropped(), 1);
    drop((keep, more));
}

/// Sums of the stats of every generation since `before`:
/// (collections, candidates examined, collected).
fn stats_since(
    before: &[recycle::gc::GenerationStats; 3],
    generations: &[usize],
) -> (u64, u64, u64) {
    let after = gc::get_stats();
    generations.iter().fold((0, 0, 0), |(c, e, f), &g| {
        (
            c + after[g].collections - before[g].collections,
            e + after[g].candidates - before[g].candidates,
            f + after[g].collected - before[g].collected,
        )
    })
}

#[test]
fn drops_of_handles_to_old_objects_leave_young_collections_unexamined() {
    // A young collection cannot find garbage whose dropped reference
    // pointed at an old object: the old object still reaches it.
    let tally = Tally::new();
    let old: Vec<Gc<Node>> = (0..10).map(|i| Node::new(i, &tally)).collect();
    gc::collect(); // `old` is in generation 2 now
    let untracked = Gc::new(5u64);
    gc::set_threshold(50, 1_000, 1_000);
    let before = gc::get_stats();
    let mut young = Vec::new();
    for i in 0..size(2_000, 300) {
        drop(old[i % 10].clone()); // a decrement to non-zero, in generation 2
        drop(untracked.clone()); // and one of an untracked object
        young.push(Node::new(i, &tally));
    }
    let (collections, examined, _) = stats_since(&before, &[0]);
    gc::set_threshold(2000, 10, 10);
    assert!(collections > 0);
    assert_eq!(examined, 0, "nothing young could be garbage");
    drop((old, young));
}

#[test]
fn old_garbage_still_gets_a_full_automatic_collection() {
    let tally = Tally::new();
    let a = Node::new(1, &tally);
    let b = Node::new(2, &tally);
    a.link(&b);
    b.link(&a);
    gc::collect(); // a and b are old
    drop((a, b)); // old garbage: decrements in generation 2
    let before = gc::get_stats();
    assert_eq!(allocate_until_dropped(&tally, 2), 2);
    let (_, examined, collected) = stats_since(&before, &[2]);
    assert!(examined > 0, "the full collections examined");
    assert_eq!(collected, 2);
}

#[test]
fn unfrozen_garbage_is_examined_by_the_next_full_automatic_collection() {
    gc::collect();
    let tally = Tally::new();
    let a = Node::new(1, &tally);
    let b = Node::new(2, &tally);
    a.link(&b);
    b.link(&a);
    gc::freeze();
    drop((a, b)); // garbage while frozen: the drop path records nothing
    gc::unfreeze();
    assert_eq!(
        allocate_until_dropped(&tally, 2),
        2,
        "freed by an automatic collection"
    );
}

#[test]
fn automatic_young_collections_examine_only_what_lost_a_reference() {
    // Young objects whose counts only went up cannot be garbage: an
    // automatic young collection starts from the decremented ones and
    // examines what they reach, not the whole generation.
    gc::collect();
    gc::set_threshold(300, 1_000, 1_000);
    let tally = Tally::new();
    let before = gc::get_stats();
    let mut keep: Vec<Gc<Node>> = (0..250).map(|i| Node::new(i, &tally)).collect();
    drop(self_cycle(&tally)); // the one decremented object
    keep.extend((0..100).map(|i| Node::new(i, &tally)));
    let (collections, examined, collected) = stats_since(&before, &[0]);
    gc::set_threshold(2000, 10, 10);
    assert_eq!(collections, 1);
    assert_eq!(collected, 1, "the dropped cycle");
    assert_eq!(examined, 1, "only the cycle was examined");
    assert_eq!(tally.dropped(), 1);
    // The others moved up unexamined.
    assert!(gc::get_objects(Some(1)).unwrap().len() >= 250);
    drop(keep);
}

#[test]
fn a_decremented_survivor_leads_the_older_collection_to_its_cycle() {
    // A cycle across generations 0 and 1, of which only the young object
    // was ever decremented: the collection of generation 0 cannot free it
    // (the older object references it), but keeps it listed as
    // decremented, so that the next collection of generation 1 starts from
    // it and frees the cycle.
    gc::collect();
    gc::set_adaptive_pacing(false); // CPython's schedule: gen 1 follows at once
    gc::set_threshold(0, 1_000, 1_000); // nothing automatic while building
    let tally = Tally::new();
    let old = Node::new(1, &tally);
    gc::collect_generation(0).unwrap(); // `old` is in generation 1
    let young = Node::new(2, &tally);
    old.link(&young);
    // The only handle to `old` moves into `young`: `old` is never decremented.
    young.edges.borrow_mut().push(old);
    drop(young); // decremented: the cycle is garbage now
    gc::set_threshold(50, 1, 1_000);
    let before = gc::get_stats();
    let mut keep = Vec::new();
    while stats_since(&before, &[1]).0 == 0 {
        keep.push(Node::new(0, &tally));
        assert!(keep.len() < 1_000, "no collection of generation 1");
    }
    let (young_collections, _, young_collected) = stats_since(&before, &[0]);
    let (_, _, older_collected) = stats_since(&before, &[1]);
    gc::set_threshold(2000, 10, 10);
    assert!(young_collections >= 1);
    assert_eq!(young_collected, 0, "generation 0 alone cannot free it");
    assert_eq!(older_collected, 2, "generation 1 starts from the survivor");
    assert_eq!(tally.dropped(), 2);
    gc::set_adaptive_pacing(true);
    drop(keep);
}

#[test]
fn explicit_young_collections_still_examine_everything() {
    // `gc::collect_generation` examines the whole generation, decremented
    // or not (as Python's does), and keeps the candidates for later ones.
    gc::collect();
    gc::set_threshold(0, 1_000, 1_000);
    let tally = Tally::new();
    let keep: Vec<Gc<Node>> = (0..20).map(|i| Node::new(i, &tally)).collect();
    drop(self_cycle(&tally));
    let before = gc::get_stats();
    assert_eq!(gc::collect_generation(0).unwrap(), 1);
    let (_, examined, _) = stats_since(&before, &[0]);
    gc::set_threshold(2000, 10, 10);
    assert_eq!(examined, 21);
    drop(keep);
}

#[test]
fn cycles_dropped_while_automatic_collection_is_off_are_still_found() {
    // Without automatic collections, the drop path does not list
    // decremented objects; once automatic collection is back, the young
    // collections examine everything until that is caught up.
    gc::collect();
    gc::disable();
    let tally = Tally::new();
    drop(self_cycle(&tally));
    gc::enable();
    gc::set_threshold(50, 1_000, 1_000);
    let before = gc::get_stats();
    let keep: Vec<Gc<Node>> = (0..60).map(|i| Node::new(i, &tally)).collect();
    let (collections, _, collected) = stats_since(&before, &[0]);
    gc::set_threshold(2000, 10, 10);
    assert_eq!(collections, 1);
    assert_eq!(collected, 1, "the automatic young collection found it");
    assert_eq!(tally.dropped(), 1);
    drop(keep);
}

// The drop path reports a decrement to the collector only while the
// object's header asks for it; an object stops asking once its generations
// are marked, and must ask again after a collection examines it. These
// tests make an object quiet, let a collection examine it, and then check
// that the garbage its next decrement makes is still found automatically.

/// Two old nodes in a cycle, with an extra handle to `a`; returns the extra
/// handle. `a` has been made quiet: a clone of it was dropped while old.
fn quiet_old_cycle(tally: &Tally) -> Gc<Node> {
    let a = Node::new(1, tally);
    let b = Node::new(2, tally);
    a.link(&b);
    b.link(&a);
    gc::collect(); // both old
    drop(a.clone()); // reported once: `a` is quiet from now on
    drop(b);
    a
}

/// Allocates young nodes with low thresholds until the automatic
/// collections have dropped `expected` nodes of `tally` (or gives up).
fn allocate_until_dropped(tally: &Tally, expected: usize) -> usize {
    let thresholds = gc::get_threshold();
    // Under Miri, a lower threshold: fewer young objects reach generation 2
    // before a cycle starts, and a slow cycle takes fewer allocations.
    gc::set_threshold(size(20, 4), 1, 1);
    let young_tally = Tally::new();
    let mut young = Vec::new();
    for i in 0..size(20_000, 2_000) {
        young.push(Node::new(i, &young_tally));
        if tally.dropped() >= expected {
            break;
        }
    }
    gc::set_threshold(thresholds.0, thresholds.1, thresholds.2);
    drop(young);
    tally.dropped()
}

#[test]
fn a_full_collection_makes_quiet_old_objects_report_again() {
    let tally = Tally::new();
    let a = quiet_old_cycle(&tally);
    gc::collect(); // examines `a` and clears generation 2's mark
    drop(a); // the cycle is garbage now; only this drop can tell
    assert_eq!(
        allocate_until_dropped(&tally, 2),
        2,
        "an automatic collection found the cycle"
    );
}

#[test]
fn an_incremental_cycle_makes_quiet_old_objects_report_again() {
    let tally = Tally::new();
    let a = quiet_old_cycle(&tally);
    // Automatic collections of a growing heap: incremental cycles run over
    // generation 2, `a` among their members (on CPython's schedule: paced,
    // the fruitless cycles would be spaced out).
    gc::set_adaptive_pacing(false);
    let thresholds = gc::get_threshold();
    gc::set_threshold(20, 1, 1);
    let keep_tally = Tally::new();
    let keep: Vec<Gc<Node>> = (0..size(5_000, 600))
        .map(|i| Node::new(i, &keep_tally))
        .collect();
    gc::set_threshold(thresholds.0, thresholds.1, thresholds.2);
    drop(a);
    assert_eq!(
        allocate_until_dropped(&tally, 2),
        2,
        "an automatic collection found the cycle"
    );
    gc::set_adaptive_pacing(true);
    drop(keep);
}

#[test]
fn unfrozen_objects_report_again() {
    gc::collect();
    let tally = Tally::new();
    let a = Node::new(1, &tally);
    let b = Node::new(2, &tally);
    a.link(&b);
    b.link(&a);
    gc::freeze();
    drop(a.clone()); // frozen: quiet
    gc::unfreeze();
    gc::collect(); // `a` and `b` examined (reachable), marks cleared
    drop(b);
    drop(a);
    assert_eq!(
        allocate_until_dropped(&tally, 2),
        2,
        "an automatic collection found the cycle"
    );
}

#[test]
fn promoted_decremented_objects_report_again() {
    let tally = Tally::new();
    let a = Node::new(1, &tally);
    let b = Node::new(2, &tally);
    a.link(&b);
    b.link(&a);
    drop(a.clone()); // young: listed as decremented, quiet
    gc::collect_generation(0).unwrap();
    gc::collect_generation(1).unwrap(); // old now, and examined on the way
    gc::collect(); // generation 2 examined: its mark cleared
    drop(b);
    drop(a);
    assert_eq!(
        allocate_until_dropped(&tally, 2),
        2,
        "an automatic collection found the cycle"
    );
}
