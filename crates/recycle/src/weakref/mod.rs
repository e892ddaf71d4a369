//! Weak references with callbacks and what is built on them, after Python's
//! `weakref` module: [`WeakRef`] (`weakref.ref(obj, callback)`), the weak
//! collections [`WeakValueMap`], [`WeakKeyMap`] and [`WeakSet`], and
//! [`finalize`] (`weakref.finalize`).
//!
//! Plain weak handles without callbacks are [`Weak`].

use core::cell::RefCell;
use core::fmt;
use core::hash::{BuildHasherDefault, Hasher};
use core::ptr::NonNull;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Weak as RcWeak;

use crate::collector::PanicPayload;
use crate::handle::Gc;
use crate::header::GcHeader;
use crate::trace::{Trace, Tracer, Trust};
use crate::weak::Weak;

mod finalizer;
mod maps;
mod table;

pub use finalizer::{Finalizer, finalize};
pub use maps::{WeakKeyMap, WeakSet, WeakValueMap};

/// A weak handle whose callback runs once, when its referent dies.
///
/// Made by [`Gc::downgrade_with_callback`]. The callback runs after the
/// referent's finalizer (if any), once the referent is sure to die, whichever
/// way it dies: its last strong handle dropped, or found in a garbage cycle.
/// When several `WeakRef`s to one object have callbacks, the newest runs
/// first. By then [`WeakRef::upgrade`] returns `None`.
///
/// The callback belongs to this handle: dropping the `WeakRef` before its
/// callback runs cancels it. In particular, as in CPython, during a
/// collection a callback runs only if its `WeakRef` is not itself part of
/// the garbage (a `WeakRef` inside a garbage value dies with it): the
/// callbacks of a garbage set, and of whatever dies while it is deleted,
/// run once its values are dropped.
///
/// A callback may allocate, drop handles and call `gc::collect()` (which
/// returns 0 while a collection runs). A panic in it is caught; the other
/// callbacks still run, and the panic continues from the drop or the
/// `collect()` that killed the referent.
///
/// ```
/// use std::{cell::Cell, rc::Rc};
/// use recycle::Gc;
///
/// let died = Rc::new(Cell::new(false));
/// let flag = died.clone();
/// let obj = Gc::new(5u32);
/// let weak = Gc::downgrade_with_callback(&obj, move || flag.set(true));
/// drop(obj);
/// assert!(died.get());
/// assert!(weak.upgrade().is_none());
/// ```
pub struct WeakRef<T: ?Sized> {
    weak: Weak<T>,
    key: u64,
}

impl<T: ?Sized> WeakRef<T> {
    pub(crate) fn new(weak: Weak<T>, callback: Box<dyn FnOnce()>) -> WeakRef<T> {
        let key = register(&weak, Callback::Closure(callback));
        WeakRef { weak, key }
    }

    /// A strong handle, if the referent is alive (as [`Weak::upgrade`]).
    pub fn upgrade(&self) -> Option<Gc<T>> {
        self.weak.upgrade()
    }

    /// The plain weak handle (without the callback).
    pub fn weak(&self) -> &Weak<T> {
        &self.weak
    }

    /// Is the callback still to run (not run, not cancelled)?
    pub fn callback_pending(&self) -> bool {
        let Some(referent) = self.weak.header_ptr() else {
            return false;
        };
        REGISTRY
            .try_with(|r| {
                let r = r.borrow();
                r.pending.contains_key(&self.key)
                    || r.by_referent
                        .get(&referent)
                        .is_some_and(|entries| entries.contains(self.key))
            })
            .unwrap_or(false)
    }
}

impl<T: ?Sized> Drop for WeakRef<T> {
    /// Cancels the callback if it has not run.
    fn drop(&mut self) {
        let Some(referent) = self.weak.header_ptr() else {
            return;
        };
        // The callback is dropped after the registry borrow ends: dropping it
        // may run arbitrary code (it may own handles).
        crate::unraisable::drop_or_report(
            cancel(referent, self.key),
            "the drop of a cancelled weak callback",
        );
    }
}

/// Takes the callback of the `WeakRef` `key` to `referent` out of the
/// registry, if it is still there (not run, not cancelled). `referent` is
/// only a key: it may be freed already.
pub(crate) fn cancel(referent: NonNull<GcHeader>, key: u64) -> Option<Callback> {
    REGISTRY
        .try_with(|r| {
            let mut r = r.borrow_mut();
            let Some(entries) = r.by_referent.get_mut(&referent) else {
                // Due, and waiting for a deletion to end?
                return r.pending.remove(&key);
            };
            let Some(callback) = entries.remove(key) else {
                return r.pending.remove(&key);
            };
            if entries.is_empty() {
                r.by_referent.remove(&referent);
            }
            Some(callback)
        })
        .ok()
        .flatten()
}

