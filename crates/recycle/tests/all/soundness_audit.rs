//! Regressions for the outside audit of 7e1ca07 (`shared/audit/`): each test
//! runs the reproducer's attack and asserts the sound outcome, which the
//! audited code did not give. The two forged-trust files are compile-fail
//! tests (`tests/ui/trust_*.rs`); see "Why safe code cannot cause undefined
//! behaviour" in docs/internals for the invariants these guard.

use std::cell::{Cell, RefCell, RefMut};
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use recycle::gc::{self, Phase};
use recycle::{Finalize, Gc, GcAny, Trace, Tracer, Weak, WeakRef};

use crate::common::{Tally, Token};

#[derive(Trace)]
struct Victim {
    me: RefCell<Option<Gc<Victim>>>,
    #[trace(skip)]
    name: String,
}

fn victim(name: &str) -> Gc<Victim> {
    Gc::new(Victim {
        me: RefCell::new(None),
        name: name.into(),
    })
}

/// An untrusted `Trace` impl that reports its handle twice.
struct Evil(Gc<Victim>);
impl Trace for Evil {
    fn trace(&self, t: &mut Tracer) {
        self.0.trace(t);
        self.0.trace(t);
    }
}

#[derive(Trace)]
struct Launderer {
    // Names the type itself: the derive asks about it with a stand-in for
    // `Launderer`, and `Evil`'s trust (none) still counts.
    evil: (Evil, PhantomData<Launderer>),
    me: RefCell<Option<Gc<Launderer>>>,
}

#[derive(Trace)]
struct SelfNamed {
    evil: (Evil, PhantomData<Self>),
}

#[derive(Trace)]
struct Recursive {
    // Trusted: every part is, the type itself included (by induction).
    kids: Vec<Recursive>,
    next: RefCell<Option<Gc<Recursive>>>,
}

#[test]
fn derive_self_mention_does_not_launder_trust() {
    assert!(<Launderer as Trace>::TRUSTED.is_none());
    assert!(<SelfNamed as Trace>::TRUSTED.is_none());
    assert!(
        <Recursive as Trace>::TRUSTED.is_some(),
        "still trusts what it can prove"
    );
    let x = victim("alive");
    let h = Gc::new(Launderer {
        evil: (Evil(x.clone()), PhantomData),
        me: RefCell::new(None),
    });
    *h.me.borrow_mut() = Some(h.clone());
    let weak_h = Gc::downgrade(&h);
    drop(h);
    let r: &Victim = &x; // a borrow held across the collection
    assert_eq!(
        gc::collect(),
        0,
        "the untrusted pair is kept, never freed early"
    );
    assert_eq!(r.name, "alive");
    assert!(Gc::try_deref(&x).is_some());
    // Untrusted, so never collected: broken by hand.
    drop(weak_h.upgrade().unwrap().me.borrow_mut().take());
    assert!(weak_h.upgrade().is_none());
}

thread_local! {
    static STASH: Cell<Option<&'static Victim>> = const { Cell::new(None) };
    static TRACE_CALLS: Cell<usize> = const { Cell::new(0) };
}

fn count_trace() {
    TRACE_CALLS.with(|c| c.set(c.get() + 1));
}

fn trace_calls() -> usize {
    TRACE_CALLS.with(Cell::get)
}

/// Untrusted, owns nothing: upgrades a `Weak` inside `trace`.
struct Upgrader {
    target: Weak<Victim>,
}
impl Trace for Upgrader {
    fn trace(&self, _: &mut Tracer) {
        count_trace();
        if let Some(x) = self.target.upgrade() {
            let leaked: &'static Gc<Victim> = Box::leak(Box::new(x));
            STASH.with(|s| s.set(Some(&**leaked)));
        }
    }
}

