//! [`Trace`]: how the collector finds the `Gc` handles a value owns.

use core::fmt;
use core::marker::PhantomData;
use core::ptr::NonNull;

use crate::any::GcAny;
use crate::collector::deduce::{in_collected_set, release_hold, update_refs};
use crate::collector::incremental::is_member;
use crate::collector::list::{GcList, unlink};
use crate::header::{GcHeader, GcLinks, header_of, links_of};

#[cfg(any(feature = "indexmap", feature = "hashbrown", feature = "smallvec"))]
mod foreign;
mod impls;
mod shared;

/// A type whose `Gc` handles the cycle collector can find.
///
/// `trace` reports every [`Gc`](crate::Gc) the value *owns* by calling
/// `trace` on it (directly, or through the fields that hold it). Almost every
/// implementation is derived:
///
/// ```
/// use std::cell::RefCell;
/// use recycle::{Gc, Trace};
///
/// #[derive(Trace)]
/// struct Node {
///     name: String,
///     next: RefCell<Option<Gc<Node>>>,
///     #[trace(skip)] // the collector will not look into this field
///     scratch: Vec<u8>,
/// }
/// # let _ = Gc::new(Node { name: String::new(), next: RefCell::new(None), scratch: vec![] });
/// ```
///
/// # The derive
///
/// `#[derive(Trace)]` traces every field (of every variant, for an enum).
/// What it accepts:
///
/// - **`#[trace(skip)]`** on a field: the collector does not look into it.
///   For data that holds no `Gc` and has no `Trace` impl (a socket, a
///   foreign type). A skipped field that *does* hold a `Gc` only leaks the
///   cycles through it.
/// - **`#[trace(finalize)]`** on the type: it has a finalizer, its
///   [`Finalize`] impl (which does not compile without this attribute).
/// - **`#[trace(bound = "T: Trace, ...")]`** on the type: the impl's
///   where-clause, replacing the bounds the derive infers. By default, each
///   type parameter that a traced field uses outside a handle gets
///   `T: Trace`; one used only inside `Gc<T>`, `Weak<T>`, `WeakRef<T>`,
///   `PhantomData<T>`, `Rc<T>` or `Arc<T>` gets none, so it may be `?Sized`
///   (`struct Handle<T: ?Sized> { inner: Gc<T> }` holds a `Gc<dyn Shape>`).
/// - **`#[trace(tracked)]`** on the type: for types recursive through
///   another type (`struct Even(Option<Box<Odd>>)` and back), which the
///   compiler cannot evaluate; it makes the type tracked and untrusted.
///
/// A closure cannot be a field: store a callback and the handles it uses
/// as a [`TracedFn`](crate::TracedFn).
///
/// # What the std impls report
///
/// Containers (`Vec`, `VecDeque`, `LinkedList`, `BinaryHeap`, the maps and
/// sets, `Option`, `Result`, tuples, arrays, `Box`, `Cow`, `Pin<Box<T>>`,
/// the ranges, `Reverse`, `Wrapping`) report what they own. Interior
/// mutability: `RefCell`, `Mutex` and `RwLock` report their value, and one
/// that is mutably borrowed or locked while the collector runs keeps its
/// owner alive for that collection; `OnceCell` and `OnceLock` report their
/// value once set. Leaves (numbers, strings, paths, `Duration`,
/// `SystemTime`, the `net` addresses, function pointers, ...) are
/// untracked.
///
/// **Handles behind shared ownership.** An `Rc<T>` or `Arc<T>` does not own
/// what it points to alone, and two owners that both reported the same
/// handle would make the collector subtract it twice. So `Rc` and `Arc`
/// report nothing: a `Gc` behind one is a *root*, referenced from outside
/// the heap, and a cycle that passes through an `Rc` is never collected,
/// exactly as with `Rc` alone. Put shared state in a `Gc` instead.
///
/// # A safe trait, and trust
///
/// Implementing `Trace` by hand is safe: no implementation, however wrong,
/// can make the collector destroy a value that is still referenced or
/// borrowed.
///
/// The collector finds garbage by subtracting, from each object's strong
/// count, the handles that other objects report. It relies on the counts
/// it has read until it has acted on them, so while it counts it only runs
/// the `trace` of types that are **trusted** ([`Trace::TRUSTED`]): trusted
/// to report exactly the handles their value owns, each once, and to do
/// nothing else. The value of an untrusted type is opaque to the
/// collector: its `trace` is never called by a collection, its handles are
/// never subtracted, and everything it owns therefore counts as referenced
/// from outside. A wrong untrusted impl can only leak, and cycles through
/// an untrusted type are never collected.
///
/// - Derived impls are trusted when every traced field's type is, and the
///   std impls are trusted when their parts are: a derived type built from
///   std types and other derived types is trusted.
/// - [`empty_trace!`](crate::empty_trace) implements `Trace` for a type that
///   holds no `Gc` (reports nothing, trusted).
/// - A hand-written `trace` is untrusted unless it promises, with `unsafe`,
///   what [`Trust::new_unchecked`] lists:
///   `const TRUSTED: Option<Trust<Self>> = Some(unsafe { Trust::new_unchecked() });`.
///   The promise names its type: one impl cannot borrow another's.
///
/// Other mistakes are safe too:
///
/// - **Too few edges** (a `Gc` not reported): the target looks referenced
///   from outside, and the cycle through it is leaked, never freed early.
/// - **Too many edges** from a trusted impl (more than the handles that
///   exist) are detected and keep the object alive.
/// - **Panics** in a trusted `trace` abort the collection: the heap is
///   restored and the panic continues to the caller of `collect()`.
/// - An untrusted `trace` still runs outside collections: in
///   [`gc::get_referents`](crate::gc::get_referents),
///   [`gc::get_referrers`](crate::gc::get_referrers),
///   [`gc::snapshot`](crate::gc::snapshot), and once in [`Gc::new`] for a
///   type with `FIXED_EDGES`. There it may do anything safe code can.
/// - `trace` runs any number of times per collection: the collector also
///   runs it a few objects ahead of its walks, with a tracer that only
///   prefetches what the walk will read.
///
/// [`Gc::new`]: crate::Gc::new
///
/// # `MAY_CONTAIN_GC`
///
/// Types that can never hold a `Gc` set `MAY_CONTAIN_GC = false` (the std
/// impls do for `String`, integers, …; the derive computes it from the
/// fields). Objects of such types are *untracked*: like CPython's atoms, they
/// are never scanned and have no collector header, so `Gc<String>` costs what
/// `Rc<String>` costs. The default is `true`, the safe choice: a type that
/// claims `false` but holds a `Gc` only leaks cycles through it.
///
/// # Untracked at birth (`FIXED_EDGES`)
///
/// Only an object whose handles change after it is made can close a cycle:
/// a handle exists before the object that stores it, so objects that never
/// change their handles only point to older objects. CPython uses this to
/// untrack tuples whose items are all untracked, and recycle does the same
/// when a value is made. If its type has [`Trace::FIXED_EDGES`] (no `Gc`
/// behind a `RefCell` or `Cell`; the derive works it out) and no finalizer,
/// and every handle the value reports points to an untracked object, the
/// new object is untracked too: a 16-byte header instead of 32, no list,
/// never scanned, freed by reference counting alone. An immutable list or
/// tree built from its leaves up is untracked throughout, and costs what
/// `Rc` costs; [`gc::is_tracked`](crate::gc::is_tracked) tells.
/// [`Gc::get_mut`](crate::Gc::get_mut) returns `None` for such an object
/// when its type may hold a `Gc`: a handle stored through it could close a
/// cycle that the collector would not see.
///
/// A type that claims `FIXED_EDGES` but changes its handles is still safe:
/// cycles through its untracked objects leak.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `Trace`, so the collector cannot look inside it",
    label = "the collector cannot see the `Gc` handles this holds",
    note = "if this field holds no `Gc`, mark it `#[trace(skip)]`; for a type of yours that \
            holds none, `recycle::empty_trace!` implements `Trace`",
    note = "a closure that captures handles cannot be traced: store it as a \
            `recycle::TracedFn` with its handles as the captures"
)]
pub trait Trace {
    /// Can a value of this type (transitively) own a `Gc`? See the trait docs.
    const MAY_CONTAIN_GC: bool = true;

