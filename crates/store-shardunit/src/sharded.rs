//! The parent of both of the log's sharded stores: one atomic id counter and
//! `id & mask` routing over a power-of-2 number of cache-padded shards,
//! pre-sized from a capacity hint. The log changed the shards between
//! `ShardStore` and `ShardUnit`, never the parent, so the parent is this one
//! piece of code, generic over the shard: `shard` is `Sharded<MemoryShard>`
//! (whole `MemoryStore`s), `shardunit` is `Sharded<ShardUnit>`. What the two
//! measure apart is the [`Shard`] implementation alone.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_utils::CachePadded;
use task_model::{SnapshotGuarantee, Task, TaskDraft, TaskId, TaskPatch, TaskStore};

use crate::DEFAULT_SHARDS;

/// What a shard does for [`Sharded`]: hold tasks under the ids the parent
/// routes to it. It never makes ids. Each implementation is a design the
/// lab measures, so each keeps its own calls (`shard`'s go through a whole
/// store's API, `shardunit`'s straight to a map under a lock).
pub trait Shard: Send + Sync + Sized {
    /// An empty shard with room for `capacity` tasks.
    fn with_capacity(capacity: usize) -> Self;
    /// Stores `task` under `id` (its own id, which the parent assigned).
    fn set(&self, id: TaskId, task: Arc<Task>);
    /// The task under `id`.
    fn get(&self, id: TaskId) -> Option<Arc<Task>>;
    /// Calls `f` on the task under `id`, in place.
    fn get_with<R>(&self, id: TaskId, f: impl FnOnce(&Task) -> R) -> Option<R>;
    /// Applies `patch` to the task under `id`; the new version.
    fn update(&self, id: TaskId, patch: TaskPatch) -> Option<Arc<Task>>;
    /// Removes the task under `id`.
    fn remove(&self, id: TaskId) -> Option<Arc<Task>>;
    /// Appends every task to `out`.
    fn collect_into(&self, out: &mut Vec<Arc<Task>>);
    /// How many tasks the shard holds.
    fn count(&self) -> usize;
}

/// Shards of type `S` behind one atomic id counter and `id & mask` routing.
pub struct Sharded<S> {
    /// An `Arc` so that `shard-pool` can hand the shards to its workers.
    /// Reaching a shard costs the loads a `Box` would, plus one add (the
    /// `Arc`'s header), the same for both stores.
    shards: Arc<[CachePadded<S>]>,
    mask: u64,
    /// The next id; alone on its cache line, since every create writes it.
    next_id: CachePadded<AtomicU64>,
}

impl<S: Shard> Default for Sharded<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: Shard> Sharded<S> {
    /// An empty store with [`DEFAULT_SHARDS`] shards.
    pub fn new() -> Self {
        Self::with_shards_and_capacity(DEFAULT_SHARDS, 0)
    }

    /// An empty store with [`DEFAULT_SHARDS`] shards, pre-sized for
    /// `capacity` tasks in all.
    pub fn with_capacity(capacity: usize) -> Self {
        Self::with_shards_and_capacity(DEFAULT_SHARDS, capacity)
    }

    /// An empty store with `shards` shards (rounded up to a power of two, at
    /// least 1), each with room for its share of `capacity` tasks.
    pub fn with_shards_and_capacity(shards: usize, capacity: usize) -> Self {
        let shards = shards.max(1).next_power_of_two();
        let per_shard = capacity.div_ceil(shards);
        Sharded {
            shards: (0..shards)
                .map(|_| CachePadded::new(S::with_capacity(per_shard)))
                .collect(),
            mask: shards as u64 - 1,
            next_id: CachePadded::new(AtomicU64::new(1)),
        }
    }
}

impl<S> Sharded<S> {
    /// The shards, shared: the `shard-pool` store hands them to its workers.
    pub fn shards(&self) -> &Arc<[CachePadded<S>]> {
        &self.shards
    }

    /// The number of shards.
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// The shard index of `id`.
    #[inline]
    pub fn shard_of(&self, id: TaskId) -> usize {
        (id.get() & self.mask) as usize
    }

    #[inline]
    fn shard(&self, id: TaskId) -> &S {
        &self.shards[self.shard_of(id)]
    }
}

