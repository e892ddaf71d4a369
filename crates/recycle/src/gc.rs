//! The collector's controls, after Python's `gc` module.
//!
//! This release has the full collection, [`collect`]. Generations, automatic
//! collection, statistics and the rest of CPython's `gc` surface build on it.

/// Runs a full collection of this thread's heap and returns the number of
/// unreachable objects it found, as Python's `gc.collect()` does.
///
/// Every object that no handle outside the heap can reach (directly or
/// through other objects) is freed, and each value's `Drop` runs exactly
/// once. Objects of other threads are not affected: each thread has its own
/// heap.
///
/// Called while a collection is already running on this thread (from a
/// `Drop` or a `Trace` impl), it does nothing and returns 0.
///
/// # Panics
///
/// If a `Drop` of a collected value or a `trace` panics, the panic continues
/// from here once the heap is consistent again; a panic in `Drop` does not
/// stop the rest of the garbage from being freed.
///
/// ```
/// use std::cell::RefCell;
/// use recycle::{Gc, Trace, gc};
///
/// #[derive(Trace)]
/// struct Node {
///     next: RefCell<Option<Gc<Node>>>,
/// }
///
/// let a = Gc::new(Node { next: RefCell::new(None) });
/// let b = Gc::new(Node { next: RefCell::new(Some(a.clone())) });
/// *a.next.borrow_mut() = Some(b.clone()); // a -> b -> a
/// drop((a, b));                           // counting alone cannot free them
/// assert_eq!(gc::collect(), 2);
/// ```
pub fn collect() -> usize {
    crate::collector::collect_all()
}

/// Is this object tracked by the collector, as Python's `gc.is_tracked`?
///
/// Objects whose type can never hold a `Gc` (`Gc<String>`, `Gc<u64>`, …) are
/// not: the collector never looks at them. Neither is a value the collector
/// has already destroyed.
///
/// ```
/// use std::cell::RefCell;
/// use recycle::{Gc, gc};
///
/// assert!(!gc::is_tracked(&Gc::new(String::from("an atom"))));
/// assert!(gc::is_tracked(&Gc::new(RefCell::new(Vec::<Gc<u8>>::new()))));
/// ```
pub fn is_tracked<T: ?Sized>(object: &crate::Gc<T>) -> bool {
    object.is_tracked()
}