    /// `Some` if `trace` may be trusted (see the trait docs and
    /// [`Trust::new_unchecked`]), so that the collector calls it while it
    /// counts and subtracts the handles it reports. `None`, the default, is
    /// always safe: the value is then opaque to the collector, and what it
    /// owns stays alive.
    const TRUSTED: Option<Trust<Self>> = None;

    /// `true` if a value reports the same handles all its life: it keeps no
    /// `Gc` behind a `RefCell`, `Cell` or other interior mutability. The
    /// derive computes it from the fields; by default it is `true` exactly
    /// for types that cannot hold a `Gc` at all. See "Untracked at birth" in
    /// the trait docs.
    const FIXED_EDGES: bool = !Self::MAY_CONTAIN_GC;

    /// Does this type have a finalizer? `#[trace(finalize)]` on a derived
    /// type sets it (see [`Finalize`]); a hand-written impl that overrides
    /// [`Trace::finalize`] sets it too.
    const HAS_FINALIZER: bool = false;

    /// Reports each `Gc` this value owns by calling `trace` on it.
    fn trace(&self, tracer: &mut Tracer);

    /// The finalizer, run by the collector at most once, before the value is
    /// destroyed, when `HAS_FINALIZER` is `true`. See [`Finalize`].
    fn finalize(&self) {}
}

