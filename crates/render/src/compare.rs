//! Comparison tables: two runs side by side, or the stores of one run
//! against a baseline, as text, Markdown or CSV (benchstat's layout).
//!
//! A two-run comparison normalized by a reference store shows ratios to
//! that store (`0.741x ± 3%`) instead of raw figures, with three significant
//! digits since they run from a floor's thousandths to a slow store's
//! hundreds, and the reference's own rows marked `reference`, untested.

use std::fmt::Write as _;

use storelab_stats::compare::{BaselineRow, Comparison, VsBest};
use storelab_stats::{Significance, Summary, geomean};

use crate::table::{Table, human};

/// Output format of a comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Md,
    Csv,
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

/// A ratio with three significant digits and an `x`: 0.00363x, 0.741x,
/// 1.25x, 127x.
fn ratio(x: f64) -> String {
    let digits = if x.is_finite() && x != 0.0 {
        (2.0 - x.abs().log10().floor()).clamp(0.0, 9.0) as usize
    } else {
        2
    };
    format!("{x:.digits$}x")
}

fn ratio_with_ci(s: &Summary) -> String {
    match s.ci_half_width_pct() {
        Some(p) => format!("{} ± {p:.0}%", ratio(s.median)),
        None => format!("{} ± ∞", ratio(s.median)),
    }
}

/// A two-run comparison as a table, with a geomean row. Normalized, the
/// value columns are ratios to the reference store, whose rows read
/// `reference` and stay out of the geomean.
pub fn comparison_table(c: &Comparison, old_name: &str, new_name: &str) -> Table {
    let unit = c.metric.name();
    let normalized = c.normalized_by.is_some();
    let value = |s: &Summary| {
        if normalized {
            ratio_with_ci(s)
        } else {
            with_ci(s)
        }
    };
    let fmt = |x: f64| if normalized { ratio(x) } else { human(x) };
    let (old_col, new_col) = match &c.normalized_by {
        None => (format!("{old_name} {unit}"), format!("{new_name} {unit}")),
        Some(reference) => (
            format!("{old_name} vs {}", reference.label()),
            format!("{new_name} vs {}", reference.label()),
        ),
    };
    let mut t = Table::new(&["store", "thr", &old_col, &new_col, "vs old", "p"]);
    for r in &c.rows {
        let (delta, p) = if r.is_reference {
            ("reference".to_owned(), String::new())
        } else {
            verdict(r.significance, r.delta_pct, c.alpha, (r.old.n, r.new.n))
        };
        t.row(vec![
            r.store.clone(),
            r.threads.to_string(),
            value(&r.old),
            value(&r.new),
            delta,
            p,
        ]);
    }
    let tested = || c.rows.iter().filter(|r| !r.is_reference);
    let olds: Vec<f64> = tested().map(|r| r.old.median).collect();
    let news: Vec<f64> = tested().map(|r| r.new.median).collect();
    if let (Some(a), Some(b)) = (geomean(&olds), geomean(&news)) {
        t.row(vec![
            "geomean".into(),
            String::new(),
            fmt(a),
            fmt(b),
            format!("{:+.2}%", (b - a) / a * 100.0),
            String::new(),
        ]);
    }
    t
}

