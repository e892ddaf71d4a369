//! [`Gc<T>`]: the strong handle.

use core::borrow::Borrow;
use core::cmp::Ordering;
use core::fmt;
use core::hash::{Hash, Hasher};
use core::marker::PhantomData;
use core::mem::ManuallyDrop;
use core::ops::Deref;
use core::panic::Location;
use core::ptr::{self, NonNull};

use crate::collector::hooks;
use crate::destroy::release_implicit_weak;
use crate::gc_box::{BoxPtr, GcBox, allocate_uninit, allocate_uninit_in, allocate_untracked};
use crate::header::{GcHeader, links_of};
use crate::heap::with_heap;
use crate::trace::{Trace, TraceAction, Tracer, Trust};
use crate::weak::Weak;

/// A single-threaded reference-counting pointer whose reference cycles are
/// reclaimed by a cycle collector. `Gc` stands for "garbage collected".
///
/// `Gc<T>` behaves like [`std::rc::Rc<T>`]: cloning makes another handle to
/// the same value, and the value is dropped as soon as the last handle goes.
/// The difference shows when handles form a cycle: [`gc::collect`] finds
/// groups of objects that only reference each other and frees them.
///
/// `T` must implement [`Trace`] so that the collector can find the handles a
/// value owns; types that cannot hold a `Gc` (`String`, numbers, …) are never
/// looked at by the collector at all.
///
/// # Dereferencing a handle to a collected value
///
/// When the collector frees a cycle, it drops the values in it one by one. A
/// `Drop` impl of one of them may still hold a `Gc` to another, already
/// dropped value. Dereferencing such a handle panics with a clear message
/// (it never reads dropped memory); use [`Gc::try_deref`] to test first.
///
/// # Slices, strings, trait objects, pinning
///
/// As with `Rc`: `Gc<[T]>` and `Gc<str>` come from a `Vec`, a slice, an
/// array, a `Box`, an iterator, a `&str` or a `String` (`From`,
/// `FromIterator`), and the collector traces a slice's elements as it
/// would a `Vec`'s; `Gc<dyn Trait>` comes from [`coerce_gc!`](crate::coerce_gc)
/// (stable Rust has no `CoerceUnsized` for it); [`Gc::pin`] pins a value.
///
/// ```
/// use recycle::Gc;
///
/// let name: Gc<str> = Gc::from("Ann");
/// let scores: Gc<[u32]> = (1..=3).collect();
/// assert_eq!((&*name, &scores[..]), ("Ann", &[1, 2, 3][..]));
/// ```
///
/// [`gc::collect`]: crate::gc::collect
pub struct Gc<T: ?Sized> {
    ptr: BoxPtr<T>,
    /// The handle owns a `T` (for the drop check).
    _owns: PhantomData<T>,
    /// Neither `Send` nor `Sync`: the counts are not atomic, and the heap
    /// is the thread's own. And *invariant* in `T` (unlike `Rc`): an object
    /// can be found again with the type it was made with
    /// (`gc::get_objects`, [`GcAny::downcast`](crate::GcAny::downcast)),
    /// so no handle may see it as a supertype and write through it (a
    /// `for<'a> fn(&'a str)` seen as a `fn(&'static str)`, a
    /// `Vec<&'static str>` as a `Vec<&'a str>`).
    _thread_bound: PhantomData<*mut Gc<T>>,
}

