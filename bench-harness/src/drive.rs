//! The timed loop: a thread's run over pre-generated operations, and the
//! sampled loop of the latency pass.
//!
//! # What is timed
//! Only [`drive`]: a loop over pre-generated operations, monomorphized for
//! the store type (the `Bench` trait object is crossed once per repetition,
//! never per operation). Threads start together behind a barrier; each
//! records its own start and end; a repetition's wall time runs from the
//! first start to the last end, and ns/op is wall time over total operations
//! (as Go's `b.RunParallel` reports).
//!
//! # Every thread stays busy to the end
//! A repetition's operations are not split evenly in advance: threads claim
//! them in batches from one shared counter ([`WorkQueue`]), as Go's
//! `RunParallel` hands out `b.N` through `pb.Next()`. A thread that a store
//! starves claims fewer batches, while the others keep working, so the wall
//! time is not stretched by one slow caller waiting out a fixed share, and
//! every thread stops within one batch of the others. How unevenly the work
//! went is kept (each thread's operations and time), and reported as the
//! fairness of the cell: the slowest thread's throughput over the median of
//! the others' (see `storelab_results::UNFAIR_BELOW` for why not the fastest).
//! The counter is touched once per batch (at most 1,024 operations), never
//! per operation; there is no clock read or allocation inside the loop.
//!
//! # Reads are checked
//! Every read compares the id of the task it got with the id it asked for; a
//! wrong task aborts the run. Misses are counted and, in a fixed key space
//! where the workload never deletes, a miss aborts the run too: no store can
//! look fast by being wrong. In a live key space (`crate::live`) a miss may
//! be a race, so it is counted and shown, and the audit after each cell reads
//! back a sample of every task the lanes hold.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, MutexGuard};
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;
use hdrhistogram::Histogram;
use task_model::{NewTask, TaskDraft, TaskId, TaskPatch, TaskStore, Timestamp};

use workload::{KINDS, OpKind, ReadMode, Stream};

use crate::live::{Lane, LiveKeys};

/// What a loop over operations found, beside its timing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Keyed operations that found no task.
    pub misses: u64,
    /// Reads that returned another task than the one asked for.
    pub wrong: u64,
    /// Tasks returned by get_all calls.
    pub listed: u64,
}

impl Tally {
    pub(crate) fn add(&mut self, other: Tally) {
        self.misses += other.misses;
        self.wrong += other.wrong;
        self.listed += other.listed;
    }
}

/// One repetition's timing.
#[derive(Clone, Debug)]
pub struct Timed {
    pub wall: Duration,
    /// Each thread's own elapsed time.
    pub per_thread: Vec<Duration>,
    /// Operations each thread claimed and ran.
    pub per_thread_ops: Vec<u64>,
    pub tally: Tally,
}

/// A repetition's operations, handed out in batches from one shared counter.
pub struct WorkQueue {
    next: CachePadded<AtomicU64>,
    total: u64,
    batch: u64,
}

impl WorkQueue {
    /// `total` operations in batches of about a 64th of a thread's fair
    /// share (`total / threads`), between 1 and 1,024: small enough that
    /// threads end within one batch of each other even when an operation
    /// takes milliseconds (get_all), large enough that the counter is
    /// touched rarely.
    pub fn new(total: u64, threads: usize) -> WorkQueue {
        let share = total / threads.max(1) as u64;
        WorkQueue {
            next: CachePadded::new(AtomicU64::new(0)),
            total,
            batch: (share / 64).clamp(1, 1024),
        }
    }

    /// The size of the next batch, or `None` when the work is all handed out.
    #[inline]
    pub fn claim(&self) -> Option<u64> {
        // Relaxed: the counter only has to hand out each operation once,
        // which fetch_add does under any ordering; nothing else is published
        // through it (results travel through the threads' join).
        let start = self.next.fetch_add(self.batch, Ordering::Relaxed);
        (start < self.total).then(|| self.batch.min(self.total - start))
    }
}

