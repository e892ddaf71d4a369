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
use core::ptr::NonNull;

use super::list::{GcList, unlink};
use super::pacer::Pacer;
use crate::header::{AgeClass, EPOCH_LIMIT, GcHeader, GcLinks, links_of};
use crate::heap::with_heap;

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
    /// garbage cycles (the fine form is the per-object `DECREMENTED` flag).
    /// Building acyclic structures then costs no collection work, and on a
    /// heap whose old objects lose references, the young collections are
    /// skipped. `gc::collect()` and `gc::collect_generation` always examine.
    ///
    /// (A `const` thread-local of a `Cell`: no lazy initialization, no
    /// destructor, one instruction to reach from the drop path.)
    static DIRTY: Cell<u8> = const { Cell::new(0) };

    /// A copy of `GenerationCounters::gen1_from`, where the drop path can
    /// tell an old object by its epoch without reaching the heap.
    static GEN1_FROM: Cell<u32> = const { Cell::new(FIRST_EPOCH) };
}

/// Epoch 0 is older than every collection: unfrozen objects get it.
pub(crate) const ANCIENT_EPOCH: u32 = 0;
const FIRST_EPOCH: u32 = 1;

#[inline(always)]
fn mark_dirty(generations: u8) {
    DIRTY.with(|d| {
        let bits = d.get();
        if bits & generations != generations {
            d.set(bits | generations);
        }
    });
}

/// A handle was dropped and its object survived (or a finalizer resurrected
/// it), and its header asked for the decrement to be reported
/// (`REPORT_DECREMENTS`, tested by the drop path): marks the generations
/// that may now hold garbage. A young object also moves to its
/// generation's list of decremented objects, where the next automatic
/// young collection starts; an old one has its age class set.
///
/// Then the object stops asking, until a collection has examined it (or
/// examines its generation again): a young object listed as decremented
/// needs nothing more, because the generations it is in stay marked until
/// a collection takes it out of that list; an old one needs nothing while
/// generation 2 stays marked, and whatever clears that mark resets the
/// flag of every object it covers (a full collection's survivors, the
/// incremental cycle's scan, which also treats a quiet member as
/// decremented during the cycle). So a tight clone/drop loop on one object
/// costs one decrement and one test per drop, as with `Rc`.
///
/// # Safety
///
/// - `header` points to a live object, with provenance over the whole
///   allocation (a handle's pointer).
#[cold]
#[inline(never)]
pub(crate) unsafe fn note_reference_dropped(header: NonNull<GcHeader>) {
    // SAFETY: per the contract, a live object.
    let h = unsafe { header.as_ref() };
    match h.age_class() {
        AgeClass::MaybeYoung => {
            // SAFETY: only tracked objects (which have links) have this
            // class; the allocation is live.
            let links = unsafe { links_of(header) };
            // SAFETY: as above.
            let l = unsafe { links.as_ref() };
            if l.was_decremented() && !is_old_epoch(l) {
                // Listed already: nothing to do.
                h.set_reports_decrements(false);
            } else {
                // SAFETY: as above.
                unsafe { note_first_decrement(header, links) };
            }
        }
        AgeClass::Old => {
            mark_dirty(0b100);
            h.set_reports_decrements(false);
        }
        // Frozen: no collection examines it. (An untracked object never
        // asks.)
        AgeClass::Frozen | AgeClass::Untracked => h.set_reports_decrements(false),
    }
}

/// [`note_reference_dropped`] for a tracked object not known to be old and
/// not listed as decremented.
///
/// # Safety
///
/// - As [`note_reference_dropped`]; `links` are the object's.
unsafe fn note_first_decrement(header: NonNull<GcHeader>, links: NonNull<GcLinks>) {
    // SAFETY: per the contract.
    let (h, l) = unsafe { (header.as_ref(), links.as_ref()) };
    if is_old_epoch(l) && !l.is_detached() {
        // In generation 2 (promoted without being touched): record that in
        // the header, for the next drops. (If it was promoted as a
        // decremented young object, unexamined, it is one no longer.)
        l.set_decremented(false);
        h.set_age_class(AgeClass::Old);
        mark_dirty(0b100);
        h.set_reports_decrements(false);
    } else {
        // Young, or detached by `Gc::get_mut` (in no list, with the
        // oldest epoch): the slow path tells.
        note_young_decrement(header, links);
    }
}

