//! `std::rc` parity: `make_mut`, `unwrap_or_clone`, `into_raw`/`from_raw`,
//! and `Weak` to `dyn` coercion, with the cases the peer crates test
//! (bacon-rajan-cc's `make_unique`, dumpster's `make_mut`) and the ones
//! only a collector has.

use std::cell::RefCell;
use std::fmt::Display;

use recycle::{Gc, Trace, Weak, coerce_gc, coerce_weak, gc};

use crate::common::{Tally, Token};

#[test]
fn make_mut_clones_only_when_shared() {
    let mut a = Gc::new(10u32);
    let before = Gc::as_ptr(&a);
    *Gc::make_mut(&mut a) += 1;
    assert_eq!(Gc::as_ptr(&a), before, "the only handle: changed in place");

    let b = a.clone();
    *Gc::make_mut(&mut a) += 1;
    assert_eq!((*a, *b), (12, 11));
    assert!(!Gc::ptr_eq(&a, &b));
    assert_eq!((Gc::strong_count(&a), Gc::strong_count(&b)), (1, 1));

    // Unique again: no further clone.
    let now = Gc::as_ptr(&a);
    *Gc::make_mut(&mut a) *= 2;
    assert_eq!((Gc::as_ptr(&a), *a), (now, 24));
}

#[test]
fn make_mut_with_only_weak_sharing_leaves_the_weak_handles_behind() {
    let mut a = Gc::new(String::from("old"));
    let weak = Gc::downgrade(&a);
    Gc::make_mut(&mut a).push_str(" and new");
    assert_eq!(*a, "old and new");
    assert!(
        weak.upgrade().is_none(),
        "the old object died with its handle"
    );
    assert_eq!(Gc::weak_count(&a), 0);
}

/// An object untracked at birth lends nothing (`get_mut` is `None`, or a
/// handle stored through it could close a cycle the collector would not
/// see); `make_mut` makes a tracked copy, which does lend its value.
#[test]
fn make_mut_on_an_object_untracked_at_birth_makes_a_tracked_copy() {
    #[derive(Trace, Clone)]
    struct Fixed {
        next: Option<Gc<Fixed>>,
        label: u32,
    }
    let leaf = Gc::new(Fixed {
        next: None,
        label: 0,
    });
    let mut head = Gc::new(Fixed {
        next: Some(leaf.clone()),
        label: 1,
    });
    assert!(!gc::is_tracked(&head));
    assert!(Gc::get_mut(&mut head).is_none());
    let before = Gc::as_ptr(&head);
    Gc::make_mut(&mut head).label = 2;
    assert_ne!(Gc::as_ptr(&head), before);
    // Lent out, it is in no list; a handle drop brings it back, tracked.
    drop(head.clone());
    assert!(gc::is_tracked(&head));
    // The copy lends its value from now on, without copying again.
    let copy = Gc::as_ptr(&head);
    Gc::get_mut(&mut head)
        .expect("a tracked, unique object")
        .label = 3;
    Gc::make_mut(&mut head).next = None;
    assert_eq!((Gc::as_ptr(&head), head.label), (copy, 3));
    assert_eq!(Gc::strong_count(&leaf), 1);
}

