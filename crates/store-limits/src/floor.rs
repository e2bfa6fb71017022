//! `floor`: the multi-thread floor. The least synchronization the Task API
//! needs, at any thread count, bought by giving up what no deployable store
//! can: freeing memory. It is `unsync`'s counterpart for many threads: the
//! gap between a store and `floor` at N threads is what that store's locks
//! and reclamation cost at N threads.
//!
//! The layout is `rcu`'s (and `dense`'s): task `id` lives in slot
//! `(id - 1) % 4096` of chunk `(id - 1) / 4096`, one atomic pointer per id,
//! in a fixed directory of 2^16 chunks. The constructor allocates the chunks
//! its capacity needs; a create past them allocates the next chunk on first
//! use, and the directory never moves (no resize, nothing to copy, no reader
//! to fence out). Same layout, same cache misses: what separates `floor`
//! from `rcu` is synchronization alone.
//!
//! What each operation does, and why nothing less would do:
//! - **create**: one `fetch_add` on the id counter, then a Release store of
//!   the new task's pointer into its slot. The counter is the one shared
//!   write the API requires (two creates must not get one id; ids are never
//!   reused). The slot of a fresh id is empty and nobody else writes it, so
//!   a plain store publishes: no compare-exchange.
//! - **get**: one Acquire load of the slot, then the clone that returning
//!   an `Arc<Task>` asks for (a shared write on the task's count: the API's
//!   cost, kept and measured as under `unsync`). `get_with` (the harness's
//!   visit mode) stops after the load, so a read writes nothing at all: no
//!   lock word, no epoch pin, no hazard pointer.
//! - **update**: builds the patched version and installs it with a
//!   compare-exchange against the version it patched, retrying on a lost
//!   race. That is the least a linearizable read-modify-write can do: a
//!   plain store would lose a concurrent update (the conformance suite's
//!   histories catch that).
//! - **delete**: swaps null in (after a plain load, so a delete that misses
//!   writes nothing).
//! - **len and get_all** walk the slots. No timed operation calls `len`, so
//!   it gets no counter: one would put a second shared write on every create
//!   and delete for a figure the workload never asks for. Walked slots are
//!   read one after another, so the snapshot is per task, as `rcu`'s.
//!
//! **Nothing is freed while the store lives.** A reader that loaded a
//! pointer an instant before a writer replaced it may still look at that
//! version or add to its count. `rcu`, `papaya` and `scc` make that safe by
//! pinning an epoch on every operation and freeing after a grace period;
//! `dense` takes a lock. `floor` never lets go: the slot's reference to a
//! replaced or deleted version moves to a retired list and is dropped with
//! the store. A reader never touches freed memory, with no epoch and no
//! count of readers, and a compare-exchange on a pointer sees no ABA (an
//! address cannot come back while nothing is freed). The protocol, and its
//! loom model, are in [`slot`] (`scripts/loom-floor` also runs the model
//! with each ordering weakened to Relaxed, and requires it to fail).
//!
//! The retired list is striped: 64 cache-padded stripes, each a mutex
//! around a vector, a thread's stripe fixed round-robin at its first
//! retire. Up to 64 writing threads each take a lock nobody else takes: an
//! uncontended lock on a line that stays in its own core's cache, not a
//! shared write. The other ways to chain versions cost more where it
//! matters: a link inside each version needs a box around the `Arc<Task>`
//! (a second allocation per write, a second pointer to chase per read), and
//! one list for all threads is a shared write per update.
//!
//! What it costs, and why it is a floor and not a design:
//! - **The heap grows by one task version per update and per delete** until
//!   the store is dropped: the version's `Arc<Task>` allocation (80 bytes, a
//!   64-byte task behind two counts; 96 in glibc's malloc), any title or
//!   description the patch replaced, and 8 bytes of retired list (16 while
//!   its vector has room to grow). About 100 bytes per update or delete: a
//!   million updates a second hold 100 MB more every second. Reads allocate
//!   and keep nothing.
//! - **So updates are a floor for synchronization, not for the allocator.**
//!   A store that frees reuses warm blocks; `floor`'s versions come from
//!   fresh heap, whose pages the kernel maps on first touch (one fault per
//!   few dozen versions). Reads are the pure floor.
//! - A deleted task's slot stays allocated (8 bytes), as in `dense`.
//!
//! Its catalog line is a limit: read against, never ranked, never served.

pub mod slot;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use std::sync::Arc;
use task_model::{SnapshotGuarantee, Task, TaskDraft, TaskId, TaskPatch, TaskStore};

use slot::{Padded, Retired, Slot};

/// log2 of the slots per chunk.
pub const CHUNK_BITS: u32 = 12;
/// Slots per chunk: 4096 pointers, 32 KiB.
pub const CHUNK_SLOTS: usize = 1 << CHUNK_BITS;
/// Chunks the directory can hold: 2^16 chunks, 268 million ids.
pub const MAX_CHUNKS: usize = 1 << 16;
/// Stripes of the retired list: more than the threads a run uses.
pub const RETIRED_STRIPES: usize = 64;

