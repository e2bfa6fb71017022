//! Checks that need several threads at once. Sizes are small so the slowest
//! store (the actor) finishes each check in a second or two; the point is
//! interleavings, not load.
//!
//! The first checks look at one consequence of a race each: distinct ids,
//! the last write surviving, a read never mixing two versions, a deleted
//! task staying deleted, `get_all`'s promise. The last three
//! ([`histories_are_linearizable`], [`contended_updates_are_linearizable`],
//! [`get_all_is_linearizable`]) check the whole contract instead: threads
//! record every answer with the interval it ran in, and
//! [`linearizable`](mod@crate::linearizable) searches for one order of the
//! operations that explains them all. The final-state checks stay: they run
//! more operations per race, and name the property when they fail.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use task_model::{
    IdPolicy, SnapshotGuarantee, Task, TaskId, TaskPatch, TaskStore, TaskUpdate, Timestamp,
};

use crate::draft;
use crate::linearizable::{self, Mix};

const THREADS: usize = 4;

fn patch(title: Option<String>, description: Option<String>, completed: Option<bool>) -> TaskPatch {
    TaskUpdate {
        title,
        description,
        completed,
    }
    .validate_at(Timestamp(2))
    .expect("conformance updates are valid")
}

/// Threads creating at once all get distinct ids, as the store's
/// [`IdPolicy`] says (see [`check_created_ids`]), and every task is there
/// afterwards.
pub fn creates_get_unique_ids<S: TaskStore>(make: &dyn Fn() -> S) {
    // Not a multiple of a power of two: a store with per-thread blocks of
    // ids (of 2 or more) leaves each thread's last block partly unused,
    // so a gap shows, and a Dense store that has blocks is caught.
    const PER_THREAD: usize = 501;
    let store = make();
    let barrier = Barrier::new(THREADS);
    let ids: Vec<Vec<TaskId>> = thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (store, barrier) = (&store, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    (0..PER_THREAD)
                        .map(|i| store.create(draft(&format!("t{t}-{i}"))).id)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("creator panicked"))
            .collect()
    });
    if let Err(why) = check_created_ids(&ids, S::IDS) {
        panic!("{why}");
    }
    assert_eq!(
        store.len(),
        THREADS * PER_THREAD,
        "len after concurrent creates"
    );
    for (t, ids) in ids.iter().enumerate() {
        for (i, id) in ids.iter().enumerate() {
            let task = store.get(*id).expect("created task is readable");
            assert_eq!(
                &*task.title,
                format!("t{t}-{i}"),
                "task {id} has another's title"
            );
        }
    }
    assert_eq!(store.get_all().len(), THREADS * PER_THREAD);
}

/// Whether the ids threads got from concurrent creates on a fresh store
/// (`per_thread[t]`: thread `t`'s, in the order it created) fit `policy`:
///
/// - always: no id twice, and each thread's ids increase (a thread's next
///   create starts after its last returned);
/// - [`IdPolicy::Dense`]: the ids are exactly `1..=n`, for `n` creates;
/// - [`IdPolicy::Blocks`]: every id is at least 1, and none is above
///   `size` times the blocks the threads needed, `ceil(creates / size)`
///   each (every thread started with no block on the store and created
///   nowhere else, so gave none up): at most `size - 1` unused ids per
///   thread.
///
/// The error names the first rule broken.
pub fn check_created_ids(per_thread: &[Vec<TaskId>], policy: IdPolicy) -> Result<(), String> {
    let n: usize = per_thread.iter().map(Vec::len).sum();
    let all: HashSet<TaskId> = per_thread.iter().flatten().copied().collect();
    if all.len() != n {
        return Err(format!(
            "two creates got the same id: {} distinct ids for {n} creates",
            all.len()
        ));
    }
    for (t, ids) in per_thread.iter().enumerate() {
        if let Some(w) = ids.windows(2).find(|w| w[0] >= w[1]) {
            return Err(format!(
                "thread {t} got id {} after {}: one thread's ids must increase",
                w[1], w[0]
            ));
        }
    }
    match policy {
        IdPolicy::Dense => {
            let expected: HashSet<TaskId> = (1..=n as u64).map(TaskId).collect();
            if all != expected {
                let mut extra: Vec<&TaskId> = all.difference(&expected).collect();
                extra.sort_unstable();
                extra.truncate(8);
                return Err(format!(
                    "ids are the dense range 1..={n} for a Dense store; outside it: {extra:?}"
                ));
            }
        }
        IdPolicy::Blocks { size } => {
            assert!(size >= 1, "a Blocks store declares blocks of at least 1 id");
            if all.contains(&TaskId(0)) {
                return Err("a create got id 0: ids start at 1".into());
            }
            let blocks: u64 = per_thread
                .iter()
                .map(|ids| (ids.len() as u64).div_ceil(size))
                .sum();
            let highest = all.iter().max().map_or(0, |id| id.get());
            if highest > blocks * size {
                return Err(format!(
                    "id {highest} is above the {blocks} blocks of {size} the threads needed (at most {}): a gap larger than size - 1 per thread",
                    blocks * size
                ));
            }
        }
    }
    Ok(())
}

