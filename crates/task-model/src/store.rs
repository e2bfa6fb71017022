//! The store contract.
//!
//! [`TaskStore`] is deliberately small: six infallible primitives over
//! validated input, all taking `&self`, so any concurrent map can adopt it in
//! a few lines (much like bustle's `Collection`). The harness calls it through
//! generics, `fn run<S: TaskStore>(store: &S, ..)`, so every timed loop is
//! monomorphized per store and no call goes through a vtable.
//!
//! # Why `Arc<Task>`
//! The Go store this lab replays returns `*Task`: a shared pointer, not a
//! copy. `Arc<Task>` is the Rust equivalent: a reader gets the task without
//! copying its strings, the task outlives the lock it was read under, and a
//! writer replaces the `Arc` in the map instead of mutating a task a reader
//! may be holding (tasks are immutable once stored, so no reader ever sees a
//! half-written task). The cost is one atomic increment and one decrement per
//! read on the task's reference count; the lab measures that cost (see the
//! `unsync` floor) rather than hiding it. Stores that can lend a task without
//! touching its count override [`TaskStore::get_with`].
//!
//! # Concurrency
//! Every method is linearizable on its own id: `create` returns a task that a
//! `get` which starts after it returns will see; `update` is an atomic
//! read-modify-write (two concurrent patches never lose each other's fields);
//! a `get` sees either the version before or after a concurrent `update`,
//! never a mix. `get_all` is weaker; see [`SnapshotGuarantee`].

use std::sync::Arc;

use thiserror::Error;

use crate::snapshot::Snapshot;
use crate::task::{NewTask, Task, TaskDraft, TaskId, TaskPatch, TaskUpdate};
use crate::validate::ValidationError;

/// What `get_all` promises while other threads write.
///
/// Every store promises at least [`SnapshotGuarantee::PerTask`]; the
/// conformance suite checks the level a store claims.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotGuarantee {
    /// Each task that exists for the whole call is returned exactly once, in
    /// a version that was stored at some instant during the call; no id is
    /// returned twice; no task that was never stored is returned. Tasks
    /// created or deleted during the call may or may not appear, independently
    /// of each other (a sharded store visits one shard at a time).
    PerTask,
    /// As `PerTask`, and in addition the result is the store's exact contents
    /// at one instant (a single lock, or a single owner thread).
    Atomic,
}

/// A concurrent store of tasks, the contract every storelab store implements.
///
/// Implementations assign ids from a counter starting at 1; ids are never
/// reused, even after a delete.
pub trait TaskStore: Send + Sync {
    /// What `get_all` promises under concurrent writes.
    const SNAPSHOT: SnapshotGuarantee;

    /// Stores a new task under a fresh id and returns it.
    fn create(&self, draft: TaskDraft) -> Arc<Task>;

    /// The current version of task `id`, if it exists.
    fn get(&self, id: TaskId) -> Option<Arc<Task>>;

    /// Replaces task `id` with `task.patched(&patch)`, atomically, and
    /// returns the new version; `None` if there is no such task.
    fn update(&self, id: TaskId, patch: TaskPatch) -> Option<Arc<Task>>;

    /// Removes task `id` and returns its last version; `None` if absent.
    fn delete(&self, id: TaskId) -> Option<Arc<Task>>;

    /// Every stored task, in no particular order (see [`SnapshotGuarantee`]).
    fn get_all(&self) -> Vec<Arc<Task>>;

    /// Every stored task as an immutable [`Snapshot`], with the same
    /// guarantee as [`get_all`](Self::get_all). The default wraps
    /// `get_all`; a store that can share its memory copy-on-write overrides
    /// it so a snapshot costs one reference count per run of tasks, not one
    /// per task.
    fn snapshot(&self) -> Snapshot {
        Snapshot::from_tasks(self.get_all())
    }

    /// How many tasks are stored. Under concurrent writes this is a value
    /// the count had at some instant during the call (or, for a sharded
    /// store, a sum of per-shard counts read one after another).
    fn len(&self) -> usize;

    /// Whether the store holds no task.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls `f` on the current version of task `id` and returns its result.
    ///
    /// The default clones the `Arc` through [`get`](Self::get). A store
    /// whose readers can borrow a task in place (under a lock guard or an
    /// epoch) overrides it so reading does not touch the task's reference
    /// count. `f` must be short: it may run while a lock is held.
    #[inline]
    fn get_with<R>(&self, id: TaskId, f: impl FnOnce(&Task) -> R) -> Option<R> {
        self.get(id).map(|task| f(&task))
    }
}

/// Why a request-level operation failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StoreError {
    #[error("task {0} not found")]
    NotFound(TaskId),
    #[error("invalid input: {0}")]
    Invalid(#[from] ValidationError),
}

/// The fallible, request-level API an HTTP handler uses: validation and
/// not-found handling on top of any [`TaskStore`]. Implemented for every
/// store; nothing to write.
pub trait TaskApi: TaskStore {
    /// Validates `new` and stores it.
    fn create_task(&self, new: &NewTask) -> Result<Arc<Task>, StoreError> {
        Ok(self.create(new.validate()?))
    }

    /// Task `id`, or `NotFound`.
    fn get_task(&self, id: TaskId) -> Result<Arc<Task>, StoreError> {
        self.get(id).ok_or(StoreError::NotFound(id))
    }

    /// Validates `update` and applies it to task `id`.
    fn update_task(&self, id: TaskId, update: &TaskUpdate) -> Result<Arc<Task>, StoreError> {
        let patch = update.validate()?;
        self.update(id, patch).ok_or(StoreError::NotFound(id))
    }

    /// Deletes task `id`, or says it was not there.
    fn delete_task(&self, id: TaskId) -> Result<Arc<Task>, StoreError> {
        self.delete(id).ok_or(StoreError::NotFound(id))
    }
}

impl<S: TaskStore + ?Sized> TaskApi for S {}
