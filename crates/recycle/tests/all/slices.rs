//! `Gc<[T]>` and `Gc<str>`: conversions, drops, cycles through slices,
//! weak handles that outlive the elements, alignment; and dumpster's
//! `from_slice` test, ported.

use std::cell::RefCell;
use std::collections::HashMap;

use recycle::{Gc, GcAny, Trace, Weak, coerce_gc, gc};

use crate::common::{Tally, Token};

#[test]
fn slices_convert_from_what_rc_slices_convert_from() {
    let from_vec: Gc<[u32]> = Gc::from(vec![1, 2, 3]);
    let from_slice: Gc<[u32]> = Gc::from(&[1, 2, 3][..]);
    let from_array: Gc<[u32]> = Gc::from([1, 2, 3]);
    let from_box: Gc<[u32]> = Gc::from(vec![1, 2, 3].into_boxed_slice());
    let collected: Gc<[u32]> = (1..=3).collect();
    for slice in [&from_vec, &from_slice, &from_array, &from_box, &collected] {
        assert_eq!(&slice[..], [1, 2, 3]);
        assert_eq!(slice.len(), 3);
    }
    assert_eq!(from_vec, collected, "compared by value, as Rc");
    let empty: Gc<[u32]> = Gc::default();
    assert!(empty.is_empty());
    let boxed: Gc<String> = Gc::from(Box::new(String::from("boxed")));
    assert_eq!(*boxed, "boxed");
}

#[test]
fn strings_convert_and_look_up_by_str() {
    let a: Gc<str> = Gc::from("alpha");
    let b: Gc<str> = Gc::from(String::from("beta"));
    let c: Gc<str> = Gc::from(Box::<str>::from("gamma"));
    assert_eq!((&*a, &*b, &*c), ("alpha", "beta", "gamma"));
    assert_eq!(format!("{a}-{b:?}"), "alpha-\"beta\"");
    assert_eq!(&*Gc::<str>::default(), "");
    let unicode: Gc<str> = Gc::from("déjà vu ✓");
    assert_eq!(unicode.chars().count(), 9);

    let mut ages: HashMap<Gc<str>, u32> = HashMap::new();
    ages.insert(a.clone(), 1);
    ages.insert(b, 2);
    assert_eq!(ages.get("alpha"), Some(&1), "Borrow<str> looks up by text");
    assert_eq!(Gc::strong_count(&a), 2);
    drop(ages);
    assert_eq!(Gc::strong_count(&a), 1);
}

#[test]
fn every_element_drops_once_when_the_last_handle_goes() {
    let tally = Tally::new();
    let tokens: Gc<[Token]> = (0..5).map(|_| tally.token()).collect();
    let other = tokens.clone();
    drop(tokens);
    assert_eq!(tally.dropped(), 0);
    drop(other);
    assert_eq!(tally.dropped(), 5);
}

#[test]
fn a_weak_handle_outlives_the_elements_and_frees_the_allocation() {
    let tally = Tally::new();
    let strong: Gc<[Token]> = vec![tally.token(), tally.token()].into();
    let weak: Weak<[Token]> = Gc::downgrade(&strong);
    assert_eq!(weak.upgrade().map(|s| s.len()), Some(2));
    drop(strong);
    assert_eq!(tally.dropped(), 2);
    assert!(weak.upgrade().is_none());
    drop(weak); // frees the allocation, whose layout it reads from the object

    let text: Gc<str> = Gc::from("kept by nobody");
    let weak_text = Gc::downgrade(&text);
    drop(text);
    assert!(weak_text.upgrade().is_none());
}

/// A node whose children are one slice object, so cycles run through it.
#[derive(Trace)]
struct Parent {
    children: RefCell<Gc<[Child]>>,
    #[trace(skip)]
    _token: Token,
}

#[derive(Trace)]
struct Child {
    parent: RefCell<Option<Gc<Parent>>>,
    #[trace(skip)]
    _token: Token,
}

#[test]
fn a_cycle_through_a_slice_object_is_collected() {
    gc::collect();
    let tally = Tally::new();
    let parent = Gc::new(Parent {
        children: RefCell::new(Gc::default()),
        _token: tally.token(),
    });
    let children: Gc<[Child]> = (0..3)
        .map(|_| Child {
            parent: RefCell::new(Some(parent.clone())),
            _token: tally.token(),
        })
        .collect();
    assert!(
        gc::is_tracked(&children),
        "elements that may hold a Gc are tracked"
    );
    *parent.children.borrow_mut() = children;
    let weak = Gc::downgrade(&parent);
    drop(parent);
    assert_eq!(tally.dropped(), 0, "the cycle keeps itself");
    assert!(gc::collect() >= 2, "the parent and its slice of children");
    assert_eq!(tally.dropped(), 4);
    assert!(weak.upgrade().is_none());
}

