//! An adversarial property test: on random graphs of trusted, finalizable
//! and untrusted objects, user code (untrusted `trace`s, `Drop`s,
//! finalizers, weak callbacks) takes random actions from a menu: clone,
//! drop, upgrade, move a handle between objects, `borrow_mut` and
//! `get_mut` held across a collection, `collect`, `freeze`/`unfreeze`,
//! `get_referrers`, panic, resurrect into a thread-local. After every step
//! the model is checked: no value is dropped twice, and no live (not
//! `DEAD`) handle reaches a dropped value. At the end, with every edge
//! broken, every object has been dropped exactly once. Miri checks every
//! step for undefined behaviour.

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};

use recycle::{Finalize, Gc, GcAny, Trace, Tracer, Weak, WeakRef, gc};

use crate::common::{Rng, size};

/// A handle to any of the three kinds.
#[derive(Trace, Clone)]
enum H {
    T(Gc<TObj>),
    F(Gc<FObj>),
    U(Gc<UObj>),
}

/// The part every object has.
struct Body {
    id: usize,
    /// `ALIVE` until dropped.
    magic: Cell<u64>,
    edges: RefCell<Vec<H>>,
    watchers: RefCell<Vec<WeakRef<TObj>>>,
}

const ALIVE: u64 = 0x5eed_a11c_e0de_cafe;

/// Trusted (derived).
#[derive(Trace)]
struct TObj {
    edges: RefCell<Vec<H>>,
    watchers: RefCell<Vec<WeakRef<TObj>>>,
    #[trace(skip)]
    body: Body,
}

/// Trusted, with a finalizer that acts.
#[derive(Trace)]
#[trace(finalize)]
struct FObj {
    edges: RefCell<Vec<H>>,
    #[trace(skip)]
    body: Body,
}

/// Untrusted: its `trace` acts, and lies.
struct UObj {
    body: Body,
}

impl Trace for UObj {
    fn trace(&self, tracer: &mut Tracer) {
        if let Ok(edges) = self.body.edges.try_borrow() {
            for e in edges.iter() {
                e.trace(tracer);
                e.trace(tracer); // over-reports: untrusted, so harmless
            }
        }
        act("trace");
    }
}

impl Finalize for FObj {
    fn finalize(&self) {
        act("finalizer");
    }
}

impl Drop for Body {
    fn drop(&mut self) {
        MODEL.with(|m| {
            let mut m = m.borrow_mut();
            if self.magic.get() != ALIVE {
                m.violations
                    .push(format!("object {} dropped twice", self.id));
            }
            m.dropped[self.id] += 1;
        });
        self.magic.set(0);
        // Its own edges, as a `Drop` sees them: check what it can reach.
        for e in self.edges.get_mut().iter() {
            check_handle(e);
        }
        act("drop");
    }
}

impl H {
    fn body(&self) -> Option<&Body> {
        match self {
            H::T(g) => Gc::try_deref(g).map(|v| &v.body),
            H::F(g) => Gc::try_deref(g).map(|v| &v.body),
            H::U(g) => Gc::try_deref(g).map(|v| &v.body),
        }
    }

    fn any(&self) -> GcAny {
        match self {
            H::T(g) => GcAny::from(g),
            H::F(g) => GcAny::from(g),
            H::U(g) => GcAny::from(g),
        }
    }

    fn downgrade(&self) -> W {
        match self {
            H::T(g) => W::T(Gc::downgrade(g)),
            H::F(g) => W::F(Gc::downgrade(g)),
            H::U(g) => W::U(Gc::downgrade(g)),
        }
    }
}

enum W {
    T(Weak<TObj>),
    F(Weak<FObj>),
    U(Weak<UObj>),
}

impl W {
    fn upgrade(&self) -> Option<H> {
        match self {
            W::T(w) => w.upgrade().map(H::T),
            W::F(w) => w.upgrade().map(H::F),
            W::U(w) => w.upgrade().map(H::U),
        }
    }
}

#[derive(Default)]
struct Model {
    dropped: Vec<u32>,
    violations: Vec<String>,
}

