//! Stores that own threads must stop them when dropped.
//!
//! Stores name their threads with the prefix [`THREAD_PREFIX`]; these checks
//! count live threads of this process with that prefix (Linux: from
//! `/proc/self/task/*/comm`). Run them from a test binary of their own: other
//! tests in the same process could own such threads at the same moment.

use std::time::{Duration, Instant};

use task_model::TaskStore;

use crate::draft;

/// The name prefix of every thread a storelab store spawns. Linux keeps 15
/// bytes of a thread name, so names stay short: `sl-actor`, `sl-pool-3`.
pub const THREAD_PREFIX: &str = "sl-";

/// Live threads of this process whose name starts with [`THREAD_PREFIX`];
/// `None` where the OS does not expose thread names this way.
pub fn live_store_threads() -> Option<usize> {
    let dir = std::fs::read_dir("/proc/self/task").ok()?;
    let count = dir
        .filter_map(Result::ok)
        .filter_map(|entry| std::fs::read_to_string(entry.path().join("comm")).ok())
        .filter(|name| name.starts_with(THREAD_PREFIX))
        .count();
    Some(count)
}

/// Builds a store, checks it runs at least one thread, uses it, drops it,
/// and checks that every one of its threads has exited.
pub fn threads_stop_on_drop<S: TaskStore>(make: impl Fn() -> S) {
    let Some(before) = live_store_threads() else {
        eprintln!("thread names are not readable on this OS; lifecycle check skipped");
        return;
    };
    assert_eq!(before, 0, "run this check in a test binary of its own");
    for round in 0..3 {
        let store = make();
        // A thread names itself once it runs, so its name may lag its spawn.
        assert!(
            wait_until(|| live_store_threads().unwrap_or(0) > 0),
            "round {round}: the store started no named thread"
        );
        let id = store.create(draft("x")).id;
        assert!(store.get(id).is_some());
        assert_eq!(store.get_all().len(), 1);
        drop(store);
        // Drop joins the threads; the kernel may take a moment to remove a
        // joined thread's /proc entry.
        assert!(
            wait_until(|| live_store_threads() == Some(0)),
            "round {round}: threads left behind after drop: {:?}",
            live_store_threads()
        );
    }
}

/// Polls `condition` for up to 5 seconds. This bounds a wait for the OS's
/// bookkeeping; it asserts nothing about speed.
fn wait_until(condition: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !condition() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    true
}
