//! `recycle::tracemalloc`: records, sizes, grouping, comparison, and its
//! per-thread scope. Tracing is per thread, so these tests do not see each
//! other's allocations.

use recycle::tracemalloc::{self, GroupKey, KeyType};
use recycle::{Gc, gc};

use crate::common::{Node, Tally};

/// Stops tracing even when an assertion fails, so a failed test does not
/// leave the thread tracing.
struct Tracing;

impl Tracing {
    fn start() -> Self {
        tracemalloc::start();
        Tracing
    }
}

impl Drop for Tracing {
    fn drop(&mut self) {
        tracemalloc::stop();
    }
}

/// An untracked `Gc<T>` is the 16-byte header plus the value.
const HEADER: usize = 16;

/// The allocation size of an untracked `Gc<T>`: header and value, padded to
/// the header's alignment.
fn gc_size<T>() -> usize {
    (HEADER + size_of::<T>()).next_multiple_of(align_of::<T>().max(8))
}

#[test]
fn nothing_is_recorded_until_start_and_after_stop() {
    let before = Gc::new(1u64);
    assert!(!tracemalloc::is_tracing());
    assert_eq!(tracemalloc::get_traced_memory(), (0, 0));
    assert!(tracemalloc::take_snapshot().traces().is_empty());
    {
        let _t = Tracing::start();
        assert!(tracemalloc::is_tracing());
        assert!(tracemalloc::get_object_traceback(&before).is_none());
        // Freeing an allocation made before `start` changes nothing.
        drop(before);
        assert_eq!(tracemalloc::get_traced_memory(), (0, 0));
        let during = Gc::new(2u64);
        assert_eq!(tracemalloc::take_snapshot().traces().len(), 1);
        drop(during);
    }
    assert!(!tracemalloc::is_tracing());
    let after = Gc::new(3u64);
    assert!(tracemalloc::take_snapshot().traces().is_empty());
    assert!(tracemalloc::get_object_traceback(&after).is_none());
}

#[test]
fn each_allocation_is_recorded_with_its_size_type_and_line() {
    let _t = Tracing::start();
    let x = Gc::new([7u8; 1000]);
    let line = line!() - 1;
    let snapshot = tracemalloc::take_snapshot();
    let [a] = snapshot.traces() else {
        panic!("expected one record, got {:?}", snapshot.traces())
    };
    assert_eq!(a.size, HEADER + 1000);
    assert_eq!(a.type_name, "[u8; 1000]");
    assert_eq!(a.location.file(), file!());
    assert_eq!(a.location.line(), line);
    assert_eq!(tracemalloc::get_object_traceback(&x).unwrap().line(), line);
    assert_eq!(tracemalloc::get_traced_memory(), (1016, 1016));
    drop(x);
    assert_eq!(tracemalloc::get_traced_memory(), (0, 1016));
    assert!(tracemalloc::take_snapshot().traces().is_empty());
}

#[test]
fn the_other_constructors_record_their_caller() {
    let _t = Tracing::start();
    let a: Gc<u32> = Gc::from(5);
    let from_line = line!() - 1;
    let b: Gc<u32> = Gc::default();
    let default_line = line!() - 1;
    let c = Gc::new_cyclic(|_| 1u16);
    let cyclic_line = line!() - 1;
    let line_of = |site: Option<&std::panic::Location<'_>>| site.unwrap().line();
    assert_eq!(line_of(tracemalloc::get_object_traceback(&a)), from_line);
    assert_eq!(line_of(tracemalloc::get_object_traceback(&b)), default_line);
    assert_eq!(line_of(tracemalloc::get_object_traceback(&c)), cyclic_line);
}

