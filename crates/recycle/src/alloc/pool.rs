//! The small-object pool allocator, after CPython's pymalloc
//! (`Objects/obmalloc.c`): size classes, pools, arenas.
//!
//! ```text
//!  arena (ARENA_SIZE, ARENA_SIZE-aligned, mapped from the system: system.rs)
//!  +---------------+---------------+---------------+-----+
//!  | pool          | pool          | pool          | ... |   POOLS_PER_ARENA pools
//!  +---------------+---------------+---------------+-----+
//!  pool (POOL_SIZE, POOL_SIZE-aligned, one size class, perhaps one type)
//!  +-------------+-------+-------+-------+-----------------+
//!  | PoolHeader  | block | block | block | not carved yet  |
//!  +-------------+-------+-------+-------+-----------------+
//! ```
//!
//! - A **size class** serves requests of up to `(class + 1) * 8` bytes; 64
//!   classes cover 1..=512 bytes (larger requests use the global allocator).
//!   A request aligned to 16 is rounded up to a multiple of 16, whose
//!   blocks are aligned to 16. (CPython rounds every request to 16, which
//!   malloc's contract asks of it; here each request says its alignment.)
//! - A **pool** holds blocks of one class. Freed blocks form a singly linked
//!   list threaded through the blocks themselves; never-used blocks are
//!   carved lazily (`next_offset`), so a new pool touches only its header.
//! - A pool serves any type of its class, or one type only
//!   ([`Pools::allocate_typed`], for tracked objects): then its header holds
//!   the type's key ([`kind_of`]), which the object itself need not carry.
//!   Each of up to `TYPE_SLOTS` types per thread has its own usable list.
//! - Pools with free blocks are on their class's (or type's) *usable* list
//!   (doubly linked): allocation pops from its first pool. A full pool
//!   leaves the list and comes back when a block is freed. A pool whose
//!   blocks are all free goes to its arena's free pools, usable by any class
//!   or type, unless it is its list's only usable pool: that one stays (so a
//!   loop that allocates and frees one object does not set up a pool each
//!   time) until the thread exits.
//! - An **arena** whose pools are all free goes back to the system, unless it
//!   is the only one (so a loop that allocates and frees one object does not
//!   map and unmap an arena each time; CPython keeps one too), or one of the
//!   empty arenas the thread retains. A thread retains none until it maps
//!   an arena to replace one it gave back: then it is building again what
//!   it just dropped, and each such arena raises its retain limit by one
//!   (up to [`AUTO_RETAIN_ARENAS`]), so that the next round reuses memory the
//!   system has already given it rather than have every page zeroed and
//!   faulted in again. glibc's dynamic `mmap` threshold learns from frees
//!   the same way. [`Pools::set_retained_arenas`] fixes the limit instead.
//!
//! A block's pool header is found by masking its address, so freeing is
//! O(1): no search, no lock, no atomic (each thread has its own allocator;
//! `Gc` is `!Send`, so blocks are always freed by the thread that made them).

use core::alloc::Layout;
use core::cell::Cell;
use core::ptr::{self, NonNull};

use super::system;

/// Requests up to this many bytes (and alignment up to `ALIGNMENT`) come
/// from pools.
pub(crate) const SMALL_REQUEST_THRESHOLD: usize = 512;
/// The largest alignment pools serve.
pub(crate) const ALIGNMENT: usize = 16;
/// Block sizes are multiples of this. A block of a size that is a multiple
/// of 16 is aligned to 16 (pool headers are), so requests aligned to 16 take
/// every other class; the others waste at most 7 bytes rather than 15.
pub(crate) const GRANULE: usize = 8;
/// Number of size classes.
pub(crate) const NUM_CLASSES: usize = SMALL_REQUEST_THRESHOLD / GRANULE;

