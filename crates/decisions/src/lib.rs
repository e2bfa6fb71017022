//! `storelab decisions`: regenerates the figures in DECISIONS.md from the
//! committed result files.
//!
//! DECISIONS.md holds sections between `<!-- gen:NAME -->` and
//! `<!-- /gen:NAME -->`; this module rewrites what lies between each pair
//! and leaves everything else alone, so regenerating is idempotent. Each
//! claim of the decision log is one generated block: the log's claim and
//! figure, this lab's figures with 95% CIs and Mann-Whitney p-values, the
//! command that reproduces them, and a verdict decided by a stated rule
//! from the same figures (so a re-run cannot leave a stale verdict).
//!
//! This file holds the machinery every section shares: the result files
//! (`Results`), the two passes over the document, the table of sections
//! (`SECTIONS`, marker name to function), and the helpers that compare two
//! cells and write a claim's block (`versus`, `describe`, `line`, `judge`,
//! `block`). Each section, or family of sections, has its own
//! file, in the document's order:
//!
//! - `calibration`: the family of comparisons, and the lab's own error;
//!   `drift`: `compare --normalize` against real drift;
//! - `tables`: where the figures come from (machines, the seed run's table);
//! - `log_claims`: the log's claims replayed; `micro`: its micro-claims
//!   (and the criterion import); `http`: its RPS estimates; `cache`: its
//!   cache claims in cachegrind's simulated cache;
//! - `targets`: the targets; `hot`: hot keys; `soak`: the soak run;
//!   `knobs`: the log's future opportunities;
//! - `workloads`: the field's workloads; `many_cores`: other machines;
//!   `rare_mix`: exact mixes; `hyaline`: the 16-core issue's 2-core
//!   proxies; `load_client`: the load generator against wrk;
//!   `mutants`: the conformance suite's mutation score.
//!
//! [`rules`] holds the verdict rules they all apply.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use storelab_render::table::human;
use storelab_results::{Cell, Machine, Metric, RunFile};
use storelab_stats::paired::{PairedRatio, Verdict, paired_ratio};
use storelab_stats::{Summary, summarize};

mod cache;
mod calibration;
mod drift;
mod error;
mod hot;
mod http;
mod hyaline;
mod knobs;
mod load_client;
mod log_claims;
mod many_cores;
mod micro;
mod mutants;
mod rare_mix;
mod remote;
pub mod rules;
mod soak;
mod tables;
mod targets;
mod workloads;

pub use error::DecisionsError;
pub use micro::{CRITERION_ROUND, import_criterion};
pub use soak::soak_grew;

use rules::Outcome;

const ALPHA: f64 = 0.05;

/// The result files the document draws on, loaded on first use.
struct Results {
    dir: PathBuf,
    /// By path relative to `dir`.
    files: BTreeMap<PathBuf, RunFile>,
    /// Paired comparisons in the whole document (0 on the counting pass).
    family: usize,
    /// The short name of the lab's own machine, whose files lie directly in
    /// `dir` (other machines' lie in `dir/<name>/`); read from `seed.json`.
    home: Option<String>,
}

impl Results {
    /// A file of the lab's own machine. Every such file must come from the
    /// same machine as `seed.json`: the verdicts name that machine, so a
    /// file from another one belongs in its own folder.
    fn get(&mut self, name: &str) -> Result<&RunFile, DecisionsError> {
        let home = match &self.home {
            Some(h) => h.clone(),
            None => {
                let h = self.get_rel(Path::new("seed.json"))?.machine.name();
                self.home = Some(h.clone());
                h
            }
        };
        let file = self.get_rel(Path::new(name))?;
        let name_here = file.machine.name();
        if name_here != home {
            return Err(DecisionsError::ForeignMachine {
                file: name.to_owned(),
                found: name_here,
                home,
            });
        }
        Ok(file)
    }

    /// Any machine's file, by its path relative to the results folder.
    fn get_rel(&mut self, rel: &Path) -> Result<&RunFile, DecisionsError> {
        if !self.files.contains_key(rel) {
            let file = RunFile::read(&self.dir.join(rel))?;
            self.files.insert(rel.to_owned(), file);
        }
        Ok(&self.files[rel])
    }

