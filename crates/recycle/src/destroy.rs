//! Destruction by reference counting: what happens when the last `Gc` to an
//! object goes away, with CPython's *trashcan* so that dropping a very deep
//! structure (a 10,000,000-node linked list) cannot overflow the stack.
//!
//! Dropping a value drops the `Gc` fields inside it, which may destroy more
//! objects, recursively. Up to [`TRASHCAN_DEPTH`] nested destructions run
//! directly (so the usual order of `Drop` calls is kept for shallow data);
//! deeper ones are put in the trashcan, a work list owned by the outermost
//! destruction, which empties it in a loop once its own value is dropped.
//! Untracked values cannot hold a `Gc`, so their destruction never nests and
//! skips all of this.

use core::ptr::NonNull;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::collector::hooks::{self, PanicPayload};
use crate::gc_box::deallocate;
use crate::header::GcHeader;
use crate::heap::{Heap, with_heap};
use crate::trace::Trace;
use crate::unraisable::{keep_first, resume_or_report};
use crate::weakref;

/// Nested destructions allowed before the trashcan takes over. CPython uses
/// a similar small limit; each level costs one user `Drop` frame or so.
const TRASHCAN_DEPTH: u32 = 64;

/// The rest of a handle's drop, when [`GcHeader::release_strong`] says
/// there is more to do: the last handle went, and the object's type's
/// `destroy` takes over; or the decrement must be reported to the
/// collector (the only way a cycle can become garbage: see
/// `collector::generations`). Out of line and shared by every type, so that
/// `Gc::drop`, inlined everywhere, stays a decrement and a test.
///
/// # Safety
///
/// - `header` is the pointer of the handle being dropped (provenance over
///   the whole allocation), whose decrement was the one just tested.
#[inline(never)]
pub(crate) unsafe fn release_slow(header: NonNull<GcHeader>) {
    // SAFETY: the allocation is live: either this handle's count was the
    // last (and nothing has destroyed the object yet), or others remain.
    if unsafe { header.as_ref() }.strong() == 0 {
        // SAFETY: the count just reached 0; `destroy` is the object's own
        // type's destructor, found through its vtable.
        unsafe { (crate::header::vtable(header).destroy)(header) }
    } else {
        // SAFETY: a live object (other handles remain), through a
        // handle's pointer.
        unsafe { hooks::note_reference_dropped(header) }
    }
}

/// Destroys an object whose strong count just reached 0: drops its value,
/// releases the implicit weak handle and frees the memory once no `Weak`
/// remains. A panic in the value's `Drop` still frees what it must, then
/// continues to the caller. What it needs to know about the object's type
/// comes from `O`: the vtable, or (through the vtable's `destroy` entry,
/// which the drop path calls) the type itself, known at compile time.
///
/// # Safety
///
/// - `header` belongs to a live object whose strong count is 0, and nothing
///   else will destroy it; `O` describes the object's type.
#[inline]
pub(crate) unsafe fn destroy_unreferenced_with<O: Ops>(header: NonNull<GcHeader>) {
    // SAFETY: the object is live until it is freed below.
    let h = unsafe { header.as_ref() };
    // SAFETY: as above.
    if !unsafe { O::may_hold_gc(header) }
        // SAFETY: as above.
        && unsafe { O::finalizer(header) }.is_none()
        && !h.has_weak_callbacks()
    {
        // A value that cannot hold a `Gc`, with no finalizer or weak
        // callback to run, destroys nothing else when it is dropped: no
        // nesting to limit. (A `Trace` impl that wrongly claims
        // `MAY_CONTAIN_GC = false` for a type that holds `Gc`s loses the
        // trashcan, not safety.) User code that runs first (a finalizer, a
        // callback) can make and drop more such objects, so those go
        // through the count of nested destructions below.
        let release = ReleaseWeak::<O>(header, core::marker::PhantomData);
        let mut panic = None;
        if !h.is_dead() {
            // SAFETY: strong == 0, so no handle (hence no reference) reaches
            // the value, and it is initialized (not dead). It is untracked
            // (it cannot hold a `Gc`), so in no list.
            unsafe { drop_value_keeping::<O>(header, &mut panic) }
        }
        drop(release);
        if let Some(payload) = panic {
            resume_or_report(payload, "a Drop");
        }
        return;
    }
    with_heap(|heap| {
        let depth = heap.destroy_depth.get();
        if depth < TRASHCAN_DEPTH {
            let _depth = DepthGuard::enter(heap);
            // SAFETY: forwarded contract.
            let destroyed = unsafe { destroy_now_with::<O>(header) };
            if let Destroyed::Gone {
                tracked: true,
                epoch,
            } = destroyed
            {
                hooks::note_destruction(heap, epoch);
            }
        } else {
            push_to_trashcan(heap, header);
        }
    })
}

