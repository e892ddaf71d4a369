//! The allocation behind a `Gc<T>`: `GcBox<T>` (header + value), the per-type
//! [`VTable`] through which the collector handles type-erased objects, and
//! allocation/deallocation with the `GcLinks` prefix for tracked types.
//!
//! A tracked object comes from a pool of its own type when it can
//! (`alloc::allocate_typed_in`), whose header holds its vtable; otherwise it
//! is *prefixed*: it carries its vtable in one more word (see `header`).
//! Both layouts are computed at compile time; the header says which one an
//! object has.

use core::alloc::Layout;
use core::marker::PhantomData;
use core::panic::Location;
use core::ptr::NonNull;

use crate::header::{self, GcHeader, GcLinks, LINKS_OFFSET, tracked_prefix};
use crate::heap::Heap;
use crate::trace::{Trace, Tracer};

mod slice;
pub(crate) use slice::{allocate_slice, allocate_str};

/// The header and value of one object. `Gc<T>` and `Weak<T>` point here.
///
/// Public only so that [`coerce_gc!`](crate::coerce_gc) can name it in an
/// unsizing coercion; it has no public fields or methods.
#[doc(hidden)]
#[repr(C)]
pub struct GcBox<T: ?Sized> {
    pub(crate) header: GcHeader,
    pub(crate) value: T,
}

/// The pointer inside a `Gc` or `Weak`: a `NonNull` that is `Send` and
/// `Sync` by itself, so that a handle's only thread-bound part is its
/// marker, `PhantomData<*mut Gc<T>>` (or `Weak<T>`). The compiler's error for a handle
/// moved to another thread then names the handle (``*mut Gc<u32>` cannot
/// be sent between threads safely`) instead of recycle's internals.
pub(crate) struct BoxPtr<T: ?Sized>(NonNull<GcBox<T>>);

impl<T: ?Sized> BoxPtr<T> {
    #[inline(always)]
    pub(crate) const fn new(ptr: NonNull<GcBox<T>>) -> Self {
        BoxPtr(ptr)
    }
}

impl<T: ?Sized> Clone for BoxPtr<T> {
    #[inline(always)]
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: ?Sized> Copy for BoxPtr<T> {}

impl<T: ?Sized> core::ops::Deref for BoxPtr<T> {
    type Target = NonNull<GcBox<T>>;
    #[inline(always)]
    fn deref(&self) -> &NonNull<GcBox<T>> {
        &self.0
    }
}

// SAFETY: a `BoxPtr` is only ever a field of `Gc` and `Weak`, each of which
// also holds a `PhantomData<*mut Gc<T>>` (or `Weak<T>`) that is neither `Send` nor
// `Sync`: no handle, and so no `BoxPtr`, ever reaches another thread.
unsafe impl<T: ?Sized> Send for BoxPtr<T> {}
// SAFETY: as for `Send`.
unsafe impl<T: ?Sized> Sync for BoxPtr<T> {}

/// What the collector needs to know about an object's concrete type.
///
/// Aligned to 16 bytes: the header keeps four bits in the low bits of a
/// pointer to it.
#[repr(align(16))]
pub(crate) struct VTable {
    /// `T::MAY_CONTAIN_GC`: an untracked object of this type may still hold
    /// handles (it was untracked at birth).
    pub(crate) may_contain_gc: bool,
    /// `T::TRUSTED.is_some()`: the edges its `trace` reports may be
    /// subtracted as references from inside the heap.
    pub(crate) trusted: bool,
    /// Calls `Trace::trace` on the value.
    pub(crate) trace: unsafe fn(NonNull<GcHeader>, &mut Tracer),
    /// Drops the value in place.
    pub(crate) drop_value: unsafe fn(NonNull<GcHeader>),
    /// Runs the value's finalizer, if the type has one (`T::HAS_FINALIZER`).
    pub(crate) finalize: Option<unsafe fn(NonNull<GcHeader>)>,
    /// `destroy::destroy_unreferenced_with` compiled for `T`: what `Gc::drop` calls when
    /// the last handle goes.
    pub(crate) destroy: unsafe fn(NonNull<GcHeader>),
    /// `core::any::type_name::<T>()`.
    pub(crate) type_name: fn() -> &'static str,
    /// `TypeId::of::<T>()`, for `GcAny::downcast`.
    pub(crate) type_id: fn() -> core::any::TypeId,
    /// Layout of the whole allocation, prefix included: of an untracked
    /// object, or of a tracked one in a pool of its type.
    alloc_layout: Layout,
    /// Offset of the `GcHeader` from the start of the allocation.
    header_offset: usize,
    /// The same for a prefixed tracked object (its vtable in the object).
    prefixed_layout: Layout,
    prefixed_header_offset: usize,
    /// Layout of an untracked object (its header at offset 0): the same as
    /// `alloc_layout` for a type that cannot hold a `Gc`; for one that can,
    /// the layout of an object untracked at birth (see `Trace::FIXED_EDGES`).
    untracked_layout: Layout,
    /// `Some(layout of an element)` for a `[T]` or `str` object, whose
    /// layout follows from its length (see `slice`); the four fields above
    /// are then unused.
    slice_element: Option<Layout>,
}

/// Where an object's header is, and what surrounds it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Placement {
    /// Tracked, in a pool of its type (its vtable in the pool's header).
    TypedPool,
    /// Tracked, with its vtable in the word before its links.
    Prefixed,
    /// Untracked: the header first, its word holding the vtable.
    Untracked,
}

