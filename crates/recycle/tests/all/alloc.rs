//! The pool allocator under `Gc` (feature `pool`, on by default): size
//! classes, pool reuse, arenas going back to the system, statistics. The
//! statistics are per thread, and each test runs on its own thread.
#![cfg(feature = "pool")]

use std::cell::RefCell;

use recycle::alloc::{self, SizeClassStats};
use recycle::{Gc, gc};

use crate::common::{Rng, size};

/// Blocks of the class that serves `Gc<[u8; N]>` (untracked: 16-byte header;
/// classes are 8 bytes apart).
fn class_of_array<const N: usize>() -> SizeClassStats {
    let bytes = 16 + N;
    alloc::stats().classes[(bytes - 1) / 8]
}

#[test]
fn small_objects_come_from_pools() {
    let before = class_of_array::<200>();
    assert_eq!(before.block_size, 216);
    let objects: Vec<_> = (0..100).map(|_| Gc::new([7u8; 200])).collect();
    let during = class_of_array::<200>();
    assert_eq!(during.blocks_in_use, before.blocks_in_use + 100);
    assert!(during.pools >= 1);
    drop(objects);
    assert_eq!(class_of_array::<200>().blocks_in_use, before.blocks_in_use);
}

#[test]
fn large_and_overaligned_objects_bypass_the_pools() {
    let before = alloc::stats();
    let big = Gc::new([1u8; 1000]);
    #[derive(Clone, Copy)]
    #[repr(align(64))]
    struct Aligned(u8);
    impl recycle::Trace for Aligned {
        const MAY_CONTAIN_GC: bool = false;
        fn trace(&self, _: &mut recycle::Tracer) {}
    }
    let aligned = Gc::new(Aligned(3));
    assert_eq!(Gc::as_ptr(&aligned).addr() % 64, 0, "alignment honoured");
    let after = alloc::stats();
    let in_use = |s: &alloc::AllocStats| s.classes.iter().map(|c| c.blocks_in_use).sum::<usize>();
    assert_eq!(in_use(&before), in_use(&after));
    assert_eq!(big[999], 1);
    assert_eq!(aligned.0, 3);
}

#[test]
fn a_tracked_object_has_a_32_byte_header() {
    // A node whose link can change (it sits in a `RefCell`): tracked. Its
    // vtable is in its pool's header, so the object is the links (16
    // bytes), the header (16) and the value (24): 56-byte blocks.
    #[derive(recycle::Trace)]
    struct Link {
        value: u64,
        next: RefCell<Option<Gc<Link>>>,
    }
    let class = |s: &alloc::AllocStats| s.classes[(56 - 1) / 8];
    let before = class(&alloc::stats());
    assert_eq!(before.block_size, 56);
    let mut chain = None;
    for value in 0..100 {
        chain = Some(Gc::new(Link {
            value,
            next: RefCell::new(chain),
        }));
    }
    assert!(gc::is_tracked(chain.as_ref().unwrap()));
    let during = class(&alloc::stats());
    assert_eq!(during.blocks_in_use, before.blocks_in_use + 100);
    assert_eq!(chain.as_ref().map(|c| c.value), Some(99));
    drop(chain);
    assert_eq!(class(&alloc::stats()).blocks_in_use, before.blocks_in_use);
}

#[test]
fn an_immutable_node_is_untracked_with_a_16_byte_header() {
    // The node of the memory target: a `u64` and an `Option<Gc<Self>>`
    // (16 bytes). Built from the end of the list, each node holds only
    // handles to untracked objects and can never change them: untracked at
    // birth, as CPython untracks tuples of atoms. Header (16) and value
    // (16): 32-byte blocks.
    #[derive(recycle::Trace)]
    struct Link {
        value: u64,
        next: Option<Gc<Link>>,
    }
    let class = |s: &alloc::AllocStats| s.classes[(32 - 1) / 8];
    let before = class(&alloc::stats());
    assert_eq!(before.block_size, 32);
    let counts = gc::get_count();
    let mut chain = None;
    for value in 0..100 {
        chain = Some(Gc::new(Link { value, next: chain }));
    }
    let head = chain.as_ref().unwrap();
    assert!(!gc::is_tracked(head));
    assert!(!gc::is_tracked(head.next.as_ref().unwrap()));
    assert_eq!(
        gc::get_count(),
        counts,
        "untracked objects count for nothing"
    );
    let during = class(&alloc::stats());
    assert_eq!(during.blocks_in_use, before.blocks_in_use + 100);
    assert_eq!(head.value, 99);
    drop(chain);
    assert_eq!(class(&alloc::stats()).blocks_in_use, before.blocks_in_use);
}