// Miri runs get small pools and arenas, so that the tests reach pool
// recycling and arena release quickly.
#[cfg(not(miri))]
pub(crate) const POOL_SIZE: usize = 16 << 10;
#[cfg(miri)]
pub(crate) const POOL_SIZE: usize = 2 << 10;
#[cfg(not(miri))]
pub(crate) const ARENA_SIZE: usize = 1 << 20;
#[cfg(miri)]
pub(crate) const ARENA_SIZE: usize = 8 << 10;
pub(crate) const POOLS_PER_ARENA: usize = ARENA_SIZE / POOL_SIZE;

/// The first bytes of every pool.
#[repr(C, align(16))]
struct PoolHeader {
    /// Blocks handed out and not yet freed.
    used: Cell<u32>,
    /// This pool's size class, or `u32::MAX` while it is free.
    class: Cell<u32>,
    /// The usable list it belongs to (an index into `Pools::usable`).
    list: Cell<u32>,
    /// Offset of the first never-used block.
    next_offset: Cell<u32>,
    /// For a pool of one type (`Pools::allocate_typed`), the type's key
    /// (its vtable); null for a pool that serves any type of its class.
    kind: Cell<*const ()>,
    /// First freed block (linked through the blocks), or null.
    free_block: Cell<*mut FreeBlock>,
    /// The usable list of its class or type (or its arena's free pools).
    next: Cell<*mut PoolHeader>,
    prev: Cell<*mut PoolHeader>,
    arena: *mut ArenaHeader,
    /// The allocator that owns the pool (it lives in its thread's heap, at a
    /// fixed address), so that freeing needs no thread-local lookup.
    owner: *const Pools,
}

/// A freed block holds the link to the next freed block.
struct FreeBlock {
    next: *mut FreeBlock,
}

/// Bookkeeping for one arena (in its own small allocation, so that all of
/// the arena is pools).
struct ArenaHeader {
    base: NonNull<u8>,
    /// Pools never used yet (carved from the end of the arena lazily).
    untouched_pools: Cell<usize>,
    /// Pools that were used and are free again.
    free_pools: Cell<*mut PoolHeader>,
    /// Pools of the arena not in use (untouched or free).
    nfree: Cell<usize>,
    /// The list of arenas with free pools.
    next: Cell<*mut ArenaHeader>,
    prev: Cell<*mut ArenaHeader>,
    /// The list of all arenas (for statistics).
    all_next: Cell<*mut ArenaHeader>,
    all_prev: Cell<*mut ArenaHeader>,
}

/// Counters kept as the allocator works (read by `alloc::stats`).
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) arenas_allocated: Cell<u64>,
    pub(crate) arenas_released: Cell<u64>,
    pub(crate) arenas_current: Cell<u64>,
    pub(crate) arenas_high_water: Cell<u64>,
}

/// One thread's small-object allocator.
pub(crate) struct Pools {
    /// Per usable list, the first pool with a free block (null if none).
    /// Lists `0..NUM_CLASSES` are the size classes' (pools that serve any
    /// type); list `NUM_CLASSES + slot` is that of the type in `types[slot]`.
    usable: [Cell<*mut PoolHeader>; NUM_LISTS],
    /// The types that have pools of their own, by key (see
    /// [`Pools::allocate_typed`]); null for a free slot. A slot, once
    /// taken, stays with its type for the thread's lifetime.
    types: [Cell<*const ()>; TYPE_SLOTS],
    /// Arenas that have free or untouched pools.
    usable_arenas: Cell<*mut ArenaHeader>,
    /// Every arena.
    all_arenas: Cell<*mut ArenaHeader>,
    /// Keep one empty arena rather than give it back (off once the thread
    /// is exiting: see `heap::ThreadExit`).
    keep_one: Cell<bool>,
    /// Arenas held with no pool in use: new ones not used yet, the one
    /// kept, and retained ones.
    empty_arenas: Cell<usize>,
    /// How many empty arenas to keep rather than give back.
    retained_arenas: Cell<usize>,
    /// Was `retained_arenas` set by the program (rather than learned)?
    retain_fixed: Cell<bool>,
    /// Arenas given back and not yet replaced by a new mapping; mapping one
    /// while this is positive raises the learned retain limit.
    given_back: Cell<usize>,
    pub(crate) counters: Counters,
}