/// Postpones a destruction nested too deep. The outermost destruction (depth
/// 1) empties the trashcan when it finishes.
///
/// A waiting object leaves its generation list now: a collection run by some
/// `Drop` or finalizer before the trashcan is emptied must not find it (its
/// count is 0, so it would look like garbage and be freed twice), and
/// neither must `gc::get_objects`.
fn push_to_trashcan(heap: &Heap, header: NonNull<GcHeader>) {
    // SAFETY: the object is live (strong == 0, not destroyed yet); tracked
    // types have links, and lists hold live objects only.
    unsafe {
        if header.as_ref().is_tracked_type() {
            hooks::untrack_for_trashcan(header);
        }
    }
    let mut trashcan = heap.trashcan.get();
    if trashcan.is_null() {
        trashcan = Box::into_raw(Box::default());
        heap.trashcan.set(trashcan);
    }
    // SAFETY: a non-null trashcan pointer comes from `Box::into_raw` above
    // and is freed only by `empty_trashcan`, which also nulls it.
    unsafe { (*trashcan).push(header) }
}

/// Destroys everything in the trashcan (including what those destructions
/// put there in turn), then frees it. Every queued object is destroyed even
/// if some `Drop` panics; the first panic continues to the caller, unless
/// the thread is already unwinding from another one.
fn empty_trashcan(heap: &Heap) {
    let trashcan = heap.trashcan.get();
    let mut first_panic = None;
    // Each queued destruction runs as an outermost one would, at depth 1;
    // the depth is not lowered to 0 between them, so this does not recurse.
    heap.destroy_depth.set(1);
    // SAFETY: see `push_to_trashcan`; nested destructions push through the
    // same pointer while we pop.
    while let Some(next) = unsafe { (*trashcan).pop() } {
        // SAFETY: every queued object had strong == 0 and was queued once.
        match catch_unwind(AssertUnwindSafe(|| unsafe { destroy_now(next) })) {
            Ok(Destroyed::Gone {
                tracked: true,
                epoch,
            }) => hooks::note_destruction(heap, epoch),
            Ok(Destroyed::Gone { tracked: false, .. } | Destroyed::Resurrected) => {}
            Err(payload) => {
                keep_first(&mut first_panic, payload);
            }
        }
    }
    heap.destroy_depth.set(0);
    heap.trashcan.set(core::ptr::null_mut());
    // SAFETY: from `Box::into_raw` in `push_to_trashcan`; no pointer to it remains.
    drop(unsafe { Box::from_raw(trashcan) });
    if let Some(payload) = first_panic {
        resume_or_report(payload, "a Drop run from the trashcan");
    }
}

/// Counts one level of nested destruction; leaving the outermost level
/// empties the trashcan (also when unwinding from a panic in a `Drop`).
struct DepthGuard<'a>(&'a Heap);

impl<'a> DepthGuard<'a> {
    #[inline]
    fn enter(heap: &'a Heap) -> Self {
        heap.destroy_depth.set(heap.destroy_depth.get() + 1);
        DepthGuard(heap)
    }
}

impl Drop for DepthGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        let heap = self.0;
        let depth = heap.destroy_depth.get() - 1;
        heap.destroy_depth.set(depth);
        if depth == 0 && !heap.trashcan.get().is_null() {
            empty_trashcan(heap);
        }
    }
}

/// What [`destroy_now`] did.
pub(crate) enum Destroyed {
    /// The object's finalizer resurrected it: it was left alone.
    Resurrected,
    /// The object is destroyed. If it was `tracked` (and the collector had
    /// not counted its destruction already), it counts for
    /// `GenerationCounters::note_destruction`, with its `epoch` unless it
    /// was frozen.
    Gone { tracked: bool, epoch: Option<u32> },
}

/// Unlinks the object, drops its value (unless the collector already did) and
/// releases the implicit weak handle, even if the value's `Drop` panics.
/// Callers count destroyed tracked objects
/// (`GenerationCounters::note_destruction`).
///
/// # Safety
///
/// - `header` belongs to a live object with strong == 0 that nothing else
///   destroys, and the collector is not walking the list that holds it.
pub(crate) unsafe fn destroy_now(header: NonNull<GcHeader>) -> Destroyed {
    // SAFETY: forwarded contract.
    unsafe { destroy_now_with::<Erased>(header) }
}