    /// The lab's own machine's short name.
    fn home(&mut self) -> Result<String, DecisionsError> {
        self.get("seed.json")?;
        Ok(self.home.clone().unwrap_or_default())
    }
}

/// Rewrites every generated section of `doc`. Two passes: the first counts
/// the paired comparisons the document makes (m), the second computes each
/// interval at 1 - 0.05/m (Bonferroni), so that every verdict's interval
/// holds together with all the others at 95%.
pub fn regenerate(doc: &str, results_dir: &Path) -> Result<String, DecisionsError> {
    let mut results = Results {
        dir: results_dir.to_owned(),
        files: BTreeMap::new(),
        family: 0,
        home: None,
    };
    let home = results.home()?;
    HOME.with(|h| h.replace(home));
    FAMILY.with(|f| f.set((0, 1.0 - ALPHA)));
    pass(doc, &mut results)?;
    let m = FAMILY.with(|f| f.get().0).max(1);
    results.family = m;
    FAMILY.with(|f| f.set((0, 1.0 - ALPHA / m as f64)));
    let out = pass(doc, &mut results);
    FAMILY.with(|f| f.set((0, 1.0 - ALPHA)));
    out
}

fn pass(doc: &str, results: &mut Results) -> Result<String, DecisionsError> {
    let mut out = String::with_capacity(doc.len());
    let mut rest = doc;
    while let Some(start) = rest.find("<!-- gen:") {
        let (before, tail) = rest.split_at(start);
        out += before;
        let name_end = tail.find(" -->").ok_or(DecisionsError::UnclosedMarker)?;
        let name = &tail["<!-- gen:".len()..name_end];
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            // Not a marker (prose that quotes one): keep it as text.
            out += "<!-- gen:";
            rest = &tail["<!-- gen:".len()..];
            continue;
        }
        let close = format!("<!-- /gen:{name} -->");
        let Some(end) = tail.find(&close) else {
            return Err(DecisionsError::NoClosingMarker {
                name: name.to_owned(),
                close,
            });
        };
        let body = generate(name, results).map_err(|e| DecisionsError::Section {
            name: name.to_owned(),
            source: Box::new(e),
        })?;
        let _ = write!(out, "<!-- gen:{name} -->\n{}\n{close}", body.trim_end());
        rest = &tail[end + close.len()..];
    }
    out += rest;
    Ok(out)
}

fn cell<'a>(file: &'a RunFile, store: &str, threads: usize) -> Result<&'a Cell, DecisionsError> {
    file.cell(store, threads)
        .ok_or_else(|| DecisionsError::NoCell {
            store: store.to_owned(),
            threads,
        })
}

/// Median ns/op with its CI, e.g. "118 ns/op ±4%".
fn ns(s: &Summary) -> String {
    match s.ci_half_width_pct() {
        Some(p) => format!("{} ns/op ±{p:.0}%", human(s.median)),
        None => format!("{} ns/op", human(s.median)),
    }
}

