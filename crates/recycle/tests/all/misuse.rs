//! Soundness under misuse: wrong `Trace` impls, `Drop` impls that touch
//! collected values, panics, re-entrant `collect()`. Each case leaks or
//! panics; none frees a live object. All of these run under Miri in CI.

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};

use recycle::{Gc, Trace, Tracer, gc};

use crate::common::{Node, Tally, Token, size};

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// A cycle member whose `Drop` reads its neighbour.
#[derive(Trace)]
struct Nosy {
    other: RefCell<Option<Gc<Nosy>>>,
    /// Check with `try_deref` first, and log whether the neighbour was intact.
    checked: bool,
    #[trace(skip)]
    token: Token,
    #[trace(skip)]
    name: String,
    #[trace(skip)]
    log: std::rc::Rc<RefCell<Vec<bool>>>,
}

impl Drop for Nosy {
    fn drop(&mut self) {
        if let Some(other) = self.other.borrow().as_ref() {
            if self.checked {
                self.log.borrow_mut().push(Gc::try_deref(other).is_some());
            } else {
                let _ = other.name.len(); // panics if the neighbour is destroyed
            }
        }
    }
}

fn nosy_pair(checked: bool, tally: &Tally) -> std::rc::Rc<RefCell<Vec<bool>>> {
    let log = std::rc::Rc::new(RefCell::new(vec![]));
    let mk = |name: &str| {
        Gc::new(Nosy {
            other: RefCell::new(None),
            checked,
            token: tally.token(),
            name: name.into(),
            log: log.clone(),
        })
    };
    let (a, b) = (mk("a"), mk("b"));
    *a.other.borrow_mut() = Some(b.clone());
    *b.other.borrow_mut() = Some(a.clone());
    log
}

#[test]
fn drop_that_derefs_a_destroyed_neighbour_panics_clearly() {
    let tally = Tally::new();
    nosy_pair(false, &tally);
    let err = catch_unwind(gc::collect).expect_err("the Drop's panic reaches the caller");
    let msg = panic_message(&*err);
    assert!(msg.contains("cycle collector already destroyed"), "{msg}");
    assert!(msg.contains("Nosy"), "{msg}");
    assert_eq!(tally.dropped(), 2, "both values were still dropped");
    assert_eq!(gc::collect(), 0, "heap consistent afterwards");
}

#[test]
fn try_deref_lets_drop_check_first() {
    // From the moment deletion begins, no value of the garbage can be
    // reached, dropped or not: both `Drop`s find their neighbour out of
    // reach (the first one's is not dropped yet, but condemned).
    let tally = Tally::new();
    let log = nosy_pair(true, &tally);
    assert_eq!(gc::collect(), 2);
    assert_eq!(tally.dropped(), 2);
    assert_eq!(*log.borrow(), [false, false]);
}

#[test]
fn debug_of_destroyed_value_does_not_panic() {
    #[derive(Trace)]
    struct Printer {
        me: RefCell<Option<Gc<Printer>>>,
        #[trace(skip)]
        out: std::rc::Rc<RefCell<String>>,
    }
    impl std::fmt::Debug for Printer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("Printer")
        }
    }
    impl Drop for Printer {
        fn drop(&mut self) {
            *self.out.borrow_mut() = format!("{:?}", self.me.borrow());
        }
    }
    let out = std::rc::Rc::new(RefCell::new(String::new()));
    let p = Gc::new(Printer {
        me: RefCell::new(None),
        out: out.clone(),
    });
    *p.me.borrow_mut() = Some(p.clone());
    drop(p);
    assert_eq!(gc::collect(), 1);
    assert_eq!(*out.borrow(), "Some(<destroyed>)");
}

/// A node whose `trace` is wrong in a configurable way.
struct Liar {
    edge: RefCell<Option<Gc<Liar>>>,
    /// How many times `trace` reports `edge`.
    reports: Cell<usize>,
    token: Token,
}

impl Trace for Liar {
    fn trace(&self, tracer: &mut Tracer) {
        for _ in 0..self.reports.get() {
            self.edge.trace(tracer);
        }
    }
}

