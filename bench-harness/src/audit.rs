//! Phase 5, the audit: after each cell's passes, single-threaded and
//! untimed, the store must still hold what it was given. A store that fails
//! cannot have earned its figure honestly, and the run aborts. In a live key
//! space the lanes say which tasks were created and not deleted
//! ([`live`]); in a fixed one, which prefilled ids some operation could have
//! deleted ([`maybe_deleted`]).

use task_model::{TaskId, TaskPatch, TaskStore, Timestamp};
use workload::OpKind;

use crate::Plan;
use crate::bench::Bench;
use crate::cells::{PREFILL_DESCRIPTION, Prepared};
use crate::live::LiveKeys;

/// Audits `bench`, the store of `store`'s x`threads` cell (a fresh one on
/// fresh-store runs), unless it stores nothing.
pub(crate) fn after_cell(
    plan: &Plan,
    store: &Prepared,
    bench: &dyn Bench,
    threads: usize,
    maybe_deleted: &[bool],
) -> Result<(), String> {
    if store.entry.stores_nothing {
        return Ok(());
    }
    bench.audit(plan.workload.keys, maybe_deleted).map_err(|e| {
        format!(
            "store '{}' failed the post-run audit after its x{threads} cell: {e}; run aborted",
            store.entry.name
        )
    })
}

/// The audit of a live key space: between passes nothing runs, so the lanes
/// hold exactly the live tasks. A store that kept a deleted task, or lost a
/// created one, holds another count; every task the lanes hold reads back
/// (4,096 of them, spread over the lanes), so a store whose reads lose
/// tasks fails here even where the timed loop forgave its misses as races.
/// Then the fixed audit, on the prefilled ids no lane holds any more.
pub(crate) fn live<S: TaskStore>(store: &S, live: &LiveKeys, keys: u32) -> Result<(), String> {
    let (held, len) = (live.len(), store.len());
    if held != len {
        return Err(format!(
            "the store holds {len} tasks, but {held} were created and not deleted"
        ));
    }
    for id in live.sample(4_096) {
        let id = TaskId(u64::from(id));
        match store.get(id) {
            Some(task) if task.id == id => {}
            Some(task) => {
                return Err(format!("a get of live task {id} returned task {}", task.id));
            }
            None => {
                return Err(format!(
                    "task {id}, created and never deleted, cannot be read"
                ));
            }
        }
    }
    audit(store, keys, &live.deleted_prefill(keys))
}
/// `updated_at` the audit's probe updates stamp: no workload writes it.
pub const AUDIT_AT: Timestamp = Timestamp(777_777);

/// The post-run audit of one store, after a cell's timed and untimed passes,
/// single-threaded and untimed. A store that fails it cannot have earned its
/// figure honestly, and the run aborts:
/// - every prefilled task that no operation of the run could have deleted
///   (`maybe_deleted[id]` false) is present, among 4,096 spread over the id
///   space, with its prefilled title and description and a version some
///   writer wrote (`updated_at` of the prefill, the workload's updates, or
///   this audit);
/// - 64 probe updates (stamped [`AUDIT_AT`]) are seen by `get`, `get_all`
///   and `snapshot` (a store that drops updates while returning `Some`, or
///   serves a stale version, fails);
/// - `len`, `get_all` and `snapshot` agree on the count (a truncated
///   `get_all` fails).
///
/// A store outside the process that could not be reached during the cell
/// or the audit ([`TaskStore::fault`]) fails with that reason first.
pub fn audit<S: TaskStore>(store: &S, keys: u32, maybe_deleted: &[bool]) -> Result<(), String> {
    let checked = contents(store, keys, maybe_deleted);
    match store.fault() {
        Some(fault) => Err(format!("a call to the store failed: {fault}")),
        None => checked,
    }
}

/// The checks of [`audit`] on what the store holds.
fn contents<S: TaskStore>(store: &S, keys: u32, maybe_deleted: &[bool]) -> Result<(), String> {
    let kept = |id: u32| !maybe_deleted.get(id as usize).copied().unwrap_or(true);
    let step = (keys / 4_096).max(1);
    for id in (1..=keys).step_by(step as usize).filter(|id| kept(*id)) {
        let task = store
            .get(TaskId(u64::from(id)))
            .ok_or_else(|| format!("prefilled task {id}, which nothing deleted, is missing"))?;
        let written = [Timestamp(1), Timestamp(2), AUDIT_AT].contains(&task.updated_at);
        if task.id.get() != u64::from(id)
            || *task.title != *format!("task {id}")
            || &*task.description != PREFILL_DESCRIPTION
            || !written
        {
            return Err(format!(
                "task {id} holds a version no writer wrote: {task:?}"
            ));
        }
    }
    let probes: Vec<u32> = (1..=keys)
        .step_by((keys / 64).max(1) as usize)
        .filter(|id| kept(*id))
        .take(64)
        .collect();
    for &id in &probes {
        let id = TaskId(u64::from(id));
        let updated = store
            .update(id, TaskPatch::set_completed(true, AUDIT_AT))
            .ok_or_else(|| format!("update of present task {id} found nothing"))?;
        let seen = store.get(id).map(|t| t.updated_at);
        if updated.updated_at != AUDIT_AT || seen != Some(AUDIT_AT) {
            return Err(format!(
                "an update of task {id} returned {:?} but a get then saw {seen:?}: the update was lost or the read is stale",
                updated.updated_at
            ));
        }
    }
    let all = store.get_all();
    let snapshot = store.snapshot();
    let (len, listed, snapped) = (store.len(), all.len(), snapshot.len());
    if len != listed || len != snapped {
        return Err(format!(
            "len says {len}, get_all lists {listed}, snapshot holds {snapped}"
        ));
    }
    let mut in_all = 0;
    let mut in_snapshot = 0;
    for t in &all {
        in_all += usize::from(t.updated_at == AUDIT_AT);
    }
    snapshot.for_each(|t| in_snapshot += usize::from(t.updated_at == AUDIT_AT));
    if in_all < probes.len() || in_snapshot < probes.len() {
        return Err(format!(
            "{} probe updates were made; get_all shows {in_all} of them, snapshot {in_snapshot}",
            probes.len()
        ));
    }
    Ok(())
}

/// Which ids some operation of the run could have deleted: any id a delete
/// in any stream names.
pub(crate) fn maybe_deleted(plan: &Plan, streams: &[workload::Stream]) -> Vec<bool> {
    let mut v = vec![false; plan.workload.keys as usize + 1];
    for op in streams.iter().flat_map(|s| s.ops()) {
        if op.kind == OpKind::Delete
            && let Some(slot) = v.get_mut(op.id as usize)
        {
            *slot = true;
        }
    }
    v
}
