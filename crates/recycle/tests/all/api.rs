//! `Gc` has `Rc`'s semantics for everything `Rc` also has.

use std::cell::RefCell;
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeSet, HashMap};
use std::fmt::{Debug, Display};
use std::hash::{Hash, Hasher};

use recycle::{Gc, Trace, Weak, coerce_gc, gc};

use crate::common::{Node, Tally};

#[test]
fn new_deref_and_counts() {
    let a = Gc::new(String::from("hello"));
    assert_eq!(*a, "hello");
    assert_eq!(a.len(), 5);
    assert_eq!(Gc::strong_count(&a), 1);
    assert_eq!(Gc::weak_count(&a), 0);
    let b = Gc::clone(&a);
    assert_eq!(Gc::strong_count(&a), 2);
    assert!(Gc::ptr_eq(&a, &b));
    assert!(!Gc::ptr_eq(&a, &Gc::new(String::from("hello"))));
    drop(b);
    assert_eq!(Gc::strong_count(&a), 1);
}

#[test]
fn value_dropped_with_last_handle() {
    let tally = Tally::new();
    let a = Gc::new(tally.token());
    let b = a.clone();
    drop(a);
    assert_eq!(tally.dropped(), 0);
    drop(b);
    assert_eq!(tally.dropped(), 1);
}

#[test]
fn downgrade_and_upgrade() {
    let a = Gc::new(7u32);
    let w = Gc::downgrade(&a);
    assert_eq!(Gc::weak_count(&a), 1);
    assert_eq!(w.strong_count(), 1);
    assert_eq!(w.weak_count(), 1);
    let up = w.upgrade().expect("alive");
    assert_eq!(*up, 7);
    assert_eq!(Gc::strong_count(&a), 2);
    drop((a, up));
    assert!(w.upgrade().is_none());
    assert_eq!(w.strong_count(), 0);
    assert_eq!(w.weak_count(), 0);
    let w2 = w.clone();
    assert!(w.ptr_eq(&w2));
}

#[test]
fn weak_new_points_nowhere() {
    let w: Weak<u8> = Weak::new();
    assert!(w.upgrade().is_none());
    assert_eq!(w.strong_count(), 0);
    assert_eq!(w.weak_count(), 0);
    assert!(w.ptr_eq(&Weak::default()));
    let _ = w.clone();
}

#[test]
fn new_cyclic_self_reference() {
    #[derive(Trace)]
    struct Me {
        me: Weak<Me>,
        during: bool,
    }
    let me = Gc::new_cyclic(|w| Me {
        me: w.clone(),
        during: w.upgrade().is_none(),
    });
    assert!(me.during, "upgrade inside new_cyclic returns None");
    assert!(Gc::ptr_eq(&me.me.upgrade().unwrap(), &me));
    assert_eq!(Gc::weak_count(&me), 1);
}

#[test]
fn new_cyclic_panic_frees_allocation() {
    let tally = Tally::new();
    let t = tally.clone();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        Gc::new_cyclic(|_w: &Weak<crate::common::Token>| -> crate::common::Token {
            let _keep = t.token();
            panic!("builder failed")
        })
    }));
    assert!(r.is_err());
    assert_eq!(
        tally.dropped(),
        1,
        "only the builder's local token was dropped"
    );
}

#[test]
fn try_unwrap_and_into_inner() {
    let a = Gc::new(String::from("x"));
    let b = a.clone();
    let a = Gc::try_unwrap(a).expect_err("two handles");
    drop(b);
    assert_eq!(Gc::try_unwrap(a).unwrap(), "x");

    let c = Gc::new(vec![1, 2]);
    let w = Gc::downgrade(&c);
    assert_eq!(Gc::into_inner(c), Some(vec![1, 2]));
    assert!(w.upgrade().is_none(), "weak handles see the value gone");

    let d = Gc::new(3);
    let d2 = d.clone();
    assert_eq!(Gc::into_inner(d), None);
    assert_eq!(Gc::into_inner(d2), Some(3));
}

