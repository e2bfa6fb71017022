//! `chunk-dir`: the chunk directory of the id-indexed stores (`dense`,
//! `rcu`, and any store that lays tasks out by id). It hands out ids and
//! says where each one lives: task `id` is slot `(id - 1) % 4096` of chunk
//! `(id - 1) / 4096`. What a chunk holds (locked copy-on-write slots,
//! read-copy-update pointers) is the store's business: the directory is
//! generic over the chunk type and never looks inside one.
//!
//! - **Why ids index chunks.** The store hands ids out from one counter (the
//!   directory's), one at a time or in small blocks, so they are dense or
//!   nearly so: the place of an id is a shift and a mask, with no hashing
//!   and no probing, and the tasks created together sit together. The
//!   slots come in chunks rather than one array so that nothing ever moves:
//!   growing one array would mean copying it while readers look, or fencing
//!   them out.
//! - **A fixed directory, chunks on first use.** The directory is 2^16
//!   entries ([`MAX_CHUNKS`]), allocated whole when the store is built, for
//!   268 million ids. The constructor allocates the chunks its capacity
//!   needs (rounded up to whole chunks); a create past them allocates the
//!   next chunk on first use (`OnceLock::get_or_init`: one thread builds it,
//!   a racing create waits for it), and the directory itself never moves.
//! - **A reader finds its chunk without a lock.** A lookup is the shift and
//!   mask, then `OnceLock::get`: an Acquire load of the entry's state, then
//!   its pointer. Nothing shared is written. The Acquire pairs with the
//!   release that `get_or_init` does when it sets the entry, so a reader
//!   that sees a chunk sees it fully built. An id whose chunk does not exist
//!   yet is simply absent.
//! - **It adds no cost to the stores' hot path.** Every lookup is
//!   `#[inline]` (and generic, so built in the store's own crate): a store's
//!   read compiles to the loads it did when the directory was its own code.
//!
//! What it costs:
//! - **One entry per chunk, used or not**: a `OnceLock<Box<C>>` is a pointer
//!   and its state word (16 bytes on Linux), so 1 MiB of directory per
//!   store, all of it written when the store is built.
//! - **Memory grows with the highest id, not the live count**: a chunk is
//!   never freed while the store lives, however few of its ids are left.
//! - **Ids are never reused**, and past 268 million the store is full.
//!
//! Synchronization: `OnceLock` and one atomic counter (taken one id at a
//! time by [`ChunkDir::issue`], or a block at a time by [`ChunkDir::claim`],
//! as `hyaline` does), each used as documented; no `unsafe` code (the crate
//! forbids it). The orderings are commented where they are used. There is
//! no protocol here for a loom model to check: the counter's one property
//! is atomicity, and a chunk's publication is `OnceLock`'s. The `rcu` store's loom model checks the slot
//! protocol inside its chunks, and leaves the directory out with the rest of
//! the store.

#![forbid(unsafe_code)]

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_utils::CachePadded;
use task_model::TaskId;

/// log2 of the slots per chunk.
pub const CHUNK_BITS: u32 = 12;
/// Slots per chunk: 4096 (32 KiB of 8-byte slots).
pub const CHUNK_SLOTS: usize = 1 << CHUNK_BITS;
/// Chunks the directory can hold: 2^16 chunks, 268 million ids.
pub const MAX_CHUNKS: usize = 1 << 16;

/// Chunk index and slot index of `id`, or `None` for ids no directory can
/// hold (0, and those past [`MAX_CHUNKS`] chunks).
#[inline]
pub fn place(id: TaskId) -> Option<(usize, usize)> {
    let i = id.get().checked_sub(1)?;
    let chunk = usize::try_from(i >> CHUNK_BITS)
        .ok()
        .filter(|c| *c < MAX_CHUNKS)?;
    Some((chunk, (i as usize) & (CHUNK_SLOTS - 1)))
}

/// Ids from one counter, and the chunks of type `C` they index.
pub struct ChunkDir<C> {
    chunks: Box<[OnceLock<Box<C>>]>,
    /// The next id; alone on its cache line, since every create writes it.
    next_id: CachePadded<AtomicU64>,
}

impl<C: Default> Default for ChunkDir<C> {
    fn default() -> Self {
        Self::with_capacity(0)
    }
}