fn liar(reports: usize, tally: &Tally) -> Gc<Liar> {
    Gc::new(Liar {
        edge: RefCell::new(None),
        reports: Cell::new(reports),
        token: tally.token(),
    })
}

#[test]
fn too_few_edges_leak_never_free() {
    let tally = Tally::new();
    let a = liar(0, &tally);
    let b = liar(0, &tally);
    *a.edge.borrow_mut() = Some(b.clone());
    *b.edge.borrow_mut() = Some(a.clone());
    let wa = Gc::downgrade(&a);
    drop((a, b));
    assert_eq!(
        gc::collect(),
        0,
        "unreported edges look external: nothing freed"
    );
    assert_eq!(tally.dropped(), 0);
    let a = wa.upgrade().expect("still alive");
    a.edge.borrow_mut().take(); // break the cycle by hand
    drop(a);
    assert_eq!(tally.dropped(), 2);
}

#[test]
fn too_many_edges_keep_the_target_alive() {
    // `holder` reports its one handle to `target` three times; `target`
    // has two handles (holder's and ours). The excess is detected and
    // `target` is kept.
    let tally = Tally::new();
    let target = liar(1, &tally);
    let holder = liar(3, &tally);
    *holder.edge.borrow_mut() = Some(target.clone());
    *target.edge.borrow_mut() = Some(holder.clone()); // a cycle
    drop(holder);
    gc::collect();
    assert_eq!(tally.dropped(), 0);
    assert_eq!(target.reports.get(), 1, "target intact");
    let holder = target.edge.borrow().clone().unwrap();
    assert_eq!(holder.reports.get(), 3);
    drop(holder);
    target.edge.borrow_mut().take();
    drop(target);
    assert_eq!(tally.dropped(), 2);
}

/// Reports its own self-loop once and its one handle to `victim` twice.
struct Doubler {
    me: RefCell<Option<Gc<Doubler>>>,
    victim: Gc<Liar>,
    token: Token,
}

impl Trace for Doubler {
    // SAFETY: deliberately BROKEN (it reports `victim` twice), to exercise
    // the collector's last line of defence. The test holds no borrow of the
    // victim across the collection, so nothing reads the dropped value.
    const TRUSTED: Option<recycle::Trust<Self>> = Some(unsafe { recycle::Trust::new_unchecked() });
    fn trace(&self, tracer: &mut Tracer) {
        self.me.trace(tracer);
        self.victim.trace(tracer);
        self.victim.trace(tracer);
    }
}

#[test]
fn a_broken_trust_promise_is_caught_by_the_dead_check() {
    // A trusted impl that lies (its `unsafe` promise broken): `victim` has
    // exactly two handles (the doubler's and `outside`), and the doubler
    // reports its one twice, so the lie cannot be detected: the collector
    // destroys `victim`'s value. The memory stays allocated and the outside
    // handle panics instead of reading a dropped value.
    let tally = Tally::new();
    let outside = liar(0, &tally);
    let doubler = Gc::new(Doubler {
        me: RefCell::new(None),
        victim: outside.clone(),
        token: tally.token(),
    });
    *doubler.me.borrow_mut() = Some(doubler.clone());
    drop(doubler);
    assert_eq!(gc::collect(), 2);
    assert_eq!(tally.dropped(), 2, "both values dropped, once");
    assert!(
        Gc::try_deref(&outside).is_none(),
        "victim's value was destroyed"
    );
    let err = catch_unwind(AssertUnwindSafe(|| outside.reports.get())).unwrap_err();
    assert!(panic_message(&*err).contains("already destroyed"));
    assert_eq!(
        Gc::strong_count(&outside),
        1,
        "memory still owned by the handle"
    );
    assert!(!gc::is_tracked(&outside));
    let weak = Gc::downgrade(&outside);
    assert!(weak.upgrade().is_none());
    drop(outside); // frees nothing yet: the weak handle holds the memory
    drop(weak); // frees the memory; the value is not dropped twice
    assert_eq!(tally.dropped(), 2);
    assert_eq!(gc::collect(), 0);
}