#[test]
fn untrusted_trace_never_runs_while_the_collector_counts() {
    let x = victim("xxxx");
    let weak_x = Gc::downgrade(&x);
    let fillers: Vec<Gc<Victim>> = (0..40).map(|_| victim("f")).collect();
    let u = Gc::new(Upgrader {
        target: Gc::downgrade(&x),
    });
    let a = Gc::new(Launderer {
        evil: (Evil(x.clone()), PhantomData),
        me: RefCell::new(None),
    });
    *a.me.borrow_mut() = Some(a.clone());
    let weak_a = Gc::downgrade(&a);
    drop(x);
    for f in &fillers {
        drop(f.clone());
    }
    drop(u.clone());
    drop(a);
    let before = trace_calls();
    gc::collect();
    assert_eq!(trace_calls(), before, "no untrusted trace ran");
    assert!(STASH.with(Cell::get).is_none());
    assert_eq!(
        weak_x.upgrade().expect("x is owned by the kept pair").name,
        "xxxx"
    );
    drop((u, fillers));
    drop(weak_a.upgrade().unwrap().me.borrow_mut().take());
    assert!(weak_x.upgrade().is_none());
}

/// Untrusted; owns a handle to `A`, borrows A's `RefCell` in `trace`.
struct Borrower {
    a: Gc<Holder>,
}
#[derive(Trace)]
struct Holder {
    slot: RefCell<Option<Gc<Victim>>>,
}
impl Trace for Borrower {
    fn trace(&self, _: &mut Tracer) {
        count_trace();
        let a: &'static Holder = Box::leak(Box::new(self.a.clone()));
        if let Ok(guard) = a.slot.try_borrow_mut() {
            let guard: &'static mut RefMut<'static, Option<Gc<Victim>>> =
                Box::leak(Box::new(guard));
            let _ = guard;
        }
    }
}

#[test]
fn no_borrow_can_be_taken_between_subtract_and_mark() {
    let x = victim("xxxx");
    let weak_x = Gc::downgrade(&x);
    let a = Gc::new(Holder {
        slot: RefCell::new(Some(x)),
    });
    let fillers: Vec<Gc<Victim>> = (0..20).map(|_| victim("f")).collect();
    let u = Gc::new(Borrower { a });
    let before = trace_calls();
    assert_eq!(gc::collect(), 0);
    assert_eq!(trace_calls(), before, "no untrusted trace ran");
    assert_eq!(weak_x.upgrade().expect("live child kept").name, "xxxx");
    drop((u, fillers));
}

/// Untrusted; drops the last handle of an object in `trace`.
struct LastDropper {
    a: Gc<Holder>,
}
impl Trace for LastDropper {
    fn trace(&self, _: &mut Tracer) {
        count_trace();
        drop(self.a.slot.borrow_mut().take());
    }
}

#[test]
fn a_trace_cannot_drop_a_last_handle_during_counting() {
    let v = victim("d");
    let weak_v = Gc::downgrade(&v);
    let a = Gc::new(Holder {
        slot: RefCell::new(Some(v)),
    });
    let u = Gc::new(LastDropper { a });
    let before = trace_calls();
    gc::collect();
    gc::collect();
    assert_eq!(trace_calls(), before, "no untrusted trace ran");
    assert!(weak_v.upgrade().is_some(), "the slot is still full");
    drop(u);
    assert!(weak_v.upgrade().is_none(), "freed once, by counting");
}

#[derive(Trace)]
struct Node {
    next: RefCell<Option<Gc<Node>>>,
    #[trace(skip)]
    name: String,
    #[trace(skip)]
    seen: Rc<RefCell<Vec<bool>>>,
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(n) = self.next.borrow().as_ref() {
            let reachable = Gc::try_deref(n).is_some();
            self.seen.borrow_mut().push(reachable);
            // A handle cloned and kept during deletion keeps the memory,
            // never the value.
            KEPT_NODES.with(|k| k.borrow_mut().push(n.clone()));
            if reachable {
                STASH_NODE.with(|s| s.set(Some(&**Box::leak(Box::new(n.clone())))));
            }
        }
    }
}

thread_local! {
    static STASH_NODE: Cell<Option<&'static Node>> = const { Cell::new(None) };
    static KEPT_NODES: RefCell<Vec<Gc<Node>>> = const { RefCell::new(Vec::new()) };
}

