//! Collecting only at the points the program chooses: `gc::disable` with
//! `gc::collect_if_due`.

use std::cell::{Cell, RefCell};

use recycle::{Gc, Trace, gc};

thread_local! {
    /// A registry the program keeps borrowed while it allocates.
    static REGISTRY: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
    static DUE_FROM_DROP: Cell<Option<bool>> = const { Cell::new(None) };
}

/// Garbage whose `Drop` writes to the registry.
#[derive(Trace)]
struct Registered {
    me: RefCell<Option<Gc<Registered>>>,
    id: u32,
}

impl Drop for Registered {
    fn drop(&mut self) {
        REGISTRY.with(|r| r.borrow_mut().push(self.id));
        DUE_FROM_DROP.with(|d| d.set(Some(gc::collect_if_due())));
    }
}

fn make_garbage(count: u32) {
    for id in 0..count {
        let node = Gc::new(Registered {
            me: RefCell::new(None),
            id,
        });
        *node.me.borrow_mut() = Some(node.clone());
    }
}

#[test]
fn with_collection_off_drops_run_only_at_the_chosen_point() {
    let (_, t1, t2) = gc::get_threshold();
    let threshold = 200;
    gc::set_threshold(threshold, t1, t2);
    let count = threshold as u32 * 3;
    gc::collect();
    REGISTRY.with(|r| r.borrow_mut().clear());
    gc::disable();
    REGISTRY.with(|registry| {
        let _held = registry.borrow_mut();
        // Allocating well past the threshold while the registry is borrowed:
        // no `Drop` runs here, so none panics.
        make_garbage(count);
    });
    assert!(REGISTRY.with(|r| r.borrow().is_empty()));
    assert!(
        gc::collect_if_due(),
        "allocations past the threshold make one due"
    );
    // The automatic schedule collects the young garbage it finds.
    let freed = REGISTRY.with(|r| r.borrow().len());
    assert!(freed > 0);
    // Inside a collection (here, in a `Drop` it runs), it does nothing.
    assert_eq!(DUE_FROM_DROP.with(Cell::get), Some(false));
    assert!(!gc::collect_if_due());
    gc::enable();
    gc::collect();
    assert_eq!(REGISTRY.with(|r| r.borrow().len()), count as usize);
}

#[test]
fn nothing_is_due_below_the_threshold_or_with_a_zero_threshold() {
    gc::collect();
    assert!(!gc::collect_if_due());
    let (_, t1, t2) = gc::get_threshold();
    let t0 = 200;
    gc::set_threshold(0, t1, t2);
    make_garbage(t0 as u32 + 10);
    assert!(
        !gc::collect_if_due(),
        "threshold 0 means never, as in CPython"
    );
    gc::set_threshold(t0, t1, t2);
    assert!(gc::collect() > 0);
}
