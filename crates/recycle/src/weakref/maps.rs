//! The weak collections: [`WeakValueMap`], [`WeakKeyMap`], [`WeakSet`]
//! (Python's `WeakValueDictionary`, `WeakKeyDictionary`, `WeakSet`).
//!
//! Each keeps its table behind an `Rc<RefCell<..>>` that the `WeakRef`
//! callbacks of its entries can reach: an entry goes away the moment its
//! referent dies (by counting or in a collection), not at the next access.
//! Values taken out of a table are dropped only after the table's borrow
//! ends, so `Drop` code that uses the same collection is fine. Iterators walk
//! a snapshot of the keys and look each one up when reached: an entry whose
//! referent dies during the iteration is skipped, and no borrow is held
//! between two calls to `next`.

use core::cell::RefCell;
use core::fmt;
use core::hash::Hash;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::rc::{Rc, Weak as RcWeak};

use super::WeakRef;
use crate::handle::Gc;
use crate::trace::{Trace, Tracer, Trust, trusted_if};

/// A map whose values are held weakly: an entry vanishes when its value
/// dies (Python's `weakref.WeakValueDictionary`).
///
/// ```
/// use recycle::{Gc, weakref::WeakValueMap};
///
/// let cache = WeakValueMap::new();
/// let big = Gc::new(vec![0u8; 1024]);
/// cache.insert("big", &big);
/// assert!(cache.get("big").is_some());
/// drop(big);
/// assert!(cache.get("big").is_none());
/// assert!(cache.is_empty());
/// ```
pub struct WeakValueMap<K, V: ?Sized> {
    table: Rc<Table<K, WeakRef<V>>>,
}

impl<K: Eq + Hash + Clone + 'static, V: ?Sized + 'static> WeakValueMap<K, V> {
    /// An empty map.
    pub fn new() -> Self {
        WeakValueMap {
            table: Rc::default(),
        }
    }

    /// Maps `key` to `value` (held weakly); returns the previous value if it
    /// was alive.
    pub fn insert(&self, key: K, value: &Gc<V>) -> Option<Gc<V>> {
        self.settle();
        let table = Rc::downgrade(&self.table);
        let dying = Gc::downgrade(value);
        let k = key.clone();
        let weak = Gc::downgrade_with_callback(value, move || {
            remove_if(&table, k, |r: &WeakRef<V>| r.weak().ptr_eq(&dying));
        });
        let old = self.table.borrow_mut().insert(key, weak);
        old.and_then(|r| r.upgrade())
    }

    /// The value for `key`, if it is alive.
    pub fn get<Q: ?Sized + Eq + Hash>(&self, key: &Q) -> Option<Gc<V>>
    where
        K: core::borrow::Borrow<Q>,
    {
        self.settle();
        self.table.borrow().get(key).and_then(WeakRef::upgrade)
    }

    /// Is there a live value for `key`?
    pub fn contains_key<Q: ?Sized + Eq + Hash>(&self, key: &Q) -> bool
    where
        K: core::borrow::Borrow<Q>,
    {
        self.settle();
        self.get(key).is_some()
    }

    /// Removes `key`'s entry; returns its value if it was alive.
    pub fn remove<Q: ?Sized + Eq + Hash>(&self, key: &Q) -> Option<Gc<V>>
    where
        K: core::borrow::Borrow<Q>,
    {
        self.settle();
        let old = self.table.borrow_mut().remove(key);
        old.and_then(|r| r.upgrade())
    }

    /// The number of entries (all of them have live values).
    pub fn len(&self) -> usize {
        self.settle();
        self.table.borrow().len()
    }

    /// Is the map empty?
    pub fn is_empty(&self) -> bool {
        self.settle();
        self.len() == 0
    }

