//! The log's cache claims replayed in cachegrind's simulated cache
//! (`scripts/cache-replay`, `results/cache-replay.json`): per read, the
//! instructions, data references and D1 and last-level data misses that a
//! read adds, each store run a few times.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Deserialize;

use crate::DecisionsError;
use crate::rules;

use crate::{Results, read_json};

/// `results/cache-replay.json` (schema `storelab-cache-replay/1`).
#[derive(Debug, Deserialize)]
pub(crate) struct Replay {
    pub schema: String,
    pub valgrind: String,
    pub commit: String,
    pub dirty: bool,
    pub date: String,
    pub command: String,
    pub cache: Cache,
    pub tasks: u64,
    pub reads: u64,
    /// Per store, one entry per run: the counts one read added.
    pub stores: BTreeMap<String, Vec<PerRead>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Cache {
    #[serde(rename = "D1")]
    pub d1: String,
    #[serde(rename = "LL")]
    pub ll: String,
}

#[derive(Clone, Copy, Debug, Deserialize)]
pub(crate) struct PerRead {
    pub instructions: f64,
    pub data_refs: f64,
    pub d1_misses: f64,
    pub ll_data_misses: f64,
}

/// (lowest, highest) of one count over a store's runs.
fn range(runs: &[PerRead], f: impl Fn(&PerRead) -> f64) -> (f64, f64) {
    runs.iter()
        .map(f)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
            (lo.min(x), hi.max(x))
        })
}

fn show((lo, hi): (f64, f64), decimals: usize) -> String {
    if (hi - lo).abs() < 0.5 * 10f64.powi(-(decimals as i32)) {
        format!("{lo:.decimals$}")
    } else {
        format!("{lo:.decimals$} to {hi:.decimals$}")
    }
}

/// The table and the verdicts on the log's "CPU Cache Inefficiency" claim:
/// the channel's hops miss the cache, direct access through a shard hits.
pub(crate) fn render(r: &Replay) -> Result<String, DecisionsError> {
    if r.schema != "storelab-cache-replay/1" {
        return Err(DecisionsError::Schema {
            file: "results/cache-replay.json",
            found: r.schema.clone(),
            want: "storelab-cache-replay/1",
            fix: "scripts/cache-replay",
        });
    }
    let get = |name: &str| {
        r.stores
            .get(name)
            .filter(|runs| !runs.is_empty())
            .ok_or_else(|| DecisionsError::Missing {
                file: "results/cache-replay.json".into(),
                what: format!("runs of {name}"),
            })
    };
    let (channel, shard) = (get("channel")?, get("shard")?);
    let runs = r.stores.values().map(Vec::len).min().unwrap_or(0);
    let mut s = format!(
        "{} (D1 {}, LL {}; size,ways,line bytes), commit {}{}, {}: each store prefilled with {} tasks, then {} reads of scattered ids on one thread, minus the same run with no reads; {} runs per store, shown as lowest to highest where they differ. Reproduce: `{}`.\n\n| store | instructions per read | data references per read | D1 misses per read | LL data misses per read |\n|---|---:|---:|---:|---:|\n",
        r.valgrind,
        r.cache.d1,
        r.cache.ll,
        r.commit,
        if r.dirty { " (dirty)" } else { "" },
        r.date,
        r.tasks,
        r.reads,
        runs,
        r.command
    );
    for (name, runs) in &r.stores {
        let _ = writeln!(
            s,
            "| `{name}` | {} | {} | {} | {} |",
            show(range(runs, |p| p.instructions), 0),
            show(range(runs, |p| p.data_refs), 1),
            show(range(runs, |p| p.d1_misses), 2),
            show(range(runs, |p| p.ll_data_misses), 2)
        );
    }
    let (c, d) = (
        range(channel, |p| p.d1_misses),
        range(shard, |p| p.d1_misses),
    );
    let more = rules::counts_above(c, d);
    let extra = (c.0 - d.1, c.1 - d.0);
    let _ = writeln!(
        s,
        "\n- \"Poor cache locality due to indirection\" (four steps that each miss: the send, the worker's receive, the map lookup, the reply): `channel`'s read misses D1 more than `shard`'s: {} (the direction); {} more D1 misses per read, where the log's four steps would add about 3 (the map lookup misses either way).{}",
        more.label(),
        show(extra, 2),
        if extra.1 < 3.0 {
            " In one simulated cache the channel's few buffers stay in D1 from read to read; what a real second core adds, each hop's line moving between two cores' caches, a single-cache simulation cannot show, so the size of the log's claim is untestable here."
        } else {
            ""
        }
    );
    // "Cache hit: shard likely in L1/L2 cache": D1 for L1; cachegrind's
    // last level is the nearest it has to an L2.
    let ll_range = range(shard, |p| p.ll_data_misses);
    let (l1, ll) = (
        rules::counts_at_most(d, 1.0),
        rules::counts_at_most(ll_range, 1.0),
    );
    let _ = writeln!(
        s,
        "- \"Compare to direct access\" (\"Cache hit: shard likely in L1/L2 cache\"), judged as at most one miss per read: in L1 (D1), {}: `shard` misses D1 {} times per read, as the map's own lookup leaves D1 at this size; in the last level (the nearest to L2 that cachegrind has), {}: {} misses per read. At a million tasks the map would not fit the last level either.",
        l1.label(),
        show(d, 2),
        ll.label(),
        show(ll_range, 2)
    );
    Ok(s)
}

