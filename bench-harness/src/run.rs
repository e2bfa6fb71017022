//! Running a store: prefill, the timed loop, and the untimed passes that
//! measure allocations and latency.
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
//! look fast by being wrong. In a live key space a miss may be a race (see
//! below), so it is counted and shown, and the audit after each cell reads
//! back a sample of every task the lanes hold.
//!
//! # A live key space
//! In a mix that creates or deletes, the ids worth asking for change as the
//! run goes, and the store, not the harness, assigns them. Keeping one
//! shared set of live ids would put a contended structure inside the timed
//! loop that could cost more than the operations it steers. Instead each
//! thread works a [`Lane`], kept with the store across passes:
//! - a lane *owns* ids, oldest first: after the prefill, lane `l` of `L`
//!   owns the prefilled ids `l+1, l+1+L, ...`, and every id its creates
//!   return. A delete takes the lane's oldest id (first in, first out, as
//!   bustle does), so no two threads ever delete the same task and a delete
//!   never misses unless the lane is empty;
//! - a read, update or read-modify-write carries an offset `o` drawn from
//!   its distribution (the workload crate) and asks for `top - o`, where
//!   `top` is the lowest newest id that the lanes running now have published:
//!   every id up to it is fully created (a lane's own newest id may sit
//!   above another thread's create in flight, as YCSB's latest distribution
//!   counts from acknowledged inserts). Ids only grow, so the hot end
//!   follows the creates of every thread, and hot tasks are shared between
//!   threads as in the fixed key space;
//! - once per batch (at most 1,024 operations) a lane publishes its oldest
//!   and newest ids in its own cache-padded slot and reads the others'
//!   ([`LiveKeys`]): offsets that would reach below the highest oldest (ids
//!   below it may be deleted), plus a guard band of two batches per lane
//!   (what owners may have deleted since they published), wrap into the
//!   live window. That is the only shared state, touched once per batch,
//!   never per operation.
//!
//! A keyed operation then misses only when its thread's view of the others'
//! deletes is older than the guard band covers: a thread that stalled inside
//! a batch resumes and reads a task deleted meanwhile, as a client holding a
//! stale id would. Misses are counted per cell and shown.

use std::collections::VecDeque;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex, MutexGuard, PoisonError};

use crossbeam_utils::CachePadded;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use task_model::{NewTask, TaskDraft, TaskId, TaskPatch, TaskStore, Timestamp};

