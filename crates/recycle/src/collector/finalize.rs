//! PEP 442 in the collector: `finalize_garbage` and
//! `handle_resurrected_objects` (CPython's names).

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::heap::Heap;

use super::deduce::{self, Members};
use super::list::{GcList, object_header};
use super::{PanicPayload, destroy_deferred};

/// Runs the finalizer of every object in `unreachable` that has one and has
/// not run it yet, flagging each FINALIZED first (so it never runs again).
/// Returns whether any ran, and the first panic of one (each is caught; the
/// others still run).
///
/// Contracts: on entry every object of `unreachable` is garbage, intact,
/// held by the collector and flagged `UNREACHABLE`; so it is on exit, unless a
/// finalizer resurrected it, which `handle_resurrected_objects` finds out.
/// Finalizers cannot unlink objects from the list: the holds keep every
/// object alive and make `try_unwrap`/`get_mut` refuse.
pub(crate) fn finalize_garbage(heap: &Heap, unreachable: &GcList) -> (bool, Option<PanicPayload>) {
    let mut ran = false;
    let mut first_panic = None;
    heap.finalizing.set(true);
    struct Done<'a>(&'a Heap);
    impl Drop for Done<'_> {
        fn drop(&mut self) {
            self.0.finalizing.set(false);
        }
    }
    let _done = Done(heap);
    unreachable.for_each(|links| {
        // SAFETY: a live, held object of the list, with its value intact.
        let header = unsafe { object_header(links) };
        // SAFETY: as above.
        let h = unsafe { header.as_ref() };
        // SAFETY: as above.
        let Some(finalize) = unsafe { crate::header::vtable(header) }.finalize else {
            return;
        };
        if h.is_finalized() {
            return;
        }
        h.set_finalized();
        ran = true;
        // SAFETY: as above: the value is initialized and alive.
        let result = catch_unwind(AssertUnwindSafe(|| unsafe { finalize(header) }));
        if let Err(payload) = result {
            first_panic.get_or_insert(payload);
        }
    });
    (ran, first_panic)
}

/// After finalizers ran, some garbage may be referenced again from outside
/// (resurrected). Runs `deduce_unreachable` once more, on the garbage alone:
/// what is now reachable from outside it, with everything it reaches,
/// survives into `old` (generation `survivor_generation`); the rest stays in
/// `unreachable`, garbage for sure. Returns how many objects survived, and
/// the first panic of a `Drop` among deferred destructions.
///
/// Contracts: on entry every object of `unreachable` carries one hold; on
/// exit too (the survivors' holds are released).
pub(crate) fn handle_resurrected_objects(
    heap: &Heap,
    unreachable: &GcList,
    old: &GcList,
    survivor_generation: usize,
) -> (usize, Option<PanicPayload>) {
    // update_refs, done here: the set is exactly these objects, and each
    // strong count includes the collector's hold, which is not a reference.
    unreachable.for_each(|links| {
        // SAFETY: a live, held object of the list.
        let strong = unsafe { object_header(links).as_ref() }.strong();
        // SAFETY: as above.
        unsafe { links.as_ref() }.start_collecting(strong - 1);
    });
    let still = GcList::new();
    let members = Members::AlreadyUpdated {
        survivor_generation,
    };
    let deduced = deduce::deduce_unreachable(heap, unreachable, &still, members);
    // `move_unreachable` took a second hold on what is still garbage; every
    // object gives back the first one.
    for list in [unreachable, &still] {
        list.for_each(|links| {
            // SAFETY: a live, held object of the list.
            let last = unsafe { object_header(links).as_ref() }.dec_strong() == 0;
            debug_assert!(!last, "a held object kept only its first hold");
        });
    }
    let resurrected = deduced.candidates - deduced.unreachable;
    unreachable.for_each(|links| {
        // Referenced from outside now, not waiting as decremented.
        // SAFETY: a live object of the list.
        unsafe { links.as_ref() }.set_decremented(false);
    });
    old.append(unreachable);
    unreachable.append(&still);
    (resurrected, destroy_deferred(deduced.deferred))
}