thread_local! {
    static MODEL: RefCell<Model> = RefCell::new(Model::default());
    static RNG: RefCell<Rng> = RefCell::new(Rng::new(1));
    /// Handles user code keeps (resurrects into).
    static STASH: RefCell<Vec<H>> = const { RefCell::new(Vec::new()) };
    /// A weak handle to every object made.
    static WEAKS: RefCell<Vec<W>> = const { RefCell::new(Vec::new()) };
    static DEPTH: Cell<usize> = const { Cell::new(0) };
    /// Tearing down: user code does nothing.
    static QUIET: Cell<bool> = const { Cell::new(false) };
    /// How often each action ran, and from where: the test checks that the
    /// menu was covered.
    static TAKEN: RefCell<[usize; 16]> = const { RefCell::new([0; 16]) };
    static FROM: RefCell<Vec<&'static str>> = const { RefCell::new(Vec::new()) };
}

fn below(n: usize) -> usize {
    RNG.with(|r| r.borrow_mut().below(n.max(1)))
}

/// A live handle must reach an intact value; a dead one reaches nothing.
fn check_handle(h: &H) {
    if let Some(body) = h.body()
        && body.magic.get() != ALIVE
    {
        let id = body.id;
        MODEL.with(|m| {
            m.borrow_mut()
                .violations
                .push(format!("a live handle reaches dropped object {id}"))
        });
    }
}

fn make(kind: usize) -> H {
    let id = MODEL.with(|m| {
        let mut m = m.borrow_mut();
        m.dropped.push(0);
        m.dropped.len() - 1
    });
    let body = Body {
        id,
        magic: Cell::new(ALIVE),
        edges: RefCell::new(Vec::new()),
        watchers: RefCell::new(Vec::new()),
    };
    let h = match kind % 3 {
        0 => H::T(Gc::new(TObj {
            edges: RefCell::new(Vec::new()),
            watchers: RefCell::new(Vec::new()),
            body,
        })),
        1 => H::F(Gc::new(FObj {
            edges: RefCell::new(Vec::new()),
            body,
        })),
        _ => H::U(Gc::new(UObj { body })),
    };
    WEAKS.with(|w| w.borrow_mut().push(h.downgrade()));
    h
}

/// The edges of `h` (a `TObj`/`FObj` keeps them outside its body, where
/// the collector sees them; a `UObj` in its body).
fn edges_of(h: &H) -> Option<&RefCell<Vec<H>>> {
    match h {
        H::T(g) => Gc::try_deref(g).map(|v| &v.edges),
        H::F(g) => Gc::try_deref(g).map(|v| &v.edges),
        H::U(g) => Gc::try_deref(g).map(|v| &v.body.edges),
    }
}

fn random_stashed() -> Option<H> {
    STASH.with(|s| {
        let s = s.borrow();
        (!s.is_empty()).then(|| s[below(s.len())].clone())
    })
}

fn random_object() -> Option<H> {
    let n = WEAKS.with(|w| w.borrow().len());
    WEAKS.with(|w| w.borrow().get(below(n)).and_then(W::upgrade))
}

