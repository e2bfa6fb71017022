//! A whole run: every selected store, every thread count, interleaved
//! repetitions, then the untimed passes. Produces a [`RunFile`].

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use task_model::TaskId;

use storelab_results::{
    Cell, Imbalance, Latency, Machine, Memory, RunFile, SCHEMA, Sample, StoreInfo,
};
use workload::{OpKind, ReadMode, Workload};

use crate::Entry;
use crate::measure::alloc;
use crate::run::{Bench, Tally, Timed, timer_cost_ns};

/// How long and how often to measure.
#[derive(Clone, Debug)]
pub struct Plan {
    pub preset: Option<String>,
    pub workload: Workload,
    pub threads: Vec<usize>,
    pub reps: usize,
    /// Either a fixed count of operations per thread per repetition...
    pub ops: Option<u64>,
    /// ...or a target duration per repetition, the count calibrated per
    /// (store, threads) during warm-up.
    pub rep_time: Duration,
    pub read_mode: ReadMode,
    /// Operations run untimed before each repetition, in percent of the
    /// repetition's count (the same stream positions the next repetition
    /// does not use).
    pub warmup_pct: u32,
    /// The order of the cells within each round, and of the prefills.
    pub order: Order,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// Every repetition, and each untimed pass, on a freshly built and
    /// prefilled store, without warm-up (growth from empty, conc-map-bench's
    /// RapidGrow): what is measured is a store's life from its start, and a
    /// growing mix cannot pile up tasks over repetitions. Needs `ops`, which
    /// is then the operations of a whole repetition, split over its threads.
    pub fresh: bool,
}

/// The order in which stores are prefilled and cells run within a round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// A new seeded shuffle for every round and for the prefills (the
    /// default): no store always runs first, or right after the same other
    /// store, so order effects become noise that repetitions average out,
    /// and the seed makes the run repeatable.
    Shuffled,
    /// Catalog order, every round: for checking that order does not matter.
    Fixed,
    /// Reverse catalog order, every round.
    Reversed,
}

impl Order {
    pub fn name(self) -> &'static str {
        match self {
            Order::Shuffled => "shuffled",
            Order::Fixed => "fixed",
            Order::Reversed => "reversed",
        }
    }

    /// The order of `n` items for round `round` (prefill is round
    /// `usize::MAX`), from `seed`.
    pub fn arrange(self, n: usize, seed: u64, round: usize) -> Vec<usize> {
        let mut v: Vec<usize> = (0..n).collect();
        match self {
            Order::Fixed => {}
            Order::Reversed => v.reverse(),
            Order::Shuffled => {
                // Fisher-Yates over splitmix64: no dependency, and the same
                // seed gives the same order on every machine.
                let mut state = seed ^ (round as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                for i in (1..n).rev() {
                    state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
                    let mut z = state;
                    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                    z ^= z >> 31;
                    v.swap(i, (z % (i as u64 + 1)) as usize);
                }
            }
        }
        v
    }
}

/// Each repetition must hold at least this many of its mix's rarest
/// operation per thread; calibration lengthens a repetition until it does,
/// and a cell fixed shorter by `--ops` is flagged (`Cell::too_short`).
pub const MIN_RAREST_OPS: u64 = 10;

struct Live {
    entry: Entry,
    bench: Box<dyn Bench>,
    info: StoreInfo,
}

/// One (store, threads) cell while the run is under way.
struct CellRun {
    store: usize,
    threads: usize,
    /// Operations per thread per repetition (the fair share; see WorkQueue).
    n: u64,
    samples: Vec<Sample>,
    misses: u64,
}

