//! "On many cores" (issue 21): every machine's results side by side.
//!
//! `results/` holds the lab's own machine (the 2-core VM the CI runs on);
//! each `results/<machine>/` holds another machine's files, named by the
//! machine record's short name (`xeon-16c`). These sections read every
//! machine that has the file a table needs, and name the machine and the
//! thread count on every figure, since a figure that depends on the thread
//! count says nothing about another machine.
//!
//! - `many-cores-machines`: what each machine is.
//! - `many-cores-leaders`: who leads each preset at each thread count, and
//!   how far the leader is from the multi-thread floor (`floor`) where the
//!   run measured it; descriptive 95% intervals.
//! - `many-cores-scaling`: each store's speed-up over its own 1-thread cell,
//!   round by round (both cells of a pair ran in the same round), and the
//!   Universal Scalability Law fitted where a run has 4 thread counts or more.
//! - `many-cores-verdicts`: claims judged on every machine at its most
//!   threads, in the document's family of comparisons.
//! - `many-cores-log`: the log's 14-core figures against 16 threads.

use std::fmt::Write as _;
use std::path::PathBuf;

use storelab_render::table::human;
use storelab_results::{Cell, Metric, RunFile};
use storelab_stats::median;
use storelab_stats::{UslFit, UslInput, fit_usl_store};

use super::DecisionsError;
use super::rules::{self, Outcome};
use super::workloads::{lead, ranking};
use super::{Results, describe, versus};

/// The presets the scaling study runs, by file name, with their labels.
pub(crate) const PRESETS: &[(&str, &str)] = &[
    ("seed.json", "seed"),
    ("hot-visit.json", "hot reads (visit)"),
    ("ycsb-a.json", "ycsb-a"),
    ("write-heavy.json", "write-heavy"),
    ("cmb-read-heavy.json", "cmb-read-heavy"),
];

/// One machine's folder: its short name and where its files are, relative
/// to the results folder ("" for the lab's own machine).
pub(crate) struct MachineDir {
    pub name: String,
    pub rel: PathBuf,
}

/// Every machine with results: the lab's own first, then each subfolder
/// that holds run files, by name.
pub(crate) fn machines(r: &mut Results) -> Result<Vec<MachineDir>, DecisionsError> {
    let home = r.get("seed.json")?.machine.name();
    let mut out = vec![MachineDir {
        name: home,
        rel: PathBuf::new(),
    }];
    let mut subs: Vec<PathBuf> = std::fs::read_dir(&r.dir)
        .map_err(|source| DecisionsError::Read {
            path: r.dir.clone(),
            source,
        })?
        .filter_map(|d| d.ok().map(|d| d.path()))
        .filter(|p| p.is_dir() && p.join("seed.json").exists())
        .collect();
    subs.sort();
    for dir in subs {
        let rel = PathBuf::from(dir.file_name().unwrap_or_default());
        let name = r.get_rel(&rel.join("seed.json"))?.machine.name();
        if name != rel.to_string_lossy() {
            return Err(DecisionsError::MisplacedMachine {
                dir: rel,
                found: name,
            });
        }
        out.push(MachineDir { name, rel });
    }
    Ok(out)
}

/// The runs of `file` on every machine that has it: (machine, run).
fn runs_of(r: &mut Results, file: &str) -> Result<Vec<(String, RunFile)>, DecisionsError> {
    let mut out = Vec::new();
    for m in machines(r)? {
        let path = m.rel.join(file);
        if r.dir.join(&path).exists() {
            out.push((m.name, r.get_rel(&path)?.clone()));
        }
    }
    Ok(out)
}

fn median_ns(cell: &Cell) -> f64 {
    median(&Metric::NsPerOp.values(cell))
}

fn interval(lo_hi: Option<(f64, f64)>, median: f64) -> String {
    match lo_hi {
        Some((lo, hi)) => format!("{median:.2}x ({lo:.2}-{hi:.2})"),
        None => format!("{median:.2}x (no interval)"),
    }
}

