//! "The load generator against wrk": is `storelab load` as fast a client as
//! wrk on the same server (`scripts/load-vs-wrk`, one file per machine,
//! `results/<machine>/load-vs-wrk.json`)? A client slower than wrk
//! understates the server: its "most req/s" is its own limit.
//!
//! Each round runs wrk and then `storelab load` for the same seconds on the
//! same server, connections and client threads; the figure is wrk's req/s
//! over `storelab load`'s, round by round. The claim "as fast as wrk" is
//! judged with [`rules::counts_at_most`] on the rounds' ratios against
//! [`AS_FAST`]: it holds when every round is within it, does not hold when
//! no round is. Descriptive, outside the document's family.
//!
//! [`section_knee`] sets the rate sweep's knee against the closed loop on
//! the same server (`scripts/knee-vs-closed`, `knee-vs-closed.json`): the
//! knee within [`KNEE_WITHIN`] of the closed-loop rate, judged the same way.

use std::fmt::Write as _;

use serde::Deserialize;

use storelab_render::table::duration_ns;

use crate::rules;
use crate::{DecisionsError, Results, check_folder, machine_files, read_json};

/// wrk's req/s over `storelab load`'s at most this for "as fast": a 5%
/// margin, the size of the run-to-run spread of one tool here.
pub(crate) const AS_FAST: f64 = 1.05;

