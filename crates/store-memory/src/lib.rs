//! `memory`: the decision log's baseline store, rebuilt faithfully.
//!
//! One `HashMap` behind one `RwLock`, plus a separate `Mutex`-guarded id
//! counter, exactly like the Go `MemoryStore` (`sync.RWMutex` over
//! `map[int]*Task`, `idMutex` over `nextID`). Every reader takes the one read
//! lock, an atomic read-modify-write on one lock word, so readers of
//! different tasks still contend on one cache line.
//!
//! It is also the building block of the `shard` store, which (like the log's
//! first `ShardStore`) uses whole `MemoryStore`s as shards; the inherent
//! `*_at` methods are for that use and take the id the parent assigns.
//!
//! Not an optimized store: it exists to be the baseline the others are
//! measured against.

use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use rustc_hash::FxHashMap;
use task_model::{SnapshotGuarantee, Task, TaskDraft, TaskId, TaskPatch, TaskStore};

/// One map, one lock, one mutex-guarded counter.
pub struct MemoryStore {
    tasks: RwLock<FxHashMap<TaskId, Arc<Task>>>,
    next_id: Mutex<u64>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty store whose map has room for `capacity` tasks.
    pub fn with_capacity(capacity: usize) -> Self {
        MemoryStore {
            tasks: RwLock::new(FxHashMap::with_capacity_and_hasher(
                capacity,
                Default::default(),
            )),
            next_id: Mutex::new(1),
        }
    }

    /// Stores `task` under its own id (the caller assigned it). Used when
    /// this store is a shard of a larger one.
    pub fn insert_at(&self, task: Arc<Task>) {
        self.tasks.write().insert(task.id, task);
    }

    /// Appends every task to `out` under one read lock.
    pub fn collect_into(&self, out: &mut Vec<Arc<Task>>) {
        let tasks = self.tasks.read();
        out.extend(tasks.values().cloned());
    }

    fn take_id(&self) -> TaskId {
        let mut next = self.next_id.lock();
        let id = *next;
        *next += 1;
        TaskId(id)
    }
}

impl TaskStore for MemoryStore {
    /// One lock over the whole map: the snapshot is the map at one instant.
    const SNAPSHOT: SnapshotGuarantee = SnapshotGuarantee::Atomic;

    fn create(&self, draft: TaskDraft) -> Arc<Task> {
        // The Go store takes the id under idMutex, then the map under mu; the
        // same two locks, in the same order, here. Ids are therefore handed
        // out in an order that may differ from insertion order, which is why
        // the Atomic guarantee below is about one map lock, not about ids.
        let id = self.take_id();
        let task = Arc::new(draft.into_task(id));
        self.tasks.write().insert(id, task.clone());
        task
    }

    #[inline]
    fn get(&self, id: TaskId) -> Option<Arc<Task>> {
        self.tasks.read().get(&id).cloned()
    }

    #[inline]
    fn get_with<R>(&self, id: TaskId, f: impl FnOnce(&Task) -> R) -> Option<R> {
        self.tasks.read().get(&id).map(|task| f(task))
    }

    fn update(&self, id: TaskId, patch: TaskPatch) -> Option<Arc<Task>> {
        let mut tasks = self.tasks.write();
        let slot = tasks.get_mut(&id)?;
        let next = Arc::new(slot.patched(&patch));
        *slot = next.clone();
        Some(next)
    }

    fn delete(&self, id: TaskId) -> Option<Arc<Task>> {
        self.tasks.write().remove(&id)
    }

    fn get_all(&self) -> Vec<Arc<Task>> {
        let mut out = Vec::with_capacity(self.len());
        self.collect_into(&mut out);
        out
    }

    fn len(&self) -> usize {
        self.tasks.read().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use task_model::{NewTask, Timestamp};

    #[test]
    fn insert_at_stores_under_the_callers_id() {
        // The shard store assigns ids itself and places each task in the
        // memory store its id routes to, through insert_at.
        let store = MemoryStore::new();
        let task = Arc::new(
            NewTask {
                title: "placed".into(),
                ..Default::default()
            }
            .validate_at(Timestamp(0))
            .expect("valid")
            .into_task(TaskId(42)),
        );
        store.insert_at(task.clone());
        assert_eq!(store.get(TaskId(42)), Some(task));
        assert_eq!(store.len(), 1);
        // The store's own counter is untouched: its next create is id 1.
        let made = store.create(
            NewTask {
                title: "made".into(),
                ..Default::default()
            }
            .validate_at(Timestamp(0))
            .expect("valid"),
        );
        assert_eq!(made.id, TaskId(1));
    }
}