/// The most empty arenas a thread learns to retain (64 MiB; see the module
/// docs): a few million small objects' worth.
pub(crate) const AUTO_RETAIN_ARENAS: usize = (64 << 20) / ARENA_SIZE;

/// How many types can have pools of their own on one thread. The objects of
/// further types come from the size classes' pools, with a word more each.
pub(crate) const TYPE_SLOTS: usize = 128;
const NUM_LISTS: usize = NUM_CLASSES + TYPE_SLOTS;

/// The block size of a class.
pub(crate) const fn block_size(class: usize) -> usize {
    (class + 1) * GRANULE
}

/// The class serving `layout` (of 1..=512 bytes, aligned to at most 16).
pub(crate) const fn class_of(layout: Layout) -> usize {
    let size = if layout.align() > GRANULE {
        layout.size().next_multiple_of(ALIGNMENT)
    } else {
        layout.size()
    };
    size.saturating_sub(1) / GRANULE
}

/// Does a request of this layout come from the pools?
pub(crate) const fn is_small(layout: Layout) -> bool {
    layout.size() <= SMALL_REQUEST_THRESHOLD && layout.align() <= ALIGNMENT
}

const HEADER: usize = size_of::<PoolHeader>();
const _: () = assert!(HEADER.is_multiple_of(ALIGNMENT) && HEADER <= ALIGNMENT * 4);
const _: () = assert!(POOL_SIZE <= u32::MAX as usize);

/// Has every block of the pool been handed out at least once?
#[inline(always)]
fn is_carved_out(p: &PoolHeader, class: usize) -> bool {
    p.next_offset.get() as usize + block_size(class) > POOL_SIZE
}

/// The key of the type whose objects fill the pool that holds `block`, as
/// given to [`Pools::allocate_typed`].
///
/// # Safety
///
/// - `block` points into a live block that `allocate_typed` handed out,
///   with provenance over its arena (every pointer derived from the block's
///   does).
#[inline(always)]
pub(crate) unsafe fn kind_of(block: NonNull<u8>) -> *const () {
    let pool = block
        .as_ptr()
        .map_addr(|a| a & !(POOL_SIZE - 1))
        .cast::<PoolHeader>();
    // SAFETY: blocks live inside POOL_SIZE-aligned pools whose header is at
    // the start, initialized while the pool is in use.
    unsafe { (*pool).kind.get() }
}

impl Pools {
    pub(crate) const fn new() -> Self {
        Pools {
            usable: [const { Cell::new(ptr::null_mut()) }; NUM_LISTS],
            types: [const { Cell::new(ptr::null()) }; TYPE_SLOTS],
            usable_arenas: Cell::new(ptr::null_mut()),
            all_arenas: Cell::new(ptr::null_mut()),
            keep_one: Cell::new(true),
            empty_arenas: Cell::new(0),
            retained_arenas: Cell::new(0),
            retain_fixed: Cell::new(false),
            given_back: Cell::new(0),
            counters: Counters {
                arenas_allocated: Cell::new(0),
                arenas_released: Cell::new(0),
                arenas_current: Cell::new(0),
                arenas_high_water: Cell::new(0),
            },
        }
    }

    /// A block of at least `layout.size()` bytes; `layout` must be small.
    #[inline]
    pub(crate) fn allocate(&self, layout: Layout) -> NonNull<u8> {
        debug_assert!(is_small(layout));
        let class = class_of(layout);
        self.allocate_from(class, class, ptr::null())
    }

    /// A block of at least `layout.size()` bytes from a pool that holds
    /// objects of one type only, the one `key` stands for (every request
    /// with the same key must have the same layout), so that the type can be
    /// read from the pool ([`kind_of`]) rather than from each object.
    /// `None` when this thread already gives pools of their own to
    /// `TYPE_SLOTS` other types.
    #[inline]
    pub(crate) fn allocate_typed(&self, layout: Layout, key: *const ()) -> Option<NonNull<u8>> {
        debug_assert!(is_small(layout) && !key.is_null());
        let slot = self.type_slot(key)?;
        Some(self.allocate_from(NUM_CLASSES + slot, class_of(layout), key))
    }

