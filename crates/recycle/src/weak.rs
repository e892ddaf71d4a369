//! [`Weak<T>`]: a handle that does not keep the value alive.

use core::fmt;
use core::marker::PhantomData;
use core::mem::ManuallyDrop;
use core::ptr::{self, NonNull};

use crate::gc_box::{BoxPtr, GcBox, deallocate};
use crate::handle::Gc;
use crate::header::GcHeader;
use crate::trace::{Trace, Tracer, Trust};

/// A weak handle: it does not keep the value alive, and [`upgrade`] returns a
/// [`Gc`] only while the value is.
///
/// As [`std::rc::Weak`]. In addition, `upgrade` returns `None` from the moment
/// the cycle collector starts destroying the value, so a `Drop` impl can
/// never reach a value that is being destroyed through a `Weak`.
///
/// [`upgrade`]: Weak::upgrade
pub struct Weak<T: ?Sized> {
    /// Points to a `GcBox`, or has address `usize::MAX` for [`Weak::new`]
    /// (which allocates nothing; no box has that address since a box is
    /// aligned to at least 8).
    ptr: BoxPtr<T>,
    /// The handle owns a `T` (for the drop check).
    _owns: PhantomData<T>,
    /// Neither `Send` nor `Sync`: the counts are not atomic, and the heap
    /// is the thread's own. And *invariant* in `T` (unlike `Rc`): an object
    /// can be found again with the type it was made with
    /// (`gc::get_objects`, [`GcAny::downcast`](crate::GcAny::downcast)),
    /// so no handle may see it as a supertype and write through it (a
    /// `for<'a> fn(&'a str)` seen as a `fn(&'static str)`, a
    /// `Vec<&'static str>` as a `Vec<&'a str>`).
    _thread_bound: PhantomData<*mut Weak<T>>,
}

impl<T> Weak<T> {
    /// A `Weak` that points to nothing; `upgrade` always returns `None`.
    pub const fn new() -> Weak<T> {
        Weak {
            // SAFETY: usize::MAX is not zero.
            ptr: BoxPtr::new(unsafe {
                NonNull::new_unchecked(ptr::without_provenance_mut(usize::MAX))
            }),
            _owns: PhantomData,
            _thread_bound: PhantomData,
        }
    }
}

impl<T: ?Sized> Weak<T> {
    #[inline]
    pub(crate) fn from_inner(ptr: NonNull<GcBox<T>>) -> Self {
        Weak {
            ptr: BoxPtr::new(ptr),
            _owns: PhantomData,
            _thread_bound: PhantomData,
        }
    }

    /// The referent's header pointer (with the allocation's provenance), or
    /// `None` for `Weak::new()`.
    pub(crate) fn header_ptr(&self) -> Option<NonNull<GcHeader>> {
        if self.ptr.cast::<u8>().addr().get() == usize::MAX {
            None
        } else {
            Some(self.ptr.cast())
        }
    }

    fn header(&self) -> Option<&GcHeader> {
        if self.ptr.cast::<u8>().addr().get() == usize::MAX {
            None
        } else {
            // SAFETY: a weak handle keeps the allocation (not the value) alive.
            Some(unsafe { &(*self.ptr.as_ptr()).header })
        }
    }

    /// A strong handle, if the value is still alive.
    ///
    /// Returns `None` once the last strong handle is gone, and for every
    /// object of a garbage cycle from the moment the collector has decided it
    /// is garbage (as CPython clears the weak references to all garbage
    /// before destroying any of it), except while the garbage's finalizers
    /// run: they may resurrect it this way.
    pub fn upgrade(&self) -> Option<Gc<T>> {
        let header = self.header()?;
        if header.strong() == 0 || header.is_dead() {
            return None;
        }
        // Built before the count is taken, as in `Gc::clone` (the
        // increment's `asm!` block would make the compiler read the pointer
        // again), and not dropped until it holds its count.
        let strong = ManuallyDrop::new(Gc::from_inner(*self.ptr));
        strong.header().inc_strong();
        Some(ManuallyDrop::into_inner(strong))
    }

    /// The number of strong handles (0 once the value is gone).
    pub fn strong_count(&self) -> usize {
        match self.header() {
            Some(h) if !h.is_dead() => h.strong() as usize,
            _ => 0,
        }
    }

