//! Ids from per-thread blocks: a create takes the next id of its thread's
//! block, and only the first create of every [`ID_BLOCK`] on a thread
//! writes the shared counter (`chunk-dir`'s, through [`ChunkDir::claim`]).
//!
//! The block a thread holds in a store lives in the thread's own table
//! (a `thread_local`), not in the store: [`WAYS`] entries, each a store's
//! number and the last id the thread handed out in that store's block. A
//! store is numbered once, when it is built, from a process-wide counter
//! that never repeats a number ([`store_number`]), and finds its entry at
//! `number % WAYS`. So two stores used by one thread never share a block:
//! an entry holding another store's number is that store's, and is
//! replaced (see *Gaps*). A dropped store's entries stay behind, matching
//! no store ever again, and are overwritten when their way is needed.
//!
//! Blocks are aligned: every id of a hyaline store comes from
//! `claim(ID_BLOCK)`, so the counter moves in whole blocks and block `k`
//! is `(k - 1) * 64 + 1 ..= k * 64`. The entry needs no end: the block is
//! used up when the last id handed out is a multiple of [`ID_BLOCK`]. (An
//! empty entry is store number 0, which no store has.)
//!
//! # Gaps
//! A thread gives its block up, leaving its unused ids unused forever, when
//! - it stops creating on the store (it ends, or has nothing more to
//!   create there): at most 63 ids per thread;
//! - it creates on another store whose number shares the entry (`number %
//!   WAYS`): then its block in this store is forgotten, and its next create
//!   here claims a new block. Stores built one after another get
//!   consecutive numbers, so a thread alternating between up to [`WAYS`]
//!   of them never loses a block; one alternating between two stores
//!   numbered `WAYS` apart gives up a block at every switch.
//!
//! A thread that creates alone on a store and gives no block up claims
//! blocks 1, 2, 3, ... in order and uses each up: 1, 2, 3, ... as from a
//! counter.
//!
//! # Why no loom model
//! Nothing here is shared but the two counters: a thread's table is its
//! own (`Cell`s in a `thread_local`, never lent to another thread), and the
//! counters are `fetch_add`s whose one property is atomicity: no two
//! claims get the same block, no two stores the same number. One thread's
//! blocks increase because its claims are read-modify-writes of one
//! location in program order, which coherence keeps in that order in the
//! counter's modification order, at any ordering. What the store puts at
//! an id is published by the slot's own Release store (see [`slot`]),
//! whatever the id's block. So there is no interleaving for loom to
//! explore.
//!
//! [`ChunkDir::claim`]: chunk_dir::ChunkDir::claim
//! [`slot`]: crate::slot

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

/// Ids per block. See the crate documentation (*Ids*) for the choice.
pub const ID_BLOCK: u64 = 64;

/// Entries in a thread's table of blocks, one store each.
pub const WAYS: usize = 8;

// A block never straddles two chunks (so a thread's creates in one block
// touch one chunk), and `% ID_BLOCK` and `% WAYS` are masks.
const _: () =
    assert!(ID_BLOCK.is_power_of_two() && (chunk_dir::CHUNK_SLOTS as u64).is_multiple_of(ID_BLOCK));
const _: () = assert!(WAYS.is_power_of_two());

/// The next store number; 0 marks an empty entry, so numbers start at 1.
static NEXT_STORE: AtomicU64 = AtomicU64::new(1);

/// A number no other store of the process has had or will have.
pub fn store_number() -> u64 {
    // Relaxed: only uniqueness is needed, which the fetch_add's atomicity
    // gives (2^64 numbers: the counter does not wrap).
    NEXT_STORE.fetch_add(1, Ordering::Relaxed)
}

/// One entry of a thread's table: a store's number, and the last id the
/// thread handed out from its block in that store.
#[derive(Clone, Copy)]
struct Held {
    store: u64,
    last: u64,
}

thread_local! {
    // Const-initialized and without a destructor: an access is an offset
    // from the thread pointer, with no lazy-init check, and works even
    // while the thread's other thread-locals are being destroyed.
    static TABLE: [Cell<Held>; WAYS] =
        const { [const { Cell::new(Held { store: 0, last: 0 }) }; WAYS] };
}

