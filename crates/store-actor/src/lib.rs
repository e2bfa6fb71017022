//! `actor`: the log said the actor store had "no path to improvement". This
//! is the path. Each cost of the faithful `channel` store is removed by one
//! change, and the design stays an actor: a task's map is owned by exactly
//! one thread, and every call is a message with a reply.
//!
//! | cost in `channel` | change here |
//! |---|---|
//! | a reply channel allocated per call | one reply channel per calling thread, made once and reused |
//! | one actor serializes everything | one actor per two cores (a power of two); task `id` belongs to actor `id & mask` |
//! | an unbounded queue that allocates blocks | a bounded array queue per actor: sending copies into a preallocated slot |
//! | waking a parked thread per hop (microseconds on a VM) | both sides spin briefly, then yield, and only then block |
//! | one message handled per wake-up | the actor drains everything queued before it waits again |
//! | ids assigned by the single actor | one atomic counter on the caller's side; creates go to the owning actor |
//!
//! Synchronization is crossbeam-channel's, used as documented; there is no
//! `unsafe` and no custom atomic protocol.
//!
//! The price: spinning burns a core while it waits, so the actors suit a
//! machine with cores to spare. With more runnable threads than cores the
//! yields keep it live, but every hop may then cost a scheduler round trip.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use crossbeam_utils::CachePadded;
use rustc_hash::FxHashMap;
use task_model::{SnapshotGuarantee, Task, TaskDraft, TaskId, TaskPatch, TaskStore};

/// Spins (pause instructions) before a waiting side starts yielding.
const SPINS: u32 = 1 << 11;
/// Yields before a waiting side blocks.
const YIELDS: u32 = 1 << 6;
/// Requests an actor's queue holds before senders wait.
const QUEUE: usize = 1 << 10;
/// Most actors a store runs (and replies one get_all can collect at once).
pub const MAX_ACTORS: usize = 64;

enum Reply {
    Task(Option<Arc<Task>>),
    All(Vec<Arc<Task>>),
    Len(usize),
}

enum Op {
    Insert(Arc<Task>),
    Get(TaskId),
    Update(TaskId, TaskPatch),
    Delete(TaskId),
    GetAll,
    Len,
}

struct Request {
    op: Op,
    reply: Sender<Reply>,
}

thread_local! {
    /// This thread's reply channel, reused by every call it makes to any
    /// actor store. Calls block until answered, so one thread never has two
    /// calls' replies in flight, except get_all's one reply per actor, which
    /// the capacity allows.
    static REPLY: (Sender<Reply>, Receiver<Reply>) = crossbeam_channel::bounded(MAX_ACTORS);
}

/// Waits for a message: spin, then yield, then block.
fn wait<T>(rx: &Receiver<T>) -> Option<T> {
    for round in 0..SPINS + YIELDS {
        match rx.try_recv() {
            Ok(v) => return Some(v),
            Err(TryRecvError::Disconnected) => return None,
            Err(TryRecvError::Empty) if round < SPINS => {}
            Err(TryRecvError::Empty) => std::thread::yield_now(),
        }
    }
    rx.recv().ok()
}

/// Sharded actors that own the tasks.
pub struct ActorStore {
    actors: Vec<Sender<Request>>,
    mask: u64,
    next_id: CachePadded<AtomicU64>,
    handles: Vec<JoinHandle<()>>,
}

impl Default for ActorStore {
    fn default() -> Self {
        Self::new()
    }
}

