//! `storelab compare`: benchstat-grade comparisons of run files.
//!
//! Two files: for every (store, threads) row, the median of each side with
//! its 95% CI, the change in percent, and a two-sided Mann-Whitney U p-value;
//! `~` where the change is not significant at alpha; a geomean row.
//! One file and a baseline store: every store against the baseline and
//! against the best, with the same significance marking.
//!
//! Two files normalized by a reference store ([`compare_normalized`],
//! `--normalize STORE`): each sample is first divided by the reference
//! store's sample of the same round (`rep`) and thread count in the same
//! file, then the two files are compared as above. Runs made hours or
//! machines apart drift as a whole: a busier host, another CPU frequency, a
//! noisy neighbour make every store slower together, and a plain comparison
//! calls that a regression of every row. Within one run, round `rep` ran
//! every cell seconds apart (see [`crate::paired`]), so the per-round ratio
//! to a reference store cancels the drift of that round and keeps only what
//! changed relative to the reference. The price: the reference's own change
//! is invisible (its row is 1 by construction, shown as the reference and
//! not tested), and its noise joins every other row's, so pick a reference
//! that behaves like the rows it normalizes.
//!
//! Or normalized by the others ([`Reference::Others`], `--normalize
//! others`): each row's sample is divided by the geometric mean of the same
//! round's samples of every *other* store that both files measured at that
//! thread count. One store's round-to-round noise no longer joins every
//! row (the mean of a dozen stores is steadier than any one of them), no
//! row is lost as the reference, and since a row never divides by itself a
//! store made 10% slower reads +10%, not diluted. The reference differs per
//! row, so it suits a regression check of each store, not a ranking. A
//! store whose rounds swing widely (an unfair one) still adds its swings to
//! the mean, divided by the number of stores.
//!
//! This module returns data; `storelab-render` turns it into tables.

use storelab_results::{Cell, Metric, RunFile, check_same_work};

pub use crate::error::CompareError;
use crate::error::NotNormalized;
use crate::paired::pair_by_round;
use crate::{Significance, Summary, mann_whitney, summarize};

/// What a normalized comparison divides each sample by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reference {
    /// One store's sample of the same round and thread count.
    Store(String),
    /// The geometric mean of the same round's samples of every other store
    /// that both files measured at that thread count.
    Others,
}

impl Reference {
    /// `others` is [`Reference::Others`]; any other word names a store.
    pub fn parse(word: &str) -> Reference {
        if word == "others" {
            Reference::Others
        } else {
            Reference::Store(word.to_owned())
        }
    }

    /// How tables name it.
    pub fn label(&self) -> String {
        match self {
            Reference::Store(s) => s.clone(),
            Reference::Others => "others".to_owned(),
        }
    }

    fn is(&self, store: &str) -> bool {
        matches!(self, Reference::Store(s) if s == store)
    }
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
    /// This row is the reference store of a normalized comparison: its
    /// values are 1 by construction, and it is never significant.
    pub is_reference: bool,
}

