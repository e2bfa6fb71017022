//! The suite's own checks, run on small stores with one planted bug each:
//! every check here must fail on its bug, or the check has gone blind. A
//! correct reference store passes the same checks, so a failure is the bug
//! and not the harness.
//!
//! The racy bugs widen their window with a `yield_now` where a real one
//! would need an unlucky preemption. The checks catch the same bugs planted
//! without it in a real store; the yield keeps this test's outcome the same
//! on any machine.

use std::collections::{BTreeMap, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::Mutex;
use std::thread::{self, ThreadId};

use store_conformance::{concurrent, errors, lifecycle, sizes};
use task_model::{
    IdPolicy, NewTask, SnapshotGuarantee, Task, TaskDraft, TaskId, TaskPatch, TaskStore,
};

/// One map behind one mutex, with bug number `BUG` planted.
struct Store<const BUG: u8> {
    tasks: Mutex<BTreeMap<TaskId, Arc<Task>>>,
    next: Mutex<u64>,
    leaked: Mutex<Vec<Arc<Task>>>,
    /// `STALE_LEN`'s cached count.
    cached_len: Mutex<usize>,
    /// The `BLOCKS` stores' blocks: per thread, the first id of its block
    /// and how many of it it used.
    blocks: Mutex<HashMap<ThreadId, (u64, u64)>>,
}

/// No bug: the reference.
const NONE: u8 = 0;
/// `update` reads under one lock and writes under another.
const LOST_UPDATE: u8 = 1;
/// `get_all` lists ids under one lock and fetches each under another, while
/// the store claims `Atomic`.
const TORN_GET_ALL: u8 = 2;
/// `len` is kept in a `u16`.
const NARROW_LEN: u8 = 3;
/// A clone of every created task outlives the store.
const LEAK: u8 = 4;
/// `get` panics.
const PANICS: u8 = 5;
/// Ids come from a counter read and written back under separate locks.
const DUP_IDS: u8 = 6;
/// `update` copies the whole map, patches the copy, and stores it back.
const MAP_COPY: u8 = 7;
/// `update` stores the new title first and the rest under a second lock.
const TWO_STEP_UPDATE: u8 = 8;
/// `get_all` collects odd ids under one lock and even ids under another,
/// while the store claims `Atomic`.
const SPLIT_GET_ALL: u8 = 9;
/// A new id is the highest id held plus one, so a deleted newest id returns.
const REUSED_IDS: u8 = 10;
/// `update` of a missing id creates it (an upsert).
const UPSERT: u8 = 11;
/// `len` answers what it was before the last write (a cached count
/// refreshed at the start of each write).
const STALE_LEN: u8 = 12;
/// `get_all` walks with a `u16` index, so it stops at id 65,536 (`len` and
/// `get` stay right).
const U16_WALK: u8 = 13;

// From here on, ids come from per-thread blocks of `BLOCK` ids
// (`IdPolicy::Blocks`), claimed under the `next` lock.

/// No bug: the reference for a store with per-thread blocks.
const BLOCKS: u8 = 20;
/// Each block is handed out from its top down, so a thread's ids decrease.
const BLOCKS_DOWN: u8 = 21;
/// Each claim skips a whole block: gaps larger than a block's.
const BLOCKS_WASTE: u8 = 22;
/// Ids from per-thread blocks, while the store claims `Dense`.
const BLOCKS_AS_DENSE: u8 = 23;
/// Ids per block: small, so that the suite's threads cross many blocks.
const BLOCK: u64 = 4;

impl<const BUG: u8> Store<BUG> {
    fn new() -> Self {
        Store {
            tasks: Mutex::new(BTreeMap::new()),
            next: Mutex::new(1),
            leaked: Mutex::new(Vec::new()),
            cached_len: Mutex::new(0),
            blocks: Mutex::new(HashMap::new()),
        }
    }

    /// The next id from the calling thread's block (the `BLOCKS` stores).
    fn block_id(&self) -> u64 {
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let mut blocks = self.blocks.lock().unwrap_or_else(|e| e.into_inner());
        let (first, used) = blocks.entry(thread::current().id()).or_insert((0, BLOCK));
        if *used == BLOCK {
            let skip = if BUG == BLOCKS_WASTE { BLOCK } else { 0 };
            *first = *next + skip;
            *next += BLOCK + skip;
            *used = 0;
        }
        let id = if BUG == BLOCKS_DOWN {
            *first + BLOCK - 1 - *used
        } else {
            *first + *used
        };
        *used += 1;
        id
    }

    /// `STALE_LEN`: refreshes the cached count before a write changes it.
    fn cache_len(&self) {
        if BUG == STALE_LEN {
            let len = self.map().len();
            *self.cached_len.lock().unwrap_or_else(|e| e.into_inner()) = len;
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<TaskId, Arc<Task>>> {
        self.tasks.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<const BUG: u8> Drop for Store<BUG> {
    fn drop(&mut self) {
        if BUG == LEAK {
            let leaked =
                std::mem::take(&mut *self.leaked.lock().unwrap_or_else(|e| e.into_inner()));
            std::mem::forget(leaked);
        }
    }
}

impl<const BUG: u8> TaskStore for Store<BUG> {
    const SNAPSHOT: SnapshotGuarantee = SnapshotGuarantee::Atomic;
    const IDS: IdPolicy = if BUG >= BLOCKS && BUG != BLOCKS_AS_DENSE {
        IdPolicy::Blocks { size: BLOCK }
    } else {
        IdPolicy::Dense
    };

    fn create(&self, draft: TaskDraft) -> Arc<Task> {
        if BUG >= BLOCKS {
            let task = Arc::new(draft.into_task(TaskId(self.block_id())));
            self.map().insert(task.id, task.clone());
            return task;
        }
        if BUG == DUP_IDS {
            let id = *self.next.lock().unwrap_or_else(|e| e.into_inner());
            thread::yield_now();
            *self.next.lock().unwrap_or_else(|e| e.into_inner()) = id + 1;
            let task = Arc::new(draft.into_task(TaskId(id)));
            self.map().insert(task.id, task.clone());
            return task;
        }
        self.cache_len();
        let mut map = self.map();
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        if BUG == REUSED_IDS {
            *next = map.keys().next_back().map_or(1, |id| id.get() + 1);
        }
        let task = Arc::new(draft.into_task(TaskId(*next)));
        *next += 1;
        map.insert(task.id, task.clone());
        if BUG == LEAK {
            self.leaked
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(task.clone());
        }
        task
    }

    fn get(&self, id: TaskId) -> Option<Arc<Task>> {
        assert!(BUG != PANICS, "planted panic in get");
        self.map().get(&id).cloned()
    }

    fn update(&self, id: TaskId, patch: TaskPatch) -> Option<Arc<Task>> {
        self.cache_len();
        if BUG == UPSERT && !self.map().contains_key(&id) {
            let blank = NewTask {
                title: "upserted".into(),
                ..Default::default()
            }
            .validate_at(patch.at())
            .expect("valid title");
            let task = Arc::new(blank.into_task(id).patched(&patch));
            self.map().insert(id, task.clone());
            return Some(task);
        }
        if BUG == LOST_UPDATE {
            let current = self.map().get(&id).cloned()?;
            thread::yield_now();
            let next = Arc::new(current.patched(&patch));
            self.map().insert(id, next.clone());
            return Some(next);
        }
        if BUG == MAP_COPY {
            let mut copy = self.map().clone();
            let next = Arc::new(copy.get(&id)?.patched(&patch));
            copy.insert(id, next.clone());
            thread::yield_now();
            *self.map() = copy;
            return Some(next);
        }
        if BUG == TWO_STEP_UPDATE {
            let (current, full) = {
                let mut map = self.map();
                let current = map.get(&id)?.clone();
                let full = Arc::new(current.patched(&patch));
                let half = Task {
                    title: full.title.clone(),
                    ..(*current).clone()
                };
                map.insert(id, Arc::new(half));
                (current, full)
            };
            drop(current);
            thread::yield_now();
            self.map().insert(id, full.clone());
            return Some(full);
        }
        let mut map = self.map();
        let slot = map.get_mut(&id)?;
        *slot = Arc::new(slot.patched(&patch));
        Some(slot.clone())
    }

    fn delete(&self, id: TaskId) -> Option<Arc<Task>> {
        self.cache_len();
        self.map().remove(&id)
    }

    fn get_all(&self) -> Vec<Arc<Task>> {
        if BUG == TORN_GET_ALL {
            let ids: Vec<TaskId> = self.map().keys().copied().collect();
            return ids
                .into_iter()
                .filter_map(|id| {
                    thread::yield_now();
                    self.get(id)
                })
                .collect();
        }
        if BUG == SPLIT_GET_ALL {
            let odd = |t: &&Arc<Task>| t.id.get() % 2 == 1;
            let mut out: Vec<Arc<Task>> = self.map().values().filter(odd).cloned().collect();
            // A preemption between the two reads (a yield is too short here:
            // the creator must get two creates in).
            thread::sleep(std::time::Duration::from_micros(50));
            out.extend(self.map().values().filter(|t| !odd(t)).cloned());
            return out;
        }
        if BUG == U16_WALK {
            return self
                .map()
                .values()
                .filter(|t| t.id.get() <= u64::from(u16::MAX) + 1)
                .cloned()
                .collect();
        }
        self.map().values().cloned().collect()
    }

    fn len(&self) -> usize {
        if BUG == STALE_LEN {
            return *self.cached_len.lock().unwrap_or_else(|e| e.into_inner());
        }
        let len = self.map().len();
        if BUG == NARROW_LEN {
            return usize::from(len as u16);
        }
        len
    }
}

/// Runs `check` under a time limit and returns its panic message, or `None`
/// if it passed. A check that hangs on a planted bug has gone wrong as
/// surely as one that passes: that fails the test, it is not a catch.
fn failure(check: impl FnOnce() + Send + 'static) -> Option<String> {
    let err = catch_unwind(AssertUnwindSafe(|| {
        store_conformance::watchdog::with_time_limit("planted bug", check)
    }))
    .err()?;
    let why = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default();
    assert!(
        !why.contains("did not finish within"),
        "the check hung on a planted bug: {why}"
    );
    Some(why)
}

#[test]
fn a_lost_update_is_not_linearizable() {
    let why =
        failure(|| concurrent::contended_updates_are_linearizable(&|| Store::<LOST_UPDATE>::new()))
            .expect("a store that loses updates passed");
    assert!(why.contains("not linearizable"), "{why}");
}

#[test]
fn a_torn_get_all_breaks_an_atomic_claim() {
    let why = failure(|| concurrent::get_all_is_linearizable(&|| Store::<TORN_GET_ALL>::new()))
        .expect("an Atomic store with a torn get_all passed");
    assert!(why.contains("not linearizable"), "{why}");
}

#[test]
fn a_narrow_counter_fails_past_65536() {
    let why = failure(|| sizes::sizes_past_every_boundary(&|| Store::<NARROW_LEN>::new()))
        .expect("a store with a u16 len passed");
    assert!(why.contains("len after 70000 creates"), "{why}");
}

#[test]
fn a_walk_that_stops_at_65536_fails_the_sizes_check() {
    let why = failure(|| sizes::sizes_past_every_boundary(&|| Store::<U16_WALK>::new()))
        .expect("a store whose get_all stops at 65,536 passed");
    assert!(
        why.contains("get_all after the creates: 65536 tasks, not 70000; task 65537 is missing"),
        "{why}"
    );
}

#[test]
fn a_leaked_task_fails_the_drop_check() {
    let why = failure(|| lifecycle::drop_releases_every_task(&|| Store::<LEAK>::new()))
        .expect("a store that leaks its tasks passed");
    assert!(why.contains("still referenced"), "{why}");
}

#[test]
fn a_panic_in_one_thread_fails_the_check_instead_of_hanging_it() {
    // The other threads of a history wait for the panicked one at each
    // step; they must give up, so the check fails with the store's panic
    // rather than at the time limit.
    let why = failure(|| {
        store_conformance::watchdog::with_limit(
            "panicking store",
            std::time::Duration::from_secs(30),
            || concurrent::contended_updates_are_linearizable(&|| Store::<PANICS>::new()),
        )
    })
    .expect("a store whose get panics passed");
    assert!(why.contains("planted panic in get"), "{why}");
}

// One planted bug for each final-state check: each check must still see
// the race it names (the linearizability checks see them too, but a check
// that went blind would not be noticed without these).

#[test]
fn duplicate_ids_fail_the_unique_ids_check() {
    let why = failure(|| concurrent::creates_get_unique_ids(&|| Store::<DUP_IDS>::new()))
        .expect("a store that hands out one id twice passed");
    assert!(why.contains("two creates got the same id"), "{why}");
}

#[test]
fn a_whole_map_copy_loses_updates_to_other_tasks() {
    let why = failure(|| {
        concurrent::updates_to_disjoint_tasks_are_not_lost(&|| Store::<MAP_COPY>::new())
    })
    .expect("a store that writes back a stale copy of the map passed");
    assert!(why.contains("lost update on"), "{why}");
}

#[test]
fn a_lost_update_loses_a_field() {
    let why =
        failure(|| concurrent::updates_to_one_task_are_atomic(&|| Store::<LOST_UPDATE>::new()))
            .expect("a store that loses updates passed");
    assert!(why.contains("update was lost"), "{why}");
}

#[test]
fn a_two_step_update_shows_readers_a_torn_version() {
    // The reader threads panic; the scope reports that one did.
    failure(|| concurrent::readers_see_only_written_versions(&|| Store::<TWO_STEP_UPDATE>::new()))
        .expect("a store whose updates are seen half done passed");
}

#[test]
fn an_update_racing_a_delete_resurrects_the_task() {
    let why = failure(|| {
        concurrent::deletes_race_with_readers_and_updates(&|| Store::<LOST_UPDATE>::new())
    })
    .expect("a store whose update re-inserts a deleted task passed");
    assert!(
        why.contains("resurrected") || why.contains("came back"),
        "{why}"
    );
}

#[test]
fn a_split_get_all_breaks_the_atomic_prefix() {
    let why = failure(|| {
        concurrent::get_all_keeps_its_snapshot_promise(&|| Store::<SPLIT_GET_ALL>::new())
    })
    .expect("an Atomic store whose get_all reads in two steps passed");
    assert!(why.contains("Atomic snapshot"), "{why}");
}

// One planted bug for each single-thread check that a store can fail.
// (`invalid_input_is_refused` checks the model's request-level API, which
// no store can change; `snapshots_are_immutable` can only fail a store that
// writes into a published task through `unsafe`.)

#[test]
fn a_reused_id_fails_the_id_rules() {
    let why =
        failure(|| errors::ids_start_at_one_and_are_never_reused(&|| Store::<REUSED_IDS>::new()))
            .expect("a store that reuses a deleted id passed");
    assert!(why.contains("id 2 was reused"), "{why}");
}

#[test]
fn an_upsert_fails_the_missing_id_rules() {
    failure(|| errors::missing_ids_are_not_found(&|| Store::<UPSERT>::new()))
        .expect("a store whose update creates a missing task passed");
}

#[test]
fn a_stale_len_is_not_linearizable() {
    // One thread alone shows it (a write, then a len that misses it): the
    // check fails before any race, in its own setup or in a history.
    failure(|| concurrent::histories_are_linearizable(&|| Store::<STALE_LEN>::new()))
        .expect("a store whose len lags its writes passed");
    failure(|| store_conformance::sequential_model(Store::<STALE_LEN>::new))
        .expect("a store whose len lags its writes passed the sequential model");
}

// Ids from per-thread blocks: the suite holds a Blocks store to its
// contract (each thread's ids increase, gaps of less than a block per
// thread), and a Dense store to no gaps at all.

#[test]
fn blocks_handed_out_downwards_fail_the_unique_ids_check() {
    let why = failure(|| concurrent::creates_get_unique_ids(&|| Store::<BLOCKS_DOWN>::new()))
        .expect("a store whose threads' ids decrease passed");
    assert!(why.contains("one thread's ids must increase"), "{why}");
    let why = failure(|| concurrent::histories_are_linearizable(&|| Store::<BLOCKS_DOWN>::new()))
        .expect("a store whose threads' ids decrease passed");
    assert!(why.contains("one thread's ids increase"), "{why}");
}

#[test]
fn a_block_skipped_per_claim_fails_the_gap_bound() {
    let why = failure(|| concurrent::creates_get_unique_ids(&|| Store::<BLOCKS_WASTE>::new()))
        .expect("a store that leaves a block unused per claim passed");
    assert!(why.contains("above the 504 blocks of 4"), "{why}");
}

#[test]
fn gaps_in_a_store_that_declares_dense_ids_fail() {
    let why = failure(|| concurrent::creates_get_unique_ids(&|| Store::<BLOCKS_AS_DENSE>::new()))
        .expect("a Dense store with gaps passed");
    assert!(why.contains("dense range 1..=2004"), "{why}");
}

/// The reference store through the whole suite, each check under the suite's
/// time limit: a check made stricter than the contract (by a mistake, or a
/// mutant) fails here.
mod reference {
    use super::{NONE, Store};

    store_conformance::conformance_suite!(Store::<NONE>::new());
}

/// The same for the reference store with per-thread blocks of ids.
mod reference_blocks {
    use super::{BLOCKS, Store};

    store_conformance::conformance_suite!(Store::<BLOCKS>::new());
}