#[test]
fn unwrap_or_clone_moves_when_unique() {
    let tally = Tally::new();
    #[derive(Trace, Clone)]
    struct Counted(#[trace(skip)] std::rc::Rc<Token>);
    let a = Gc::new(Counted(std::rc::Rc::new(tally.token())));
    let b = a.clone();
    let cloned = Gc::unwrap_or_clone(a);
    assert_eq!(std::rc::Rc::strong_count(&cloned.0), 2);
    let moved = Gc::unwrap_or_clone(b);
    assert_eq!(std::rc::Rc::strong_count(&moved.0), 2);
    drop((cloned, moved));
    assert_eq!(tally.dropped(), 1);
}

#[test]
fn into_raw_keeps_the_object_alive_until_from_raw() {
    let tally = Tally::new();
    let raw = Gc::into_raw(Gc::new(tally.token()));
    assert_eq!(gc::collect(), 0);
    assert_eq!(tally.dropped(), 0);
    // SAFETY: from `into_raw`, turned back once.
    let back = unsafe { Gc::from_raw(raw) };
    assert_eq!(Gc::strong_count(&back), 1);
    drop(back);
    assert_eq!(tally.dropped(), 1);
}

/// A raw pointer to a value in a cycle is a reference from outside: the
/// cycle waits for `from_raw`, then is collected.
#[test]
fn a_raw_pointer_into_a_cycle_keeps_it_until_turned_back() {
    #[derive(Trace)]
    struct Node {
        next: RefCell<Option<Gc<Node>>>,
        #[trace(skip)]
        token: Token,
    }
    let tally = Tally::new();
    let node = Gc::new(Node {
        next: RefCell::new(None),
        token: tally.token(),
    });
    *node.next.borrow_mut() = Some(node.clone());
    let raw = Gc::into_raw(node);
    assert_eq!(gc::collect(), 0);
    // SAFETY: from `into_raw`, turned back once.
    drop(unsafe { Gc::from_raw(raw) });
    assert_eq!(gc::collect(), 1);
    assert_eq!(tally.dropped(), 1);
}

/// `from_raw` finds the box from a trait object's pointer, for values of
/// any alignment.
#[test]
fn into_raw_and_from_raw_round_trip_trait_objects() {
    #[derive(Trace)]
    #[repr(align(64))]
    struct Aligned(u8);
    impl Display for Aligned {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "aligned {}", self.0)
        }
    }
    let shown: Vec<Gc<dyn Display>> = vec![
        coerce_gc!(Gc::new(7u8)),
        coerce_gc!(Gc::new(String::from("text"))),
        coerce_gc!(Gc::new(Aligned(3))),
    ];
    for gc in shown {
        let text = gc.to_string();
        let raw = Gc::into_raw(gc);
        // SAFETY: from `into_raw`, turned back once.
        let back: Gc<dyn Display> = unsafe { Gc::from_raw(raw) };
        assert_eq!(back.to_string(), text);
        assert_eq!(Gc::strong_count(&back), 1);
    }
}

#[test]
fn a_weak_handle_coerces_to_a_trait_object() {
    let tally = Tally::new();
    let value = Gc::new(tally.token());
    let weak: Weak<dyn std::any::Any> = coerce_weak!(Gc::downgrade(&value));
    assert!(weak.upgrade().is_some_and(|any| any.is::<Token>()));
    drop(value);
    assert!(weak.upgrade().is_none());
    assert_eq!(tally.dropped(), 1);
    let empty: Weak<dyn std::any::Any> = coerce_weak!(Weak::<u8>::new());
    assert!(empty.upgrade().is_none());
}

/// A `Drop` that runs while `make_mut` lets go of the old object (the only
/// strong handle, with a weak one) takes a handle to the new copy: the
/// copy is shared and cannot be lent, and the panic says why.
#[test]
#[should_panic(expected = "took a handle to the new copy")]
fn make_mut_says_why_it_cannot_lend_a_copy_taken_meanwhile() {
    use recycle::GcAny;

    thread_local! {
        static TAKEN: RefCell<Vec<GcAny>> = const { RefCell::new(Vec::new()) };
    }
    #[derive(Trace)]
    struct Grabby {
        original: bool,
        link: RefCell<Option<Gc<Grabby>>>,
    }
    impl Clone for Grabby {
        fn clone(&self) -> Self {
            Grabby {
                original: false,
                link: RefCell::new(None),
            }
        }
    }
    impl Drop for Grabby {
        fn drop(&mut self) {
            if self.original {
                TAKEN.with(|t| t.borrow_mut().extend(gc::get_objects(None).unwrap()));
            }
        }
    }
    let mut g = Gc::new(Grabby {
        original: true,
        link: RefCell::new(None),
    });
    let _weak = Gc::downgrade(&g);
    let _ = Gc::make_mut(&mut g);
}
