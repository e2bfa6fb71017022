//! `storelab compare`: benchstat-grade comparisons of run files.
//!
//! Two files: for every (store, threads) row, the median of each side with
//! its 95% CI, the change in percent, and a two-sided Mann-Whitney U p-value;
//! `~` where the change is not significant at alpha; a geomean row.
//! One file and a baseline store: every store against the baseline and
//! against the best, with the same significance marking.

use std::fmt::Write as _;

use crate::results::{Metric, RunFile};
use crate::stats::{Significance, Summary, geomean, mann_whitney, summarize};
use crate::table::{Table, human};

/// Output format of a comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Md,
    Csv,
}

/// One compared row.
#[derive(Clone, Debug)]
pub struct Row {
    pub store: String,
    pub threads: usize,
    pub old: Summary,
    pub new: Summary,
    /// (new - old) / old, in percent.
    pub delta_pct: f64,
    pub significance: Significance,
}

impl Row {
    /// Whether the change is significant at `alpha`.
    pub fn significant(&self, alpha: f64) -> bool {
        matches!(self.significance, Significance::P(p) if p < alpha)
    }

    /// Whether this row got worse by more than `pct` percent, significantly.
    pub fn regressed(&self, metric: Metric, alpha: f64, pct: f64) -> bool {
        let worse = if metric.higher_is_better() {
            -self.delta_pct
        } else {
            self.delta_pct
        };
        self.significant(alpha) && worse > pct
    }
}

/// The result of comparing two files.
pub struct Comparison {
    pub metric: Metric,
    pub alpha: f64,
    pub rows: Vec<Row>,
    /// Rows present on one side only (when the caller allowed that).
    pub unmatched: Vec<String>,
}

fn key(file: &RunFile) -> Vec<(String, usize)> {
    let mut k: Vec<(String, usize)> = file
        .cells
        .iter()
        .map(|c| (c.store.clone(), c.threads))
        .collect();
    k.sort();
    k
}

/// Refuses to compare runs of different work: the table would mislead.
pub fn check_same_work(old: &RunFile, new: &RunFile) -> Result<(), String> {
    let (a, b) = (&old.workload, &new.workload);
    let mut diffs = Vec::new();
    if a.keys != b.keys {
        diffs.push(format!("keys {} vs {}", a.keys, b.keys));
    }
    if a.dist != b.dist {
        diffs.push(format!("distribution {} vs {}", a.dist, b.dist));
    }
    if a.hot_keys != b.hot_keys {
        diffs.push(format!("hot keys {} vs {}", a.hot_keys, b.hot_keys));
    }
    if a.mix != b.mix {
        diffs.push(format!("mix {} vs {}", a.mix, b.mix));
    }
    if old.read_mode != new.read_mode {
        diffs.push(format!(
            "read mode {:?} vs {:?}",
            old.read_mode, new.read_mode
        ));
    }
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the two runs measured different work ({}); compare runs of the same workload",
            diffs.join(", ")
        ))
    }
}

/// Compares two runs row by row.
pub fn compare(
    old: &RunFile,
    new: &RunFile,
    metric: Metric,
    alpha: f64,
    allow_missing: bool,
) -> Result<Comparison, String> {
    check_same_work(old, new)?;
    let (ka, kb) = (key(old), key(new));
    let unmatched: Vec<String> = ka
        .iter()
        .filter(|k| !kb.contains(k))
        .map(|(s, t)| format!("{s} x{t} only in the old run"))
        .chain(
            kb.iter()
                .filter(|k| !ka.contains(k))
                .map(|(s, t)| format!("{s} x{t} only in the new run")),
        )
        .collect();
    if !unmatched.is_empty() && !allow_missing {
        return Err(format!(
            "the runs cover different stores or thread counts ({}); pass --common to compare only what both have",
            unmatched.join("; ")
        ));
    }
    let rows: Vec<Row> = old
        .cells
        .iter()
        .filter_map(|a| new.cell(&a.store, a.threads).map(|b| (a, b)))
        .map(|(a, b)| {
            let (va, vb) = (metric.values(a), metric.values(b));
            let (sa, sb) = (summarize(&va, 0.95), summarize(&vb, 0.95));
            Row {
                store: a.store.clone(),
                threads: a.threads,
                old: sa,
                new: sb,
                delta_pct: (sb.median - sa.median) / sa.median * 100.0,
                significance: mann_whitney(&va, &vb, alpha),
            }
        })
        .collect();
    if rows.is_empty() {
        return Err("the two runs have no (store, threads) row in common".into());
    }
    Ok(Comparison {
        metric,
        alpha,
        rows,
        unmatched,
    })
}

