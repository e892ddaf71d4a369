//! Where `Gc` allocations come from, and what the allocator holds.
//!
//! With the `pool` feature (on by default), allocations of up to 512 bytes
//! (every `Gc` of a small value: the header plus the value) come from a
//! per-thread pymalloc-style allocator: 64 size classes, 16 KiB pools, 1 MiB
//! arenas (see `pool.rs` and `docs/internals`). Larger ones, and all of them
//! without the feature, use the global allocator. Without the feature, Miri
//! sees every object as its own allocation, which is how CI checks the
//! collector for use-after-free independently of the pools.
//!
//! [`stats`] and [`print_stats`] show what the allocator holds, as CPython's
//! `sys._debugmallocstats()`.
//!
//! # Giving memory back
//!
//! An arena whose blocks are all free goes back to the system at once
//! (except the thread's last arena, which stays, as in CPython), so a
//! program's resident memory follows what it holds. The price would be paid
//! by a program that frees a large structure and builds another: the system
//! hands every page back zeroed, through a page fault, a third of the time
//! of building and dropping a 2^20-node tree. So a thread learns: each time
//! it maps an arena to replace one it gave back, it keeps one more empty
//! arena the next time one empties (up to 64 MiB), as glibc's dynamic
//! `mmap` threshold learns from frees. A thread that never rebuilds what it
//! dropped keeps nothing. [`set_retain_limit`] sets the limit instead, and
//! [`trim`] gives the empty arenas back at a moment of the thread's choosing
//! (glibc's `malloc_trim`).

use core::alloc::Layout;
use core::fmt;
use core::ptr::NonNull;
use std::alloc::{alloc, dealloc, handle_alloc_error};

#[cfg(feature = "pool")]
pub(crate) mod pool;
#[cfg(feature = "pool")]
mod system;

use crate::heap::Heap;
#[cfg(feature = "pool")]
use crate::heap::with_heap;

/// Allocates memory for one object, with the heap already at hand.
#[inline]
pub(crate) fn allocate_in(heap: &Heap, layout: Layout) -> NonNull<u8> {
    #[cfg(feature = "pool")]
    if pool::is_small(layout) {
        return heap.pools.allocate(layout);
    }
    if !heap.exit_registered.get() {
        crate::heap::register_thread_exit();
    }
    allocate_large(layout)
}

/// Allocates memory for one object of the type `key` stands for, from a pool
/// that holds objects of that type only, so that [`kind_of`] tells the type
/// from the address. `None` if there is no such pool for it: the layout is
/// not small, the pool allocator is off, or the thread has run out of type
/// slots (`pool::TYPE_SLOTS`); the caller then uses [`allocate_in`] and
/// records the type in the object.
#[inline]
pub(crate) fn allocate_typed_in(
    heap: &Heap,
    layout: Layout,
    key: *const (),
) -> Option<NonNull<u8>> {
    #[cfg(feature = "pool")]
    if pool::is_small(layout) {
        return heap.pools.allocate_typed(layout, key);
    }
    let _ = (heap, layout, key);
    None
}

/// The key given to [`allocate_typed_in`] for the block at `ptr`.
///
/// # Safety
///
/// - `ptr` points into a live block from [`allocate_typed_in`], with
///   provenance over the block.
#[cfg(feature = "pool")]
#[inline(always)]
pub(crate) unsafe fn kind_of(ptr: NonNull<u8>) -> *const () {
    // SAFETY: forwarded contract.
    unsafe { pool::kind_of(ptr) }
}

fn allocate_large(layout: Layout) -> NonNull<u8> {
    // SAFETY: every object layout has a non-zero size (it holds a header).
    let ptr = unsafe { alloc(layout) };
    NonNull::new(ptr).unwrap_or_else(|| handle_alloc_error(layout))
}

/// Frees memory from [`allocate_in`] or [`allocate_typed_in`].
///
/// # Safety
///
/// - `ptr` came from one of them on this thread with this `layout`, and is
///   not used afterwards.
#[inline]
pub(crate) unsafe fn deallocate(ptr: NonNull<u8>, layout: Layout) {
    if crate::tracemalloc::any_thread_tracing() {
        crate::tracemalloc::on_free(ptr.addr().get());
    }
    #[cfg(feature = "pool")]
    if pool::is_small(layout) {
        // SAFETY: small layouts come from this thread's pools (`Gc` is
        // `!Send`, so the object is freed by the thread that made it).
        return unsafe { pool::Pools::deallocate(ptr, layout) };
    }
    // SAFETY: per the contract, from `alloc` with this layout.
    unsafe { dealloc(ptr.as_ptr(), layout) }
}

