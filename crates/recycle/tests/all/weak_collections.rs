//! WeakValueMap, WeakKeyMap, WeakSet and finalize. Tests that follow
//! CPython's Lib/test/test_weakref.py name it.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use recycle::weakref::{WeakKeyMap, WeakSet, WeakValueMap, finalize};
use recycle::{Gc, gc};

use crate::common::{Node, Tally};

#[test]
fn weak_value_map_entries_vanish_with_their_values() {
    // test_weakref.MappingTestCase.test_weak_values
    let map = WeakValueMap::new();
    let tally = Tally::new();
    let nodes: Vec<_> = (0..10).map(|i| Node::new(i, &tally)).collect();
    for n in &nodes {
        assert!(map.insert(n.id, n).is_none());
    }
    assert_eq!(map.len(), 10);
    assert_eq!(map.get(&3).unwrap().id, 3);
    let cyclic = nodes[9].clone();
    cyclic.link(&cyclic);
    drop(nodes);
    drop(cyclic);
    assert_eq!(map.len(), 1, "nine died by counting; the cycle is waiting");
    assert!(map.contains_key(&9));
    assert_eq!(gc::collect(), 1);
    assert!(map.is_empty(), "and vanished when collected");
}

#[test]
fn weak_value_map_insert_remove_retain() {
    let map = WeakValueMap::new();
    let a = Gc::new(String::from("a"));
    let b = Gc::new(String::from("b"));
    assert!(map.insert("k", &a).is_none());
    let old = map.insert("k", &b).unwrap();
    assert!(Gc::ptr_eq(&old, &a));
    drop(a);
    drop(old);
    assert_eq!(
        *map.get("k").unwrap(),
        "b",
        "the replaced value's death changes nothing"
    );
    map.insert("other", &b);
    map.retain(|k, _| *k == "other");
    assert_eq!(map.len(), 1);
    assert!(map.remove("other").is_some());
    assert!(map.is_empty());
}

#[test]
fn weak_values_destroyed_while_iterating() {
    // test_weakref.MappingTestCase.test_weak_values_destroy_while_iterating
    let map = WeakValueMap::new();
    let mut values: Vec<Gc<u32>> = (0..20).map(Gc::new).collect();
    for (i, v) in values.iter().enumerate() {
        map.insert(i, v);
    }
    let mut seen = 0;
    for (k, v) in map.iter() {
        assert_eq!(*v, k as u32);
        seen += 1;
        if seen == 1 {
            // Kill every other value mid-iteration (except the one we hold).
            values = values
                .into_iter()
                .enumerate()
                .filter(|(i, _)| i % 2 == 0 || *i == k)
                .map(|(_, v)| v)
                .collect();
        }
    }
    assert!(
        (10..=11).contains(&seen),
        "the dead ones were skipped: {seen}"
    );
    assert_eq!(map.len(), values.len());
}

#[test]
fn weak_key_map_drops_values_when_keys_die() {
    // test_weakref.MappingTestCase.test_weak_keys
    let map = WeakKeyMap::new();
    let tally = Tally::new();
    let key = Node::new(0, &tally);
    let value_tally = Tally::new();
    map.insert(&key, Rc::new(value_tally.token()));
    assert!(map.contains_key(&key));
    assert_eq!(map.with(&key, Rc::strong_count), Some(1));
    let same_value_other_key = Node::new(1, &tally);
    assert!(
        !map.contains_key(&same_value_other_key),
        "keys compare by identity"
    );
    key.link(&key);
    drop(key);
    assert_eq!(map.len(), 1);
    assert_eq!(value_tally.dropped(), 0);
    gc::collect();
    assert!(map.is_empty());
    assert_eq!(value_tally.dropped(), 1, "the value went with its key");
}

#[test]
fn weak_keys_destroyed_while_iterating() {
    // test_weakref.MappingTestCase.test_weak_keys_destroy_while_iterating
    let map = WeakKeyMap::new();
    let mut keys: Vec<Gc<u32>> = (0..20).map(Gc::new).collect();
    for k in &keys {
        map.insert(k, **k * 10);
    }
    let mut seen = 0;
    for (k, v) in map.iter() {
        assert_eq!(v, *k * 10);
        seen += 1;
        if seen == 1 {
            keys.retain(|x| **x % 2 == 0 || Gc::ptr_eq(x, &k));
        }
    }
    assert!((10..=11).contains(&seen), "{seen}");
    assert_eq!(map.len(), keys.len());
    let removed = map.remove(&keys[0]);
    assert_eq!(removed, Some(*keys[0] * 10));
}

