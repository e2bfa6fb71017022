//! `shard-pool`: the decision log's `ShardStoreGopool` (with `ShardUnit`s,
//! its final form).
//!
//! Point operations are those of [`ShardUnitStore`]. `get_all` is different:
//! it runs on a pool of worker threads, one per core (a power of two, at most
//! one per shard), each pinned to its core with `core_affinity` where the OS
//! allows, and each always handling the same shards: shard `i` belongs to
//! worker `i & worker_mask`, the log's fixed shard-to-core mapping.
//!
//! The pool starts with the store and stops when the store is dropped: drop
//! closes every worker's job channel and joins every worker.

use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};
use crossbeam_utils::CachePadded;
use store_shardunit::{DEFAULT_SHARDS, ShardUnit, ShardUnitStore};
use task_model::{SnapshotGuarantee, Task, TaskDraft, TaskId, TaskPatch, TaskStore};

type Shards = Arc<[CachePadded<ShardUnit>]>;

/// A job for one worker: collect your shards and send them back.
struct Collect {
    reply: Sender<Vec<Arc<Task>>>,
}

/// Sharded units, plus pinned workers that collect them for `get_all`.
pub struct ShardPoolStore {
    inner: ShardUnitStore,
    workers: Vec<Sender<Collect>>,
    handles: Vec<JoinHandle<()>>,
}

impl Default for ShardPoolStore {
    fn default() -> Self {
        Self::new()
    }
}

impl ShardPoolStore {
    /// [`DEFAULT_SHARDS`] units and one worker per core.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// [`DEFAULT_SHARDS`] units pre-sized for `capacity` tasks, one worker
    /// per core.
    pub fn with_capacity(capacity: usize) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::with_config(DEFAULT_SHARDS, capacity, cores)
    }

    /// As [`with_capacity`](Self::with_capacity), with the workers left
    /// where the OS scheduler puts them: the knob that tests the log's claim
    /// that pinning a pool to cores is what makes it fast.
    pub fn unpinned(capacity: usize) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::build(DEFAULT_SHARDS, capacity, cores, false)
    }

    /// `shards` units, `capacity` tasks, and `workers` workers (rounded down
    /// to a power of two, between 1 and the shard count), pinned.
    pub fn with_config(shards: usize, capacity: usize, workers: usize) -> Self {
        Self::build(shards, capacity, workers, true)
    }

    fn build(shards: usize, capacity: usize, workers: usize, pin: bool) -> Self {
        let inner = ShardUnitStore::with_shards_and_capacity(shards, capacity);
        let shard_count = inner.shards().len();
        let workers = prev_power_of_two(workers.clamp(1, shard_count));
        let cores = if pin {
            core_affinity::get_core_ids().unwrap_or_default()
        } else {
            Vec::new()
        };
        let mut senders = Vec::with_capacity(workers);
        let mut handles = Vec::with_capacity(workers);
        for w in 0..workers {
            let (tx, rx) = crossbeam_channel::unbounded();
            let mine: Vec<usize> = (0..shard_count)
                .filter(|i| i & (workers - 1) == w)
                .collect();
            let shards = inner.shards().clone();
            let core = (!cores.is_empty()).then(|| cores[w % cores.len()]);
            let handle = std::thread::Builder::new()
                .name(format!("sl-pool-{w}"))
                .spawn(move || worker(rx, shards, mine, core))
                .expect("the OS refused to start a pool worker thread");
            senders.push(tx);
            handles.push(handle);
        }
        ShardPoolStore {
            inner,
            workers: senders,
            handles,
        }
    }

    /// How many workers the pool runs.
    pub fn worker_count(&self) -> usize {
        self.workers.len()
    }
}

fn prev_power_of_two(n: usize) -> usize {
    1 << (usize::BITS - 1 - n.leading_zeros())
}

fn worker(
    jobs: Receiver<Collect>,
    shards: Shards,
    mine: Vec<usize>,
    core: Option<core_affinity::CoreId>,
) {
    if let Some(core) = core {
        // Pinning is best effort: a container may forbid it, and the store
        // is correct either way.
        core_affinity::set_for_current(core);
    }
    // Ends when the store drops its sender.
    while let Ok(Collect { reply }) = jobs.recv() {
        let len = mine.iter().map(|&i| shards[i].len()).sum();
        let mut out = Vec::with_capacity(len);
        for &i in &mine {
            shards[i].collect_into(&mut out);
        }
        // The caller may have gone (it panicked); nothing to do then.
        let _ = reply.send(out);
    }
}

impl Drop for ShardPoolStore {
    fn drop(&mut self) {
        // Closing the job channels ends every worker's loop.
        self.workers.clear();
        for handle in self.handles.drain(..) {
            // A worker that panicked has nothing left to clean up.
            let _ = handle.join();
        }
    }
}

impl TaskStore for ShardPoolStore {
    /// Workers read their shards one after another, in parallel.
    const SNAPSHOT: SnapshotGuarantee = SnapshotGuarantee::PerTask;

    fn create(&self, draft: TaskDraft) -> Arc<Task> {
        self.inner.create(draft)
    }

    #[inline]
    fn get(&self, id: TaskId) -> Option<Arc<Task>> {
        self.inner.get(id)
    }

    #[inline]
    fn get_with<R>(&self, id: TaskId, f: impl FnOnce(&Task) -> R) -> Option<R> {
        self.inner.get_with(id, f)
    }

    fn update(&self, id: TaskId, patch: TaskPatch) -> Option<Arc<Task>> {
        self.inner.update(id, patch)
    }

    fn delete(&self, id: TaskId) -> Option<Arc<Task>> {
        self.inner.delete(id)
    }

    fn get_all(&self) -> Vec<Arc<Task>> {
        let (tx, rx) = crossbeam_channel::bounded(self.workers.len());
        for worker in &self.workers {
            worker
                .send(Collect { reply: tx.clone() })
                .expect("pool workers live as long as the store");
        }
        drop(tx);
        let parts: Vec<Vec<Arc<Task>>> = rx.iter().collect();
        assert_eq!(parts.len(), self.workers.len(), "a pool worker died");
        let mut out = Vec::with_capacity(parts.iter().map(Vec::len).sum());
        for part in parts {
            out.extend(part);
        }
        out
    }

    fn len(&self) -> usize {
        self.inner.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_count_is_a_power_of_two_within_the_shard_count() {
        assert_eq!(ShardPoolStore::with_config(32, 0, 3).worker_count(), 2);
        assert_eq!(ShardPoolStore::with_config(4, 0, 16).worker_count(), 4);
        assert_eq!(ShardPoolStore::with_config(32, 0, 0).worker_count(), 1);
    }

    #[test]
    fn prev_power_of_two_rounds_down() {
        assert_eq!(
            [1, 2, 3, 4, 7, 8, 9].map(prev_power_of_two),
            [1, 2, 2, 4, 4, 8, 8]
        );
    }
}