    /// The slot of `key` in `types`, taking a free one the first time.
    #[inline(always)]
    fn type_slot(&self, key: *const ()) -> Option<usize> {
        // Fibonacci hashing of the address: keys are distinct statics.
        const _: () = assert!(TYPE_SLOTS == 1 << 7);
        let home = (key.addr() >> 3).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (usize::BITS - 7);
        if self.types[home].get() == key {
            return Some(home);
        }
        self.probe_type_slot(key, home)
    }

    /// [`Pools::type_slot`] when `key` is not in its home slot: linear
    /// probing from there.
    #[cold]
    #[inline(never)]
    fn probe_type_slot(&self, key: *const (), home: usize) -> Option<usize> {
        for probe in 0..TYPE_SLOTS {
            let slot = (home + probe) % TYPE_SLOTS;
            let k = self.types[slot].get();
            if k == key {
                return Some(slot);
            }
            if k.is_null() {
                self.types[slot].set(key);
                return Some(slot);
            }
        }
        None
    }

    /// A block of `class` from the first pool of usable list `list`, whose
    /// pools hold blocks of `class` for `kind` (null: any type).
    #[inline(always)]
    fn allocate_from(&self, list: usize, class: usize, kind: *const ()) -> NonNull<u8> {
        let mut pool = self.usable[list].get();
        if pool.is_null() {
            pool = self.new_pool(list, class, kind);
        }
        // SAFETY: a usable pool is a live pool header of this class with at
        // least one free or never-used block.
        unsafe {
            let p = &*pool;
            p.used.set(p.used.get() + 1);
            let block = p.free_block.get();
            let block = if !block.is_null() {
                p.free_block.set((*block).next);
                block.cast::<u8>()
            } else {
                let offset = p.next_offset.get() as usize;
                p.next_offset.set((offset + block_size(class)) as u32);
                pool.cast::<u8>().byte_add(offset)
            };
            if p.free_block.get().is_null() && is_carved_out(p, class) {
                // Full: off the usable list until a block comes back.
                self.unlink_usable(list, pool);
            }
            NonNull::new_unchecked(block)
        }
    }

    /// Returns a block to its pool, whichever thread's allocator that is
    /// (found from the pool header: no thread-local lookup).
    ///
    /// # Safety
    ///
    /// - `block` came from [`Pools::allocate`] with the same `layout`, on
    ///   this thread, and is not used afterwards.
    #[inline]
    pub(crate) unsafe fn deallocate(block: NonNull<u8>, layout: Layout) {
        let class = class_of(layout);
        let pool = block
            .as_ptr()
            .map_addr(|a| a & !(POOL_SIZE - 1))
            .cast::<PoolHeader>();
        // SAFETY: blocks live inside pools, POOL_SIZE-aligned, whose header is
        // at the start; the masked pointer keeps the arena's provenance. The
        // owner is this thread's allocator, alive for the thread's lifetime.
        unsafe {
            let p = &*pool;
            let this = &*p.owner;
            debug_assert_eq!(
                p.class.get() as usize,
                class,
                "block freed with another size"
            );
            let list = p.list.get() as usize;
            let was_full = p.free_block.get().is_null() && is_carved_out(p, class);
            let freed = block.as_ptr().cast::<FreeBlock>();
            freed.write(FreeBlock {
                next: p.free_block.get(),
            });
            p.free_block.set(freed);
            p.used.set(p.used.get() - 1);
            if p.used.get() == 0 {
                let only_usable = this.usable[list].get() == pool && p.next.get().is_null();
                if only_usable && this.keep_one.get() {
                    // The class's last usable pool stays, empty, so that a
                    // loop allocating and freeing one object does not set up
                    // a pool each time.
                    return;
                }
                if !was_full {
                    this.unlink_usable(list, pool);
                }
                this.free_pool(pool);
            } else if was_full {
                this.push_usable(list, pool);
            }
        }
    }

