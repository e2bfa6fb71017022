//! "Exact mixes" (issue 21): a mix with a rare operation, dealt from decks
//! against drawn one by one. With independent draws a repetition's count of
//! get_all (1% of a mix) is binomial, so its share of the repetition's time
//! varies between repetitions, and that spread joins the store's own in
//! every interval; dealt from shuffled decks of 100, every repetition holds
//! each kind within its percent of the exact share. Both runs are committed:
//! `rare-get-all-draws.json` by the binary of commit d2831b9 (draws), and
//! `rare-get-all-deck.json` by a binary with decks, same stores and options.

use std::fmt::Write as _;

use storelab_results::{Metric, RunFile};
use storelab_stats::summarize;

use super::DecisionsError;
use super::Results;

/// The bound on a 95% interval's half-width, in percent.
pub(crate) const MAX_HALF_WIDTH_PCT: f64 = 20.0;

fn half_width(file: &RunFile, store: &str, t: usize) -> Option<f64> {
    let cell = file.cell(store, t)?;
    summarize(&Metric::NsPerOp.values(cell), 0.95).ci_half_width_pct()
}

/// Whether every cell's 95% half-width is within the bound: holds when all
/// are, with the cells that are not.
pub(crate) fn within_bound(widths: &[(String, f64)], bound: f64) -> (bool, Vec<String>) {
    let over: Vec<String> = widths
        .iter()
        .filter(|(_, w)| {
            w.partial_cmp(&bound)
                .is_none_or(|o| o == std::cmp::Ordering::Greater)
        })
        .map(|(c, w)| format!("{c} ±{w:.0}%"))
        .collect();
    (over.is_empty(), over)
}

pub(crate) fn section(r: &mut Results) -> Result<String, DecisionsError> {
    let draws = r.get("rare-get-all-draws.json")?.clone();
    let deck = r.get("rare-get-all-deck.json")?.clone();
    let mut s = format!(
        "On {} (20 rounds each):\n\n| store, threads | drawn one by one: ns/op ±95% | dealt from decks: ns/op ±95% |\n|---|---:|---:|\n",
        deck.machine.name()
    );
    let mut widths = Vec::new();
    for t in deck.thread_counts() {
        for st in &deck.stores {
            let (Some(d), Some(k)) = (
                half_width(&draws, &st.name, t),
                half_width(&deck, &st.name, t),
            ) else {
                continue;
            };
            let med = |f: &RunFile| {
                f.cell(&st.name, t)
                    .map(|c| storelab_stats::median(&Metric::NsPerOp.values(c)))
                    .unwrap_or(f64::NAN)
            };
            let _ = writeln!(
                s,
                "| `{}`, {t} | {} ±{d:.0}% | {} ±{k:.0}% |",
                st.name,
                storelab_render::table::human(med(&draws)),
                storelab_render::table::human(med(&deck))
            );
            widths.push((format!("`{}` x{t}", st.name), k));
        }
    }
    let (ok, over) = within_bound(&widths, MAX_HALF_WIDTH_PCT);
    let _ = write!(
        s,
        "\n**Every 95% interval within ±{MAX_HALF_WIDTH_PCT:.0}% with decks** (`rare_mix::within_bound`, unit-tested): {}.",
        if ok {
            "**holds**".to_owned()
        } else {
            format!("**does not hold** ({})", over.join(", "))
        }
    );
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::within_bound;

    #[test]
    fn the_bound_holds_only_when_every_cell_is_within_it() {
        let w = |v: &[f64]| -> Vec<(String, f64)> {
            v.iter()
                .enumerate()
                .map(|(i, x)| (format!("c{i}"), *x))
                .collect()
        };
        assert!(within_bound(&w(&[5.0, 19.9, 20.0]), 20.0).0);
        let (ok, over) = within_bound(&w(&[5.0, 20.1]), 20.0);
        assert!(!ok);
        assert_eq!(over, vec!["c1 ±20%".to_owned()]);
        // A cell with no interval (NaN) is not within any bound.
        assert!(!within_bound(&w(&[f64::NAN]), 20.0).0);
    }
}