thread_local! {
    static STASH: RefCell<Option<Gc<Liar>>> = const { RefCell::new(None) };
}

/// Reports a handle it does not own: the one in `STASH`.
struct Thief {
    me: RefCell<Option<Gc<Thief>>>,
}

impl Trace for Thief {
    fn trace(&self, tracer: &mut Tracer) {
        self.me.trace(tracer);
        STASH.with(|s| s.borrow().trace(tracer));
    }
}

#[test]
fn edges_to_objects_not_owned_only_leak() {
    // An untrusted (hand-written) `trace` that reports a handle it does not
    // own: its edges are not subtracted, so nothing is destroyed; the cycle
    // through it leaks instead.
    let tally = Tally::new();
    let stashed = liar(0, &tally);
    STASH.with(|s| *s.borrow_mut() = Some(stashed));
    let thief = Gc::new(Thief {
        me: RefCell::new(None),
    });
    *thief.me.borrow_mut() = Some(thief.clone());
    let weak = Gc::downgrade(&thief);
    drop(thief);
    assert_eq!(gc::collect(), 0, "nothing looks like garbage");
    let stashed = STASH.with(|s| s.borrow_mut().take()).unwrap();
    assert_eq!(stashed.reports.get(), 0, "the stashed object is intact");
    drop(stashed);
    assert_eq!(tally.dropped(), 1, "dropped by counting, once");
    // The thief's self-cycle leaked; break it by hand.
    weak.upgrade().unwrap().me.borrow_mut().take();
    assert!(weak.upgrade().is_none());
}

#[test]
fn untrusted_duplicate_edges_only_leak() {
    // Untrusted impls may report anything: here a handle twice, hiding an
    // outside handle. Nothing is destroyed.
    struct Untrusted {
        me: RefCell<Option<Gc<Untrusted>>>,
        victim: Gc<Liar>,
    }
    impl Trace for Untrusted {
        fn trace(&self, tracer: &mut Tracer) {
            self.me.trace(tracer);
            self.victim.trace(tracer);
            self.victim.trace(tracer);
        }
    }
    let tally = Tally::new();
    let outside = liar(0, &tally);
    let u = Gc::new(Untrusted {
        me: RefCell::new(None),
        victim: outside.clone(),
    });
    *u.me.borrow_mut() = Some(u.clone());
    let weak = Gc::downgrade(&u);
    drop(u);
    assert_eq!(gc::collect(), 0);
    assert!(Gc::try_deref(&outside).is_some(), "the victim is intact");
    weak.upgrade().unwrap().me.borrow_mut().take();
    drop(outside);
    assert_eq!(tally.dropped(), 1);
}

/// Its `trace` panics while `armed`.
struct Grenade {
    me: RefCell<Option<Gc<Grenade>>>,
    armed: Cell<bool>,
    token: Token,
}

impl Trace for Grenade {
    // SAFETY: reports only `me`, which this value owns, once.
    const TRUSTED: Option<recycle::Trust<Self>> = Some(unsafe { recycle::Trust::new_unchecked() });
    fn trace(&self, tracer: &mut Tracer) {
        if self.armed.get() {
            panic!("trace exploded");
        }
        self.me.trace(tracer);
    }
}

#[test]
fn panic_in_trace_restores_the_heap() {
    let tally = Tally::new();
    let nodes: Vec<_> = (0..size(50, 10)).map(|i| Node::new(i, &tally)).collect();
    for w in nodes.windows(2) {
        w[0].link(&w[1]);
    }
    nodes.last().unwrap().link(&nodes[0]);
    let g = Gc::new(Grenade {
        me: RefCell::new(None),
        armed: Cell::new(true),
        token: tally.token(),
    });
    *g.me.borrow_mut() = Some(g.clone());
    let weak = Gc::downgrade(&g);
    drop(g);
    drop(nodes);
    let err = catch_unwind(gc::collect).unwrap_err();
    assert_eq!(panic_message(&*err), "trace exploded");
    assert_eq!(
        tally.dropped(),
        0,
        "nothing freed by the aborted collection"
    );
    weak.upgrade().unwrap().armed.set(false);
    assert_eq!(
        gc::collect(),
        size(50, 10) + 1,
        "a later collection frees it all"
    );
    assert_eq!(tally.dropped(), size(50, 10) + 1);
}