    /// The live entries.
    pub fn iter(&self) -> impl Iterator<Item = (K, Gc<V>)> + '_ {
        self.settle();
        let keys: Vec<K> = self.table.borrow().keys().cloned().collect();
        keys.into_iter()
            .filter_map(|k| self.get(&k).map(|v| (k, v)))
    }

    /// Keeps only the entries for which `keep` returns `true`. `keep` may use
    /// the map.
    pub fn retain(&self, mut keep: impl FnMut(&K, &Gc<V>) -> bool) {
        self.settle();
        let doomed: Vec<K> = self
            .iter()
            .filter(|(k, v)| !keep(k, v))
            .map(|(k, _)| k)
            .collect();
        for k in doomed {
            self.remove(&k);
        }
    }

    /// Removes every entry.
    pub fn clear(&self) {
        self.settle();
        let old = core::mem::take(&mut *self.table.borrow_mut());
        drop(old);
    }

    /// Removes the entries whose removal came due while the table was
    /// borrowed (see `Table`).
    fn settle(&self) {
        self.table.settle(|r: &WeakRef<V>| r.upgrade().is_none());
    }
}

impl<K: Eq + Hash + Clone + 'static, V: ?Sized + 'static> Default for WeakValueMap<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: fmt::Debug, V: ?Sized> fmt::Debug for WeakValueMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.table.borrow().keys()).finish()
    }
}

/// A weak collection's entries, behind the `Rc` that their callbacks reach
/// (through an `rc::Weak`), with the removals that came due while the
/// entries were borrowed.
///
/// User code can run while a method holds the entries borrowed: a key's
/// `Hash`, `Eq` or `Drop`, a value's `Clone`, the closure of
/// [`WeakKeyMap::with`]. If it lets another referent of the same
/// collection die, that entry's callback finds the entries borrowed: it
/// leaves the key in `late`, and the next method call removes the entry
/// (if its referent is still dead) before it does anything else.
struct Table<K, E> {
    entries: RefCell<HashMap<K, E>>,
    late: RefCell<Vec<K>>,
}

impl<K, E> Default for Table<K, E> {
    fn default() -> Self {
        Table {
            entries: RefCell::new(HashMap::new()),
            late: RefCell::new(Vec::new()),
        }
    }
}

impl<K, E> core::ops::Deref for Table<K, E> {
    type Target = RefCell<HashMap<K, E>>;
    fn deref(&self) -> &Self::Target {
        &self.entries
    }
}

impl<K: Eq + Hash, E> Table<K, E> {
    /// Removes the entries whose removal came due while they were borrowed,
    /// if `dead` still says so. Each removed entry is dropped after the
    /// borrow ends.
    fn settle(&self, dead: impl Fn(&E) -> bool) {
        if self.late.borrow().is_empty() {
            return;
        }
        let late = core::mem::take(&mut *self.late.borrow_mut());
        for key in late {
            let removed = match self.entries.borrow_mut().entry(key) {
                Entry::Occupied(entry) if dead(entry.get()) => Some(entry.remove()),
                _ => None,
            };
            drop(removed);
        }
    }
}

/// Removes `key` from the table behind `table` if its entry satisfies `is_it`
/// (the entry may have been replaced since the callback was made). Drops
/// the removed entry after the borrow ends.
fn remove_if<K: Eq + Hash, E>(table: &RcWeak<Table<K, E>>, key: K, is_it: impl FnOnce(&E) -> bool) {
    let Some(table) = table.upgrade() else { return };
    let removed = {
        let Ok(mut t) = table.try_borrow_mut() else {
            // User code that runs under a method's borrow let the referent
            // die: the next method call removes the entry.
            table.late.borrow_mut().push(key);
            return;
        };
        // One lookup: the entry API, with the key the callback owns.
        match t.entry(key) {
            Entry::Occupied(entry) if is_it(entry.get()) => Some(entry.remove()),
            _ => None,
        }
    };
    drop(removed);
}

/// The identity of an object, as a key.
fn identity<T: ?Sized>(gc: &Gc<T>) -> usize {
    Gc::as_ptr(gc).cast::<()>().addr()
}

