//! "How the verdicts are judged" and "How far to trust these figures": the
//! document's family of paired comparisons, and the lab's own error from
//! `scripts/calibrate`'s runs (A/A false positives, detection of planted
//! slowdowns, run-to-run drift, order effects).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use storelab_results::{Metric, RunFile};
use storelab_stats::paired::{PairedRatio, Verdict, paired_ratio};
use storelab_stats::{Significance, mann_whitney, median};

use crate::DecisionsError;
use crate::{ALPHA, Results, cell, json_files, on_home, pct};

/// How many paired comparisons the document makes, and at what confidence.
pub(crate) fn section_family(r: &mut Results) -> Result<String, DecisionsError> {
    let m = r.family;
    Ok(format!(
        "This document makes **{m} paired comparisons**. Each interval is computed at \
         {:.3}% (Bonferroni: 1 - 0.05/{m}), so that all of them hold together at 95%; a verdict \
         against a threshold uses that interval, never the median alone. (Holm's step-down \
         correction is sharper for p-values but has no interval form; the sign-test p-values \
         printed beside each ratio are unadjusted, for reference.)",
        (1.0 - ALPHA / m.max(1) as f64) * 100.0
    ))
}

/// The lab's own error, from `scripts/calibrate`'s runs: the A/A
/// false-positive rate, the smallest slowdown detected 9 times in 10, and
/// the run-to-run drift of absolute figures.
pub(crate) fn section_calibration(r: &mut Results) -> Result<String, DecisionsError> {
    let dir = r.dir.join("calibrate");
    let paths = json_files(&dir, "run-")?;
    let files: Vec<RunFile> = paths
        .iter()
        .map(|p| RunFile::read(p))
        .collect::<Result<_, _>>()?;
    let c = calibration(&files)?;
    let mut s = format!(
        "{} runs of `scripts/calibrate` ({}), 1 and 2 threads, {} repetitions of {} s each, each run with its own seed; tests at α = 0.05 (95% intervals). The verdicts above use 20 repetitions of 0.3 s at the family-wise confidence: more rounds, a stricter level, so these rates describe the lab's default short runs, not each verdict's power.\n\n",
        files.len(),
        files.first().map_or(String::new(), |f| f.machine.summary()),
        files.first().map_or(0, |f| f.reps),
        files.first().and_then(|f| f.rep_seconds).unwrap_or(0.0)
    );
    let _ = writeln!(
        s,
        "- **A/A false positives** (`dense` against itself under another name, α = 0.05): the paired sign test called a difference in {} of {} comparisons ({:.0}%); `compare`'s unpaired Mann-Whitney test in {} of {} ({:.0}%). At α = 0.05 about 5% is expected.",
        c.aa_paired.0,
        c.aa_paired.1,
        pct(c.aa_paired),
        c.aa_unpaired.0,
        c.aa_unpaired.1,
        pct(c.aa_unpaired)
    );
    detection_table(&mut s, &c);
    let _ = writeln!(
        s,
        "- **Run-to-run drift of absolute figures**: between consecutive runs (tens of seconds apart), a cell's median ns/op moved by {:.1}% (median over cells and run pairs; largest {:.1}%). Over hours it moves more (see the field notes): compare runs only through references measured in each (`storelab compare OLD NEW --normalize others`, below).",
        c.drift_median * 100.0,
        c.drift_max * 100.0
    );
    let fixed = RunFile::read(&dir.join("order-fixed.json"))?;
    let reversed = RunFile::read(&dir.join("order-reversed.json"))?;
    order_table(&mut s, &fixed, &reversed);
    Ok(s)
}

/// The detected slowdowns, store by store, and the smallest detected 9
/// times in 10 at each thread count.
fn detection_table(s: &mut String, c: &Calibration) {
    let _ = writeln!(
        s,
        "- **Detection of known slowdowns** (paired, α = 0.05, per thread count):\n"
    );
    let _ = writeln!(
        s,
        "  | store | threads | measured slowdown (median over runs) | detected |\n  |---|---:|---:|---:|"
    );
    for d in &c.detection {
        let _ = writeln!(
            s,
            "  | `{}` | {} | {:+.1}% | {} of {} |",
            d.store,
            d.threads,
            (d.slowdown - 1.0) * 100.0,
            d.detected,
            d.runs
        );
    }
    let smallest = |t: usize| {
        c.detection
            .iter()
            .filter(|d| d.threads == t && d.detected * 10 >= d.runs * 9)
            .map(|d| d.slowdown)
            .fold(f64::INFINITY, f64::min)
    };
    for t in [1, 2] {
        let x = smallest(t);
        let _ = writeln!(
            s,
            "\n  Smallest slowdown detected 9 times in 10 at {}: {}.",
            on_home(t),
            if x.is_finite() {
                format!("{:+.1}%", (x - 1.0) * 100.0)
            } else {
                "none of those tried".to_owned()
            }
        );
    }
}

