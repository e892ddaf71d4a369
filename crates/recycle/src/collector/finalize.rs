//! PEP 442 in the collector: `finalize_garbage` and
//! `handle_resurrected_objects` (CPython's names).

use std::panic::{AssertUnwindSafe, catch_unwind};

use super::PanicPayload;
use super::deduce::{self, Members};
use super::list::{GcList, object_header, unlink};

/// Runs the finalizer of every object in `unreachable` that has one and has
/// not run it yet, flagging each FINALIZED first (so it never runs again).
/// Returns whether any ran, and the first panic of one (each is caught; the
/// others still run).
///
/// Contracts: on entry every object of `unreachable` is garbage, intact,
/// held by the collector and condemned (`UNREACHABLE | DEAD`). If a
/// finalizer of theirs is due, a walk takes `DEAD` off all of them, so that
/// every finalizer sees every object of the garbage intact (PEP 442), and
/// can resurrect it, through a `Weak` too; `handle_resurrected_objects`
/// condemns again what is still garbage. If none is due, nothing changes. On exit they are still held and in the list: finalizers cannot
/// take them out of it (the holds keep every object alive and make
/// `try_unwrap` and `get_mut` refuse).
pub(crate) fn finalize_garbage(unreachable: &GcList) -> (bool, Option<PanicPayload>) {
    // `needs_finalizers` may come from an object that turned out reachable:
    // the garbage stays condemned unless a finalizer of its own is due.
    let mut any_due = false;
    unreachable.for_each(|links| {
        // SAFETY: a live, held object of the list.
        let header = unsafe { object_header(links) };
        // SAFETY: as above.
        let due = unsafe { crate::header::vtable(header) }.finalize.is_some()
            // SAFETY: as above.
            && !unsafe { header.as_ref() }.is_finalized();
        any_due |= due;
    });
    if !any_due {
        return (false, None);
    }
    unreachable.for_each(|links| {
        // SAFETY: a live, held object of the list.
        unsafe { links.as_ref() }.revive_for_finalizers();
    });
    let mut ran = false;
    let mut first_panic = None;
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
            crate::unraisable::keep_first(&mut first_panic, payload);
        }
    });
    (ran, first_panic)
}

/// After finalizers ran, some garbage may be referenced again from outside
/// (resurrected). Runs `deduce_unreachable` once more, on the garbage alone:
/// what is now reachable from outside it, with everything it reaches,
/// survives into `old` (generation `survivor_generation`); the rest stays in
/// `unreachable`, garbage for sure, and condemned again. Like any deduction,
/// it runs no user code. Returns how many objects survived.
///
/// Contracts: on entry every object of `unreachable` carries one hold; on
/// exit too (the survivors' holds are released). A panic out of the
/// deduction (a trusted `trace` that breaks its promise) leaves every object
/// in `unreachable`, flagged `UNREACHABLE` and held once, for the caller's
/// `RestoreOnPanic`.
pub(crate) fn handle_resurrected_objects(
    unreachable: &GcList,
    old: &GcList,
    survivor_generation: usize,
) -> usize {
    // update_refs, done here: the set is exactly these objects, and each
    // strong count includes the collector's hold, which is not a reference.
    unreachable.for_each(|links| {
        // SAFETY: a live, held object of the list.
        let strong = unsafe { object_header(links).as_ref() }.strong();
        // SAFETY: as above.
        unsafe { links.as_ref() }.start_collecting(strong - 1);
    });
    let still = GcList::new();
    /// Puts `still` back into `unreachable` if the deduction unwinds.
    struct Merge<'a> {
        unreachable: &'a GcList,
        still: &'a GcList,
        armed: bool,
    }
    impl Drop for Merge<'_> {
        fn drop(&mut self) {
            if self.armed {
                self.unreachable.append(self.still);
                self.unreachable.for_each(|links| {
                    // SAFETY: live, held objects of the lists.
                    unsafe { links.as_ref() }.condemn();
                });
            }
        }
    }
    let mut merge = Merge {
        unreachable,
        still: &still,
        armed: true,
    };
    let members = Members::AlreadyUpdated {
        survivor_generation,
        already_held: true,
    };
    let deduced = deduce::deduce_unreachable(unreachable, &still, members);
    let mut still_garbage = deduced.unreachable;
    // The survivors give their hold back, except an object whose hold is
    // its only count: nothing references it, so it is garbage whatever the
    // deduction saw (its value could not be looked into: a `RefCell` of it
    // stays mutably borrowed, the borrow leaked), and goes with the rest.
    unreachable.for_each(|links_ptr| {
        // SAFETY: a live, held object of the list.
        let (links, header) = unsafe { (links_ptr.as_ref(), object_header(links_ptr).as_ref()) };
        if header.strong() == 1 {
            // SAFETY: in `unreachable`; `still` is a live list.
            unsafe {
                unlink(links_ptr);
                still.push_back(links_ptr);
            }
            links.start_collecting(0);
            links.condemn();
            still_garbage += 1;
            return;
        }
        header.dec_strong();
        // Referenced from outside now, not waiting as decremented: its
        // next decrement counts again.
        links.set_decremented(false);
        header.set_reports_decrements(true);
    });
    merge.armed = false;
    old.append(unreachable);
    unreachable.append(&still);
    deduced.candidates - still_garbage
}
