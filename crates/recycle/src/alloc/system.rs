//! Arena memory, straight from the operating system.
//!
//! On Unix, arenas are mapped and unmapped with `mmap` and `munmap`, as
//! CPython's obmalloc does, rather than taken from the global allocator. An
//! arena given back then goes back to the system wherever it lies: glibc's
//! `free` returns memory only from the top of its heap, so an arena freed
//! below a live 64-byte `Box` would stay resident, counted as released.
//! Under Miri (which cannot run `mmap`) and on other systems, arenas come
//! from the global allocator.

use core::alloc::Layout;
use core::ptr::NonNull;

/// Memory for one arena: `size` bytes aligned to `size` (a power of two,
/// at least the page size), readable and writable. Aborts through
/// `handle_alloc_error` if the system has none.
pub(crate) fn map_arena(size: usize) -> NonNull<u8> {
    imp::map(size).unwrap_or_else(|| std::alloc::handle_alloc_error(layout(size)))
}

/// Gives an arena's memory back to the system.
///
/// # Safety
///
/// - `base` came from [`map_arena`] with the same `size`, and nothing uses
///   the memory afterwards.
pub(crate) unsafe fn unmap_arena(base: NonNull<u8>, size: usize) {
    // SAFETY: forwarded contract.
    unsafe { imp::unmap(base, size) }
}

fn layout(size: usize) -> Layout {
    Layout::from_size_align(size, size).expect("an arena size is a power of two")
}

#[cfg(all(unix, not(miri)))]
mod imp {
    use core::ptr::{self, NonNull};

    /// Maps twice `size` and unmaps what lies outside the aligned middle:
    /// `mmap` only promises page alignment.
    pub(super) fn map(size: usize) -> Option<NonNull<u8>> {
        let span = size.checked_mul(2)?;
        // SAFETY: an anonymous private mapping at an address of the
        // kernel's choosing touches no existing memory.
        let raw = unsafe {
            libc::mmap(
                ptr::null_mut(),
                span,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if raw == libc::MAP_FAILED {
            return None;
        }
        let raw = raw.cast::<u8>();
        let lead = raw.addr().next_multiple_of(size) - raw.addr();
        let trail = size - lead;
        // SAFETY: both ranges lie inside the mapping just made, outside the
        // aligned `size` bytes kept, and are page-aligned (`size` is a
        // multiple of the page size, and so are `lead` and `trail`).
        unsafe {
            if lead > 0 {
                libc::munmap(raw.cast(), lead);
            }
            if trail > 0 {
                libc::munmap(raw.add(lead + size).cast(), trail);
            }
        }
        // SAFETY: inside the mapping, which is not null.
        Some(unsafe { NonNull::new_unchecked(raw.add(lead)) })
    }

    /// # Safety
    ///
    /// - As `unmap_arena`.
    pub(super) unsafe fn unmap(base: NonNull<u8>, size: usize) {
        // SAFETY: per the contract, a mapping of `size` bytes from `map`.
        let status = unsafe { libc::munmap(base.as_ptr().cast(), size) };
        debug_assert_eq!(status, 0, "munmap of an arena failed");
    }
}

#[cfg(not(all(unix, not(miri))))]
mod imp {
    use core::ptr::NonNull;

    pub(super) fn map(size: usize) -> Option<NonNull<u8>> {
        // SAFETY: an arena's layout has a non-zero size.
        NonNull::new(unsafe { std::alloc::alloc(super::layout(size)) })
    }

    /// # Safety
    ///
    /// - As `unmap_arena`.
    pub(super) unsafe fn unmap(base: NonNull<u8>, size: usize) {
        // SAFETY: per the contract, from `map` with this layout.
        unsafe { std::alloc::dealloc(base.as_ptr(), super::layout(size)) }
    }
}
