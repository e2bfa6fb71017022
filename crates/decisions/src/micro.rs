//! The log's micro-claims (power-of-2 masks, atomic ids, pre-sized maps),
//! measured with criterion and imported as a run file
//! (`storelab import-criterion`, `scripts/micro`).

use std::fmt::Write as _;
use std::path::Path;

use storelab_results::{Cell, Family, Machine, Metric, RunFile, SCHEMA, Sample, StoreInfo};
use storelab_stats::{Summary, median, summarize};
use workload::ReadMode;

use crate::DecisionsError;
use crate::{Results, Versus, block, cell, line, ns, read_json, versus};

/// The log's micro-claims, each as (title, the benchmark that should be
/// faster, the one it should beat, the claim, the log's figure, what the
/// measurement leaves out of the claim).
const CLAIMS: [(&str, &str, &str, &str, &str, &str); 3] = [
    (
        "Power-of-2 mask versus modulo",
        "shard-by-mask",
        "shard-by-modulo",
        "`id & mask` is faster than `id % n`.",
        "(\"~1 cycle vs ~10-20 cycles\")",
        " The direction is what is judged: the log's cycle counts are not measured here (no cycle counters in this VM), and the ratio above is not a 10-20x gap.",
    ),
    (
        "Atomic versus mutex-guarded id generation",
        "id-atomic",
        "id-mutex",
        "An atomic counter is faster than a mutex-guarded one.",
        "(no figure)",
        " One thread, uncontended, against parking_lot's mutex (std's is below): the log's point, a mutex as the \"bottleneck for all creates\", is about contention, which this does not measure.",
    ),
    (
        "Pre-sized maps",
        "fill-presized",
        "fill-growing",
        "Pre-allocated capacity reduces rehashing while a store fills.",
        "(no figure)",
        " A saving per insert while a map fills: the seed workload creates nothing, so it does not show there; the growth preset times creates.",
    ),
];

pub(crate) fn section_micro(r: &mut Results) -> Result<String, DecisionsError> {
    let op_ns = fastest_op_ns(r)?;
    let file = r.get("micro.json")?;
    if file.preset.as_deref() != Some(CRITERION_ROUND) {
        return Err(DecisionsError::NotCriterionRounds);
    }
    let mut out = String::new();
    for (title, a, b, claim, figure, scope) in CLAIMS {
        let v = versus(cell(file, a, 1)?, cell(file, b, 1)?);
        let verdict = micro_verdict(&v, a != "fill-presized", op_ns, scope);
        let _ = writeln!(out, "#### {title}\n");
        out += &block(
            claim,
            figure,
            &[line(a, b, &v).replace(" ns/op", " ns per element")],
            "`scripts/micro` (writes results/micro.json)",
            &verdict,
        );
        out.push('\n');
    }
    if let Some(c) = file.cell("id-std-mutex", 1) {
        let s = summarize(&Metric::NsPerOp.values(c), 0.95);
        let _ = writeln!(
            out,
            "(For reference, `std::sync::Mutex` ids: {}.)",
            ns(&s).replace(" ns/op", " ns per id")
        );
    }
    Ok(out)
}

/// A store operation's cost on 1M tasks, to weigh the savings: the
/// fastest median at 1 thread of the seed run, limits aside.
fn fastest_op_ns(r: &mut Results) -> Result<f64, DecisionsError> {
    let seed = r.get("seed.json")?;
    let limits = seed.limits();
    Ok(seed
        .cells
        .iter()
        .filter(|c| c.threads == 1 && !limits.contains(&c.store.as_str()))
        .map(|c| summarize(&Metric::NsPerOp.values(c), 0.95).median)
        .fold(f64::INFINITY, f64::min))
}

/// A micro-claim's verdict: the saving per element, weighed against a store
/// operation (`op_ns`) for the claims about reads and updates.
fn micro_verdict(v: &Versus, reads_and_updates: bool, op_ns: f64, scope: &str) -> String {
    let saved = v.b.median - v.a.median;
    if v.significant() && v.ratio > 1.0 && reads_and_updates {
        format!(
            "**holds** (direction): {saved:.2} ns saved per element, {:.1}% of the fastest store operation on 1M tasks in the seed run ({}); {}.{scope}",
            saved / op_ns * 100.0,
            ns(&Summary {
                n: 0,
                median: op_ns,
                ci: None
            }),
            if saved / op_ns < 0.05 {
                "too little to show in a store's throughput"
            } else {
                "enough to show"
            }
        )
    } else if v.significant() && v.ratio > 1.0 {
        format!("**holds**: {saved:.2} ns saved per insert.{scope}")
    } else {
        "**not shown**: no significant difference.".to_owned()
    }
}

