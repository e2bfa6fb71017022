//! Phases 4 and 5, the measurement passes: after the timed rounds, each cell
//! gets one untimed pass counting allocations and one sampling latency (not
//! replicated: shapes, not comparisons); then the post-run audit
//! (`crate::audit`) checks the store kept every task it was given. Last,
//! the get_all floor: a walk over every task that clones nothing, for the
//! stores that offer one. Hands back the run file's cells.

use std::time::Instant;

use indicatif::ProgressBar;

use storelab_results::{Cell, Latency};

use crate::Plan;
use crate::audit;
use crate::bench::Bench;
use crate::cells::{Prepared, build_filled};
use crate::rounds::TimedCell;

/// Every cell's passes and audit, then the get_all floor of every store.
pub(crate) fn run(
    plan: &Plan,
    stores: &mut [Prepared],
    cells: Vec<TimedCell>,
    streams: &[workload::Stream],
    bar: &ProgressBar,
) -> Result<Vec<Cell>, String> {
    let out = measurement_passes(plan, stores, cells, streams, bar)?;
    get_all_floor(plan, stores);
    Ok(out)
}

/// The untimed passes of every cell: allocations, then sampled
/// latency (one pass per cell, not replicated).
fn measurement_passes(
    plan: &Plan,
    live: &[Prepared],
    cells: Vec<TimedCell>,
    streams: &[workload::Stream],
    bar: &ProgressBar,
) -> Result<Vec<Cell>, String> {
    let floor = plan.rarest_floor();
    let maybe_deleted = audit::maybe_deleted(plan, streams);
    let mut out_cells = Vec::with_capacity(cells.len());
    for cell in cells {
        let (threads, n) = (cell.threads, cell.n);
        let store = &live[cell.store];
        bar.set_message(format!("allocations {} x{threads}", store.entry.name));
        // On fresh stores every pass gets its own, and the whole repetition
        // is counted and sampled (every op: the tail of a growth is a few
        // resizes).
        let fresh = |plan: &Plan| -> Result<Option<Box<dyn Bench>>, String> {
            plan.fresh
                .then(|| build_filled(plan, &store.entry))
                .transpose()
        };
        let alloc_n = if plan.fresh {
            n as usize
        } else {
            n.clamp(1, 100_000) as usize
        };
        let own = fresh(plan)?;
        let bench = own.as_deref().unwrap_or(store.bench.as_ref());
        let counts = bench.allocations(streams, threads, alloc_n, plan.read_mode);
        drop(own);
        let alloc_ops = (alloc_n * threads) as u64;
        bar.inc(1);
        bar.set_message(format!("latency {} x{threads}", store.entry.name));
        let every = if plan.fresh { 1 } else { latency_every(n) };
        let own = fresh(plan)?;
        let bench = own.as_deref().unwrap_or(store.bench.as_ref());
        let hists = bench.latency(streams, threads, n as usize, every, plan.read_mode);
        audit::after_cell(plan, store, bench, threads, &maybe_deleted)?;
        bar.inc(1);
        out_cells.push(Cell {
            store: store.entry.name.into(),
            threads,
            ops_per_thread: n,
            samples: cell.samples,
            bytes_per_op: counts.alloc_bytes as f64 / alloc_ops as f64,
            allocs_per_op: counts.allocs as f64 / alloc_ops as f64,
            alloc_ops,
            latency: Latency::from_histograms(&hists),
            latency_every: every,
            misses: cell.misses,
            too_short: n < floor,
        });
    }
    Ok(out_cells)
}

/// One op in 8 is timed, unless a repetition is short (few, slow ops such as
/// get_all), when every op is.
fn latency_every(n: u64) -> usize {
    if n >= 8_192 { 8 } else { 1 }
}

/// The get_all floor, for stores that can walk their maps.
fn get_all_floor(plan: &Plan, live: &mut [Prepared]) {
    for store in live {
        if store.bench.walk().is_some() {
            let times: Vec<f64> = (0..plan.reps.max(6))
                .map(|_| {
                    let t0 = Instant::now();
                    std::hint::black_box(store.bench.walk());
                    t0.elapsed().as_nanos() as f64
                })
                .collect();
            store.info.walk_ns = Some(times);
        }
    }
}