/// Runs the plan over `entries`, in named phases: validate, prefill,
/// calibrate, timed rounds, measurement passes, get_all floor.
pub fn run(plan: &Plan, entries: Vec<Entry>) -> Result<RunFile, String> {
    validate(plan, &entries)?;
    let max_threads = *plan.threads.iter().max().unwrap_or(&1);
    let generated = plan.workload.generate(max_threads);
    let streams = &generated.streams;
    let timer_ns = timer_cost_ns();
    let cell_count: usize = entries.iter().map(|e| threads_of(plan, e).len()).sum();
    let memory_steps = if plan.workload.mix.live() {
        entries.len()
    } else {
        0
    };
    let steps = entries.len() + cell_count * (plan.reps + 3) + memory_steps;
    let bar = progress_bar(plan.progress, steps as u64);

    let mut live = prefill(plan, entries, streams, &bar)?;
    let mut cells = calibrate_cells(plan, &live, streams, &bar);
    timed_rounds(plan, &live, &mut cells, streams, &bar)?;
    let out_cells = measurement_passes(plan, &live, cells, streams, &bar)?;
    get_all_floor(plan, &mut live);
    memory_phase(plan, &mut live, &bar)?;
    bar.finish_and_clear();

    let stores = live.into_iter().map(|l| l.info).collect();
    Ok(RunFile {
        schema: SCHEMA.into(),
        machine: Machine::current(),
        preset: plan.preset.clone(),
        workload: plan.workload.clone(),
        read_mode: plan.read_mode,
        zipf_s: generated.zipf_s,
        hot20_share: generated.hot20_share,
        reps: plan.reps,
        rep_seconds: plan.ops.is_none().then_some(plan.rep_time.as_secs_f64()),
        warmup_pct: plan.warmup_pct,
        order: plan.order.name().into(),
        timer_cost_ns: timer_ns,
        cells: out_cells,
        stores,
    })
}

fn validate(plan: &Plan, entries: &[Entry]) -> Result<(), String> {
    if plan.threads.is_empty() || plan.threads.contains(&0) {
        return Err("thread counts must be at least 1".into());
    }
    if plan.reps == 0 {
        return Err("--reps must be at least 1".into());
    }
    if plan.fresh && plan.ops.is_none() {
        return Err("a run on fresh stores needs a fixed operation count (--ops)".into());
    }
    if plan.workload.keys == 0 && plan.workload.mix.keyed() {
        return Err(
            "with no prefilled tasks (--keys 0) the mix may only create and get_all".into(),
        );
    }
    for e in entries {
        if e.single_thread && !plan.threads.contains(&1) {
            return Err(format!(
                "store '{}' runs on one thread only; add 1 to --threads",
                e.name
            ));
        }
    }
    Ok(())
}

/// The thread counts a store runs at.
fn threads_of(plan: &Plan, e: &Entry) -> Vec<usize> {
    plan.threads
        .iter()
        .copied()
        .filter(|t| !e.single_thread || *t == 1)
        .collect()
}

/// Phase 1: build and prefill every store, in the plan's order; all stay
/// alive so repetitions can be interleaved across them. Returns them in
/// catalog order.
fn prefill(
    plan: &Plan,
    entries: Vec<Entry>,
    streams: &[workload::Stream],
    bar: &ProgressBar,
) -> Result<Vec<Live>, String> {
    let order = plan
        .order
        .arrange(entries.len(), plan.workload.seed, usize::MAX);
    let mut slots: Vec<Option<Live>> = entries.iter().map(|_| None).collect();
    let mut entries: Vec<Option<Entry>> = entries.into_iter().map(Some).collect();
    for i in order {
        let entry = entries[i].take().ok_or("a store listed twice")?;
        bar.set_message(format!("prefill {}", entry.name));
        slots[i] = Some(prefill_one(plan, entry, streams)?);
        bar.inc(1);
    }
    Ok(slots.into_iter().flatten().collect())
}

/// A store built with the workload's capacity and prefilled; in a live mix
/// its lanes are made for the most threads of the plan.
fn build_filled(plan: &Plan, entry: &Entry) -> Result<Box<dyn Bench>, String> {
    let mut bench = build_prefilled(plan, entry)?;
    make_live(plan, bench.as_mut());
    Ok(bench)
}

