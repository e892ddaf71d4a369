//! CPython's memory management for Rust: reference counting first, and a
//! cycle collector for what counting cannot free.
//!
//! # The model
//!
//! [`Gc<T>`] is a single-threaded reference-counted pointer, like
//! [`std::rc::Rc<T>`]: cloning a handle increments a count, dropping one
//! decrements it, and the value is dropped the moment the last handle goes.
//! Most objects live and die that way, deterministically and at the cost of
//! `Rc`.
//!
//! Counting cannot free a reference cycle: two objects that hold handles to
//! each other keep each other's count above zero forever. `Rc` leaks them.
//! recycle, like CPython, pairs the counts with a *cycle collector*:
//! [`gc::collect`] finds every group of objects that is referenced only from
//! inside the group and frees it.
//!
//! ```
//! use std::cell::RefCell;
//! use recycle::{Gc, Trace, gc};
//!
//! #[derive(Trace)]
//! struct Person {
//!     name: String,
//!     friend: RefCell<Option<Gc<Person>>>,
//! }
//!
//! let ann = Gc::new(Person { name: "Ann".into(), friend: RefCell::new(None) });
//! let bob = Gc::new(Person { name: "Bob".into(), friend: RefCell::new(Some(ann.clone())) });
//! *ann.friend.borrow_mut() = Some(bob.clone());
//! assert_eq!(Gc::strong_count(&ann), 2); // `ann` and Bob's friend field
//!
//! drop(ann);
//! drop(bob); // the pair now only references itself: `Rc` would leak it
//! assert_eq!(gc::collect(), 2);
//! ```
//!
//! # How the collector finds cycles
//!
//! The collector does not scan the stack or any other roots. It only knows
//! the *tracked* objects (those whose type may hold a `Gc`, except values
//! that can never change their handles and hold only untracked ones: see
//! "Untracked at birth" in [`Trace`]) and, through
//! [`Trace`], the handles each of them owns. For every tracked object it
//! subtracts the references that come from other tracked objects from its
//! strong count. What remains is the number of references from *outside*
//! the heap: locals, globals, other data structures. Every object with such a
//! reference is alive, and so is everything it reaches; all other objects are
//! garbage. This is CPython's algorithm (`update_refs`, `subtract_refs`,
//! `move_unreachable`); `docs/internals/garbage_collector.md` walks through
//! it.
//!
//! # Safety without trust
//!
//! [`Trace`] is a safe trait, and no implementation of it, however wrong,
//! makes the collector destroy a value that is still referenced or
//! borrowed. While it counts, the collector runs only *trusted* `trace`
//! impls (derived ones, the std ones, and hand-written ones that promise it
//! with `unsafe`); an untrusted value is opaque to it, and what it owns
//! stays alive, so a wrong safe impl can only leak. The collector only ever
//! drops *values*, while holding a count on each object, and memory is freed
//! by the counts alone. From the moment it starts dropping a garbage set,
//! no value of the set can be reached: a handle to one panics on
//! dereference instead of reading dropped memory (see [`Gc::try_deref`]).
//! `docs/internals/garbage_collector.md` lists the invariants behind this,
//! and where user code can run during a collection.
//!
//! # Threads
//!
//! `Gc` and [`Weak`] are neither `Send` nor `Sync`. Each thread has its own
//! heap and [`gc::collect`] collects the calling thread's heap.
//!
//! # Deep structures
//!
//! Neither counting nor collecting recurses over user data: dropping the
//! head of a linked list of ten million nodes runs in constant stack space
//! (CPython's *trashcan*), and the collector walks intrusive lists.

//!
//! # Seeing what the heap holds
//!
//! - [`gc`] is Python's `gc` module: statistics, callbacks, debug flags,
//!   `get_referrers`, `freeze`, and [`gc::snapshot`], the whole object graph
//!   with its cycles as DOT or JSON (`recycle graph` draws it).
//! - [`tracemalloc`] is Python's `tracemalloc`: which source line allocated
//!   the memory that stays.
//! - [`alloc::stats`] is `sys._debugmallocstats()`: what the small-object
//!   pools hold. Empty arenas go back to the system at once;
//!   [`alloc::set_retain_limit`] keeps some for a thread that frees and
//!   rebuilds large structures.
//!
//! `examples/leak_hunt.rs` uses all three to find a leak.

//!
//! # Features
//!
//! - `derive` (on by default): `#[derive(Trace)]`.
//! - `pool` (on by default): the small-object pool allocator; off, every
//!   object is its own allocation from the global allocator.
//! - `serde`: `Serialize` and `Deserialize` for `Gc` and `Weak`, as serde's
//!   `rc` feature gives them to `Rc`, with the same caveat: a `Gc` is
//!   written as its value, so handles that share an object are written
//!   once each and read back as separate objects. A cycle is an error
//!   (`"a cycle of Gc handles cannot be serialized"`), not endless
//!   recursion: write one direction of it as a `Weak`, which is written as
//!   an `Option` of its value and read back empty.
//! - `indexmap`, `hashbrown`, `smallvec`: `Trace` for `IndexMap`/`IndexSet`,
//!   hashbrown's `HashMap`/`HashSet`, and `SmallVec`.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

// Lets the derive's `::recycle::...` paths resolve inside this crate too.
extern crate self as recycle;

pub mod alloc;
mod any;
mod collector;
mod destroy;
pub mod gc;
mod gc_box;
mod gc_slice;
mod handle;
mod header;
mod heap;
mod pinned;
#[cfg(feature = "serde")]
mod serde_impls;
mod snapshot;
mod trace;
mod traced_fn;
pub mod tracemalloc;
mod unraisable;
mod weak;
pub mod weakref;

pub use any::GcAny;
pub use handle::Gc;
#[cfg(feature = "derive")]
pub use recycle_derive::Trace;
pub use trace::{Finalize, Trace, Tracer, Trust};
pub use traced_fn::TracedFn;
pub use unraisable::Unraisable;
pub use weak::Weak;
pub use weakref::WeakRef;

/// Items the derive's expansion names; not part of the API.
#[doc(hidden)]
pub mod __private {
    /// Implemented by `#[derive(Trace)]` with `#[trace(finalize)]`, and
    /// required by [`Finalize`](crate::Finalize): an `impl Finalize` whose
    /// type's `Trace` would never call it does not compile.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` implements `Finalize`, but its `Trace` impl never runs it",
        label = "this finalizer would never run",
        note = "add `#[trace(finalize)]` beside `#[derive(Trace)]` on `{Self}`",
        note = "a hand-written `Trace` impl runs its finalizer by overriding \
                `Trace::finalize` and setting `HAS_FINALIZER`, without `Finalize`"
    )]
    pub trait FinalizerDeclared {}
}

/// The README's example compiles and runs as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeExample;
