//! Objects whose length is known only at run time: the allocations behind
//! `Gc<[T]>` and `Gc<str>`.
//!
//! Every other object's layout is a compile-time constant of its vtable. A
//! slice object's vtable knows the layout of one element instead, and the
//! object keeps its length in one more word, the first of its prefix, at a
//! fixed distance before the header (so that the collector, which sees
//! only headers, can find it):
//!
//! ```text
//!  [T] whose T holds no Gc: untracked    [T] whose T may hold a Gc: tracked, prefixed
//!  +------------------------------+      +------------------------------+
//!  | (padding, for an element     |      | (padding, as on the left)    |
//!  |  aligned to more than 8)     |      | len: usize                   |
//!  | len: usize                   |      | vtable: &'static VTable      |
//! >| GcHeader (vtable in `word`)  |      | next, prev                   |
//!  | elements: [T; len]           |     >| GcHeader (gc_state in `word`)|
//!  +------------------------------+      | elements: [T; len]           |
//!                                        +------------------------------+
//! ```
//!
//! A slice object is never in a pool of its type (the pools of a type hold
//! blocks of one size), so a tracked one is always prefixed. A `str` is a
//! `[u8]` with a vtable of its own, for its name and `TypeId`.
//!
//! Handles to a slice object are fat pointers (`*mut GcBox<[T]>`) carrying
//! the same length; the vtable's functions rebuild such a pointer from the
//! header and the length word.

use core::alloc::Layout;
use core::marker::PhantomData;
use core::panic::Location;
use core::ptr::{self, NonNull};

use super::{GcBox, Placement, VTable};
use crate::header::{GcHeader, GcLinks, LINKS_OFFSET, tracked_prefix};
use crate::heap::Heap;
use crate::trace::{Trace, Tracer};

/// Bytes from a slice object's length word to its header.
const fn len_to_header(tracked: bool) -> usize {
    size_of::<usize>() + if tracked { tracked_prefix(true) } else { 0 }
}

/// The layout of a slice object of `len` elements laid out as `element`,
/// and the offset of its header in the allocation; `None` if it would not
/// fit in the address space.
fn layout_for(element: Layout, len: usize, tracked: bool) -> Option<(Layout, usize)> {
    // `GcBox<[T]>` is `repr(C)`: the header, then the elements at the
    // header's size rounded up to their alignment.
    let box_align = element.align().max(align_of::<GcHeader>());
    let value_offset = size_of::<GcHeader>().next_multiple_of(element.align());
    let box_size = value_offset
        .checked_add(element.size().checked_mul(len)?)?
        .checked_next_multiple_of(box_align)?;
    // The prefix ends right before the header; the header is aligned as
    // the box is.
    let header_offset = len_to_header(tracked).next_multiple_of(box_align);
    let align = box_align.max(align_of::<GcLinks>());
    let layout = Layout::from_size_align(header_offset.checked_add(box_size)?, align).ok()?;
    Some((layout, header_offset))
}

/// The number of elements of the slice object with header `header`.
///
/// # Safety
///
/// - `header` is a live slice object's (made by [`allocate_slice`], not yet
///   freed), with provenance over its allocation.
unsafe fn len_of(header: NonNull<GcHeader>, tracked: bool) -> usize {
    // SAFETY: `allocate_slice` wrote the length this far before the header,
    // inside the allocation, and nothing writes it afterwards.
    unsafe {
        header
            .byte_sub(len_to_header(tracked))
            .cast::<usize>()
            .read()
    }
}

/// `gc_box::layout_of` for a slice object.
///
/// # Safety
///
/// - As [`len_of`]; `element` and `placement` are the object's.
pub(super) unsafe fn layout_of(
    header: NonNull<GcHeader>,
    element: Layout,
    placement: Placement,
) -> (Layout, usize) {
    let tracked = placement != Placement::Untracked;
    debug_assert!(
        placement != Placement::TypedPool,
        "a slice object is never in a typed pool"
    );
    // SAFETY: forwarded contract.
    let len = unsafe { len_of(header, tracked) };
    layout_for(element, len, tracked).expect("the layout was computed when it was allocated")
}

/// The value of a slice object as a raw `[T]`, with the header's provenance.
///
/// # Safety
///
/// - As [`len_of`], and the elements have type `T`.
unsafe fn value_of<T>(header: NonNull<GcHeader>) -> *mut [T] {
    // SAFETY: per the contract, a live header (only its bits are read).
    let tracked = unsafe { header.as_ref() }.is_tracked_type();
    // SAFETY: as above.
    let len = unsafe { len_of(header, tracked) };
    let boxed = ptr::slice_from_raw_parts_mut(header.as_ptr().cast::<T>(), len) as *mut GcBox<[T]>;
    // SAFETY: `boxed` spans the box `allocate_slice` laid out for `len`
    // elements; a raw place, so no reference is made.
    unsafe { &raw mut (*boxed).value }
}

/// The vtable of slice objects of `T`, named (`type_name`, `TypeId`) after
/// `Name`: `[T]`, or `str` for a `[u8]` that holds UTF-8.
struct SliceVTableFor<T, Name: ?Sized>(PhantomData<fn(T, *const Name)>);