#[test]
fn no_garbage_value_is_reachable_from_deletion_on() {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let mk = |name: &str| {
        Gc::new(Node {
            next: RefCell::new(None),
            name: name.repeat(8),
            seen: seen.clone(),
        })
    };
    let (a, b) = (mk("a"), mk("b"));
    *a.next.borrow_mut() = Some(b.clone());
    *b.next.borrow_mut() = Some(a.clone());
    drop((a, b));
    assert_eq!(gc::collect(), 2);
    assert_eq!(
        *seen.borrow(),
        [false, false],
        "neither neighbour was reachable"
    );
    assert!(STASH_NODE.with(Cell::get).is_none());
    let kept = KEPT_NODES.with(|k| std::mem::take(&mut *k.borrow_mut()));
    assert_eq!(kept.len(), 2);
    assert!(
        kept.iter().all(|n| Gc::try_deref(n).is_none()),
        "kept: memory, not values"
    );
    assert!(catch_unwind(AssertUnwindSafe(|| kept[0].name.len())).is_err());
    drop(kept);
    assert_eq!(gc::collect(), 0);
}

/// Tracked (it starts with a handle to a tracked object).
#[derive(Trace)]
struct Bag {
    items: Vec<Gc<Victim>>,
}

fn bag() -> Gc<Bag> {
    Gc::new(Bag {
        items: vec![victim("item")],
    })
}

#[test]
fn get_mut_held_across_an_automatic_collection() {
    let thresholds = gc::get_threshold();
    gc::set_threshold(10, 10, 10);
    let mut bag = bag();
    assert!(gc::is_tracked(&bag));
    drop(bag.clone());
    let m = Gc::get_mut(&mut bag).expect("unique");
    for _ in 0..20 {
        let n = victim("n"); // may collect automatically
        m.items.push(n);
    }
    assert_eq!(m.items.len(), 21);
    assert!(
        !gc::is_tracked(&bag),
        "out of the collector's view while lent"
    );
    assert!(
        gc::get_objects(None)
            .unwrap()
            .iter()
            .all(|o| !o.ptr_eq(&GcAny::from(&bag))),
        "get_objects cannot mint a second handle to it"
    );
    drop(bag);
    gc::set_threshold(thresholds.0, thresholds.1, thresholds.2);
}

#[test]
fn a_detached_object_in_a_cycle_is_found_by_the_next_collection() {
    #[derive(Trace)]
    struct Pair {
        other: RefCell<Option<Gc<Pair>>>,
        items: Vec<Gc<Pair>>,
    }
    let mut p = Gc::new(Pair {
        other: RefCell::new(None),
        items: Vec::new(),
    });
    let q = Gc::new(Pair {
        other: RefCell::new(None),
        items: Vec::new(),
    });
    Gc::get_mut(&mut p).unwrap().items.push(q.clone()); // p detached, p -> q
    assert!(!gc::is_tracked(&p));
    let weak_p = Gc::downgrade(&p);
    *q.other.borrow_mut() = Some(p); // q -> p: the only handle to p moved
    drop(q); // garbage cycle p <-> q, p still detached
    assert_eq!(gc::collect(), 2, "found through q");
    assert!(weak_p.upgrade().is_none());
}

struct Freezer {
    armed: Cell<bool>,
}
impl Trace for Freezer {
    fn trace(&self, _: &mut Tracer) {
        if self.armed.replace(false) {
            gc::freeze();
        }
    }
}

#[test]
fn freeze_in_a_trace_during_get_referrers() {
    let f = Gc::new(Freezer {
        armed: Cell::new(true),
    });
    let others: Vec<Gc<Victim>> = (0..3).map(|_| victim("o")).collect();
    let holder = Gc::new(Holder {
        slot: RefCell::new(Some(others[0].clone())),
    });
    let r = gc::get_referrers(&[GcAny::from(&others[0])]);
    assert_eq!(r.len(), 1, "the walk finished: {r:?}");
    assert!(r[0].ptr_eq(&GcAny::from(&holder)));
    assert!(gc::get_freeze_count() > 0, "freeze ran, outside any walk");
    gc::unfreeze();
    drop((f, others, holder));
}

