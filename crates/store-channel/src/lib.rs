//! `channel`: the decision log's abandoned `ChannelStore`, rebuilt
//! faithfully as the control for every actor design.
//!
//! One worker thread owns the map and the id counter. Every call builds a
//! message carrying a reply channel created for that call alone, sends it on
//! one shared queue (crossbeam-channel), and blocks on the reply. That is
//! the log's design and its costs: a channel allocation per call, two
//! cross-thread hand-offs per call, and one thread doing all the work.
//!
//! Improvements (sharded actors, batching, reused reply slots) belong in
//! other variants; this one stays as the log describes.

use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};
use rustc_hash::FxHashMap;
use task_model::{SnapshotGuarantee, Task, TaskDraft, TaskId, TaskPatch, TaskStore};

/// A call to the actor, with the channel its answer goes back on.
enum Request {
    Create(TaskDraft, Sender<Arc<Task>>),
    Get(TaskId, Sender<Option<Arc<Task>>>),
    Update(TaskId, TaskPatch, Sender<Option<Arc<Task>>>),
    Delete(TaskId, Sender<Option<Arc<Task>>>),
    GetAll(Sender<Vec<Arc<Task>>>),
    Len(Sender<usize>),
    Stop,
}

/// A store whose map lives on its own thread.
pub struct ChannelStore {
    requests: Sender<Request>,
    worker: Option<JoinHandle<()>>,
}

impl Default for ChannelStore {
    fn default() -> Self {
        Self::new()
    }
}

impl ChannelStore {
    /// An empty store and its running actor.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty store whose map has room for `capacity` tasks.
    pub fn with_capacity(capacity: usize) -> Self {
        let (requests, inbox) = crossbeam_channel::unbounded();
        let worker = std::thread::Builder::new()
            .name("sl-actor".into())
            .spawn(move || actor(inbox, capacity))
            .expect("the OS refused to start the actor thread");
        ChannelStore {
            requests,
            worker: Some(worker),
        }
    }

    /// Sends one request built around a fresh reply channel and waits.
    fn call<T>(&self, request: impl FnOnce(Sender<T>) -> Request) -> T {
        let (reply, answer) = crossbeam_channel::bounded(1);
        self.requests
            .send(request(reply))
            .expect("the actor lives as long as the store");
        answer.recv().expect("the actor answers every request")
    }
}

fn actor(inbox: Receiver<Request>, capacity: usize) {
    let mut tasks: FxHashMap<TaskId, Arc<Task>> =
        FxHashMap::with_capacity_and_hasher(capacity, Default::default());
    let mut next_id = 1u64;
    // A reply can only fail if the caller is gone (it panicked while
    // waiting); the actor carries on serving the others.
    while let Ok(request) = inbox.recv() {
        match request {
            Request::Create(draft, reply) => {
                let id = TaskId(next_id);
                next_id += 1;
                let task = Arc::new(draft.into_task(id));
                tasks.insert(id, task.clone());
                let _ = reply.send(task);
            }
            Request::Get(id, reply) => {
                let _ = reply.send(tasks.get(&id).cloned());
            }
            Request::Update(id, patch, reply) => {
                let next = tasks.get_mut(&id).map(|slot| {
                    *slot = Arc::new(slot.patched(&patch));
                    slot.clone()
                });
                let _ = reply.send(next);
            }
            Request::Delete(id, reply) => {
                let _ = reply.send(tasks.remove(&id));
            }
            Request::GetAll(reply) => {
                let _ = reply.send(tasks.values().cloned().collect());
            }
            Request::Len(reply) => {
                let _ = reply.send(tasks.len());
            }
            Request::Stop => break,
        }
    }
}

impl Drop for ChannelStore {
    fn drop(&mut self) {
        // The actor handles requests in order, so Stop comes after every
        // call already made; then wait for it to exit.
        let _ = self.requests.send(Request::Stop);
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

impl TaskStore for ChannelStore {
    /// One thread owns the map: every snapshot is taken at one instant.
    const SNAPSHOT: SnapshotGuarantee = SnapshotGuarantee::Atomic;

    fn create(&self, draft: TaskDraft) -> Arc<Task> {
        self.call(|reply| Request::Create(draft, reply))
    }

    fn get(&self, id: TaskId) -> Option<Arc<Task>> {
        self.call(|reply| Request::Get(id, reply))
    }

    fn update(&self, id: TaskId, patch: TaskPatch) -> Option<Arc<Task>> {
        self.call(|reply| Request::Update(id, patch, reply))
    }

    fn delete(&self, id: TaskId) -> Option<Arc<Task>> {
        self.call(|reply| Request::Delete(id, reply))
    }

    fn get_all(&self) -> Vec<Arc<Task>> {
        self.call(Request::GetAll)
    }

    fn len(&self) -> usize {
        self.call(Request::Len)
    }
}