impl<T: ?Sized> fmt::Debug for WeakRef<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(WeakRef)")
    }
}

/// A `WeakRef` owns no strong handle: it reports nothing. (The collector
/// does not need to know where `WeakRef`s live: the callbacks of a garbage
/// set wait until the set is deleted, and those whose `WeakRef` was part of
/// it are cancelled by its drop; see `collector::weakrefs`.) It counts as
/// possibly holding a `Gc`, like any type not known to hold none.
impl<T: ?Sized> Trace for WeakRef<T> {
    // SAFETY: `trace` reports no strong handle (its weak one is no edge for
    // any collection; a snapshot draws it).
    const TRUSTED: Option<Trust<Self>> = Some(unsafe { Trust::new_unchecked() });
    fn trace(&self, tracer: &mut Tracer) {
        self.weak().trace(tracer)
    }
}

/// Registers `callback` to run when the referent of `weak` dies; returns
/// its key (for [`cancel`]), or 0, which is no registration's, if it can
/// never run: the collector has found the referent to be garbage (this
/// runs in a `Drop` of its cycle), or the thread's registry is gone
/// (thread exit). The callback is then dropped here.
pub(crate) fn register<T: ?Sized>(weak: &Weak<T>, callback: Callback) -> u64 {
    let referent = weak
        .header_ptr()
        .expect("a Weak made from a Gc has a referent");
    // SAFETY: the weak handle keeps the allocation alive.
    let header = unsafe { referent.as_ref() };
    if header.is_dead() {
        crate::unraisable::drop_or_report(callback, "the drop of a weak callback that never ran");
        return 0;
    }
    let mut callback = Some(callback);
    let registered = REGISTRY.try_with(|r| {
        let mut r = r.borrow_mut();
        r.next_key += 1;
        let key = r.next_key;
        let callback = callback.take().expect("taken once");
        r.by_referent
            .entry(referent)
            .or_default()
            .push((key, callback));
        key
    });
    let Ok(key) = registered else {
        // Dropped where a panic of its `Drop` cannot escape a thread-local
        // destructor.
        crate::unraisable::drop_and_report(callback, "the drop of a weak callback at thread exit");
        return 0;
    };
    header.set_has_weak_callbacks();
    key
}

/// What runs when a referent dies.
pub(crate) enum Callback {
    /// A [`WeakRef`]'s closure.
    Closure(Box<dyn FnOnce()>),
    /// An entry of a weak collection, in the table behind this `rc::Weak`,
    /// under this hash: the entry leaves the table. No closure, no
    /// allocation: a weak collection's entries are many, and short-lived.
    Entry(RcWeak<dyn table::Expunge>, u64),
}

impl Callback {
    /// Runs the callback registered under `key`.
    fn call(self, key: u64) {
        match self {
            Callback::Closure(closure) => closure(),
            Callback::Entry(table, hash) => {
                if let Some(table) = table.upgrade() {
                    table.expunge(hash, key);
                }
            }
        }
    }
}

/// A registered callback and its key.
pub(crate) type Entry = (u64, Callback);

/// The callbacks registered on one referent, oldest first. Most referents
/// have one (an entry of a weak collection, say): it is kept inline.
#[derive(Default)]
pub(crate) enum Entries {
    #[default]
    Empty,
    One(Entry),
    Many(Vec<Entry>),
}

impl Entries {
    fn push(&mut self, entry: Entry) {
        *self = match core::mem::take(self) {
            Entries::Empty => Entries::One(entry),
            Entries::One(first) => Entries::Many(vec![first, entry]),
            Entries::Many(mut all) => {
                all.push(entry);
                Entries::Many(all)
            }
        };
    }

    fn contains(&self, key: u64) -> bool {
        match self {
            Entries::Empty => false,
            Entries::One((k, _)) => *k == key,
            Entries::Many(all) => all.iter().any(|(k, _)| *k == key),
        }
    }

    /// Takes out the callback of the `WeakRef` `key`, if it is here.
    fn remove(&mut self, key: u64) -> Option<Callback> {
        match self {
            Entries::One((k, _)) if *k == key => match core::mem::take(self) {
                Entries::One((_, callback)) => Some(callback),
                _ => unreachable!("matched One"),
            },
            Entries::Many(all) => {
                let index = all.iter().position(|(k, _)| *k == key)?;
                Some(all.remove(index).1)
            }
            _ => None,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        match self {
            Entries::Empty => true,
            Entries::One(_) => false,
            Entries::Many(all) => all.is_empty(),
        }
    }

    /// The callbacks in the order they run: newest first.
    pub(crate) fn newest_first(self) -> impl Iterator<Item = Entry> {
        let (one, many) = match self {
            Entries::Empty => (None, Vec::new()),
            Entries::One(entry) => (Some(entry), Vec::new()),
            Entries::Many(all) => (None, all),
        };
        one.into_iter().chain(many.into_iter().rev())
    }
}

/// Hashes the keys of the registry (addresses of objects, and counters):
/// one multiplication. SipHash's resistance to chosen keys buys nothing
/// here, where every key is an address or a number this crate made.
#[derive(Default)]
pub(crate) struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u64(u64::from(byte));
        }
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64)
    }

    #[inline]
    fn finish(&self) -> u64 {
        // The product's high half is well mixed; fold it into the low bits,
        // which pick the bucket.
        self.0 ^ (self.0 >> 32)
    }
}