/// One size class of the pool allocator.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SizeClassStats {
    /// Bytes per block (requests of up to this size use the class).
    pub block_size: usize,
    /// Pools of this class.
    pub pools: usize,
    /// Blocks handed out and not freed.
    pub blocks_in_use: usize,
    /// Free blocks in those pools.
    pub free_blocks: usize,
}

/// What the calling thread's allocator holds (CPython's
/// `sys._debugmallocstats()`). All zero without the `pool` feature.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllocStats {
    /// Is the pool allocator compiled in (the `pool` feature)?
    pub pool_enabled: bool,
    /// The 64 size classes (8, 16, ..., 512 bytes).
    pub classes: Vec<SizeClassStats>,
    /// Arenas obtained from the system so far.
    pub arenas_allocated: u64,
    /// Arenas given back to the system so far.
    pub arenas_released: u64,
    /// The most arenas held at once.
    pub arenas_high_water: u64,
    /// Arenas held now.
    pub arenas_current: u64,
    /// Arenas held now with no pool in use: the one kept when it is the
    /// last, and those kept for reuse ([`set_retain_limit`]). (A size
    /// class keeps its last pool when it empties, and that pool's arena.)
    pub arenas_empty: u64,
    /// Bytes in blocks handed out.
    pub bytes_in_use: usize,
    /// Bytes available for new blocks: free blocks, plus pools not in use.
    pub bytes_free: usize,
    /// Bytes held by free blocks in pools that are partly in use: memory the
    /// allocator cannot give back nor use for another size class.
    pub bytes_fragmented: usize,
    /// Bytes of arena memory (`arenas_current` × arena size).
    pub bytes_in_arenas: usize,
}

/// What the calling thread's pool allocator holds now.
///
/// ```
/// use recycle::Gc;
///
/// let keep: Vec<_> = (0..1000u64).map(Gc::new).collect();
/// let stats = recycle::alloc::stats();
/// if stats.pool_enabled {
///     assert!(stats.classes.iter().map(|c| c.blocks_in_use).sum::<usize>() >= 1000);
/// }
/// drop(keep);
/// ```
pub fn stats() -> AllocStats {
    #[cfg(feature = "pool")]
    {
        with_heap(|heap| {
            let pools = &heap.pools;
            let (classes, idle_pools) = pools.census();
            let mut out = AllocStats {
                pool_enabled: true,
                arenas_allocated: pools.counters.arenas_allocated.get(),
                arenas_released: pools.counters.arenas_released.get(),
                arenas_high_water: pools.counters.arenas_high_water.get(),
                arenas_current: pools.counters.arenas_current.get(),
                arenas_empty: pools.empty_arenas() as u64,
                ..AllocStats::default()
            };
            out.bytes_in_arenas = out.arenas_current as usize * pool::ARENA_SIZE;
            out.bytes_free = idle_pools * pool::POOL_SIZE;
            for (class, &(pools, used, free)) in classes.iter().enumerate() {
                let block_size = pool::block_size(class);
                out.classes.push(SizeClassStats {
                    block_size,
                    pools,
                    blocks_in_use: used,
                    free_blocks: free,
                });
                out.bytes_in_use += used * block_size;
                out.bytes_free += free * block_size;
                out.bytes_fragmented += free * block_size;
            }
            out
        })
    }
    #[cfg(not(feature = "pool"))]
    AllocStats::default()
}