fn with_ci(s: &Summary) -> String {
    match s.ci_half_width_pct() {
        Some(p) => format!("{} ± {p:.0}%", human(s.median)),
        None => format!("{} ± ∞", human(s.median)),
    }
}

fn verdict(sig: Significance, delta_pct: f64, alpha: f64, n: (usize, usize)) -> (String, String) {
    match sig {
        Significance::P(p) if p < alpha => (
            format!("{delta_pct:+.2}%"),
            format!("p={p:.3} n={}+{}", n.0, n.1),
        ),
        Significance::P(p) => ("~".into(), format!("p={p:.3} n={}+{}", n.0, n.1)),
        Significance::TooFew { need } => {
            ("~".into(), format!("too few samples: need {need}+{need}"))
        }
    }
}

impl Comparison {
    /// The comparison as a table, with a geomean row.
    pub fn table(&self, old_name: &str, new_name: &str) -> Table {
        let unit = self.metric.name();
        let mut t = Table::new(&[
            "store",
            "thr",
            &format!("{old_name} {unit}"),
            &format!("{new_name} {unit}"),
            "vs old",
            "p",
        ]);
        for r in &self.rows {
            let (delta, p) = verdict(r.significance, r.delta_pct, self.alpha, (r.old.n, r.new.n));
            t.row(vec![
                r.store.clone(),
                r.threads.to_string(),
                with_ci(&r.old),
                with_ci(&r.new),
                delta,
                p,
            ]);
        }
        let olds: Vec<f64> = self.rows.iter().map(|r| r.old.median).collect();
        let news: Vec<f64> = self.rows.iter().map(|r| r.new.median).collect();
        if let (Some(a), Some(b)) = (geomean(&olds), geomean(&news)) {
            t.row(vec![
                "geomean".into(),
                String::new(),
                human(a),
                human(b),
                format!("{:+.2}%", (b - a) / a * 100.0),
                String::new(),
            ]);
        }
        t
    }

    /// Rows that regressed by more than `pct` percent, significantly.
    pub fn regressions(&self, pct: f64) -> Vec<&Row> {
        self.rows
            .iter()
            .filter(|r| r.regressed(self.metric, self.alpha, pct))
            .collect()
    }
}

