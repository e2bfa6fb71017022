//! `dense`: a store built on what the Task API guarantees and a hash map
//! ignores: ids are handed out by the store from a counter, so they are
//! dense. Task `id` lives at a fixed place, slot `(id - 1) % 4096` of chunk
//! `(id - 1) / 4096`: no hashing, no probing, one cache line per lookup.
//!
//! - **Lookup by index.** A read is: find the chunk (an acquire load of a
//!   `OnceLock`), take its read lock, clone the slot's `Arc`.
//! - **One lock per chunk, each in its own cache line.** A million tasks are
//!   245 chunks, so 245 lock words instead of dashmap's 4 per core: two
//!   threads rarely touch one lock word at once, even under Zipf skew,
//!   because the hot ids are scattered over the chunks.
//! - **Copy-on-write chunks, so snapshots are cheap.** A chunk's slots are an
//!   `Arc<[Option<Arc<Task>>]>`. [`TaskStore::snapshot`] clones one `Arc` per
//!   chunk (245 reference counts for a million tasks, not a million), and a
//!   writer that finds its chunk shared with a live snapshot copies it first
//!   (`Arc::make_mut`), so a snapshot never changes. With no snapshot alive,
//!   writes modify the chunk in place.
//! - **No unsafe code.** The synchronization is `RwLock`, `OnceLock`, `Arc`
//!   and one atomic counter, each used as documented; there is no custom
//!   protocol for loom to check.
//! - **The directory is shared.** The id counter and the chunk directory
//!   (where an id lives, chunks built on first use, found without a lock)
//!   are `chunk-dir`'s, the same code `rcu` runs; this crate is what a
//!   chunk holds and how it is locked.
//!
//! What it gives up: a deleted task's slot stays allocated (8 bytes), and
//! memory grows with the highest id, not with the live count. For a Task API
//! whose ids only grow that is the same; for one that deletes most of what it
//! creates it is not, and a hash map is the better fit.

use std::sync::Arc;

use chunk_dir::ChunkDir;
use crossbeam_utils::CachePadded;
use parking_lot::RwLock;
use task_model::{
    SharedSlots, Snapshot, SnapshotGuarantee, Task, TaskDraft, TaskId, TaskPatch, TaskStore,
};

pub use chunk_dir::{CHUNK_BITS, CHUNK_SLOTS, MAX_CHUNKS};

/// One chunk: its slots, shared copy-on-write with snapshots, and how many
/// hold a task.
struct Chunk {
    slots: SharedSlots,
    count: usize,
}

impl Default for Chunk {
    fn default() -> Self {
        Chunk {
            slots: std::iter::repeat_with(|| None).take(CHUNK_SLOTS).collect(),
            count: 0,
        }
    }
}

/// A chunk behind its own lock, in its own cache line.
type Cell = CachePadded<RwLock<Chunk>>;

/// Tasks in copy-on-write chunks indexed by id.
pub struct DenseStore {
    /// The ids and the chunks they index (`chunk-dir`).
    dir: ChunkDir<Cell>,
}

impl Default for DenseStore {
    fn default() -> Self {
        Self::new()
    }
}

impl DenseStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty store with chunks allocated for ids 1..=capacity.
    pub fn with_capacity(capacity: usize) -> Self {
        DenseStore {
            dir: ChunkDir::with_capacity(capacity),
        }
    }

    /// The chunk index of `id` and the number of chunks ids have reached so
    /// far (for the harness's load-imbalance figure).
    pub fn chunk_of(&self, id: TaskId) -> (usize, usize) {
        self.dir.chunk_of(id)
    }

    /// Visits every stored task's `Arc` under each chunk's read lock,
    /// cloning nothing: the get_all floor.
    pub fn for_each_arc(&self, mut f: impl FnMut(&Arc<Task>)) {
        for cell in self.dir.used() {
            for task in cell.read().slots.iter().flatten() {
                f(task);
            }
        }
    }
}

impl TaskStore for DenseStore {
    /// Chunks are read one after another.
    const SNAPSHOT: SnapshotGuarantee = SnapshotGuarantee::PerTask;

    fn create(&self, draft: TaskDraft) -> Arc<Task> {
        // The chunk lock publishes the task.
        let id = self.dir.issue();
        let task = Arc::new(draft.into_task(id));
        let (cell, slot) = self
            .dir
            .get_or_create(id)
            .expect("more than 268 million tasks: the dense store is full");
        let mut guard = cell.write();
        // Copies the chunk first if a snapshot shares it.
        Arc::make_mut(&mut guard.slots)[slot] = Some(task.clone());
        guard.count += 1;
        task
    }

