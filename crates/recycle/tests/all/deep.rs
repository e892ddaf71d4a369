//! Deep structures: no recursion on user-sized data (CPython's trashcan).

use std::cell::RefCell;
use std::rc::Rc;

use recycle::{Gc, Trace, gc};

use crate::common::{Tally, Token, on_8mib_stack, size};

/// Never changes its handle: untracked at birth.
#[derive(Trace)]
struct Link {
    next: Option<Gc<Link>>,
    #[trace(skip)]
    token: Token,
}

/// The same, tracked: its handle sits in a `RefCell`.
#[derive(Trace)]
struct TrackedLink {
    next: RefCell<Option<Gc<TrackedLink>>>,
    #[trace(skip)]
    token: Token,
}

fn chain(n: usize, tally: &Tally) -> Gc<Link> {
    let mut head = None;
    for _ in 0..n {
        head = Some(Gc::new(Link {
            next: head,
            token: tally.token(),
        }));
    }
    head.expect("n > 0")
}

fn tracked_chain(n: usize, tally: &Tally) -> Gc<TrackedLink> {
    let mut head = None;
    for _ in 0..n {
        head = Some(Gc::new(TrackedLink {
            next: RefCell::new(head),
            token: tally.token(),
        }));
    }
    head.expect("n > 0")
}

/// Builds a chain of `n` nodes with `build`, checks whether it is tracked,
/// drops it on an 8 MiB stack, and returns how many values were dropped.
fn drop_long_chain<L: Trace + 'static>(
    n: usize,
    build: fn(usize, &Tally) -> Gc<L>,
    tracked: bool,
) -> usize {
    on_8mib_stack(move || {
        let tally = Tally::new();
        let head = build(n, &tally);
        assert_eq!(gc::is_tracked(&head), tracked);
        drop(head);
        tally.dropped()
    })
}

#[test]
fn ten_million_node_chain_drops_on_an_8mib_stack() {
    let n = size(10_000_000, 500);
    assert_eq!(drop_long_chain(n, chain, false), n, "untracked at birth");
    assert_eq!(drop_long_chain(n, tracked_chain, true), n, "tracked");
}

/// Hangs a chain of `n` nodes built with `build` off a garbage cycle, on an
/// 8 MiB stack: checks what `collect()` returns and that every value of
/// the chain is dropped.
fn chain_inside_a_garbage_cycle<L: Trace + 'static>(
    n: usize,
    build: fn(usize, &Tally) -> Gc<L>,
    collected: usize,
) {
    let dropped = on_8mib_stack(move || {
        #[derive(Trace)]
        struct Holder<L: 'static> {
            me: RefCell<Option<Gc<Holder<L>>>>,
            chain: Gc<L>,
        }
        let tally = Tally::new();
        let holder = Gc::new(Holder {
            me: RefCell::new(None),
            chain: build(n, &tally),
        });
        *holder.me.borrow_mut() = Some(holder.clone());
        drop(holder);
        assert_eq!(gc::collect(), collected);
        tally.dropped()
    });
    assert_eq!(dropped, n);
}

#[test]
fn deep_chain_inside_a_garbage_cycle() {
    // The chain hangs off a garbage cycle, so it is garbage too: the
    // collector finds all of it and drops the values one by one.
    let n = size(1_000_000, 300);
    chain_inside_a_garbage_cycle(n, tracked_chain, 1 + n);
}

#[test]
fn untracked_deep_chain_inside_a_garbage_cycle() {
    // An untracked chain is not part of the garbage the collector counts
    // (as CPython does not count untracked tuples): dropping the cycle's
    // value releases it, and reference counting frees it, trashcan and all.
    let n = size(1_000_000, 300);
    chain_inside_a_garbage_cycle(n, chain, 1);
}

#[test]
fn shallow_drops_keep_rc_order() {
    // Below the trashcan's depth, values drop in the same order as with Rc.
    #[derive(Trace)]
    struct Named {
        #[trace(skip)]
        log: Rc<RefCell<Vec<u32>>>,
        id: u32,
        child: Option<Gc<Named>>,
    }
    impl Drop for Named {
        fn drop(&mut self) {
            self.log.borrow_mut().push(self.id);
        }
    }
    let log = Rc::new(RefCell::new(Vec::new()));
    let mut node = None;
    for id in 0..10 {
        node = Some(Gc::new(Named {
            log: log.clone(),
            id,
            child: node,
        }));
    }
    drop(node);
    assert_eq!(*log.borrow(), (0..10).rev().collect::<Vec<_>>());
}

#[test]
fn panic_in_a_deep_drop_still_frees_the_rest() {
    #[derive(Trace)]
    struct Bomb {
        next: Option<Gc<Bomb>>,
        explode: bool,
        #[trace(skip)]
        token: Token,
    }
    impl Drop for Bomb {
        fn drop(&mut self) {
            if self.explode {
                panic!("bomb");
            }
        }
    }
    let n = size(10_000, 200);
    let tally = Tally::new();
    let mut head = None;
    for i in 0..n {
        head = Some(Gc::new(Bomb {
            next: head,
            explode: i == n / 3,
            token: tally.token(),
        }));
    }
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(head)));
    assert!(r.is_err(), "the panic reaches the caller");
    assert_eq!(tally.dropped(), n, "every node was still dropped");
}

#[test]
fn collection_during_a_deep_teardown_leaves_the_trashcan_alone() {
    // Regression: objects waiting in the trashcan (count 0) were still in
    // their generation list, so a collection run by a finalizer during the
    // teardown freed them, and the trashcan then destroyed them again. Each
    // level drops its (queued, once deep) child first, then a sibling whose
    // finalizer collects while the child waits.
    struct Collects;
    impl Trace for Collects {
        const MAY_CONTAIN_GC: bool = false;
        const HAS_FINALIZER: bool = true;
        fn trace(&self, _: &mut recycle::Tracer) {}
        fn finalize(&self) {
            gc::collect();
            let _ = gc::get_objects(None);
        }
    }
    #[derive(Trace)]
    struct Level {
        child: Option<Gc<Level>>,
        sibling: Gc<Collects>,
        #[trace(skip)]
        token: Token,
    }
    let n = size(2_000, 200);
    let tally = Tally::new();
    let mut head = None;
    for _ in 0..n {
        head = Some(Gc::new(Level {
            child: head,
            sibling: Gc::new(Collects),
            token: tally.token(),
        }));
    }
    drop(head);
    assert_eq!(tally.dropped(), n);
    assert_eq!(gc::collect(), 0);
}
