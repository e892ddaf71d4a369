//! The invariants of "Why safe code cannot cause undefined behaviour"
//! (docs/internals), tested where the audit's files did not reach: the five
//! findings it reported without a file, re-entrant gc calls, handles to the
//! dead, one death per object, panics while unwinding, thread exit.

use std::cell::{Cell, RefCell};
use std::panic::catch_unwind;
use std::rc::Rc;

use recycle::gc;
use recycle::{Finalize, Gc, Trace, Tracer, Weak, WeakRef, weakref};

use crate::common::{Tally, Token, size};

#[derive(Trace)]
struct Cell2 {
    a: RefCell<Option<Gc<Cell2>>>,
    b: RefCell<Option<Gc<Cell2>>>,
    #[trace(skip)]
    token: Token,
}

fn cell2(tally: &Tally) -> Gc<Cell2> {
    Gc::new(Cell2 {
        a: RefCell::new(None),
        b: RefCell::new(None),
        token: tally.token(),
    })
}

/// Untrusted: moves a handle from one object to another in `trace`.
struct Mover {
    from: Weak<Cell2>,
    to: Weak<Cell2>,
    calls: Rc<Cell<usize>>,
}
impl Trace for Mover {
    fn trace(&self, _: &mut Tracer) {
        self.calls.set(self.calls.get() + 1);
        if let (Some(from), Some(to)) = (self.from.upgrade(), self.to.upgrade()) {
            let moved = from.a.borrow_mut().take();
            *to.b.borrow_mut() = moved;
        }
    }
}

#[test]
fn a_handle_moved_by_a_trace_cannot_be_subtracted_twice() {
    let tally = Tally::new();
    let x = cell2(&tally); // live
    let g1 = cell2(&tally);
    let g2 = cell2(&tally);
    *g1.a.borrow_mut() = Some(x.clone());
    *g1.b.borrow_mut() = Some(g2.clone());
    *g2.a.borrow_mut() = Some(g1.clone());
    let calls = Rc::new(Cell::new(0));
    let m = Gc::new(Mover {
        from: Gc::downgrade(&g1),
        to: Gc::downgrade(&g2),
        calls: calls.clone(),
    });
    drop((g1, g2));
    let borrowed: &Cell2 = &x;
    assert_eq!(gc::collect(), 2);
    assert_eq!(calls.get(), 0, "the collector never called the mover");
    assert!(borrowed.a.borrow().is_none(), "x is intact");
    assert_eq!(Gc::strong_count(&x), 1);
    drop(m);
    drop(x);
    assert_eq!(tally.dropped(), 3);
}

#[derive(Trace)]
#[trace(finalize)]
struct Unfreezer {
    me: RefCell<Option<Gc<Unfreezer>>>,
}
impl Finalize for Unfreezer {
    fn finalize(&self) {
        gc::unfreeze();
        gc::freeze();
        gc::unfreeze();
    }
}

/// Untrusted: unfreezes from `trace` (the audit's attack).
struct TraceUnfreezer {
    calls: Rc<Cell<usize>>,
}
impl Trace for TraceUnfreezer {
    fn trace(&self, _: &mut Tracer) {
        self.calls.set(self.calls.get() + 1);
        gc::unfreeze();
    }
}

#[test]
fn unfreeze_from_user_code_during_a_collection_is_deferred() {
    let tally = Tally::new();
    let live: Vec<Gc<Cell2>> = (0..10).map(|_| cell2(&tally)).collect();
    let calls = Rc::new(Cell::new(0));
    let from_trace = Gc::new(TraceUnfreezer {
        calls: calls.clone(),
    });
    let holder = cell2(&tally);
    *holder.a.borrow_mut() = Some(holder.clone());
    drop(holder);
    gc::freeze();
    let victims: Vec<Gc<Cell2>> = (0..10).map(|_| cell2(&tally)).collect();
    assert_eq!(gc::collect(), 0);
    assert_eq!(
        calls.get(),
        0,
        "the collector never runs an untrusted trace"
    );
    gc::unfreeze();
    assert_eq!(gc::collect(), 1, "the holder's self-loop");
    assert_eq!(tally.dropped(), 1);
    drop((from_trace, victims));
    assert_eq!(tally.dropped(), 11);
    gc::freeze();
    let u = Gc::new(Unfreezer {
        me: RefCell::new(None),
    });
    *u.me.borrow_mut() = Some(u.clone());
    drop(u);
    assert_eq!(gc::collect(), 1);
    assert_eq!(gc::get_freeze_count(), 0, "the requests ran when it ended");
    for _ in 0..3 {
        assert_eq!(gc::collect(), 0, "no live object is ever taken for garbage");
    }
    assert_eq!(tally.dropped(), 11);
    drop(live);
    assert_eq!(tally.dropped(), 21);
}

