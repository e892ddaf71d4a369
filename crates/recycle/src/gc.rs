//! The collector's controls, after Python's `gc` module.
//!
//! Each function has the semantics of its Python namesake, spelled the Rust
//! way: generations are `0..=2`, statistics are structs, and a bad
//! generation number is an [`InvalidGeneration`] error.
//!
//! # Generations and automatic collection
//!
//! Tracked objects start in generation 0; each collection moves its
//! survivors one generation up (at most to 2). Allocating tracked objects
//! counts towards `threshold0` (default 2000, as CPython 3.13+): when the net
//! number of tracked objects allocated since the last collection exceeds it,
//! the allocation runs a collection, of generation 0 or, every `threshold1`
//! (10) such collections, of generation 1, and so on up to generation 2,
//! which is collected only when the objects that reached it since the last
//! full collection are more than 25% of those there after it, which keeps the
//! total work linear in the number of allocations. A program that builds no
//! cycles pays only the counting.
//!
//! # Adaptive pacing
//!
//! On top of those rules, automatic collections learn from what they found
//! ([`set_adaptive_pacing`], on by default): after a young collection that
//! found no garbage, the next ones skip their examination for a while
//! (promoting their objects unexamined, which forgets nothing); after an
//! incremental cycle of generation 2 that found none, generation 2 must grow
//! more before the next one. Until a cycle finds garbage (on a fresh thread
//! too), a cycle's steps spend at most one unit of work (a member traced or
//! an edge followed) per four allocations, so a program that builds a large
//! structure pays a bounded share of its time for cycles that find nothing,
//! whatever the structure's size. Finding garbage restores the schedule
//! above. A program that builds then pays for a few small collections
//! instead of examining every object about five times; one that makes
//! cyclic garbage is collected as before, once the first cycle found some.
//! Turn it off to get CPython's schedule exactly.
//!
//! # Incremental collection of generation 2
//!
//! An *automatic* collection of generation 2 does not stop the program for
//! the whole heap: it starts a cycle that examines generation 2 in steps,
//! one with each automatic collection that follows, each handling an eighth
//! of the generation (at least 4,096 objects, at most 32,768; less, or
//! none, while adaptive pacing keeps the cycle at its slow rate), while the
//! program runs in between. Its last step collects what the earlier ones
//! found unreachable, counting that set again from scratch, so nothing the
//! program reached meanwhile is freed. Callbacks and [`get_stats`] see each
//! step as a collection of generation 2 (its `candidates` are the objects it
//! handled). This follows the incremental collector of CPython 3.14 in
//! spirit, not in detail. [`collect`] and [`collect_generation`]`(2)` are
//! always complete, stop-the-world collections, which end a running cycle
//! first; [`freeze`] and [`unfreeze`] end it too.
//!
//! Each thread has its own heap and its own settings; these functions act on
//! the calling thread's.
//!
//! # From inside a collection
//!
//! Every function here may be called from any code a collection runs: a
//! `Drop`, a finalizer, a weak callback, a gc callback, or a `trace` run by
//! [`get_referents`], [`get_referrers`] or [`snapshot`]. [`collect`] and
//! [`collect_generation`] then return 0; [`freeze`] and [`unfreeze`] are
//! deferred until the collection ends; the others act at once (the
//! collector's lists are consistent whenever such code runs).

use core::fmt;

use crate::collector::introspect;
use crate::heap::{NUM_GENERATIONS, with_heap};
use crate::{Gc, GcAny};

pub use crate::collector::debug::DebugFlags;
pub use crate::collector::stats::{CallbackId, CollectionInfo, GenerationStats, Phase};
pub use crate::snapshot::{HeapSnapshot, ObjectInfo};

/// A generation number outside `0..=2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidGeneration(pub usize);

impl fmt::Display for InvalidGeneration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "generation {} does not exist: recycle has generations 0, 1 and 2",
            self.0
        )
    }
}

impl std::error::Error for InvalidGeneration {}

fn check(generation: usize) -> Result<usize, InvalidGeneration> {
    if generation < NUM_GENERATIONS {
        Ok(generation)
    } else {
        Err(InvalidGeneration(generation))
    }
}

