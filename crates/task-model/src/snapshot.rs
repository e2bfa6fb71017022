//! [`Snapshot`]: every task at `get_all` time, in a form that may share the
//! store's memory instead of cloning one `Arc` per task.

use std::sync::Arc;

use crate::task::Task;

/// A run of task slots shared with a store (copy-on-write on the store's
/// side: the store copies a shared run before changing it, so a snapshot
/// never changes). Empty slots are skipped.
pub type SharedSlots = Arc<[Option<Arc<Task>>]>;

#[derive(Clone, Debug)]
enum Part {
    Tasks(Vec<Arc<Task>>),
    Shared(SharedSlots),
}

/// Every task a store held when the snapshot was taken, with the
/// [`SnapshotGuarantee`](crate::SnapshotGuarantee) of its store. Immutable:
/// later writes to the store never show through.
///
/// Built either from a `Vec<Arc<Task>>` (what [`TaskStore::snapshot`]'s
/// default does) or from runs of slots shared with the store, which costs
/// one reference count per run instead of one per task.
///
/// [`TaskStore::snapshot`]: crate::TaskStore::snapshot
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    parts: Vec<Part>,
    len: usize,
}

impl Snapshot {
    /// A snapshot holding `tasks`.
    pub fn from_tasks(tasks: Vec<Arc<Task>>) -> Snapshot {
        let len = tasks.len();
        Snapshot {
            parts: vec![Part::Tasks(tasks)],
            len,
        }
    }

    /// An empty snapshot to push shared runs into.
    pub fn with_capacity(runs: usize) -> Snapshot {
        Snapshot {
            parts: Vec::with_capacity(runs),
            len: 0,
        }
    }

    /// Adds a run of shared slots holding `occupied` tasks (the caller
    /// counted them while it held the run's lock).
    pub fn push_shared(&mut self, slots: SharedSlots, occupied: usize) {
        self.len += occupied;
        self.parts.push(Part::Shared(slots));
    }

    /// How many tasks the snapshot holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every task, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Task>> + '_ {
        self.parts
            .iter()
            .flat_map(|part| -> Box<dyn Iterator<Item = &Arc<Task>> + '_> {
                match part {
                    Part::Tasks(v) => Box::new(v.iter()),
                    Part::Shared(slots) => Box::new(slots.iter().flatten()),
                }
            })
    }

    /// Calls `f` on every task: the fastest way through a snapshot (a plain
    /// loop per run, no iterator object per element).
    pub fn for_each(&self, mut f: impl FnMut(&Arc<Task>)) {
        for part in &self.parts {
            match part {
                Part::Tasks(v) => v.iter().for_each(&mut f),
                Part::Shared(slots) => slots.iter().flatten().for_each(&mut f),
            }
        }
    }

    /// Every task as an owned vector (one reference count per task).
    pub fn to_vec(&self) -> Vec<Arc<Task>> {
        let mut out = Vec::with_capacity(self.len);
        out.extend(self.iter().cloned());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NewTask, TaskId, Timestamp};

    fn task(id: u64) -> Arc<Task> {
        Arc::new(
            NewTask {
                title: format!("t{id}"),
                ..Default::default()
            }
            .validate_at(Timestamp(0))
            .expect("valid")
            .into_task(TaskId(id)),
        )
    }

    #[test]
    fn shared_runs_skip_empty_slots_and_count_what_they_hold() {
        let mut s = Snapshot::with_capacity(2);
        let run: SharedSlots = vec![Some(task(1)), None, Some(task(3))].into();
        s.push_shared(run, 2);
        s.push_shared(vec![None, Some(task(4))].into(), 1);
        assert_eq!(s.len(), 3);
        let ids: Vec<u64> = s.iter().map(|t| t.id.get()).collect();
        assert_eq!(ids, [1, 3, 4]);
        assert_eq!(s.to_vec().len(), 3);
        let mut seen = Vec::new();
        s.for_each(|t| seen.push(t.id.get()));
        assert_eq!(seen, [1, 3, 4]);
        let v = Snapshot::from_tasks(vec![task(9)]);
        assert_eq!(v.iter().map(|t| t.id.get()).collect::<Vec<_>>(), [9]);
        assert!(Snapshot::default().is_empty());
        assert!(!s.is_empty() && !v.is_empty());
    }
}