/// One chunk: its slots, indexed without a bounds check (the index is
/// masked to the array's length).
type Chunk = Box<[Slot<Task>; CHUNK_SLOTS]>;

/// The chunk directory, allocated whole: an array too, so a chunk index
/// that `place` bounded needs no bounds check either.
type Directory = Box<[OnceLock<Chunk>; MAX_CHUNKS]>;

fn new_chunk() -> Chunk {
    let slots: Box<[Slot<Task>]> = std::iter::repeat_with(Slot::empty)
        .take(CHUNK_SLOTS)
        .collect();
    let Ok(chunk) = slots.try_into() else {
        unreachable!("a chunk is built with CHUNK_SLOTS slots");
    };
    chunk
}

/// Chunk index and slot index of `id`, or `None` for ids it cannot hold.
#[inline]
fn place(id: TaskId) -> Option<(usize, usize)> {
    let i = id.get().checked_sub(1)?;
    let chunk = usize::try_from(i >> CHUNK_BITS)
        .ok()
        .filter(|c| *c < MAX_CHUNKS)?;
    Some((chunk, (i as usize) & (CHUNK_SLOTS - 1)))
}

/// One atomic pointer per id, versions never freed during the store's
/// life: the multi-thread floor. See the module documentation.
pub struct FloorStore {
    chunks: Directory,
    /// Every version a slot unlinked, kept until the store is dropped.
    retired: Retired<Task>,
    /// The next id; alone on its line, since every create writes it.
    next_id: Padded<AtomicU64>,
}

impl Default for FloorStore {
    fn default() -> Self {
        Self::new()
    }
}

impl FloorStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty store with chunks allocated for ids 1..=capacity.
    pub fn with_capacity(capacity: usize) -> Self {
        let chunks: Box<[OnceLock<Chunk>]> = (0..MAX_CHUNKS).map(|_| OnceLock::new()).collect();
        let Ok(chunks) = Directory::try_from(chunks) else {
            unreachable!("the directory is built with MAX_CHUNKS entries");
        };
        for chunk in chunks
            .iter()
            .take(capacity.div_ceil(CHUNK_SLOTS).min(MAX_CHUNKS))
        {
            let _ = chunk.set(new_chunk());
        }
        FloorStore {
            chunks,
            retired: Retired::new(RETIRED_STRIPES),
            next_id: Padded(AtomicU64::new(1)),
        }
    }

    #[inline]
    fn slot(&self, id: TaskId) -> Option<&Slot<Task>> {
        let (chunk, slot) = place(id)?;
        Some(&self.chunks[chunk].get()?[slot])
    }

    /// Chunks that may hold tasks: those up to the highest id handed out.
    fn used(&self) -> impl Iterator<Item = &Chunk> {
        // Relaxed: a chunk is reached through its OnceLock, which orders its
        // initialization; the counter only bounds how far to look, and a
        // create that returned before this call happened before this load.
        let issued = self.next_id.0.load(Ordering::Relaxed).saturating_sub(1);
        let used =
            usize::try_from(issued).map_or(MAX_CHUNKS, |n| n.div_ceil(CHUNK_SLOTS).min(MAX_CHUNKS));
        self.chunks[..used].iter().filter_map(OnceLock::get)
    }

    /// Visits every stored task in place, cloning nothing.
    pub fn for_each_task(&self, mut f: impl FnMut(&Task)) {
        for chunk in self.used() {
            for slot in chunk.iter() {
                // SAFETY: every slot of this store retires into
                // `self.retired`, which lives as long as `&self`.
                if let Some(task) = unsafe { slot.load() } {
                    f(task);
                }
            }
        }
    }

    /// Counts the stored tasks by loading every slot's pointer and
    /// touching no task: the get_all floor, and `len`.
    pub fn walk(&self) -> usize {
        self.used()
            .map(|chunk| chunk.iter().filter(|s| s.is_occupied()).count())
            .sum()
    }

    /// Versions replaced or deleted so far, all still held (see the module
    /// documentation: one per update and per delete).
    pub fn retired(&self) -> usize {
        self.retired.count()
    }
}

impl TaskStore for FloorStore {
    /// Slots are read one after another.
    const SNAPSHOT: SnapshotGuarantee = SnapshotGuarantee::PerTask;

    fn create(&self, draft: TaskDraft) -> Arc<Task> {
        // Relaxed: only uniqueness is needed; the slot's Release store
        // publishes the task.
        let id = TaskId(self.next_id.0.fetch_add(1, Ordering::Relaxed));
        let task = Arc::new(draft.into_task(id));
        let (chunk, slot) =
            place(id).expect("more than 268 million tasks: the floor store is full");
        self.chunks[chunk].get_or_init(new_chunk)[slot].publish(task.clone());
        task
    }

    #[inline]
    fn get(&self, id: TaskId) -> Option<Arc<Task>> {
        // SAFETY: every slot of this store retires into `self.retired`,
        // which lives as long as `&self`.
        unsafe { self.slot(id)?.get() }
    }

    #[inline]
    fn get_with<R>(&self, id: TaskId, f: impl FnOnce(&Task) -> R) -> Option<R> {
        // SAFETY: as in `get`.
        unsafe { self.slot(id)?.load() }.map(f)
    }

