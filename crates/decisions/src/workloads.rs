//! The sections on the field's workloads (issue 12): YCSB, conc-map-bench,
//! the lab's write-heavy mix over a live key space, growth from empty, and
//! the memory phase. Each is descriptive: per preset and thread count, who
//! leads and by how much, with 95% per-round intervals outside the
//! document's family of tested comparisons; who "leads clearly" is the rule
//! [`rules::faster`] on the runner-up's ratio.

use std::fmt::Write as _;

use storelab_load::sweep::Sweep;
use storelab_render::table::{duration_ns, human};
use storelab_results::{Cell, Family, Metric, RunFile};
use storelab_stats::median;
use storelab_stats::paired::PairedRatio;

use super::DecisionsError;
use super::rules::{self, Outcome};
use super::{Results, command, describe, read_json};

/// A cell that may be ranked: a store that is not a limit, with a
/// repetition long enough to hold its mix's rarest operation.
fn rankable(file: &RunFile, cell: &Cell) -> bool {
    !cell.too_short
        && file
            .store(&cell.store)
            .is_some_and(|s| s.family != Family::Limit)
}

fn median_ns(cell: &Cell) -> f64 {
    median(&Metric::NsPerOp.values(cell))
}

/// Who leads a (preset, threads) column: the rankable cells by median
/// ns/op, fastest first.
pub(crate) fn ranking(file: &RunFile, threads: usize) -> Vec<&Cell> {
    let mut cells: Vec<&Cell> = file
        .cells
        .iter()
        .filter(|c| c.threads == threads && rankable(file, c))
        .collect();
    cells.sort_by(|a, b| median_ns(a).total_cmp(&median_ns(b)));
    cells
}

/// The leader's margin: the runner-up's per-round ratio over the leader
/// (above 1: the leader is faster), at 95%.
pub(crate) struct Lead<'a> {
    pub leader: &'a Cell,
    pub runner_up: &'a Cell,
    pub ratio: PairedRatio,
    pub outcome: Outcome,
}

pub(crate) fn lead(file: &RunFile, threads: usize) -> Option<Lead<'_>> {
    let ranked = ranking(file, threads);
    let (leader, runner_up) = (*ranked.first()?, *ranked.get(1)?);
    let ratio = describe(leader, runner_up);
    let outcome = rules::faster(&ratio);
    Some(Lead {
        leader,
        runner_up,
        ratio,
        outcome,
    })
}

fn interval(p: &PairedRatio) -> String {
    match p.ci {
        Some((lo, hi)) => format!("{:.2}x ({lo:.2}-{hi:.2})", p.median),
        None => format!("{:.2}x (no interval: {} rounds)", p.median, p.n),
    }
}

/// "`dense` leads; `dashmap` next, 1.35x (1.30-1.41) as slow: a clear lead".
pub(crate) fn lead_sentence(file: &RunFile, threads: usize) -> String {
    let Some(l) = lead(file, threads) else {
        return "fewer than two stores can be ranked".into();
    };
    let peer = |c: &Cell| {
        file.store(&c.store)
            .is_some_and(|s| s.family == Family::Peer)
    };
    let who = |c: &Cell| {
        if peer(c) {
            format!("`{}` (a peer)", c.store)
        } else {
            format!("`{}`", c.store)
        }
    };
    let verdict = match l.outcome {
        Outcome::Holds => "a clear lead",
        Outcome::DoesNotHold => "the runner-up is faster round by round: no clear leader",
        Outcome::Inconclusive => "within noise: a tie",
        _ => "too few rounds to tell",
    };
    let unfair = if l.leader.unfair() || l.runner_up.unfair() {
        " [an unfair cell: see the fair column]"
    } else {
        ""
    };
    format!(
        "{} leads at {} ns/op; next {}, per-round ratio over the leader {}: {verdict}{unfair}",
        who(l.leader),
        human(median_ns(l.leader)),
        who(l.runner_up),
        interval(&l.ratio)
    )
}