/// Runs a full collection of this thread's heap and returns the number of
/// unreachable objects it found, as Python's `gc.collect()` does.
///
/// Every object that no handle outside the heap can reach (directly or
/// through other objects) is freed, and each value's `Drop` runs exactly
/// once. Objects of other threads are not affected: each thread has its own
/// heap. This works while automatic collection is disabled.
///
/// Called while a collection is already running on this thread (from a
/// `Drop`, a `Trace` impl or a callback), it does nothing and returns 0.
///
/// # Panics
///
/// If a `Drop` of a collected value, a `trace` or a callback panics, the
/// panic continues from here once the heap is consistent again; a panic in
/// `Drop` does not stop the rest of the garbage from being freed.
///
/// ```
/// use std::cell::RefCell;
/// use recycle::{Gc, Trace, gc};
///
/// #[derive(Trace)]
/// struct Node {
///     next: RefCell<Option<Gc<Node>>>,
/// }
///
/// let a = Gc::new(Node { next: RefCell::new(None) });
/// let b = Gc::new(Node { next: RefCell::new(Some(a.clone())) });
/// *a.next.borrow_mut() = Some(b.clone()); // a -> b -> a
/// drop((a, b));                           // counting alone cannot free them
/// assert_eq!(gc::collect(), 2);
/// ```
pub fn collect() -> usize {
    crate::collector::collect(NUM_GENERATIONS - 1)
}

/// Collects generations `0..=generation` (Python's `gc.collect(generation)`)
/// and returns the number of unreachable objects found among them. Called
/// while a collection is already running on this thread, it does nothing
/// and returns `Ok(0)`, as [`collect`] does.
///
/// ```
/// use recycle::gc;
///
/// assert_eq!(gc::collect_generation(0), Ok(0));
/// assert!(gc::collect_generation(3).is_err());
/// ```
pub fn collect_generation(generation: usize) -> Result<usize, InvalidGeneration> {
    Ok(crate::collector::collect(check(generation)?))
}

/// Turns automatic collection on (the default).
pub fn enable() {
    with_heap(|heap| heap.counters.set_enabled(true))
}

/// Turns automatic collection off. Reference counting and explicit
/// [`collect`] calls go on working.
pub fn disable() {
    with_heap(|heap| heap.counters.set_enabled(false))
}

/// Runs the automatic collection that [`Gc::new`](crate::Gc::new) would
/// have run by now, if one is due, even while automatic collection is off;
/// returns whether one ran. Inside a collection it does nothing.
///
/// With [`disable`], this collects only at the points the program chooses,
/// on the schedule automatic collection would follow (thresholds and
/// pacing), so that `Drop` code of garbage never runs inside an unrelated
/// `Gc::new` (a `Drop` that borrows a `RefCell` the caller holds, say):
///
/// ```
/// use std::cell::RefCell;
/// use recycle::{Gc, Trace, gc};
///
/// #[derive(Trace)]
/// struct Node {
///     next: RefCell<Option<Gc<Node>>>,
/// }
///
/// gc::set_threshold(100, 10, 10); // small, so that the example stays short
/// gc::disable();
/// for _ in 0..300 {
///     let node = Gc::new(Node { next: RefCell::new(None) });
///     *node.next.borrow_mut() = Some(node.clone()); // garbage, once dropped
///     // ... work that must not be interrupted by `Drop` code ...
/// }
/// // A safe point: between two units of work.
/// assert!(gc::collect_if_due());
/// assert!(!gc::collect_if_due(), "nothing is due right after");
/// gc::enable();
/// ```
pub fn collect_if_due() -> bool {
    crate::collector::collect_if_due()
}

/// Is automatic collection on?
pub fn is_enabled() -> bool {
    with_heap(|heap| heap.counters.is_enabled())
}