/// The parts of `load-vs-wrk.json` the section shows.
#[derive(Debug, Deserialize)]
pub(crate) struct LoadVsWrk {
    pub store: String,
    pub machine: String,
    pub prefill: u64,
    pub seconds_per_run: u64,
    pub client_threads: usize,
    pub by_connections: Vec<ByConnections>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ByConnections {
    pub connections: usize,
    pub wrk_rps: Vec<f64>,
    pub storelab_rps: Vec<f64>,
    pub ratio_wrk_over_storelab: Vec<f64>,
    pub errors: u64,
}

/// The closed-loop rate over the knee at most this for "within 2x".
pub(crate) const KNEE_WITHIN: f64 = 2.0;

/// The parts of `knee-vs-closed.json` the section shows.
#[derive(Debug, Deserialize)]
pub(crate) struct KneeVsClosed {
    pub store: String,
    pub machine: String,
    pub connections: usize,
    pub rounds: Vec<KneeRound>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct KneeRound {
    pub closed_rps: f64,
    pub knee: Option<f64>,
    pub client_limited: bool,
    pub knee_p99_ns: Option<u64>,
    pub first_failure: Option<String>,
    pub first_failure_lateness_p99_ns: Option<u64>,
}

/// The knee against the closed loop, one row per round of every machine.
pub(crate) fn section_knee(r: &mut Results) -> Result<String, DecisionsError> {
    let mut s = String::from(
        "| machine | store | connections | round | closed loop req/s | knee req/s | closed loop over the knee | p99 at the knee | first failing step | client lateness p99 there |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---|---:|\n",
    );
    let files = machine_files(r, "knee-vs-closed.json")?;
    if files.is_empty() {
        s.push_str(
            "| (no `knee-vs-closed.json` yet: run `scripts/knee-vs-closed`) | | | | | | | | | |\n",
        );
    }
    let mut verdicts = Vec::new();
    for path in files {
        let f: KneeVsClosed = read_json(&path)?;
        check_folder(&path, &f.machine)?;
        let mut ratios = Vec::new();
        for (i, round) in f.rounds.iter().enumerate() {
            let ratio = round.knee.map(|k| round.closed_rps / k);
            ratios.push(ratio.unwrap_or(f64::INFINITY));
            let _ = writeln!(
                s,
                "| {} | `{}` | {} | {} | {:.0} | {}{} | {} | {} | {} | {} |",
                f.machine,
                f.store,
                f.connections,
                i + 1,
                round.closed_rps,
                round.knee.map_or("none".into(), |k| format!("{k:.0}")),
                if round.client_limited {
                    " (at least: the client was behind)"
                } else {
                    ""
                },
                ratio.map_or("-".into(), |x| format!("{x:.2}x")),
                round
                    .knee_p99_ns
                    .map_or("-".into(), |n| duration_ns(n as f64)),
                round.first_failure.as_deref().unwrap_or("none"),
                round
                    .first_failure_lateness_p99_ns
                    .map_or("-".into(), |n| duration_ns(n as f64)),
            );
        }
        let verdict = every_round_at_most(&ratios, KNEE_WITHIN);
        verdicts.push(format!(
            "{} (`{}`, {} connections): the knee within {KNEE_WITHIN}x of the closed-loop rate in every round: {verdict} (reproduce: `OUT=results/{}/knee-vs-closed.json scripts/knee-vs-closed {}`)",
            f.machine, f.store, f.connections, f.machine, f.store
        ));
    }
    for v in verdicts {
        let _ = write!(s, "\n{v}.");
    }
    Ok(s)
}

/// One table for every machine folder that has the file.
pub(crate) fn section(r: &mut Results) -> Result<String, DecisionsError> {
    let files = machine_files(r, "load-vs-wrk.json")?;
    let mut s = String::from(
        "| machine | store served | connections | rounds | wrk req/s (median) | `storelab load` req/s (median) | wrk over `storelab load`, per round | as fast as wrk (within 5%) |\n\
         |---|---|---:|---:|---:|---:|---|---|\n",
    );
    if files.is_empty() {
        s.push_str("| (no `load-vs-wrk.json` yet: run `scripts/load-vs-wrk`) | | | | | | | |\n");
    }
    let mut commands = Vec::new();
    for path in files {
        let f: LoadVsWrk = read_json(&path)?;
        check_folder(&path, &f.machine)?;
        for c in &f.by_connections {
            rows(&mut s, &f, c);
        }
        commands.push(format!(
            "`OUT=results/{}/load-vs-wrk.json scripts/load-vs-wrk {}` ({} tasks, {} s per run, {} client thread(s) for both tools)",
            f.machine, f.store, f.prefill, f.seconds_per_run, f.client_threads
        ));
    }
    if !commands.is_empty() {
        let _ = write!(s, "\nReproduce: {}.", commands.join("; "));
    }
    Ok(s)
}

/// "Every round's ratio is at most `limit`" ([`rules::counts_at_most`] on
/// the rounds' lowest and highest), as the verdict's label; a round with no
/// ratio (no knee) counts as infinitely far.
fn every_round_at_most(ratios: &[f64], limit: f64) -> String {
    if ratios.is_empty() {
        return "untestable (no round)".to_owned();
    }
    let lo = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    rules::counts_at_most((lo, hi), limit).label()
}

fn rows(s: &mut String, f: &LoadVsWrk, c: &ByConnections) {
    let ratios = &c.ratio_wrk_over_storelab;
    let verdict = every_round_at_most(ratios, AS_FAST);
    let errors = if c.errors > 0 {
        format!(" ({} errors)", c.errors)
    } else {
        String::new()
    };
    let _ = writeln!(
        s,
        "| {} | `{}` | {} | {} | {:.0} | {:.0} | {}{errors} | {verdict} |",
        f.machine,
        f.store,
        c.connections,
        ratios.len(),
        storelab_stats::median(&c.wrk_rps),
        storelab_stats::median(&c.storelab_rps),
        ratios
            .iter()
            .map(|r| format!("{r:.2}"))
            .collect::<Vec<_>>()
            .join(", "),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(ratios: &[f64]) -> LoadVsWrk {
        LoadVsWrk {
            store: "dense".into(),
            machine: "m".into(),
            prefill: 10,
            seconds_per_run: 1,
            client_threads: 1,
            by_connections: vec![ByConnections {
                connections: 4,
                wrk_rps: vec![100.0; ratios.len()],
                storelab_rps: ratios.iter().map(|r| 100.0 / r).collect(),
                ratio_wrk_over_storelab: ratios.to_vec(),
                errors: 0,
            }],
        }
    }

    fn row(ratios: &[f64]) -> String {
        let f = file(ratios);
        let mut s = String::new();
        rows(&mut s, &f, &f.by_connections[0]);
        s
    }

    #[test]
    fn the_knee_is_within_2x_only_when_every_round_is() {
        assert_eq!(every_round_at_most(&[1.2, 1.9], KNEE_WITHIN), "**holds**");
        assert_eq!(
            every_round_at_most(&[10.9, 4.5], KNEE_WITHIN),
            "**does not hold**"
        );
        assert_eq!(
            every_round_at_most(&[1.5, 4.5], KNEE_WITHIN),
            "**inconclusive**"
        );
        // A round with no knee at all is as far as can be.
        assert_eq!(
            every_round_at_most(&[1.5, f64::INFINITY], KNEE_WITHIN),
            "**inconclusive**"
        );
        assert_eq!(
            every_round_at_most(&[f64::INFINITY], KNEE_WITHIN),
            "**does not hold**"
        );
        assert!(every_round_at_most(&[], KNEE_WITHIN).contains("untestable"));
    }

    #[test]
    fn as_fast_holds_only_when_every_round_is_within_5_percent() {
        assert!(
            row(&[0.98, 1.04, 1.01]).contains("**holds**"),
            "{}",
            row(&[0.98])
        );
        assert!(row(&[1.10, 1.22, 1.06]).contains("**does not hold**"));
        assert!(row(&[1.01, 1.20]).contains("**inconclusive**"));
        assert!(row(&[]).contains("untestable"));
    }
}
