//! `handle_weakrefs`: the weak callbacks of the garbage (CPython's name).

use crate::weakref;

use super::PanicPayload;
use super::list::{GcList, object_header};

/// Takes the weak callbacks registered on the garbage out of the registry,
/// to run once the garbage is deleted ([`DeferCallbacks`] is on).
///
/// Why after: a `WeakRef` that is itself part of the garbage must never
/// call back (CPython's rule, and bpo-38006 for a referent that dies by
/// counting while the garbage is deleted). The collector does not know
/// where every `WeakRef` lives (one in an untrusted value or a skipped field
/// is invisible to it), but each such `WeakRef` is dropped by the deletion,
/// and its drop cancels its callback wherever it waits. What is left when
/// the deletion is over belongs to `WeakRef`s that outlive the garbage.
///
/// Contracts: on entry the objects of `unreachable` are final garbage,
/// held, condemned (`upgrade` gives `None`) and intact; so they are on exit.
/// Runs no user code.
pub(crate) fn handle_weakrefs(unreachable: &GcList) {
    unreachable.for_each(|links| {
        // SAFETY: a live, held object of the list.
        let header = unsafe { object_header(links) };
        // SAFETY: as above.
        if unsafe { header.as_ref() }.has_weak_callbacks() {
            let due = weakref::take_callbacks(header);
            debug_assert!(due.is_empty(), "deferred while deleting");
        }
    });
}

/// While alive, weak callbacks that fall due wait (see [`handle_weakrefs`]);
/// [`DeferCallbacks::run`] ends that and runs them. Dropped without `run`
/// (a panic unwinds), it only ends the deferral: the callbacks left wait
/// for the end of the next deletion.
pub(crate) struct DeferCallbacks(());

impl DeferCallbacks {
    pub(crate) fn start() -> DeferCallbacks {
        weakref::defer_during_deletion(true);
        DeferCallbacks(())
    }

    /// Ends the deferral and runs what is due, newest first per object,
    /// objects in the order they died. Returns the first panic.
    pub(crate) fn run(self) -> Option<PanicPayload> {
        drop(self);
        weakref::run_callbacks(weakref::take_pending())
    }
}

impl Drop for DeferCallbacks {
    fn drop(&mut self) {
        weakref::defer_during_deletion(false);
    }
}
