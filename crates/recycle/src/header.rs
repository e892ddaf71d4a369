//! The per-object header: the only file that knows the bit layout.
//!
//! Every allocation made by [`Gc::new`](crate::Gc::new) looks like one of
//! these (`Gc` and `Weak` point to the `GcHeader`, marked `>`):
//!
//! ```text
//!  untracked (a type that can never hold a Gc)    tracked, in a pool of its own type
//!  +--------------------------------------+       +--------------------------------------+
//! >| word: &'static VTable | header flags |       | next: *const GcLinks                 |
//!  | strong: u32                          |       | prev: *const GcLinks                 |
//!  | weak: u32                            |      >| word: gc_state (below)               |
//!  +--------------------------------------+       | strong: u32                          |
//!  | value: T                             |       | weak: u32                            |
//!  +--------------------------------------+       +--------------------------------------+
//!                                                 | value: T                             |
//!                                                 +--------------------------------------+
//! ```
//!
//! A `Gc<[T]>` or `Gc<str>` object has one more word before either layout
//! (before `next`, or before its vtable word when prefixed): its length
//! (see `gc_box::slice`).
//!
//! `GcHeader` (16 bytes: `word`, `strong`, `weak`) is what every object has.
//! A tracked object also has `GcLinks` (`next`, `prev` and `gc_state`, 24
//! bytes, like CPython's `PyGC_Head`) whose last word *is* the header's
//! `word`: the two overlap by eight bytes, so a tracked object's header costs
//! 32 bytes. `next` and `prev` thread it into the intrusive, circular, doubly
//! linked list of the generation it lives in.
//!
//! A tracked object has no room for its vtable: the pool allocator gives
//! each tracked type pools of its own, and the pool's header holds the
//! vtable (`alloc::kind_of`), as a "big bag of pages" allocator does. When
//! that is impossible (a value too big for the pools, the `pool` feature
//! off, or more tracked types on the thread than the allocator has slots
//! for), the object is *prefixed*: one more word, before `next`, holds its
//! vtable. `TYPED_POOL` tells the two apart.
//!
//! The `strong` word holds the count of `Gc` handles in bits 0..31 and, in
//! bit 31, `REPORT_DECREMENTS`: whether a decrement that leaves the count
//! above zero must be reported to the collector (see the flag's docs).
//!
//! The `weak` word holds the count of `Weak` handles in bits 0..30 (+1 owned
//! by all strong handles together) and the [`AgeClass`] in bits 30-31.
//!
//! The low three bits of `word` are the header flags, at the same place in
//! both layouts (a `VTable` is aligned to 8 bytes):
//!
//! ```text
//!  bit 0  DEAD                the collector has found the object to be garbage
//!                             (or destroyed its value): dereferencing panics,
//!                             `try_deref` and `upgrade` give `None`
//!  bit 1  FINALIZED           the finalizer ran (PEP 442: at most once)
//!  bit 2  HAS_WEAK_CALLBACKS  some `WeakRef` with a callback was made to it
//! ```
//!
//! The rest of `gc_state` (meaningful only inside a collection, except
//! `TYPED_POOL`, `FROZEN`, `DECREMENTED` and the epoch):
//!
//! ```text
//!  bit 3  TYPED_POOL        in a pool of its type, which holds the vtable (else
//!                           the vtable is in the word before `next`); an
//!                           untracked header's word has this bit clear too,
//!                           because a `VTable` is aligned to 16 bytes
//!  bit 4  COLLECTING        in the set being collected (set by update_refs)
//!  bit 5  UNREACHABLE       in the tentatively unreachable list (move_unreachable)
//!  bit 6  KEEP_ALIVE        trace asked for it, or the edges reported to it exceed
//!                           its strong count: never garbage in this collection
//!  bit 7  DETACHED          lent out by `Gc::get_mut`: in no list until a handle
//!                           drop or a collection brings it back
//!  bit 8  FROZEN            in the permanent generation (`gc::freeze`)
//!  bit 9  CYCLE_SCANNED     an old object whose gc_refs belong to the running
//!                           incremental cycle (`collector::incremental`)
//!  bit 10 NEW               allocated while a collection runs: not part of it
//!  bit 11 DECREMENTED       a strong count of this young object went down to a
//!                           value above zero (Bacon and Rajan's "purple"), so it
//!                           waits in its generation's list of such objects,
//!                           where an automatic young collection starts
//!  bit 12 CYCLE_MARKED      the incremental cycle found it reachable
//!  bit 13 CYCLE_TENTATIVE   in the incremental cycle's tentatively unreachable list
//!  bits 14..46  gc_refs
//!  bits 46..64  epoch
//! ```
//!
//! The generation of an object follows from its epoch, compared with the
//! epochs at which the last collections of generations 0 and 1 began (see
//! `collector::generations`): promoting a whole generation touches no object.
//!
//! The drop path reads the strong word only: `decrement; branch if the word
//! is now zero or negative`, the one test covering both a count of zero and
//! `REPORT_DECREMENTS`. Only then does it read `AGE_CLASS`: `MaybeYoung` for
//! a tracked object (its epoch tells), `Old` once it is known to be in
//! generation 2 (where it stays), `Frozen` for a frozen one and `Untracked`
//! for an object without `GcLinks`. Dropped handles to the last two cannot
//! strand a cycle the collector would look for.
//!
//! Keeping `gc_refs` apart from `strong` means a panic inside user `trace`
//! code can never corrupt a real reference count (rust-cc makes the same
//! choice). Everything else in the crate goes through the accessors below, so
//! repacking the header touches this file only.

