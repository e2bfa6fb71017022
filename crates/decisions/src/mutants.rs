//! The conformance suite's own test: `scripts/mutants`' result
//! (`results/mutants.json`) as a table, one row per mutated crate.

use std::fmt::Write as _;

use serde::Deserialize;

use crate::DecisionsError;
use crate::{Results, read_json};

/// The parts of `results/mutants.json` (schema `storelab-mutants/2`) the
/// table shows.
#[derive(Debug, Deserialize)]
pub(crate) struct MutantsFile {
    pub schema: String,
    pub commit: String,
    pub date: String,
    pub crates: std::collections::BTreeMap<String, CrateResult>,
    pub summary: Summary,
}

#[derive(Debug, Deserialize)]
pub(crate) struct CrateResult {
    /// The commit this crate was measured at, when an earlier run's figures
    /// were kept beside a later run of other crates.
    #[serde(default)]
    pub commit: Option<String>,
    pub viable: usize,
    pub caught: usize,
    pub caught_every_run: usize,
    pub racy: Vec<Racy>,
    pub missed: Vec<Missed>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Racy {
    #[serde(default)]
    pub runs: usize,
    #[serde(default)]
    pub caught: usize,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Missed {
    pub why: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Summary {
    pub viable: usize,
    pub caught_in_run: usize,
    pub caught_every_run: usize,
    pub killed_after: usize,
    pub equivalent_or_not_compiled: usize,
    pub open_survivors: usize,
    pub score_now: Option<f64>,
}

/// How a survivor is explained in `results/mutants-explained.tsv`.
fn is_killed(why: &str) -> bool {
    why.starts_with("KILLED")
}

fn is_equivalent(why: &str) -> bool {
    why.starts_with("equivalent") || why.starts_with("test code compiled only")
}

/// The table and the score line.
pub(crate) fn render(f: &MutantsFile) -> Result<String, DecisionsError> {
    if f.schema != "storelab-mutants/2" {
        return Err(DecisionsError::Schema {
            file: "results/mutants.json",
            found: f.schema.clone(),
            want: "storelab-mutants/2",
            fix: "SUMMARIZE_ONLY=1 scripts/mutants",
        });
    }
    let mut s = format!(
        "`results/mutants.json` (cargo-mutants 27.1.0 at {}, {}). Each viable mutant is in exactly one of the last five columns; a racy kill not caught in all its repeats (flaky) or not repeated counts as not caught.\n\n| crate | viable mutants | caught in the run | racy kills caught every time of their repeats | caught in every run | flaky or unrepeated | killed by tests added since | equivalent or not compiled | open |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        f.commit, f.date
    );
    for (name, c) in &f.crates {
        let repeated: Vec<&Racy> = c.racy.iter().filter(|r| r.runs > 0).collect();
        let confirmed = repeated.iter().filter(|r| r.caught == r.runs).count();
        let killed = c.missed.iter().filter(|m| is_killed(&m.why)).count();
        let equivalent = c.missed.iter().filter(|m| is_equivalent(&m.why)).count();
        let open = c.missed.len() - killed - equivalent;
        let racy = if c.racy.is_empty() {
            "none".to_owned()
        } else {
            format!("{confirmed} of {}", c.racy.len())
        };
        let at = match &c.commit {
            Some(commit) if *commit != f.commit => format!(" (at {commit})"),
            _ => String::new(),
        };
        let _ = writeln!(
            s,
            "| `{name}`{at} | {} | {} | {racy} | {} | {} | {killed} | {equivalent} | {open} |",
            c.viable,
            c.caught,
            c.caught_every_run,
            c.caught - c.caught_every_run
        );
    }
    let t = &f.summary;
    let _ = writeln!(
        s,
        "| all | {} | {} | | {} | {} | {} | {} | {} |",
        t.viable,
        t.caught_in_run,
        t.caught_every_run,
        t.caught_in_run - t.caught_every_run,
        t.killed_after,
        t.equivalent_or_not_compiled,
        t.open_survivors
    );
    let _ = writeln!(
        s,
        "\nScore: mutants caught in every run, plus survivors killed by a test added since, over viable mutants less the equivalent: **{}**.",
        t.score_now
            .map_or("none".to_owned(), |x| format!("{:.1}%", x * 100.0))
    );
    Ok(s)
}

/// The conformance suite's mutation score (`results/mutants.json`).
pub(crate) fn section_mutants(r: &mut Results) -> Result<String, DecisionsError> {
    render(&read_json(&r.dir.join("mutants.json"))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(schema: &str) -> MutantsFile {
        serde_json::from_str(&format!(
            r#"{{"schema": "{schema}", "commit": "abc", "date": "d",
               "crates": {{"store-x": {{"viable": 10, "caught": 8, "caught_every_run": 7,
                 "racy": [{{"runs": 10, "caught": 10}}, {{"runs": 10, "caught": 9}}],
                 "missed": [{{"why": "KILLED after the run: by t"}}, {{"why": "equivalent: hint"}}]}}}},
               "summary": {{"viable": 10, "caught_in_run": 8, "caught_every_run": 7,
                 "killed_after": 1, "equivalent_or_not_compiled": 1, "open_survivors": 0,
                 "score_now": 0.8889}}}}"#
        ))
        .expect("valid JSON")
    }

    #[test]
    fn a_flaky_kill_is_not_counted_and_survivors_are_sorted() {
        let s = render(&file("storelab-mutants/2")).expect("renders");
        assert!(
            s.contains("| `store-x` | 10 | 8 | 1 of 2 | 7 | 1 | 1 | 1 | 0 |"),
            "{s}"
        );
        assert!(s.contains("**88.9%**"), "{s}");
    }

    #[test]
    fn a_crate_kept_from_an_earlier_run_names_its_commit() {
        let mut f = file("storelab-mutants/2");
        let x = f.crates.get_mut("store-x").expect("store-x");
        x.commit = Some("abc".into());
        let s = render(&f).expect("renders");
        assert!(
            s.contains("| `store-x` | 10 |"),
            "same commit: no note: {s}"
        );
        f.crates.get_mut("store-x").expect("store-x").commit = Some("old".into());
        let s = render(&f).expect("renders");
        assert!(s.contains("| `store-x` (at old) | 10 |"), "{s}");
    }

    #[test]
    fn an_old_schema_is_refused_with_the_command_to_fix_it() {
        let err = render(&file("storelab-mutants/1")).expect_err("refused");
        assert!(
            err.to_string()
                .contains("want storelab-mutants/2: run SUMMARIZE_ONLY=1 scripts/mutants"),
            "{err}"
        );
    }
}
