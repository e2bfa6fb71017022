//! Does `storelab compare --normalize` survive a machine that drifts?
//!
//! The committed `results/seed.json` is compared with fresh runs of the same
//! work made hours later (`scripts/drift-check`), three ways: raw ns/op,
//! normalized by one store (`shardunit`), and normalized by the other stores
//! of the same round (`others`). A comparison that only saw drift should
//! mark (nearly) every row `~`. Then a slowdown of 10% is planted in one
//! store of the fresh run at a time (its samples times 1.1, real noise
//! kept), and each way is asked whether `--fail-on-regression 5` catches
//! it. A method that calls drift a regression fails the first test; one
//! that hides drift by hiding everything fails the second.

use std::fmt::Write as _;

use storelab_results::{Metric, RunFile};
use storelab_stats::compare::{CompareError, Comparison, Reference, compare, compare_normalized};

use crate::DecisionsError;
use crate::{Results, json_files, pct, short_commit};

/// The significance level of `storelab compare`'s default.
const ALPHA: f64 = 0.05;
/// The slowdown planted, and the gate's threshold that must catch it.
pub(crate) const PLANTED: f64 = 1.10;
pub(crate) const GATE_PCT: f64 = 5.0;

/// One way of comparing, over one pair of runs.
#[derive(Debug, PartialEq)]
pub(crate) struct Way {
    /// `raw`, or the `--normalize` argument.
    pub name: String,
    /// Rows tested (a reference store's own rows are not).
    pub tested: usize,
    /// Tested rows marked `~` (no significant change at α = 0.05).
    pub same: usize,
    /// Rows the gate (`--fail-on-regression 5`) would fail, with their change.
    pub false_alarms: Vec<(String, f64)>,
    /// Rows whose planted 10% slowdown the gate caught, of `tested`.
    pub caught: usize,
}

/// How one method fares on `old` against `new`; `None` for raw values.
pub(crate) fn judge_way(
    old: &RunFile,
    new: &RunFile,
    reference: Option<Reference>,
) -> Result<Way, DecisionsError> {
    let run = |new: &RunFile| -> Result<Comparison, CompareError> {
        match &reference {
            None => compare(old, new, Metric::NsPerOp, ALPHA, true),
            Some(r) => compare_normalized(old, new, Metric::NsPerOp, ALPHA, true, r),
        }
    };
    let c = run(new)?;
    let tested: Vec<_> = c.rows.iter().filter(|r| !r.is_reference).collect();
    let same = tested.iter().filter(|r| !r.significant(ALPHA)).count();
    let false_alarms = c
        .regressions(GATE_PCT)
        .iter()
        .map(|r| (format!("{} x{}", r.store, r.threads), r.delta_pct))
        .collect();
    let mut caught = 0;
    for row in &tested {
        let mut planted = new.clone();
        for cell in planted
            .cells
            .iter_mut()
            .filter(|c| c.store == row.store && c.threads == row.threads)
        {
            for s in &mut cell.samples {
                s.ns_per_op *= PLANTED;
                s.ops_per_sec /= PLANTED;
            }
        }
        let p = run(&planted)?;
        caught += usize::from(
            p.regressions(GATE_PCT)
                .iter()
                .any(|r| r.store == row.store && r.threads == row.threads),
        );
    }
    Ok(Way {
        name: reference.map_or("raw".to_owned(), |r| r.label()),
        tested: tested.len(),
        same,
        false_alarms,
        caught,
    })
}

