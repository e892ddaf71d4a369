//! Prefetching for the collector's walks over its lists.
//!
//! A walk over a list chases `next` pointers: it learns where the next
//! object is only once the current one is in cache. On a heap larger than
//! the caches, whose objects sit in allocation order all over memory, each
//! step then waits for a full cache miss that nothing else overlaps, and a
//! walk costs about that miss per object, whatever the work done.
//!
//! The work on each object adds misses of its own, each waiting for the
//! one before: its value, a `Vec` buffer behind it, the objects it
//! references. Two remedies, both mere hints to the CPU:
//! - [`Runner`]: three cursors run ahead of the walk, each taking one link
//!   of that chain for the objects it passes: a scout chases the `next`
//!   pointers twelve objects ahead and prefetches each object; eight ahead,
//!   each object's `trace` runs with a tracer that prefetches the heap
//!   buffers holding its handles; four ahead, `trace` runs again, with a
//!   tracer that prefetches what the value references. (While what the
//!   objects reference sits near them anyway, only the second `trace` runs,
//!   for one object in sixteen.)
//!   The misses of a dozen objects are then in flight together, while the
//!   walk works on objects already in cache;
//! - [`Lookahead`]: the first walk of a collection notes the order in which
//!   it met the objects, so that the later walks over the same objects
//!   prefetch ten objects ahead without chasing anything.

use core::ptr::{self, NonNull};
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::header::{GcHeader, GcLinks, LINKS_OFFSET};
use crate::trace::{TraceAction, Tracer};

use super::PanicPayload;
use super::list::GcList;

/// How many objects ahead of the one being handled a [`Runner`]'s deep
/// pass traces.
const DEEP_DISTANCE: usize = 4;

/// How many objects further ahead its shallow pass traces.
const SHALLOW_DISTANCE: usize = 4;

/// How many objects further ahead its scout prefetches.
const SCOUT_DISTANCE: usize = 4;

/// Cursors a few objects ahead of a walk over a list (one that goes along
/// it, or one that takes objects off its front), which prefetch what the
/// walk will need, so that by the time it handles an object, what its value
/// references (anywhere in memory) is in cache. Each object costs the walk
/// three cache misses in a chain: the object, the heap buffer its value
/// keeps handles in (a `Vec`'s), and the objects those handles point to.
/// Each cursor takes one link of the chain, a few objects apart, so the
/// misses of different objects overlap:
///
/// 1. the *scout*, furthest ahead, follows the `next` pointers and
///    prefetches each object one step before it needs it (the chain that
///    any walk over a linked list waits for is the scout's);
/// 2. the *shallow pass* runs each object's `trace` with a tracer that
///    only prefetches the heap buffers that hold handles (`Vec` reports its
///    buffer instead of tracing its elements; `Tracer::prefetched_buffer`);
/// 3. the *deep pass* runs `trace` again, with a tracer that prefetches
///    every object reported: the buffers it reads are in cache by then.
///
/// The objects ahead must stay in the list, intact, until the walk reaches
/// them: only the object being handled may leave it (objects may be
/// appended; the runner does not look at those once it reached the end).
pub(crate) struct Runner {
    deep: *const GcLinks,
    shallow: *const GcLinks,
    scout: *const GcLinks,
    /// The passes' tracers; `None` once a `trace` panicked (see `step`).
    tracers: Option<(Tracer, Tracer)>,
    /// Objects traced in a row whose targets were all near them.
    near_streak: usize,
    /// Objects passed without tracing since the last one traced.
    skipped: usize,
}

/// After this many objects in a row whose targets were all near them (in
/// cache already, or followed by the hardware's own prefetchers), a
/// [`Runner`] traces only one object in `SAMPLE_EVERY`, until one of those
/// has a far target: on such a heap the extra `trace` calls are pure cost.
const QUIET_AFTER: usize = 32;
const SAMPLE_EVERY: usize = 16;