    /// A fresh pool for blocks of `class` for `kind`, from an arena with
    /// free pools (or a new arena), put on usable list `list`.
    #[cold]
    fn new_pool(&self, list: usize, class: usize, kind: *const ()) -> *mut PoolHeader {
        let mut arena = self.usable_arenas.get();
        if arena.is_null() {
            arena = self.new_arena();
        }
        // SAFETY: a usable arena is live and has a free or untouched pool.
        let pool = unsafe {
            let a = &*arena;
            let free = a.free_pools.get();
            let pool = if !free.is_null() {
                a.free_pools.set((*free).next.get());
                free
            } else {
                let index = POOLS_PER_ARENA - a.untouched_pools.get();
                a.untouched_pools.set(a.untouched_pools.get() - 1);
                let pool = a
                    .base
                    .as_ptr()
                    .byte_add(index * POOL_SIZE)
                    .cast::<PoolHeader>();
                pool.write(PoolHeader {
                    used: Cell::new(0),
                    class: Cell::new(u32::MAX),
                    list: Cell::new(0),
                    next_offset: Cell::new(HEADER as u32),
                    kind: Cell::new(ptr::null()),
                    free_block: Cell::new(ptr::null_mut()),
                    next: Cell::new(ptr::null_mut()),
                    prev: Cell::new(ptr::null_mut()),
                    arena,
                    owner: self,
                });
                pool
            };
            if a.nfree.get() == POOLS_PER_ARENA {
                self.empty_arenas.set(self.empty_arenas.get() - 1);
            }
            a.nfree.set(a.nfree.get() - 1);
            if a.nfree.get() == 0 {
                self.unlink_arena(arena);
            }
            let p = &*pool;
            p.class.set(class as u32);
            p.list.set(list as u32);
            p.kind.set(kind);
            p.free_block.set(ptr::null_mut());
            p.next_offset.set(HEADER as u32);
            p.used.set(0);
            pool
        };
        // SAFETY: `pool` is a live pool header, on no list.
        unsafe { self.push_usable(list, pool) };
        pool
    }

    /// A pool whose blocks are all free goes back to its arena; an arena
    /// with no pool in use goes back to the system, unless it is the only
    /// arena or one of the empty arenas the thread retains.
    ///
    /// # Safety
    ///
    /// - `pool` is live, has `used == 0`, and is on no list.
    unsafe fn free_pool(&self, pool: *mut PoolHeader) {
        // SAFETY: per the contract.
        unsafe {
            let p = &*pool;
            p.class.set(u32::MAX);
            let arena = p.arena;
            let a = &*arena;
            p.next.set(a.free_pools.get());
            a.free_pools.set(pool);
            a.nfree.set(a.nfree.get() + 1);
            if a.nfree.get() == 1 {
                self.push_arena(arena);
            }
            if a.nfree.get() == POOLS_PER_ARENA {
                let keep = self.keep_one.get()
                    && (self.counters.arenas_current.get() == 1
                        || self.empty_arenas.get() < self.retained_arenas.get());
                if keep {
                    self.empty_arenas.set(self.empty_arenas.get() + 1);
                } else {
                    self.unlink_arena(arena);
                    self.release_arena(arena);
                    self.given_back.set(self.given_back.get() + 1);
                }
            }
        }
    }

    /// From now on, keeps up to `arenas` arenas with no pool in use rather
    /// than give them back to the system, and no longer learns the limit;
    /// gives back those over that number (but one) now.
    pub(crate) fn set_retained_arenas(&self, arenas: usize) {
        self.retained_arenas.set(arenas);
        self.retain_fixed.set(true);
        if self.empty_arenas.get() > arenas.max(1) {
            self.release_empty_arenas(arenas.max(1));
        }
    }

    pub(crate) fn retained_arenas(&self) -> usize {
        self.retained_arenas.get()
    }

    pub(crate) fn empty_arenas(&self) -> usize {
        self.empty_arenas.get()
    }

