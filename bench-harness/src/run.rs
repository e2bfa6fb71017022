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
//! fairness of the cell: the slowest thread's throughput over the fastest's.
//! The counter is touched once per batch (at most 1,024 operations), never
//! per operation; there is no clock read or allocation inside the loop.
//!
//! # Reads are checked
//! Every read compares the id of the task it got with the id it asked for; a
//! wrong task aborts the run. Misses are counted and, where the workload
//! never deletes, a miss aborts the run too: no store can look fast by being
//! wrong.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::Barrier;
use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_utils::CachePadded;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use task_model::{NewTask, TaskDraft, TaskId, TaskPatch, TaskStore, Timestamp};

use crate::measure::alloc;
use storelab_results::new_histograms;
use workload::{OpKind, ReadMode, Stream};

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

/// Per-thread context built before timing: what creates and updates send.
struct Ctx {
    draft: TaskDraft,
    at: Timestamp,
}

impl Ctx {
    fn new(thread: usize) -> Ctx {
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
        }
    }
}

/// Executes one operation. Inlined into each monomorphized loop.
#[inline(always)]
fn execute<S: TaskStore, const VISIT: bool>(
    store: &S,
    i: usize,
    id: u32,
    kind: OpKind,
    ctx: &Ctx,
    tally: &mut Tally,
) {
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
fn drive<S: TaskStore, const VISIT: bool>(
    store: &S,
    stream: &Stream,
    start: usize,
    queue: &WorkQueue,
    ctx: &Ctx,
) -> (Tally, u64) {
    let mut tally = Tally::default();
    let mut pos = start;
    while let Some(k) = queue.claim() {
        for i in pos..pos + k as usize {
            let op = stream.op(i);
            execute::<S, VISIT>(store, i, op.id, op.kind, ctx, &mut tally);
        }
        pos += k as usize;
    }
    (tally, (pos - start) as u64)
}

/// [`drive`] with the read mode chosen once, outside the loop.
fn drive_as<S: TaskStore>(
    read: ReadMode,
    store: &S,
    stream: &Stream,
    start: usize,
    queue: &WorkQueue,
    ctx: &Ctx,
) -> (Tally, u64) {
    match read {
        ReadMode::Clone => drive::<S, false>(store, stream, start, queue, ctx),
        ReadMode::Visit => drive::<S, true>(store, stream, start, queue, ctx),
    }
}

/// The latency loop: as [`drive`], timing one operation in `every`.
fn drive_sampled<S: TaskStore, const VISIT: bool>(
    store: &S,
    stream: &Stream,
    n: usize,
    every: usize,
    ctx: &Ctx,
    hists: &mut [Histogram<u64>; 5],
) -> Tally {
    let mut tally = Tally::default();
    for i in 0..n {
        let op = stream.op(i);
        if i % every == 0 {
            let t0 = Instant::now();
            execute::<S, VISIT>(store, i, op.id, op.kind, ctx, &mut tally);
            let ns = t0.elapsed().as_nanos() as u64;
            hists[op.kind as usize].saturating_record(ns.max(1));
        } else {
            execute::<S, VISIT>(store, i, op.id, op.kind, ctx, &mut tally);
        }
    }
    tally
}

/// A store made ready for the harness. Object-safe, so the registry can
/// hold every store at once; each method runs a whole loop, so the dynamic
/// call happens once per repetition, not per operation.
pub trait Bench: Send + Sync {
    /// Creates tasks 1..=keys and checks the store assigned exactly those ids.
    fn prefill(&self, keys: u32) -> Result<(), String>;
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
    ) -> [Histogram<u64>; 5];
    /// The shard of `id` and the shard count, for sharded stores.
    fn shard_of(&self, id: TaskId) -> Option<(usize, usize)>;
    /// Walks every task once without cloning (the get_all floor), if the
    /// store offers a walk; returns the number of tasks walked.
    fn walk(&self) -> Option<usize>;
    /// The post-run audit (untimed): see [`audit`].
    fn audit(&self, keys: u32, maybe_deleted: &[bool]) -> Result<(), String>;
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

/// How a store maps an id to (its shard, the shard count).
pub type ShardOf<S> = fn(&S, TaskId) -> (usize, usize);

/// Wraps a [`TaskStore`] for the harness.
pub struct Benched<S> {
    store: S,
    shard_of: Option<ShardOf<S>>,
    walk: Option<fn(&S) -> usize>,
}

/// A store, ready for the harness.
pub fn bench<S: TaskStore + 'static>(store: S) -> Benched<S> {
    Benched {
        store,
        shard_of: None,
        walk: None,
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

    /// Runs `body(thread, stream, ctx)` on `threads` threads started
    /// together; returns each thread's result and elapsed time, and the wall
    /// time from the first start to the last end.
    fn on_threads<R: Send>(
        &self,
        streams: &[Stream],
        threads: usize,
        body: impl Fn(&S, &Stream, &Ctx) -> R + Sync,
    ) -> (Vec<(R, Instant, Instant)>, Duration) {
        let barrier = Barrier::new(threads);
        let results: Vec<(R, Instant, Instant)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let (barrier, body, store, stream) =
                        (&barrier, &body, &self.store, &streams[t]);
                    scope.spawn(move || {
                        let ctx = Ctx::new(t);
                        barrier.wait();
                        let start = Instant::now();
                        let r = body(store, stream, &ctx);
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
    fn prefill(&self, keys: u32) -> Result<(), String> {
        for i in 1..=keys {
            let draft = NewTask {
                title: format!("task {i}"),
                description: Some(PREFILL_DESCRIPTION.into()),
                completed: None,
            }
            .validate_at(Timestamp(1))
            .expect("a valid generated title");
            let want = TaskId(u64::from(i));
            let got = self.store.create(draft).id;
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
        let (results, wall) = self.on_threads(streams, threads, |store, stream, ctx| {
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
        std::thread::scope(|scope| {
            for (t, stream) in streams.iter().enumerate().take(threads) {
                let (ready, go, done, store) = (&ready, &go, &done, &self.store);
                scope.spawn(move || {
                    let ctx = Ctx::new(t);
                    ready.wait();
                    go.wait();
                    // A fixed count per thread: this pass counts bytes and
                    // allocations per operation, not time.
                    let own = WorkQueue::new(n as u64, 1);
                    drive_as(read, store, stream, 0, &own, &ctx);
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
    ) -> [Histogram<u64>; 5] {
        let (results, _) = self.on_threads(streams, threads, |store, stream, ctx| {
            let mut hists = new_histograms();
            match read {
                ReadMode::Clone => {
                    drive_sampled::<S, false>(store, stream, n, every, ctx, &mut hists)
                }
                ReadMode::Visit => {
                    drive_sampled::<S, true>(store, stream, n, every, ctx, &mut hists)
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

    fn shard_of(&self, id: TaskId) -> Option<(usize, usize)> {
        self.shard_of.map(|f| f(&self.store, id))
    }

    fn walk(&self) -> Option<usize> {
        self.walk.map(|f| f(&self.store))
    }

    fn audit(&self, keys: u32, maybe_deleted: &[bool]) -> Result<(), String> {
        audit(&self.store, keys, maybe_deleted)
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