/// Every store against the baseline, and against the best store.
pub fn baseline_table(rows: &[BaselineRow], baseline: &str, unit: &str, alpha: f64) -> Table {
    let mut t = Table::new(&[
        "store",
        "thr",
        unit,
        &format!("vs {baseline}"),
        "p",
        "vs best",
    ]);
    for r in rows {
        let (mark, p) = match r.significance {
            None => ("baseline".to_owned(), String::new()),
            Some(sig) => {
                let (d, p) = verdict(sig, (r.ratio - 1.0) * 100.0, alpha, r.n);
                (
                    if d == "~" {
                        "~".to_owned()
                    } else {
                        format!("{:.2}x", r.ratio)
                    },
                    p,
                )
            }
        };
        let vs_best = match r.vs_best {
            VsBest::Best => "best".to_owned(),
            VsBest::Ratio(x) => format!("{x:.2}x"),
            VsBest::NotRanked => "-".to_owned(),
        };
        t.row(vec![
            r.store.clone(),
            r.threads.to_string(),
            with_ci(&r.summary),
            mark,
            p,
            vs_best,
        ]);
    }
    t
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
mod tests {
    use super::*;
    use storelab_results::Metric;
    use storelab_results::fixture::{cell, file};
    use storelab_stats::compare::{Reference, against_baseline, compare, compare_normalized};

    const BASE: [f64; 6] = [100.0, 101.0, 99.0, 100.5, 99.5, 100.2];

    #[test]
    fn a_slowdown_shows_its_delta_unchanged_rows_show_tilde() {
        let old = file(vec![cell("a", &BASE), cell("b", &BASE)]);
        let slower: Vec<f64> = BASE.iter().map(|x| x * 1.2).collect();
        let new = file(vec![cell("a", &slower), cell("b", &BASE)]);
        let c = compare(&old, &new, Metric::NsPerOp, 0.05, false).expect("same work");
        let text = comparison_table(&c, "old", "new").text();
        assert!(
            text.contains("+20.00%") && text.contains("geomean"),
            "{text}"
        );
        assert!(
            text.lines()
                .any(|l| l.starts_with("b ") && l.contains(" ~ ")),
            "{text}"
        );
    }

    #[test]
    fn a_normalized_table_shows_ratios_and_the_reference() {
        let old = file(vec![
            cell("ref", &BASE),
            cell("a", &BASE.map(|x| x * 0.5)),
            cell("b", &BASE.map(|x| x * 0.004)),
        ]);
        // Everything 2.3 times slower, and a 20% slower on top.
        let new = file(vec![
            cell("ref", &BASE.map(|x| x * 2.3)),
            cell("a", &BASE.map(|x| x * 0.5 * 2.3 * 1.2)),
            cell("b", &BASE.map(|x| x * 0.004 * 2.3)),
        ]);
        let c = compare_normalized(
            &old,
            &new,
            Metric::NsPerOp,
            0.05,
            false,
            &Reference::Store("ref".into()),
        )
        .expect("same work");
        let text = comparison_table(&c, "old", "new").text();
        let line = |store: &str| {
            text.lines()
                .find(|l| l.starts_with(&format!("{store} ")))
                .unwrap_or_else(|| panic!("no {store} row in\n{text}"))
                .to_owned()
        };
        assert!(
            text.starts_with("store") && text.contains("old vs ref"),
            "{text}"
        );
        assert!(
            line("ref").contains("1.00x ± 0%") && line("ref").ends_with("reference"),
            "{text}"
        );
        assert!(
            line("a").contains("0.500x ± 0%")
                && line("a").contains("0.600x")
                && line("a").contains("+20.00%"),
            "{text}"
        );
        assert!(
            line("b").contains("0.00400x") && line("b").contains(" ~ "),
            "{text}"
        );
        // The geomean leaves the reference out: sqrt(0.5 * 0.004).
        assert!(line("geomean").contains("0.0447x"), "{text}");
    }

    #[test]
    fn ratios_keep_three_significant_digits() {
        assert_eq!(ratio(0.0036312), "0.00363x");
        assert_eq!(ratio(0.7412), "0.741x");
        assert_eq!(ratio(1.0), "1.00x");
        assert_eq!(ratio(12.345), "12.3x");
        assert_eq!(ratio(127.3), "127x");
        assert_eq!(ratio(12345.0), "12345x");
        assert_eq!(ratio(f64::NAN), "NaNx");
    }

    #[test]
    fn too_few_samples_are_said() {
        let old = file(vec![cell("a", &[100.0, 100.0, 100.0])]);
        let new = file(vec![cell("a", &[200.0, 200.0, 200.0])]);
        let c = compare(&old, &new, Metric::NsPerOp, 0.05, false).expect("same work");
        let text = comparison_table(&c, "o", "n").text();
        assert!(text.contains("too few samples: need 4+4"), "{text}");
    }

    #[test]
    fn baseline_table_marks_ratios_and_best() {
        let slow: Vec<f64> = BASE.iter().map(|x| x * 2.0).collect();
        let f = file(vec![cell("fast", &BASE), cell("slow", &slow)]);
        let rows = against_baseline(&f, "slow", Metric::NsPerOp, 0.05).expect("baseline exists");
        let t = baseline_table(&rows, "slow", "ns/op", 0.05).text();
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
    }
}