#[test]
fn size_classes_are_8_bytes_apart_and_keep_16_byte_alignment() {
    #[derive(Clone, Copy)]
    #[repr(align(16))]
    struct Aligned([u8; 24]);
    impl recycle::Trace for Aligned {
        const MAY_CONTAIN_GC: bool = false;
        fn trace(&self, _: &mut recycle::Tracer) {}
    }
    // 16-byte header + 24 bytes: a 40-byte block.
    let before = class_of_array::<24>();
    assert_eq!(before.block_size, 40);
    let packed: Vec<_> = (0..10).map(|_| Gc::new([5u8; 24])).collect();
    assert_eq!(
        class_of_array::<24>().blocks_in_use,
        before.blocks_in_use + 10
    );
    // Aligned to 16, the same 40 bytes take a 48-byte block, aligned to 16.
    let aligned: Vec<_> = (0..10).map(|_| Gc::new(Aligned([6; 24]))).collect();
    for a in &aligned {
        assert_eq!(Gc::as_ptr(a).addr() % 16, 0);
        assert_eq!(a.0[23], 6);
    }
    assert_eq!(
        class_of_array::<24>().blocks_in_use,
        before.blocks_in_use + 10
    );
    assert_eq!(packed[9][0], 5);
}

#[test]
fn freed_blocks_are_reused() {
    let a = Gc::new([0u8; 40]);
    let addr = Gc::as_ptr(&a).addr();
    drop(a);
    let b = Gc::new([0u8; 40]);
    assert_eq!(
        Gc::as_ptr(&b).addr(),
        addr,
        "the last freed block is handed out first"
    );
}

#[test]
fn empty_arenas_go_back_to_the_system() {
    // Enough objects for several arenas (24-byte blocks; under Miri, 8 KiB
    // arenas), then all freed: one arena stays.
    let n = size(200_000, 1_000);
    let objects: Vec<_> = (0..n).map(|i| Gc::new(i as u64)).collect();
    let full = alloc::stats();
    assert!(full.arenas_current >= 3, "{:?}", full.arenas_current);
    assert_eq!(
        full.arenas_high_water,
        full.arenas_current.max(full.arenas_high_water)
    );
    drop(objects);
    let empty = alloc::stats();
    assert!(empty.arenas_current <= 1, "{empty:?}");
    assert!(empty.arenas_released >= full.arenas_current - 1);
    assert_eq!(empty.bytes_in_use, 0);
}

/// Fills at least three arenas with `Gc<u64>`s: the objects, and the size
/// of an arena (8 KiB under Miri, 1 MiB otherwise).
fn fill_arenas() -> (Vec<Gc<u64>>, usize) {
    let objects: Vec<_> = (0..size(200_000, 1_000))
        .map(|i| Gc::new(i as u64))
        .collect();
    let stats = alloc::stats();
    assert!(stats.arenas_current >= 3, "{stats:?}");
    (
        objects,
        stats.bytes_in_arenas / stats.arenas_current as usize,
    )
}

#[test]
fn retained_arenas_are_reused_then_trimmed() {
    let (objects, arena) = fill_arenas();
    alloc::set_retain_limit(100 * arena + arena / 2);
    assert_eq!(alloc::retain_limit(), 100 * arena, "whole arenas");
    let full = alloc::stats();
    drop(objects);
    let kept = alloc::stats();
    assert_eq!(kept.arenas_released, full.arenas_released, "{kept:?}");
    assert_eq!(kept.arenas_current, full.arenas_current);
    // All but perhaps the arena of the empty pool its class keeps.
    assert!(kept.arenas_empty + 1 >= kept.arenas_current, "{kept:?}");
    assert_eq!(kept.bytes_in_use, 0);

    // The next round reuses them: no arena is obtained from the system.
    let again: Vec<_> = (0..size(200_000, 1_000))
        .map(|i| Gc::new(i as u64))
        .collect();
    let reused = alloc::stats();
    assert_eq!(reused.arenas_allocated, full.arenas_allocated, "{reused:?}");
    assert_eq!(reused.arenas_empty, 0);
    drop(again);

    let released = alloc::trim();
    let trimmed = alloc::stats();
    assert_eq!(released, kept.bytes_in_arenas, "{trimmed:?}");
    assert_eq!((trimmed.arenas_current, trimmed.arenas_empty), (0, 0));
    assert_eq!(alloc::retain_limit(), 100 * arena, "trim keeps the limit");
    // The allocator starts over from nothing.
    let one = Gc::new(7u64);
    assert_eq!(alloc::stats().arenas_current, 1);
    assert_eq!(*one, 7);
    drop(one);
    alloc::set_retain_limit(0);
}