impl Runner {
    /// Starts on `list`, running ahead of its first object.
    ///
    /// # Safety
    ///
    /// - `list` holds live tracked objects with initialized values, and
    ///   stays as described above while the runner is used.
    pub(crate) unsafe fn start(
        list: &GcList,
        mut catch: Option<&mut Option<PanicPayload>>,
    ) -> Runner {
        let first = list.first_or_end();
        let mut runner = Runner {
            deep: first,
            shallow: first,
            scout: first,
            tracers: Some((
                Tracer::new(TraceAction::PrefetchBuffers),
                Tracer::new(TraceAction::Prefetch { far: 0 }),
            )),
            near_streak: 0,
            skipped: 0,
        };
        for _ in 0..DEEP_DISTANCE + SHALLOW_DISTANCE + SCOUT_DISTANCE {
            runner.advance_scout(list);
        }
        for _ in 0..DEEP_DISTANCE + SHALLOW_DISTANCE {
            runner.pass_shallow(list, catch.as_deref_mut());
        }
        for _ in 0..DEEP_DISTANCE {
            runner.pass_deep(list, catch.as_deref_mut());
        }
        runner
    }

    /// The walk is about to handle `current`, the first object of `list`:
    /// each cursor moves on by one object.
    ///
    /// `trace` runs user code. With `catch`, a panic in it ends the
    /// prefetching and goes to `catch` (for walks outside the collector's
    /// tracing, where handles `trace` drops are dropped at once, as a
    /// `Drop` would drop them, and where a `trace` that reads through a
    /// handle may meet garbage already deleted). Without it, the panic
    /// unwinds, as one from the walk's own `trace` calls would.
    pub(crate) fn step(
        &mut self,
        list: &GcList,
        current: NonNull<GcLinks>,
        mut catch: Option<&mut Option<PanicPayload>>,
    ) {
        // A cursor that caught up with the walk (at the end of the list)
        // moves past the object that is about to leave it.
        for cursor in [&mut self.deep, &mut self.shallow, &mut self.scout] {
            if ptr::eq(*cursor, current.as_ptr()) {
                // SAFETY: a live object of the list (the caller's).
                *cursor = unsafe { current.as_ref() }.next();
            }
        }
        self.advance_scout(list);
        self.pass_shallow(list, catch.as_deref_mut());
        self.pass_deep(list, catch);
    }

    #[inline(always)]
    fn advance_scout(&mut self, list: &GcList) {
        if list.is_end(self.scout) {
            return;
        }
        // SAFETY: not the sentinel, so a live object of the list (its line
        // was prefetched one step ago).
        self.scout = unsafe { (*self.scout).next() };
        prefetch(self.scout);
    }

    #[inline(always)]
    fn pass_shallow(&mut self, list: &GcList, catch: Option<&mut Option<PanicPayload>>) {
        if list.is_end(self.shallow) {
            return;
        }
        // SAFETY: not the sentinel, so a live object of the list.
        let node = unsafe { NonNull::new_unchecked(self.shallow.cast_mut()) };
        if self.near_streak < QUIET_AFTER {
            self.trace(node, catch, |(shallow, _)| shallow);
        }
        // SAFETY: as above.
        self.shallow = unsafe { node.as_ref() }.next();
    }

    #[inline(always)]
    fn pass_deep(&mut self, list: &GcList, catch: Option<&mut Option<PanicPayload>>) {
        if list.is_end(self.deep) {
            return;
        }
        // SAFETY: not the sentinel, so a live object of the list.
        let node = unsafe { NonNull::new_unchecked(self.deep.cast_mut()) };
        // SAFETY: as above.
        self.deep = unsafe { node.as_ref() }.next();
        if self.near_streak >= QUIET_AFTER {
            self.skipped += 1;
            if self.skipped < SAMPLE_EVERY {
                return;
            }
            self.skipped = 0;
        }
        self.trace(node, catch, |(_, deep)| deep);
        if let Some((_, deep)) = &mut self.tracers {
            if deep.take_far_visits() > 0 {
                self.near_streak = 0;
            } else {
                self.near_streak += 1;
            }
        }
    }

    /// Runs `node`'s `trace` with the tracer `which` picks, if the runner
    /// still traces; a panic is handled as `step` says.
    #[inline(always)]
    fn trace(
        &mut self,
        node: NonNull<GcLinks>,
        catch: Option<&mut Option<PanicPayload>>,
        which: fn(&mut (Tracer, Tracer)) -> &mut Tracer,
    ) {
        let Some(tracers) = &mut self.tracers else {
            return;
        };
        let tracer = which(tracers);
        // SAFETY: a live tracked object with an intact value (see `start`);
        // its `trace` is called as the collector calls any.
        let mut run = || unsafe { prefetch_referents(node, tracer) };
        match catch {
            None => run(),
            Some(first_panic) => {
                if let Err(payload) = catch_unwind(AssertUnwindSafe(run)) {
                    crate::unraisable::keep_first(first_panic, payload);
                    self.tracers = None;
                }
            }
        }
    }
}