use core::cell::Cell;
use core::ptr::{self, NonNull};

use crate::gc_box::VTable;
use crate::heap::NUM_GENERATIONS;

/// Header flag: the collector has destroyed (or begun to destroy) the value.
/// Dereferencing panics and `Weak::upgrade` returns `None` from then on.
const DEAD: usize = 1 << 0;
/// Header flag: the value's finalizer has run (PEP 442's "at most once").
const FINALIZED: usize = 1 << 1;
/// Header flag: some `WeakRef` with a callback was made to this object (the
/// registry has the callbacks; this bit spares looking there).
const HAS_WEAK_CALLBACKS: usize = 1 << 2;
/// All header flags: the low bits of `word` in both layouts.
const HEADER_FLAGS: usize = DEAD | FINALIZED | HAS_WEAK_CALLBACKS;

const TYPED_POOL: usize = 1 << 3;
const COLLECTING: usize = 1 << 4;
const UNREACHABLE: usize = 1 << 5;
const KEEP_ALIVE: usize = 1 << 6;
const FROZEN: usize = 1 << 8;
const CYCLE_SCANNED: usize = 1 << 9;
const NEW: usize = 1 << 10;
const DECREMENTED: usize = 1 << 11;
const CYCLE_MARKED: usize = 1 << 12;
const CYCLE_TENTATIVE: usize = 1 << 13;
const DETACHED: usize = 1 << 7;
/// The bits of `gc_state` that belong to the object rather than to the
/// collector: every write of the collector's bits keeps them.
const OBJECT_BITS: usize = HEADER_FLAGS | TYPED_POOL;
/// The incremental cycle's bits.
const CYCLE_FLAGS: usize = CYCLE_SCANNED | CYCLE_MARKED | CYCLE_TENTATIVE;
/// The bits that only have a meaning during one collection.
const COLLECTION_FLAGS: usize = COLLECTING | UNREACHABLE | KEEP_ALIVE | CYCLE_FLAGS;
const REFS_SHIFT: u32 = 14;
const REFS_MASK: usize = (u32::MAX as usize) << REFS_SHIFT;
const EPOCH_SHIFT: u32 = 46;
/// Epochs are 18 bits: `collector::generations` renumbers them before they
/// would overflow.
pub(crate) const EPOCH_LIMIT: u32 = 1 << 18;
const EPOCH_MASK: usize = ((EPOCH_LIMIT - 1) as usize) << EPOCH_SHIFT;
/// The bits that outlive a collection (with `NEW`, which the collection
/// clears itself).
const LASTING_FLAGS: usize = OBJECT_BITS | FROZEN | DECREMENTED | EPOCH_MASK;
const _: () = assert!(usize::BITS == 64 && REFS_MASK & EPOCH_MASK == 0);
const _: () = assert!(REFS_MASK & (CYCLE_TENTATIVE << 1).wrapping_sub(1) == 0);
const _: () = assert!(EPOCH_MASK >> EPOCH_SHIFT << EPOCH_SHIFT == EPOCH_MASK);

const _: () = assert!(align_of::<VTable>() > HEADER_FLAGS | TYPED_POOL);

/// The weak word: the count in the low bits, `AGE_CLASS` in the top two.
const WEAK_COUNT_MASK: u32 = (1 << 30) - 1;
const AGE_CLASS_SHIFT: u32 = 30;

