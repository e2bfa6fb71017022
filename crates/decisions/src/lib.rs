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

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use storelab_render::table::{duration_ns, human, run_header, run_table};
use storelab_results::{Cell, Family, Machine, Metric, RunFile, SCHEMA, Sample, StoreInfo};
use storelab_stats::paired::{PairedRatio, Verdict, paired_ratio};
use storelab_stats::{Significance, Summary, mann_whitney, median, summarize};

mod cache;
mod drift;
mod many_cores;
mod mutants;
pub mod rules;
mod workloads;

use rules::Outcome;
use workload::ReadMode;

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
    fn get(&mut self, name: &str) -> Result<&RunFile, String> {
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
            return Err(format!(
                "results/{name} was measured on '{name_here}', not on the lab's machine '{home}' \
                 (results/seed.json's): move it to results/{name_here}/"
            ));
        }
        Ok(file)
    }

    /// Any machine's file, by its path relative to the results folder.
    fn get_rel(&mut self, rel: &Path) -> Result<&RunFile, String> {
        if !self.files.contains_key(rel) {
            let file = RunFile::read(&self.dir.join(rel))?;
            self.files.insert(rel.to_owned(), file);
        }
        Ok(&self.files[rel])
    }

    /// The lab's own machine's short name.
    fn home(&mut self) -> Result<String, String> {
        self.get("seed.json")?;
        Ok(self.home.clone().unwrap_or_default())
    }
}

/// Rewrites every generated section of `doc`. Two passes: the first counts
/// the paired comparisons the document makes (m), the second computes each
/// interval at 1 - 0.05/m (Bonferroni), so that every verdict's interval
/// holds together with all the others at 95%.
pub fn regenerate(doc: &str, results_dir: &Path) -> Result<String, String> {
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

fn pass(doc: &str, results: &mut Results) -> Result<String, String> {
    let mut out = String::with_capacity(doc.len());
    let mut rest = doc;
    while let Some(start) = rest.find("<!-- gen:") {
        let (before, tail) = rest.split_at(start);
        out += before;
        let name_end = tail
            .find(" -->")
            .ok_or_else(|| "an unclosed '<!-- gen:' marker".to_owned())?;
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
        let end = tail
            .find(&close)
            .ok_or_else(|| format!("section '{name}' has no closing marker {close}"))?;
        let body = generate(name, results).map_err(|e| format!("section '{name}': {e}"))?;
        let _ = write!(out, "<!-- gen:{name} -->\n{}\n{close}", body.trim_end());
        rest = &tail[end + close.len()..];
    }
    out += rest;
    Ok(out)
}

fn cell<'a>(file: &'a RunFile, store: &str, threads: usize) -> Result<&'a Cell, String> {
    file.cell(store, threads)
        .ok_or_else(|| format!("no result for {store} at {threads} thread(s)"))
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
    // "Target 1: ..." is the issue's target, labelled as such; anything else
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
fn across_threads(file: &RunFile, a: &str, b: &str) -> Result<Compared, String> {
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
        return Err(format!("no thread count has both {a} and {b}"));
    }
    Ok((lines, vs))
}

