//! PEP 442 finalizers: exactly once, before destruction, on both paths;
//! all of a cycle's finalizers before any `Drop`; resurrection. Tests that
//! follow CPython's Lib/test/test_finalization.py or test_gc.py name it.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use recycle::{Finalize, Gc, Trace, Weak, gc};

type Log = Rc<RefCell<Vec<String>>>;

thread_local! {
    /// Where finalizers resurrect objects to.
    static STASH: RefCell<Vec<Gc<Phoenix>>> = const { RefCell::new(Vec::new()) };
}

/// Logs its finalizer and its drop; may resurrect itself or its partner.
#[derive(Trace)]
#[trace(finalize)]
struct Phoenix {
    name: &'static str,
    partner: RefCell<Option<Gc<Phoenix>>>,
    me: RefCell<Weak<Phoenix>>,
    #[trace(skip)]
    log: Log,
    #[trace(skip)]
    resurrect_self: Cell<bool>,
    #[trace(skip)]
    resurrect_partner: Cell<bool>,
    #[trace(skip)]
    explode: bool,
}

impl Finalize for Phoenix {
    fn finalize(&self) {
        // Everything of the cycle is intact: read the partner.
        let partner = self
            .partner
            .borrow()
            .as_ref()
            .map(|p| p.name)
            .unwrap_or("-");
        self.log
            .borrow_mut()
            .push(format!("finalize {} (partner {partner})", self.name));
        if self.resurrect_self.get() {
            let me = self
                .me
                .borrow()
                .upgrade()
                .expect("weak handles work during finalizers");
            STASH.with(|s| s.borrow_mut().push(me));
        }
        if self.resurrect_partner.get() {
            let partner = self.partner.borrow().clone().unwrap();
            STASH.with(|s| s.borrow_mut().push(partner));
        }
        assert_eq!(gc::collect(), 0, "collect from a finalizer returns 0");
        if self.explode {
            panic!("finalizer of {} failed", self.name);
        }
    }
}

impl Drop for Phoenix {
    fn drop(&mut self) {
        self.log.borrow_mut().push(format!("drop {}", self.name));
    }
}

fn phoenix(name: &'static str, log: &Log) -> Gc<Phoenix> {
    let p = Gc::new(Phoenix {
        name,
        partner: RefCell::new(None),
        me: RefCell::new(Weak::new()),
        log: log.clone(),
        resurrect_self: Cell::new(false),
        resurrect_partner: Cell::new(false),
        explode: false,
    });
    *p.me.borrow_mut() = Gc::downgrade(&p);
    p
}

/// A `Phoenix` whose finalizer panics.
fn exploding(name: &'static str, log: &Log) -> Gc<Phoenix> {
    Gc::new(Phoenix {
        name,
        partner: RefCell::new(None),
        me: RefCell::new(Weak::new()),
        log: log.clone(),
        resurrect_self: Cell::new(false),
        resurrect_partner: Cell::new(false),
        explode: true,
    })
}

fn take_log(log: &Log) -> Vec<String> {
    std::mem::take(&mut *log.borrow_mut())
}

fn clear_stash() -> Vec<Gc<Phoenix>> {
    STASH.with(|s| std::mem::take(&mut *s.borrow_mut()))
}

#[test]
fn finalizer_runs_once_when_the_last_handle_goes() {
    // test_finalization.SimpleFinalizationTest.test_simple
    let log = Log::default();
    let p = phoenix("a", &log);
    let q = p.clone();
    drop(p);
    assert!(take_log(&log).is_empty());
    drop(q);
    assert_eq!(take_log(&log), ["finalize a (partner -)", "drop a"]);
    assert_eq!(gc::collect(), 0);
    assert!(take_log(&log).is_empty());
}

#[test]
fn all_finalizers_of_a_cycle_run_before_any_drop() {
    // test_finalization.CycleChainFinalizationTest: every finalizer first.
    let log = Log::default();
    let a = phoenix("a", &log);
    let b = phoenix("b", &log);
    let c = phoenix("c", &log);
    *a.partner.borrow_mut() = Some(b.clone());
    *b.partner.borrow_mut() = Some(c.clone());
    *c.partner.borrow_mut() = Some(a.clone());
    drop((a, b, c));
    assert_eq!(gc::collect(), 3);
    let entries = take_log(&log);
    assert_eq!(entries.len(), 6, "{entries:?}");
    assert!(
        entries[..3].iter().all(|e| e.starts_with("finalize")),
        "{entries:?}"
    );
    assert!(
        entries[3..].iter().all(|e| e.starts_with("drop")),
        "{entries:?}"
    );
    for e in &entries[..3] {
        assert!(
            !e.ends_with("(partner -)"),
            "each finalizer saw its partner: {e}"
        );
    }
}