/// What the drop path knows of an object's age from its header alone.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum AgeClass {
    /// Tracked, and perhaps young: its epoch tells.
    MaybeYoung = 0,
    /// Tracked and frozen (`gc::freeze`): no collection examines it.
    Frozen = 1,
    /// Tracked and in generation 2, which objects never leave except to be
    /// frozen.
    Old = 2,
    /// Not tracked: its type holds no `Gc`, and it has no `GcLinks`.
    Untracked = 3,
}

/// The part of the header every object has. `Gc<T>` and `Weak<T>` point here.
#[repr(C)]
pub(crate) struct GcHeader {
    /// Untracked: `&'static VTable` with the header flags in its low bits.
    /// Tracked: `gc_state` (the last word of the object's `GcLinks`), an
    /// integer kept in a pointer-typed cell so that both readings share it.
    word: Cell<*const ()>,
    /// The strong count in bits 0..31, and [`REPORT_DECREMENTS`] in bit 31.
    strong: Cell<u32>,
    weak: Cell<u32>,
}

/// The strong word's top bit: a decrement of this object's count that
/// leaves it above zero must be reported to the collector
/// (`collector::generations::note_reference_dropped`). Clear for untracked
/// and frozen objects, for objects already listed as decremented, and for
/// old ones while generation 2 is marked as such (see `generations`).
///
/// Being the sign bit, it lets `Gc::drop` test both "the count reached
/// zero" and "report this" with the one signed comparison that follows
/// the decrement, the same single branch as `Rc::drop`.
const REPORT_DECREMENTS: u32 = 1 << 31;
/// The strong word's count bits.
const STRONG_MASK: u32 = !REPORT_DECREMENTS;

/// The prefix of tracked objects: list links and the collector's scratch
/// word, which is also the first word of the `GcHeader` that follows.
#[repr(C)]
pub(crate) struct GcLinks {
    next: Cell<*const GcLinks>,
    prev: Cell<*const GcLinks>,
    gc_state: Cell<*const ()>,
}

/// Distance from a tracked object's `GcLinks` to its `GcHeader`: `next` and
/// `prev` (`gc_state` is the header's first word).
pub(crate) const LINKS_OFFSET: usize = 2 * size_of::<usize>();
/// Bytes a tracked object has before its `GcHeader`: `next` and `prev`,
/// and its vtable if it is prefixed (not in a pool of its type).
pub(crate) const fn tracked_prefix(prefixed: bool) -> usize {
    if prefixed {
        LINKS_OFFSET + size_of::<usize>()
    } else {
        LINKS_OFFSET
    }
}
const _: () = assert!(size_of::<GcLinks>() == LINKS_OFFSET + size_of::<usize>());
const _: () = assert!(size_of::<GcHeader>() == 16 && align_of::<GcLinks>() == 8);

impl GcHeader {
    /// The header of an untracked object: its vtable, `strong` handles and
    /// the implicit weak handle.
    pub(crate) fn untracked(vtable: &'static VTable, strong: u32) -> Self {
        GcHeader {
            word: Cell::new((vtable as *const VTable).cast()),
            strong: Cell::new(strong),
            weak: Cell::new(1 | ((AgeClass::Untracked as u32) << AGE_CLASS_SHIFT)),
        }
    }

    /// The header of a tracked object: `strong` handles, the implicit weak
    /// handle, and a `gc_state` that only says whether the object is
    /// prefixed (its vtable in the word before its links) or in a pool of
    /// its type.
    pub(crate) fn tracked(prefixed: bool, strong: u32) -> Self {
        GcHeader {
            word: Cell::new(ptr::without_provenance(if prefixed {
                0
            } else {
                TYPED_POOL
            })),
            strong: Cell::new(strong | REPORT_DECREMENTS),
            weak: Cell::new(1 | ((AgeClass::MaybeYoung as u32) << AGE_CLASS_SHIFT)),
        }
    }

    #[inline(always)]
    pub(crate) fn strong(&self) -> u32 {
        self.strong.get() & STRONG_MASK
    }

    /// Sets the strong count (keeping [`REPORT_DECREMENTS`]).
    #[inline(always)]
    pub(crate) fn set_strong(&self, n: u32) {
        debug_assert!(n & REPORT_DECREMENTS == 0);
        let word = self.strong.get();
        self.strong.set((word & REPORT_DECREMENTS) | n)
    }

