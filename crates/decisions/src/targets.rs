//! "Beyond the log": the three targets (`dense` against the
//! concurrent maps and the floor, get_all against a bare walk, `actor`
//! against the channel store), each judged on its ratio's interval.

use storelab_render::table::duration_ns;
use storelab_results::Metric;
use storelab_stats::summarize;

use crate::DecisionsError;
use crate::rules::{self, Outcome};
use crate::{
    Results, across_threads, block, cell, command, judge, line, ns, on_home, threads_of, versus,
};

pub(crate) fn section_target_mixed(r: &mut Results) -> Result<String, DecisionsError> {
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

pub(crate) fn section_target_get_all(r: &mut Results) -> Result<String, DecisionsError> {
    let file = r.get("bulk.json")?;
    let mut lines = Vec::new();
    let walks = file
        .store("dense")
        .and_then(|s| s.walk_ns.as_ref())
        .ok_or_else(|| DecisionsError::Missing {
            file: "bulk.json".into(),
            what: "walk floor for dense".into(),
        })?;
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

pub(crate) fn section_target_actor(r: &mut Results) -> Result<String, DecisionsError> {
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
