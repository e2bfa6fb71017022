//! A store made ready for the engine: [`bench`] wraps any [`TaskStore`] as
//! a [`Bench`], the object-safe face every phase drives. Each method runs a
//! whole loop (a prefill, a repetition, a pass) on threads started
//! together, so the dynamic call happens once per repetition and the loop
//! inside (`crate::drive`) is monomorphized for the store's type.

use std::sync::Barrier;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use task_model::{TaskId, TaskStore};

use storelab_results::new_histograms;
use workload::{KINDS, Mix, ReadMode, Stream};

use crate::audit;
use crate::cells::prefill_draft;
use crate::drive::{Ctx, Tally, Timed, WorkQueue, drive_as, drive_sampled_as};
use crate::live::LiveKeys;
use crate::measure::alloc;

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
            drive_sampled_as(read, store, stream, n, every, ctx, h);
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
            Some(live) => audit::live(&self.store, live, keys),
            None => audit::audit(&self.store, keys, maybe_deleted),
        }
    }

    fn go_live(&mut self, keys: u32, lanes: usize, mix: &Mix) {
        self.live = Some(Box::new(LiveKeys::new(keys, lanes, mix.deletes())));
        self.create_pct = mix.create;
    }
}