impl<S: Shard> TaskStore for Sharded<S> {
    /// Shards are read one after another.
    const SNAPSHOT: SnapshotGuarantee = SnapshotGuarantee::PerTask;

    fn create(&self, draft: TaskDraft) -> Arc<Task> {
        // Relaxed: the counter only has to hand out distinct values (the
        // log's `atomic.AddInt64`). The task becomes visible to other
        // threads through its shard's lock, which orders its publication.
        let id = TaskId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let task = Arc::new(draft.into_task(id));
        self.shard(id).set(id, task.clone());
        task
    }

    #[inline]
    fn get(&self, id: TaskId) -> Option<Arc<Task>> {
        self.shard(id).get(id)
    }

    #[inline]
    fn get_with<R>(&self, id: TaskId, f: impl FnOnce(&Task) -> R) -> Option<R> {
        self.shard(id).get_with(id, f)
    }

    fn update(&self, id: TaskId, patch: TaskPatch) -> Option<Arc<Task>> {
        self.shard(id).update(id, patch)
    }

    fn delete(&self, id: TaskId) -> Option<Arc<Task>> {
        self.shard(id).remove(id)
    }

    fn get_all(&self) -> Vec<Arc<Task>> {
        let mut out = Vec::with_capacity(self.len());
        for shard in self.shards.iter() {
            shard.collect_into(&mut out);
        }
        out
    }

    fn len(&self) -> usize {
        self.shards.iter().map(|s| s.count()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// A shard that only remembers the capacity it was built with and what
    /// was routed to it.
    #[derive(Default)]
    struct Probe {
        capacity: usize,
        routed: AtomicUsize,
    }

    impl Shard for Probe {
        fn with_capacity(capacity: usize) -> Self {
            Probe {
                capacity,
                ..Probe::default()
            }
        }
        fn set(&self, _: TaskId, _: Arc<Task>) {
            self.routed.fetch_add(1, Ordering::Relaxed);
        }
        fn get(&self, _: TaskId) -> Option<Arc<Task>> {
            None
        }
        fn get_with<R>(&self, _: TaskId, _: impl FnOnce(&Task) -> R) -> Option<R> {
            None
        }
        fn update(&self, _: TaskId, _: TaskPatch) -> Option<Arc<Task>> {
            None
        }
        fn remove(&self, _: TaskId) -> Option<Arc<Task>> {
            None
        }
        fn collect_into(&self, _: &mut Vec<Arc<Task>>) {}
        fn count(&self) -> usize {
            self.routed.load(Ordering::Relaxed)
        }
    }

    fn draft() -> TaskDraft {
        task_model::NewTask {
            title: "t".into(),
            ..Default::default()
        }
        .validate_at(task_model::Timestamp(1))
        .expect("valid")
    }

    #[test]
    fn shards_are_rounded_and_share_the_capacity() {
        let store = Sharded::<Probe>::with_shards_and_capacity(5, 17);
        assert_eq!(store.shard_count(), 8, "5 rounds up to 8");
        assert!(store.shards().iter().all(|s| s.capacity == 3), "17 / 8, up");
        assert_eq!(
            Sharded::<Probe>::with_shards_and_capacity(0, 0).shard_count(),
            1
        );
        assert_eq!(Sharded::<Probe>::default().shard_count(), DEFAULT_SHARDS);
        assert_eq!(Sharded::<Probe>::with_capacity(64).shards()[0].capacity, 2);
    }

    #[test]
    fn ids_start_at_one_and_route_by_their_low_bits() {
        let store = Sharded::<Probe>::with_shards_and_capacity(4, 0);
        let ids: Vec<u64> = (0..5).map(|_| store.create(draft()).id.get()).collect();
        assert_eq!(ids, [1, 2, 3, 4, 5]);
        let routed: Vec<usize> = store.shards().iter().map(|s| s.count()).collect();
        assert_eq!(routed, [1, 2, 1, 1], "ids 4 | 1, 5 | 2 | 3");
        assert_eq!(store.len(), 5);
        let shards: Vec<usize> = (1..=8).map(|i| store.shard_of(TaskId(i))).collect();
        assert_eq!(shards, [1, 2, 3, 0, 1, 2, 3, 0]);
    }
}
