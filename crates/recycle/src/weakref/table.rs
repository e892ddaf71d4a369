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

use core::cell::{Cell, RefCell};
use core::hash::{BuildHasher, Hash};
use std::rc::Rc;

use hashbrown::HashTable;

use super::{Callback, cancel, register};
use crate::handle::Gc;
use crate::weak::Weak;

/// Told by the registry that an entry's referent died.
pub(crate) trait Expunge {
    /// Removes the entry filed under `hash` whose registration is `key`,
    /// if it is still there, and drops it.
    fn expunge(&self, hash: u64, key: u64);
    /// The same while the collector deletes garbage: the entry leaves the
    /// table now (so that code run by the deletion sees it gone, as in
    /// CPython), and is returned to be dropped once the deletion is over
    /// (its key and value are user data), by the closure returned. Runs no
    /// user code.
    fn detach(&self, hash: u64, key: u64) -> Option<Box<dyn FnOnce()>>;
    /// The thread's registry is gone (thread exit): no death will be
    /// reported any more, so the table looks for dead entries itself.
    /// Runs no user code.
    fn orphan(&self);
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
///
/// The table never hashes a key after it is filed: each slot keeps its
/// hash, which the table uses when it grows and the registration uses to
/// find the slot. So a key whose `Hash` is inconsistent (a bug in user
/// code) still leaves with its referent, and growing runs no user code.
pub(super) struct Table<S, H> {
    pub(super) entries: RefCell<HashTable<S>>,
    pub(super) hasher: H,
    /// `(hash, registration key)` of entries whose referent died while
    /// `entries` was borrowed.
    late: RefCell<Vec<(u64, u64)>>,
    /// Set when the thread's registry is gone (see [`Expunge::orphan`]).
    orphaned: Cell<bool>,
}

impl<S, H: Default> Default for Table<S, H> {
    fn default() -> Self {
        Table {
            entries: RefCell::new(HashTable::new()),
            hasher: H::default(),
            late: RefCell::new(Vec::new()),
            orphaned: Cell::new(false),
        }
    }
}

impl<S: Slot + 'static, H: BuildHasher + 'static> Table<S, H> {
    /// The hash under which `key` is filed: 32 bits of the hasher's output
    /// (a slot keeps them, see [`FiledHash`]), spread over 64.
    pub(super) fn hash<Q: ?Sized + Hash>(&self, key: &Q) -> FiledHash {
        let full = self.hasher.hash_one(key);
        FiledHash((full ^ (full >> 32)) as u32)
    }

    /// A `Watched` weak handle to `referent`, registered to remove the entry
    /// filed under `hash` from `this` when the referent dies. `None` if the
    /// referent is dead already (found to be garbage: this runs in a `Drop`
    /// of its cycle), or the thread is exiting.
    pub(super) fn watch<T: ?Sized>(
        this: &Rc<Self>,
        referent: &Gc<T>,
        hash: FiledHash,
    ) -> Option<Watched<T>> {
        let weak = Gc::downgrade(referent);
        let table: std::rc::Weak<dyn Expunge> = Rc::downgrade(this) as std::rc::Weak<Self>;
        match register(&weak, Callback::Entry(table, hash.spread())) {
            0 => None,
            key => Some(Watched { weak, key }),
        }
    }

    /// Makes the removals that came due while the entries were borrowed,
    /// one at a time (a removal whose drop panics leaves the others
    /// waiting for the next call), and, once the registry is gone, removes
    /// every entry whose referent is dead. Does nothing while the entries
    /// are borrowed (a call from user code that runs under that borrow).
    #[inline]
    pub(super) fn settle(&self) {
        if self.late.borrow().is_empty() && !self.orphaned.get() {
            return;
        }
        self.settle_slow()
    }

    #[inline(never)]
    fn settle_slow(&self) {
        loop {
            if self.entries.try_borrow_mut().is_err() {
                return;
            }
            let Some((hash, key)) = self.late.borrow_mut().pop() else {
                break;
            };
            self.expunge(hash, key);
        }
        if self.orphaned.get() {
            let dead: Vec<S> = match self.entries.try_borrow_mut() {
                Ok(mut entries) => entries
                    .extract_if(|slot| slot.watched().weak.strong_count() == 0)
                    .collect(),
                Err(_) => return,
            };
            // Dropped after the borrow ends.
            drop(dead);
        }
    }
}

impl<S: Slot + 'static, H> Expunge for Table<S, H> {
    fn expunge(&self, hash: u64, key: u64) {
        let Ok(mut entries) = self.entries.try_borrow_mut() else {
            self.late.borrow_mut().push((hash, key));
            return;
        };
        let removed = take_slot(&mut entries, hash, key);
        // Dropped after the borrow ends: a key's or value's `Drop` may use
        // the collection.
        drop(entries);
        drop(removed);
    }

    fn detach(&self, hash: u64, key: u64) -> Option<Box<dyn FnOnce()>> {
        let Ok(mut entries) = self.entries.try_borrow_mut() else {
            // A method of this collection runs (it ran the collection):
            // the removal waits for the next call.
            self.late.borrow_mut().push((hash, key));
            return None;
        };
        let removed = take_slot(&mut entries, hash, key)?;
        Some(Box::new(move || drop(removed)))
    }

    fn orphan(&self) {
        self.orphaned.set(true);
    }
}

/// The hash a slot was filed under, kept in 32 bits so that a slot with a
/// small key (a `u32`) is no larger than without it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct FiledHash(u32);

impl FiledHash {
    /// The 64-bit hash the table works with: a multiplication spreads the
    /// 32 bits over the low bits (the bucket) and the top seven (the tag).
    #[inline]
    pub(super) fn spread(self) -> u64 {
        u64::from(self.0).wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }
}

/// Takes the slot filed under `hash` whose registration is `key` out of
/// `entries`, its registration marked as run (nothing to cancel).
fn take_slot<S: Slot>(entries: &mut HashTable<S>, hash: u64, key: u64) -> Option<S> {
    let entry = entries
        .find_entry(hash, |slot| slot.watched().key == key)
        .ok()?;
    let (mut slot, _) = entry.remove();
    slot.watched_mut().key = 0;
    Some(slot)
}
