//! Phases 2 and 3, the timed rounds. Calibration first fixes every cell's
//! operation count (and is its first warm-up); then the repetitions run
//! interleaved: each round runs every (store, threads) cell once, in the
//! plan's order for that round, so drift and order effects hit every store
//! alike, and the samples of one round pair up across stores. Hands the
//! passes one [`TimedCell`] per cell: its count and its samples.
//!
//! A repetition whose reads returned a wrong task, or that missed where the
//! mix never deletes, aborts the run ([`check`]).

use std::time::Duration;

use indicatif::ProgressBar;

use storelab_results::Sample;
use workload::ReadMode;

use crate::bench::Bench;
use crate::cells::{Prepared, build_filled};
use crate::drive::{Tally, Timed};
use crate::{Entry, Plan};

/// One (store, threads) cell and its timed repetitions.
pub(crate) struct TimedCell {
    /// Index of the store in the prepared stores.
    pub(crate) store: usize,
    pub(crate) threads: usize,
    /// Operations per thread per repetition (the fair share; see
    /// `drive::WorkQueue`).
    pub(crate) n: u64,
    pub(crate) samples: Vec<Sample>,
    pub(crate) misses: u64,
}

/// Calibrates every cell, then runs the plan's repetitions of all of them.
pub(crate) fn run(
    plan: &Plan,
    stores: &[Prepared],
    streams: &[workload::Stream],
    bar: &ProgressBar,
) -> Result<Vec<TimedCell>, String> {
    let mut cells = calibrate_cells(plan, stores, streams, bar);
    timed_rounds(plan, stores, &mut cells, streams, bar)?;
    Ok(cells)
}

/// The operation count of every cell (doubles as the first
/// warm-up). Every repetition holds at least [`MIN_RAREST_OPS`](crate::plan::MIN_RAREST_OPS) of the mix's
/// rarest operation per thread, unless `--ops` fixed the count.
fn calibrate_cells(
    plan: &Plan,
    live: &[Prepared],
    streams: &[workload::Stream],
    bar: &ProgressBar,
) -> Vec<TimedCell> {
    let floor = plan.rarest_floor();
    let mut cells = Vec::new();
    for (s, store) in live.iter().enumerate() {
        for threads in plan.threads_of(&store.entry) {
            bar.set_message(format!("calibrate {} x{threads}", store.entry.name));
            let n = match plan.ops {
                // A fresh store per repetition: the whole repetition's
                // operations, split over its threads; no warm-up.
                Some(n) if plan.fresh => (n / threads as u64).max(1),
                Some(n) => {
                    let warm = (n as usize / 10).max(1);
                    store.bench.timed(streams, threads, 0, warm, plan.read_mode);
                    n.max(1)
                }
                None => calibrate(
                    store.bench.as_ref(),
                    streams,
                    threads,
                    plan.rep_time,
                    plan.read_mode,
                )
                .max(floor),
            };
            cells.push(TimedCell {
                store: s,
                threads,
                n,
                samples: Vec::new(),
                misses: 0,
            });
            bar.inc(1);
        }
    }
    cells
}

/// Finds the operation count per thread that takes about `target`: doubles
/// from one until a run takes an eighth of it, then scales.
fn calibrate(
    bench: &dyn Bench,
    streams: &[workload::Stream],
    threads: usize,
    target: Duration,
    read: ReadMode,
) -> u64 {
    let mut n = 1usize;
    loop {
        let t = bench.timed(streams, threads, 0, n, read);
        if t.wall >= target / 8 || n >= 1 << 34 {
            let per_op = t.wall.as_secs_f64() / n as f64;
            return ((target.as_secs_f64() / per_op.max(1e-12)) as u64).max(1);
        }
        n *= 2;
    }
}

/// The timed repetitions, interleaved: each round runs every cell
/// once, in the plan's order for that round, so drift and order effects hit
/// every store alike, and samples of one round pair up across stores.
fn timed_rounds(
    plan: &Plan,
    live: &[Prepared],
    cells: &mut [TimedCell],
    streams: &[workload::Stream],
    bar: &ProgressBar,
) -> Result<(), String> {
    let start_offset = |rep: usize, n: u64| rep.wrapping_mul(n as usize);
    for rep in 0..plan.reps {
        for idx in plan.order.arrange(cells.len(), plan.workload.seed, rep) {
            let cell = &mut cells[idx];
            let (threads, n) = (cell.threads, cell.n);
            let store = &live[cell.store];
            bar.set_message(format!(
                "rep {}/{} {} x{threads}",
                rep + 1,
                plan.reps,
                store.entry.name
            ));
            let timed = if plan.fresh {
                let bench = build_filled(plan, &store.entry)?;
                let timed = bench.timed(streams, threads, 0, n as usize, plan.read_mode);
                drop(bench); // untimed: dropping a grown store takes a while
                timed
            } else {
                let warm = ((n as usize).saturating_mul(plan.warmup_pct as usize) / 100).max(1);
                store.bench.timed(
                    streams,
                    threads,
                    start_offset(rep, n) + n as usize,
                    warm,
                    plan.read_mode,
                );
                store.bench.timed(
                    streams,
                    threads,
                    start_offset(rep, n),
                    n as usize,
                    plan.read_mode,
                )
            };
            check(&store.entry, plan, &timed.tally)?;
            cell.misses += timed.tally.misses;
            cell.samples.push(sample(rep, &timed));
            bar.inc(1);
        }
    }
    Ok(())
}

/// A repetition's figures.
fn sample(rep: usize, timed: &Timed) -> Sample {
    let total: u64 = timed.per_thread_ops.iter().sum();
    let wall_ns = timed.wall.as_nanos().max(1) as u64;
    Sample {
        rep,
        wall_ns,
        total_ops: total,
        ns_per_op: wall_ns as f64 / total.max(1) as f64,
        ops_per_sec: total as f64 / (wall_ns as f64 / 1e9),
        per_thread_ns_per_op: timed
            .per_thread
            .iter()
            .zip(&timed.per_thread_ops)
            .map(|(d, ops)| d.as_nanos() as f64 / (*ops).max(1) as f64)
            .collect(),
        per_thread_ops: timed.per_thread_ops.clone(),
        http: None,
    }
}

/// Refuses a repetition whose reads returned wrong tasks, or that missed
/// where nothing deletes.
fn check(entry: &Entry, plan: &Plan, tally: &Tally) -> Result<(), String> {
    if tally.wrong > 0 {
        return Err(format!(
            "store '{}' returned the wrong task for {} reads: its results cannot be trusted; run aborted",
            entry.name, tally.wrong
        ));
    }
    // In a live key space a read may race a create that has its id but has
    // not inserted yet: counted, not fatal (the audit checks for losses).
    if tally.misses > 0 && !entry.stores_nothing && !plan.workload.mix.live() {
        return Err(format!(
            "store '{}' found nothing for {} reads or updates of prefilled tasks, and nothing deletes in this mix; run aborted",
            entry.name, tally.misses
        ));
    }
    Ok(())
}
