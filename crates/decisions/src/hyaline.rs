//! The `hyaline` store against the 2-core proxies of issue 22: how much a
//! second thread adds, per round, on the mixes where rcu and dense stopped
//! scaling on 16 cores, beside the peer that scaled best there.
//!
//! A speed-up is the 1-thread ns/op over the 2-thread ns/op of the same
//! round; hyaline's against a peer's is the per-round ratio of the two
//! speed-ups (all four cells of a round ran moments apart), with its 95%
//! interval. Descriptive (outside the document's family): the targets are
//! the issue's, judged by `rules::at_least` on these intervals.

use std::fmt::Write as _;

use storelab_results::{Metric, RunFile};
use storelab_stats::paired::{PairedRatio, ratio_summary};

use super::DecisionsError;
use super::rules::{self, Outcome};
use super::{Results, check_folder, command, machine_files, short_commit};

/// Per-round speed-ups (1 thread over 2) of `store`, by round.
fn speedups(file: &RunFile, store: &str) -> Vec<(usize, f64)> {
    let (Some(one), Some(two)) = (file.cell(store, 1), file.cell(store, 2)) else {
        return Vec::new();
    };
    let twos: Vec<(usize, f64)> = two
        .samples
        .iter()
        .map(|s| s.rep)
        .zip(Metric::NsPerOp.values(two))
        .collect();
    one.samples
        .iter()
        .map(|s| s.rep)
        .zip(Metric::NsPerOp.values(one))
        .filter_map(|(rep, a)| {
            let (_, b) = twos.iter().find(|(r, _)| *r == rep)?;
            Some((rep, a / b))
        })
        .collect()
}

/// The speed-up of `store` (median and 95% interval).
fn speedup(file: &RunFile, store: &str) -> PairedRatio {
    let v: Vec<f64> = speedups(file, store).into_iter().map(|(_, s)| s).collect();
    ratio_summary(&v, 0.95)
}

/// `a`'s speed-up over `b`'s, round by round.
fn speedup_over(file: &RunFile, a: &str, b: &str) -> PairedRatio {
    let sb = speedups(file, b);
    let v: Vec<f64> = speedups(file, a)
        .into_iter()
        .filter_map(|(rep, x)| sb.iter().find(|(r, _)| *r == rep).map(|(_, y)| x / y))
        .collect();
    ratio_summary(&v, 0.95)
}

fn interval(p: &PairedRatio) -> String {
    match p.ci {
        Some((lo, hi)) => format!("{:.2}x ({lo:.2}-{hi:.2})", p.median),
        None => format!("{:.2}x (no interval: {} rounds)", p.median, p.n),
    }
}

/// The proxies: (file, label, peer, the least speed-up asked, if any).
const PROXIES: &[(&str, &str, &str, Option<f64>)] = &[
    ("hyaline-hot.json", "hot reads (visit)", "papaya", Some(1.7)),
    (
        "hyaline-growth.json",
        "creates only (fresh store)",
        "scc",
        None,
    ),
    ("hyaline-hot-update.json", "hot-update", "scc", None),
    ("hyaline-write-heavy.json", "write-heavy", "scc", None),
];

