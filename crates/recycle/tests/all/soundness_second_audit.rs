//! Regressions for the second to fifth audits (of this redesign, before
//! it landed): objects the resurrection pass adopted without a hold
//! or kept with none, panic payloads and user values dropped where a panic
//! could escape during unwinding, a panicking logger, tracemalloc used
//! from a thread-local's destructor, and the generation bookkeeping of
//! detached objects and of objects made by user code at a collection's end.

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};

use recycle::{Finalize, Gc, Trace, Weak, gc};

thread_local! {
    static KEEP: RefCell<Vec<Gc<Victim>>> = const { RefCell::new(Vec::new()) };
    static VICTIM_DROPS: Cell<usize> = const { Cell::new(0) };
}

#[derive(Trace)]
struct Victim {
    other: RefCell<Option<Gc<Victim>>>,
    #[trace(skip)]
    value: u64,
}

impl Drop for Victim {
    fn drop(&mut self) {
        VICTIM_DROPS.with(|d| d.set(d.get() + 1));
    }
}

#[derive(Trace)]
#[trace(finalize)]
struct Detacher {
    me: RefCell<Option<Gc<Detacher>>>,
    slot: RefCell<Option<Gc<Victim>>>,
}

impl Finalize for Detacher {
    fn finalize(&self) {
        let mut d = Gc::new(Victim {
            other: RefCell::new(None),
            value: 0xdead_beef,
        });
        Gc::get_mut(&mut d).expect("unique").value = 0x1234_5678; // detached
        KEEP.with(|k| k.borrow_mut().push(d.clone())); // two handles now
        *self.slot.borrow_mut() = Some(d); // one of them into the garbage
    }
}

#[test]
fn the_resurrection_pass_does_not_adopt_a_detached_object() {
    let g = Gc::new(Detacher {
        me: RefCell::new(None),
        slot: RefCell::new(None),
    });
    *g.me.borrow_mut() = Some(g.clone());
    drop(g);
    assert_eq!(gc::collect(), 1);
    let kept = KEEP.with(|k| k.borrow_mut().pop()).unwrap();
    assert_eq!(VICTIM_DROPS.with(Cell::get), 0, "alive: a handle is kept");
    assert_eq!(Gc::strong_count(&kept), 1, "counted right");
    assert_eq!(kept.value, 0x1234_5678);
    drop(kept);
    assert_eq!(VICTIM_DROPS.with(Cell::get), 1);
}

thread_local! {
    static PENDING: RefCell<Option<Gc<X>>> = const { RefCell::new(None) };
    static X_DROPPED: Cell<bool> = const { Cell::new(false) };
    static DROPPED_UNDER_FINALIZER: Cell<bool> = const { Cell::new(false) };
}

#[derive(Trace)]
struct Link {
    next: RefCell<Option<Gc<Link>>>,
    x: RefCell<Option<Gc<X>>>,
}

#[derive(Trace)]
#[trace(finalize)]
struct X {
    me: RefCell<Weak<X>>,
    #[trace(skip)]
    val: u64,
}

impl Drop for X {
    fn drop(&mut self) {
        X_DROPPED.with(|d| d.set(true));
    }
}

impl Finalize for X {
    fn finalize(&self) {
        let me = self.me.borrow().upgrade().expect("the temporary count");
        PENDING.with(|p| *p.borrow_mut() = Some(me));
        let g = Gc::new(Stasher {
            me: RefCell::new(None),
            slot: RefCell::new(None),
        });
        *g.me.borrow_mut() = Some(g.clone());
        drop(g);
        gc::collect();
        if X_DROPPED.with(Cell::get) {
            DROPPED_UNDER_FINALIZER.with(|s| s.set(true));
        }
        assert_eq!(self.val, 42);
    }
}

#[derive(Trace)]
#[trace(finalize)]
struct Stasher {
    me: RefCell<Option<Gc<Stasher>>>,
    slot: RefCell<Option<Gc<X>>>,
}

impl Finalize for Stasher {
    fn finalize(&self) {
        *self.slot.borrow_mut() = PENDING.with(|p| p.borrow_mut().take());
    }
}

