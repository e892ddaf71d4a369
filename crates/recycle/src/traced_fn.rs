//! [`TracedFn`]: a callback that stores the handles it captures where the
//! collector can see them.

use core::any::type_name;
use core::fmt;

use crate::trace::{Trace, Tracer, Trust};

/// A callback together with the handles it uses, traced: an event
/// listener, a bound method, a continuation.
///
/// A closure cannot be traced: nothing tells the collector which of its
/// captures are `Gc` handles, so a `Box<dyn Fn()>` that captures a handle
/// to its own owner makes a cycle that is never collected. A `TracedFn`
/// splits the closure in two:
///
/// - the **captures**, a value of any [`Trace`] type (a `Gc`, a tuple of
///   them, a derived struct), which the collector traces as it traces any
///   field;
/// - the **code**, a closure that gets the captures by reference and the
///   call's arguments. It must be `Copy`, which a closure is when it
///   captures nothing but `Copy` values: since a `Gc` is not `Copy`, no
///   handle can hide in it.
///
/// ```
/// use std::cell::{Cell, RefCell};
/// use recycle::{Gc, Trace, TracedFn, gc};
///
/// #[derive(Trace)]
/// struct Button {
///     clicks: Cell<u32>,
///     listeners: RefCell<Vec<TracedFn<u32>>>,
/// }
///
/// let button = Gc::new(Button { clicks: Cell::new(0), listeners: RefCell::default() });
/// // The listener captures the button it listens to: a cycle.
/// let listener = TracedFn::new(button.clone(), |button: &Gc<Button>, times: u32| {
///     button.clicks.set(button.clicks.get() + times);
/// });
/// button.listeners.borrow_mut().push(listener);
/// for listener in button.listeners.borrow().iter() {
///     listener.call(2);
/// }
/// assert_eq!(button.clicks.get(), 2);
///
/// drop(button);
/// assert_eq!(gc::collect(), 1); // the button, with its listener
/// ```
///
/// Several arguments travel as a tuple (`TracedFn<(u32, u32), bool>`). The
/// captures' `Trace` impl decides what the collector sees, as for a field:
/// if it is not trusted (see [`Trace`]), the captures are opaque and what
/// they hold stays alive.
pub struct TracedFn<Args, R = ()> {
    callable: Box<dyn Callable<Args, R>>,
}

/// The captures and the code, behind one vtable.
trait Callable<Args, R> {
    fn call(&self, args: Args) -> R;
    fn trace_captures(&self, tracer: &mut Tracer);
    fn captures_type(&self) -> &'static str;
}

struct WithCaptures<C, F> {
    captures: C,
    code: F,
}

impl<C: Trace, F: Fn(&C, Args) -> R, Args, R> Callable<Args, R> for WithCaptures<C, F> {
    fn call(&self, args: Args) -> R {
        (self.code)(&self.captures, args)
    }

    fn trace_captures(&self, tracer: &mut Tracer) {
        // Only a trusted `trace` may run here: `TracedFn`'s own impl is
        // trusted whatever it holds, so untrusted captures report nothing
        // (and what they hold counts as referenced from outside).
        if C::TRUSTED.is_some() {
            self.captures.trace(tracer)
        }
    }

    fn captures_type(&self) -> &'static str {
        type_name::<C>()
    }
}

impl<Args, R> TracedFn<Args, R> {
    /// A callback that runs `code` with `captures` and its arguments.
    pub fn new<C, F>(captures: C, code: F) -> Self
    where
        C: Trace + 'static,
        F: Fn(&C, Args) -> R + Copy + 'static,
        Args: 'static,
        R: 'static,
    {
        TracedFn {
            callable: Box::new(WithCaptures { captures, code }),
        }
    }

    /// Runs the callback.
    pub fn call(&self, args: Args) -> R {
        self.callable.call(args)
    }
}

impl<Args, R> fmt::Debug for TracedFn<Args, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TracedFn(captures: {})", self.callable.captures_type())
    }
}

/// A `TracedFn` owns its captures, and reports what they hold (when their
/// `Trace` is trusted; see [`TracedFn`]).
impl<Args, R> Trace for TracedFn<Args, R> {
    // SAFETY: `trace` below calls the `trace` of the captures it owns once,
    // and only when that `trace` is trusted; otherwise it reports nothing.
    const TRUSTED: Option<Trust<Self>> = Some(unsafe { Trust::new_unchecked() });
    fn trace(&self, tracer: &mut Tracer) {
        self.callable.trace_captures(tracer)
    }
}