#[test]
fn weak_set_membership_follows_life() {
    // test_weakset.TestWeakSet.test_len / test_contains
    let set = WeakSet::new();
    let a = Gc::new(1u8);
    let b = Gc::new(2u8);
    assert!(set.insert(&a));
    assert!(!set.insert(&a), "already there");
    assert!(set.insert(&b));
    assert_eq!(set.len(), 2);
    assert_eq!(set.iter().map(|x| *x).sum::<u8>(), 3);
    drop(a);
    assert_eq!(set.len(), 1);
    set.retain(|x| **x != 2);
    assert!(set.is_empty());
    assert!(!set.contains(&b));
}

#[test]
fn finalize_runs_at_death_once() {
    // test_weakref.FinalizeTestCase.test_finalize
    let ran = Rc::new(Cell::new(0));
    let r = ran.clone();
    let tally = Tally::new();
    let n = Node::new(0, &tally);
    n.link(&n);
    let f = finalize(&n, move || r.set(r.get() + 1));
    assert!(f.alive());
    assert!(Gc::ptr_eq(&f.peek().unwrap(), &n));
    drop(n);
    assert_eq!(ran.get(), 0);
    gc::collect();
    assert_eq!(ran.get(), 1);
    assert!(!f.alive());
    assert!(!f.call(), "at most once");
    assert!(f.peek().is_none());
    assert_eq!(ran.get(), 1);
}

#[test]
fn finalize_call_and_detach() {
    // test_weakref.FinalizeTestCase.test_finalize and test_detach
    let ran = Rc::new(Cell::new(0));
    let obj = Gc::new(5u32);
    let r = ran.clone();
    let f = finalize(&obj, move || r.set(r.get() + 1));
    assert!(f.call());
    assert!(!f.call());
    drop(obj.clone());
    assert_eq!(ran.get(), 1);
    let r = ran.clone();
    let g = finalize(&obj, move || r.set(r.get() + 10));
    let (back, callback) = g.detach().unwrap();
    assert!(Gc::ptr_eq(&back, &obj));
    assert!(!g.alive() && g.detach().is_none());
    drop((back, obj));
    assert_eq!(ran.get(), 1, "detached: not run at death");
    callback();
    assert_eq!(ran.get(), 11);
}

#[test]
fn finalizers_of_one_object_run_newest_first() {
    // test_weakref.FinalizeTestCase.test_order
    let log = Rc::new(RefCell::new(Vec::new()));
    let obj = Gc::new(0u8);
    let fs: Vec<_> = (0..3)
        .map(|i| {
            let l = log.clone();
            finalize(&obj, move || l.borrow_mut().push(i))
        })
        .collect();
    drop(obj);
    assert_eq!(*log.borrow(), [2, 1, 0]);
    assert!(fs.iter().all(|f| !f.alive()));
}

/// User code that runs while a collection holds its table (here a key's
/// `Hash`) lets another of its referents die: the entry goes at the next
/// call, and every entry `len` counts is alive (the sixth outside audit's
/// stale entry).
#[test]
fn a_referent_that_dies_while_the_table_is_borrowed_leaves_no_entry() {
    use std::cell::RefCell;
    use std::hash::{Hash, Hasher};

    use recycle::weakref::WeakValueMap;

    thread_local! {
        static VICTIM: RefCell<Option<Gc<u32>>> = const { RefCell::new(None) };
    }
    #[derive(PartialEq, Eq, Clone)]
    struct Key(u32);
    impl Hash for Key {
        fn hash<H: Hasher>(&self, state: &mut H) {
            VICTIM.with(|v| drop(v.borrow_mut().take()));
            self.0.hash(state);
        }
    }
    let map = WeakValueMap::new();
    let a = Gc::new(1u32);
    let b = Gc::new(2u32);
    map.insert(Key(1), &a);
    VICTIM.with(|v| *v.borrow_mut() = Some(a));
    map.insert(Key(2), &b); // hashing `Key(2)` lets `a` die
    assert_eq!(map.len(), 1);
    assert!(map.get(&Key(1)).is_none());
    assert!(map.get(&Key(2)).is_some_and(|v| *v == 2));
}

/// The same through `WeakKeyMap::with`, whose closure runs under the
/// table's borrow.
#[test]
fn a_key_that_dies_inside_with_leaves_no_entry() {
    use recycle::weakref::WeakKeyMap;

    let map = WeakKeyMap::new();
    let a = Gc::new(1u32);
    let b = Gc::new(2u32);
    map.insert(&a, "a");
    map.insert(&b, "b");
    let mut a = Some(a);
    let seen = map.with(&b, |v| {
        drop(a.take()); // `a`'s entry cannot go now: the table is borrowed
        *v
    });
    assert_eq!(seen, Some("b"));
    assert_eq!(map.len(), 1);
    assert_eq!(map.keys().count(), 1);
}