#[test]
fn an_object_finalized_from_the_trashcan_is_never_adopted() {
    for links in [2, 63, 64, 65, 70] {
        X_DROPPED.with(|d| d.set(false));
        let x = Gc::new_cyclic(|w| X {
            me: RefCell::new(w.clone()),
            val: 42,
        });
        let weak_x = Gc::downgrade(&x);
        let mut head = Gc::new(Link {
            next: RefCell::new(None),
            x: RefCell::new(Some(x)),
        });
        for _ in 1..links {
            head = Gc::new(Link {
                next: RefCell::new(Some(head)),
                x: RefCell::new(None),
            });
        }
        drop(head);
        assert!(!DROPPED_UNDER_FINALIZER.with(Cell::get), "links {links}");
        assert!(
            X_DROPPED.with(Cell::get),
            "links {links}: X died after its finalizer"
        );
        assert!(weak_x.upgrade().is_none());
    }
    assert_eq!(gc::collect(), 0);
}

/// A panic payload that panics when dropped.
struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        panic!("a payload that panics when dropped");
    }
}

#[test]
fn payloads_that_panic_when_dropped_never_abort() {
    struct Unwinder;
    impl Drop for Unwinder {
        fn drop(&mut self) {
            let watched = Gc::new(1u8);
            let _w1 = Gc::downgrade_with_callback(&watched, || std::panic::panic_any(Bomb));
            let _w2 = Gc::downgrade_with_callback(&watched, || std::panic::panic_any(Bomb));
            drop(watched);
        }
    }
    // A hook that panics with a bomb, and two callbacks that do.
    gc::set_unraisable_hook(Some(Box::new(|_: &recycle::Unraisable<'_>| {
        std::panic::panic_any(Bomb)
    })));
    let result = catch_unwind(|| {
        let _u = Unwinder;
        panic!("first");
    });
    assert!(result.is_err());
    gc::set_unraisable_hook(None);
}

#[test]
fn a_value_whose_drop_panics_during_unwinding_is_reported() {
    struct PanicsOnDrop;
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            panic!("value drop");
        }
    }
    recycle::empty_trace!(PanicsOnDrop);
    #[derive(Trace)]
    struct Tracked {
        me: RefCell<Option<Gc<Tracked>>>,
        #[trace(skip)]
        bomb: PanicsOnDrop,
    }
    let seen = std::rc::Rc::new(Cell::new(0));
    let count = seen.clone();
    gc::set_unraisable_hook(Some(Box::new(move |_: &recycle::Unraisable<'_>| {
        count.set(count.get() + 1)
    })));
    let result = catch_unwind(AssertUnwindSafe(|| {
        let _untracked = Gc::new(PanicsOnDrop);
        let _tracked = Gc::new(Tracked {
            me: RefCell::new(None),
            bomb: PanicsOnDrop,
        });
        panic!("first");
    }));
    gc::set_unraisable_hook(None);
    assert!(result.is_err());
    assert_eq!(seen.get(), 2, "both Drop panics reported, none aborted");
}

#[derive(Trace)]
struct Stealer {
    edges: RefCell<Vec<Gc<Stealer>>>,
    #[trace(skip)]
    steal: bool,
}

thread_local! {
    static STOLEN: RefCell<Vec<Gc<Stealer>>> = const { RefCell::new(Vec::new()) };
}

impl Drop for Stealer {
    fn drop(&mut self) {
        if self.steal {
            let edges: Vec<Gc<Stealer>> = self.edges.borrow().iter().cloned().collect();
            STOLEN.with(|s| s.borrow_mut().extend(edges));
        }
    }
}

