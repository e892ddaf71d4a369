//! Issue 4's fragmentation test, by resident memory: allocate 1,000,000
//! small objects, free a random 99%, allocate as many again, free all; the
//! process's RSS ends within a few MiB of where it started. Its own test
//! binary with one test, so that no other test's memory shows in the RSS.
//! (`benches/fragmentation.rs` prints the figures beside `Rc` and CPython.)

#![cfg(all(feature = "pool", target_os = "linux", not(miri)))]

use recycle::Gc;

#[path = "../benches/shared/mod.rs"]
mod shared;

/// Resident set size of this process now, in KiB.
fn rss_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4
}

#[test]
fn rss_returns_to_the_start_after_fragmentation() {
    const N: usize = 1_000_000;
    let order = shared::shuffled(N, 0x2545_f491_4f6c_dd1d);
    let start = rss_kib();

    let mut objects: Vec<Option<Gc<u64>>> = (0..N as u64).map(|i| Some(Gc::new(i))).collect();
    let full = rss_kib();
    assert!(
        full > start + 24 * 1024,
        "1M objects take >24 MiB: {start} -> {full} KiB"
    );
    for &i in &order[..N * 99 / 100] {
        objects[i] = None;
    }
    // Every pool keeps a few live blocks: nothing can go back yet.
    let sparse = rss_kib();
    assert!(sparse > start + 24 * 1024, "{start} -> {sparse} KiB");
    for (i, slot) in objects.iter_mut().enumerate() {
        if slot.is_none() {
            *slot = Some(Gc::new(i as u64));
        }
    }
    let refilled = rss_kib();
    assert!(
        refilled <= full + 2 * 1024,
        "the refill reuses the holes: {full} -> {refilled} KiB"
    );
    drop(objects);
    drop(order);
    let end = rss_kib();
    eprintln!(
        "RSS, KiB: start {start}, full {full}, sparse {sparse}, refilled {refilled}, end {end}"
    );
    assert!(
        end <= start + 4 * 1024,
        "RSS back within 4 MiB of the start: {start} -> {end} KiB"
    );
}