    /// Adds one strong handle; aborts on overflow, as `Rc` does.
    ///
    /// The count overflows into the flag bit when the flag is clear (a
    /// signed overflow: the word was `i32::MAX`) and out of the word when
    /// it is set (the word was all ones and wraps to zero), so both the
    /// overflow and the zero flag of the one add are tested. Compilers
    /// spend a load, an add and a store on that where `Rc` has one
    /// read-modify-write add; on x86-64 the add and its two tests are
    /// written out (three instructions, one more than `Rc::clone`).
    #[inline(always)]
    pub(crate) fn inc_strong(&self) {
        #[cfg(all(target_arch = "x86_64", not(miri)))]
        // SAFETY: the address is this header's `strong` cell, valid and
        // aligned for a 4-byte read-modify-write, and no reference to its
        // contents is live (a `Cell`, and the header is not `Sync`); the
        // block writes only that word and the flags, and either falls
        // through or diverges into `count_overflow`.
        unsafe {
            core::arch::asm!(
                "inc dword ptr [{header} + {strong}]",
                "jo {overflow}",
                "jz {overflow}",
                header = in(reg) self,
                strong = const core::mem::offset_of!(GcHeader, strong),
                overflow = label { count_overflow() },
                options(nostack),
            );
        }
        #[cfg(not(all(target_arch = "x86_64", not(miri))))]
        {
            let (new, overflowed) = (self.strong.get() as i32).overflowing_add(1);
            if overflowed || new == 0 {
                count_overflow();
            }
            self.strong.set(new as u32);
        }
    }

    /// Removes one strong handle, for the drop path of a handle: `true`
    /// when the drop path has more to do, because the count reached zero
    /// or because the decrement must be reported ([`REPORT_DECREMENTS`]).
    /// One decrement and one signed test (of that decrement's flags), as
    /// `Rc::drop`'s.
    #[inline(always)]
    pub(crate) fn release_strong(&self) -> bool {
        let old = self.strong.get();
        self.strong.set(old.wrapping_sub(1));
        // The new word is zero or negative: the count is zero, or the flag
        // (the sign bit) is set.
        old as i32 <= 1
    }

    /// Removes one strong handle and returns the new count.
    #[inline(always)]
    pub(crate) fn dec_strong(&self) -> u32 {
        let n = self.strong.get() - 1;
        self.strong.set(n);
        n & STRONG_MASK
    }

    /// Must a decrement of this object's count that leaves it above zero
    /// be reported to the collector? (See [`REPORT_DECREMENTS`].)
    #[inline(always)]
    pub(crate) fn reports_decrements(&self) -> bool {
        self.strong.get() & REPORT_DECREMENTS != 0
    }

    /// Sets or clears [`REPORT_DECREMENTS`]. Setting it is always safe (the
    /// drop path then asks the collector); clearing it is for the cases
    /// that flag's docs name.
    #[inline(always)]
    pub(crate) fn set_reports_decrements(&self, on: bool) {
        debug_assert!(!on || self.is_tracked_type());
        let word = self.strong.get() & STRONG_MASK;
        self.strong
            .set(if on { word | REPORT_DECREMENTS } else { word });
    }

    #[inline(always)]
    pub(crate) fn weak(&self) -> u32 {
        self.weak.get() & WEAK_COUNT_MASK
    }

    /// Adds one weak handle; aborts when the count would reach the class bits.
    #[inline]
    pub(crate) fn inc_weak(&self) {
        // Wrapping: with the class bits all ones (an untracked object), the
        // last count overflows the word itself.
        let n = self.weak.get().wrapping_add(1);
        if n & WEAK_COUNT_MASK == 0 {
            count_overflow();
        }
        self.weak.set(n);
    }

    /// Removes one weak handle and returns the new count.
    #[inline]
    pub(crate) fn dec_weak(&self) -> u32 {
        let n = self.weak.get() - 1;
        self.weak.set(n);
        n & WEAK_COUNT_MASK
    }

    #[inline(always)]
    pub(crate) fn age_class(&self) -> AgeClass {
        match self.weak.get() >> AGE_CLASS_SHIFT {
            0 => AgeClass::MaybeYoung,
            1 => AgeClass::Frozen,
            2 => AgeClass::Old,
            _ => AgeClass::Untracked,
        }
    }

    #[inline(always)]
    pub(crate) fn set_age_class(&self, class: AgeClass) {
        let count = self.weak.get() & WEAK_COUNT_MASK;
        self.weak.set(count | ((class as u32) << AGE_CLASS_SHIFT));
    }

    #[inline(always)]
    fn header_flags(&self) -> usize {
        self.word.get().addr() & HEADER_FLAGS
    }