/// The preset of a criterion import made with `one_sample`: one pass of
/// the benchmarks as one round, for `storelab merge --reps`.
pub const CRITERION_ROUND: &str = "criterion-round";

/// One criterion benchmark's saved samples as a cell (ns per element).
fn criterion_cell(
    group_dir: &Path,
    name: String,
    elements: f64,
    one_sample: bool,
) -> Result<(Cell, StoreInfo), DecisionsError> {
    #[derive(serde::Deserialize)]
    struct Saved {
        iters: Vec<f64>,
        times: Vec<f64>,
    }
    let path = group_dir.join(&name).join("new/sample.json");
    let saved: Saved = read_json(&path)?;
    let samples = saved
        .iters
        .iter()
        .zip(&saved.times)
        .enumerate()
        .map(|(rep, (iters, time))| {
            let per = time / iters / elements;
            Sample {
                rep,
                wall_ns: *time as u64,
                total_ops: (iters * elements) as u64,
                ns_per_op: per,
                ops_per_sec: 1e9 / per,
                per_thread_ns_per_op: vec![per],
                per_thread_ops: vec![(iters * elements) as u64],
                http: None,
            }
        })
        .collect::<Vec<Sample>>();
    let samples = if one_sample {
        // The pass as one sample: its median time per element, over the
        // pass's whole time and work.
        let per = median(&samples.iter().map(|s| s.ns_per_op).collect::<Vec<_>>());
        let wall: u64 = samples.iter().map(|s| s.wall_ns).sum();
        let ops: u64 = samples.iter().map(|s| s.total_ops).sum();
        vec![Sample {
            rep: 0,
            wall_ns: wall,
            total_ops: ops,
            ns_per_op: per,
            ops_per_sec: 1e9 / per,
            per_thread_ns_per_op: vec![per],
            per_thread_ops: vec![ops],
            http: None,
        }]
    } else {
        samples
    };
    let cell = Cell {
        store: name.clone(),
        threads: 1,
        ops_per_thread: elements as u64,
        samples,
        bytes_per_op: 0.0,
        allocs_per_op: 0.0,
        alloc_ops: 0,
        latency: Vec::new(),
        latency_every: 0,
        misses: 0,
        too_short: false,
    };
    let info = StoreInfo {
        name,
        about: "criterion micro-benchmark".into(),
        family: Family::Micro,
        heap_bytes_per_task: None,
        memory: None,
        shard_imbalance: None,
        walk_ns: None,
    };
    Ok((cell, info))
}

/// Turns criterion's saved samples (`target/criterion/GROUP/BENCH/new/sample.json`)
/// into a run file: one cell per benchmark, one sample per criterion
/// sample, ns per element (each iteration processes `elements`).
pub fn import_criterion(
    group_dir: &Path,
    elements: f64,
    one_sample: bool,
) -> Result<RunFile, DecisionsError> {
    let mut cells = Vec::new();
    let mut stores = Vec::new();
    let entries = std::fs::read_dir(group_dir).map_err(|source| DecisionsError::Read {
        path: group_dir.to_owned(),
        source,
    })?;
    let mut names: Vec<String> = entries
        .flatten()
        .filter(|e| e.path().join("new/sample.json").exists())
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .collect();
    names.sort();
    if names.is_empty() {
        return Err(DecisionsError::NoCriterionSamples {
            dir: group_dir.to_owned(),
        });
    }
    for name in names {
        let (cell, info) = criterion_cell(group_dir, name, elements, one_sample)?;
        cells.push(cell);
        stores.push(info);
    }
    Ok(RunFile {
        schema: SCHEMA.into(),
        machine: Machine::current(),
        preset: Some(
            if one_sample {
                CRITERION_ROUND
            } else {
                "criterion"
            }
            .into(),
        ),
        workload: workload::Workload {
            capacity: None,
            keys: 0,
            dist: workload::KeyDist::Uniform,
            hot_keys: workload::HotKeys::Scrambled,
            mix: workload::Mix::SEED,
            seed: 0,
            stream_len: 0,
        },
        read_mode: ReadMode::Clone,
        zipf_s: None,
        hot20_share: 0.0,
        reps: cells.first().map_or(0, |c| c.samples.len()),
        rep_seconds: None,
        warmup_pct: 0,
        // scripts/micro shuffles the benchmarks' order in every round.
        order: if one_sample { "shuffled" } else { "fixed" }.into(),
        timer_cost_ns: 0.0,
        cells,
        stores,
    })
}
