//! Linearizability of concurrent histories: the contract's "every method is
//! linearizable on its own id", checked as such instead of through one
//! symptom at a time.
//!
//! The final-state checks in [`concurrent`](crate::concurrent) look for one
//! consequence of a bug each (the last title survived, the task stayed
//! deleted). A store can break the contract without that consequence: an
//! update that patches a stale copy, a read served from a cache a writer
//! forgot to invalidate, a `get_all` that lists the ids under one lock and
//! fetches the tasks under another. Here threads run short random programs
//! against the store at once and record a *history*: each operation's
//! arguments, its answer, and the interval it ran in. The history is correct
//! if some order of its operations (a *linearization*) both
//!
//! - respects real time: an operation that returned before another was
//!   invoked comes first, and
//! - replays on the sequential model with exactly the answers the store
//!   gave: `create` returns its draft under an id never handed out before
//!   (see *Ids* below), `get` returns the current version, `update` returns `patched` of the
//!   current version (the model predicts every field, timestamps included),
//!   `delete` returns the last version, `len` the count.
//!
//! Intervals come from one logical clock shared by every thread (an
//! `AtomicU64` read with `fetch_add` just before the call and just after it
//! returns), so every reading is distinct and the real-time order of two
//! operations is never in doubt. An interval read this way contains the
//! operation's true one, so a correct store is never refuted.
//!
//! The search is Wing & Gong's: repeatedly pick an operation that no
//! pending operation returned before, apply it to the model, and backtrack
//! when the model disagrees with the store. As in Lowe's checker and
//! Porcupine, every (set of linearized operations, model state) pair is
//! explored once: reaching it again by another order cannot succeed where
//! the first visit failed. Histories are kept small (3 threads, 5 or 6
//! operations each, over 4 or 5 ids), so the search is instant; the checks
//! find races by running hundreds of histories, on a fresh store every
//! [`HISTORIES_PER_STORE`]. Most histories run in lock step (the threads
//! start each round of their programs at the same moment, after a short
//! random pause), so that operations overlap even when the threads
//! outnumber the cores.
//!
//! `get_all` and `snapshot` are checked at the level the store claims:
//!
//! - [`SnapshotGuarantee::Atomic`]: one operation, equal to the model's whole
//!   state at its linearization point. A `get_all` that mixes two instants
//!   has no such point. `len` is exact at its point too (one lock, or one
//!   owner thread, counts once).
//! - [`SnapshotGuarantee::PerTask`]: the answer is split into one `get` per
//!   id that could exist, all sharing the call's interval, each linearized on
//!   its own; that is exactly the promise (each task is some version stored
//!   during the call; tasks created or deleted during it may or may not
//!   appear, independently). `len` is only bounded by the ids that could
//!   exist: a sharded store sums counts read at different instants.
//!
//! Either way an answer holding an id twice, or an id nobody created, is
//! refuted at once.
//!
//! # Ids
//! What "an id never handed out before" means follows the store's
//! [`IdPolicy`] ([`TaskStore::IDS`]):
//!
//! - [`IdPolicy::Dense`]: ids come from one counter, so every id up to the
//!   highest handed out before the history ([`History::issued`]) was handed
//!   out; a create may return none of them, nor an id another create of the
//!   history returned.
//! - [`IdPolicy::Blocks`]: ids have gaps and are not ordered across
//!   threads, so a create may return any id of at least 1 that was not
//!   handed out before ([`History::handed_out`]: the ids the suite saw on
//!   that store) nor by another create of the history, lower than `issued`
//!   included (its thread still draws on an older block). What does not
//!   depend on the order of the operations is refuted at once: one thread's
//!   creates must return increasing ids.
//!
//! Programs name ids by place (see [`record`]); place 5 is "the id the
//! history's first create returns". A Dense store's is known in advance
//! (the next id of the counter), so reads and writes of it may overlap the
//! create; a Blocks store's is not, so there the calls on place 5 ask for
//! the id the first create returned, once one has (before that, an id no
//! create of the history hands out).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread;

use task_model::{
    IdPolicy, NewTask, SnapshotGuarantee, Task, TaskDraft, TaskId, TaskPatch, TaskStore,
    TaskUpdate, Timestamp,
};

/// What a thread asked the store.
#[derive(Clone, Debug)]
pub enum Call {
    Create(TaskDraft),
    Get(TaskId),
    /// `get_with(id, clone)`: the borrowing read path some stores override.
    GetWith(TaskId),
    Update(TaskId, TaskPatch),
    Delete(TaskId),
    Len,
    GetAll,
    /// `snapshot()`, read back as a list of tasks.
    Snapshot,
}

/// What the store answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The answer of `create` (always `Some`), `get`, `get_with`, `update`
    /// or `delete`.
    Task(Option<Task>),
    Len(usize),
    /// The answer of `get_all` or `snapshot`, in the store's order.
    Tasks(Vec<Task>),
}

/// One completed operation of a history.
#[derive(Clone, Debug)]
pub struct Event {
    /// Which thread ran it (for the report only).
    pub thread: usize,
    pub call: Call,
    pub answer: Answer,
    /// Clock reading taken just before the call.
    pub invoked: u64,
    /// Clock reading taken just after it returned; greater than `invoked`.
    pub returned: u64,
}

/// A concurrent history and the state the store was in before it.
#[derive(Clone, Debug, Default)]
pub struct History {
    /// The tasks stored when the history began.
    pub start: Vec<Task>,
    /// The highest id handed out before the history began. For a
    /// [`IdPolicy::Dense`] store ids count up from 1, so ids 1 to `issued`
    /// were all handed out, live or deleted: no create may return one of
    /// them.
    pub issued: u64,
    /// How the store hands out ids (see the module docs, *Ids*).
    pub ids: IdPolicy,
    /// For an [`IdPolicy::Blocks`] store, every id known to have been
    /// handed out before the history began (its ids have gaps, so `issued`
    /// does not say which): no create may return one of them. A Dense
    /// store's check ignores it.
    pub handed_out: BTreeSet<u64>,
    pub events: Vec<Event>,
}

impl History {
    /// A history of a Dense store starting from `start`, with every id up
    /// to its highest issued (and, should it be made a Blocks history, the
    /// start's ids handed out).
    pub fn starting_with(start: Vec<Task>) -> History {
        let issued = start.iter().map(|t| t.id.get()).max().unwrap_or(0);
        let handed_out = start.iter().map(|t| t.id.get()).collect();
        History {
            start,
            issued,
            ids: IdPolicy::Dense,
            handed_out,
            events: Vec::new(),
        }
    }
}

/// A history [`check`] refuted: why, and the history to debug it from.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not linearizable: {reason}\n{listing}")]
pub struct NotLinearizable {
    pub reason: Refutation,
    /// The start state, every event by invocation time, and the longest
    /// consistent prefix of a linearization the search found.
    pub listing: String,
}

/// Why a history is not linearizable (or could not be decided).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refutation {
    #[error("event {event} returned before it was invoked")]
    ReturnedBeforeInvoked { event: usize },
    /// `got` and `want` as the listing shows tasks.
    #[error("event {event}: create returned {got}, not its draft under that id ({want})")]
    CreateNotItsDraft {
        event: usize,
        got: String,
        want: String,
    },
    #[error("event {event}: len {len}, but only {existed} tasks ever existed")]
    LenOverExisted {
        event: usize,
        len: usize,
        existed: usize,
    },
    #[error("event {event}: returned task {id}, which nobody created")]
    NeverCreated { event: usize, id: TaskId },
    #[error("event {event}: returned task {id} twice")]
    Twice { event: usize, id: TaskId },
    /// A Blocks store's thread whose creates did not return increasing ids.
    #[error(
        "event {event}: thread {thread} created task {id} after task {earlier} (event {earlier_event}): one thread's ids must increase"
    )]
    ThreadIdsDecrease {
        event: usize,
        thread: usize,
        id: TaskId,
        earlier: TaskId,
        earlier_event: usize,
    },
    /// An answer of another kind than the call's (as `Debug` prints them).
    #[error("event {event}: answer {answer} does not fit call {call}")]
    AnswerMismatch {
        event: usize,
        answer: String,
        call: String,
    },
    #[error("the history has {ops} operations to order; the checker takes at most {max}")]
    TooManyOperations { ops: usize, max: usize },
    #[error("no order of the operations consistent with real time gives the store's answers")]
    NoOrder,
    #[error("the search gave up after {visited} states: make the history smaller")]
    GaveUp { visited: usize },
}

