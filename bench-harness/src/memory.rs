//! Phase 6, the memory phase, for mixes that create or delete: the heap
//! over a fresh store's life, read while the store's thread sits idle after
//! its last delete, as a server's idle workers would (see [`run`]).

use std::time::{Duration, Instant};

use indicatif::ProgressBar;

use storelab_results::Memory;

use crate::Plan;
use crate::bench::Bench;
use crate::cells::Prepared;
use crate::measure::alloc;

/// How long after the churn's last delete the memory phase reads the heap.
pub const HELD_AFTER_MS: [u64; 3] = [10, 100, 1000];

/// For mixes that create or delete: the heap over a fresh
/// store's life (see [`Memory`]), prefilled to the run's keys (or, for a
/// run that starts empty, to its repetition's operation count). A thread of its own builds, prefills and
/// churns the store, then stays alive and idle while the heap is read
/// [`HELD_AFTER_MS`] after its last delete, as a server's idle workers would:
/// garbage that deferred reclamation (papaya's and scc's epochs) holds until
/// some thread acts again shows there. Counting is process-wide, and the
/// run's other stores stay alive (idle) meanwhile: a free of their deferred
/// garbage inside the window would lower the figure, by at most what an
/// epoch collector holds back (a few batches of retired tasks, kilobytes
/// against the hundreds of megabytes measured).
pub(crate) fn run(plan: &Plan, live: &mut [Prepared], bar: &ProgressBar) -> Result<(), String> {
    let w = &plan.workload;
    // A run that starts empty (growth) grows its memory store to the
    // repetition's size, from the same unsized start.
    let keys = match (w.keys, plan.ops) {
        (0, Some(ops)) => u32::try_from(ops).unwrap_or(u32::MAX),
        (keys, _) => keys,
    };
    if !w.mix.live() || keys == 0 || !alloc::is_installed() {
        return Ok(());
    }
    for store in live.iter_mut().filter(|l| !l.entry.stores_nothing) {
        bar.set_message(format!("memory {}", store.entry.name));
        let capacity = w.capacity.unwrap_or(w.keys) as usize;
        let life = measure_life(store.entry.build, capacity, keys);
        store.info.memory = Some(life.judge(store.entry.name, keys)?);
        bar.inc(1);
    }
    Ok(())
}

/// What one store's life showed, in bytes, before it is judged.
struct Life {
    filled: Result<(), String>,
    /// Churn steps whose create got another id than the next, or whose
    /// delete found nothing.
    missed: u64,
    after_prefill: f64,
    after_churn: f64,
    peak: f64,
    /// The heap at each of [`HELD_AFTER_MS`]; an error if the worker
    /// stopped before it was ready.
    held: Result<Vec<(u64, f64)>, std::sync::mpsc::RecvError>,
}

impl Life {
    /// Per task, or the error that aborts the run.
    fn judge(self, name: &str, keys: u32) -> Result<Memory, String> {
        self.filled
            .map_err(|e| format!("{name} (memory phase): {e}"))?;
        if self.missed > 0 {
            return Err(format!(
                "store '{name}' broke {} steps of the memory phase's churn (an id out of sequence, or a delete of a task it had created that found nothing); run aborted",
                self.missed
            ));
        }
        let held = self
            .held
            .map_err(|_| "the memory phase's worker stopped early".to_owned())?;
        let per = f64::from(keys);
        Ok(Memory {
            tasks: u64::from(keys),
            churned: u64::from(keys),
            after_prefill: self.after_prefill / per,
            after_churn: self.after_churn / per,
            held_after: held.into_iter().map(|(ms, b)| (ms, b / per)).collect(),
            peak: self.peak / per,
        })
    }
}

/// Counts the heap while a thread of its own builds, prefills and churns a
/// store, then keeps that thread alive and idle while the heap is read
/// [`HELD_AFTER_MS`] after the last delete. The store is dropped after
/// counting stops.
fn measure_life(build: fn(usize) -> Box<dyn Bench>, capacity: usize, keys: u32) -> Life {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    alloc::set_counting(true);
    let base = alloc::totals().live_bytes();
    let heap = move || (alloc::totals().live_bytes() - base).max(0) as f64;
    let (bench, life) = std::thread::scope(|scope| {
        let worker = scope.spawn(move || {
            let lived = live_a_life(build, capacity, keys, heap);
            let _ = ready_tx.send(());
            // Idle, alive, until the heap has been read.
            let _ = release_rx.recv();
            lived
        });
        let held = ready_rx.recv().map(|()| {
            let stopped = Instant::now();
            HELD_AFTER_MS
                .iter()
                .map(|ms| {
                    std::thread::sleep(
                        Duration::from_millis(*ms).saturating_sub(stopped.elapsed()),
                    );
                    (*ms, heap())
                })
                .collect::<Vec<_>>()
        });
        let _ = release_tx.send(());
        let (bench, mut life) = worker
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        life.held = held;
        (bench, life)
    });
    alloc::set_counting(false);
    drop(bench);
    life
}

/// The worker's part: build, prefill and churn, sampling the heap's peak.
fn live_a_life(
    build: fn(usize) -> Box<dyn Bench>,
    capacity: usize,
    keys: u32,
    heap: impl Fn() -> f64,
) -> (Box<dyn Bench>, Life) {
    let mut peak = 0f64;
    let bench = build(capacity);
    let filled = bench.prefill_with(keys, &mut || peak = peak.max(heap()));
    let after_prefill = heap();
    let missed = bench.churn(keys, u64::from(keys), &mut || peak = peak.max(heap()));
    let after_churn = heap();
    // This thread's own high-water mark is the store's exact peak when the
    // store does all its work on this thread, which shows as this thread's
    // own live bytes matching the heap; a store with threads of its own
    // (actor, channel, the pool) frees on one thread what it allocated on
    // another, so for it the sampled peak stands.
    let own = alloc::this_thread().live_bytes() as f64;
    let peak = if (own - after_churn).abs() <= 0.01 * after_churn {
        peak.max(alloc::this_thread_peak() as f64)
    } else {
        peak
    };
    let life = Life {
        filled,
        missed,
        after_prefill,
        after_churn,
        peak: peak.max(after_churn),
        held: Ok(Vec::new()),
    };
    (bench, life)
}