/// A promise, made with `unsafe`, that the [`Trace::trace`] of the type `T`
/// may be trusted: see "Trust" in the [`Trace`] docs.
///
/// The promise names its type, so one type's promise cannot be reused for
/// another: `<u32 as Trace>::TRUSTED` is an `Option<Trust<u32>>`, which is
/// no use to any other impl. The only way to make one is
/// [`Trust::new_unchecked`], which is `unsafe`; the derive and recycle's
/// own impls make theirs that way, and only when every part they trace is
/// trusted itself.
pub struct Trust<T: ?Sized>(PhantomData<fn(&T) -> &T>);

impl<T: ?Sized> Trust<T> {
    /// The promise.
    ///
    /// # Safety
    ///
    /// `T`'s `trace`, whenever the collector calls it:
    ///
    /// - reports only `Gc` handles that the value owns (that are dropped
    ///   when the value is dropped), each at most once (reporting fewer is
    ///   fine);
    /// - does nothing else the program could observe: it creates, clones,
    ///   drops and upgrades no handle, borrows no `RefCell` mutably, and
    ///   calls no function of this crate but `trace` and
    ///   [`Tracer::keep_alive`]. (It may panic: the collection is then
    ///   abandoned, nothing is freed, and the panic continues.)
    ///
    /// The collector relies on this while it holds counts it has read:
    /// breaking it can make it drop a value that safe code still borrows.
    ///
    /// A generic container is trusted when what it holds is:
    ///
    /// ```
    /// use recycle::{Gc, Trace, Tracer, Trust, gc};
    ///
    /// /// Keeps its items in a `Vec` of its own.
    /// struct Stack<T>(Vec<T>);
    ///
    /// impl<T: Trace> Trace for Stack<T> {
    ///     const TRUSTED: Option<Trust<Self>> = if T::TRUSTED.is_some() {
    ///         // SAFETY: `trace` calls the `trace` of each item once, and
    ///         // does nothing else; the items' impls are trusted.
    ///         Some(unsafe { Trust::new_unchecked() })
    ///     } else {
    ///         None
    ///     };
    ///     fn trace(&self, tracer: &mut Tracer) {
    ///         for item in &self.0 {
    ///             item.trace(tracer);
    ///         }
    ///     }
    /// }
    ///
    /// #[derive(Trace)]
    /// struct Node {
    ///     kids: std::cell::RefCell<Stack<Gc<Node>>>,
    /// }
    ///
    /// let n = Gc::new(Node { kids: std::cell::RefCell::new(Stack(Vec::new())) });
    /// n.kids.borrow_mut().0.push(n.clone()); // a cycle through a `Stack`
    /// drop(n);
    /// assert_eq!(gc::collect(), 1);
    /// ```
    pub const unsafe fn new_unchecked() -> Trust<T> {
        Trust(PhantomData)
    }
}

impl<T: ?Sized> Clone for Trust<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: ?Sized> Copy for Trust<T> {}

impl<T: ?Sized> fmt::Debug for Trust<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Trust<{}>", core::any::type_name::<T>())
    }
}