/// Turns adaptive pacing on (the default) or off.
///
/// With it on, automatic collections learn from what they found: after an
/// automatic young collection that found no garbage, the next ones skip
/// their examination (1, 3, 7, ... up to 63 in a row, their objects
/// promoted unexamined); after an incremental cycle of generation 2 that
/// found none, generation 2 must grow 16 times more than CPython's 25%
/// before the next one (up to 65 times its size, but by at most about a
/// million objects, or four times its size on a larger heap), and until a
/// cycle finds garbage (on a fresh thread too) cycles go at a bounded rate:
/// one unit of work, a member traced or an edge followed, per four
/// allocations. One that finds garbage restores CPython's schedule. A
/// program that only builds then pays for a few small collections; one
/// that makes cyclic garbage is collected as promptly as before, once a
/// cycle has found some (garbage that reached generation 2 first waits for
/// a slow cycle: about eight allocations per object and edge in
/// generation 2).
///
/// With it off, automatic collection follows the thresholds exactly as
/// CPython does ([`set_threshold`]). Explicit collections are never paced.
///
/// ```
/// use recycle::gc;
///
/// gc::set_adaptive_pacing(false); // CPython's schedule, exactly
/// assert!(!gc::adaptive_pacing());
/// gc::set_adaptive_pacing(true);
/// ```
pub fn set_adaptive_pacing(on: bool) {
    with_heap(|heap| heap.counters.pacer.set_adaptive(on))
}

/// Is adaptive pacing on? (See [`set_adaptive_pacing`].)
pub fn adaptive_pacing() -> bool {
    with_heap(|heap| heap.counters.pacer.is_adaptive())
}

/// The collection counters `(count0, count1, count2)`: net tracked
/// allocations since the last collection of generation 0, collections of
/// generation 0 since the last of generation 1, and of generation 1 since
/// the last of generation 2.
pub fn get_count() -> (usize, usize, usize) {
    let [a, b, c] = with_heap(|heap| heap.counters.counts());
    (a, b, c)
}

/// The thresholds `(threshold0, threshold1, threshold2)`; default
/// `(2000, 10, 10)`.
pub fn get_threshold() -> (usize, usize, usize) {
    let [a, b, c] = with_heap(|heap| heap.counters.thresholds());
    (a, b, c)
}

/// Sets the thresholds. `threshold0 == 0` turns automatic collection off.
///
/// ```
/// use recycle::gc;
///
/// let old = gc::get_threshold();
/// gc::set_threshold(100, 5, 5);
/// assert_eq!(gc::get_threshold(), (100, 5, 5));
/// gc::set_threshold(old.0, old.1, old.2);
/// ```
pub fn set_threshold(threshold0: usize, threshold1: usize, threshold2: usize) {
    with_heap(|heap| {
        heap.counters
            .set_thresholds([threshold0, threshold1, threshold2])
    })
}

/// Totals per generation since the thread started.
pub fn get_stats() -> [GenerationStats; NUM_GENERATIONS] {
    with_heap(|heap| {
        [
            heap.stats[0].get(),
            heap.stats[1].get(),
            heap.stats[2].get(),
        ]
    })
}

/// Registers `callback` to be called before ([`Phase::Start`]) and after
/// ([`Phase::Stop`]) every collection on this thread, automatic or not, as
/// Python's `gc.callbacks`. Callbacks run oldest first. A callback may
/// allocate and drop `Gc` values; `collect()` called from it returns 0. If it
/// panics, the other callbacks still run and the panic continues from the
/// call that collected.
///
/// ```
/// use std::{cell::Cell, rc::Rc};
/// use recycle::gc::{self, Phase};
///
/// let stops = Rc::new(Cell::new(0));
/// let seen = stops.clone();
/// let id = gc::add_callback(move |phase, info| {
///     if phase == Phase::Stop {
///         seen.set(seen.get() + 1);
///         assert_eq!(info.generation, 2);
///     }
/// });
/// gc::collect();
/// assert_eq!(stops.get(), 1);
/// assert!(gc::remove_callback(id));
/// ```
pub fn add_callback(callback: impl FnMut(Phase, &CollectionInfo) + 'static) -> CallbackId {
    crate::collector::stats::add_callback(callback)
}

/// Unregisters a callback; `false` if it was not registered.
pub fn remove_callback(id: CallbackId) -> bool {
    crate::collector::stats::remove_callback(id)
}

/// Is this object tracked by the collector, as Python's `gc.is_tracked`?
///
/// Objects whose type can never hold a `Gc` (`Gc<String>`, `Gc<u64>`, …) are
/// not: the collector never looks at them. Neither is a value the collector
/// has already destroyed, nor one whose value [`Gc::get_mut`] lent out,
/// until it comes back (see there).
///
/// ```
/// use std::cell::RefCell;
/// use recycle::{Gc, gc};
///
/// assert!(!gc::is_tracked(&Gc::new(String::from("an atom"))));
/// assert!(gc::is_tracked(&Gc::new(RefCell::new(Vec::<Gc<u8>>::new()))));
/// ```
pub fn is_tracked<T: ?Sized>(object: &Gc<T>) -> bool {
    object.is_tracked()
}