/// Its `trace` allocates, clones, drops, and even releases a last handle.
struct Busy {
    me: RefCell<Option<Gc<Busy>>>,
    spare: RefCell<Option<Gc<Node>>>,
    tally: Tally,
}

impl Trace for Busy {
    // SAFETY: reports only `me`, which this value owns, once.
    const TRUSTED: Option<recycle::Trust<Self>> = Some(unsafe { recycle::Trust::new_unchecked() });
    fn trace(&self, tracer: &mut Tracer) {
        let fresh = Node::new(99, &self.tally);
        fresh.link(&fresh); // a new cycle, made mid-collection
        let copy = self.me.borrow().clone();
        drop(copy);
        drop(self.spare.borrow_mut().take()); // possibly the last handle
        assert_eq!(gc::collect(), 0, "nested collect from trace");
        self.me.trace(tracer);
    }
}

#[test]
fn trace_that_creates_and_drops_gc_values() {
    let tally = Tally::new();
    let spare = Node::new(1, &tally);
    spare.link(&spare);
    let busy = Gc::new(Busy {
        me: RefCell::new(None),
        spare: RefCell::new(Some(spare.clone())),
        tally: tally.clone(),
    });
    drop(spare);
    *busy.me.borrow_mut() = Some(busy.clone());
    drop(busy);
    let found = gc::collect();
    assert!(found >= 1);
    // `busy` made new self-looped nodes in each of its traces; they and the
    // spare are garbage for the next collections.
    while gc::collect() > 0 {}
    let created = tally.dropped();
    assert!(
        created >= 2,
        "spare plus at least one fresh node, got {created}"
    );
}

#[test]
fn refcell_mutably_borrowed_during_collect_is_kept() {
    let tally = Tally::new();
    let a = Node::new(0, &tally);
    let b = Node::new(1, &tally);
    a.link(&b);
    b.link(&a);
    drop(b);
    {
        let _borrowed = a.edges.borrow_mut();
        assert_eq!(gc::collect(), 0);
    }
    assert_eq!(tally.dropped(), 0);
    assert_eq!(a.edges.borrow()[0].id, 1, "b intact");
    // Garbage whose RefCell is borrowed during the collection: the borrow
    // holder reaches it, so it stays; once released it is collected.
    let weak = Gc::downgrade(&a);
    let edges = weak.upgrade().unwrap();
    let guard_holder = edges.clone();
    drop((a, edges));
    {
        let _g = guard_holder.edges.borrow_mut();
        assert_eq!(gc::collect(), 0);
    }
    drop(guard_holder);
    assert_eq!(gc::collect(), 2);
    assert_eq!(tally.dropped(), 2);
}

#[test]
fn collect_from_drop_returns_zero() {
    #[derive(Trace)]
    struct Recollect {
        me: RefCell<Option<Gc<Recollect>>>,
        #[trace(skip)]
        seen: std::rc::Rc<Cell<Option<usize>>>,
    }
    impl Drop for Recollect {
        fn drop(&mut self) {
            self.seen.set(Some(gc::collect()));
        }
    }
    let seen = std::rc::Rc::new(Cell::new(None));
    let r = Gc::new(Recollect {
        me: RefCell::new(None),
        seen: seen.clone(),
    });
    *r.me.borrow_mut() = Some(r.clone());
    drop(r);
    assert_eq!(gc::collect(), 1);
    assert_eq!(seen.get(), Some(0), "nested collect returned 0");
    // Outside a collection, collect from Drop is an ordinary collection.
    let r = Gc::new(Recollect {
        me: RefCell::new(None),
        seen: seen.clone(),
    });
    drop(r);
    assert_eq!(seen.get(), Some(0));
}