    #[inline(always)]
    fn set_header_flag(&self, flag: usize, on: bool) {
        let word = self.word.get();
        self.word
            .set(word.map_addr(|a| if on { a | flag } else { a & !flag }));
    }

    /// Has the collector destroyed (or begun to destroy) the value?
    #[inline(always)]
    pub(crate) fn is_dead(&self) -> bool {
        self.header_flags() & DEAD != 0
    }

    pub(crate) fn set_dead(&self) {
        self.set_header_flag(DEAD, true)
    }

    pub(crate) fn is_finalized(&self) -> bool {
        self.header_flags() & FINALIZED != 0
    }

    pub(crate) fn set_finalized(&self) {
        self.set_header_flag(FINALIZED, true)
    }

    pub(crate) fn has_weak_callbacks(&self) -> bool {
        self.header_flags() & HAS_WEAK_CALLBACKS != 0
    }

    pub(crate) fn set_has_weak_callbacks(&self) {
        self.set_header_flag(HAS_WEAK_CALLBACKS, true)
    }

    /// Is this object of a type the collector tracks (so it has `GcLinks`)?
    #[inline(always)]
    pub(crate) fn is_tracked_type(&self) -> bool {
        self.age_class() != AgeClass::Untracked
    }

    /// Is this a tracked object whose vtable is in the word before its links?
    #[inline(always)]
    pub(crate) fn is_prefixed(&self) -> bool {
        self.word.get().addr() & TYPED_POOL == 0 && self.is_tracked_type()
    }
}

/// The vtable of an object: in its header (untracked), in the word before
/// its links (prefixed), or in the header of its pool.
///
/// # Safety
///
/// - `header` points to the `GcHeader` of a live allocation (its value may
///   be dropped), with provenance over the whole allocation (a handle's
///   pointer, or one derived from it).
#[inline(always)]
pub(crate) unsafe fn vtable(header: NonNull<GcHeader>) -> &'static VTable {
    // SAFETY: per the contract.
    let h = unsafe { header.as_ref() };
    let word = h.word.get();
    #[cfg(feature = "pool")]
    if word.addr() & TYPED_POOL != 0 {
        // SAFETY: only a tracked object in a pool of its type has this bit
        // (an untracked header's vtable is 16-aligned); the pool's key is
        // the object's vtable (`gc_box`).
        return unsafe { &*crate::alloc::kind_of(header.cast()).cast::<VTable>() };
    }
    if h.weak.get() >> AGE_CLASS_SHIFT == AgeClass::Untracked as u32 {
        let untagged = word.map_addr(|a| a & !HEADER_FLAGS).cast::<VTable>();
        // SAFETY: an untracked header's word is a `&'static VTable` whose low
        // bits (free because of its alignment) carry the header flags;
        // clearing them restores the pointer with its provenance.
        return unsafe { &*untagged };
    }
    // SAFETY: a prefixed object was allocated with its vtable in the word
    // before its links (`gc_box`), inside the same allocation.
    unsafe {
        &*header
            .byte_sub(tracked_prefix(true))
            .cast::<*const VTable>()
            .read()
    }
}

/// Where a tracked object's links live, given its header.
///
/// # Safety
///
/// - `header` points to a live `GcHeader` of a tracked type (allocated with a
///   `GcLinks` prefix by `gc_box`), with provenance over the whole allocation.
#[inline(always)]
pub(crate) unsafe fn links_of(header: NonNull<GcHeader>) -> NonNull<GcLinks> {
    // SAFETY: tracked allocations place `next` and `prev` immediately before
    // the header (gc_box), inside the same allocation.
    unsafe { header.byte_sub(LINKS_OFFSET).cast() }
}

/// The header of the object that owns `links`.
///
/// # Safety
///
/// - `links` is the prefix of a tracked object (not a list sentinel).
#[inline(always)]
pub(crate) unsafe fn header_of(links: NonNull<GcLinks>) -> NonNull<GcHeader> {
    // SAFETY: the header starts at the links' `gc_state`, in the same
    // allocation.
    unsafe { links.byte_add(LINKS_OFFSET).cast() }
}

impl GcLinks {
    /// Links that are in no list (`next` is null).
    pub(crate) const fn unlinked() -> Self {
        GcLinks {
            next: Cell::new(ptr::null()),
            prev: Cell::new(ptr::null()),
            gc_state: Cell::new(ptr::null()),
        }
    }

    #[inline(always)]
    pub(crate) fn next(&self) -> *const GcLinks {
        self.next.get()
    }

