//! Tasks, task ids, and the validated inputs that create or change them.

use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::validate::{ValidationError, validate_description, validate_title};

/// A task's identity. Assigned by the store from a counter, starting at 1, so
/// ids are dense: a store may exploit that (index by id instead of hashing).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskId(pub u64);

impl TaskId {
    /// The raw id.
    #[inline]
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Microseconds since the Unix epoch.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// The current wall-clock time. A clock before 1970 reads as zero.
    pub fn now() -> Self {
        let micros = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
        Timestamp(micros)
    }
}

/// A stored task, as the Task API returns it.
///
/// Strings are `Arc<str>`: an update that leaves the title alone shares the
/// old title instead of copying it, so building the new version of a task
/// costs one allocation (its `Arc<Task>`) however long its text is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub id: TaskId,
    pub title: Arc<str>,
    pub description: Arc<str>,
    pub completed: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Task {
    /// The next version of this task after `patch`. The id and creation
    /// time never change, and `updated_at` never goes back: a patch stamped
    /// before the version it is applied to (two concurrent writes applied
    /// in the other order than they were validated) keeps that version's
    /// time.
    pub fn patched(&self, patch: &TaskPatch) -> Task {
        Task {
            id: self.id,
            title: patch.title.clone().unwrap_or_else(|| self.title.clone()),
            description: patch
                .description
                .clone()
                .unwrap_or_else(|| self.description.clone()),
            completed: patch.completed.unwrap_or(self.completed),
            created_at: self.created_at,
            updated_at: patch.at.max(self.updated_at),
        }
    }
}

/// What a client sends to create a task (the body of `POST /tasks`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTask {
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub completed: Option<bool>,
}

impl NewTask {
    /// Validates the input, stamping it with the current time.
    pub fn validate(&self) -> Result<TaskDraft, ValidationError> {
        self.validate_at(Timestamp::now())
    }

    /// Validates the input, stamping it with `at` (deterministic for tests).
    pub fn validate_at(&self, at: Timestamp) -> Result<TaskDraft, ValidationError> {
        let title = validate_title(&self.title)?;
        let description = validate_description(self.description.as_deref().unwrap_or(""))?;
        Ok(TaskDraft {
            title: title.into(),
            description: description.into(),
            completed: self.completed.unwrap_or(false),
            at,
        })
    }
}

/// What a client sends to change a task (the body of `PATCH /tasks/{id}`):
/// absent fields keep their value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskUpdate {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub completed: Option<bool>,
}

impl TaskUpdate {
    /// Validates the input, stamping it with the current time.
    pub fn validate(&self) -> Result<TaskPatch, ValidationError> {
        self.validate_at(Timestamp::now())
    }

    /// Validates the input, stamping it with `at`.
    pub fn validate_at(&self, at: Timestamp) -> Result<TaskPatch, ValidationError> {
        let title = self.title.as_deref().map(validate_title).transpose()?;
        let description = self
            .description
            .as_deref()
            .map(validate_description)
            .transpose()?;
        Ok(TaskPatch {
            title: title.map(Into::into),
            description: description.map(Into::into),
            completed: self.completed,
            at,
        })
    }
}

/// A validated [`NewTask`]: everything a store needs to create a task except
/// the id, which the store assigns. Cheap to clone (two reference counts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskDraft {
    title: Arc<str>,
    description: Arc<str>,
    completed: bool,
    at: Timestamp,
}

impl TaskDraft {
    /// The task this draft becomes under `id`.
    #[inline]
    pub fn into_task(self, id: TaskId) -> Task {
        Task {
            id,
            title: self.title,
            description: self.description,
            completed: self.completed,
            created_at: self.at,
            updated_at: self.at,
        }
    }

    /// The validated title.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// The validated description.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Whether the task starts completed.
    pub fn completed(&self) -> bool {
        self.completed
    }

    /// When it was validated: its `created_at` and first `updated_at`.
    pub fn at(&self) -> Timestamp {
        self.at
    }
}

/// A validated [`TaskUpdate`], stamped with the time of the change. Cheap to
/// clone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskPatch {
    title: Option<Arc<str>>,
    description: Option<Arc<str>>,
    completed: Option<bool>,
    at: Timestamp,
}