/// The table of one family: ns/op per store, and each cell over the
/// column's leader, for every (preset, threads) column.
fn family_table(files: &[(&str, RunFile)]) -> String {
    let mut columns = Vec::new();
    for (label, file) in files {
        for t in file.thread_counts() {
            columns.push((*label, file, t));
        }
    }
    let mut s = String::from("| store |");
    for (label, _, t) in &columns {
        let _ = write!(s, " {label}, {t} thr |");
    }
    s += "\n|---|";
    s += &"---:|".repeat(columns.len());
    s += "\n";
    let mut names: Vec<&str> = Vec::new();
    for (_, file) in files {
        for st in &file.stores {
            if !names.contains(&st.name.as_str()) {
                names.push(&st.name);
            }
        }
    }
    for name in names {
        let _ = write!(s, "| {name} |");
        for (_, file, t) in &columns {
            let text = match file.cell(name, *t) {
                None => "-".to_owned(),
                Some(c) => {
                    let ns = human(median_ns(c));
                    let leader = ranking(file, *t).first().map(|l| median_ns(l));
                    let mark = if c.unfair() { " †" } else { "" };
                    if c.too_short {
                        format!("{ns} (too short)")
                    } else if !rankable(file, c) {
                        format!("{ns} (limit)")
                    } else {
                        match leader {
                            Some(l) => format!("{ns} ({:.2}x){mark}", median_ns(c) / l),
                            None => format!("{ns}{mark}"),
                        }
                    }
                }
            };
            let _ = write!(s, " {text} |");
        }
        s += "\n";
    }
    s += "\nMedian ns/op over 10 interleaved repetitions (for an even count, the mean of the \
          middle two), and in brackets over the column's fastest store (limits not ranked); † marks an unfair cell (a thread starved: the \
          slowest thread's throughput under 0.6 of the fastest's).\n";
    s
}

/// A family section: the table, who leads each column, how to reproduce.
fn family(files: &[(&str, RunFile)]) -> String {
    let mut s = family_table(files);
    s += "\nWho leads, per column (the runner-up's per-round ratio over the leader, with its 95% \
          interval; descriptive, outside the family of tested comparisons; \"a clear lead\" when \
          the whole interval lies above 1):\n\n";
    for (label, file) in files {
        for t in file.thread_counts() {
            let _ = writeln!(
                s,
                "- **{label}**, {}: {}",
                super::on_home(t),
                lead_sentence(file, t)
            );
        }
    }
    let missed: Vec<String> = files
        .iter()
        .flat_map(|(label, f)| {
            f.cells
                .iter()
                .filter(|c| c.misses > 0 && rankable(f, c))
                .map(move |c| {
                    format!(
                        "{label} `{}` x{}: {:.1}{}",
                        c.store,
                        c.threads,
                        miss_rate(c),
                        if c.unfair() { " †" } else { "" }
                    )
                })
        })
        .collect();
    if files.iter().any(|(_, f)| f.workload.mix.live()) {
        s += "\nMisses per million operations (live key space), cells that had any: ";
        s += &if missed.is_empty() {
            "none".to_owned()
        } else {
            missed.join(", ")
        };
        s += ".\n";
    }
    s += "\nReproduce: ";
    s += &commands(files);
    s += " (all of them: `scripts/workloads`).";
    s
}

fn load(
    r: &mut Results,
    names: &[(&'static str, &'static str)],
) -> Result<Vec<(&'static str, RunFile)>, DecisionsError> {
    names
        .iter()
        .map(|(label, file)| Ok((*label, r.get(file)?.clone())))
        .collect()
}

pub(crate) fn section_ycsb(r: &mut Results) -> Result<String, DecisionsError> {
    let files = load(
        r,
        &[
            ("A", "ycsb-a.json"),
            ("B", "ycsb-b.json"),
            ("C", "ycsb-c.json"),
            ("D", "ycsb-d.json"),
            ("F", "ycsb-f.json"),
        ],
    )?;
    Ok(family(&files))
}