impl Placement {
    /// The placement of the object with header `h`.
    #[inline(always)]
    fn of(h: &GcHeader) -> Placement {
        if !h.is_tracked_type() {
            Placement::Untracked
        } else if h.is_prefixed() {
            Placement::Prefixed
        } else {
            Placement::TypedPool
        }
    }
}

impl VTable {
    /// The layout of an object with this vtable, and where its header is.
    #[inline(always)]
    fn layout(&self, placement: Placement) -> (Layout, usize) {
        match placement {
            Placement::TypedPool => (self.alloc_layout, self.header_offset),
            Placement::Prefixed => (self.prefixed_layout, self.prefixed_header_offset),
            Placement::Untracked => (self.untracked_layout, 0),
        }
    }
}

struct VTableFor<T>(PhantomData<T>);

impl<T: Trace + 'static> VTableFor<T> {
    const BOX: Layout = Layout::new::<GcBox<T>>();
    /// Where the header goes: after the prefix (for a tracked type, `next`
    /// and `prev`, and the vtable if `prefixed`), rounded up to the box's
    /// alignment so that the prefix ends right before the header.
    const fn header_offset(prefixed: bool) -> usize {
        if T::MAY_CONTAIN_GC {
            let align = Self::BOX.align();
            tracked_prefix(prefixed).div_ceil(align) * align
        } else {
            0
        }
    }
    const fn layout(prefixed: bool) -> Layout {
        Self::layout_with_header_at(Self::header_offset(prefixed))
    }
    const fn layout_with_header_at(offset: usize) -> Layout {
        let align = if Self::BOX.align() > align_of::<GcLinks>() {
            Self::BOX.align()
        } else {
            align_of::<GcLinks>()
        };
        match Layout::from_size_align(offset + Self::BOX.size(), align) {
            Ok(layout) => layout,
            Err(_) => panic!("Gc<T>: allocation layout overflows"),
        }
    }
    /// Untracked, or tracked in a pool of its own type.
    const HEADER_OFFSET: usize = Self::header_offset(false);
    const ALLOC: Layout = Self::layout(false);
    /// Tracked with its vtable in the object.
    const PREFIXED_HEADER_OFFSET: usize = Self::header_offset(true);
    const PREFIXED_ALLOC: Layout = Self::layout(true);
    /// Untracked (a type that cannot hold a `Gc`, or an object untracked at
    /// birth): the header at offset 0.
    const UNTRACKED_ALLOC: Layout = Self::layout_with_header_at(0);
    const VTABLE: VTable = VTable {
        may_contain_gc: T::MAY_CONTAIN_GC,
        trusted: T::TRUSTED.is_some(),
        trace: trace_value::<T>,
        drop_value: drop_value::<T>,
        finalize: if T::HAS_FINALIZER {
            Some(finalize_value::<T>)
        } else {
            None
        },
        destroy: crate::destroy::destroy_unreferenced_with::<crate::destroy::Typed<T>>,
        type_name: core::any::type_name::<T>,
        type_id: core::any::TypeId::of::<T>,
        alloc_layout: Self::ALLOC,
        header_offset: Self::HEADER_OFFSET,
        prefixed_layout: Self::PREFIXED_ALLOC,
        prefixed_header_offset: Self::PREFIXED_HEADER_OFFSET,
        untracked_layout: Self::UNTRACKED_ALLOC,
        slice_element: None,
    };
}