/// Whether `history` has a linearization on the sequential model, with
/// `get_all`, `snapshot` and `len` held to `guarantee` (see the module
/// docs). The error explains the refutation and lists the history.
pub fn check(history: &History, guarantee: SnapshotGuarantee) -> Result<(), NotLinearizable> {
    let ops = prepare(history, guarantee).map_err(|why| report(history, why, &[]))?;
    if ops.len() > MAX_OPS {
        return Err(report(
            history,
            Refutation::TooManyOperations {
                ops: ops.len(),
                max: MAX_OPS,
            },
            &[],
        ));
    }
    let mut start = State::default();
    for task in &history.start {
        start.tasks.insert(task.id.get(), Version(task.clone()));
    }
    let mut search = Search {
        ops: &ops,
        fresh: Fresh::of(history),
        all: if ops.len() == MAX_OPS {
            u128::MAX
        } else {
            (1u128 << ops.len()) - 1
        },
        visited: HashSet::new(),
        path: Vec::new(),
        deepest: Vec::new(),
    };
    match search.explore(0, &start) {
        Ok(true) => Ok(()),
        Ok(false) => {
            let order: Vec<usize> = search.deepest.iter().map(|&i| ops[i].event).collect();
            Err(report(history, Refutation::NoOrder, &order))
        }
        Err(visited) => Err(report(history, Refutation::GaveUp { visited }, &[])),
    }
}

/// The most operations one history may have after `get_all`s are split.
const MAX_OPS: usize = 128;
/// States the search may visit before it gives up. Histories of the size
/// the checks run visit a few hundred.
const MAX_STATES: usize = 2_000_000;

/// A task version, hashable for the search's memo.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Version(Task);

impl Hash for Version {
    fn hash<H: Hasher>(&self, h: &mut H) {
        let t = &self.0;
        (t.id, &*t.title, &*t.description, t.completed).hash(h);
        (t.created_at, t.updated_at).hash(h);
    }
}

/// The sequential model's state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
struct State {
    tasks: BTreeMap<u64, Version>,
    /// Ids handed out by creates of this history so far.
    created: BTreeSet<u64>,
}

/// One operation to order, with what the model must reproduce.
#[derive(Debug)]
struct Op {
    invoked: u64,
    returned: u64,
    expect: Expect,
    /// Index of the event it came from.
    event: usize,
}

#[derive(Debug)]
enum Expect {
    /// A create returned this task (already checked against its draft);
    /// its id must be fresh.
    Create(Task),
    Get(TaskId, Option<Task>),
    Update(TaskId, TaskPatch, Option<Task>),
    Delete(TaskId, Option<Task>),
    Len(usize),
    All(BTreeMap<u64, Task>),
}

enum Outcome {
    Refuted,
    Same,
    Next(State),
}

/// Which ids a create may return, besides none that another create of the
/// history returned (see the module docs, *Ids*).
#[derive(Clone, Copy)]
enum Fresh<'a> {
    /// Dense: only ids above the highest handed out before.
    Above(u64),
    /// Blocks: any id of at least 1 not handed out before.
    NotIn(&'a BTreeSet<u64>),
}

impl<'a> Fresh<'a> {
    fn of(history: &'a History) -> Fresh<'a> {
        match history.ids {
            IdPolicy::Dense => Fresh::Above(history.issued),
            IdPolicy::Blocks { .. } => Fresh::NotIn(&history.handed_out),
        }
    }

    /// Whether `id` was handed out before the history (or, 0, never can be).
    fn taken(self, id: u64) -> bool {
        match self {
            Fresh::Above(issued) => id <= issued,
            Fresh::NotIn(before) => id == 0 || before.contains(&id),
        }
    }
}

impl Expect {
    /// Applies the operation to `state` if the store's answer is the one
    /// the model gives. `fresh` says which ids were handed out before.
    fn apply(&self, state: &State, fresh: Fresh<'_>) -> Outcome {
        let current = |id: &TaskId| state.tasks.get(&id.get()).map(|v| &v.0);
        let same_if = |ok: bool| if ok { Outcome::Same } else { Outcome::Refuted };
        match self {
            Expect::Create(task) => {
                let id = task.id.get();
                if fresh.taken(id) || state.created.contains(&id) {
                    return Outcome::Refuted;
                }
                let mut next = state.clone();
                next.created.insert(id);
                next.tasks.insert(task.id.get(), Version(task.clone()));
                Outcome::Next(next)
            }
            Expect::Get(id, got) => same_if(current(id) == got.as_ref()),
            Expect::Update(id, patch, got) => match (current(id), got) {
                (None, None) => Outcome::Same,
                (Some(now), Some(got)) => {
                    let want = now.patched(patch);
                    if want != *got {
                        return Outcome::Refuted;
                    }
                    let mut next = state.clone();
                    next.tasks.insert(id.get(), Version(want));
                    Outcome::Next(next)
                }
                _ => Outcome::Refuted,
            },
            Expect::Delete(id, got) => match (current(id), got) {
                (None, None) => Outcome::Same,
                (Some(now), Some(got)) if now == got => {
                    let mut next = state.clone();
                    next.tasks.remove(&id.get());
                    Outcome::Next(next)
                }
                _ => Outcome::Refuted,
            },
            Expect::Len(n) => same_if(state.tasks.len() == *n),
            Expect::All(got) => same_if(
                state.tasks.len() == got.len()
                    && state
                        .tasks
                        .iter()
                        .zip(got)
                        .all(|((a, now), (b, task))| a == b && now.0 == *task),
            ),
        }
    }
}

/// Turns events into operations to order, refuting at once what no order
/// could explain.
fn prepare(history: &History, guarantee: SnapshotGuarantee) -> Result<Vec<Op>, Refutation> {
    let may_exist = may_exist(history)?;
    if let IdPolicy::Blocks { .. } = history.ids {
        creates_increase_per_thread(history)?;
    }
    let mut ops = Vec::new();
    for (i, e) in history.events.iter().enumerate() {
        for expect in expectations(i, e, guarantee, &may_exist)? {
            ops.push(Op {
                invoked: e.invoked,
                returned: e.returned,
                expect,
                event: i,
            });
        }
    }
    ops.sort_by_key(|op| op.invoked);
    Ok(ops)
}

/// Every id that may be stored at some point: live at the start, or
/// returned by a create. Refuses an event that returned before it was
/// invoked.
fn may_exist(history: &History) -> Result<BTreeSet<u64>, Refutation> {
    let mut may_exist: BTreeSet<u64> = history.start.iter().map(|t| t.id.get()).collect();
    for (i, e) in history.events.iter().enumerate() {
        if e.returned <= e.invoked {
            return Err(Refutation::ReturnedBeforeInvoked { event: i });
        }
        if let (Call::Create(_), Answer::Task(Some(t))) = (&e.call, &e.answer) {
            may_exist.insert(t.id.get());
        }
    }
    Ok(may_exist)
}

/// For a Blocks store: refuses a thread whose creates did not return
/// increasing ids, in the order it made them (which no linearization can
/// change).
fn creates_increase_per_thread(history: &History) -> Result<(), Refutation> {
    let mut order: Vec<usize> = (0..history.events.len()).collect();
    order.sort_by_key(|&i| history.events[i].invoked);
    // Per thread: its last create's event and id.
    let mut last: BTreeMap<usize, (usize, TaskId)> = BTreeMap::new();
    for i in order {
        let e = &history.events[i];
        if let (Call::Create(_), Answer::Task(Some(t))) = (&e.call, &e.answer) {
            if let Some(&(j, earlier)) = last.get(&e.thread).filter(|(_, b)| *b >= t.id) {
                return Err(Refutation::ThreadIdsDecrease {
                    event: i,
                    thread: e.thread,
                    id: t.id,
                    earlier,
                    earlier_event: j,
                });
            }
            last.insert(e.thread, (i, t.id));
        }
    }
    Ok(())
}

/// What event `i` (`e`) asks of an order, as zero or more expectations; an
/// answer no order could explain is refused at once.
fn expectations(
    i: usize,
    e: &Event,
    guarantee: SnapshotGuarantee,
    may_exist: &BTreeSet<u64>,
) -> Result<Vec<Expect>, Refutation> {
    let mut out = Vec::new();
    match (&e.call, &e.answer) {
        (Call::Create(draft), Answer::Task(Some(task))) => {
            let want = draft.clone().into_task(task.id);
            if *task != want {
                return Err(Refutation::CreateNotItsDraft {
                    event: i,
                    got: show(task),
                    want: show(&want),
                });
            }
            out.push(Expect::Create(task.clone()));
        }
        (Call::Get(id) | Call::GetWith(id), Answer::Task(got)) => {
            out.push(Expect::Get(*id, got.clone()))
        }
        (Call::Update(id, patch), Answer::Task(got)) => {
            out.push(Expect::Update(*id, patch.clone(), got.clone()))
        }
        (Call::Delete(id), Answer::Task(got)) => out.push(Expect::Delete(*id, got.clone())),
        (Call::Len, Answer::Len(n)) => match guarantee {
            SnapshotGuarantee::Atomic => out.push(Expect::Len(*n)),
            SnapshotGuarantee::PerTask => {
                if *n > may_exist.len() {
                    return Err(Refutation::LenOverExisted {
                        event: i,
                        len: *n,
                        existed: may_exist.len(),
                    });
                }
            }
        },
        (Call::GetAll | Call::Snapshot, Answer::Tasks(tasks)) => {
            let mut got = BTreeMap::new();
            for task in tasks {
                if !may_exist.contains(&task.id.get()) {
                    return Err(Refutation::NeverCreated {
                        event: i,
                        id: task.id,
                    });
                }
                if got.insert(task.id.get(), task.clone()).is_some() {
                    return Err(Refutation::Twice {
                        event: i,
                        id: task.id,
                    });
                }
            }
            match guarantee {
                SnapshotGuarantee::Atomic => out.push(Expect::All(got)),
                SnapshotGuarantee::PerTask => {
                    for &id in may_exist {
                        out.push(Expect::Get(TaskId(id), got.get(&id).cloned()));
                    }
                }
            }
        }
        (call, answer) => {
            return Err(Refutation::AnswerMismatch {
                event: i,
                answer: format!("{answer:?}"),
                call: format!("{call:?}"),
            });
        }
    }
    Ok(out)
}

struct Search<'a> {
    ops: &'a [Op],
    fresh: Fresh<'a>,
    all: u128,
    /// (linearized set, state) pairs already explored without success.
    visited: HashSet<(u128, State)>,
    path: Vec<usize>,
    /// The longest prefix of a linearization found, for the report.
    deepest: Vec<usize>,
}

