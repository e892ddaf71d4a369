//! The allocation behind a `Gc<T>`: `GcBox<T>` (header + value), the per-type
//! [`VTable`] through which the collector handles type-erased objects, and
//! allocation/deallocation with the `GcLinks` prefix for tracked types.

use core::alloc::Layout;
use core::marker::PhantomData;
use core::panic::Location;
use core::ptr::NonNull;

use crate::header::{GcHeader, GcLinks, LINKS_SIZE};
use crate::heap::Heap;
use crate::trace::{Trace, Tracer};

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

/// What the collector needs to know about an object's concrete type.
pub(crate) struct VTable {
    /// `T::MAY_CONTAIN_GC`: the object has `GcLinks` and lives in a list.
    pub(crate) tracked: bool,
    /// `T::TRUSTED.is_some()`: the edges its `trace` reports may be
    /// subtracted as references from inside the heap.
    pub(crate) trusted: bool,
    /// Calls `Trace::trace` on the value.
    pub(crate) trace: unsafe fn(NonNull<GcHeader>, &mut Tracer),
    /// Drops the value in place.
    pub(crate) drop_value: unsafe fn(NonNull<GcHeader>),
    /// Runs the value's finalizer, if the type has one (`T::HAS_FINALIZER`).
    pub(crate) finalize: Option<unsafe fn(NonNull<GcHeader>)>,
    /// `destroy_unreferenced` compiled for `T`: what `Gc::drop` calls when
    /// the last handle goes.
    pub(crate) destroy: unsafe fn(NonNull<GcHeader>),
    /// `core::any::type_name::<T>()`.
    pub(crate) type_name: fn() -> &'static str,
    /// `TypeId::of::<T>()`, for `GcAny::downcast`.
    pub(crate) type_id: fn() -> core::any::TypeId,
    /// Layout of the whole allocation, prefix included.
    alloc_layout: Layout,
    /// Offset of the `GcHeader` from the start of the allocation.
    header_offset: usize,
}

struct VTableFor<T>(PhantomData<T>);

impl<T: Trace + 'static> VTableFor<T> {
    const BOX: Layout = Layout::new::<GcBox<T>>();
    /// Tracked: `[padding][GcLinks][GcBox<T>]`, with the links right before the
    /// header whatever `T`'s alignment is. Untracked: just `GcBox<T>`.
    const HEADER_OFFSET: usize = if T::MAY_CONTAIN_GC {
        let align = Self::BOX.align();
        LINKS_SIZE.div_ceil(align) * align
    } else {
        0
    };
    const ALLOC: Layout = {
        let align = if Self::BOX.align() > align_of::<GcLinks>() {
            Self::BOX.align()
        } else {
            align_of::<GcLinks>()
        };
        match Layout::from_size_align(Self::HEADER_OFFSET + Self::BOX.size(), align) {
            Ok(layout) => layout,
            Err(_) => panic!("Gc<T>: allocation layout overflows"),
        }
    };
    const VTABLE: VTable = VTable {
        tracked: T::MAY_CONTAIN_GC,
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
    init_box::<T>(crate::alloc::allocate(VTableFor::<T>::ALLOC), site)
}

/// [`allocate_uninit`], with the heap already at hand.
pub(crate) fn allocate_uninit_in<T: Trace + 'static>(
    heap: &Heap,
    site: &'static Location<'static>,
) -> NonNull<GcBox<T>> {
    init_box::<T>(crate::alloc::allocate_in(heap, VTableFor::<T>::ALLOC), site)
}

/// Places the header (and links) in a fresh allocation; tells `tracemalloc`
/// that `site` made it.
#[inline(always)]
fn init_box<T: Trace + 'static>(
    base: NonNull<u8>,
    site: &'static Location<'static>,
) -> NonNull<GcBox<T>> {
    if crate::tracemalloc::any_thread_tracing() {
        crate::tracemalloc::on_allocate(
            base.addr().get(),
            VTableFor::<T>::ALLOC.size(),
            core::any::type_name::<T>(),
            site,
        );
    }
    // SAFETY: `header_offset` + size of the box is within the allocation.
    let boxed: NonNull<GcBox<T>> = unsafe { base.byte_add(VTableFor::<T>::HEADER_OFFSET).cast() };
    // SAFETY: fresh allocation, header field in bounds and aligned.
    unsafe {
        (&raw mut (*boxed.as_ptr()).header).write(GcHeader::new(vtable_of::<T>(), 0));
    }
    if T::MAY_CONTAIN_GC {
        // SAFETY: tracked layout: the links occupy the LINKS_SIZE bytes just before
        // the header, inside the allocation (HEADER_OFFSET >= LINKS_SIZE).
        unsafe {
            boxed
                .byte_sub(LINKS_SIZE)
                .cast::<GcLinks>()
                .write(GcLinks::unlinked())
        };
    }
    boxed
}

/// The address of the allocation that holds `header` (what the allocator and
/// `tracemalloc` know it by).
///
/// # Safety
///
/// - `header` is the header of a not yet freed object.
pub(crate) unsafe fn allocation_address(header: NonNull<GcHeader>) -> usize {
    // SAFETY: the header is still allocated (per the contract).
    let offset = unsafe { header.as_ref() }.vtable().header_offset;
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
    let vtable = unsafe { header.as_ref() }.vtable();
    // SAFETY: `header_offset` is how far `allocate_uninit` placed the header from
    // the start of the allocation, and `alloc_layout` is the layout it used.
    unsafe {
        let base = header.byte_sub(vtable.header_offset).cast::<u8>();
        crate::alloc::deallocate(base, vtable.alloc_layout);
    }
}

/// [`deallocate`] for a `GcBox<T>`, with the layout known at compile time.
///
/// # Safety
///
/// - As [`deallocate`], and the object is a `GcBox<T>`.
#[inline(always)]
pub(crate) unsafe fn deallocate_typed<T: Trace + 'static>(header: NonNull<GcHeader>) {
    // SAFETY: as `deallocate`, with `T`'s constants for the offset and layout.
    unsafe {
        let base = header.byte_sub(VTableFor::<T>::HEADER_OFFSET).cast::<u8>();
        crate::alloc::deallocate(base, VTableFor::<T>::ALLOC);
    }
}
