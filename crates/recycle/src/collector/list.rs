//! Intrusive, circular, doubly linked lists of tracked objects (CPython's
//! `gc_list_*`), threaded through each object's `GcLinks`.
//!
//! A list is a sentinel `GcLinks` that must not move while objects link to it:
//! the generation lists live in the thread-local heap, and the collector's
//! working lists live in the frame of `collect` for the duration of a
//! collection. A sentinel whose `next` is null is an empty list that has not
//! been initialized yet (so that lists can be built in `const` context).

use core::ptr::{self, NonNull};

use crate::header::{GcLinks, header_of};

/// A list of tracked objects.
pub(crate) struct GcList {
    sentinel: GcLinks,
}

impl GcList {
    pub(crate) const fn new() -> Self {
        GcList {
            sentinel: GcLinks::unlinked(),
        }
    }

    /// The sentinel, initialized to an empty circular list if needed.
    #[inline(always)]
    fn head(&self) -> *const GcLinks {
        let head: *const GcLinks = &self.sentinel;
        if self.sentinel.next().is_null() {
            self.sentinel.set_next(head);
            self.sentinel.set_prev(head);
        }
        head
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        let next = self.sentinel.next();
        next.is_null() || ptr::eq(next, &self.sentinel)
    }

    /// The first object, if any.
    #[inline]
    pub(crate) fn first(&self) -> Option<NonNull<GcLinks>> {
        if self.is_empty() {
            None
        } else {
            NonNull::new(self.sentinel.next().cast_mut())
        }
    }

    /// The first object, or the sentinel when the list is empty: where a walk
    /// that may see the list grow starts.
    #[inline]
    pub(crate) fn first_or_end(&self) -> *const GcLinks {
        // SAFETY: `head` returns the (initialized) sentinel.
        unsafe { (*self.head()).next() }
    }

    /// Is `node` this list's sentinel (the end of a walk)?
    #[inline(always)]
    pub(crate) fn is_end(&self, node: *const GcLinks) -> bool {
        ptr::eq(node, &self.sentinel)
    }

    /// Appends an unlinked object.
    ///
    /// # Safety
    ///
    /// - `node` is the `GcLinks` of a live tracked object that is in no list.
    #[inline]
    pub(crate) unsafe fn push_back(&self, node: NonNull<GcLinks>) {
        let head = self.head();
        // SAFETY: the sentinel and (for a non-empty list) its last element are
        // live links: a list only ever holds live objects.
        unsafe {
            let last = (*head).prev();
            let n = node.as_ref();
            debug_assert!(!n.is_linked(), "push_back of a linked object");
            n.set_prev(last);
            n.set_next(head);
            (*last).set_next(node.as_ptr());
            (*head).set_prev(node.as_ptr());
        }
    }

    /// Moves every object of `other` to the end of `self`, leaving `other` empty.
    pub(crate) fn append(&self, other: &GcList) {
        if other.is_empty() {
            return;
        }
        let head = self.head();
        let other_head = other.head();
        // SAFETY: both lists are well formed, so every pointer followed here is
        // a live sentinel or object.
        unsafe {
            let first = (*other_head).next();
            let last = (*other_head).prev();
            let tail = (*head).prev();
            (*tail).set_next(first);
            (*first).set_prev(tail);
            (*last).set_next(head);
            (*head).set_prev(last);
            (*other_head).set_next(other_head);
            (*other_head).set_prev(other_head);
        }
    }

    /// Number of objects (walks the list).
    pub(crate) fn len(&self) -> usize {
        let mut n = 0;
        self.for_each(|_| n += 1);
        n
    }

    /// Calls `f` on each object. `f` must not unlink objects.
    pub(crate) fn for_each(&self, mut f: impl FnMut(NonNull<GcLinks>)) {
        if self.is_empty() {
            return;
        }
        let mut node = self.sentinel.next();
        while !self.is_end(node) {
            // SAFETY: a well-formed list holds live objects only.
            let next = unsafe { (*node).next() };
            // SAFETY: `node` is not the sentinel, so it is a live object's links.
            f(unsafe { NonNull::new_unchecked(node.cast_mut()) });
            node = next;
        }
    }

    /// Debug-only check of the list's shape and of each object's flags
    /// (CPython's `validate_list`). Compiled out in release builds.
    #[allow(unused_variables)]
    pub(crate) fn validate(&self, what: &str, check: impl Fn(&GcLinks) -> bool) {
        #[cfg(debug_assertions)]
        {
            if self.is_empty() {
                return;
            }
            let mut prev: *const GcLinks = &self.sentinel;
            let mut node = self.sentinel.next();
            while !self.is_end(node) {
                // SAFETY: a well-formed list holds live objects only.
                let links = unsafe { &*node };
                assert!(ptr::eq(links.prev(), prev), "{what}: broken prev link");
                assert!(
                    check(links),
                    "{what}: object with unexpected collector flags"
                );
                prev = node;
                node = links.next();
            }
            assert!(ptr::eq(self.sentinel.prev(), prev), "{what}: broken tail");
        }
    }
}

/// Removes an object from whatever list holds it; a no-op when it is in none.
///
/// # Safety
///
/// - `node` is the `GcLinks` of a live tracked object, and if linked, its
///   neighbours are live (true of every well-formed list).
#[inline]
pub(crate) unsafe fn unlink(node: NonNull<GcLinks>) {
    // SAFETY: per the contract.
    let n = unsafe { node.as_ref() };
    if !n.is_linked() {
        return;
    }
    // SAFETY: a linked object's neighbours are live links of the same list.
    unsafe {
        (*n.prev()).set_next(n.next());
        (*n.next()).set_prev(n.prev());
    }
    n.set_next(ptr::null());
    n.set_prev(ptr::null());
}

/// The header of a list element, for handing to vtable functions.
///
/// # Safety
///
/// - `node` is an object's links (not a sentinel).
#[inline(always)]
pub(crate) unsafe fn object_header(node: NonNull<GcLinks>) -> NonNull<crate::header::GcHeader> {
    // SAFETY: per the contract.
    unsafe { header_of(node) }
}