/// One random action of user code, from inside `where_`.
fn act(where_: &'static str) {
    if QUIET.with(Cell::get) {
        return;
    }
    let depth = DEPTH.with(|d| d.replace(d.get() + 1));
    struct Leave;
    impl Drop for Leave {
        fn drop(&mut self) {
            DEPTH.with(|d| d.set(d.get() - 1));
        }
    }
    let _leave = Leave;
    if depth > 2 {
        return;
    }
    let unwinding = std::thread::panicking();
    let action = below(16);
    TAKEN.with(|t| t.borrow_mut()[action] += 1);
    FROM.with(|f| {
        let mut f = f.borrow_mut();
        if !f.contains(&where_) {
            f.push(where_);
        }
    });
    match action {
        0 => {
            if let Some(h) = random_stashed() {
                STASH.with(|s| s.borrow_mut().push(h));
            }
        }
        1 => {
            let taken = STASH.with(|s| {
                let mut s = s.borrow_mut();
                (!s.is_empty()).then(|| {
                    let i = below(s.len());
                    s.swap_remove(i)
                })
            });
            drop(taken);
        }
        2 => {
            // Resurrect anything still alive into the thread-local.
            if let Some(h) = random_object() {
                STASH.with(|s| s.borrow_mut().push(h));
            }
        }
        3 => {
            // Move a handle from one object to another.
            let (Some(from), Some(to)) = (random_object(), random_object()) else {
                return;
            };
            let moved = edges_of(&from)
                .and_then(|e| e.try_borrow_mut().ok())
                .and_then(|mut e| e.pop());
            if let Some(moved) = moved {
                match edges_of(&to).map(|e| e.try_borrow_mut()) {
                    Some(Ok(mut e)) => e.push(moved),
                    _ => drop(moved),
                }
            }
        }
        4 => {
            // A mutable borrow held across a collection.
            if let Some(h) = random_object()
                && let Some(edges) = edges_of(&h)
                && let Ok(mut e) = edges.try_borrow_mut()
            {
                e.push(make(below(3)));
                gc::collect();
                e.truncate(3);
            }
        }
        5 => {
            // `get_mut` held across a collection and an allocation.
            let taken = STASH.with(|s| s.borrow_mut().pop());
            if let Some(H::T(mut g)) = taken {
                if let Some(m) = Gc::get_mut(&mut g) {
                    let more = make(below(3));
                    gc::collect();
                    m.edges.get_mut().push(more);
                    m.body.magic.get();
                }
                STASH.with(|s| s.borrow_mut().push(H::T(g)));
            } else if let Some(h) = taken {
                STASH.with(|s| s.borrow_mut().push(h));
            }
        }
        6 | 7 => {
            gc::collect();
        }
        8 => gc::freeze(),
        9 => gc::unfreeze(),
        10 => {
            if let Some(h) = random_object() {
                let _ = gc::get_referrers(&[h.any()]);
                let _ = gc::get_referents(&h.any());
            }
        }
        11 => {
            if !unwinding {
                panic!("user code panics in {where_}");
            }
        }
        12 => {
            let h = make(below(3));
            STASH.with(|s| s.borrow_mut().push(h));
        }
        13 => {
            // A weak callback that acts in turn, kept by some object.
            if let (Some(H::T(target)), Some(owner)) = (random_object(), random_object()) {
                let w = Gc::downgrade_with_callback(&target, || act("weak callback"));
                if let Some(body) = owner.body()
                    && let Ok(mut watchers) = body.watchers.try_borrow_mut()
                {
                    watchers.push(w);
                } else if let H::T(t) = &owner
                    && let Some(v) = Gc::try_deref(t)
                    && let Ok(mut watchers) = v.watchers.try_borrow_mut()
                {
                    watchers.push(w);
                }
            }
        }
        14 => {
            let _ = gc::get_objects(None).map(|all| {
                for o in &all {
                    assert!(o.strong_count() >= 1);
                }
            });
        }
        _ => {
            if let Some(h) = random_stashed() {
                check_handle(&h);
            }
        }
    }
}

/// Every handle reachable from `roots` and the stash, through values that
/// are still reachable, checked.
fn check_reachable(roots: &[H]) {
    let mut todo: Vec<H> = roots.to_vec();
    STASH.with(|s| todo.extend(s.borrow().iter().cloned()));
    let mut seen = std::collections::HashSet::new();
    while let Some(h) = todo.pop() {
        if !seen.insert(addr(&h)) {
            continue;
        }
        check_handle(&h);
        if let Some(edges) = edges_of(&h)
            && let Ok(e) = edges.try_borrow()
        {
            todo.extend(e.iter().cloned());
        }
    }
}

fn addr(h: &H) -> usize {
    match h {
        H::T(g) => Gc::as_ptr(g) as usize,
        H::F(g) => Gc::as_ptr(g) as usize,
        H::U(g) => Gc::as_ptr(g) as usize,
    }
}

