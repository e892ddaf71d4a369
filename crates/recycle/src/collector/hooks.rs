//! The counting layer's one door into the collector.
//!
//! The reference-counting layer (`handle`, `weak`, `any`, `destroy`,
//! `gc_box`, with the bit layout in `header`) works on its own: counts,
//! destruction, the trashcan. It tells the collector four things, all
//! through this module, and nothing else of the collector's is used there:
//!
//! - a tracked object was born ([`track_new`]), which may make an automatic
//!   collection due ([`collect_automatically`]);
//! - a handle was dropped and its object survived, when the header asks
//!   for it ([`note_reference_dropped`]);
//! - a tracked object leaves the collector's view: destroyed
//!   ([`untrack_for_destruction`], then [`note_destruction`]), queued in
//!   the trashcan ([`untrack_for_trashcan`]), or lent out by `Gc::get_mut`
//!   ([`detach_for_get_mut`]);
//! - a finalizer run from the trashcan resurrected an object, which comes
//!   back ([`relink_resurrected`]).
//!
//! So a reader can take the counting layer and the collector one at a
//! time: this file is the whole interface between them.

use core::ptr::NonNull;

use super::generations;
use super::list::unlink;
use crate::header::{GcHeader, GcLinks, links_of};
use crate::heap::Heap;

pub(crate) use super::PanicPayload;
pub(crate) use super::collect_automatically;
pub(crate) use super::generations::note_reference_dropped;

/// Links a new tracked object into generation 0 of `heap`; `true` if that
/// allocation makes an automatic collection due (the caller runs
/// [`collect_automatically`] once it holds no borrow of the heap).
///
/// # Safety
///
/// - `links` belong to a live tracked object with an initialized value, in
///   no list, with provenance over the whole allocation.
#[inline(always)]
pub(crate) unsafe fn track_new(heap: &Heap, links: NonNull<GcLinks>) -> bool {
    // SAFETY: forwarded contract.
    unsafe { heap.track(links) }
}

/// A tracked object is about to be destroyed (its count is 0): it leaves
/// its list and the collector's state. Returns its epoch for
/// [`note_destruction`] (`None` if it was frozen).
///
/// # Safety
///
/// - `header` is a live tracked object's (it has links), whose count is 0,
///   in one of the heap's lists or in none, with provenance over the whole
///   allocation.
pub(crate) unsafe fn untrack_for_destruction(header: NonNull<GcHeader>) -> Option<u32> {
    // SAFETY: per the contract; lists hold live objects only.
    unsafe {
        let links = links_of(header);
        unlink(links);
        let epoch = links.as_ref().unfrozen_epoch();
        links.as_ref().clear_state();
        epoch
    }
}

/// A tracked object was destroyed: the generation counters forget it.
pub(crate) fn note_destruction(heap: &Heap, epoch: Option<u32>) {
    heap.counters.note_destruction(epoch)
}

/// A tracked object waits in the trashcan (count 0, destruction postponed):
/// it leaves its list, so that no collection or `gc::get_objects` finds it
/// meanwhile.
///
/// # Safety
///
/// - As [`untrack_for_destruction`].
pub(crate) unsafe fn untrack_for_trashcan(header: NonNull<GcHeader>) {
    // SAFETY: per the contract.
    unsafe { unlink(links_of(header)) }
}

/// `Gc::get_mut` lends out the value of a tracked object: it leaves the
/// collector's view (see `header::detach`) until a handle drop or a
/// collection brings it back.
///
/// # Safety
///
/// - `links` belong to a live tracked object with one handle and no weak
///   one, in one of the heap's lists (not one of the collector's own: those
///   hold only garbage, which has a second count, the collector's hold),
///   with provenance over the whole allocation.
pub(crate) unsafe fn detach_for_get_mut(links: NonNull<GcLinks>) {
    crate::heap::with_heap(|heap| {
        // SAFETY: per the contract.
        unsafe {
            unlink(links);
            generations::detach_counted(heap, links);
        }
    })
}

/// A finalizer run on an object whose count had reached 0 resurrected it:
/// it comes back into the collector's view (a tracked object that waited in
/// the trashcan is relinked; any other is noted as decremented).
///
/// # Safety
///
/// - `header` is a live object's, with an intact value and a count above
///   zero, through a pointer with provenance over the whole allocation;
///   `tracked` says whether it has links.
pub(crate) unsafe fn relink_resurrected(header: NonNull<GcHeader>, tracked: bool) {
    // SAFETY: per the contract.
    unsafe {
        if tracked && !links_of(header).as_ref().is_linked() {
            generations::relink_unlisted(header);
        } else {
            generations::note_reference_dropped(header);
        }
    }
}