#[test]
fn objects_the_collector_frees_leave_the_records() {
    let _t = Tracing::start();
    let tally = Tally::new();
    let a = Node::new(0, &tally);
    let b = Node::new(1, &tally);
    a.link(&b);
    b.link(&a);
    let (with_cycle, _) = tracemalloc::get_traced_memory();
    assert!(with_cycle > 0);
    assert_eq!(tracemalloc::take_snapshot().traces().len(), 2);
    drop((a, b));
    assert_eq!(
        tracemalloc::get_traced_memory().0,
        with_cycle,
        "a cycle leaks until collected"
    );
    assert_eq!(gc::collect(), 2);
    assert_eq!(tally.dropped(), 2);
    assert_eq!(tracemalloc::get_traced_memory(), (0, with_cycle));
    assert!(tracemalloc::take_snapshot().traces().is_empty());
}

#[test]
fn statistics_group_by_line_file_and_type_biggest_first() {
    let _t = Tracing::start();
    let tally = Tally::new();
    let small: Vec<Gc<u8>> = (0..30).map(|i| Gc::new(i as u8)).collect();
    let small_line = line!() - 1;
    let big: Vec<Gc<[u64; 16]>> = (0..3).map(|_| Gc::new([0; 16])).collect();
    let big_line = line!() - 1;
    let nodes: Vec<Gc<Node>> = (0..5).map(|i| Node::new(i, &tally)).collect();
    let snapshot = tracemalloc::take_snapshot();

    let by_line = snapshot.statistics(KeyType::Line);
    assert_eq!(by_line.len(), 3);
    let of = |line: u32| by_line.iter().find(|s| s.key.line() == Some(line)).unwrap();
    assert_eq!(
        (of(small_line).count, of(small_line).size),
        (30, 30 * gc_size::<u8>())
    );
    assert_eq!(
        (of(big_line).count, of(big_line).size),
        (3, 3 * gc_size::<[u64; 16]>())
    );
    assert!(
        by_line.windows(2).all(|w| w[0].size >= w[1].size),
        "{by_line:?}"
    );

    let by_file = snapshot.statistics(KeyType::File);
    assert_eq!(by_file.len(), 2, "this file and common.rs: {by_file:?}");
    let this_file = by_file
        .iter()
        .find(|s| s.key == GroupKey::File(file!()))
        .unwrap();
    assert_eq!(this_file.count, 33);
    let node_file = by_file
        .iter()
        .find(|s| s.key != GroupKey::File(file!()))
        .unwrap();
    assert!(node_file.key.file().unwrap().ends_with("common.rs"));
    assert_eq!(node_file.count, 5);

    let by_type = snapshot.statistics(KeyType::TypeName);
    let names: Vec<String> = by_type.iter().map(|s| s.key.to_string()).collect();
    assert!(names.contains(&"u8".to_string()) && names.contains(&"[u64; 16]".to_string()));
    assert!(
        names.iter().any(|n| n.ends_with("common::Node")),
        "{names:?}"
    );
    let total: usize = by_type.iter().map(|s| s.size).sum();
    assert_eq!(total, tracemalloc::get_traced_memory().0);
    drop((small, big, nodes));
}

#[test]
fn compare_to_shows_growth_and_shrinkage() {
    let _t = Tracing::start();
    // A closure, not `.map(Gc::new)`: a function value records the library
    // code that calls it (see `function_values_record_their_caller_in_core`).
    let mut kept: Vec<Gc<u32>> = (0..10).map(|i| Gc::new(i)).collect();
    let first_line = line!() - 1;
    let old = tracemalloc::take_snapshot();
    kept.truncate(4);
    let grown: Vec<Gc<[u32; 8]>> = (0..50).map(|_| Gc::new([0; 8])).collect();
    let grown_line = line!() - 1;
    let new = tracemalloc::take_snapshot();

    let diff = new.compare_to(&old, KeyType::Line);
    assert_eq!(diff.len(), 2);
    assert_eq!(
        diff[0].key.line(),
        Some(grown_line),
        "the biggest change first"
    );
    assert_eq!((diff[0].count, diff[0].count_diff), (50, 50));
    assert_eq!(diff[0].size_diff, 50 * gc_size::<[u32; 8]>() as isize);
    assert_eq!(diff[1].key.line(), Some(first_line));
    assert_eq!((diff[1].count, diff[1].count_diff), (4, -6));
    assert_eq!(diff[1].size_diff, -6 * gc_size::<u32>() as isize);

    // A group that is gone appears with size 0.
    drop(kept);
    let gone = tracemalloc::take_snapshot().compare_to(&old, KeyType::Line);
    let first = gone
        .iter()
        .find(|d| d.key.line() == Some(first_line))
        .unwrap();
    assert_eq!((first.size, first.count, first.count_diff), (0, 0, -10));
    drop(grown);
}