/// Each thread updates its own tasks; every last write survives.
pub fn updates_to_disjoint_tasks_are_not_lost<S: TaskStore>(make: &dyn Fn() -> S) {
    const TASKS_PER_THREAD: usize = 64;
    const ROUNDS: usize = 20;
    let store = make();
    let owned: Vec<Vec<TaskId>> = (0..THREADS)
        .map(|t| {
            (0..TASKS_PER_THREAD)
                .map(|i| store.create(draft(&format!("init{t}-{i}"))).id)
                .collect()
        })
        .collect();
    let barrier = Barrier::new(THREADS);
    thread::scope(|s| {
        for ids in &owned {
            let (store, barrier) = (&store, &barrier);
            s.spawn(move || {
                barrier.wait();
                for round in 0..ROUNDS {
                    for id in ids {
                        let p = patch(Some(format!("{id}-r{round}")), None, Some(round % 2 == 1));
                        assert!(store.update(*id, p).is_some(), "task {id} vanished");
                    }
                }
            });
        }
    });
    for id in owned.iter().flatten() {
        let task = store.get(*id).expect("task still there");
        assert_eq!(
            &*task.title,
            format!("{id}-r{}", ROUNDS - 1),
            "lost update on {id}"
        );
        assert_eq!(task.completed, (ROUNDS - 1) % 2 == 1, "lost update on {id}");
    }
}

/// Two threads patch different fields of the same task at once. An update is
/// an atomic read-modify-write, so neither field's last write may be lost.
pub fn updates_to_one_task_are_atomic<S: TaskStore>(make: &dyn Fn() -> S) {
    const ROUNDS: usize = 2_000;
    let store = make();
    let id = store.create(draft("shared")).id;
    let barrier = Barrier::new(2);
    // Each thread owns one field, so between two of its own updates its
    // field must still hold what it last wrote: a loss anywhere in the run
    // shows at the thread's next round, not only if it hit the last write.
    let writer = |field: Field| {
        let (store, barrier) = (&store, &barrier);
        move || -> Option<String> {
            barrier.wait();
            let mut lost = None;
            for i in 0..ROUNDS {
                if i > 0 && lost.is_none() {
                    let now = store.get(id).map(|t| field.read(&t).to_owned());
                    let want = field.value(i - 1);
                    if now.as_deref() != Some(want.as_str()) {
                        lost = Some(format!(
                            "a {} update was lost: {want} became {now:?}",
                            field.name()
                        ));
                    }
                }
                store.update(id, field.patch(i));
            }
            lost
        }
    };
    let (a, b) = thread::scope(|s| {
        let a = s.spawn(writer(Field::Title));
        let b = s.spawn(writer(Field::Description));
        (a.join().ok().flatten(), b.join().ok().flatten())
    });
    if let Some(why) = a.or(b) {
        panic!("{why}");
    }
    let task = store.get(id).expect("task still there");
    assert_eq!(
        &*task.title,
        Field::Title.value(ROUNDS - 1),
        "a title update was lost"
    );
    assert_eq!(
        &*task.description,
        Field::Description.value(ROUNDS - 1),
        "a description update was lost"
    );
}

/// The field each writer of [`updates_to_one_task_are_atomic`] owns.
#[derive(Clone, Copy)]
enum Field {
    Title,
    Description,
}

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::Title => "title",
            Field::Description => "description",
        }
    }

    fn value(self, i: usize) -> String {
        match self {
            Field::Title => format!("a{i}"),
            Field::Description => format!("b{i}"),
        }
    }

    fn read(self, task: &Task) -> &str {
        match self {
            Field::Title => &task.title,
            Field::Description => &task.description,
        }
    }

    fn patch(self, i: usize) -> TaskPatch {
        match self {
            Field::Title => patch(Some(self.value(i)), None, None),
            Field::Description => patch(None, Some(self.value(i)), None),
        }
    }
}