    fn update(&self, id: TaskId, patch: TaskPatch) -> Option<Arc<Task>> {
        let slot = self.slot(id)?;
        // SAFETY: as in `get`; `self.retired` is the list named.
        unsafe { slot.update(&self.retired, |task| task.patched(&patch)) }
    }

    fn delete(&self, id: TaskId) -> Option<Arc<Task>> {
        self.slot(id)?.take(&self.retired)
    }

    fn get_all(&self) -> Vec<Arc<Task>> {
        let mut out = Vec::new();
        for chunk in self.used() {
            // SAFETY: as in `get`.
            out.extend(chunk.iter().filter_map(|s| unsafe { s.get() }));
        }
        out
    }

    fn len(&self) -> usize {
        self.walk()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use task_model::{NewTask, Timestamp};

    fn draft(i: u32) -> TaskDraft {
        NewTask {
            title: format!("t{i}"),
            ..Default::default()
        }
        .validate_at(Timestamp(1))
        .expect("valid")
    }

    #[test]
    fn places_ids_densely() {
        assert_eq!(place(TaskId(0)), None);
        assert_eq!(place(TaskId(1)), Some((0, 0)));
        assert_eq!(place(TaskId(CHUNK_SLOTS as u64 + 1)), Some((1, 0)));
        assert_eq!(place(TaskId(u64::MAX)), None);
        let last = (MAX_CHUNKS * CHUNK_SLOTS) as u64;
        assert_eq!(place(TaskId(last)), Some((MAX_CHUNKS - 1, CHUNK_SLOTS - 1)));
        assert_eq!(place(TaskId(last + 1)), None);
    }

    #[test]
    fn versions_handed_out_stay_valid_and_are_freed_with_the_store() {
        let store = FloorStore::with_capacity(4);
        let first = store.create(draft(0));
        let mut held = vec![store.get(first.id).expect("present")];
        for at in 2..=5 {
            held.push(store.update(first.id, patch(at)).expect("updated"));
        }
        assert_eq!(store.retired(), 4, "one version kept per update");
        let gone = store.delete(first.id).expect("deleted");
        assert_eq!(store.retired(), 5, "and one per delete");
        assert!(store.get(first.id).is_none() && store.update(first.id, patch(9)).is_none());
        assert!(Arc::ptr_eq(&gone, &held[4]));
        // Every version is intact after the later writes: the store still
        // holds each (the slot's reference, retired, not dropped).
        for (at, version) in (1..).zip(&held) {
            assert_eq!(
                (version.updated_at, version.title.as_ref()),
                (Timestamp(at), "t0")
            );
            assert_eq!(version.completed, at > 1);
        }
        let counts: Vec<usize> = held.iter().map(Arc::strong_count).collect();
        assert_eq!(counts, [3, 2, 2, 2, 3], "held, the store's, first and gone");
        drop(store);
        let after: Vec<usize> = held.iter().map(Arc::strong_count).collect();
        assert_eq!(after, [2, 1, 1, 1, 2], "the store let go of every version");
    }

    #[test]
    fn a_visit_touches_no_count_and_contended_updates_keep_each_version() {
        let store = FloorStore::with_capacity(1);
        let task = store.create(draft(0));
        assert_eq!(store.get_with(task.id, |t| t.title.len()), Some(2));
        assert_eq!(Arc::strong_count(&task), 2, "ours and the slot's: no clone");
        const THREADS: u64 = 4;
        const UPDATES: u64 = 500;
        let id = task.id;
        std::thread::scope(|s| {
            for t in 0..THREADS {
                let store = &store;
                s.spawn(move || {
                    for i in 0..UPDATES {
                        store.update(id, patch(2 + t * UPDATES + i));
                    }
                });
            }
        });
        // A lost race retires nothing (its version was never shared); each
        // update that landed retired exactly the one it replaced.
        assert_eq!(store.retired() as u64, THREADS * UPDATES);
        assert_eq!(Arc::strong_count(&task), 2, "the first version, kept");
    }

    #[test]
    fn walks_count_and_visit_across_chunks() {
        let store = FloorStore::new();
        for i in 0..(CHUNK_SLOTS as u32 + 2) {
            store.create(draft(i));
        }
        store.delete(TaskId(3));
        store.delete(TaskId(CHUNK_SLOTS as u64 + 1));
        assert_eq!(store.len(), CHUNK_SLOTS);
        let mut seen = Vec::new();
        store.for_each_task(|t| seen.push(t.id.get()));
        assert_eq!(seen.len(), CHUNK_SLOTS);
        assert!(!seen.contains(&3) && seen.contains(&(CHUNK_SLOTS as u64 + 2)));
        assert_eq!(store.get_all().len(), CHUNK_SLOTS);
        assert!(store.get(TaskId(0)).is_none() && store.get(TaskId(u64::MAX)).is_none());
        assert!(
            store.get(TaskId(10 * CHUNK_SLOTS as u64)).is_none(),
            "no chunk there"
        );
    }

    fn patch(at: u64) -> TaskPatch {
        TaskPatch::set_completed(true, Timestamp(at))
    }
}