pub(crate) fn section_proxies(r: &mut Results) -> Result<String, DecisionsError> {
    let mut s = String::from(
        "| mix (machine, build) | `hyaline` 2 threads over 1 (95%) | `rcu` | peer | peer's | `hyaline`'s over the peer's, per round (95%) | ns/op at 1 → 2 threads: `hyaline`; peer | target (descriptive, 95%) |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    let mut commands = Vec::new();
    for (file, label, peer, least) in PROXIES {
        for run in runs(r, file)? {
            row(&mut s, &run, label, peer, *least);
            commands.push(command(&run));
        }
    }
    for (file, label) in [
        ("hyaline-growth.json", "creates only"),
        ("hyaline-hot-update.json", "hot-update"),
    ] {
        every_store_line(&mut s, r, file, label)?;
    }
    memory_lines(&mut s, r)?;
    batch_lines(&mut s, r)?;
    let _ = write!(
        s,
        "\n\"At least the peer's\" is `rules::at_least` on the per-round ratio of the two \
         speed-ups at 95% (descriptive: the issue's targets, outside the document's family of \
         verdicts): it holds when the whole interval lies above 1, is inconclusive when the \
         interval contains 1. Reproduce: {}.",
        commands.join("; ")
    );
    Ok(s)
}

/// The runs of one proxy: the lab's own machine's (`results/FILE`), then
/// each other machine's (`results/MACHINE/FILE`, folders by name), each
/// file checked to come from the machine its folder names.
fn runs(r: &mut Results, file: &str) -> Result<Vec<RunFile>, DecisionsError> {
    let mut out = vec![r.get(file)?.clone()];
    for path in machine_files(r, file)? {
        let rel = path.strip_prefix(&r.dir).unwrap_or(&path).to_owned();
        let run = r.get_rel(&rel)?.clone();
        check_folder(&path, &run.machine.name())?;
        out.push(run);
    }
    Ok(out)
}

/// One proxy's row: `hyaline`'s speed-up, `rcu`'s and the peer's, the
/// per-round comparison with the peer, and the targets.
fn row(s: &mut String, run: &RunFile, label: &str, peer: &str, least: Option<f64>) {
    let h = speedup(run, "hyaline");
    let vs = speedup_over(run, "hyaline", peer);
    let mut targets = vec![format!(
        "at least {peer}'s: {}",
        rules::at_least(&vs, 1.0).label()
    )];
    if let Some(x) = least {
        targets.insert(
            0,
            format!("lower bound at least {x}x: {}", bound_label(&h, x)),
        );
    }
    let _ = writeln!(
        s,
        "| {label} ({}, {}) | {} | {} | `{peer}` | {} | {} | {} → {}; {} → {} | {} |",
        run.machine.name(),
        short_commit(&run.machine),
        interval(&h),
        interval(&speedup(run, "rcu")),
        interval(&speedup(run, peer)),
        interval(&vs),
        ns_at(run, "hyaline", 1),
        ns_at(run, "hyaline", 2),
        ns_at(run, peer, 1),
        ns_at(run, peer, 2),
        targets.join("; ")
    );
}

/// Every store's speed-up (2 threads over 1, per round, median) in each
/// run of one proxy: which stores gain from a second thread and which lose.
fn every_store_line(
    s: &mut String,
    r: &mut Results,
    file: &str,
    label: &str,
) -> Result<(), DecisionsError> {
    for run in runs(r, file)? {
        let mut stores: Vec<&str> = Vec::new();
        for c in &run.cells {
            if !stores.contains(&c.store.as_str()) {
                stores.push(&c.store);
            }
        }
        let each: Vec<String> = stores
            .iter()
            .filter(|st| run.cell(st, 1).is_some() && run.cell(st, 2).is_some())
            .map(|st| format!("`{st}` {:.2}x", speedup(&run, st).median))
            .collect();
        let _ = writeln!(
            s,
            "\n{label} ({}, {}), every store, 2 threads over 1 (median of the rounds): {}.",
            run.machine.name(),
            short_commit(&run.machine),
            each.join(", ")
        );
    }
    Ok(())
}

/// The memory phase of each write-heavy proxy run (one thread creating and
/// deleting on a prefilled store): heap bytes per live task after the
/// churn, `hyaline` beside `rcu` and `dense`.
fn memory_lines(s: &mut String, r: &mut Results) -> Result<(), DecisionsError> {
    for run in runs(r, "hyaline-write-heavy.json")? {
        let per = |store: &str| {
            run.stores
                .iter()
                .find(|i| i.name == store)
                .and_then(|i| i.memory.as_ref())
                .map_or("-".to_owned(), |m| format!("{:.1}", m.after_churn))
        };
        let _ = writeln!(
            s,
            "\nMemory phase of the write-heavy run ({}, {}): heap bytes per live task after the churn: `hyaline` {}, `rcu` {}, `dense` {}.",
            run.machine.name(),
            short_commit(&run.machine),
            per("hyaline"),
            per("rcu"),
            per("dense")
        );
    }
    Ok(())
}

/// The batch-size knob (`hyaline-batch-N`: how often a writer pays seize's
/// heavy barrier) on the two proxies not met, from every machine folder
/// that has the runs: each setting's speed-up, and the largest batch's
/// against the peer's, per round.
fn batch_lines(s: &mut String, r: &mut Results) -> Result<(), DecisionsError> {
    for (file, label) in [
        ("hyaline-batch-write-heavy.json", "write-heavy"),
        ("hyaline-batch-hot-update.json", "hot-update"),
    ] {
        for path in machine_files(r, file)? {
            let rel = path.strip_prefix(&r.dir).unwrap_or(&path).to_owned();
            let run = r.get_rel(&rel)?.clone();
            check_folder(&path, &run.machine.name())?;
            let each: Vec<String> = ["hyaline-batch-32", "hyaline", "hyaline-batch-1024", "scc"]
                .iter()
                .filter(|st| run.cell(st, 2).is_some())
                .map(|st| format!("`{st}` {}", interval(&speedup(&run, st))))
                .collect();
            let big = speedup_over(&run, "hyaline-batch-1024", "scc");
            let _ = writeln!(
                s,
                "\nBatch-size knob, {label} ({}, {}): 2 threads over 1 per round (95%), batches of 32, 128 (`hyaline`), 1024, and the peer: {}; batches of 1024 over `scc`, per round: {}, at least the peer's: {}. Reproduce: {}.",
                run.machine.name(),
                short_commit(&run.machine),
                each.join(", "),
                interval(&big),
                bound_label(&big, 1.0),
                command(&run)
            );
        }
    }
    Ok(())
}

/// The median ns/op of `store` at `threads`, for the table.
fn ns_at(file: &RunFile, store: &str, threads: usize) -> String {
    file.cell(store, threads).map_or("-".into(), |c| {
        storelab_render::table::human(storelab_stats::median(&Metric::NsPerOp.values(c)))
    })
}

/// "The lower 95% bound at least `x`": holds when the bound is, does not
/// hold when the whole interval lies under `x`.
fn bound_label(p: &PairedRatio, x: f64) -> String {
    match p.ci {
        Some((lo, _)) if lo >= x => Outcome::Holds.label(),
        Some((_, hi)) if hi < x => Outcome::DoesNotHold.label(),
        Some(_) => Outcome::Inconclusive.label(),
        None => rules::at_least(p, x).label(),
    }
}

#[cfg(test)]
mod tests {
    use super::{speedup, speedup_over};
    use storelab_results::fixture::{cell, file};

    fn at(store: &str, threads: usize, ns: &[f64]) -> storelab_results::Cell {
        let mut c = cell(store, ns);
        c.threads = threads;
        c
    }

    #[test]
    fn speedups_pair_rounds_and_compare_stores_round_by_round() {
        // h: 100 -> 50 every round (2x); p: 100 -> 80 (1.25x); a machine
        // twice as slow in round 1 cancels in both.
        let f = file(vec![
            at("h", 1, &[100.0, 200.0, 100.0, 100.0, 100.0, 100.0]),
            at("h", 2, &[50.0, 100.0, 50.0, 50.0, 50.0, 50.0]),
            at("p", 1, &[100.0, 200.0, 100.0, 100.0, 100.0, 100.0]),
            at("p", 2, &[80.0, 160.0, 80.0, 80.0, 80.0, 80.0]),
        ]);
        let h = speedup(&f, "h");
        assert!((h.median - 2.0).abs() < 1e-12 && h.n == 6);
        let vs = speedup_over(&f, "h", "p");
        assert!((vs.median - 1.6).abs() < 1e-12);
        assert_eq!(vs.ci, Some((1.6, 1.6)));
        assert_eq!(speedup(&f, "missing").n, 0);
    }
}