impl fmt::Display for AllocStats {
    /// The table [`print_stats`] prints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.pool_enabled {
            return writeln!(f, "recycle: the pool allocator is off (feature `pool`)");
        }
        writeln!(
            f,
            "Small block threshold = 512, in {} size classes.",
            self.classes.len()
        )?;
        writeln!(f)?;
        writeln!(f, "class   size   num pools   blocks in use  avail blocks")?;
        writeln!(f, "-----   ----   ---------   -------------  ------------")?;
        // As CPython's table: the classes with blocks in use. A class whose
        // pools are all empty (kept for reuse) gets a line of its own below.
        let mut empty_pools = 0;
        for (class, c) in self.classes.iter().enumerate().filter(|(_, c)| c.pools > 0) {
            if c.blocks_in_use == 0 {
                empty_pools += c.pools;
                continue;
            }
            writeln!(
                f,
                "{class:5} {:6} {:11} {:15} {:13}",
                c.block_size, c.pools, c.blocks_in_use, c.free_blocks
            )?;
        }
        writeln!(f)?;
        if empty_pools > 0 {
            writeln!(f, "# pools empty, kept for reuse      = {empty_pools:>14}")?;
        }
        writeln!(
            f,
            "# arenas allocated total           = {:>14}",
            self.arenas_allocated
        )?;
        writeln!(
            f,
            "# arenas reclaimed                 = {:>14}",
            self.arenas_released
        )?;
        writeln!(
            f,
            "# arenas highwater mark            = {:>14}",
            self.arenas_high_water
        )?;
        writeln!(
            f,
            "# arenas allocated current         = {:>14}",
            self.arenas_current
        )?;
        writeln!(
            f,
            "# arenas empty, kept for reuse     = {:>14}",
            self.arenas_empty
        )?;
        writeln!(
            f,
            "{} arenas * {} bytes/arena = {:>14}",
            self.arenas_current,
            arena_size(),
            self.bytes_in_arenas
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "# bytes in allocated blocks        = {:>14}",
            self.bytes_in_use
        )?;
        writeln!(
            f,
            "# bytes in available blocks        = {:>14}",
            self.bytes_free
        )?;
        writeln!(
            f,
            "# bytes lost to fragmentation      = {:>14}",
            self.bytes_fragmented
        )
    }
}

fn arena_size() -> usize {
    #[cfg(feature = "pool")]
    return pool::ARENA_SIZE;
    #[cfg(not(feature = "pool"))]
    0
}

/// Prints [`stats`] as a table to stderr, as CPython's
/// `sys._debugmallocstats()` does.
pub fn print_stats() {
    eprint!("{}", stats());
}

/// Sets how many bytes of arenas with no block in use the calling thread
/// keeps for reuse (whole arenas: the amount is rounded down), rather than
/// give them back to the system as soon as they empty, and stops the thread
/// from learning the limit (see [the module docs](self)). Empty arenas
/// beyond the new limit go back now.
///
/// Keeping memory makes building a large structure again after dropping one
/// cheaper (its pages are already mapped: on Linux, about a third of the
/// time of building and dropping a 2^20-node tree goes to page faults
/// otherwise), at the cost of resident memory that the thread does not use.
/// `set_retain_limit(0)` makes every empty arena but the last go back at
/// once, whatever the thread does. Without the `pool` feature this does
/// nothing.
///
/// ```
/// use recycle::Gc;
///
/// recycle::alloc::set_retain_limit(64 << 20);
/// for _ in 0..3 {
///     let nodes: Vec<Gc<u64>> = (0..1_000).map(Gc::new).collect();
///     drop(nodes); // the arenas stay, for the next round
/// }
/// let kept = recycle::alloc::stats();
/// let released = recycle::alloc::trim(); // now they go back
/// let after = recycle::alloc::stats();
/// assert_eq!(after.arenas_empty, 0);
/// assert_eq!(released, kept.bytes_in_arenas - after.bytes_in_arenas);
/// recycle::alloc::set_retain_limit(0);
/// ```
pub fn set_retain_limit(bytes: usize) {
    #[cfg(feature = "pool")]
    with_heap(|heap| heap.pools.set_retained_arenas(bytes / pool::ARENA_SIZE));
    #[cfg(not(feature = "pool"))]
    let _ = bytes;
}

/// How many bytes of empty arenas the calling thread keeps for reuse, as
/// learned or set with [`set_retain_limit`].
pub fn retain_limit() -> usize {
    #[cfg(feature = "pool")]
    return with_heap(|heap| heap.pools.retained_arenas() * pool::ARENA_SIZE);
    #[cfg(not(feature = "pool"))]
    0
}

/// Gives every arena of the calling thread that has no block in use back to
/// the system now, including those kept for reuse, and returns how many
/// bytes went back (as glibc's `malloc_trim`). A learned retain limit
/// starts again from 0; one set with [`set_retain_limit`] stays, so arenas
/// that empty later are kept again.
pub fn trim() -> usize {
    #[cfg(feature = "pool")]
    return with_heap(|heap| heap.pools.trim() * pool::ARENA_SIZE);
    #[cfg(not(feature = "pool"))]
    0
}