/// Runs `node`'s `trace` with a prefetching tracer.
///
/// # Safety
///
/// - `node` is a live tracked object with an initialized value.
#[inline]
unsafe fn prefetch_referents(node: NonNull<GcLinks>, tracer: &mut Tracer) {
    debug_assert!(matches!(
        tracer.action(),
        TraceAction::Prefetch { .. } | TraceAction::PrefetchBuffers
    ));
    // SAFETY: per the contract.
    unsafe { tracer.trace_trusted(node) };
}

/// A cache hint for the object with header `header`: its header, and its
/// links if it has any (just before the header).
#[inline(always)]
pub(crate) fn prefetch_object(header: NonNull<GcHeader>) {
    let at = header.as_ptr().cast::<GcLinks>();
    prefetch_line(at);
    prefetch_line(at.wrapping_byte_sub(LINKS_OFFSET));
}

/// A cache hint for the line holding `at` (any address will do).
#[inline(always)]
pub(crate) fn prefetch_address(at: *const u8) {
    prefetch_line(at.cast());
}

/// A cache hint for the line at `at`.
#[inline(always)]
fn prefetch_line(at: *const GcLinks) {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    // SAFETY: as in `prefetch`.
    unsafe {
        use core::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(at.cast::<i8>());
    }
    #[cfg(not(all(target_arch = "x86_64", not(miri))))]
    let _ = at;
}

/// A cache hint for the object whose links are at `links`: its first two
/// cache lines (links, header and the start of the value). Any address will
/// do: nothing is read.
#[inline(always)]
fn prefetch(links: *const GcLinks) {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    {
        use core::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let at = links.cast::<i8>();
        // SAFETY: SSE is part of every x86_64 target, and a prefetch is
        // only a hint: it never faults and reads nothing the program can
        // see, whatever the address.
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(at);
            _mm_prefetch::<_MM_HINT_T0>(at.wrapping_add(64));
        }
    }
    #[cfg(not(all(target_arch = "x86_64", not(miri))))]
    let _ = links;
}

/// How far ahead a [`Lookahead`] walk prefetches: enough objects for their
/// cache misses to overlap (a core keeps about ten in flight).
const LOOKAHEAD: usize = 10;

/// How far [`Lookahead::follow`] looks for the current object before it
/// decides that the first walk did not meet it.
const RESYNC_WINDOW: usize = 16;

/// Addresses are stored in chunks of this many, so that a long walk never
/// copies (or keeps two copies of) what it noted so far.
const CHUNK: usize = 4096;

/// An address that [`Lookahead`] cannot store: too far from the first one.
const FAR: i32 = i32::MIN;

/// The objects of a walk in the order the walk met them, so that a later
/// walk over the same objects, in about the same order, can prefetch
/// several objects ahead.
///
/// It costs 4 bytes per object while it is kept: each address is stored as
/// its distance from the first one, in units of `GcLinks`' alignment (8
/// bytes, so 16 GiB either way, which the arenas of one thread's heap do
/// not span; an address further away is stored as `FAR` and not prefetched).
///
/// The addresses are only hints: an object may have moved in its list or
/// been freed since, and prefetching a stale address is harmless. Nothing
/// is ever read through them.
pub(crate) struct Lookahead {
    /// The first address noted; the others are stored relative to it.
    base: *const GcLinks,
    /// Full chunks, and the last one, each with room for `CHUNK`.
    chunks: Vec<Vec<i32>>,
    /// Addresses noted.
    len: usize,
    /// Where the later walk is in the order.
    position: usize,
    /// How many addresses `keep` rewrote at the front.
    kept: usize,
}

impl Default for Lookahead {
    fn default() -> Self {
        Lookahead::new()
    }
}

impl Lookahead {
    pub(crate) const fn new() -> Self {
        Lookahead {
            base: ptr::null(),
            chunks: Vec::new(),
            len: 0,
            position: 0,
            kept: 0,
        }
    }

    /// `node`'s distance from `base`, or `FAR`.
    #[inline(always)]
    fn encode(&self, node: *const GcLinks) -> i32 {
        let distance = node.addr().wrapping_sub(self.base.addr()) as isize;
        let unit = align_of::<GcLinks>() as isize;
        if distance % unit != 0 {
            return FAR;
        }
        i32::try_from(distance / unit).unwrap_or(FAR)
    }

