//! Where `Gc` memory was allocated: Python's `tracemalloc` for recycle.
//!
//! Once [`start`] is called, every `Gc` allocation the calling thread makes
//! is recorded with its size, its type and the source line of the
//! [`Gc::new`](crate::Gc::new) (or [`Gc::new_cyclic`](crate::Gc::new_cyclic))
//! call that made it, and forgotten again when it is freed.
//! [`take_snapshot`] copies the live records; a [`Snapshot`] groups them by
//! file, line or type ([`Snapshot::statistics`]) and tells what grew between
//! two snapshots ([`Snapshot::compare_to`]), the usual way to find a leak.
//!
//! ```
//! use recycle::{Gc, tracemalloc};
//! use recycle::tracemalloc::KeyType;
//!
//! tracemalloc::start();
//! let before = tracemalloc::take_snapshot();
//! let kept: Vec<Gc<[u64; 4]>> = (0..100).map(|_| Gc::new([0; 4])).collect();
//! let after = tracemalloc::take_snapshot();
//!
//! let growth = after.compare_to(&before, KeyType::Line);
//! println!("{}", growth[0]); // "src/main.rs:6: size=4800 B (+4800 B), count=100 (+100), average=48 B"
//! assert_eq!(growth[0].count_diff, 100);
//! assert_eq!(growth[0].key.line(), Some(line!() - 6));
//! tracemalloc::stop();
//! # drop(kept);
//! ```
//!
//! # Differences from Python
//!
//! - Tracing is per thread, like the heap: [`start`] traces the calling
//!   thread's allocations, and the other functions report on them.
//! - A record holds one frame, the caller of `Gc::new` (found through
//!   `#[track_caller]`), and the allocated type's name, which Python cannot
//!   know; [`KeyType::TypeName`] groups by it.
//! - `Gc::new` passed as a function value (`iter.map(Gc::new)`) records the
//!   library code that calls it, not your line: write a closure
//!   (`iter.map(|x| Gc::new(x))`) where the line matters.
//! - Sizes are those of whole allocations: the object header plus the value
//!   (the value's own heap buffers, such as a `Vec`'s, are not `Gc`
//!   allocations and are not traced).
//!
//! # Cost
//!
//! While no thread traces, each allocation and each free tests one global
//! flag: a single predictable branch.

use core::cell::RefCell;
use core::panic::Location;
use core::sync::atomic::{AtomicUsize, Ordering};
use std::collections::HashMap;

mod snapshot;

pub use snapshot::{Allocation, GroupKey, KeyType, Snapshot, Statistic, StatisticDiff};

use crate::Gc;

/// How many threads trace now. Allocation and free look only at this while it
/// is zero.
static TRACING_THREADS: AtomicUsize = AtomicUsize::new(0);

/// What is recorded for one live allocation.
#[derive(Clone, Copy)]
struct Record {
    size: usize,
    site: &'static Location<'static>,
    type_name: &'static str,
}

/// The calling thread's tracing state, present while it traces.
struct Tracer {
    /// Live traced allocations by address.
    records: HashMap<usize, Record>,
    /// Bytes in `records`.
    current: usize,
    /// The most `current` has been since `start` or `reset_peak`.
    peak: usize,
}

impl Tracer {
    fn new() -> Self {
        TRACING_THREADS.fetch_add(1, Ordering::Relaxed);
        Tracer {
            records: HashMap::new(),
            current: 0,
            peak: 0,
        }
    }
}

impl Drop for Tracer {
    fn drop(&mut self) {
        TRACING_THREADS.fetch_sub(1, Ordering::Relaxed);
    }
}

thread_local! {
    static TRACER: RefCell<Option<Tracer>> = const { RefCell::new(None) };
}

/// Is some thread tracing? The one branch an allocation pays while none is.
#[inline(always)]
pub(crate) fn any_thread_tracing() -> bool {
    TRACING_THREADS.load(Ordering::Relaxed) != 0
}

/// Records an allocation, if the calling thread traces.
#[cold]
#[inline(never)]
pub(crate) fn on_allocate(
    address: usize,
    size: usize,
    type_name: &'static str,
    site: &'static Location<'static>,
) {
    // `try_with`: allocations made while thread-locals are torn down go
    // unrecorded.
    let _ = TRACER.try_with(|tracer| {
        if let Some(tracer) = tracer.borrow_mut().as_mut() {
            let record = Record {
                size,
                site,
                type_name,
            };
            if let Some(old) = tracer.records.insert(address, record) {
                // Cannot happen (the old block was freed first), but keep the
                // totals honest if it does.
                tracer.current -= old.size;
            }
            tracer.current += size;
            tracer.peak = tracer.peak.max(tracer.current);
        }
    });
}

