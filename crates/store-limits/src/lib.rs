//! The two limits every measurement is read against.
//!
//! - [`UnsyncStore`]: a plain `HashMap` with no synchronization at all. It
//!   is the floor for what any thread-safe store can cost on one thread: the
//!   difference between a store and `unsync` is what its synchronization
//!   costs. It may only be used from one thread, which its `unsafe`
//!   constructor makes the caller promise.
//! - [`UnsyncVecStore`]: a plain vector indexed by id, no synchronization
//!   and no hashing: the floor of a store that indexes by id (`dense`,
//!   `rcu`), one pointer load per lookup. Single-thread, like `unsync`.
//! - [`FloorStore`]: one atomic pointer per id, and no version freed while
//!   the store lives: the least synchronization the API needs, at every
//!   thread count (the multi-thread floor; see [`floor`]).
//! - [`NoopStore`]: stores nothing and finds nothing. Its ns/op is the
//!   harness's own cost per operation (loading the next operation,
//!   dispatching on its kind, checking the result).
//! - [`Delayed`]: another store plus a fixed amount of busy work per
//!   operation: a known slowdown, to measure the smallest slowdown the lab
//!   detects (`scripts/calibrate`).
//!
//! None is a store anyone should deploy.

#[cfg(not(storelab_loom))]
pub mod floor;
#[cfg(not(storelab_loom))]
pub use floor::FloorStore;
#[cfg(storelab_loom)]
mod floor {
    //! Under loom only the slot protocol is built, for its model.
    #[allow(dead_code)]
    pub mod slot;
}

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

/// A vector indexed by id with no synchronization: the single-thread floor
/// of stores that index by id.
pub struct UnsyncVecStore {
    slots: UnsafeCell<Vec<Option<Arc<Task>>>>,
    len: Cell<usize>,
}

// SAFETY: as for `UnsyncStore`: only the `unsafe` constructor makes one, and
// its contract is that calls never overlap.
unsafe impl Sync for UnsyncVecStore {}

impl UnsyncVecStore {
    /// An empty store with room for ids 1..=capacity.
    ///
    /// # Safety
    /// As for [`UnsyncStore::with_capacity`]: never call the store's methods
    /// from two threads at overlapping times.
    pub unsafe fn with_capacity(capacity: usize) -> Self {
        UnsyncVecStore {
            slots: UnsafeCell::new(Vec::with_capacity(capacity)),
            len: Cell::new(0),
        }
    }

    #[allow(clippy::mut_from_ref)]
    #[inline]
    fn slots(&self) -> &mut Vec<Option<Arc<Task>>> {
        // SAFETY: by the constructor's contract calls never overlap, and no
        // method lets the reference outlive its call.
        unsafe { &mut *self.slots.get() }
    }

    #[inline]
    fn slot(&self, id: TaskId) -> Option<&mut Option<Arc<Task>>> {
        let i = usize::try_from(id.get().checked_sub(1)?).ok()?;
        self.slots().get_mut(i)
    }
}

impl TaskStore for UnsyncVecStore {
    const SNAPSHOT: SnapshotGuarantee = SnapshotGuarantee::Atomic;

    fn create(&self, draft: TaskDraft) -> Arc<Task> {
        let slots = self.slots();
        let id = TaskId(slots.len() as u64 + 1);
        let task = Arc::new(draft.into_task(id));
        slots.push(Some(task.clone()));
        self.len.set(self.len.get() + 1);
        task
    }

    #[inline]
    fn get(&self, id: TaskId) -> Option<Arc<Task>> {
        self.slot(id)?.clone()
    }

    #[inline]
    fn get_with<R>(&self, id: TaskId, f: impl FnOnce(&Task) -> R) -> Option<R> {
        self.slot(id)?.as_deref().map(f)
    }

    fn update(&self, id: TaskId, patch: TaskPatch) -> Option<Arc<Task>> {
        let slot = self.slot(id)?;
        let next = Arc::new(slot.as_ref()?.patched(&patch));
        *slot = Some(next.clone());
        Some(next)
    }

    fn delete(&self, id: TaskId) -> Option<Arc<Task>> {
        let gone = self.slot(id)?.take()?;
        self.len.set(self.len.get() - 1);
        Some(gone)
    }

    fn get_all(&self) -> Vec<Arc<Task>> {
        self.slots().iter().flatten().cloned().collect()
    }

    fn len(&self) -> usize {
        self.len.get()
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