/// Readers running beside writers see only versions some writer stored: the
/// title, description and completed flag of one version always agree.
pub fn readers_see_only_written_versions<S: TaskStore>(make: &dyn Fn() -> S) {
    const TASKS: u64 = 16;
    const WRITES: usize = 2_000;
    let store = make();
    for i in 0..TASKS {
        store.create(draft(&format!("v0-{}", i + 1)));
    }
    let done = AtomicBool::new(false);
    thread::scope(|s| {
        let (store, done) = (&store, &done);
        let writers: Vec<_> = (0..2u64)
            .map(|w| {
                s.spawn(move || {
                    for n in 0..WRITES {
                        let id = TaskId(1 + (n as u64 * 7 + w) % TASKS);
                        let v = n + 1;
                        // One version: title, description and flag all encode v.
                        let p = patch(
                            Some(format!("v{v}-{id}")),
                            Some(format!("d{v}")),
                            Some(v % 2 == 0),
                        );
                        // No task is deleted here: every write lands.
                        assert!(store.update(id, p).is_some(), "task {id} vanished");
                    }
                })
            })
            .collect();
        for _ in 0..2 {
            s.spawn(move || {
                let mut reads = 0u64;
                while !done.load(Ordering::Relaxed) || reads < 1_000 {
                    let id = TaskId(1 + reads % TASKS);
                    let task = store.get(id).expect("no task is deleted here");
                    check_version(id, &task.title, &task.description, task.completed);
                    store.get_with(id, |t| {
                        check_version(id, &t.title, &t.description, t.completed)
                    });
                    reads += 1;
                }
            });
        }
        for w in writers {
            w.join().expect("writer panicked");
        }
        // Writers are finished; let the readers stop.
        done.store(true, Ordering::Relaxed);
    });

    fn check_version(id: TaskId, title: &str, description: &str, completed: bool) {
        let (v, rest) = title
            .strip_prefix('v')
            .and_then(|t| t.split_once('-'))
            .unwrap_or_else(|| panic!("task {id} has a title no writer wrote: {title:?}"));
        assert_eq!(
            rest,
            id.to_string(),
            "task {id} carries another task's title"
        );
        let v: usize = v.parse().expect("numeric version");
        if v == 0 {
            assert_eq!(
                (description, completed),
                ("", false),
                "torn initial version of {id}"
            );
        } else {
            assert_eq!(description, format!("d{v}"), "torn version of task {id}");
            assert_eq!(completed, v.is_multiple_of(2), "torn version of task {id}");
        }
    }
}

/// `get_all` beside creators, updaters and deleters: no duplicate, no
/// phantom, every stable task present; and for an `Atomic` store, the tasks
/// one sequential creator made always appear as a prefix.
pub fn get_all_keeps_its_snapshot_promise<S: TaskStore>(make: &dyn Fn() -> S) {
    const STABLE: u64 = 200;
    const DOOMED: u64 = 100;
    const CREATES: usize = 600;
    let store = make();
    // ids 1..=STABLE are never deleted; the next DOOMED ids are deleted while
    // snapshots run.
    for i in 1..=STABLE + DOOMED {
        store.create(draft(&format!("pre{i}")));
    }
    let done = AtomicBool::new(false);
    let snapshots = thread::scope(|s| {
        let (store, done) = (&store, &done);
        let snapshotter = s.spawn(move || {
            let mut snaps = Vec::new();
            // Alternate get_all and snapshot: both keep the same promise.
            while !done.load(Ordering::Acquire) || snaps.len() < 4 {
                snaps.push(store.get_all());
                snaps.push(store.snapshot().to_vec());
            }
            snaps
        });
        let creator = s.spawn(move || {
            (0..CREATES)
                .map(|i| store.create(draft(&format!("new{i}"))).id)
                .collect::<Vec<_>>()
        });
        let mutator = s.spawn(move || {
            for i in 1..=DOOMED {
                store.delete(TaskId(STABLE + i));
                store.update(TaskId(i), patch(None, None, Some(true)));
            }
        });
        let created = creator.join().expect("creator panicked");
        mutator.join().expect("mutator panicked");
        done.store(true, Ordering::Release);
        (created, snapshotter.join().expect("snapshotter panicked"))
    });
    let (created, snaps) = snapshots;
    let created_rank: HashMap<TaskId, usize> =
        created.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    for snap in &snaps {
        check_snapshot(
            snap,
            &created_rank,
            (STABLE, DOOMED),
            S::SNAPSHOT == SnapshotGuarantee::Atomic,
        );
    }
    assert_eq!(store.len(), (STABLE as usize) + CREATES);
}

