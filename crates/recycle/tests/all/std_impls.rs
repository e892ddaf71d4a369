//! `Trace` for std types beyond the containers: each cycle through one is
//! collected, and each decision about shared ownership holds.

use std::borrow::Cow;
use std::cell::{OnceCell, RefCell};
use std::cmp::Reverse;
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::num::{NonZeroU8, Wrapping};
use std::ops::Range;
use std::rc::Rc;
use std::sync::{Mutex, OnceLock, RwLock};
use std::time::SystemTime;

use recycle::weakref::{WeakKeyMap, WeakSet, WeakValueMap};
use recycle::{Gc, GcAny, Trace, gc};

use crate::common::{Tally, Token};

/// A node whose only edge is behind the field type under test.
#[derive(Trace)]
struct Holder<F: Trace + 'static> {
    edge: F,
    #[trace(skip)]
    token: Token,
}

/// Makes a `Holder` whose field refers back to it (through a `GcAny`, which
/// keeps the field's type finite), drops it, and returns
/// what a full collection found.
fn collect_self_cycle<F: Trace + 'static>(
    tally: &Tally,
    empty: F,
    close: impl FnOnce(&F, GcAny),
) -> usize {
    let node = Gc::new(Holder {
        edge: empty,
        token: tally.token(),
    });
    close(&node.edge, GcAny::from(node.clone()));
    drop(node);
    gc::collect()
}

#[test]
fn a_cycle_through_a_once_cell_or_once_lock_is_collected() {
    let tally = Tally::new();
    let found = collect_self_cycle(&tally, OnceCell::new(), |cell, me| {
        assert!(cell.set(me).is_ok());
    });
    assert_eq!((found, tally.dropped()), (1, 1));
    let found = collect_self_cycle(&tally, OnceLock::new(), |cell, me| {
        assert!(cell.set(me).is_ok());
    });
    assert_eq!((found, tally.dropped()), (1, 2));
}

#[test]
fn a_cycle_through_a_mutex_or_rwlock_is_collected() {
    let tally = Tally::new();
    let found = collect_self_cycle(&tally, Mutex::new(None), |m, me| {
        *m.lock().unwrap() = Some(me);
    });
    assert_eq!((found, tally.dropped()), (1, 1));
    let found = collect_self_cycle(&tally, RwLock::new(None), |m, me| {
        *m.write().unwrap() = Some(me);
    });
    assert_eq!((found, tally.dropped()), (1, 2));
}

/// A collection that finds a `Mutex` locked by this thread neither blocks
/// nor panics; the cycle is collected once the lock is released.
#[test]
fn a_mutex_locked_during_a_collection_neither_blocks_nor_panics() {
    let tally = Tally::new();
    let node = Gc::new(Holder {
        edge: Mutex::new(None),
        token: tally.token(),
    });
    *node.edge.lock().unwrap() = Some(GcAny::from(&node));
    {
        let guard = node.edge.lock().unwrap();
        assert_eq!(gc::collect(), 0);
        assert!(guard.is_some());
    }
    drop(node);
    assert_eq!(gc::collect(), 1);
    assert_eq!(tally.dropped(), 1);
}

#[test]
fn a_poisoned_mutex_is_traced_all_the_same() {
    let tally = Tally::new();
    let node = Gc::new(Holder {
        edge: Mutex::new(None),
        token: tally.token(),
    });
    *node.edge.lock().unwrap() = Some(GcAny::from(&node));
    let poison = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _guard = node.edge.lock().unwrap();
        panic!("poison the lock");
    }));
    assert!(poison.is_err() && node.edge.is_poisoned());
    drop(node);
    assert_eq!(gc::collect(), 1);
    assert_eq!(tally.dropped(), 1);
}

/// A `Gc` behind an `Rc` is a root: the cycle through it leaks, as with
/// `Rc` alone, and nothing is freed early.
#[test]
fn a_cycle_through_an_rc_is_not_collected() {
    let tally = Tally::new();
    let shared: Rc<RefCell<Option<GcAny>>> = Rc::default();
    let node = Gc::new(Holder {
        edge: shared.clone(),
        token: tally.token(),
    });
    *shared.borrow_mut() = Some(GcAny::from(&node));
    // The value has no edge the collector sees, so it is untracked.
    assert!(!gc::is_tracked(&node));
    let back_door = Rc::downgrade(&shared);
    drop((node, shared));
    assert_eq!(gc::collect(), 0);
    assert_eq!(tally.dropped(), 0);
    // Broken by hand, as with `Rc` alone, it is freed by counting.
    let shared = back_door.upgrade().expect("leaked, as with Rc");
    let node = shared.borrow_mut().take();
    drop((shared, node));
    assert_eq!(tally.dropped(), 1);
    assert!(back_door.upgrade().is_none());
}

