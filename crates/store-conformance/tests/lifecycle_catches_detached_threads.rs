//! `threads_stop_on_drop` on a store whose thread is joined (passes) and on
//! stores whose `drop` only tells the thread to stop (fail at once). Its own
//! test binary, as the check requires: it counts this process's store
//! threads.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use store_conformance::lifecycle::{live_store_threads, threads_stop_on_drop};
use task_model::{SnapshotGuarantee, Task, TaskDraft, TaskId, TaskPatch, TaskStore};

type Map = Arc<Mutex<BTreeMap<TaskId, Arc<Task>>>>;

/// A store with one background thread that polls a stop flag every `POLL`
/// milliseconds, as a flusher or a metrics thread might. With `SHARES_MAP`
/// the thread holds the task map; with `JOINS`, drop waits for it.
struct Threaded<const JOINS: bool, const SHARES_MAP: bool, const POLL: u64> {
    map: Map,
    next: Mutex<u64>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl<const JOINS: bool, const SHARES_MAP: bool, const POLL: u64> Threaded<JOINS, SHARES_MAP, POLL> {
    fn new() -> Self {
        let map: Map = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let held = SHARES_MAP.then(|| map.clone());
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("sl-test-bg".into())
            .spawn(move || {
                let _held = held;
                while !flag.load(Ordering::Acquire) {
                    std::thread::sleep(Duration::from_millis(POLL));
                }
            })
            .expect("spawn");
        Threaded {
            map,
            next: Mutex::new(1),
            stop,
            handle: Some(handle),
        }
    }

    fn tasks(&self) -> std::sync::MutexGuard<'_, BTreeMap<TaskId, Arc<Task>>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<const JOINS: bool, const SHARES_MAP: bool, const POLL: u64> Drop
    for Threaded<JOINS, SHARES_MAP, POLL>
{
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        let handle = self.handle.take().expect("started");
        if JOINS {
            handle.join().expect("the thread does not panic");
        }
    }
}

impl<const JOINS: bool, const SHARES_MAP: bool, const POLL: u64> TaskStore
    for Threaded<JOINS, SHARES_MAP, POLL>
{
    const SNAPSHOT: SnapshotGuarantee = SnapshotGuarantee::Atomic;

    fn create(&self, draft: TaskDraft) -> Arc<Task> {
        let mut tasks = self.tasks();
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let task = Arc::new(draft.into_task(TaskId(*next)));
        *next += 1;
        tasks.insert(task.id, task.clone());
        task
    }

    fn get(&self, id: TaskId) -> Option<Arc<Task>> {
        self.tasks().get(&id).cloned()
    }

    fn update(&self, id: TaskId, patch: TaskPatch) -> Option<Arc<Task>> {
        let mut tasks = self.tasks();
        let slot = tasks.get_mut(&id)?;
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

fn failure(check: impl FnOnce()) -> Option<String> {
    let err = catch_unwind(AssertUnwindSafe(check)).err()?;
    Some(
        err.downcast_ref::<String>()
            .cloned()
            .or_else(|| err.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default(),
    )
}

/// Waits for a failed store's thread to go before the next check, which
/// starts by counting threads.
fn wait_for_no_store_threads() {
    for _ in 0..5_000 {
        if live_store_threads().unwrap_or(0) == 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    panic!("a test store's thread never stopped");
}

#[test]
fn a_drop_that_does_not_join_fails_at_once() {
    // Linux lists every thread's name in /proc: there the check must see them.
    assert!(
        !cfg!(target_os = "linux") || live_store_threads().is_some(),
        "thread names are readable on Linux"
    );
    if live_store_threads().is_none() {
        eprintln!("thread names are not readable on this OS; test skipped");
        return;
    }
    // Joined: passes, however slowly the thread polls.
    threads_stop_on_drop(Threaded::<true, true, 5>::new);

    // Not joined, the thread holding the map: the tasks are still
    // referenced when drop returns.
    let why = failure(|| threads_stop_on_drop(Threaded::<false, true, 5>::new))
        .expect("a store that does not join its thread passed");
    assert!(why.contains("still referenced"), "{why}");
    wait_for_no_store_threads();

    // Not joined, the thread holding nothing of the store: the thread
    // itself is still running.
    let why = failure(|| threads_stop_on_drop(Threaded::<false, false, 5>::new))
        .expect("a store that does not join its thread passed");
    assert!(why.contains("still running after drop"), "{why}");
    wait_for_no_store_threads();
}