#[test]
fn a_reachable_slice_survives_collections_and_reports_its_handles() {
    let tally = Tally::new();
    let leaf = Gc::new(Child {
        parent: RefCell::new(None),
        _token: tally.token(),
    });
    let holders: Gc<[Gc<Child>]> = vec![leaf.clone(), leaf.clone()].into();
    drop(leaf);
    gc::collect();
    gc::collect();
    assert_eq!(tally.dropped(), 0);
    assert_eq!(Gc::strong_count(&holders[0]), 2);
    let referents = gc::get_referents(&GcAny::from(&holders));
    assert_eq!(referents.len(), 2, "trace reports each element's handle");
    drop(referents);
    drop(holders);
    assert_eq!(tally.dropped(), 1);
}

#[test]
fn get_mut_lends_a_unique_slice_out() {
    let mut numbers: Gc<[u64]> = Gc::from([1, 2, 3]);
    Gc::get_mut(&mut numbers).unwrap()[1] = 20;
    assert_eq!(&numbers[..], [1, 20, 3]);
    let other = numbers.clone();
    assert!(Gc::get_mut(&mut numbers).is_none());
    drop(other);

    let mut nodes: Gc<[Option<Gc<u8>>]> = Gc::from(vec![None, None]);
    Gc::get_mut(&mut nodes).unwrap()[0] = Some(Gc::new(7));
    assert_eq!(nodes[0].as_deref(), Some(&7));
    gc::collect();
    assert_eq!(nodes[0].as_deref(), Some(&7));
}

#[repr(align(64))]
#[derive(Clone, Trace)]
struct Wide {
    byte: u8,
    next: Option<Gc<Wide>>,
}

#[repr(align(32))]
#[derive(Clone, Copy, PartialEq, Debug)]
struct WidePlain(u8);
recycle::empty_trace!(WidePlain);

#[test]
fn over_aligned_and_zero_sized_elements_keep_their_alignment() {
    let wide: Gc<[Wide]> = (0..3).map(|byte| Wide { byte, next: None }).collect();
    assert_eq!(wide.as_ptr().addr() % 64, 0);
    assert_eq!(wide.iter().map(|w| w.byte).collect::<Vec<_>>(), [0, 1, 2]);
    let plain: Gc<[WidePlain]> = Gc::from([WidePlain(1), WidePlain(2)]);
    assert_eq!(plain.as_ptr().addr() % 32, 0);
    assert_eq!(plain[1], WidePlain(2));
    let units: Gc<[()]> = std::iter::repeat_n((), 1000).collect();
    assert_eq!(units.len(), 1000);
    gc::collect();
    drop((wide, plain, units));
}

#[test]
fn slices_and_strings_go_through_raw_pointers_and_type_erasure() {
    let text: Gc<str> = Gc::from("raw");
    // SAFETY: from `into_raw`, turned back once.
    let text = unsafe { Gc::from_raw(Gc::into_raw(text)) };
    assert_eq!(&*text, "raw");
    let any = GcAny::from(text.clone());
    assert_eq!(any.type_name(), "str");
    assert!(any.downcast::<String>().is_none());

    let numbers: Gc<[i16]> = Gc::from([5, 6]);
    // SAFETY: as above.
    let numbers = unsafe { Gc::from_raw(Gc::into_raw(numbers)) };
    assert_eq!(&numbers[..], [5, 6]);
    assert_eq!(GcAny::from(&numbers).type_name(), "[i16]");

    // An array object seen as a slice: the object keeps its array type.
    let array: Gc<[u8]> = coerce_gc!(Gc::new([1u8, 2, 3, 4]));
    assert_eq!(array.len(), 4);
    assert_eq!(GcAny::from(&array).type_name(), "[u8; 4]");
}

struct PanicsOnDrop(Token, bool);

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        if self.1 {
            panic!("an element's Drop panics");
        }
    }
}

impl Trace for PanicsOnDrop {
    fn trace(&self, _: &mut recycle::Tracer) {}
}