thread_local! {
    /// The family of paired comparisons the document makes: how many
    /// (counted on a first pass) and the confidence of each interval on the
    /// second (Bonferroni: 1 - 0.05 / m, so that all m intervals hold
    /// together at 95%).
    static FAMILY: std::cell::Cell<(usize, f64)> = const { std::cell::Cell::new((0, 0.95)) };
    /// The lab's own machine's short name (results/seed.json's), which every
    /// verdict on the top-level files names beside its thread counts: those
    /// files all come from that machine ([`Results::get`] refuses others).
    static HOME: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// "epyc-2c, 2 thread(s)": a thread count on the lab's own machine.
fn on_home(threads: usize) -> String {
    HOME.with(|h| format!("{}, {threads} thread(s)", h.borrow()))
}

/// The confidence each paired interval is computed at.
fn family_confidence() -> f64 {
    FAMILY.with(|f| f.get().1)
}

/// How `a` compares with `b` on ns/op.
struct Versus {
    a: Summary,
    b: Summary,
    /// median(b) / median(a) (per-round ratios when paired): above 1, a is
    /// faster.
    ratio: f64,
    /// The per-round ratio b/a with its family-wise interval.
    paired: PairedRatio,
    /// Either cell had a thread that ran markedly slower than another.
    unfair: bool,
}

impl Versus {
    fn significant(&self) -> bool {
        matches!(self.paired.verdict(1.0), Verdict::Above | Verdict::Below)
    }

    fn p(&self) -> String {
        self.p_dir(false)
    }

    /// As [`Versus::p`]; `invert` prints the interval of the inverse ratio
    /// (a/b), for a headline that says "as slow".
    fn p_dir(&self, invert: bool) -> String {
        let p = &self.paired;
        match p.ci {
            Some((lo, hi)) => format!(
                "ratio {:.2}-{:.2} at {:.2}%, sign test p={}, {} rounds",
                if invert { 1.0 / hi } else { lo },
                if invert { 1.0 / lo } else { hi },
                p.confidence * 100.0,
                if p.p < 0.001 {
                    "<0.001".to_owned()
                } else {
                    format!("{:.3}", p.p)
                },
                p.n
            ),
            None => format!(
                "{} rounds give no interval at {:.2}%",
                p.n,
                p.confidence * 100.0
            ),
        }
    }
}

/// Cells of one run: per-round ratios, paired by repetition, at the
/// document's family-wise confidence.
fn versus(a: &Cell, b: &Cell) -> Versus {
    FAMILY.with(|f| {
        let (n, c) = f.get();
        f.set((n + 1, c));
    });
    let paired = paired_ratio(a, b, Metric::NsPerOp, family_confidence());
    let (va, vb) = (Metric::NsPerOp.values(a), Metric::NsPerOp.values(b));
    Versus {
        a: summarize(&va, 0.95),
        b: summarize(&vb, 0.95),
        ratio: paired.median,
        paired,
        unfair: a.unfair() || b.unfair(),
    }
}

/// A descriptive per-round ratio b/a at 95%, outside the document's family
/// of tested comparisons (tables that describe, not verdicts).
fn describe(a: &Cell, b: &Cell) -> PairedRatio {
    paired_ratio(a, b, Metric::NsPerOp, 0.95)
}

/// "`a` 66 ns/op ±6% vs `b` 118 ns/op ±4%: `a` is 1.79x as fast (ratio ...)"
fn line(a_name: &str, b_name: &str, v: &Versus) -> String {
    let verdict = if !v.significant() {
        "no significant difference".to_owned()
    } else if v.ratio >= 1.0 {
        format!("`{a_name}` is {:.2}x as fast", v.ratio)
    } else {
        format!("`{a_name}` is {:.2}x as slow", 1.0 / v.ratio)
    };
    let unfair = if v.unfair {
        " [unfair: a thread was starved; see the fair column]"
    } else {
        ""
    };
    format!(
        "`{a_name}` {} vs `{b_name}` {}: {verdict} ({}){unfair}",
        ns(&v.a),
        ns(&v.b),
        v.p_dir(v.significant() && v.ratio < 1.0)
    )
}

/// Applies `rule` to the paired ratio of each thread count, as
/// "N thread(s): outcome" phrases, and combines them with
/// [`rules::everywhere`].
fn judge(vs: &[(usize, Versus)], rule: impl Fn(&PairedRatio) -> Outcome) -> (Outcome, String) {
    let outcomes: Vec<(usize, Outcome)> = vs
        .iter()
        .map(|(t, v)| {
            let o = rule(&v.paired);
            (*t, o)
        })
        .collect();
    let each: Vec<String> = outcomes
        .iter()
        .map(|(t, o)| {
            let unfair = if vs.iter().any(|(u, v)| u == t && v.unfair) {
                ", unfair cell"
            } else {
                ""
            };
            format!("{}: {}{unfair}", on_home(*t), o.label().replace("**", ""))
        })
        .collect();
    let all: Vec<Outcome> = outcomes.into_iter().map(|(_, o)| o).collect();
    (rules::everywhere(&all), each.join("; "))
}

fn threads_of(file: &RunFile) -> Vec<usize> {
    file.thread_counts()
}

fn command(file: &RunFile) -> String {
    // The recorded command line, with the binary path made portable.
    let cmd = &file.machine.command;
    let args = cmd.split_once(' ').map_or("", |(_, a)| a);
    format!("`cargo run --release -p storelab -- {args}`")
}

fn block(claim: &str, log_figure: &str, ours: &[String], cmd: &str, verdict: &str) -> String {
    let mut s = String::new();
    // "Target 1: ..." is the target, labelled as such; anything else
    // is the log's claim.
    let (label, claim) = match claim.split_once(": ") {
        Some((label, rest)) if label.starts_with("Target") => (label, rest),
        _ => ("The log", claim),
    };
    let _ = writeln!(s, "- **{label}:** {claim} {log_figure}");
    let _ = writeln!(s, "- **Here:**");
    for o in ours {
        let _ = writeln!(s, "  - {o}");
    }
    let _ = writeln!(s, "- **Reproduce:** {cmd}");
    let _ = writeln!(s, "- **Verdict:** {verdict}");
    s
}

/// Sentences for a reader, and the comparisons they came from, per thread count.
type Compared = (Vec<String>, Vec<(usize, Versus)>);

/// Compares `a` with `b` at every thread count of `file`; returns the lines
/// and the comparisons.
fn across_threads(file: &RunFile, a: &str, b: &str) -> Result<Compared, DecisionsError> {
    let mut lines = Vec::new();
    let mut vs = Vec::new();
    for t in threads_of(file) {
        if let (Some(ca), Some(cb)) = (file.cell(a, t), file.cell(b, t)) {
            let v = versus(ca, cb);
            lines.push(format!(
                "{}, {t} thread(s): {}",
                file.machine.name(),
                line(a, b, &v)
            ));
            vs.push((t, v));
        }
    }
    if vs.is_empty() {
        return Err(DecisionsError::NoCommonThreads {
            a: a.to_owned(),
            b: b.to_owned(),
        });
    }
    Ok((lines, vs))
}

/// A generated section: its marker name and the function that writes it.
type Section = (
    &'static str,
    fn(&mut Results) -> Result<String, DecisionsError>,
);

/// Every generated section of DECISIONS.md and README.md, by marker name.
const SECTIONS: &[Section] = &[
    ("family", calibration::section_family),
    ("calibration", calibration::section_calibration),
    ("drift", drift::section_drift),
    ("mutants", mutants::section_mutants),
    ("cache-replay", cache::section_cache_replay),
    ("reads-writes", log_claims::section_reads_writes),
    ("contention", log_claims::section_contention),
    ("log-arithmetic", log_claims::section_log_arithmetic),
    ("machine", tables::section_machine),
    ("readme-output", tables::section_readme_output),
    ("seed-table", tables::section_seed_table),
    ("sharding", log_claims::section_sharding),
    ("shardunit", log_claims::section_shardunit),
    ("pool", log_claims::section_pool),
    ("channel", log_claims::section_channel),
    ("lockfree", log_claims::section_lockfree),
    ("concurrent-maps", log_claims::section_concurrent_maps),
    ("micro", micro::section_micro),
    ("rps", http::section_rps),
    ("http", http::section_http),
    ("target-mixed", targets::section_target_mixed),
    ("target-get-all", targets::section_target_get_all),
    ("target-actor", targets::section_target_actor),
    ("knob-shards", knobs::section_knob_shards),
    ("knob-visit", knobs::section_knob_visit),
    ("hot-table", hot::section_hot_table),
    ("hot-goals", hot::section_hot_goals),
    ("hot-lowest", hot::section_hot_lowest),
    ("hot-usl", hot::section_hot_usl),
    ("soak", soak::section_soak),
    ("workloads-ycsb", workloads::section_ycsb),
    ("workloads-cmb", workloads::section_cmb),
    ("workloads-write-heavy", workloads::section_write_heavy),
    ("workloads-growth", workloads::section_growth),
    ("workloads-memory", workloads::section_memory),
    ("http-sweep", workloads::section_http_sweep),
    ("many-cores-machines", many_cores::section_machines),
    ("many-cores-leaders", many_cores::section_leaders),
    ("many-cores-scaling", many_cores::section_scaling),
    ("many-cores-verdicts", many_cores::section_verdicts),
    ("many-cores-log", many_cores::section_log),
    ("many-cores-affinity", many_cores::section_affinity),
    ("many-cores-fairness", many_cores::section_fairness),
    ("many-cores-floor", many_cores::section_floor),
    ("rare-mix", rare_mix::section),
    ("hyaline-proxies", hyaline::section_proxies),
    ("load-vs-wrk", load_client::section),
    ("knee-vs-closed", load_client::section_knee),
    ("leaving-one-process", remote::section),
];

fn generate(name: &str, r: &mut Results) -> Result<String, DecisionsError> {
    let (_, write) = SECTIONS.iter().find(|(n, _)| *n == name).ok_or_else(|| {
        DecisionsError::UnknownSection {
            name: name.to_owned(),
        }
    })?;
    write(r)
}

/// `results/MACHINE/NAME` for every machine folder that has it, by folder
/// name (check each with [`check_folder`]).
pub(crate) fn machine_files(r: &Results, name: &str) -> Result<Vec<PathBuf>, DecisionsError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(&r.dir)
        .map_err(|source| DecisionsError::Read {
            path: r.dir.clone(),
            source,
        })?
        .filter_map(|d| d.ok().map(|d| d.path().join(name)))
        .filter(|p| p.exists())
        .collect();
    files.sort();
    Ok(files)
}

