//! `deduce_unreachable`: which objects of a set are referenced only from
//! inside the set (CPython's `update_refs`, `subtract_refs`,
//! `move_unreachable`).

use core::ptr::NonNull;

use crate::header::{GcLinks, survive_into};
use crate::trace::{TraceAction, Tracer};

use super::list::{GcList, object_header, unlink};
use super::lookahead::{Lookahead, Runner};

/// Splits `young` into reachable objects (left in `young`) and unreachable ones
/// (moved to `unreachable`):
///
/// 1. `update_refs`: copy each object's strong count into `gc_refs`.
/// 2. `subtract_refs`: for each edge between two objects of the set,
///    decrement the target's `gc_refs`. What is left is the number of
///    references from outside the set.
/// 3. `move_unreachable`: everything reachable from an object with
///    `gc_refs > 0` is alive; the rest is moved to `unreachable`.
///
/// Steps 1 and 2 share one walk over `young` (each walk over a large heap
/// costs about as much as the work done in it): `update_refs` is applied to
/// an object the first time the walk reaches it or an edge reports it,
/// whichever comes first.
///
/// `members` says which objects form the set (see [`Members`]).
///
/// No user code runs here: only trusted `trace` impls are called (see
/// `Tracer::trace_trusted`), and those promise, with `unsafe`, to do nothing
/// but report what their value owns. So the counts read in step 1 still hold
/// when step 3 acts on them, no object can lose its last handle, and the
/// lists change only as the walks change them. An untrusted value is opaque:
/// its handles are never subtracted, so everything it owns counts as
/// referenced from outside, and stays.
///
/// Contracts:
/// - on entry, `young` holds the objects to examine with clear collector
///   flags, and `unreachable` is empty; objects allocated since the
///   collection began are flagged `NEW`;
/// - on exit, `young` objects have clear flags again and `unreachable` objects
///   are condemned (`COLLECTING | UNREACHABLE` and `DEAD`) and held (one
///   hold each, taken here unless `members` says they have one already).
pub(crate) fn deduce_unreachable(
    young: &GcList,
    unreachable: &GcList,
    members: Members,
) -> Deduced {
    let mut lookahead = Lookahead::default();
    let candidates = match members {
        Members::FromEpoch {
            first_epoch,
            gather,
            ..
        } => subtract_refs(young, Some(first_epoch), gather, true, &mut lookahead),
        Members::AlreadyUpdated { already_held, .. } => {
            subtract_refs(young, None, false, !already_held, &mut lookahead)
        }
    };
    let survivor_generation = members.survivor_generation();
    young.validate("update_refs + subtract_refs", |l| l.is_collecting());
    let take_holds = !matches!(
        members,
        Members::AlreadyUpdated {
            already_held: true,
            ..
        }
    );
    let (found, needs) = move_unreachable(
        young,
        unreachable,
        survivor_generation,
        take_holds,
        &mut lookahead,
    );
    young.validate("move_unreachable: young", |l| !l.has_collection_flags());
    unreachable.validate("move_unreachable: unreachable", |l| {
        l.is_collecting() && l.is_unreachable()
    });
    Deduced {
        candidates,
        unreachable: found,
        needs_finalizers: needs.finalizers,
        needs_weak_callbacks: needs.weak_callbacks,
        lookahead,
    }
}

/// Which objects form the set `deduce_unreachable` examines.
#[derive(Clone, Copy)]
pub(crate) enum Members {
    /// The objects of the generations being collected: every listed object
    /// (not `NEW`, not frozen) allocated in `first_epoch` or later.
    /// `update_refs` runs lazily. Without `gather`, all of them are in
    /// `young` on entry. With `gather` (`Candidates`, below), `young` holds
    /// the decremented ones, and the others move from wherever they are
    /// listed to the end of `young` when an edge first reaches them.
    /// Survivors move to `survivor_generation`.
    ///
    /// `Candidates`: why starting from the decremented objects is enough. A
    /// set of young objects that this collection could free has no
    /// reference from outside itself. Follow references backwards inside it
    /// and you reach a part that nothing else references at all. Its
    /// objects were referenced from outside once (a handle is outside when
    /// it is made), and the last such reference went away as a decrement to
    /// a count above zero (their references to each other remain), which put
    /// its target in a list of decremented objects. (A handle moved into the
    /// part instead of dropped needs a handle to the part to store it
    /// through, and that one went away the same way.) Everything in the set
    /// is reachable from that target through objects of the set. Survivors
    /// of a young collection stay in the decremented lists, so that the
    /// next older collection starts from them too: the part may reach into
    /// an older generation.
    FromEpoch {
        first_epoch: u32,
        gather: bool,
        survivor_generation: usize,
    },
    /// Exactly the objects of `young`, on which the caller already ran
    /// `update_refs` (`handle_resurrected_objects`, the incremental cycle's
    /// collect step); survivors move to the given generation. With
    /// `already_held`, every object carries the collector's hold already
    /// (the garbage of `handle_resurrected_objects`): none is taken or
    /// given back.
    AlreadyUpdated {
        survivor_generation: usize,
        already_held: bool,
    },
}