/// One snapshot of [`get_all_keeps_its_snapshot_promise`]: no duplicate, no
/// phantom, every one of ids 1..=`stable` present (the next `doomed` ids
/// may be gone), and, for an `atomic` store, one creator's tasks as a
/// prefix of its creates (`created_rank`: each created id's rank).
fn check_snapshot(
    snap: &[Arc<Task>],
    created_rank: &HashMap<TaskId, usize>,
    (stable, doomed): (u64, u64),
    atomic: bool,
) {
    let mut seen = HashSet::new();
    let mut newest_rank: Option<usize> = None;
    let mut new_count = 0usize;
    for task in snap {
        assert!(
            seen.insert(task.id),
            "get_all returned task {} twice",
            task.id
        );
        let id = task.id.get();
        if id <= stable + doomed {
            assert_eq!(&*task.title, format!("pre{id}"), "phantom version of {id}");
            if id > doomed {
                assert!(!task.completed, "task {id} was never updated");
            }
        } else {
            let rank = *created_rank
                .get(&task.id)
                .unwrap_or_else(|| panic!("get_all returned task {id}, which nobody created"));
            assert_eq!(
                &*task.title,
                format!("new{rank}"),
                "phantom version of {id}"
            );
            newest_rank = newest_rank.max(Some(rank));
            new_count += 1;
        }
    }
    for id in 1..=stable {
        assert!(
            seen.contains(&TaskId(id)),
            "get_all missed task {id}, which existed throughout"
        );
    }
    if atomic {
        let want = newest_rank.map_or(0, |r| r + 1);
        assert_eq!(
            new_count, want,
            "an Atomic snapshot must hold every earlier create of one creator"
        );
    }
}

/// Deletes racing with reads and updates of the same ids: a deleted task
/// stays deleted (an update must not resurrect it), and nothing panics.
pub fn deletes_race_with_readers_and_updates<S: TaskStore>(make: &dyn Fn() -> S) {
    // Each race is short (a deleter is quick), so a few are run, each on a
    // fresh store: one that overlaps badly is enough to show a resurrection.
    for _ in 0..RACES {
        delete_race(make);
    }
}

/// Races of [`deletes_race_with_readers_and_updates`].
const RACES: usize = 20;

fn delete_race<S: TaskStore>(make: &dyn Fn() -> S) {
    const TASKS: u64 = 300;
    let store = make();
    for i in 1..=TASKS {
        store.create(draft(&format!("x{i}")));
    }
    // All three start together: without the barrier the deleter, spawned
    // first, can finish before the others start, and nothing races.
    let barrier = Barrier::new(3);
    thread::scope(|s| {
        let (store, barrier) = (&store, &barrier);
        s.spawn(move || {
            barrier.wait();
            for id in (1..=TASKS).map(TaskId) {
                assert!(
                    store.delete(id).is_some(),
                    "first delete of {id} found nothing"
                );
            }
        });
        s.spawn(move || {
            barrier.wait();
            for round in 0..3 {
                for id in (1..=TASKS).map(TaskId) {
                    if let Some(t) = store.update(id, patch(None, None, Some(round % 2 == 0))) {
                        assert_eq!(t.id, id);
                    }
                }
            }
        });
        s.spawn(move || {
            barrier.wait();
            for id in (1..=TASKS).rev().map(TaskId) {
                if let Some(t) = store.get(id) {
                    assert_eq!(t.id, id);
                }
            }
        });
    });
    assert_eq!(store.len(), 0, "an update resurrected a deleted task");
    assert!(store.get_all().is_empty());
    for id in (1..=TASKS).map(TaskId) {
        assert!(store.get(id).is_none(), "task {id} came back");
        assert!(store.delete(id).is_none());
    }
}