    #[inline(always)]
    pub(crate) fn prev(&self) -> *const GcLinks {
        self.prev.get()
    }

    #[inline(always)]
    pub(crate) fn set_next(&self, p: *const GcLinks) {
        self.next.set(p)
    }

    #[inline(always)]
    pub(crate) fn set_prev(&self, p: *const GcLinks) {
        self.prev.set(p)
    }

    /// Is this object in some list? (`next` is null once unlinked.)
    #[inline(always)]
    pub(crate) fn is_linked(&self) -> bool {
        !self.next.get().is_null()
    }

    #[inline(always)]
    fn state(&self) -> usize {
        self.gc_state.get().addr()
    }

    #[inline(always)]
    fn set_state(&self, state: usize) {
        self.gc_state.set(ptr::without_provenance(state));
    }

    #[inline(always)]
    fn set_flag(&self, flag: usize, on: bool) {
        let s = self.state();
        self.set_state(if on { s | flag } else { s & !flag });
    }

    /// A new object's state: allocated in `epoch`.
    #[inline(always)]
    pub(crate) fn start_in_epoch(&self, epoch: u32) {
        debug_assert!(epoch < EPOCH_LIMIT);
        self.set_state((self.state() & OBJECT_BITS) | ((epoch as usize) << EPOCH_SHIFT));
    }

    #[inline(always)]
    pub(crate) fn epoch(&self) -> u32 {
        ((self.state() & EPOCH_MASK) >> EPOCH_SHIFT) as u32
    }

    /// Renumbers the epoch (`collector::generations`, before it overflows).
    pub(crate) fn set_epoch(&self, epoch: u32) {
        debug_assert!(epoch < EPOCH_LIMIT);
        let s = self.state() & !EPOCH_MASK;
        self.set_state(s | ((epoch as usize) << EPOCH_SHIFT));
    }

    /// The epoch, for the generation counters; `None` if frozen.
    #[inline(always)]
    pub(crate) fn unfrozen_epoch(&self) -> Option<u32> {
        (!self.is_frozen()).then(|| self.epoch())
    }

    #[inline(always)]
    pub(crate) fn is_frozen(&self) -> bool {
        self.state() & FROZEN != 0
    }

    /// Was this object detached by `Gc::get_mut` (see [`detach`]), and not
    /// brought back yet? (Not every unlinked object with handles is: one
    /// whose finalizer runs from the trashcan is in no list either.)
    #[inline(always)]
    pub(crate) fn is_detached(&self) -> bool {
        self.state() & DETACHED != 0
    }

    /// A detached object (see [`detach`]) joins the set being collected:
    /// its state becomes that of a member allocated in `epoch` (the
    /// reporting member's, so that it moves where that one does) on which
    /// `update_refs` ran.
    pub(crate) fn adopt(&self, epoch: u32, strong: u32) {
        debug_assert!(!self.is_linked() && self.is_detached() && epoch < EPOCH_LIMIT);
        let kept = self.state() & OBJECT_BITS;
        self.set_state(
            ((strong as usize) << REFS_SHIFT)
                | kept
                | COLLECTING
                | ((epoch as usize) << EPOCH_SHIFT),
        );
    }

    /// `update_refs`: `gc_refs := strong`, and mark the object as in the set.
    #[inline(always)]
    pub(crate) fn start_collecting(&self, strong: u32) {
        let kept = self.state() & LASTING_FLAGS;
        self.set_state(((strong as usize) << REFS_SHIFT) | kept | COLLECTING);
    }

    #[inline(always)]
    pub(crate) fn is_collecting(&self) -> bool {
        self.state() & COLLECTING != 0
    }

    #[inline(always)]
    pub(crate) fn gc_refs(&self) -> usize {
        (self.state() & REFS_MASK) >> REFS_SHIFT
    }

    #[inline(always)]
    pub(crate) fn set_gc_refs(&self, refs: usize) {
        debug_assert!(refs <= u32::MAX as usize);
        let kept = self.state() & !REFS_MASK;
        self.set_state((refs << REFS_SHIFT) | kept);
    }

    /// `subtract_refs`: one reference to this object comes from inside the set.
    /// Returns `false` (and keeps nothing changed) when `gc_refs` is already 0,
    /// which means some `trace` reported more edges than there are handles.
    #[inline(always)]
    pub(crate) fn dec_gc_refs(&self) -> bool {
        let s = self.state();
        if s & REFS_MASK == 0 {
            return false;
        }
        self.set_state(s - (1 << REFS_SHIFT));
        true
    }

