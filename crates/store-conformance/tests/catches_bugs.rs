//! The suite's own checks, run on small stores with one planted bug each:
//! every check here must fail on its bug, or the check has gone blind. A
//! correct reference store passes the same checks, so a failure is the bug
//! and not the harness.
//!
//! The racy bugs widen their window with a `yield_now` where a real one
//! would need an unlucky preemption. The checks catch the same bugs planted
//! without it in a real store; the yield keeps this test's outcome the same
//! on any machine.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::Mutex;
use std::thread;

use store_conformance::{concurrent, lifecycle, sizes};
use task_model::{SnapshotGuarantee, Task, TaskDraft, TaskId, TaskPatch, TaskStore};

/// One map behind one mutex, with bug number `BUG` planted.
struct Store<const BUG: u8> {
    tasks: Mutex<BTreeMap<TaskId, Arc<Task>>>,
    next: Mutex<u64>,
    leaked: Mutex<Vec<Arc<Task>>>,
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

impl<const BUG: u8> Store<BUG> {
    fn new() -> Self {
        Store {
            tasks: Mutex::new(BTreeMap::new()),
            next: Mutex::new(1),
            leaked: Mutex::new(Vec::new()),
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

    fn create(&self, draft: TaskDraft) -> Arc<Task> {
        let mut map = self.map();
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
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
        if BUG == LOST_UPDATE {
            let current = self.map().get(&id).cloned()?;
            thread::yield_now();
            let next = Arc::new(current.patched(&patch));
            self.map().insert(id, next.clone());
            return Some(next);
        }
        let mut map = self.map();
        let slot = map.get_mut(&id)?;
        *slot = Arc::new(slot.patched(&patch));
        Some(slot.clone())
    }

    fn delete(&self, id: TaskId) -> Option<Arc<Task>> {
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
        self.map().values().cloned().collect()
    }

    fn len(&self) -> usize {
        let len = self.map().len();
        if BUG == NARROW_LEN {
            return usize::from(len as u16);
        }
        len
    }
}

/// Runs `check` and returns its panic message, or `None` if it passed.
fn failure(check: impl FnOnce()) -> Option<String> {
    let err = catch_unwind(AssertUnwindSafe(check)).err()?;
    Some(
        err.downcast_ref::<String>()
            .cloned()
            .or_else(|| err.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default(),
    )
}

#[test]
fn the_reference_store_passes_the_new_checks() {
    let make = &|| Store::<NONE>::new();
    concurrent::histories_are_linearizable(make);
    concurrent::contended_updates_are_linearizable(make);
    concurrent::get_all_is_linearizable(make);
    sizes::sizes_past_every_boundary(make);
    lifecycle::drop_releases_every_task(make);
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
