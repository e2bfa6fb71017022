//! The two limits every measurement is read against.
//!
//! - [`UnsyncStore`]: a plain `HashMap` with no synchronization at all. It
//!   is the floor for what any thread-safe store can cost on one thread: the
//!   difference between a store and `unsync` is what its synchronization
//!   costs. It may only be used from one thread, which its `unsafe`
//!   constructor makes the caller promise.
//! - [`NoopStore`]: stores nothing and finds nothing. Its ns/op is the
//!   harness's own cost per operation (loading the next operation,
//!   dispatching on its kind, checking the result).
//! - [`Delayed`]: another store plus a fixed amount of busy work per
//!   operation: a known slowdown, to measure the smallest slowdown the lab
//!   detects (`scripts/calibrate`).
//!
//! None is a store anyone should deploy.

use std::cell::{Cell, UnsafeCell};
use std::sync::Arc;

use rustc_hash::FxHashMap;
use task_model::{
    NewTask, SnapshotGuarantee, Task, TaskDraft, TaskId, TaskPatch, TaskStore, Timestamp,
};

/// A map with no synchronization: the single-thread floor.
pub struct UnsyncStore {
    tasks: UnsafeCell<FxHashMap<TaskId, Arc<Task>>>,
    next_id: Cell<u64>,
}

// SAFETY: `UnsyncStore` is only ever constructed through its `unsafe`
// constructors, whose contract is that the store is used by one thread at a
// time (never two calls overlapping). Under that contract no two `&mut` to
// the map or the counter exist at once, which is all `Sync` needs to mean
// here. The trait requires `Sync` because stores are shared by reference
// with the harness's worker threads; the harness runs `unsync` on exactly one.
unsafe impl Sync for UnsyncStore {}

impl UnsyncStore {
    /// An empty store with room for `capacity` tasks.
    ///
    /// # Safety
    /// The caller must never call the store's methods from two threads at
    /// overlapping times. (Moving it, or sharing it with threads that do not
    /// call it, is fine.)
    pub unsafe fn with_capacity(capacity: usize) -> Self {
        UnsyncStore {
            tasks: UnsafeCell::new(FxHashMap::with_capacity_and_hasher(
                capacity,
                Default::default(),
            )),
            next_id: Cell::new(1),
        }
    }

    /// An empty store.
    ///
    /// # Safety
    /// As for [`UnsyncStore::with_capacity`].
    pub unsafe fn new() -> Self {
        // SAFETY: the caller takes on the same contract.
        unsafe { Self::with_capacity(0) }
    }

    #[allow(clippy::mut_from_ref)]
    #[inline]
    fn tasks(&self) -> &mut FxHashMap<TaskId, Arc<Task>> {
        // SAFETY: by the constructor's contract, calls never overlap, and no
        // method lets the returned reference outlive its call, so this is the
        // only reference to the map while it lives.
        unsafe { &mut *self.tasks.get() }
    }
}

impl TaskStore for UnsyncStore {
    const SNAPSHOT: SnapshotGuarantee = SnapshotGuarantee::Atomic;

    fn create(&self, draft: TaskDraft) -> Arc<Task> {
        let id = TaskId(self.next_id.get());
        self.next_id.set(id.get() + 1);
        let task = Arc::new(draft.into_task(id));
        self.tasks().insert(id, task.clone());
        task
    }

    #[inline]
    fn get(&self, id: TaskId) -> Option<Arc<Task>> {
        self.tasks().get(&id).cloned()
    }

    #[inline]
    fn get_with<R>(&self, id: TaskId, f: impl FnOnce(&Task) -> R) -> Option<R> {
        self.tasks().get(&id).map(|task| f(task))
    }

    fn update(&self, id: TaskId, patch: TaskPatch) -> Option<Arc<Task>> {
        let slot = self.tasks().get_mut(&id)?;
        *slot = Arc::new(slot.patched(&patch));
        Some(slot.clone())
    }

    fn delete(&self, id: TaskId) -> Option<Arc<Task>> {
        self.tasks().remove(&id)
    }

    fn get_all(&self) -> Vec<Arc<Task>> {
        self.tasks().values().cloned().collect()
    }

