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

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_utils::CachePadded;
use parking_lot::RwLock;
use rustc_hash::FxHashMap;
use task_model::{SnapshotGuarantee, Task, TaskDraft, TaskId, TaskPatch, TaskStore};

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

/// Cache-padded shard units behind one atomic id counter and `id & mask`
/// routing.
// Kept apart from `store_shard::ShardStore` on purpose (its doc says why:
// a shared generic changed both stores' instruction counts by up to 10%,
// and the log compares exactly these two layouts).
pub struct ShardUnitStore {
    shards: Arc<[CachePadded<ShardUnit>]>,
    mask: u64,
    next_id: CachePadded<AtomicU64>,
}

impl Default for ShardUnitStore {
    fn default() -> Self {
        Self::new()
    }
}

impl ShardUnitStore {
    /// An empty store with [`DEFAULT_SHARDS`] units.
    pub fn new() -> Self {
        Self::with_shards_and_capacity(DEFAULT_SHARDS, 0)
    }

    /// An empty store with [`DEFAULT_SHARDS`] units pre-sized for `capacity`
    /// tasks in all.
    pub fn with_capacity(capacity: usize) -> Self {
        Self::with_shards_and_capacity(DEFAULT_SHARDS, capacity)
    }

    /// `shards` units (rounded up to a power of two), pre-sized for
    /// `capacity` tasks in all.
    pub fn with_shards_and_capacity(shards: usize, capacity: usize) -> Self {
        let shards = shards.max(1).next_power_of_two();
        let per_shard = capacity.div_ceil(shards);
        ShardUnitStore {
            shards: (0..shards)
                .map(|_| CachePadded::new(ShardUnit::with_capacity(per_shard)))
                .collect(),
            mask: shards as u64 - 1,
            next_id: CachePadded::new(AtomicU64::new(1)),
        }
    }

    /// The units, shared: the `shard-pool` store hands them to its workers.
    pub fn shards(&self) -> &Arc<[CachePadded<ShardUnit>]> {
        &self.shards
    }

    /// The unit index of `id`.
    #[inline]
    pub fn shard_of(&self, id: TaskId) -> usize {
        (id.get() & self.mask) as usize
    }

    #[inline]
    fn unit(&self, id: TaskId) -> &ShardUnit {
        &self.shards[self.shard_of(id)]
    }
}

impl TaskStore for ShardUnitStore {
    /// Units are read one after another.
    const SNAPSHOT: SnapshotGuarantee = SnapshotGuarantee::PerTask;

    fn create(&self, draft: TaskDraft) -> Arc<Task> {
        // Relaxed: uniqueness needs only the atomicity of fetch_add; the
        // unit's lock publishes the task itself.
        let id = TaskId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let task = Arc::new(draft.into_task(id));
        self.unit(id).set(id, task.clone());
        task
    }

    #[inline]
    fn get(&self, id: TaskId) -> Option<Arc<Task>> {
        self.unit(id).get(id)
    }

    #[inline]
    fn get_with<R>(&self, id: TaskId, f: impl FnOnce(&Task) -> R) -> Option<R> {
        self.unit(id).get_with(id, f)
    }

    fn update(&self, id: TaskId, patch: TaskPatch) -> Option<Arc<Task>> {
        self.unit(id).update_with(id, |old| old.patched(&patch))
    }

    fn delete(&self, id: TaskId) -> Option<Arc<Task>> {
        self.unit(id).remove(id)
    }

    fn get_all(&self) -> Vec<Arc<Task>> {
        let mut out = Vec::with_capacity(self.len());
        for unit in self.shards.iter() {
            unit.collect_into(&mut out);
        }
        out
    }

    fn len(&self) -> usize {
        self.shards.iter().map(|u| u.len()).sum()
    }
}

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