#[test]
fn self_resurrection_by_refcount() {
    // test_finalization.SimpleFinalizationTest.test_simple_resurrect
    let log = Log::default();
    let p = phoenix("a", &log);
    p.resurrect_self.set(true);
    drop(p);
    assert_eq!(
        take_log(&log),
        ["finalize a (partner -)"],
        "finalized, not dropped"
    );
    let back = clear_stash().pop().unwrap();
    assert!(gc::is_finalized(&back));
    assert_eq!(back.name, "a");
    assert_eq!(Gc::strong_count(&back), 1);
    drop(back);
    assert_eq!(take_log(&log), ["drop a"], "the finalizer never runs again");
}

#[test]
fn self_resurrection_from_a_cycle() {
    // test_finalization.SelfCycleFinalizationTest.test_simple_resurrect
    let log = Log::default();
    let p = phoenix("a", &log);
    *p.partner.borrow_mut() = Some(p.clone());
    p.resurrect_self.set(true);
    let weak = Gc::downgrade(&p);
    drop(p);
    assert_eq!(gc::collect(), 0, "a resurrected object is not counted");
    assert_eq!(take_log(&log), ["finalize a (partner a)"]);
    let back = weak
        .upgrade()
        .expect("weak handles see the resurrected object");
    assert!(gc::is_finalized(&back));
    assert!(
        Gc::ptr_eq(back.partner.borrow().as_ref().unwrap(), &back),
        "intact"
    );
    drop(back);
    drop(clear_stash());
    assert_eq!(gc::collect(), 1);
    assert_eq!(take_log(&log), ["drop a"], "no second finalizer call");
    assert!(weak.upgrade().is_none());
}

#[test]
fn resurrection_is_transitive() {
    // test_finalization.CycleChainFinalizationTest.test_partial_resurrect:
    // resurrecting one member brings back everything it reaches.
    let log = Log::default();
    let a = phoenix("a", &log);
    let b = phoenix("b", &log);
    let c = phoenix("c", &log);
    *a.partner.borrow_mut() = Some(b.clone());
    *b.partner.borrow_mut() = Some(c.clone());
    *c.partner.borrow_mut() = Some(a.clone());
    a.resurrect_partner.set(true); // stashes b; b -> c -> a
    drop((a, b, c));
    assert_eq!(gc::collect(), 0);
    assert_eq!(take_log(&log).len(), 3, "all three finalized, none dropped");
    let b = clear_stash().pop().unwrap();
    assert_eq!(b.name, "b");
    let c = b.partner.borrow().clone().unwrap();
    let a = c.partner.borrow().clone().unwrap();
    assert!(gc::is_finalized(&a) && gc::is_finalized(&b) && gc::is_finalized(&c));
    assert_eq!(a.partner.borrow().as_ref().unwrap().name, "b");
    drop((a, b, c));
    assert_eq!(gc::collect(), 3);
    let entries = take_log(&log);
    assert_eq!(entries.len(), 3);
    assert!(entries.iter().all(|e| e.starts_with("drop")), "{entries:?}");
}

#[test]
fn weak_handles_to_unresurrected_garbage_die_after_the_finalizers() {
    let log = Log::default();
    let p = phoenix("a", &log);
    *p.partner.borrow_mut() = Some(p.clone());
    let weak = Gc::downgrade(&p);
    drop(p);
    assert_eq!(gc::collect(), 1);
    assert!(weak.upgrade().is_none());
    assert_eq!(take_log(&log), ["finalize a (partner a)", "drop a"]);
}

#[test]
fn panic_in_a_finalizer_during_collection() {
    let log = Log::default();
    let a = exploding("a", &log);
    let b = phoenix("b", &log);
    *a.partner.borrow_mut() = Some(b.clone());
    *b.partner.borrow_mut() = Some(a.clone());
    drop((a, b));
    let err = std::panic::catch_unwind(gc::collect).unwrap_err();
    assert_eq!(
        err.downcast_ref::<String>().unwrap(),
        "finalizer of a failed"
    );
    let entries = take_log(&log);
    assert_eq!(
        entries.len(),
        4,
        "the other finalizer ran and both dropped: {entries:?}"
    );
    assert_eq!(gc::collect(), 0, "heap consistent");
}

#[test]
fn panic_in_a_finalizer_by_refcount_still_destroys() {
    let log = Log::default();
    let a = exploding("a", &log);
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(a))).unwrap_err();
    assert_eq!(
        err.downcast_ref::<String>().unwrap(),
        "finalizer of a failed"
    );
    assert_eq!(take_log(&log), ["finalize a (partner -)", "drop a"]);
}

#[test]
fn types_without_finalizers_are_never_finalized() {
    let n = Gc::new(RefCell::new(Vec::<Gc<u8>>::new()));
    assert!(!gc::is_finalized(&n));
    const { assert!(!<RefCell<Vec<Gc<u8>>> as Trace>::HAS_FINALIZER) };
    const { assert!(<Phoenix as Trace>::HAS_FINALIZER) };
}