    /// The stored distance at `index`.
    #[inline(always)]
    fn get(&self, index: usize) -> Option<i32> {
        if index < self.len {
            Some(self.chunks[index / CHUNK][index % CHUNK])
        } else {
            None
        }
    }

    /// Addresses noted.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Notes the next object of the first walk.
    #[inline(always)]
    pub(crate) fn record(&mut self, node: NonNull<GcLinks>) {
        if self.len == 0 {
            self.base = node.as_ptr();
        }
        if self.len == self.chunks.len() * CHUNK {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        let code = self.encode(node.as_ptr());
        self.chunks[self.len / CHUNK].push(code);
        self.len += 1;
    }

    /// A later walk reached `node`: finds it in the order (objects that
    /// left the list since are skipped; objects the first walk did not meet
    /// are not found and leave the position alone) and prefetches the
    /// object expected `LOOKAHEAD` steps later.
    #[inline(always)]
    pub(crate) fn follow(&mut self, node: NonNull<GcLinks>) {
        let node = self.encode(node.as_ptr());
        for offset in 0..RESYNC_WINDOW {
            match self.get(self.position + offset) {
                Some(seen) if seen == node => {
                    self.position += offset + 1;
                    break;
                }
                Some(_) => {}
                None => break,
            }
        }
        if let Some(ahead) = self.get(self.position + LOOKAHEAD)
            && ahead != FAR
        {
            let unit = align_of::<GcLinks>() as isize;
            prefetch(self.base.wrapping_byte_offset(ahead as isize * unit));
        }
    }

    /// Keeps `node`, which the walk just passed, for the walk after this
    /// one, which meets only some of this walk's objects, in the same order.
    /// The addresses are rewritten in place at the front, behind the walk's
    /// position, so no address still ahead is overwritten.
    #[inline(always)]
    pub(crate) fn keep(&mut self, node: NonNull<GcLinks>) {
        if self.kept < self.position {
            let code = self.encode(node.as_ptr());
            self.chunks[self.kept / CHUNK][self.kept % CHUNK] = code;
            self.kept += 1;
        }
    }

    /// Ends a later walk: what it kept becomes the order for the next one.
    pub(crate) fn start_over(&mut self) {
        self.len = self.kept;
        self.chunks.truncate(self.len.div_ceil(CHUNK));
        let full = self.chunks.len().saturating_sub(1) * CHUNK;
        if let Some(last) = self.chunks.last_mut() {
            last.truncate(self.len - full);
        }
        self.rewind();
    }

    /// Starts a later walk over the whole order.
    pub(crate) fn rewind(&mut self) {
        self.kept = 0;
        self.position = 0;
    }
}

#[cfg(test)]
mod tests {
    use core::ptr::NonNull;

    use super::{CHUNK, Lookahead};
    use crate::header::GcLinks;

    fn order(lookahead: &Lookahead) -> Vec<i32> {
        (0..lookahead.len())
            .map(|i| lookahead.get(i).unwrap())
            .collect()
    }

    /// A later walk that skips objects gone from its list, meets one the
    /// first walk did not, and keeps every other object: the kept ones, in
    /// their order, are what the next walk follows.
    #[test]
    fn a_walk_keeps_what_it_passed_in_order() {
        let n = if cfg!(miri) { 40 } else { CHUNK + 40 };
        let links: Vec<GcLinks> = (0..n + 1).map(|_| GcLinks::unlinked()).collect();
        let at = |i: usize| NonNull::from(&links[i]);
        let mut lookahead = Lookahead::new();
        for i in 0..n {
            lookahead.record(at(i));
        }
        assert_eq!(lookahead.len(), n);
        let mut kept = Vec::new();
        for i in 0..n {
            if i % 7 == 3 {
                continue; // left the list since the first walk
            }
            lookahead.follow(at(i));
            if i == n / 2 {
                lookahead.follow(at(n)); // not met by the first walk
            }
            if i % 2 == 0 {
                lookahead.keep(at(i));
                kept.push(at(i));
            }
        }
        assert_eq!(lookahead.position, n);
        lookahead.start_over();
        let expected: Vec<i32> = kept.iter().map(|&k| lookahead.encode(k.as_ptr())).collect();
        assert_eq!(order(&lookahead), expected);
        assert!(!expected.contains(&super::FAR));
        for &node in &kept {
            lookahead.follow(node);
        }
        assert_eq!(lookahead.position, kept.len());
    }
}
