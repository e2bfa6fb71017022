//! A store of your own, benchmarked by storelab from its own crate.
//!
//! [`BTreeStore`] is deliberately plain: one `std::sync::Mutex` around a
//! `BTreeMap`, ids from an atomic counter. It is not in the lab's catalog;
//! `tests/conformance.rs` runs the shared suite on it, and
//! `benches/lab.rs` runs the lab's workload on it beside the peers and the
//! floors: `cargo bench -p bring-your-own-store`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use task_model::{SnapshotGuarantee, Task, TaskDraft, TaskId, TaskPatch, TaskStore};

/// One mutex, one ordered map: every operation serializes.
#[derive(Default)]
pub struct BTreeStore {
    map: Mutex<BTreeMap<TaskId, Arc<Task>>>,
    next: AtomicU64,
}

impl BTreeStore {
    pub fn new() -> BTreeStore {
        BTreeStore::default()
    }

    /// A B-tree has nothing to pre-size; the capacity is ignored.
    pub fn with_capacity(_capacity: usize) -> BTreeStore {
        BTreeStore::default()
    }

    fn map(&self) -> MutexGuard<'_, BTreeMap<TaskId, Arc<Task>>> {
        // A panic while holding the lock leaves the map consistent (every
        // change is one insert or remove), so a poisoned lock is still usable.
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl TaskStore for BTreeStore {
    // get_all copies the map under the one lock: a point-in-time view.
    const SNAPSHOT: SnapshotGuarantee = SnapshotGuarantee::Atomic;

    fn create(&self, draft: TaskDraft) -> Arc<Task> {
        let mut map = self.map();
        // Relaxed is enough: the lock orders the insert; the counter only
        // has to hand out each id once, and fetch_add does.
        let id = TaskId(self.next.fetch_add(1, Ordering::Relaxed) + 1);
        let task = Arc::new(draft.into_task(id));
        map.insert(id, Arc::clone(&task));
        task
    }

    fn get(&self, id: TaskId) -> Option<Arc<Task>> {
        self.map().get(&id).cloned()
    }

    fn update(&self, id: TaskId, patch: TaskPatch) -> Option<Arc<Task>> {
        let mut map = self.map();
        let slot = map.get_mut(&id)?;
        let next = Arc::new(slot.patched(&patch));
        *slot = Arc::clone(&next);
        Some(next)
    }

    fn delete(&self, id: TaskId) -> Option<Arc<Task>> {
        self.map().remove(&id)
    }

    fn get_all(&self) -> Vec<Arc<Task>> {
        self.map().values().cloned().collect()
    }

    fn len(&self) -> usize {
        self.map().len()
    }
}
