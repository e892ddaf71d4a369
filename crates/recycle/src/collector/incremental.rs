//! The oldest generation, collected in increments, so that an automatic
//! collection never stops the program for the whole live heap.
//!
//! A full collection examines every object: on a large heap that is a long
//! pause. When the counters call for one, an automatic collection starts a
//! *cycle* instead, and every automatic collection after it also does one
//! bounded *step* of it (or part of one, or none, as the pacer allows: see
//! `pacer`), until it is done:
//!
//! 1. **Scan** (`update_refs` + `subtract_refs`): the objects of generation
//!    2 when the cycle began (its *members*, told by their epochs) are
//!    traced, a slice per step; each edge between members decrements the
//!    target's `gc_refs`, which starts from its strong count when the cycle
//!    first reaches it.
//! 2. **Mark** (`move_unreachable`): a slice per step, members with
//!    `gc_refs > 0`, or marked by an edge, are traced (marking what they
//!    reach) and leave the cycle, back in generation 2; the others go to a
//!    *tentative* list (and come back if something marked reaches them
//!    later).
//! 3. **Collect**: in the step that empties the mark phase's list, the
//!    tentative list is collected as a set of its own, from scratch:
//!    `update_refs`, `subtract_refs` and `move_unreachable` over those
//!    objects only, then finalizers, weak callbacks and `delete_garbage`, as
//!    any collection.
//!
//! Between steps the program runs and changes the heap, so the counts the
//! steps gathered can be stale: a member may look unreachable although the
//! program stored a handle to it meanwhile. That is why step 3 starts from
//! scratch: trial deletion over *any* set of objects frees only objects
//! that nothing outside the set references, so whatever the earlier steps
//! got wrong, nothing live is freed. In the other direction, garbage that
//! existed when the cycle began never changes (nothing can reach it), so
//! the steps see it consistently and it ends in the tentative list; garbage
//! made during the cycle waits for the next one.
//!
//! Members keep their place in generation 2 as far as the rest of the crate
//! is concerned (`gc::get_objects`, snapshots), in the cycle's lists.
//! Young collections never touch them. `gc::collect()`, freezing and
//! renumbering epochs abandon the cycle first.

use core::cell::Cell;
use core::mem::ManuallyDrop;
use core::ptr::NonNull;
use std::time::Instant;

use super::debug::DebugFlags;
use super::deduce::Members;
use super::list::{GcList, object_header, unlink};
use super::lookahead::{Lookahead, Runner};
use super::stats::{CollectionInfo, Phase, run_callbacks};
use super::{ClearOnExit, PanicPayload, RestoreOnPanic, clear_new_flags, collect_region};
use super::{end_collection, generations};
use crate::header::GcLinks;
use crate::heap::{Heap, NUM_GENERATIONS, with_heap};
use crate::trace::{TraceAction, Tracer};

/// Objects a step handles at least.
const MIN_STEP: usize = 4096;
/// Objects a step handles at most, which bounds its pause (about 4 ms on the
/// 2-core Xeon VM of the benchmarks, where objects are spread over memory,
/// and twice that when the VM's memory is slow). The scan's budget comes
/// from an estimate that can be twice the real size: this bound keeps the
/// pause below 10 ms all the same.
const MAX_STEP: usize = 32768;
/// A phase takes about this many steps, unless `MAX_STEP` makes it more.
const STEPS_PER_PHASE: usize = 8;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum CyclePhase {
    Idle,
    Scan,
    Mark,
}

/// The state of the incremental cycle, in the heap.
pub(crate) struct OldCycle {
    phase: Cell<CyclePhase>,
    /// Members were allocated before this epoch (`gen1_from` when the cycle
    /// began): they were in generation 2 then.
    members_before: Cell<u32>,
    /// Objects a step handles.
    budget: Cell<usize>,
    /// About how many members the running phase has left to handle (the
    /// scan's count starts from the counters' estimate).
    phase_left: Cell<usize>,
    /// Members left in the cycle after its collect step, for the counters.
    survivors: Cell<usize>,
    /// Scan: members not traced yet. Mark: members not handled yet.
    pub(crate) todo: GcList,
    /// Scan: traced members.
    pub(crate) done: GcList,
    /// Mark: members tentatively unreachable.
    pub(crate) tentative: GcList,
    /// The scan's order, which the mark follows (4 bytes per member while
    /// the cycle runs).
    /// (`ManuallyDrop`: the heap has no destructor, see `heap`; the thread's
    /// exit frees it.)
    lookahead: ManuallyDrop<Cell<Lookahead>>,
}

