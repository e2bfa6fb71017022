//! Dropping a store: it lets go of every task, and a store that owns
//! threads has stopped them by the time `drop` returns.
//!
//! Both are checked *at once*, right after `drop` returns, without waiting
//! for anything to happen by itself. A store whose `drop` only signals its
//! threads (closes their channel) and returns is wrong even though the
//! threads exit a moment later: until then they still run, still hold the
//! tasks, and may still touch what the store's owner is tearing down. So:
//!
//! - The tasks the check holds (created, updated, read back) must be held by
//!   nobody else: `Arc::strong_count` is 1 for each, immediately. A thread
//!   still alive holds its map, and with it a reference to every task.
//! - Stores name their threads with the prefix [`THREAD_PREFIX`]; no such
//!   thread of this process may still be running (Linux: names from
//!   `/proc/self/task/*/comm`). A joined thread may linger in that listing
//!   for a moment while the kernel finishes its exit, so a listed thread
//!   counts as stopped once the kernel has marked it exiting (`PF_EXITING`
//!   in `/proc/self/task/*/stat`), which happens before `join` can return.
//!   No waiting is needed, and none is done: a thread still running user
//!   code when `drop` has returned fails the check, however soon it would
//!   have stopped by itself.
//!
//! Run [`threads_stop_on_drop`] from a test binary of its own: other tests in
//! the same process could own such threads at the same moment.
//! [`drop_releases_every_task`] needs no threads and runs in the suite.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use task_model::{Task, TaskId, TaskPatch, TaskStore, Timestamp};

use crate::draft;

/// The name prefix of every thread a storelab store spawns. Linux keeps 15
/// bytes of a thread name, so names stay short: `sl-actor`, `sl-pool-3`.
pub const THREAD_PREFIX: &str = "sl-";

/// Live threads of this process whose name starts with [`THREAD_PREFIX`]
/// (exiting ones included); `None` where the OS does not expose thread
/// names this way.
pub fn live_store_threads() -> Option<usize> {
    store_threads().map(|threads| threads.len())
}

/// A store thread seen in `/proc`: its name, and whether it is still
/// running (the kernel has not begun its exit).
struct StoreThread {
    name: String,
    running: bool,
}

/// `PF_EXITING`: the kernel sets this task flag as the first step of a
/// thread's exit, before the thread's joiner is woken.
const PF_EXITING: u64 = 0x4;

fn store_threads() -> Option<Vec<StoreThread>> {
    let dir = std::fs::read_dir("/proc/self/task").ok()?;
    let threads = dir
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = std::fs::read_to_string(entry.path().join("comm")).ok()?;
            let name = name.trim_end().to_owned();
            name.starts_with(THREAD_PREFIX).then(|| StoreThread {
                running: is_running(&entry.path()),
                name,
            })
        })
        .collect();
    Some(threads)
}

/// Whether the thread at `/proc/self/task/<tid>` is still running: it is
/// listed, not a zombie, and not marked exiting. A stat line that cannot be
/// read because the thread is gone means stopped; one that cannot be
/// parsed means running (the check fails rather than miss a thread).
fn is_running(task_dir: &Path) -> bool {
    let Ok(stat) = std::fs::read_to_string(task_dir.join("stat")) else {
        return false;
    };
    // "tid (comm) state ppid pgrp session tty tpgid flags ...": the name
    // may hold spaces and parentheses, so fields count from the last ')'.
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return true;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first().copied().unwrap_or("R");
    let flags = fields.get(6).and_then(|f| f.parse::<u64>().ok());
    match flags {
        Some(flags) => !matches!(state, "Z" | "X" | "x") && flags & PF_EXITING == 0,
        None => true,
    }
}

/// Store threads still running, by name.
fn running_store_threads() -> Vec<String> {
    store_threads()
        .unwrap_or_default()
        .into_iter()
        .filter(|t| t.running)
        .map(|t| t.name)
        .collect()
}

/// Builds a store, checks it runs at least one thread, uses it, drops it,
/// and checks at once that every one of its threads has stopped and that
/// it holds none of its tasks any more (see the module docs). Runs under
/// the suite's time limit, so a `drop` that never returns fails too.
pub fn threads_stop_on_drop<S, F>(make: F)
where
    S: TaskStore + 'static,
    F: Fn() -> S + Send + 'static,
{
    crate::watchdog::with_time_limit("threads_stop_on_drop", move || {
        check_threads_stop_on_drop(&make);
    });
}

fn check_threads_stop_on_drop<S: TaskStore>(make: &dyn Fn() -> S) {
    let Some(before) = live_store_threads() else {
        eprintln!("thread names are not readable on this OS; lifecycle check skipped");
        return;
    };
    assert_eq!(before, 0, "run this check in a test binary of its own");
    for round in 0..3 {
        let store = make();
        // A thread names itself once it runs, so its name may lag its spawn.
        assert!(
            wait_until(Duration::from_secs(5), || live_store_threads().unwrap_or(0)
                > 0),
            "round {round}: the store started no named thread"
        );
        let held = use_the_store(&store);
        drop(store);
        // No waiting: drop has returned, so its threads must be done.
        assert_released(&held, &format!("round {round}"));
        let running = running_store_threads();
        assert!(
            running.is_empty(),
            "round {round}: store threads still running after drop returned: {running:?} \
             (drop must join the threads it started, not only signal them)"
        );
    }
}

