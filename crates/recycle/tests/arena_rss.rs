//! An arena given back leaves the process's resident memory even when the
//! global allocator has live blocks above it (glibc returns only the top of
//! its heap, which is why arenas are mapped from the system: see
//! `alloc/system.rs`). Its own test binary, without the test harness: it
//! runs on the main thread, whose glibc heap (unlike those of other threads)
//! keeps freed memory, and no other test's memory shows in the RSS.

fn main() {
    #[cfg(all(feature = "pool", target_os = "linux", not(miri)))]
    linux::released_arenas_leave_rss_below_live_heap_blocks();
}

#[cfg(all(feature = "pool", target_os = "linux", not(miri)))]
mod linux {
    use recycle::Gc;

    /// Resident set size of this process now, in KiB.
    fn rss_kib() -> u64 {
        let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
        let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
        pages * 4
    }

    pub(crate) fn released_arenas_leave_rss_below_live_heap_blocks() {
        const ROUNDS: u64 = 40;
        const PER_ROUND: u64 = 25_000;
        // Every empty arena goes back at once: this test is about where they
        // go. (Left to itself, the thread would learn from the rounds below,
        // which map arenas again after the warm-up gave some back, to keep
        // them for reuse.)
        recycle::alloc::set_retain_limit(0);
        // Earlier work: arenas filled and emptied, and an 8 MiB buffer freed.
        // (When arenas came from glibc, that free raised its `mmap` threshold,
        // so that the arenas after it came from its heap, and stayed resident
        // once freed below the pins: 32 of 33 MiB.)
        drop((0..1_000_000u64).map(Gc::new).collect::<Vec<_>>());
        let mut objects: Vec<Gc<u64>> = Vec::with_capacity((ROUNDS * PER_ROUND) as usize);
        let mut pins: Vec<Box<[u8; 64]>> = Vec::with_capacity(ROUNDS as usize);
        for round in 0..ROUNDS {
            objects.extend((0..PER_ROUND).map(|i| Gc::new(round * PER_ROUND + i)));
            // A small block of the global allocator's, taken after each arena's
            // worth of objects, and kept.
            pins.push(Box::new([round as u8; 64]));
        }
        let full = rss_kib();
        // 1,000,000 objects of 24 bytes: some 23 MiB of arenas.
        objects.clear();
        let after = rss_kib();
        println!("arena_rss: RSS, KiB: full {full}, objects dropped {after}");
        assert!(
            after + 20 * 1024 <= full,
            "the arenas went back: {full} -> {after} KiB"
        );
        assert_eq!(pins.iter().map(|p| p[0] as u64).sum::<u64>(), 780);
    }
}
