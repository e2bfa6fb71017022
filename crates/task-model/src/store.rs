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
//!
//! # A store outside the process
//! The six primitives cannot fail: an in-process map always answers. A
//! store that lives in another process (Redis) can be unreachable. It
//! implements the `try_` methods for real and says so in [`Unreachable`];
//! their defaults wrap the primitives in `Ok`, inlined, so an in-process
//! store pays no instruction for them (the gate's counts drive the
//! primitives and did not change). Such a store's primitives, which the
//! timed loop calls, record the first failure and return an empty answer
//! (or a placeholder task with id 0 from `create`); [`TaskStore::fault`]
//! then reports it, and the engine's audit after every cell refuses a
//! store with a fault, so no figure is ever computed from failed calls.

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

/// How a store hands out ids: what the id a `create` returns promises.
///
/// Under either policy ids start at 1, no two creates get the same id, and
/// an id is never handed out again, even after its task is deleted. The
/// conformance suite checks the policy a store declares
/// ([`TaskStore::IDS`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IdPolicy {
    /// Ids from one counter: 1, 2, 3, ... After `n` creates the ids handed
    /// out are exactly `1..=n`, with no gap; a create that starts after
    /// another has returned gets a higher id (so one thread's ids increase).
    #[default]
    Dense,
    /// Ids from per-thread blocks of `size` consecutive ids, with gaps.
    ///
    /// The store cuts ids into blocks, `(k - 1) * size + 1 ..= k * size`,
    /// and claims them from one counter in order (block 1 first). A thread
    /// draws its ids from the block it holds, in order, and claims the next
    /// unclaimed block when it has used its block up (or holds none yet).
    /// So:
    /// - ids start at 1, are unique and never reused, and strictly increase
    ///   within one thread;
    /// - **gaps**: the ids left in a block that its thread stops drawing on
    ///   (the thread stops creating on the store, or the store makes it give
    ///   its block up; the store's documentation says when) are never handed
    ///   out: at most `size - 1` ids per block given up. Every id handed out
    ///   is at most `size` times the blocks claimed, which is at most the
    ///   sum over creating threads of `ceil(creates / size)` plus one block
    ///   per block given up;
    /// - a thread that creates alone on a store and gives no block up gets
    ///   1, 2, 3, ... as from a counter;
    /// - ids are not ordered across threads: a create that starts after
    ///   another has returned may get a lower id (its thread still draws on
    ///   an older block).
    ///
    /// A gap is an id no task ever had: `get`, `update` and `delete` of it
    /// find nothing, `len` counts tasks (not ids) and so does not see gaps,
    /// and `get_all` never lists one.
    Blocks {
        /// Ids per block; at least 1 (1 is a counter, without the
        /// cross-thread order).
        size: u64,
    },
}

/// A concurrent store of tasks, the contract every storelab store implements.
///
/// Ids start at 1 and are never reused, even after a delete; by default
/// (`IDS = IdPolicy::Dense`) they come from one counter, 1, 2, 3, ... A
/// store that hands ids out in per-thread blocks declares
/// [`IdPolicy::Blocks`] and has gaps (see there).
pub trait TaskStore: Send + Sync {
    /// What `get_all` promises under concurrent writes.
    const SNAPSHOT: SnapshotGuarantee;

    /// How `create` hands out ids (see [`IdPolicy`]): from one counter,
    /// unless a store overrides it. A constant, so declaring it costs no
    /// instruction on any path.
    const IDS: IdPolicy = IdPolicy::Dense;

    /// Stores a new task under a fresh id (see [`IDS`](Self::IDS)) and
    /// returns it.
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

    /// [`create`](Self::create), or why the store could not be reached.
    #[inline]
    fn try_create(&self, draft: TaskDraft) -> Result<Arc<Task>, Unreachable> {
        Ok(self.create(draft))
    }

    /// [`get`](Self::get), or why the store could not be reached.
    #[inline]
    fn try_get(&self, id: TaskId) -> Result<Option<Arc<Task>>, Unreachable> {
        Ok(self.get(id))
    }

    /// [`update`](Self::update), or why the store could not be reached.
    #[inline]
    fn try_update(&self, id: TaskId, patch: TaskPatch) -> Result<Option<Arc<Task>>, Unreachable> {
        Ok(self.update(id, patch))
    }

    /// [`delete`](Self::delete), or why the store could not be reached.
    #[inline]
    fn try_delete(&self, id: TaskId) -> Result<Option<Arc<Task>>, Unreachable> {
        Ok(self.delete(id))
    }

    /// [`get_all`](Self::get_all), or why the store could not be reached.
    #[inline]
    fn try_get_all(&self) -> Result<Vec<Arc<Task>>, Unreachable> {
        Ok(self.get_all())
    }

    /// [`len`](Self::len), or why the store could not be reached.
    #[inline]
    fn try_len(&self) -> Result<usize, Unreachable> {
        Ok(self.len())
    }

    /// The first failure a primitive met and could not report (a store
    /// outside the process that was unreachable), if any. An in-process
    /// store never has one. The engine checks it after every cell.
    #[inline]
    fn fault(&self) -> Option<Unreachable> {
        None
    }
}

/// A store that lives outside the process could not be reached: the
/// connection was refused, broke or timed out, or the server answered with
/// an error. Says which server and what happened.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("the store is unreachable: {0}")]
pub struct Unreachable(pub Arc<str>);

impl Unreachable {
    /// A failure with this description.
    pub fn new(reason: impl Into<Arc<str>>) -> Self {
        Unreachable(reason.into())
    }
}

/// Why a request-level operation failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StoreError {
    #[error("task {0} not found")]
    NotFound(TaskId),
    #[error("invalid input: {0}")]
    Invalid(#[from] ValidationError),
    /// The store lives outside the process and could not be reached; the
    /// request may succeed later (HTTP 503 with `Retry-After`).
    #[error(transparent)]
    Unavailable(#[from] Unreachable),
}

/// The fallible, request-level API an HTTP handler uses: validation and
/// not-found handling on top of any [`TaskStore`]. Implemented for every
/// store; nothing to write.
pub trait TaskApi: TaskStore {
    /// Validates `new` and stores it.
    fn create_task(&self, new: &NewTask) -> Result<Arc<Task>, StoreError> {
        Ok(self.try_create(new.validate()?)?)
    }

    /// Task `id`, or `NotFound`.
    fn get_task(&self, id: TaskId) -> Result<Arc<Task>, StoreError> {
        self.try_get(id)?.ok_or(StoreError::NotFound(id))
    }

    /// Validates `update` and applies it to task `id`.
    fn update_task(&self, id: TaskId, update: &TaskUpdate) -> Result<Arc<Task>, StoreError> {
        let patch = update.validate()?;
        self.try_update(id, patch)?.ok_or(StoreError::NotFound(id))
    }

    /// Deletes task `id`, or says it was not there.
    fn delete_task(&self, id: TaskId) -> Result<Arc<Task>, StoreError> {
        self.try_delete(id)?.ok_or(StoreError::NotFound(id))
    }

    /// Every task (see [`TaskStore::get_all`]), or `Unavailable`.
    fn all_tasks(&self) -> Result<Vec<Arc<Task>>, StoreError> {
        Ok(self.try_get_all()?)
    }

    /// How many tasks are stored, or `Unavailable`.
    fn count_tasks(&self) -> Result<usize, StoreError> {
        Ok(self.try_len()?)
    }
}

impl<S: TaskStore + ?Sized> TaskApi for S {}