/// The order check: each store's ratio to `dense` in catalog order and in
/// reverse, and whether the two intervals overlap.
fn order_table(s: &mut String, fixed: &RunFile, reversed: &RunFile) {
    let _ = writeln!(
        s,
        "- **No sign of an order effect** (overlapping intervals show no detected difference; they do not prove equivalence): the same four stores run in catalog order and in reverse order (two runs); each store's per-round ratio to `dense`, with its 95% interval:\n"
    );
    let _ = writeln!(
        s,
        "  | store | threads | fixed order | reversed order | intervals overlap |\n  |---|---:|---:|---:|---|"
    );
    for (store, t, a, b) in order_ratios(fixed, reversed) {
        let show = |p: &PairedRatio| match p.ci {
            Some((lo, hi)) => format!("{:.2} ({lo:.2}-{hi:.2})", p.median),
            None => format!("{:.2}", p.median),
        };
        let overlap = match (a.ci, b.ci) {
            (Some((alo, ahi)), Some((blo, bhi))) => alo <= bhi && blo <= ahi,
            _ => false,
        };
        let _ = writeln!(
            s,
            "  | `{store}` | {t} | {} | {} | {} |",
            show(&a),
            show(&b),
            if overlap { "yes" } else { "**no**" }
        );
    }
}

/// Each store's per-round ratio to `dense` in two runs of different order.
fn order_ratios(a: &RunFile, b: &RunFile) -> Vec<(String, usize, PairedRatio, PairedRatio)> {
    let mut out = Vec::new();
    for c in a.cells.iter().filter(|c| c.store != "dense") {
        let (Some(da), Some(db), Some(cb)) = (
            a.cell("dense", c.threads),
            b.cell("dense", c.threads),
            b.cell(&c.store, c.threads),
        ) else {
            continue;
        };
        out.push((
            c.store.clone(),
            c.threads,
            paired_ratio(da, c, Metric::NsPerOp, 1.0 - ALPHA),
            paired_ratio(db, cb, Metric::NsPerOp, 1.0 - ALPHA),
        ));
    }
    out
}

/// One calibration store at one thread count, over the runs.
struct Detection {
    store: String,
    threads: usize,
    /// Median over runs of the paired median ratio against `dense`.
    slowdown: f64,
    detected: usize,
    runs: usize,
}

struct Calibration {
    /// (false positives, comparisons)
    aa_paired: (usize, usize),
    aa_unpaired: (usize, usize),
    detection: Vec<Detection>,
    drift_median: f64,
    drift_max: f64,
}

/// The calibration figures from runs over `dense`, `dense-twin` and
/// `dense-slow-*`.
fn calibration(files: &[RunFile]) -> Result<Calibration, DecisionsError> {
    if files.len() < 2 {
        return Err(DecisionsError::TooFewRuns {
            need: 2,
            fix: "scripts/calibrate",
        });
    }
    let mut aa_paired = (0, 0);
    let mut aa_unpaired = (0, 0);
    let mut by_cell: BTreeMap<(String, usize), (Vec<f64>, usize)> = BTreeMap::new();
    for f in files {
        for t in f.thread_counts() {
            let base = cell(f, "dense", t)?;
            let twin = cell(f, "dense-twin", t)?;
            let p = paired_ratio(base, twin, Metric::NsPerOp, 1.0 - ALPHA);
            aa_paired.0 += usize::from(p.significant());
            aa_paired.1 += 1;
            let (va, vb) = (Metric::NsPerOp.values(base), Metric::NsPerOp.values(twin));
            aa_unpaired.0 += usize::from(
                matches!(mann_whitney(&va, &vb, ALPHA), Significance::P(p) if p < ALPHA),
            );
            aa_unpaired.1 += 1;
            for c in f
                .cells
                .iter()
                .filter(|c| c.threads == t && c.store.starts_with("dense-slow-"))
            {
                let p = paired_ratio(base, c, Metric::NsPerOp, 1.0 - ALPHA);
                let e = by_cell.entry((c.store.clone(), t)).or_default();
                e.0.push(p.median);
                e.1 += usize::from(p.verdict(1.0) == Verdict::Above);
            }
        }
    }
    let mut detection: Vec<Detection> = by_cell
        .into_iter()
        .map(|((store, threads), (ratios, detected))| Detection {
            store,
            threads,
            slowdown: median(&ratios),
            detected,
            runs: ratios.len(),
        })
        .collect();
    detection.sort_by(|a, b| {
        (a.threads, a.slowdown)
            .partial_cmp(&(b.threads, b.slowdown))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut drifts = Vec::new();
    for pair in files.windows(2) {
        for c in &pair[0].cells {
            if let Some(d) = pair[1].cell(&c.store, c.threads) {
                let (a, b) = (
                    median(&Metric::NsPerOp.values(c)),
                    median(&Metric::NsPerOp.values(d)),
                );
                drifts.push((b / a - 1.0).abs());
            }
        }
    }
    Ok(Calibration {
        aa_paired,
        aa_unpaired,
        detection,
        drift_median: median(&drifts),
        drift_max: drifts.iter().copied().fold(0.0, f64::max),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_counts_false_positives_and_detections() {
        use storelab_results::fixture::{cell, file};
        let base: Vec<f64> = (0..10).map(|i| 100.0 + (i % 3) as f64).collect();
        let same = base.clone();
        let slow: Vec<f64> = base.iter().map(|x| x * 1.2).collect();
        let run = || {
            file(vec![
                cell("dense", &base),
                cell("dense-twin", &same),
                cell("dense-slow-8", &slow),
            ])
        };
        let c = calibration(&[run(), run(), run()]).expect("three runs");
        assert_eq!(c.aa_paired, (0, 3), "identical samples are no difference");
        assert_eq!(c.detection.len(), 1);
        let d = &c.detection[0];
        assert_eq!((d.detected, d.runs), (3, 3));
        assert!((d.slowdown - 1.2).abs() < 1e-9);
        assert_eq!(c.drift_median, 0.0);
        assert!(
            calibration(&[run()]).is_err(),
            "one run says nothing about drift"
        );
    }
}