impl<T: Trace + 'static> Gc<T> {
    /// Moves `value` into a new reference-counted allocation.
    ///
    /// If `T` may hold a `Gc`, this counts towards the next automatic
    /// collection (see [`gc`](crate::gc)), which then runs inside this call,
    /// unless the object is untracked at birth: if `T` has
    /// [`Trace::FIXED_EDGES`], this calls the value's `trace` once to see
    /// whether every handle in it points to an untracked object (see
    /// "Untracked at birth" in [`Trace`]).
    ///
    /// # Other objects' `Drop` code can run here
    ///
    /// An automatic collection that runs inside this call frees the cyclic
    /// garbage it finds: the `Drop` impls (and finalizers, and weak
    /// callbacks) of *unrelated* objects then run inside `Gc::new`, which
    /// `Rc::new` never does. A `Drop` that borrows a `RefCell` the caller of
    /// `Gc::new` holds mutably would then panic. If that can happen, turn
    /// automatic collection off with [`gc::disable`](crate::gc::disable) and
    /// collect at points of your choosing with
    /// [`gc::collect_if_due`](crate::gc::collect_if_due) (on the automatic
    /// schedule) or [`gc::collect`](crate::gc::collect).
    ///
    /// ```
    /// let five = recycle::Gc::new(5);
    /// assert_eq!(*five, 5);
    /// ```
    #[inline]
    #[track_caller]
    pub fn new(value: T) -> Gc<T> {
        let site = Location::caller();
        /// Moves the value in and takes the first strong count.
        #[inline(always)]
        fn init<T>(ptr: NonNull<GcBox<T>>, value: T) -> Gc<T> {
            // SAFETY: fresh allocation with an uninitialized, in-bounds value field.
            unsafe {
                (&raw mut (*ptr.as_ptr()).value).write(value);
                (*ptr.as_ptr()).header.set_strong(1);
            }
            Gc::from_inner(ptr)
        }
        if !T::MAY_CONTAIN_GC {
            return init(allocate_uninit::<T>(site), value);
        }
        if T::FIXED_EDGES && !T::HAS_FINALIZER && !holds_tracked_handle(&value) {
            // Untracked at birth: it can never be part of a cycle.
            return init(allocate_untracked::<T>(site), value);
        }
        Gc::new_tracked(value, site)
    }

    /// [`Gc::new`] for a type that may hold a `Gc`, never untracked at birth
    /// (so that [`Gc::get_mut`] can lend its value out).
    #[inline]
    fn new_tracked(value: T, site: &'static Location<'static>) -> Gc<T> {
        if !T::MAY_CONTAIN_GC {
            let ptr = allocate_uninit::<T>(site);
            // SAFETY: fresh allocation with an uninitialized, in-bounds value field.
            unsafe {
                (&raw mut (*ptr.as_ptr()).value).write(value);
                (*ptr.as_ptr()).header.set_strong(1);
            }
            return Gc::from_inner(ptr);
        }
        // Tracked: allocate and link into generation 0 with one heap lookup.
        let (gc, collect) = with_heap(|heap| {
            let ptr = allocate_uninit_in::<T>(heap, site);
            // SAFETY: fresh allocation with an uninitialized, in-bounds value field.
            unsafe {
                (&raw mut (*ptr.as_ptr()).value).write(value);
                (*ptr.as_ptr()).header.set_strong(1);
            }
            let gc = Gc::from_inner(ptr);
            // SAFETY: a tracked type with an initialized value, in no list yet.
            let collect = unsafe { hooks::track_new(heap, links_of(gc.header_ptr())) };
            (gc, collect)
        });
        if collect {
            hooks::collect_automatically();
        }
        gc
    }

    /// A mutable reference to the value, cloning it into a new object
    /// first if another `Gc` or `Weak` handle shares it (as
    /// [`Rc::make_mut`](std::rc::Rc::make_mut)). The other handles keep the
    /// old object, and this one points to the new (if only `Weak` handles
    /// shared it, the old object dies with this handle: they stop
    /// upgrading, as with `Rc`).
    ///
    /// ```
    /// use recycle::Gc;
    ///
    /// let mut data = Gc::new(5);
    /// *Gc::make_mut(&mut data) += 1; // no clone: the only handle
    /// let other = data.clone();
    /// *Gc::make_mut(&mut data) += 1; // clones the value
    /// assert_eq!((*data, *other), (7, 6));
    /// ```
    ///
    /// # Panics
    ///
    /// - If the cycle collector has destroyed the value (see
    ///   [`Gc::try_deref`]), as dereferencing it would.
    /// - If code that runs when this handle lets go of the old object (its
    ///   value's `Drop`, a finalizer, a weak callback, when nothing else
    ///   held it strongly) takes a handle to the new copy, for example
    ///   through `gc::get_objects`: the copy is then shared, and cannot be
    ///   lent out.
    #[track_caller]
    pub fn make_mut(this: &mut Self) -> &mut T
    where
        T: Clone,
    {
        if !Gc::lends_in_place(this) {
            let copy = T::clone(this);
            *this = Gc::new_tracked(copy, Location::caller());
        }
        match Gc::get_mut(this) {
            Some(value) => value,
            None => panic!(
                "Gc::make_mut: code that ran while the old object was let go (its value's \
                 Drop, a finalizer or a weak callback) took a handle to the new copy of \
                 {}, which therefore cannot be lent out",
                core::any::type_name::<T>()
            ),
        }
    }

    /// The value, moved out if this is its only strong handle, cloned
    /// otherwise (as [`Rc::unwrap_or_clone`](std::rc::Rc::unwrap_or_clone)).
    ///
    /// ```
    /// use recycle::Gc;
    ///
    /// let shared = Gc::new(String::from("text"));
    /// let other = shared.clone();
    /// assert_eq!(Gc::unwrap_or_clone(shared), "text"); // cloned
    /// assert_eq!(Gc::unwrap_or_clone(other), "text"); // moved out
    /// ```
    pub fn unwrap_or_clone(this: Self) -> T
    where
        T: Clone,
    {
        Gc::try_unwrap(this).unwrap_or_else(|shared| T::clone(&shared))
    }

    /// Builds a value that holds a weak handle to itself.
    ///
    /// `data_fn` receives a [`Weak`] to the allocation being built; upgrading
    /// it inside `data_fn` returns `None`. As [`Rc::new_cyclic`](std::rc::Rc::new_cyclic).
    ///
    /// ```
    /// use recycle::{Gc, Trace, Weak};
    ///
    /// #[derive(Trace)]
    /// struct Me {
    ///     me: Weak<Me>,
    /// }
    /// let me = Gc::new_cyclic(|me| Me { me: me.clone() });
    /// assert!(Gc::ptr_eq(&me.me.upgrade().unwrap(), &me));
    /// ```
    #[track_caller]
    pub fn new_cyclic<F: FnOnce(&Weak<T>) -> T>(data_fn: F) -> Gc<T> {
        let ptr = allocate_uninit::<T>(Location::caller());
        // The allocation's single weak count belongs to `weak` until the value
        // exists; if `data_fn` panics, dropping `weak` frees the allocation
        // (a `Weak` never drops the value).
        let weak = Weak::from_inner(ptr);
        let value = data_fn(&weak);
        // SAFETY: the value field is uninitialized and in bounds; strong is 0,
        // so no `Gc` (hence no reference to the value) exists yet.
        unsafe {
            (&raw mut (*ptr.as_ptr()).value).write(value);
            (*ptr.as_ptr()).header.set_strong(1);
        }
        // Its weak count becomes the implicit weak handle of the strong ones.
        core::mem::forget(weak);
        let gc = Gc::from_inner(ptr);
        if T::MAY_CONTAIN_GC {
            // SAFETY: allocated as tracked (`allocate_uninit` of a type that
            // may hold a `Gc`), the value just written, in no list yet.
            unsafe { gc.track() };
        }
        gc
    }

    /// Returns the value if this is the only strong handle, else `Err(this)`.
    ///
    /// As [`Rc::try_unwrap`](std::rc::Rc::try_unwrap), with one extra case
    /// that returns `Err`: the collector has found the value to be garbage
    /// or destroyed it (see [`Gc::try_deref`]).
    ///
    /// Moving the value out is the object's death, and the only one it
    /// gets: everything that watches for it happens here, in the order a
    /// last drop would do it, and then the value is yours (its `Drop` runs
    /// when you drop it):
    ///
    /// 1. its [finalizer](crate::Finalize) runs, if it has one that has not
    ///    run yet. If the finalizer resurrects the object (stores another
    ///    handle to it), this returns `Err(this)` and the object lives on;
    ///    its finalizer never runs again;
    /// 2. [`Weak`] handles stop upgrading;
    /// 3. the [`WeakRef`](crate::WeakRef) callbacks and
    ///    [`weakref::finalize`](crate::weakref::finalize) registrations on
    ///    it run (newest first), as for any death.
    ///
    /// A panic in a finalizer or callback continues from here once that is
    /// done, after the value is dropped (or, if the thread is already
    /// unwinding, is reported, and the value returned).
    pub fn try_unwrap(this: Self) -> Result<T, Self> {
        if !Gc::is_uniquely_owned(&this) {
            return Err(this);
        }
        let header = this.header_ptr();
        let mut panic = None;
        if T::HAS_FINALIZER && !this.header().is_finalized() {
            // SAFETY: the handle keeps the object and its vtable alive.
            if let Some(finalize) = unsafe { crate::header::vtable(header) }.finalize {
                this.header().set_finalized();
                // SAFETY: a live object with an intact value (not dead).
                let result = std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| unsafe {
                    finalize(header)
                }));
                panic = result.err();
                if this.header().strong() != 1 || this.header().is_dead() {
                    // Resurrected: the object lives on.
                    if let Some(payload) = panic {
                        crate::unraisable::resume_or_report(payload, "a finalizer");
                    }
                    return Err(this);
                }
            }
        }
        let this = ManuallyDrop::new(this);
        this.header().set_strong(0);
        if T::MAY_CONTAIN_GC && this.header().is_tracked_type() {
            // SAFETY: tracked; its list (if any) is one of the heap's (a
            // uniquely owned object is not garbage).
            let epoch = unsafe { hooks::untrack_for_destruction(header) };
            with_heap(|heap| hooks::note_destruction(heap, epoch));
        }
        if this.header().has_weak_callbacks() {
            // Strong is 0: the callbacks cannot reach the value.
            let callbacks = crate::weakref::take_callbacks(header);
            if let Some(payload) = crate::weakref::run_entries(callbacks) {
                crate::unraisable::keep_first(&mut panic, payload);
            }
        }
        // SAFETY: the value is initialized and, with strong now 0, no handle
        // can reach it again: reading it out moves it.
        let value = unsafe { ptr::read(&raw const (*this.ptr.as_ptr()).value) };
        // SAFETY: strong == 0, the value is moved out, the object unlinked.
        unsafe { release_implicit_weak(header) };
        if let Some(payload) = panic {
            if std::thread::panicking() {
                // It cannot continue: reported, and the value is yours.
                crate::unraisable::report(payload, "a finalizer or weak callback");
            } else {
                // It continues from here: the value goes first, where a
                // panic of its `Drop` can be caught (escaping while the
                // panic unwinds, it would abort the process).
                let mut first = Some(payload);
                crate::unraisable::guarded(&mut first, move || drop(value));
                if let Some(payload) = first {
                    std::panic::resume_unwind(payload);
                }
                unreachable!("a panic was kept");
            }
        }
        Ok(value)
    }

    /// Returns the value if this is the only strong handle (see [`Gc::try_unwrap`]).
    pub fn into_inner(this: Self) -> Option<T> {
        Gc::try_unwrap(this).ok()
    }
}