#[test]
fn panic_in_drop_during_collection() {
    #[derive(Trace)]
    struct Fragile {
        next: RefCell<Option<Gc<Fragile>>>,
        explode: bool,
        #[trace(skip)]
        token: Token,
    }
    impl Drop for Fragile {
        fn drop(&mut self) {
            if self.explode {
                panic!("fragile");
            }
        }
    }
    let tally = Tally::new();
    let n = size(20, 6);
    let nodes: Vec<_> = (0..n)
        .map(|i| {
            Gc::new(Fragile {
                next: RefCell::new(None),
                explode: i % 3 == 1,
                token: tally.token(),
            })
        })
        .collect();
    for i in 0..n {
        *nodes[i].next.borrow_mut() = Some(nodes[(i + 1) % n].clone());
    }
    let survivor = Node::new(7, &tally);
    survivor.link(&survivor);
    drop(nodes);
    let err = catch_unwind(gc::collect).unwrap_err();
    assert_eq!(
        panic_message(&*err),
        "fragile",
        "the first panic reaches the caller"
    );
    assert_eq!(
        tally.dropped(),
        n,
        "the rest of the garbage was still freed"
    );
    assert_eq!(survivor.edges.borrow()[0].id, 7);
    assert_eq!(gc::collect(), 0, "heap consistent");
    drop(survivor);
    assert_eq!(gc::collect(), 1);
}

#[test]
fn ten_million_live_clones() {
    let n = size(10_000_000, 1_000);
    let a = Gc::new(0u8);
    let clones: Vec<_> = (0..n).map(|_| a.clone()).collect();
    assert_eq!(Gc::strong_count(&a), n + 1);
    drop(clones);
    assert_eq!(Gc::strong_count(&a), 1);
}

/// Refcount overflow aborts the process, as `Rc` does. The overflow happens
/// in a child process (this test binary, re-run on this test alone).
#[test]
#[cfg(not(miri))] // Miri cannot start processes
fn refcount_overflow_aborts() {
    if std::env::var_os("RECYCLE_OVERFLOW_CHILD").is_some() {
        let a = Gc::new(1u8);
        loop {
            std::mem::forget(a.clone());
        }
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "misuse::refcount_overflow_aborts", "--nocapture"])
        .env("RECYCLE_OVERFLOW_CHILD", "1")
        .output()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(6), "SIGABRT expected: {out:?}");
}

/// Its `trace` allocates a node, adopts it, and reports it at once.
struct Adopter {
    me: RefCell<Option<Gc<Adopter>>>,
    kids: RefCell<Vec<Gc<Node>>>,
    tally: Tally,
    made: std::rc::Rc<Cell<usize>>,
}

impl Trace for Adopter {
    // SAFETY: reports only `me and kids`, which this value owns, once.
    const TRUSTED: Option<recycle::Trust<Self>> = Some(unsafe { recycle::Trust::new_unchecked() });
    fn trace(&self, tracer: &mut Tracer) {
        if let Ok(mut kids) = self.kids.try_borrow_mut() {
            let id = kids.len();
            kids.push(Node::new(id, &self.tally));
            self.made.set(self.made.get() + 1);
        }
        self.me.trace(tracer);
        self.kids.trace(tracer);
    }
}

#[test]
fn trace_that_adopts_objects_it_allocates() {
    // Objects allocated during a collection are not part of it; an edge to
    // one must leave no trace in its counts for the next collection.
    let tally = Tally::new();
    let made = std::rc::Rc::new(Cell::new(0));
    let adopter = Gc::new(Adopter {
        me: RefCell::new(None),
        kids: RefCell::new(vec![]),
        tally: tally.clone(),
        made: made.clone(),
    });
    *adopter.me.borrow_mut() = Some(adopter.clone());
    for _ in 0..3 {
        assert_eq!(gc::collect(), 0, "the adopter is reachable");
    }
    assert_eq!(tally.dropped(), 0, "no kid was freed while adopted");
    let kids = adopter.kids.borrow().len();
    assert!(kids >= 3, "each collection traced it at least once: {kids}");
    for (i, kid) in adopter.kids.borrow().iter().enumerate() {
        assert_eq!(kid.id, i);
        assert_eq!(Gc::strong_count(kid), 1);
    }
    let weak = Gc::downgrade(&adopter);
    drop(adopter);
    assert_eq!(
        gc::collect(),
        1 + kids,
        "the kid adopted mid-collection is not part of it"
    );
    assert!(weak.upgrade().is_none());
    while gc::collect() > 0 {}
    // Every kid made, including those adopted during the last collection,
    // was dropped exactly once.
    assert_eq!(tally.dropped(), made.get());
}