/// Per-thread context built before timing: what creates and updates send,
/// and in a live mix the thread's lane.
pub(crate) struct Ctx<'a> {
    draft: TaskDraft,
    at: Timestamp,
    pub(crate) lane: Option<(MutexGuard<'a, Lane>, &'a LiveKeys, usize)>,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(thread: usize, live: Option<&'a LiveKeys>, creates: usize) -> Ctx<'a> {
        // Each thread has its own draft (its own string reference counts),
        // so creates on two threads do not contend on a shared draft.
        let draft = NewTask {
            title: format!("created by thread {thread}"),
            ..Default::default()
        }
        .validate_at(Timestamp(1))
        .expect("a constant valid title");
        Ctx {
            draft,
            at: Timestamp(2),
            lane: live.map(|keys| (keys.lane(thread, creates), keys, thread % keys.lanes.len())),
        }
    }

    /// Once per batch: publish and read the lanes' oldest and newest ids.
    #[inline]
    fn refresh(&mut self) {
        if let Some((lane, keys, me)) = &mut self.lane {
            lane.refresh(keys, *me);
        }
    }
}

impl Drop for Ctx<'_> {
    fn drop(&mut self) {
        if let Some((_, keys, me)) = &self.lane {
            keys.release(*me);
        }
    }
}

/// In a live key space, what `kind` asks of the thread's lane: creates and
/// deletes run here (their ids are the store's and the lane's, not the
/// stream's) and return `None`; a keyed operation's offset becomes the id
/// it asks for.
#[inline(always)]
fn live_target<S: TaskStore>(
    store: &S,
    id: u32,
    kind: OpKind,
    ctx: &mut Ctx,
    tally: &mut Tally,
) -> Option<u32> {
    let Some((lane, _, _)) = &mut ctx.lane else {
        unreachable!("a live pass always has a lane")
    };
    match kind {
        OpKind::Create => {
            lane.created(store.create(ctx.draft.clone()).id);
            None
        }
        OpKind::Delete => {
            tally.misses += match lane.take_oldest() {
                Some(id) => u64::from(store.delete(TaskId(u64::from(id))).is_none()),
                // Nothing left to delete: a DELETE of an id no task
                // ever has (ids start at 1), as of a task already gone.
                None => u64::from(store.delete(TaskId(0)).is_none()),
            };
            None
        }
        OpKind::GetAll => Some(id),
        _ => Some(lane.target(id)),
    }
}

/// Executes one operation. Inlined into each monomorphized loop; `LIVE`
/// (a live key space) resolves ids through the thread's lane.
#[inline(always)]
fn execute<S: TaskStore, const VISIT: bool, const LIVE: bool>(
    store: &S,
    i: usize,
    id: u32,
    kind: OpKind,
    ctx: &mut Ctx,
    tally: &mut Tally,
) {
    let id = if LIVE {
        match live_target(store, id, kind, ctx, tally) {
            Some(id) => id,
            None => return,
        }
    } else {
        id
    };
    let id = TaskId(u64::from(id));
    match kind {
        OpKind::Read => {
            let got = if VISIT {
                store.get_with(id, |t| t.id)
            } else {
                store.get(id).map(|t| t.id)
            };
            match got {
                Some(found) => tally.wrong += u64::from(found != id),
                None => tally.misses += 1,
            }
        }
        OpKind::Update => {
            let patch = TaskPatch::set_completed(i & 1 == 0, ctx.at);
            tally.misses += u64::from(store.update(id, patch).is_none());
        }
        OpKind::Create => {
            black_box(store.create(ctx.draft.clone()));
        }
        OpKind::Delete => {
            tally.misses += u64::from(store.delete(id).is_none());
        }
        OpKind::Rmw => {
            // Read, then write back a change that depends on what was read.
            match store.get(id) {
                Some(task) => {
                    tally.wrong += u64::from(task.id != id);
                    let patch = TaskPatch::set_completed(!task.completed, ctx.at);
                    tally.misses += u64::from(store.update(id, patch).is_none());
                }
                None => tally.misses += 1,
            }
        }
        OpKind::GetAll => {
            // A snapshot, walked: every task's pointer is read (as a caller
            // serializing the list would reach each task), none is cloned
            // beyond what the store's snapshot itself does.
            let snapshot = store.snapshot();
            let (mut n, mut mix) = (0u64, 0usize);
            snapshot.for_each(|t| {
                n += 1;
                mix ^= Arc::as_ptr(t) as usize;
            });
            black_box(mix);
            tally.listed += n;
        }
    }
}