#[derive(Trace)]
#[trace(finalize)]
struct FreezeOnFinalize {
    me: RefCell<Option<Gc<FreezeOnFinalize>>>,
    #[trace(skip)]
    during: Rc<Cell<Option<usize>>>,
}
impl Finalize for FreezeOnFinalize {
    fn finalize(&self) {
        gc::freeze();
        self.during.set(Some(gc::get_freeze_count()));
        gc::unfreeze();
        gc::freeze();
    }
}

#[test]
fn freeze_and_unfreeze_inside_an_incremental_step_are_deferred() {
    // The audit froze from a trace in the collect step of an incremental
    // cycle; traces cannot run there now, so the attack moves to a finalizer.
    let during = Rc::new(Cell::new(None));
    let n = 20;
    let ring: Vec<Gc<FreezeOnFinalize>> = (0..n)
        .map(|_| {
            Gc::new(FreezeOnFinalize {
                me: RefCell::new(None),
                during: during.clone(),
            })
        })
        .collect();
    for i in 0..n {
        *ring[i].me.borrow_mut() = Some(ring[(i + 1) % n].clone());
    }
    gc::collect(); // everything old
    drop(ring);
    let steps = Rc::new(Cell::new(0));
    let counter = steps.clone();
    let id = gc::add_callback(move |phase, info| {
        if phase == Phase::Stop && info.generation == 2 {
            counter.set(counter.get() + 1);
        }
    });
    let thresholds = gc::get_threshold();
    gc::set_threshold(10, 1, 1);
    let mut keep = Vec::new();
    while during.get().is_none() && keep.len() < 20_000 {
        keep.push(victim("k"));
    }
    gc::set_threshold(thresholds.0, thresholds.1, thresholds.2);
    gc::remove_callback(id);
    assert!(steps.get() > 0, "incremental steps ran");
    assert_eq!(
        during.get(),
        Some(0),
        "deferred: nothing frozen while finalizers run"
    );
    assert!(gc::get_freeze_count() > 0, "done when the step ended");
    gc::unfreeze();
    assert_eq!(
        gc::collect(),
        0,
        "the ring was collected, the heap is sound"
    );
    drop(keep);
}

#[test]
fn gc_values_in_user_thread_locals_dropped_after_recycle_s() {
    thread_local! {
        static KEEP: RefCell<Vec<Gc<Victim>>> = const { RefCell::new(Vec::new()) };
        static KEEP_U: RefCell<Vec<Gc<String>>> = const { RefCell::new(Vec::new()) };
    }
    let joined = std::thread::spawn(|| {
        KEEP.with(|_| {}); // registered before the heap's guard
        KEEP_U.with(|_| {});
        let n = victim("n");
        let m = victim("m");
        *m.me.borrow_mut() = Some(n.clone());
        KEEP.with(|k| k.borrow_mut().push(m));
        KEEP_U.with(|k| {
            k.borrow_mut()
                .extend((0..10).map(|i| Gc::new(format!("s{i}"))))
        });
        drop(n);
    })
    .join();
    assert!(
        joined.is_ok(),
        "the thread exited normally, without an abort"
    );
}

/// Untrusted, holds nothing; panics whenever traced once armed.
struct Res {
    armed: Rc<Cell<bool>>,
}
impl Trace for Res {
    fn trace(&self, _: &mut Tracer) {
        if self.armed.get() {
            panic!("trace panics");
        }
    }
}

#[derive(Trace)]
#[trace(finalize)]
struct G {
    me: RefCell<Option<Gc<G>>>,
    r: RefCell<Option<Gc<Res>>>,
    #[trace(skip)]
    token: Token,
}
thread_local! {
    static RESURRECTED: RefCell<Vec<Gc<Res>>> = const { RefCell::new(Vec::new()) };
}
impl Finalize for G {
    fn finalize(&self) {
        let r = self.r.borrow().clone().unwrap();
        r.armed.set(true);
        RESURRECTED.with(|s| s.borrow_mut().push(r));
    }
}