/// A store built with the workload's capacity and prefilled.
fn build_prefilled(plan: &Plan, entry: &Entry) -> Result<Box<dyn Bench>, String> {
    let w = &plan.workload;
    let bench = (entry.build)(w.capacity.unwrap_or(w.keys) as usize);
    if !entry.stores_nothing {
        bench
            .prefill(w.keys)
            .map_err(|e| format!("{}: {e}", entry.name))?;
    }
    Ok(bench)
}

/// In a live mix, the store's lanes, for the most threads of the plan.
fn make_live(plan: &Plan, bench: &mut dyn Bench) {
    let w = &plan.workload;
    if w.mix.live() {
        let lanes = *plan.threads.iter().max().unwrap_or(&1);
        bench.go_live(w.keys, lanes, &w.mix);
    }
}

fn prefill_one(plan: &Plan, entry: Entry, streams: &[workload::Stream]) -> Result<Live, String> {
    // Heap per task counts the store's construction (pre-sized maps,
    // chunks) and the prefill together: everything the tasks cost.
    // The lanes of a live mix are the harness's, made after counting.
    let (bench, counts) = alloc::counted(|| build_prefilled(plan, &entry));
    let mut bench = bench?;
    make_live(plan, bench.as_mut());
    let keys = plan.workload.keys;
    let heap = (alloc::is_installed() && !entry.stores_nothing && keys > 0)
        .then(|| counts.live_bytes() as f64 / f64::from(keys));
    let live = plan.workload.mix.live();
    let shard_imbalance = imbalance(
        bench.as_ref(),
        streams
            .iter()
            .flat_map(|s| s.ops())
            .filter(|o| o.kind.keyed() && !(live && o.kind == OpKind::Delete))
            // A live mix's offsets, on the window at the start.
            .map(|o| {
                if live {
                    keys.saturating_sub(o.id)
                } else {
                    o.id
                }
            }),
    );
    let info = StoreInfo {
        name: entry.name.into(),
        about: entry.about.into(),
        family: entry.family,
        heap_bytes_per_task: heap,
        memory: None,
        shard_imbalance,
        walk_ns: None,
    };
    Ok(Live { entry, bench, info })
}