/// Has the object's finalizer run (Python's `gc.is_finalized`)?
pub fn is_finalized<T: ?Sized>(object: &Gc<T>) -> bool {
    object.header().is_finalized()
}

/// Every object the collector tracks, or those of one generation (Python's
/// `gc.get_objects`). Frozen objects are not included. Each returned handle
/// keeps its object alive.
///
/// ```
/// use std::cell::RefCell;
/// use recycle::{Gc, gc};
///
/// let list = Gc::new(RefCell::new(Vec::<Gc<u8>>::new()));
/// let all = gc::get_objects(None).unwrap();
/// assert!(all.iter().any(|o| o.downcast::<RefCell<Vec<Gc<u8>>>>().is_some_and(|l| Gc::ptr_eq(&l, &list))));
/// assert!(gc::get_objects(Some(5)).is_err());
/// ```
pub fn get_objects(generation: Option<usize>) -> Result<Vec<GcAny>, InvalidGeneration> {
    let generation = generation.map(check).transpose()?;
    Ok(with_heap(|heap| match generation {
        Some(g) => introspect::objects(&heap.lists_of(g).collect::<Vec<_>>()),
        None => introspect::objects(&heap.all_lists().collect::<Vec<_>>()),
    }))
}

/// The objects `object`'s value reports through `Trace` (Python's
/// `gc.get_referents`), tracked or not.
pub fn get_referents(object: &GcAny) -> Vec<GcAny> {
    introspect::referents(object)
}

/// Every tracked object whose value refers to one of `objects` (Python's
/// `gc.get_referrers`). It examines the whole heap: use it for debugging.
///
/// ```
/// use std::cell::RefCell;
/// use recycle::{Gc, GcAny, gc};
///
/// let leaf = Gc::new(5u32);
/// let holder = Gc::new(RefCell::new(vec![leaf.clone()]));
/// let found = gc::get_referrers(&[GcAny::from(&leaf)]);
/// assert_eq!(found, [GcAny::from(&holder)]);
/// ```
pub fn get_referrers(objects: &[GcAny]) -> Vec<GcAny> {
    introspect::referrers(objects)
}

/// Moves every tracked object into a permanent generation that collections
/// ignore (Python's `gc.freeze`): for a server that forks after building its
/// data, so that the children do not touch (and copy) those pages.
///
/// Called while a collection runs (from a finalizer, a weak callback, a
/// `Drop` of garbage or a gc callback), it is deferred: it happens when the
/// collection ends, before `collect()` returns.
pub fn freeze() {
    introspect::freeze()
}

/// Moves the frozen objects back into the oldest generation. Called while a
/// collection runs, it is deferred as [`freeze`] is.
pub fn unfreeze() {
    introspect::unfreeze()
}

