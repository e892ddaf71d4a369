//! The per-thread heap: the generation lists every tracked object lives in,
//! and the flags that tell the rest of the crate what the collector is doing.
//!
//! `Gc` is `!Send`, so every object belongs to the thread that made it and
//! each thread has its own heap, as each CPython interpreter has its own GC
//! state. The heap holds only `Cell`s and raw pointers, so it needs no
//! thread-local destructor and stays usable while other thread-locals are
//! being torn down. Objects still alive when their thread exits are leaked.

use core::cell::Cell;
use core::ptr::{self, NonNull};

use crate::collector::debug::DebugFlags;
use crate::collector::generations::GenerationCounters;
use crate::collector::incremental::OldCycle;
use crate::collector::list::GcList;
use crate::collector::stats::GenerationStats;
use crate::header::{GcHeader, GcLinks};

/// Number of generations (CPython: 3).
pub(crate) const NUM_GENERATIONS: usize = 3;

pub(crate) struct Heap {
    /// Tracked objects by generation. New objects go to generation 0.
    pub(crate) generations: [GcList; NUM_GENERATIONS],
    /// The young objects whose strong count went down to a value above zero
    /// since they were allocated (flagged `DECREMENTED`), by generation: the
    /// objects an automatic young collection starts from. They are part of
    /// their generation as much as those of `generations`.
    pub(crate) decremented: [GcList; NUM_GENERATIONS - 1],
    /// The incremental collection of generation 2, with the lists that hold
    /// its members while it runs.
    pub(crate) old_cycle: OldCycle,
    /// Frozen objects (`gc::freeze`), which no collection examines.
    pub(crate) permanent: GcList,
    /// This thread's small-object allocator.
    #[cfg(feature = "pool")]
    pub(crate) pools: crate::alloc::pool::Pools,
    /// `gc::set_debug` flags, as bits.
    pub(crate) debug: Cell<u32>,
    /// When to collect which generation.
    pub(crate) counters: GenerationCounters,
    /// What the collections of each generation did so far.
    pub(crate) stats: [Cell<GenerationStats>; NUM_GENERATIONS],
    /// A collection is running; nested `collect()` calls return 0.
    pub(crate) collecting: Cell<bool>,
    /// A young object was decremented while automatic collection was off,
    /// and not listed as decremented: until a collection of generation 1
    /// or 2 has examined every young object, automatic young collections
    /// examine everything.
    pub(crate) unlisted_decrements: Cell<bool>,
    /// Some object was flagged `NEW` (allocated while `collecting`).
    pub(crate) allocated_while_collecting: Cell<bool>,
    /// `gc::freeze`/`gc::unfreeze` asked for while a collection ran: done
    /// when it ends (see `collector::introspect::run_deferred_requests`).
    pub(crate) deferred_request: Cell<u8>,
    /// How deep destructions are nested right now (the trashcan's counter).
    pub(crate) destroy_depth: Cell<u32>,
    /// The thread's exit guard (`ThreadExit`) is registered.
    pub(crate) exit_registered: Cell<bool>,
    /// Destructions postponed because they were nested too deep: a boxed
    /// `Vec` made by the first such destruction and freed by the outermost
    /// one when it has emptied it; null otherwise.
    pub(crate) trashcan: Cell<*mut Vec<NonNull<GcHeader>>>,
}

impl Heap {
    const fn new() -> Self {
        Heap {
            generations: [GcList::new(), GcList::new(), GcList::new()],
            decremented: [GcList::new(), GcList::new()],
            old_cycle: OldCycle::new(),
            permanent: GcList::new(),
            #[cfg(feature = "pool")]
            pools: crate::alloc::pool::Pools::new(),
            debug: Cell::new(0),
            counters: GenerationCounters::new(),
            stats: [
                Cell::new(GenerationStats::ZERO),
                Cell::new(GenerationStats::ZERO),
                Cell::new(GenerationStats::ZERO),
            ],
            collecting: Cell::new(false),
            allocated_while_collecting: Cell::new(false),
            unlisted_decrements: Cell::new(false),
            deferred_request: Cell::new(0),
            destroy_depth: Cell::new(0),
            exit_registered: Cell::new(false),
            trashcan: Cell::new(ptr::null_mut()),
        }
    }