/// Phase 2: the operation count of every cell (doubles as the first
/// warm-up). Every repetition holds at least [`MIN_RAREST_OPS`] of the mix's
/// rarest operation per thread, unless `--ops` fixed the count.
fn calibrate_cells(
    plan: &Plan,
    live: &[Live],
    streams: &[workload::Stream],
    bar: &ProgressBar,
) -> Vec<CellRun> {
    let floor = rarest_floor(&plan.workload);
    let mut cells = Vec::new();
    for (s, store) in live.iter().enumerate() {
        for threads in threads_of(plan, &store.entry) {
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
            cells.push(CellRun {
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

/// Operations per thread that hold [`MIN_RAREST_OPS`] of the rarest kind.
fn rarest_floor(workload: &Workload) -> u64 {
    let rarest = OpKind::ALL
        .iter()
        .map(|k| workload.mix.percent(*k))
        .filter(|pct| *pct > 0)
        .min()
        .unwrap_or(100);
    MIN_RAREST_OPS * 100 / u64::from(rarest)
}

/// Phase 3: the timed repetitions, interleaved: each round runs every cell
/// once, in the plan's order for that round, so drift and order effects hit
/// every store alike, and samples of one round pair up across stores.
fn timed_rounds(
    plan: &Plan,
    live: &[Live],
    cells: &mut [CellRun],
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

/// Phase 4: the untimed passes of every cell: allocations, then sampled
/// latency (one pass per cell, not replicated).
fn measurement_passes(
    plan: &Plan,
    live: &[Live],
    cells: Vec<CellRun>,
    streams: &[workload::Stream],
    bar: &ProgressBar,
) -> Result<Vec<Cell>, String> {
    let floor = rarest_floor(&plan.workload);
    let maybe_deleted = maybe_deleted(plan, streams);
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
        if !store.entry.stores_nothing {
            bench
                .audit(plan.workload.keys, &maybe_deleted)
                .map_err(|e| {
                    format!(
                        "store '{}' failed the post-run audit after its x{threads} cell: {e}; run aborted",
                        store.entry.name
                    )
                })?;
        }
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

/// Which ids some operation of the run could have deleted: any id a delete
/// in any stream names.
fn maybe_deleted(plan: &Plan, streams: &[workload::Stream]) -> Vec<bool> {
    let mut v = vec![false; plan.workload.keys as usize + 1];
    for op in streams.iter().flat_map(|s| s.ops()) {
        if op.kind == OpKind::Delete
            && let Some(slot) = v.get_mut(op.id as usize)
        {
            *slot = true;
        }
    }
    v
}

/// How long after the churn's last delete the memory phase reads the heap.
pub const HELD_AFTER_MS: [u64; 3] = [10, 100, 1000];

/// Phase 6, for mixes that create or delete: the heap over a fresh
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
fn memory_phase(plan: &Plan, live: &mut [Live], bar: &ProgressBar) -> Result<(), String> {
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
        let (build, capacity) = (store.entry.build, w.capacity.unwrap_or(w.keys) as usize);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        alloc::set_counting(true);
        let base = alloc::totals().live_bytes();
        let heap = move || (alloc::totals().live_bytes() - base).max(0) as f64;
        let outcome = std::thread::scope(|scope| {
            let worker = scope.spawn(move || {
                let mut peak = 0f64;
                let bench = build(capacity);
                let filled = bench.prefill_with(keys, &mut || peak = peak.max(heap()));
                let after_prefill = heap();
                let missed = bench.churn(keys, u64::from(keys), &mut || peak = peak.max(heap()));
                let after_churn = heap();
                // This thread's own high-water mark is the store's exact
                // peak when the store does all its work on this thread,
                // which shows as this thread's own live bytes matching the
                // heap; a store with threads of its own (actor, channel,
                // the pool) frees on one thread what it allocated on
                // another, so for it the sampled peak stands.
                let own = alloc::this_thread().live_bytes() as f64;
                let peak = if (own - after_churn).abs() <= 0.01 * after_churn {
                    peak.max(alloc::this_thread_peak() as f64)
                } else {
                    peak
                };
                let _ = ready_tx.send(());
                // Idle, alive, until the heap has been read.
                let _ = release_rx.recv();
                (
                    bench,
                    filled,
                    missed,
                    after_prefill,
                    after_churn,
                    peak.max(after_churn),
                )
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
            let joined = worker
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (joined, held)
        });
        alloc::set_counting(false);
        let ((bench, filled, missed, after_prefill, after_churn, peak), held) = outcome;
        drop(bench);
        filled.map_err(|e| format!("{} (memory phase): {e}", store.entry.name))?;
        if missed > 0 {
            return Err(format!(
                "store '{}' broke {missed} steps of the memory phase's churn (an id out of sequence, or a delete of a task it had created that found nothing); run aborted",
                store.entry.name
            ));
        }
        let held = held.map_err(|_| "the memory phase's worker stopped early".to_owned())?;
        let per = f64::from(keys);
        store.info.memory = Some(Memory {
            tasks: u64::from(keys),
            churned: u64::from(keys),
            after_prefill: after_prefill / per,
            after_churn: after_churn / per,
            held_after: held.into_iter().map(|(ms, b)| (ms, b / per)).collect(),
            peak: peak / per,
        });
        bar.inc(1);
    }
    Ok(())
}

/// Phase 5: the get_all floor, for stores that can walk their maps.
fn get_all_floor(plan: &Plan, live: &mut [Live]) {
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

/// One op in 8 is timed, unless a repetition is short (few, slow ops such as
/// get_all), when every op is.
fn latency_every(n: u64) -> usize {
    if n >= 8_192 { 8 } else { 1 }
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

/// Busiest shard's share of keyed operations over the mean share.
fn imbalance(bench: &dyn Bench, ids: impl Iterator<Item = u32>) -> Option<Imbalance> {
    let (_, shards) = bench.shard_of(TaskId(1))?;
    let mut counts = vec![0u64; shards];
    let mut total = 0u64;
    for id in ids {
        let (shard, _) = bench.shard_of(TaskId(u64::from(id)))?;
        counts[shard] += 1;
        total += 1;
    }
    let max = *counts.iter().max()?;
    (total > 0).then(|| Imbalance {
        shards,
        max_over_mean: max as f64 / (total as f64 / shards as f64),
    })
}

fn progress_bar(show: bool, steps: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(
        Some(steps),
        if show {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use store_memory::MemoryStore;
    use task_model::{SnapshotGuarantee, Task, TaskDraft, TaskPatch, TaskStore};

    use super::*;
    use crate::Family;
    use crate::run::bench;
    use workload::{HotKeys, KeyDist, Mix};

    /// A store that answers reads of even ids with the wrong task, or not at all.
    struct Liar {
        inner: MemoryStore,
        lose: bool,
    }

    impl TaskStore for Liar {
        const SNAPSHOT: SnapshotGuarantee = SnapshotGuarantee::Atomic;
        fn create(&self, draft: TaskDraft) -> Arc<Task> {
            self.inner.create(draft)
        }
        fn get(&self, id: TaskId) -> Option<Arc<Task>> {
            match (id.get().is_multiple_of(2), self.lose) {
                (true, true) => None,
                (true, false) => self.inner.get(TaskId(1)),
                _ => self.inner.get(id),
            }
        }
        fn update(&self, id: TaskId, patch: TaskPatch) -> Option<Arc<Task>> {
            self.inner.update(id, patch)
        }
        fn delete(&self, id: TaskId) -> Option<Arc<Task>> {
            self.inner.delete(id)
        }
        fn get_all(&self) -> Vec<Arc<Task>> {
            self.inner.get_all()
        }
        fn len(&self) -> usize {
            self.inner.len()
        }
    }

    fn plan() -> Plan {
        Plan {
            preset: None,
            workload: Workload {
                capacity: None,
                keys: 1_000,
                dist: KeyDist::Uniform,
                hot_keys: HotKeys::Scrambled,
                mix: Mix::SEED,
                seed: 1,
                stream_len: 1 << 10,
            },
            threads: vec![1],
            reps: 2,
            ops: Some(500),
            rep_time: Duration::from_millis(1),
            read_mode: ReadMode::Clone,
            warmup_pct: 10,
            order: Order::Shuffled,
            progress: false,
            fresh: false,
        }
    }

    fn entry(name: &'static str, build: fn(usize) -> Box<dyn Bench>) -> Entry {
        Entry::new(name, Family::Log, "test store", build)
    }

    #[test]
    fn a_store_returning_wrong_tasks_aborts_the_run() {
        let wrong = entry("liar", |c| {
            bench(Liar {
                inner: MemoryStore::with_capacity(c),
                lose: false,
            })
            .boxed()
        });
        let err = run(&plan(), vec![wrong]).expect_err("wrong reads must abort");
        assert!(err.contains("returned the wrong task"), "{err}");
    }

    #[test]
    fn a_store_losing_tasks_aborts_the_run_unless_the_mix_deletes() {
        let lossy = || {
            entry("loser", |c| {
                bench(Liar {
                    inner: MemoryStore::with_capacity(c),
                    lose: true,
                })
                .boxed()
            })
        };
        let err = run(&plan(), vec![lossy()]).expect_err("misses must abort");
        assert!(err.contains("found nothing"), "{err}");
        // Where the mix deletes, misses are expected during the run, but the
        // post-run audit still finds the tasks that nothing deleted missing.
        let mut deleting = plan();
        deleting.workload.mix = "read=90,delete=10".parse().expect("valid mix");
        let err = run(&deleting, vec![lossy()]).expect_err("the audit finds lost tasks");
        assert!(
            err.contains("post-run audit") && err.contains("cannot be read"),
            "{err}"
        );
    }

    #[test]
    fn an_honest_store_runs_with_fixed_ops() {
        let honest = entry("memory", |c| bench(MemoryStore::with_capacity(c)).boxed());
        let file = run(&plan(), vec![honest]).expect("runs");
        let cell = &file.cells[0];
        assert_eq!(cell.ops_per_thread, 500);
        assert_eq!(cell.samples.len(), 2);
        assert_eq!(cell.misses, 0);
    }

    /// A store that starves one caller: threads take a ticket on their first
    /// read or update (the harness starts fresh threads for every
    /// repetition, two at a time here), and every operation of a thread with
    /// an even ticket sleeps. So in each repetition one thread is slow.
    struct Starver {
        inner: MemoryStore,
        tickets: std::sync::atomic::AtomicUsize,
    }

    thread_local! {
        static TICKET: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
    }

    impl Starver {
        fn slow(&self) {
            let ticket = TICKET.with(|t| match t.get() {
                Some(n) => n,
                None => {
                    let n = self
                        .tickets
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    t.set(Some(n));
                    n
                }
            });
            if ticket.is_multiple_of(2) {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
    }

    impl TaskStore for Starver {
        const SNAPSHOT: SnapshotGuarantee = SnapshotGuarantee::Atomic;
        fn create(&self, draft: TaskDraft) -> Arc<Task> {
            self.inner.create(draft)
        }
        fn get(&self, id: TaskId) -> Option<Arc<Task>> {
            self.slow();
            self.inner.get(id)
        }
        fn update(&self, id: TaskId, patch: TaskPatch) -> Option<Arc<Task>> {
            self.slow();
            self.inner.update(id, patch)
        }
        fn delete(&self, id: TaskId) -> Option<Arc<Task>> {
            self.inner.delete(id)
        }
        fn get_all(&self) -> Vec<Arc<Task>> {
            self.inner.get_all()
        }
        fn len(&self) -> usize {
            self.inner.len()
        }
    }

    #[test]
    fn a_starved_thread_takes_less_work_and_the_cell_is_flagged_unfair() {
        // Prefill only creates, which never sleeps.
        let starved = entry("starver", |c| {
            bench(Starver {
                inner: MemoryStore::with_capacity(c),
                tickets: std::sync::atomic::AtomicUsize::new(0),
            })
            .boxed()
        });
        let mut p = plan();
        p.threads = vec![2];
        p.ops = Some(200);
        let file = run(&p, vec![starved]).expect("runs");
        let cell = &file.cells[0];
        for s in &cell.samples {
            assert_eq!(
                s.total_ops, 400,
                "the shared counter hands out exactly n x threads"
            );
            assert_eq!(s.per_thread_ops.iter().sum::<u64>(), 400);
            let (a, b) = (s.per_thread_ops[0], s.per_thread_ops[1]);
            assert!(a != b, "one thread sleeps per operation, yet both ran {a}");
        }
        assert!(cell.unfair(), "fairness {:?}", cell.fairness());
    }

    #[test]
    fn orders_are_permutations_and_the_shuffle_is_seeded() {
        for order in [Order::Shuffled, Order::Fixed, Order::Reversed] {
            let mut v = order.arrange(23, 7, 3);
            v.sort_unstable();
            assert_eq!(v, (0..23).collect::<Vec<_>>());
        }
        assert_eq!(
            Order::Shuffled.arrange(23, 7, 3),
            Order::Shuffled.arrange(23, 7, 3)
        );
        assert_ne!(
            Order::Shuffled.arrange(23, 7, 3),
            Order::Shuffled.arrange(23, 7, 4)
        );
        assert_eq!(Order::Reversed.arrange(3, 1, 0), [2, 1, 0]);
    }

    #[test]
    fn a_rare_operation_sets_the_length_of_a_repetition() {
        let mut p = plan();
        p.workload.mix = "read=99,get_all=1".parse().expect("valid mix");
        assert_eq!(rarest_floor(&p.workload), MIN_RAREST_OPS * 100);
        p.ops = Some(50);
        let honest = entry("memory", |c| bench(MemoryStore::with_capacity(c)).boxed());
        let file = run(&p, vec![honest]).expect("runs");
        assert!(file.cells[0].too_short, "50 ops hold no get_all on average");
        p.ops = None;
        let honest = entry("memory", |c| bench(MemoryStore::with_capacity(c)).boxed());
        let file = run(&p, vec![honest]).expect("runs");
        assert!(!file.cells[0].too_short && file.cells[0].ops_per_thread >= 1000);
    }

    /// How a store lies after the fact, for the post-run audit.
    #[derive(Clone, Copy)]
    enum Lie {
        /// Serves the first version it ever stored of each task.
        Stale,
        /// Returns the patched task from update but keeps the old one.
        DropsUpdates,
        /// get_all and snapshot leave out the last task.
        TruncatedGetAll,
    }

    struct AfterTheFact {
        inner: MemoryStore,
        first: std::sync::Mutex<std::collections::HashMap<TaskId, Arc<Task>>>,
        lie: Lie,
    }

    impl TaskStore for AfterTheFact {
        const SNAPSHOT: SnapshotGuarantee = SnapshotGuarantee::Atomic;
        fn create(&self, draft: TaskDraft) -> Arc<Task> {
            let t = self.inner.create(draft);
            if let Ok(mut first) = self.first.lock() {
                first.insert(t.id, Arc::clone(&t));
            }
            t
        }
        fn get(&self, id: TaskId) -> Option<Arc<Task>> {
            match self.lie {
                Lie::Stale => self.first.lock().ok()?.get(&id).cloned(),
                _ => self.inner.get(id),
            }
        }
        fn update(&self, id: TaskId, patch: TaskPatch) -> Option<Arc<Task>> {
            match self.lie {
                Lie::DropsUpdates => self.inner.get(id).map(|t| Arc::new(t.patched(&patch))),
                _ => self.inner.update(id, patch),
            }
        }
        fn delete(&self, id: TaskId) -> Option<Arc<Task>> {
            self.inner.delete(id)
        }
        fn get_all(&self) -> Vec<Arc<Task>> {
            let mut all = self.inner.get_all();
            if matches!(self.lie, Lie::TruncatedGetAll) {
                all.pop();
            }
            all
        }
        fn len(&self) -> usize {
            self.inner.len()
        }
    }

    fn liar(lie: Lie) -> Entry {
        let build: fn(usize) -> Box<dyn Bench> = match lie {
            Lie::Stale => |c| bench(after_the_fact(c, Lie::Stale)).boxed(),
            Lie::DropsUpdates => |c| bench(after_the_fact(c, Lie::DropsUpdates)).boxed(),
            Lie::TruncatedGetAll => |c| bench(after_the_fact(c, Lie::TruncatedGetAll)).boxed(),
        };
        entry("after-the-fact", build)
    }

    fn after_the_fact(c: usize, lie: Lie) -> AfterTheFact {
        AfterTheFact {
            inner: MemoryStore::with_capacity(c),
            first: std::sync::Mutex::new(std::collections::HashMap::new()),
            lie,
        }
    }

    #[test]
    fn the_post_run_audit_catches_stores_that_lie_after_the_fact() {
        for (lie, needle) in [
            (Lie::Stale, "the update was lost or the read is stale"),
            (
                Lie::DropsUpdates,
                "the update was lost or the read is stale",
            ),
            (Lie::TruncatedGetAll, "get_all lists"),
        ] {
            let err = run(&plan(), vec![liar(lie)]).expect_err("a liar must fail the audit");
            assert!(
                err.contains("failed the post-run audit") && err.contains(needle),
                "{err}"
            );
        }
    }

    #[test]
    fn a_live_key_space_reads_only_live_tasks_and_audits_the_count() {
        // Deletes outrun creates: under a fixed key space reads would drift
        // into misses; in the live one, on one thread, none misses.
        let mut p = plan();
        p.workload.mix = "read=50,update=20,create=10,delete=20"
            .parse()
            .expect("valid mix");
        let honest = entry("memory", |c| bench(MemoryStore::with_capacity(c)).boxed());
        let file = run(&p, vec![honest]).expect("an honest store passes");
        assert_eq!(file.cells[0].misses, 0, "every keyed op found a live task");
        // Two threads: the lanes never delete the same task, so deletes
        // never miss; reads may only race (counted, not fatal).
        p.threads = vec![1, 2];
        let honest = entry("memory", |c| bench(MemoryStore::with_capacity(c)).boxed());
        run(&p, vec![honest]).expect("an honest store passes on two threads");
    }

    /// Deletes report success but keep the task.
    struct Hoarder(MemoryStore);

    impl TaskStore for Hoarder {
        const SNAPSHOT: SnapshotGuarantee = SnapshotGuarantee::Atomic;
        fn create(&self, draft: TaskDraft) -> Arc<Task> {
            self.0.create(draft)
        }
        fn get(&self, id: TaskId) -> Option<Arc<Task>> {
            self.0.get(id)
        }
        fn update(&self, id: TaskId, patch: TaskPatch) -> Option<Arc<Task>> {
            self.0.update(id, patch)
        }
        fn delete(&self, id: TaskId) -> Option<Arc<Task>> {
            self.0.get(id)
        }
        fn get_all(&self) -> Vec<Arc<Task>> {
            self.0.get_all()
        }
        fn len(&self) -> usize {
            self.0.len()
        }
    }

    #[test]
    fn a_store_that_keeps_deleted_tasks_fails_the_live_audit() {
        let mut p = plan();
        p.workload.mix = "read=80,create=10,delete=10".parse().expect("valid mix");
        let hoarder = entry("hoarder", |c| {
            bench(Hoarder(MemoryStore::with_capacity(c))).boxed()
        });
        let err = run(&p, vec![hoarder]).expect_err("a hoarder must fail");
        assert!(err.contains("were created and not deleted"), "{err}");
    }

    #[test]
    fn a_drained_lane_counts_its_deletes_as_misses() {
        let mut p = plan();
        p.workload.keys = 10;
        p.workload.mix = "delete=100".parse().expect("valid mix");
        let honest = entry("memory", |c| bench(MemoryStore::with_capacity(c)).boxed());
        let file = run(&p, vec![honest]).expect("draining is not an error");
        assert!(file.cells[0].misses > 0);
    }

    #[test]
    fn fresh_stores_start_from_the_prefill_every_repetition() {
        // Growth: no prefill, creates only; every repetition creates the
        // same count on a new store, so ids restart and nothing piles up.
        let mut p = plan();
        p.workload.keys = 0;
        p.workload.capacity = Some(0);
        p.workload.mix = "create=100".parse().expect("valid mix");
        p.fresh = true;
        p.ops = Some(300);
        p.threads = vec![1, 2];
        let honest = entry("memory", |c| bench(MemoryStore::with_capacity(c)).boxed());
        let file = run(&p, vec![honest]).expect("growth runs");
        for cell in &file.cells {
            assert_eq!(cell.ops_per_thread, 300 / cell.threads as u64);
            for s in &cell.samples {
                assert_eq!(s.total_ops, 300, "the whole repetition, split over threads");
            }
        }
        let mut keyed = p.clone();
        keyed.workload.mix = Mix::SEED;
        let honest = entry("memory", |c| bench(MemoryStore::with_capacity(c)).boxed());
        let err = run(&keyed, vec![honest]).expect_err("reads need tasks");
        assert!(err.contains("--keys 0"), "{err}");
        p.ops = None;
        let honest = entry("memory", |c| bench(MemoryStore::with_capacity(c)).boxed());
        assert!(run(&p, vec![honest]).is_err(), "fresh stores need --ops");
    }
}