#[test]
fn every_gc_function_may_be_called_from_a_finalizer_callback_and_drop() {
    #[derive(Trace)]
    #[trace(finalize)]
    struct Busy {
        me: RefCell<Option<Gc<Busy>>>,
        #[trace(skip)]
        token: Token,
    }
    fn poke() {
        assert_eq!(gc::collect(), 0);
        assert_eq!(gc::collect_generation(1), Ok(0));
        let t = gc::get_threshold();
        gc::set_threshold(t.0, t.1, t.2);
        gc::disable();
        gc::enable();
        gc::set_debug(gc::get_debug());
        let objects = gc::get_objects(None).unwrap();
        assert!(
            objects.iter().all(|o| o.strong_count() >= 2),
            "no handle to the dead"
        );
        let _ = gc::get_referrers(&objects[..objects.len().min(3)]);
        drop(objects);
        let _ = gc::take_garbage();
        gc::freeze();
        gc::unfreeze();
        let _ = gc::snapshot();
        let _ = Gc::new(7u8);
    }
    impl Finalize for Busy {
        fn finalize(&self) {
            poke();
        }
    }
    impl Drop for Busy {
        fn drop(&mut self) {
            poke();
        }
    }
    let tally = Tally::new();
    let id = gc::add_callback(|_, _| poke());
    let keep: Vec<Gc<Cell2>> = (0..5).map(|_| cell2(&tally)).collect();
    for _ in 0..3 {
        let b = Gc::new(Busy {
            me: RefCell::new(None),
            token: tally.token(),
        });
        *b.me.borrow_mut() = Some(b.clone());
        let _w = Gc::downgrade_with_callback(&b, poke);
        drop(b);
    }
    assert_eq!(gc::collect(), 3);
    gc::remove_callback(id);
    assert_eq!(tally.dropped(), 3);
    assert_eq!(gc::collect(), 0);
    drop(keep);
}

#[test]
fn a_panic_while_unwinding_is_reported_not_an_abort() {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let log = seen.clone();
    gc::set_unraisable_hook(Some(Box::new(move |u: &recycle::Unraisable<'_>| {
        log.borrow_mut()
            .push(format!("{}: {}", u.context(), u.message().unwrap_or("?")));
    })));
    #[derive(Trace)]
    #[trace(finalize)]
    struct PanicsInFinalizer {
        me: RefCell<Option<Gc<PanicsInFinalizer>>>,
    }
    impl Finalize for PanicsInFinalizer {
        fn finalize(&self) {
            panic!("finalizer");
        }
    }
    struct Unwinder;
    impl Drop for Unwinder {
        fn drop(&mut self) {
            let watched = Gc::new(String::from("watched"));
            let _w = Gc::downgrade_with_callback(&watched, || panic!("callback"));
            drop(watched);
            let f = Gc::new(PanicsInFinalizer {
                me: RefCell::new(None),
            });
            drop(f);
            let cyclic = Gc::new(PanicsInFinalizer {
                me: RefCell::new(None),
            });
            *cyclic.me.borrow_mut() = Some(cyclic.clone());
            drop(cyclic);
            gc::collect();
        }
    }
    let result = catch_unwind(|| {
        let _u = Unwinder;
        panic!("first");
    });
    gc::set_unraisable_hook(None);
    assert!(result.is_err());
    let seen = seen.borrow();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(seen.iter().any(|s| s.ends_with("callback")), "{seen:?}");
    assert_eq!(
        seen.iter().filter(|s| s.ends_with("finalizer")).count(),
        2,
        "{seen:?}"
    );
}

