//! The object graph as the `gc` module shows it: `get_objects`,
//! `get_referents`, `get_referrers`, `freeze`. Built on the same lists and
//! `trace` calls as the collector (CPython's `gc_get_referrers` walks every
//! generation with `tp_traverse` the same way).

use core::ptr::NonNull;
use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use crate::any::GcAny;
use crate::header::{GcHeader, set_frozen};
use crate::heap::{Heap, NUM_GENERATIONS, with_heap};
use crate::trace::{TraceAction, Tracer};

use super::destroy_deferred;
use super::list::{GcList, object_header};

/// Every live object in the given lists, as handles.
pub(crate) fn objects(lists: &[&GcList]) -> Vec<GcAny> {
    let mut out = Vec::new();
    for list in lists {
        list.for_each(|links| {
            // SAFETY: lists hold live tracked objects with initialized values.
            out.push(unsafe { GcAny::from_header(object_header(links)) });
        });
    }
    out
}

/// Runs `f`, which calls user `trace` code, with the protections the
/// collector has while it traces: strong-count-zero destructions of tracked
/// objects wait until `f` returns, `Gc::get_mut`/`try_unwrap` refuse (the
/// caller holds a `&T` into some value), and a nested `collect()` returns 0
/// (it would splice the lists `f` may be walking).
pub(crate) fn while_tracing<R>(f: impl FnOnce(&Heap) -> R) -> R {
    with_heap(|heap| {
        let was_collecting = heap.collecting.replace(true);
        let outer = heap.deferred.get();
        let mut deferred = Vec::new();
        if outer.is_null() {
            heap.deferred.set(&mut deferred);
        }
        struct Restore<'a>(&'a Heap, bool, *mut Vec<NonNull<GcHeader>>);
        impl Drop for Restore<'_> {
            fn drop(&mut self) {
                self.0.collecting.set(self.1);
                self.0.deferred.set(self.2);
            }
        }
        let restore = Restore(heap, was_collecting, outer);
        let result = catch_unwind(AssertUnwindSafe(|| f(heap)));
        drop(restore);
        // Also after a panic in `trace`: nothing is being walked any more.
        let destroy_panic = destroy_deferred(deferred);
        match result {
            Err(payload) => resume_unwind(payload),
            Ok(_) if destroy_panic.is_some() => resume_unwind(destroy_panic.unwrap()),
            Ok(value) => value,
        }
    })
}

/// The objects `object`'s value reports through `trace` (none once the
/// collector has destroyed the value).
pub(crate) fn referents(object: &GcAny) -> Vec<GcAny> {
    // SAFETY: the handle keeps the object alive.
    let header = unsafe { object.header_ptr().as_ref() };
    if header.is_dead() {
        return Vec::new();
    }
    while_tracing(|_| {
        let mut tracer = Tracer::new(TraceAction::Referents(Vec::new()));
        // SAFETY: a live object with an initialized value (not dead).
        unsafe {
            (crate::header::vtable(object.header_ptr()).trace)(object.header_ptr(), &mut tracer)
        };
        match tracer.into_action() {
            TraceAction::Referents(found) => found,
            _ => unreachable!("the tracer's action does not change"),
        }
    })
}

/// Every tracked object (frozen ones excepted) whose `trace` reports one of
/// `targets`.
pub(crate) fn referrers(targets: &[GcAny]) -> Vec<GcAny> {
    let wanted: HashSet<NonNull<GcHeader>> = targets.iter().map(GcAny::header_ptr).collect();
    while_tracing(|heap| {
        let mut out = Vec::new();
        for list in heap.all_lists() {
            list.for_each(|links| {
                let mut tracer = Tracer::new(TraceAction::Referents(Vec::new()));
                // SAFETY: lists hold live tracked objects with initialized values.
                let header = unsafe { object_header(links) };
                // SAFETY: as above.
                unsafe { (crate::header::vtable(header).trace)(header, &mut tracer) };
                let TraceAction::Referents(found) = tracer.into_action() else {
                    unreachable!("the tracer's action does not change")
                };
                if found.iter().any(|r| wanted.contains(&r.header_ptr())) {
                    // SAFETY: as above.
                    out.push(unsafe { GcAny::from_header(header) });
                }
            });
        }
        out
    })
}

/// Moves every tracked object to the permanent generation, which no
/// collection examines.
pub(crate) fn freeze() {
    with_heap(|heap| {
        super::incremental::abandon(heap);
        for list in heap.all_lists() {
            list.for_each(|links| {
                // SAFETY: lists hold live tracked objects.
                unsafe { set_frozen(links, true) };
            });
            heap.permanent.append(list);
        }
        heap.counters.note_all_frozen();
    })
}

/// Moves the permanent generation back into the oldest one.
pub(crate) fn unfreeze() {
    with_heap(|heap| {
        super::incremental::abandon(heap);
        heap.permanent.for_each(|links| {
            // SAFETY: lists hold live tracked objects.
            unsafe {
                set_frozen(links, false);
                links.as_ref().set_epoch(super::generations::ANCIENT_EPOCH);
            }
        });
        heap.generations[NUM_GENERATIONS - 1].append(&heap.permanent);
        // Drops of their handles while frozen were not recorded.
        super::generations::note_all_dirty();
    })
}