/// The next id for store `store` on the calling thread: the next of the
/// thread's block in that store, or, if it holds none or has used it up,
/// the first of a block `claim` claims (which must be aligned: `claim`
/// returns `(k - 1) * ID_BLOCK + 1`).
#[inline]
pub fn next_id(store: u64, claim: impl FnOnce() -> u64) -> u64 {
    TABLE.with(|table| {
        let entry = &table[(store % WAYS as u64) as usize];
        let held = entry.get();
        let id = if held.store == store && !held.last.is_multiple_of(ID_BLOCK) {
            held.last + 1
        } else {
            let first = claim();
            debug_assert_eq!(first % ID_BLOCK, 1 % ID_BLOCK, "claimed blocks are aligned");
            first
        };
        entry.set(Held { store, last: id });
        id
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A counter claiming aligned blocks, as `ChunkDir::claim` does.
    struct Counter(AtomicU64);

    impl Counter {
        fn new() -> Counter {
            Counter(AtomicU64::new(1))
        }

        fn claim(&self) -> u64 {
            self.0.fetch_add(ID_BLOCK, Ordering::Relaxed)
        }

        fn next(&self, store: u64) -> u64 {
            next_id(store, || self.claim())
        }
    }

    #[test]
    fn one_thread_alone_counts_up_through_its_blocks() {
        let (counter, store) = (Counter::new(), store_number());
        let ids: Vec<u64> = (0..3 * ID_BLOCK).map(|_| counter.next(store)).collect();
        assert_eq!(ids, (1..=3 * ID_BLOCK).collect::<Vec<u64>>());
    }

    #[test]
    fn threads_draw_on_blocks_of_their_own_and_leave_the_rest_unused() {
        let (counter, store) = (Counter::new(), store_number());
        assert_eq!(counter.next(store), 1);
        let other: Vec<u64> = std::thread::scope(|s| {
            s.spawn(|| (0..3).map(|_| counter.next(store)).collect())
                .join()
                .expect("no panic")
        });
        assert_eq!(other, [65, 66, 67], "block 2, claimed by the other thread");
        assert_eq!(counter.next(store), 2, "this thread's block 1 goes on");
        // The other thread has ended: 68..=128 are never handed out. A new
        // thread claims block 3.
        let third = std::thread::scope(|s| s.spawn(|| counter.next(store)).join());
        assert_eq!(third.expect("no panic"), 129);
    }

    #[test]
    fn two_stores_on_one_thread_never_share_a_block() {
        let (a, b) = (Counter::new(), Counter::new());
        let x = store_number();
        // Other tests number stores meanwhile: take numbers until one has
        // an entry of its own (the next, unless another test took it).
        let y = std::iter::repeat_with(store_number)
            .find(|y| y % WAYS as u64 != x % WAYS as u64)
            .expect("the next WAYS - 1 numbers have other entries");
        assert_eq!([a.next(x), b.next(y), a.next(x), b.next(y)], [1, 1, 2, 2]);
    }

    #[test]
    fn a_store_sharing_the_entry_makes_the_thread_give_its_block_up() {
        let (a, b) = (Counter::new(), Counter::new());
        let x = store_number();
        // Other tests number stores meanwhile: take numbers until one
        // shares x's entry.
        let y = std::iter::repeat_with(store_number)
            .find(|y| y % WAYS as u64 == x % WAYS as u64)
            .expect("every WAYS-th number shares it");
        assert_eq!(a.next(x), 1);
        assert_eq!(b.next(y), 1);
        assert_eq!(a.next(x), 65, "block 1 was forgotten: 2..=64 are a gap");
        assert_eq!(a.next(x), 66);
    }

    #[test]
    fn store_numbers_are_distinct_and_never_0() {
        let numbers: Vec<u64> = (0..100).map(|_| store_number()).collect();
        assert!(numbers.iter().all(|n| *n > 0));
        assert!(numbers.windows(2).all(|w| w[0] < w[1]));
    }
}