/// Hashes the registry's referents, object addresses, so that objects
/// near each other in memory (made one after another, often dying one
/// after another) are filed near each other: the address itself picks
/// the bucket, and a mixed copy of it fills the top seven bits, the tag
/// the table compares first.
#[derive(Default)]
pub(crate) struct ReferentHasher(u64);

impl Hasher for ReferentHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u64(u64::from(byte));
        }
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64)
    }

    #[inline]
    fn finish(&self) -> u64 {
        const TAG_BITS: u32 = 7;
        let tag = self.0.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - TAG_BITS);
        (self.0 >> 4) & (u64::MAX >> TAG_BITS) | tag << (64 - TAG_BITS)
    }
}

struct Registry {
    next_key: u64,
    /// Callbacks by referent, oldest first.
    by_referent: HashMap<NonNull<GcHeader>, Entries, BuildHasherDefault<ReferentHasher>>,
    /// While the collector deletes a garbage set (`deferring`): the
    /// callbacks of objects that died, by key, in the order they are due.
    /// Their `WeakRef`s can still cancel them (a `WeakRef` that was part of
    /// the garbage is dropped by the deletion, and its callback never runs).
    pending: HashMap<u64, Callback, BuildHasherDefault<AddressHasher>>,
    pending_order: Vec<u64>,
    deferring: bool,
}

impl Drop for Registry {
    /// At thread exit: the callbacks are user closures, whose captures'
    /// `Drop` must not panic out of a thread-local's destructor (an abort).
    fn drop(&mut self) {
        for (_, entries) in self.by_referent.drain() {
            for entry in entries.newest_first() {
                if let (_, Callback::Entry(table, _)) = &entry
                    && let Some(table) = table.upgrade()
                {
                    // No death will be reported from now on.
                    table.orphan();
                }
                crate::unraisable::drop_and_report(
                    entry,
                    "the drop of a weak callback at thread exit",
                );
            }
        }
        for (_, callback) in self.pending.drain() {
            crate::unraisable::drop_and_report(
                callback,
                "the drop of a weak callback at thread exit",
            );
        }
    }
}

thread_local! {
    // Initialized at compile time: every access skips the lazy-init test.
    static REGISTRY: RefCell<Registry> = const {
        RefCell::new(Registry {
            next_key: 0,
            by_referent: HashMap::with_hasher(BuildHasherDefault::new()),
            pending: HashMap::with_hasher(BuildHasherDefault::new()),
            pending_order: Vec::new(),
            deferring: false,
        })
    };
}

/// The callbacks registered on `referent`, newest first, removed from the
/// registry (so each runs at most once). While the collector deletes a
/// garbage set, they wait instead (see [`defer_during_deletion`]) and this
/// returns nothing.
pub(crate) fn take_callbacks(referent: NonNull<GcHeader>) -> Entries {
    let taken = REGISTRY.try_with(|r| {
        let mut r = r.borrow_mut();
        let entries = r.by_referent.remove(&referent).unwrap_or_default();
        if r.deferring {
            Err(defer(&mut r, entries))
        } else {
            Ok(entries)
        }
    });
    match taken {
        Ok(Ok(entries)) => entries,
        Ok(Err(entries_of_collections)) => {
            detach_entries(entries_of_collections);
            Entries::Empty
        }
        Err(_) => Entries::Empty,
    }
}

/// The entries of weak collections among `entries`, to take out of their
/// tables once the registry is no longer borrowed; the other callbacks
/// wait in `pending`.
#[cold]
#[inline(never)]
fn defer(r: &mut Registry, entries: Entries) -> Vec<(u64, RcWeak<dyn table::Expunge>, u64)> {
    let mut entries_of_collections = Vec::new();
    for (key, callback) in entries.newest_first() {
        match callback {
            Callback::Entry(table, hash) => entries_of_collections.push((key, table, hash)),
            callback => {
                r.pending_order.push(key);
                r.pending.insert(key, callback);
            }
        }
    }
    entries_of_collections
}