#[test]
fn a_garbage_weakref_never_fires_even_if_its_referent_dies_by_counting() {
    // CPython's test_trash_weakref_clear (bpo-38006).
    #[derive(Trace)]
    struct A {
        me: RefCell<Option<Gc<A>>>,
        // The collector cannot see into it: `y` counts as referenced from
        // outside, and dies by counting while `A` is deleted.
        #[trace(skip)]
        y: RefCell<Option<Gc<Y>>>,
        wr: RefCell<Option<WeakRef<Z>>>,
    }
    #[derive(Trace)]
    struct Y {
        z: Gc<Z>,
    }
    #[derive(Trace)]
    struct Z {
        me: RefCell<Option<Gc<Z>>>,
    }
    let ran = Rc::new(Cell::new(false));
    let flag = ran.clone();
    let z = Gc::new(Z {
        me: RefCell::new(None),
    });
    let wz = Gc::downgrade(&z);
    let a = Gc::new(A {
        me: RefCell::new(None),
        y: RefCell::new(Some(Gc::new(Y { z: z.clone() }))),
        wr: RefCell::new(Some(Gc::downgrade_with_callback(&z, move || {
            flag.set(true)
        }))),
    });
    drop(z);
    *a.me.borrow_mut() = Some(a.clone());
    drop(a);
    assert_eq!(gc::collect(), 1);
    assert!(wz.upgrade().is_none(), "z died by counting");
    assert!(
        !ran.get(),
        "the WeakRef was garbage: its callback never runs"
    );
}

#[test]
fn a_garbage_weakref_the_collector_cannot_see_never_fires_either() {
    /// Untrusted: the collector never looks inside.
    struct Opaque {
        y: RefCell<Option<Gc<Z2>>>,
        wr: RefCell<Option<WeakRef<Z2>>>,
    }
    impl Trace for Opaque {
        fn trace(&self, _: &mut Tracer) {}
    }
    #[derive(Trace)]
    struct A2 {
        me: RefCell<Option<Gc<A2>>>,
        opaque: Gc<Opaque>,
        // Skipped: invisible too.
        #[trace(skip)]
        skipped: RefCell<Option<WeakRef<Z2>>>,
    }
    #[derive(Trace)]
    struct Z2 {
        me: RefCell<Option<Gc<Z2>>>,
    }
    let ran = Rc::new(Cell::new(0));
    let z = Gc::new(Z2 {
        me: RefCell::new(None),
    });
    let z_garbage = Gc::new(Z2 {
        me: RefCell::new(None),
    });
    let (f1, f2, f3) = (ran.clone(), ran.clone(), ran.clone());
    let a = Gc::new(A2 {
        me: RefCell::new(None),
        opaque: Gc::new(Opaque {
            // The last handle to `z`, which dies by counting during deletion.
            y: RefCell::new(Some(z.clone())),
            wr: RefCell::new(Some(Gc::downgrade_with_callback(&z, move || {
                f1.set(f1.get() + 1)
            }))),
        }),
        skipped: RefCell::new(Some(Gc::downgrade_with_callback(&z_garbage, move || {
            f2.set(f2.get() + 1)
        }))),
    });
    // A live WeakRef to the garbage still calls back, after the deletion.
    let live = Gc::downgrade_with_callback(&z_garbage, move || f3.set(f3.get() + 100));
    *z_garbage.me.borrow_mut() = Some(z_garbage.clone());
    *a.me.borrow_mut() = Some(a.clone());
    *a.opaque.y.borrow_mut() = Some(z.clone());
    drop((a, z, z_garbage));
    assert_eq!(gc::collect(), 3, "a, its opaque value, and z_garbage");
    assert_eq!(ran.get(), 100, "only the live WeakRef called back");
    assert!(!live.callback_pending());
}

#[test]
fn finalizers_making_finalizable_objects_cannot_nest_without_bound() {
    #[derive(Trace)]
    #[trace(finalize)]
    struct Matryoshka {
        #[trace(skip)]
        left: Cell<usize>,
    }
    impl Finalize for Matryoshka {
        fn finalize(&self) {
            let left = self.left.get();
            if left > 0 {
                drop(Gc::new(Matryoshka {
                    left: Cell::new(left - 1),
                }));
            }
        }
    }
    let depth = size(200_000, 300);
    crate::common::on_8mib_stack(move || {
        drop(Gc::new(Matryoshka {
            left: Cell::new(depth),
        }));
        // Weak callbacks that make and drop watched objects, likewise.
        thread_local! {
            static WATCHES: RefCell<Vec<WeakRef<usize>>> = const { RefCell::new(Vec::new()) };
        }
        fn watched(left: usize) {
            let o = Gc::new(left);
            let w = Gc::downgrade_with_callback(&o, move || {
                if left > 0 {
                    watched(left - 1);
                }
            });
            WATCHES.with(|ws| ws.borrow_mut().push(w));
        }
        watched(depth);
        assert_eq!(WATCHES.with(|ws| ws.borrow().len()), depth + 1);
        WATCHES.with(|ws| ws.borrow_mut().clear());
    });
}

