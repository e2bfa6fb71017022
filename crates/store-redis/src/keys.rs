//! Where a store's tasks live in Redis, and how a task is written there.
//!
//! # Keys
//! A store owns a namespace `NS` (its name, `[A-Za-z0-9_-]`, so no glob
//! character can reach a `SCAN` pattern):
//! - task `id` is the hash `{NS:s}:t:ID`, where the stripe `s = id %
//!   STRIPES`;
//! - stripe `s`'s count of tasks is the string `{NS:s}:n`;
//! - the id counter is `{NS}:next`.
//!
//! The braces are Redis Cluster's hash tag: only `NS:s` picks the slot. So a
//! task and the count of its stripe share a slot, and the scripts that
//! create and delete a task change both atomically, on the cluster as on a
//! single server (a script may only touch keys of one slot). The 256
//! stripes spread one store over 256 slots, and so over every master.
//!
//! # One hash per task
//! A task is a hash of six fields (`title`, `description`, `completed`,
//! `created_at`, `updated_at`, `v`), as YCSB's Redis binding stores a
//! record, rather than one encoded value:
//! - an update ships and writes only the fields its patch sets; the script
//!   applies them in place with `HSET`, with no decoding in Lua and no
//!   encoding that the server and the lab must agree on;
//! - a hash this small is a listpack, one allocation on the server, so the
//!   memory cost over one string is the field names (measured in
//!   DECISIONS.md, "Leaving one process");
//! - `v`, the version, counts the writes of the task (1 on create): the
//!   model's tasks carry no version, so the lab only checks it, but a
//!   client doing optimistic concurrency (a `WATCH`, an `If-Match`) would
//!   use it.

use std::sync::Arc;

use task_model::{Task, TaskId, Timestamp};

/// Stripes of the task count, and hash tags per store.
pub const STRIPES: u64 = 256;

/// Ids a store claims from the counter at once (`INCRBY`).
pub const ID_BLOCK: u64 = 64;

/// A store's key names.
#[derive(Clone, Debug)]
pub struct Keys {
    ns: Arc<str>,
}

impl Keys {
    /// The keys of namespace `ns`; `None` unless it is 1 to 64 characters
    /// of `[A-Za-z0-9_-]`.
    pub fn new(ns: &str) -> Option<Keys> {
        let ok = !ns.is_empty()
            && ns.len() <= 64
            && ns
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        ok.then(|| Keys { ns: ns.into() })
    }

    /// A fresh namespace for store `n` of process `pid`: `lab<pid>-<n>`.
    pub fn fresh(pid: u32, n: u64) -> Keys {
        Keys {
            ns: format!("lab{pid}-{n}").into(),
        }
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.ns
    }

    /// The hash of task `id`.
    pub fn task(&self, id: TaskId) -> String {
        format!("{{{}:{}}}:t:{}", self.ns, id.get() % STRIPES, id.get())
    }

    /// The count of `id`'s stripe.
    pub fn count_of(&self, id: TaskId) -> String {
        self.stripe(id.get() % STRIPES)
    }

    /// The count of stripe `s`.
    pub fn stripe(&self, s: u64) -> String {
        format!("{{{}:{s}}}:n", self.ns)
    }

    /// The id counter.
    pub fn next_id(&self) -> String {
        format!("{{{}}}:next", self.ns)
    }

    /// The `SCAN` pattern of every task hash of the store.
    pub fn task_pattern(&self) -> String {
        format!("{{{}:*}}:t:*", self.ns)
    }

    /// The `SCAN` pattern of every key of the store (for clean-up).
    pub fn all_pattern(&self) -> String {
        format!("{{{}[:}}]*", self.ns)
    }

    /// The id of a task hash's key, if it is one of this store's.
    pub fn id_of(&self, key: &str) -> Option<TaskId> {
        let rest = key
            .strip_prefix('{')?
            .strip_prefix(&*self.ns)?
            .strip_prefix(':')?;
        let (_, id) = rest.split_once("}:t:")?;
        id.parse().ok().map(TaskId)
    }
}

/// A task hash's fields, as `HGETALL` returns them, made a task; `None` if
/// the hash is empty (no such task) or malformed.
pub fn decode(id: TaskId, fields: &[(String, String)]) -> Option<Task> {
    if fields.is_empty() {
        return None;
    }
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let stamp = |name: &str| get(name)?.parse().ok().map(Timestamp);
    Some(Task {
        id,
        title: get("title")?.into(),
        description: get("description")?.into(),
        completed: get("completed")? == "1",
        created_at: stamp("created_at")?,
        updated_at: stamp("updated_at")?,
    })
}

/// `completed` as a field value.
pub fn flag(b: bool) -> &'static str {
    if b { "1" } else { "0" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_share_a_slot_with_their_stripe_and_parse_back() {
        let keys = Keys::new("run-7").expect("valid");
        let id = TaskId(513);
        assert_eq!(keys.task(id), "{run-7:1}:t:513");
        assert_eq!(keys.count_of(id), "{run-7:1}:n");
        assert_eq!(keys.id_of(&keys.task(id)), Some(id));
        assert_eq!(keys.id_of("{run-70:1}:t:513"), None);
        assert_eq!(keys.id_of("{run-7:1}:n"), None);
        assert!(Keys::new("a*b").is_none() && Keys::new("").is_none());
    }

    #[test]
    fn a_hash_decodes_to_its_task_and_an_empty_one_to_none() {
        let f = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        let fields = [
            f("title", "t"),
            f("description", ""),
            f("completed", "1"),
            f("created_at", "5"),
            f("updated_at", "9"),
            f("v", "2"),
        ];
        let task = decode(TaskId(3), &fields).expect("complete");
        assert!(task.completed && task.updated_at == Timestamp(9) && &*task.title == "t");
        assert!(decode(TaskId(3), &[]).is_none());
        assert!(decode(TaskId(3), &fields[1..]).is_none());
    }
}
