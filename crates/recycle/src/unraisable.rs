//! Panics that cannot continue: CPython's `sys.unraisablehook`.
//!
//! User code runs inside destructions and collections (finalizers, weak
//! callbacks, `Drop`s). recycle catches a panic there, finishes what it was
//! doing, and then lets the panic continue to the caller. That is not
//! possible when the thread is already unwinding from another panic (the
//! destruction ran inside a `Drop` called during unwinding): a second panic
//! escaping a destructor aborts the process. Such a panic is *unraisable*:
//! it goes to the hook instead ([`gc::set_unraisable_hook`]), which logs it
//! through the `log` crate by default, and is dropped.
//!
//! [`gc::set_unraisable_hook`]: crate::gc::set_unraisable_hook

use core::cell::RefCell;
use core::fmt;
use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::rc::Rc;

use crate::collector::PanicPayload;

/// A panic that could not continue, as [`gc::set_unraisable_hook`]'s hook
/// receives it (CPython's `UnraisableHookArgs`).
///
/// [`gc::set_unraisable_hook`]: crate::gc::set_unraisable_hook
pub struct Unraisable<'a> {
    payload: &'a (dyn Any + Send),
    context: &'static str,
}

impl Unraisable<'_> {
    /// The panic's payload, as `std::panic::catch_unwind` returns it.
    pub fn payload(&self) -> &(dyn Any + Send) {
        self.payload
    }

    /// The panic's message, when the payload is a string (as `panic!`
    /// makes it).
    pub fn message(&self) -> Option<&str> {
        self.payload
            .downcast_ref::<&'static str>()
            .copied()
            .or_else(|| self.payload.downcast_ref::<String>().map(String::as_str))
    }

    /// What raised it: "a finalizer", "a weak callback", "a Drop run from
    /// the trashcan", ...
    pub fn context(&self) -> &'static str {
        self.context
    }
}

impl fmt::Debug for Unraisable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unraisable")
            .field("context", &self.context)
            .field("message", &self.message())
            .finish()
    }
}

type Hook = Rc<dyn Fn(&Unraisable<'_>)>;

/// The hook, dropped at thread exit without letting a panic of its
/// captures' `Drop` out (that would abort the process).
struct HookSlot(RefCell<Option<Hook>>);

impl Drop for HookSlot {
    fn drop(&mut self) {
        if let Some(hook) = self.0.get_mut().take()
            && let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(hook)))
        {
            drop_payload(payload);
        }
    }
}

thread_local! {
    static HOOK: HookSlot = const { HookSlot(RefCell::new(None)) };
}

/// Sets this thread's hook for unraisable panics; returns the previous one.
pub(crate) fn set_hook(hook: Option<Hook>) -> Option<Hook> {
    HOOK.try_with(|h| h.0.replace(hook)).ok().flatten()
}

/// Lets a panic caught in user code continue to the caller, unless the
/// thread is already unwinding: then it is reported and dropped.
pub(crate) fn resume_or_report(payload: PanicPayload, context: &'static str) {
    if std::thread::panicking() {
        report(payload, context);
    } else {
        resume_unwind(payload);
    }
}

/// Keeps the first of several panics caught in one operation: `payload`
/// becomes `first` if there is none yet, and is dropped otherwise, without
/// letting a panic from its own `Drop` escape (that would abort the process
/// while the thread unwinds).
pub(crate) fn keep_first(first: &mut Option<PanicPayload>, payload: PanicPayload) {
    if first.is_none() {
        *first = Some(payload);
    } else {
        drop_payload(payload);
    }
}

/// Runs `f`, user code the crate calls on its own account (a `log` call,
/// which runs the program's logger; the drop of a value the crate kept),
/// and keeps a panic of it with `first` rather than let it out: a panic
/// escaping there could leave the collector's state behind, or abort the
/// process while the thread unwinds.
pub(crate) fn guarded(first: &mut Option<PanicPayload>, f: impl FnOnce()) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(f)) {
        keep_first(first, payload);
    }
}

/// Drops `value` (user code: its `Drop`), reporting a panic of it when the
/// thread already unwinds and letting it continue otherwise.
pub(crate) fn drop_or_report<T>(value: T, context: &'static str) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(value))) {
        resume_or_report(payload, context);
    }
}

/// Drops `value` where no panic may escape (a thread-local's destructor):
/// a panic of its `Drop` is reported.
pub(crate) fn drop_and_report<T>(value: T, context: &'static str) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(value))) {
        report(payload, context);
    }
}

/// Drops a panic payload; one whose `Drop` panics in turn is logged, and
/// that second payload leaked.
fn drop_payload(payload: PanicPayload) {
    if !drop_nested(payload) {
        log_quietly(
            || log::error!(target: "recycle::unraisable", "a panic payload panicked when dropped"),
        );
    }
}

/// Drops a panic payload whose `Drop` may panic, and the payload of that
/// panic in turn, and so on; after a few, the last one is leaked, and this
/// returns `false`. Never panics.
fn drop_nested(payload: PanicPayload) -> bool {
    let mut current = payload;
    for _ in 0..8 {
        match catch_unwind(AssertUnwindSafe(move || drop(current))) {
            Ok(()) => return true,
            Err(next) => current = next,
        }
    }
    core::mem::forget(current);
    false
}

/// Hands a panic that cannot continue to the hook (or logs it), then drops
/// it. Never panics: a panicking hook is logged in turn, and a payload
/// whose own `Drop` panics is leaked.
pub(crate) fn report(payload: PanicPayload, context: &'static str) {
    let unraisable = Unraisable {
        payload: &*payload,
        context,
    };
    let hook = HOOK.try_with(|h| h.0.borrow().clone()).ok().flatten();
    let logged = match &hook {
        Some(hook) => match catch_unwind(AssertUnwindSafe(|| hook(&unraisable))) {
            Ok(()) => true,
            Err(hook_panic) => {
                drop_payload(hook_panic);
                false
            }
        },
        None => false,
    };
    // The hook may have replaced itself: this may be the last handle to it,
    // and dropping it runs the `Drop` of what it captured.
    if let Err(again) = catch_unwind(AssertUnwindSafe(move || drop(hook))) {
        drop_payload(again);
    }
    if !logged {
        log_quietly(|| {
            log::error!(
                target: "recycle::unraisable",
                "panic in {context} while the thread was already panicking: {}",
                unraisable.message().unwrap_or("(not a string)")
            )
        });
    }
    drop_payload(payload);
}

/// A `log` call that cannot panic: the logger is the program's code, and a
/// panic of it here (reporting a panic that cannot continue) would have
/// nowhere to go. Its payload is dropped (see [`drop_nested`]).
fn log_quietly(f: impl FnOnce()) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(f)) {
        drop_nested(payload);
    }
}
