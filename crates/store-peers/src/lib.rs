//! The peers: the best public concurrent maps, each behind [`TaskStore`] in a
//! few lines, so they run on exactly the same work as the log's designs.
//!
//! - [`DashMapStore`]: dashmap 6, `RwLock`-sharded hashbrown maps.
//! - [`PapayaStore`]: papaya, a lock-free map with epoch reclamation (seize).
//! - [`SccStore`]: scc's `HashMap`, per-bucket locks and epoch reclamation.
//!
//! Every peer gets the same hasher as the lab's own stores (FxHash) and the
//! same atomic id counter, so a difference between them is a difference of
//! map design, not of hash function or id generation. Each is otherwise used
//! as its documentation recommends, with default shard counts and modes.
//!
//! Not here: tuning a peer beyond its defaults (that would be a new variant).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_utils::CachePadded;
use rustc_hash::FxBuildHasher;
use task_model::{SnapshotGuarantee, Task, TaskDraft, TaskId, TaskPatch, TaskStore};

/// The id counter every peer shares the design of: one padded atomic.
#[derive(Debug)]
struct IdCounter(CachePadded<AtomicU64>);

impl IdCounter {
    fn new() -> Self {
        IdCounter(CachePadded::new(AtomicU64::new(1)))
    }

    #[inline]
    fn next(&self) -> TaskId {
        // Relaxed: only uniqueness is needed; the map publishes the task.
        TaskId(self.0.fetch_add(1, Ordering::Relaxed))
    }
}

/// dashmap 6 behind the store trait.
pub struct DashMapStore {
    map: dashmap::DashMap<TaskId, Arc<Task>, FxBuildHasher>,
    ids: IdCounter,
}

impl DashMapStore {
    /// An empty store with room for `capacity` tasks and dashmap's default
    /// shard count (4 per core, rounded up to a power of two).
    pub fn with_capacity(capacity: usize) -> Self {
        DashMapStore {
            map: dashmap::DashMap::with_capacity_and_hasher(capacity, FxBuildHasher),
            ids: IdCounter::new(),
        }
    }

    /// An empty store.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// The shard dashmap puts `id` in, and how many shards there are (for the
    /// harness's load-imbalance figure).
    pub fn shard_of(&self, id: TaskId) -> (usize, usize) {
        (self.map.determine_map(&id), self.map.shards().len())
    }
}

impl Default for DashMapStore {
    fn default() -> Self {
        Self::new()
    }
}

impl TaskStore for DashMapStore {
    /// Iteration locks one shard at a time.
    const SNAPSHOT: SnapshotGuarantee = SnapshotGuarantee::PerTask;

    fn create(&self, draft: TaskDraft) -> Arc<Task> {
        let id = self.ids.next();
        let task = Arc::new(draft.into_task(id));
        self.map.insert(id, task.clone());
        task
    }

    #[inline]
    fn get(&self, id: TaskId) -> Option<Arc<Task>> {
        self.map.get(&id).map(|r| r.value().clone())
    }

    #[inline]
    fn get_with<R>(&self, id: TaskId, f: impl FnOnce(&Task) -> R) -> Option<R> {
        self.map.get(&id).map(|r| f(r.value()))
    }

    fn update(&self, id: TaskId, patch: TaskPatch) -> Option<Arc<Task>> {
        let mut slot = self.map.get_mut(&id)?;
        let next = Arc::new(slot.patched(&patch));
        *slot = next.clone();
        Some(next)
    }

    fn delete(&self, id: TaskId) -> Option<Arc<Task>> {
        self.map.remove(&id).map(|(_, task)| task)
    }

    fn get_all(&self) -> Vec<Arc<Task>> {
        let mut out = Vec::with_capacity(self.map.len());
        out.extend(self.map.iter().map(|r| r.value().clone()));
        out
    }

    fn len(&self) -> usize {
        self.map.len()
    }
}

/// papaya behind the store trait: one pin per operation, as a request
/// handler would do.
pub struct PapayaStore {
    map: papaya::HashMap<TaskId, Arc<Task>, FxBuildHasher>,
    ids: IdCounter,
}