    #[inline]
    fn get(&self, id: TaskId) -> Option<Arc<Task>> {
        let (cell, slot) = self.dir.get(id)?;
        cell.read().slots[slot].clone()
    }

    #[inline]
    fn get_with<R>(&self, id: TaskId, f: impl FnOnce(&Task) -> R) -> Option<R> {
        let (cell, slot) = self.dir.get(id)?;
        cell.read().slots[slot].as_deref().map(f)
    }

    fn update(&self, id: TaskId, patch: TaskPatch) -> Option<Arc<Task>> {
        let (cell, slot) = self.dir.get(id)?;
        let mut guard = cell.write();
        let next = Arc::new(guard.slots[slot].as_ref()?.patched(&patch));
        Arc::make_mut(&mut guard.slots)[slot] = Some(next.clone());
        Some(next)
    }

    fn delete(&self, id: TaskId) -> Option<Arc<Task>> {
        let (cell, slot) = self.dir.get(id)?;
        let mut guard = cell.write();
        guard.slots[slot].as_ref()?;
        let gone = Arc::make_mut(&mut guard.slots)[slot].take();
        guard.count -= 1;
        gone
    }

    fn get_all(&self) -> Vec<Arc<Task>> {
        let mut out = Vec::with_capacity(self.len());
        for cell in self.dir.used() {
            out.extend(cell.read().slots.iter().flatten().cloned());
        }
        out
    }

    fn snapshot(&self) -> Snapshot {
        let mut snapshot = Snapshot::with_capacity(self.dir.used().count());
        for cell in self.dir.used() {
            let chunk = cell.read();
            if chunk.count > 0 {
                snapshot.push_shared(chunk.slots.clone(), chunk.count);
            }
        }
        snapshot
    }

    fn len(&self) -> usize {
        self.dir.used().map(|c| c.read().count).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_it_cannot_hold_are_simply_absent() {
        let store = DenseStore::new();
        assert!(store.get(TaskId(u64::MAX)).is_none());
        assert!(store.delete(TaskId(5_000_000)).is_none());
    }

    #[test]
    fn snapshots_share_chunks_until_a_write_copies_one() {
        let store = DenseStore::with_capacity(10);
        for i in 0..10 {
            store.create(store_draft(i));
        }
        let snap = store.snapshot();
        let shared = |s: &DenseStore| {
            let (cell, _) = s.dir.get(TaskId(1)).expect("chunk 0 exists");
            Arc::strong_count(&cell.read().slots)
        };
        assert_eq!(shared(&store), 2, "the snapshot shares chunk 0");
        store.update(
            TaskId(1),
            TaskPatch::set_completed(true, task_model::Timestamp(3)),
        );
        assert_eq!(
            shared(&store),
            1,
            "the write copied chunk 0 away from the snapshot"
        );
        assert!(
            !snap.iter().any(|t| t.completed),
            "the snapshot kept the old version"
        );
        drop(snap);
        store.update(
            TaskId(2),
            TaskPatch::set_completed(true, task_model::Timestamp(3)),
        );
        assert_eq!(shared(&store), 1);
    }

    #[test]
    fn chunk_of_and_the_walk_report_what_the_store_holds() {
        // The engine's adapters (load imbalance, the get_all floor) read
        // these; a wrong answer would be a silently wrong figure.
        let store = DenseStore::with_capacity(CHUNK_SLOTS + 2);
        assert_eq!(store.chunk_of(TaskId(1)), (0, 1), "no ids yet: one chunk");
        for i in 0..(CHUNK_SLOTS as u32 + 2) {
            store.create(store_draft(i));
        }
        // The boundaries are chunk-dir's to test; this is the delegation.
        assert_eq!(store.chunk_of(TaskId(CHUNK_SLOTS as u64 + 1)), (1, 2));
        store.delete(TaskId(3));
        let mut seen = Vec::new();
        store.for_each_arc(|t| seen.push(t.id.get()));
        assert_eq!(seen.len(), CHUNK_SLOTS + 1);
        assert!(!seen.contains(&3) && seen.contains(&(CHUNK_SLOTS as u64 + 2)));
    }

    fn store_draft(i: u32) -> TaskDraft {
        task_model::NewTask {
            title: format!("t{i}"),
            ..Default::default()
        }
        .validate_at(task_model::Timestamp(1))
        .expect("valid")
    }
}