/// Forgets a freed allocation, if the calling thread traces.
#[cold]
#[inline(never)]
pub(crate) fn on_free(address: usize) {
    let _ = TRACER.try_with(|tracer| {
        if let Some(tracer) = tracer.borrow_mut().as_mut()
            && let Some(record) = tracer.records.remove(&address)
        {
            tracer.current -= record.size;
        }
    });
}

/// Starts tracing the calling thread's `Gc` allocations (Python's
/// `tracemalloc.start()`). Allocations made before are not traced. Does
/// nothing if tracing already.
pub fn start() {
    // `try_with`: from a thread-local's destructor, after this thread's
    // tracer is gone, there is nothing to start (and a panic there would
    // abort the process).
    let _ = TRACER.try_with(|tracer| {
        let mut tracer = tracer.borrow_mut();
        if tracer.is_none() {
            *tracer = Some(Tracer::new());
        }
    });
}

/// Stops tracing and forgets every record (Python's `tracemalloc.stop()`).
pub fn stop() {
    let old = TRACER
        .try_with(|tracer| tracer.borrow_mut().take())
        .ok()
        .flatten();
    drop(old);
}

/// Is the calling thread tracing?
pub fn is_tracing() -> bool {
    TRACER
        .try_with(|tracer| tracer.borrow().is_some())
        .unwrap_or(false)
}

/// Runs `f` on the tracer, or returns `default` when not tracing.
fn with_tracer<R>(default: R, f: impl FnOnce(&mut Tracer) -> R) -> R {
    // After the thread's tracer is gone (thread exit), as if not tracing.
    match TRACER.try_with(|tracer| tracer.borrow_mut().as_mut().map(f)) {
        Ok(Some(result)) => result,
        _ => default,
    }
}

/// `(current, peak)`: bytes in traced allocations now, and the most there
/// have been since [`start`] or [`reset_peak`]. `(0, 0)` when not tracing.
///
/// ```
/// use recycle::{Gc, tracemalloc};
///
/// tracemalloc::start();
/// let big = Gc::new([0u8; 1000]);
/// let (current, peak) = tracemalloc::get_traced_memory();
/// assert!(current >= 1000 && peak >= current);
/// drop(big);
/// assert_eq!(tracemalloc::get_traced_memory().0, 0);
/// tracemalloc::stop();
/// ```
pub fn get_traced_memory() -> (usize, usize) {
    with_tracer((0, 0), |t| (t.current, t.peak))
}

/// Sets the peak of [`get_traced_memory`] to the current size.
pub fn reset_peak() {
    with_tracer((), |t| t.peak = t.current);
}

/// Forgets every record and sets both sizes to zero, but keeps tracing
/// (Python's `tracemalloc.clear_traces()`).
pub fn clear_traces() {
    with_tracer((), |t| {
        t.records.clear();
        t.current = 0;
        t.peak = 0;
    });
}

/// Bytes the tracer itself uses for its records (Python's
/// `tracemalloc.get_tracemalloc_memory()`), approximately.
pub fn get_tracemalloc_memory() -> usize {
    with_tracer(0, |t| {
        t.records.capacity() * (size_of::<usize>() + size_of::<Record>() + 1)
    })
}

/// Where `gc`'s object was allocated, if that was traced (Python's
/// `tracemalloc.get_object_traceback()`).
///
/// ```
/// use recycle::{Gc, tracemalloc};
///
/// tracemalloc::start();
/// let x = Gc::new(1);
/// assert_eq!(tracemalloc::get_object_traceback(&x).unwrap().line(), line!() - 1);
/// tracemalloc::stop();
/// ```
pub fn get_object_traceback<T: ?Sized>(gc: &Gc<T>) -> Option<&'static Location<'static>> {
    // SAFETY: `gc` keeps its allocation.
    let address = unsafe { crate::gc_box::allocation_address(gc.header_ptr()) };
    with_tracer(None, |t| t.records.get(&address).map(|r| r.site))
}

/// A copy of the live records (Python's `tracemalloc.take_snapshot()`).
/// Empty when not tracing.
pub fn take_snapshot() -> Snapshot {
    let traces = with_tracer(Vec::new(), |t| {
        t.records
            .values()
            .map(|r| Allocation {
                size: r.size,
                location: r.site,
                type_name: r.type_name,
            })
            .collect()
    });
    Snapshot::new(traces)
}