#[test]
fn a_map_keyed_by_an_address_holds_a_cycle_the_collector_sees() {
    #[derive(Trace)]
    struct Server {
        connections: RefCell<HashMap<Ipv4Addr, Gc<Conn>>>,
    }
    #[derive(Trace)]
    struct Conn {
        server: Gc<Server>,
        opened: SystemTime,
        #[trace(skip)]
        token: Token,
    }
    let tally = Tally::new();
    let server = Gc::new(Server {
        connections: RefCell::default(),
    });
    for last in 1..=3 {
        let conn = Gc::new(Conn {
            server: server.clone(),
            opened: SystemTime::UNIX_EPOCH,
            token: tally.token(),
        });
        server
            .connections
            .borrow_mut()
            .insert(Ipv4Addr::new(10, 0, 0, last), conn);
    }
    drop(server);
    assert_eq!(gc::collect(), 4);
    assert_eq!(tally.dropped(), 3);
}

#[test]
fn a_cycle_through_an_owned_cow_or_a_wrapper_is_collected() {
    let tally = Tally::new();
    let found = collect_self_cycle(&tally, RefCell::new(None), |cell, me| {
        *cell.borrow_mut() = Some((Cow::<'static, [GcAny]>::Owned(vec![me]), Reverse(0u8)));
    });
    assert_eq!((found, tally.dropped()), (1, 1));
    let found = collect_self_cycle(&tally, RefCell::new(None), |cell, me| {
        *cell.borrow_mut() = Some(Wrapping(me));
    });
    assert_eq!((found, tally.dropped()), (1, 2));
}

#[test]
fn a_cycle_through_a_gc_any_is_collected() {
    let tally = Tally::new();
    let found = collect_self_cycle(&tally, RefCell::new(None), |cell, me| {
        *cell.borrow_mut() = Some(me);
    });
    assert_eq!((found, tally.dropped()), (1, 1));
}

#[test]
fn a_weak_key_map_owns_its_values_and_a_weak_value_map_its_keys() {
    let tally = Tally::new();
    let key = Gc::new(7u32);
    let found = collect_self_cycle(&tally, WeakKeyMap::new(), |map, me| {
        map.insert(&key, me);
    });
    assert_eq!((found, tally.dropped()), (1, 1));
    // A `WeakValueMap`'s key is held by its table alone (the entry's
    // registration holds no copy): a cycle through it is collected while
    // the value lives on.
    let value = Gc::new(8u32);
    let found = collect_self_cycle(&tally, WeakValueMap::new(), |map, me| {
        map.insert(me, &value);
    });
    assert_eq!((found, tally.dropped()), (1, 2));
    drop(value);
    assert_eq!(tally.dropped(), 2);
    // A `WeakSet` holds nothing strongly: its member is freed by counting.
    let set_tally = Tally::new();
    let member = Gc::new(set_tally.token());
    let set = Gc::new(Holder {
        edge: WeakSet::new(),
        token: tally.token(),
    });
    set.edge.insert(&member);
    drop(member);
    assert_eq!(set_tally.dropped(), 1);
    assert!(set.edge.is_empty());
}

#[test]
fn leaf_types_make_untracked_objects() {
    fn untracked<T: Trace + 'static>(value: T) -> bool {
        !gc::is_tracked(&Gc::new(value))
    }
    assert!(untracked(Ipv4Addr::LOCALHOST));
    assert!(untracked(SystemTime::UNIX_EPOCH));
    assert!(untracked(NonZeroU8::MIN));
    assert!(untracked(std::cmp::Ordering::Less));
    assert!(untracked(Range { start: 1, end: 2 }));
    assert!(untracked(Cow::<'static, str>::Borrowed("text")));
    assert!(untracked(std::ffi::CString::new("c").unwrap()));
    assert!(untracked(main_like as fn() -> u8));
    assert!(untracked(Rc::new(RefCell::new(Vec::<Gc<u8>>::new()))));
    assert!(untracked(Reverse(3u8)));
}

fn main_like() -> u8 {
    0
}