impl OldCycle {
    pub(crate) const fn new() -> Self {
        OldCycle {
            phase: Cell::new(CyclePhase::Idle),
            members_before: Cell::new(0),
            budget: Cell::new(MIN_STEP),
            phase_left: Cell::new(0),
            survivors: Cell::new(0),
            todo: GcList::new(),
            done: GcList::new(),
            tentative: GcList::new(),
            lookahead: ManuallyDrop::new(Cell::new(Lookahead::new())),
        }
    }

    pub(crate) fn is_running(&self) -> bool {
        self.phase.get() != CyclePhase::Idle
    }

    /// The cycle's lists (all of them hold generation 2 objects).
    pub(crate) fn lists(&self) -> [&GcList; 3] {
        [&self.todo, &self.done, &self.tentative]
    }

    /// The thread exits: frees what the cycle holds on the side.
    pub(crate) fn free_at_thread_exit(&self) {
        drop(self.lookahead.take());
    }
}

/// Is `links` a member of the running cycle (not reached yet, perhaps)?
#[inline(always)]
pub(crate) fn is_member(links: &GcLinks, members_before: u32) -> bool {
    links.is_linked()
        && !links.is_frozen()
        && !links.is_new()
        && !links.is_collecting()
        && links.epoch() < members_before
}

/// Starts a cycle: generation 2 becomes its members. Runs no user code.
pub(crate) fn start(heap: &Heap) {
    let cycle = &heap.old_cycle;
    debug_assert!(!cycle.is_running());
    let old = &heap.generations[NUM_GENERATIONS - 1];
    // The scan's budget comes from the counters' estimate of generation
    // 2's size (counting the list would cost a walk over all of it); the
    // mark's, from the number of members the scan met.
    let members = heap.counters.long_lived_estimate();
    cycle.todo.append(old);
    cycle.members_before.set(heap.counters.gen1_from());
    cycle.budget.set(budget_for(members));
    cycle.phase_left.set(members);
    cycle.survivors.set(0);
    drop(cycle.lookahead.take());
    cycle.phase.set(CyclePhase::Scan);
    heap.counters.start_old_cycle();
    generations::note_old_examined();
}

/// A step's budget when a phase handles `members` objects.
fn budget_for(members: usize) -> usize {
    members.div_ceil(STEPS_PER_PHASE).clamp(MIN_STEP, MAX_STEP)
}

/// Abandons the running cycle, if any: every member goes back to
/// generation 2 with the cycle's state cleared. Objects whose garbage the
/// cycle had not found yet are found by the next collection.
pub(crate) fn abandon(heap: &Heap) {
    let cycle = &heap.old_cycle;
    if !cycle.is_running() {
        return;
    }
    for list in cycle.lists() {
        list.for_each(|links| {
            // SAFETY: the cycle's lists hold live tracked objects.
            let l = unsafe { links.as_ref() };
            l.clear_cycle_state();
        });
    }
    abandon_for_full_collection(heap);
    // The garbage it would have found waits for a collection that looks.
    generations::note_all_dirty();
}

/// [`abandon`] for a full collection that examines generation 2 next: its
/// `update_refs` resets every member's state, so the members only go back
/// to generation 2's list, unwalked.
pub(crate) fn abandon_for_full_collection(heap: &Heap) {
    let cycle = &heap.old_cycle;
    if !cycle.is_running() {
        return;
    }
    let old = &heap.generations[NUM_GENERATIONS - 1];
    for list in cycle.lists() {
        old.append(list);
    }
    drop(cycle.lookahead.take());
    cycle.phase.set(CyclePhase::Idle);
}

/// Runs one step of the running cycle, at full speed, as a collection of
/// generation 2 of its own (callbacks, statistics). Returns the number of
/// unreachable objects it found (only its collect step finds any). A nested
/// call returns 0. (Automatic collections take [`paced_step`]s.)
#[cfg(test)]
pub(crate) fn step() -> usize {
    step_within(None)
}

/// [`step`] for an automatic collection, `allocations` objects after the
/// last one: the pacer decides how much of a step runs, or whether one
/// runs at all, and is told what it cost.
pub(crate) fn paced_step(allocations: usize) -> usize {
    step_within(Some(allocations))
}

