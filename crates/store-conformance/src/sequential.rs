//! Model-based property test: the store must behave like a `BTreeMap` with a
//! counter, one operation at a time.
//!
//! Generated creates set every field a client may send (title, optional
//! description, optional completed flag), and generated patches cover every
//! field too: title, completed, and description, which a patch may leave
//! alone, set, or clear (set to the empty string, the only way a client
//! clears it). A store that drops or mixes up any one field diverges from
//! the model.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use task_model::{Task, TaskApi, TaskId, TaskStore, TaskUpdate, Timestamp};

/// One step of a generated sequence. Ids are drawn from a small range so
/// sequences hit existing, deleted and never-created ids alike.
#[derive(Clone, Debug)]
pub enum Step {
    Create {
        title: String,
        description: Option<String>,
        completed: Option<bool>,
    },
    Get(u64),
    Update {
        id: u64,
        title: Option<String>,
        /// `Some("")` clears the description.
        description: Option<String>,
        completed: Option<bool>,
    },
    Delete(u64),
    GetAll,
    Len,
}

fn step() -> impl Strategy<Value = Step> {
    let title = "[a-z]{1,8}";
    // Absent, cleared (empty), or set; descriptions may hold spaces and
    // newlines, which validation keeps as they are.
    let description = || {
        proptest::option::of(prop_oneof![
            1 => Just(String::new()),
            3 => "[a-z \n]{1,12}",
        ])
    };
    let id = 0u64..24;
    prop_oneof![
        3 => (title, description(), proptest::option::of(any::<bool>()))
            .prop_map(|(title, description, completed)| Step::Create {
                title,
                description,
                completed,
            }),
        3 => id.clone().prop_map(Step::Get),
        3 => (
            id.clone(),
            proptest::option::of(title),
            description(),
            proptest::option::of(any::<bool>()),
        )
            .prop_map(|(id, title, description, completed)| Step::Update {
                id,
                title,
                description,
                completed,
            }),
        2 => id.prop_map(Step::Delete),
        1 => Just(Step::GetAll),
        1 => Just(Step::Len),
    ]
}

/// Runs 256 random sequences of up to 64 steps against a fresh store each,
/// comparing every result with the model. Panics with the shrunk sequence on
/// a mismatch.
pub fn sequential_model<S: TaskStore>(make: impl Fn() -> S) {
    let mut runner = TestRunner::new(Config {
        cases: 256,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&proptest::collection::vec(step(), 0..64), |steps| {
        check_sequence(&make(), &steps)
    });
    if let Err(err) = result {
        panic!("store diverged from the model: {err}");
    }
}

fn check_sequence<S: TaskStore>(store: &S, steps: &[Step]) -> Result<(), TestCaseError> {
    let mut model: BTreeMap<u64, Task> = BTreeMap::new();
    let mut next_id = 1u64;
    for (i, step) in steps.iter().enumerate() {
        let at = Timestamp(i as u64 + 10);
        match step {
            Step::Create {
                title,
                description,
                completed,
            } => {
                let new = task_model::NewTask {
                    title: title.clone(),
                    description: description.clone(),
                    completed: *completed,
                };
                let draft = new.validate_at(at).expect("generated titles are valid");
                let got = store.create(draft.clone());
                let want = draft.into_task(TaskId(next_id));
                prop_assert_eq!(&*got, &want, "create #{} returned the wrong task", i);
                model.insert(next_id, want);
                next_id += 1;
            }
            Step::Get(id) => {
                let got = store.get(TaskId(*id));
                prop_assert_eq!(got.as_deref(), model.get(id), "get({})", id);
                let seen = store.get_with(TaskId(*id), |t| t.clone());
                prop_assert_eq!(seen.as_ref(), model.get(id), "get_with({})", id);
            }
            Step::Update {
                id,
                title,
                description,
                completed,
            } => {
                let update = TaskUpdate {
                    title: title.clone(),
                    description: description.clone(),
                    completed: *completed,
                };
                let patch = update.validate_at(at).expect("generated updates are valid");
                let got = store.update(TaskId(*id), patch.clone());
                let want = model.get(id).map(|t| t.patched(&patch));
                prop_assert_eq!(got.as_deref(), want.as_ref(), "update({})", id);
                if let Some(t) = want {
                    model.insert(*id, t);
                }
            }
            Step::Delete(id) => {
                let got = store.delete_task(TaskId(*id)).ok();
                let want = model.remove(id);
                prop_assert_eq!(got.as_deref(), want.as_ref(), "delete({})", id);
            }
            Step::GetAll => {
                let mut all: Vec<Task> = store.get_all().iter().map(|t| (**t).clone()).collect();
                all.sort_by_key(|t| t.id);
                let want: Vec<Task> = model.values().cloned().collect();
                prop_assert_eq!(&all, &want, "get_all");
                let snapshot = store.snapshot();
                prop_assert_eq!(snapshot.len(), want.len(), "snapshot len");
                let mut snap: Vec<Task> = snapshot.iter().map(|t| (**t).clone()).collect();
                snap.sort_by_key(|t| t.id);
                prop_assert_eq!(snap, want, "snapshot");
            }
            Step::Len => {
                prop_assert_eq!(store.len(), model.len(), "len");
                prop_assert_eq!(store.is_empty(), model.is_empty(), "is_empty");
            }
        }
    }
    prop_assert_eq!(store.len(), model.len(), "len at the end");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree;

    /// The generator reaches every field: a patch that sets and one that
    /// clears the description, creates with a description and a flag.
    #[test]
    fn steps_cover_every_field() {
        let mut runner = TestRunner::deterministic();
        let (mut set, mut clear, mut keep, mut created_with) = (0, 0, 0, 0);
        for _ in 0..2_000 {
            match step().new_tree(&mut runner).expect("a step").current() {
                Step::Update { description, .. } => match description.as_deref() {
                    Some("") => clear += 1,
                    Some(_) => set += 1,
                    None => keep += 1,
                },
                Step::Create {
                    description: Some(_),
                    completed: Some(_),
                    ..
                } => created_with += 1,
                _ => {}
            }
        }
        assert!(
            set > 0 && clear > 0 && keep > 0 && created_with > 0,
            "set {set}, clear {clear}, keep {keep}, created with all fields {created_with}"
        );
    }
}