#[test]
fn a_thread_that_rebuilds_what_it_dropped_learns_to_keep_arenas() {
    // Round 1 gives every arena but one back, and keeps nothing.
    let (objects, arena) = fill_arenas();
    let first = alloc::stats();
    drop(objects);
    let given_back = alloc::stats();
    assert!(given_back.arenas_current <= 1, "{given_back:?}");
    assert_eq!(alloc::retain_limit(), 0);

    // Round 2 maps arenas to replace those: the thread learns to keep them.
    let (objects, _) = fill_arenas();
    let second = alloc::stats();
    let remapped = second.arenas_allocated - first.arenas_allocated;
    assert!(remapped >= 2, "{second:?}");
    assert_eq!(alloc::retain_limit(), remapped as usize * arena);
    drop(objects);
    let kept = alloc::stats();
    assert!(kept.arenas_empty as usize >= 2, "{kept:?}");
    assert_eq!(kept.arenas_released, second.arenas_released);

    // Round 3 maps nothing.
    let (objects, _) = fill_arenas();
    assert_eq!(alloc::stats().arenas_allocated, second.arenas_allocated);
    drop(objects);

    // `trim` gives them back and forgets what was learned.
    assert!(alloc::trim() >= 2 * arena);
    assert_eq!(
        (alloc::retain_limit(), alloc::stats().arenas_current),
        (0, 0)
    );
}

#[test]
fn a_set_retain_limit_stops_the_learning() {
    alloc::set_retain_limit(0);
    for _ in 0..3 {
        let (objects, _) = fill_arenas();
        drop(objects);
        let after = alloc::stats();
        assert!(after.arenas_current <= 1, "{after:?}");
    }
    assert_eq!(alloc::retain_limit(), 0);
}

#[test]
fn lowering_the_retain_limit_gives_arenas_back_at_once() {
    let (objects, arena) = fill_arenas();
    alloc::set_retain_limit(100 * arena);
    drop(objects);
    let kept = alloc::stats();
    assert!(kept.arenas_empty >= 3, "{kept:?}");
    alloc::set_retain_limit(arena);
    let lowered = alloc::stats();
    assert_eq!(
        (lowered.arenas_current, lowered.arenas_empty),
        (1, 1),
        "{lowered:?}"
    );
    assert_eq!(
        lowered.arenas_released,
        kept.arenas_released + kept.arenas_current - 1
    );
    alloc::set_retain_limit(0);
    assert_eq!(alloc::stats().arenas_empty, 1, "the last arena stays");
}

#[test]
fn retained_arenas_go_back_when_the_thread_exits() {
    // Under Miri, an arena left behind would fail the run as a leak.
    let kept = std::thread::spawn(|| {
        let (objects, arena) = fill_arenas();
        alloc::set_retain_limit(100 * arena);
        drop(objects);
        alloc::stats().arenas_empty
    })
    .join()
    .unwrap();
    assert!(kept >= 3, "{kept}");
}

#[test]
fn fragmentation_then_release() {
    // Allocate many small objects, free 99% of them at random, allocate as
    // many again, then free everything: the arenas go back (CPython pins an
    // arena while one object lives in it; so does recycle, but returns the
    // rest).
    let n = size(1_000_000, 2_000);
    let mut objects: Vec<Option<Gc<u64>>> = (0..n).map(|i| Some(Gc::new(i as u64))).collect();
    let start = alloc::stats();
    let mut rng = Rng::new(99);
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, rng.below(i + 1));
    }
    for &i in &order[..n * 99 / 100] {
        objects[i] = None;
    }
    assert_eq!(
        objects.iter().filter(|o| o.is_some()).count(),
        n - n * 99 / 100
    );
    let sparse = alloc::stats();
    assert!(
        sparse.bytes_fragmented > sparse.bytes_in_use,
        "mostly holes: {sparse:?}"
    );
    for slot in objects.iter_mut().filter(|s| s.is_none()) {
        *slot = Some(Gc::new(0));
    }
    let refilled = alloc::stats();
    assert!(
        refilled.arenas_current <= start.arenas_current + 1,
        "the holes were reused: {} arenas, {} at the start",
        refilled.arenas_current,
        start.arenas_current
    );
    drop(objects);
    let end = alloc::stats();
    assert!(end.arenas_current <= 1, "{end:?}");
    assert_eq!(end.bytes_in_use, 0);
}

#[test]
fn print_stats_table() {
    let keep: Vec<_> = (0..10).map(|_| Gc::new([0u8; 100])).collect();
    let table = alloc::stats().to_string();
    assert!(
        table.starts_with("Small block threshold = 512, in 64 size classes."),
        "{table}"
    );
    assert!(table.contains("# arenas allocated current"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.trim_start().starts_with("14    120")),
        "{table}"
    );
    alloc::print_stats();
    drop(keep);
}