#[test]
fn a_panicking_trace_cannot_strand_the_resurrection_pass() {
    let tally = Tally::new();
    let armed = Rc::new(Cell::new(false));
    let g = Gc::new(G {
        me: RefCell::new(None),
        r: RefCell::new(None),
        token: tally.token(),
    });
    let r = Gc::new(Res {
        armed: armed.clone(),
    });
    *g.r.borrow_mut() = Some(r.clone());
    *g.me.borrow_mut() = Some(g.clone());
    drop((g, r));
    let result = catch_unwind(AssertUnwindSafe(gc::collect));
    assert!(result.is_ok(), "the untrusted trace never ran");
    assert_eq!(tally.dropped(), 1, "G was freed; only `r` was resurrected");
    RESURRECTED.with(|s| s.borrow_mut().clear());
    assert_eq!(gc::collect(), 0);
}

#[derive(Trace)]
#[trace(finalize)]
struct L {
    next: RefCell<Option<Gc<L>>>,
    me: RefCell<Weak<L>>,
    #[trace(skip)]
    revive: bool,
    #[trace(skip)]
    token: Token,
}
thread_local! {
    static REVIVED: RefCell<Option<Gc<L>>> = const { RefCell::new(None) };
}
impl Finalize for L {
    fn finalize(&self) {
        if self.revive {
            REVIVED.with(|r| *r.borrow_mut() = self.me.borrow().upgrade());
        }
    }
}

fn resurrecting_chain(depth: usize, tally: &Tally) -> Gc<L> {
    let mut head: Option<Gc<L>> = None;
    for i in 0..depth {
        let n = Gc::new(L {
            next: RefCell::new(head.take()),
            me: RefCell::new(Weak::new()),
            revive: i == 0,
            token: tally.token(),
        });
        *n.me.borrow_mut() = Gc::downgrade(&n);
        head = Some(n);
    }
    head.unwrap()
}

#[test]
fn an_object_resurrected_from_the_trashcan_is_tracked_again() {
    for depth in [10, 65, 200] {
        let tally = Tally::new();
        drop(resurrecting_chain(depth, &tally));
        assert_eq!(tally.dropped(), depth - 1);
        let revived = REVIVED.with(|r| r.borrow_mut().take()).expect("revived");
        assert!(gc::is_tracked(&revived), "depth {depth}");
        *revived.next.borrow_mut() = Some(revived.clone());
        drop(revived);
        assert_eq!(gc::collect(), 1, "depth {depth}");
        assert_eq!(tally.dropped(), depth);
    }
}

thread_local! {
    static FOREIGN: RefCell<Option<WeakRef<Victim>>> = const { RefCell::new(None) };
}

/// Untrusted: reports a `WeakRef` it does not own.
struct ReportsForeign {
    me: RefCell<Option<Gc<ReportsForeign>>>,
}
impl Trace for ReportsForeign {
    fn trace(&self, t: &mut Tracer) {
        self.me.trace(t);
        FOREIGN.with(|w| {
            if let Some(w) = w.borrow().as_ref() {
                w.trace(t);
            }
        });
    }
}

#[test]
fn a_foreign_weakref_reported_by_an_untrusted_trace_keeps_its_callback() {
    let ran = Rc::new(Cell::new(false));
    let flag = ran.clone();
    let x = victim("x");
    *x.me.borrow_mut() = Some(x.clone());
    let w = Gc::downgrade_with_callback(&x, move || flag.set(true));
    FOREIGN.with(|s| *s.borrow_mut() = Some(w));
    drop(x);
    #[derive(Trace)]
    struct H {
        g: Gc<ReportsForeign>,
        me: RefCell<Option<Gc<H>>>,
    }
    let h = Gc::new(H {
        g: Gc::new(ReportsForeign {
            me: RefCell::new(None),
        }),
        me: RefCell::new(None),
    });
    *h.me.borrow_mut() = Some(h.clone());
    drop(h);
    assert_eq!(gc::collect(), 3, "x, h and h's (untrusted, acyclic) g");
    assert!(ran.get(), "x died, and its live WeakRef's callback ran");
    FOREIGN.with(|s| s.borrow_mut().take());
}
