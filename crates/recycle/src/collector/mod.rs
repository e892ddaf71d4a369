//! The cycle collector: CPython's algorithm (`Python/gc.c`), phase for phase.
//!
//! Reference counting frees everything that is not part of a cycle. The
//! collector only has to find groups of tracked objects that reference each
//! other but that nothing *outside* the group references. It never scans roots
//! (stacks, globals): for every candidate it computes
//!
//! ```text
//! external references = strong count − references from other candidates
//! ```
//!
//! and everything reachable from an object with external references is alive.
//! The rest is garbage. Read [`collect_region`] first: it is the only place
//! that writes the phase order, and the phase names are CPython's, so this
//! module reads side by side with `gc.c`:
//!
//! 1. `deduce_unreachable` (deduce.rs): `update_refs` → `subtract_refs` →
//!    `move_unreachable`, splitting the candidates into reachable and unreachable.
//! 2. The survivors move to the next generation.
//! 3. `finalize_garbage` and `handle_resurrected_objects` (finalize.rs):
//!    PEP 442.
//! 4. `handle_weakrefs` (weakrefs.rs): the weak callbacks of the garbage
//!    are taken out, to run once it is deleted (those of `WeakRef`s that
//!    were part of it are cancelled by their drop meanwhile).
//! 5. `delete_garbage` (delete.rs): the values of the unreachable objects are
//!    dropped, which breaks the cycles, and reference counting frees them.
//!
//! No user code runs in step 1 (only trusted `trace` impls, which promise
//! with `unsafe` to do nothing but report), so the counts it reads hold
//! until it has acted on them. User code runs from step 3 on, when every
//! object the collector still points to is held by a count of its own (see
//! "Why safe code cannot cause undefined behaviour" in the internals).
//!
//! No phase recurses over the object graph: every walk is over an intrusive
//! list, and the lists are the only working memory.

pub(crate) mod debug;
pub(crate) mod deduce;
pub(crate) mod delete;
pub(crate) mod finalize;
pub(crate) mod generations;
pub(crate) mod hooks;
pub(crate) mod incremental;
pub(crate) mod introspect;
pub(crate) mod list;
pub(crate) mod lookahead;
pub(crate) mod pacer;
pub(crate) mod stats;
pub(crate) mod weakrefs;

use core::ptr::NonNull;
use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use crate::header::{GcLinks, survive_into};
use crate::heap::{Heap, NUM_GENERATIONS, with_heap};
use debug::DebugFlags;
use list::{GcList, unlink};
use stats::{CollectionInfo, Phase, run_callbacks};

/// A panic caught while user code ran inside a collection, re-raised once
/// the collection has finished.
pub(crate) type PanicPayload = Box<dyn Any + Send + 'static>;

/// Collects generations `0..=generation` of this thread's heap; returns the
/// number of unreachable objects found. A nested call (from `Drop`, `trace`,
/// a callback, ...) returns 0.
pub(crate) fn collect(generation: usize) -> usize {
    collect_generations(generation, Examine::Always)
}

/// Whether a collection examines its objects.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Examine {
    /// Always (`gc::collect`, `gc::collect_generation`).
    Always,
    /// Only if some count was decremented to non-zero since these
    /// generations were last examined (automatic collections; see
    /// `generations::DIRTY`).
    IfDirty,
}