pub(crate) fn section_cmb(r: &mut Results) -> Result<String, DecisionsError> {
    let files = load(
        r,
        &[
            ("ReadHeavy", "cmb-read-heavy.json"),
            ("Exchange", "cmb-exchange.json"),
            ("RapidGrow", "cmb-rapid-grow.json"),
        ],
    )?;
    Ok(family(&files))
}

/// The write-heavy mix over the live key space: the family table, and the
/// misses each cell saw (per million operations).
pub(crate) fn section_write_heavy(r: &mut Results) -> Result<String, DecisionsError> {
    let files = load(r, &[("write-heavy", "write-heavy.json")])?;
    let file = &files[0].1;
    let mut s = family(&files);
    s += "\n\nMisses (keyed operations that found no task), per million operations of the timed \
          repetitions:\n\n| store | 1 thr | 2 thr |\n|---|---:|---:|\n";
    for st in &file.stores {
        if st.family == Family::Limit {
            continue;
        }
        let rate = |t: usize| {
            file.cell(&st.name, t).map_or("-".into(), |c| {
                format!("{} ({:.2})", c.misses, miss_rate(c))
            })
        };
        let _ = writeln!(s, "| {} | {} | {} |", st.name, rate(1), rate(2));
    }
    let fair: Vec<&Cell> = file
        .cells
        .iter()
        .filter(|c| rankable(file, c) && !c.unfair())
        .collect();
    let worst = |cells: &mut dyn Iterator<Item = &Cell>| cells.map(miss_rate).fold(0.0, f64::max);
    let unfair = worst(
        &mut file
            .cells
            .iter()
            .filter(|c| rankable(file, c) && c.unfair()),
    );
    let near_zero = fair
        .iter()
        .all(|c| rules::misses_near_zero(c.misses, ops(c)));
    let _ = write!(
        s,
        "\nThe worst fair cell misses {:.2} keyed operations per million ({}; the rule: in every \
         fair cell the one-sided 95% upper bound of the miss rate, a Poisson count, is at most \
         {} per million). Cells where a thread starved (†) may miss more (here up to \
         {unfair:.2} per million): a stalled thread resumes with a view of the other lanes' \
         deletes from before its stall, and reads tasks deleted meanwhile.",
        worst(&mut fair.iter().copied()),
        if near_zero {
            "**near zero**: a miss is a read racing a delete"
        } else {
            "**not near zero**: the live key space is not doing its job"
        },
        rules::NEAR_ZERO_MISSES_PER_MILLION
    );
    Ok(s)
}

/// Operations of a cell's timed repetitions.
fn ops(c: &Cell) -> u64 {
    c.samples.iter().map(|x| x.total_ops).sum()
}

/// Misses per million operations of a cell's timed repetitions.
fn miss_rate(c: &Cell) -> f64 {
    c.misses as f64 * 1e6 / ops(c).max(1) as f64
}

