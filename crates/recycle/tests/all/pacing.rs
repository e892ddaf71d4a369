//! Adaptive pacing (`gc::set_adaptive_pacing`): automatic collections that
//! find nothing make the next ones examine less; garbage found brings back
//! CPython's schedule. Cycles of generation 2 go at a bounded rate per
//! allocation until one finds garbage.

use recycle::Gc;
use recycle::gc::{self, GenerationStats};

use crate::common::{Node, Tally, size};

/// Objects examined by generation since `before`.
fn examined_since(before: &[GenerationStats; 3]) -> [u64; 3] {
    let after = gc::get_stats();
    [0, 1, 2].map(|g| after[g].candidates - before[g].candidates)
}

/// A tree built top-down as a user writes it: each child is made, a clone
/// goes into its parent's edges, and the local handle is dropped (a
/// decrement to non-zero, which makes it a candidate). No garbage.
fn build_tree(tally: &Tally, nodes: usize) -> (Gc<Node>, usize) {
    let root = Node::new(0, tally);
    let mut level = vec![root.clone()];
    let mut made = 1;
    while made < nodes {
        let mut next = Vec::new();
        for parent in &level {
            for _ in 0..4 {
                let child = Node::new(made, tally);
                child.link(parent);
                parent.link(&child);
                next.push(child.clone());
                drop(child);
                made += 1;
            }
        }
        level = next;
    }
    (root, made)
}

/// Examinations by generation while building a tree of `nodes`.
fn examined_building(nodes: usize) -> [u64; 3] {
    gc::collect();
    let tally = Tally::new();
    let before = gc::get_stats();
    let (root, made) = build_tree(&tally, nodes);
    let examined = examined_since(&before);
    assert_eq!(tally.dropped(), 0, "nothing was garbage");
    drop(root);
    gc::collect();
    assert_eq!(tally.dropped(), made);
    examined
}

#[test]
fn a_growing_heap_is_examined_less_when_collections_find_nothing() {
    // Under Miri, a smaller tree and smaller thresholds, so that the same
    // number of collections happen.
    let nodes = size(40_000, 160);
    let thresholds = gc::get_threshold();
    if cfg!(miri) {
        gc::set_threshold(4, 4, 4);
    } else {
        gc::set_threshold(100, 10, 10);
    }
    gc::set_adaptive_pacing(false);
    let fixed = examined_building(nodes);
    gc::set_adaptive_pacing(true);
    let paced = examined_building(nodes);
    gc::set_threshold(thresholds.0, thresholds.1, thresholds.2);
    let young = |e: [u64; 3]| e[0] + e[1];
    assert!(
        young(paced) * 4 < young(fixed),
        "young examinations: paced {paced:?}, CPython's schedule {fixed:?}"
    );
    assert!(
        paced[2] < fixed[2],
        "generation 2: paced {paced:?}, CPython's schedule {fixed:?}"
    );
}

#[test]
fn young_garbage_after_a_fruitless_build_is_still_found_automatically() {
    gc::set_adaptive_pacing(true);
    let thresholds = gc::get_threshold();
    let threshold = size(100, 4);
    gc::set_threshold(threshold, 10, 10);
    let tally = Tally::new();
    // Long enough a build for the skips to reach their longest.
    let (root, _) = build_tree(&tally, size(20_000, 400));
    let garbage = Tally::new();
    let cycles = size(20_000, 400);
    for i in 0..cycles {
        let n = Node::new(i, &garbage);
        n.link(&n);
    }
    let freed_automatically = garbage.dropped();
    gc::set_threshold(thresholds.0, thresholds.1, thresholds.2);
    // The skips end at the first fruitful collection: at most 63 skipped
    // collections and one young generation's worth can be left when the
    // loop ends.
    assert!(
        freed_automatically + 64 * threshold + 11 * threshold >= cycles,
        "{freed_automatically} of {cycles} freed automatically"
    );
    drop(root);
    gc::collect();
    assert_eq!(garbage.dropped(), cycles);
}

