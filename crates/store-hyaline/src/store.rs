//! The store: `chunk-dir`'s directory of [`Slot`] chunks, one seize
//! collector, and the striped count (see the crate documentation).

use std::sync::Arc;

use chunk_dir::ChunkDir;
use seize::Collector;
use task_model::{IdPolicy, SnapshotGuarantee, Task, TaskDraft, TaskId, TaskPatch, TaskStore};

use crate::ids::{self, ID_BLOCK};
use crate::slot::Slot;
use crate::stripes::Striped;

pub use chunk_dir::{CHUNK_BITS, CHUNK_SLOTS, MAX_CHUNKS};

/// Retirements per batch: a thread's unlinked versions wait in its local
/// batch until this many, then the batch is handed to reclamation (a heavy
/// barrier and a scan of the threads). See the crate documentation for the
/// choice of 128 over seize's 32.
pub const BATCH: usize = 128;

/// One chunk: its slots, in one array (a read finds its slot with one
/// pointer from the directory, and the index, masked to the chunk's size,
/// needs no bounds check).
struct Chunk {
    slots: [Slot<Task>; CHUNK_SLOTS],
}

impl Default for Chunk {
    fn default() -> Self {
        Chunk {
            slots: std::array::from_fn(|_| Slot::empty()),
        }
    }
}

/// Tasks in read-copy-update slots indexed by id, reclaimed by seize.
pub struct HyalineStore {
    /// The ids and the chunks they index (`chunk-dir`, as in `dense`); ids
    /// are claimed in blocks of [`ID_BLOCK`] (see [`ids`]).
    dir: ChunkDir<Chunk>,
    /// This store's number in the threads' tables of blocks ([`ids`]).
    number: u64,
    /// How many tasks are stored, striped by thread.
    live: Striped,
    /// The versions slots unlinked, freed once no reader can see them.
    /// Dropped with the store, when it frees whatever is still retired.
    collector: Collector,
}

impl Default for HyalineStore {
    fn default() -> Self {
        Self::new()
    }
}

impl HyalineStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty store with chunks allocated for ids 1..=capacity.
    pub fn with_capacity(capacity: usize) -> Self {
        Self::with_batch(capacity, BATCH)
    }

    /// An empty store retiring versions in batches of `batch`: the knob
    /// lines `hyaline-batch-N` (how often a writer pays the heavy barrier),
    /// and tests that watch a batch being freed.
    pub fn with_batch(capacity: usize, batch: usize) -> Self {
        HyalineStore {
            dir: ChunkDir::with_capacity(capacity),
            number: ids::store_number(),
            live: Striped::new(),
            collector: Collector::new().batch_size(batch),
        }
    }

    #[inline]
    fn slot(&self, id: TaskId) -> Option<&Slot<Task>> {
        let (chunk, slot) = self.dir.get(id)?;
        Some(&chunk.slots[slot])
    }

    /// The chunk index of `id` and the number of chunks ids have reached
    /// (for the harness's load-imbalance figure).
    pub fn chunk_of(&self, id: TaskId) -> (usize, usize) {
        self.dir.chunk_of(id)
    }

    /// Visits every stored task in place, cloning nothing, under one guard.
    pub fn for_each_task(&self, mut f: impl FnMut(&Task)) {
        let guard = self.collector.enter();
        for chunk in self.dir.used() {
            for slot in chunk.slots.iter() {
                if let Some(task) = slot.load(&guard) {
                    f(task);
                }
            }
        }
    }

    /// The get_all floor: visits every task in place, touching only its
    /// address (no clone, no field), and returns how many there are.
    pub fn walk(&self) -> usize {
        let mut seen = 0usize;
        let mut mix = 0usize;
        self.for_each_task(|task| {
            seen += 1;
            mix ^= std::ptr::from_ref(task) as usize;
        });
        std::hint::black_box(mix);
        seen
    }
}

impl TaskStore for HyalineStore {
    /// Slots are read one after another.
    const SNAPSHOT: SnapshotGuarantee = SnapshotGuarantee::PerTask;
    /// Per-thread blocks of 64 ids: see "Ids" in the crate docs.
    const IDS: IdPolicy = IdPolicy::Blocks { size: ID_BLOCK };

    fn create(&self, draft: TaskDraft) -> Arc<Task> {
        // The next id of this thread's block; one create in 64 claims a
        // block, the only shared write (see "Ids" in the crate docs).
        let id = TaskId(ids::next_id(self.number, || self.dir.claim(ID_BLOCK).get()));
        let task = Arc::new(draft.into_task(id));
        let (chunk, slot) = self
            .dir
            .get_or_create(id)
            .expect("more than 268 million tasks: the hyaline store is full");
        // No guard: publishing into a fresh id's empty slot loads nothing.
        chunk.slots[slot].publish(task.clone());
        self.live.add(1);
        task
    }

    #[inline]
    fn get(&self, id: TaskId) -> Option<Arc<Task>> {
        self.slot(id)?.get(&self.collector.enter())
    }

    #[inline]
    fn get_with<R>(&self, id: TaskId, f: impl FnOnce(&Task) -> R) -> Option<R> {
        let slot = self.slot(id)?;
        let guard = self.collector.enter();
        slot.load(&guard).map(f)
    }

    fn update(&self, id: TaskId, patch: TaskPatch) -> Option<Arc<Task>> {
        let slot = self.slot(id)?;
        slot.update(&self.collector.enter(), |task| task.patched(&patch))
    }

    fn delete(&self, id: TaskId) -> Option<Arc<Task>> {
        let gone = self.slot(id)?.take(&self.collector.enter())?;
        self.live.add(-1);
        Some(gone)
    }

    fn get_all(&self) -> Vec<Arc<Task>> {
        let guard = self.collector.enter();
        let mut out = Vec::with_capacity(self.len());
        for chunk in self.dir.used() {
            out.extend(chunk.slots.iter().filter_map(|s| s.get(&guard)));
        }
        out
    }

    fn len(&self) -> usize {
        self.live.sum()
    }
}

#[cfg(test)]
mod tests;