impl Search<'_> {
    /// Whether the operations not in `done` can be ordered from `state`.
    /// `Err` carries the number of states visited when the search gave up.
    fn explore(&mut self, done: u128, state: &State) -> Result<bool, usize> {
        if done == self.all {
            return Ok(true);
        }
        if !self.visited.insert((done, state.clone())) {
            return Ok(false);
        }
        if self.visited.len() > MAX_STATES {
            return Err(self.visited.len());
        }
        if self.path.len() > self.deepest.len() {
            self.deepest.clone_from(&self.path);
        }
        let pending = |i: usize| done & (1u128 << i) == 0;
        // An operation may go next only if no pending operation returned
        // before it was invoked.
        let horizon = (0..self.ops.len())
            .filter(|&i| pending(i))
            .map(|i| self.ops[i].returned)
            .min()
            .expect("some operation is pending");
        for i in 0..self.ops.len() {
            let op = &self.ops[i];
            if op.invoked > horizon {
                // Sorted by invocation: none further may go next either.
                break;
            }
            if !pending(i) {
                continue;
            }
            let found = match op.expect.apply(state, self.fresh) {
                Outcome::Refuted => continue,
                Outcome::Same => {
                    self.path.push(i);
                    self.explore(done | (1u128 << i), state)
                }
                Outcome::Next(next) => {
                    self.path.push(i);
                    self.explore(done | (1u128 << i), &next)
                }
            };
            self.path.pop();
            if found? {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

fn show(task: &Task) -> String {
    format!(
        "#{}{{title {:?}, description {:?}, completed {}, created {}, updated {}}}",
        task.id, task.title, task.description, task.completed, task.created_at.0, task.updated_at.0
    )
}

fn show_answer(answer: &Answer) -> String {
    match answer {
        Answer::Task(None) => "None".into(),
        Answer::Task(Some(t)) => show(t),
        Answer::Len(n) => n.to_string(),
        Answer::Tasks(tasks) => {
            let mut tasks: Vec<&Task> = tasks.iter().collect();
            tasks.sort_by_key(|t| t.id);
            let shown: Vec<String> = tasks.iter().map(|t| show(t)).collect();
            format!("[{}]", shown.join(", "))
        }
    }
}

fn show_call(call: &Call) -> String {
    match call {
        Call::Create(draft) => {
            let t = draft.clone().into_task(TaskId(0));
            format!(
                "create(title {:?}, description {:?}, completed {}, at {})",
                t.title, t.description, t.completed, t.created_at.0
            )
        }
        Call::Get(id) => format!("get({id})"),
        Call::GetWith(id) => format!("get_with({id})"),
        Call::Update(id, patch) => format!("update({id}, {patch:?})"),
        Call::Delete(id) => format!("delete({id})"),
        Call::Len => "len()".into(),
        Call::GetAll => "get_all()".into(),
        Call::Snapshot => "snapshot()".into(),
    }
}

/// The refutation, the start state, and every event by invocation time.
fn report(history: &History, reason: Refutation, deepest: &[usize]) -> NotLinearizable {
    let mut out = String::from("  start:");
    for task in &history.start {
        let _ = write!(out, " {}", show(task));
    }
    match history.ids {
        IdPolicy::Dense => {
            let _ = writeln!(out, "; ids 1 to {} issued before", history.issued);
        }
        IdPolicy::Blocks { size } => {
            let before = &history.handed_out;
            let _ = if before.len() <= 32 {
                writeln!(
                    out,
                    "; ids in blocks of {size}, {before:?} handed out before"
                )
            } else {
                writeln!(
                    out,
                    "; ids in blocks of {size}, {} handed out before, the highest {:?}",
                    before.len(),
                    before.last()
                )
            };
        }
    }
    let mut order: Vec<usize> = (0..history.events.len()).collect();
    order.sort_by_key(|&i| history.events[i].invoked);
    for i in order {
        let e = &history.events[i];
        let _ = writeln!(
            out,
            "  [{i:>2}] thread {} {:>4}..{:<4} {} -> {}",
            e.thread,
            e.invoked,
            e.returned,
            show_call(&e.call),
            show_answer(&e.answer)
        );
    }
    if !deepest.is_empty() {
        let mut seen = Vec::new();
        for &i in deepest {
            if !seen.contains(&i) {
                seen.push(i);
            }
        }
        let _ = writeln!(
            out,
            "  longest consistent prefix of a linearization (events): {seen:?}"
        );
    }
    NotLinearizable {
        reason,
        listing: out,
    }
}

// ---------------------------------------------------------------------------
// Recording histories from a store.

/// A small deterministic generator (SplitMix64), so a seed names a program.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// One of `choices`, each with its weight.
    fn weighted<T: Copy>(&mut self, choices: &[(u64, T)]) -> T {
        let total: u64 = choices.iter().map(|c| c.0).sum();
        let mut pick = self.below(total);
        for &(w, c) in choices {
            if pick < w {
                return c;
            }
            pick -= w;
        }
        unreachable!("pick < total")
    }
}

/// What the threads of one history do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mix {
    /// Every operation over places 1 to 5 (see [`record`]): gets, updates,
    /// deletes, creates and `len`, each thread a random program.
    Mixed,
    /// Patches and reads of one or two tasks, with the odd delete: lost
    /// updates, stale reads and updates that resurrect a deleted task.
    Contended,
    /// One thread takes `get_all`s, `snapshot`s and `len`s while two write:
    /// a snapshot must be what the store claims.
    Snapshots,
}

/// Threads per history.
pub const THREADS: usize = 3;

/// How a thread's program is cut into lock-step rounds: (rounds,
/// operations per round). One operation per round puts operations of
/// different threads side by side (two patches of one task). `Snapshots`
/// writers make two per round, so a `get_all` overlaps two writes that are
/// ordered in real time, which is what exposes one that mixes instants.
fn shape(mix: Mix) -> (usize, usize) {
    match mix {
        Mix::Mixed | Mix::Contended => (5, 1),
        Mix::Snapshots => (3, 2),
    }
}
/// Tasks live when a history starts: places 1 to 3 (see [`record`]). Place
/// 4 was created and deleted before it; creates during the history get
/// places 5 and up.
const LIVE_AT_START: u64 = 3;

/// The environment variable that sets how many histories each
/// linearizability check records (default [`DEFAULT_HISTORIES`]).
pub const HISTORIES_ENV: &str = "STORELAB_LINEARIZABILITY_HISTORIES";
/// Histories per check by default: enough that the planted races the suite
/// was tested against showed up in every run (half as many missed some),
/// few enough that a check takes well under a second in a debug build on
/// most stores.
pub const DEFAULT_HISTORIES: usize = 200;

/// How many histories a check records: [`HISTORIES_ENV`] or the default.
pub fn histories() -> usize {
    histories_from(std::env::var(HISTORIES_ENV).ok().as_deref())
}

/// [`histories`] for a value of [`HISTORIES_ENV`] (`None`: unset).
fn histories_from(var: Option<&str>) -> usize {
    var.and_then(|v| v.trim().parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_HISTORIES)
}

/// Histories recorded on one store before a fresh one is built. Reusing a
/// store keeps the checks fast (some stores start threads, or allocate a
/// directory, when built) and runs histories on a store that already holds
/// deleted slots and used ids.
pub const HISTORIES_PER_STORE: u64 = 20;

/// Records `count` histories of `mix` with seeds `seed..seed + count`, on
/// stores from `make` (a fresh one every [`HISTORIES_PER_STORE`]), and
/// checks each one. Panics with the first refuted history.
pub fn check_histories<S: TaskStore>(make: &dyn Fn() -> S, mix: Mix, seed: u64, count: usize) {
    let mut store = None;
    // Every id the store handed out in earlier histories, which no create
    // may return again (a Blocks store's check needs them listed).
    let mut handed_out = BTreeSet::new();
    for n in 0..count as u64 {
        if n % HISTORIES_PER_STORE == 0 {
            // The old store goes first: some stores own threads.
            drop(store.take());
            store = Some(make());
            handed_out.clear();
        }
        let store = store.as_ref().expect("built above");
        let mut history = record(store, mix, seed + n);
        history.handed_out.append(&mut handed_out);
        handed_out = created_ids(&history);
        if let Err(why) = check(&history, S::SNAPSHOT) {
            panic!(
                "{} (claims {:?}), {mix:?} history with seed {} (number {} on its store):\n{why}",
                std::any::type_name::<S>(),
                S::SNAPSHOT,
                seed + n,
                n % HISTORIES_PER_STORE + 1
            );
        }
    }
}

/// Every id `history` shows handed out: before it, at its start, and by
/// its creates.
fn created_ids(history: &History) -> BTreeSet<u64> {
    let mut ids = history.handed_out.clone();
    ids.extend(history.start.iter().map(|t| t.id.get()));
    for e in &history.events {
        if let (Call::Create(_), Answer::Task(Some(t))) = (&e.call, &e.answer) {
            ids.insert(t.id.get());
        }
    }
    ids
}

/// Empties `store`, sets up the start state (three live tasks, and one
/// created and deleted), and records one history of `mix` from the
/// programs seeded by `seed`. Programs name ids by place: the start tasks
/// are places 1 to 3, place 4 the deleted one, and place 5 the id the
/// history's first create hands out (for a Dense store, the next id of the
/// counter; for a Blocks store, see the module docs, *Ids*).
pub fn record<S: TaskStore>(store: &S, mix: Mix, seed: u64) -> History {
    let (mut history, places) = set_up(store);
    let mut rng = Rng::new(seed);
    let programs: Vec<Vec<Planned>> = (0..THREADS)
        .map(|t| program(mix, t, &places, &mut rng))
        .collect();
    let place5 = FirstCreated {
        blocks: matches!(S::IDS, IdPolicy::Blocks { .. }),
        id: AtomicU64::new(0),
    };
    // Most histories run in lock step: all threads start each round
    // together (after their own random pause), so operations overlap even on
    // a machine with fewer cores than threads. The rest run freely from one
    // common start, for the interleavings lock step rules out.
    let lock_step = rng.below(4) != 0;
    let clock = AtomicU64::new(1);
    let barrier = SpinBarrier::new(THREADS);
    let per_thread: Vec<Vec<Event>> = thread::scope(|s| {
        let handles: Vec<_> = programs
            .into_iter()
            .enumerate()
            .map(|(t, program)| {
                let (clock, barrier, place5) = (&clock, &barrier, &place5);
                s.spawn(move || {
                    let _guard = BreakOnPanic(barrier);
                    barrier.wait();
                    program
                        .into_iter()
                        .map(|step| {
                            if lock_step && step.starts_round {
                                barrier.wait();
                            }
                            wait_a_little(step.pause);
                            let call = place5.resolve(step.call, step.fresh);
                            let event = perform(store, clock, t, call);
                            place5.saw(&event);
                            event
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    history.events = per_thread.into_iter().flatten().collect();
    history
}

/// [`record`]'s setup: empties `store` (every id it held joins the
/// history's `handed_out`), creates the start tasks (places 1 to 4) on this
/// thread and deletes place 4. Returns the history's start and the ids of
/// places 1 to 5: place 5 is the id after place 4, which is the id the
/// history's first create gets from a Dense store's counter. (In a Blocks
/// store it is usually the next id of this thread's block, which nothing
/// hands out during the history, since this thread creates nothing then;
/// [`record`] asks for the first created id instead once there is one.)
fn set_up<S: TaskStore>(store: &S) -> (History, [u64; 5]) {
    let mut held = BTreeSet::new();
    // Quiescent: get_all is exact, whatever the store's guarantee.
    for task in store.get_all() {
        assert!(store.delete(task.id).is_some(), "setup: delete {}", task.id);
        held.insert(task.id.get());
    }
    assert_eq!(store.len(), 0, "setup: len of an emptied store");
    let mut start = Vec::new();
    for place in 1..=LIVE_AT_START + 1 {
        let draft = NewTask {
            title: format!("start{place}"),
            description: (place % 2 == 0).then(|| format!("about {place}")),
            completed: Some(place == 3),
        }
        .validate_at(Timestamp(1))
        .expect("valid start task");
        let task = store.create(draft);
        if let Some(last) = start.last().map(|t: &Task| t.id) {
            match S::IDS {
                IdPolicy::Dense => {
                    assert_eq!(task.id.get(), last.get() + 1, "setup: ids count up by one")
                }
                IdPolicy::Blocks { .. } => {
                    assert!(task.id > last, "setup: one thread's ids increase")
                }
            }
        }
        start.push((*task).clone());
    }
    let ids: Vec<u64> = start.iter().map(|t| t.id.get()).collect();
    let places = [ids[0], ids[1], ids[2], ids[3], ids[3] + 1];
    let gone = start.pop().expect("created above");
    assert!(store.delete(gone.id).is_some(), "setup: delete {}", gone.id);
    assert_eq!(
        store.get(TaskId(places[0])).map(|t| t.title.to_string()),
        Some("start1".to_owned()),
        "setup: place 1 is the first start task"
    );
    let mut history = History::starting_with(start);
    history.issued = gone.id.get();
    history.ids = S::IDS;
    history.handed_out.extend(held);
    history.handed_out.insert(gone.id.get());
    (history, places)
}

/// Place 5 of a Blocks store's history: the id its first create returned
/// (see the module docs, *Ids*). For a Dense store, nothing: place 5 is
/// known in advance.
struct FirstCreated {
    blocks: bool,
    /// The id, 0 until a create of the history has returned.
    id: AtomicU64,
}

impl FirstCreated {
    /// `call`, asking for the first created id instead if it asks for place
    /// 5 (`fresh`) of a Blocks store and a create has returned.
    fn resolve(&self, call: Call, fresh: bool) -> Call {
        if !(self.blocks && fresh) {
            return call;
        }
        // SeqCst, as the clock (any ordering would do: the id is only a
        // choice of what to ask for, and the answer is checked whatever it
        // is).
        let id = match self.id.load(Ordering::SeqCst) {
            0 => return call,
            id => TaskId(id),
        };
        match call {
            Call::Get(_) => Call::Get(id),
            Call::GetWith(_) => Call::GetWith(id),
            Call::Update(_, patch) => Call::Update(id, patch),
            Call::Delete(_) => Call::Delete(id),
            other => other,
        }
    }

    /// Notes the id `event` created, if it is the history's first create.
    fn saw(&self, event: &Event) {
        if let (true, Call::Create(_), Answer::Task(Some(task))) =
            (self.blocks, &event.call, &event.answer)
        {
            let first = task.id.get();
            let _ = self
                .id
                .compare_exchange(0, first, Ordering::SeqCst, Ordering::SeqCst);
        }
    }
}

/// A reusable barrier that releases its threads together. `std`'s
/// `Barrier` wakes sleepers through the OS, tens of microseconds after the
/// last thread arrives: long enough for that thread to run its whole
/// program alone. Here waiting threads spin (yielding now and then, so a
/// thread waiting for a core gets it) until the last one arrives.
struct SpinBarrier {
    arrived: AtomicUsize,
    generation: AtomicUsize,
    threads: usize,
    /// Set when a thread panicked: the others stop waiting for it, so the
    /// panic fails the check instead of hanging it.
    broken: AtomicBool,
}

/// Breaks the barrier if its thread unwinds.
struct BreakOnPanic<'a>(&'a SpinBarrier);

impl Drop for BreakOnPanic<'_> {
    fn drop(&mut self) {
        if thread::panicking() {
            self.0.broken.store(true, Ordering::Release);
        }
    }
}

impl SpinBarrier {
    fn new(threads: usize) -> SpinBarrier {
        SpinBarrier {
            arrived: AtomicUsize::new(0),
            generation: AtomicUsize::new(0),
            threads,
            broken: AtomicBool::new(false),
        }
    }

    fn wait(&self) {
        // Read before arriving: the generation cannot move until we have.
        let generation = self.generation.load(Ordering::Acquire);
        if self.arrived.fetch_add(1, Ordering::AcqRel) + 1 == self.threads {
            self.arrived.store(0, Ordering::Relaxed);
            self.generation.fetch_add(1, Ordering::Release);
            return;
        }
        let mut spins = 0u32;
        while self.generation.load(Ordering::Acquire) == generation
            && !self.broken.load(Ordering::Acquire)
        {
            spins += 1;
            if spins.is_multiple_of(256) {
                thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
    }
}

/// Spins `pause` rounds, or yields, so that the threads'
/// operations overlap in different ways from one history to the next.
fn wait_a_little(pause: u64) {
    if pause >= PAUSE_YIELD {
        thread::yield_now();
    }
    for _ in 0..pause % PAUSE_YIELD {
        std::hint::spin_loop();
    }
}

/// Pauses below this are spins; this one is a yield.
const PAUSE_YIELD: u64 = 128;

/// Runs one call on the store between two clock readings.
fn perform<S: TaskStore>(store: &S, clock: &AtomicU64, thread: usize, call: Call) -> Event {
    let owned = |t: Option<std::sync::Arc<Task>>| t.map(|t| (*t).clone());
    let invoked = clock.fetch_add(1, Ordering::SeqCst);
    let answer = match &call {
        Call::Create(draft) => Answer::Task(Some((*store.create(draft.clone())).clone())),
        Call::Get(id) => Answer::Task(owned(store.get(*id))),
        Call::GetWith(id) => Answer::Task(store.get_with(*id, Task::clone)),
        Call::Update(id, patch) => Answer::Task(owned(store.update(*id, patch.clone()))),
        Call::Delete(id) => Answer::Task(owned(store.delete(*id))),
        Call::Len => Answer::Len(store.len()),
        Call::GetAll => Answer::Tasks(store.get_all().iter().map(|t| (**t).clone()).collect()),
        Call::Snapshot => {
            let snapshot = store.snapshot();
            let tasks: Vec<Task> = snapshot.iter().map(|t| (**t).clone()).collect();
            assert_eq!(
                snapshot.len(),
                tasks.len(),
                "a snapshot's len disagrees with the tasks it holds"
            );
            Answer::Tasks(tasks)
        }
    };
    let returned = clock.fetch_add(1, Ordering::SeqCst);
    Event {
        thread,
        call,
        answer,
        invoked,
        returned,
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Create,
    Get,
    GetWith,
    Update,
    Delete,
    Len,
    GetAll,
    Snapshot,
}

/// One step of a thread's program.
struct Planned {
    call: Call,
    /// Spins before the call (or a yield, see [`wait_a_little`]).
    pause: u64,
    /// Whether the call begins a lock-step round after the first.
    starts_round: bool,
    /// Whether its id is place 5, the history's first created id (see
    /// [`record`]).
    fresh: bool,
}

/// Thread `t`'s program. Place `p` is id `places[p - 1]` (see [`record`]).
fn program(mix: Mix, t: usize, places: &[u64; 5], rng: &mut Rng) -> Vec<Planned> {
    use Kind::*;
    // Weighted choices: which operation, and which place its id is.
    type Weighted<T> = &'static [(u64, T)];
    let (kinds, ids): (Weighted<Kind>, Weighted<u64>) = match mix {
        Mix::Mixed => (
            &[
                (4, Get),
                (2, GetWith),
                (5, Update),
                (2, Delete),
                (2, Create),
                (2, Len),
            ],
            &[(3, 1), (3, 2), (2, 3), (1, 4), (2, 5)],
        ),
        Mix::Contended => (
            &[(5, Get), (2, GetWith), (8, Update), (1, Delete)],
            &[(4, 1), (1, 2)],
        ),
        // The reader's first call of a round is always a whole-store read.
        Mix::Snapshots if t == 0 => (&[(4, GetAll), (4, Snapshot), (2, Len), (1, Get)], &[(1, 1)]),
        Mix::Snapshots => (
            &[(8, Update), (2, Create), (2, Delete)],
            &[(3, 1), (3, 2), (3, 3), (2, 5)],
        ),
    };
    let (rounds, per_round) = shape(mix);
    (0..rounds * per_round)
        .map(|i| {
            // Unique per operation: the version an update writes, and the
            // task a create makes, name the operation that wrote them.
            let tag = 100 * (t as u64 + 1) + i as u64;
            let place = rng.weighted(ids);
            let id = TaskId(places[place as usize - 1]);
            let starts_round = i % per_round == 0;
            let kind = match rng.weighted(kinds) {
                Len | Get if mix == Mix::Snapshots && starts_round => GetAll,
                kind => kind,
            };
            let call = match kind {
                Create => Call::Create(
                    NewTask {
                        title: format!("c{tag}"),
                        description: (rng.below(2) == 0).then(|| format!("cd{tag}")),
                        completed: Some(rng.below(2) == 0),
                    }
                    .validate_at(Timestamp(tag))
                    .expect("valid create"),
                ),
                Get => Call::Get(id),
                GetWith => Call::GetWith(id),
                Update => Call::Update(id, random_patch(rng, tag)),
                Delete => Call::Delete(id),
                Len => Call::Len,
                GetAll => Call::GetAll,
                Snapshot => Call::Snapshot,
            };
            // Mostly none or short spins; one pause in sixteen is a yield.
            // Operations take about as long as a few dozen spins, so
            // pauses stay that short: longer ones would only separate them.
            let pause = match rng.below(16) {
                0 => PAUSE_YIELD,
                1..=7 => 0,
                _ => rng.below(32),
            };
            Planned {
                call,
                pause,
                starts_round: starts_round && i > 0,
                fresh: place == 5,
            }
        })
        .collect()
}

/// A patch of a random non-empty subset of the fields, description set or
/// cleared, stamped `tag`.
fn random_patch(rng: &mut Rng, tag: u64) -> TaskPatch {
    let fields = 1 + rng.below(7);
    TaskUpdate {
        title: (fields & 1 != 0).then(|| format!("u{tag}")),
        description: (fields & 2 != 0).then(|| {
            if rng.below(3) == 0 {
                String::new()
            } else {
                format!("d{tag}")
            }
        }),
        completed: (fields & 4 != 0).then(|| rng.below(2) == 0),
    }
    .validate_at(Timestamp(tag))
    .expect("valid patch")
}

#[cfg(test)]
mod tests {
    //! The checker on hand-made histories: each refutation test fails if the
    //! checker accepts the history.

    use super::*;

    fn task(id: u64, title: &str, completed: bool, at: u64) -> Task {
        Task {
            id: TaskId(id),
            title: title.into(),
            description: "".into(),
            completed,
            created_at: Timestamp(1),
            updated_at: Timestamp(at),
        }
    }

    fn patch(title: Option<&str>, completed: Option<bool>, at: u64) -> TaskPatch {
        TaskUpdate {
            title: title.map(str::to_owned),
            description: None,
            completed,
        }
        .validate_at(Timestamp(at))
        .expect("valid")
    }

    fn ev(thread: usize, invoked: u64, returned: u64, call: Call, answer: Answer) -> Event {
        Event {
            thread,
            call,
            answer,
            invoked,
            returned,
        }
    }

    fn some(t: Task) -> Answer {
        Answer::Task(Some(t))
    }

    /// Task 1 "a", open, at time 1; task 2 "b", open.
    fn start() -> History {
        History::starting_with(vec![task(1, "a", false, 1), task(2, "b", false, 1)])
    }

    fn refuted(h: &History, g: SnapshotGuarantee) -> String {
        check(h, g)
            .expect_err("the checker accepted a history it must refute")
            .to_string()
    }

    #[test]
    fn a_linearizable_history_passes() {
        let mut h = start();
        let title = patch(Some("x"), None, 5);
        let done = patch(None, Some(true), 6);
        let draft = NewTask {
            title: "new".into(),
            ..Default::default()
        }
        .validate_at(Timestamp(7))
        .expect("valid");
        h.events = vec![
            // Two overlapping patches of task 1; the title one went first.
            ev(
                0,
                1,
                6,
                Call::Update(TaskId(1), title),
                some(task(1, "x", false, 5)),
            ),
            ev(
                1,
                2,
                5,
                Call::Update(TaskId(1), done),
                some(task(1, "x", true, 6)),
            ),
            // A read overlapping both sees the first one only.
            ev(2, 3, 4, Call::Get(TaskId(1)), some(task(1, "x", false, 5))),
            // After both: the latest.
            ev(
                2,
                7,
                8,
                Call::GetWith(TaskId(1)),
                some(task(1, "x", true, 6)),
            ),
            ev(
                0,
                9,
                14,
                Call::Create(draft.clone()),
                some(draft.into_task(TaskId(3))),
            ),
            ev(
                1,
                10,
                11,
                Call::Delete(TaskId(2)),
                some(task(2, "b", false, 1)),
            ),
            // Overlaps the create: may miss it; after the delete: no task 2.
            ev(2, 12, 13, Call::Len, Answer::Len(1)),
            ev(
                2,
                15,
                16,
                Call::GetAll,
                Answer::Tasks(vec![
                    task(1, "x", true, 6),
                    Task {
                        id: TaskId(3),
                        title: "new".into(),
                        description: "".into(),
                        completed: false,
                        created_at: Timestamp(7),
                        updated_at: Timestamp(7),
                    },
                ]),
            ),
            ev(
                1,
                17,
                18,
                Call::Update(TaskId(2), patch(None, Some(true), 9)),
                Answer::Task(None),
            ),
        ];
        for g in [SnapshotGuarantee::Atomic, SnapshotGuarantee::PerTask] {
            check(&h, g).unwrap_or_else(|why| panic!("{g:?}: {why}"));
        }
    }

    /// Both patches applied to the original task: each lost the other's
    /// field, whichever order they are put in.
    fn lost_update() -> History {
        let mut h = start();
        h.events = vec![
            ev(
                0,
                1,
                4,
                Call::Update(TaskId(1), patch(Some("x"), None, 5)),
                some(task(1, "x", false, 5)),
            ),
            ev(
                1,
                2,
                3,
                Call::Update(TaskId(1), patch(None, Some(true), 6)),
                some(task(1, "a", true, 6)),
            ),
        ];
        h
    }

    #[test]
    fn a_lost_update_fails() {
        let why = refuted(&lost_update(), SnapshotGuarantee::Atomic);
        assert!(why.contains("no order"), "{why}");
    }

    #[test]
    fn a_lost_update_seen_by_a_later_read_fails() {
        // Each update's answer alone is possible; the read after both shows
        // that the second overwrote the first with a stale base.
        let mut h = start();
        h.events = vec![
            ev(
                0,
                1,
                2,
                Call::Update(TaskId(1), patch(Some("x"), None, 5)),
                some(task(1, "x", false, 5)),
            ),
            ev(
                1,
                3,
                4,
                Call::Update(TaskId(1), patch(None, Some(true), 6)),
                some(task(1, "x", true, 6)),
            ),
            ev(2, 5, 6, Call::Get(TaskId(1)), some(task(1, "a", true, 6))),
        ];
        refuted(&h, SnapshotGuarantee::PerTask);
    }

    #[test]
    fn a_stale_read_fails() {
        // The update returned before the read began, yet the read saw the
        // old version.
        let mut h = start();
        h.events = vec![
            ev(
                0,
                1,
                2,
                Call::Update(TaskId(1), patch(Some("x"), None, 5)),
                some(task(1, "x", false, 5)),
            ),
            ev(1, 3, 4, Call::Get(TaskId(1)), some(task(1, "a", false, 1))),
        ];
        refuted(&h, SnapshotGuarantee::PerTask);
        // The same read overlapping the update is fine.
        h.events[1].invoked = 0;
        h.events[1].returned = 3;
        h.events[0].invoked = 1;
        check(&h, SnapshotGuarantee::PerTask).expect("an overlapping read may see either");
    }

    #[test]
    fn a_torn_read_fails() {
        // A version no writer made: the new title with the old flag, where
        // one patch set both.
        let mut h = start();
        h.events = vec![
            ev(
                0,
                1,
                4,
                Call::Update(TaskId(1), patch(Some("x"), Some(true), 5)),
                some(task(1, "x", true, 5)),
            ),
            ev(
                1,
                2,
                3,
                Call::GetWith(TaskId(1)),
                some(task(1, "x", false, 5)),
            ),
        ];
        refuted(&h, SnapshotGuarantee::PerTask);
    }

    #[test]
    fn a_resurrected_delete_fails() {
        // The delete returned, then an update found the task again.
        let mut h = start();
        h.events = vec![
            ev(
                0,
                1,
                2,
                Call::Delete(TaskId(1)),
                some(task(1, "a", false, 1)),
            ),
            ev(
                1,
                3,
                4,
                Call::Update(TaskId(1), patch(None, Some(true), 6)),
                some(task(1, "a", true, 6)),
            ),
        ];
        refuted(&h, SnapshotGuarantee::Atomic);
        // Overlapping, the update may go first, but then the delete must
        // return the updated version, not the original.
        h.events[1].invoked = 0;
        h.events[1].returned = 3;
        h.events[0].invoked = 1;
        refuted(&h, SnapshotGuarantee::Atomic);
    }

    #[test]
    fn a_resurrection_seen_by_a_read_fails() {
        // Update and delete overlap and both answers fit the order
        // update-then-delete, but a later read finds the task alive.
        let mut h = start();
        h.events = vec![
            ev(
                0,
                1,
                4,
                Call::Update(TaskId(1), patch(None, Some(true), 6)),
                some(task(1, "a", true, 6)),
            ),
            ev(
                1,
                2,
                3,
                Call::Delete(TaskId(1)),
                some(task(1, "a", true, 6)),
            ),
            ev(2, 5, 6, Call::Get(TaskId(1)), some(task(1, "a", true, 6))),
        ];
        refuted(&h, SnapshotGuarantee::PerTask);
    }

    #[test]
    fn a_reused_id_fails() {
        let mut h = start();
        h.issued = 3;
        let draft = NewTask {
            title: "n".into(),
            ..Default::default()
        }
        .validate_at(Timestamp(7))
        .expect("valid");
        h.events = vec![ev(
            0,
            1,
            2,
            Call::Create(draft.clone()),
            some(draft.into_task(TaskId(3))),
        )];
        refuted(&h, SnapshotGuarantee::PerTask);
    }

    /// The task a create of [`create`] makes under `id`.
    fn created(id: u64) -> Task {
        NewTask {
            title: format!("c{id}"),
            ..Default::default()
        }
        .validate_at(Timestamp(7))
        .expect("valid")
        .into_task(TaskId(id))
    }

    /// `thread` creates task `id` over `invoked..returned`.
    fn create(thread: usize, invoked: u64, returned: u64, id: u64) -> Event {
        let draft = NewTask {
            title: format!("c{id}"),
            ..Default::default()
        }
        .validate_at(Timestamp(7))
        .expect("valid");
        ev(
            thread,
            invoked,
            returned,
            Call::Create(draft),
            some(created(id)),
        )
    }

    /// A history with gaps, as a store with blocks of 64 makes: thread 0
    /// holds block 1 (tasks 1 and 2 so far), thread 1 block 2 (task 65).
    /// Thread 1 creates 66; after it returned, thread 0 creates 3, below
    /// the highest id handed out before; a read after both sees task 3.
    fn gapped() -> History {
        let mut h = start();
        h.start.push(task(65, "c", false, 1));
        h = History::starting_with(h.start);
        h.events = vec![
            create(1, 1, 2, 66),
            create(0, 3, 4, 3),
            ev(2, 5, 6, Call::Get(TaskId(3)), some(created(3))),
        ];
        h
    }

    const BLOCKS: IdPolicy = IdPolicy::Blocks { size: 64 };

    #[test]
    fn a_gapped_history_passes_for_blocks_and_fails_for_dense() {
        let mut h = gapped();
        assert_eq!((h.ids, h.issued), (IdPolicy::Dense, 65));
        for g in [SnapshotGuarantee::Atomic, SnapshotGuarantee::PerTask] {
            // Dense: every id up to 65 was handed out before, 3 included.
            let why = refuted(&h, g);
            assert!(why.contains("no order"), "{why}");
        }
        h.ids = BLOCKS;
        for g in [SnapshotGuarantee::Atomic, SnapshotGuarantee::PerTask] {
            check(&h, g).unwrap_or_else(|why| panic!("Blocks allow gaps, {g:?}: {why}"));
        }
        // Still linearizable, not anything goes: the read after the create
        // must see it.
        h.events[2].answer = Answer::Task(None);
        refuted(&h, SnapshotGuarantee::PerTask);
    }

    #[test]
    fn a_reused_id_fails_for_blocks() {
        let mut h = gapped();
        h.ids = BLOCKS;
        let reuse = |h: &mut History, id: u64| {
            h.events[1] = create(0, 3, 4, id);
            h.events[2] = ev(2, 5, 6, Call::Get(TaskId(id)), some(created(id)));
        };
        // A live task's id, one deleted before the history (handed out,
        // not live), one another create of the history returned, and 0.
        h.handed_out.insert(40);
        for id in [2, 65, 40, 66, 0] {
            reuse(&mut h, id);
            let why = refuted(&h, SnapshotGuarantee::PerTask);
            assert!(why.contains("no order"), "{id}: {why}");
        }
        reuse(&mut h, 41);
        check(&h, SnapshotGuarantee::PerTask).expect("41 was never handed out");
    }

    #[test]
    fn a_thread_whose_ids_decrease_fails_for_blocks() {
        let mut h = gapped();
        h.ids = BLOCKS;
        // Thread 1 creates 66, then 64: fresh ids, but out of its order.
        h.events[1] = create(1, 3, 4, 64);
        h.events[2] = ev(2, 5, 6, Call::Get(TaskId(64)), some(created(64)));
        let why = refuted(&h, SnapshotGuarantee::PerTask);
        assert!(why.contains("one thread's ids must increase"), "{why}");
        // The same ids from two threads are fine.
        h.events[1].thread = 0;
        check(&h, SnapshotGuarantee::PerTask).expect("two threads, two blocks");
    }

    /// Thread 0 updates task 1, then task 2; a get_all overlapping both
    /// sees the new task 2 but the old task 1.
    fn non_atomic_get_all() -> History {
        let mut h = start();
        h.events = vec![
            ev(
                0,
                2,
                3,
                Call::Update(TaskId(1), patch(None, Some(true), 5)),
                some(task(1, "a", true, 5)),
            ),
            ev(
                0,
                4,
                5,
                Call::Update(TaskId(2), patch(None, Some(true), 6)),
                some(task(2, "b", true, 6)),
            ),
            ev(
                1,
                1,
                6,
                Call::GetAll,
                Answer::Tasks(vec![task(2, "b", true, 6), task(1, "a", false, 1)]),
            ),
        ];
        h
    }

    #[test]
    fn a_non_atomic_get_all_fails_an_atomic_claim() {
        let h = non_atomic_get_all();
        refuted(&h, SnapshotGuarantee::Atomic);
        // ... and is exactly what PerTask allows.
        check(&h, SnapshotGuarantee::PerTask).expect("PerTask allows mixed instants");
        // As a snapshot, the same.
        let mut s = non_atomic_get_all();
        s.events[2].call = Call::Snapshot;
        refuted(&s, SnapshotGuarantee::Atomic);
    }

    #[test]
    fn a_get_all_missing_a_task_that_existed_throughout_fails_per_task() {
        let mut h = start();
        h.events = vec![ev(
            0,
            1,
            2,
            Call::GetAll,
            Answer::Tasks(vec![task(2, "b", false, 1)]),
        )];
        refuted(&h, SnapshotGuarantee::PerTask);
    }

    #[test]
    fn a_get_all_with_a_duplicate_or_a_phantom_fails() {
        let mut h = start();
        h.events = vec![ev(
            0,
            1,
            2,
            Call::GetAll,
            Answer::Tasks(vec![
                task(1, "a", false, 1),
                task(2, "b", false, 1),
                task(1, "a", false, 1),
            ]),
        )];
        assert!(refuted(&h, SnapshotGuarantee::PerTask).contains("twice"));
        h.events[0].answer = Answer::Tasks(vec![
            task(1, "a", false, 1),
            task(2, "b", false, 1),
            task(9, "z", false, 1),
        ]);
        assert!(refuted(&h, SnapshotGuarantee::PerTask).contains("nobody created"));
    }

    #[test]
    fn len_is_exact_for_an_atomic_store_only() {
        // Task 1 deleted, then task 3 created, while a len overlapping
        // both says 3: a count the store never had (2, 1, 2).
        let mut h = start();
        let draft = NewTask {
            title: "n".into(),
            ..Default::default()
        }
        .validate_at(Timestamp(7))
        .expect("valid");
        h.events = vec![
            ev(
                0,
                2,
                3,
                Call::Delete(TaskId(1)),
                some(task(1, "a", false, 1)),
            ),
            ev(
                0,
                4,
                5,
                Call::Create(draft.clone()),
                some(draft.into_task(TaskId(3))),
            ),
            ev(1, 1, 6, Call::Len, Answer::Len(3)),
        ];
        refuted(&h, SnapshotGuarantee::Atomic);
        // A sharded sum may count task 1's shard before the delete and
        // task 3's after the create.
        check(&h, SnapshotGuarantee::PerTask).expect("PerTask len is a sum over instants");
        h.events[2].answer = Answer::Len(4);
        refuted(&h, SnapshotGuarantee::PerTask);
    }

    #[test]
    fn a_create_that_is_not_its_draft_fails() {
        let mut h = start();
        let draft = NewTask {
            title: "n".into(),
            ..Default::default()
        }
        .validate_at(Timestamp(7))
        .expect("valid");
        let mut wrong = draft.clone().into_task(TaskId(3));
        wrong.completed = true;
        h.events = vec![ev(0, 1, 2, Call::Create(draft), some(wrong))];
        assert!(refuted(&h, SnapshotGuarantee::Atomic).contains("draft"));
    }

    #[test]
    fn a_refutation_report_shows_every_event_and_the_longest_prefix() {
        let mut h = lost_update();
        h.events.push(ev(2, 5, 6, Call::Len, Answer::Len(2)));
        let want = concat!(
            "not linearizable: no order of the operations consistent with real time gives the store's answers\n",
            "  start: #1{title \"a\", description \"\", completed false, created 1, updated 1} ",
            "#2{title \"b\", description \"\", completed false, created 1, updated 1}; ids 1 to 2 issued before\n",
            "  [ 0] thread 0    1..4    update(1, TaskPatch { title: Some(\"x\"), description: None, completed: None, at: Timestamp(5) }) ",
            "-> #1{title \"x\", description \"\", completed false, created 1, updated 5}\n",
            "  [ 1] thread 1    2..3    update(1, TaskPatch { title: None, description: None, completed: Some(true), at: Timestamp(6) }) ",
            "-> #1{title \"a\", description \"\", completed true, created 1, updated 6}\n",
            "  [ 2] thread 2    5..6    len() -> 2\n",
            "  longest consistent prefix of a linearization (events): [0]\n",
        );
        assert_eq!(refuted(&h, SnapshotGuarantee::Atomic), want);
    }

    #[test]
    fn the_rng_and_its_weights_are_pinned() {
        let mut r = Rng::new(7);
        let first: Vec<u64> = (0..3).map(|_| r.next()).collect();
        assert_eq!(
            first,
            [
                15570322192663004584,
                908929870539628114,
                8539802129861374748
            ]
        );
        let mut r = Rng::new(1);
        let mut counts = [0usize; 3];
        for _ in 0..4_000 {
            counts[r.weighted(&[(1, 0usize), (2, 1), (1, 2)])] += 1;
        }
        assert_eq!(counts, [988, 2012, 1000]);
    }

    #[test]
    fn the_spin_barrier_holds_each_thread_until_all_arrive() {
        // Under the suite's watchdog: a barrier that never opens fails the
        // test instead of hanging it.
        crate::watchdog::with_time_limit("spin barrier", || {
            let barrier = SpinBarrier::new(2);
            let arrived = std::sync::atomic::AtomicBool::new(false);
            // Two rounds: the barrier is reusable.
            for round in 0..2 {
                arrived.store(false, Ordering::SeqCst);
                thread::scope(|s| {
                    s.spawn(|| {
                        // Arrives late: the other thread must not pass first.
                        thread::sleep(std::time::Duration::from_millis(20));
                        arrived.store(true, Ordering::SeqCst);
                        barrier.wait();
                    });
                    barrier.wait();
                    assert!(
                        arrived.load(Ordering::SeqCst),
                        "passed the barrier alone in round {round}"
                    );
                });
            }
        });
    }

    #[test]
    fn the_history_count_is_a_positive_override_or_the_default() {
        assert_eq!(histories_from(None), DEFAULT_HISTORIES);
        assert_eq!(histories_from(Some("7")), 7);
        assert_eq!(histories_from(Some("1")), 1);
        assert_eq!(
            histories_from(Some("0")),
            DEFAULT_HISTORIES,
            "0 would check nothing"
        );
        assert_eq!(histories_from(Some("many")), DEFAULT_HISTORIES);
    }

    #[test]
    fn histories_up_to_the_limit_are_checked_and_longer_ones_refused() {
        let lens = |n: u64| {
            let mut h = start();
            h.events = (0..n)
                .map(|i| ev(0, 2 * i + 1, 2 * i + 2, Call::Len, Answer::Len(2)))
                .collect();
            h
        };
        check(&lens(MAX_OPS as u64), SnapshotGuarantee::Atomic)
            .unwrap_or_else(|why| panic!("{MAX_OPS} operations are within the limit: {why}"));
        let why = refuted(&lens(MAX_OPS as u64 + 1), SnapshotGuarantee::Atomic);
        assert!(why.contains("the checker takes at most 128"), "{why}");
    }

    /// A program as text: each step's call, pause and round start.
    fn shown(program: &[Planned]) -> String {
        program
            .iter()
            .map(|p| format!("{}/{}/{}", show_call(&p.call), p.pause, p.starts_round))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn programs_are_pinned() {
        // Generation is part of what the checks test: which ids, which
        // fields a patch sets or clears, where rounds start. A change to it
        // must be deliberate (update the text below), not an accident.
        let mut r = Rng::new(3);
        let got: Vec<String> = [
            (Mix::Mixed, 0),
            (Mix::Mixed, 1),
            (Mix::Contended, 2),
            (Mix::Snapshots, 0),
            (Mix::Snapshots, 1),
        ]
        .iter()
        .map(|&(mix, t)| shown(&program(mix, t, &[11, 12, 13, 14, 15], &mut r)))
        .collect();
        assert_eq!(
            got.join("\n--\n"),
            concat!(
                "delete(11)/5/false\n",
                "update(11, TaskPatch { title: Some(\"u101\"), description: Some(\"d101\"), completed: Some(true), at: Timestamp(101) })/0/true\n",
                "get(11)/3/true\n",
                "create(title \"c103\", description \"cd103\", completed true, at 103)/24/true\n",
                "update(11, TaskPatch { title: Some(\"u104\"), description: None, completed: Some(true), at: Timestamp(104) })/31/true\n",
                "--\n",
                "get(12)/0/false\n",
                "update(15, TaskPatch { title: Some(\"u201\"), description: None, completed: Some(false), at: Timestamp(201) })/128/true\n",
                "len()/4/true\n",
                "get_with(11)/0/true\n",
                "len()/0/true\n",
                "--\n",
                "update(12, TaskPatch { title: Some(\"u300\"), description: Some(\"d300\"), completed: None, at: Timestamp(300) })/19/false\n",
                "get(12)/0/true\n",
                "get(12)/0/true\n",
                "get(11)/128/true\n",
                "update(11, TaskPatch { title: None, description: Some(\"d304\"), completed: Some(true), at: Timestamp(304) })/0/true\n",
                "--\n",
                "get_all()/0/false\n",
                "get_all()/6/false\n",
                "get_all()/0/true\n",
                "get_all()/0/false\n",
                "get_all()/24/true\n",
                "get_all()/0/false\n",
                "--\n",
                "update(12, TaskPatch { title: None, description: Some(\"d200\"), completed: Some(true), at: Timestamp(200) })/23/false\n",
                "update(11, TaskPatch { title: Some(\"u201\"), description: None, completed: None, at: Timestamp(201) })/22/false\n",
                "update(12, TaskPatch { title: None, description: None, completed: Some(false), at: Timestamp(202) })/0/true\n",
                "create(title \"c203\", description \"cd203\", completed false, at 203)/17/false\n",
                "update(11, TaskPatch { title: Some(\"u204\"), description: Some(\"d204\"), completed: Some(false), at: Timestamp(204) })/0/true\n",
                "update(11, TaskPatch { title: None, description: Some(\"\"), completed: None, at: Timestamp(205) })/0/false",
            )
        );
    }

    #[test]
    fn the_rng_is_deterministic_and_programs_vary() {
        let a: Vec<u64> = {
            let mut r = Rng::new(7);
            (0..4).map(|_| r.next()).collect()
        };
        let b: Vec<u64> = {
            let mut r = Rng::new(7);
            (0..4).map(|_| r.next()).collect()
        };
        assert_eq!(a, b);
        let mut r = Rng::new(1);
        let p = program(Mix::Mixed, 0, &[1, 2, 3, 4, 5], &mut r);
        assert_eq!(p.len(), 5);
        let (rounds, per_round) = shape(Mix::Snapshots);
        let writer = program(Mix::Snapshots, 1, &[1, 2, 3, 4, 5], &mut r);
        assert_eq!(writer.len(), rounds * per_round);
        assert_eq!(writer.iter().filter(|s| s.starts_round).count(), rounds - 1);
        let reader = program(Mix::Snapshots, 0, &[1, 2, 3, 4, 5], &mut r);
        assert!(
            reader
                .iter()
                .step_by(per_round)
                .all(|s| matches!(s.call, Call::GetAll | Call::Snapshot))
        );
    }
}
