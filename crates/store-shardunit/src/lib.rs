//! `shardunit`: the decision log's `ShardUnit`: shards as lean units.
//!
//! A [`ShardUnit`] is a map and a lock, nothing else, with an id-agnostic
//! API (`get`, `set`, `update_with`, `remove`): it does not know how ids are
//! made or routed. [`ShardUnitStore`] is the parent that does: one atomic id
//! counter and `id & mask` routing over cache-padded units.
//!
//! The difference from `shard` is exactly the log's Phase 3: no per-shard id
//! mutex and counter, no store API between the parent and the map. The
//! `shard-pool` store reuses these units.
//!
//! The parent is the same in both designs (the log changed the shards, not
//! the routing), so it is one piece of code, [`Sharded`], generic over the
//! shard: this store is `Sharded<ShardUnit>`, `shard` is `Sharded` over whole
//! `MemoryStore`s. What the two measure apart is the [`Shard`]
//! implementation alone.

mod sharded;

use std::sync::Arc;

use parking_lot::RwLock;
use rustc_hash::FxHashMap;
use task_model::{Task, TaskId, TaskPatch};

pub use sharded::{Shard, Sharded};

/// The log's shard count; see `store-shard` for why.
pub const DEFAULT_SHARDS: usize = 32;

/// One shard: a map and its lock.
#[derive(Default)]
pub struct ShardUnit {
    tasks: RwLock<FxHashMap<TaskId, Arc<Task>>>,
}

impl ShardUnit {
    /// An empty unit with room for `capacity` tasks.
    pub fn with_capacity(capacity: usize) -> Self {
        ShardUnit {
            tasks: RwLock::new(FxHashMap::with_capacity_and_hasher(
                capacity,
                Default::default(),
            )),
        }
    }

    /// The task stored under `id`.
    #[inline]
    pub fn get(&self, id: TaskId) -> Option<Arc<Task>> {
        self.tasks.read().get(&id).cloned()
    }

    /// Calls `f` on the task under `id` while holding the read lock.
    #[inline]
    pub fn get_with<R>(&self, id: TaskId, f: impl FnOnce(&Task) -> R) -> Option<R> {
        self.tasks.read().get(&id).map(|task| f(task))
    }

    /// Stores `task` under `id`, replacing any previous one.
    #[inline]
    pub fn set(&self, id: TaskId, task: Arc<Task>) {
        self.tasks.write().insert(id, task);
    }

    /// Replaces the task under `id` with `f(old)` under the write lock.
    #[inline]
    pub fn update_with(&self, id: TaskId, f: impl FnOnce(&Task) -> Task) -> Option<Arc<Task>> {
        let mut tasks = self.tasks.write();
        let slot = tasks.get_mut(&id)?;
        let next = Arc::new(f(slot));
        *slot = next.clone();
        Some(next)
    }

    /// Removes the task under `id`.
    #[inline]
    pub fn remove(&self, id: TaskId) -> Option<Arc<Task>> {
        self.tasks.write().remove(&id)
    }

    /// Appends every task to `out` under one read lock.
    pub fn collect_into(&self, out: &mut Vec<Arc<Task>>) {
        out.extend(self.tasks.read().values().cloned());
    }

    /// Calls `f` on every stored `Arc` under one read lock, cloning nothing.
    pub fn for_each_arc(&self, mut f: impl FnMut(&Arc<Task>)) {
        for task in self.tasks.read().values() {
            f(task);
        }
    }

    /// How many tasks the unit holds.
    pub fn len(&self) -> usize {
        self.tasks.read().len()
    }

    /// Whether the unit is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The lean design: each call goes straight to the unit's map under its
/// lock (where `shard`'s goes through a whole store's API).
impl Shard for ShardUnit {
    fn with_capacity(capacity: usize) -> Self {
        ShardUnit::with_capacity(capacity)
    }

    #[inline]
    fn set(&self, id: TaskId, task: Arc<Task>) {
        ShardUnit::set(self, id, task);
    }

    #[inline]
    fn get(&self, id: TaskId) -> Option<Arc<Task>> {
        ShardUnit::get(self, id)
    }

    #[inline]
    fn get_with<R>(&self, id: TaskId, f: impl FnOnce(&Task) -> R) -> Option<R> {
        ShardUnit::get_with(self, id, f)
    }

    fn update(&self, id: TaskId, patch: TaskPatch) -> Option<Arc<Task>> {
        self.update_with(id, |old| old.patched(&patch))
    }

    fn remove(&self, id: TaskId) -> Option<Arc<Task>> {
        ShardUnit::remove(self, id)
    }

    fn collect_into(&self, out: &mut Vec<Arc<Task>>) {
        ShardUnit::collect_into(self, out);
    }

    fn count(&self) -> usize {
        self.len()
    }
}

/// Cache-padded shard units behind one atomic id counter and `id & mask`
/// routing.
pub type ShardUnitStore = Sharded<ShardUnit>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_is_id_agnostic() {
        let unit = ShardUnit::default();
        let task = Arc::new(
            task_model::NewTask {
                title: "t".into(),
                ..Default::default()
            }
            .validate_at(task_model::Timestamp(0))
            .expect("valid")
            .into_task(TaskId(77)),
        );
        // The unit stores whatever id the parent routes to it.
        unit.set(TaskId(77), task.clone());
        assert_eq!(unit.get(TaskId(77)), Some(task));
        assert_eq!(unit.len(), 1);
        assert!(!unit.is_empty(), "a unit holding a task is not empty");
        let mut walked = Vec::new();
        unit.for_each_arc(|t| walked.push(t.id));
        assert_eq!(walked, [TaskId(77)], "the walk visits what the unit holds");
        assert!(unit.remove(TaskId(77)).is_some());
        assert!(unit.is_empty());
    }

    #[test]
    fn ids_route_by_their_low_bits() {
        let store = ShardUnitStore::with_shards_and_capacity(8, 0);
        assert_eq!(store.shards().len(), 8);
        for (id, shard) in [(1, 1), (2, 2), (7, 7), (8, 0), (9, 1), (15, 7)] {
            assert_eq!(store.shard_of(TaskId(id)), shard, "id {id}");
        }
        // 5 shards round up to 8: the mask stays a power of two minus one.
        let rounded = ShardUnitStore::with_shards_and_capacity(5, 0);
        assert_eq!(rounded.shards().len(), 8);
        assert_eq!(rounded.shard_of(TaskId(13)), 5);
    }
}