#[test]
// Natively only: it takes about 20,000 allocations even at its smallest
// (the growth allowed after fruitless cycles is what it checks), hours
// under Miri; the paths it takes, the other two tests take too.
#[cfg(not(miri))]
fn old_garbage_after_a_fruitless_build_is_still_found_automatically() {
    gc::set_adaptive_pacing(true);
    let thresholds = gc::get_threshold();
    gc::set_threshold(size(100, 4), 2, 2);
    let tally = Tally::new();
    let (root, _) = build_tree(&tally, size(10_000, 100));
    // Old garbage: a subtree's worth of old cycles, dropped at once.
    let garbage = Tally::new();
    let count = size(1_000, 20);
    let old: Vec<Gc<Node>> = (0..count)
        .map(|i| {
            let n = Node::new(i, &garbage);
            n.link(&n);
            n
        })
        .collect();
    gc::collect_generation(1).unwrap(); // old now
    drop(old);
    // The growth allowed after fruitless cycles is bounded: allocating
    // beyond it (and keeping what was allocated) brings a cycle.
    let allocations = allocations_until_dropped(&garbage, count, 2_000_000);
    gc::set_threshold(thresholds.0, thresholds.1, thresholds.2);
    assert_eq!(
        garbage.dropped(),
        count,
        "found after {allocations} allocations"
    );
    drop(root);
}

/// Allocates nodes (kept until it returns) until `tally` has counted
/// `dropped` drops, or `limit` nodes were made; returns how many were.
#[cfg(not(miri))]
fn allocations_until_dropped(tally: &Tally, dropped: usize, limit: usize) -> usize {
    let keep_tally = Tally::new();
    let mut keep = Vec::new();
    while tally.dropped() < dropped && keep.len() < limit {
        keep.push(Node::new(0, &keep_tally));
    }
    keep.len()
}

#[test]
fn cycles_that_find_nothing_examine_at_most_a_member_per_four_allocations() {
    // A fresh heap (this test's thread has its own): no cycle found
    // garbage yet, so cycles go at the slow rate.
    gc::set_adaptive_pacing(true);
    let thresholds = gc::get_threshold();
    if cfg!(miri) {
        gc::set_threshold(2, 4, 2);
    } else {
        gc::set_threshold(100, 10, 10);
    }
    let tally = Tally::new();
    let before = gc::get_stats();
    let (root, made) = build_tree(&tally, size(100_000, 100));
    let examined = examined_since(&before);
    gc::set_threshold(thresholds.0, thresholds.1, thresholds.2);
    assert!(examined[2] > 0, "no cycle ran: {examined:?}");
    // A unit of work is a member traced or an edge followed; a slow cycle
    // earns one per four allocations, and a step spends no more members
    // than it has earned.
    assert!(
        examined[2] <= made as u64 / 4,
        "{examined:?} examined while {made} nodes were made"
    );
    drop(root);
    gc::collect();
    assert_eq!(tally.dropped(), made);
}

#[test]
// Natively only: the slow cycle it measures takes thousands of allocations
// even on its smallest heap (about 25 s under Miri, in each of CI's two
// Miri passes), and the steps it runs, slow and at full speed, are the
// ones the other tests of this file and `incremental.rs` run under Miri;
// what it checks is the pacer's arithmetic, safe code.
#[cfg(not(miri))]
fn after_a_cycle_finds_garbage_the_next_one_runs_at_full_speed() {
    gc::set_adaptive_pacing(true);
    let thresholds = gc::get_threshold();
    gc::set_threshold(100, 1, 1);
    let tally = Tally::new();
    let live: Vec<Gc<Node>> = (0..5_000).map(|i| Node::new(i, &tally)).collect();
    // Old garbage (a self-loop made old by a full collection, which leaves
    // the pacing as it is), found by the first cycle, at the slow rate.
    let old_garbage = |id| {
        let garbage = Tally::new();
        let node = Node::new(id, &garbage);
        node.link(&node);
        gc::collect();
        drop(node);
        garbage
    };
    let first = old_garbage(1);
    let slow = allocations_until_dropped(&first, 1, 1_000_000);
    // The next cycle over the same heap goes at full speed.
    let second = old_garbage(2);
    let fast = allocations_until_dropped(&second, 1, 1_000_000);
    gc::set_threshold(thresholds.0, thresholds.1, thresholds.2);
    assert_eq!(
        (first.dropped(), second.dropped()),
        (1, 1),
        "both found automatically"
    );
    assert!(
        fast * 4 < slow,
        "{slow} allocations for the first, {fast} for the second"
    );
    drop(live);
}