#[test]
fn a_panicking_element_drop_still_drops_the_others_and_frees() {
    let tally = Tally::new();
    let slice: Gc<[PanicsOnDrop]> = (0..3)
        .map(|i| PanicsOnDrop(tally.token(), i == 1))
        .collect();
    let weak = Gc::downgrade(&slice);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(slice)));
    assert!(
        result.is_err(),
        "the panic continues to the last handle's owner"
    );
    assert_eq!(
        tally.dropped(),
        3,
        "the elements after the panicking one drop too"
    );
    assert!(weak.upgrade().is_none());
}

/// Ported from dumpster's `unsync` tests (`from_slice`): a slice object
/// made from a borrowed slice, its elements cloned, freed once.
#[test]
fn dumpster_from_slice() {
    let tally = Tally::new();
    #[derive(Clone, Trace)]
    struct Counted(#[trace(skip)] std::rc::Rc<Token>);
    let source = [
        Counted(std::rc::Rc::new(tally.token())),
        Counted(std::rc::Rc::new(tally.token())),
    ];
    let gc: Gc<[Counted]> = Gc::from(&source[..]);
    assert_eq!(gc.len(), 2);
    assert_eq!(std::rc::Rc::strong_count(&gc[0].0), 2, "cloned, not moved");
    drop(source);
    assert_eq!(tally.dropped(), 0);
    drop(gc);
    assert_eq!(tally.dropped(), 2);
}

#[test]
fn snapshots_show_tracked_slices_under_their_type_name() {
    let _numbers: Gc<[u64]> = Gc::from(vec![1; 100]);
    let text: Gc<str> = Gc::from("named");
    let snapshot = gc::snapshot();
    let _ = &text;
    assert!(
        snapshot.objects.iter().all(|o| o.type_name != "str"),
        "an untracked object is not in the heap snapshot"
    );
    let tracked: Gc<[Option<Gc<u8>>]> = Gc::from(vec![None]);
    let snapshot = gc::snapshot();
    let names: Vec<_> = snapshot.objects.iter().map(|o| o.type_name).collect();
    assert!(
        snapshot.objects.iter().any(
            |o| o.type_name.starts_with("[core::option::Option<recycle::")
                && o.type_name.ends_with("Gc<u8>>]")
        ),
        "a tracked slice is in the snapshot, under its type's name: {names:?}"
    );
    drop(tracked);
}

/// Clones that count, and panic on the third.
#[derive(Trace)]
struct ThirdClonePanics(
    #[trace(skip)] std::rc::Rc<std::cell::Cell<u32>>,
    Option<Gc<u8>>,
);

impl Clone for ThirdClonePanics {
    fn clone(&self) -> Self {
        let n = self.0.get() + 1;
        self.0.set(n);
        // User code while a slice object is being made: the heap must
        // show nothing half built.
        gc::collect();
        assert!(
            gc::get_objects(None)
                .unwrap()
                .iter()
                .all(|o| !o.type_name().starts_with('['))
        );
        if n == 3 {
            panic!("the third clone panics");
        }
        ThirdClonePanics(self.0.clone(), self.1.clone())
    }
}

#[test]
fn user_code_while_a_slice_is_made_sees_nothing_half_built_and_a_panic_leaks_nothing() {
    let clones = std::rc::Rc::new(std::cell::Cell::new(0));
    let leaf = Gc::new(5u8);
    let source: Vec<_> = (0..4)
        .map(|_| ThirdClonePanics(clones.clone(), Some(leaf.clone())))
        .collect();
    let made = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        Gc::<[ThirdClonePanics]>::from(&source[..])
    }));
    assert!(made.is_err());
    assert_eq!(
        Gc::strong_count(&leaf),
        5,
        "the two finished clones were dropped"
    );

    // An iterator that collects and looks at the heap between elements.
    let squares: Gc<[Gc<u64>]> = (0..4u64)
        .map(|n| {
            gc::collect();
            assert!(
                gc::get_objects(None)
                    .unwrap()
                    .iter()
                    .all(|o| !o.type_name().starts_with('['))
            );
            Gc::new(n * n)
        })
        .collect();
    assert_eq!(
        squares.iter().map(|n| **n).collect::<Vec<_>>(),
        [0, 1, 4, 9]
    );
}

#[test]
fn the_referents_of_a_slice_that_holds_no_gc_are_found_without_a_walk() {
    // (Under Miri, making the `Vec` would itself walk its elements.)
    let len = if cfg!(miri) { 1000 } else { usize::MAX };
    let units: Gc<[()]> = Gc::from(vec![(); len]);
    assert_eq!(units.len(), len);
    assert!(gc::get_referents(&GcAny::from(&units)).is_empty());
}
