//! Error paths and id rules, one thread.

use task_model::{NewTask, StoreError, TaskApi, TaskId, TaskStore, TaskUpdate, ValidationError};

use crate::draft;

/// Ids count up from 1 and a deleted id is not handed out again. One
/// thread creates alone on the store, so a store with per-thread blocks
/// ([`IdPolicy::Blocks`](task_model::IdPolicy)) hands out 1, 2, 3 too.
pub fn ids_start_at_one_and_are_never_reused<S: TaskStore>(make: &dyn Fn() -> S) {
    let store = make();
    assert!(store.is_empty());
    assert_eq!(store.create(draft("a")).id, TaskId(1));
    assert_eq!(store.create(draft("b")).id, TaskId(2));
    assert!(store.delete(TaskId(2)).is_some());
    assert_eq!(store.create(draft("c")).id, TaskId(3), "id 2 was reused");
    assert_eq!(store.len(), 2);
}

/// Reads, updates and deletes of ids that are not there say so, through both
/// the primitive and the request-level API.
pub fn missing_ids_are_not_found<S: TaskStore>(make: &dyn Fn() -> S) {
    let store = make();
    let missing = TaskId(42);
    assert!(store.get(missing).is_none());
    assert!(store.get_with(missing, |_| ()).is_none());
    assert_eq!(store.get_task(missing), Err(StoreError::NotFound(missing)));
    let update = TaskUpdate {
        completed: Some(true),
        ..Default::default()
    };
    assert_eq!(
        store.update_task(missing, &update),
        Err(StoreError::NotFound(missing))
    );
    assert_eq!(
        store.delete_task(missing),
        Err(StoreError::NotFound(missing))
    );
    assert_eq!(
        store.delete_task(TaskId(0)),
        Err(StoreError::NotFound(TaskId(0)))
    );
    assert_eq!(
        store.get_task(TaskId(u64::MAX)),
        Err(StoreError::NotFound(TaskId(u64::MAX)))
    );

    let id = store.create(draft("here")).id;
    assert!(store.delete_task(id).is_ok());
    assert_eq!(
        store.delete_task(id),
        Err(StoreError::NotFound(id)),
        "second delete"
    );
    assert_eq!(
        store.update_task(id, &update),
        Err(StoreError::NotFound(id)),
        "update after delete"
    );
    assert!(store.is_empty());
}

/// Invalid input is refused with a validation error and changes nothing.
pub fn invalid_input_is_refused<S: TaskStore>(make: &dyn Fn() -> S) {
    let store = make();
    let blank = NewTask {
        title: "   ".into(),
        ..Default::default()
    };
    assert_eq!(
        store.create_task(&blank),
        Err(StoreError::Invalid(ValidationError::EmptyTitle))
    );
    assert!(store.is_empty(), "a refused create stored something");

    let id = store.create_task(&NewTask {
        title: "ok".into(),
        ..Default::default()
    });
    let id = id.expect("valid create").id;
    let bad = TaskUpdate {
        title: Some(String::new()),
        ..Default::default()
    };
    assert_eq!(
        store.update_task(id, &bad),
        Err(StoreError::Invalid(ValidationError::EmptyTitle))
    );
    let long = TaskUpdate {
        description: Some("x".repeat(task_model::MAX_DESCRIPTION_CHARS + 1)),
        ..Default::default()
    };
    assert!(matches!(
        store.update_task(id, &long),
        Err(StoreError::Invalid(
            ValidationError::DescriptionTooLong { .. }
        ))
    ));
    let task = store.get_task(id).expect("still there");
    assert_eq!(&*task.title, "ok", "a refused update changed the task");
    assert_eq!(
        task.created_at, task.updated_at,
        "a refused update touched the task"
    );
}

/// A snapshot never changes after it is taken, whatever the store does next.
pub fn snapshots_are_immutable<S: TaskStore>(make: &dyn Fn() -> S) {
    let store = make();
    for i in 0..50 {
        store.create(draft(&format!("s{i}")));
    }
    let snapshot = store.snapshot();
    let before: Vec<task_model::Task> = {
        let mut v: Vec<_> = snapshot.iter().map(|t| (**t).clone()).collect();
        v.sort_by_key(|t| t.id);
        v
    };
    let patch = TaskUpdate {
        title: Some("changed".into()),
        ..Default::default()
    };
    for id in (1..=20).map(TaskId) {
        store.update_task(id, &patch).expect("exists");
    }
    for id in (21..=30).map(TaskId) {
        store.delete_task(id).expect("exists");
    }
    for i in 0..10 {
        store.create(draft(&format!("late{i}")));
    }
    let mut after: Vec<_> = snapshot.iter().map(|t| (**t).clone()).collect();
    after.sort_by_key(|t| t.id);
    assert_eq!(after, before, "a snapshot changed after later writes");
    assert_eq!(snapshot.len(), 50);
    assert_eq!(store.snapshot().len(), 50 - 10 + 10);
}