/// Is this object's epoch one of generation 2's? (Also true of a detached
/// object, which has the oldest epoch.)
fn is_old_epoch(links: &GcLinks) -> bool {
    links.epoch() < GEN1_FROM.with(Cell::get)
}

/// An old member of the incremental cycle, reached by its scan, had stopped
/// asking for its decrements to be reported (see
/// [`note_reference_dropped`]): it asks again, and since one of its
/// decrements may have come after the cycle cleared generation 2's mark,
/// the mark is set again (the garbage it made waits for the next cycle).
pub(crate) fn note_quiet_member_scanned(header: &GcHeader) {
    header.set_reports_decrements(true);
    mark_dirty(0b100);
}

/// [`note_reference_dropped`] for an object of generation 0 or 1 not listed
/// as decremented yet: it moves to its generation's list of decremented
/// objects, if it is in one of the heap's lists. Objects the collector is
/// working on (flagged `COLLECTING`, or `DEAD` while their garbage is
/// deleted) stay where they are: the collector decides where they end up.
fn note_young_decrement(header: NonNull<GcHeader>, links_ptr: NonNull<GcLinks>) {
    // SAFETY: the caller's handle keeps the object alive.
    let links = unsafe { links_ptr.as_ref() };
    // SAFETY: as above.
    let h = unsafe { header.as_ref() };
    let dead = h.is_dead();
    with_heap(|heap| {
        let generation = heap.counters.generation_of_epoch(links.epoch());
        mark_dirty((0b111u8 << generation) & 0b111);
        if links.is_collecting() || dead {
            return;
        }
        if !links.is_linked() {
            if links.is_detached() {
                // Detached by `Gc::get_mut`: a handle to it is gone, so it
                // may be part of garbage now. It comes back as a new young
                // object. (Other unlinked objects with handles wait in the
                // trashcan for their destruction to go on.)
                // SAFETY: the caller's handle keeps it alive; it is in no
                // list.
                unsafe { relink_detached(heap, links_ptr) };
            }
            return;
        }
        // From here on the generations are marked and stay so until a
        // collection examines this object.
        h.set_reports_decrements(false);
        if !heap.counters.collects_automatically() {
            // Only automatic collections use the lists; while there are
            // none, moving objects would cost for nothing. The next
            // automatic young collections examine everything instead.
            heap.unlisted_decrements.set(true);
            return;
        }
        links.set_decremented(true);
        // SAFETY: a live object in one of the heap's lists (outside tracing,
        // the collector's own lists only hold objects flagged `COLLECTING`
        // or `DEAD`); the target list is the heap's.
        unsafe {
            unlink(links_ptr);
            heap.decremented[generation].push_back(links_ptr);
        }
    })
}

/// Puts a tracked object that is in no list (one that waited in the
/// trashcan and was resurrected by its finalizer) back into the heap, as a
/// young object whose count went down.
///
/// # Safety
///
/// - `header` belongs to a live tracked object in no list, whose value is
///   intact and whose strong count is above zero, with provenance over its
///   allocation.
pub(crate) unsafe fn relink_unlisted(header: NonNull<GcHeader>) {
    with_heap(|heap| {
        // SAFETY: per the contract.
        unsafe {
            let links = links_of(header);
            detach_counted(heap, links);
            relink_detached(heap, links);
        }
    })
}

/// Detaches an unlinked tracked object (`header::detach`), taking it out of
/// the young population if it was counted there: detached, it has the
/// oldest epoch, and it is counted again when it comes back as a young
/// object (`relink_detached`, or adoption by a collection).
///
/// # Safety
///
/// - As `header::detach`.
pub(crate) unsafe fn detach_counted(heap: &crate::heap::Heap, links: NonNull<GcLinks>) {
    // SAFETY: per the contract.
    let was = unsafe { links.as_ref() }.unfrozen_epoch();
    if let Some(was) = was {
        heap.counters.note_epoch_moved(was, ANCIENT_EPOCH);
    }
    // SAFETY: per the contract.
    unsafe { crate::header::detach(links, ANCIENT_EPOCH) };
}

