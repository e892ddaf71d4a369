//! What collections did: per-generation statistics (`gc.get_stats()`) and
//! the start/stop callbacks (`gc.callbacks`).

use core::cell::RefCell;
use core::time::Duration;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use super::PanicPayload;

/// Totals for the collections of one generation, as one entry of Python's
/// `gc.get_stats()` (with 3.15's `candidates` and `duration`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GenerationStats {
    /// How many collections of this generation ran.
    pub collections: u64,
    /// Objects found unreachable by those collections.
    pub collected: u64,
    /// Unreachable objects that could not be freed: still referenced after
    /// their values were dropped, which only a wrong `Trace` impl causes.
    pub uncollectable: u64,
    /// Objects those collections examined.
    pub candidates: u64,
    /// Time spent in those collections.
    pub duration: Duration,
}

impl GenerationStats {
    pub(crate) const ZERO: GenerationStats = GenerationStats {
        collections: 0,
        collected: 0,
        uncollectable: 0,
        candidates: 0,
        duration: Duration::ZERO,
    };

    pub(crate) fn add(&mut self, info: &CollectionInfo) {
        self.collections += 1;
        self.collected += info.collected as u64;
        self.uncollectable += info.uncollectable as u64;
        self.candidates += info.candidates as u64;
        self.duration += info.duration;
    }
}

/// When a collection callback is called (Python's `phase` argument).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Before the collection; the counts in the info are zero.
    Start,
    /// After the collection.
    Stop,
}

/// What one collection did (Python's `info` dict).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CollectionInfo {
    /// The oldest generation collected (0, 1 or 2).
    pub generation: usize,
    /// Unreachable objects found.
    pub collected: usize,
    /// Unreachable objects that could not be freed (see [`GenerationStats`]).
    pub uncollectable: usize,
    /// Objects examined.
    pub candidates: usize,
    /// How long the collection took.
    pub duration: Duration,
}

/// Names a registered callback, for [`gc::remove_callback`](crate::gc::remove_callback).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CallbackId(u64);

type Callback = Rc<RefCell<dyn FnMut(Phase, &CollectionInfo)>>;

struct Registry {
    next_id: u64,
    callbacks: Vec<(CallbackId, Callback)>,
}

impl Drop for Registry {
    /// At thread exit: a callback's captures are user values, whose `Drop`
    /// must not panic out of a thread-local's destructor (an abort).
    fn drop(&mut self) {
        for callback in self.callbacks.drain(..) {
            crate::unraisable::drop_and_report(
                callback,
                "the drop of a gc callback at thread exit",
            );
        }
    }
}

thread_local! {
    static CALLBACKS: RefCell<Registry> = const {
        RefCell::new(Registry { next_id: 0, callbacks: Vec::new() })
    };
}

pub(crate) fn add_callback(callback: impl FnMut(Phase, &CollectionInfo) + 'static) -> CallbackId {
    // After the registry is gone (thread exit), the callback is dropped:
    // no collection will call it.
    let mut callback: Option<Callback> = Some(Rc::new(RefCell::new(callback)));
    let id = CALLBACKS.try_with(|r| {
        let mut r = r.borrow_mut();
        let id = CallbackId(r.next_id);
        r.next_id += 1;
        r.callbacks.extend(callback.take().map(|c| (id, c)));
        id
    });
    drop(callback);
    id.unwrap_or(CallbackId(u64::MAX))
}

pub(crate) fn remove_callback(id: CallbackId) -> bool {
    let removed = CALLBACKS.try_with(|r| {
        let mut r = r.borrow_mut();
        let index = r.callbacks.iter().position(|(i, _)| *i == id)?;
        Some(r.callbacks.remove(index))
    });
    // Dropped once the registry is no longer borrowed: it may own handles,
    // and its captures' `Drop` is user code.
    let found = matches!(removed, Ok(Some(_)));
    crate::unraisable::drop_or_report(removed, "the drop of a removed gc callback");
    found
}

/// Calls every callback registered when the call starts, oldest first.
/// Callbacks may add or remove callbacks; a panic in one is caught, the
/// others still run, and the first panic is returned.
pub(crate) fn run_callbacks(phase: Phase, info: &CollectionInfo) -> Option<PanicPayload> {
    let snapshot: Vec<Callback> = CALLBACKS
        .try_with(|r| {
            r.borrow()
                .callbacks
                .iter()
                .map(|(_, c)| c.clone())
                .collect()
        })
        .unwrap_or_default();
    let mut first_panic = None;
    for callback in snapshot {
        // A callback already running is one whose own code led here; it is
        // not called again (nested collections return at once anyway).
        if let Ok(mut f) = callback.try_borrow_mut()
            && let Err(payload) = catch_unwind(AssertUnwindSafe(|| f(phase, info)))
        {
            crate::unraisable::keep_first(&mut first_panic, payload);
        }
        // The last handle to a callback that removed itself: dropping it
        // runs the `Drop` of what it captured.
        crate::unraisable::guarded(&mut first_panic, move || drop(callback));
    }
    first_panic
}