#[test]
fn entries_leave_in_any_order_and_two_keys_may_share_a_value() {
    let map = WeakValueMap::new();
    let n = crate::common::size(2_000, 60);
    let mut values: Vec<Option<Gc<u64>>> = (0..n as u64).map(|v| Some(Gc::new(v))).collect();
    for (k, v) in values.iter().enumerate() {
        map.insert(k, v.as_ref().unwrap());
    }
    let shared = Gc::new(7u64);
    map.insert(n, &shared);
    map.insert(n + 1, &shared);
    let mut rng = crate::common::Rng::new(0x2545_f491_4f6c_dd1d);
    let mut alive = n;
    while alive > 0 {
        let i = rng.below(n);
        if values[i].take().is_some() {
            alive -= 1;
            assert_eq!(map.len(), alive + 2);
            assert!(map.get(&i).is_none());
        }
    }
    assert_eq!(map.len(), 2);
    drop(shared);
    assert!(
        map.is_empty(),
        "both entries of the shared value left with it"
    );
}

/// A key whose `Hash` changes from call to call (a bug in user code).
#[derive(Clone, PartialEq, Eq)]
struct FickleKey(u32, Rc<Cell<u64>>);

impl std::hash::Hash for FickleKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.1.set(self.1.get() + 1);
        (self.0, self.1.get()).hash(state)
    }
}

#[test]
fn an_entry_with_a_fickle_key_hash_still_leaves_with_its_value() {
    let calls = Rc::new(Cell::new(0));
    let map = WeakValueMap::new();
    let value = Gc::new(1u8);
    map.insert(FickleKey(1, calls.clone()), &value);
    assert!(
        map.get(&FickleKey(1, calls.clone())).is_none(),
        "its lookups miss"
    );
    assert_eq!(map.len(), 1);
    drop(value);
    assert!(
        map.is_empty(),
        "its removal on death does not hash the key again: it goes anyway"
    );
}

#[test]
fn a_reinserted_key_object_keeps_one_entry_and_the_new_value() {
    let map = WeakKeyMap::new();
    let key = Gc::new(String::from("key"));
    assert_eq!(map.insert(&key, 1), None);
    assert_eq!(map.insert(&key, 2), Some(1));
    assert_eq!((map.len(), map.get(&key)), (1, Some(2)));
    drop(key);
    assert!(map.is_empty());
}

#[test]
fn a_fickle_key_leaves_with_its_value_even_after_the_table_grows() {
    let calls = Rc::new(Cell::new(0));
    let map = WeakValueMap::new();
    let fickle = Gc::new(0u8);
    map.insert(FickleKey(0, calls.clone()), &fickle);
    // Enough entries to make the table grow: it re-files every entry by
    // the hash it was filed with, never hashing a key again.
    let others: Vec<Gc<u8>> = (1..=64).map(Gc::new).collect();
    for (i, value) in others.iter().enumerate() {
        map.insert(FickleKey(i as u32 + 1, Rc::new(Cell::new(0))), value);
    }
    let hashed = calls.get();
    drop(others);
    assert_eq!(map.len(), 1);
    drop(fickle);
    assert!(map.is_empty(), "the fickle key's entry left with its value");
    assert_eq!(
        calls.get(),
        hashed,
        "growing and removing never hashed it again"
    );
}

/// A value whose `Drop` panics, once.
struct PanicsOnDrop(bool);

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        if self.0 {
            panic!("a value's Drop panics");
        }
    }
}

#[test]
fn a_panicking_drop_in_a_delayed_removal_leaves_the_other_removals_waiting() {
    let map = WeakKeyMap::new();
    let probe = Gc::new(0u8);
    let doomed: RefCell<Vec<Gc<u8>>> = RefCell::new((1..=2).map(Gc::new).collect());
    map.insert(&probe, PanicsOnDrop(false));
    for (i, key) in doomed.borrow().iter().enumerate() {
        map.insert(key, PanicsOnDrop(i == 0));
    }
    // Both keys die under the table's borrow: their removals wait.
    map.with(&probe, |_| doomed.borrow_mut().clear());
    let first = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| map.len()));
    assert!(first.is_err(), "one removal's value panics in its Drop");
    assert_eq!(map.len(), 1, "the other removal was made all the same");
    assert_eq!(map.keys().count(), 1);
}

