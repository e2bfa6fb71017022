//! `shard`: the decision log's first `ShardStore`, rebuilt faithfully.
//!
//! - A power-of-2 number of shards, the shard of task `id` being
//!   `id & mask` (the log's bitwise-AND instead of modulo).
//! - Each shard is a whole [`MemoryStore`], as in the log before `ShardUnit`:
//!   it carries its own unused id mutex. The parent assigns ids.
//! - Ids come from one atomic counter (the log's `atomic.AddInt64`).
//! - Shard maps are pre-sized from a capacity hint.
//! - Each shard sits in its own cache line
//!   ([`CachePadded`](crossbeam_utils::CachePadded)), so two threads locking
//!   neighbouring shards do not bounce one line between cores.
//!
//! The parent (the id counter, the routing, the padded shards) is
//! `shardunit`'s [`Sharded`], the same code that store runs: the log changed
//! the shards, not the parent. This crate is the shard, [`MemoryShard`], so
//! what separates `shard` from `shardunit` in a table is the shard alone.
//!
//! # Default shard count
//! [`DEFAULT_SHARDS`] is 32, the log's figure: the lab replays the log, and
//! 32 is more than 4 shards per core on every machine the log or this lab
//! used, so collisions of two threads on one shard stay rare. Ids are dense,
//! so `id & mask` spreads tasks evenly over the shards; under a Zipf workload
//! the *load* is not even (the hottest ids fall in whichever shards hold
//! them), which the harness reports as shard imbalance.

use std::sync::Arc;

use store_memory::MemoryStore;
use task_model::{Task, TaskId, TaskPatch, TaskStore};

pub use store_shardunit::{DEFAULT_SHARDS, Shard, Sharded};

/// Shards of whole memory stores, routed by `id & mask`.
pub type ShardStore = Sharded<MemoryShard>;

/// A whole [`MemoryStore`] as a shard, as in the log before `ShardUnit`:
/// every call goes through the store's own API, and the store carries the
/// id mutex it never uses (the parent assigns ids). That is the difference
/// `shard` measures against `shardunit`, so these calls are not shared.
pub struct MemoryShard(MemoryStore);

impl Shard for MemoryShard {
    fn with_capacity(capacity: usize) -> Self {
        MemoryShard(MemoryStore::with_capacity(capacity))
    }

    fn set(&self, _id: TaskId, task: Arc<Task>) {
        // The task carries the id the parent assigned.
        self.0.insert_at(task);
    }

    #[inline]
    fn get(&self, id: TaskId) -> Option<Arc<Task>> {
        self.0.get(id)
    }

    #[inline]
    fn get_with<R>(&self, id: TaskId, f: impl FnOnce(&Task) -> R) -> Option<R> {
        self.0.get_with(id, f)
    }

    fn update(&self, id: TaskId, patch: TaskPatch) -> Option<Arc<Task>> {
        self.0.update(id, patch)
    }

    fn remove(&self, id: TaskId) -> Option<Arc<Task>> {
        self.0.delete(id)
    }

    fn collect_into(&self, out: &mut Vec<Arc<Task>>) {
        self.0.collect_into(out);
    }

    fn count(&self) -> usize {
        self.0.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_figures_hold() {
        let store = ShardStore::new();
        assert_eq!(store.shard_count(), DEFAULT_SHARDS);
        assert_eq!(DEFAULT_SHARDS, 32, "the log's shard count");
        assert_eq!(store.shard_of(TaskId(33)), 1, "id & 31");
    }

    #[test]
    fn a_memory_shard_goes_through_the_whole_store() {
        let shard = MemoryShard::with_capacity(4);
        let task = Arc::new(store_conformance::draft("t").into_task(TaskId(77)));
        shard.set(TaskId(77), task.clone());
        assert_eq!(shard.get(TaskId(77)), Some(task));
        assert_eq!(shard.get_with(TaskId(77), |t| t.id), Some(TaskId(77)));
        let patch = TaskPatch::set_completed(true, task_model::Timestamp(1));
        let next = shard.update(TaskId(77), patch).expect("present");
        assert!(next.completed);
        let mut all = Vec::new();
        shard.collect_into(&mut all);
        assert_eq!((all.len(), shard.count()), (1, 1));
        assert_eq!(shard.remove(TaskId(77)), Some(next));
        assert_eq!(shard.count(), 0);
        assert!(shard.get(TaskId(77)).is_none());
    }
}