    /// Starts tracking a new object: it joins generation 0. Returns `true`
    /// when this allocation calls for an automatic collection.
    ///
    /// # Safety
    ///
    /// - `links` belongs to a live tracked object with an initialized value
    ///   that is in no list.
    #[inline]
    #[must_use]
    pub(crate) unsafe fn track(&self, links: NonNull<GcLinks>) -> bool {
        // SAFETY: per the contract.
        unsafe {
            let l = links.as_ref();
            l.start_in_epoch(self.counters.current_epoch());
            if self.collecting.get() {
                // Not one of the objects being collected (see deduce.rs).
                l.set_new(true);
                self.allocated_while_collecting.set(true);
            }
            self.generations[0].push_back(links);
        }
        self.counters.note_allocation() && !self.collecting.get()
    }

    pub(crate) fn debug_flags(&self) -> DebugFlags {
        DebugFlags::from_bits_truncate(self.debug.get())
    }

    /// The lists that hold the objects of `generation` (0..=2).
    pub(crate) fn lists_of(&self, generation: usize) -> impl Iterator<Item = &GcList> {
        let cycle = (generation == NUM_GENERATIONS - 1).then(|| self.old_cycle.lists());
        core::iter::once(&self.generations[generation])
            .chain(self.decremented.get(generation))
            .chain(cycle.into_iter().flatten())
    }

    /// The lists of every generation (frozen objects excepted).
    pub(crate) fn all_lists(&self) -> impl Iterator<Item = &GcList> {
        self.generations
            .iter()
            .chain(&self.decremented)
            .chain(self.old_cycle.lists())
    }
}

// The heap has no destructor (it holds only `Cell`s, raw pointers and
// `ManuallyDrop`s), so it stays usable while the thread's other
// thread-locals are destroyed, whatever order that happens in: a `Gc` kept
// in a user's `thread_local!` is dropped normally, after the exit guard
// below has run or before. What the guard would free is freed by it.
const _: () = assert!(!core::mem::needs_drop::<Heap>());

thread_local! {
    static HEAP: Heap = const { Heap::new() };
    static THREAD_EXIT: ThreadExit = const { ThreadExit };
}

/// Registers this thread's exit guard (once, with its first allocation).
#[cold]
pub(crate) fn register_thread_exit() {
    with_heap(|heap| heap.exit_registered.set(true));
    // Fails only once the thread's thread-locals are being destroyed: the
    // guard has run, or will not; nothing to register then.
    let _ = THREAD_EXIT.try_with(|_| {});
}

/// At thread exit, collects the cycles still alive (running their
/// finalizers and `Drop`s, as CPython collects at interpreter shutdown),
/// then gives the empty arenas back. Objects that thread-locals destroyed
/// after this one still hold are freed as their handles go; cycles among
/// them stay (see invariant 6 in the internals).
struct ThreadExit;

impl Drop for ThreadExit {
    fn drop(&mut self) {
        // A finalizer may leave new garbage behind: collect until none is
        // found (bounded, against a finalizer that makes garbage forever).
        for _ in 0..8 {
            match std::panic::catch_unwind(crate::gc::collect) {
                Ok(0) => break,
                Ok(_) => {}
                Err(payload) => crate::unraisable::report(payload, "a collection at thread exit"),
            }
        }
        with_heap(|heap| {
            heap.old_cycle.free_at_thread_exit();
            #[cfg(feature = "pool")]
            heap.pools.release_at_thread_exit();
        });
    }
}

/// Runs `f` with this thread's heap.
#[inline]
pub(crate) fn with_heap<R>(f: impl FnOnce(&Heap) -> R) -> R {
    HEAP.with(f)
}