/// Any store, threads or none: once dropped, it holds none of the tasks it
/// handed out, including versions replaced by updates, tasks it deleted,
/// and tasks returned in snapshots the caller has since dropped.
pub fn drop_releases_every_task<S: TaskStore>(make: &dyn Fn() -> S) {
    let store = make();
    let held = use_the_store(&store);
    drop(store);
    assert_released(&held, "after drop");
}

/// Creates, updates, deletes and reads tasks, dropping every snapshot, and
/// returns one `Arc` of every task version it was handed.
fn use_the_store<S: TaskStore>(store: &S) -> Vec<Arc<Task>> {
    let mut held = Vec::new();
    for i in 0..40 {
        held.push(store.create(draft(&format!("life{i}"))));
    }
    for id in (1..=40).step_by(3).map(TaskId) {
        let next = store.update(id, TaskPatch::set_completed(true, Timestamp(2)));
        held.push(next.expect("the task exists"));
    }
    for id in (2..=40).step_by(5).map(TaskId) {
        held.push(store.delete(id).expect("the task exists"));
    }
    held.extend(store.get(TaskId(1)));
    let all = store.get_all();
    assert_eq!(all.len(), 40 - 8, "get_all");
    drop(all);
    let snapshot = store.snapshot();
    assert_eq!(snapshot.len(), 40 - 8, "snapshot");
    drop(snapshot);
    held
}

/// Every `Arc` in `held` is the only one left (the duplicates `held` itself
/// holds aside).
fn assert_released(held: &[Arc<Task>], when: &str) {
    for task in held {
        let ours = held.iter().filter(|t| Arc::ptr_eq(t, task)).count();
        let others = Arc::strong_count(task) - ours;
        assert_eq!(
            others, 0,
            "{when}: task {} ({:?}) is still referenced {others} time(s) after the store was \
             dropped: a thread of the store still runs, or the store leaks it",
            task.id, task.title
        );
    }
}

/// Polls `condition` for up to `limit`. This bounds a wait for the OS's
/// bookkeeping; it asserts nothing about speed.
fn wait_until(limit: Duration, condition: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while !condition() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_thread_is_running_until_joined() {
        // Runs beside other unit tests of this crate, none of which name a
        // thread with the store prefix.
        if live_store_threads().is_none() {
            return;
        }
        let name = "sl-unit-test".to_owned();
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let handle = std::thread::Builder::new()
            .name(name.clone())
            .spawn(move || {
                let _ = rx.recv();
            })
            .expect("spawn");
        assert!(wait_until(Duration::from_secs(5), || {
            running_store_threads().contains(&name)
        }));
        drop(tx);
        handle.join().expect("joins");
        // At once, no waiting.
        assert!(!running_store_threads().contains(&name));
    }

    #[test]
    fn stat_lines_are_read_from_the_last_parenthesis() {
        let dir = std::env::temp_dir().join(format!("sl-stat-{}", std::process::id()));
        let task = |name: &str, line: &str| {
            let d = dir.join(name);
            std::fs::create_dir_all(&d).expect("temp dir");
            std::fs::write(d.join("stat"), line).expect("stat file");
            d
        };
        // A name with spaces and parentheses; flags is the 7th field after
        // the name: 0x400040 (not exiting), 0x400044 (exiting).
        let running = task("r", "7 (sl-a (b) c) S 1 7 7 0 -1 4194368 0 0");
        let exiting = task("e", "7 (sl-a (b) c) S 1 7 7 0 -1 4194372 0 0");
        let zombie = task("z", "7 (sl-a) Z 1 7 7 0 -1 4194368 0 0");
        let garbled = task("g", "no parenthesis here");
        assert!(is_running(&running));
        assert!(!is_running(&exiting), "PF_EXITING is set");
        assert!(!is_running(&zombie));
        assert!(is_running(&garbled), "unparsable counts as running");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn this_thread_is_running_and_a_missing_one_is_not() {
        if Path::new("/proc/thread-self/stat").exists() {
            assert!(is_running(Path::new("/proc/thread-self")));
        }
        assert!(!is_running(Path::new("/proc/self/task/does-not-exist")));
    }

    #[test]
    fn a_held_task_is_reported() {
        let task = Arc::new(crate::draft("x").into_task(TaskId(1)));
        let extra = Arc::clone(&task);
        let err = std::panic::catch_unwind(|| assert_released(std::slice::from_ref(&task), "test"))
            .expect_err("an extra reference is caught");
        drop(err);
        drop(extra);
        assert_released(&[task], "test");
    }
}
