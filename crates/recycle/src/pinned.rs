//! [`Gc::pin`]: an object whose value never moves.
//!
//! `Pin<Gc<T>>` promises that the value stays where it is until it is
//! dropped. Safe code can move a value out of its object in two ways:
//! through a `Gc<T>` it owns ([`Gc::try_unwrap`] and what builds on it) or
//! through `&mut Gc<T>` ([`Gc::get_mut`], [`Gc::make_mut`]). A `Pin<Gc<T>>`
//! gives neither, as `Pin<Rc<T>>` does not. But unlike an `Rc`, any object
//! can be found again through the heap: `gc::get_objects` or
//! `gc::get_referents` give a [`GcAny`](crate::GcAny), and
//! [`GcAny::downcast`](crate::GcAny::downcast) makes a `Gc<T>` of it if the
//! object's type is `T`.
//!
//! So a pinned object is not made as a `T`: it is made as a `Pinned<T>`, a
//! transparent wrapper of `T` that no code outside this module can name.
//! Its `TypeId` is not `T`'s, so no downcast finds it, and the handle that
//! `Gc::pin` returns is the only way in. The wrapper has `T`'s layout, so
//! that handle points to it as a `GcBox<T>`; everything the collector does
//! with the object (trace, finalize, drop in place, free) goes through the
//! wrapper's vtable, which forwards to `T`.

use core::pin::Pin;
use core::ptr::NonNull;

use crate::gc_box::GcBox;
use crate::handle::Gc;
use crate::trace::{Trace, Tracer, Trust, trusted_if};

/// A `T` made by [`Gc::pin`]: the type the object is known by to
/// `TypeId`, so that `GcAny::downcast::<T>` never finds it.
#[repr(transparent)]
struct Pinned<T>(T);

impl<T: Trace> Trace for Pinned<T> {
    const MAY_CONTAIN_GC: bool = T::MAY_CONTAIN_GC;
    const FIXED_EDGES: bool = T::FIXED_EDGES;
    const HAS_FINALIZER: bool = T::HAS_FINALIZER;
    // SAFETY: `trace` calls the `trace` of the one part it owns, once, and
    // nothing else; trusted only if that part's type is.
    const TRUSTED: Option<Trust<Self>> = unsafe { trusted_if(T::TRUSTED.is_some()) };
    #[inline]
    fn trace(&self, tracer: &mut Tracer) {
        self.0.trace(tracer)
    }
    fn finalize(&self) {
        self.0.finalize()
    }
}

impl<T: Trace + 'static> Gc<T> {
    /// Moves `value` into a new object and pins it there: the value will
    /// not move again until it is dropped (as
    /// [`Rc::pin`](std::rc::Rc::pin)).
    ///
    /// The object is an ordinary one for the collector: counted, traced,
    /// collected in cycles, finalized. It is only hidden from
    /// [`GcAny::downcast`](crate::GcAny::downcast): a `GcAny` to it from
    /// `gc::get_objects` tells its type's name (`recycle::pinned::Pinned<T>`), but no downcast gives a
    /// `Gc<T>` of it, which could move the value out.
    ///
    /// ```
    /// use std::marker::PhantomPinned;
    /// use std::pin::Pin;
    /// use recycle::{Gc, GcAny, Trace};
    ///
    /// #[derive(Trace)]
    /// struct Fixed {
    ///     n: u32,
    ///     #[trace(skip)]
    ///     _pinned: PhantomPinned,
    /// }
    /// let fixed: Pin<Gc<Fixed>> = Gc::pin(Fixed { n: 1, _pinned: PhantomPinned });
    /// assert_eq!(fixed.n, 1);
    /// let clone = fixed.clone();
    /// assert!(std::ptr::eq(&*fixed, &*clone));
    /// ```
    #[track_caller]
    pub fn pin(value: T) -> Pin<Gc<T>> {
        let pinned = Gc::new(Pinned(value));
        let boxed = Gc::__into_box_ptr(pinned).cast::<GcBox<T>>();
        // SAFETY: `GcBox` is `repr(C)` and `Pinned<T>` is a transparent
        // `T`, so the object is a `GcBox<T>`; the strong count `pinned`
        // held passes to the new handle.
        let gc = Gc::from_inner(unsafe { NonNull::new_unchecked(boxed) });
        // SAFETY: the value never moves: this handle and its clones are the
        // only handles to the object that give a `T`, and `Pin` keeps them
        // from `try_unwrap`, `get_mut` and `make_mut`; no downcast reaches
        // the object (its type is `Pinned<T>`, which no one else can name);
        // the collector drops the value in place.
        unsafe { Pin::new_unchecked(gc) }
    }
}

/// A pinned handle is a handle: it reports its object, as a `Gc` does.
impl<T: ?Sized> Trace for Pin<Gc<T>> {
    // SAFETY: `trace` reports exactly this handle, once; it is owned by
    // whatever owns this `Pin<Gc<T>>`.
    const TRUSTED: Option<Trust<Self>> = Some(unsafe { Trust::new_unchecked() });
    /// A handle always points to the same object.
    const FIXED_EDGES: bool = true;
    #[inline]
    fn trace(&self, tracer: &mut Tracer) {
        // SAFETY: `Pin` is `repr(transparent)` over its pointer; reading
        // the handle through a shared reference moves nothing.
        let gc = unsafe { &*(self as *const Pin<Gc<T>>).cast::<Gc<T>>() };
        gc.trace(tracer)
    }
}