impl<T: Trace + 'static, Name: ?Sized + 'static> SliceVTableFor<T, Name> {
    /// Unused for slice objects (`slice_element` is set).
    const UNUSED: Layout = Layout::new::<()>();
    const VTABLE: VTable = VTable {
        may_contain_gc: T::MAY_CONTAIN_GC,
        trusted: <[T] as Trace>::TRUSTED.is_some(),
        trace: trace_slice::<T>,
        drop_value: drop_slice::<T>,
        // `[T]` has no finalizer (as `Vec<T>`): its elements' do not run.
        finalize: None,
        destroy: crate::destroy::destroy_unreferenced_with::<crate::destroy::Erased>,
        type_name: core::any::type_name::<Name>,
        type_id: core::any::TypeId::of::<Name>,
        alloc_layout: Self::UNUSED,
        header_offset: 0,
        prefixed_layout: Self::UNUSED,
        prefixed_header_offset: 0,
        untracked_layout: Self::UNUSED,
        slice_element: Some(Layout::new::<T>()),
    };
}

/// # Safety
///
/// - `header` is a live slice object of `T` whose elements are initialized
///   and not being dropped.
unsafe fn trace_slice<T: Trace>(header: NonNull<GcHeader>, tracer: &mut Tracer) {
    if !T::MAY_CONTAIN_GC {
        // Nothing to report (`gc::get_referents` of a `Gc<[u8]>`), and no
        // walk over the elements: a `Gc<[()]>` may have `usize::MAX`.
        return;
    }
    // SAFETY: per the contract the elements are initialized; only read.
    let value = unsafe { &*value_of::<T>(header) };
    value.trace(tracer);
}

/// # Safety
///
/// - `header` is a slice object of `T` whose elements are initialized, no
///   reference to them is live, and they are not used afterwards.
unsafe fn drop_slice<T>(header: NonNull<GcHeader>) {
    // SAFETY: per the contract; a raw place, so no reference covers it.
    unsafe { ptr::drop_in_place(value_of::<T>(header)) }
}

/// Allocates a slice object of `len` elements of `T`, named `Name`, with the
/// elements uninitialized, `strong` = 0, the implicit weak handle and (if
/// `T` may hold a `Gc`) unlinked `GcLinks`: the caller writes the elements,
/// sets the strong count, then links it in (`Gc::track`) if tracked.
///
/// # Panics
///
/// If the object would not fit in the address space.
pub(crate) fn allocate_slice<T: Trace + 'static, Name: ?Sized + 'static>(
    heap: &Heap,
    len: usize,
    site: &'static Location<'static>,
) -> NonNull<GcBox<[T]>> {
    let vtable = &SliceVTableFor::<T, Name>::VTABLE;
    let tracked = T::MAY_CONTAIN_GC;
    let Some((layout, header_offset)) = layout_for(Layout::new::<T>(), len, tracked) else {
        panic!(
            "Gc<{}>: {len} elements do not fit in memory",
            core::any::type_name::<Name>()
        )
    };
    let base = crate::alloc::allocate_in(heap, layout);
    if crate::tracemalloc::any_thread_tracing() {
        let name = core::any::type_name::<Name>();
        crate::tracemalloc::on_allocate(base.addr().get(), layout.size(), name, site);
    }
    // SAFETY: `header_offset` + the box's size is the allocation's size.
    let header: NonNull<GcHeader> = unsafe { base.byte_add(header_offset).cast() };
    // SAFETY: the length word and (tracked) the vtable word and links lie
    // between the start of the allocation and the header (`layout_for`
    // put the header at least `len_to_header` bytes in), all 8-aligned
    // since the header is.
    unsafe {
        header
            .byte_sub(len_to_header(tracked))
            .cast::<usize>()
            .write(len);
        if tracked {
            let links = header.byte_sub(LINKS_OFFSET).cast::<GcLinks>();
            links.write(GcLinks::unlinked());
            let vtable_word = links.byte_sub(size_of::<usize>()).cast::<*const VTable>();
            vtable_word.write(vtable);
        }
    }
    let fresh = if tracked {
        GcHeader::tracked(true, 0)
    } else {
        GcHeader::untracked(vtable, 0)
    };
    // SAFETY: in bounds and aligned; for a tracked object this writes the
    // links' last word, which is the header's first.
    unsafe { header.write(fresh) };
    let boxed = ptr::slice_from_raw_parts_mut(header.as_ptr().cast::<T>(), len) as *mut GcBox<[T]>;
    // SAFETY: derived from the non-null `header`.
    unsafe { NonNull::new_unchecked(boxed) }
}

/// [`allocate_slice`] for a `str` of `len` bytes.
pub(crate) fn allocate_str(
    heap: &Heap,
    len: usize,
    site: &'static Location<'static>,
) -> NonNull<GcBox<[u8]>> {
    allocate_slice::<u8, str>(heap, len, site)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_follows_the_prefix_and_the_elements_follow_the_header() {
        for tracked in [false, true] {
            for (element, len) in [
                (Layout::new::<u8>(), 0),
                (Layout::new::<u8>(), 3),
                (Layout::new::<u64>(), 5),
                (Layout::new::<()>(), 1000),
                (Layout::from_size_align(32, 32).unwrap(), 2),
            ] {
                let (layout, header_offset) = layout_for(element, len, tracked).unwrap();
                assert!(header_offset >= len_to_header(tracked));
                assert_eq!(header_offset % element.align().max(8), 0);
                let value_offset = 16usize.next_multiple_of(element.align());
                assert!(header_offset + value_offset + element.size() * len <= layout.size());
                assert_eq!(layout.align(), element.align().max(8));
            }
        }
    }

    #[test]
    fn a_length_too_large_for_memory_has_no_layout() {
        assert!(layout_for(Layout::new::<u64>(), usize::MAX / 4, true).is_none());
        assert!(layout_for(Layout::new::<u8>(), isize::MAX as usize, false).is_none());
    }
}
