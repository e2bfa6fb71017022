//! Fixtures for the gungraun benchmarks in `benches/ops.rs`: small prefilled
//! stores and the operations the gate counts.
//!
//! Valgrind runs one thread at a time, so these counts speak only of
//! single-thread cost: instructions (callgrind) and heap blocks (DHAT), both
//! deterministic for a given binary, which is what a CI gate on a noisy
//! machine can trust. Wall-clock and contention are the harness's job.

use std::hint::black_box;
use std::sync::Arc;

use task_model::{NewTask, Task, TaskDraft, TaskId, TaskPatch, TaskStore, Timestamp};

/// Tasks in each fixture store.
pub const TASKS: u64 = 1_000;
/// Operations per measured batch.
pub const OPS: u64 = 100;

/// A draft with a fixed title and time, so counts do not depend on the clock.
pub fn draft(i: u64) -> TaskDraft {
    NewTask {
        title: format!("task {i}"),
        ..Default::default()
    }
    .validate_at(Timestamp(1))
    .expect("valid fixture title")
}

/// A store holding tasks 1..=TASKS.
pub fn prefilled<S: TaskStore>(store: S) -> S {
    for i in 1..=TASKS {
        store.create(draft(i));
    }
    store
}

/// A fixed, scattered sequence of existing ids (a multiplicative walk).
#[inline]
fn id(k: u64) -> TaskId {
    TaskId(1 + (k * 7_919) % TASKS)
}

/// OPS reads of existing tasks.
pub fn gets<S: TaskStore>(store: &S) -> u64 {
    let mut sum = 0;
    for k in 0..OPS {
        sum += store.get(black_box(id(k))).map_or(0, |t| t.id.get());
    }
    sum
}

/// OPS updates of existing tasks.
pub fn updates<S: TaskStore>(store: &S) -> u64 {
    let patch = TaskPatch::set_completed(true, Timestamp(2));
    let mut sum = 0;
    for k in 0..OPS {
        sum += store
            .update(black_box(id(k)), patch.clone())
            .map_or(0, |t| t.id.get());
    }
    sum
}

/// OPS creates of a prepared draft.
pub fn creates<S: TaskStore>(store: &S, draft: &TaskDraft) -> Vec<Arc<Task>> {
    (0..OPS)
        .map(|_| store.create(black_box(draft.clone())))
        .collect()
}

/// OPS deletes of distinct existing tasks.
pub fn deletes<S: TaskStore>(store: &S) -> Vec<Arc<Task>> {
    (1..=OPS)
        .filter_map(|i| store.delete(black_box(TaskId(i))))
        .collect()
}

/// One get_all over TASKS tasks.
pub fn get_all<S: TaskStore>(store: &S) -> Vec<Arc<Task>> {
    store.get_all()
}
