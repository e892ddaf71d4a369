//! Weak references with callbacks (Python's `weakref.ref(obj, callback)`).
//! Tests that follow CPython's Lib/test/test_weakref.py name it.

use std::cell::RefCell;
use std::rc::Rc;

use recycle::{Finalize, Gc, Trace, WeakRef, gc};

use crate::common::{Node, Tally};

type Log = Rc<RefCell<Vec<String>>>;

fn logger(log: &Log, text: &str) -> impl FnOnce() + 'static {
    let log = log.clone();
    let text = text.to_string();
    move || log.borrow_mut().push(text)
}

#[test]
fn callback_runs_once_when_the_last_handle_goes() {
    // test_weakref.ReferencesTestCase.test_basic_callback
    let log = Log::default();
    let obj = Gc::new(String::from("referent"));
    let r = Gc::downgrade_with_callback(&obj, logger(&log, "died"));
    assert!(r.callback_pending());
    let keep = obj.clone();
    drop(obj);
    assert!(log.borrow().is_empty());
    drop(keep);
    assert_eq!(*log.borrow(), ["died"]);
    assert!(r.upgrade().is_none());
    assert!(!r.callback_pending());
}

#[test]
fn callbacks_run_newest_first() {
    // test_weakref.ReferencesTestCase.test_multiple_callbacks (order r3, r2, r1)
    let log = Log::default();
    let obj = Gc::new(1u8);
    let _r1 = Gc::downgrade_with_callback(&obj, logger(&log, "r1"));
    let _r2 = Gc::downgrade_with_callback(&obj, logger(&log, "r2"));
    let _r3 = Gc::downgrade_with_callback(&obj, logger(&log, "r3"));
    drop(obj);
    assert_eq!(*log.borrow(), ["r3", "r2", "r1"]);
}

#[test]
fn a_weak_ref_that_dies_first_never_calls_back() {
    // test_weakref: a callback is not called if the weakref dies first.
    let log = Log::default();
    let obj = Gc::new(1u8);
    let r = Gc::downgrade_with_callback(&obj, logger(&log, "never"));
    drop(r);
    drop(obj);
    assert!(log.borrow().is_empty());
}

#[test]
fn callback_sees_the_referent_gone() {
    // test_weakref.ReferencesTestCase.test_multiple_selfref_callbacks: all
    // weak references are cleared before any callback runs.
    let tally = Tally::new();
    let obj = Node::new(0, &tally);
    let weak = Gc::downgrade(&obj);
    let seen = Rc::new(RefCell::new(None));
    let s = seen.clone();
    let _r = Gc::downgrade_with_callback(&obj, move || {
        *s.borrow_mut() = Some(weak.upgrade().is_none())
    });
    drop(obj);
    assert_eq!(*seen.borrow(), Some(true));
}

#[test]
fn callback_for_a_collected_cycle() {
    let log = Log::default();
    let tally = Tally::new();
    let n = Node::new(0, &tally);
    n.link(&n);
    let r = Gc::downgrade_with_callback(&n, logger(&log, "cycle died"));
    drop(n);
    assert!(log.borrow().is_empty());
    assert_eq!(gc::collect(), 1);
    assert_eq!(*log.borrow(), ["cycle died"]);
    assert!(r.upgrade().is_none());
    assert_eq!(tally.dropped(), 1);
}

/// A cycle member holding a weak reference (with callback) to its partner.
#[derive(Trace)]
struct Holder {
    partner: RefCell<Option<Gc<Holder>>>,
    watch: RefCell<Option<WeakRef<Holder>>>,
}