/// Does `value` report a handle to a tracked object? (Runs its `trace`.)
#[inline]
fn holds_tracked_handle<T: Trace>(value: &T) -> bool {
    let mut tracer = Tracer::new(TraceAction::FindTracked { found: false });
    value.trace(&mut tracer);
    let found = !matches!(tracer.action(), TraceAction::FindTracked { found: false });
    // Under `FindTracked` a tracer allocates nothing (its action holds a
    // `bool`, and only `SubtractRefs` records weak references), so there is
    // nothing to drop: skipping its drop glue saves work on every `Gc::new`.
    debug_assert!(tracer.owns_no_memory());
    core::mem::forget(tracer);
    found
}

impl<T: ?Sized> Gc<T> {
    /// Links a new tracked object into generation 0, and runs an automatic
    /// collection if that allocation crossed the threshold.
    ///
    /// # Safety
    ///
    /// - The object has `GcLinks` (a tracked type), its value is
    ///   initialized, and it is in no list yet.
    #[inline]
    pub(crate) unsafe fn track(&self) {
        // SAFETY: per the contract.
        let collect =
            with_heap(|heap| unsafe { hooks::track_new(heap, links_of(self.header_ptr())) });
        if collect {
            hooks::collect_automatically();
        }
    }

    #[inline(always)]
    pub(crate) fn from_inner(ptr: NonNull<GcBox<T>>) -> Self {
        Gc {
            ptr: BoxPtr::new(ptr),
            _owns: PhantomData,
            _thread_bound: PhantomData,
        }
    }

