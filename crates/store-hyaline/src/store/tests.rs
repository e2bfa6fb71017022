//! The store's own logic: retirement in batches, the striped count, the
//! id blocks, the walks, the drop. The conformance suite (through the catalog, and
//! `tests/conformance.rs` across chunks) covers the contract.

use super::*;
use task_model::{NewTask, Timestamp};

fn draft(i: u32) -> TaskDraft {
    NewTask {
        title: format!("t{i}"),
        ..Default::default()
    }
    .validate_at(Timestamp(1))
    .expect("valid")
}

fn patch(at: u64) -> TaskPatch {
    TaskPatch::set_completed(at.is_multiple_of(2), Timestamp(at))
}

/// Strong counts of `held`, in order.
fn counts(held: &[Arc<Task>]) -> Vec<usize> {
    held.iter().map(Arc::strong_count).collect()
}

#[test]
fn an_update_leaves_readers_their_version_and_retires_the_old_one() {
    let store = HyalineStore::with_capacity(4);
    let first = store.create(draft(0));
    let held = store.get(first.id).expect("present");
    assert_eq!(Arc::strong_count(&first), 3, "first, held, the slot's");
    let next = store
        .update(first.id, TaskPatch::set_completed(true, Timestamp(2)))
        .expect("updated");
    assert!(!held.completed && next.completed);
    assert!(store.get_with(first.id, |t| t.completed).expect("present"));
    // The slot's reference to the old version is retired, not dropped: it
    // waits in this thread's batch.
    assert_eq!(Arc::strong_count(&held), 3, "held, first, the retired one");
    assert_eq!(Arc::strong_count(&next), 2, "next and the slot's");
}

#[test]
fn a_visit_touches_no_count_and_misses_write_nothing() {
    let store = HyalineStore::with_capacity(1);
    let task = store.create(draft(7));
    assert_eq!(store.get_with(task.id, |t| t.title.len()), Some(2));
    assert_eq!(Arc::strong_count(&task), 2, "ours and the slot's: no clone");
    for missing in [0, 2, u64::MAX, 10 * CHUNK_SLOTS as u64] {
        let id = TaskId(missing);
        assert!(store.get(id).is_none() && store.get_with(id, |_| ()).is_none());
        assert!(store.update(id, patch(2)).is_none() && store.delete(id).is_none());
    }
    assert_eq!(store.len(), 1);
}

#[test]
fn a_full_batch_is_freed_when_its_retiring_call_returns() {
    let store = HyalineStore::new();
    let first = store.create(draft(0));
    let mut held = vec![first.clone()];
    for at in 2..=BATCH as u64 {
        held.push(store.update(first.id, patch(at)).expect("updated"));
    }
    // BATCH versions, BATCH - 1 of them replaced: each still held by us
    // and by its retired slot reference; the newest by us and the slot.
    let before = counts(&held);
    assert_eq!(before[0], 3, "first, held[0], retired");
    assert!(before[1..].iter().all(|&c| c == 2), "{before:?}");
    // The BATCH-th retirement fills the batch; this thread is the only one
    // active, so the batch is freed when the update's guard is dropped.
    held.push(store.update(first.id, patch(1_000)).expect("updated"));
    let after = counts(&held);
    assert_eq!(after[0], 2, "first and held[0]");
    assert!(
        after[1..BATCH].iter().all(|&c| c == 1),
        "the batch's versions are freed: {after:?}"
    );
    assert_eq!(after[BATCH], 2, "the newest version: ours and the slot's");
}

#[test]
fn a_delete_returns_the_last_version_and_retires_the_slots_reference() {
    let store = HyalineStore::with_capacity(8);
    let ids: Vec<TaskId> = (0..3).map(|i| store.create(draft(i)).id).collect();
    let gone = store.delete(ids[1]).expect("deleted");
    assert_eq!(gone.title.as_ref(), "t1");
    assert_eq!(Arc::strong_count(&gone), 2, "ours and the retired one");
    assert!(store.get(ids[1]).is_none() && store.delete(ids[1]).is_none());
    assert!(store.update(ids[1], patch(4)).is_none(), "no resurrection");
    assert_eq!(store.len(), 2);
    assert_eq!(store.create(draft(9)).id, TaskId(4), "ids are never reused");
    assert_eq!(store.len(), 3);
}

#[test]
fn a_batch_of_one_frees_each_version_at_once() {
    let store = HyalineStore::with_batch(1, 1);
    let first = store.create(draft(0));
    let next = store.update(first.id, patch(2)).expect("updated");
    assert_eq!(Arc::strong_count(&first), 1, "retired and freed");
    let gone = store.delete(first.id).expect("deleted");
    assert!(Arc::ptr_eq(&gone, &next));
    assert_eq!(Arc::strong_count(&next), 2, "next and gone");
}