impl Row {
    /// Whether the change is significant at `alpha` (never for the
    /// reference row of a normalized comparison).
    pub fn significant(&self, alpha: f64) -> bool {
        !self.is_reference && matches!(self.significance, Significance::P(p) if p < alpha)
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
    /// Rows present on one side only (when the caller allowed that), and,
    /// when normalized, rows or samples without a reference to divide by.
    pub unmatched: Vec<String>,
    /// What every value was divided by, round by round (see
    /// [`compare_normalized`]); `None` for raw values.
    pub normalized_by: Option<Reference>,
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
) -> Result<Comparison, CompareError> {
    compare_values(old, new, metric, alpha, allow_missing, None)
}

/// Compares two runs row by row after dividing every sample by the
/// `reference`'s sample of the same round and thread count in the same file
/// (see the module documentation). Rows whose thread count lacks the
/// reference in either file, and samples whose round lacks it, are left
/// out and listed in `unmatched`; a reference store's own rows are kept,
/// marked [`Row::is_reference`], and never tested.
pub fn compare_normalized(
    old: &RunFile,
    new: &RunFile,
    metric: Metric,
    alpha: f64,
    allow_missing: bool,
    reference: &Reference,
) -> Result<Comparison, CompareError> {
    compare_values(old, new, metric, alpha, allow_missing, Some(reference))
}

/// The values of `cell` divided, round by round, by those of the reference
/// at its thread count in `file` (`others`: the stores both files measured
/// there); `Err` with a note when there is nothing to divide by.
fn normalized(
    file: &RunFile,
    side: &'static str,
    cell: &Cell,
    reference: &Reference,
    others: &[String],
    metric: Metric,
) -> Result<(Vec<f64>, Option<String>), NotNormalized> {
    let (store, th) = (&cell.store, cell.threads);
    let label = reference.label();
    let bases: Vec<&Cell> = match reference {
        Reference::Store(r) => match file.cell(r, th) {
            Some(base) => vec![base],
            None => {
                return Err(NotNormalized::NoReferenceCell {
                    store: store.clone(),
                    threads: th,
                    reference: r.clone(),
                    side,
                });
            }
        },
        Reference::Others => others
            .iter()
            .filter(|o| *o != store)
            .filter_map(|o| file.cell(o, th))
            .collect(),
    };
    if bases.is_empty() {
        return Err(NotNormalized::NoOtherStore {
            store: store.clone(),
            threads: th,
        });
    }
    // Per round: the cell's value over the geometric mean of the bases'
    // values that round; a round any base lacks is left out.
    let paired: Vec<Vec<(usize, f64, f64)>> = bases
        .iter()
        .map(|base| pair_by_round(base, cell, metric).pairs)
        .collect();
    let mut values = Vec::new();
    let mut left_out = 0;
    for (rep, x) in cell.samples.iter().map(|s| s.rep).zip(metric.values(cell)) {
        let found: Option<Vec<f64>> = paired
            .iter()
            .map(|pairs| pairs.iter().find(|p| p.0 == rep).map(|p| p.1))
            .collect();
        if let Some(refs) = found {
            // One reference divides exactly (its own row is exactly 1).
            let denom = match refs.as_slice() {
                [r] => *r,
                _ => (refs.iter().map(|r| r.ln()).sum::<f64>() / refs.len() as f64).exp(),
            };
            values.push(x / denom);
        } else {
            left_out += 1;
        }
    }
    if values.is_empty() {
        return Err(NotNormalized::NoCommonRound {
            store: store.clone(),
            threads: th,
            side,
            label,
        });
    }
    let note = (left_out > 0).then(|| {
        format!(
            "{store} x{th}: {left_out} of {} samples in the {side} run have no {label} sample of the same round; left out",
            cell.samples.len()
        )
    });
    Ok((values, note))
}

fn compare_values(
    old: &RunFile,
    new: &RunFile,
    metric: Metric,
    alpha: f64,
    allow_missing: bool,
    reference: Option<&Reference>,
) -> Result<Comparison, CompareError> {
    check_same_work(old, new)?;
    if let Some(Reference::Store(r)) = reference {
        check_reference_store(old, new, r)?;
    }
    let (ka, kb) = (key(old), key(new));
    let mut unmatched = only_in_one(&ka, &kb);
    if !unmatched.is_empty() && !allow_missing {
        return Err(CompareError::DifferentRows { unmatched });
    }
    // The stores both files measured, for `Reference::Others`.
    let common: Vec<String> = {
        let mut c: Vec<String> = ka
            .iter()
            .filter(|k| kb.contains(k))
            .map(|(s, _)| s.clone())
            .collect();
        c.dedup();
        c
    };
    let mut rows: Vec<Row> = Vec::new();
    for (a, b) in old
        .cells
        .iter()
        .filter_map(|a| new.cell(&a.store, a.threads).map(|b| (a, b)))
    {
        let (va, vb) = match reference {
            None => (metric.values(a), metric.values(b)),
            Some(r) => match (
                normalized(old, "old", a, r, &common, metric),
                normalized(new, "new", b, r, &common, metric),
            ) {
                (Ok((va, na)), Ok((vb, nb))) => {
                    unmatched.extend(na.into_iter().chain(nb));
                    (va, vb)
                }
                (Err(e), _) | (_, Err(e)) => {
                    unmatched.push(e.to_string());
                    continue;
                }
            },
        };
        rows.push(row(a, &va, &vb, alpha, reference));
    }
    if rows.is_empty() {
        return Err(match reference {
            None => CompareError::NoCommonRow,
            Some(r) => CompareError::NoCommonRowWithReference {
                reference: r.label(),
            },
        });
    }
    Ok(Comparison {
        metric,
        alpha,
        rows,
        unmatched,
        normalized_by: reference.cloned(),
    })
}

/// `--normalize STORE` needs the store in both runs.
fn check_reference_store(old: &RunFile, new: &RunFile, r: &str) -> Result<(), CompareError> {
    for (file, side) in [(old, "old"), (new, "new")] {
        if !file.cells.iter().any(|c| c.store == *r) {
            return Err(CompareError::ReferenceMissing {
                reference: r.to_owned(),
                side,
                known: file.stores.iter().map(|s| s.name.clone()).collect(),
            });
        }
    }
    Ok(())
}

/// The (store, threads) rows only one of the two runs has, as notes.
fn only_in_one(ka: &[(String, usize)], kb: &[(String, usize)]) -> Vec<String> {
    ka.iter()
        .filter(|k| !kb.contains(k))
        .map(|(s, t)| format!("{s} x{t} only in the old run"))
        .chain(
            kb.iter()
                .filter(|k| !ka.contains(k))
                .map(|(s, t)| format!("{s} x{t} only in the new run")),
        )
        .collect()
}

/// One row: the old cell's (`a`) values `va` against the new one's `vb`.
fn row(a: &Cell, va: &[f64], vb: &[f64], alpha: f64, reference: Option<&Reference>) -> Row {
    let (sa, sb) = (summarize(va, 0.95), summarize(vb, 0.95));
    Row {
        store: a.store.clone(),
        threads: a.threads,
        old: sa,
        new: sb,
        delta_pct: (sb.median - sa.median) / sa.median * 100.0,
        significance: mann_whitney(va, vb, alpha),
        is_reference: reference.is_some_and(|r| r.is(&a.store)),
    }
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
) -> Result<Vec<BaselineRow>, CompareError> {
    if file.store(baseline).is_none() {
        return Err(CompareError::UnknownBaseline {
            baseline: baseline.to_owned(),
            known: file.stores.iter().map(|s| s.name.clone()).collect(),
        });
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
            .expect("refused")
            .to_string();
        assert!(err.contains("keys 10 vs 99"), "{err}");
        let fewer = file(vec![cell("b", &BASE)]);
        let err = compare(&old, &fewer, Metric::NsPerOp, 0.05, false)
            .err()
            .expect("refused")
            .to_string();
        assert!(
            err.contains("a x1 only in the old run") && err.contains("--common"),
            "{err}"
        );
        assert!(
            compare(&old, &fewer, Metric::NsPerOp, 0.05, true).is_err(),
            "nothing in common"
        );
    }

    /// `ns` scaled by `drift[rep]` (the machine's speed that round) and by
    /// `factor` (the store's own change).
    fn drifted(store: &str, ns: &[f64], drift: &[f64], factor: f64) -> Cell {
        let v: Vec<f64> = ns.iter().zip(drift).map(|(x, d)| x * d * factor).collect();
        cell(store, &v)
    }

    const REF: [f64; 10] = [
        100.0, 103.0, 98.0, 101.0, 99.0, 102.0, 100.5, 97.5, 101.5, 99.5,
    ];
    const OTHER: [f64; 10] = [50.0, 51.0, 49.5, 50.5, 49.0, 51.5, 50.2, 49.8, 50.7, 49.3];

    #[test]
    fn normalizing_cancels_drift_and_keeps_a_real_change() {
        let flat = [1.0; 10];
        let old = file(vec![
            drifted("ref", &REF, &flat, 1.0),
            drifted("x", &OTHER, &flat, 1.0),
            drifted("y", &OTHER, &flat, 1.0),
        ]);
        // The new run: a machine 2.3 times slower and drifting by 20% from
        // round to round; on top of that, y is 10% slower.
        let drift = [2.3, 2.5, 2.1, 2.6, 2.2, 2.4, 2.3, 2.7, 2.0, 2.35];
        let new = file(vec![
            drifted("ref", &REF, &drift, 1.0),
            drifted("x", &OTHER, &drift, 1.0),
            drifted("y", &OTHER, &drift, 1.1),
        ]);
        let raw = compare(&old, &new, Metric::NsPerOp, 0.05, false).expect("same work");
        assert_eq!(raw.regressions(5.0).len(), 3, "raw: every row regressed");
        assert_eq!(raw.normalized_by, None);
        let c = compare_normalized(&old, &new, Metric::NsPerOp, 0.05, false, &by("ref"))
            .expect("same work");
        assert_eq!(c.normalized_by, Some(by("ref")));
        let reference = &c.rows[0];
        assert!(reference.is_reference && !reference.significant(0.05));
        assert_eq!(reference.old.median, 1.0);
        assert_eq!(reference.new.ci, Some((1.0, 1.0)));
        let x = &c.rows[1];
        assert!(!x.is_reference && !x.significant(0.05), "{x:?}");
        assert!(x.delta_pct.abs() < 1e-9, "{}", x.delta_pct);
        let y = &c.rows[2];
        assert!(
            y.significant(0.05) && (y.delta_pct - 10.0).abs() < 1e-6,
            "{y:?}"
        );
        let bad: Vec<&str> = c
            .regressions(5.0)
            .iter()
            .map(|r| r.store.as_str())
            .collect();
        assert_eq!(bad, ["y"]);
        assert!(c.regressions(15.0).is_empty());
        assert!(c.unmatched.is_empty(), "{:?}", c.unmatched);
        // Read as ops/s, y's normalized throughput fell by 1 - 1/1.1.
        let ops = compare_normalized(&old, &new, Metric::OpsPerSec, 0.05, false, &by("ref"))
            .expect("same work");
        assert!((ops.rows[2].delta_pct - (1.0 / 1.1 - 1.0) * 100.0).abs() < 1e-6);
        assert_eq!(ops.regressions(5.0).len(), 1);
    }

    fn by(store: &str) -> Reference {
        Reference::Store(store.to_owned())
    }

    #[test]
    fn normalizing_by_the_others_cancels_drift_and_catches_any_one_store() {
        let flat = [1.0; 10];
        let drift = [2.3, 2.5, 2.1, 2.6, 2.2, 2.4, 2.3, 2.7, 2.0, 2.35];
        let run = |d: &[f64], slow: &str, factor: f64| {
            let f = |s: &str| if s == slow { factor } else { 1.0 };
            file(vec![
                drifted("a", &REF, d, f("a")),
                drifted("b", &OTHER, d, f("b")),
                drifted("c", &OTHER, d, f("c")),
            ])
        };
        let old = run(&flat, "", 1.0);
        // Every store in turn is the one made 10% slower, the reference
        // store of a plain normalization included: each is caught at +10%
        // exactly (it never divides by itself), the others read ~.
        for slow in ["a", "b", "c"] {
            let new = run(&drift, slow, 1.1);
            let c =
                compare_normalized(&old, &new, Metric::NsPerOp, 0.05, false, &Reference::Others)
                    .expect("same work");
            assert_eq!(c.normalized_by, Some(Reference::Others));
            assert!(c.rows.iter().all(|r| !r.is_reference));
            let bad: Vec<&str> = c
                .regressions(5.0)
                .iter()
                .map(|r| r.store.as_str())
                .collect();
            assert_eq!(bad, [slow], "{:?}", c.rows);
            let row = c.rows.iter().find(|r| r.store == slow).expect("row");
            assert!((row.delta_pct - 10.0).abs() < 1e-6, "{row:?}");
            for r in c.rows.iter().filter(|r| r.store != slow) {
                // The others divide by a mean that includes the slow store:
                // they read faster, by (1/1.1)^(1/2) here, significantly so
                // (a speedup, never a regression).
                assert!(r.delta_pct < 0.0 && r.delta_pct > -5.0, "{r:?}");
            }
            assert!(c.unmatched.is_empty(), "{:?}", c.unmatched);
        }
        // Pure drift, nothing slower: no row moves.
        let same = compare_normalized(
            &old,
            &run(&drift, "", 1.0),
            Metric::NsPerOp,
            0.05,
            false,
            &Reference::Others,
        )
        .expect("same work");
        assert!(
            same.rows
                .iter()
                .all(|r| r.delta_pct.abs() < 1e-9 && !r.significant(0.05))
        );
    }

    #[test]
    fn normalizing_by_the_others_needs_another_store_and_whole_rounds() {
        let mut lone = cell("x", &OTHER);
        lone.threads = 2;
        let mut old = file(vec![cell("a", &REF), cell("b", &OTHER), lone]);
        // Round 9 of b is missing: a's round 9 has nothing whole to divide by.
        old.cells[1].samples.retain(|s| s.rep != 9);
        let new = old.clone();
        let c = compare_normalized(&old, &new, Metric::NsPerOp, 0.05, false, &Reference::Others)
            .expect("same work");
        let rows: Vec<(&str, usize, usize)> = c
            .rows
            .iter()
            .map(|r| (r.store.as_str(), r.threads, r.old.n))
            .collect();
        assert_eq!(rows, [("a", 1, 9), ("b", 1, 9)]);
        assert!(
            c.unmatched
                .iter()
                .any(|u| u == "x x2: no other store at x2 in both runs to normalize by"),
            "{:?}",
            c.unmatched
        );
        assert!(
            c.unmatched.iter().any(
                |u| u.starts_with("a x1: 1 of 10 samples in the old run have no others sample")
            ),
            "{:?}",
            c.unmatched
        );
        assert_eq!(Reference::parse("others"), Reference::Others);
        assert_eq!(Reference::parse("dense"), by("dense"));
    }

    #[test]
    fn normalizing_needs_the_reference_at_each_thread_count_and_round() {
        let mut x2 = cell("x", &OTHER);
        x2.threads = 2;
        let mut old = file(vec![cell("ref", &REF), cell("x", &OTHER), x2]);
        // Round 9 of x x1 has no reference sample in the old run.
        old.cells[0].samples.retain(|s| s.rep != 9);
        let new = old.clone();
        let c = compare_normalized(&old, &new, Metric::NsPerOp, 0.05, false, &by("ref"))
            .expect("same work");
        let rows: Vec<(&str, usize)> = c
            .rows
            .iter()
            .map(|r| (r.store.as_str(), r.threads))
            .collect();
        assert_eq!(rows, [("ref", 1), ("x", 1)]);
        assert_eq!(c.rows[1].old.n, 9);
        assert!(
            c.unmatched
                .iter()
                .any(|u| u == "x x2: no ref x2 in the old run to normalize by"),
            "{:?}",
            c.unmatched
        );
        assert!(
            c.unmatched
                .iter()
                .any(|u| u.starts_with("x x1: 1 of 10 samples in the old run have no ref sample")),
            "{:?}",
            c.unmatched
        );
        let err = compare_normalized(&old, &new, Metric::NsPerOp, 0.05, false, &by("nope"))
            .err()
            .expect("refused")
            .to_string();
        assert!(
            err.contains("'nope' is not in the old run; it has: ref, x"),
            "{err}"
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
