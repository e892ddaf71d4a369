//! The weak collections: [`WeakValueMap`], [`WeakKeyMap`], [`WeakSet`]
//! (Python's `WeakValueDictionary`, `WeakKeyDictionary`, `WeakSet`).
//!
//! Each keeps its table behind an `Rc` that the registrations of its
//! entries can reach (see `table`): an entry goes away the moment its
//! referent dies (by counting or in a collection), not at the next access.
//! Values taken out of a table are dropped only after the table's borrow
//! ends, so `Drop` code that uses the same collection is fine. Iterators walk
//! a snapshot of the keys and look each one up when reached: an entry whose
//! referent dies during the iteration is skipped, and no borrow is held
//! between two calls to `next`.

use core::fmt;
use core::hash::{BuildHasherDefault, Hash};
use std::hash::RandomState;
use std::rc::Rc;

use hashbrown::hash_table::Entry as HashEntry;

use super::AddressHasher;
use super::table::{FiledHash, Slot, Table, Watched};
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
    table: Rc<Table<ValueSlot<K, V>, RandomState>>,
}

/// An entry of a [`WeakValueMap`].
struct ValueSlot<K, V: ?Sized> {
    key: K,
    /// The key's hash when it was filed (see `Table`).
    hash: FiledHash,
    value: Watched<V>,
}

impl<K, V: ?Sized> Slot for ValueSlot<K, V> {
    type Referent = V;
    fn watched(&self) -> &Watched<V> {
        &self.value
    }
    fn watched_mut(&mut self) -> &mut Watched<V> {
        &mut self.value
    }
}

impl<K: Eq + Hash + Clone + 'static, V: ?Sized + 'static> WeakValueMap<K, V> {
    /// An empty map.
    pub fn new() -> Self {
        WeakValueMap {
            table: Rc::default(),
        }
    }

    /// Maps `key` to `value` (held weakly); returns the previous value if it
    /// was alive. As with `HashMap`, an equal key already in the map stays.
    pub fn insert(&self, key: K, value: &Gc<V>) -> Option<Gc<V>> {
        self.table.settle();
        let hash = self.table.hash(&key);
        let Some(watched) = Table::watch(&self.table, value, hash) else {
            // Found to be garbage already (this runs in a `Drop` of its
            // cycle): as if it died the moment it was inserted.
            return self.remove(&key);
        };
        let table = &*self.table;
        let old = match table.entries.borrow_mut().entry(
            hash.spread(),
            |slot| slot.key == key,
            |slot| slot.hash.spread(),
        ) {
            HashEntry::Occupied(mut entry) => {
                Some(core::mem::replace(&mut entry.get_mut().value, watched))
            }
            HashEntry::Vacant(entry) => {
                entry.insert(ValueSlot {
                    key,
                    hash,
                    value: watched,
                });
                None
            }
        };
        // The old value's registration is cancelled after the borrow ends.
        old.and_then(|old| old.upgrade())
    }

    /// The value for `key`, if it is alive.
    pub fn get<Q: ?Sized + Eq + Hash>(&self, key: &Q) -> Option<Gc<V>>
    where
        K: core::borrow::Borrow<Q>,
    {
        self.table.settle();
        let hash = self.table.hash(key);
        self.table
            .entries
            .borrow()
            .find(hash.spread(), |slot| slot.key.borrow() == key)
            .and_then(|slot| slot.value.upgrade())
    }

    /// Is there a live value for `key`?
    pub fn contains_key<Q: ?Sized + Eq + Hash>(&self, key: &Q) -> bool
    where
        K: core::borrow::Borrow<Q>,
    {
        self.get(key).is_some()
    }

    /// Removes `key`'s entry; returns its value if it was alive.
    pub fn remove<Q: ?Sized + Eq + Hash>(&self, key: &Q) -> Option<Gc<V>>
    where
        K: core::borrow::Borrow<Q>,
    {
        self.table.settle();
        let hash = self.table.hash(key);
        let removed = match self
            .table
            .entries
            .borrow_mut()
            .find_entry(hash.spread(), |slot| slot.key.borrow() == key)
        {
            Ok(entry) => Some(entry.remove().0),
            Err(_) => None,
        };
        // The key and the registration are dropped after the borrow ends.
        removed.and_then(|slot| slot.value.upgrade())
    }

    /// The number of entries (all of them have live values).
    pub fn len(&self) -> usize {
        self.table.settle();
        self.table.entries.borrow().len()
    }

    /// Is the map empty?
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The live entries.
    pub fn iter(&self) -> impl Iterator<Item = (K, Gc<V>)> + '_ {
        self.table.settle();
        let keys: Vec<K> = self
            .table
            .entries
            .borrow()
            .iter()
            .map(|slot| slot.key.clone())
            .collect();
        keys.into_iter()
            .filter_map(|k| self.get(&k).map(|v| (k, v)))
    }

    /// Keeps only the entries for which `keep` returns `true`. `keep` may use
    /// the map.
    pub fn retain(&self, mut keep: impl FnMut(&K, &Gc<V>) -> bool) {
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
        self.table.settle();
        let old = core::mem::take(&mut *self.table.entries.borrow_mut());
        drop(old);
    }
}

impl<K: Eq + Hash + Clone + 'static, V: ?Sized + 'static> Default for WeakValueMap<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: fmt::Debug, V: ?Sized> fmt::Debug for WeakValueMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.table.entries.borrow().iter().map(|slot| &slot.key))
            .finish()
    }
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
    table: Rc<Table<KeySlot<K, V>, BuildHasherDefault<AddressHasher>>>,
}

