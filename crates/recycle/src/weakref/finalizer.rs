//! [`finalize`]: Python's `weakref.finalize`.

use core::cell::RefCell;
use core::fmt;
use std::rc::Rc;

use super::WeakRef;
use crate::handle::Gc;

/// Registers `callback` to run when `object` dies, or earlier if
/// [`Finalizer::call`] is used, at most once either way (Python's
/// `weakref.finalize(obj, func)`).
///
/// Unlike a [`WeakRef`], the registration stays alive by itself: dropping
/// the returned [`Finalizer`] does not cancel it (use
/// [`Finalizer::detach`]). The callback must not own a `Gc` to `object`,
/// or the object can never die.
///
/// ```
/// use std::{cell::Cell, rc::Rc};
/// use recycle::{Gc, weakref::finalize};
///
/// let closed = Rc::new(Cell::new(false));
/// let flag = closed.clone();
/// let file = Gc::new(String::from("data.txt"));
/// let f = finalize(&file, move || flag.set(true));
/// assert!(f.alive());
/// drop(file);
/// assert!(closed.get());
/// assert!(!f.alive());
/// ```
pub fn finalize<T: ?Sized + 'static, F: FnOnce() + 'static>(
    object: &Gc<T>,
    callback: F,
) -> Finalizer<T, F> {
    let inner = Rc::new(Inner {
        callback: RefCell::new(Some(callback)),
        watch: RefCell::new(None),
    });
    // The registry entry (the weak callback) owns the state until it runs or
    // is detached, as CPython's `finalize._registry` does.
    let owned = inner.clone();
    let watch = Gc::downgrade_with_callback(object, move || {
        owned.fire();
    });
    *inner.watch.borrow_mut() = Some(watch);
    Finalizer { inner }
}

/// The handle [`finalize`] returns. Cloning it gives another handle to the
/// same registration.
pub struct Finalizer<T: ?Sized, F> {
    inner: Rc<Inner<T, F>>,
}

struct Inner<T: ?Sized, F> {
    callback: RefCell<Option<F>>,
    watch: RefCell<Option<WeakRef<T>>>,
}

impl<T: ?Sized, F: FnOnce()> Inner<T, F> {
    /// Disarms: takes the callback and the weak handle, if still armed.
    fn disarm(&self) -> Option<(F, WeakRef<T>)> {
        let callback = self.callback.borrow_mut().take()?;
        let watch = self.watch.borrow_mut().take()?;
        Some((callback, watch))
    }

    fn fire(&self) -> bool {
        match self.disarm() {
            Some((callback, watch)) => {
                // Dropping the WeakRef cancels the callback that calls us, if
                // it is not the one running.
                drop(watch);
                callback();
                true
            }
            None => false,
        }
    }
}

impl<T: ?Sized, F: FnOnce()> Finalizer<T, F> {
    /// Is the callback still to run (not run, not detached)?
    pub fn alive(&self) -> bool {
        self.inner.callback.borrow().is_some()
    }

    /// Runs the callback now, if it has not run and is not detached; returns
    /// whether it ran. It will not run again when the object dies.
    pub fn call(&self) -> bool {
        self.inner.fire()
    }

    /// Disarms the finalizer and returns the object (if alive) and the
    /// callback; `None` if it already ran or was detached.
    pub fn detach(&self) -> Option<(Gc<T>, F)> {
        let (callback, watch) = self.inner.disarm()?;
        let object = watch.upgrade();
        drop(watch);
        object.map(|o| (o, callback))
    }

    /// The object, if the finalizer is still alive.
    pub fn peek(&self) -> Option<Gc<T>> {
        if !self.alive() {
            return None;
        }
        self.inner
            .watch
            .borrow()
            .as_ref()
            .and_then(WeakRef::upgrade)
    }
}

impl<T: ?Sized, F> Clone for Finalizer<T, F> {
    fn clone(&self) -> Self {
        Finalizer {
            inner: self.inner.clone(),
        }
    }
}

impl<T: ?Sized, F> fmt::Debug for Finalizer<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let alive = self.inner.callback.borrow().is_some();
        f.debug_struct("Finalizer").field("alive", &alive).finish()
    }
}