    fn len(&self) -> usize {
        self.tasks().len()
    }
}

/// A store that does nothing: the harness's own cost per operation.
///
/// `get`, `update` and `delete` find nothing; `create` returns one task per
/// thread, reused (cloning a thread's own `Arc` is an uncontended increment),
/// so it neither allocates nor contends. The harness knows this store misses.
#[derive(Default)]
pub struct NoopStore;

impl NoopStore {
    /// A no-op store; capacity is ignored.
    pub fn with_capacity(_capacity: usize) -> Self {
        NoopStore
    }
}

thread_local! {
    static NOOP_TASK: Arc<Task> = Arc::new(
        NewTask { title: "noop".into(), ..Default::default() }
            .validate_at(Timestamp(0))
            .expect("a constant valid title")
            .into_task(TaskId(0)),
    );
}

impl TaskStore for NoopStore {
    const SNAPSHOT: SnapshotGuarantee = SnapshotGuarantee::Atomic;

    #[inline]
    fn create(&self, draft: TaskDraft) -> Arc<Task> {
        drop(draft);
        NOOP_TASK.with(Arc::clone)
    }

    #[inline]
    fn get(&self, _id: TaskId) -> Option<Arc<Task>> {
        None
    }

    #[inline]
    fn update(&self, _id: TaskId, _patch: TaskPatch) -> Option<Arc<Task>> {
        None
    }

    #[inline]
    fn delete(&self, _id: TaskId) -> Option<Arc<Task>> {
        None
    }

    fn get_all(&self) -> Vec<Arc<Task>> {
        Vec::new()
    }

    fn len(&self) -> usize {
        0
    }
}

/// `S` with `SPIN` iterations of busy work added to every operation: a
/// store made slower on purpose by a fixed, small amount, to calibrate what
/// the lab can detect. The work is plain arithmetic through `black_box` (no
/// `pause`, which traps to the hypervisor on this VM, no sleep, no system
/// call), so it costs the same on every call and touches no shared memory.
/// What it costs in ns is not assumed: the calibration measures it.
pub struct Delayed<S, const SPIN: u32> {
    inner: S,
}

impl<S, const SPIN: u32> Delayed<S, SPIN> {
    pub fn new(inner: S) -> Self {
        Delayed { inner }
    }

    #[inline(always)]
    fn spin() {
        let mut x = 0u32;
        for i in 0..SPIN {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        std::hint::black_box(x);
    }
}

impl<S: TaskStore, const SPIN: u32> TaskStore for Delayed<S, SPIN> {
    const SNAPSHOT: SnapshotGuarantee = S::SNAPSHOT;

    fn create(&self, draft: TaskDraft) -> Arc<Task> {
        Self::spin();
        self.inner.create(draft)
    }

    fn get(&self, id: TaskId) -> Option<Arc<Task>> {
        Self::spin();
        self.inner.get(id)
    }

    fn update(&self, id: TaskId, patch: TaskPatch) -> Option<Arc<Task>> {
        Self::spin();
        self.inner.update(id, patch)
    }

    fn delete(&self, id: TaskId) -> Option<Arc<Task>> {
        Self::spin();
        self.inner.delete(id)
    }

    fn get_all(&self) -> Vec<Arc<Task>> {
        Self::spin();
        self.inner.get_all()
    }

    fn len(&self) -> usize {
        self.inner.len()
    }

    fn snapshot(&self) -> task_model::Snapshot {
        Self::spin();
        self.inner.snapshot()
    }

    fn get_with<R>(&self, id: TaskId, f: impl FnOnce(&Task) -> R) -> Option<R> {
        Self::spin();
        self.inner.get_with(id, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noop_finds_nothing_and_holds_nothing() {
        let store = NoopStore;
        let draft = store_conformance_draft();
        let made = store.create(draft);
        assert!(store.get(made.id).is_none());
        assert!(store.get_all().is_empty());
        assert_eq!(store.len(), 0);
    }

    fn store_conformance_draft() -> TaskDraft {
        NewTask {
            title: "x".into(),
            ..Default::default()
        }
        .validate_at(Timestamp(0))
        .expect("valid")
    }
}
