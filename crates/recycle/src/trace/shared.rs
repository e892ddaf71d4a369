//! `Trace` for std's shared-ownership and synchronising types, where what a
//! value *owns* needs a decision (see "Handles behind shared ownership" in
//! the [`Trace`] docs).

use core::cell::OnceCell;
use core::pin::Pin;
use std::borrow::{Cow, ToOwned};
use std::rc::{Rc, Weak as RcWeak};
use std::sync::{Arc, Mutex, OnceLock, RwLock, TryLockError, Weak as ArcWeak};

use super::{Trace, Tracer, Trust, trusted_if};

/// `Rc`, `Arc` and their weak handles: what they point to is shared, so no
/// one of its owners may report it (two owners reporting one handle would
/// subtract it twice). A `Gc` behind an `Rc` or an `Arc` is therefore a
/// root: it counts as referenced from outside the heap, and a cycle that
/// runs through an `Rc` is never collected, as with `Rc` alone.
macro_rules! shared_pointer_trace {
    ($($name:ident),* $(,)?) => {$(
        impl<T: ?Sized> Trace for $name<T> {
            const MAY_CONTAIN_GC: bool = false;
            // SAFETY: `trace` below reports nothing.
            const TRUSTED: Option<Trust<Self>> = unsafe { trusted_if(true) };
            #[inline(always)]
            fn trace(&self, _: &mut Tracer) {}
        }
    )*};
}

shared_pointer_trace!(Rc, Arc, RcWeak, ArcWeak);

/// A `Mutex` owns its value. One that is locked while the collector runs
/// (by this thread, since a `Gc` never leaves it) cannot be looked into,
/// and its owner is treated as reachable for that collection, as with a
/// borrowed `RefCell`. A poisoned one is traced all the same: its value is
/// still there, and still owns its handles.
impl<T: Trace + ?Sized> Trace for Mutex<T> {
    const MAY_CONTAIN_GC: bool = T::MAY_CONTAIN_GC;
    // SAFETY: `trace` below calls the `trace` of the value it owns once, and
    // nothing else (the lock it takes is released before it returns, and no
    // other code can run meanwhile); trusted only if the value's type is.
    const TRUSTED: Option<Trust<Self>> = unsafe { trusted_if(T::TRUSTED.is_some()) };
    fn trace(&self, tracer: &mut Tracer) {
        match self.try_lock() {
            Ok(value) => value.trace(tracer),
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner().trace(tracer),
            Err(TryLockError::WouldBlock) => tracer.keep_alive(),
        }
    }
}

/// As for [`Mutex`]: a `RwLock` write-locked while the collector runs keeps
/// its owner alive for that collection.
impl<T: Trace + ?Sized> Trace for RwLock<T> {
    const MAY_CONTAIN_GC: bool = T::MAY_CONTAIN_GC;
    // SAFETY: as for `Mutex`: the read lock is released before `trace`
    // returns; trusted only if the value's type is.
    const TRUSTED: Option<Trust<Self>> = unsafe { trusted_if(T::TRUSTED.is_some()) };
    fn trace(&self, tracer: &mut Tracer) {
        match self.try_read() {
            Ok(value) => value.trace(tracer),
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner().trace(tracer),
            Err(TryLockError::WouldBlock) => tracer.keep_alive(),
        }
    }
}

/// A `OnceCell` owns its value once it is set; it can be set through a
/// shared reference, so its handles can change (`FIXED_EDGES` is `false`
/// when it may hold a `Gc`).
impl<T: Trace> Trace for OnceCell<T> {
    const MAY_CONTAIN_GC: bool = T::MAY_CONTAIN_GC;
    // SAFETY: `trace` below calls the `trace` of the value it owns once, and
    // nothing else; trusted only if the value's type is.
    const TRUSTED: Option<Trust<Self>> = unsafe { trusted_if(T::TRUSTED.is_some()) };
    fn trace(&self, tracer: &mut Tracer) {
        if let Some(value) = self.get() {
            value.trace(tracer)
        }
    }
}

/// As for [`OnceCell`].
impl<T: Trace> Trace for OnceLock<T> {
    const MAY_CONTAIN_GC: bool = T::MAY_CONTAIN_GC;
    // SAFETY: as for `OnceCell`.
    const TRUSTED: Option<Trust<Self>> = unsafe { trusted_if(T::TRUSTED.is_some()) };
    fn trace(&self, tracer: &mut Tracer) {
        if let Some(value) = self.get() {
            value.trace(tracer)
        }
    }
}

/// A `Cow` owns its value only when it is `Owned`; a borrowed one reports
/// nothing.
impl<B: ToOwned + ?Sized> Trace for Cow<'_, B>
where
    B::Owned: Trace,
{
    const MAY_CONTAIN_GC: bool = <B::Owned as Trace>::MAY_CONTAIN_GC;
    const FIXED_EDGES: bool = <B::Owned as Trace>::FIXED_EDGES;
    // SAFETY: `trace` below calls the `trace` of the value it owns once, and
    // nothing else; trusted only if that value's type is.
    const TRUSTED: Option<Trust<Self>> =
        unsafe { trusted_if(<B::Owned as Trace>::TRUSTED.is_some()) };
    fn trace(&self, tracer: &mut Tracer) {
        if let Cow::Owned(value) = self {
            value.trace(tracer)
        }
    }
}

/// A pinned box owns its value, as a box does. (`Pin<Gc<T>>`, made by
/// `Gc::pin`, has its impl beside `Gc`'s.)
impl<T: Trace + ?Sized> Trace for Pin<Box<T>> {
    const MAY_CONTAIN_GC: bool = T::MAY_CONTAIN_GC;
    const FIXED_EDGES: bool = T::FIXED_EDGES;
    // SAFETY: `trace` below calls the `trace` of the value it owns once, and
    // nothing else; trusted only if the value's type is.
    const TRUSTED: Option<Trust<Self>> = unsafe { trusted_if(T::TRUSTED.is_some()) };
    fn trace(&self, tracer: &mut Tracer) {
        self.as_ref().get_ref().trace(tracer)
    }
}