fn step_within(paced: Option<usize>) -> usize {
    with_heap(|heap| {
        if heap.collecting.get() || !heap.old_cycle.is_running() {
            return 0;
        }
        let pacer = &heap.counters.pacer;
        let budget = heap.old_cycle.budget.get();
        let budget = match paced {
            Some(allocations) => {
                let left = heap.old_cycle.phase_left.get();
                pacer.old_step_budget(allocations, budget, left)
            }
            None => budget,
        };
        if budget == 0 {
            return 0;
        }
        heap.collecting.set(true);
        let _collecting = ClearOnExit(heap);
        let start = Instant::now();
        let mut info = CollectionInfo {
            generation: NUM_GENERATIONS - 1,
            ..CollectionInfo::default()
        };
        let mut first_panic = run_callbacks(Phase::Start, &info);
        clear_new_flags(heap);
        let (examined, outcome) = {
            let abandon_on_panic = AbandonOnPanic(heap, true);
            let done = run_step(heap, budget);
            if paced.is_some() {
                pacer.charge_old_step(done.0.handled + done.0.edges);
            }
            let mut abandon_on_panic = abandon_on_panic;
            abandon_on_panic.1 = false;
            done
        };
        clear_new_flags(heap);
        info.candidates = examined.handled;
        if let Some(outcome) = outcome {
            info.collected = outcome.unreachable;
            info.uncollectable = outcome.uncollectable;
            if let Some(payload) = outcome.panic {
                crate::unraisable::keep_first(&mut first_panic, payload);
            }
        }
        info.duration = start.elapsed();
        end_collection(heap, &info, first_panic);
        info.collected
    })
}

/// What the collect step did.
struct Collected {
    unreachable: usize,
    uncollectable: usize,
    panic: Option<PanicPayload>,
}

/// Abandons the cycle if a step unwinds (user `trace` code panicked).
struct AbandonOnPanic<'a>(&'a Heap, bool);

impl Drop for AbandonOnPanic<'_> {
    fn drop(&mut self) {
        if self.1 {
            abandon(self.0);
        }
    }
}

/// One step's work, handling up to `budget` members: returns what it did,
/// and what its collect step found, if it ran it.
fn run_step(heap: &Heap, budget: usize) -> (StepWork, Option<Collected>) {
    let cycle = &heap.old_cycle;
    match cycle.phase.get() {
        CyclePhase::Idle => (StepWork::default(), None),
        CyclePhase::Scan => {
            let mut lookahead = cycle.lookahead.take();
            let (handled, edges) = scan(cycle, budget, &mut lookahead);
            cycle
                .phase_left
                .set(cycle.phase_left.get().saturating_sub(handled));
            if cycle.todo.is_empty() {
                cycle.todo.append(&cycle.done);
                cycle.budget.set(budget_for(lookahead.len()));
                cycle.phase_left.set(lookahead.len());
                lookahead.rewind();
                cycle.phase.set(CyclePhase::Mark);
            }
            cycle.lookahead.set(lookahead);
            (StepWork { handled, edges }, None)
        }
        CyclePhase::Mark => {
            let old = &heap.generations[NUM_GENERATIONS - 1];
            let mut lookahead = cycle.lookahead.take();
            let (handled, edges) = mark(cycle, old, budget, &mut lookahead);
            cycle
                .phase_left
                .set(cycle.phase_left.get().saturating_sub(handled));
            let work = StepWork { handled, edges };
            if !cycle.todo.is_empty() {
                cycle.lookahead.set(lookahead);
                return (work, None);
            }
            drop(lookahead);
            let collected = collect_tentative(heap);
            cycle.phase.set(CyclePhase::Idle);
            heap.counters.finish_old_cycle(cycle.survivors.get());
            heap.counters.pacer.note_old_yield(collected.unreachable);
            (work, Some(collected))
        }
    }
}

/// What a step did: members handled, and edges followed from them.
#[derive(Default, Clone, Copy)]
struct StepWork {
    handled: usize,
    edges: usize,
}

/// Scan: traces up to `budget` members, subtracting the edges between
/// members, and notes their order for the mark. Returns how many members it
/// handled and how many edges it followed.
fn scan(cycle: &OldCycle, budget: usize, lookahead: &mut Lookahead) -> (usize, usize) {
    let mut tracer = Tracer::new(TraceAction::CycleScan {
        members_before: cycle.members_before.get(),
    });
    // SAFETY: the cycle's lists hold live tracked objects with values; only
    // the object being scanned leaves `todo`.
    let mut runner = unsafe { Runner::start(&cycle.todo, None) };
    let mut handled = 0;
    while handled < budget {
        let Some(links) = cycle.todo.first() else {
            break;
        };
        runner.step(&cycle.todo, links, None);
        lookahead.record(links);
        // SAFETY: the cycle's lists hold live tracked objects with values.
        unsafe {
            if !links.as_ref().is_cycle_scanned() {
                first_reached(links);
            }
            unlink(links);
            cycle.done.push_back(links);
        }
        trace(links, &mut tracer);
        handled += 1;
    }
    (handled, tracer.edges())
}

