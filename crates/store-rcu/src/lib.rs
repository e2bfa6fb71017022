//! `rcu`: read-copy-update slots indexed by id, for hot-key reads that
//! scale. The layout is `dense`'s (task `id` lives in slot `(id - 1) % 4096`
//! of chunk `(id - 1) / 4096`); what changes is how a slot is read.
//!
//! - **Reads write no shared memory.** `dense` takes its chunk's read lock,
//!   and a read lock is a write to the lock word: two cores reading the same
//!   hot task pass that cache line back and forth, so a second thread buys
//!   almost nothing. Here a read pins an epoch (a write to the calling
//!   thread's own record), loads the slot's pointer with Acquire, and looks
//!   at the task. Nothing another core reads or writes is touched, except
//!   once every 128 pins, when crossbeam-epoch tries to advance the global
//!   epoch.
//! - **Writes are linearizable read-modify-writes.** An update builds the
//!   patched task and installs it with a compare-exchange against the
//!   version it patched, retrying if another writer got there first; a
//!   delete swaps in null. Two updates never lose one another, and an update
//!   never resurrects a deleted task (its compare-exchange fails against
//!   null).
//! - **Old versions are retired, not freed.** A reader may still be looking
//!   at the version a writer just replaced, so the slot's reference goes to
//!   crossbeam-epoch's deferred list and is dropped once every thread pinned
//!   at the time has unpinned. The protocol is in [`slot`], with a loom model
//!   (`scripts/loom-rcu`) that also runs with its orderings weakened and must
//!   fail then.
//!
//! Why crossbeam-epoch and not a reclamation scheme of our own: epoch-based
//! reclamation is a few hundred lines whose bugs (a missed fence between
//! pinning and loading, an epoch advanced past a pinned reader) show as
//! rare use-after-frees. crossbeam-epoch is the most used implementation in
//! Rust, has its own loom models, and runs under loom itself (`--cfg
//! crossbeam_loom`), so the model here checks our slot protocol against the
//! real collector rather than a stand-in. `seize` (papaya's) has no loom
//! support; `arc-swap` would put a debt list per slot read and only covers
//! the clone path; hazard pointers cost a Release store and a re-check per
//! read, which is the shared-write cost this store exists to avoid.
//!
//! What it costs:
//! - **Clone-mode reads still do not scale on a hot task.** `get` returns an
//!   `Arc<Task>`, so it adds one to the task's reference count: a shared
//!   write on the task's own cache line. Only `get_with` (visit) is free of
//!   shared writes. An API that wants scalable hot reads should answer from
//!   inside the read (serialize in `get_with`), or return a copy.
//! - **Every write allocates** a new task version (as `dense` does), and the
//!   old one lives until a grace period passes: memory lags deletes.
//! - **Snapshots are per task**: `get_all` loads one slot after another.
//! - A deleted task's slot stays allocated (8 bytes), as in `dense`.
//!
//! The id counter and the chunk directory are `chunk-dir`'s, the same code
//! `dense` runs: a read finds its chunk with `OnceLock`'s Acquire load, no
//! lock. The loom model leaves the directory out (the whole store is
//! compiled out under `--cfg crossbeam_loom`): it has no protocol of its
//! own, only `OnceLock` and a counter whose one property is atomicity.

#[cfg(not(crossbeam_loom))]
use std::sync::atomic::{AtomicUsize, Ordering};

#[cfg(not(crossbeam_loom))]
use chunk_dir::ChunkDir;
#[cfg(not(crossbeam_loom))]
use crossbeam_utils::CachePadded;
#[cfg(not(crossbeam_loom))]
use task_model::{Snapshot, SnapshotGuarantee, Task, TaskDraft, TaskId, TaskPatch, TaskStore};

pub mod slot;
#[cfg(not(crossbeam_loom))]
use slot::{Pending, Slot};

#[cfg(not(crossbeam_loom))]
pub use store::*;

