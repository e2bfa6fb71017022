//! A counting global allocator, like Go's `-benchmem`: allocations and bytes
//! per operation, counted on every thread of the process, including threads
//! a store owns (an actor's worker, a pool).
//!
//! Each thread counts into its own cache-padded block, so counting adds no
//! shared-cache-line traffic; blocks are registered once per thread in a
//! lock-free, append-only list, and [`totals`] sums them. A thread's block
//! outlives the thread, so allocations made by threads that have exited
//! still count.
//!
//! The binary opts in with `#[global_allocator] static A: CountingAlloc =
//! CountingAlloc;`. Without it every count reads zero; [`is_installed`] says
//! which.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_utils::CachePadded;

use super::blocks::real::{Block, List};

/// Every thread's counter block (model-checked with loom in `blocks`).
static BLOCKS: List = List::new();
static INSTALLED: AtomicBool = AtomicBool::new(false);
static COUNTING: AtomicBool = AtomicBool::new(false);

thread_local! {
    // Const-initialized and without a destructor, so reading it inside the
    // allocator never allocates and works during thread teardown.
    static MINE: Cell<*const CachePadded<Block>> = const { Cell::new(ptr::null()) };
}

/// The counting allocator: `System` plus per-thread counts.
pub struct CountingAlloc;

/// Sums over every thread that ever allocated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub allocs: u64,
    pub alloc_bytes: u64,
    pub frees: u64,
    pub free_bytes: u64,
}

impl Totals {
    /// Counts since `earlier`.
    pub fn since(self, earlier: Totals) -> Totals {
        Totals {
            allocs: self.allocs - earlier.allocs,
            alloc_bytes: self.alloc_bytes - earlier.alloc_bytes,
            frees: self.frees - earlier.frees,
            free_bytes: self.free_bytes - earlier.free_bytes,
        }
    }

    /// Bytes allocated and not yet freed (may be negative over an interval).
    pub fn live_bytes(self) -> i64 {
        self.alloc_bytes as i64 - self.free_bytes as i64
    }
}

/// Whether a [`CountingAlloc`] is the global allocator of this process
/// (true once anything has been allocated through it).
pub fn is_installed() -> bool {
    INSTALLED.load(Ordering::Relaxed)
}

/// Turns counting on or off for every thread. Off (the default), the
/// allocator adds one relaxed load of a read-mostly flag to each call, so
/// timed passes run with counting off and a separate pass counts.
pub fn set_counting(on: bool) {
    COUNTING.store(on, Ordering::SeqCst);
}

/// Runs `f` with counting on and returns its result and the counts it made,
/// on all threads.
pub fn counted<R>(f: impl FnOnce() -> R) -> (R, Totals) {
    set_counting(true);
    let before = totals();
    let result = f();
    let after = totals();
    set_counting(false);
    (result, after.since(before))
}

/// The sums over all threads. Exact for allocations that happened-before
/// this call (each block's counters are atomics; a thread allocating at this
/// very moment may or may not be counted yet).
pub fn totals() -> Totals {
    let mut sum = Totals::default();
    BLOCKS.for_each(|block| {
        sum.allocs += block.allocs.load(Ordering::Relaxed);
        sum.alloc_bytes += block.alloc_bytes.load(Ordering::Relaxed);
        sum.frees += block.frees.load(Ordering::Relaxed);
        sum.free_bytes += block.free_bytes.load(Ordering::Relaxed);
    });
    sum
}

/// The peak of this thread's own live bytes (its counted allocations minus
/// its counted frees) since it started: a thread that does all of a store's
/// work sees the store's true peak, resizes included, which sampling the
/// totals between operations would miss.
pub fn this_thread_peak() -> u64 {
    let block = MINE.with(Cell::get);
    if block.is_null() {
        return 0;
    }
    // SAFETY: as in `totals`, registered blocks are never freed.
    unsafe { &*block }.peak_live.load(Ordering::Relaxed)
}

/// This thread's own counts.
pub fn this_thread() -> Totals {
    let block = MINE.with(Cell::get);
    if block.is_null() {
        return Totals::default();
    }
    // SAFETY: as in `totals`, registered blocks are never freed.
    let block = unsafe { &*block };
    Totals {
        allocs: block.allocs.load(Ordering::Relaxed),
        alloc_bytes: block.alloc_bytes.load(Ordering::Relaxed),
        frees: block.frees.load(Ordering::Relaxed),
        free_bytes: block.free_bytes.load(Ordering::Relaxed),
    }
}

/// This thread's block, registering one on first use. Returns null if the
/// thread-local is gone (thread teardown) or the system is out of memory;
/// the allocation then goes uncounted rather than failing.
#[inline]
fn my_block() -> *const CachePadded<Block> {
    MINE.try_with(|mine| {
        let block = mine.get();
        if !block.is_null() {
            return block;
        }
        let block = register();
        mine.set(block);
        block
    })
    .unwrap_or(ptr::null())
}

#[cold]
fn register() -> *const CachePadded<Block> {
    let layout = Layout::new::<CachePadded<Block>>();
    // SAFETY: the layout has non-zero size. Allocating from `System`
    // directly keeps this out of the counting allocator (no recursion).
    let raw = unsafe { System.alloc(layout) }.cast::<CachePadded<Block>>();
    if raw.is_null() {
        return ptr::null();
    }
    // SAFETY: `raw` is a fresh allocation with the block's layout; writing
    // initializes it, and no other thread can see it until `push`. Blocks
    // are never freed, as `push` requires.
    unsafe {
        raw.write(CachePadded::new(Block::new()));
        BLOCKS.push(raw);
    }
    raw
}

#[inline]
fn count(bytes: usize, freed: bool) {
    if !INSTALLED.load(Ordering::Relaxed) {
        INSTALLED.store(true, Ordering::Relaxed);
    }
    if !COUNTING.load(Ordering::Relaxed) {
        return;
    }
    let block = my_block();
    if block.is_null() {
        return;
    }
    // SAFETY: registered blocks are never freed.
    let block = unsafe { &*block };
    if freed {
        Block::add(&block.frees, &block.free_bytes, bytes as u64);
    } else {
        Block::add(&block.allocs, &block.alloc_bytes, bytes as u64);
        block.raise_peak();
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged and only adds counting, which never allocates through this
// allocator (registration uses `System` directly).
unsafe impl GlobalAlloc for CountingAlloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size(), false);
        // SAFETY: forwarded contract.
        unsafe { System.alloc(layout) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size(), false);
        // SAFETY: forwarded contract.
        unsafe { System.alloc_zeroed(layout) }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(layout.size(), true);
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Like Go's accounting: a growth is a new allocation of the new size
        // and a free of the old one; counted in that order, so the peak
        // holds both, as a move to a new block does.
        count(new_size, false);
        count(layout.size(), true);
        // SAFETY: forwarded contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