    #[inline(always)]
    pub(crate) fn header_ptr(&self) -> NonNull<GcHeader> {
        self.ptr.cast()
    }

    #[inline(always)]
    pub(crate) fn header(&self) -> &GcHeader {
        // SAFETY: a live handle keeps the allocation, header included, alive.
        unsafe { &(*self.ptr.as_ptr()).header }
    }

    /// The number of strong (`Gc`) handles to this allocation.
    ///
    /// Like `sys.getrefcount` minus the argument's own reference. While the
    /// collector drops a garbage cycle, it holds one extra count on each of
    /// its objects.
    #[inline]
    pub fn strong_count(this: &Self) -> usize {
        this.header().strong() as usize
    }

    /// The number of [`Weak`] handles to this allocation.
    #[inline]
    pub fn weak_count(this: &Self) -> usize {
        this.header().weak() as usize - 1
    }

    /// Makes a [`Weak`] handle to this allocation.
    pub fn downgrade(this: &Self) -> Weak<T> {
        this.header().inc_weak();
        Weak::from_inner(*this.ptr)
    }

    /// Do both handles point to the same allocation? (As `Rc::ptr_eq`,
    /// metadata of `dyn` handles is ignored.)
    #[inline]
    pub fn ptr_eq(this: &Self, other: &Self) -> bool {
        ptr::addr_eq(this.ptr.as_ptr(), other.ptr.as_ptr())
    }