pub(crate) fn section_machines(r: &mut Results) -> Result<String, DecisionsError> {
    let mut s = String::from(
        "| machine | CPU | cores | threads per core | sockets | NUMA nodes | L2 | L3 | memory | hypervisor | files |\n\
         |---|---|---:|---:|---:|---:|---|---|---|---|---|\n",
    );
    for m in machines(r)? {
        let dir = r.dir.join(&m.rel);
        let mut files: Vec<String> = PRESETS
            .iter()
            .chain([("bulk.json", "bulk")].iter())
            .filter(|(f, _)| dir.join(f).exists())
            .map(|(f, _)| format!("`{}`", m.rel.join(f).display()))
            .collect();
        if m.rel.as_os_str().is_empty() {
            files.push("and every other file of `results/`".into());
        }
        let rec = r.get_rel(&m.rel.join("seed.json"))?.machine.clone();
        let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            m.name,
            rec.cpu_model,
            rec.cores,
            opt(rec.threads_per_core.map(|v| v.to_string())),
            opt(rec.sockets.map(|v| v.to_string())),
            opt(rec.numa_nodes.map(|v| v.to_string())),
            opt(rec.l2.clone()),
            opt(rec.l3.clone()),
            opt(rec
                .memory_bytes
                .map(|b| format!("{:.0} GiB", b as f64 / (1u64 << 30) as f64))),
            opt(rec.hypervisor.clone()),
            files.join(", ")
        );
    }
    s += "\nA `-` is a fact the file's machine record predates; the machine's \
          folder README states it.";
    Ok(s)
}

/// "3.1x the floor" for a cell against the floor at its thread count: the
/// `floor` store (one atomic pointer per id), or on one thread the
/// unsynchronized vector.
fn over_floor(file: &RunFile, cell: &Cell) -> String {
    let floor = file.cell("floor", cell.threads).or_else(|| {
        (cell.threads == 1)
            .then(|| file.cell("unsync-vec", 1))
            .flatten()
    });
    match floor {
        Some(f) => {
            let p = describe(f, cell);
            format!("{} ({})", interval(p.ci, p.median), f.store)
        }
        None => "-".into(),
    }
}

pub(crate) fn section_leaders(r: &mut Results) -> Result<String, DecisionsError> {
    let mut s = String::from(
        "| preset | machine, threads | leader | ns/op | over the floor (95%) | next | next over the leader (95%) | lead |\n\
         |---|---|---|---:|---|---|---|---|\n",
    );
    for (file, label) in PRESETS {
        for (machine, run) in runs_of(r, file)? {
            for t in run.thread_counts() {
                let Some(l) = lead(&run, t) else { continue };
                let verdict = match l.outcome {
                    Outcome::Holds => "clear",
                    Outcome::DoesNotHold => "none (the next is faster round by round)",
                    Outcome::Inconclusive => "a tie",
                    _ => "too few rounds",
                };
                let _ = writeln!(
                    s,
                    "| {label} | {machine}, {t} | `{}` | {} | {} | `{}` | {} | {verdict}{} |",
                    l.leader.store,
                    human(median_ns(l.leader)),
                    over_floor(&run, l.leader),
                    l.runner_up.store,
                    interval(l.ratio.ci, l.ratio.median),
                    if l.leader.unfair() || l.runner_up.unfair() {
                        ", unfair cell"
                    } else {
                        ""
                    }
                );
            }
        }
    }
    s += "\nLimits (`floor`, `unsync`, `unsync-vec`, `noop`) and cells too short for \
          their mix are never ranked. \"Over the floor\" is the leader's per-round ns/op \
          over the floor's: the multi-thread floor `floor` where the run measured it, the \
          single-thread `unsync-vec` at 1 thread otherwise. Intervals are descriptive \
          (95%, outside the family of verdicts); with 6 rounds a 95% interval is the whole \
          range of the rounds.";
    Ok(s)
}

/// Each store's speed-up over its own 1-thread cell at `t` threads, round
/// by round: the 1-thread ns/op over the t-thread ns/op of the same round.
fn speedup(file: &RunFile, store: &str, t: usize) -> Option<String> {
    let (one, many) = (file.cell(store, 1)?, file.cell(store, t)?);
    let p = describe(many, one);
    Some(interval(p.ci, p.median))
}