/// [`collect`], or, with `Examine::IfDirty` and nothing that could have made
/// garbage, the same bookkeeping (counters, stats, callbacks, promotion)
/// without examining anything.
fn collect_generations(generation: usize, examine: Examine) -> usize {
    debug_assert!(generation < NUM_GENERATIONS);
    with_heap(|heap| {
        if heap.collecting.get() {
            return 0;
        }
        heap.collecting.set(true);
        let _collecting = ClearOnExit(heap);
        if generation == NUM_GENERATIONS - 1 {
            // A full collection does all a cycle would.
            if examine == Examine::Always {
                incremental::abandon_for_full_collection(heap);
            } else {
                incremental::abandon(heap);
            }
        }
        if heap.counters.epochs_exhausted() {
            incremental::abandon(heap);
            renumber_epochs(heap);
        }
        let start = Instant::now();
        let mut info = CollectionInfo {
            generation,
            ..CollectionInfo::default()
        };
        let mut first_panic = run_callbacks(Phase::Start, &info);

        let debug = heap.debug_flags();
        if debug.contains(DebugFlags::STATS) {
            let sizes: Vec<usize> = (0..NUM_GENERATIONS)
                .map(|g| heap.lists_of(g).map(GcList::len).sum())
                .collect();
            crate::unraisable::guarded(&mut first_panic, || {
                log::info!(target: debug::TARGET, "collecting generation {generation}...");
                log::info!(target: debug::TARGET, "objects in each generation: {sizes:?}");
            });
        }
        // What the start callbacks allocated is part of this collection.
        clear_new_flags(heap);
        heap.counters.start_collection(generation);
        // From here on, the epochs say the collected objects are in the next
        // generation; `first_epoch` still tells which they are.
        let (first_epoch, promoted) = heap.counters.begin_epoch(generation);
        if examine == Examine::IfDirty
            && (!generations::may_hold_garbage(generation)
                || (generation < NUM_GENERATIONS - 1
                    && heap.counters.pacer.skip_young_examination()))
        {
            promote_unexamined(heap, generation, promoted);
            info.duration = start.elapsed();
            end_collection(heap, &info, first_panic);
            return 0;
        }
        generations::note_examined(generation);
        let old_index = (generation + 1).min(NUM_GENERATIONS - 1);
        // An automatic young collection examines the decremented objects
        // and what they reach among the young ones (see
        // `deduce::Members::FromEpoch`); the rest of the pool moves up
        // unexamined. Other collections examine the whole pool.
        let candidates_only = examine == Examine::IfDirty
            && generation < NUM_GENERATIONS - 1
            && !heap.unlisted_decrements.get();
        if generation > 0 && !candidates_only {
            // This one examines every young object.
            heap.unlisted_decrements.set(false);
        }
        let pool = GcList::new();
        let examined = GcList::new();
        for g in 0..=generation {
            pool.append(&heap.generations[g]);
            if let Some(decremented) = heap.decremented.get(g) {
                if candidates_only {
                    examined.append(decremented);
                } else {
                    pool.append(decremented);
                }
            }
        }
        let young = if candidates_only { &examined } else { &pool };
        let members = deduce::Members::FromEpoch {
            first_epoch,
            gather: candidates_only,
            survivor_generation: old_index,
        };
        let unreachable = GcList::new();
        let mut restore = RestoreOnPanic {
            heap,
            lists: [&pool, &examined, &unreachable],
            old_index,
            armed: true,
        };
        let outcome = collect_region(heap, young, &pool, &unreachable, members, debug);
        restore.armed = false;

        if examine == Examine::IfDirty && generation < NUM_GENERATIONS - 1 {
            heap.counters.pacer.note_young_yield(outcome.unreachable);
        }
        match generation {
            0 => {}
            1 => {
                heap.counters
                    .finish_collection(1, promoted.saturating_sub(outcome.unreachable), 0)
            }
            _ => {
                let survivors = outcome.candidates - outcome.unreachable;
                heap.counters.finish_collection(2, 0, survivors);
            }
        }
        info.collected = outcome.unreachable;
        info.uncollectable = outcome.uncollectable;
        info.candidates = outcome.candidates;
        info.duration = start.elapsed();
        if debug.contains(DebugFlags::STATS) {
            crate::unraisable::guarded(&mut first_panic, || {
                log::info!(
                    target: debug::TARGET,
                    "done, {} unreachable, {} uncollectable, {:.4}s elapsed",
                    info.collected,
                    info.uncollectable,
                    info.duration.as_secs_f64()
                )
            });
        }
        if let Some(payload) = outcome.panic {
            crate::unraisable::keep_first(&mut first_panic, payload);
        }
        // After the last user code before the validator (the logger above).
        clear_new_flags(heap);
        end_collection(heap, &info, first_panic);
        info.collected
    })
}