#[test]
fn try_unwrap_tracked_value_leaves_the_heap() {
    let tally = Tally::new();
    let n = Node::new(1, &tally);
    assert!(gc::is_tracked(&n));
    let node = Gc::try_unwrap(n).ok().expect("unique");
    assert_eq!(node.id, 1);
    assert_eq!(gc::collect(), 0, "the heap no longer lists it");
    drop(node);
    assert_eq!(tally.dropped(), 1);
}

#[test]
fn get_mut_only_when_unique() {
    let mut a = Gc::new(5);
    *Gc::get_mut(&mut a).unwrap() += 1;
    assert_eq!(*a, 6);
    let b = a.clone();
    assert!(Gc::get_mut(&mut a).is_none());
    drop(b);
    let w = Gc::downgrade(&a);
    assert!(Gc::get_mut(&mut a).is_none(), "a Weak exists");
    drop(w);
    assert!(Gc::get_mut(&mut a).is_some());
}

#[test]
fn trait_delegations() {
    let a = Gc::new(3);
    let b = Gc::new(4);
    assert!(a < b);
    assert_eq!(a.cmp(&b), std::cmp::Ordering::Less);
    assert_eq!(a, Gc::new(3));
    assert_eq!(format!("{a} {a:?}"), "3 3");
    assert!(format!("{a:p}").starts_with("0x"));
    assert_eq!(format!("{:p}", a), format!("{:p}", Gc::as_ptr(&a)));
    let hash = |v: &dyn Fn(&mut DefaultHasher)| {
        let mut h = DefaultHasher::new();
        v(&mut h);
        h.finish()
    };
    assert_eq!(hash(&|h| a.hash(h)), hash(&|h| 3.hash(h)));
    let d: Gc<Vec<u8>> = Gc::default();
    assert!(d.is_empty());
    let f: Gc<u8> = Gc::from(9);
    assert_eq!(*f, 9);
    let owned = Gc::new(String::from("as"));
    let s: &String = owned.as_ref();
    assert_eq!(s, "as");
    let mut map: HashMap<Gc<String>, u8> = HashMap::new();
    map.insert(Gc::new("k".to_string()), 1);
    assert_eq!(
        map.get(&String::from("k")),
        Some(&1),
        "Borrow<T>: look up by value"
    );
    let set: BTreeSet<Gc<u8>> = [Gc::new(2), Gc::new(1)].into_iter().collect();
    assert_eq!(set.iter().map(|g| **g).collect::<Vec<_>>(), [1, 2]);
    fn is_unpin<T: Unpin>() {}
    is_unpin::<Gc<std::marker::PhantomPinned>>();
}

#[test]
fn dyn_trait_objects_on_stable() {
    let shown: Gc<dyn Display> = coerce_gc!(Gc::new(42));
    assert_eq!(shown.to_string(), "42");
    let tally = Tally::new();
    let any: Gc<dyn Debug> = coerce_gc!(Gc::new(vec![1, 2, 3]));
    assert_eq!(format!("{any:?}"), "[1, 2, 3]");
    let clone = any.clone();
    assert_eq!(Gc::strong_count(&clone), 2);

    trait Named {
        fn name(&self) -> String;
    }
    impl Named for Node {
        fn name(&self) -> String {
            format!("node {}", self.id)
        }
    }
    let n = Node::new(5, &tally);
    n.link(&n); // a self-cycle, seen through a trait object
    let named: Gc<dyn Named> = coerce_gc!(n);
    assert_eq!(named.name(), "node 5");
    let slice: Gc<[u8]> = coerce_gc!(Gc::new([1u8, 2, 3]));
    assert_eq!(slice.len(), 3);
    drop(named);
    assert_eq!(gc::collect(), 1);
    assert_eq!(tally.dropped(), 1);
}

#[test]
fn untracked_types_cost_the_collector_nothing() {
    assert!(!gc::is_tracked(&Gc::new(String::from("atom"))));
    assert!(!gc::is_tracked(&Gc::new(5u64)));
    assert!(!gc::is_tracked(&Gc::new(vec![Weak::<u8>::new()])));
    let holds: Gc<RefCell<Option<Gc<u8>>>> = Gc::new(RefCell::new(None));
    assert!(gc::is_tracked(&holds));
    let tally = Tally::new();
    assert!(gc::is_tracked(&Node::new(0, &tally)));
}