fn usl_columns(file: &RunFile, store: &str) -> String {
    let most = file.thread_counts().last().copied().unwrap_or(1);
    match fit_usl_store(file, store, UslInput::Medians) {
        Ok(UslFit {
            sigma,
            kappa,
            peak,
            r_squared_log,
            ..
        }) => {
            let peak = match peak {
                None => "none".into(),
                // Past the most threads measured, a peak is an extrapolation
                // (a small κ from noise on a straight line puts one at 100+).
                Some(p) if p > most as f64 => format!("beyond {most}"),
                Some(p) => format!("{p:.1}"),
            };
            format!("{sigma:.3} | {kappa:.4} | {peak} | {r_squared_log:.3}")
        }
        Err(_) => "- | - | - | -".into(),
    }
}

pub(crate) fn section_scaling(r: &mut Results) -> Result<String, DecisionsError> {
    let mut s = String::new();
    for (file, label) in PRESETS {
        let runs = runs_of(r, file)?;
        // Side by side only: a preset no machine ran at 3 thread counts or
        // more has its 2-thread speed-ups in its own section.
        if runs.iter().all(|(_, run)| run.thread_counts().len() < 3) {
            continue;
        }
        for (machine, run) in runs {
            let threads: Vec<usize> = run.thread_counts().into_iter().filter(|t| *t > 1).collect();
            if threads.is_empty() || run.thread_counts().first() != Some(&1) {
                continue;
            }
            let _ = writeln!(
                s,
                "\n**{label}, {machine}** (speed-up over 1 thread, 95%):\n"
            );
            s += "| store |";
            for t in &threads {
                let _ = write!(s, " {t} threads |");
            }
            s += " USL σ | USL κ | peak threads | R² |\n|---|";
            s += &"---:|".repeat(threads.len() + 4);
            s += "\n";
            for st in &run.stores {
                if run.cell(&st.name, 1).is_none()
                    || threads.iter().all(|t| run.cell(&st.name, *t).is_none())
                {
                    continue;
                }
                let _ = write!(s, "| `{}` |", st.name);
                for t in &threads {
                    let _ = write!(
                        s,
                        " {} |",
                        speedup(&run, &st.name, *t).unwrap_or_else(|| "-".into())
                    );
                }
                let _ = writeln!(s, " {} |", usl_columns(&run, &st.name));
            }
        }
    }
    s += "\nThe USL is X(N) = λN / (1 + σ(N-1) + κN(N-1)), fitted to the median \
          throughput at each thread count (`storelab_stats::scaling`, unit-tested on \
          curves of known σ and κ): σ is contention (a serial share), κ coherency \
          (a cost that grows with every pair of threads: a line bouncing between \
          cores); the peak is where throughput would turn down, √((1-σ)/κ). Fitted \
          only with 4 thread counts or more; R² is on log throughput. Plots: \
          `results/plots/scaling-<machine>-<preset>.svg`.";
    Ok(s)
}

/// A claim judged on each machine at its most threads: the label, the
/// file, the two stores (`fast` claimed faster than `slow`), the rule.
struct Claim {
    text: &'static str,
    file: &'static str,
    fast: Who,
    slow: Who,
    factor: f64,
}

