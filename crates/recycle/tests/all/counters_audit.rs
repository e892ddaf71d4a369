//! The sixth audit's findings (of the report flag, pacing and the counting
//! layer's door): no undefined behaviour, but four ways for safe code to
//! make the collector's bookkeeping wrong, and one count overflow that
//! panicked in debug builds instead of aborting. Debug builds check the
//! generation counters after every collection (`validate_heap`), so each
//! test below ends with collections that would panic on the bug it names.

use std::cell::RefCell;

use recycle::{Gc, Trace, gc};

#[derive(Trace)]
struct Plain {
    next: RefCell<Option<Gc<Plain>>>,
}

fn plain() -> Gc<Plain> {
    Gc::new(Plain {
        next: RefCell::new(None),
    })
}

/// Its `Drop` moves its own handle out, into a thread-local.
#[derive(Trace)]
struct Escaper {
    me: RefCell<Option<Gc<Escaper>>>,
}

thread_local! {
    static KEPT: RefCell<Vec<Gc<Escaper>>> = const { RefCell::new(Vec::new()) };
}

impl Drop for Escaper {
    fn drop(&mut self) {
        if let Some(me) = self.me.borrow_mut().take() {
            KEPT.with(|kept| kept.borrow_mut().push(me));
        }
    }
}

#[test]
fn an_object_deleted_by_the_collector_is_counted_once_when_its_last_handle_goes() {
    // Finding 1: the collector counted the destruction when it dropped the
    // value; the handle the `Drop` moved out kept the allocation, and its
    // drop counted the same object a second time.
    gc::collect();
    let young: Vec<Gc<Plain>> = (0..3).map(|_| plain()).collect();
    let escaper = Gc::new(Escaper {
        me: RefCell::new(None),
    });
    *escaper.me.borrow_mut() = Some(escaper.clone());
    drop(escaper);
    assert_eq!(gc::collect_generation(0), Ok(1));
    KEPT.with(|kept| kept.borrow_mut().clear()); // the last handle goes
    assert_eq!(gc::collect_generation(0), Ok(0)); // validates the counters
    assert_eq!(gc::get_count().0, 0);
    drop(young);
    gc::collect();
}

#[test]
fn freezing_while_an_object_is_lent_out_keeps_the_young_count() {
    // Finding 2: `freeze` set the young population to 0 while a young
    // object lent out by `get_mut` kept its young epoch, and its return
    // was not counted.
    gc::collect();
    let mut young = plain();
    assert!(Gc::get_mut(&mut young).is_some());
    gc::freeze();
    let keep = young.clone();
    drop(young); // back into generation 0
    gc::collect_generation(0).unwrap(); // validates the counters
    drop(keep);
    gc::unfreeze();
    gc::collect();
}

#[test]
#[cfg(not(miri))] // 262,000 collections
fn renumbering_epochs_while_an_object_is_lent_out_keeps_the_young_count() {
    // Finding 3: renumbering reaches only listed objects; a lent-out old
    // object kept a stale epoch that read as young afterwards.
    gc::collect();
    let mut old = plain();
    gc::collect(); // generation 2
    assert!(Gc::get_mut(&mut old).is_some());
    for _ in 0..(1u32 << 18) + 8 {
        gc::collect_generation(0).unwrap(); // renumbers once on the way
    }
    let keep = old.clone();
    drop(old); // back into generation 0
    gc::collect_generation(0).unwrap(); // validates the counters
    drop(keep);
    gc::collect();
}

#[derive(Trace)]
struct Holder {
    next: RefCell<Option<Gc<Holder>>>,
    many: RefCell<Vec<Gc<Holder>>>,
}

fn holder() -> Gc<Holder> {
    Gc::new(Holder {
        next: RefCell::new(None),
        many: RefCell::new(Vec::new()),
    })
}

#[test]
fn the_incremental_cycle_counts_garbage_it_adopted() {
    // Finding 4: the incremental cycle's last step adopted objects lent
    // out by `get_mut` (held by an old member) that were garbage too: it
    // found more garbage than it had members, and its survivor count
    // underflowed.
    gc::collect();
    let thresholds = gc::get_threshold();
    gc::disable();
    gc::set_adaptive_pacing(false);
    let a = holder();
    let b = holder();
    *a.next.borrow_mut() = Some(b.clone());
    *b.next.borrow_mut() = Some(a.clone());
    gc::collect(); // both in generation 2
    let lent = 20;
    for _ in 0..lent {
        let mut d = holder();
        assert!(Gc::get_mut(&mut d).is_some());
        a.many.borrow_mut().push(d); // moved, never dropped: stays lent out
    }
    let weak = Gc::downgrade(&a);
    drop((a, b));
    gc::set_threshold(1, 1, 1);
    gc::enable();
    for _ in 0..64 {
        let n = holder();
        *n.next.borrow_mut() = Some(n.clone());
    }
    gc::set_threshold(thresholds.0, thresholds.1, thresholds.2);
    gc::set_adaptive_pacing(true);
    assert!(
        weak.upgrade().is_none(),
        "the cycle was found automatically"
    );
    gc::collect();
}

#[test]
#[cfg(not(miri))] // Miri cannot start processes
fn weak_count_overflow_of_an_untracked_object_aborts() {
    // Finding 5: the weak word of an untracked object has its class bits
    // all ones, so its last count overflowed the word: a debug build
    // panicked instead of aborting.
    if std::env::var_os("RECYCLE_WEAK_OVERFLOW_CHILD").is_some() {
        let a = Gc::new(1u8);
        loop {
            std::mem::forget(Gc::downgrade(&a));
        }
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "counters_audit::weak_count_overflow_of_an_untracked_object_aborts",
            "--nocapture",
        ])
        .env("RECYCLE_WEAK_OVERFLOW_CHILD", "1")
        .output()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(6), "SIGABRT expected: {out:?}");
}