/// While the collector deletes garbage: takes the entries of weak
/// collections whose referents died out of their tables now, so that code
/// the deletion runs (a `Drop`) finds them gone, as CPython's
/// `handle_weakrefs` removes them before it deletes anything; what they
/// hold is dropped once the deletion is over, with the other callbacks.
#[cold]
#[inline(never)]
fn detach_entries(entries: Vec<(u64, RcWeak<dyn table::Expunge>, u64)>) {
    for (key, table, hash) in entries {
        let Some(table) = table.upgrade() else {
            continue;
        };
        let mut detached = table.detach(hash, key);
        if detached.is_none() {
            continue;
        }
        let kept = REGISTRY.try_with(|r| {
            let mut r = r.borrow_mut();
            r.pending_order.push(key);
            let entry = detached.take().expect("checked above");
            // Dropping the entry, once the deletion is over.
            r.pending.insert(key, Callback::Closure(entry));
        });
        if kept.is_err() {
            crate::unraisable::drop_and_report(
                detached,
                "the drop of a weak collection's entry at thread exit",
            );
        }
    }
}

/// Starts (`true`) or ends a deletion of garbage: in between, the callbacks
/// of objects that die wait, cancellable by their `WeakRef`s, and
/// [`run_pending`] runs what is left of them once the deletion is over.
///
/// A `WeakRef` inside the garbage may be invisible to the collector (in an
/// untrusted value, or a skipped field); this is how its callback still
/// never runs (CPython's rule: a weak reference that is itself garbage does
/// not call back, bpo-38006), even when its referent dies by counting
/// while the garbage is deleted.
pub(crate) fn defer_during_deletion(on: bool) {
    let _ = REGISTRY.try_with(|r| r.borrow_mut().deferring = on);
}

/// The callbacks deferred during a deletion that no `WeakRef` cancelled,
/// in the order they became due.
pub(crate) fn take_pending() -> Vec<Entry> {
    REGISTRY
        .try_with(|r| {
            let mut r = r.borrow_mut();
            let order = core::mem::take(&mut r.pending_order);
            let mut due = Vec::new();
            for key in order {
                if let Some(callback) = r.pending.remove(&key) {
                    due.push((key, callback));
                }
            }
            due
        })
        .unwrap_or_default()
}

/// Runs a dead referent's callbacks, newest first (see [`run_callbacks`]).
/// One callback, the usual case (an entry of a weak collection), skips
/// the iterator.
#[inline]
pub(crate) fn run_entries(entries: Entries) -> Option<PanicPayload> {
    match entries {
        Entries::Empty => None,
        Entries::One((key, callback)) => {
            catch_unwind(AssertUnwindSafe(|| callback.call(key))).err()
        }
        many => run_callbacks(many.newest_first()),
    }
}

/// Runs callbacks in order (a referent's newest first), catching panics;
/// returns the first panic.
pub(crate) fn run_callbacks(callbacks: impl IntoIterator<Item = Entry>) -> Option<PanicPayload> {
    let mut first_panic = None;
    for (key, callback) in callbacks {
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| callback.call(key))) {
            crate::unraisable::keep_first(&mut first_panic, payload);
        }
    }
    first_panic
}

impl<T: ?Sized> Gc<T> {
    /// Makes a [`WeakRef`] whose `callback` runs once when this object dies
    /// (Python's `weakref.ref(obj, callback)`).
    ///
    /// # What the callback keeps alive
    ///
    /// The callback is kept by the thread's registry of callbacks until it
    /// runs or its `WeakRef` is dropped, not by the `WeakRef` itself, and a
    /// closure's captures cannot be traced: **every handle the callback
    /// captures is a root** until then. A callback that captures a `Gc` to
    /// this object, or to anything that reaches it, keeps it alive for ever
    /// (CPython, which owns the callback through the weak reference,
    /// collects such a callback with the garbage). Capture [`Weak`]
    /// handles, or plain data, instead:
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    /// use recycle::Gc;
    ///
    /// let log = Gc::new(Cell::new(0));
    /// let object = Gc::new(String::from("watched"));
    /// let log_weak = Gc::downgrade(&log); // not `log.clone()`
    /// let fired = Rc::new(Cell::new(false));
    /// let flag = fired.clone();
    /// let watch = Gc::downgrade_with_callback(&object, move || {
    ///     flag.set(true);
    ///     if let Some(log) = log_weak.upgrade() {
    ///         log.set(log.get() + 1);
    ///     }
    /// });
    /// drop(object);
    /// assert!(fired.get() && log.get() == 1 && watch.upgrade().is_none());
    /// ```
    ///
    /// [`Weak`]: crate::Weak
    pub fn downgrade_with_callback(this: &Self, callback: impl FnOnce() + 'static) -> WeakRef<T> {
        WeakRef::new(Gc::downgrade(this), Box::new(callback))
    }
}