/// Sets this thread's hook for *unraisable* panics (CPython's
/// `sys.unraisablehook`), and returns the previous one.
///
/// A panic in a finalizer, a weak callback or a `Drop` that recycle runs
/// continues to the caller once recycle has finished what it was doing,
/// unless the thread is already unwinding from another panic (the
/// destruction ran in a `Drop` called during unwinding): a second panic
/// there would abort the process. recycle hands it to this hook instead,
/// and drops it. Without a hook, it is logged through the `log` crate
/// (target `recycle::unraisable`, level `error`). A hook that panics is
/// logged the same way.
///
/// ```
/// use std::{cell::RefCell, rc::Rc};
/// use recycle::{Gc, gc};
///
/// let seen = Rc::new(RefCell::new(Vec::new()));
/// let log = seen.clone();
/// gc::set_unraisable_hook(Some(Box::new(move |u: &recycle::Unraisable<'_>| {
///     log.borrow_mut().push(u.message().unwrap_or("").to_owned());
/// })));
///
/// struct Bomb;
/// impl Drop for Bomb {
///     fn drop(&mut self) {
///         // Dropped while the thread unwinds: the callback's panic cannot
///         // continue.
///         let watched = Gc::new(1u8);
///         let _watch = Gc::downgrade_with_callback(&watched, || panic!("callback"));
///         drop(watched);
///     }
/// }
/// let result = std::panic::catch_unwind(|| {
///     let _bomb = Bomb;
///     panic!("first");
/// });
/// assert!(result.is_err());
/// assert_eq!(*seen.borrow(), ["callback"]);
/// gc::set_unraisable_hook(None);
/// ```
#[allow(clippy::type_complexity)]
pub fn set_unraisable_hook(
    hook: Option<Box<dyn Fn(&crate::Unraisable<'_>)>>,
) -> Option<std::rc::Rc<dyn Fn(&crate::Unraisable<'_>)>> {
    crate::unraisable::set_hook(hook.map(std::rc::Rc::from))
}

/// How many objects are frozen.
pub fn get_freeze_count() -> usize {
    with_heap(|heap| heap.permanent.len())
}

/// Sets the debugging flags (Python's `gc.set_debug`); see [`DebugFlags`].
///
/// ```
/// use recycle::gc::{self, DebugFlags};
///
/// gc::set_debug(DebugFlags::STATS | DebugFlags::COLLECTABLE);
/// assert_eq!(gc::get_debug(), DebugFlags::STATS | DebugFlags::COLLECTABLE);
/// gc::set_debug(DebugFlags::empty());
/// ```
pub fn set_debug(flags: DebugFlags) {
    with_heap(|heap| heap.debug.set(flags.bits()))
}

/// The debugging flags in effect.
pub fn get_debug() -> DebugFlags {
    with_heap(|heap| heap.debug_flags())
}

/// What collections kept alive under [`DebugFlags::SAVEALL`] (Python's
/// `gc.garbage`), oldest first. The objects stay alive, intact, until
/// [`take_garbage`] hands them over.
pub fn garbage() -> Vec<GcAny> {
    crate::collector::debug::garbage()
}

/// Empties [`garbage`] and returns what it held (Python's `gc.garbage.clear()`,
/// keeping the objects for the caller to drop).
pub fn take_garbage() -> Vec<GcAny> {
    crate::collector::debug::take_garbage()
}

/// The object graph of the calling thread's heap: every tracked object (and
/// every untracked one they refer to) with its type, counts and generation,
/// the edges between them, and the cycles, ready for
/// [`HeapSnapshot::to_dot`] and [`HeapSnapshot::to_json`].
///
/// To capture garbage before it is freed, collect with
/// [`DebugFlags::SAVEALL`]: the unreachable objects stay alive in
/// [`garbage`], and the snapshot marks them.
///
/// ```
/// use std::cell::RefCell;
/// use recycle::{Gc, Trace, gc};
///
/// #[derive(Trace)]
/// struct Node {
///     next: RefCell<Option<Gc<Node>>>,
/// }
///
/// let a = Gc::new(Node { next: RefCell::new(None) });
/// let b = Gc::new(Node { next: RefCell::new(Some(a.clone())) });
/// *a.next.borrow_mut() = Some(b.clone());
///
/// let snapshot = gc::snapshot();
/// let ia = snapshot.index_of(&a.clone().into()).unwrap();
/// assert_eq!(snapshot.objects[ia].strong, 2); // `a` and b's field
/// assert_eq!(snapshot.cycles.len(), 1);
/// assert!(snapshot.to_dot().contains(" -> "));
/// # drop((a, b)); gc::collect();
/// ```
pub fn snapshot() -> HeapSnapshot {
    crate::snapshot::take(|_| None)
}

/// [`snapshot`], with a caption for each object from `label` (which may
/// downcast the handle to read the value).
///
/// ```
/// use recycle::{Gc, GcAny, gc};
///
/// let answer = Gc::new(std::cell::RefCell::new(vec![Gc::new(42u8)]));
/// let snapshot = gc::snapshot_with(|o: &GcAny| o.downcast::<u8>().map(|n| format!("the number {n}")));
/// assert!(snapshot.objects.iter().any(|o| o.label.as_deref() == Some("the number 42")));
/// # drop(answer);
/// ```
pub fn snapshot_with(label: impl FnMut(&GcAny) -> Option<String>) -> HeapSnapshot {
    crate::snapshot::take(label)
}