#[derive(Clone, Copy)]
enum Who {
    Store(&'static str),
    /// The fastest rankable store other than the claim's other side.
    BestOther,
}

const CLAIMS: &[Claim] = &[
    Claim {
        text: "`dense` leads the seed workload (faster than every other store the run measured)",
        file: "seed.json",
        fast: Who::Store("dense"),
        slow: Who::BestOther,
        factor: 1.0,
    },
    Claim {
        text: "`rcu` leads hot reads (faster than every other store the run measured)",
        file: "hot-visit.json",
        fast: Who::Store("rcu"),
        slow: Who::BestOther,
        factor: 1.0,
    },
    Claim {
        text: "The log: sharding (`shard`) is faster than one RwLock (`memory`)",
        file: "seed.json",
        fast: Who::Store("shard"),
        slow: Who::Store("memory"),
        factor: 1.0,
    },
    Claim {
        text: "The log: sharding is 15.2x faster than one RwLock (at least 15.2x; the log's figure is reads alone, judged here on the seed 80/20 mix)",
        file: "seed.json",
        fast: Who::Store("shard"),
        slow: Who::Store("memory"),
        factor: 15.2,
    },
    Claim {
        text: "The log: ShardUnit (`shardunit`) is faster than whole stores as shards (`shard`)",
        file: "seed.json",
        fast: Who::Store("shardunit"),
        slow: Who::Store("shard"),
        factor: 1.0,
    },
    Claim {
        text: "A concurrent map (`dashmap`) is faster than one RwLock (`memory`)",
        file: "seed.json",
        fast: Who::Store("dashmap"),
        slow: Who::Store("memory"),
        factor: 1.0,
    },
];

fn pick<'a>(run: &'a RunFile, t: usize, who: Who, other: &str) -> Option<&'a Cell> {
    match who {
        Who::Store(name) => run.cell(name, t),
        Who::BestOther => ranking(run, t).into_iter().find(|c| c.store != other),
    }
}

fn other_name(who: Who) -> &'static str {
    match who {
        Who::Store(n) => n,
        Who::BestOther => "",
    }
}

pub(crate) fn section_verdicts(r: &mut Results) -> Result<String, DecisionsError> {
    let mut s = String::from(
        "| claim | machine, threads | ratio slow/fast (family-wise) | verdict | descriptive 95% |\n|---|---|---|---|---|\n",
    );
    for c in CLAIMS {
        for (machine, run) in runs_of(r, c.file)? {
            let Some(&t) = run.thread_counts().last() else {
                continue;
            };
            let fast = pick(&run, t, c.fast, other_name(c.slow));
            let slow = pick(&run, t, c.slow, other_name(c.fast));
            let (Some(fast), Some(slow)) = (fast, slow) else {
                let _ = writeln!(
                    s,
                    "| {} | {machine}, {t} | - | **untestable here** (a store was not run) |",
                    c.text
                );
                continue;
            };
            let v = versus(fast, slow);
            let outcome = rules::at_least(&v.paired, c.factor);
            let d = describe(fast, slow);
            let _ = writeln!(
                s,
                "| {} | {machine}, {t} | `{}` over `{}`: {} at {:.2}%, {} rounds | {}{} | {} |",
                c.text,
                slow.store,
                fast.store,
                interval(v.paired.ci, v.paired.median),
                v.paired.confidence * 100.0,
                v.paired.n,
                outcome.label(),
                if v.unfair { ", unfair cell" } else { "" },
                interval(d.ci, d.median)
            );
        }
    }
    s += "\nEach row is `rules::at_least` on the per-round ratio at the document's \
          family-wise confidence, at the machine's most threads. A run of 6 rounds \
          cannot reach that confidence (its exact interval needs 12 or more), so its \
          rows are untestable whatever the medians say; the last column is the same \
          ratio's 95% interval, outside the family, to read as a lead, not a verdict \
          (`scripts/scale` runs 12 rounds so that the next many-core run can judge).";
    Ok(s)
}

pub(crate) fn section_log(r: &mut Results) -> Result<String, DecisionsError> {
    let mut s = String::from(
        "| figure | the log (M4 Pro, 14 cores; 14 goroutines assumed) | per goroutine | here: machine, threads | ns/op | per thread (ns/op x threads) |\n\
         |---|---:|---:|---|---:|---:|\n",
    );
    for (store, log_ns, what) in [
        ("shard", 10.28, "ShardStore reads"),
        ("memory", 155.9, "MemoryStore reads"),
    ] {
        for (machine, run) in runs_of(r, "seed.json")? {
            let Some(&t) = run.thread_counts().last() else {
                continue;
            };
            let Some(cell) = run.cell(store, t) else {
                continue;
            };
            let ns = median_ns(cell);
            let _ = writeln!(
                s,
                "| {what} (`{store}`, seed 80/20) | {log_ns} | {:.0} | {machine}, {t} | {} | {:.0} |",
                log_ns * 14.0,
                human(ns),
                ns * t as f64
            );
        }
    }
    s += "\nGo's `RunParallel` ns/op is wall time over the operations of every goroutine: \
          with 14 goroutines on 14 cores, a store whose threads never wait on each other \
          reports its per-goroutine cost divided by 14. The per-thread column undoes that \
          division. The log measured reads alone; the seed workload here is 80% reads, 20% \
          updates, so this is a check of scale, not a replay.";
    s += &projection_check(r)?;
    Ok(s)
}