/// A member reached for the first time in this cycle's scan, as the next
/// in its list or through an edge from another member (whichever comes
/// first): its `gc_refs` start from its strong count, and the bookkeeping
/// it may have skipped while generation 2 was marked is settled.
///
/// # Safety
///
/// - `links` is the prefix of a live tracked member of the running cycle,
///   not scanned yet, with provenance over the whole allocation.
pub(crate) unsafe fn first_reached(links: NonNull<GcLinks>) {
    // SAFETY: per the contract.
    unsafe {
        let l = links.as_ref();
        let header = object_header(links).as_ref();
        l.cycle_scan(header.strong());
        if !header.reports_decrements() {
            generations::note_quiet_member_scanned(header);
        }
        if l.was_decremented() {
            // Promoted unexamined (see `settle_in_old_generation`).
            crate::header::settle_in_old_generation(links);
        }
    }
}

/// Mark: handles up to `budget` members: those with references from outside
/// (or marked by an edge) are traced, which marks what they reach, and
/// leave the cycle for `old`; the others go to the tentative list. (An
/// object that left is no longer scanned: edges to it change nothing.)
/// Returns how many members it handled and how many edges it followed.
fn mark(
    cycle: &OldCycle,
    old: &GcList,
    budget: usize,
    lookahead: &mut Lookahead,
) -> (usize, usize) {
    let mut tracer = Tracer::new(TraceAction::CycleMark { todo: &cycle.todo });
    // SAFETY: the cycle's lists hold live tracked objects with values; only
    // the object being handled leaves `todo` (tentative ones that get marked
    // are appended).
    let mut runner = unsafe { Runner::start(&cycle.todo, None) };
    let mut handled = 0;
    while handled < budget {
        let Some(links) = cycle.todo.first() else {
            break;
        };
        lookahead.follow(links);
        runner.step(&cycle.todo, links, None);
        // SAFETY: the cycle's lists hold live tracked objects.
        let l = unsafe { links.as_ref() };
        // SAFETY: as above; the target lists are the cycle's.
        unsafe { unlink(links) };
        if l.gc_refs() > 0 || l.is_cycle_marked() {
            trace(links, &mut tracer);
            l.clear_cycle_state();
            // SAFETY: as above; `old` is a heap list.
            unsafe { old.push_back(links) };
            cycle.survivors.set(cycle.survivors.get() + 1);
        } else {
            l.set_cycle_tentative(true);
            // SAFETY: as above.
            unsafe { cycle.tentative.push_back(links) };
        }
        handled += 1;
    }
    (handled, tracer.edges())
}

fn trace(links: NonNull<GcLinks>, tracer: &mut Tracer) {
    // SAFETY: a live tracked object with an initialized value.
    unsafe { tracer.trace_trusted(links) };
}

/// Collect: the tentative list, collected from scratch as a set of its own
/// (see the module docs), with the whole pipeline of a collection.
fn collect_tentative(heap: &Heap) -> Collected {
    let cycle = &heap.old_cycle;
    let set = &cycle.tentative;
    set.for_each(|links| {
        // SAFETY: the cycle's lists hold live tracked objects.
        let l = unsafe { links.as_ref() };
        l.clear_cycle_state();
        // SAFETY: as above.
        l.start_collecting(unsafe { object_header(links).as_ref() }.strong());
    });
    let unreachable = GcList::new();
    let empty = GcList::new();
    let old_index = NUM_GENERATIONS - 1;
    let mut restore = RestoreOnPanic {
        heap,
        lists: [set, &empty, &unreachable],
        old_index,
        armed: true,
    };
    let members = Members::AlreadyUpdated {
        survivor_generation: old_index,
        already_held: false,
    };
    let debug = heap.debug_flags() & !DebugFlags::STATS;
    let outcome = collect_region(heap, set, &empty, &unreachable, members, debug);
    restore.armed = false;
    debug_assert!(set.is_empty(), "collect_region moved the survivors on");
    // The candidates include the objects lent out by `Gc::get_mut` that
    // the set adopted on the way (and which may be garbage too): not
    // `set.len()` from before.
    cycle
        .survivors
        .set(cycle.survivors.get() + outcome.candidates - outcome.unreachable);
    Collected {
        unreachable: outcome.unreachable,
        uncollectable: outcome.uncollectable,
        panic: outcome.panic,
    }
}