/// The commands that reproduce `files`, joined.
fn commands(files: &[(&str, RunFile)]) -> String {
    files
        .iter()
        .map(|(_, f)| command(f))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Latency of one operation kind in a cell, or "-".
fn lat(cell: &Cell, op: &str, q: impl Fn(&storelab_results::Latency) -> u64) -> String {
    cell.latency
        .iter()
        .find(|l| l.op == op)
        .map_or("-".into(), |l| duration_ns(q(l) as f64))
}

/// Growth from empty: ns/op per create, the create latency tail (every
/// create timed, in one untimed pass on a fresh store), and the memory
/// phase's heap per task and peak.
pub(crate) fn section_growth(r: &mut Results) -> Result<String, DecisionsError> {
    let file = r.get("growth.json")?.clone();
    let mut s = String::from(
        "| store | thr | ns/create | over the fastest | create p50 | p99 | p99.9 | max | heap B/task, grown | peak B/task |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for t in file.thread_counts() {
        let leader = ranking(&file, t).first().map(|c| median_ns(c));
        for c in file.cells.iter().filter(|c| c.threads == t) {
            let st = file.store(&c.store);
            let over = match (leader, rankable(&file, c)) {
                (Some(l), true) => format!("{:.2}x", median_ns(c) / l),
                _ if c.too_short => "(too short)".into(),
                _ => "(limit)".into(),
            };
            let mem = st.and_then(|s| s.memory.as_ref());
            let _ = writeln!(
                s,
                "| {} | {t} | {} | {over} | {} | {} | {} | {} | {} | {} |",
                c.store,
                human(median_ns(c)),
                lat(c, "create", |l| l.p50),
                lat(c, "create", |l| l.p99),
                lat(c, "create", |l| l.p999),
                lat(c, "create", |l| l.max),
                mem.map_or("-".into(), |m| format!("{:.0}", m.after_prefill)),
                mem.map_or("-".into(), |m| format!("{:.0}", m.peak)),
            );
        }
    }
    s += "\nWho leads (as above):\n\n";
    for t in file.thread_counts() {
        let _ = writeln!(s, "- {}: {}", super::on_home(t), lead_sentence(&file, t));
    }
    let _ = write!(
        s,
        "\nEach repetition builds a store with no size hint and creates {} tasks, split over the \
         threads; latency times every create of one more such life per cell (not replicated: \
         shapes, not comparisons; each figure includes ~{:.0} ns of clock reads). Heap: the \
         memory phase grows one more store to that size on one thread; the peak is the exact \
         high-water mark of that thread's allocations (a resize holds the old and the new table \
         at once). Reproduce: {}.",
        human(
            file.cells
                .first()
                .map_or(0.0, |c| (c.ops_per_thread * c.threads as u64) as f64)
        ),
        file.timer_cost_ns,
        command(&file)
    );
    Ok(s)
}

/// The memory phase of the live-key runs: heap per live task after the
/// prefill, after churning as many tasks again, what stays held after the
/// deletes stop, and the peak.
pub(crate) fn section_memory(r: &mut Results) -> Result<String, DecisionsError> {
    let files = load(
        r,
        &[
            ("write-heavy", "write-heavy.json"),
            ("Exchange", "cmb-exchange.json"),
        ],
    )?;
    let mut s = String::from(
        "| run | store | tasks | B/task after prefill | after churn | churn grew it by | held 10 ms later | 100 ms | 1 s | peak |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for (label, file) in &files {
        for st in &file.stores {
            let Some(m) = &st.memory else { continue };
            let held = |ms: u64| {
                m.held_after
                    .iter()
                    .find(|(at, _)| *at == ms)
                    .map_or("-".into(), |(_, b)| format!("{:+.1}", b - m.after_churn))
            };
            let _ = writeln!(
                s,
                "| {label} | {} | {} | {:.0} | {:.0} | {:+.1}% | {} | {} | {} | {:.0} |",
                st.name,
                human(m.tasks as f64),
                m.after_prefill,
                m.after_churn,
                (m.after_churn / m.after_prefill - 1.0) * 100.0,
                held(10),
                held(100),
                held(1000),
                m.peak,
            );
        }
    }
    s += "\nThe memory phase of each run (after its timed cells): a fresh store of the run's \
          capacity, prefilled on one thread, then churned on that thread (each step creates a \
          task like the prefill's and deletes the oldest, as many steps as tasks, so every \
          prefilled task is replaced and the live count stays the same), with the counting \
          allocator on throughout. \"Held\" is the heap per live task N ms after the last \
          delete minus the heap right after it, the churn thread alive and idle: what deferred \
          reclamation (papaya's and scc's epochs, rcu's) frees late shows as a negative figure, \
          and garbage that waits for the next operation as none. Reproduce: ";
    s += &commands(&files);
    s += ".";
    Ok(s)
}

/// `results/http-sweep.json`: every round's sweep of every store.
#[derive(serde::Deserialize)]
struct Sweeps {
    rounds: usize,
    sweeps: Vec<Sweep>,
}

impl Sweeps {
    /// The knee of each of `name`'s rounds (0 where a round had none).
    fn knees(&self, name: &str) -> Vec<f64> {
        self.sweeps
            .iter()
            .filter(|s| s.store == name)
            .map(|s| s.knee.unwrap_or(0.0))
            .collect()
    }

    /// The stores, by median knee, highest first.
    fn by_knee(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for s in &self.sweeps {
            if !names.contains(&s.store.as_str()) {
                names.push(&s.store);
            }
        }
        names.sort_by(|a, b| median(&self.knees(b)).total_cmp(&median(&self.knees(a))));
        names
    }
}

/// The HTTP rate sweep (scripts/http-sweep): per store, the knee of each
/// round, and the latency at the last passing step, corrected (from each
/// request's due time) and uncorrected (from its send time).
pub(crate) fn section_http_sweep(r: &mut Results) -> Result<String, DecisionsError> {
    let all: Sweeps = read_json(&r.dir.join("http-sweep.json"))?;
    let first = all.sweeps.first().ok_or_else(|| DecisionsError::Missing {
        file: "http-sweep.json".into(),
        what: "sweep".into(),
    })?;
    let names = all.by_knee();
    let mut s = format!(
        "Open loop, {} connections, {} s per step, {}, rates from {:.0} req/s up by 25% per \
         step; a step passes with no errors, at least {:.0}% of its rate answered, and a p99 \
         from each request's due time under {}. The knee is the last passing rate before the \
         first failing one. {} rounds, each sweep on a fresh server.\n\n\
         | store | knee, median (req/s) | knees of the rounds | at the knee: p99 corrected | p99 uncorrected | first failing step: p99 corrected | p99 uncorrected | client lateness p99 |\n\
         |---|---:|---|---:|---:|---:|---:|---:|\n",
        first.connections,
        first.step_seconds,
        first.mix,
        first.steps.first().map_or(0.0, |st| st.rate),
        storelab_load::sweep::MIN_ACHIEVED * 100.0,
        duration_ns(first.target_p99_ns as f64),
        all.rounds,
    );
    for name in &names {
        sweep_row(&mut s, &all, name);
    }
    if let [top, second, ..] = names.as_slice() {
        sweep_lead(&mut s, &all, top, second);
    }
    s += "\n\nThe uncorrected columns are what a client that waits for each answer reports; the \
          corrected ones charge a request for the time it waited behind a stalled one, or \
          behind the load client itself: the last column is how late the client sent its \
          requests at the first failing step (medians over the rounds). \
          Reproduce: `scripts/http-sweep` (or one server: `storelab load --sweep --url URL \
          --duration 2s --connections 8`).";
    Ok(s)
}

/// One store's row of the sweep table: its knees, and the latencies at the
/// knee and at the first failing step (medians over the rounds).
fn sweep_row(s: &mut String, all: &Sweeps, name: &str) {
    let runs: Vec<&Sweep> = all.sweeps.iter().filter(|s| s.store == *name).collect();
    let k = all.knees(name);
    let at = |pick: &dyn Fn(&Sweep) -> Option<u64>| -> String {
        let v: Vec<f64> = runs
            .iter()
            .filter_map(|s| pick(s))
            .map(|n| n as f64)
            .collect();
        if v.is_empty() {
            "-".into()
        } else {
            duration_ns(median(&v))
        }
    };
    // The step the sweep named its knee: the last that passed with the
    // client keeping up (a passing step where the client was late is not
    // it), which in files written before lateness was judged is the last
    // passing step before the first failure.
    let knee_step = |s: &Sweep| {
        let knee = s.knee?;
        s.steps
            .iter()
            .find(|st| st.failed.is_none() && (st.rate - knee).abs() < 1e-9)
            .cloned()
    };
    let fail_step = |s: &Sweep| s.steps.iter().find(|st| st.failed.is_some()).cloned();
    let _ = writeln!(
        s,
        "| {name} | {:.0} | {} | {} | {} | {} | {} | {} |",
        median(&k),
        k.iter()
            .map(|v| format!("{v:.0}"))
            .collect::<Vec<_>>()
            .join(", "),
        at(&|s| knee_step(s).map(|st| st.corrected.p99)),
        at(&|s| knee_step(s).map(|st| st.uncorrected.p99)),
        at(&|s| fail_step(s).map(|st| st.corrected.p99)),
        at(&|s| fail_step(s).map(|st| st.uncorrected.p99)),
        at(&|s| fail_step(s).map(|st| st.lateness_p99_ns)),
    );
}

/// Whether the store with the highest median knee leads clearly: its
/// lowest round's knee above the runner-up's highest ([`rules::knee_apart`]).
fn sweep_lead(s: &mut String, all: &Sweeps, top: &str, second: &str) {
    let spread = |name: &str| {
        let k = all.knees(name);
        (
            k.iter().copied().fold(f64::INFINITY, f64::min),
            k.iter().copied().fold(0.0, f64::max),
        )
    };
    let ((top_lo, _), (_, second_hi)) = (spread(top), spread(second));
    let _ = write!(
        s,
        "\n`{top}` sustains the most ({:.0} req/s, median of the rounds); {}",
        median(&all.knees(top)),
        match rules::knee_apart(top_lo, second_hi) {
            true =>
                format!("its lowest round's knee is above `{second}`'s highest: **a clear lead**."),
            false => format!(
                "its rounds overlap `{second}`'s ({:.0} req/s): **within noise** (the ladder's \
                 steps are 25% apart, and client and server share two cores).",
                median(&all.knees(second))
            ),
        }
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use storelab_results::fixture;

    fn file(cells: Vec<Cell>, limit: &str) -> RunFile {
        let mut f = fixture::file(cells);
        for st in &mut f.stores {
            if st.name == limit {
                st.family = Family::Limit;
            }
        }
        f
    }

    #[test]
    fn the_leader_is_the_fastest_rankable_cell_and_a_steady_margin_is_clear() {
        let mut short = fixture::cell("short", &[10.0; 8]);
        short.too_short = true;
        let f = file(
            vec![
                fixture::cell("slow", &[150.0; 8]),
                fixture::cell("fast", &[100.0; 8]),
                fixture::cell("floor", &[50.0; 8]),
                short,
            ],
            "floor",
        );
        let ranked: Vec<&str> = ranking(&f, 1).iter().map(|c| c.store.as_str()).collect();
        assert_eq!(
            ranked,
            ["fast", "slow"],
            "limits and short cells are not ranked"
        );
        let l = lead(&f, 1).expect("two rankable cells");
        assert_eq!(
            (l.leader.store.as_str(), l.runner_up.store.as_str()),
            ("fast", "slow")
        );
        assert!((l.ratio.median - 1.5).abs() < 1e-9);
        assert_eq!(l.outcome, Outcome::Holds);
        assert!(
            lead_sentence(&f, 1).contains("a clear lead"),
            "{}",
            lead_sentence(&f, 1)
        );
        let table = family_table(&[("X", f)]);
        assert!(table.contains("| slow | 150 (1.50x) |"), "{table}");
        assert!(
            table.contains("(limit)") && table.contains("(too short)"),
            "{table}"
        );
    }

    #[test]
    fn a_margin_inside_the_noise_is_a_tie() {
        let f = file(
            vec![
                fixture::cell(
                    "a",
                    &[100.0, 110.0, 100.0, 110.0, 100.0, 110.0, 100.0, 110.0],
                ),
                fixture::cell(
                    "b",
                    &[105.0, 100.0, 105.0, 100.0, 105.0, 100.0, 105.0, 100.0],
                ),
            ],
            "",
        );
        let l = lead(&f, 1).expect("two cells");
        assert_eq!(l.outcome, Outcome::Inconclusive);
        assert!(lead_sentence(&f, 1).contains("a tie"));
        let alone = file(vec![fixture::cell("a", &[1.0; 8])], "");
        assert!(lead(&alone, 1).is_none());
        assert!(lead_sentence(&alone, 1).contains("fewer than two"));
    }
}