/// The 2-core section "hot-usl" projected each store's 16-thread speed-up
/// on hot reads from its 2-thread one (an upper bound, coherency taken as
/// 0). A 16-thread run tests the bound: at or below it holds when the whole
/// descriptive interval of the measured speed-up lies at or under it.
fn projection_check(r: &mut Results) -> Result<String, DecisionsError> {
    let home = r.get("hot-visit.json")?.clone();
    let mut s = String::from(
        "\n\nThe 2-core projections of hot-read scaling (section *Hot keys*: an upper \
         bound from the 2-thread speed-up, coherency taken as 0), against 16 threads:\n\n\
         | store | 2-core speed-up at 2 threads | projected at 16 (upper bound) | machine: measured at 16 (95%) | at or below the bound (descriptive, 95%) |\n\
         |---|---:|---:|---|---|\n",
    );
    let mut any = false;
    for (machine, run) in runs_of(r, "hot-visit.json")? {
        if !run.thread_counts().contains(&16) {
            continue;
        }
        for st in &home.stores {
            let (Some(two), Some(one)) = (home.cell(&st.name, 2), home.cell(&st.name, 1)) else {
                continue;
            };
            let (Some(m16), Some(m1)) = (run.cell(&st.name, 16), run.cell(&st.name, 1)) else {
                continue;
            };
            any = true;
            let speedup2 = describe(two, one).median;
            let (_, bound) = super::hot::usl_amdahl(speedup2);
            let measured = describe(m16, m1);
            let outcome = rules::at_most(&measured, bound);
            let _ = writeln!(
                s,
                "| `{}` | {speedup2:.2}x | {bound:.1}x | {machine}: {} | {} |",
                st.name,
                interval(measured.ci, measured.median),
                outcome.label()
            );
        }
    }
    if !any {
        s += "| (no many-core run of hot reads at 16 threads) | | | | |\n";
    }
    Ok(s)
}

/// Whether any many-core run measured get_all with the pool pinned and
/// unpinned: the only data that can judge the log's CPU-affinity claims.
pub(crate) fn section_affinity(r: &mut Results) -> Result<String, DecisionsError> {
    let mut s = String::new();
    let mut judged = false;
    for (machine, run) in runs_of(r, "bulk.json")? {
        let Some(&t) = run.thread_counts().last() else {
            continue;
        };
        if t < 8 {
            continue;
        }
        let (Some(pinned), Some(free)) = (
            run.cell("shard-pool", t),
            run.cell("shard-pool-unpinned", t),
        ) else {
            continue;
        };
        judged = true;
        let v = versus(pinned, free);
        let _ = writeln!(
            s,
            "- {machine}, {t} threads: pinned `shard-pool` over unpinned, per get_all: {} at {:.2}%, {} rounds: \"pinning makes the pool faster\" {}",
            interval(v.paired.ci, v.paired.median),
            v.paired.confidence * 100.0,
            v.paired.n,
            rules::faster(&v.paired).label()
        );
    }
    if !judged {
        s += "- The log's CPU-affinity claims (per-core pools, a shard always walked by the \
              same core): **untestable here**: no many-core run yet measured get_all with \
              the pool's workers pinned and unpinned (`scripts/scale` does, as \
              `results/<machine>/bulk.json`).";
    }
    Ok(s)
}

