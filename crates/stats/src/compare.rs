//! `storelab compare`: benchstat-grade comparisons of run files.
//!
//! Two files: for every (store, threads) row, the median of each side with
//! its 95% CI, the change in percent, and a two-sided Mann-Whitney U p-value;
//! `~` where the change is not significant at alpha; a geomean row.
//! One file and a baseline store: every store against the baseline and
//! against the best, with the same significance marking.
//!
//! This module returns data; `storelab-render` turns it into tables.

use storelab_results::{Metric, RunFile, check_same_work};

use crate::{Significance, Summary, mann_whitney, summarize};

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

impl Comparison {
    /// Rows that regressed by more than `pct` percent, significantly.
    pub fn regressions(&self, pct: f64) -> Vec<&Row> {
        self.rows
            .iter()
            .filter(|r| r.regressed(self.metric, self.alpha, pct))
            .collect()
    }
}

/// How a store of one run compares with the best store at its thread count.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum VsBest {
    /// It is the best (fastest, or most throughput) of the non-limit stores.
    Best,
    /// Its median over the best one's.
    Ratio(f64),
    /// A limit store (a floor, or the harness's own cost): not ranked.
    NotRanked,
}

/// One store against the baseline store, at one thread count.
#[derive(Clone, Debug)]
pub struct BaselineRow {
    pub store: String,
    pub threads: usize,
    pub summary: Summary,
    /// This row is the baseline itself.
    pub is_baseline: bool,
    /// Median over the baseline's median.
    pub ratio: f64,
    /// Mann-Whitney U against the baseline's samples (none for the baseline).
    pub significance: Option<Significance>,
    /// Samples on each side (baseline, this store).
    pub n: (usize, usize),
    pub vs_best: VsBest,
}

/// Every store of one run against `baseline` and against the best store, at
/// each thread count.
pub fn against_baseline(
    file: &RunFile,
    baseline: &str,
    metric: Metric,
    alpha: f64,
) -> Result<Vec<BaselineRow>, String> {
    if file.store(baseline).is_none() {
        let known: Vec<&str> = file.stores.iter().map(|s| s.name.as_str()).collect();
        return Err(format!(
            "baseline '{baseline}' is not in this run; it has: {}",
            known.join(", ")
        ));
    }
    let limits = file.limits();
    let better = |a: f64, b: f64| {
        if metric.higher_is_better() {
            a > b
        } else {
            a < b
        }
    };
    let mut rows = Vec::new();
    for th in file.thread_counts() {
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
            let summary = summarize(&values, 0.95);
            let is_baseline = cell.store == baseline;
            let vs_best = match best {
                Some((name, b)) if !limits.contains(&cell.store.as_str()) => {
                    if name == cell.store {
                        VsBest::Best
                    } else {
                        VsBest::Ratio(summary.median / b)
                    }
                }
                _ => VsBest::NotRanked,
            };
            rows.push(BaselineRow {
                store: cell.store.clone(),
                threads: th,
                summary,
                is_baseline,
                ratio: summary.median / base_median,
                significance: (!is_baseline).then(|| mann_whitney(&base_values, &values, alpha)),
                n: (base_values.len(), values.len()),
                vs_best,
            });
        }
    }
    Ok(rows)
}
#[cfg(test)]
mod tests {
    use super::*;
    use storelab_results::fixture::{cell, file};

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
        // b did not change: not significant.
        assert!(!c.rows[1].significant(0.05));
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
        assert_eq!(c.rows[0].significance, Significance::TooFew { need: 4 });
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
        let rows = against_baseline(&f, "slow", Metric::NsPerOp, 0.05).expect("baseline exists");
        let fast = &rows[0];
        assert!((fast.ratio - 0.5).abs() < 0.01 && fast.vs_best == VsBest::Best);
        assert!(matches!(fast.significance, Some(Significance::P(p)) if p < 0.05));
        let slow = &rows[1];
        assert!(slow.is_baseline && slow.significance.is_none());
        assert!(matches!(slow.vs_best, VsBest::Ratio(r) if (r - 2.0).abs() < 0.02));
        assert!(against_baseline(&f, "nope", Metric::NsPerOp, 0.05).is_err());
    }
}