/// How every collection (and incremental step) ends: its statistics, the
/// debug validator, the stop callbacks; then the first panic raised by user
/// code during it continues to the caller.
pub(crate) fn end_collection(
    heap: &Heap,
    info: &CollectionInfo,
    mut first_panic: Option<PanicPayload>,
) {
    record_stats(heap, info);
    generations::validate_heap(heap);
    if let Some(payload) = run_callbacks(Phase::Stop, info) {
        crate::unraisable::keep_first(&mut first_panic, payload);
    }
    if let Some(payload) = first_panic {
        crate::unraisable::resume_or_report(payload, "a collection");
    }
}

/// Adds one collection to its generation's `gc::get_stats` totals.
fn record_stats(heap: &Heap, info: &CollectionInfo) {
    let stats = &heap.stats[info.generation];
    let mut totals = stats.get();
    totals.add(info);
    stats.set(totals);
}

/// A collection of `generation` that cannot find garbage: the objects of
/// the younger generations move up as survivors would, unexamined (their
/// epochs already say so; `promoted` young objects reached generation 2).
fn promote_unexamined(heap: &Heap, generation: usize, promoted: usize) {
    let old_index = (generation + 1).min(NUM_GENERATIONS - 1);
    for g in 0..=generation.min(old_index - 1) {
        heap.generations[old_index].append(&heap.generations[g]);
        let decremented = &heap.decremented[g];
        match heap.decremented.get(old_index) {
            Some(older) => older.append(decremented),
            None => {
                // Into generation 2, which has no list of decremented
                // objects: they join it as they are, quiet and flagged, and
                // the next examination of generation 2 settles them
                // (`header::settle_in_old_generation`), which spares a walk
                // over them here. Until then generation 2 must stay marked:
                // the decrements that listed them marked it, and marking it
                // again here keeps that true whatever cleared it since.
                // (A clean collection of generation 1 finds these lists
                // empty: the decrements that filled them marked it.)
                if !decremented.is_empty() {
                    generations::note_unexamined_promotion();
                }
                heap.generations[old_index].append(decremented);
            }
        }
    }
    match generation {
        0 => {}
        1 => heap.counters.finish_collection(1, promoted, 0),
        _ => {
            let old_size = heap.counters.long_lived_estimate() + promoted;
            heap.counters.finish_collection(2, 0, old_size);
        }
    }
}

/// Gives every object an epoch from the list it is in, before the epochs
/// would overflow (`generations::renumber_epochs`).
#[cold]
fn renumber_epochs(heap: &Heap) {
    let [young, middle, old] = &heap.generations;
    let [young_decremented, middle_decremented] = &heap.decremented;
    generations::renumber_epochs(
        &heap.counters,
        [
            &[young, young_decremented],
            &[middle, middle_decremented],
            &[old],
        ],
    );
}

/// Runs the automatic collection that is due, if one is, whether or not
/// automatic collection is on (`gc::collect_if_due`). `true` if it ran.
#[cold]
#[inline(never)]
pub(crate) fn collect_if_due() -> bool {
    let due = with_heap(|heap| !heap.collecting.get() && heap.counters.collection_due());
    if due {
        collect_automatically();
    }
    due
}

/// An allocation crossed the threshold: collect the generation the counters
/// select (CPython's `gc_collect_generations`).
///
/// Generation 2 is collected in increments (`incremental`): when the
/// counters call for it and it may hold garbage, this collects the young
/// generations and starts a cycle; while a cycle runs, every automatic
/// collection also does a step of it, as large as the pacer allows. Once
/// generation 2 is due again while a cycle runs, each automatic collection
/// collects both young generations: their survivors go to generation 2
/// (not members of the running cycle), as the survivors of CPython 3.14's
/// one young generation go straight to its old space.
pub(crate) fn collect_automatically() {
    let (selected, running, allocations) = with_heap(|heap| {
        let counters = &heap.counters;
        (
            counters.select(),
            heap.old_cycle.is_running(),
            counters.counts()[0],
        )
    });
    let Some(generation) = selected else {
        return;
    };
    let oldest = NUM_GENERATIONS - 1;
    if generation == oldest && (running || generations::may_hold_garbage(oldest)) {
        collect_generations(oldest - 1, Examine::IfDirty);
        if !running {
            with_heap(|heap| {
                if !heap.collecting.get() && !heap.old_cycle.is_running() {
                    incremental::start(heap);
                }
            });
        }
        incremental::paced_step(allocations);
    } else {
        collect_generations(generation, Examine::IfDirty);
        if running {
            incremental::paced_step(allocations);
        }
    }
}