    /// A raw pointer to the value. It stays valid while a strong handle lives
    /// and the collector has not destroyed the value.
    pub fn as_ptr(this: &Self) -> *const T {
        // SAFETY: in bounds of the live allocation; no reference is created.
        unsafe { &raw const (*this.ptr.as_ptr()).value }
    }

    /// Consumes the handle and returns a pointer to its value, keeping the
    /// strong count the handle held (as [`Rc::into_raw`](std::rc::Rc::into_raw)).
    /// [`Gc::from_raw`] turns the pointer back into the handle; until then
    /// the object stays alive (a cycle through it is never collected: the
    /// pointer is a reference from outside the heap).
    ///
    /// ```
    /// use recycle::Gc;
    ///
    /// let raw = Gc::into_raw(Gc::new(String::from("kept")));
    /// // SAFETY: `raw` came from `into_raw`, and is turned back once.
    /// let back = unsafe { Gc::from_raw(raw) };
    /// assert_eq!(*back, "kept");
    /// ```
    pub fn into_raw(this: Self) -> *const T {
        let ptr = Gc::as_ptr(&this);
        core::mem::forget(this);
        ptr
    }

    /// Rebuilds the handle that [`Gc::into_raw`] consumed.
    ///
    /// # Safety
    ///
    /// - `ptr` was returned by [`Gc::into_raw`] on a `Gc<T>` (the same `T`;
    ///   to change the type, convert the `Gc` first, for example with
    ///   [`coerce_gc!`](crate::coerce_gc)), on this thread;
    /// - each such pointer is turned back at most once: it carries one
    ///   strong count, which the rebuilt handle gives up when dropped.
    pub unsafe fn from_raw(ptr: *const T) -> Self {
        // The value follows the header in `GcBox<T>` (`repr(C)`), at the
        // header's size rounded up to the value's alignment.
        // SAFETY: per the contract, `ptr` points to the value of an object
        // that its count keeps allocated; reading a reference's alignment
        // reads only its metadata (a trait object's vtable).
        let align = core::mem::align_of_val(unsafe { &*ptr });
        let offset = size_of::<GcHeader>().next_multiple_of(align);
        // SAFETY: `offset` is where `into_raw` found the value in its box,
        // so stepping back stays in the allocation; the cast keeps `ptr`'s
        // metadata, which `GcBox<T>` (with `T` as its last field) shares.
        let boxed = unsafe { ptr.byte_sub(offset) } as *const GcBox<T>;
        // SAFETY: derived from a non-null pointer into a live box.
        Gc::from_inner(unsafe { NonNull::new_unchecked(boxed.cast_mut()) })
    }

    /// The value, or `None` if the cycle collector has destroyed it (only
    /// possible in a `Drop` of a value the same collection is freeing).
    #[inline]
    pub fn try_deref(this: &Self) -> Option<&T> {
        if this.header().is_dead() {
            None
        } else {
            // SAFETY: not dead, and a live handle keeps the value alive.
            Some(unsafe { &(*this.ptr.as_ptr()).value })
        }
    }

    /// Would [`Gc::get_mut`] lend the value out? The only handle, no weak
    /// one, the value intact, and not untracked at birth (see there).
    fn lends_in_place(this: &Self) -> bool {
        let header = this.header();
        header.strong() == 1
            && header.weak() == 1
            && !header.is_dead()
            && (header.is_tracked_type()
                // SAFETY: the handle keeps the object, and its vtable, alive.
                || !unsafe { crate::header::vtable(this.header_ptr()) }.may_contain_gc)
    }

    /// Tracked type, value not destroyed, and in one of the heap's lists.
    pub(crate) fn is_tracked(&self) -> bool {
        let header = self.header();
        // SAFETY: tracked type, so the links exist; the handle keeps them alive.
        header.is_tracked_type()
            && !header.is_dead()
            && unsafe { links_of(self.header_ptr()).as_ref() }.is_linked()
    }