/// The timed loop: batches claimed from `queue`, run as consecutive
/// operations of `stream` from position `start`. Returns what the operations
/// found and how many ran on this thread.
#[inline(never)]
fn drive<S: TaskStore, const VISIT: bool, const LIVE: bool>(
    store: &S,
    stream: &Stream,
    start: usize,
    queue: &WorkQueue,
    ctx: &mut Ctx,
) -> (Tally, u64) {
    let mut tally = Tally::default();
    let mut pos = start;
    while let Some(k) = queue.claim() {
        if LIVE {
            ctx.refresh();
        }
        for i in pos..pos + k as usize {
            let op = stream.op(i);
            execute::<S, VISIT, LIVE>(store, i, op.id, op.kind, ctx, &mut tally);
        }
        pos += k as usize;
    }
    (tally, (pos - start) as u64)
}

/// [`drive`] with the read mode and the key space chosen once, outside the
/// loop.
pub(crate) fn drive_as<S: TaskStore>(
    read: ReadMode,
    store: &S,
    stream: &Stream,
    start: usize,
    queue: &WorkQueue,
    ctx: &mut Ctx,
) -> (Tally, u64) {
    match (read, ctx.lane.is_some()) {
        (ReadMode::Clone, false) => drive::<S, false, false>(store, stream, start, queue, ctx),
        (ReadMode::Visit, false) => drive::<S, true, false>(store, stream, start, queue, ctx),
        (ReadMode::Clone, true) => drive::<S, false, true>(store, stream, start, queue, ctx),
        (ReadMode::Visit, true) => drive::<S, true, true>(store, stream, start, queue, ctx),
    }
}

/// The latency loop: as [`drive`], timing one operation in `every`.
fn drive_sampled<S: TaskStore, const VISIT: bool, const LIVE: bool>(
    store: &S,
    stream: &Stream,
    n: usize,
    every: usize,
    ctx: &mut Ctx,
    hists: &mut [Histogram<u64>; KINDS],
) -> Tally {
    let mut tally = Tally::default();
    for i in 0..n {
        if LIVE && i % 1024 == 0 {
            ctx.refresh();
        }
        let op = stream.op(i);
        if i % every == 0 {
            let t0 = Instant::now();
            execute::<S, VISIT, LIVE>(store, i, op.id, op.kind, ctx, &mut tally);
            let ns = t0.elapsed().as_nanos() as u64;
            hists[op.kind as usize].saturating_record(ns.max(1));
        } else {
            execute::<S, VISIT, LIVE>(store, i, op.id, op.kind, ctx, &mut tally);
        }
    }
    tally
}

/// The median cost of reading the clock twice back to back: what each
/// sampled latency includes beyond the operation itself.
pub fn timer_cost_ns() -> f64 {
    let mut samples: Vec<f64> = (0..20_001)
        .map(|_| {
            let t0 = Instant::now();
            black_box(());
            t0.elapsed().as_nanos() as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// [`drive_sampled`] with the read mode and the key space chosen once,
/// outside the loop.
pub(crate) fn drive_sampled_as<S: TaskStore>(
    read: ReadMode,
    store: &S,
    stream: &Stream,
    n: usize,
    every: usize,
    ctx: &mut Ctx,
    h: &mut [Histogram<u64>; KINDS],
) -> Tally {
    match (read, ctx.lane.is_some()) {
        (ReadMode::Clone, false) => {
            drive_sampled::<S, false, false>(store, stream, n, every, ctx, h)
        }
        (ReadMode::Visit, false) => {
            drive_sampled::<S, true, false>(store, stream, n, every, ctx, h)
        }
        (ReadMode::Clone, true) => drive_sampled::<S, false, true>(store, stream, n, every, ctx, h),
        (ReadMode::Visit, true) => drive_sampled::<S, true, true>(store, stream, n, every, ctx, h),
    }
}