    #[inline(always)]
    pub(crate) fn is_unreachable(&self) -> bool {
        self.state() & UNREACHABLE != 0
    }

    /// `move_unreachable`: tentatively garbage, and unreachable from user
    /// code from now on: `UNREACHABLE` and the header's `DEAD` together, in
    /// one store (see "Why safe code cannot cause undefined behaviour" in
    /// the internals: garbage is unreachable from deletion on).
    #[inline(always)]
    pub(crate) fn condemn(&self) {
        self.set_flag(UNREACHABLE | DEAD, true)
    }

    /// Reachable after all (or resurrected): clears what [`Self::condemn`] set.
    #[inline(always)]
    pub(crate) fn reprieve(&self) {
        self.set_flag(UNREACHABLE | DEAD, false)
    }

    /// Still garbage, but intact for its finalizers to see: clears `DEAD`.
    pub(crate) fn revive_for_finalizers(&self) {
        self.set_flag(DEAD, false)
    }

    #[inline(always)]
    pub(crate) fn is_kept_alive(&self) -> bool {
        self.state() & KEEP_ALIVE != 0
    }

    #[inline(always)]
    pub(crate) fn set_kept_alive(&self) {
        self.set_flag(KEEP_ALIVE, true)
    }

    /// Survives a collection: clears every per-collection flag and
    /// `gc_refs` (see the free function [`survive_into`]).
    #[inline(always)]
    fn survive_into(&self, old: bool) {
        let mut kept = self.state() & (NEW | LASTING_FLAGS);
        if old {
            // Only young objects wait in the lists of decremented ones.
            kept &= !DECREMENTED;
        }
        self.set_state(kept);
    }

    /// The object is being destroyed: nothing of the collector's state
    /// matters any more (the object's own bits stay).
    #[inline(always)]
    pub(crate) fn clear_state(&self) {
        self.set_state(self.state() & OBJECT_BITS);
    }

    /// Leaves the collection: clears every per-collection flag and `gc_refs`.
    #[inline(always)]
    pub(crate) fn stop_collecting(&self) {
        self.set_state(self.state() & (LASTING_FLAGS | NEW));
    }

    /// Was a strong count of this object decremented to a value above zero
    /// while it was young? (Kept when it survives a young collection, so
    /// that the next older one starts from it too: the garbage it may have
    /// stranded can reach into the older generation.)
    #[inline(always)]
    pub(crate) fn was_decremented(&self) -> bool {
        self.state() & DECREMENTED != 0
    }

    /// Enters (`true`) or leaves a list of decremented objects.
    #[inline(always)]
    pub(crate) fn set_decremented(&self, on: bool) {
        self.set_flag(DECREMENTED, on)
    }

    /// Was this object allocated while the current collection runs?
    #[inline(always)]
    pub(crate) fn is_new(&self) -> bool {
        self.state() & NEW != 0
    }

    pub(crate) fn set_new(&self, on: bool) {
        self.set_flag(NEW, on)
    }

    /// The incremental cycle reaches an old object first: its `gc_refs`
    /// start from its strong count.
    #[inline(always)]
    pub(crate) fn cycle_scan(&self, strong: u32) {
        let kept = self.state() & !(REFS_MASK | CYCLE_FLAGS);
        self.set_state(((strong as usize) << REFS_SHIFT) | kept | CYCLE_SCANNED);
    }

    #[inline(always)]
    pub(crate) fn is_cycle_scanned(&self) -> bool {
        self.state() & CYCLE_SCANNED != 0
    }

    #[inline(always)]
    pub(crate) fn is_cycle_marked(&self) -> bool {
        self.state() & CYCLE_MARKED != 0
    }

    #[inline(always)]
    pub(crate) fn set_cycle_marked(&self) {
        self.set_flag(CYCLE_MARKED, true)
    }

    #[inline(always)]
    pub(crate) fn is_cycle_tentative(&self) -> bool {
        self.state() & CYCLE_TENTATIVE != 0
    }

    #[inline(always)]
    pub(crate) fn set_cycle_tentative(&self, on: bool) {
        self.set_flag(CYCLE_TENTATIVE, on)
    }

    /// Leaves the incremental cycle: its bits and `gc_refs` are cleared.
    #[inline(always)]
    pub(crate) fn clear_cycle_state(&self) {
        self.set_state(self.state() & !(REFS_MASK | CYCLE_FLAGS));
    }