#[test]
fn statistics_print_as_python_does() {
    let _t = Tracing::start();
    let old = tracemalloc::take_snapshot();
    let kept: Vec<Gc<[u8; 48]>> = (0..1000).map(|_| Gc::new([0; 48])).collect();
    let line = line!() - 1;
    let new = tracemalloc::take_snapshot();
    let top = new.statistics(KeyType::Line);
    assert_eq!(
        top[0].to_string(),
        format!(
            "{}:{line}: size=62.5 KiB, count=1000, average=64 B",
            file!()
        )
    );
    let diff = new.compare_to(&old, KeyType::Line);
    assert_eq!(
        diff[0].to_string(),
        format!(
            "{}:{line}: size=62.5 KiB (+62.5 KiB), count=1000 (+1000), average=64 B",
            file!()
        )
    );
    drop(kept);
}

#[test]
fn peak_reset_and_clear() {
    let _t = Tracing::start();
    let a = Gc::new([0u8; 100]);
    let b = Gc::new([0u8; 200]);
    let (one, two) = (gc_size::<[u8; 100]>(), gc_size::<[u8; 200]>());
    drop(b);
    assert_eq!(tracemalloc::get_traced_memory(), (one, one + two));
    tracemalloc::reset_peak();
    assert_eq!(tracemalloc::get_traced_memory(), (one, one));
    assert!(tracemalloc::get_tracemalloc_memory() > 0);
    tracemalloc::clear_traces();
    assert!(tracemalloc::is_tracing());
    assert_eq!(tracemalloc::get_traced_memory(), (0, 0));
    assert!(tracemalloc::get_object_traceback(&a).is_none());
    drop(a); // not recorded any more: no change, no underflow
    assert_eq!(tracemalloc::get_traced_memory(), (0, 0));
}

#[test]
fn filter_keeps_what_the_predicate_accepts() {
    let _t = Tracing::start();
    let a: Vec<Gc<u8>> = (0..3).map(Gc::new).collect();
    let b: Vec<Gc<u16>> = (0..4).map(Gc::new).collect();
    let only_u16 = tracemalloc::take_snapshot().filter(|t| t.type_name == "u16");
    assert_eq!(only_u16.traces().len(), 4);
    drop((a, b));
}

#[test]
fn tracing_is_per_thread() {
    let _t = Tracing::start();
    let mine = Gc::new(1u64);
    std::thread::spawn(|| {
        assert!(!tracemalloc::is_tracing());
        let theirs = Gc::new(2u64);
        assert!(tracemalloc::take_snapshot().traces().is_empty());
        // This thread traces on its own, and exits without stopping.
        tracemalloc::start();
        let traced = Gc::new(3u64);
        assert_eq!(tracemalloc::take_snapshot().traces().len(), 1);
        drop((theirs, traced));
    })
    .join()
    .unwrap();
    let snapshot = tracemalloc::take_snapshot();
    assert_eq!(snapshot.traces().len(), 1);
    assert!(tracemalloc::get_object_traceback(&mine).is_some());
}

#[test]
fn function_values_record_their_caller_in_core() {
    let _t = Tracing::start();
    let through_fn_value: Vec<Gc<u32>> = (0..2).map(Gc::new).collect();
    let site = tracemalloc::get_object_traceback(&through_fn_value[0]).unwrap();
    assert_ne!(site.file(), file!(), "documented on recycle::tracemalloc");
}