/// What one `collect_region` did.
pub(crate) struct Outcome {
    pub(crate) candidates: usize,
    pub(crate) unreachable: usize,
    pub(crate) uncollectable: usize,
    pub(crate) panic: Option<PanicPayload>,
}

/// The main function: read this to understand how a collection works.
///
/// Collects the objects `members` names (their collector flags are clear on
/// entry; `young` holds them, or, when `members` gathers, the decremented
/// ones, the others being in `pool`): the survivors end up in the next
/// generation's lists, the garbage is freed; so does what is left in
/// `pool`, unexamined. Returns what it found and the first panic raised by
/// user code (a `Drop`), which the caller re-raises once the heap is
/// consistent again.
pub(crate) fn collect_region(
    heap: &Heap,
    young: &GcList,
    pool: &GcList,
    unreachable: &GcList,
    members: deduce::Members,
    debug: DebugFlags,
) -> Outcome {
    // 1. Which objects are garbage?
    let mut deduced = deduce::deduce_unreachable(young, unreachable, members);
    debug_assert_eq!(
        deduced.unreachable,
        unreachable.len(),
        "move_unreachable miscounted"
    );

    // 2. Survivors are promoted to the next generation (their epochs already
    //    say so). Young ones that were decremented stay listed as such.
    let survivor_generation = members.survivor_generation();
    let old = &heap.generations[survivor_generation];
    if let Some(decremented) = heap.decremented.get(survivor_generation) {
        young.for_each(|links| {
            // SAFETY: `young` holds live tracked objects.
            if unsafe { links.as_ref() }.was_decremented() {
                // SAFETY: as above; the target is a heap list.
                unsafe {
                    unlink(links);
                    decremented.push_back(links);
                }
            }
        });
    }
    old.append(young);
    old.append(pool);

    let mut panic = None;

    // 3. PEP 442: every finalizer of the garbage runs while all of it is
    //    intact; then whatever a finalizer made reachable again survives.
    let (ran_finalizers, finalizer_panic) = if deduced.needs_finalizers {
        finalize::finalize_garbage(unreachable)
    } else {
        (false, None)
    };
    if let Some(payload) = finalizer_panic {
        crate::unraisable::keep_first(&mut panic, payload);
    }
    let mut found = deduced.unreachable;
    if ran_finalizers {
        found -= finalize::handle_resurrected_objects(unreachable, old, survivor_generation);
    }

    // delete_garbage (or keep it all, for DEBUG_SAVEALL).
    if debug.contains(DebugFlags::COLLECTABLE) {
        unreachable.for_each(|links| {
            // SAFETY: a live object of the list.
            let object = debug::describe(unsafe { list::object_header(links) });
            crate::unraisable::guarded(
                &mut panic,
                || log::info!(target: debug::TARGET, "collectable {object}"),
            );
        });
    }
    let (uncollectable, delete_panic) = if debug.contains(DebugFlags::SAVEALL) {
        delete::save_garbage(unreachable, old, survivor_generation);
        (0, None)
    } else {
        // 4. The weak callbacks of the garbage wait until it is deleted,
        //    with those of whatever dies meanwhile; a `WeakRef` that was
        //    part of the garbage cancels its own as it goes. (A finalizer
        //    may have made weak references with callbacks to the garbage.)
        let deferring = weakrefs::DeferCallbacks::start();
        if deduced.needs_weak_callbacks || ran_finalizers {
            weakrefs::handle_weakrefs(unreachable);
        }
        // 5.
        let deleted = delete::delete_garbage(
            heap,
            unreachable,
            debug.contains(DebugFlags::UNCOLLECTABLE),
            &mut deduced.lookahead,
        );
        if let Some(payload) = deferring.run() {
            crate::unraisable::keep_first(&mut panic, payload);
        }
        deleted
    };
    if let Some(payload) = delete_panic {
        crate::unraisable::keep_first(&mut panic, payload);
    }
    Outcome {
        candidates: deduced.candidates,
        unreachable: found,
        uncollectable,
        panic,
    }
}

