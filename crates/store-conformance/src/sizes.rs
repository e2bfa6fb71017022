//! Sizes past every boundary, one thread.
//!
//! The other checks keep stores small, and small stores never reach the
//! places where a store's layout changes: the end of a chunk (the dense
//! store holds 4,096 slots per chunk), the end of a shard's first table, the
//! largest value of a small counter (a `u16` wraps at 65,536). A store that
//! is right up to there and wrong after passes every other check.
//!
//! [`sizes_past_every_boundary`] creates 70,000 tasks, deletes some in
//! patterns that cross those boundaries (the first and last slot of every
//! 4,096-slot run, a run across a chunk edge, a run across 65,536, one whole
//! chunk), updates others (every field, deleted ids included), creates more
//! after the deletes, and compares `len` (after each phase), `get` around
//! every boundary and at a spread of other ids, and all of `get_all` and
//! `snapshot` with a model: ids, every field, and counts. It runs on one
//! thread against a plain vector model, and does few operations beyond the
//! 70,000 creates, so it costs about what those creates cost (seconds only
//! for a store whose every call is a cross-thread hop).

use std::sync::Arc;

use task_model::{NewTask, Task, TaskId, TaskStore, TaskUpdate, Timestamp};

/// Tasks created first: past 65,536 and past 17 chunks of 4,096.
pub const TASKS: u64 = 70_000;
/// Tasks created after the deletes (their ids continue from [`TASKS`]).
pub const LATE_TASKS: u64 = 500;
/// The run length the patterns are aligned to: the dense store's chunk.
const RUN: u64 = 4_096;

/// Whether `id` is within 3 of a boundary: a multiple of [`RUN`] (which
/// 65,536 is too).
fn near_boundary(id: u64) -> bool {
    let r = id % RUN;
    r <= 3 || r >= RUN - 3
}

/// Whether id `id` is deleted, by pattern.
fn doomed(id: u64) -> bool {
    let slot = (id - 1) % RUN;
    // The first and the last slot of every run.
    let edge = slot == 0 || slot == RUN - 1;
    // A run across the edge at 8,192, one across 65,536, the whole fourth run.
    let run = (8_180..=8_200).contains(&id)
        || (65_530..=65_545).contains(&id)
        || (3 * RUN + 1..=4 * RUN).contains(&id);
    edge || run
}

/// Whether id `id` is updated (deleted ones too: the update must find
/// nothing), and with which fields.
fn patch_for(id: u64) -> Option<TaskUpdate> {
    (id.is_multiple_of(64) || near_boundary(id)).then(|| TaskUpdate {
        title: (!id.is_multiple_of(3)).then(|| format!("u{id}")),
        description: match id % 5 {
            0 => Some(String::new()),
            1 => None,
            _ => Some(format!("ud{id}")),
        },
        completed: (id % 7 != 1).then_some(id.is_multiple_of(2)),
    })
}

/// Whether `get(id)` is checked one by one (`get_all` and `snapshot` check
/// every task): around every boundary, and a spread of the rest.
fn probed(id: u64) -> bool {
    near_boundary(id) || id.is_multiple_of(61) || id > TASKS
}

fn draft(id: u64) -> task_model::TaskDraft {
    NewTask {
        title: format!("n{id}"),
        description: (!id.is_multiple_of(2)).then(|| format!("d{id}")),
        completed: Some(id.is_multiple_of(7)),
    }
    .validate_at(Timestamp(id))
    .expect("valid draft")
}