impl ActorStore {
    /// One actor per two cores (a power of two, at least one).
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// One actor per two cores, maps pre-sized for `capacity` tasks in all.
    ///
    /// Half the cores, because a waiting actor spins: the other half is left
    /// to the callers, whose requests the actors are waiting for. (Measured:
    /// on 2 cores, 2 actors were several times slower than 1.)
    pub fn with_capacity(capacity: usize) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::with_actors(cores / 2, capacity)
    }

    /// `actors` actors (rounded down to a power of two, 1 to [`MAX_ACTORS`]).
    pub fn with_actors(actors: usize, capacity: usize) -> Self {
        let actors = actors.clamp(1, MAX_ACTORS);
        let actors = 1usize << (usize::BITS - 1 - actors.leading_zeros());
        let per_actor = capacity.div_ceil(actors);
        let mut senders = Vec::with_capacity(actors);
        let mut handles = Vec::with_capacity(actors);
        for a in 0..actors {
            let (tx, rx) = crossbeam_channel::bounded(QUEUE);
            let handle = std::thread::Builder::new()
                .name(format!("sl-actor-{a}"))
                .spawn(move || actor(rx, per_actor))
                .expect("the OS refused to start an actor thread");
            senders.push(tx);
            handles.push(handle);
        }
        ActorStore {
            actors: senders,
            mask: actors as u64 - 1,
            next_id: CachePadded::new(AtomicU64::new(1)),
            handles,
        }
    }

    /// How many actors run.
    pub fn actor_count(&self) -> usize {
        self.actors.len()
    }

    /// Sends `op` to the actor owning `id` and waits for its reply.
    fn call(&self, id: TaskId, op: Op) -> Reply {
        let actor = &self.actors[(id.get() & self.mask) as usize];
        REPLY.with(|(reply, answers)| {
            actor
                .send(Request {
                    op,
                    reply: reply.clone(),
                })
                .expect("actors live as long as the store");
            wait(answers).expect("this thread holds its reply sender")
        })
    }

    fn task(&self, id: TaskId, op: Op) -> Option<Arc<Task>> {
        match self.call(id, op) {
            Reply::Task(t) => t,
            _ => unreachable!("task operations get task replies"),
        }
    }

    /// Sends `op` to every actor and collects the replies.
    fn broadcast(&self, op: impl Fn() -> Op) -> Vec<Reply> {
        REPLY.with(|(reply, answers)| {
            for actor in &self.actors {
                actor
                    .send(Request {
                        op: op(),
                        reply: reply.clone(),
                    })
                    .expect("actors live as long as the store");
            }
            (0..self.actors.len())
                .map(|_| wait(answers).expect("this thread holds its reply sender"))
                .collect()
        })
    }
}

fn actor(inbox: Receiver<Request>, capacity: usize) {
    let mut tasks: FxHashMap<TaskId, Arc<Task>> =
        FxHashMap::with_capacity_and_hasher(capacity, Default::default());
    // `wait` drains whatever is queued before it spins again: a burst of
    // requests is handled in one pass. It returns None when the store has
    // dropped every sender.
    while let Some(Request { op, reply }) = wait(&inbox) {
        let answer = match op {
            Op::Insert(task) => {
                tasks.insert(task.id, task.clone());
                Reply::Task(Some(task))
            }
            Op::Get(id) => Reply::Task(tasks.get(&id).cloned()),
            Op::Update(id, patch) => Reply::Task(tasks.get_mut(&id).map(|slot| {
                *slot = Arc::new(slot.patched(&patch));
                slot.clone()
            })),
            Op::Delete(id) => Reply::Task(tasks.remove(&id)),
            Op::GetAll => Reply::All(tasks.values().cloned().collect()),
            Op::Len => Reply::Len(tasks.len()),
        };
        // The caller may have gone (it panicked); the actor carries on.
        let _ = reply.send(answer);
    }
}

impl Drop for ActorStore {
    fn drop(&mut self) {
        // Dropping the senders ends each actor's loop once its queue is empty.
        self.actors.clear();
        for handle in self.handles.drain(..) {
            let _ = handle.join();
        }
    }
}

impl TaskStore for ActorStore {
    /// Each actor answers for its own tasks at its own instant.
    const SNAPSHOT: SnapshotGuarantee = SnapshotGuarantee::PerTask;

    fn create(&self, draft: TaskDraft) -> Arc<Task> {
        // Relaxed: uniqueness only; the actor's channel publishes the task.
        let id = TaskId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let task = Arc::new(draft.into_task(id));
        self.task(id, Op::Insert(task))
            .expect("an insert replies with the task")
    }

    fn get(&self, id: TaskId) -> Option<Arc<Task>> {
        self.task(id, Op::Get(id))
    }

    fn update(&self, id: TaskId, patch: TaskPatch) -> Option<Arc<Task>> {
        self.task(id, Op::Update(id, patch))
    }

    fn delete(&self, id: TaskId) -> Option<Arc<Task>> {
        self.task(id, Op::Delete(id))
    }

    fn get_all(&self) -> Vec<Arc<Task>> {
        let parts = self.broadcast(|| Op::GetAll);
        let mut out = Vec::with_capacity(
            parts
                .iter()
                .map(|p| if let Reply::All(v) = p { v.len() } else { 0 })
                .sum(),
        );
        for part in parts {
            if let Reply::All(v) = part {
                out.extend(v);
            }
        }
        out
    }

    fn len(&self) -> usize {
        self.broadcast(|| Op::Len)
            .into_iter()
            .map(|r| if let Reply::Len(n) = r { n } else { 0 })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actor_count_is_a_power_of_two() {
        assert_eq!(ActorStore::with_actors(3, 0).actor_count(), 2);
        assert_eq!(ActorStore::with_actors(0, 0).actor_count(), 1);
        assert_eq!(ActorStore::with_actors(1000, 0).actor_count(), MAX_ACTORS);
    }
}