#[cfg(not(crossbeam_loom))]
mod store {
    use super::*;
    use std::sync::Arc;

    pub use chunk_dir::{CHUNK_BITS, CHUNK_SLOTS, MAX_CHUNKS};

    /// One chunk: its slots, and how many hold a task (padded: creates and
    /// deletes write it, reads never do).
    struct Chunk {
        slots: Box<[Slot<Task>]>,
        count: CachePadded<AtomicUsize>,
        pending: Pending,
    }

    impl Default for Chunk {
        fn default() -> Self {
            Chunk {
                slots: std::iter::repeat_with(Slot::empty)
                    .take(CHUNK_SLOTS)
                    .collect(),
                count: CachePadded::new(AtomicUsize::new(0)),
                pending: Pending::default(),
            }
        }
    }

    /// Tasks in read-copy-update slots indexed by id.
    pub struct RcuStore {
        /// The ids and the chunks they index (`chunk-dir`, as in `dense`).
        dir: ChunkDir<Chunk>,
    }

    impl Default for RcuStore {
        fn default() -> Self {
            Self::new()
        }
    }

    impl RcuStore {
        /// An empty store.
        pub fn new() -> Self {
            Self::with_capacity(0)
        }

        /// An empty store with chunks allocated for ids 1..=capacity.
        pub fn with_capacity(capacity: usize) -> Self {
            RcuStore {
                dir: ChunkDir::with_capacity(capacity),
            }
        }

        #[inline]
        fn slot(&self, id: TaskId) -> Option<(&Chunk, &Slot<Task>)> {
            let (chunk, slot) = self.dir.get(id)?;
            Some((chunk, &chunk.slots[slot]))
        }

        /// The chunk index of `id` and the number of chunks ids have reached
        /// (for the harness's load-imbalance figure).
        pub fn chunk_of(&self, id: TaskId) -> (usize, usize) {
            self.dir.chunk_of(id)
        }

        /// Visits every stored task in place, cloning nothing: the get_all
        /// floor.
        pub fn for_each_task(&self, mut f: impl FnMut(&Task)) {
            let guard = crossbeam_epoch::pin();
            for chunk in self.dir.used() {
                for slot in chunk.slots.iter() {
                    if let Some(task) = slot.load(&guard) {
                        f(task);
                    }
                }
            }
        }
    }

    impl Drop for RcuStore {
        /// Waits (a second at most) for the grace periods of every version
        /// this store retired, so a dropped store holds no task. It can only
        /// wait for threads that unpin; it never frees early, so giving up
        /// delays the drops and is still sound.
        fn drop(&mut self) {
            let pending = |s: &RcuStore| s.dir.used().map(|c| c.pending.count()).sum::<usize>();
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
            while pending(self) > 0 && std::time::Instant::now() < deadline {
                crossbeam_epoch::pin().flush();
                std::thread::yield_now();
            }
        }
    }

    impl TaskStore for RcuStore {
        /// Slots are read one after another.
        const SNAPSHOT: SnapshotGuarantee = SnapshotGuarantee::PerTask;

        fn create(&self, draft: TaskDraft) -> Arc<Task> {
            // The slot's Release publishes the task.
            let id = self.dir.issue();
            let task = Arc::new(draft.into_task(id));
            let (chunk, slot) = self
                .dir
                .get_or_create(id)
                .expect("more than 268 million tasks: the rcu store is full");
            if chunk.slots[slot].publish(task.clone()).is_err() {
                unreachable!("id {id:?} was handed out twice");
            }
            // Relaxed: the count is a sum read by `len`, ordered for callers
            // by whatever told them the create finished.
            chunk.count.fetch_add(1, Ordering::Relaxed);
            task
        }

        #[inline]
        fn get(&self, id: TaskId) -> Option<Arc<Task>> {
            let (_, slot) = self.slot(id)?;
            slot.get(&crossbeam_epoch::pin())
        }

