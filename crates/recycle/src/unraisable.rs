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

thread_local! {
    static HOOK: RefCell<Option<Hook>> = const { RefCell::new(None) };
}

/// Sets this thread's hook for unraisable panics; returns the previous one.
pub(crate) fn set_hook(hook: Option<Hook>) -> Option<Hook> {
    HOOK.try_with(|h| h.replace(hook)).ok().flatten()
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

/// Drops a panic payload; one whose `Drop` panics in turn is logged, and
/// that second payload leaked.
fn drop_payload(payload: PanicPayload) {
    if let Err(again) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        core::mem::forget(again);
        log::error!(target: "recycle::unraisable", "a panic payload panicked when dropped");
    }
}

/// Hands a panic that cannot continue to the hook (or logs it), then drops
/// it. Never panics: a panicking hook is logged in turn, and a payload
/// whose own `Drop` panics is leaked.
pub(crate) fn report(payload: PanicPayload, context: &'static str) {
    let unraisable = Unraisable {
        payload: &*payload,
        context,
    };
    let hook = HOOK.try_with(|h| h.borrow().clone()).ok().flatten();
    let logged = match hook {
        Some(hook) => match catch_unwind(AssertUnwindSafe(|| hook(&unraisable))) {
            Ok(()) => true,
            Err(hook_panic) => {
                drop_payload(hook_panic);
                false
            }
        },
        None => false,
    };
    if !logged {
        log::error!(
            target: "recycle::unraisable",
            "panic in {context} while the thread was already panicking: {}",
            unraisable.message().unwrap_or("(not a string)")
        );
    }
    drop_payload(payload);
}
