//! `clear_weakrefs`: the weak references of the garbage (CPython's
//! `handle_weakrefs`).

use core::ptr::NonNull;

use crate::header::GcHeader;
use crate::weakref;

use super::PanicPayload;
use super::list::{GcList, object_header};

/// Called once the garbage is final (finalizers have run and resurrection
/// is settled), before any of it is deleted:
///
/// 1. every callback-bearing `WeakRef` that the garbage owns
///    (`garbage_weak_refs`, by key and referent) is cleared: its callback
///    will never run, even if its referent dies by counting while the
///    garbage is deleted (CPython clears every weak reference in the trash
///    first: bpo-38006);
/// 2. the weak callbacks registered on the garbage run, newest first per
///    object (their `WeakRef`s are alive: the garbage's own were cleared in
///    step 1);
/// 3. the cleared callbacks are dropped.
///
/// Returns the first panic of a callback (or of a callback's `Drop`).
///
/// Contracts: on entry the objects of `unreachable` are held, condemned
/// (`upgrade` gives `None`), intact and in the list; so they are on exit.
/// Only keys are used: no pointer to an owner is read, and referents are
/// registry keys, never dereferenced.
pub(crate) fn clear_weakrefs(
    unreachable: &GcList,
    garbage_weak_refs: Vec<(u64, NonNull<GcHeader>)>,
) -> Option<PanicPayload> {
    let cleared: Vec<_> = garbage_weak_refs
        .into_iter()
        .filter_map(|(key, referent)| weakref::cancel(referent, key))
        .collect();
    let mut due = Vec::new();
    unreachable.for_each(|links| {
        // SAFETY: a live, held object of the list.
        let header = unsafe { object_header(links) };
        // SAFETY: as above.
        if unsafe { header.as_ref() }.has_weak_callbacks() {
            due.extend(weakref::take_callbacks(header));
        }
    });
    // Run outside the walk: callbacks may allocate and drop (not the held
    // garbage, which stays put).
    let first_panic = weakref::run_callbacks(due);
    let drop_panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(cleared))).err();
    first_panic.or(drop_panic)
}