/// Every store of one run against `baseline` and against the best store, at
/// each thread count.
pub fn against_baseline(
    file: &RunFile,
    baseline: &str,
    metric: Metric,
    alpha: f64,
) -> Result<Table, String> {
    if file.store(baseline).is_none() {
        let known: Vec<&str> = file.stores.iter().map(|s| s.name.as_str()).collect();
        return Err(format!(
            "baseline '{baseline}' is not in this run; it has: {}",
            known.join(", ")
        ));
    }
    let limits = file.limits();
    let threads = file.thread_counts();
    let unit = metric.name();
    let mut t = Table::new(&[
        "store",
        "thr",
        unit,
        &format!("vs {baseline}"),
        "p",
        "vs best",
    ]);
    let better = |a: f64, b: f64| {
        if metric.higher_is_better() {
            a > b
        } else {
            a < b
        }
    };
    for th in threads {
        let Some(base) = file.cell(baseline, th) else {
            continue;
        };
        let base_values = metric.values(base);
        let base_median = summarize(&base_values, 0.95).median;
        let best = file
            .cells
            .iter()
            .filter(|c| c.threads == th && !limits.contains(&c.store.as_str()))
            .map(|c| (c.store.as_str(), summarize(&metric.values(c), 0.95).median))
            .fold(None::<(&str, f64)>, |acc, x| match acc {
                Some(a) if !better(x.1, a.1) => Some(a),
                _ => Some(x),
            });
        for cell in file.cells.iter().filter(|c| c.threads == th) {
            let values = metric.values(cell);
            let s = summarize(&values, 0.95);
            let ratio = s.median / base_median;
            let (mark, p) = if cell.store == baseline {
                ("baseline".to_owned(), String::new())
            } else {
                let sig = mann_whitney(&base_values, &values, alpha);
                let (d, p) = verdict(
                    sig,
                    (ratio - 1.0) * 100.0,
                    alpha,
                    (base_values.len(), values.len()),
                );
                (
                    if d == "~" {
                        "~".to_owned()
                    } else {
                        format!("{ratio:.2}x")
                    },
                    p,
                )
            };
            let vs_best = match best {
                Some((name, b)) if !limits.contains(&cell.store.as_str()) => {
                    if name == cell.store {
                        "best".to_owned()
                    } else {
                        format!("{:.2}x", s.median / b)
                    }
                }
                _ => "-".to_owned(),
            };
            t.row(vec![
                cell.store.clone(),
                th.to_string(),
                with_ci(&s),
                mark,
                p,
                vs_best,
            ]);
        }
    }
    Ok(t)
}