/// The log's cache claims in cachegrind's simulated cache
/// (`results/cache-replay.json`).
pub(crate) fn section_cache_replay(r: &mut Results) -> Result<String, DecisionsError> {
    render(&read_json(&r.dir.join("cache-replay.json"))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replay(channel: &[f64], shard: f64) -> Replay {
        let run = |d1: f64| PerRead {
            instructions: 100.0,
            data_refs: 30.0,
            d1_misses: d1,
            ll_data_misses: d1 / 2.0,
        };
        Replay {
            schema: "storelab-cache-replay/1".into(),
            valgrind: "valgrind-3.19.0".into(),
            commit: "abc".into(),
            dirty: false,
            date: "d".into(),
            command: "scripts/cache-replay".into(),
            cache: Cache {
                d1: "32768,8,64".into(),
                ll: "8388608,16,64".into(),
            },
            tasks: 10,
            reads: 10,
            stores: BTreeMap::from([
                ("channel".into(), channel.iter().map(|&x| run(x)).collect()),
                ("shard".into(), vec![run(shard); 3]),
            ]),
        }
    }

    #[test]
    fn the_channel_claim_is_judged_on_every_run() {
        let s = render(&replay(&[11.0, 11.3, 11.1], 3.75)).expect("renders");
        assert!(
            s.contains("| `channel` | 100 | 30.0 | 11.00 to 11.30 | 5.50 to 5.65 |"),
            "{s}"
        );
        assert!(s.contains("| `shard` | 100 | 30.0 | 3.75 | 1.88 |"), "{s}");
        assert!(
            s.contains("more than `shard`'s: **holds** (the direction); 7.25 to 7.55 more"),
            "{s}"
        );
        assert!(s.contains("in L1 (D1), **does not hold**"), "{s}");
        assert!(
            s.contains("cachegrind has), **does not hold**: 1.88 misses"),
            "{s}"
        );
        let s = render(&replay(&[0.5, 0.9, 0.6], 0.8)).expect("renders");
        assert!(
            s.contains("**inconclusive** (the direction); -0.30 to 0.10 more"),
            "{s}"
        );
        assert!(s.contains("in L1 (D1), **holds**"), "{s}");
        assert!(s.contains("cachegrind has), **holds**: 0.40 misses"), "{s}");
    }

    #[test]
    fn missing_stores_and_old_schemas_are_refused() {
        let mut r = replay(&[1.0], 1.0);
        r.stores.remove("shard");
        assert!(
            render(&r)
                .expect_err("no shard")
                .to_string()
                .contains("no runs of shard")
        );
        let mut r = replay(&[1.0], 1.0);
        r.schema = "x".into();
        assert!(
            render(&r)
                .expect_err("schema")
                .to_string()
                .contains("run scripts/cache-replay")
        );
    }
}
