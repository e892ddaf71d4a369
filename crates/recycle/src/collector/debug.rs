//! Debugging aids (Python's `gc.set_debug` flags): reports through the `log`
//! crate, under the target `recycle::gc`, and `gc::garbage()` for SAVEALL.

use core::cell::RefCell;
use core::ptr::NonNull;

use crate::any::GcAny;
use crate::header::GcHeader;

bitflags::bitflags! {
    /// What a collection reports, and whether it frees its garbage (Python's
    /// `gc.DEBUG_*`). Set with [`gc::set_debug`](crate::gc::set_debug).
    ///
    /// Reports go through the [`log`](https://docs.rs/log) crate with the
    /// target `recycle::gc`: install any logger to see them.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct DebugFlags: u32 {
        /// Log each collection: the generation, the objects in each
        /// generation, and what it found and how long it took (`info`).
        const STATS = 1;
        /// Log every unreachable object found (`info`).
        const COLLECTABLE = 2;
        /// Log every object that could not be freed (`warn`).
        const UNCOLLECTABLE = 4;
        /// Free nothing: keep every unreachable object alive in
        /// [`gc::garbage`](crate::gc::garbage) instead, for inspection.
        const SAVEALL = 32;
        /// `COLLECTABLE | UNCOLLECTABLE | SAVEALL`, to find leaks.
        const LEAK = Self::COLLECTABLE.bits() | Self::UNCOLLECTABLE.bits() | Self::SAVEALL.bits();
    }
}

/// The log target of every report.
pub(crate) const TARGET: &str = "recycle::gc";

/// `<type at address>`, as Python prints an object.
pub(crate) fn describe(header: NonNull<GcHeader>) -> String {
    // SAFETY: the collector only describes live objects of its lists.
    let name = (unsafe { crate::header::vtable(header) }.type_name)();
    format!("<{name} at {header:p}>")
}

/// Python's `gc.garbage`. At thread exit its objects are let go one by
/// one, a panic of a `Drop` that runs then being reported, not let out of
/// the thread-local's destructor (an abort).
struct Garbage(RefCell<Vec<GcAny>>);

impl Drop for Garbage {
    fn drop(&mut self) {
        for object in self.0.get_mut().drain(..) {
            crate::unraisable::drop_and_report(object, "a Drop at thread exit");
        }
    }
}

thread_local! {
    /// Python's `gc.garbage`: what SAVEALL kept.
    static GARBAGE: Garbage = const { Garbage(RefCell::new(Vec::new())) };
}

pub(crate) fn save(object: GcAny) {
    // After the thread's `gc.garbage` is gone (thread exit), the object is
    // kept alive all the same (its handle is leaked), as SAVEALL promises.
    let mut object = Some(object);
    let _ = GARBAGE.try_with(|g| g.0.borrow_mut().extend(object.take()));
    core::mem::forget(object);
}

pub(crate) fn garbage() -> Vec<GcAny> {
    GARBAGE
        .try_with(|g| g.0.borrow().clone())
        .unwrap_or_default()
}

pub(crate) fn take_garbage() -> Vec<GcAny> {
    GARBAGE
        .try_with(|g| core::mem::take(&mut *g.0.borrow_mut()))
        .unwrap_or_default()
}