impl Members {
    pub(crate) fn survivor_generation(self) -> usize {
        match self {
            Members::FromEpoch {
                survivor_generation,
                ..
            }
            | Members::AlreadyUpdated {
                survivor_generation,
                ..
            } => survivor_generation,
        }
    }
}

/// What `deduce_unreachable` found.
pub(crate) struct Deduced {
    /// Objects examined.
    pub(crate) candidates: usize,
    /// Objects moved to the unreachable list.
    pub(crate) unreachable: usize,
    /// Some unreachable object has a finalizer that has not run.
    pub(crate) needs_finalizers: bool,
    /// Some unreachable object has weak callbacks.
    pub(crate) needs_weak_callbacks: bool,
    /// The unreachable objects in the order `move_unreachable` found them,
    /// for `delete_garbage` to prefetch.
    pub(crate) lookahead: Lookahead,
}

/// What the unreachable objects will need, noted while `move_unreachable`
/// touches them anyway (so that later phases skip walks nobody needs).
#[derive(Default)]
struct Needs {
    finalizers: bool,
    weak_callbacks: bool,
}

/// `gc_refs := strong`, and mark the object as being collected; a no-op for
/// an object already updated in this collection.
#[inline(always)]
pub(crate) fn update_refs(links: NonNull<GcLinks>) {
    // SAFETY: a live tracked object of the collected set.
    let l = unsafe { links.as_ref() };
    if !l.is_collecting() {
        // SAFETY: as above.
        let strong = unsafe { object_header(links).as_ref() }.strong();
        l.start_collecting(strong);
    }
}

/// Is an object that `update_refs` has not reached yet one of the objects
/// being collected? Those are the listed objects of the collected
/// generations (allocated in `first_epoch` or later), except objects
/// allocated since the collection began and frozen ones. With `None`, the
/// set was marked in advance.
#[inline(always)]
pub(crate) fn in_collected_set(links: &GcLinks, first_epoch: Option<u32>) -> bool {
    match first_epoch {
        Some(first) => {
            links.is_linked() && !links.is_new() && !links.is_frozen() && links.epoch() >= first
        }
        // The set was marked in advance: an object not marked is not in it.
        None => false,
    }
}

/// Walks `young` once: `update_refs` on each object not yet updated, then
/// its `trace`, which subtracts the references that come from inside the set
/// (`Tracer::visit` applies `update_refs` to targets first reached this way).
/// A `trace` that reports more edges to an object than it has handles marks
/// it `KEEP_ALIVE` instead of going below zero.
///
/// Returns the number of objects walked. The walk's order goes to
/// `lookahead`.
///
/// With `gather` (see `Members::FromEpoch`), the objects first reached
/// through an edge move to the end of `young`, and the walk goes on until it
/// reaches them.
fn subtract_refs(
    young: &GcList,
    first_epoch: Option<u32>,
    gather: bool,
    adopt: bool,
    lookahead: &mut Lookahead,
) -> usize {
    let mut tracer = Tracer::new(TraceAction::SubtractRefs {
        first_epoch,
        gather,
        walk: young,
        adopt,
    });
    // SAFETY: `young` holds live tracked objects with values, and nothing
    // leaves it while it is walked (trusted `trace` code changes nothing).
    let mut runner = unsafe { Runner::start(young, None) };
    let mut walked = 0;
    let mut node = young.first_or_end();
    while !young.is_end(node) {
        // SAFETY: not the sentinel, so a live tracked object in `young`.
        let links = unsafe { NonNull::new_unchecked(node.cast_mut()) };
        walked += 1;
        runner.step(young, links, None);
        lookahead.record(links);
        update_refs(links);
        // SAFETY: `links` is a live tracked object with an initialized value
        // (objects whose value is gone are never in a list).
        unsafe { tracer.trace_trusted(links) };
        // Read after tracing: gathered objects were appended after this one
        // (and nothing leaves `young` while it is walked).
        // SAFETY: as above.
        node = unsafe { links.as_ref() }.next();
    }
    walked
}

