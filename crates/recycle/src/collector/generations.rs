//! Generations: which generation to collect, and when (CPython's
//! `gc_select_generation` and its counters).
//!
//! New tracked objects join generation 0. An object that survives a
//! collection of generation `g` moves to generation `g + 1` (at most 2).
//! Three counters decide when to collect:
//!
//! - `count[0]`: tracked objects allocated minus tracked objects destroyed
//!   since the last collection of generation 0 (a *net* count);
//! - `count[1]`: collections of generation 0 since the last one of 1;
//! - `count[2]`: collections of generation 1 since the last one of 2.
//!
//! An allocation that makes `count[0]` exceed `threshold[0]` collects the
//! oldest generation whose count exceeds its threshold, except that a full
//! collection also needs the objects that reached generation 2 since the
//! last full collection to exceed 25% of those that were there then. That
//! keeps the total cost linear for a program that builds a large structure
//! (each full collection costs more, so there are fewer of them).

use core::cell::Cell;

use crate::heap::NUM_GENERATIONS;

thread_local! {
    /// Bit `g` is set when, since the last collection that examined
    /// generation `g`, a strong count of an object in generation `g` or a
    /// younger one was decremented to a value above zero.
    ///
    /// Counting frees everything that loses its last reference, so objects
    /// only become *cyclic* garbage when a reference to one of them, or to
    /// an object on the only path to them, is dropped while its target
    /// survives: a decrement to a non-zero count. The garbage is then
    /// reachable from that target, so a collection that leaves the target's
    /// generation out sees a reference from outside and cannot find it. An
    /// automatic collection of generation `g` with bit `g` clear would
    /// therefore find nothing; it only promotes the young objects (see
    /// `collector::collect_generations`). This is the coarse form of Bacon
    /// and Rajan's observation that only a decrement to non-zero can create
    /// garbage cycles. Building acyclic structures then costs no collection
    /// work, and on a heap whose old objects lose references, the young
    /// collections are skipped. `gc::collect()` and `gc::collect_generation`
    /// always examine.
    static DIRTY: Cell<u8> = const { Cell::new(0) };
}

/// A handle was dropped and its object survived: mark `generations` (the
/// object's `GcHeader::dirty_generations`). A load of a thread-local and a
/// branch that almost always goes the same way; a store only after a
/// collection cleared the bits (stores are what a tight clone/drop loop is
/// short of).
#[inline(always)]
pub(crate) fn note_reference_dropped(generations: u8) {
    DIRTY.with(|d| {
        let bits = d.get();
        if bits & generations != generations {
            d.set(bits | generations);
        }
    });
}

/// Marks every generation: for changes the drop path does not see (objects
/// coming back from the permanent generation).
pub(crate) fn note_all_dirty() {
    DIRTY.with(|d| d.set(0b111));
}

/// Could a collection of generations `0..=generation` find garbage?
pub(crate) fn may_hold_garbage(generation: usize) -> bool {
    DIRTY.with(|d| d.get() & (1 << generation) != 0)
}

/// A collection of generations `0..=generation` starts examining them.
/// (Drops during the collection set the bits again.)
pub(crate) fn note_examined(generation: usize) {
    let examined: u8 = (2 << generation) - 1;
    DIRTY.with(|d| d.set(d.get() & !examined));
}

/// Default thresholds, as CPython 3.13+.
pub(crate) const DEFAULT_THRESHOLDS: [usize; NUM_GENERATIONS] = [2000, 10, 10];

/// The counters and thresholds of the three generations.
pub(crate) struct GenerationCounters {
    count: [Cell<usize>; NUM_GENERATIONS],
    threshold: [Cell<usize>; NUM_GENERATIONS],
    /// Survivors moved into generation 2 since the last full collection.
    long_lived_pending: Cell<usize>,
    /// Objects in generation 2 after the last full collection.
    long_lived_total: Cell<usize>,
    /// Automatic collection is on (`gc::enable`/`gc::disable`).
    enabled: Cell<bool>,
}

impl GenerationCounters {
    pub(crate) const fn new() -> Self {
        GenerationCounters {
            count: [Cell::new(0), Cell::new(0), Cell::new(0)],
            threshold: [
                Cell::new(DEFAULT_THRESHOLDS[0]),
                Cell::new(DEFAULT_THRESHOLDS[1]),
                Cell::new(DEFAULT_THRESHOLDS[2]),
            ],
            long_lived_pending: Cell::new(0),
            long_lived_total: Cell::new(0),
            enabled: Cell::new(true),
        }
    }

    /// A tracked object was allocated. Returns `true` when that calls for an
    /// automatic collection.
    #[inline]
    pub(crate) fn note_allocation(&self) -> bool {
        let count = self.count[0].get() + 1;
        self.count[0].set(count);
        let threshold = self.threshold[0].get();
        count > threshold && threshold != 0 && self.enabled.get()
    }

    /// A tracked object was destroyed.
    #[inline]
    pub(crate) fn note_destruction(&self) {
        let count = self.count[0].get();
        self.count[0].set(count.saturating_sub(1));
    }

    /// The generation an automatic collection should collect, if any.
    pub(crate) fn select(&self) -> Option<usize> {
        (0..NUM_GENERATIONS).rev().find(|&g| {
            self.count[g].get() > self.threshold[g].get()
                && (g < NUM_GENERATIONS - 1
                    || self.long_lived_pending.get() >= self.long_lived_total.get() / 4)
        })
    }

    /// A collection of `generation` starts: the next older generation counts
    /// it, the counts of the collected generations restart.
    pub(crate) fn start_collection(&self, generation: usize) {
        if generation + 1 < NUM_GENERATIONS {
            let older = &self.count[generation + 1];
            older.set(older.get() + 1);
        }
        for count in &self.count[..=generation] {
            count.set(0);
        }
    }

    /// A collection of `generation` ended with `survivors` objects promoted
    /// (and, after a full collection, `old_size` objects in generation 2).
    pub(crate) fn finish_collection(&self, generation: usize, survivors: usize, old_size: usize) {
        if generation == NUM_GENERATIONS - 2 {
            self.long_lived_pending
                .set(self.long_lived_pending.get() + survivors);
        } else if generation == NUM_GENERATIONS - 1 {
            self.long_lived_pending.set(0);
            self.long_lived_total.set(old_size);
        }
    }

    /// The size of generation 2 after the last full collection plus what
    /// was promoted into it since: its size, give or take the objects freed
    /// meanwhile (what a full collection that examines nothing may assume).
    pub(crate) fn long_lived_estimate(&self) -> usize {
        self.long_lived_total.get() + self.long_lived_pending.get()
    }

    pub(crate) fn counts(&self) -> [usize; NUM_GENERATIONS] {
        [
            self.count[0].get(),
            self.count[1].get(),
            self.count[2].get(),
        ]
    }

    pub(crate) fn thresholds(&self) -> [usize; NUM_GENERATIONS] {
        [
            self.threshold[0].get(),
            self.threshold[1].get(),
            self.threshold[2].get(),
        ]
    }

    pub(crate) fn set_thresholds(&self, thresholds: [usize; NUM_GENERATIONS]) {
        for (cell, value) in self.threshold.iter().zip(thresholds) {
            cell.set(value);
        }
    }

    pub(crate) fn is_enabled(&self) -> bool {
        self.enabled.get()
    }

    pub(crate) fn set_enabled(&self, enabled: bool) {
        self.enabled.set(enabled)
    }
}
