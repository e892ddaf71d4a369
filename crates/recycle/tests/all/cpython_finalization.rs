//! Ports of CPython's Lib/test/test_finalization.py (PEP 442), each test
//! named after the one it follows. The legacy `tp_del` tests have no
//! counterpart (recycle has no legacy finalizers).
//!
//! Two deliberate differences, both documented on `Finalize`:
//! - weak handles to an object a finalizer resurrects keep working (CPython
//!   3.15's order; the 3.14 test asserts `wr() is None` with "XXX is this
//!   desirable?");
//! - the FINALIZED flag lives in every object's header, so an untracked
//!   object's finalizer also runs only once (CPython runs a non-GC object's
//!   `__del__` again after resurrection).

use std::cell::{Cell, RefCell};

use recycle::{Finalize, Gc, Trace, Weak, gc};

/// What a finalizer does after recording its call (the Python classes).
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// `SimpleChained`, `SimpleSelfCycle`, `Simple`.
    Simple,
    /// `ChainedResurrector`, `SelfCycleResurrector`, `SimpleResurrector`.
    Resurrector,
    /// `SuicidalChained`, `SuicidalSelfCycle`: breaks its own links.
    Suicidal,
}

thread_local! {
    static DEL_CALLS: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
    static SURVIVORS: RefCell<Vec<Gc<Chained>>> = const { RefCell::new(Vec::new()) };
    static ERRORS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// A node of a self-cycle or of a cyclic chain (`ChainedBase`).
#[derive(Trace)]
#[trace(finalize)]
struct Chained {
    id: usize,
    left: RefCell<Option<Gc<Chained>>>,
    right: RefCell<Option<Gc<Chained>>>,
    me: RefCell<Weak<Chained>>,
    #[trace(skip)]
    kind: Kind,
    #[trace(skip)]
    suicided: Cell<bool>,
    /// Linked into a cycle (only then are the links checked).
    #[trace(skip)]
    chained: Cell<bool>,
}

impl Chained {
    fn new(id: usize, kind: Kind) -> Gc<Chained> {
        let node = Gc::new(Chained {
            id,
            left: RefCell::new(None),
            right: RefCell::new(None),
            me: RefCell::new(Weak::new()),
            kind,
            suicided: Cell::new(false),
            chained: Cell::new(false),
        });
        *node.me.borrow_mut() = Gc::downgrade(&node);
        node
    }

    /// `ChainedBase.check_sanity`: both neighbours intact and consistent.
    fn check_sanity(&self) -> Result<(), String> {
        if self.suicided.get() || !self.chained.get() {
            return Ok(());
        }
        let (left, right) = (self.left.borrow(), self.right.borrow());
        let (Some(left), Some(right)) = (&*left, &*right) else {
            return Err(format!("node {} lost a link before its finalizer", self.id));
        };
        if !left.suicided.get() && left.right.borrow().as_ref().map(|r| r.id) != Some(self.id) {
            return Err(format!("left of {} is inconsistent", self.id));
        }
        if !right.suicided.get() && right.left.borrow().as_ref().map(|l| l.id) != Some(self.id) {
            return Err(format!("right of {} is inconsistent", self.id));
        }
        Ok(())
    }
}

impl Finalize for Chained {
    fn finalize(&self) {
        DEL_CALLS.with(|d| d.borrow_mut().push(self.id));
        if let Err(e) = self.check_sanity() {
            ERRORS.with(|errors| errors.borrow_mut().push(e));
        }
        match self.kind {
            Kind::Simple => {}
            Kind::Resurrector => {
                let me = self.me.borrow().upgrade().unwrap();
                SURVIVORS.with(|s| s.borrow_mut().push(me));
            }
            Kind::Suicidal => {
                self.suicided.set(true);
                let left = self.left.borrow_mut().take();
                let right = self.right.borrow_mut().take();
                drop((left, right));
            }
        }
    }
}

/// `NonGCSimpleBase.test()`: automatic collection off, clean state, and
/// no finalizer error.
fn with_clean_state(body: impl FnOnce()) {
    gc::disable();
    DEL_CALLS.with(|d| d.borrow_mut().clear());
    body();
    let errors = ERRORS.with(|e| std::mem::take(&mut *e.borrow_mut()));
    SURVIVORS.with(|s| s.borrow_mut().clear());
    gc::collect();
    gc::enable();
    assert!(errors.is_empty(), "{errors:?}");
}

fn del_calls() -> Vec<usize> {
    let mut calls = DEL_CALLS.with(|d| d.borrow().clone());
    calls.sort();
    calls
}

fn survivors() -> Vec<usize> {
    let mut ids: Vec<usize> = SURVIVORS.with(|s| s.borrow().iter().map(|n| n.id).collect());
    ids.sort();
    ids
}

fn clear_survivors() {
    let gone = SURVIVORS.with(|s| std::mem::take(&mut *s.borrow_mut()));
    drop(gone);
}

// --- SimpleFinalizationTest: no cycles ---------------------------------

#[test]
fn simple_finalization_test_simple() {
    // test_finalization.SimpleFinalizationTest.test_simple
    with_clean_state(|| {
        let s = Chained::new(1, Kind::Simple);
        let wr = Gc::downgrade(&s);
        drop(s);
        gc::collect();
        assert_eq!(del_calls(), [1]);
        assert!(survivors().is_empty());
        assert!(wr.upgrade().is_none());
        gc::collect();
        assert_eq!(del_calls(), [1]);
    });
}

#[test]
fn simple_finalization_test_simple_resurrect() {
    // test_finalization.SimpleFinalizationTest.test_simple_resurrect
    with_clean_state(|| {
        let s = Chained::new(1, Kind::Resurrector);
        let wr = Gc::downgrade(&s);
        drop(s);
        gc::collect();
        assert_eq!(del_calls(), [1]);
        assert_eq!(survivors(), [1]);
        assert!(wr.upgrade().is_some());
        clear_survivors();
        gc::collect();
        assert_eq!(del_calls(), [1], "not finalized twice");
        assert!(survivors().is_empty());
        assert!(wr.upgrade().is_none());
    });
}

/// `NonGC`/`NonGCResurrector`: a finalizer on an untracked object. Written
/// by hand: the derive counts a field naming the type itself (here
/// `Weak<NonGc>`) as possibly holding a `Gc`, and this type must be untracked.
struct NonGc {
    id: usize,
    me: RefCell<Weak<NonGc>>,
    resurrect: bool,
}

impl Trace for NonGc {
    const MAY_CONTAIN_GC: bool = false;
    const HAS_FINALIZER: bool = true;
    fn trace(&self, _: &mut recycle::Tracer) {}
    fn finalize(&self) {
        DEL_CALLS.with(|d| d.borrow_mut().push(self.id));
        if self.resurrect {
            let me = self.me.borrow().upgrade().unwrap();
            NON_GC_SURVIVORS.with(|s| s.borrow_mut().push(me));
        }
    }
}

thread_local! {
    static NON_GC_SURVIVORS: RefCell<Vec<Gc<NonGc>>> = const { RefCell::new(Vec::new()) };
}

fn non_gc(resurrect: bool) -> Gc<NonGc> {
    let s = Gc::new(NonGc {
        id: 7,
        me: RefCell::new(Weak::new()),
        resurrect,
    });
    *s.me.borrow_mut() = Gc::downgrade(&s);
    s
}

#[test]
fn simple_finalization_test_non_gc() {
    // test_finalization.SimpleFinalizationTest.test_non_gc
    with_clean_state(|| {
        let s = non_gc(false);
        assert!(!gc::is_tracked(&s));
        drop(s);
        gc::collect();
        assert_eq!(del_calls(), [7]);
        gc::collect();
        assert_eq!(del_calls(), [7]);
    });
}

#[test]
fn simple_finalization_test_non_gc_resurrect() {
    // test_finalization.SimpleFinalizationTest.test_non_gc_resurrect
    // (difference: the finalizer does not run a second time)
    with_clean_state(|| {
        let s = non_gc(true);
        assert!(!gc::is_tracked(&s));
        drop(s);
        gc::collect();
        assert_eq!(del_calls(), [7]);
        let back = NON_GC_SURVIVORS.with(|v| std::mem::take(&mut *v.borrow_mut()));
        assert_eq!(back.len(), 1);
        assert!(gc::is_finalized(&back[0]));
        drop(back);
        gc::collect();
        assert_eq!(del_calls(), [7]);
    });
}

// --- SelfCycleFinalizationTest -----------------------------------------

fn self_cycle(kind: Kind) -> Gc<Chained> {
    let s = Chained::new(1, kind);
    s.chained.set(true);
    *s.left.borrow_mut() = Some(s.clone());
    *s.right.borrow_mut() = Some(s.clone());
    s
}

#[test]
fn self_cycle_finalization_test_simple() {
    // test_finalization.SelfCycleFinalizationTest.test_simple
    with_clean_state(|| {
        let s = self_cycle(Kind::Simple);
        let wr = Gc::downgrade(&s);
        drop(s);
        assert_eq!(gc::collect(), 1);
        assert_eq!(del_calls(), [1]);
        assert!(survivors().is_empty());
        assert!(wr.upgrade().is_none());
        gc::collect();
        assert_eq!(del_calls(), [1]);
    });
}

#[test]
fn self_cycle_finalization_test_simple_resurrect() {
    // test_finalization.SelfCycleFinalizationTest.test_simple_resurrect
    // (difference: the weak handle still upgrades after the resurrection)
    with_clean_state(|| {
        let s = self_cycle(Kind::Resurrector);
        let wr = Gc::downgrade(&s);
        drop(s);
        assert_eq!(gc::collect(), 0);
        assert_eq!(del_calls(), [1]);
        assert_eq!(survivors(), [1]);
        assert!(wr.upgrade().is_some());
        clear_survivors();
        assert_eq!(gc::collect(), 1);
        assert_eq!(del_calls(), [1], "__del__ isn't called anymore");
        assert!(survivors().is_empty());
        assert!(wr.upgrade().is_none());
    });
}

#[test]
fn self_cycle_finalization_test_simple_suicide() {
    // test_finalization.SelfCycleFinalizationTest.test_simple_suicide
    with_clean_state(|| {
        let s = self_cycle(Kind::Suicidal);
        let wr = Gc::downgrade(&s);
        drop(s);
        gc::collect();
        assert_eq!(del_calls(), [1]);
        assert!(survivors().is_empty());
        assert!(wr.upgrade().is_none());
        gc::collect();
        assert_eq!(del_calls(), [1]);
    });
}

// --- CycleChainFinalizationTest: finalizers in a cyclic isolate ---------

/// `build_chain`: node i's left is node i-1 (cyclically).
fn build_chain(kinds: &[Kind]) -> Vec<Gc<Chained>> {
    let nodes: Vec<_> = kinds
        .iter()
        .enumerate()
        .map(|(i, k)| Chained::new(i, *k))
        .collect();
    for i in 0..nodes.len() {
        nodes[i].chained.set(true);
        let left = nodes[(i + nodes.len() - 1) % nodes.len()].clone();
        *left.right.borrow_mut() = Some(nodes[i].clone());
        *nodes[i].left.borrow_mut() = Some(left);
    }
    nodes
}

fn check_non_resurrecting_chain(kinds: &[Kind]) {
    with_clean_state(|| {
        let nodes = build_chain(kinds);
        let ids: Vec<usize> = (0..kinds.len()).collect();
        let wrs: Vec<_> = nodes.iter().map(Gc::downgrade).collect();
        drop(nodes);
        gc::collect();
        assert_eq!(del_calls(), ids);
        assert!(survivors().is_empty());
        assert!(wrs.iter().all(|w| w.upgrade().is_none()));
        gc::collect();
        assert_eq!(del_calls(), ids);
    });
}

fn check_resurrecting_chain(kinds: &[Kind]) {
    with_clean_state(|| {
        let nodes = build_chain(kinds);
        let ids: Vec<usize> = (0..kinds.len()).collect();
        let survivor_ids: Vec<usize> = nodes
            .iter()
            .filter(|n| n.kind == Kind::Resurrector)
            .map(|n| n.id)
            .collect();
        let wrs: Vec<_> = nodes.iter().map(Gc::downgrade).collect();
        drop(nodes);
        gc::collect();
        assert_eq!(del_calls(), ids);
        assert_eq!(survivors(), survivor_ids);
        clear_survivors();
        gc::collect();
        assert_eq!(del_calls(), ids, "nobody finalized twice");
        assert!(survivors().is_empty());
        assert!(wrs.iter().all(|w| w.upgrade().is_none()));
    });
}

use Kind::{Resurrector as R, Simple as S, Suicidal as X};

#[test]
fn cycle_chain_test_homogenous() {
    // test_finalization.CycleChainFinalizationTest.test_homogenous
    check_non_resurrecting_chain(&[S, S, S]);
}

#[test]
fn cycle_chain_test_homogenous_resurrect() {
    // test_finalization.CycleChainFinalizationTest.test_homogenous_resurrect
    check_resurrecting_chain(&[R, R, R]);
}

#[test]
fn cycle_chain_test_homogenous_suicidal() {
    // test_finalization.CycleChainFinalizationTest.test_homogenous_suicidal
    check_non_resurrecting_chain(&[X, X, X]);
}

#[test]
fn cycle_chain_test_heterogenous_suicidal_one() {
    // test_finalization.CycleChainFinalizationTest.test_heterogenous_suicidal_one
    check_non_resurrecting_chain(&[X, S, X, S]);
}

#[test]
fn cycle_chain_test_heterogenous_suicidal_two() {
    // test_finalization.CycleChainFinalizationTest.test_heterogenous_suicidal_two
    check_non_resurrecting_chain(&[X, X, S, S]);
}

#[test]
fn cycle_chain_test_heterogenous_resurrect_one() {
    // test_finalization.CycleChainFinalizationTest.test_heterogenous_resurrect_one
    check_resurrecting_chain(&[R, S, R, S]);
}

#[test]
fn cycle_chain_test_heterogenous_resurrect_two() {
    // test_finalization.CycleChainFinalizationTest.test_heterogenous_resurrect_two
    check_resurrecting_chain(&[R, S, X, R, S, X]);
}

#[test]
fn cycle_chain_test_heterogenous_resurrect_three() {
    // test_finalization.CycleChainFinalizationTest.test_heterogenous_resurrect_three
    check_resurrecting_chain(&[R, R, S, S, X, X]);
}