    /// Gives back to the system every arena with no pool in use but `keep`
    /// of them, after returning to their arenas the empty pools kept on
    /// their usable lists. Returns how many arenas went back.
    pub(crate) fn release_empty_arenas(&self, keep: usize) -> usize {
        for list in 0..NUM_LISTS {
            let pool = self.usable[list].get();
            // SAFETY: a usable pool is a live pool header on that list.
            unsafe {
                if !pool.is_null() && (*pool).used.get() == 0 {
                    self.unlink_usable(list, pool);
                    self.free_pool(pool);
                }
            }
        }
        let mut released = 0;
        let mut arena = self.all_arenas.get();
        while !arena.is_null() && self.empty_arenas.get() > keep {
            // SAFETY: list members are live arena headers.
            let (next, idle) = unsafe { ((*arena).all_next.get(), (*arena).nfree.get()) };
            if idle == POOLS_PER_ARENA {
                // SAFETY: an arena with every pool free is on the usable-arena
                // list and has no block in use.
                unsafe {
                    self.unlink_arena(arena);
                    self.release_arena(arena);
                }
                self.empty_arenas.set(self.empty_arenas.get() - 1);
                released += 1;
            }
            arena = next;
        }
        released
    }

    /// Gives back every arena with no pool in use, and forgets the learned
    /// retain limit (a limit the program set stays). Returns how many
    /// arenas went back.
    pub(crate) fn trim(&self) -> usize {
        let released = self.release_empty_arenas(0);
        if !self.retain_fixed.get() {
            self.retained_arenas.set(0);
        }
        self.given_back.set(0);
        released
    }

    /// The thread is exiting: give back every arena that is entirely free,
    /// and from now on every arena as soon as it is. (Arenas that still hold
    /// live objects stay, as the objects do.)
    pub(crate) fn release_at_thread_exit(&self) {
        self.keep_one.set(false);
        self.release_empty_arenas(0);
    }

    #[cold]
    fn new_arena(&self) -> *mut ArenaHeader {
        if self.counters.arenas_allocated.get() == 0 {
            crate::heap::register_thread_exit();
        }
        if self.given_back.get() > 0 {
            // This arena replaces one given back: keep one more next time.
            self.given_back.set(self.given_back.get() - 1);
            let learned = self.retained_arenas.get() + 1;
            if !self.retain_fixed.get() && learned <= AUTO_RETAIN_ARENAS {
                self.retained_arenas.set(learned);
            }
        }
        let base = system::map_arena(ARENA_SIZE);
        let arena = Box::into_raw(Box::new(ArenaHeader {
            base,
            untouched_pools: Cell::new(POOLS_PER_ARENA),
            free_pools: Cell::new(ptr::null_mut()),
            nfree: Cell::new(POOLS_PER_ARENA),
            next: Cell::new(ptr::null_mut()),
            prev: Cell::new(ptr::null_mut()),
            all_next: Cell::new(self.all_arenas.get()),
            all_prev: Cell::new(ptr::null_mut()),
        }));
        let old_head = self.all_arenas.get();
        if !old_head.is_null() {
            // SAFETY: list members are live arena headers.
            unsafe { (*old_head).all_prev.set(arena) };
        }
        self.all_arenas.set(arena);
        let c = &self.counters;
        c.arenas_allocated.set(c.arenas_allocated.get() + 1);
        c.arenas_current.set(c.arenas_current.get() + 1);
        c.arenas_high_water
            .set(c.arenas_high_water.get().max(c.arenas_current.get()));
        self.empty_arenas.set(self.empty_arenas.get() + 1);
        // SAFETY: a fresh arena header on no list.
        unsafe { self.push_arena(arena) };
        arena
    }

    /// # Safety
    ///
    /// - `arena` is live, on no list, and none of its pools is in use.
    unsafe fn release_arena(&self, arena: *mut ArenaHeader) {
        // SAFETY: per the contract; both allocations came from `new_arena`,
        // and the all-arenas neighbours are live.
        unsafe {
            let (prev, next) = ((*arena).all_prev.get(), (*arena).all_next.get());
            if prev.is_null() {
                self.all_arenas.set(next);
            } else {
                (*prev).all_next.set(next);
            }
            if !next.is_null() {
                (*next).all_prev.set(prev);
            }
            let header = Box::from_raw(arena);
            system::unmap_arena(header.base, ARENA_SIZE);
        }
        let c = &self.counters;
        c.arenas_released.set(c.arenas_released.get() + 1);
        c.arenas_current.set(c.arenas_current.get() - 1);
    }