/// Objects allocated during the collection were flagged `NEW` (they are not
/// part of it). They are all in generation 0, which the collection emptied
/// when it began. Walks generation 0 only if something was allocated.
pub(crate) fn clear_new_flags(heap: &Heap) {
    if heap.allocated_while_collecting.replace(false) {
        for list in heap.lists_of(0) {
            list.for_each(|links| {
                // SAFETY: lists hold live objects only.
                unsafe { links.as_ref() }.set_new(false);
            });
        }
    }
}

/// Clears the heap's `collecting` flag when the collection ends, however,
/// and the `NEW` flags of what was allocated meanwhile; then does what
/// `gc::freeze`/`gc::unfreeze` asked for meanwhile.
pub(crate) struct ClearOnExit<'a>(pub(crate) &'a Heap);

impl Drop for ClearOnExit<'_> {
    fn drop(&mut self) {
        self.0.collecting.set(false);
        // What user code allocated since the collection last cleared them
        // (stop callbacks, the logger) is not part of any collection now.
        clear_new_flags(self.0);
        introspect::run_deferred_requests(self.0);
    }
}

/// If a panic unwinds out of the collection's walks (only a trusted `trace`
/// that breaks its promise, or a bug, can do that), puts every object into
/// the generation survivors would have gone to, with its per-collection
/// flags cleared and its hold given back: the heap is consistent, and the
/// next collection finds whatever is garbage. An object whose hold was its
/// last count is destroyed here (no list keeps an object without a count);
/// a panic of its `Drop` is reported, as any during unwinding.
pub(crate) struct RestoreOnPanic<'a> {
    pub(crate) heap: &'a Heap,
    pub(crate) lists: [&'a GcList; 3],
    /// The generation the objects go back to.
    pub(crate) old_index: usize,
    pub(crate) armed: bool,
}

impl Drop for RestoreOnPanic<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let old = &self.heap.generations[self.old_index];
        let decremented = self.heap.decremented.get(self.old_index);
        let mut unreferenced = Vec::new();
        for list in self.lists {
            list.for_each(|links_ptr: NonNull<GcLinks>| {
                // SAFETY: lists hold live objects only.
                let links = unsafe { links_ptr.as_ref() };
                let held = links.is_unreachable();
                links.reprieve();
                // SAFETY: as above.
                unsafe { survive_into(links_ptr, self.old_index) };
                if held && deduce::release_hold(links_ptr) {
                    // SAFETY: as above; out of every list before it goes.
                    unsafe { unlink(links_ptr) };
                    unreferenced.push(links_ptr);
                    return;
                }
                if let Some(decremented) = decremented.filter(|_| links.was_decremented()) {
                    // SAFETY: as above; the target is a heap list.
                    unsafe {
                        unlink(links_ptr);
                        decremented.push_back(links_ptr);
                    }
                }
            });
            old.append(list);
        }
        clear_new_flags(self.heap);
        for links in unreferenced {
            // SAFETY: the object's count is 0 and nothing else destroys it;
            // it is in no list.
            let result = catch_unwind(AssertUnwindSafe(|| unsafe {
                let header = list::object_header(links);
                if let crate::destroy::Destroyed::Gone {
                    tracked: true,
                    epoch,
                } = crate::destroy::destroy_now(header)
                {
                    self.heap.counters.note_destruction(epoch);
                }
            }));
            if let Err(payload) = result {
                crate::unraisable::report(payload, "a Drop run after a collection panicked");
            }
        }
    }
}
