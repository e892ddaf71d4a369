//! `delete_garbage`: break the garbage cycles so reference counting frees them.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::destroy::release_implicit_weak;

use super::PanicPayload;
use super::list::{GcList, object_header, unlink};

/// Drops the value of every object in `unreachable`; that drops the handles
/// that formed the cycles, and the objects are freed as their counts reach 0.
///
/// 1. Every object gets one extra strong count (the collector's *hold*) and is
///    marked DEAD: from here on dereferencing a handle to it panics and
///    `Weak::upgrade` returns `None`, so a `Drop` of one garbage value can
///    never see another one half-dropped.
/// 2. One object at a time: unlink it, drop its value, release the hold. The
///    holds guarantee that no object of the list is destroyed while the loop
///    still has to visit it; an object whose count reaches 0 after its value
///    was dropped is freed right away (nothing of it is left to run).
///
/// An object still referenced after all values are dropped (possible only if
/// some `trace` reported a handle its value does not own) stays allocated,
/// untracked and DEAD: its remaining handles panic on dereference, and its
/// memory is freed when the last of them goes.
///
/// Contracts: on entry, every object in `unreachable` is garbage, flagged
/// `COLLECTING | UNREACHABLE`, with strong >= 1; on exit the list is empty.
/// A panic in a `Drop` is caught; the loop goes on and the first panic is
/// returned.
pub(crate) fn delete_garbage(unreachable: &GcList) -> Option<PanicPayload> {
    unreachable.for_each(|links| {
        // SAFETY: the list holds live tracked objects.
        let header = unsafe { object_header(links).as_ref() };
        header.inc_strong();
        header.set_dead();
        // SAFETY: as above.
        unsafe { links.as_ref() }.stop_collecting();
    });

    let mut first_panic = None;
    while let Some(links) = unreachable.first() {
        // SAFETY: `links` is a live object of the list (held, so not freed).
        let header = unsafe { object_header(links) };
        // SAFETY: as above.
        unsafe { unlink(links) };
        // SAFETY: the value is initialized (objects in a list always are) and
        // no reference reaches it: every handle to it now panics on deref.
        let dropped = catch_unwind(AssertUnwindSafe(|| unsafe {
            (header.as_ref().vtable().drop_value)(header)
        }));
        if let Err(payload) = dropped {
            first_panic.get_or_insert(payload);
        }
        // SAFETY: the hold keeps the object allocated until this release.
        if unsafe { header.as_ref() }.dec_strong() == 0 {
            // SAFETY: no strong handle is left, the value is dropped and the
            // object is unlinked.
            unsafe { release_implicit_weak(header) };
        }
    }
    first_panic
}
