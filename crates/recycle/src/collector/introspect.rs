//! The object graph as the `gc` module shows it: `get_objects`,
//! `get_referents`, `get_referrers`, `freeze`. Built on the same lists and
//! `trace` calls as the collector (CPython's `gc_get_referrers` walks every
//! generation with `tp_traverse` the same way).

use core::ptr::NonNull;
use std::collections::HashSet;

use crate::any::GcAny;
use crate::header::{GcHeader, set_frozen};
use crate::heap::{Heap, NUM_GENERATIONS, with_heap};
use crate::trace::{TraceAction, Tracer};

use super::list::{GcList, object_header};

/// Every live object in the given lists, as handles.
///
/// A listed object always has a strong count above zero (no list holds an
/// object whose count reached zero: counting destroys it, and the trashcan
/// takes it out of its list first), so this never mints a handle to the
/// dead.
pub(crate) fn objects(lists: &[&GcList]) -> Vec<GcAny> {
    let mut out = Vec::new();
    for list in lists {
        list.for_each(|links| {
            // SAFETY: lists hold live tracked objects with initialized values.
            let header = unsafe { object_header(links) };
            // SAFETY: as above.
            debug_assert!(unsafe { header.as_ref() }.strong() > 0);
            // SAFETY: as above.
            out.push(unsafe { GcAny::from_header(header) });
        });
    }
    out
}

/// The handles `object`'s value reports through its `trace` (trusted or
/// not: this is introspection, not counting). Nothing is walked while the
/// `trace` runs, and `object` is held by the caller's handle, so the `trace`
/// may do anything safe code can, `gc` calls included.
fn reported_by(object: &GcAny) -> Vec<GcAny> {
    // SAFETY: the handle keeps the object alive.
    let header = unsafe { object.header_ptr().as_ref() };
    if header.is_dead() {
        // Garbage, or destroyed: its value is out of reach.
        return Vec::new();
    }
    let mut tracer = Tracer::new(TraceAction::Referents(Vec::new()));
    // SAFETY: a live object with an initialized value (not dead), kept
    // alive by the caller's handle.
    unsafe { (crate::header::vtable(object.header_ptr()).trace)(object.header_ptr(), &mut tracer) };
    match tracer.into_action() {
        TraceAction::Referents(found) => found,
        _ => unreachable!("the tracer's action does not change"),
    }
}

/// The objects `object`'s value reports through `trace` (none once the
/// collector has found it to be garbage or destroyed it).
pub(crate) fn referents(object: &GcAny) -> Vec<GcAny> {
    reported_by(object)
}

/// Every tracked object (frozen ones excepted) whose `trace` reports one of
/// `targets`. The objects are taken as handles first; the `trace` calls
/// (user code) run after the walk, on objects those handles keep alive.
pub(crate) fn referrers(targets: &[GcAny]) -> Vec<GcAny> {
    let wanted: HashSet<NonNull<GcHeader>> = targets.iter().map(GcAny::header_ptr).collect();
    let candidates = with_heap(|heap| objects(&heap.all_lists().collect::<Vec<_>>()));
    candidates
        .into_iter()
        .filter(|object| {
            reported_by(object)
                .iter()
                .any(|r| wanted.contains(&r.header_ptr()))
        })
        .collect()
}

/// What [`freeze`] or [`unfreeze`] asked for while a collection ran, to be
/// done when it ends (bits of `Heap::deferred_request`).
const FREEZE: u8 = 1;
const UNFREEZE: u8 = 2;

/// Moves every tracked object to the permanent generation, which no
/// collection examines. Called while a collection runs (from a finalizer,
/// a callback, a `Drop`), it is deferred until the collection ends.
pub(crate) fn freeze() {
    with_heap(|heap| {
        if heap.collecting.get() {
            // Freezing after any unfreeze asked for so far: everything ends
            // up frozen, whatever came before.
            heap.deferred_request.set(FREEZE);
            return;
        }
        freeze_now(heap)
    })
}

fn freeze_now(heap: &Heap) {
    super::incremental::abandon(heap);
    for list in heap.all_lists() {
        list.for_each(|links| {
            // SAFETY: lists hold live tracked objects.
            unsafe { set_frozen(links, true) };
        });
        heap.permanent.append(list);
    }
    heap.counters.note_all_frozen();
}

/// Moves the permanent generation back into the oldest one. Called while a
/// collection runs, it is deferred until the collection ends.
pub(crate) fn unfreeze() {
    with_heap(|heap| {
        if heap.collecting.get() {
            // After a freeze asked for, this unfreezes what it froze too.
            heap.deferred_request
                .set(heap.deferred_request.get() & FREEZE | UNFREEZE);
            return;
        }
        unfreeze_now(heap)
    })
}

fn unfreeze_now(heap: &Heap) {
    super::incremental::abandon(heap);
    heap.permanent.for_each(|links| {
        // SAFETY: lists hold live tracked objects.
        unsafe {
            set_frozen(links, false);
            links.as_ref().set_epoch(super::generations::ANCIENT_EPOCH);
        }
    });
    heap.generations[NUM_GENERATIONS - 1].append(&heap.permanent);
    // Drops of their handles while frozen were not recorded.
    super::generations::note_all_dirty();
}

/// Does what `freeze`/`unfreeze` asked for during the collection that just
/// ended (`heap.collecting` is clear again).
pub(crate) fn run_deferred_requests(heap: &Heap) {
    let request = heap.deferred_request.replace(0);
    if request & FREEZE != 0 {
        freeze_now(heap);
    }
    if request & UNFREEZE != 0 {
        unfreeze_now(heap);
    }
}