/// [`destroy_now`] with the type's facts from `O`.
///
/// # Safety
///
/// - As [`destroy_now`]; `O` describes the object's type.
#[inline]
unsafe fn destroy_now_with<O: Ops>(header: NonNull<GcHeader>) -> Destroyed {
    // SAFETY: live until `release_implicit_weak` below.
    let h = unsafe { header.as_ref() };
    // SAFETY: forwarded contract.
    let finalizer_panic = match unsafe { run_finalizer::<O>(header) } {
        Finalized::Resurrected(panic) => {
            if let Some(payload) = panic {
                resume_or_report(payload, "a finalizer");
            }
            return Destroyed::Resurrected;
        }
        Finalized::Dead(panic) => panic,
    };
    let mut epoch = None;
    // Dead: the collector deleted this object's value (and counted the
    // destruction then); a handle its `Drop` moved out kept the allocation
    // until now. Counting it again would make the counters drift.
    let counted_already = h.is_dead();
    let tracked = O::tracked(h) && !counted_already;
    if O::tracked(h) {
        // SAFETY: tracked type, so it has links; its count is 0.
        epoch = unsafe { hooks::untrack_for_destruction(header) };
    }
    // Weak callbacks: after the finalizer, once the object is out of every
    // list (a collection run by a callback cannot see it), before the value
    // goes. `Weak::upgrade` already returns `None` (strong is 0).
    let mut panic = finalizer_panic;
    if h.has_weak_callbacks()
        && let Some(payload) = weakref::run_entries(weakref::take_callbacks(header))
    {
        keep_first(&mut panic, payload);
    }
    let release = ReleaseWeak::<O>(header, core::marker::PhantomData);
    if !h.is_dead() {
        // SAFETY: strong == 0, so no handle (hence no reference) reaches the
        // value, and it is initialized (not dead).
        unsafe { drop_value_keeping::<O>(header, &mut panic) }
    }
    drop(release);
    if let Some(payload) = panic {
        resume_or_report(payload, "a finalizer, weak callback or Drop");
    }
    Destroyed::Gone { tracked, epoch }
}

/// Drops the value. If a panic is pending already (`pending`, or the thread
/// is unwinding), a panic of the value's `Drop` is caught and kept with it
/// (see [`keep_first`]) rather than let out: escaping then would abort the
/// process. Otherwise it unwinds as any `Drop`'s.
///
/// # Safety
///
/// - As `Ops::drop_value`.
#[inline(always)]
unsafe fn drop_value_keeping<O: Ops>(
    header: NonNull<GcHeader>,
    pending: &mut Option<PanicPayload>,
) {
    if pending.is_none() && !std::thread::panicking() {
        // SAFETY: forwarded contract.
        unsafe { O::drop_value(header) }
    } else {
        // SAFETY: forwarded contract.
        let result = catch_unwind(AssertUnwindSafe(|| unsafe { O::drop_value(header) }));
        if let Err(payload) = result {
            keep_first(pending, payload);
        }
    }
}

/// Releases the implicit weak handle of an object whose value is being
/// dropped, on scope exit, also when the value's `Drop` unwinds.
struct ReleaseWeak<O: Ops>(NonNull<GcHeader>, core::marker::PhantomData<O>);

impl<O: Ops> Drop for ReleaseWeak<O> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: built only once the object's strong handles are gone and
        // it is out of every list; its value is dropped by the time this
        // runs.
        unsafe { release_implicit_weak_with::<O>(self.0) }
    }
}

/// What became of an object whose finalizer was due.
enum Finalized {
    /// Still unreferenced (or it had no finalizer to run): destroy it.
    Dead(Option<Box<dyn std::any::Any + Send>>),
    /// The finalizer stored a new handle to it somewhere: it lives on.
    Resurrected(Option<Box<dyn std::any::Any + Send>>),
}

/// PEP 442 on the reference-counting path: runs the object's finalizer if it
/// has one that has not run yet. For the finalizer's duration the object
/// holds one temporary strong count (so `Weak::upgrade` can resurrect it);
/// if more than that remains afterwards, the object was resurrected. A panic
/// in the finalizer is caught and handed back, to be re-raised once the
/// object is dealt with.
///
/// # Safety
///
/// - As [`destroy_now`].
unsafe fn run_finalizer<O: Ops>(header: NonNull<GcHeader>) -> Finalized {
    // SAFETY: per the contract, a live object.
    let h = unsafe { header.as_ref() };
    // SAFETY: per the contract.
    let Some(finalize) = (unsafe { O::finalizer(header) }) else {
        return Finalized::Dead(None);
    };
    if h.is_dead() || h.is_finalized() {
        return Finalized::Dead(None);
    }
    h.set_finalized();
    h.set_strong(1);
    // SAFETY: a live object with an initialized value; the temporary count
    // keeps it alive while the finalizer runs.
    let panic = catch_unwind(AssertUnwindSafe(|| unsafe { finalize(header) })).err();
    if h.dec_strong() > 0 {
        // Resurrected, perhaps only into a cycle of its own: the collector
        // must look at it again. Out of its list if it waited in the
        // trashcan: it goes back, as a young object whose count went down.
        // SAFETY: the pointer the object was destroyed through, to a live
        // object with its value intact and a count above zero.
        unsafe { hooks::relink_resurrected(header, O::tracked(h)) }
        Finalized::Resurrected(panic)
    } else {
        Finalized::Dead(panic)
    }
}

