//! `handle_weakref_callbacks`: the weak callbacks of the garbage.

use core::ptr::NonNull;
use std::collections::HashSet;

use crate::header::GcLinks;
use crate::weakref;

use super::PanicPayload;
use super::list::{GcList, object_header};

/// The `WeakRef`s (by owner) whose owner is garbage after `move_unreachable`.
/// Called while every garbage object is still held (so alive).
pub(crate) fn owned_by_garbage(
    owners: Vec<(NonNull<GcLinks>, u64)>,
) -> Vec<(NonNull<GcLinks>, u64)> {
    owners
        .into_iter()
        // SAFETY: every owner was traced in this collection; the garbage ones
        // are held until `delete_garbage`, and only those are kept.
        .filter(|(owner, _)| unsafe { owner.as_ref() }.is_unreachable())
        .collect()
}

/// Runs the weak callbacks of every object in `unreachable` (now certain to
/// die: finalizers have run and resurrection is settled), newest first per
/// object, except the callbacks of `WeakRef`s that are themselves garbage
/// (CPython's rule: the weak reference died with its referent, and its
/// callback could otherwise see the garbage). Returns the first panic.
///
/// Contracts: on entry `unreachable` is final; `garbage_weak_refs` lists the
/// owners (held garbage, or resurrected and alive) with their keys. The
/// objects stay intact and in the list; callbacks cannot upgrade to them.
pub(crate) fn handle_weakref_callbacks(
    unreachable: &GcList,
    garbage_weak_refs: Vec<(NonNull<GcLinks>, u64)>,
) -> Option<PanicPayload> {
    let dead_keys: HashSet<u64> = garbage_weak_refs
        .into_iter()
        // SAFETY: see `owned_by_garbage`; resurrected owners are alive.
        .filter(|(owner, _)| unsafe { owner.as_ref() }.is_unreachable())
        .map(|(_, key)| key)
        .collect();
    let mut due = Vec::new();
    unreachable.for_each(|links| {
        // SAFETY: a live, held object of the list.
        let header = unsafe { object_header(links) };
        // SAFETY: as above.
        if unsafe { header.as_ref() }.has_weak_callbacks() {
            let mut callbacks = weakref::take_callbacks(header);
            callbacks.retain(|(key, _)| !dead_keys.contains(key));
            due.extend(callbacks);
        }
    });
    // Run outside the walk: callbacks may allocate and drop (not the held
    // garbage, which stays put).
    weakref::run_callbacks(due)
}