/// `Some` promise for `T` if `trusted`, for recycle's own impls.
///
/// # Safety
///
/// - If `trusted`, `T`'s `trace` keeps the promise of
///   [`Trust::new_unchecked`]: it calls, each at most once, the `trace` of
///   parts its value owns whose types are all trusted, and does nothing
///   else (or reports nothing at all).
pub(crate) const unsafe fn trusted_if<T: ?Sized>(trusted: bool) -> Option<Trust<T>> {
    if trusted {
        // SAFETY: per the contract.
        Some(unsafe { Trust::new_unchecked() })
    } else {
        None
    }
}

/// Implements [`Trace`] for types that hold no `Gc`: nothing to report,
/// untracked, trusted.
///
/// ```
/// struct Config {
///     verbose: bool,
/// }
/// recycle::empty_trace!(Config);
/// assert!(!recycle::gc::is_tracked(&recycle::Gc::new(Config { verbose: true })));
/// ```
#[macro_export]
macro_rules! empty_trace {
    ($($t:ty),+ $(,)?) => {$(
        impl $crate::Trace for $t {
            const MAY_CONTAIN_GC: bool = false;
            // SAFETY: `trace` below reports nothing.
            const TRUSTED: ::core::option::Option<$crate::Trust<Self>> =
                ::core::option::Option::Some(unsafe { $crate::Trust::new_unchecked() });
            #[inline(always)]
            fn trace(&self, _: &mut $crate::Tracer) {}
        }
    )+};
}

/// A finalizer, as PEP 442 defines them for Python's `__del__`: code that
/// runs once before an object is destroyed, while everything it can see is
/// still intact, and that may resurrect the object.
///
/// Declare one on a derived type with `#[trace(finalize)]`:
///
/// ```
/// use std::cell::{Cell, RefCell};
/// use recycle::{Finalize, Gc, Trace, gc};
///
/// #[derive(Trace)]
/// #[trace(finalize)]
/// struct Resource {
///     peer: RefCell<Option<Gc<Resource>>>,
///     closed: Cell<bool>,
/// }
///
/// impl Finalize for Resource {
///     fn finalize(&self) {
///         // Runs before any value of the cycle is dropped: the peer is intact.
///         if let Some(peer) = &*self.peer.borrow() {
///             assert!(!peer.closed.get() || peer.closed.get());
///         }
///         self.closed.set(true);
///     }
/// }
///
/// let a = Gc::new(Resource { peer: RefCell::new(None), closed: Cell::new(false) });
/// *a.peer.borrow_mut() = Some(a.clone());
/// drop(a);
/// assert_eq!(gc::collect(), 1);
/// ```
///
/// # The rules (PEP 442)
///
/// - A finalizer runs **exactly once** per object, before the object is
///   destroyed, whichever way it dies: its last handle dropped, found in a
///   garbage cycle, or its value moved out by [`Gc::try_unwrap`] or
///   [`Gc::into_inner`] (which run it first, and fail if it resurrects the
///   object). [`gc::is_finalized`](crate::gc::is_finalized) tells whether
///   it ran.
/// - For a garbage cycle, **every** finalizer of the cycle runs before **any**
///   value of it is dropped, so each sees every object intact, and `Drop`
///   then runs on all of them as usual.
/// - A finalizer may **resurrect** its object (or others of the garbage) by
///   storing a handle to it somewhere reachable, for example by upgrading a
///   `Weak` to itself: the object, and everything it reaches, then survives
///   intact, is not counted by `collect()`, and its finalizer never runs
///   again, even when it dies later.
///
/// # Weak handles
///
/// Weak handles to garbage keep working until the finalizers of that garbage
/// have run (so a finalizer can resurrect through a `Weak`); after that they
/// upgrade only if their object was resurrected. This is CPython 3.15's
/// order (it clears callback-free weak references after finalizers, gh-135552);
/// CPython 3.14 and earlier cleared them before.
///
/// [`Gc::try_unwrap`]: crate::Gc::try_unwrap
/// [`Gc::into_inner`]: crate::Gc::into_inner
pub trait Finalize: crate::__private::FinalizerDeclared {
    /// The finalizer. It gets `&self`; to resurrect the object, upgrade a
    /// `Weak` to it, or clone a `Gc` to it from another object.
    fn finalize(&self);
}