use crate::measure::alloc;
use storelab_results::new_histograms;
use workload::{KINDS, Mix, OpKind, ReadMode, Stream};

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
    fn add(&mut self, other: Tally) {
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

/// One thread's share of a live key space (module doc, "A live key space").
#[derive(Debug)]
pub struct Lane {
    /// The ids this lane owns, oldest (lowest) first.
    own: VecDeque<u32>,
    /// The newest id this lane created (the last prefilled one at first).
    newest: u32,
    /// The top of the window: the lowest newest id that any lane running
    /// now has published. Every id at or below it is fully created: each
    /// running lane's creates up to its published newest have returned, and
    /// a lane that is not running creates nothing. (A lane's own newest may
    /// sit above another lane's create in flight, whose id the counter gave
    /// out earlier but whose insert has not happened yet; YCSB's latest
    /// distribution counts from the acknowledged inserts for the same
    /// reason.)
    top: u32,
    /// The lowest id that every lane's published oldest says is alive.
    bottom: u32,
    /// The last id this lane deleted (0: none yet).
    last_deleted: u32,
}

impl Lane {
    /// The id `offset` below the newest, wrapped into the live window
    /// `bottom..=newest`. When every lane has deleted everything it owned
    /// the window is empty, and the newest id is asked for (and misses).
    #[inline(always)]
    fn target(&self, offset: u32) -> u32 {
        let bottom = self.bottom.max(1);
        if self.top < bottom {
            return self.top.max(1);
        }
        let span = self.top - bottom + 1;
        let offset = if offset < span { offset } else { offset % span };
        self.top - offset
    }

    #[inline(always)]
    fn created(&mut self, id: TaskId) {
        if let Ok(id) = u32::try_from(id.get()) {
            self.own.push_back(id);
            self.newest = self.newest.max(id);
        }
    }

    /// Takes the oldest id this lane owns, if any, and keeps the window
    /// above it (this lane's own frontier is always fresh).
    #[inline(always)]
    fn take_oldest(&mut self) -> Option<u32> {
        let id = self.own.pop_front()?;
        self.last_deleted = id;
        self.bottom = self.bottom.max(self.frontier());
        Some(id)
    }

    /// Every id this lane owned below this one is deleted: its oldest, or
    /// past its last delete when it owns nothing (0: it never owned any).
    fn frontier(&self) -> u32 {
        match self.own.front() {
            Some(&oldest) => oldest,
            None if self.last_deleted > 0 => self.last_deleted + 1,
            None => 0,
        }
    }

    /// Publishes this lane's oldest and newest ids and reads every lane's:
    /// the bottom is the highest oldest of all lanes, the top the lowest
    /// newest of the lanes running now.
    #[inline]
    fn refresh(&mut self, keys: &LiveKeys, me: usize) {
        // Relaxed: the slots steer which ids are asked for, nothing more; a
        // stale value can only cost a counted miss, never a wrong result,
        // so no ordering with the store's own writes is needed. Each slot
        // packs (oldest << 32 | newest), so one store publishes both.
        let packed = (u64::from(self.frontier()) << 32) | u64::from(self.newest);
        keys.slots[me].packed.store(packed, Ordering::Relaxed);
        let (mut top, mut oldest) = (self.newest, 0);
        for slot in keys.slots.iter() {
            let v = slot.packed.load(Ordering::Relaxed);
            oldest = oldest.max((v >> 32) as u32);
            if slot.running.load(Ordering::Relaxed) {
                top = top.min(v as u32);
            }
        }
        self.bottom = self.bottom.max(oldest.saturating_add(keys.guard));
        self.top = top;
    }
}

/// What a lane publishes, in a cache line of its own.
struct Slot {
    /// (oldest << 32 | newest) ids, as the lane last published them.
    packed: AtomicU64,
    /// Whether a thread is running the lane now (between its pass's start
    /// and end).
    running: AtomicBool,
}

/// The lanes of one store's live key space, kept across its passes.
pub struct LiveKeys {
    lanes: Box<[CachePadded<Mutex<Lane>>]>,
    slots: Box<[CachePadded<Slot>]>,
    /// Ids above the highest published oldest that reads leave alone: the
    /// oldest tasks, which their owners may have deleted since they last
    /// published (at most a batch of deletes each). Zero where the mix does
    /// not delete.
    guard: u32,
}

impl LiveKeys {
    /// `lanes` lanes over the prefilled ids `1..=keys`, dealt round robin;
    /// `deletes`: whether the mix deletes (then reads keep a guard band
    /// above the published oldest ids, see [`LiveKeys::guard`]).
    pub fn new(keys: u32, lanes: usize, deletes: bool) -> LiveKeys {
        let lanes = lanes.max(1);
        let mut own: Vec<VecDeque<u32>> = (0..lanes)
            .map(|_| VecDeque::with_capacity(keys as usize / lanes + 1))
            .collect();
        for id in 1..=keys {
            own[(id as usize - 1) % lanes].push_back(id);
        }
        let lanes: Vec<Lane> = own
            .into_iter()
            .map(|own| Lane {
                own,
                newest: keys,
                top: keys,
                bottom: 0,
                last_deleted: 0,
            })
            .collect();
        let guard = if deletes {
            // A lane deletes at most one batch (1,024 operations) past what
            // it published; its ids are about one in `lanes` of the ids.
            2 * 1024 * lanes.len() as u32
        } else {
            0
        };
        LiveKeys {
            guard,
            slots: lanes
                .iter()
                .map(|l| {
                    let packed = (u64::from(l.frontier()) << 32) | u64::from(l.newest);
                    CachePadded::new(Slot {
                        packed: AtomicU64::new(packed),
                        running: AtomicBool::new(false),
                    })
                })
                .collect(),
            lanes: lanes
                .into_iter()
                .map(|l| CachePadded::new(Mutex::new(l)))
                .collect(),
        }
    }

    /// Up to `n` of the ids the lanes hold, spread over every lane: tasks
    /// the harness created (or prefilled) and never deleted.
    pub fn sample(&self, n: usize) -> Vec<u32> {
        let total = self.len().max(1);
        let step = total.div_ceil(n.max(1)).max(1);
        let mut out = Vec::with_capacity(n);
        for lane in self.lanes.iter() {
            let lane = lane.lock().unwrap_or_else(PoisonError::into_inner);
            out.extend(lane.own.iter().step_by(step).copied());
        }
        out
    }

    /// Lane `t`, for one thread's pass, with room for `creates` more ids
    /// (reserved here, outside any timed or counted loop).
    fn lane(&self, t: usize, creates: usize) -> MutexGuard<'_, Lane> {
        // Each lane is locked by one thread per pass, so this never waits;
        // a poisoned lane (a panicked pass) is still a consistent deque.
        let t = t % self.lanes.len();
        let mut lane = self.lanes[t].lock().unwrap_or_else(PoisonError::into_inner);
        lane.own.reserve(creates);
        // Relaxed, as the slots' ids: the flag only decides whose newest
        // bounds the window; the pass's start barrier orders it before any
        // other lane's first refresh.
        self.slots[t].running.store(true, Ordering::Relaxed);
        lane
    }

    /// Lane `t`'s pass is over: it creates nothing until its next one.
    fn release(&self, t: usize) {
        self.slots[t % self.slots.len()]
            .running
            .store(false, Ordering::Relaxed);
    }

    /// Which prefilled ids `1..=keys` no lane holds any more (deleted).
    pub fn deleted_prefill(&self, keys: u32) -> Vec<bool> {
        let mut deleted = vec![true; keys as usize + 1];
        deleted[0] = false;
        for lane in self.lanes.iter() {
            let lane = lane.lock().unwrap_or_else(PoisonError::into_inner);
            for &id in lane.own.iter().take_while(|id| **id <= keys) {
                deleted[id as usize] = false;
            }
        }
        deleted
    }

    /// Ids the lanes hold: every task the harness believes alive.
    pub fn len(&self) -> usize {
        self.lanes
            .iter()
            .map(|l| l.lock().unwrap_or_else(PoisonError::into_inner).own.len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Per-thread context built before timing: what creates and updates send,
/// and in a live mix the thread's lane.
struct Ctx<'a> {
    draft: TaskDraft,
    at: Timestamp,
    lane: Option<(MutexGuard<'a, Lane>, &'a LiveKeys, usize)>,
}

impl<'a> Ctx<'a> {
    fn new(thread: usize, live: Option<&'a LiveKeys>, creates: usize) -> Ctx<'a> {
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
        let Some((lane, _, _)) = &mut ctx.lane else {
            unreachable!("a live pass always has a lane")
        };
        match kind {
            OpKind::Create => {
                lane.created(store.create(ctx.draft.clone()).id);
                return;
            }
            OpKind::Delete => {
                tally.misses += match lane.take_oldest() {
                    Some(id) => u64::from(store.delete(TaskId(u64::from(id))).is_none()),
                    // Nothing left to delete: a DELETE of an id no task
                    // ever has (ids start at 1), as of a task already gone.
                    None => u64::from(store.delete(TaskId(0)).is_none()),
                };
                return;
            }
            OpKind::GetAll => id,
            _ => lane.target(id),
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
fn drive_as<S: TaskStore>(
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

/// A store made ready for the harness. Object-safe, so the registry can
/// hold every store at once; each method runs a whole loop, so the dynamic
/// call happens once per repetition, not per operation.
pub trait Bench: Send + Sync {
    /// Creates tasks 1..=keys and checks the store assigned exactly those ids.
    fn prefill(&self, keys: u32) -> Result<(), String> {
        self.prefill_with(keys, &mut || {})
    }
    /// As [`Bench::prefill`], calling `probe` every 4,096 creates.
    fn prefill_with(&self, keys: u32, probe: &mut dyn FnMut()) -> Result<(), String>;
    /// After a prefill of `keys`, `steps` times: create a task, delete the
    /// oldest (first in, first out), on this thread, calling `probe` every
    /// 4,096 steps. Returns the steps whose create got another id than the
    /// next, or whose delete found nothing.
    fn churn(&self, keys: u32, steps: u64, probe: &mut dyn FnMut()) -> u64;
    /// One timed repetition: `n * threads` operations on `threads` threads,
    /// claimed in batches (see [`WorkQueue`]); thread t runs its stream from
    /// position `start`.
    fn timed(
        &self,
        streams: &[Stream],
        threads: usize,
        start: usize,
        n: usize,
        read: ReadMode,
    ) -> Timed;
    /// Allocations over `n` operations per thread on `threads` threads.
    fn allocations(
        &self,
        streams: &[Stream],
        threads: usize,
        n: usize,
        read: ReadMode,
    ) -> alloc::Totals;
    /// Latency histograms, one per operation kind, sampling one op in `every`.
    fn latency(
        &self,
        streams: &[Stream],
        threads: usize,
        n: usize,
        every: usize,
        read: ReadMode,
    ) -> [Histogram<u64>; KINDS];
    /// The shard of `id` and the shard count, for sharded stores.
    fn shard_of(&self, id: TaskId) -> Option<(usize, usize)>;
    /// Walks every task once without cloning (the get_all floor), if the
    /// store offers a walk; returns the number of tasks walked.
    fn walk(&self) -> Option<usize>;
    /// The post-run audit (untimed): see [`audit`]. In a live key space the
    /// lanes say which prefilled tasks were deleted, and `maybe_deleted` is
    /// not used.
    fn audit(&self, keys: u32, maybe_deleted: &[bool]) -> Result<(), String>;
    /// Makes the key space live (module doc) over the prefilled `1..=keys`,
    /// with `lanes` lanes (the most threads any pass will use), for a mix
    /// with `mix`. Call once, after [`Bench::prefill`].
    fn go_live(&mut self, keys: u32, lanes: usize, mix: &Mix);
}

/// `updated_at` the audit's probe updates stamp: no workload writes it.
pub const AUDIT_AT: Timestamp = Timestamp(777_777);

/// The post-run audit of one store, after a cell's timed and untimed passes,
/// single-threaded and untimed. A store that fails it cannot have earned its
/// figure honestly, and the run aborts:
/// - every prefilled task that no operation of the run could have deleted
///   (`maybe_deleted[id]` false) is present, among 4,096 spread over the id
///   space, with its prefilled title and description and a version some
///   writer wrote (`updated_at` of the prefill, the workload's updates, or
///   this audit);
/// - 64 probe updates (stamped [`AUDIT_AT`]) are seen by `get`, `get_all`
///   and `snapshot` (a store that drops updates while returning `Some`, or
///   serves a stale version, fails);
/// - `len`, `get_all` and `snapshot` agree on the count (a truncated
///   `get_all` fails).
pub fn audit<S: TaskStore>(store: &S, keys: u32, maybe_deleted: &[bool]) -> Result<(), String> {
    let kept = |id: u32| !maybe_deleted.get(id as usize).copied().unwrap_or(true);
    let step = (keys / 4_096).max(1);
    for id in (1..=keys).step_by(step as usize).filter(|id| kept(*id)) {
        let task = store
            .get(TaskId(u64::from(id)))
            .ok_or_else(|| format!("prefilled task {id}, which nothing deleted, is missing"))?;
        let written = [Timestamp(1), Timestamp(2), AUDIT_AT].contains(&task.updated_at);
        if task.id.get() != u64::from(id)
            || *task.title != *format!("task {id}")
            || &*task.description != PREFILL_DESCRIPTION
            || !written
        {
            return Err(format!(
                "task {id} holds a version no writer wrote: {task:?}"
            ));
        }
    }
    let probes: Vec<u32> = (1..=keys)
        .step_by((keys / 64).max(1) as usize)
        .filter(|id| kept(*id))
        .take(64)
        .collect();
    for &id in &probes {
        let id = TaskId(u64::from(id));
        let updated = store
            .update(id, TaskPatch::set_completed(true, AUDIT_AT))
            .ok_or_else(|| format!("update of present task {id} found nothing"))?;
        let seen = store.get(id).map(|t| t.updated_at);
        if updated.updated_at != AUDIT_AT || seen != Some(AUDIT_AT) {
            return Err(format!(
                "an update of task {id} returned {:?} but a get then saw {seen:?}: the update was lost or the read is stale",
                updated.updated_at
            ));
        }
    }
    let all = store.get_all();
    let snapshot = store.snapshot();
    let (len, listed, snapped) = (store.len(), all.len(), snapshot.len());
    if len != listed || len != snapped {
        return Err(format!(
            "len says {len}, get_all lists {listed}, snapshot holds {snapped}"
        ));
    }
    let mut in_all = 0;
    let mut in_snapshot = 0;
    for t in &all {
        in_all += usize::from(t.updated_at == AUDIT_AT);
    }
    snapshot.for_each(|t| in_snapshot += usize::from(t.updated_at == AUDIT_AT));
    if in_all < probes.len() || in_snapshot < probes.len() {
        return Err(format!(
            "{} probe updates were made; get_all shows {in_all} of them, snapshot {in_snapshot}",
            probes.len()
        ));
    }
    Ok(())
}

/// The description every prefilled task carries.
pub const PREFILL_DESCRIPTION: &str = "prefilled by storelab";

/// What the prefill sends for the task that will get id `id`: its own title
/// ("task {id}", which the audit checks) and the prefill's description.
fn prefill_draft(id: TaskId) -> TaskDraft {
    NewTask {
        title: format!("task {id}"),
        description: Some(PREFILL_DESCRIPTION.into()),
        completed: None,
    }
    .validate_at(Timestamp(1))
    .expect("a valid generated title")
}

/// How a store maps an id to (its shard, the shard count).
pub type ShardOf<S> = fn(&S, TaskId) -> (usize, usize);

/// Wraps a [`TaskStore`] for the harness.
pub struct Benched<S> {
    store: S,
    shard_of: Option<ShardOf<S>>,
    walk: Option<fn(&S) -> usize>,
    /// The lanes of a live key space, once [`Bench::go_live`] made them.
    live: Option<Box<LiveKeys>>,
    /// The mix's share of creates, for reserving lane room before a pass.
    create_pct: u8,
}

/// A store, ready for the harness.
pub fn bench<S: TaskStore + 'static>(store: S) -> Benched<S> {
    Benched {
        store,
        shard_of: None,
        walk: None,
        live: None,
        create_pct: 0,
    }
}

impl<S: TaskStore + 'static> Benched<S> {
    /// Declares how the store maps ids to shards (for the imbalance figure).
    pub fn sharded(mut self, shard_of: ShardOf<S>) -> Self {
        self.shard_of = Some(shard_of);
        self
    }

    /// Declares a walk over every task that clones nothing.
    pub fn walkable(mut self, walk: fn(&S) -> usize) -> Self {
        self.walk = Some(walk);
        self
    }

    /// Boxes it for the registry.
    pub fn boxed(self) -> Box<dyn Bench> {
        Box::new(self)
    }

    /// Lane room for a pass of at most `ops` operations on one thread: its
    /// creates, plus one batch of slack.
    fn creates(&self, ops: usize) -> usize {
        match self.live {
            Some(_) => {
                ops / 100 * usize::from(self.create_pct) + usize::from(self.create_pct) + 1024
            }
            None => 0,
        }
    }

    /// Runs `body(thread, stream, ctx)` on `threads` threads started
    /// together; returns each thread's result and elapsed time, and the wall
    /// time from the first start to the last end.
    fn on_threads<R: Send>(
        &self,
        streams: &[Stream],
        threads: usize,
        creates: usize,
        body: impl Fn(&S, &Stream, &mut Ctx) -> R + Sync,
    ) -> (Vec<(R, Instant, Instant)>, Duration) {
        let barrier = Barrier::new(threads);
        let live = &self.live;
        let results: Vec<(R, Instant, Instant)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let (barrier, body, store, stream) =
                        (&barrier, &body, &self.store, &streams[t]);
                    scope.spawn(move || {
                        let mut ctx = Ctx::new(t, live.as_deref(), creates);
                        barrier.wait();
                        let start = Instant::now();
                        let r = body(store, stream, &mut ctx);
                        (r, start, Instant::now())
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        });
        let first = results
            .iter()
            .map(|r| r.1)
            .min()
            .unwrap_or_else(Instant::now);
        let last = results.iter().map(|r| r.2).max().unwrap_or(first);
        (results, last - first)
    }
}

impl<S: TaskStore + 'static> Bench for Benched<S> {
    fn prefill_with(&self, keys: u32, probe: &mut dyn FnMut()) -> Result<(), String> {
        for i in 1..=keys {
            if i % 4096 == 0 {
                probe();
            }
            let want = TaskId(u64::from(i));
            let got = self.store.create(prefill_draft(want)).id;
            if got != want {
                return Err(format!(
                    "create #{i} returned id {got}; the harness needs a fresh store that assigns ids 1, 2, 3, ..."
                ));
            }
        }
        if self.store.len() != keys as usize {
            return Err(format!(
                "after {keys} creates the store reports len {}",
                self.store.len()
            ));
        }
        Ok(())
    }

    fn timed(
        &self,
        streams: &[Stream],
        threads: usize,
        start: usize,
        n: usize,
        read: ReadMode,
    ) -> Timed {
        let queue = WorkQueue::new((n * threads) as u64, threads);
        let creates = self.creates(n * threads);
        let (results, wall) = self.on_threads(streams, threads, creates, |store, stream, ctx| {
            drive_as(read, store, stream, start, &queue, ctx)
        });
        let mut tally = Tally::default();
        let mut per_thread = Vec::with_capacity(threads);
        let mut per_thread_ops = Vec::with_capacity(threads);
        for ((t, ops), begin, end) in results {
            tally.add(t);
            per_thread.push(end - begin);
            per_thread_ops.push(ops);
        }
        Timed {
            wall,
            per_thread,
            per_thread_ops,
            tally,
        }
    }

    fn allocations(
        &self,
        streams: &[Stream],
        threads: usize,
        n: usize,
        read: ReadMode,
    ) -> alloc::Totals {
        // Threads build their contexts and wait (ready); counting starts;
        // threads run (go) and report (done); counting stops. The window
        // holds the loops alone, plus work the store's own threads do for
        // them.
        let ready = Barrier::new(threads + 1);
        let go = Barrier::new(threads + 1);
        let done = Barrier::new(threads + 1);
        let creates = self.creates(n);
        std::thread::scope(|scope| {
            for (t, stream) in streams.iter().enumerate().take(threads) {
                let (ready, go, done, store) = (&ready, &go, &done, &self.store);
                let live = self.live.as_deref();
                scope.spawn(move || {
                    let mut ctx = Ctx::new(t, live, creates);
                    ready.wait();
                    go.wait();
                    // A fixed count per thread: this pass counts bytes and
                    // allocations per operation, not time.
                    let own = WorkQueue::new(n as u64, 1);
                    drive_as(read, store, stream, 0, &own, &mut ctx);
                    done.wait();
                });
            }
            ready.wait();
            alloc::set_counting(true);
            let before = alloc::totals();
            go.wait();
            done.wait();
            let after = alloc::totals();
            alloc::set_counting(false);
            after.since(before)
        })
    }

    fn latency(
        &self,
        streams: &[Stream],
        threads: usize,
        n: usize,
        every: usize,
        read: ReadMode,
    ) -> [Histogram<u64>; KINDS] {
        let creates = self.creates(n);
        let (results, _) = self.on_threads(streams, threads, creates, |store, stream, ctx| {
            let mut hists = new_histograms();
            let h = &mut hists;
            match (read, ctx.lane.is_some()) {
                (ReadMode::Clone, false) => {
                    drive_sampled::<S, false, false>(store, stream, n, every, ctx, h)
                }
                (ReadMode::Visit, false) => {
                    drive_sampled::<S, true, false>(store, stream, n, every, ctx, h)
                }
                (ReadMode::Clone, true) => {
                    drive_sampled::<S, false, true>(store, stream, n, every, ctx, h)
                }
                (ReadMode::Visit, true) => {
                    drive_sampled::<S, true, true>(store, stream, n, every, ctx, h)
                }
            };
            hists
        });
        let mut merged = new_histograms();
        for (hists, _, _) in results {
            for (into, from) in merged.iter_mut().zip(hists.iter()) {
                // Same bounds on both sides, so adding cannot fail.
                let _ = into.add(from);
            }
        }
        merged
    }

    fn churn(&self, keys: u32, steps: u64, probe: &mut dyn FnMut()) -> u64 {
        // Ids run 1, 2, 3, ... (the prefill checked it), so the oldest live
        // task is `step + 1`: no queue of ids, whose own heap would count.
        let mut missed = 0;
        for step in 0..steps {
            if step % 4096 == 0 {
                probe();
            }
            // Tasks like the prefill's (their own title and description),
            // so the heap per task before and after compares like for like.
            let want = TaskId(u64::from(keys) + step + 1);
            let id = self.store.create(prefill_draft(want)).id;
            missed += u64::from(id != want);
            missed += u64::from(self.store.delete(TaskId(step + 1)).is_none());
        }
        probe();
        missed
    }

    fn shard_of(&self, id: TaskId) -> Option<(usize, usize)> {
        self.shard_of.map(|f| f(&self.store, id))
    }

    fn walk(&self) -> Option<usize> {
        self.walk.map(|f| f(&self.store))
    }

    fn audit(&self, keys: u32, maybe_deleted: &[bool]) -> Result<(), String> {
        match &self.live {
            Some(live) => {
                // Between passes nothing runs: the lanes hold exactly the
                // live tasks, so a store that kept a deleted task, or lost
                // a created one, holds another count.
                let (held, len) = (live.len(), self.store.len());
                if held != len {
                    return Err(format!(
                        "the store holds {len} tasks, but {held} were created and not deleted"
                    ));
                }
                // Every task the lanes hold, prefilled or created, reads
                // back (4,096 of them, spread over the lanes): a store whose
                // reads lose tasks fails here even where the timed loop
                // forgave its misses as races.
                for id in live.sample(4_096) {
                    let id = TaskId(u64::from(id));
                    match self.store.get(id) {
                        Some(task) if task.id == id => {}
                        Some(task) => {
                            return Err(format!(
                                "a get of live task {id} returned task {}",
                                task.id
                            ));
                        }
                        None => {
                            return Err(format!(
                                "task {id}, created and never deleted, cannot be read"
                            ));
                        }
                    }
                }
                audit(&self.store, keys, &live.deleted_prefill(keys))
            }
            None => audit(&self.store, keys, maybe_deleted),
        }
    }

    fn go_live(&mut self, keys: u32, lanes: usize, mix: &Mix) {
        self.live = Some(Box::new(LiveKeys::new(keys, lanes, mix.deletes())));
        self.create_pct = mix.create;
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_deal_the_prefill_round_robin_and_track_the_newest() {
        let keys = LiveKeys::new(10, 3, false);
        let own: Vec<Vec<u32>> = keys
            .lanes
            .iter()
            .map(|l| l.lock().expect("unpoisoned").own.iter().copied().collect())
            .collect();
        assert_eq!(own, vec![vec![1, 4, 7, 10], vec![2, 5, 8], vec![3, 6, 9]]);
        assert_eq!(keys.len(), 10);
        let mut lane = keys.lane(1, 4);
        assert_eq!(lane.newest, 10);
        lane.created(TaskId(11));
        assert_eq!((lane.newest, lane.own.back().copied()), (11, Some(11)));
        // Offsets count down from the top, which a lane's own create does
        // not move before it publishes.
        assert_eq!(lane.target(0), 10);
        assert_eq!(lane.target(3), 7);
        assert_eq!(lane.take_oldest(), Some(2)); // lane 1 deletes 2
        assert_eq!(lane.bottom, 5, "its own frontier moves at once");
        lane.refresh(&keys, 1);
        drop(lane);
        // Lane 0 learns every lane's oldest (1, 5, 3): ids below 5 may be
        // deleted. Lanes 0 and 1 are running: the top is the lower of their
        // newest (10, 11), so lane 1's create of 11 is read once lane 0 has
        // created past it.
        let mut lane = keys.lane(0, 0);
        lane.refresh(&keys, 0);
        assert_eq!((lane.bottom, lane.top), (5, 10));
        lane.created(TaskId(12));
        lane.refresh(&keys, 0);
        assert_eq!(lane.top, 11);
        // An offset past the window wraps inside it: window 5..=11.
        assert_eq!(lane.target(2), 9);
        assert_eq!(lane.target(8), 10, "8 mod 7 = 1 below the top");
        // Lane 1's pass ends: it creates nothing now, so only lane 0 bounds
        // the top.
        keys.release(1);
        lane.refresh(&keys, 0);
        assert_eq!(lane.top, 12);
        drop(lane);
        let deleted = keys.deleted_prefill(10);
        assert!(deleted[2] && !deleted[1] && !deleted[10] && !deleted[0]);
        assert_eq!(deleted.iter().filter(|d| **d).count(), 1);
        let sample = keys.sample(100);
        assert_eq!(sample.len(), 11, "every held id, when fewer than asked");
        assert!(!sample.contains(&2) && sample.contains(&11) && sample.contains(&12));
    }

    #[test]
    fn a_drained_lane_still_bounds_the_window() {
        let keys = LiveKeys::new(4, 2, false); // lane 0: 1, 3; lane 1: 2, 4
        let mut lane = keys.lane(0, 0);
        assert_eq!(lane.take_oldest(), Some(1));
        assert_eq!(lane.take_oldest(), Some(3));
        assert_eq!(lane.take_oldest(), None);
        // It owns nothing, but everything it owned up to 3 is gone.
        assert_eq!(lane.frontier(), 4);
        lane.refresh(&keys, 0);
        assert_eq!((lane.bottom, lane.top), (4, 4));
        assert_eq!(lane.target(0), 4);
        assert_eq!(lane.target(1), 4, "the window is 4..=4");
    }

    #[test]
    fn where_the_mix_deletes_reads_keep_a_guard_above_the_oldest() {
        let keys = LiveKeys::new(100_000, 2, true);
        assert_eq!(keys.guard, 4096);
        let mut lane = keys.lane(0, 0);
        lane.refresh(&keys, 0);
        // Oldest ids published: 1 and 2; the window starts 4,096 above.
        assert_eq!(lane.bottom, 2 + 4096);
        assert!((0..200_000).all(|o| lane.target(o) >= 4098));
    }

    #[test]
    fn an_empty_key_space_asks_for_an_id_that_misses() {
        let keys = LiveKeys::new(0, 1, false);
        let lane = keys.lane(0, 0);
        assert_eq!(lane.target(0), 1);
        drop(lane); // the lanes' own readers lock every lane
        assert!(keys.is_empty() && keys.sample(10).is_empty());
    }
}