fn run_case(seed: u64, steps: usize) {
    RNG.with(|r| *r.borrow_mut() = Rng::new(seed));
    MODEL.with(|m| *m.borrow_mut() = Model::default());
    let mut roots: Vec<H> = Vec::new();
    for step in 0..steps {
        let result = catch_unwind(AssertUnwindSafe(|| match below(8) {
            0 | 1 => roots.push(make(below(3))),
            2 | 3 => {
                if !roots.is_empty() {
                    let from = roots[below(roots.len())].clone();
                    if let Some(to) = random_object()
                        && let Some(e) = edges_of(&from)
                        && let Ok(mut e) = e.try_borrow_mut()
                    {
                        e.push(to);
                    }
                }
            }
            4 => {
                if !roots.is_empty() {
                    let i = below(roots.len());
                    drop(roots.swap_remove(i));
                }
            }
            5 => {
                gc::collect();
            }
            _ => act("the test"),
        }));
        drop(result);
        check_reachable(&roots);
        let violations = MODEL.with(|m| std::mem::take(&mut m.borrow_mut().violations));
        assert!(
            violations.is_empty(),
            "seed {seed}, step {step}: {violations:?}"
        );
    }
    // Break every edge and let everything go: each object dropped once.
    QUIET.with(|q| q.set(true));
    drop(roots);
    gc::unfreeze();
    for _ in 0..4 {
        STASH.with(|s| s.borrow_mut().clear());
        let all: Vec<H> = WEAKS.with(|w| w.borrow().iter().filter_map(W::upgrade).collect());
        for h in &all {
            if let Some(e) = edges_of(h) {
                let taken = e.try_borrow_mut().map(|mut e| std::mem::take(&mut *e));
                drop(taken);
            }
            if let Some(body) = h.body() {
                let taken = body
                    .watchers
                    .try_borrow_mut()
                    .map(|mut w| std::mem::take(&mut *w));
                drop(taken);
            }
            if let H::T(t) = h
                && let Some(v) = Gc::try_deref(t)
            {
                let taken = v
                    .watchers
                    .try_borrow_mut()
                    .map(|mut w| std::mem::take(&mut *w));
                drop(taken);
            }
        }
        drop(all);
        let _ = catch_unwind(gc::collect);
        gc::unfreeze();
    }
    STASH.with(|s| s.borrow_mut().clear());
    WEAKS.with(|w| w.borrow_mut().clear());
    QUIET.with(|q| q.set(false));
    let (dropped, violations) = MODEL.with(|m| {
        let m = m.borrow();
        (m.dropped.clone(), m.violations.clone())
    });
    assert!(violations.is_empty(), "seed {seed}: {violations:?}");
    let wrong: Vec<(usize, u32)> = dropped
        .iter()
        .copied()
        .enumerate()
        .filter(|&(_, n)| n != 1)
        .collect();
    assert!(
        wrong.is_empty(),
        "seed {seed}: objects dropped other than once: {wrong:?}"
    );
}

#[test]
fn user_code_taking_random_actions_never_breaks_the_model() {
    let cases = size(2000, 3) as u64;
    let steps = size(60, 14);
    gc::set_unraisable_hook(Some(Box::new(|_| {})));
    let thresholds = gc::get_threshold();
    gc::set_threshold(7, 2, 2); // automatic collections inside the actions too
    for seed in 1..=cases {
        run_case(seed * 0x9e37_79b9, steps);
    }
    gc::set_threshold(thresholds.0, thresholds.1, thresholds.2);
    gc::set_unraisable_hook(None);
    let taken = TAKEN.with(|t| *t.borrow());
    let mut from = FROM.with(|f| f.borrow().clone());
    from.sort();
    eprintln!("actions taken: {taken:?}, from: {from:?}");
    if !cfg!(miri) {
        assert!(taken.iter().all(|&n| n > 0), "every action ran: {taken:?}");
        assert_eq!(
            from,
            ["drop", "finalizer", "the test", "trace", "weak callback"],
            "user code acted from everywhere it can run"
        );
    }
}