#[test]
fn a_panicking_logger_cannot_strand_what_deletion_holds() {
    let _reset = crate::debug::capture();
    let stealer = |steal| {
        Gc::new(Stealer {
            edges: RefCell::new(Vec::new()),
            steal,
        })
    };
    let (a, y1, y2) = (stealer(true), stealer(false), stealer(false));
    a.edges.borrow_mut().extend([y1.clone(), y2.clone()]);
    y1.edges.borrow_mut().push(a.clone());
    y2.edges.borrow_mut().push(a.clone());
    drop((a, y1, y2));
    // A's Drop keeps handles to the other two: they stay uncollectable, and
    // the report of them panics in the logger.
    gc::set_debug(gc::DebugFlags::UNCOLLECTABLE);
    crate::debug::panic_on_next(log::Level::Warn);
    let result = catch_unwind(|| gc::collect_generation(0));
    gc::set_debug(gc::DebugFlags::empty());
    assert!(result.is_err(), "the logger's panic continues from collect");
    let stolen = STOLEN.with(|s| std::mem::take(&mut *s.borrow_mut()));
    assert_eq!(stolen.len(), 2);
    assert!(stolen.iter().all(|s| Gc::try_deref(s).is_none()));
    // Stored in a live object and collected again: nothing of them is in
    // any list, nothing reads their dropped values.
    let live = stealer(false);
    live.edges.borrow_mut().extend(stolen.iter().cloned());
    drop(stolen);
    // An automatic young collection that gathers from `live` reaches them.
    let thresholds = gc::get_threshold();
    gc::set_threshold(1, 0, 1_000_000);
    drop(live.clone());
    let _x = stealer(false);
    let _y = stealer(false);
    gc::set_threshold(thresholds.0, thresholds.1, thresholds.2);
    assert_eq!(gc::collect(), 0);
    let listed_dead = gc::get_objects(None)
        .unwrap()
        .iter()
        .filter_map(|o| o.downcast::<Stealer>())
        .filter(|s| Gc::try_deref(s).is_none())
        .count();
    assert_eq!(listed_dead, 0);
    drop(live);
}

#[test]
fn a_panicking_logger_while_reporting_an_unraisable_panic_never_aborts() {
    let _reset = crate::debug::capture();
    #[derive(Trace)]
    #[trace(finalize)]
    struct PanickingFinalizer;
    impl Finalize for PanickingFinalizer {
        fn finalize(&self) {
            panic!("finalizer");
        }
    }
    struct Guard(Option<Gc<PanickingFinalizer>>);
    impl Drop for Guard {
        fn drop(&mut self) {
            drop(self.0.take());
        }
    }
    let result = catch_unwind(AssertUnwindSafe(|| {
        let _guard = Guard(Some(Gc::new(PanickingFinalizer)));
        crate::debug::panic_on_next(log::Level::Error);
        panic!("outer panic");
    }));
    assert!(result.is_err());
}