    /// Only strong handle, and the value neither garbage nor destroyed.
    fn is_uniquely_owned(this: &Self) -> bool {
        let header = this.header();
        header.strong() == 1 && !header.is_dead()
    }

    /// Consumes the handle without decrementing the count. Used by
    /// [`coerce_gc!`](crate::coerce_gc); not meant to be called directly.
    #[doc(hidden)]
    pub fn __into_box_ptr(this: Self) -> *mut GcBox<T> {
        ManuallyDrop::new(this).ptr.as_ptr()
    }

    /// Rebuilds a handle from [`Gc::__into_box_ptr`], possibly unsized.
    ///
    /// # Safety
    ///
    /// - `ptr` was returned by `__into_box_ptr`, converted only by an
    ///   unsizing coercion, and is used for one handle only.
    #[doc(hidden)]
    pub unsafe fn __from_box_ptr(ptr: *mut GcBox<T>) -> Self {
        // SAFETY: per the contract, a non-null pointer to a live box.
        Gc::from_inner(unsafe { NonNull::new_unchecked(ptr) })
    }
}

/// Converts a `Gc<T>` into a `Gc<U>` where `T: Unsize<U>`, typically a
/// trait object, on stable Rust (where `Gc` cannot implement `CoerceUnsized`).
///
/// ```
/// use std::fmt::Display;
/// use recycle::{Gc, coerce_gc};
///
/// let shown: Gc<dyn Display> = coerce_gc!(Gc::new(42));
/// assert_eq!(shown.to_string(), "42");
/// ```
#[macro_export]
macro_rules! coerce_gc {
    ($gc:expr) => {{
        let raw = $crate::Gc::__into_box_ptr($gc);
        // SAFETY: `raw` comes from `__into_box_ptr` and reaches
        // `__from_box_ptr` through an implicit coercion only, of a `*mut`,
        // which is invariant: an unsizing, never a subtyping.
        unsafe { $crate::Gc::__from_box_ptr(raw) }
    }};
}

impl<T: ?Sized + 'static> Gc<T> {
    /// A mutable reference to the value if there is no other `Gc` or `Weak`
    /// handle to it (as [`Rc::get_mut`](std::rc::Rc::get_mut)).
    ///
    /// Also `None` when the collector has found the value to be garbage or
    /// destroyed it (see [`Gc::try_deref`]), and for an object untracked at
    /// birth whose type may hold a `Gc` (a handle stored through the
    /// reference could close a cycle the collector would not see; see
    /// "Untracked at birth" in [`Trace`]).
    ///
    /// The collector never reads a value while safe code may hold `&mut` to
    /// it: a tracked object whose value this lends out leaves the
    /// collector's lists (so `gc::get_objects` and automatic collections
    /// inside the borrow do not see it, and [`gc::is_tracked`] says
    /// `false`). It comes back when a handle to it is dropped, or when a
    /// collection finds a handle to it in another object's value, whichever
    /// comes first; until then, cycles through it wait.
    ///
    /// `T: 'static`, unlike `Rc::get_mut`, as every object's type is: an
    /// object can be found again with the type it was made with
    /// (`gc::get_objects`, [`GcAny::downcast`](crate::GcAny::downcast)),
    /// so nothing may be written through a handle whose type says less
    /// about lifetimes (a `Gc<dyn Trait + 'a>`). For the same reason `Gc`
    /// is invariant in `T`, where `Rc` is covariant.
    ///
    /// [`gc::is_tracked`]: crate::gc::is_tracked
    pub fn get_mut(this: &mut Self) -> Option<&mut T> {
        if !Gc::lends_in_place(this) {
            return None;
        }
        let header = this.header();
        if header.is_tracked_type() {
            // SAFETY: tracked type, so the links exist; the handle keeps them alive.
            let links = unsafe { links_of(this.header_ptr()) };
            // SAFETY: as above.
            if unsafe { links.as_ref() }.is_linked() {
                // SAFETY: a live tracked object with one handle and no weak
                // one, in one of the heap's lists: not in one of the
                // collector's own (those hold only garbage, which has a
                // second count, the collector's hold, or no user code runs
                // meanwhile).
                unsafe { hooks::detach_for_get_mut(links) };
            }
        }
        // SAFETY: the only handle, no weak one, and `&mut self` borrows it;
        // the collector cannot reach the value (see above).
        Some(unsafe { &mut (*this.ptr.as_ptr()).value })
    }
}

