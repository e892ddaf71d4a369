//! The table behind each weak collection, and how its entries leave it when
//! their referents die.
//!
//! Each entry's referent has a registration in the thread's callback
//! registry: not a closure, but [`Callback::Entry`], the table (as an
//! `rc::Weak`) and the hash under which the entry is filed. When the
//! referent dies, the registry hands both to [`Expunge::expunge`], which
//! finds the entry by that hash and by the registration's key (unique to
//! the entry) without calling the key's `Hash` or `Eq`, and removes it. So
//! an entry costs one registry slot and no allocation of its own, and its
//! removal on death one lookup in each table.
//!
//! User code can run while a method holds the entries borrowed: a key's
//! `Hash`, `Eq` or `Drop`, a value's `Clone`, the closure of
//! `WeakKeyMap::with`. If it lets another referent of the same collection
//! die, `expunge` finds the entries borrowed: it files the removal in
//! `late`, and the next method call makes it before anything else.

use core::cell::RefCell;
use core::hash::{BuildHasher, Hash};
use std::rc::Rc;

use hashbrown::HashTable;

use super::{Callback, cancel, register};
use crate::handle::Gc;
use crate::weak::Weak;

/// Told by the registry that an entry's referent died.
pub(crate) trait Expunge {
    /// Removes the entry filed under `hash` whose registration is `key`,
    /// if it is still there.
    fn expunge(&self, hash: u64, key: u64);
}

/// A weak handle whose referent's death removes the entry holding it: the
/// entry's registration. Dropping it (the entry removed or replaced by
/// the user, or the collection dropped) cancels the registration.
pub(super) struct Watched<T: ?Sized> {
    weak: Weak<T>,
    /// The registration's key; 0 once it has run (or if it never could).
    key: u64,
}

impl<T: ?Sized> Watched<T> {
    /// A strong handle, if the referent is alive.
    pub(super) fn upgrade(&self) -> Option<Gc<T>> {
        self.weak.upgrade()
    }
}

impl<T: ?Sized> Drop for Watched<T> {
    fn drop(&mut self) {
        if self.key == 0 {
            return;
        }
        if let Some(referent) = self.weak.header_ptr() {
            // An `Entry` callback: dropping it runs no user code.
            drop(cancel(referent, self.key));
        }
    }
}

/// An entry of a table: the `Watched` handle whose registration files it.
pub(super) trait Slot {
    /// The entry's watched referent.
    fn watched_mut(&mut self) -> &mut Watched<Self::Referent>;
    /// The same, shared.
    fn watched(&self) -> &Watched<Self::Referent>;
    /// The referent's type.
    type Referent: ?Sized;
}

/// A weak collection's entries (a `HashTable` of slots `S`, hashed by `H`),
/// behind the `Rc` whose `rc::Weak` the registrations hold, with the
/// removals that came due while the entries were borrowed.
pub(super) struct Table<S, H> {
    pub(super) entries: RefCell<HashTable<S>>,
    pub(super) hasher: H,
    /// `(hash, registration key)` of entries whose referent died while
    /// `entries` was borrowed.
    late: RefCell<Vec<(u64, u64)>>,
}

impl<S, H: Default> Default for Table<S, H> {
    fn default() -> Self {
        Table {
            entries: RefCell::new(HashTable::new()),
            hasher: H::default(),
            late: RefCell::new(Vec::new()),
        }
    }
}

impl<S: Slot + 'static, H: BuildHasher + 'static> Table<S, H> {
    /// The hash under which `key` is filed.
    pub(super) fn hash<Q: ?Sized + Hash>(&self, key: &Q) -> u64 {
        self.hasher.hash_one(key)
    }

    /// A `Watched` weak handle to `referent`, registered to remove the entry
    /// filed under `hash` from `this` when the referent dies. `None` if the
    /// referent is dead already (found to be garbage: this runs in a `Drop`
    /// of its cycle), or the thread is exiting.
    pub(super) fn watch<T: ?Sized>(
        this: &Rc<Self>,
        referent: &Gc<T>,
        hash: u64,
    ) -> Option<Watched<T>> {
        let weak = Gc::downgrade(referent);
        let table: std::rc::Weak<dyn Expunge> = Rc::downgrade(this) as std::rc::Weak<Self>;
        match register(&weak, Callback::Entry(table, hash)) {
            0 => None,
            key => Some(Watched { weak, key }),
        }
    }

    /// Makes the removals that came due while the entries were borrowed.
    #[inline]
    pub(super) fn settle(&self) {
        if self.late.borrow().is_empty() {
            return;
        }
        let late = core::mem::take(&mut *self.late.borrow_mut());
        for (hash, key) in late {
            self.expunge(hash, key);
        }
    }
}

impl<S: Slot, H> Expunge for Table<S, H> {
    fn expunge(&self, hash: u64, key: u64) {
        let Ok(mut entries) = self.entries.try_borrow_mut() else {
            self.late.borrow_mut().push((hash, key));
            return;
        };
        let removed = match entries.find_entry(hash, |slot| slot.watched().key == key) {
            Ok(entry) => {
                let (mut slot, _) = entry.remove();
                // Its registration just ran: nothing to cancel.
                slot.watched_mut().key = 0;
                Some(slot)
            }
            Err(_) => None,
        };
        // Dropped after the borrow ends: a key's or value's `Drop` may use
        // the collection.
        drop(entries);
        drop(removed);
    }
}