/// What the collector is doing with the edges a `trace` call reports.
pub(crate) enum TraceAction {
    /// `subtract_refs`: each edge into the collected set (objects allocated
    /// in `first_epoch` or later, or only objects already marked when
    /// `None`) is an internal reference. With `gather`, an object first
    /// reached this way moves to `walk` (the list the walk goes through).
    /// With `adopt`, a detached object (see `Gc::get_mut`) reported here
    /// joins the set, at the end of `walk`; without, it is outside it.
    SubtractRefs {
        first_epoch: Option<u32>,
        gather: bool,
        walk: *const GcList,
        adopt: bool,
    },
    /// `move_unreachable`: everything reported is reachable. An object
    /// moved back from the unreachable list gives its hold back if
    /// `release_holds`.
    MarkReachable {
        young: *const GcList,
        release_holds: bool,
    },
    /// `gc::get_referents`/`get_referrers`: collect handles to everything
    /// reported (taken at once, so `trace` code cannot free them meanwhile).
    Referents(Vec<GcAny>),
    /// `gc::snapshot`: the addresses of the objects reported by weak
    /// handles ([`Tracer::visit_weak`]); strong handles are ignored.
    WeakReferents(Vec<usize>),
    /// The incremental cycle's scan (`collector::incremental`): each edge
    /// to a member decrements its `gc_refs`.
    CycleScan { members_before: u32 },
    /// The incremental cycle's mark: everything reported is reachable.
    CycleMark { todo: *const GcList },
    /// A walk is about to handle the objects reported: start loading them
    /// into the cache (`collector::lookahead`), counting those `far` from
    /// the object traced. Nothing else happens.
    Prefetch { far: usize },
    /// A walk will run a `Prefetch` trace of the objects reported a few
    /// steps later: start loading the heap buffers their values keep
    /// handles in (a `Vec`'s), which that trace will read. Handles held
    /// directly are prefetched as by `Prefetch`.
    PrefetchBuffers,
    /// `Gc::new`: does the value hold a handle to a tracked object (see
    /// "Untracked at birth" in the `Trace` docs)?
    FindTracked { found: bool },
}

/// For `TraceAction::Prefetch`: a target closer than this to the object
/// traced is probably in cache already (or on its way: hardware prefetchers
/// follow such strides).
const NEAR: usize = 4096;

/// Passed to [`Trace::trace`]; receives the handles a value reports.
///
/// Users never build one: they hand it on to the `trace` of the fields.
pub struct Tracer {
    action: TraceAction,
    /// The object whose value is being traced (null before the first).
    current: *const GcLinks,
    /// `MarkReachable`: objects moved back from the unreachable list.
    moved_back: usize,
    /// `CycleScan`, `CycleMark`: edges to tracked objects reported (the
    /// pacer's measure of a cycle's work).
    edges: usize,
}

impl Tracer {
    pub(crate) fn new(action: TraceAction) -> Self {
        Tracer {
            action,
            current: core::ptr::null(),
            moved_back: 0,
            edges: 0,
        }
    }

    pub(crate) fn moved_back(&self) -> usize {
        self.moved_back
    }

    /// Edges to tracked objects reported to a `CycleScan` or `CycleMark`
    /// tracer so far.
    pub(crate) fn edges(&self) -> usize {
        self.edges
    }

    /// Has this tracer nothing on the heap (so forgetting it leaks nothing)?
    pub(crate) fn owns_no_memory(&self) -> bool {
        match &self.action {
            TraceAction::Referents(found) => found.capacity() == 0,
            TraceAction::WeakReferents(found) => found.capacity() == 0,
            _ => true,
        }
    }

    pub(crate) fn action(&self) -> &TraceAction {
        &self.action
    }

    /// `Prefetch`: how many of the targets reported since the last call
    /// were far from the object traced (and resets the count).
    pub(crate) fn take_far_visits(&mut self) -> usize {
        match &mut self.action {
            TraceAction::Prefetch { far } => core::mem::take(far),
            _ => 0,
        }
    }

    pub(crate) fn into_action(self) -> TraceAction {
        self.action
    }