impl PapayaStore {
    /// An empty store with room for `capacity` tasks.
    pub fn with_capacity(capacity: usize) -> Self {
        PapayaStore {
            map: papaya::HashMap::with_capacity_and_hasher(capacity, FxBuildHasher),
            ids: IdCounter::new(),
        }
    }

    /// An empty store.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }
}

impl Default for PapayaStore {
    fn default() -> Self {
        Self::new()
    }
}

impl TaskStore for PapayaStore {
    /// Lock-free iteration sees each key at some instant of the walk.
    const SNAPSHOT: SnapshotGuarantee = SnapshotGuarantee::PerTask;

    fn create(&self, draft: TaskDraft) -> Arc<Task> {
        let id = self.ids.next();
        let task = Arc::new(draft.into_task(id));
        self.map.pin().insert(id, task.clone());
        task
    }

    #[inline]
    fn get(&self, id: TaskId) -> Option<Arc<Task>> {
        self.map.pin().get(&id).cloned()
    }

    #[inline]
    fn get_with<R>(&self, id: TaskId, f: impl FnOnce(&Task) -> R) -> Option<R> {
        self.map.pin().get(&id).map(|task| f(task))
    }

    fn update(&self, id: TaskId, patch: TaskPatch) -> Option<Arc<Task>> {
        // papaya's update is a compare-and-swap loop: the closure may run
        // more than once, but exactly one result is installed.
        self.map
            .pin()
            .update(id, |old| Arc::new(old.patched(&patch)))
            .cloned()
    }

    fn delete(&self, id: TaskId) -> Option<Arc<Task>> {
        self.map.pin().remove(&id).cloned()
    }

    fn get_all(&self) -> Vec<Arc<Task>> {
        let map = self.map.pin();
        let mut out = Vec::with_capacity(map.len());
        out.extend(map.values().cloned());
        out
    }

    fn len(&self) -> usize {
        self.map.len()
    }
}

/// scc's `HashMap` behind the store trait.
pub struct SccStore {
    map: scc::HashMap<TaskId, Arc<Task>, FxBuildHasher>,
    ids: IdCounter,
}

impl SccStore {
    /// An empty store with room for `capacity` tasks.
    pub fn with_capacity(capacity: usize) -> Self {
        SccStore {
            map: scc::HashMap::with_capacity_and_hasher(capacity, FxBuildHasher),
            ids: IdCounter::new(),
        }
    }

    /// An empty store.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }
}

impl Default for SccStore {
    fn default() -> Self {
        Self::new()
    }
}

impl TaskStore for SccStore {
    /// Iteration visits one bucket array at a time.
    const SNAPSHOT: SnapshotGuarantee = SnapshotGuarantee::PerTask;

    fn create(&self, draft: TaskDraft) -> Arc<Task> {
        let id = self.ids.next();
        let task = Arc::new(draft.into_task(id));
        // A fresh id cannot be present, so the insert cannot be refused.
        let inserted = self.map.insert_sync(id, task.clone());
        debug_assert!(inserted.is_ok(), "fresh id {id} already present");
        task
    }

    #[inline]
    fn get(&self, id: TaskId) -> Option<Arc<Task>> {
        self.map.read_sync(&id, |_, task| task.clone())
    }

    #[inline]
    fn get_with<R>(&self, id: TaskId, f: impl FnOnce(&Task) -> R) -> Option<R> {
        self.map.read_sync(&id, |_, task| f(task))
    }

    fn update(&self, id: TaskId, patch: TaskPatch) -> Option<Arc<Task>> {
        self.map.update_sync(&id, |_, slot| {
            *slot = Arc::new(slot.patched(&patch));
            slot.clone()
        })
    }

    fn delete(&self, id: TaskId) -> Option<Arc<Task>> {
        self.map.remove_sync(&id).map(|(_, task)| task)
    }

    fn get_all(&self) -> Vec<Arc<Task>> {
        let mut out = Vec::with_capacity(self.map.len());
        self.map.iter_sync(|_, task| {
            out.push(task.clone());
            true
        });
        out
    }

    fn len(&self) -> usize {
        self.map.len()
    }
}