impl<C: Default> ChunkDir<C> {
    /// An empty directory with chunks allocated for ids `1..=capacity`
    /// (rounded up to whole chunks, at most [`MAX_CHUNKS`]). Chunks are
    /// built with `C::default()`.
    pub fn with_capacity(capacity: usize) -> Self {
        let chunks: Box<[OnceLock<Box<C>>]> = (0..MAX_CHUNKS).map(|_| OnceLock::new()).collect();
        for chunk in chunks
            .iter()
            .take(capacity.div_ceil(CHUNK_SLOTS).min(MAX_CHUNKS))
        {
            let _ = chunk.set(Box::default());
        }
        ChunkDir {
            chunks,
            next_id: CachePadded::new(AtomicU64::new(1)),
        }
    }

    /// The chunk of `id`, allocated now if no create reached it before, and
    /// the slot index of `id` in it; `None` for ids it cannot hold.
    #[inline]
    pub fn get_or_create(&self, id: TaskId) -> Option<(&C, usize)> {
        let (chunk, slot) = place(id)?;
        Some((self.chunks[chunk].get_or_init(Box::default), slot))
    }
}

impl<C> ChunkDir<C> {
    /// A new id: 1 first, then one more each call, never the same twice.
    #[inline]
    pub fn issue(&self) -> TaskId {
        // Relaxed: only uniqueness is needed, which the fetch_add's
        // atomicity gives. What the store puts at the id is published by
        // the chunk's own synchronization (a lock, a Release store).
        TaskId(self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    /// Reserves `n` consecutive ids at once and returns the first: the
    /// block `first..first + n`, never handed out again by `issue` or
    /// `claim`. A directory whose ids all come from `claim` with one `n`
    /// hands out aligned blocks, `(k - 1) * n + 1 ..= k * n`, the first
    /// from 1. The chunks are built as with `issue`, by `get_or_create` when an
    /// id is stored; `used` and `chunk_of` count the whole block as handed
    /// out.
    #[inline]
    pub fn claim(&self, n: u64) -> TaskId {
        // Relaxed, as `issue`: the block's one property is that no other
        // claim overlaps it, which the fetch_add's atomicity gives. A thread
        // that claims twice gets the later block second (its two RMWs are
        // in program order, so in the counter's modification order), which
        // is what makes a thread's blocks increase.
        TaskId(self.next_id.fetch_add(n, Ordering::Relaxed))
    }

    /// The chunk holding `id` and the slot index of `id` in it; `None` if
    /// the chunk does not exist (yet) or the id cannot be held.
    #[inline]
    pub fn get(&self, id: TaskId) -> Option<(&C, usize)> {
        let (chunk, slot) = place(id)?;
        Some((self.chunks[chunk].get()?, slot))
    }

    /// How many chunks the ids handed out so far reach: 0 before the first.
    #[inline]
    fn reached(&self) -> usize {
        // Relaxed: the count only bounds how far to look. A chunk is reached
        // through its OnceLock, which orders its construction; a create that
        // returned before this call happened before it (by whatever told
        // the caller so), and so did its fetch_add.
        let issued = self.next_id.load(Ordering::Relaxed).saturating_sub(1);
        usize::try_from(issued).map_or(MAX_CHUNKS, |n| n.div_ceil(CHUNK_SLOTS).min(MAX_CHUNKS))
    }

    /// The chunks that may hold tasks: those allocated, up to the chunk of
    /// the highest id handed out. Chunks the constructor allocated past it
    /// hold nothing yet, and are skipped.
    pub fn used(&self) -> impl Iterator<Item = &C> {
        self.chunks[..self.reached()]
            .iter()
            .filter_map(|c| c.get().map(|b| &**b))
    }

    /// The chunk index of `id` and the number of chunks ids have reached
    /// (at least one), for the harness's load-imbalance figure. An id past
    /// the reached chunks counts in the last of them; one the directory
    /// cannot hold, in the first.
    pub fn chunk_of(&self, id: TaskId) -> (usize, usize) {
        let used = self.reached().max(1);
        (place(id).map_or(0, |p| p.0).min(used - 1), used)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A chunk with an address: a zero-sized one would make every `Box`
    /// look like the same chunk.
    type Dir = ChunkDir<u64>;

    fn id(n: usize) -> TaskId {
        TaskId(n as u64)
    }

    fn allocated(dir: &Dir) -> usize {
        dir.chunks.iter().filter(|c| c.get().is_some()).count()
    }

    fn issue_up_to(dir: &Dir, last: usize) {
        while dir.issue().get() < last as u64 {}
    }

    #[test]
    fn places_ids_densely() {
        assert_eq!(place(TaskId(0)), None, "ids start at 1");
        assert_eq!(place(TaskId(1)), Some((0, 0)));
        assert_eq!(place(TaskId(2)), Some((0, 1)));
        assert_eq!(place(id(CHUNK_SLOTS)), Some((0, CHUNK_SLOTS - 1)));
        assert_eq!(place(id(CHUNK_SLOTS + 1)), Some((1, 0)));
        assert_eq!(place(id(3 * CHUNK_SLOTS + 5)), Some((3, 4)));
        assert_eq!(
            place(id(MAX_CHUNKS * CHUNK_SLOTS)),
            Some((MAX_CHUNKS - 1, CHUNK_SLOTS - 1)),
            "the last id the directory holds"
        );
        assert_eq!(place(id(MAX_CHUNKS * CHUNK_SLOTS + 1)), None);
        assert_eq!(place(TaskId(u64::MAX)), None);
    }

    #[test]
    fn capacity_rounds_up_to_whole_chunks() {
        for (capacity, chunks) in [
            (0, 0),
            (1, 1),
            (CHUNK_SLOTS, 1),
            (CHUNK_SLOTS + 1, 2),
            (3 * CHUNK_SLOTS, 3),
        ] {
            assert_eq!(
                allocated(&Dir::with_capacity(capacity)),
                chunks,
                "{capacity}"
            );
        }
        let full = Dir::with_capacity(usize::MAX);
        assert_eq!(allocated(&full), MAX_CHUNKS, "capped at the directory");
        assert_eq!(allocated(&Dir::default()), 0);
        assert!(
            std::mem::size_of::<OnceLock<Box<u64>>>() <= 16,
            "the module doc's 16 bytes per entry"
        );
    }

    #[test]
    fn reads_find_only_allocated_chunks() {
        let dir = Dir::with_capacity(CHUNK_SLOTS);
        let (first, slot) = dir.get(TaskId(1)).expect("chunk 0 allocated");
        assert_eq!(slot, 0);
        let (last, slot) = dir.get(id(CHUNK_SLOTS)).expect("chunk 0 allocated");
        assert_eq!(slot, CHUNK_SLOTS - 1);
        assert!(std::ptr::eq(first, last), "one chunk for ids 1..=4096");
        assert!(dir.get(id(CHUNK_SLOTS + 1)).is_none(), "chunk 1 not built");
        assert!(dir.get(TaskId(0)).is_none());
        assert!(dir.get(TaskId(u64::MAX)).is_none());
    }

    #[test]
    fn growth_past_the_reached_chunks_allocates_one_chunk_once() {
        let dir = Dir::with_capacity(0);
        let far = id(3 * CHUNK_SLOTS + 5);
        assert!(dir.get(far).is_none());
        let (made, slot) = dir.get_or_create(far).expect("holdable");
        assert_eq!(slot, 4);
        let (again, _) = dir
            .get_or_create(id(3 * CHUNK_SLOTS + 1))
            .expect("holdable");
        assert!(std::ptr::eq(made, again), "built once, then found");
        let (seen, _) = dir.get(far).expect("now allocated");
        assert!(std::ptr::eq(made, seen));
        assert_eq!(allocated(&dir), 1, "only the chunk asked for");
        assert!(dir.get_or_create(TaskId(0)).is_none());
        assert!(dir.get_or_create(TaskId(u64::MAX)).is_none());
        assert_eq!(allocated(&dir), 1);
    }

    #[test]
    fn ids_are_issued_densely_from_one() {
        let dir = Dir::default();
        let ids: Vec<u64> = (0..4).map(|_| dir.issue().get()).collect();
        assert_eq!(ids, [1, 2, 3, 4]);
    }

    #[test]
    fn claims_reserve_aligned_blocks_that_issue_never_repeats() {
        let dir = Dir::with_capacity(0);
        let firsts: Vec<u64> = (0..3).map(|_| dir.claim(64).get()).collect();
        assert_eq!(firsts, [1, 65, 129], "blocks of 64 from 1, aligned");
        assert_eq!(dir.issue().get(), 193, "past every claimed block");
        assert_eq!(dir.claim(64).get(), 194);
        // The whole of a claimed block counts as handed out.
        let dir = Dir::with_capacity(2 * CHUNK_SLOTS);
        assert_eq!(dir.claim(CHUNK_SLOTS as u64 + 1).get(), 1);
        assert_eq!(dir.used().count(), 2, "the block reaches chunk 1");
        assert_eq!(dir.chunk_of(id(CHUNK_SLOTS + 1)), (1, 2));
    }

    #[test]
    fn racing_claims_get_disjoint_blocks() {
        let dir = Dir::with_capacity(0);
        let mut firsts: Vec<u64> = std::thread::scope(|s| {
            let claimers: Vec<_> = (0..4)
                .map(|_| s.spawn(|| (0..100).map(|_| dir.claim(8).get()).collect::<Vec<_>>()))
                .collect();
            claimers
                .into_iter()
                .flat_map(|c| {
                    let firsts = c.join().expect("no panic");
                    assert!(
                        firsts.windows(2).all(|w| w[0] < w[1]),
                        "a thread's blocks increase"
                    );
                    firsts
                })
                .collect()
        });
        firsts.sort_unstable();
        assert_eq!(firsts, (0..400).map(|k| 8 * k + 1).collect::<Vec<u64>>());
    }

    #[test]
    fn used_and_chunk_of_follow_the_issued_ids() {
        let dir = Dir::with_capacity(3 * CHUNK_SLOTS);
        assert_eq!(dir.used().count(), 0, "allocated, but no id reached them");
        assert_eq!(dir.chunk_of(TaskId(1)), (0, 1), "no ids yet: one chunk");
        issue_up_to(&dir, 1);
        assert_eq!(dir.used().count(), 1);
        assert_eq!(dir.chunk_of(id(CHUNK_SLOTS + 1)), (0, 1), "past: the last");
        issue_up_to(&dir, CHUNK_SLOTS);
        assert_eq!(dir.used().count(), 1);
        assert_eq!(dir.chunk_of(id(CHUNK_SLOTS)), (0, 1));
        issue_up_to(&dir, CHUNK_SLOTS + 1);
        assert_eq!(dir.used().count(), 2);
        assert_eq!(dir.chunk_of(id(CHUNK_SLOTS)), (0, 2));
        assert_eq!(dir.chunk_of(id(CHUNK_SLOTS + 1)), (1, 2));
        assert_eq!(dir.chunk_of(id(10 * CHUNK_SLOTS)), (1, 2));
        assert_eq!(dir.chunk_of(TaskId(u64::MAX)), (0, 2), "cannot hold: first");
        assert_eq!(dir.chunk_of(TaskId(0)), (0, 2));
    }

    #[test]
    fn used_skips_chunks_no_create_built() {
        let dir = Dir::with_capacity(0);
        assert!(dir.get_or_create(id(CHUNK_SLOTS + 1)).is_some());
        issue_up_to(&dir, CHUNK_SLOTS + 1);
        let used: Vec<&u64> = dir.used().collect();
        assert_eq!(used.len(), 1, "chunk 0 was never built");
        let (chunk1, _) = dir.get(id(CHUNK_SLOTS + 1)).expect("built");
        assert!(std::ptr::eq(used[0], chunk1));
    }

    #[test]
    fn a_counter_past_the_directory_stays_bounded() {
        let dir = Dir::with_capacity(CHUNK_SLOTS);
        dir.next_id.store(u64::MAX, Ordering::Relaxed);
        assert_eq!(dir.used().count(), 1, "bounded by the directory");
        assert_eq!(dir.chunk_of(TaskId(1)), (0, MAX_CHUNKS));
        assert_eq!(
            dir.chunk_of(id(MAX_CHUNKS * CHUNK_SLOTS)),
            (MAX_CHUNKS - 1, MAX_CHUNKS)
        );
    }

    #[test]
    fn racing_creates_share_one_chunk_and_distinct_ids() {
        let dir = Arc::new(Dir::with_capacity(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let dir = dir.clone();
                std::thread::spawn(move || {
                    (0..1000)
                        .map(|_| {
                            let id = dir.issue();
                            let (chunk, _) = dir.get_or_create(id).expect("holdable");
                            (id.get(), std::ptr::from_ref(chunk) as usize)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut seen: Vec<(u64, usize)> = threads
            .into_iter()
            .flat_map(|t| t.join().expect("no panic"))
            .collect();
        seen.sort_unstable();
        let ids: Vec<u64> = seen.iter().map(|s| s.0).collect();
        assert_eq!(ids, (1..=4000).collect::<Vec<u64>>(), "each id once");
        assert!(
            seen.iter().all(|s| s.1 == seen[0].1),
            "one chunk, built once"
        );
        assert_eq!(allocated(&dir), 1);
    }
}