        #[inline]
        fn get_with<R>(&self, id: TaskId, f: impl FnOnce(&Task) -> R) -> Option<R> {
            let (_, slot) = self.slot(id)?;
            let guard = crossbeam_epoch::pin();
            slot.load(&guard).map(f)
        }

        fn update(&self, id: TaskId, patch: TaskPatch) -> Option<Arc<Task>> {
            let (chunk, slot) = self.slot(id)?;
            slot.update(&crossbeam_epoch::pin(), &chunk.pending, |task| {
                task.patched(&patch)
            })
        }

        fn delete(&self, id: TaskId) -> Option<Arc<Task>> {
            let (chunk, slot) = self.slot(id)?;
            let gone = slot.take(&crossbeam_epoch::pin(), &chunk.pending)?;
            chunk.count.fetch_sub(1, Ordering::Relaxed);
            Some(gone)
        }

        fn get_all(&self) -> Vec<Arc<Task>> {
            let guard = crossbeam_epoch::pin();
            let mut out = Vec::with_capacity(self.len());
            for chunk in self.dir.used() {
                out.extend(chunk.slots.iter().filter_map(|s| s.get(&guard)));
            }
            out
        }

        fn snapshot(&self) -> Snapshot {
            Snapshot::from_tasks(self.get_all())
        }

        fn len(&self) -> usize {
            self.dir
                .used()
                .map(|c| c.count.load(Ordering::Relaxed))
                .sum()
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use task_model::{NewTask, Timestamp};

        fn draft(i: u32) -> TaskDraft {
            NewTask {
                title: format!("t{i}"),
                ..Default::default()
            }
            .validate_at(Timestamp(1))
            .expect("valid")
        }

        #[test]
        fn an_update_leaves_readers_their_version_and_frees_it_later() {
            let store = RcuStore::with_capacity(4);
            let first = store.create(draft(0));
            let held = store.get(first.id).expect("present");
            let next = store
                .update(first.id, TaskPatch::set_completed(true, Timestamp(2)))
                .expect("updated");
            assert!(!held.completed && next.completed);
            assert!(store.get_with(first.id, |t| t.completed).expect("present"));
            // The slot's reference to the old version is retired, not
            // dropped: once the epoch moves on, only our clones are left.
            for _ in 0..100_000 {
                if Arc::strong_count(&held) == 2 {
                    break;
                }
                crossbeam_epoch::pin().flush();
            }
            assert_eq!(Arc::strong_count(&held), 2, "held and first");
        }

        #[test]
        fn chunk_of_and_the_walk_report_what_the_store_holds() {
            let store = RcuStore::with_capacity(CHUNK_SLOTS + 2);
            assert_eq!(store.chunk_of(TaskId(1)), (0, 1), "no ids yet: one chunk");
            for i in 0..(CHUNK_SLOTS as u32 + 2) {
                store.create(draft(i));
            }
            // The boundaries are chunk-dir's to test; this is the delegation.
            assert_eq!(store.chunk_of(TaskId(CHUNK_SLOTS as u64 + 1)), (1, 2));
            store.delete(TaskId(3));
            let mut seen = Vec::new();
            store.for_each_task(|t| seen.push(t.id.get()));
            assert_eq!(seen.len(), CHUNK_SLOTS + 1);
            assert!(!seen.contains(&3) && seen.contains(&(CHUNK_SLOTS as u64 + 2)));
            assert_eq!(store.len(), CHUNK_SLOTS + 1);
        }

        #[test]
        fn dropping_the_store_frees_every_task() {
            let store = RcuStore::with_capacity(10);
            let tasks: Vec<_> = (0..10).map(|i| store.create(draft(i))).collect();
            assert!(tasks.iter().all(|t| Arc::strong_count(t) == 2));
            drop(store);
            assert!(tasks.iter().all(|t| Arc::strong_count(t) == 1));
        }
    }
}