#[derive(recycle::Trace)]
struct Member {
    other: RefCell<Option<Gc<Member>>>,
    #[trace(skip)]
    _reporter: Option<Reporter>,
}

/// Reads a map from its `Drop`, which runs while the collector deletes
/// the cycle that owns it.
struct Reporter {
    map: Rc<WeakValueMap<u32, Member>>,
    seen: Rc<Cell<Option<(usize, bool)>>>,
}

impl Drop for Reporter {
    fn drop(&mut self) {
        self.seen
            .set(Some((self.map.len(), self.map.get(&1).is_some())));
    }
}

#[test]
fn code_run_by_a_collection_sees_the_garbage_gone_from_weak_maps() {
    // As CPython, whose handle_weakrefs clears them before deleting.
    gc::collect();
    let map = Rc::new(WeakValueMap::new());
    let seen = Rc::new(Cell::new(None));
    let a = Gc::new(Member {
        other: RefCell::new(None),
        _reporter: Some(Reporter {
            map: map.clone(),
            seen: seen.clone(),
        }),
    });
    let b = Gc::new(Member {
        other: RefCell::new(Some(a.clone())),
        _reporter: None,
    });
    *a.other.borrow_mut() = Some(b.clone());
    map.insert(1, &a);
    map.insert(2, &b);
    drop((a, b));
    assert_eq!(gc::collect(), 2);
    assert_eq!(
        seen.get(),
        Some((0, false)),
        "len() and get() inside the deletion"
    );
    assert!(map.is_empty());
}

thread_local! {
    static VALUES_AT_EXIT: RefCell<Vec<Gc<u8>>> = const { RefCell::new(Vec::new()) };
}

/// A map that reports its length when the thread's locals are destroyed.
struct ReportsAtExit(WeakValueMap<u8, u8>, std::sync::mpsc::Sender<usize>);

impl Drop for ReportsAtExit {
    fn drop(&mut self) {
        let _ = self.1.send(self.0.len());
    }
}

#[test]
fn a_thread_local_map_counts_no_dead_entry_at_thread_exit() {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        thread_local! {
            static MAP: RefCell<Option<ReportsAtExit>> = const { RefCell::new(None) };
        }
        // The map's local first, then the values', then (at the first
        // insert) the registry's: whichever order they are destroyed in,
        // the values die before the map reports.
        MAP.with(|m| *m.borrow_mut() = Some(ReportsAtExit(WeakValueMap::new(), sender)));
        VALUES_AT_EXIT.with(|v| v.borrow_mut().extend((0..3).map(Gc::new)));
        MAP.with(|m| {
            let m = m.borrow();
            let map = &m.as_ref().unwrap().0;
            VALUES_AT_EXIT.with(|v| {
                for (i, value) in v.borrow().iter().enumerate() {
                    map.insert(i as u8, value);
                }
            });
            assert_eq!(map.len(), 3);
        });
    })
    .join()
    .unwrap();
    assert_eq!(receiver.recv().unwrap(), 0, "no dead entry is counted");
}

/// A value whose `Drop` uses the heap and the map that held it.
struct BusyDrop {
    map: Rc<WeakKeyMap<Member, BusyDrop>>,
    ran: Rc<Cell<u32>>,
}

impl Drop for BusyDrop {
    fn drop(&mut self) {
        // Runs once the deletion is over: the garbage is gone, and every
        // gc function works on consistent lists.
        assert_eq!(gc::collect(), 0, "nothing left to collect");
        assert!(
            gc::get_objects(None)
                .unwrap()
                .iter()
                .all(|o| !o.type_name().contains("Member"))
        );
        assert_eq!(self.map.len(), 0);
        self.ran.set(self.ran.get() + 1);
    }
}

#[test]
fn a_detached_entry_dropped_after_the_deletion_may_use_the_heap_and_its_map() {
    gc::collect();
    let map: Rc<WeakKeyMap<Member, BusyDrop>> = Rc::new(WeakKeyMap::new());
    let ran = Rc::new(Cell::new(0));
    let a = Gc::new(Member {
        other: RefCell::new(None),
        _reporter: None,
    });
    *a.other.borrow_mut() = Some(a.clone());
    map.insert(
        &a,
        BusyDrop {
            map: map.clone(),
            ran: ran.clone(),
        },
    );
    drop(a);
    assert_eq!(gc::collect(), 1);
    assert_eq!(
        ran.get(),
        1,
        "the value was dropped once, after the deletion"
    );
    assert!(map.is_empty());
}