    /// The number of `Weak` handles, or 0 when no strong handle remains (as
    /// [`std::rc::Weak::weak_count`]).
    pub fn weak_count(&self) -> usize {
        match self.header() {
            Some(h) if h.strong() > 0 => h.weak() as usize - 1,
            _ => 0,
        }
    }

    /// Do both point to the same allocation (or both to none)?
    pub fn ptr_eq(&self, other: &Self) -> bool {
        ptr::addr_eq(self.ptr.as_ptr(), other.ptr.as_ptr())
    }
}

impl<T: ?Sized> Weak<T> {
    /// Consumes the handle without decrementing the count. Used by
    /// [`coerce_weak!`](crate::coerce_weak); not meant to be called directly.
    #[doc(hidden)]
    pub fn __into_box_ptr(this: Self) -> *mut GcBox<T> {
        ManuallyDrop::new(this).ptr.as_ptr()
    }

    /// Rebuilds a handle from [`Weak::__into_box_ptr`], possibly unsized.
    ///
    /// # Safety
    ///
    /// - `ptr` was returned by `__into_box_ptr`, converted only by an
    ///   unsizing coercion, and is used for one handle only.
    #[doc(hidden)]
    pub unsafe fn __from_box_ptr(ptr: *mut GcBox<T>) -> Self {
        // SAFETY: per the contract, the non-null pointer of a `Weak` (to a
        // live box, or the address `usize::MAX` of `Weak::new`).
        Weak::from_inner(unsafe { NonNull::new_unchecked(ptr) })
    }
}

/// Converts a `Weak<T>` into a `Weak<U>` where `T: Unsize<U>`, typically a
/// trait object, as [`coerce_gc!`](crate::coerce_gc) does for `Gc`.
///
/// ```
/// use std::fmt::Display;
/// use recycle::{Gc, Weak, coerce_weak};
///
/// let number = Gc::new(42);
/// let weak: Weak<dyn Display> = coerce_weak!(Gc::downgrade(&number));
/// assert_eq!(weak.upgrade().unwrap().to_string(), "42");
/// let empty: Weak<dyn Display> = coerce_weak!(Weak::<u8>::new());
/// assert!(empty.upgrade().is_none());
/// ```
#[macro_export]
macro_rules! coerce_weak {
    ($weak:expr) => {{
        let raw = $crate::Weak::__into_box_ptr($weak);
        // SAFETY: `raw` comes from `__into_box_ptr` and reaches
        // `__from_box_ptr` through an implicit coercion only, of a `*mut`,
        // which is invariant: an unsizing, never a subtyping.
        unsafe { $crate::Weak::__from_box_ptr(raw) }
    }};
}

impl<T: ?Sized> Clone for Weak<T> {
    fn clone(&self) -> Self {
        if let Some(h) = self.header() {
            h.inc_weak();
        }
        Weak::from_inner(*self.ptr)
    }
}

impl<T: ?Sized> Drop for Weak<T> {
    fn drop(&mut self) {
        let Some(h) = self.header() else { return };
        if h.dec_weak() == 0 {
            // SAFETY: the implicit weak handle of the strong ones is gone too,
            // so the value was dropped (or never built) and the object is in
            // no list; this was the last handle of any kind.
            unsafe { deallocate(self.ptr.cast()) }
        }
    }
}

impl<T> Default for Weak<T> {
    fn default() -> Self {
        Weak::new()
    }
}

impl<T: ?Sized> fmt::Debug for Weak<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(Weak)")
    }
}

/// A weak handle owns nothing the collector must see. (A snapshot sees it:
/// [`gc::snapshot`](crate::gc::snapshot) draws the weak edges.)
impl<T: ?Sized> Trace for Weak<T> {
    const MAY_CONTAIN_GC: bool = false;
    // SAFETY: `trace` reports no strong handle (`visit_weak` is no edge for
    // any collection).
    const TRUSTED: Option<Trust<Self>> = Some(unsafe { Trust::new_unchecked() });
    fn trace(&self, tracer: &mut Tracer) {
        if let Some(target) = self.header_ptr() {
            tracer.visit_weak(target);
        }
    }
}