/// A map whose keys are held weakly and compared by identity (as Python
/// objects without `__eq__`): an entry vanishes, and its value is dropped,
/// when its key dies (Python's `weakref.WeakKeyDictionary`).
///
/// ```
/// use recycle::{Gc, weakref::WeakKeyMap};
///
/// let notes = WeakKeyMap::new();
/// let obj = Gc::new(String::from("some object"));
/// notes.insert(&obj, "seen once");
/// assert_eq!(notes.get(&obj), Some("seen once"));
/// drop(obj);
/// assert!(notes.is_empty());
/// ```
pub struct WeakKeyMap<K: ?Sized, V> {
    table: Rc<Table<usize, (WeakRef<K>, V)>>,
}

impl<K: ?Sized + 'static, V: 'static> WeakKeyMap<K, V> {
    /// An empty map.
    pub fn new() -> Self {
        WeakKeyMap {
            table: Rc::default(),
        }
    }

    /// Maps `key` (held weakly) to `value`; returns the previous value.
    pub fn insert(&self, key: &Gc<K>, value: V) -> Option<V> {
        self.settle();
        let id = identity(key);
        let table = Rc::downgrade(&self.table);
        let dying = Gc::downgrade(key);
        let weak = Gc::downgrade_with_callback(key, move || {
            remove_if(&table, id, |(r, _): &(WeakRef<K>, V)| {
                r.weak().ptr_eq(&dying)
            });
        });
        let old = self.table.borrow_mut().insert(id, (weak, value));
        old.map(|(_, v)| v)
    }

    /// A clone of the value for `key`.
    pub fn get(&self, key: &Gc<K>) -> Option<V>
    where
        V: Clone,
    {
        self.settle();
        self.with(key, V::clone)
    }

    /// Calls `f` with the value for `key`. `f` must not change the map.
    pub fn with<R>(&self, key: &Gc<K>, f: impl FnOnce(&V) -> R) -> Option<R> {
        self.settle();
        self.table.borrow().get(&identity(key)).map(|(_, v)| f(v))
    }

    /// Is `key` in the map?
    pub fn contains_key(&self, key: &Gc<K>) -> bool {
        self.settle();
        self.table.borrow().contains_key(&identity(key))
    }

    /// Removes `key`'s entry and returns its value.
    pub fn remove(&self, key: &Gc<K>) -> Option<V> {
        self.settle();
        let old = self.table.borrow_mut().remove(&identity(key));
        old.map(|(_, v)| v)
    }

    /// The number of entries (all of them have live keys).
    pub fn len(&self) -> usize {
        self.settle();
        self.table.borrow().len()
    }

    /// Is the map empty?
    pub fn is_empty(&self) -> bool {
        self.settle();
        self.len() == 0
    }

    /// The live keys.
    pub fn keys(&self) -> impl Iterator<Item = Gc<K>> + '_ {
        self.settle();
        let ids: Vec<usize> = self.table.borrow().keys().copied().collect();
        ids.into_iter()
            .filter_map(|id| self.table.borrow().get(&id).and_then(|(r, _)| r.upgrade()))
    }

    /// The live entries, with clones of the values.
    pub fn iter(&self) -> impl Iterator<Item = (Gc<K>, V)> + '_
    where
        V: Clone,
    {
        self.settle();
        self.keys().filter_map(|k| self.get(&k).map(|v| (k, v)))
    }

    /// Keeps only the entries for which `keep` returns `true`. `keep` may use
    /// the map.
    pub fn retain(&self, mut keep: impl FnMut(&Gc<K>) -> bool) {
        self.settle();
        let doomed: Vec<Gc<K>> = self.keys().filter(|k| !keep(k)).collect();
        for k in doomed {
            self.remove(&k);
        }
    }

    /// Removes every entry.
    pub fn clear(&self) {
        self.settle();
        let old = core::mem::take(&mut *self.table.borrow_mut());
        drop(old);
    }

    /// Removes the entries whose removal came due while the table was
    /// borrowed (see `Table`).
    fn settle(&self) {
        self.table
            .settle(|(r, _): &(WeakRef<K>, V)| r.upgrade().is_none());
    }
}