/// Renders a table in the asked format, with a title line for text and md.
pub fn render(table: &Table, format: Format, title: &str) -> String {
    let mut out = String::new();
    match format {
        Format::Text => {
            let _ = writeln!(out, "{title}\n");
            out += &table.text();
        }
        Format::Md => {
            let _ = writeln!(out, "**{title}**\n");
            out += &table.markdown();
        }
        Format::Csv => out += &table.csv(),
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::machine::Machine;
    use crate::results::{Cell, SCHEMA, Sample, StoreInfo};
    use crate::run::ReadMode;
    use workload::{HotKeys, KeyDist, Mix, Workload};

    pub(crate) fn cell(store: &str, ns: &[f64]) -> Cell {
        Cell {
            store: store.into(),
            threads: 1,
            ops_per_thread: 1,
            samples: ns
                .iter()
                .enumerate()
                .map(|(rep, ns)| Sample {
                    rep,
                    wall_ns: *ns as u64,
                    total_ops: 1,
                    ns_per_op: *ns,
                    ops_per_sec: 1e9 / ns,
                    per_thread_ns_per_op: vec![*ns],
                })
                .collect(),
            bytes_per_op: 0.0,
            allocs_per_op: 0.0,
            alloc_ops: 1,
            latency: vec![],
            latency_every: 1,
            misses: 0,
        }
    }

    pub(crate) fn file(cells: Vec<Cell>) -> RunFile {
        RunFile {
            schema: SCHEMA.into(),
            machine: Machine {
                cpu_model: "test".into(),
                cores: 2,
                os: "test".into(),
                kernel: "test".into(),
                rustc: "test".into(),
                git_commit: "0".into(),
                git_dirty: false,
                date: "2026-11-25".into(),
                command: "test".into(),
            },
            preset: None,
            workload: Workload {
                keys: 10,
                dist: KeyDist::SEED,
                hot_keys: HotKeys::Scrambled,
                mix: Mix::SEED,
                seed: 1,
                stream_len: 16,
            },
            read_mode: ReadMode::Clone,
            zipf_s: None,
            hot20_share: 0.8,
            reps: 6,
            rep_seconds: None,
            warmup_pct: 10,
            timer_cost_ns: 20.0,
            stores: cells
                .iter()
                .map(|c| StoreInfo {
                    name: c.store.clone(),
                    about: String::new(),
                    family: "log".into(),
                    heap_bytes_per_task: None,
                    shard_imbalance: None,
                    walk_ns: None,
                })
                .collect(),
            cells,
        }
    }

    const BASE: [f64; 6] = [100.0, 101.0, 99.0, 100.5, 99.5, 100.2];

    #[test]
    fn a_clear_slowdown_is_significant_and_fails_the_gate() {
        let old = file(vec![cell("a", &BASE), cell("b", &BASE)]);
        let slower: Vec<f64> = BASE.iter().map(|x| x * 1.2).collect();
        let new = file(vec![cell("a", &slower), cell("b", &BASE)]);
        let c = compare(&old, &new, Metric::NsPerOp, 0.05, false).expect("same work");
        let a = &c.rows[0];
        assert!((a.delta_pct - 20.0).abs() < 0.5, "{}", a.delta_pct);
        assert!(a.significant(0.05));
        assert_eq!(c.regressions(10.0).len(), 1);
        assert!(
            c.regressions(25.0).is_empty(),
            "20% is not past a 25% tolerance"
        );
        let text = c.table("old", "new").text();
        assert!(
            text.contains("+20.00%") && text.contains("geomean"),
            "{text}"
        );
        // b did not change: marked ~.
        assert!(
            text.lines()
                .any(|l| l.starts_with("b ") && l.contains(" ~ ")),
            "{text}"
        );
    }

    #[test]
    fn speedups_never_fail_the_gate() {
        let old = file(vec![cell("a", &BASE)]);
        let faster: Vec<f64> = BASE.iter().map(|x| x * 0.5).collect();
        let new = file(vec![cell("a", &faster)]);
        let c = compare(&old, &new, Metric::NsPerOp, 0.05, false).expect("same work");
        assert!(c.regressions(0.0).is_empty());
        let c = compare(&old, &new, Metric::OpsPerSec, 0.05, false).expect("same work");
        assert!(c.rows[0].delta_pct > 0.0 && c.regressions(0.0).is_empty());
    }

    #[test]
    fn too_few_samples_are_never_significant() {
        let old = file(vec![cell("a", &[100.0, 100.0, 100.0])]);
        let new = file(vec![cell("a", &[200.0, 200.0, 200.0])]);
        let c = compare(&old, &new, Metric::NsPerOp, 0.05, false).expect("same work");
        assert!(c.regressions(0.0).is_empty());
        assert!(
            c.table("o", "n")
                .text()
                .contains("too few samples: need 4+4")
        );
    }

    #[test]
    fn mismatched_runs_are_refused() {
        let old = file(vec![cell("a", &BASE)]);
        let mut other = file(vec![cell("a", &BASE)]);
        other.workload.keys = 99;
        let err = compare(&old, &other, Metric::NsPerOp, 0.05, false)
            .err()
            .expect("refused");
        assert!(err.contains("keys 10 vs 99"), "{err}");
        let fewer = file(vec![cell("b", &BASE)]);
        let err = compare(&old, &fewer, Metric::NsPerOp, 0.05, false)
            .err()
            .expect("refused");
        assert!(
            err.contains("a x1 only in the old run") && err.contains("--common"),
            "{err}"
        );
        assert!(
            compare(&old, &fewer, Metric::NsPerOp, 0.05, true).is_err(),
            "nothing in common"
        );
    }

    #[test]
    fn baseline_mode_ratios_and_best() {
        let slow: Vec<f64> = BASE.iter().map(|x| x * 2.0).collect();
        let f = file(vec![cell("fast", &BASE), cell("slow", &slow)]);
        let t = against_baseline(&f, "slow", Metric::NsPerOp, 0.05)
            .expect("baseline exists")
            .text();
        assert!(
            t.lines()
                .any(|l| l.starts_with("fast") && l.contains("0.50x") && l.contains("best")),
            "{t}"
        );
        assert!(
            t.lines()
                .any(|l| l.starts_with("slow") && l.contains("baseline") && l.contains("2.00x")),
            "{t}"
        );
        assert!(against_baseline(&f, "nope", Metric::NsPerOp, 0.05).is_err());
    }
}