#[test]
fn weak_refs_inside_the_garbage_do_not_call_back() {
    // test_weakref.ReferencesTestCase.test_callback_in_cycle_resurrection:
    // two trash objects holding weakrefs-with-callbacks to each other, plus
    // an external weakref: only the external callback runs.
    let log = Log::default();
    let a = Gc::new(Holder {
        partner: RefCell::new(None),
        watch: RefCell::new(None),
    });
    let b = Gc::new(Holder {
        partner: RefCell::new(Some(a.clone())),
        watch: RefCell::new(None),
    });
    *a.partner.borrow_mut() = Some(b.clone());
    *a.watch.borrow_mut() = Some(Gc::downgrade_with_callback(&b, logger(&log, "inside a")));
    *b.watch.borrow_mut() = Some(Gc::downgrade_with_callback(&a, logger(&log, "inside b")));
    let outside = Gc::downgrade_with_callback(&a, logger(&log, "outside"));
    drop((a, b));
    assert_eq!(gc::collect(), 2);
    assert_eq!(*log.borrow(), ["outside"]);
    drop(outside);
}

#[test]
fn callbacks_may_allocate_drop_and_collect() {
    // test_weakref.ReferencesTestCase.test_callbacks_on_callback and
    // test_gc.GCTests.test_bug1055820d: callbacks that run code, inside a
    // collection, see collect() return 0.
    let tally = Tally::new();
    let inner = Rc::new(RefCell::new(Vec::new()));
    let n = Node::new(0, &tally);
    n.link(&n);
    let t = tally.clone();
    let out = inner.clone();
    let _r = Gc::downgrade_with_callback(&n, move || {
        let fresh = Node::new(1, &t);
        fresh.link(&fresh);
        drop(fresh); // new garbage
        out.borrow_mut().push(gc::collect());
    });
    drop(n);
    assert_eq!(gc::collect(), 1);
    assert_eq!(*inner.borrow(), [0], "nested collect returned 0");
    assert_eq!(gc::collect(), 1, "the callback's own garbage, next time");
    assert_eq!(tally.dropped(), 2);
}

#[test]
fn a_panicking_callback_does_not_stop_the_others() {
    let log = Log::default();
    let tally = Tally::new();
    let n = Node::new(0, &tally);
    n.link(&n);
    let _r1 = Gc::downgrade_with_callback(&n, logger(&log, "first"));
    let _r2 = Gc::downgrade_with_callback(&n, || panic!("callback failed"));
    let _r3 = Gc::downgrade_with_callback(&n, logger(&log, "third"));
    drop(n);
    let err = std::panic::catch_unwind(gc::collect).unwrap_err();
    assert_eq!(err.downcast_ref::<&str>(), Some(&"callback failed"));
    assert_eq!(*log.borrow(), ["third", "first"]);
    assert_eq!(tally.dropped(), 1);
}

/// Resurrects itself (through a stashed clone of its own handle) once.
#[derive(Trace)]
#[trace(finalize)]
struct Lazarus {
    me: RefCell<Option<Gc<Lazarus>>>,
    #[trace(skip)]
    log: Log,
}

thread_local! {
    static RISEN: RefCell<Option<Gc<Lazarus>>> = const { RefCell::new(None) };
}

impl Finalize for Lazarus {
    fn finalize(&self) {
        self.log.borrow_mut().push("finalize".into());
        let me = self.me.borrow().clone();
        RISEN.with(|r| *r.borrow_mut() = me);
    }
}

#[test]
fn callback_waits_for_the_real_death_of_a_resurrected_object() {
    // The documented rule: a weak callback runs once, after the referent's
    // finalizer, when the referent really dies; resurrection postpones it.
    let log = Log::default();
    let l = Gc::new(Lazarus {
        me: RefCell::new(None),
        log: log.clone(),
    });
    *l.me.borrow_mut() = Some(l.clone());
    let r = Gc::downgrade_with_callback(&l, logger(&log, "callback"));
    drop(l);
    assert_eq!(gc::collect(), 0, "resurrected");
    assert_eq!(*log.borrow(), ["finalize"]);
    assert!(r.upgrade().is_some());
    let risen = RISEN.with(|x| x.borrow_mut().take()).unwrap();
    drop(risen);
    assert_eq!(gc::collect(), 1);
    assert_eq!(
        *log.borrow(),
        ["finalize", "callback"],
        "no second finalizer"
    );
    assert!(r.upgrade().is_none());
}