impl<K: ?Sized + 'static, V: 'static> Default for WeakKeyMap<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: ?Sized, V> fmt::Debug for WeakKeyMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WeakKeyMap({} entries)", self.table.borrow().len())
    }
}

/// A set of objects held weakly and compared by identity: an object leaves
/// the set when it dies (Python's `weakref.WeakSet`).
///
/// ```
/// use recycle::{Gc, weakref::WeakSet};
///
/// let listeners = WeakSet::new();
/// let a = Gc::new(1u32);
/// listeners.insert(&a);
/// assert!(listeners.contains(&a));
/// drop(a);
/// assert_eq!(listeners.len(), 0);
/// ```
pub struct WeakSet<T: ?Sized> {
    map: WeakKeyMap<T, ()>,
}

impl<T: ?Sized + 'static> WeakSet<T> {
    /// An empty set.
    pub fn new() -> Self {
        WeakSet {
            map: WeakKeyMap::new(),
        }
    }

    /// Adds `object`; returns `false` if it was already there.
    pub fn insert(&self, object: &Gc<T>) -> bool {
        if self.contains(object) {
            return false;
        }
        self.map.insert(object, ());
        true
    }

    /// Is `object` in the set?
    pub fn contains(&self, object: &Gc<T>) -> bool {
        self.map.contains_key(object)
    }

    /// Removes `object`; returns whether it was there.
    pub fn remove(&self, object: &Gc<T>) -> bool {
        self.map.remove(object).is_some()
    }

    /// The number of (live) objects.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Is the set empty?
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The live objects.
    pub fn iter(&self) -> impl Iterator<Item = Gc<T>> + '_ {
        self.map.keys()
    }

    /// Keeps only the objects for which `keep` returns `true`.
    pub fn retain(&self, keep: impl FnMut(&Gc<T>) -> bool) {
        self.map.retain(keep)
    }

    /// Removes every object.
    pub fn clear(&self) {
        self.map.clear()
    }
}

impl<T: ?Sized + 'static> Default for WeakSet<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: ?Sized> fmt::Debug for WeakSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WeakSet({} objects)", self.map.table.borrow().len())
    }
}

// The collections own their tables alone (the callbacks of their entries
// hold only `rc::Weak`s to them), so what a table holds strongly is owned
// by the collection and is reported by it: a `WeakValueMap`'s keys (which
// the callback of each entry holds too, until its value dies), and a
// `WeakKeyMap`'s values. A table borrowed while the collector runs (only
// possible from inside one of the collection's own methods) keeps its
// owner alive for that collection.

impl<K: Trace, V: ?Sized> Trace for WeakValueMap<K, V> {
    // SAFETY: `trace` below calls the `trace` of each key the table owns
    // once, and nothing else (a shared borrow, released before it returns);
    // trusted only if the keys' type is.
    const TRUSTED: Option<Trust<Self>> = unsafe { trusted_if(K::TRUSTED.is_some()) };
    fn trace(&self, tracer: &mut Tracer) {
        match self.table.try_borrow() {
            Ok(table) => table.keys().for_each(|key| key.trace(tracer)),
            Err(_) => tracer.keep_alive(),
        }
    }
}

impl<K: ?Sized, V: Trace> Trace for WeakKeyMap<K, V> {
    // SAFETY: `trace` below calls the `trace` of each value the table owns
    // once, and nothing else (a shared borrow, released before it returns);
    // trusted only if the values' type is.
    const TRUSTED: Option<Trust<Self>> = unsafe { trusted_if(V::TRUSTED.is_some()) };
    fn trace(&self, tracer: &mut Tracer) {
        match self.table.try_borrow() {
            Ok(table) => table.values().for_each(|(_, value)| value.trace(tracer)),
            Err(_) => tracer.keep_alive(),
        }
    }
}

/// A `WeakSet` holds nothing strongly: it reports nothing.
impl<T: ?Sized> Trace for WeakSet<T> {
    // SAFETY: `trace` below reports nothing.
    const TRUSTED: Option<Trust<Self>> = unsafe { trusted_if(true) };
    fn trace(&self, _: &mut Tracer) {}
}