impl<T: ?Sized> Clone for Gc<T> {
    /// Makes another handle to the same value (increments the strong count).
    #[inline]
    fn clone(&self) -> Self {
        // The new handle is made first and its count taken through it: the
        // compiler must assume that the increment's `asm!` block writes any
        // memory, and a handle built after it would read `self.ptr` again
        // (one load in eleven instructions on the clone-and-drop path). Until
        // it holds its count, the new handle must not be dropped: an
        // overflowing count aborts, and `ManuallyDrop` says so anyway.
        let clone = ManuallyDrop::new(Gc::from_inner(*self.ptr));
        clone.header().inc_strong();
        ManuallyDrop::into_inner(clone)
    }
}

impl<T: ?Sized> Drop for Gc<T> {
    /// Decrements the strong count; the last handle destroys the value.
    #[inline]
    fn drop(&mut self) {
        if self.header().release_strong() {
            // SAFETY: the handle being dropped: its pointer, to an object
            // whose count it just gave up.
            unsafe { crate::destroy::release_slow(self.header_ptr()) }
        }
    }
}

impl<T: ?Sized> Deref for Gc<T> {
    type Target = T;

    /// # Panics
    ///
    /// If the cycle collector has destroyed the value (see the type docs).
    #[inline]
    fn deref(&self) -> &T {
        if self.header().is_dead() {
            deref_of_destroyed_value(self.header_ptr())
        }
        // SAFETY: not dead, and a live handle keeps the value alive.
        unsafe { &(*self.ptr.as_ptr()).value }
    }
}

#[cold]
#[inline(never)]
#[track_caller]
fn deref_of_destroyed_value(header: NonNull<GcHeader>) -> ! {
    // SAFETY: a live handle's pointer, to a live allocation.
    let type_name = unsafe { crate::header::vtable(header) }.type_name;
    panic!(
        "dereferenced a Gc<{}> whose value the cycle collector already destroyed; \
         this happens in a Drop impl of a value in a garbage cycle (use Gc::try_deref \
         there, or do that work before the cycle is dropped), or in a Trace impl that \
         reads through its handles (it should only report them)",
        type_name()
    )
}

impl<T: ?Sized> Trace for Gc<T> {
    // SAFETY: `trace` reports exactly this handle, once; it is owned by
    // whatever owns this `Gc`.
    const TRUSTED: Option<Trust<Self>> = Some(unsafe { Trust::new_unchecked() });
    /// A handle always points to the same object.
    const FIXED_EDGES: bool = true;
    #[inline]
    fn trace(&self, tracer: &mut Tracer) {
        tracer.visit(self.header_ptr())
    }
}

impl<T: ?Sized> Unpin for Gc<T> {}

impl<T: ?Sized> AsRef<T> for Gc<T> {
    fn as_ref(&self) -> &T {
        self
    }
}

impl<T: ?Sized> Borrow<T> for Gc<T> {
    fn borrow(&self) -> &T {
        self
    }
}

impl<T: Trace + 'static> From<T> for Gc<T> {
    #[track_caller]
    fn from(value: T) -> Self {
        Gc::new(value)
    }
}

impl<T: Default + Trace + 'static> Default for Gc<T> {
    #[track_caller]
    fn default() -> Self {
        Gc::new(T::default())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Gc<T> {
    /// Formats the value; a handle whose value the collector destroyed
    /// formats as `<destroyed>` instead of panicking.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Gc::try_deref(self) {
            Some(value) => fmt::Debug::fmt(value, f),
            None => f.write_str("<destroyed>"),
        }
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for Gc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

impl<T: ?Sized> fmt::Pointer for Gc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Pointer::fmt(&Gc::as_ptr(self), f)
    }
}

impl<T: ?Sized + PartialEq> PartialEq for Gc<T> {
    /// Compares the values, as `Rc` does.
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: ?Sized + Eq> Eq for Gc<T> {}

impl<T: ?Sized + PartialOrd> PartialOrd for Gc<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        (**self).partial_cmp(&**other)
    }
}

impl<T: ?Sized + Ord> Ord for Gc<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        (**self).cmp(&**other)
    }
}

impl<T: ?Sized + Hash> Hash for Gc<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (**self).hash(state)
    }
}