/// Puts a detached object (see `header::detach`) back into the heap, as a
/// new young object that was decremented.
///
/// # Safety
///
/// - `links` belongs to a live, detached tracked object (unlinked, not
///   dead, strong count above zero).
unsafe fn relink_detached(heap: &crate::heap::Heap, links_ptr: NonNull<GcLinks>) {
    // SAFETY: per the contract.
    let links = unsafe { links_ptr.as_ref() };
    let was = links.epoch();
    links.start_in_epoch(heap.counters.current_epoch());
    heap.counters.note_epoch_moved(was, links.epoch());
    if heap.collecting.get() {
        // Not part of the collection that runs (see `Heap::track`).
        links.set_new(true);
        heap.allocated_while_collecting.set(true);
    }
    mark_dirty(0b111);
    let list = if heap.counters.collects_automatically() {
        links.set_decremented(true);
        &heap.decremented[0]
    } else {
        heap.unlisted_decrements.set(true);
        &heap.generations[0]
    };
    // SAFETY: in no list (per the contract); the target list is the heap's.
    unsafe { list.push_back(links_ptr) };
}

/// The generation number of frozen objects (`gc::freeze`).
#[cfg(all(debug_assertions, not(miri)))]
const PERMANENT_GENERATION: usize = 3;

/// The generation of a tracked object: 0..=2, or `PERMANENT_GENERATION`.
#[cfg(all(debug_assertions, not(miri)))]
fn generation_of(counters: &GenerationCounters, links: &GcLinks) -> usize {
    if links.is_frozen() {
        return PERMANENT_GENERATION;
    }
    counters.generation_of_epoch(links.epoch())
}

/// Debug check after a collection: every listed object is in the list its
/// epoch and flags call for, with no per-collection state left, and the
/// young population counts at least the listed young objects. Compiled out
/// of release builds and Miri runs; looks at the first objects of each list
/// only, so that tests with large heaps stay fast.
#[allow(unused_variables)]
pub(crate) fn validate_heap(heap: &crate::heap::Heap) {
    #[cfg(all(debug_assertions, not(miri)))]
    {
        const LOOK_AT: usize = 4096;
        let mut young = 0;
        let mut complete = true;
        for generation in 0..NUM_GENERATIONS {
            let listed = core::iter::once((&heap.generations[generation], false));
            let decremented = heap.decremented.get(generation).map(|l| (l, true));
            for (list, in_decremented) in listed.chain(decremented) {
                let mut node = list.first_or_end();
                let mut seen = 0;
                while !list.is_end(node) {
                    if seen == LOOK_AT {
                        complete = false;
                        break;
                    }
                    // SAFETY: not the sentinel: a live tracked object.
                    let links = unsafe { &*node };
                    // In generation 2, an object promoted unexamined may
                    // still be flagged: then either its next decrement is
                    // reported, or it is quiet and the generation marked
                    // (`header::settle_in_old_generation`).
                    // SAFETY: as above.
                    let header =
                        unsafe { super::list::object_header(NonNull::from(links)).as_ref() };
                    let unsettled = generation == NUM_GENERATIONS - 1
                        && links.was_decremented()
                        && (header.reports_decrements() || may_hold_garbage(generation));
                    assert!(
                        generation_of(&heap.counters, links) == generation
                            && (links.was_decremented() == in_decremented || unsettled)
                            && !links.is_new()
                            && !links.has_collection_flags(),
                        "an object in the wrong list of generation {generation}"
                    );
                    seen += 1;
                    node = links.next();
                }
                if generation < NUM_GENERATIONS - 1 {
                    young += seen;
                }
            }
        }
        let population = heap.counters.young_population.get();
        assert!(
            !complete || population >= young,
            "young population {population} < {young} listed"
        );
    }
}

