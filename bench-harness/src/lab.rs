//! A whole run: every selected store, every thread count, interleaved
//! repetitions, then the untimed passes. Produces a [`RunFile`].

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use task_model::TaskId;

use storelab_results::{Cell, Imbalance, Latency, Machine, RunFile, SCHEMA, Sample, StoreInfo};
use workload::{OpKind, ReadMode, Workload};

use crate::Entry;
use crate::measure::alloc;
use crate::run::{Bench, Tally, timer_cost_ns};

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
    /// Show a progress bar on stderr.
    pub progress: bool,
}

struct Live {
    entry: Entry,
    bench: Box<dyn Bench>,
    info: StoreInfo,
}

/// Runs the plan over `entries`.
pub fn run(plan: &Plan, entries: Vec<Entry>) -> Result<RunFile, String> {
    if plan.threads.is_empty() || plan.threads.contains(&0) {
        return Err("thread counts must be at least 1".into());
    }
    if plan.reps == 0 {
        return Err("--reps must be at least 1".into());
    }
    for e in &entries {
        if e.single_thread && !plan.threads.contains(&1) {
            return Err(format!(
                "store '{}' runs on one thread only; add 1 to --threads",
                e.name
            ));
        }
    }
    let max_threads = *plan.threads.iter().max().unwrap_or(&1);
    let generated = plan.workload.generate(max_threads);
    let streams = &generated.streams;
    let timer_ns = timer_cost_ns();

    let cells_per_store: Vec<Vec<usize>> = entries
        .iter()
        .map(|e| {
            plan.threads
                .iter()
                .copied()
                .filter(|t| !e.single_thread || *t == 1)
                .collect()
        })
        .collect();
    let cell_count: usize = cells_per_store.iter().map(Vec::len).sum();
    let steps = entries.len() + cell_count * (plan.reps + 3);
    let bar = progress_bar(plan.progress, steps as u64);

    // Build and prefill every store: all stay alive so repetitions can be
    // interleaved across them.
    let mut live = Vec::with_capacity(entries.len());
    for entry in entries {
        bar.set_message(format!("prefill {}", entry.name));
        // Heap per task counts the store's construction (pre-sized maps,
        // chunks) and the prefill together: everything the tasks cost.
        let ((bench, filled), counts) = alloc::counted(|| {
            let bench = (entry.build)(plan.workload.keys as usize);
            let filled = if entry.stores_nothing {
                Ok(())
            } else {
                bench.prefill(plan.workload.keys)
            };
            (bench, filled)
        });
        filled.map_err(|e| format!("{}: {e}", entry.name))?;
        let heap = (alloc::is_installed() && !entry.stores_nothing)
            .then(|| counts.live_bytes() as f64 / f64::from(plan.workload.keys));
        let shard_imbalance = imbalance(
            bench.as_ref(),
            streams
                .iter()
                .flat_map(|s| s.ops())
                .filter(|o| o.kind != OpKind::Create)
                .map(|o| o.id),
        );
        let info = StoreInfo {
            name: entry.name.into(),
            about: entry.about.into(),
            family: entry.family,
            heap_bytes_per_task: heap,
            shard_imbalance,
            walk_ns: None,
        };
        live.push(Live { entry, bench, info });
        bar.inc(1);
    }

    // Calibrate (doubles as the first warm-up).
    let mut cells: Vec<(usize, usize, u64, Vec<Sample>, Tally)> = Vec::new();
    for (s, store) in live.iter().enumerate() {
        for &threads in &cells_per_store[s] {
            bar.set_message(format!("calibrate {} x{threads}", store.entry.name));
            let n = match plan.ops {
                Some(n) => {
                    store.bench.timed(
                        streams,
                        threads,
                        0,
                        (n as usize / 10).max(1),
                        plan.read_mode,
                    );
                    n.max(1)
                }
                None => calibrate(
                    store.bench.as_ref(),
                    streams,
                    threads,
                    plan.rep_time,
                    plan.read_mode,
                ),
            };
            cells.push((s, threads, n, Vec::new(), Tally::default()));
            bar.inc(1);
        }
    }

    // Timed repetitions, interleaved: each round runs every cell once, in
    // an order rotated by the round, so drift and order effects hit every
    // store alike.
    let start_offset = |rep: usize, n: u64| rep.wrapping_mul(n as usize);
    for rep in 0..plan.reps {
        let count = cells.len();
        for k in 0..count {
            let idx = (k + rep * 7) % count;
            let (s, threads, n, ref mut samples, ref mut tally) = cells[idx];
            let store = &live[s];
            bar.set_message(format!(
                "rep {}/{} {} x{threads}",
                rep + 1,
                plan.reps,
                store.entry.name
            ));
            let warm = ((n as usize).saturating_mul(plan.warmup_pct as usize) / 100).max(1);
            store.bench.timed(
                streams,
                threads,
                start_offset(rep, n) + n as usize,
                warm,
                plan.read_mode,
            );
            let timed = store.bench.timed(
                streams,
                threads,
                start_offset(rep, n),
                n as usize,
                plan.read_mode,
            );
            check(&store.entry, plan, &timed.tally)?;
            tally.misses += timed.tally.misses;
            let total = n * threads as u64;
            let wall_ns = timed.wall.as_nanos().max(1) as u64;
            samples.push(Sample {
                rep,
                wall_ns,
                total_ops: total,
                ns_per_op: wall_ns as f64 / total as f64,
                ops_per_sec: total as f64 / (wall_ns as f64 / 1e9),
                per_thread_ns_per_op: timed
                    .per_thread
                    .iter()
                    .map(|d| d.as_nanos() as f64 / n as f64)
                    .collect(),
            });
            bar.inc(1);
        }
    }

    // Untimed passes: allocations, then sampled latency.
    let mut out_cells = Vec::with_capacity(cells.len());
    for (s, threads, n, samples, tally) in cells {
        let store = &live[s];
        bar.set_message(format!("allocations {} x{threads}", store.entry.name));
        let alloc_n = n.clamp(1, 100_000) as usize;
        let counts = store
            .bench
            .allocations(streams, threads, alloc_n, plan.read_mode);
        let alloc_ops = (alloc_n * threads) as u64;
        bar.inc(1);
        bar.set_message(format!("latency {} x{threads}", store.entry.name));
        let every = latency_every(n);
        let hists = store
            .bench
            .latency(streams, threads, n as usize, every, plan.read_mode);
        let latency = Latency::from_histograms(&hists);
        bar.inc(1);
        out_cells.push(Cell {
            store: store.entry.name.into(),
            threads,
            ops_per_thread: n,
            samples,
            bytes_per_op: counts.alloc_bytes as f64 / alloc_ops as f64,
            allocs_per_op: counts.allocs as f64 / alloc_ops as f64,
            alloc_ops,
            latency,
            latency_every: every,
            misses: tally.misses,
        });
    }

    // The get_all floor, for stores that can walk their maps.
    for store in &mut live {
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
        timer_cost_ns: timer_ns,
        cells: out_cells,
        stores,
    })
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
    if tally.misses > 0 && !entry.stores_nothing && !plan.workload.mix.deletes() {
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
            progress: false,
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
        let mut deleting = plan();
        deleting.workload.mix = "read=90,delete=10".parse().expect("valid mix");
        let file = run(&deleting, vec![lossy()]).expect("misses are expected when the mix deletes");
        assert!(file.cells[0].misses > 0);
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
}