/// Creates, deletes and updates past every boundary; see the module docs.
pub fn sizes_past_every_boundary<S: TaskStore>(make: &dyn Fn() -> S) {
    let store = make();
    // model[id - 1]: what task `id` must be, `None` once deleted.
    let mut model: Vec<Option<Task>> = Vec::with_capacity((TASKS + LATE_TASKS) as usize);
    let create = |id: u64, model: &mut Vec<Option<Task>>| {
        let draft = draft(id);
        let got = store.create(draft.clone());
        let want = draft.into_task(TaskId(id));
        assert_eq!(*got, want, "create #{id}");
        model.push(Some(want));
    };
    for id in 1..=TASKS {
        create(id, &mut model);
    }
    assert_eq!(store.len(), TASKS as usize, "len after {TASKS} creates");
    // Every run is full now; after the deletes none is.
    whole_store_matches(&store, &model, "after the creates");

    let mut deleted = 0usize;
    for id in (1..=TASKS).filter(|&id| doomed(id)) {
        let got = store.delete(TaskId(id));
        let want = model[id as usize - 1].take();
        assert_eq!(got.as_deref(), want.as_ref(), "delete({id})");
        deleted += 1;
    }
    assert_eq!(
        store.len(),
        TASKS as usize - deleted,
        "len after {deleted} deletes"
    );

    for id in 1..=TASKS {
        let Some(update) = patch_for(id) else {
            continue;
        };
        let patch = update
            .validate_at(Timestamp(TASKS + id))
            .expect("valid patch");
        let got = store.update(TaskId(id), patch.clone());
        let slot = &mut model[id as usize - 1];
        let want = slot.as_ref().map(|t| t.patched(&patch));
        assert_eq!(got.as_deref(), want.as_ref(), "update({id})");
        if want.is_some() {
            *slot = want;
        }
    }

    for id in TASKS + 1..=TASKS + LATE_TASKS {
        create(id, &mut model);
    }
    assert!(!store.is_empty());

    for (i, want) in model.iter().enumerate() {
        let id = i as u64 + 1;
        if probed(id) {
            let got = store.get(TaskId(id));
            assert_eq!(got.as_deref(), want.as_ref(), "get({id})");
        }
    }
    for id in [0, TASKS + LATE_TASKS + 1, u64::from(u32::MAX) + 1, u64::MAX] {
        assert!(store.get(TaskId(id)).is_none(), "get({id}): never created");
    }

    whole_store_matches(&store, &model, "at the end");
}

/// `len`, `get_all` and `snapshot` hold exactly the model's live tasks.
fn whole_store_matches<S: TaskStore>(store: &S, model: &[Option<Task>], when: &str) {
    let live = model.iter().flatten().count();
    assert_eq!(store.len(), live, "len {when}");
    matches_model(
        &format!("get_all {when}"),
        store.get_all().iter(),
        model,
        live,
    );
    let snapshot = store.snapshot();
    assert_eq!(snapshot.len(), live, "snapshot len {when}");
    matches_model(&format!("snapshot {when}"), snapshot.iter(), model, live);
}

/// Every task in `tasks` is the model's version, none twice, and there are
/// `live` of them. Checked by indexing the model by id (no sort: this runs
/// on 70,000 tasks in a debug build), naming the first wrong task rather
/// than printing them all.
fn matches_model<'a>(
    what: &str,
    tasks: impl Iterator<Item = &'a Arc<Task>>,
    model: &[Option<Task>],
    live: usize,
) {
    let mut seen = vec![false; model.len()];
    let mut count = 0usize;
    for task in tasks {
        let id = task.id;
        let i = usize::try_from(id.get())
            .ok()
            .and_then(|id| id.checked_sub(1))
            .filter(|&i| i < model.len())
            .unwrap_or_else(|| panic!("{what}: task {id} was never created"));
        let want = model[i]
            .as_ref()
            .unwrap_or_else(|| panic!("{what}: task {id} was deleted"));
        assert!(!seen[i], "{what}: task {id} returned twice");
        seen[i] = true;
        assert_eq!(&**task, want, "{what}: task {id}");
        count += 1;
    }
    if count != live {
        let missing = model
            .iter()
            .zip(&seen)
            .position(|(want, seen)| want.is_some() && !seen)
            .map_or(0, |i| i + 1);
        panic!("{what}: {count} tasks, not {live}; task {missing} is missing");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_patterns_cross_every_boundary() {
        let deleted: Vec<u64> = (1..=TASKS).filter(|&id| doomed(id)).collect();
        for id in [1, RUN, RUN + 1, 8_192, 8_193, 65_536, 65_537] {
            assert!(deleted.contains(&id), "{id} is not deleted");
            assert!(patch_for(id).is_some() && probed(id), "{id}");
        }
        assert!(!doomed(2) && !doomed(RUN + 2) && !doomed(RUN * 4 + 2));
        assert!(deleted.len() > RUN as usize, "a whole run is deleted");
        // The total passes 65,536 before the deletes.
        assert!(TASKS > u64::from(u16::MAX) + 1);
        assert!(patch_for(64).is_some() && patch_for(65).is_none());
        // Patches set, clear and keep the description.
        let descriptions: Vec<Option<String>> = (1..=TASKS)
            .filter_map(patch_for)
            .map(|p| p.description)
            .collect();
        assert!(descriptions.contains(&None) && descriptions.contains(&Some(String::new())));
    }
}