/// Mixed programs (create, get, get_with, update, delete, len) over a few
/// ids, checked for linearizability: every answer, not only the final
/// state, must fit one order of the operations. Covers what the
/// final-state checks above look at and what they cannot see: a lost update
/// that a later update overwrote, a read served stale after the write it
/// follows returned, a create whose id comes back twice.
pub fn histories_are_linearizable<S: TaskStore>(make: &dyn Fn() -> S) {
    linearizable::check_histories(make, Mix::Mixed, 1 << 32, linearizable::histories());
}

/// Three threads patching, reading and now and then deleting the same
/// task, checked for linearizability: no patch is applied to a stale copy
/// (the lost update of [`updates_to_one_task_are_atomic`], now seen in the
/// very answers), no read returns a version no order allows (stale or torn,
/// as in [`readers_see_only_written_versions`]), and no update finds a task
/// whose delete has returned (the resurrection of
/// [`deletes_race_with_readers_and_updates`]).
pub fn contended_updates_are_linearizable<S: TaskStore>(make: &dyn Fn() -> S) {
    linearizable::check_histories(make, Mix::Contended, 2 << 32, linearizable::histories());
}

/// One thread takes `get_all`s, `snapshot`s and `len`s while two others
/// update, create and delete; each answer must be what the store's
/// [`SnapshotGuarantee`] allows at some point of the call (see
/// [`linearizable`]). An `Atomic` store whose `get_all` lists ids under one
/// lock and fetches the tasks afterwards passes
/// [`get_all_keeps_its_snapshot_promise`] but fails here.
pub fn get_all_is_linearizable<S: TaskStore>(make: &dyn Fn() -> S) {
    linearizable::check_histories(make, Mix::Snapshots, 3 << 32, linearizable::histories());
}

#[cfg(test)]
mod tests {
    //! [`check_created_ids`] on hand-made ids: each refusal test fails if
    //! the check accepts them.

    use super::*;

    fn ids(per_thread: &[&[u64]]) -> Vec<Vec<TaskId>> {
        per_thread
            .iter()
            .map(|t| t.iter().copied().map(TaskId).collect())
            .collect()
    }

    const BLOCKS: IdPolicy = IdPolicy::Blocks { size: 4 };

    #[test]
    fn dense_ids_pass_either_policy() {
        let got = ids(&[&[1, 3, 5], &[2, 4, 6]]);
        check_created_ids(&got, IdPolicy::Dense).expect("1..=6");
        check_created_ids(&got, BLOCKS).expect("no gap is a gap of at most 3");
    }

    #[test]
    fn gaps_within_the_blocks_bound_pass_for_blocks_only() {
        // Blocks of 4: thread 0 holds 1..=4 and uses 3 of it, thread 1 holds
        // 5..=8 then 9..=12 and uses 6: 3 blocks needed, ids up to 12.
        let got = ids(&[&[1, 2, 3], &[5, 6, 7, 8, 9, 12]]);
        check_created_ids(&got, BLOCKS).expect("gaps of at most 3 per thread");
        let why = check_created_ids(&got, IdPolicy::Dense).expect_err("gaps in a Dense store");
        assert!(why.contains("dense range 1..=9"), "{why}");
    }

    #[test]
    fn a_gap_past_the_blocks_needed_fails() {
        // 3 blocks of 4 needed (ids up to 12); 13 is past them.
        let got = ids(&[&[1, 2, 3], &[5, 6, 7, 8, 9, 13]]);
        let why = check_created_ids(&got, BLOCKS).expect_err("a gap of a whole block");
        assert!(why.contains("above the 3 blocks of 4"), "{why}");
    }

    #[test]
    fn a_repeated_id_a_zero_or_a_decrease_fails_for_either_policy() {
        for policy in [IdPolicy::Dense, BLOCKS] {
            let twice = ids(&[&[1, 2], &[2, 3]]);
            let why = check_created_ids(&twice, policy).expect_err("id 2 twice");
            assert!(why.contains("two creates got the same id"), "{why}");
            let down = ids(&[&[2, 1], &[3, 4]]);
            let why = check_created_ids(&down, policy).expect_err("2 then 1");
            assert!(why.contains("one thread's ids must increase"), "{why}");
        }
        let zero = ids(&[&[0, 1], &[5]]);
        let why = check_created_ids(&zero, BLOCKS).expect_err("id 0");
        assert!(why.contains("ids start at 1"), "{why}");
    }
}