/// # Safety
///
/// - `header` is the header of a live `GcBox<T>` whose value is initialized and
///   not being dropped.
unsafe fn trace_value<T: Trace>(header: NonNull<GcHeader>, tracer: &mut Tracer) {
    // SAFETY: per the contract the value is initialized; we only read it.
    let value = unsafe { &(*header.cast::<GcBox<T>>().as_ptr()).value };
    value.trace(tracer);
}

/// # Safety
///
/// - As [`trace_value`].
unsafe fn finalize_value<T: Trace>(header: NonNull<GcHeader>) {
    // SAFETY: per the contract the value is initialized; we only read it.
    let value = unsafe { &(*header.cast::<GcBox<T>>().as_ptr()).value };
    value.finalize();
}

/// # Safety
///
/// - `header` is the header of a `GcBox<T>` whose value is initialized, no
///   reference to the value is live, and the value is not used afterwards.
#[inline(always)]
pub(crate) unsafe fn drop_value<T>(header: NonNull<GcHeader>) {
    // SAFETY: per the contract; a raw place, so no reference covers the value.
    unsafe { core::ptr::drop_in_place(&raw mut (*header.cast::<GcBox<T>>().as_ptr()).value) }
}

/// The vtable of `T`, a promoted `'static` constant.
pub(crate) fn vtable_of<T: Trace + 'static>() -> &'static VTable {
    &VTableFor::<T>::VTABLE
}

/// Allocates a box for `T` with an uninitialized value, `strong` = 0, the
/// implicit weak handle, and (for tracked types) unlinked `GcLinks`.
pub(crate) fn allocate_uninit<T: Trace + 'static>(
    site: &'static Location<'static>,
) -> NonNull<GcBox<T>> {
    crate::heap::with_heap(|heap| allocate_uninit_in::<T>(heap, site))
}

/// [`allocate_uninit`], with the heap already at hand.
#[inline]
pub(crate) fn allocate_uninit_in<T: Trace + 'static>(
    heap: &Heap,
    site: &'static Location<'static>,
) -> NonNull<GcBox<T>> {
    if T::MAY_CONTAIN_GC {
        let key: *const () = (vtable_of::<T>() as *const VTable).cast();
        if let Some(base) = crate::alloc::allocate_typed_in(heap, VTableFor::<T>::ALLOC, key) {
            return init_box::<T>(base, Placement::TypedPool, site);
        }
        let base = crate::alloc::allocate_in(heap, VTableFor::<T>::PREFIXED_ALLOC);
        return init_box::<T>(base, Placement::Prefixed, site);
    }
    allocate_untracked_in::<T>(heap, site)
}

/// [`allocate_untracked_in`], looking the heap up.
pub(crate) fn allocate_untracked<T: Trace + 'static>(
    site: &'static Location<'static>,
) -> NonNull<GcBox<T>> {
    crate::heap::with_heap(|heap| allocate_untracked_in::<T>(heap, site))
}

/// [`allocate_uninit_in`] for an untracked object: of a type that cannot
/// hold a `Gc`, or untracked at birth (see `Trace::FIXED_EDGES`).
#[inline]
pub(crate) fn allocate_untracked_in<T: Trace + 'static>(
    heap: &Heap,
    site: &'static Location<'static>,
) -> NonNull<GcBox<T>> {
    let base = crate::alloc::allocate_in(heap, VTableFor::<T>::UNTRACKED_ALLOC);
    init_box::<T>(base, Placement::Untracked, site)
}