#[test]
fn chunk_of_the_walks_and_get_all_cover_every_chunk() {
    let store = HyalineStore::with_capacity(CHUNK_SLOTS + 2);
    assert_eq!(store.chunk_of(TaskId(1)), (0, 1), "no ids yet: one chunk");
    assert_eq!(store.walk(), 0);
    for i in 0..(CHUNK_SLOTS as u32 + 2) {
        store.create(draft(i));
    }
    // The boundaries are chunk-dir's to test; this is the delegation.
    assert_eq!(store.chunk_of(TaskId(CHUNK_SLOTS as u64 + 1)), (1, 2));
    store.delete(TaskId(3));
    let mut seen = Vec::new();
    store.for_each_task(|t| seen.push(t.id.get()));
    assert_eq!(seen.len(), CHUNK_SLOTS + 1);
    assert!(!seen.contains(&3) && seen.contains(&(CHUNK_SLOTS as u64 + 2)));
    assert_eq!(store.walk(), CHUNK_SLOTS + 1);
    let mut all: Vec<u64> = store.get_all().iter().map(|t| t.id.get()).collect();
    all.sort_unstable();
    seen.sort_unstable();
    assert_eq!(all, seen);
    assert_eq!(store.len(), CHUNK_SLOTS + 1);
}

#[test]
fn len_is_exact_when_creates_and_deletes_ran_on_other_threads() {
    let store = HyalineStore::new();
    let ids: Vec<TaskId> = std::thread::scope(|s| {
        let made: Vec<_> = (0..4u32)
            .map(|t| {
                let store = &store;
                s.spawn(move || {
                    (0..50)
                        .map(|i| store.create(draft(t * 100 + i)).id)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        made.into_iter()
            .flat_map(|h| h.join().expect("creator"))
            .collect::<Vec<TaskId>>()
    });
    assert_eq!(store.len(), 200);
    // Deleted on other threads than the ones that created them: the
    // creators' stripes stay up, the deleters' go negative, the sum is
    // the count.
    std::thread::scope(|s| {
        for half in ids.chunks(100) {
            let store = &store;
            s.spawn(move || {
                for id in half.iter().step_by(2) {
                    assert!(store.delete(*id).is_some());
                }
            });
        }
    });
    assert_eq!(store.len(), 100);
    assert!(
        store.live.stripes().iter().any(|&s| s < 0),
        "a deleter's stripe"
    );
    assert_eq!(store.get_all().len(), 100);
    assert_eq!(store.walk(), 100);
}

#[test]
fn ids_come_from_per_thread_blocks_with_gaps_that_len_and_get_all_skip() {
    let store = HyalineStore::new();
    let block = ID_BLOCK;
    // Alone, one thread counts up through its blocks.
    let mine: Vec<u64> = (0..block + 2)
        .map(|i| store.create(draft(i as u32)).id.get())
        .collect();
    assert_eq!(mine, (1..=block + 2).collect::<Vec<u64>>());
    // Another thread claims the next block; it ends after 3 creates, and
    // the rest of its block is a gap.
    let other: Vec<u64> = std::thread::scope(|s| {
        s.spawn(|| (0..3).map(|i| store.create(draft(i)).id.get()).collect())
            .join()
            .expect("creator")
    });
    assert_eq!(other, [2 * block + 1, 2 * block + 2, 2 * block + 3]);
    // This thread's block 2 goes on, below the other thread's ids.
    assert_eq!(store.create(draft(0)).id.get(), block + 3);
    let created = mine.len() + other.len() + 1;
    assert_eq!(store.len(), created, "len counts tasks, not ids");
    assert_eq!(store.walk(), created);
    let all: Vec<u64> = store.get_all().iter().map(|t| t.id.get()).collect();
    assert_eq!(all.len(), created, "no gap is listed");
    assert!(all.windows(2).all(|w| w[0] < w[1]), "in id order");
    let gap = TaskId(2 * block + 4);
    assert!(store.get(gap).is_none() && store.delete(gap).is_none());
    assert!(store.update(gap, patch(2)).is_none());
    assert_eq!(store.len(), created, "a miss in a gap changes nothing");
    // The other thread's gap stays one: a new thread claims block 4.
    let next = std::thread::scope(|s| s.spawn(|| store.create(draft(9)).id.get()).join());
    assert_eq!(next.expect("creator"), 3 * block + 1);
}

#[test]
fn two_stores_on_one_thread_keep_blocks_of_their_own() {
    let a = HyalineStore::new();
    // Stores built meanwhile by other tests may give `a + WAYS` to the next
    // one built here, which would share a's entry (a forgotten block, a
    // gap: the `ids` module's tests show that case).
    let b = std::iter::repeat_with(HyalineStore::new)
        .find(|b| b.number % ids::WAYS as u64 != a.number % ids::WAYS as u64)
        .expect("one of the next stores has an entry of its own");
    let ids: Vec<u64> = (0..3)
        .flat_map(|i| [a.create(draft(i)).id.get(), b.create(draft(i)).id.get()])
        .collect();
    assert_eq!(ids, [1, 1, 2, 2, 3, 3], "each store's own block");
}

#[test]
fn dropping_the_store_frees_every_task_and_every_retired_version() {
    let store = HyalineStore::with_capacity(10);
    let mut held: Vec<_> = (0..10).map(|i| store.create(draft(i))).collect();
    for id in (1..=10).step_by(3).map(TaskId) {
        held.push(store.update(id, patch(4)).expect("updated"));
    }
    held.extend(
        (2..=10)
            .step_by(4)
            .map(|id| store.delete(TaskId(id)).expect("present")),
    );
    assert!(
        counts(&held).iter().all(|&c| c >= 2),
        "the store or its batch still holds each"
    );
    drop(store);
    let after = counts(&held);
    let ours = |t: &Arc<Task>| held.iter().filter(|h| Arc::ptr_eq(h, t)).count();
    let want: Vec<usize> = held.iter().map(ours).collect();
    assert_eq!(after, want, "only our own references are left");
}