#[test]
fn borrow_held_across_collect_while_a_trace_lies() {
    // The case that no dead-check can catch: a value borrowed across the
    // collection, while an untrusted `trace` reports the handle it came
    // from. Since untrusted edges are never subtracted, the value is not
    // dropped under the borrow (Miri checks this).
    let tally = Tally::new();
    let held = liar(0, &tally);
    STASH.with(|s| *s.borrow_mut() = Some(held.clone()));
    let thief = Gc::new(Thief {
        me: RefCell::new(None),
    });
    *thief.me.borrow_mut() = Some(thief.clone());
    let weak = Gc::downgrade(&thief);
    drop(thief);
    drop(held);
    STASH.with(|s| {
        let guard = s.borrow();
        let borrowed: &Liar = guard.as_ref().unwrap();
        gc::collect();
        assert_eq!(borrowed.reports.get(), 0, "still intact under the borrow");
    });
    drop(STASH.with(|s| s.borrow_mut().take()));
    weak.upgrade().unwrap().me.borrow_mut().take();
    assert_eq!(tally.dropped(), 1);
}

/// A wrong `Trace`: it reads through its handle before reporting it.
struct ReadsThrough {
    id: usize,
    next: RefCell<Option<Gc<ReadsThrough>>>,
    _token: Token,
}

impl Trace for ReadsThrough {
    // SAFETY: `trace` reports exactly the one handle the value owns (it
    // reads through it first, which is wrong but breaks no count).
    const TRUSTED: Option<recycle::Trust<Self>> = Some(unsafe { recycle::Trust::new_unchecked() });
    fn trace(&self, tracer: &mut Tracer) {
        if let Some(next) = self.next.borrow().as_ref() {
            std::hint::black_box(next.id); // panics once `next` is destroyed
        }
        self.next.trace(tracer);
    }
}

#[test]
fn trace_that_reads_through_its_handles_during_deletion() {
    // `delete_garbage` runs `trace` on the object a few places ahead of the
    // one it deletes, to prefetch what deleting that one will touch. At the
    // end of this ring, that object's neighbour is already destroyed: its
    // wrong `trace` panics. The panic reaches the caller once every object
    // is freed, and nothing is freed twice.
    let tally = Tally::new();
    let n = 12;
    let ring: Vec<Gc<ReadsThrough>> = (0..n)
        .map(|id| {
            Gc::new(ReadsThrough {
                id,
                next: RefCell::new(None),
                _token: tally.token(),
            })
        })
        .collect();
    for (i, node) in ring.iter().enumerate() {
        *node.next.borrow_mut() = Some(ring[(i + 1) % n].clone());
    }
    drop(ring);
    let payload = catch_unwind(AssertUnwindSafe(gc::collect)).expect_err("the wrong trace panics");
    assert!(
        panic_message(&*payload).contains("already destroyed"),
        "{}",
        panic_message(&*payload)
    );
    assert_eq!(tally.dropped(), n, "every object freed");
    assert_eq!(gc::collect(), 0);
}

/// The same for a tracked object, whose count word also carries the flag
/// that asks the drop path to report decrements: its count overflows out of
/// the word rather than into the flag.
#[test]
#[cfg(not(miri))] // Miri cannot start processes
fn refcount_overflow_of_a_tracked_object_aborts() {
    if std::env::var_os("RECYCLE_OVERFLOW_CHILD").is_some() {
        let a = Gc::new(RefCell::new(None::<Gc<u8>>));
        loop {
            std::mem::forget(a.clone());
        }
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "misuse::refcount_overflow_of_a_tracked_object_aborts",
            "--nocapture",
        ])
        .env("RECYCLE_OVERFLOW_CHILD", "1")
        .output()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(6), "SIGABRT expected: {out:?}");
}