    /// Calls the `trace` of `object`, reporting its edges to this tracer,
    /// if its type is trusted; an untrusted value is opaque, and nothing
    /// happens.
    ///
    /// Every walk of the collector (deduction, incremental steps, prefetch
    /// passes) traces through here, and this is what keeps user code out of
    /// them: a trusted `trace` promises, with `unsafe`, to do nothing but
    /// report ([`Trust::new_unchecked`]). Skipping an untrusted value is
    /// safe because its handles are then never subtracted: what it owns
    /// keeps a reference from outside the set and stays.
    ///
    /// # Safety
    ///
    /// - `object` is a live tracked object of the collector's lists, with
    ///   its value initialized.
    #[inline(always)]
    pub(crate) unsafe fn trace_trusted(&mut self, object: NonNull<GcLinks>) {
        self.current = object.as_ptr();
        // SAFETY: per the contract.
        unsafe {
            let header = header_of(object);
            let vtable = crate::header::vtable(header);
            if vtable.trusted {
                (vtable.trace)(header, self);
            }
        }
    }

    /// For the `trace` of a container that keeps its elements in a heap
    /// buffer of its own (`Vec`, `VecDeque`, `Box`): during a runner's
    /// shallow pass (`collector::lookahead`), starts loading the `bytes`
    /// bytes at `start` (their first lines) and returns `true`, and the
    /// container then reports nothing; otherwise returns `false`, and it
    /// traces its elements as usual.
    #[inline(always)]
    pub(crate) fn prefetched_buffer(&self, start: *const u8, bytes: usize) -> bool {
        if !matches!(self.action, TraceAction::PrefetchBuffers) {
            return false;
        }
        /// The lines worth loading ahead: a longer buffer is read in
        /// order, which the hardware's own prefetchers follow.
        const LINES: usize = 4;
        for line in 0..bytes.div_ceil(64).min(LINES) {
            crate::collector::lookahead::prefetch_address(start.wrapping_add(line * 64));
        }
        true
    }

    /// Tells the collector that part of this value cannot be inspected right
    /// now (for example a `RefCell` that is mutably borrowed), so the object
    /// must be treated as reachable in this collection.
    ///
    /// The `RefCell` impl calls this for you; custom interior-mutability
    /// containers should too.
    pub fn keep_alive(&mut self) {
        // SAFETY: `current` is null or the live object whose `trace` runs.
        let Some(current) = (unsafe { self.current.as_ref() }) else {
            return;
        };
        match self.action {
            TraceAction::SubtractRefs { .. } => current.set_kept_alive(),
            TraceAction::CycleScan { .. } => current.set_cycle_marked(),
            _ => {}
        }
    }

    /// A weak handle to the object with header `target` (`Weak::trace`):
    /// only a snapshot looks at it (to draw the weak edges); for the
    /// collector a weak handle is no edge at all.
    #[inline]
    pub(crate) fn visit_weak(&mut self, target: NonNull<GcHeader>) {
        if let TraceAction::WeakReferents(found) = &mut self.action {
            found.push(target.addr().get());
        }
    }