#[test]
fn no_handle_to_the_dead_from_a_drop_during_deletion() {
    #[derive(Trace)]
    struct Prober {
        me: RefCell<Option<Gc<Prober>>>,
        #[trace(skip)]
        found: Rc<Cell<usize>>,
    }
    impl Drop for Prober {
        fn drop(&mut self) {
            for object in gc::get_objects(None).unwrap() {
                assert!(object.strong_count() >= 2, "a live object: {object:?}");
                if object.is::<Prober>() {
                    self.found.set(self.found.get() + 1);
                }
                if let Some(p) = object.downcast::<Prober>() {
                    let _ = p.me.borrow().is_some(); // its value is intact
                }
            }
        }
    }
    let found = Rc::new(Cell::new(0));
    for _ in 0..3 {
        let p = Gc::new(Prober {
            me: RefCell::new(None),
            found: found.clone(),
        });
        *p.me.borrow_mut() = Some(p.clone());
    }
    assert_eq!(gc::collect(), 3);
    assert_eq!(
        found.get(),
        0,
        "no garbage member is listed during deletion"
    );
}

#[derive(Trace)]
#[trace(finalize)]
struct Watched {
    #[trace(skip)]
    token: Token,
    #[trace(skip)]
    finalized: Rc<Cell<usize>>,
}
impl Finalize for Watched {
    fn finalize(&self) {
        self.finalized.set(self.finalized.get() + 1);
    }
}

#[test]
fn try_unwrap_is_the_one_death() {
    let tally = Tally::new();
    let finalized = Rc::new(Cell::new(0));
    let w = Gc::new(Watched {
        token: tally.token(),
        finalized: finalized.clone(),
    });
    let weak = Gc::downgrade(&w);
    let called = Rc::new(Cell::new(false));
    let flag = called.clone();
    let _cb = Gc::downgrade_with_callback(&w, move || flag.set(true));
    let fin_ran = Rc::new(Cell::new(false));
    let fin_flag = fin_ran.clone();
    let registration = weakref::finalize(&w, move || fin_flag.set(true));
    let value = Gc::try_unwrap(w).ok().expect("the only handle");
    assert_eq!(finalized.get(), 1, "the finalizer ran once");
    assert!(called.get() && fin_ran.get(), "every watcher saw the death");
    assert!(!registration.alive());
    assert!(weak.upgrade().is_none());
    assert_eq!(tally.dropped(), 0, "the value is ours");
    drop(value);
    assert_eq!(tally.dropped(), 1);
    assert_eq!(finalized.get(), 1, "and it never runs again");

    // A finalizer that resurrects: the object lives on, not unwrapped.
    #[derive(Trace)]
    #[trace(finalize)]
    struct Phoenix {
        me: Weak<Phoenix>,
    }
    thread_local! {
        static NEST: RefCell<Option<Gc<Phoenix>>> = const { RefCell::new(None) };
    }
    impl Finalize for Phoenix {
        fn finalize(&self) {
            NEST.with(|n| *n.borrow_mut() = self.me.upgrade());
        }
    }
    let p = Gc::new_cyclic(|me| Phoenix { me: me.clone() });
    let p = Gc::try_unwrap(p).err().expect("resurrected");
    assert!(gc::is_finalized(&p));
    NEST.with(|n| n.borrow_mut().take());
    assert!(Gc::try_unwrap(p).is_ok(), "the finalizer ran once already");
}

