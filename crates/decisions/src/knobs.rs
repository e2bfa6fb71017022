//! "The log's future opportunities": the shard count and the read mode as
//! knobs, each a table over its own run.

use std::fmt::Write as _;

use storelab_results::Metric;
use storelab_stats::summarize;

use crate::DecisionsError;
use crate::{Results, command, ns, threads_of};

pub(crate) fn section_knob_shards(r: &mut Results) -> Result<String, DecisionsError> {
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

pub(crate) fn section_knob_visit(r: &mut Results) -> Result<String, DecisionsError> {
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