/// `storelab compare --normalize` on real drift: the committed seed run
/// against each fresh run of `scripts/drift-check` (see the module's doc).
pub(crate) fn section_drift(r: &mut Results) -> Result<String, DecisionsError> {
    let dir = r.dir.join("calibrate");
    let paths = json_files(&dir, "drift-")?;
    if paths.is_empty() {
        return Err(DecisionsError::NoFiles {
            pattern: "drift-*.json",
            dir,
            fix: "scripts/drift-check",
        });
    }
    let old = r.get("seed.json")?.clone();
    let mut s = format!(
        "`results/seed.json` ({}, {}) against fresh runs of the same work made later (`scripts/drift-check`). Each way of comparing is `storelab compare results/seed.json NEW` with the option shown, α = 0.05. \"Rows `~`\": tested rows with no significant change. \"False alarms\": rows `--fail-on-regression {}` would fail. \"Planted +10% caught\": one store at a time made {:.0}% slower in the fresh run (its samples times {}, its real noise kept), and whether the gate catches it.\n\n| fresh run | commit | way | rows `~` | false alarms | planted +10% caught |\n|---|---|---|---:|---|---:|\n",
        old.machine.date,
        short_commit(&old.machine),
        GATE_PCT,
        (PLANTED - 1.0) * 100.0,
        PLANTED,
    );
    for p in &paths {
        let new = RunFile::read(p)?;
        let name = p
            .file_name()
            .map_or(String::new(), |n| n.to_string_lossy().into_owned());
        for reference in [
            None,
            Some(storelab_stats::compare::Reference::Store(
                "shardunit".into(),
            )),
            Some(storelab_stats::compare::Reference::Others),
        ] {
            let way = judge_way(&old, &new, reference.clone())?;
            let option = match &reference {
                None => "raw".to_owned(),
                Some(r) => format!("`--normalize {}`", r.label()),
            };
            let alarms = if way.false_alarms.is_empty() {
                "none".to_owned()
            } else {
                way.false_alarms
                    .iter()
                    .map(|(row, d)| format!("{row} {d:+.1}%"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let _ = writeln!(
                s,
                "| `results/calibrate/{name}` ({}) | {} | {option} | {} of {} ({:.0}%) | {alarms} | {} of {} |",
                new.machine.date,
                short_commit(&new.machine),
                way.same,
                way.tested,
                pct((way.same, way.tested)),
                way.caught,
                way.tested
            );
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use storelab_results::fixture::{cell, file};

    /// Three stores; every sample of round i scaled by `drift[i]`, and
    /// `store` by `factor` on top.
    fn run(drift: &[f64], store: &str, factor: f64) -> RunFile {
        let base: [(&str, [f64; 10]); 3] = [
            (
                "a",
                [100., 103., 98., 101., 99., 102., 100.5, 97.5, 101.5, 99.5],
            ),
            (
                "b",
                [50., 51., 49.5, 50.5, 49., 51.5, 50.2, 49.8, 50.7, 49.3],
            ),
            (
                "c",
                [70., 71., 69.5, 70.5, 69., 71.5, 70.2, 69.8, 70.7, 69.3],
            ),
        ];
        file(
            base.iter()
                .map(|(name, ns)| {
                    let f = if *name == store { factor } else { 1.0 };
                    let v: Vec<f64> = ns.iter().zip(drift).map(|(x, d)| x * d * f).collect();
                    cell(name, &v)
                })
                .collect(),
        )
    }

    const FLAT: [f64; 10] = [1.0; 10];
    const SLOWER: [f64; 10] = [2.3, 2.5, 2.1, 2.6, 2.2, 2.4, 2.3, 2.7, 2.0, 2.35];

    #[test]
    fn drift_alone_fails_raw_and_passes_normalized() {
        let (old, new) = (run(&FLAT, "", 1.0), run(&SLOWER, "", 1.0));
        let raw = judge_way(&old, &new, None).expect("same work");
        assert_eq!((raw.tested, raw.same, raw.false_alarms.len()), (3, 0, 3));
        let by_a = judge_way(&old, &new, Some(Reference::Store("a".into()))).expect("a");
        assert_eq!((by_a.tested, by_a.same), (2, 2));
        assert!(by_a.false_alarms.is_empty());
        let others = judge_way(&old, &new, Some(Reference::Others)).expect("others");
        assert_eq!(
            (others.name.as_str(), others.tested, others.same),
            ("others", 3, 3)
        );
        assert!(others.false_alarms.is_empty());
        // The planted 10% is caught in every tested row, by each normalized way.
        assert_eq!((by_a.caught, others.caught), (2, 3));
    }

    #[test]
    fn a_real_change_is_a_false_alarm_here_and_noise_hides_the_plant() {
        // b really moved by 20%: the check reports it as an alarm (the
        // document then shows which rows moved).
        let (old, new) = (run(&FLAT, "", 1.0), run(&SLOWER, "b", 1.2));
        let others = judge_way(&old, &new, Some(Reference::Others)).expect("others");
        assert_eq!(others.false_alarms.len(), 1, "{others:?}");
        assert_eq!(others.false_alarms[0].0, "b x1");
        // Samples with 30% noise round to round hide a planted 10%.
        let noisy: Vec<f64> = (0..10)
            .map(|i| if i % 2 == 0 { 0.7 } else { 1.3 })
            .collect();
        let mut old = run(&FLAT, "", 1.0);
        for c in &mut old.cells {
            for (s, k) in c.samples.iter_mut().zip(&noisy) {
                s.ns_per_op *= k;
            }
        }
        let hidden = judge_way(&old, &run(&FLAT, "", 1.0), None).expect("raw");
        assert_eq!(hidden.caught, 0, "{hidden:?}");
    }
}