/// Moves every object that is not reachable from an object with external
/// references to `unreachable`, without recursion: the walk over `young` is
/// itself the work list.
///
/// Invariant: every object before the walk's position in `young` is
/// reachable, and its collector flags are cleared. An object reached from one
/// of them gets `gc_refs = 1`; if it had already been moved to
/// `unreachable`, it goes back to the end of `young`, where the walk reaches
/// it again (CPython's `visit_reachable`).
///
/// Every object in `unreachable` carries a *hold*: one extra strong count
/// taken by the collector (here, if `take_holds`), so that none of them is
/// destroyed by counting before `delete_garbage` gets to it (each garbage
/// value is then dropped on its own, never nested inside another's `Drop`).
/// It is also *condemned*: flagged `DEAD` as well as `UNREACHABLE`, so that
/// no handle reaches its value from now on (finalizers get it back, intact,
/// for their turn: `finalize_garbage`).
///
/// `lookahead` holds the order of `subtract_refs`' walk, which this walk
/// follows (it meets moved-back objects twice); on exit it holds the
/// objects moved to `unreachable`, in their order there.
///
/// Returns how many objects ended up in `unreachable`, and whether any of
/// them has a pending finalizer or weak callbacks. (An object moved back
/// keeps what it added to those flags: they only allow skipping a walk.)
fn move_unreachable(
    young: &GcList,
    unreachable: &GcList,
    survivor_generation: usize,
    take_holds: bool,
    lookahead: &mut Lookahead,
) -> (usize, Needs) {
    let mut tracer = Tracer::new(TraceAction::MarkReachable {
        young,
        release_holds: take_holds,
    });
    let mut moved = 0;
    let mut needs = Needs::default();
    let mut node = young.first_or_end();
    while !young.is_end(node) {
        // SAFETY: not the sentinel, so a live tracked object in `young`.
        let links_ptr = unsafe { NonNull::new_unchecked(node.cast_mut()) };
        // SAFETY: as above.
        let links = unsafe { links_ptr.as_ref() };
        lookahead.follow(links_ptr);
        if links.gc_refs() > 0 || links.is_kept_alive() {
            // SAFETY: live tracked object with an initialized value.
            unsafe { tracer.trace_trusted(links_ptr) };
            // SAFETY: as above.
            unsafe { survive_into(links_ptr, survivor_generation) };
            // Read after tracing: objects moved back were appended after us.
            node = links.next();
        } else {
            node = links.next();
            // SAFETY: the object is in `young`; `unreachable` is a live list.
            unsafe {
                unlink(links_ptr);
                unreachable.push_back(links_ptr);
            }
            links.condemn();
            lookahead.keep(links_ptr);
            if take_holds {
                hold(links_ptr);
            }
            moved += 1;
            // SAFETY: a live tracked object.
            let header_ptr = unsafe { object_header(links_ptr) };
            // SAFETY: as above.
            let (header, vtable) =
                unsafe { (header_ptr.as_ref(), crate::header::vtable(header_ptr)) };
            needs.finalizers |= vtable.finalize.is_some() && !header.is_finalized();
            needs.weak_callbacks |= header.has_weak_callbacks();
        }
    }
    lookahead.start_over();
    (moved - tracer.moved_back(), needs)
}

/// Takes the collector's hold on an object entering `unreachable`.
fn hold(links: NonNull<GcLinks>) {
    // SAFETY: a live tracked object of the collector's lists.
    unsafe { object_header(links).as_ref() }.inc_strong();
}

/// Gives the hold back, when an object leaves `unreachable` other than by
/// being destroyed. Returns `true` if that released the last strong count.
pub(crate) fn release_hold(links: NonNull<GcLinks>) -> bool {
    // SAFETY: a live tracked object of the collector's lists.
    unsafe { object_header(links).as_ref() }.dec_strong() == 0
}
