//! `delete_garbage`: break the garbage cycles so reference counting frees them.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::destroy::release_implicit_weak;
use crate::header::survive_into;

use super::PanicPayload;
use super::debug;
use super::list::{GcList, object_header, unlink};
use super::lookahead::{Lookahead, Runner};
use crate::any::GcAny;
use crate::heap::Heap;

/// Drops the value of every object in `unreachable`, one at a time. Dropping
/// the values drops the handles that formed the cycles, and the objects are
/// freed as their counts reach 0. For each object:
///
/// 1. unlink it and clear its collector flags;
/// 2. flag it DEAD: from here on, dereferencing a handle to it panics and
///    `Weak::upgrade` returns `None`;
/// 3. drop its value. If only the collector's hold (taken by
///    `move_unreachable`) is left, free it at once, while it is still in
///    cache. If other garbage still references it, keep the hold and queue
///    it: once every value is dropped, the queue releases the holds in list
///    order, so memory is freed in allocation order rather than in the
///    random order in which the last references happen to go.
///
/// The holds mean no object of the list is destroyed by counting while it
/// waits for its turn: each value is dropped here, on its own, so a panic in
/// one `Drop` never unwinds through another. Objects still waiting in the
/// list are intact but out of reach: they were condemned (flagged `DEAD`)
/// before any value was dropped, so a `Drop` that holds a handle to one can
/// clone it but not reach its value (`Deref` panics, `try_deref` and
/// `Weak::upgrade` give `None`), as CPython clears every weak reference to
/// the garbage before it clears any object.
///
/// An object still referenced once all holds are released (possible only if
/// some `trace` reported a handle its value does not own) stays allocated,
/// untracked and DEAD: its remaining handles panic on dereference, and its
/// memory is freed when the last of them goes.
///
/// `lookahead` holds the objects of `unreachable` in about their order
/// there, to prefetch.
///
/// Contracts: on entry, every object in `unreachable` is garbage, flagged
/// `COLLECTING | UNREACHABLE`, and carries the collector's hold; on exit the
/// list is empty. Returns how many objects stayed allocated (uncollectable)
/// and the first panic of a `Drop`: panics are caught and the loop goes on.
pub(crate) fn delete_garbage(
    heap: &Heap,
    unreachable: &GcList,
    report_uncollectable: bool,
    lookahead: &mut Lookahead,
) -> (usize, Option<PanicPayload>) {
    let mut uncollectable = 0;
    let still_referenced = GcList::new();
    // Should anything unwind out of here (nothing that runs below is meant
    // to), the objects waiting in this frame's list are let go first: no
    // list may outlive its frame with objects in it.
    let _drain = ReleaseOnUnwind(&still_referenced);
    let mut first_panic = None;
    // SAFETY: `unreachable` holds intact garbage, and only the object being
    // deleted leaves it (the others are held, and the collector's flags
    // keep them where they are).
    let mut runner = unsafe { Runner::start(unreachable, Some(&mut first_panic)) };
    while let Some(links) = unreachable.first() {
        lookahead.follow(links);
        runner.step(unreachable, links, Some(&mut first_panic));
        // SAFETY: `links` is a live object of the list (held).
        let header = unsafe { object_header(links) };
        // SAFETY: as above; unlinking first means nothing else can find it
        // through the list while its value is dropped.
        unsafe {
            unlink(links);
            links.as_ref().stop_collecting();
            heap.counters
                .note_destruction(links.as_ref().unfrozen_epoch());
            header.as_ref().set_dead();
        }
        // SAFETY: the value is initialized (objects in a list always are) and,
        // flagged DEAD, it can no longer be reached through any handle.
        let dropped = catch_unwind(AssertUnwindSafe(|| unsafe {
            (crate::header::vtable(header).drop_value)(header)
        }));
        if let Err(payload) = dropped {
            crate::unraisable::keep_first(&mut first_panic, payload);
        }
        // SAFETY: the hold keeps the object allocated.
        let h = unsafe { header.as_ref() };
        if h.has_weak_callbacks() {
            // `handle_weakrefs` took them all; should any be left, they
            // must not outlive the object in a registry keyed by its
            // address: they wait with the others (deferring is on).
            drop(crate::weakref::take_callbacks(header));
        }
        if h.strong() == 1 {
            h.set_strong(0);
            // SAFETY: only the hold was left: no strong handle remains, the
            // value is dropped and the object is unlinked.
            unsafe { release_implicit_weak(header) };
        } else {
            // SAFETY: unlinked above; `still_referenced` is a live list.
            unsafe { still_referenced.push_back(links) };
            lookahead.keep(links);
        }
    }
    lookahead.start_over();
    while let Some(links) = still_referenced.first() {
        lookahead.follow(links);
        // SAFETY: a live, held object of the list.
        let header = unsafe { object_header(links) };
        // SAFETY: as above.
        unsafe { unlink(links) };
        // SAFETY: the hold kept the object allocated until this release.
        if unsafe { header.as_ref() }.dec_strong() == 0 {
            // SAFETY: no strong handle is left, the value is dropped and the
            // object is unlinked.
            unsafe { release_implicit_weak(header) };
        } else {
            uncollectable += 1;
            if report_uncollectable {
                let object = debug::describe(header);
                // The logger is user code: a panic of it must not leave
                // objects in `still_referenced`, a list of this frame.
                crate::unraisable::guarded(
                    &mut first_panic,
                    || log::warn!(target: debug::TARGET, "uncollectable {object}"),
                );
            }
        }
    }
    (uncollectable, first_panic)
}

/// Releases the holds of the objects left in `delete_garbage`'s list of
/// values dropped but still referenced, if the function unwinds.
struct ReleaseOnUnwind<'a>(&'a GcList);

impl Drop for ReleaseOnUnwind<'_> {
    fn drop(&mut self) {
        while let Some(links) = self.0.first() {
            // SAFETY: a live, held object of the list, its value dropped.
            let header = unsafe { object_header(links) };
            // SAFETY: as above.
            unsafe { unlink(links) };
            // SAFETY: the hold kept the object allocated until this release.
            if unsafe { header.as_ref() }.dec_strong() == 0 {
                // SAFETY: no strong handle is left, the value is dropped and
                // the object is unlinked.
                unsafe { release_implicit_weak(header) };
            }
        }
    }
}

/// `DEBUG_SAVEALL`: instead of freeing the garbage, keep every object alive
/// in `gc::garbage()`. The objects survive, intact and tracked, into `old`
/// (generation `old_generation`); the collector's holds are released.
pub(crate) fn save_garbage(unreachable: &GcList, old: &GcList, old_generation: usize) {
    while let Some(links) = unreachable.first() {
        // SAFETY: a live, held object of the list.
        let header = unsafe { object_header(links) };
        // SAFETY: as above; `old` is a live list.
        unsafe {
            unlink(links);
            links.as_ref().reprieve();
            survive_into(links, old_generation);
            // Kept alive by `gc::garbage()`, not waiting as decremented.
            links.as_ref().set_decremented(false);
            old.push_back(links);
        }
        // SAFETY: a live object with an intact value.
        debug::save(unsafe { GcAny::from_header(header) });
        // SAFETY: as above. The new handle holds a count: this cannot reach 0.
        unsafe { header.as_ref() }.dec_strong();
    }
}