    /// # Safety
    ///
    /// - `pool` is live and on no list.
    unsafe fn push_usable(&self, list: usize, pool: *mut PoolHeader) {
        let head = self.usable[list].get();
        // SAFETY: per the contract; list members are live.
        unsafe {
            (*pool).prev.set(ptr::null_mut());
            (*pool).next.set(head);
            if !head.is_null() {
                (*head).prev.set(pool);
            }
        }
        self.usable[list].set(pool);
    }

    /// # Safety
    ///
    /// - `pool` is live and on usable list `list`.
    unsafe fn unlink_usable(&self, list: usize, pool: *mut PoolHeader) {
        // SAFETY: per the contract; list members are live.
        unsafe {
            let (prev, next) = ((*pool).prev.get(), (*pool).next.get());
            if prev.is_null() {
                self.usable[list].set(next);
            } else {
                (*prev).next.set(next);
            }
            if !next.is_null() {
                (*next).prev.set(prev);
            }
            (*pool).next.set(ptr::null_mut());
            (*pool).prev.set(ptr::null_mut());
        }
    }

    /// # Safety
    ///
    /// - `arena` is live and not on the usable-arena list.
    unsafe fn push_arena(&self, arena: *mut ArenaHeader) {
        let head = self.usable_arenas.get();
        // SAFETY: per the contract; list members are live.
        unsafe {
            (*arena).prev.set(ptr::null_mut());
            (*arena).next.set(head);
            if !head.is_null() {
                (*head).prev.set(arena);
            }
        }
        self.usable_arenas.set(arena);
    }

    /// # Safety
    ///
    /// - `arena` is live and on the usable-arena list.
    unsafe fn unlink_arena(&self, arena: *mut ArenaHeader) {
        // SAFETY: per the contract; list members are live.
        unsafe {
            let (prev, next) = ((*arena).prev.get(), (*arena).next.get());
            if prev.is_null() {
                self.usable_arenas.set(next);
            } else {
                (*prev).next.set(next);
            }
            if !next.is_null() {
                (*next).prev.set(prev);
            }
            (*arena).next.set(ptr::null_mut());
            (*arena).prev.set(ptr::null_mut());
        }
    }

    /// What every pool of every arena holds (for `alloc::stats`): per class
    /// `(pools, blocks in use, free blocks)`, and the number of pools not in
    /// use (free or never used). Walks all pools: for statistics only.
    pub(crate) fn census(&self) -> ([(usize, usize, usize); NUM_CLASSES], usize) {
        let mut classes = [(0, 0, 0); NUM_CLASSES];
        let mut idle_pools = 0;
        let mut arena = self.all_arenas.get();
        while !arena.is_null() {
            // SAFETY: list members are live arena headers; pools below the
            // untouched ones were initialized by `new_pool`.
            unsafe {
                let a = &*arena;
                let carved = POOLS_PER_ARENA - a.untouched_pools.get();
                idle_pools += a.untouched_pools.get();
                for index in 0..carved {
                    let p = &*a
                        .base
                        .as_ptr()
                        .byte_add(index * POOL_SIZE)
                        .cast::<PoolHeader>();
                    let class = p.class.get();
                    if class == u32::MAX {
                        idle_pools += 1;
                        continue;
                    }
                    let class = class as usize;
                    let capacity = (POOL_SIZE - HEADER) / block_size(class);
                    let entry = &mut classes[class];
                    entry.0 += 1;
                    entry.1 += p.used.get() as usize;
                    entry.2 += capacity - p.used.get() as usize;
                }
                arena = a.all_next.get();
            }
        }
        (classes, idle_pools)
    }
}