/// A generated section: its marker name and the function that writes it.
type Section = (&'static str, fn(&mut Results) -> Result<String, String>);

/// Every generated section of DECISIONS.md and README.md, by marker name.
const SECTIONS: &[Section] = &[
    ("family", section_family),
    ("calibration", section_calibration),
    ("drift", section_drift),
    ("mutants", section_mutants),
    ("cache-replay", section_cache_replay),
    ("reads-writes", section_reads_writes),
    ("contention", section_contention),
    ("log-arithmetic", section_log_arithmetic),
    ("machine", section_machine),
    ("readme-output", section_readme_output),
    ("seed-table", section_seed_table),
    ("sharding", section_sharding),
    ("shardunit", section_shardunit),
    ("pool", section_pool),
    ("channel", section_channel),
    ("lockfree", section_lockfree),
    ("concurrent-maps", section_concurrent_maps),
    ("micro", section_micro),
    ("rps", section_rps),
    ("http", section_http),
    ("target-mixed", section_target_mixed),
    ("target-get-all", section_target_get_all),
    ("target-actor", section_target_actor),
    ("knob-shards", section_knob_shards),
    ("knob-visit", section_knob_visit),
    ("hot-table", section_hot_table),
    ("hot-goals", section_hot_goals),
    ("hot-lowest", section_hot_lowest),
    ("hot-usl", section_hot_usl),
    ("soak", section_soak),
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
];

fn generate(name: &str, r: &mut Results) -> Result<String, String> {
    let (_, write) = SECTIONS
        .iter()
        .find(|(n, _)| *n == name)
        .ok_or_else(|| format!("unknown generated section '{name}'"))?;
    write(r)
}

/// How many paired comparisons the document makes, and at what confidence.
fn section_family(r: &mut Results) -> Result<String, String> {
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

/// The log's read-only and write-only figures, replayed on read=100 and
/// update=100 runs.
fn section_reads_writes(r: &mut Results) -> Result<String, String> {
    let mut out = String::new();
    let claims: [(&str, &str, &str, f64, &str, &str); 6] = [
        (
            "reads.json",
            "shard",
            "memory",
            15.2,
            "Reads: ShardStore 15.2x faster than MemoryStore.",
            "(155.9 → 10.28 ns/op)",
        ),
        (
            "writes.json",
            "shard",
            "memory",
            207.5 / 60.36,
            "Writes: ShardStore 207.5 → 60.36 ns/op against MemoryStore (3.4x, computed from the log's table).",
            "(207.5 → 60.36 ns/op; elsewhere 210 → 61.3, \"71% improvement\")",
        ),
        (
            "reads.json",
            "memory",
            "channel",
            4.2,
            "Reads: ChannelStore 4.2x slower than even MemoryStore.",
            "(666.1 vs 155.9 ns/op)",
        ),
        (
            "writes.json",
            "memory",
            "channel",
            3.0,
            "Writes: ChannelStore 3x slower than even MemoryStore.",
            "(603.1 vs 207.5 ns/op)",
        ),
        (
            "reads.json",
            "shard",
            "channel",
            57.0,
            "Reads: ChannelStore 57x slower than ShardStore.",
            "(666.1 vs 10.28 ns/op, which is 64.8x; 57x matches ShardStoreGopool's 11.57)",
        ),
        (
            "writes.json",
            "shard",
            "channel",
            603.1 / 60.36,
            "Writes: ChannelStore \"58x\" slower than ShardStore; its own figures give 10.0x.",
            "(603.1 vs 60.36 ns/op)",
        ),
    ];
    for (f, fast, slow, factor, claim, figure) in claims {
        let file = r.get(f)?;
        let (lines, vs) = across_threads(file, fast, slow)?;
        let (dir, dir_each) = judge(&vs, rules::faster);
        let (_, each) = judge(&vs, |p| rules::at_least(p, factor));
        let size = Outcome::Untestable(
            "the log's figures are RunParallel ns/op over about 14 goroutines on 14 cores".into(),
        );
        let verdict = format!(
            "`{fast}` faster: {} ({dir_each}); the size ({factor:.1}x): {} (for reference, \
             at least {factor:.1}x here: {each}).",
            dir.label(),
            size.label()
        );
        let _ = writeln!(
            out,
            "{}",
            block(claim, figure, &lines, &command(file), &verdict)
        );
    }
    Ok(out)
}

/// "32x reduction in lock contention": what the busiest shard's share says.
fn section_contention(r: &mut Results) -> Result<String, String> {
    let file = r.get("seed.json")?;
    let info = file
        .store("shard")
        .and_then(|s| s.shard_imbalance.as_ref())
        .ok_or("seed.json has no shard imbalance for shard")?;
    let reduction = info.shards as f64 / info.max_over_mean;
    let (_, ok) = rules::arithmetic(info.shards as f64, info.max_over_mean, 32.0);
    Ok(block(
        "32 shards gave a \"32x reduction in lock contention\".",
        "(no measurement)",
        &[format!(
            "under the seed workload (Zipf 80/20, scrambled), the busiest of `shard`'s {} locks takes {:.2}x its fair share of operations, so the hottest lock sees 1/{:.1} of the single lock's traffic",
            info.shards, info.max_over_mean, reduction
        )],
        &command(file),
        &format!(
            "{}: the busiest lock's traffic falls {reduction:.1}x, not 32x: skewed keys do not spread evenly over shards. (A count over the generated key streams, not a timing: exact for this seed, so no interval. It measures traffic per lock, the cause of contention, not contention itself.)",
            if ok { "**holds**" } else { "**does not hold**" }
        ),
    ))
}

/// The log's own arithmetic, recomputed from its own figures.
fn section_log_arithmetic(_r: &mut Results) -> Result<String, String> {
    let mut s = String::from("| the log says | from its own figures | verdict |\n|---|---|---|\n");
    let rows: [(&str, f64, f64, f64, &str); 5] = [
        (
            "ChannelStore writes \"58x slower\" than ShardStore",
            603.1,
            60.36,
            58.0,
            "x",
        ),
        (
            "ChannelStore reads \"57x slower\" than ShardStore (10.28 ns)",
            666.1,
            10.28,
            57.0,
            "x",
        ),
        (
            "ChannelStore reads \"4.3x slower\" than MemoryStore",
            666.1,
            155.9,
            4.3,
            "x",
        ),
        (
            "\"91% total improvement\" (130 → 11.54 ns)",
            130.0,
            11.54,
            1.0 / (1.0 - 0.91),
            "x (as a speedup)",
        ),
        (
            "ShardStoreGopool (11.57 ns) \"12% additional improvement\" over ShardStore (10.28 ns)",
            10.28,
            11.57,
            1.12,
            "x (ShardStore over Gopool: above 1 is an improvement)",
        ),
    ];
    for (claim, num, den, stated, unit) in rows {
        let (actual, ok) = rules::arithmetic(num, den, stated);
        let _ = writeln!(
            s,
            "| {claim} | {num} / {den} = {actual:.2}{unit} | {} |",
            if ok { "consistent" } else { "**wrong**" }
        );
    }
    // 192-247 KB/s for a year is terabytes, not gigabytes.
    let year_s = 365.25 * 24.0 * 3600.0;
    let (lo, hi) = (192e3 * year_s / 1e12, 247e3 * year_s / 1e12);
    let _ = writeln!(
        s,
        "| \"192-247 KB/second\" at 1000 RPS is \"6-8 GB\" a year | 192-247 KB/s x {year_s:.0} s = {lo:.1}-{hi:.1} TB | **wrong** (TB, not GB) |"
    );
    let _ = writeln!(
        s,
        "\nEach row is `rules::arithmetic` (a ratio within 10% of the stated one is consistent), unit-tested in `crates/decisions/src/rules.rs`."
    );
    Ok(s)
}

/// The lab's own error, from `scripts/calibrate`'s runs: the A/A
/// false-positive rate, the smallest slowdown detected 9 times in 10, and
/// the run-to-run drift of absolute figures.
fn section_calibration(r: &mut Results) -> Result<String, String> {
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
    let _ = writeln!(
        s,
        "- **Run-to-run drift of absolute figures**: between consecutive runs (tens of seconds apart), a cell's median ns/op moved by {:.1}% (median over cells and run pairs; largest {:.1}%). Over hours it moves more (see the field notes): compare runs only through references measured in each (`storelab compare OLD NEW --normalize others`, below).",
        c.drift_median * 100.0,
        c.drift_max * 100.0
    );
    let fixed = RunFile::read(&dir.join("order-fixed.json"))?;
    let reversed = RunFile::read(&dir.join("order-reversed.json"))?;
    let _ = writeln!(
        s,
        "- **No sign of an order effect** (overlapping intervals show no detected difference; they do not prove equivalence): the same four stores run in catalog order and in reverse order (two runs); each store's per-round ratio to `dense`, with its 95% interval:\n"
    );
    let _ = writeln!(
        s,
        "  | store | threads | fixed order | reversed order | intervals overlap |\n  |---|---:|---:|---:|---|"
    );
    for (store, t, a, b) in order_ratios(&fixed, &reversed) {
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
    Ok(s)
}

/// `storelab compare --normalize` on real drift: the committed seed run
/// against each fresh run of `scripts/drift-check` (see [`drift`]).
fn section_drift(r: &mut Results) -> Result<String, String> {
    let dir = r.dir.join("calibrate");
    let paths = json_files(&dir, "drift-")?;
    if paths.is_empty() {
        return Err(format!(
            "no drift-*.json in {}: run scripts/drift-check",
            dir.display()
        ));
    }
    let old = r.get("seed.json")?.clone();
    let mut s = format!(
        "`results/seed.json` ({}, {}) against fresh runs of the same work made later (`scripts/drift-check`). Each way of comparing is `storelab compare results/seed.json NEW` with the option shown, α = 0.05. \"Rows `~`\": tested rows with no significant change. \"False alarms\": rows `--fail-on-regression {}` would fail. \"Planted +10% caught\": one store at a time made {:.0}% slower in the fresh run (its samples times {}, its real noise kept), and whether the gate catches it.\n\n| fresh run | commit | way | rows `~` | false alarms | planted +10% caught |\n|---|---|---|---:|---|---:|\n",
        old.machine.date,
        short_commit(&old.machine),
        drift::GATE_PCT,
        (drift::PLANTED - 1.0) * 100.0,
        drift::PLANTED,
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
            let way = drift::judge_way(&old, &new, reference.clone())?;
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

/// The log's cache claims in cachegrind's simulated cache
/// (`results/cache-replay.json`).
fn section_cache_replay(r: &mut Results) -> Result<String, String> {
    cache::render(&read_json(&r.dir.join("cache-replay.json"))?)
}

/// The conformance suite's mutation score (`results/mutants.json`).
fn section_mutants(r: &mut Results) -> Result<String, String> {
    mutants::render(&read_json(&r.dir.join("mutants.json"))?)
}

/// A result file that is not a run file (its own schema).
fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The JSON files in `dir` whose names start with `prefix`, sorted.
fn json_files(dir: &Path, prefix: &str) -> Result<Vec<PathBuf>, String> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
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

fn pct((k, n): (usize, usize)) -> f64 {
    k as f64 / n.max(1) as f64 * 100.0
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
fn calibration(files: &[RunFile]) -> Result<Calibration, String> {
    if files.len() < 2 {
        return Err("scripts/calibrate needs at least 2 runs".into());
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

fn section_machine(r: &mut Results) -> Result<String, String> {
    let mut s = String::from("| result file | machine | date | command |\n|---|---|---|---|\n");
    for f in [
        "seed.json",
        "reads.json",
        "writes.json",
        "bulk.json",
        "seed-shards.json",
        "seed-visit.json",
        "micro.json",
        "http-closed.json",
        "http-open.json",
        "hot-visit.json",
        "hot-clone.json",
        "hot-update.json",
        "hot-low-ids.json",
        "seed-rcu.json",
        "seed-rcu-visit.json",
        "seed-newest.json",
        "seed-scrambled.json",
    ] {
        // The first nine every document needs; the hot-key runs only where
        // they were made (a fixture set may lack them).
        let optional = ["hot-", "seed-rcu", "seed-newest", "seed-scrambled"]
            .iter()
            .any(|p| f.starts_with(p));
        if optional && !r.dir.join(f).exists() {
            continue;
        }
        let file = r.get(f)?;
        let _ = writeln!(
            s,
            "| `results/{f}` | {} | {} | `{}` |",
            file.machine.summary(),
            file.machine.date,
            file.machine.command.replace('|', "\\|")
        );
    }
    Ok(s)
}

fn section_readme_output(r: &mut Results) -> Result<String, String> {
    let file = r.get("seed.json")?;
    Ok(format!(
        "```text\n{}\n{}\n{}```",
        run_header(file),
        run_table(file).text(),
        storelab_render::table::run_notes(file)
    ))
}

fn section_seed_table(r: &mut Results) -> Result<String, String> {
    let file = r.get("seed.json")?;
    Ok(format!(
        "{}\n{}",
        run_header(file).replace('\n', "  \n"),
        run_table(file).markdown()
    ))
}

fn section_sharding(r: &mut Results) -> Result<String, String> {
    let file = r.get("seed.json")?;
    let (lines, vs) = across_threads(file, "shard", "memory")?;
    let (_, each) = judge(&vs, rules::faster);
    let top = vs.last().map(|(_, v)| v);
    let (direction, size) = top
        .map(|v| &v.paired)
        .map(|p| {
            rules::direction_only(
                p,
                "the log's 10.28 ns/op is RunParallel's wall time over about 14 goroutines, \
                 about 144 ns per goroutine, close to this lab's per-thread figures; its 15.2x \
                 needs a 14-core machine to test",
            )
        })
        .unwrap_or((
            Outcome::Untestable("no paired data".into()),
            Outcome::Untestable("no paired data".into()),
        ));
    let verdict = format!(
        "direction (faster at the most threads measured): {}; size (15.2x): {}. Per thread count, \
         \"shard is faster\": {each}. The claim is about reads; this is the 80/20 mix, and \
         the reads-only replay follows.",
        direction.label(),
        size.label()
    );
    Ok(block(
        "Sharding (ShardStore) made reads 15.2x faster than one RwLock (MemoryStore).",
        "(155.9 → 10.28 ns/op reads; 207.5 → 60.36 ns/op writes)",
        &lines,
        &command(file),
        &verdict,
    ))
}

fn section_shardunit(r: &mut Results) -> Result<String, String> {
    let file = r.get("seed.json")?;
    let (lines, vs) = across_threads(file, "shardunit", "shard")?;
    let (saved_24, each) = judge(&vs, |p| rules::at_least(p, 1.0 / (1.0 - 0.243)));
    let (same, same_each) = judge(&vs, |p| rules::within(p, 0.05));
    let verdict = format!(
        "\"24% saved\" (shard/shardunit at least 1.32x): {} ({each}). \"No difference within \
         5%\": {} ({same_each}).",
        saved_24.label(),
        same.label()
    );
    Ok(block(
        "ShardUnit (map + lock) instead of whole MemoryStores as shards saved 24%.",
        "(16.4 → 12.42 ns/op)",
        &lines,
        &command(file),
        &verdict,
    ))
}

fn section_pool(r: &mut Results) -> Result<String, String> {
    let file = r.get("bulk.json")?;
    let (lines, vs) = across_threads(file, "shard-pool", "shardunit")?;
    let (faster, each) = judge(&vs, rules::faster);
    let (slower, slower_each) = judge(&vs, |p| match rules::faster(p) {
        Outcome::Holds => Outcome::DoesNotHold,
        Outcome::DoesNotHold => Outcome::Holds,
        o => o,
    });
    let short = file.too_short_cells();
    let verdict = format!(
        "\"the pool makes get_all faster\": {} ({each}); \"the pool makes it slower\": {} \
         ({slower_each}). Handing get_all to per-core workers costs two hand-offs and a merge \
         copy; the walk is memory-bound.{}",
        faster.label(),
        slower.label(),
        if short.is_empty() {
            String::new()
        } else {
            format!(" Too short to rank: {}.", short.join(", "))
        }
    );
    Ok(block(
        "Per-core worker pools with a fixed shard-to-core mapping made GetAll 7.4% faster.",
        "(1.625 ms → 1.505 ms)",
        &lines
            .iter()
            .map(|l| l.replace(" ns/op", " ns per get_all"))
            .collect::<Vec<_>>(),
        &command(file),
        &verdict,
    ))
}

fn section_channel(r: &mut Results) -> Result<String, String> {
    let file = r.get("seed.json")?;
    let (lines, vs) = across_threads(file, "shard", "channel")?;
    let mut ours = lines;
    for t in threads_of(file) {
        if let Some(c) = file.cell("channel", t) {
            ours.push(format!(
                "{}: `channel` allocates {:.2} times per operation, {:.0} B/op; `shard` {:.2}, {:.0} B/op",
                on_home(t),
                c.allocs_per_op,
                c.bytes_per_op,
                file.cell("shard", t).map_or(f64::NAN, |s| s.allocs_per_op),
                file.cell("shard", t).map_or(f64::NAN, |s| s.bytes_per_op),
            ));
        }
    }
    let slowest = vs
        .iter()
        .map(|(_, v)| v.ratio)
        .fold(f64::INFINITY, f64::min);
    let _ = slowest;
    let (tenfold, ten_each) = judge(&vs, |p| rules::at_least(p, 10.0));
    let size = Outcome::Untestable(
        "a 14-core RunParallel figure; the reads-only replay is under *Reads alone, writes alone*"
            .into(),
    );
    let verdict = format!(
        "\"57-58x slower\": {}; \"a gap of more than 10x\" (the log's own abandonment \
         criterion) on this workload: {} ({ten_each}). Every call wakes another thread and \
         allocates its reply channel, as the log says. Threads claim work from a shared \
         counter, so a caller the actor starves no longer stretches the wall time (see the fair \
         column). The log's \"no path to improvement\" is tested under *Beyond the log*.",
        size.label(),
        tenfold.label()
    );
    Ok(block(
        "ChannelStore is 57-58x slower than ShardStore, with 192-247 B/op and 3-5 allocs/op; abandoned.",
        "(666.1 ns/op reads vs 11 ns/op)",
        &ours,
        &command(file),
        &verdict,
    ))
}

fn section_lockfree(r: &mut Results) -> Result<String, String> {
    let file = r.get("seed.json")?;
    let (mut lines, vs) = across_threads(file, "dashmap", "papaya")?;
    let (more, vs2) = across_threads(file, "shardunit", "papaya")?;
    lines.extend(more);
    let (vs_dashmap, each) = judge(&vs, rules::faster);
    let (vs_units, each2) = judge(&vs2, rules::faster);
    let verdict = format!(
        "\"locks beat this lock-free map\": against dashmap {} ({each}); against the RwLock \
         shard units {} ({each2}). papaya pins an epoch per operation and boxes its entries (an \
         extra indirection, an extra allocation per update); its advantage is reported at 4+ \
         threads, which this machine cannot show.",
        vs_dashmap.label(),
        vs_units.label()
    );
    Ok(block(
        "\"Lock-free can be slower than locks\" (said of the channel store).",
        "(no figure; the lab tests it on a real lock-free map)",
        &lines,
        &command(file),
        &verdict,
    ))
}

fn section_concurrent_maps(r: &mut Results) -> Result<String, String> {
    // The log's Phase 3 chooses the lock *inside each ShardUnit*: so the
    // comparator is shardunit (an RwLock per unit), not the single-lock store.
    let file = r.get("seed.json")?;
    let mut lines = Vec::new();
    let mut parts = Vec::new();
    for peer in ["dashmap", "scc", "papaya"] {
        let (l, vs) = across_threads(file, "shardunit", peer)?;
        lines.extend(l);
        let (o, each) = judge(&vs, rules::faster);
        parts.push(format!("against {peer} {} ({each})", o.label()));
    }
    Ok(block(
        "\"sync.RWMutex: Chosen - optimal for 80% reads, 20% writes\" inside each ShardUnit; \"sync.Map: Rejected - higher overhead for our access patterns\".",
        "(no figure)",
        &lines,
        &command(file),
        &format!(
            "\"the RwLock units are faster than a concurrent map\": {}. A Mutex variant was not measured.",
            parts.join("; ")
        ),
    ))
}

fn section_micro(r: &mut Results) -> Result<String, String> {
    // A store operation's cost on 1M tasks, to weigh the savings: the
    // fastest median at 1 thread of the seed run, limits aside.
    let op_ns = {
        let seed = r.get("seed.json")?;
        let limits = seed.limits();
        seed.cells
            .iter()
            .filter(|c| c.threads == 1 && !limits.contains(&c.store.as_str()))
            .map(|c| summarize(&Metric::NsPerOp.values(c), 0.95).median)
            .fold(f64::INFINITY, f64::min)
    };
    let file = r.get("micro.json")?;
    if file.preset.as_deref() != Some(CRITERION_ROUND) {
        return Err(
            "micro.json is not made of criterion rounds (one pass per round, merged): run scripts/micro"
                .into(),
        );
    }
    let mut out = String::new();
    // The last field: what the measurement leaves out of the log's claim.
    for (title, a, b, claim, figure, scope) in [
        (
            "Power-of-2 mask versus modulo",
            "shard-by-mask",
            "shard-by-modulo",
            "`id & mask` is faster than `id % n`.",
            "(\"~1 cycle vs ~10-20 cycles\")",
            " The direction is what is judged: the log's cycle counts are not measured here (no cycle counters in this VM), and the ratio above is not a 10-20x gap.",
        ),
        (
            "Atomic versus mutex-guarded id generation",
            "id-atomic",
            "id-mutex",
            "An atomic counter is faster than a mutex-guarded one.",
            "(no figure)",
            " One thread, uncontended, against parking_lot's mutex (std's is below): the log's point, a mutex as the \"bottleneck for all creates\", is about contention, which this does not measure.",
        ),
        (
            "Pre-sized maps",
            "fill-presized",
            "fill-growing",
            "Pre-allocated capacity reduces rehashing while a store fills.",
            "(no figure)",
            " A saving per insert while a map fills: the seed workload creates nothing, so it does not show there; the growth preset times creates.",
        ),
    ] {
        let v = versus(cell(file, a, 1)?, cell(file, b, 1)?);
        let saved = v.b.median - v.a.median;
        let reads_and_updates = a != "fill-presized";
        let verdict = if v.significant() && v.ratio > 1.0 && reads_and_updates {
            format!(
                "**holds** (direction): {saved:.2} ns saved per element, {:.1}% of the fastest store operation on 1M tasks in the seed run ({}); {}.{scope}",
                saved / op_ns * 100.0,
                ns(&Summary {
                    n: 0,
                    median: op_ns,
                    ci: None
                }),
                if saved / op_ns < 0.05 {
                    "too little to show in a store's throughput"
                } else {
                    "enough to show"
                }
            )
        } else if v.significant() && v.ratio > 1.0 {
            format!("**holds**: {saved:.2} ns saved per insert.{scope}")
        } else {
            "**not shown**: no significant difference.".to_owned()
        };
        let _ = writeln!(out, "#### {title}\n");
        out += &block(
            claim,
            figure,
            &[line(a, b, &v).replace(" ns/op", " ns per element")],
            "`scripts/micro` (writes results/micro.json)",
            &verdict,
        );
        out.push('\n');
    }
    if let Some(c) = file.cell("id-std-mutex", 1) {
        let s = summarize(&Metric::NsPerOp.values(c), 0.95);
        let _ = writeln!(
            out,
            "(For reference, `std::sync::Mutex` ids: {}.)",
            ns(&s).replace(" ns/op", " ns per id")
        );
    }
    Ok(out)
}

fn section_rps(r: &mut Results) -> Result<String, String> {
    let file = r.get("seed.json")?;
    let t = *threads_of(file).last().unwrap_or(&1);
    let mut s = String::from("| store | ops/s at the store, median |\n|---|---:|\n");
    for c in file.cells.iter().filter(|c| c.threads == t) {
        let ops = summarize(&Metric::OpsPerSec.values(c), 0.95).median;
        let _ = writeln!(s, "| {} | {} |", c.store, human(ops));
    }
    let _ = writeln!(
        s,
        "\n(at {t} threads, from `results/seed.json`; a store-level ceiling, not HTTP throughput)"
    );
    Ok(s)
}

fn section_http(r: &mut Results) -> Result<String, String> {
    let closed = r.get("http-closed.json")?.clone();
    let open = r.get("http-open.json")?.clone();
    let base = closed
        .cells
        .iter()
        .find(|c| c.store == "memory")
        .ok_or("http-closed.json has no memory store")?
        .clone();
    let mut s = String::from(
        "| store | closed loop, 4 connections: req/s | vs memory (paired by round) | open loop at 2,000 req/s: read p50 | read p99 | client lateness p50 | 404s | 5xx and transport errors |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut slowest = f64::INFINITY;
    let mut slower_than_memory = Vec::new();
    for c in &closed.cells {
        let ops = Metric::OpsPerSec.values(c);
        let sum = summarize(&ops, 0.95);
        slowest = ops.iter().copied().fold(slowest, f64::min);
        let vs = if c.store == "memory" {
            "baseline".to_owned()
        } else {
            // ns/op ratio memory/store: above 1 the store serves more.
            let p = &describe(c, &base);
            if matches!(rules::faster(p), Outcome::DoesNotHold) {
                slower_than_memory.push(format!("`{}` ({:.2}x)", c.store, p.median));
            }
            match p.ci {
                Some((lo, hi)) => format!("{:.2}x ({lo:.2}-{hi:.2})", p.median),
                None => format!("{:.2}x (too few rounds)", p.median),
            }
        };
        let http: Vec<storelab_results::HttpSample> = open
            .cells
            .iter()
            .find(|o| o.store == c.store)
            .map(|o| o.samples.iter().filter_map(|x| x.http).collect())
            .unwrap_or_default();
        let med = |f: fn(&storelab_results::HttpSample) -> u64| -> String {
            if http.is_empty() {
                return "-".into();
            }
            let v: Vec<f64> = http.iter().map(|h| f(h) as f64).collect();
            let sm = summarize(&v, 0.95);
            match sm.ci_half_width_pct() {
                Some(pct) => format!("{} ±{pct:.0}%", duration_ns(sm.median)),
                None => duration_ns(sm.median),
            }
        };
        let total =
            |f: fn(&storelab_results::HttpSample) -> u64| -> u64 { http.iter().map(f).sum() };
        let closed_errors: u64 = c
            .samples
            .iter()
            .filter_map(|x| x.http)
            .map(|h| h.server_errors + h.transport_errors)
            .sum();
        let _ = writeln!(
            s,
            "| {} | {} ±{:.0}% | {vs} | {} | {} | {} | {} | {} |",
            c.store,
            human(sum.median),
            sum.ci_half_width_pct().unwrap_or(f64::NAN),
            med(|h| h.read_p50_ns),
            med(|h| h.read_p99_ns),
            med(|h| h.lateness_p50_ns),
            total(|h| h.not_found),
            closed_errors + total(|h| h.server_errors + h.transport_errors),
        );
    }
    let _ = writeln!(
        s,
        "\nEach server was prefilled with {} tasks (not the 1M of the in-process runs). Every store \
         was served and loaded {} times, each time by a fresh server, in rounds interleaved across \
         stores, so a repetition is a separate run and round k of each store pairs with round k of \
         `memory`; the ratio's interval is at 95% (descriptive, outside the family). Open-loop \
         figures are medians over the runs (±: 95% CI of the median); latency is measured from \
         each request's due time, and the client's own lateness, part of every latency figure, is \
         its own column. Reproduce: `scripts/http-bench` (writes results/http-closed.json and \
         results/http-open.json).",
        closed.workload.keys, closed.reps,
    );
    let slower = if slower_than_memory.is_empty() {
        "no store is shown slower than `memory` over HTTP".to_owned()
    } else {
        format!(
            "{} serve fewer requests than `memory` (their 95% intervals lie below 1)",
            slower_than_memory.join(", ")
        )
    };
    let verdict = if slowest > 2_000.0 {
        format!(
            "**Verdict: the estimates do not hold.** Every store, the faithful channel store included, served at least {:.0} req/s in every run through the whole HTTP stack on this 2-core machine (client included), far above the log's 150-2,000 RPS estimates and its 2,000 RPS target. At these loads HTTP parsing, JSON and the loopback cost more per request than the lock-based stores; {slower}.",
            slowest.floor()
        )
    } else {
        "**Verdict:** at least one store serves fewer than 2,000 req/s here; see the table."
            .to_owned()
    };
    let _ = writeln!(s, "\n{verdict}");
    Ok(s)
}

fn section_target_mixed(r: &mut Results) -> Result<String, String> {
    let file = r.get("seed.json")?;
    let t = *threads_of(file).last().unwrap_or(&1);
    let mut lines = Vec::new();
    let mut outcomes = Vec::new();
    for peer in ["dashmap", "papaya", "scc"] {
        let v = versus(cell(file, "dense", t)?, cell(file, peer, t)?);
        lines.push(format!("{t} threads: {}", line("dense", peer, &v)));
        let need = if peer == "dashmap" { 1.3 } else { 1.0 };
        let o = rules::at_least(&v.paired, need);
        outcomes.push(format!("{need}x {peer}: {}", o.label()));
    }
    // Within 1.25x of the floor: unsync/dense at least 1/1.25.
    let floor = versus(cell(file, "dense", 1)?, cell(file, "unsync", 1)?);
    lines.push(format!(
        "1 thread: `dense` takes {:.2}x the ns/op of the `unsync` floor ({} vs {}; {})",
        1.0 / floor.ratio,
        ns(&floor.a),
        ns(&floor.b),
        floor.p_dir(true)
    ));
    let o = rules::at_least(&floor.paired, 1.0 / 1.25);
    outcomes.push(format!("within 1.25x of unsync: {}", o.label()));
    Ok(block(
        "Target 1: at 2 threads at least 1.3x dashmap's throughput and ahead of papaya and scc; at 1 thread within 1.25x of `unsync`.",
        "",
        &lines,
        &command(file),
        &format!(
            "each part judged on its ratio's interval: {}.",
            outcomes.join("; ")
        ),
    ))
}

fn section_target_get_all(r: &mut Results) -> Result<String, String> {
    let file = r.get("bulk.json")?;
    let mut lines = Vec::new();
    let walks = file
        .store("dense")
        .and_then(|s| s.walk_ns.as_ref())
        .ok_or("bulk.json has no walk floor for dense")?;
    let floor_s = summarize(walks, 0.95);
    let floor = floor_s.median;
    let mut outcome = Outcome::Untestable("no 1-thread cell".into());
    for t in threads_of(file) {
        let d = summarize(&Metric::NsPerOp.values(cell(file, "dense", t)?), 0.95).median;
        let u = summarize(&Metric::NsPerOp.values(cell(file, "shardunit", t)?), 0.95).median;
        lines.push(format!(
            "{}: `dense` snapshot + walk {} per get_all = {:.2}x the floor ({} to walk every slot under its chunk's lock, cloning nothing); `shardunit` (clones every Arc) {} = {:.2}x",
            on_home(t),
            duration_ns(d),
            d / floor,
            duration_ns(floor),
            duration_ns(u),
            u / floor
        ));
        if t == 1 {
            // The walk samples are not rounds of the cell, so no pairing: the
            // ratio's bounds come from the two intervals, conservatively.
            let dense = summarize(&Metric::NsPerOp.values(cell(file, "dense", t)?), 0.95);
            outcome = match (dense.ci, floor_s.ci) {
                (Some((_, dhi)), Some((flo, _))) if dhi / flo <= 3.0 => Outcome::Holds,
                (Some((dlo, _)), Some((_, fhi))) if dlo / fhi > 3.0 => Outcome::DoesNotHold,
                (Some(_), Some(_)) => Outcome::Inconclusive,
                _ => Outcome::Untestable("too few samples for intervals".into()),
            };
        }
    }
    Ok(block(
        "Target 2: get_all over 1M tasks within 3x the cost of merely walking the maps.",
        "",
        &lines,
        &command(file),
        &format!(
            "within 3x at 1 thread, judged on the ratio of the two intervals' far ends: {} (with 2 threads, two get_alls share the memory bandwidth).",
            outcome.label()
        ),
    ))
}

fn section_target_actor(r: &mut Results) -> Result<String, String> {
    let file = r.get("seed.json")?;
    let (lines, vs) = across_threads(file, "actor", "channel")?;
    let mut ours = lines;
    let mut allocs_ok = true;
    for t in threads_of(file) {
        if let Some(c) = file.cell("actor", t) {
            ours.push(format!(
                "{}: `actor` allocates {:.2} times per operation ({:.0} B/op)",
                on_home(t),
                c.allocs_per_op,
                c.bytes_per_op
            ));
            allocs_ok &= c.allocs_per_op <= 1.0;
        }
    }
    let (_, each) = judge(&vs, |p| rules::at_least(p, 10.0));
    let per_thread: Vec<Outcome> = vs
        .iter()
        .map(|(_, v)| rules::at_least(&v.paired, 10.0))
        .collect();
    let tenfold = rules::all_of(&per_thread);
    let verdict = format!(
        "\"at least 10x channel at every thread count\" (judged on the ratio's interval): {} \
         ({each}); at most one allocation per operation: {}.",
        tenfold.label(),
        if allocs_ok { "**met**" } else { "**not met**" }
    );
    Ok(block(
        "Target 3: an actor design with at least 10x the faithful channel store's throughput and at most 1 allocation per operation.",
        "(the log: \"no path to improvement\")",
        &ours,
        &command(file),
        &verdict,
    ))
}

fn section_knob_shards(r: &mut Results) -> Result<String, String> {
    let file = r.get("seed-shards.json")?;
    let mut s = String::from("| store | shards | ");
    let threads = threads_of(file);
    for t in &threads {
        let _ = write!(s, "ns/op x{t} | ");
    }
    s += "busiest shard / mean |\n|---|---:|";
    s += &"---:|".repeat(threads.len() + 1);
    s.push('\n');
    for st in &file.stores {
        let shards = st
            .shard_imbalance
            .as_ref()
            .map_or("-".into(), |i| i.shards.to_string());
        let _ = write!(s, "| {} | {shards} | ", st.name);
        for t in &threads {
            let v = file
                .cell(&st.name, *t)
                .map(|c| ns(&summarize(&Metric::NsPerOp.values(c), 0.95)))
                .unwrap_or_else(|| "-".into());
            let _ = write!(s, "{v} | ");
        }
        let imb = st
            .shard_imbalance
            .as_ref()
            .map_or("-".into(), |i| format!("{:.2}", i.max_over_mean));
        let _ = writeln!(s, "{imb} |");
    }
    let _ = writeln!(s, "\nReproduce: {}", command(file));
    Ok(s)
}

fn section_knob_visit(r: &mut Results) -> Result<String, String> {
    let visit = r.get("seed-visit.json")?.clone();
    let clone = r.get("seed.json")?;
    let mut s = String::from(
        "| store | threads | reads clone the Arc (seed.json) | reads visit in place (seed-visit.json) |\n|---|---:|---:|---:|\n",
    );
    for c in &visit.cells {
        let v = ns(&summarize(&Metric::NsPerOp.values(c), 0.95));
        let k = clone
            .cell(&c.store, c.threads)
            .map(|k| ns(&summarize(&Metric::NsPerOp.values(k), 0.95)))
            .unwrap_or_else(|| "-".into());
        let _ = writeln!(s, "| {} | {} | {k} | {v} |", c.store, c.threads);
    }
    let _ = writeln!(
        s,
        "\nTwo runs, so compare within a column rather than across (the machine drifts between runs). Reproduce: {}",
        command(&visit)
    );
    Ok(s)
}

/// Turns criterion's saved samples (`target/criterion/GROUP/BENCH/new/sample.json`)
/// into a run file: one cell per benchmark, one sample per criterion
/// sample, ns per element (each iteration processes `elements`).
/// One criterion benchmark's saved samples as a cell (ns per element).
/// The preset of a criterion import made with `one_sample`: one pass of
/// the benchmarks as one round, for `storelab merge --reps`.
pub const CRITERION_ROUND: &str = "criterion-round";

fn criterion_cell(
    group_dir: &Path,
    name: String,
    elements: f64,
    one_sample: bool,
) -> Result<(Cell, StoreInfo), String> {
    #[derive(serde::Deserialize)]
    struct Saved {
        iters: Vec<f64>,
        times: Vec<f64>,
    }
    let path = group_dir.join(&name).join("new/sample.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let saved: Saved =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let samples = saved
        .iters
        .iter()
        .zip(&saved.times)
        .enumerate()
        .map(|(rep, (iters, time))| {
            let per = time / iters / elements;
            Sample {
                rep,
                wall_ns: *time as u64,
                total_ops: (iters * elements) as u64,
                ns_per_op: per,
                ops_per_sec: 1e9 / per,
                per_thread_ns_per_op: vec![per],
                per_thread_ops: vec![(iters * elements) as u64],
                http: None,
            }
        })
        .collect::<Vec<Sample>>();
    let samples = if one_sample {
        // The pass as one sample: its median time per element, over the
        // pass's whole time and work.
        let per = median(&samples.iter().map(|s| s.ns_per_op).collect::<Vec<_>>());
        let wall: u64 = samples.iter().map(|s| s.wall_ns).sum();
        let ops: u64 = samples.iter().map(|s| s.total_ops).sum();
        vec![Sample {
            rep: 0,
            wall_ns: wall,
            total_ops: ops,
            ns_per_op: per,
            ops_per_sec: 1e9 / per,
            per_thread_ns_per_op: vec![per],
            per_thread_ops: vec![ops],
            http: None,
        }]
    } else {
        samples
    };
    let cell = Cell {
        store: name.clone(),
        threads: 1,
        ops_per_thread: elements as u64,
        samples,
        bytes_per_op: 0.0,
        allocs_per_op: 0.0,
        alloc_ops: 0,
        latency: Vec::new(),
        latency_every: 0,
        misses: 0,
        too_short: false,
    };
    let info = StoreInfo {
        name,
        about: "criterion micro-benchmark".into(),
        family: Family::Micro,
        heap_bytes_per_task: None,
        memory: None,
        shard_imbalance: None,
        walk_ns: None,
    };
    Ok((cell, info))
}

pub fn import_criterion(
    group_dir: &Path,
    elements: f64,
    one_sample: bool,
) -> Result<RunFile, String> {
    let mut cells = Vec::new();
    let mut stores = Vec::new();
    let entries = std::fs::read_dir(group_dir)
        .map_err(|e| format!("cannot read {}: {e}", group_dir.display()))?;
    let mut names: Vec<String> = entries
        .flatten()
        .filter(|e| e.path().join("new/sample.json").exists())
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .collect();
    names.sort();
    if names.is_empty() {
        return Err(format!(
            "no criterion samples under {}: run the benchmarks first",
            group_dir.display()
        ));
    }
    for name in names {
        let (cell, info) = criterion_cell(group_dir, name, elements, one_sample)?;
        cells.push(cell);
        stores.push(info);
    }
    Ok(RunFile {
        schema: SCHEMA.into(),
        machine: Machine::current(),
        preset: Some(
            if one_sample {
                CRITERION_ROUND
            } else {
                "criterion"
            }
            .into(),
        ),
        workload: workload::Workload {
            capacity: None,
            keys: 0,
            dist: workload::KeyDist::Uniform,
            hot_keys: workload::HotKeys::Scrambled,
            mix: workload::Mix::SEED,
            seed: 0,
            stream_len: 0,
        },
        read_mode: ReadMode::Clone,
        zipf_s: None,
        hot20_share: 0.0,
        reps: cells.first().map_or(0, |c| c.samples.len()),
        rep_seconds: None,
        warmup_pct: 0,
        // scripts/micro shuffles the benchmarks' order in every round.
        order: if one_sample { "shuffled" } else { "fixed" }.into(),
        timer_cost_ns: 0.0,
        cells,
        stores,
    })
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
        assert!(regenerate("<!-- gen:nope -->x<!-- /gen:nope -->", &dir).is_err());
        assert!(
            regenerate("<!-- gen:rps -->x", &dir)
                .unwrap_err()
                .contains("no closing marker")
        );
    }

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

/// ns/op of `store` at `threads` in `file`, as "8.06 ±11%", or "-".
fn ns_cell(file: &RunFile, store: &str, threads: usize) -> String {
    file.cell(store, threads).map_or("-".into(), |c| {
        let s = summarize(&Metric::NsPerOp.values(c), 0.95);
        match s.ci_half_width_pct() {
            Some(p) => format!("{} ±{p:.0}%", human(s.median)),
            None => human(s.median),
        }
    })
}

/// The issue-13 table: ns/op on 16 hot tasks, at 1 and 2 threads, reads
/// visiting in place, reads cloning the `Arc`, and visits with 5% updates;
/// with each store's 2-thread speedup (per-round paired, family-wise).
fn section_hot_table(r: &mut Results) -> Result<String, String> {
    let visit = r.get("hot-visit.json")?.clone();
    let clone = r.get("hot-clone.json")?.clone();
    let update = r.get("hot-update.json")?.clone();
    let mut s = String::from(
        "| store | visit, 1 thr | visit, 2 thr | 2 thr / 1 thr (visit) | clone, 1 thr | clone, 2 thr | 2 thr / 1 thr (clone) | 95/5 visit, 1 thr | 95/5 visit, 2 thr | 2 thr / 1 thr (95/5) |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let speedup = |file: &RunFile, store: &str| -> String {
        match (file.cell(store, 2), file.cell(store, 1)) {
            (Some(two), Some(one)) => {
                let p = describe(two, one);
                match p.ci {
                    Some((lo, hi)) => format!("{:.2}x ({lo:.2}-{hi:.2})", p.median),
                    None => format!("{:.2}x", p.median),
                }
            }
            _ => "-".into(),
        }
    };
    for st in &visit.stores {
        let name = st.name.as_str();
        let _ = writeln!(
            s,
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            ns_cell(&visit, name, 1),
            ns_cell(&visit, name, 2),
            speedup(&visit, name),
            ns_cell(&clone, name, 1),
            ns_cell(&clone, name, 2),
            speedup(&clone, name),
            ns_cell(&update, name, 1),
            ns_cell(&update, name, 2),
            speedup(&update, name),
        );
    }
    let _ = write!(
        s,
        "\nns/op with the 95% CI of each median; 2 thr / 1 thr is throughput at 2 threads over \
         throughput at 1 (the median of per-round ratios, for an even count the geometric mean of \
         the middle two, as everywhere in this document; with its 95% interval: descriptive, \
         outside the family of tested comparisons). Three runs: compare within a column. `unsync` \
         runs on one thread only; `noop` is the harness's own cost (the stream, the counters, the \
         clock), so its speedup is about the most any store can show here.\n\nReproduce: {}; {}; {}.",
        command(&visit),
        command(&clone),
        command(&update)
    );
    Ok(s)
}

/// The issue-13 goals for the rcu store, each judged by a rule on a paired
/// interval.
fn section_hot_goals(r: &mut Results) -> Result<String, String> {
    let visit = r.get("hot-visit.json")?.clone();
    let clone = r.get("hot-clone.json")?.clone();
    let seed = r.get("seed-rcu.json")?.clone();
    let seed_visit = r.get("seed-rcu-visit.json")?.clone();
    let mut out = String::new();

    // Goal 1: scaling on hot reads, visit mode.
    let scale = versus(cell(&visit, "rcu", 2)?, cell(&visit, "rcu", 1)?);
    let ceiling = match (visit.cell("noop", 2), visit.cell("noop", 1)) {
        (Some(two), Some(one)) => Some(describe(two, one)),
        _ => None,
    };
    let p = &scale.paired;
    let outcome = rules::at_least(p, 1.8);
    let ceiling_text = ceiling.map_or(String::new(), |c| {
        format!(
            " The harness alone (`noop`) speeds up {:.2}x{} on the same run (95%, descriptive): \
             about the ceiling of any store here (a store's own interval may overlap it).",
            c.median,
            c.ci.map_or(String::new(), |(lo, hi)| format!(" ({lo:.2}-{hi:.2})"))
        )
    });
    let _ = writeln!(
        out,
        "- **Goal: on `hot`, visit mode, 2-thread throughput at least 1.8x its own 1-thread throughput.** \
         `rcu` speeds up {:.2}x ({}). Verdict: {} (judged on the interval).{ceiling_text}",
        p.median,
        scale.p(),
        outcome.label()
    );

    // Clone mode: the reference count's cost.
    let cp = describe(cell(&clone, "rcu", 2)?, cell(&clone, "rcu", 1)?);
    let _ = writeln!(
        out,
        "- **Clone mode on `hot`:** `rcu` speeds up {:.2}x{} (95%, descriptive): every `get` adds \
         one to the hot task's reference count, a shared write on the task's own line.",
        cp.median,
        cp.ci
            .map_or(String::new(), |(lo, hi)| format!(" ({lo:.2}-{hi:.2})"))
    );

    // Goal 2: within 1.1x of dense on the seed preset, in both read modes.
    for (file, mode) in [(&seed, "clone"), (&seed_visit, "visit")] {
        let (lines, vs) = across_threads(file, "rcu", "dense")?;
        let per: Vec<Outcome> = vs
            .iter()
            .map(|(_, v)| rules::within(&v.paired, 0.10))
            .collect();
        let (_, each) = judge(&vs, |p| rules::within(p, 0.10));
        let _ = writeln!(
            out,
            "- **Goal: on the seed preset ({mode} mode), within 1.1x of `dense` at 1 and 2 threads.** {}. \
             Verdict: {} ({each}). Reproduce: {}",
            lines.join("; "),
            rules::all_of(&per).label(),
            command(file)
        );
    }
    Ok(out)
}

/// Consecutive hot ids against scrambled ones: `placed` is a run whose hot
/// ranks land on consecutive ids (`--hot-keys newest` or `low-ids`), so in
/// `dense` and `rcu` they share a chunk; `scrambled` is the same workload
/// with the default placement. Two runs: each store's ns/op is divided by
/// `noop`'s of the same round first (noop does not touch keys), and the
/// interval is the conservative quotient of the two medians' intervals (at
/// the document's family-wise confidence).
fn placement_table(placed: &RunFile, scrambled: &RunFile, what: &str) -> String {
    let mut s = format!(
        "| store | threads | ns/op, {what} | ns/op, scrambled | raw ratio | slowdown from placement (noop-normalized) | within 1.2x? |\n\
         |---|---:|---:|---:|---:|---:|---|\n"
    );
    let normalized = |file: &RunFile, store: &str, t: usize| -> Option<Summary> {
        let c = file.cell(store, t)?;
        let base = file.cell("noop", t)?;
        let pairs = storelab_stats::paired::pair_by_round(base, c, Metric::NsPerOp);
        let v: Vec<f64> = pairs.pairs.iter().map(|(_, b, x)| x / b).collect();
        Some(summarize(&v, family_confidence()))
    };
    for st in placed.stores.iter().filter(|s| s.name != "noop") {
        for t in placed.thread_counts() {
            if placed.cell(&st.name, t).is_none() {
                continue;
            }
            let (Some(lo), Some(sc)) = (
                normalized(placed, &st.name, t),
                normalized(scrambled, &st.name, t),
            ) else {
                let why = if scrambled.cell(&st.name, t).is_none() {
                    format!("no scrambled run at {t} threads")
                } else {
                    "no noop to normalize by".to_owned()
                };
                let _ = writeln!(
                    s,
                    "| {} | {t} | {} | {} | - | - | {why} |",
                    st.name,
                    ns_cell(placed, &st.name, t),
                    ns_cell(scrambled, &st.name, t)
                );
                continue;
            };
            let ratio = lo.median / sc.median;
            let (verdict, interval) = match (lo.ci, sc.ci) {
                (Some((llo, lhi)), Some((slo, shi))) => {
                    let (a, b) = (llo / shi, lhi / slo);
                    let v = if b <= 1.2 {
                        "**yes**"
                    } else if a > 1.2 {
                        "**no**"
                    } else {
                        "**inconclusive**"
                    };
                    (v, format!(" ({a:.2}-{b:.2})"))
                }
                _ => ("**untestable here** (too few rounds)", String::new()),
            };
            let raw = match (placed.cell(&st.name, t), scrambled.cell(&st.name, t)) {
                (Some(a), Some(b)) => format!(
                    "{:.2}x",
                    median(&Metric::NsPerOp.values(a)) / median(&Metric::NsPerOp.values(b))
                ),
                _ => "-".into(),
            };
            let _ = writeln!(
                s,
                "| {} | {t} | {} | {} | {raw} | {ratio:.2}x{interval} | {verdict} |",
                st.name,
                ns_cell(placed, &st.name, t),
                ns_cell(scrambled, &st.name, t),
            );
        }
    }
    s
}

/// Newest-hot keys on the seed workload (1, 2 and 8 threads), and the hot
/// preset's 16 tasks on the lowest ids.
fn section_hot_lowest(r: &mut Results) -> Result<String, String> {
    let newest = r.get("seed-newest.json")?.clone();
    let scrambled = r.get("seed-scrambled.json")?.clone();
    let low = r.get("hot-low-ids.json")?.clone();
    let hot = r.get("hot-visit.json")?.clone();
    let mut s = String::from("Floors at 1 thread on the seed workload (scrambled), ns/op: ");
    let floors: Vec<String> = ["unsync", "unsync-vec", "dense", "rcu"]
        .iter()
        .map(|n| format!("`{n}` {}", ns_cell(&scrambled, n, 1)))
        .collect();
    s += &floors.join(", ");
    s += ". `unsync-vec` is the floor of a store that indexes by id: a vector, no \
          synchronization, no hashing.\n\nThe seed workload with the newest ids hottest:\n\n";
    s += &placement_table(&newest, &scrambled, "newest ids hot");
    let _ = write!(
        s,
        "\nReproduce: {}; {}.\n\nThe `hot` preset's 16 tasks on the lowest ids (visit mode):\n\n",
        command(&newest),
        command(&scrambled)
    );
    s += &placement_table(&low, &hot, "16 consecutive hot ids");
    let _ = write!(
        s,
        "\nThe normalized intervals are at the family-wise level (more conservative than 95%) \
         but are not among the document's m comparisons; `noop` itself drifts between runs \
         (compare its rows), which is why the raw ratio is shown beside. 8 threads oversubscribe \
         this 2-core machine: those rows show what a descheduled thread costs (queueing on a \
         lock word in `dense` and `dashmap`; nothing to queue on in `rcu`), not parallel \
         speedup. Reproduce: {}",
        command(&low)
    );
    Ok(s)
}

/// A Universal Scalability Law reading of the 1- and 2-thread figures:
/// X(N) = N / (1 + s(N-1) + k N(N-1)). Two points fix one parameter, so the
/// coherency term k is set to 0 (Amdahl) and s = 2/S(2) - 1; the projection
/// to 16 threads is then an upper bound, and a 16-core run that falls short
/// of it measures k.
fn section_hot_usl(r: &mut Results) -> Result<String, String> {
    let mut s = String::from(
        "| preset | store | speedup at 2 threads | contention s (k = 0) | projected speedup at 16 threads (upper bound) |\n\
         |---|---|---:|---:|---:|\n",
    );
    for (file_name, preset) in [
        ("hot-visit.json", "hot, visit"),
        ("seed.json", "seed, clone"),
    ] {
        let file = r.get(file_name)?.clone();
        for st in &file.stores {
            let (Some(two), Some(one)) = (file.cell(&st.name, 2), file.cell(&st.name, 1)) else {
                continue;
            };
            let speedup = describe(two, one).median;
            let (sigma, x16) = usl_amdahl(speedup);
            let _ = writeln!(
                s,
                "| {preset} | {} | {speedup:.2}x | {sigma:.3} | {x16:.1}x |",
                st.name
            );
        }
    }
    s += "\nAssumptions: throughput follows the USL, X(N) = N / (1 + s(N-1) + kN(N-1)); with two \
          points only s is identifiable, so k (coherency: cache lines bouncing between every pair \
          of cores) is taken as 0 and each projection is an upper bound. The same cores, clock and \
          memory system are assumed at 16 threads. A 16-core run confirms the model if each store's \
          16-thread speedup lands at or below its bound; the gap measures k = (16/X(16) - 1 - 15s) / 240. \
          Stores whose reads write a shared line (a lock word, a reader count, a reference count) \
          should show k > 0. A 2-thread speedup of 2 or more clamps s at 0, and its projection of 16x \
          says nothing (the 1-thread figure was the slow one: an actor's cross-core handoff, or \
          noise). The 16-core runs test these bounds under *On many cores* (the log's \
          14-goroutine figures against 16 threads).";
    Ok(s)
}

/// Amdahl's reading of a 2-thread speedup: (s, projected speedup at 16).
fn usl_amdahl(speedup2: f64) -> (f64, f64) {
    // Superlinear speedups (cache effects) clamp at s = 0.
    let sigma = (2.0 / speedup2 - 1.0).max(0.0);
    (sigma, 16.0 / (1.0 + 15.0 * sigma))
}

#[cfg(test)]
mod usl_tests {
    use super::usl_amdahl;

    #[test]
    fn perfect_scaling_projects_linearly_and_none_stays_flat() {
        let (s, x) = usl_amdahl(2.0);
        assert!(s.abs() < 1e-12 && (x - 16.0).abs() < 1e-9);
        let (s, x) = usl_amdahl(1.0);
        assert!((s - 1.0).abs() < 1e-12 && (x - 1.0).abs() < 1e-9);
        // 1.6x at two threads: s = 0.25, 16 / 4.75.
        let (s, x) = usl_amdahl(1.6);
        assert!((s - 0.25).abs() < 1e-12 && (x - 16.0 / 4.75).abs() < 1e-9);
        // A slowdown at two threads: s above 1, a projection below 1.
        let (s, x) = usl_amdahl(0.8);
        assert!((s - 1.5).abs() < 1e-12 && x < 1.0);
    }
}

/// Whether a soak series grew: the median of its last third against the
/// median of its first third, minute 1 (warm-up) left out. A single spike
/// moves neither median. `tolerance` is the ratio allowed (1.10: 10%).
pub fn soak_grew(series: &[f64], tolerance: f64) -> Option<bool> {
    let steady = series.get(1..)?;
    let third = steady.len() / 3;
    if third == 0 {
        return None;
    }
    let first = median(&steady[..third]);
    let last = median(&steady[steady.len() - third..]);
    Some(last > first * tolerance)
}

/// The soak run (scripts/soak): RSS and read p99 per minute per store, and
/// whether either grew.
fn section_soak(r: &mut Results) -> Result<String, String> {
    let path = r.dir.join("soak.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let soak: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let rate = soak["rate"].as_f64().unwrap_or(f64::NAN);
    let minutes = soak["minutes"].as_u64().unwrap_or(0);
    let mut s = format!(
        "Open loop at {rate:.0} req/s (80% reads, 20% updates, Zipf), 8 connections, 100,000 tasks \
         prefilled, {minutes} one-minute windows per store; latency from each request's intended \
         send time.\n\n\
         | store | RSS minute 1 | RSS last minute | memory grew? | read p99 minute 1 | read p99 last minute | p99 grew? | requests | 5xx and transport errors |\n\
         |---|---:|---:|---|---:|---:|---|---:|---:|\n"
    );
    let stores = soak["stores"]
        .as_object()
        .ok_or("soak.json has no stores")?;
    for (name, rows) in stores {
        let rows = rows.as_array().ok_or("a store's minutes are not a list")?;
        let col = |k: &str| -> Vec<f64> { rows.iter().filter_map(|r| r[k].as_f64()).collect() };
        let (rss, p99) = (col("rss_kib"), col("read_p99_ns"));
        let requests = col("requests");
        // Null where the load client of that run did not record errors.
        let errors = if rows.iter().all(|r| r["errors"].is_u64()) {
            format!("{:.0}", col("errors").iter().sum::<f64>())
        } else {
            "not recorded".to_owned()
        };
        let grew = |v: &[f64], tol: f64| match soak_grew(v, tol) {
            Some(true) => "**yes**",
            Some(false) => "no",
            None => "too few minutes",
        };
        let mib = |v: Option<&f64>| v.map_or("-".into(), |k| format!("{:.1} MiB", k / 1024.0));
        let us = |v: Option<&f64>| v.map_or("-".into(), |n| format!("{:.0} µs", n / 1000.0));
        let _ = writeln!(
            s,
            "| {name} | {} | {} | {} | {} | {} | {} | {:.0} | {errors} |",
            mib(rss.first()),
            mib(rss.last()),
            grew(&rss, 1.10),
            us(p99.first()),
            us(p99.last()),
            grew(&p99, 1.50),
            requests.iter().sum::<f64>(),
        );
    }
    s += "\nRule: a series grew if the median of its last third of minutes exceeds the median of \
          its first third (minute 1, the warm-up, left out) by more than 10% (memory) or 50% (p99, \
          which is noisier). Plot: results/soak.svg. Reproduce: `scripts/soak` (30 minutes; writes results/soak.json \
          and results/soak.svg).";
    Ok(s)
}

#[cfg(test)]
mod soak_tests {
    use super::soak_grew;

    #[test]
    fn flat_series_and_spikes_do_not_grow_but_a_climb_does() {
        let flat = [50.0, 40.0, 40.5, 40.2, 39.8, 40.1, 40.0, 40.3, 40.2, 40.1];
        assert_eq!(soak_grew(&flat, 1.10), Some(false));
        let mut spike = flat;
        spike[9] = 400.0;
        assert_eq!(
            soak_grew(&spike, 1.10),
            Some(false),
            "one spike is not growth"
        );
        let climb: Vec<f64> = (0..10).map(|m| 40.0 + 4.0 * f64::from(m)).collect();
        assert_eq!(soak_grew(&climb, 1.10), Some(true));
        assert_eq!(soak_grew(&[1.0, 2.0, 3.0], 1.10), None, "too few minutes");
    }
}
