//! `#[derive(Trace)]` on the shapes Rust types come in.

use std::cell::RefCell;
use std::collections::HashMap;

use recycle::{Gc, Trace, Weak, gc};

use crate::common::{Tally, Token};

#[derive(Trace)]
struct Named {
    next: RefCell<Option<Gc<Named>>>,
    #[trace(skip)]
    token: Token,
}

#[derive(Trace)]
struct Tuple(RefCell<Vec<Gc<Tuple>>>, #[trace(skip)] Token);

#[derive(Trace)]
struct Unit;

#[derive(Trace)]
enum Shape {
    Leaf(#[trace(skip)] Token),
    Pair {
        left: RefCell<Option<Gc<Shape>>>,
        right: RefCell<Option<Gc<Shape>>>,
        #[trace(skip)]
        token: Token,
    },
    Empty,
}

#[derive(Trace)]
struct Generic<T, U: Clone> {
    value: T,
    other: Option<U>,
}

#[derive(Trace)]
struct Plain {
    a: u64,
    b: String,
    c: Vec<(u8, char)>,
    d: HashMap<String, Option<Box<str>>>,
    e: Weak<u8>,
}

/// Recursive through `Box`, without any `Gc`: still compiles, and is tracked
/// (the derive cannot ask the compiler about a type inside itself).
#[derive(Trace)]
struct BoxList {
    next: Option<Box<BoxList>>,
}

/// Mutually recursive types need the container attribute.
#[derive(Trace)]
#[trace(tracked)]
struct Even(Option<Box<Odd>>);

#[derive(Trace)]
#[trace(tracked)]
struct Odd(Option<Box<Even>>);

#[derive(Trace)]
#[allow(dead_code)]
enum Never {}

#[test]
fn may_contain_gc_is_computed_from_the_fields() {
    const { assert!(Named::MAY_CONTAIN_GC) };
    const { assert!(Tuple::MAY_CONTAIN_GC) };
    const { assert!(!Unit::MAY_CONTAIN_GC) };
    const { assert!(Shape::MAY_CONTAIN_GC) };
    const { assert!(!Plain::MAY_CONTAIN_GC) };
    const { assert!(!Generic::<u8, String>::MAY_CONTAIN_GC) };
    const { assert!(Generic::<Gc<u8>, String>::MAY_CONTAIN_GC) };
    const { assert!(Generic::<u8, Gc<u8>>::MAY_CONTAIN_GC) };
    const { assert!(BoxList::MAY_CONTAIN_GC) };
    const { assert!(Even::MAY_CONTAIN_GC && Odd::MAY_CONTAIN_GC) };
    const { assert!(!Never::MAY_CONTAIN_GC) };
    assert!(!gc::is_tracked(&Gc::new(Plain {
        a: 1,
        b: String::new(),
        c: vec![],
        d: HashMap::new(),
        e: Weak::new(),
    })));
    let boxed = Gc::new(BoxList {
        next: Some(Box::new(BoxList { next: None })),
    });
    assert!(gc::is_tracked(&boxed));
    let _ = Gc::new(Even(Some(Box::new(Odd(None)))));
}

#[test]
fn named_struct_cycle() {
    let tally = Tally::new();
    let a = Gc::new(Named {
        next: RefCell::new(None),
        token: tally.token(),
    });
    let b = Gc::new(Named {
        next: RefCell::new(Some(a.clone())),
        token: tally.token(),
    });
    *a.next.borrow_mut() = Some(b);
    drop(a);
    assert_eq!(gc::collect(), 2);
    assert_eq!(tally.dropped(), 2);
}

#[test]
fn tuple_struct_cycle() {
    let tally = Tally::new();
    let a = Gc::new(Tuple(RefCell::new(vec![]), tally.token()));
    a.0.borrow_mut().push(a.clone());
    a.0.borrow_mut().push(a.clone());
    drop(a);
    assert_eq!(gc::collect(), 1);
    assert_eq!(tally.dropped(), 1);
}

#[test]
fn enum_cycle_through_variants() {
    let tally = Tally::new();
    let leaf = Gc::new(Shape::Leaf(tally.token()));
    let pair = Gc::new(Shape::Pair {
        left: RefCell::new(Some(leaf)),
        right: RefCell::new(None),
        token: tally.token(),
    });
    if let Shape::Pair { right, .. } = &*pair {
        *right.borrow_mut() = Some(pair.clone());
    }
    let _empty = Gc::new(Shape::Empty);
    drop(pair);
    assert_eq!(gc::collect(), 2, "the pair and the leaf it holds");
    assert_eq!(tally.dropped(), 2);
}

#[test]
fn generic_struct_cycle() {
    type G = Generic<RefCell<Option<Gc<Named>>>, u8>;
    let tally = Tally::new();
    let named = Gc::new(Named {
        next: RefCell::new(None),
        token: tally.token(),
    });
    let g: Gc<G> = Gc::new(Generic {
        value: RefCell::new(Some(named.clone())),
        other: Some(1),
    });
    drop(g);
    assert_eq!(Gc::strong_count(&named), 1, "acyclic: freed by counting");
    *named.next.borrow_mut() = Some(named.clone());
    drop(named);
    assert_eq!(gc::collect(), 1);
    assert_eq!(tally.dropped(), 1);
}

#[test]
fn skipped_field_is_not_traced_so_its_cycle_leaks() {
    // Skipping a field that holds a Gc is the safe mistake: a leak.
    #[derive(Trace)]
    struct Hidden {
        #[trace(skip)]
        me: RefCell<Option<Gc<Hidden>>>,
        #[trace(skip)]
        token: Token,
    }
    let tally = Tally::new();
    let h = Gc::new(Hidden {
        me: RefCell::new(None),
        token: tally.token(),
    });
    *h.me.borrow_mut() = Some(h.clone());
    let w = Gc::downgrade(&h);
    drop(h);
    assert_eq!(gc::collect(), 0);
    assert_eq!(tally.dropped(), 0);
    // Break it by hand to clean up.
    let h = w.upgrade().unwrap();
    h.me.borrow_mut().take();
    drop(h);
    assert_eq!(tally.dropped(), 1);
}

/// A parameter that appears only behind a handle gets no `Trace` bound, so
/// it may be `?Sized` and hold a trait object.
#[derive(Trace)]
struct Handle<T: ?Sized> {
    inner: Gc<T>,
    peers: RefCell<Vec<Weak<T>>>,
}

trait Area {
    fn area(&self) -> u32;
}

#[derive(Trace)]
struct Square {
    side: u32,
    owner: RefCell<Option<Gc<Handle<dyn Area>>>>,
    #[trace(skip)]
    token: Token,
}

impl Area for Square {
    fn area(&self) -> u32 {
        self.side * self.side
    }
}

#[test]
fn a_derived_type_holds_a_handle_to_a_trait_object() {
    let tally = Tally::new();
    let square = Gc::new(Square {
        side: 3,
        owner: RefCell::new(None),
        token: tally.token(),
    });
    let shape: Gc<dyn Area> = recycle::coerce_gc!(square.clone());
    let handle = Gc::new(Handle {
        inner: shape,
        peers: RefCell::new(Vec::new()),
    });
    assert_eq!(handle.inner.area(), 9);
    *square.owner.borrow_mut() = Some(handle.clone());
    drop((square, handle));
    assert_eq!(gc::collect(), 2);
    assert_eq!(tally.dropped(), 1);
}

/// Stands in for a type with no `Trace` impl of its own.
#[derive(Clone, Copy)]
struct Opaque;

/// `#[trace(bound = "...")]` replaces the inferred bounds: here `K` is
/// only ever a key type the user knows to hold no `Gc`, and needs none.
#[derive(Trace)]
#[trace(bound = "V: Trace")]
struct Keyed<K, V> {
    #[trace(skip)]
    key: K,
    value: V,
    #[trace(skip)]
    token: Token,
}

#[test]
fn an_explicit_bound_replaces_the_inferred_ones() {
    let tally = Tally::new();
    let node = Gc::new(Keyed {
        key: Opaque,
        value: RefCell::new(None::<recycle::GcAny>),
        token: tally.token(),
    });
    *node.value.borrow_mut() = Some(recycle::GcAny::from(&node));
    let Opaque = node.key;
    drop(node);
    assert_eq!(gc::collect(), 1);
    assert_eq!(tally.dropped(), 1);
}