/// An entry of a [`WeakKeyMap`]: the key's identity, the key, the value.
struct KeySlot<K: ?Sized, V> {
    id: usize,
    /// The identity's hash (see `Table`).
    hash: FiledHash,
    key: Watched<K>,
    value: V,
}

impl<K: ?Sized, V> Slot for KeySlot<K, V> {
    type Referent = K;
    fn watched(&self) -> &Watched<K> {
        &self.key
    }
    fn watched_mut(&mut self) -> &mut Watched<K> {
        &mut self.key
    }
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
        self.table.settle();
        let id = identity(key);
        let hash = self.table.hash(&id);
        let Some(watched) = Table::watch(&self.table, key, hash) else {
            // Found to be garbage already (this runs in a `Drop` of its
            // cycle): as if it died the moment it was inserted.
            let old = self.remove(key);
            drop(value);
            return old;
        };
        let slot = KeySlot {
            id,
            hash,
            key: watched,
            value,
        };
        let table = &*self.table;
        // An entry with this identity is for this very object: its `Weak`
        // keeps the address from being reused.
        let old = match table.entries.borrow_mut().entry(
            hash.spread(),
            |other| other.id == id,
            |other| other.hash.spread(),
        ) {
            HashEntry::Occupied(mut entry) => Some(core::mem::replace(entry.get_mut(), slot)),
            HashEntry::Vacant(entry) => {
                entry.insert(slot);
                None
            }
        };
        // The old registration is cancelled after the borrow ends.
        old.map(|old| old.value)
    }

    /// A clone of the value for `key`.
    pub fn get(&self, key: &Gc<K>) -> Option<V>
    where
        V: Clone,
    {
        self.with(key, V::clone)
    }

    /// Calls `f` with the value for `key`. `f` must not change the map.
    pub fn with<R>(&self, key: &Gc<K>, f: impl FnOnce(&V) -> R) -> Option<R> {
        self.table.settle();
        let id = identity(key);
        let hash = self.table.hash(&id);
        self.table
            .entries
            .borrow()
            .find(hash.spread(), |slot| slot.id == id)
            .map(|slot| f(&slot.value))
    }

    /// Is `key` in the map?
    pub fn contains_key(&self, key: &Gc<K>) -> bool {
        self.with(key, |_| ()).is_some()
    }

    /// Removes `key`'s entry and returns its value.
    pub fn remove(&self, key: &Gc<K>) -> Option<V> {
        self.table.settle();
        let id = identity(key);
        let hash = self.table.hash(&id);
        let removed = match self
            .table
            .entries
            .borrow_mut()
            .find_entry(hash.spread(), |slot| slot.id == id)
        {
            Ok(entry) => Some(entry.remove().0),
            Err(_) => None,
        };
        // The registration is cancelled after the borrow ends.
        removed.map(|slot| slot.value)
    }

    /// The number of entries (all of them have live keys).
    pub fn len(&self) -> usize {
        self.table.settle();
        self.table.entries.borrow().len()
    }

    /// Is the map empty?
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The live keys.
    pub fn keys(&self) -> impl Iterator<Item = Gc<K>> + '_ {
        self.table.settle();
        let ids: Vec<usize> = self
            .table
            .entries
            .borrow()
            .iter()
            .map(|slot| slot.id)
            .collect();
        ids.into_iter().filter_map(|id| {
            let hash = self.table.hash(&id);
            self.table
                .entries
                .borrow()
                .find(hash.spread(), |slot| slot.id == id)
                .and_then(|slot| slot.key.upgrade())
        })
    }

    /// The live entries, with clones of the values.
    pub fn iter(&self) -> impl Iterator<Item = (Gc<K>, V)> + '_
    where
        V: Clone,
    {
        self.keys().filter_map(|k| self.get(&k).map(|v| (k, v)))
    }

    /// Keeps only the entries for which `keep` returns `true`. `keep` may use
    /// the map.
    pub fn retain(&self, mut keep: impl FnMut(&Gc<K>) -> bool) {
        let doomed: Vec<Gc<K>> = self.keys().filter(|k| !keep(k)).collect();
        for k in doomed {
            self.remove(&k);
        }
    }

    /// Removes every entry.
    pub fn clear(&self) {
        self.table.settle();
        let old = core::mem::take(&mut *self.table.entries.borrow_mut());
        drop(old);
    }
}

impl<K: ?Sized + 'static, V: 'static> Default for WeakKeyMap<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: ?Sized, V> fmt::Debug for WeakKeyMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "WeakKeyMap({} entries)",
            self.table.entries.borrow().len()
        )
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
        write!(
            f,
            "WeakSet({} objects)",
            self.map.table.entries.borrow().len()
        )
    }
}

// The collections own their tables alone (their entries' registrations
// hold only `rc::Weak`s to them), so what a table holds strongly is owned
// by the collection and is reported by it: a `WeakValueMap`'s keys, and a
// `WeakKeyMap`'s values. A table borrowed while the collector runs (only
// possible from inside one of the collection's own methods) keeps its
// owner alive for that collection.

impl<K: Trace, V: ?Sized> Trace for WeakValueMap<K, V> {
    // SAFETY: `trace` below calls the `trace` of each key the table owns
    // once, and nothing else (a shared borrow, released before it returns);
    // trusted only if the keys' type is.
    const TRUSTED: Option<Trust<Self>> = unsafe { trusted_if(K::TRUSTED.is_some()) };
    fn trace(&self, tracer: &mut Tracer) {
        match self.table.entries.try_borrow() {
            Ok(entries) => entries.iter().for_each(|slot| slot.key.trace(tracer)),
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
        match self.table.entries.try_borrow() {
            Ok(entries) => entries.iter().for_each(|slot| slot.value.trace(tracer)),
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