#[test]
fn a_gc_callback_whose_captures_panic_when_dropped_never_aborts() {
    struct PanicsOnDrop;
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            panic!("the callback's state panics when dropped");
        }
    }
    struct CollectOnDrop;
    impl Drop for CollectOnDrop {
        fn drop(&mut self) {
            gc::collect();
        }
    }
    gc::set_unraisable_hook(Some(Box::new(|_: &recycle::Unraisable<'_>| {})));
    let result = catch_unwind(AssertUnwindSafe(|| {
        let id: std::rc::Rc<Cell<Option<gc::CallbackId>>> = Default::default();
        let my_id = id.clone();
        let state = PanicsOnDrop;
        id.set(Some(gc::add_callback(move |phase, _| {
            let _keep = &state;
            if phase == gc::Phase::Stop {
                gc::remove_callback(my_id.get().unwrap());
            }
        })));
        let _collect_while_unwinding = CollectOnDrop;
        panic!("outer panic");
    }));
    gc::set_unraisable_hook(None);
    assert!(result.is_err());
}

/// Panics when dropped.
struct DropBomb(&'static str);

impl Drop for DropBomb {
    fn drop(&mut self) {
        panic!("{}", self.0);
    }
}

#[derive(Trace)]
struct Boom {
    #[trace(skip)]
    _bomb: DropBomb,
}

struct DropGcWhileUnwinding(Option<Gc<Boom>>);

impl Drop for DropGcWhileUnwinding {
    fn drop(&mut self) {
        drop(self.0.take());
    }
}

#[test]
fn a_hook_that_removes_itself_and_panics_when_dropped_never_aborts() {
    let state = DropBomb("the hook's captures panic when dropped");
    gc::set_unraisable_hook(Some(Box::new(move |_: &recycle::Unraisable<'_>| {
        let _keep = &state;
        drop(gc::set_unraisable_hook(None)); // a one-shot hook
    })));
    let result = catch_unwind(AssertUnwindSafe(|| {
        let _guard = DropGcWhileUnwinding(Some(Gc::new(Boom {
            _bomb: DropBomb("the value's Drop"),
        })));
        panic!("outer panic");
    }));
    assert!(result.is_err());
    assert!(gc::set_unraisable_hook(None).is_none(), "it removed itself");
}

#[test]
fn try_unwrap_drops_the_value_before_a_pending_panic_continues() {
    // A weak callback panics, and then the value's Drop does.
    let result = catch_unwind(AssertUnwindSafe(|| {
        let object = Gc::new(Boom {
            _bomb: DropBomb("the value's Drop"),
        });
        let _w = Gc::downgrade_with_callback(&object, || panic!("weak callback"));
        let _ = Gc::try_unwrap(object);
    }));
    let message = result.expect_err("the callback's panic continues");
    assert_eq!(message.downcast_ref::<&str>(), Some(&"weak callback"));

    // A finalizer panics, and then the value's Drop does.
    #[derive(Trace)]
    #[trace(finalize)]
    struct FinalizerBoom {
        #[trace(skip)]
        _bomb: DropBomb,
    }
    impl Finalize for FinalizerBoom {
        fn finalize(&self) {
            panic!("finalizer");
        }
    }
    let result = catch_unwind(AssertUnwindSafe(|| {
        let _ = Gc::into_inner(Gc::new(FinalizerBoom {
            _bomb: DropBomb("the value's Drop"),
        }));
    }));
    let message = result.expect_err("the finalizer's panic continues");
    assert_eq!(message.downcast_ref::<&str>(), Some(&"finalizer"));
}

#[test]
fn an_object_left_with_only_the_collector_s_hold_is_garbage() {
    #[derive(Trace)]
    #[trace(finalize)]
    struct Holder {
        me: RefCell<Option<Gc<Holder>>>,
        leaf: RefCell<Option<Gc<Leaf>>>,
    }
    #[derive(Trace)]
    struct Leaf {
        cell: RefCell<Option<Gc<Leaf>>>,
        #[trace(skip)]
        token: crate::common::Token,
    }
    impl Finalize for Holder {
        fn finalize(&self) {
            if let Some(leaf) = self.leaf.borrow_mut().take() {
                // The leaf's value can no longer be looked into, and its
                // last handle goes: only the collector's hold is left.
                std::mem::forget(leaf.cell.borrow_mut());
                drop(leaf);
            }
        }
    }
    let tally = crate::common::Tally::new();
    let holder = Gc::new(Holder {
        me: RefCell::new(None),
        leaf: RefCell::new(Some(Gc::new(Leaf {
            cell: RefCell::new(None),
            token: tally.token(),
        }))),
    });
    *holder.me.borrow_mut() = Some(holder.clone());
    drop(holder);
    assert_eq!(gc::collect(), 2, "the holder and the leaf");
    assert_eq!(tally.dropped(), 1, "the leaf was freed");
    let zero = gc::get_objects(None)
        .unwrap()
        .iter()
        .filter(|o| o.strong_count() < 2)
        .count();
    assert_eq!(zero, 0, "no listed object without a count");
}

#[test]
fn tracemalloc_from_a_thread_local_destroyed_after_its_own() {
    struct Diagnose(RefCell<Vec<Gc<Victim>>>);
    impl Drop for Diagnose {
        fn drop(&mut self) {
            drop(std::mem::take(&mut *self.0.borrow_mut()));
            recycle::tracemalloc::start();
            if recycle::tracemalloc::is_tracing() {
                let _ = recycle::tracemalloc::take_snapshot();
            }
            let _ = recycle::tracemalloc::get_traced_memory();
            recycle::tracemalloc::stop();
            gc::collect();
        }
    }
    thread_local! {
        static DIAGNOSE: Diagnose = const { Diagnose(RefCell::new(Vec::new())) };
    }
    std::thread::spawn(|| {
        // Registered first, so destroyed after tracemalloc's own.
        DIAGNOSE.with(|d| {
            d.0.borrow_mut().push(Gc::new(Victim {
                other: RefCell::new(None),
                value: 1,
            }))
        });
        recycle::tracemalloc::start();
        drop(Gc::new(Victim {
            other: RefCell::new(None),
            value: 2,
        }));
        recycle::tracemalloc::stop();
    })
    .join()
    .expect("no abort at thread exit");
}

#[derive(Trace)]
struct Plain {
    next: RefCell<Option<Gc<Plain>>>,
    #[trace(skip)]
    name: &'static str,
}

fn plain(name: &'static str) -> Gc<Plain> {
    Gc::new(Plain {
        next: RefCell::new(None),
        name,
    })
}

#[test]
fn detaching_an_old_object_keeps_the_young_count_right() {
    // Debug builds check the young population against the lists after
    // every collection.
    gc::collect();
    let mut old = plain("old");
    gc::collect(); // `old` is in generation 2
    let young = plain("young");
    assert!(Gc::get_mut(&mut old).is_some()); // detached
    drop(old);
    gc::collect_generation(0).unwrap();
    let mut old = plain("old");
    gc::collect();
    assert!(Gc::get_mut(&mut old).is_some());
    *young.next.borrow_mut() = Some(old.clone()); // found by adoption
    gc::collect_generation(0).unwrap();
    assert_eq!(old.name, "old");
    drop(young);
    drop(old);
    assert_eq!(gc::collect(), 0);
}

#[test]
fn objects_made_at_a_collection_s_end_take_part_in_the_next() {
    thread_local! {
        static MADE: RefCell<Vec<Gc<Plain>>> = const { RefCell::new(Vec::new()) };
    }
    gc::collect();
    let armed = std::rc::Rc::new(Cell::new(true));
    let fire = armed.clone();
    let id = gc::add_callback(move |phase, _| {
        if phase == gc::Phase::Stop && fire.replace(false) {
            let a = plain("made in a stop callback");
            let b = plain("its pair");
            *a.next.borrow_mut() = Some(b.clone());
            *b.next.borrow_mut() = Some(a.clone());
            MADE.with(|m| m.borrow_mut().extend([a, b]));
            gc::freeze(); // deferred to the collection's end
        }
    });
    gc::collect_generation(0).unwrap();
    gc::remove_callback(id);
    assert!(!armed.get());
    assert!(gc::get_freeze_count() >= 2);
    gc::unfreeze();
    gc::collect_generation(0).unwrap(); // debug: the lists are checked
    MADE.with(|m| m.borrow_mut().clear());
    // An incremental cycle of generation 2 finds the pair too.
    let thresholds = gc::get_threshold();
    gc::set_threshold(10, 1, 1);
    let mut junk = Vec::new();
    let stats_before = gc::get_stats()[2].collected;
    for i in 0..if cfg!(miri) { 2_000 } else { 200_000 } {
        junk.push(plain("junk"));
        if i % 64 == 0 {
            junk.clear();
        }
        if gc::get_stats()[2].collected >= stats_before + 2 {
            break;
        }
    }
    gc::set_threshold(thresholds.0, thresholds.1, thresholds.2);
    drop(junk);
    if !cfg!(miri) {
        assert!(
            gc::get_stats()[2].collected >= stats_before + 2,
            "the pair was collected"
        );
    }
    assert_eq!(gc::collect(), 0);

    // The logger runs at a collection's end too.
    let _reset = crate::debug::capture();
    crate::debug::logger_allocates(true);
    gc::set_debug(gc::DebugFlags::STATS);
    gc::collect_generation(0).unwrap(); // debug: the lists are checked
    gc::set_debug(gc::DebugFlags::empty());
    let made = crate::debug::logger_allocates(false);
    assert!(!made.is_empty());
    gc::collect_generation(0).unwrap();
    drop(made);
}