/// Gives up the weak handle that all strong handles share; frees the memory
/// when it was the last weak handle.
///
/// # Safety
///
/// - strong == 0, the value is dropped (or was never initialized), and the
///   object is in no list.
pub(crate) unsafe fn release_implicit_weak(header: NonNull<GcHeader>) {
    // SAFETY: forwarded contract.
    unsafe { release_implicit_weak_with::<Erased>(header) }
}

/// # Safety
///
/// - As [`release_implicit_weak`]; `O` describes the object's type.
#[inline]
unsafe fn release_implicit_weak_with<O: Ops>(header: NonNull<GcHeader>) {
    // SAFETY: the allocation is live until the weak count reaches 0.
    if unsafe { header.as_ref() }.dec_weak() == 0 {
        // SAFETY: no handle of either kind is left, the value is gone.
        unsafe { O::deallocate(header) }
    }
}

/// What destruction needs to know about an object's type.
pub(crate) trait Ops {
    /// Does the object have `GcLinks` (a type that may hold a `Gc`, and not
    /// untracked at birth)?
    fn tracked(header: &GcHeader) -> bool;
    /// May the value hold a `Gc` (`MAY_CONTAIN_GC`), tracked or not?
    ///
    /// # Safety
    ///
    /// - `header` is a live object's, with provenance over its allocation.
    unsafe fn may_hold_gc(header: NonNull<GcHeader>) -> bool;
    /// The type's finalizer, if it has one.
    ///
    /// # Safety
    ///
    /// - `header` is a live object's, with provenance over its allocation.
    unsafe fn finalizer(header: NonNull<GcHeader>) -> Option<unsafe fn(NonNull<GcHeader>)>;
    /// Drops the value in place.
    ///
    /// # Safety
    ///
    /// - As `VTable::drop_value`.
    unsafe fn drop_value(header: NonNull<GcHeader>);
    /// Frees the allocation.
    ///
    /// # Safety
    ///
    /// - As [`deallocate`].
    unsafe fn deallocate(header: NonNull<GcHeader>);
}

/// The type's facts read from the object's vtable.
pub(crate) struct Erased;

impl Ops for Erased {
    #[inline(always)]
    fn tracked(header: &GcHeader) -> bool {
        header.is_tracked_type()
    }
    #[inline(always)]
    unsafe fn may_hold_gc(header: NonNull<GcHeader>) -> bool {
        // SAFETY: forwarded contract.
        Erased::tracked(unsafe { header.as_ref() })
            || unsafe { crate::header::vtable(header) }.may_contain_gc
    }
    #[inline(always)]
    unsafe fn finalizer(header: NonNull<GcHeader>) -> Option<unsafe fn(NonNull<GcHeader>)> {
        // SAFETY: forwarded contract.
        unsafe { crate::header::vtable(header) }.finalize
    }
    #[inline(always)]
    unsafe fn drop_value(header: NonNull<GcHeader>) {
        // SAFETY: forwarded contract.
        unsafe { (crate::header::vtable(header).drop_value)(header) }
    }
    #[inline(always)]
    unsafe fn deallocate(header: NonNull<GcHeader>) {
        // SAFETY: forwarded contract.
        unsafe { deallocate(header) }
    }
}

/// The type's facts known at compile time: used by the vtable's `destroy`
/// entry, so that the common destruction (no finalizer, no weak callback)
/// is one indirect call with everything else inlined.
pub(crate) struct Typed<T>(core::marker::PhantomData<T>);

impl<T: Trace + 'static> Ops for Typed<T> {
    #[inline(always)]
    fn tracked(header: &GcHeader) -> bool {
        T::MAY_CONTAIN_GC && header.is_tracked_type()
    }
    #[inline(always)]
    unsafe fn may_hold_gc(_: NonNull<GcHeader>) -> bool {
        T::MAY_CONTAIN_GC
    }
    #[inline(always)]
    unsafe fn finalizer(header: NonNull<GcHeader>) -> Option<unsafe fn(NonNull<GcHeader>)> {
        if T::HAS_FINALIZER {
            // SAFETY: forwarded contract.
            unsafe { crate::header::vtable(header) }.finalize
        } else {
            None
        }
    }
    #[inline(always)]
    unsafe fn drop_value(header: NonNull<GcHeader>) {
        // SAFETY: forwarded contract; the object is a `GcBox<T>`.
        unsafe { crate::gc_box::drop_value::<T>(header) }
    }
    #[inline(always)]
    unsafe fn deallocate(header: NonNull<GcHeader>) {
        // SAFETY: forwarded contract; the object is a `GcBox<T>`.
        unsafe { crate::gc_box::deallocate_typed::<T>(header) }
    }
}