/// The folder a machine's file lies in must be named for that machine.
pub(crate) fn check_folder(path: &std::path::Path, machine: &str) -> Result<(), DecisionsError> {
    let dir = path
        .parent()
        .and_then(|d| d.file_name())
        .map(|d| d.to_string_lossy().into_owned())
        .unwrap_or_default();
    if machine == dir {
        Ok(())
    } else {
        Err(DecisionsError::MisplacedMachine {
            dir: PathBuf::from(dir),
            found: machine.to_owned(),
        })
    }
}

/// A result file that is not a run file (its own schema).
fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, DecisionsError> {
    let text = std::fs::read_to_string(path).map_err(|source| DecisionsError::Read {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| DecisionsError::Json {
        path: path.to_owned(),
        source,
    })
}

/// The JSON files in `dir` whose names start with `prefix`, sorted.
fn json_files(dir: &Path, prefix: &str) -> Result<Vec<PathBuf>, DecisionsError> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|source| DecisionsError::Read {
            path: dir.to_owned(),
            source,
        })?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "json")
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
        })
        .collect();
    paths.sort();
    Ok(paths)
}

/// A machine record's commit, short, marked when the tree was dirty.
fn short_commit(m: &Machine) -> String {
    let c: String = m.git_commit.chars().take(7).collect();
    if m.git_dirty {
        format!("{c} (dirty)")
    } else {
        c
    }
}

