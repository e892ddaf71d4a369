//! `Gc::pin`: the value never moves, and no route through the heap gives
//! back a `Gc<T>` that could move it.

use std::cell::RefCell;
use std::marker::PhantomPinned;
use std::pin::Pin;

use recycle::{Finalize, Gc, Trace, gc};

use crate::common::{Tally, Token};

#[derive(Trace)]
#[trace(finalize)]
struct SelfAware {
    #[trace(skip)]
    address: std::cell::Cell<usize>,
    next: RefCell<Option<Pin<Gc<SelfAware>>>>,
    #[trace(skip)]
    finalized: std::rc::Rc<std::cell::Cell<u32>>,
    #[trace(skip)]
    _token: Token,
    #[trace(skip)]
    _pinned: PhantomPinned,
}

impl Finalize for SelfAware {
    fn finalize(&self) {
        assert_eq!(
            self.address.get(),
            self as *const Self as usize,
            "it never moved"
        );
        self.finalized.set(self.finalized.get() + 1);
    }
}

fn pinned(tally: &Tally, finalized: &std::rc::Rc<std::cell::Cell<u32>>) -> Pin<Gc<SelfAware>> {
    let node = Gc::pin(SelfAware {
        address: std::cell::Cell::new(0),
        next: RefCell::new(None),
        finalized: finalized.clone(),
        _token: tally.token(),
        _pinned: PhantomPinned,
    });
    node.address.set(&*node as *const SelfAware as usize);
    node
}

#[test]
fn a_pinned_object_is_found_by_the_heap_but_never_downcast() {
    let tally = Tally::new();
    let finalized = std::rc::Rc::new(std::cell::Cell::new(0));
    let node = pinned(&tally, &finalized);
    let found: Vec<_> = gc::get_objects(None)
        .unwrap()
        .into_iter()
        .filter(|o| o.type_name().contains("SelfAware"))
        .collect();
    assert_eq!(found.len(), 1, "an ordinary object for the collector");
    assert!(
        found[0].downcast::<SelfAware>().is_none(),
        "no Gc<T> that could move it"
    );
    assert!(!found[0].is::<SelfAware>());
    drop(found);
    drop(node);
    assert_eq!((tally.dropped(), finalized.get()), (1, 1));
}

#[test]
fn a_cycle_of_pinned_objects_is_finalized_in_place_and_collected() {
    gc::collect();
    let tally = Tally::new();
    let finalized = std::rc::Rc::new(std::cell::Cell::new(0));
    let a = pinned(&tally, &finalized);
    let b = pinned(&tally, &finalized);
    *a.next.borrow_mut() = Some(b.clone());
    *b.next.borrow_mut() = Some(a.clone());
    let holder = Gc::new(vec![a.clone()]);
    let referents = gc::get_referents(&recycle::GcAny::from(&holder));
    assert_eq!(referents.len(), 1, "a Pin<Gc<T>> reports its handle");
    assert!(referents[0].downcast::<SelfAware>().is_none());
    drop((referents, holder));
    drop((a, b));
    assert_eq!(gc::collect(), 2);
    assert_eq!(
        (tally.dropped(), finalized.get()),
        (2, 2),
        "each finalizer ran once"
    );
}