    /// Debug check: no per-collection flag is set outside a collection.
    pub(crate) fn has_collection_flags(&self) -> bool {
        self.state() & COLLECTION_FLAGS != 0 || self.gc_refs() != 0
    }
}

/// Freezes (`true`) or unfreezes a tracked object, in its links and in its
/// header's age class. An unfrozen object is in generation 2 (the caller
/// gives it an old epoch).
///
/// # Safety
///
/// - `links` is the prefix of a live tracked object (not a list sentinel),
///   with provenance over the whole allocation.
pub(crate) unsafe fn set_frozen(links: NonNull<GcLinks>, frozen: bool) {
    // SAFETY: per the contract, the links and the header that follows them
    // are live.
    unsafe {
        let l = links.as_ref();
        l.set_flag(FROZEN, frozen);
        l.set_flag(DECREMENTED, false);
        let class = if frozen {
            AgeClass::Frozen
        } else {
            AgeClass::Old
        };
        let header = header_of(links).as_ref();
        header.set_age_class(class);
        // A frozen object's decrements never matter; an unfrozen one's do.
        header.set_reports_decrements(!frozen);
    }
}

/// An object that reached generation 2 unexamined (a young collection
/// skipped by the pacer moved it up) may still carry a young object's
/// bookkeeping: `DECREMENTED`, the `MaybeYoung` class and a clear
/// `REPORT_DECREMENTS`. Leaving it so costs nothing while generation 2 stays
/// marked, and spares the promotion a walk over every such object. The
/// first examination of generation 2 that reaches it (the incremental
/// cycle's scan) calls this: it becomes an ordinary old object, and its
/// next decrement is reported again. Its per-collection flags stay.
///
/// # Safety
///
/// - `links` is the prefix of a live tracked object in generation 2 (not a
///   list sentinel), with provenance over the whole allocation.
pub(crate) unsafe fn settle_in_old_generation(links: NonNull<GcLinks>) {
    // SAFETY: per the contract, the links and the header that follows them
    // are live.
    unsafe {
        links.as_ref().set_flag(DECREMENTED, false);
        let header = header_of(links).as_ref();
        header.set_age_class(AgeClass::Old);
        header.set_reports_decrements(true);
    }
}

/// Takes a tracked object out of the collector's view (`Gc::get_mut`): the
/// caller has unlinked it; this gives it the state of an object in no list
/// (no collection, cycle, frozen or decremented state) and the oldest epoch,
/// `ancient`, which no freeze or renumbering of epochs can make young again
/// while the object is out of reach (the caller takes it out of the young
/// population, `collector::generations::detach_counted`). It comes back
/// when a handle to it is dropped (`generations`), or when a trusted
/// `trace` reports it during a collection (`Tracer::visit`).
///
/// # Safety
///
/// - `links` is the prefix of a live tracked object, unlinked, with
///   provenance over the whole allocation.
pub(crate) unsafe fn detach(links: NonNull<GcLinks>, ancient: u32) {
    // SAFETY: per the contract.
    unsafe {
        let l = links.as_ref();
        debug_assert!(!l.is_linked());
        l.set_state((l.state() & OBJECT_BITS) | DETACHED | ((ancient as usize) << EPOCH_SHIFT));
        let header = header_of(links).as_ref();
        header.set_age_class(AgeClass::MaybeYoung);
        // The drop path must bring it back.
        header.set_reports_decrements(true);
    }
}

/// A survivor of a collection: clears its per-collection state. It moves
/// to `generation` (which its epoch already says); in generation 2, its
/// header's age class records that (younger survivors keep `DECREMENTED`:
/// see `collector::deduce`).
///
/// # Safety
///
/// - `links` is the prefix of a live tracked object (not a list sentinel),
///   with provenance over the whole allocation.
#[inline(always)]
pub(crate) unsafe fn survive_into(links: NonNull<GcLinks>, generation: usize) {
    let old = generation >= NUM_GENERATIONS - 1;
    // SAFETY: per the contract.
    unsafe {
        links.as_ref().survive_into(old);
        let header = header_of(links).as_ref();
        if old {
            header.set_age_class(AgeClass::Old);
        }
        // Examined, and out of any list of decremented objects or with its
        // generation's mark cleared: its next decrement counts again.
        header.set_reports_decrements(true);
    }
}

#[cold]
#[inline(never)]
fn count_overflow() -> ! {
    // As `Rc`: an overflowing count means something leaked handles in a loop;
    // continuing would let the count wrap and free a live value.
    std::process::abort()
}