#[test]
fn cycles_alive_at_thread_exit_are_collected_with_their_finalizers() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    #[derive(Trace)]
    #[trace(finalize)]
    struct Ring {
        next: RefCell<Option<Gc<Ring>>>,
        #[trace(skip)]
        finalized: Arc<AtomicUsize>,
        #[trace(skip)]
        dropped: Arc<AtomicUsize>,
    }
    impl Finalize for Ring {
        fn finalize(&self) {
            self.finalized.fetch_add(1, Ordering::Relaxed);
        }
    }
    impl Drop for Ring {
        fn drop(&mut self) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
    thread_local! {
        static EARLY: RefCell<Option<Gc<Ring>>> = const { RefCell::new(None) };
    }
    let finalized = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicUsize::new(0));
    let (f, d) = (finalized.clone(), dropped.clone());
    std::thread::spawn(move || {
        EARLY.with(|_| {}); // destroyed after the heap's exit guard
        let ring = |n: usize| {
            let nodes: Vec<Gc<Ring>> = (0..n)
                .map(|_| {
                    Gc::new(Ring {
                        next: RefCell::new(None),
                        finalized: f.clone(),
                        dropped: d.clone(),
                    })
                })
                .collect();
            for i in 0..n {
                *nodes[i].next.borrow_mut() = Some(nodes[(i + 1) % n].clone());
            }
            nodes[0].clone()
        };
        gc::disable(); // nothing collects before the thread exits
        drop(ring(4)); // garbage: collected by the exit guard
        // A chain kept until its thread-local goes, after the guard: freed
        // by counting then.
        let chain = ring(3);
        drop(chain.next.borrow_mut().take());
        EARLY.with(|e| *e.borrow_mut() = Some(chain));
    })
    .join()
    .expect("no abort, no panic at thread exit");
    assert_eq!(finalized.load(Ordering::Relaxed), 7, "every finalizer ran");
    assert_eq!(
        dropped.load(Ordering::Relaxed),
        7,
        "and every value was dropped"
    );
}

#[test]
fn gc_any_cannot_revive_an_object_waiting_in_the_trashcan() {
    #[derive(Trace)]
    struct Link {
        next: RefCell<Option<Gc<Link>>>,
        #[trace(skip)]
        token: Token,
        #[trace(skip)]
        probe: bool,
    }
    impl Drop for Link {
        fn drop(&mut self) {
            if self.probe {
                for object in gc::get_objects(None).unwrap() {
                    assert!(object.strong_count() >= 2, "{object:?}");
                }
            }
        }
    }
    let tally = Tally::new();
    let mut head: Option<Gc<Link>> = None;
    for i in 0..200 {
        head = Some(Gc::new(Link {
            next: RefCell::new(head.take()),
            token: tally.token(),
            probe: i % 50 == 0,
        }));
    }
    drop(head);
    assert_eq!(tally.dropped(), 200);
    assert_eq!(gc::collect(), 0);
}

#[test]
fn garbage_stays_condemned_when_its_only_pending_finalizer_was_not_garbage() {
    // A finalizable object that `move_unreachable` first finds unreachable,
    // then reachable after all (its holder comes later in the list), makes
    // the collection expect finalizers; none of the garbage has one.
    #[derive(Trace)]
    #[trace(finalize)]
    struct Fin {
        me: RefCell<Option<Gc<Fin>>>,
    }
    impl Finalize for Fin {
        fn finalize(&self) {}
    }
    #[derive(Trace)]
    struct HoldsFin {
        fin: RefCell<Option<Gc<Fin>>>,
    }
    #[derive(Trace)]
    struct Pair {
        other: RefCell<Option<Gc<Pair>>>,
        #[trace(skip)]
        seen: Rc<RefCell<Vec<bool>>>,
    }
    impl Drop for Pair {
        fn drop(&mut self) {
            if let Some(other) = self.other.borrow().as_ref() {
                self.seen.borrow_mut().push(Gc::try_deref(other).is_some());
            }
        }
    }
    gc::disable(); // keeps the list order: allocation order
    let fin = Gc::new(Fin {
        me: RefCell::new(None),
    });
    let holder = Gc::new(HoldsFin {
        fin: RefCell::new(Some(fin.clone())),
    });
    drop(fin);
    let seen = Rc::new(RefCell::new(Vec::new()));
    let a = Gc::new(Pair {
        other: RefCell::new(None),
        seen: seen.clone(),
    });
    let b = Gc::new(Pair {
        other: RefCell::new(Some(a.clone())),
        seen: seen.clone(),
    });
    *a.other.borrow_mut() = Some(b);
    drop(a);
    assert_eq!(gc::collect(), 2);
    gc::enable();
    assert_eq!(*seen.borrow(), [false, false], "the pair was out of reach");
    assert!(!gc::is_finalized(holder.fin.borrow().as_ref().unwrap()));
}