fn pct((k, n): (usize, usize)) -> f64 {
    k as f64 / n.max(1) as f64 * 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regeneration_replaces_only_marked_sections_and_is_idempotent() {
        let dir = std::env::temp_dir().join(format!("storelab-decisions-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let mut file = storelab_results::fixture::file(vec![]);
        file.machine.command = "storelab run --preset seed".into();
        file.write(&dir.join("seed.json")).expect("writes");
        let doc = "intro\n<!-- gen:rps -->\nstale\n<!-- /gen:rps -->\noutro\n";
        let once = regenerate(doc, &dir).expect("regenerates");
        assert!(
            once.starts_with("intro\n<!-- gen:rps -->\n| store |"),
            "{once}"
        );
        assert!(once.ends_with("<!-- /gen:rps -->\noutro\n"), "{once}");
        assert!(!once.contains("stale"));
        assert_eq!(regenerate(&once, &dir).expect("again"), once, "idempotent");
        assert!(matches!(
            regenerate("<!-- gen:nope -->x<!-- /gen:nope -->", &dir),
            Err(DecisionsError::Section { source, .. })
                if matches!(*source, DecisionsError::UnknownSection { .. })
        ));
        assert!(
            regenerate("<!-- gen:rps -->x", &dir)
                .unwrap_err()
                .to_string()
                .contains("no closing marker")
        );
    }
}