/// Places the header (and, for a tracked object, its links, and for a
/// prefixed one its vtable) in a fresh allocation; tells `tracemalloc` that
/// `site` made it.
#[inline(always)]
fn init_box<T: Trace + 'static>(
    base: NonNull<u8>,
    placement: Placement,
    site: &'static Location<'static>,
) -> NonNull<GcBox<T>> {
    let (layout, offset) = vtable_of::<T>().layout(placement);
    let tracked = placement != Placement::Untracked;
    let prefixed = placement == Placement::Prefixed;
    if crate::tracemalloc::any_thread_tracing() {
        crate::tracemalloc::on_allocate(
            base.addr().get(),
            layout.size(),
            core::any::type_name::<T>(),
            site,
        );
    }
    // SAFETY: `offset` + size of the box is within the allocation.
    let boxed: NonNull<GcBox<T>> = unsafe { base.byte_add(offset).cast() };
    if tracked {
        // SAFETY: tracked layout: the links end where the header begins (they
        // share its first word), inside the allocation (offset >= the
        // prefix); a prefixed object's vtable is the word before them.
        unsafe {
            let links = boxed.byte_sub(LINKS_OFFSET).cast::<GcLinks>();
            links.write(GcLinks::unlinked());
            if prefixed {
                links
                    .byte_sub(size_of::<usize>())
                    .cast::<*const VTable>()
                    .write(vtable_of::<T>());
            }
        }
    }
    let header = if tracked {
        GcHeader::tracked(prefixed, 0)
    } else {
        GcHeader::untracked(vtable_of::<T>(), 0)
    };
    // SAFETY: fresh allocation, header field in bounds and aligned. (For a
    // tracked object this overwrites the links' `gc_state`, which is the
    // header's first word.)
    unsafe { (&raw mut (*boxed.as_ptr()).header).write(header) };
    boxed
}

/// The layout of the allocation that holds `header`, and the header's offset
/// in it.
///
/// # Safety
///
/// - `header` is the header of a not yet freed object, with provenance over
///   its allocation.
#[inline(always)]
unsafe fn layout_of(header: NonNull<GcHeader>) -> (Layout, usize) {
    // SAFETY: per the contract.
    let (vtable, placement) = unsafe { (header::vtable(header), Placement::of(header.as_ref())) };
    match vtable.slice_element {
        None => vtable.layout(placement),
        // SAFETY: a slice object (its vtable says so), live per the contract.
        Some(element) => unsafe { slice::layout_of(header, element, placement) },
    }
}

/// The address of the allocation that holds `header` (what the allocator and
/// `tracemalloc` know it by).
///
/// # Safety
///
/// - `header` is the header of a not yet freed object, with provenance over
///   its allocation.
pub(crate) unsafe fn allocation_address(header: NonNull<GcHeader>) -> usize {
    // SAFETY: per the contract.
    let (_, offset) = unsafe { layout_of(header) };
    header.addr().get() - offset
}

/// Frees the allocation of an object. Its value must already be dropped (or
/// never initialized) and no handle may point to it any more.
///
/// # Safety
///
/// - `header` came from [`allocate_uninit`], has not been freed, its value is
///   dropped or uninitialized, it is in no list, and `weak` reached 0.
pub(crate) unsafe fn deallocate(header: NonNull<GcHeader>) {
    // SAFETY: the header is still allocated (not freed yet, per the contract).
    let (layout, offset) = unsafe { layout_of(header) };
    // SAFETY: `offset` is how far `allocate_uninit` placed the header from
    // the start of the allocation, and `layout` is the layout it used.
    unsafe {
        let base = header.byte_sub(offset).cast::<u8>();
        crate::alloc::deallocate(base, layout);
    }
}

/// [`deallocate`] for a `GcBox<T>`, with the layouts known at compile time.
///
/// # Safety
///
/// - As [`deallocate`], and the object is a `GcBox<T>`.
#[inline(always)]
pub(crate) unsafe fn deallocate_typed<T: Trace + 'static>(header: NonNull<GcHeader>) {
    // SAFETY: the header is still allocated.
    let h = unsafe { header.as_ref() };
    let placement = if T::MAY_CONTAIN_GC {
        Placement::of(h)
    } else {
        Placement::Untracked
    };
    let (layout, offset) = match placement {
        Placement::TypedPool => (VTableFor::<T>::ALLOC, VTableFor::<T>::HEADER_OFFSET),
        Placement::Prefixed => (
            VTableFor::<T>::PREFIXED_ALLOC,
            VTableFor::<T>::PREFIXED_HEADER_OFFSET,
        ),
        Placement::Untracked => (VTableFor::<T>::UNTRACKED_ALLOC, 0),
    };
    // SAFETY: as `deallocate`, with `T`'s constants for the offset and layout.
    unsafe {
        let base = header.byte_sub(offset).cast::<u8>();
        crate::alloc::deallocate(base, layout);
    }
}