/// Marks every generation: for changes the drop path does not see (objects
/// coming back from the permanent generation).
pub(crate) fn note_all_dirty() {
    DIRTY.with(|d| d.set(0b111));
}

/// Decremented young objects moved into generation 2 unexamined: it may
/// hold garbage (see `collector::promote_unexamined`).
pub(crate) fn note_unexamined_promotion() {
    mark_dirty(0b100);
}

/// Could a collection of generations `0..=generation` find garbage?
pub(crate) fn may_hold_garbage(generation: usize) -> bool {
    DIRTY.with(|d| d.get() & (1 << generation) != 0)
}

/// An incremental cycle of generation 2 starts examining it (the young
/// generations were just collected, and keep their bits).
pub(crate) fn note_old_examined() {
    DIRTY.with(|d| d.set(d.get() & !0b100));
}

/// A collection of generations `0..=generation` starts examining them.
/// (Drops during the collection set the bits again.)
pub(crate) fn note_examined(generation: usize) {
    let examined: u8 = (2 << generation) - 1;
    DIRTY.with(|d| d.set(d.get() & !examined));
}

/// Renumbers every object's epoch from the list it is in (the lists of
/// each generation are given), and restarts the epochs. Runs before the
/// epochs would overflow: once every 2 million collections.
pub(crate) fn renumber_epochs(
    counters: &GenerationCounters,
    lists_by_generation: [&[&GcList]; NUM_GENERATIONS],
) {
    // Generation 2 gets the ancient epoch, 1 the first, 0 the one after.
    for (generation, lists) in lists_by_generation.into_iter().enumerate() {
        let epoch = FIRST_EPOCH + 1 - generation as u32;
        for list in lists {
            list.for_each(|links| {
                // SAFETY: lists hold live tracked objects.
                unsafe { links.as_ref() }.set_epoch(epoch);
            });
        }
    }
    counters.set_gen1_from(FIRST_EPOCH);
    counters.gen0_from.set(FIRST_EPOCH + 1);
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
    /// The epoch of objects allocated now: every collection starts a new one.
    gen0_from: Cell<u32>,
    /// The epoch at which the last collection of generation 1 or 2 began.
    /// An object allocated in epoch `e` is in generation 0 if `e >=
    /// gen0_from`, in generation 1 if `e >= gen1_from`, else in generation 2.
    gen1_from: Cell<u32>,
    /// Tracked objects in generations 0 and 1 (frozen ones excepted).
    pub(crate) young_population: Cell<usize>,
    /// How much automatic collections examine, from what they found.
    pub(crate) pacer: Pacer,
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
            gen0_from: Cell::new(FIRST_EPOCH),
            gen1_from: Cell::new(FIRST_EPOCH),
            young_population: Cell::new(0),
            pacer: Pacer::new(),
        }
    }

    /// The generation of objects allocated in `epoch` (frozen ones aside).
    #[inline(always)]
    pub(crate) fn generation_of_epoch(&self, epoch: u32) -> usize {
        if epoch >= self.gen0_from.get() {
            0
        } else if epoch >= self.gen1_from.get() {
            1
        } else {
            2
        }
    }

    /// The epoch a new object is allocated in.
    #[inline(always)]
    pub(crate) fn current_epoch(&self) -> u32 {
        self.gen0_from.get()
    }

    /// A collection of generations `0..=generation` begins: starts a new
    /// epoch, which promotes every object of those generations (by the
    /// epochs alone) to the next one. Returns the first epoch of the
    /// collected generations (what `deduce::in_collected_set` compares
    /// with) and, for a collection of generation 1 or 2, how many young
    /// objects that moved into generation 2.
    pub(crate) fn begin_epoch(&self, generation: usize) -> (u32, usize) {
        let first = match generation {
            0 => self.gen0_from.get(),
            1 => self.gen1_from.get(),
            _ => ANCIENT_EPOCH,
        };
        let next = self.gen0_from.get() + 1;
        self.gen0_from.set(next);
        let mut promoted = 0;
        if generation > 0 {
            self.set_gen1_from(next);
            promoted = self.young_population.replace(0);
        }
        (first, promoted)
    }

    /// Would the next collection's epoch overflow the header's field?
    pub(crate) fn epochs_exhausted(&self) -> bool {
        self.gen0_from.get() >= EPOCH_LIMIT - 1
    }

    /// An object in no list (detached by `Gc::get_mut`, or resurrected from
    /// the trashcan) takes epoch `to` instead of `from` as it comes back:
    /// `young_population` follows if that changes its generation's class.
    pub(crate) fn note_epoch_moved(&self, from: u32, to: u32) {
        let young = |epoch| epoch >= self.gen1_from.get();
        let population = self.young_population.get();
        match (young(from), young(to)) {
            (false, true) => self.young_population.set(population + 1),
            (true, false) => self.young_population.set(population.saturating_sub(1)),
            _ => {}
        }
    }

    /// The epoch at which the last collection of generation 1 or 2 began.
    pub(crate) fn gen1_from(&self) -> u32 {
        self.gen1_from.get()
    }

    /// An incremental cycle of generation 2 begins (instead of a full
    /// collection): its count restarts, and what reaches generation 2 from
    /// now on counts for the next one.
    pub(crate) fn start_old_cycle(&self) {
        self.count[NUM_GENERATIONS - 1].set(0);
        self.long_lived_pending.set(0);
    }

    /// An incremental cycle ended with `survivors` of its members.
    pub(crate) fn finish_old_cycle(&self, survivors: usize) {
        self.long_lived_total.set(survivors);
    }

    /// Every object was frozen: none is young any more.
    pub(crate) fn note_all_frozen(&self) {
        self.young_population.set(0);
    }

    /// Would the allocations since the last collection make an automatic
    /// one due, were automatic collection on?
    pub(crate) fn collection_due(&self) -> bool {
        let threshold = self.threshold[0].get();
        self.count[0].get() > threshold && threshold != 0
    }

    /// A tracked object was allocated (in generation 0). Returns `true` when
    /// that calls for an automatic collection.
    #[inline]
    pub(crate) fn note_allocation(&self) -> bool {
        self.young_population.set(self.young_population.get() + 1);
        let count = self.count[0].get() + 1;
        self.count[0].set(count);
        let threshold = self.threshold[0].get();
        count > threshold && threshold != 0 && self.enabled.get()
    }

    /// A tracked object was destroyed (or its value moved out); `epoch` is
    /// its epoch, `None` if it was frozen.
    #[inline]
    pub(crate) fn note_destruction(&self, epoch: Option<u32>) {
        let count = self.count[0].get();
        self.count[0].set(count.saturating_sub(1));
        if epoch.is_some_and(|e| e >= self.gen1_from.get()) {
            let young = self.young_population.get();
            self.young_population.set(young.saturating_sub(1));
        }
    }

    /// The generation an automatic collection should collect, if any.
    pub(crate) fn select(&self) -> Option<usize> {
        (0..NUM_GENERATIONS).rev().find(|&g| {
            self.count[g].get() > self.threshold[g].get()
                && (g < NUM_GENERATIONS - 1
                    || self.pacer.old_generation_grown(
                        self.long_lived_pending.get(),
                        self.long_lived_total.get(),
                    ))
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

    /// Will allocations run automatic collections?
    pub(crate) fn collects_automatically(&self) -> bool {
        self.enabled.get() && self.threshold[0].get() != 0
    }

    /// Sets `gen1_from`, and the drop path's copy of it.
    fn set_gen1_from(&self, epoch: u32) {
        self.gen1_from.set(epoch);
        GEN1_FROM.with(|c| c.set(epoch));
    }

    pub(crate) fn set_enabled(&self, enabled: bool) {
        self.enabled.set(enabled)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::EPOCH_LIMIT;
    use crate::heap::with_heap;
    use crate::{Gc, GcAny, Trace, gc};

    fn epochs_exhausted() -> bool {
        with_heap(|heap| heap.counters.epochs_exhausted())
    }

    #[derive(Trace)]
    struct Link(RefCell<Option<Gc<Link>>>);

    fn new_link() -> Gc<Link> {
        Gc::new(Link(RefCell::new(None)))
    }

    fn in_generation(generation: usize, object: &Gc<Link>) -> bool {
        let object = GcAny::from(object.clone());
        gc::get_objects(Some(generation))
            .unwrap()
            .iter()
            .any(|o| o.ptr_eq(&object))
    }

    /// Runs a whole incremental cycle of generation 2.
    fn run_old_cycle() {
        with_heap(crate::collector::incremental::start);
        while with_heap(|heap| heap.old_cycle.is_running()) {
            crate::collector::incremental::step();
        }
    }

    #[test]
    fn an_object_promoted_unexamined_reports_again_once_examined() {
        gc::collect();
        gc::set_adaptive_pacing(true);
        let object = new_link();
        *object.0.borrow_mut() = Some(object.clone());
        // Young, and its count went down: listed as decremented, quiet.
        drop(object.clone());
        assert!(!object.header().reports_decrements());
        // The pacer has the next young collection skip its examination:
        // the object reaches generation 2 as it is.
        with_heap(|heap| heap.counters.pacer.note_young_yield(0));
        crate::collector::collect_generations(1, crate::collector::Examine::IfDirty);
        assert!(in_generation(2, &object));
        // Two cycles examine it; the second one finds nothing it has to
        // mark generation 2 again for.
        run_old_cycle();
        run_old_cycle();
        assert!(!super::may_hold_garbage(2));
        // Its count goes down (it is garbage now): that must be reported.
        drop(object);
        assert!(super::may_hold_garbage(2), "the decrement went unreported");
        assert_eq!(gc::collect(), 1);
    }

    /// The same when the cycle's scan first reaches the object through an
    /// edge from another member, before its own turn in the list.
    #[test]
    fn an_object_promoted_unexamined_and_reached_by_an_edge_reports_again() {
        gc::collect();
        gc::set_adaptive_pacing(true);
        let holder = new_link();
        let held = new_link();
        *holder.0.borrow_mut() = Some(held.clone());
        drop(held.clone());
        assert!(!held.header().reports_decrements());
        with_heap(|heap| heap.counters.pacer.note_young_yield(0));
        crate::collector::collect_generations(1, crate::collector::Examine::IfDirty);
        assert!(in_generation(2, &holder) && in_generation(2, &held));
        // `holder` comes first in generation 2 (decremented objects are
        // appended after the others), and its edge reaches `held` first.
        run_old_cycle();
        run_old_cycle();
        assert!(!super::may_hold_garbage(2));
        drop(held);
        assert!(super::may_hold_garbage(2), "the decrement went unreported");
        drop(holder);
        assert_eq!(gc::collect(), 0);
    }

    #[test]
    fn epochs_are_renumbered_before_they_overflow() {
        gc::collect();
        // Every object is in generation 2: jump close to the last epoch.
        with_heap(|heap| {
            heap.counters.gen0_from.set(EPOCH_LIMIT - 3);
            heap.counters.set_gen1_from(EPOCH_LIMIT - 3);
        });
        let old = new_link();
        gc::collect();
        let middle = new_link();
        gc::collect_generation(0).unwrap();
        let young = new_link();
        let cycle = new_link();
        *cycle.0.borrow_mut() = Some(cycle.clone());
        drop(cycle);
        assert!(epochs_exhausted());

        // Renumbers, then collects generation 0 in the new epochs.
        assert_eq!(gc::collect_generation(0).unwrap(), 1);
        assert!(!epochs_exhausted());
        assert!(with_heap(|heap| heap.counters.current_epoch()) < 8);
        assert!(in_generation(2, &old));
        assert!(in_generation(1, &middle));
        assert!(in_generation(1, &young));
        let newer = new_link();
        assert!(in_generation(0, &newer));
        gc::collect_generation(1).unwrap();
        assert!(
            [&old, &middle, &young, &newer]
                .iter()
                .all(|o| in_generation(2, o))
        );
    }
}