impl TaskPatch {
    /// A patch that only sets `completed`: the cheapest real update, used by
    /// the benchmark workloads.
    pub fn set_completed(completed: bool, at: Timestamp) -> Self {
        TaskPatch {
            title: None,
            description: None,
            completed: Some(completed),
            at,
        }
    }

    /// The time this patch stamps as `updated_at`.
    pub fn at(&self) -> Timestamp {
        self.at
    }

    /// The new title, if the patch sets one (a store that applies patches
    /// elsewhere, in a Redis script, ships only these fields).
    pub fn title(&self) -> Option<&str> {
        self.title.as_deref()
    }

    /// The new description, if the patch sets one.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The new `completed`, if the patch sets it.
    pub fn completed(&self) -> Option<bool> {
        self.completed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draft_becomes_task_with_given_id_and_times() {
        let draft = NewTask {
            title: "  write tests  ".into(),
            description: Some("all of them".into()),
            completed: None,
        }
        .validate_at(Timestamp(7))
        .expect("valid input");
        let task = draft.into_task(TaskId(3));
        assert_eq!(task.id, TaskId(3));
        assert_eq!(&*task.title, "write tests", "title is trimmed");
        assert_eq!(&*task.description, "all of them");
        assert!(!task.completed);
        assert_eq!(
            (task.created_at, task.updated_at),
            (Timestamp(7), Timestamp(7))
        );
    }

    #[test]
    fn patch_changes_only_given_fields_and_keeps_identity() {
        let task = NewTask {
            title: "a".into(),
            ..Default::default()
        }
        .validate_at(Timestamp(1))
        .expect("valid")
        .into_task(TaskId(9));
        let patch = TaskUpdate {
            completed: Some(true),
            ..Default::default()
        }
        .validate_at(Timestamp(5))
        .expect("valid");
        let next = task.patched(&patch);
        assert_eq!(next.id, TaskId(9));
        assert_eq!(next.title, task.title);
        assert!(next.completed);
        assert_eq!(next.created_at, Timestamp(1));
        assert_eq!(next.updated_at, Timestamp(5));
    }

    #[test]
    fn a_patch_stamped_before_the_version_it_applies_to_keeps_its_time() {
        let task = NewTask {
            title: "a".into(),
            ..Default::default()
        }
        .validate_at(Timestamp(10))
        .expect("valid")
        .into_task(TaskId(1));
        let stale = TaskPatch::set_completed(true, Timestamp(7));
        let next = task.patched(&stale);
        assert!(next.completed, "the patch is applied");
        assert_eq!(next.updated_at, Timestamp(10), "updated_at never goes back");
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let err = serde_json::from_str::<NewTask>(r#"{"title":"x","owner":"me"}"#);
        assert!(err.is_err());
        let err = serde_json::from_str::<TaskUpdate>(r#"{"done":true}"#);
        assert!(err.is_err());
    }

    #[test]
    fn task_round_trips_through_json() {
        let task = NewTask {
            title: "t".into(),
            ..Default::default()
        }
        .validate_at(Timestamp(2))
        .expect("valid")
        .into_task(TaskId(1));
        let json = serde_json::to_string(&task).expect("serializes");
        assert_eq!(
            json,
            r#"{"id":1,"title":"t","description":"","completed":false,"created_at":2,"updated_at":2}"#
        );
        let back: Task = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, task);
    }

    #[test]
    fn accessors_report_what_was_validated() {
        let draft = NewTask {
            title: " chores ".into(),
            ..Default::default()
        }
        .validate_at(Timestamp(3))
        .expect("valid");
        assert_eq!(draft.title(), "chores");
        let patch = TaskUpdate::default()
            .validate_at(Timestamp(5))
            .expect("valid");
        assert_eq!(patch.at(), Timestamp(5));
        assert_eq!(
            TaskPatch::set_completed(true, Timestamp(8)).at(),
            Timestamp(8)
        );
        // Ids print as the bare number the HTTP API puts in paths.
        assert_eq!(TaskId(42).to_string(), "42");
        assert_eq!(format!("/tasks/{}", TaskId(7)), "/tasks/7");
    }

    #[test]
    fn now_reads_the_wall_clock() {
        // 2020-01-01 in microseconds since the epoch: a clock that reads
        // zero (or any constant from before the lab existed) is wrong.
        assert!(Timestamp::now() > Timestamp(1_577_836_800_000_000));
    }
}