    /// One reported handle, to the object with header `target`.
    pub(crate) fn visit(&mut self, target: NonNull<GcHeader>) {
        if let TraceAction::WeakReferents(_) = self.action {
            return;
        }
        if let TraceAction::FindTracked { found } = &mut self.action {
            // SAFETY: `target` comes from a `&Gc`, which keeps it allocated.
            *found |= unsafe { target.as_ref() }.is_tracked_type();
            return;
        }
        if let TraceAction::PrefetchBuffers = self.action {
            crate::collector::lookahead::prefetch_object(target);
            return;
        }
        if let TraceAction::Prefetch { far } = &mut self.action {
            if target.addr().get().abs_diff(self.current.addr()) > NEAR {
                *far += 1;
            }
            crate::collector::lookahead::prefetch_object(target);
            return;
        }
        if let TraceAction::Referents(found) = &mut self.action {
            // SAFETY: `target` comes from a `&Gc`, which keeps it allocated.
            found.push(unsafe { GcAny::from_header(target) });
            return;
        }
        // SAFETY: `target` comes from a `&Gc`, and a live handle keeps its
        // allocation alive.
        let header = unsafe { target.as_ref() };
        if !header.is_tracked_type() {
            return;
        }
        // SAFETY: tracked type, so it has links; the allocation is live.
        let links_ptr = unsafe { links_of(target) };
        // SAFETY: as above.
        let links = unsafe { links_ptr.as_ref() };
        match &mut self.action {
            &mut TraceAction::SubtractRefs {
                first_epoch,
                gather,
                walk,
                adopt,
            } => {
                if !links.is_collecting() {
                    if links.is_linked() {
                        if !in_collected_set(links, first_epoch) {
                            return;
                        }
                        update_refs(links_ptr);
                        if gather {
                            // SAFETY: the object is listed (`in_collected_set`);
                            // `walk` is the collector's live working list.
                            unsafe {
                                unlink(links_ptr);
                                (*walk).push_back(links_ptr);
                            }
                        }
                    } else if !adopt || !links.is_detached() || header.is_dead() {
                        // Unlinked and not detached: destroyed by an earlier
                        // collection (kept allocated by leaked handles), or
                        // waiting in the trashcan while its finalizer runs;
                        // or a pass that adopts nothing (the resurrection
                        // re-check, whose objects all carry a hold). Outside
                        // the set: the edge changes nothing.
                        return;
                    } else {
                        // Detached by `Gc::get_mut`. A trusted value owns a
                        // handle to it and is being read, so no `&mut` from
                        // that `get_mut` is live any more: it joins the set.
                        // SAFETY: `current` is the live object traced, in
                        // the set; `walk` is the collector's live list.
                        unsafe {
                            let epoch = (*self.current).epoch();
                            let was = links.epoch();
                            crate::heap::with_heap(|heap| {
                                heap.counters.note_epoch_moved(was, epoch)
                            });
                            links.adopt(epoch, header.strong());
                            header.set_age_class(crate::header::AgeClass::MaybeYoung);
                            (*walk).push_back(links_ptr);
                        }
                    }
                }
                if !links.dec_gc_refs() {
                    // More edges reported than handles exist: a wrong `trace`.
                    // Keeping the object is the safe answer.
                    links.set_kept_alive();
                }
            }
            &mut TraceAction::MarkReachable {
                young,
                release_holds,
            } => {
                if !links.is_collecting() {
                    return;
                }
                if links.is_unreachable() {
                    // Tentatively unreachable, but reachable after all: move it
                    // back to `young`, where the walk will scan it in turn.
                    // SAFETY: the object is in the collector's unreachable list,
                    // and `young` is the collector's live working list.
                    unsafe {
                        unlink(links_ptr);
                        links.reprieve();
                        (*young).push_back(links_ptr);
                    }
                    links.set_gc_refs(1);
                    self.moved_back += 1;
                    if release_holds {
                        // Cannot release the last count: the reported handle is one.
                        let last = release_hold(links_ptr);
                        debug_assert!(!last);
                    }
                } else if links.gc_refs() == 0 {
                    // Not scanned yet: mark it reachable for when the walk gets there.
                    links.set_gc_refs(1);
                }
            }
            &mut TraceAction::CycleScan { members_before } => {
                self.edges += 1;
                if !links.is_cycle_scanned() {
                    if !is_member(links, members_before) {
                        return;
                    }
                    // SAFETY: a live member of the running cycle (its
                    // handle is being reported), not scanned yet.
                    unsafe { crate::collector::incremental::first_reached(links_ptr) };
                }
                if !links.dec_gc_refs() {
                    // More edges than handles: a wrong `trace`; keep it.
                    links.set_cycle_marked();
                }
            }
            &mut TraceAction::CycleMark { todo } => {
                self.edges += 1;
                if !links.is_cycle_scanned() {
                    return;
                }
                if links.is_cycle_tentative() {
                    // SAFETY: the object is in the cycle's tentative list;
                    // `todo` is the cycle's live list.
                    unsafe {
                        unlink(links_ptr);
                        (*todo).push_back(links_ptr);
                    }
                    links.set_cycle_tentative(false);
                }
                links.set_cycle_marked();
            }
            TraceAction::Referents(_)
            | TraceAction::WeakReferents(_)
            | TraceAction::Prefetch { .. }
            | TraceAction::PrefetchBuffers
            | TraceAction::FindTracked { .. } => {
                unreachable!("handled above")
            }
        }
    }
}