/// Both fairness figures of a sample, and how much of the window its
/// shortest-running thread was busy: (slowest over fastest, slowest over the
/// median of the others, shortest thread's elapsed over wall).
fn fairness_figures(s: &storelab_results::Sample) -> Option<(f64, f64, f64)> {
    let ns = &s.per_thread_ns_per_op;
    let fastest = ns.iter().copied().fold(f64::INFINITY, f64::min);
    let slowest = ns.iter().copied().fold(0.0, f64::max);
    let busy = ns
        .iter()
        .zip(&s.per_thread_ops)
        .map(|(n, o)| n * *o as f64)
        .fold(f64::INFINITY, f64::min);
    let old = fastest / slowest;
    let new = s.fairness()?;
    Some((old, new, busy / s.wall_ns.max(1) as f64))
}

pub(crate) fn section_fairness(r: &mut Results) -> Result<String, DecisionsError> {
    let mut s = String::from(
        "| machine, threads | store | slowest over fastest (before) | slowest over the median of the others (now) | shortest thread busy (of the wall time) | unfair now |\n\
         |---|---|---:|---:|---:|---|\n",
    );
    for (machine, run) in runs_of(r, "seed.json")? {
        let most = run.thread_counts().last().copied().unwrap_or(1);
        // The machine's most threads, and 8 where it has more.
        for t in run
            .thread_counts()
            .into_iter()
            .filter(|t| *t == most || (*t == 8 && most > 8))
        {
            for cell in run.cells.iter().filter(|c| c.threads == t) {
                let figs: Vec<(f64, f64, f64)> =
                    cell.samples.iter().filter_map(fairness_figures).collect();
                if figs.is_empty() {
                    continue;
                }
                let med = |f: fn(&(f64, f64, f64)) -> f64| {
                    median(&figs.iter().map(f).collect::<Vec<_>>())
                };
                let _ = writeln!(
                    s,
                    "| {machine}, {t} | `{}` | {:.2} | {:.2} | {:.1}% | {} |",
                    cell.store,
                    med(|x| x.0),
                    med(|x| x.1),
                    med(|x| x.2) * 100.0,
                    if cell.unfair() { "**unfair**" } else { "" }
                );
            }
        }
    }
    s += "\nMedians over the rounds of each cell, from the seed runs, at each machine's \
          most threads (and at 8 on a machine with more). A thread's busy \
          time is its operations times its own ns/op; a late start or an early stop \
          would show as a shortest thread busy for much less than the wall time.";
    Ok(s)
}

/// The floor against the fastest stores on the seed workload
/// (`seed-floor.json`): where the floor is not the fastest, and why.
pub(crate) fn section_floor(r: &mut Results) -> Result<String, DecisionsError> {
    let file = r.get("seed-floor.json")?.clone();
    let mut s = String::from(
        "| machine, threads | `floor` ns/op | fastest store | its ns/op | floor over it (95%) | read p50: floor, fastest | update p99: floor, fastest |\n\
         |---|---:|---|---:|---|---|---|\n",
    );
    let machine = file.machine.name();
    let p = |c: &Cell, op: &str, f: fn(&storelab_results::Latency) -> u64| {
        c.latency
            .iter()
            .find(|l| l.op == op)
            .map_or("-".into(), |l| {
                storelab_render::table::duration_ns(f(l) as f64)
            })
    };
    for t in file.thread_counts() {
        let (Some(floor), Some(best)) = (file.cell("floor", t), ranking(&file, t).first().copied())
        else {
            continue;
        };
        let ratio = describe(best, floor);
        let _ = writeln!(
            s,
            "| {machine}, {t} | {} | `{}` | {} | {} | {}, {} | {}, {} |",
            human(median_ns(floor)),
            best.store,
            human(median_ns(best)),
            interval(ratio.ci, ratio.median),
            p(floor, "read", |l| l.p50),
            p(best, "read", |l| l.p50),
            p(floor, "update", |l| l.p99),
            p(best, "update", |l| l.p99),
        );
    }
    s += "\nA ratio above 1 is the floor slower than the fastest store. The latency \
          columns come from each cell's single untimed pass (shapes, not comparisons).";
    Ok(s)
}
