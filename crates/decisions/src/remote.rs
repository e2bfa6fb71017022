//! "Leaving one process": what the stores on Redis cost against the
//! in-process stores, from the files `scripts/leave-process` writes into
//! `results/MACHINE/` (each checked to come from the machine its folder
//! names):
//! - `redis-seed.json`, a run file: the seed workload on `redis`,
//!   `redis-cluster`, `dense` and `memory`, 1 and 2 threads; each store's
//!   ns/op over `dense`'s, round by round, with a 95% interval;
//! - `redis-costs.json`: bytes per task in Redis, `get_all` pipelined
//!   against one hash per round trip, redis-benchmark's `HGETALL` rate;
//! - `redis-http.json`: closed-loop req/s over HTTP, one in-process replica
//!   against 1 to 3 replicas over Redis and over the cluster.
//!
//! The machine count at which a Redis-backed deployment passes one
//! in-process replica is an argument from these figures
//! ([`replicas_to_pass`]), not a measurement: on one small machine the
//! servers, the replicas and the client share the cores.

use std::fmt::Write as _;

use serde::Deserialize;

use storelab_results::{Metric, RunFile};
use storelab_stats::median;
use storelab_stats::paired::ratio_summary;

use super::{DecisionsError, Results, check_folder, command, machine_files, read_json};

/// The parts of `redis-costs.json` the section shows.
#[derive(Debug, Deserialize)]
pub(crate) struct Costs {
    pub tasks: u64,
    pub redis_version: String,
    pub redis_bytes_per_task: std::collections::BTreeMap<String, f64>,
    pub get_all_ms: GetAllMs,
    pub redis_benchmark_hgetall_per_s: f64,
    pub machine: storelab_results::Machine,
}

#[derive(Debug, Deserialize)]
pub(crate) struct GetAllMs {
    pub pipelined_500: Vec<f64>,
    pub one_per_round_trip: Vec<f64>,
}

/// The parts of `redis-http.json` the section shows.
#[derive(Debug, Deserialize)]
pub(crate) struct Http {
    pub machine: storelab_results::Machine,
    pub rounds: usize,
    pub seconds: u64,
    pub connections: usize,
    pub keys: u64,
    pub req_per_s: std::collections::BTreeMap<String, Vec<f64>>,
    /// One open-loop rate sweep per deployment (absent in older files).
    #[serde(default)]
    pub knees: std::collections::BTreeMap<String, Knee>,
}

/// A deployment's rate sweep: the last rate whose p99 (from each request's
/// due time) stayed under 1 ms where the client kept up.
#[derive(Debug, Deserialize)]
pub(crate) struct Knee {
    pub knee: Option<f64>,
    pub client_limited: bool,
}

/// What the machine-count argument concludes for one kind of shared store.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Pass {
    /// This many replicas, each on a machine of its own, pass one
    /// in-process replica, with Redis's ceiling at least 10% above what
    /// they need.
    Replicas(u32),
    /// This many would, if Redis kept up; but their need is within 10% of
    /// Redis's ceiling for reads alone (an update's script costs Redis more,
    /// unmeasured): the figures cannot decide.
    Inconclusive(u32),
    /// Redis's ceiling for reads alone is not above the in-process rate: no
    /// number of replicas over it passes.
    RedisFirst,
}

/// The fewest replicas whose req/s together pass `in_process` req/s, each
/// serving `per_replica`, while Redis serves at most `redis_cap` commands
/// per second (one per HTTP request). A deployment delivers the lesser of
/// its replicas' sum and Redis's ceiling, so it passes only if the ceiling
/// does; a need within 10% of the ceiling (this machine's run-to-run
/// spread) is inconclusive.
pub(crate) fn replicas_to_pass(in_process: f64, per_replica: f64, redis_cap: f64) -> Pass {
    if per_replica <= 0.0 || !in_process.is_finite() || redis_cap <= in_process {
        return Pass::RedisFirst;
    }
    let n = (in_process / per_replica).floor() + 1.0;
    if n > f64::from(u32::MAX) {
        return Pass::RedisFirst;
    }
    let n32 = n as u32;
    if n * per_replica > redis_cap * 0.9 {
        Pass::Inconclusive(n32)
    } else {
        Pass::Replicas(n32)
    }
}

/// The section, one block per machine folder.
pub(crate) fn section(r: &mut Results) -> Result<String, DecisionsError> {
    let mut s = String::new();
    let seeds = machine_files(r, "redis-seed.json")?;
    if seeds.is_empty() {
        s.push_str("(no `redis-seed.json` yet: run `scripts/leave-process`)\n");
    }
    for path in seeds {
        let rel = path.strip_prefix(&r.dir).unwrap_or(&path).to_owned();
        let run = r.get_rel(&rel)?.clone();
        check_folder(&path, &run.machine.name())?;
        seed_table(&mut s, &run);
        let dir = path.parent().unwrap_or(&r.dir).to_owned();
        let costs_path = dir.join("redis-costs.json");
        let costs: Option<Costs> = if costs_path.exists() {
            let c: Costs = read_json(&costs_path)?;
            check_folder(&costs_path, &c.machine.name())?;
            Some(c)
        } else {
            None
        };
        if let Some(c) = &costs {
            cost_lines(&mut s, c, &run);
        }
        let http_path = dir.join("redis-http.json");
        if http_path.exists() {
            let h: Http = read_json(&http_path)?;
            check_folder(&http_path, &h.machine.name())?;
            http_table(&mut s, &h, costs.as_ref());
        }
    }
    Ok(s)
}

fn seed_table(s: &mut String, run: &RunFile) {
    let _ = writeln!(
        s,
        "Seed workload ({} tasks), {} ({}): `{}`\n",
        run.workload.keys,
        run.machine.name(),
        super::short_commit(&run.machine),
        command(run).trim_matches('`')
    );
    s.push_str(
        "| store | threads | ns/op (median) | over `dense`, per round (95%) | allocs/op | B/op |\n\
         |---|---:|---:|---:|---:|---:|\n",
    );
    for store in ["redis", "redis-cluster", "memory", "dense"] {
        for threads in [1, 2] {
            let Some(cell) = run.cell(store, threads) else {
                continue;
            };
            let ns = Metric::NsPerOp.values(cell);
            let over = run.cell("dense", threads).map(|d| {
                // Paired by round (`rep`), not by position.
                let base: Vec<(usize, f64)> = d
                    .samples
                    .iter()
                    .map(|s| s.rep)
                    .zip(Metric::NsPerOp.values(d))
                    .collect();
                let ratios: Vec<f64> = cell
                    .samples
                    .iter()
                    .map(|s| s.rep)
                    .zip(&ns)
                    .filter_map(|(rep, a)| base.iter().find(|(r, _)| *r == rep).map(|(_, b)| a / b))
                    .collect();
                ratio_summary(&ratios, 0.95)
            });
            let over = over.map_or("-".into(), |p| {
                let d = if p.median < 10.0 { 2 } else { 0 };
                match p.ci {
                    Some((lo, hi)) => format!("{:.d$}x ({lo:.d$}-{hi:.d$})", p.median),
                    None => format!("{:.d$}x", p.median),
                }
            });
            let _ = writeln!(
                s,
                "| `{store}` | {threads} | {} | {over} | {:.1} | {:.0} |",
                storelab_render::table::human(median(&ns)),
                cell.allocs_per_op,
                cell.bytes_per_op
            );
        }
    }
}

fn cost_lines(s: &mut String, c: &Costs, run: &RunFile) {
    let heap = |st: &str| {
        run.store(st)
            .and_then(|i| i.heap_bytes_per_task)
            .map_or("-".into(), |b| format!("{b:.0}"))
    };
    let bytes = |k: &str| {
        c.redis_bytes_per_task
            .get(k)
            .map_or("-".into(), |b| format!("{b:.0}"))
    };
    let per_round: Vec<f64> = c
        .get_all_ms
        .one_per_round_trip
        .iter()
        .zip(&c.get_all_ms.pipelined_500)
        .map(|(a, b)| a / b)
        .collect();
    let saved = ratio_summary(&per_round, 0.95);
    let _ = write!(
        s,
        "\nMemory per task: in Redis {} (`INFO memory` used_memory growth over {} creates, redis {}) \
         {} B on one server, {} B on the 3-master cluster; in the process, heap bytes per task \
         after the seed prefill: `dense` {}, `memory` {} (the Redis stores' own heap holds no task). \
         Pipelining: `get_all` of {} tasks takes {:.0} ms with 500 `HGETALL`s per round trip and \
         {:.0} ms with one (medians of {} interleaved rounds), {:.1}x{}. Redis's own ceiling for a \
         `get`'s command, redis-benchmark `HGETALL` of one task hash (50 clients, no pipelining): \
         {:.0} per second, on one core of this machine.\n",
        c.machine.name(),
        c.tasks,
        c.redis_version,
        bytes("redis"),
        bytes("redis-cluster"),
        heap("dense"),
        heap("memory"),
        c.tasks,
        median(&c.get_all_ms.pipelined_500),
        median(&c.get_all_ms.one_per_round_trip),
        per_round.len(),
        saved.median,
        saved
            .ci
            .map_or(String::new(), |(lo, hi)| format!(" ({lo:.1}-{hi:.1})")),
        c.redis_benchmark_hgetall_per_s,
    );
}

fn http_table(s: &mut String, h: &Http, costs: Option<&Costs>) {
    let _ = writeln!(
        s,
        "\nHTTP, closed loop, {} connections spread over the replicas, {} tasks, {} rounds of {} s ({}, {}; `PARTS=http scripts/leave-process`):\n",
        h.connections,
        h.keys,
        h.rounds,
        h.seconds,
        h.machine.name(),
        super::short_commit(&h.machine)
    );
    s.push_str(
        "| deployment | req/s (median of rounds) | over one in-process replica, per round (min-max) | 1 / req/s | knee (open loop, p99 under 1 ms) |\n\
         |---|---:|---:|---:|---:|\n",
    );
    let dense = h.req_per_s.get("dense").cloned().unwrap_or_default();
    let label = |k: &str| match k.split_once('-') {
        Some(("redis", n)) => format!("{n} replica(s) over one redis-server"),
        Some(("cluster", n)) => format!("{n} replica(s) over the 3-master cluster"),
        _ => "one in-process replica (`dense`)".into(),
    };
    let order = [
        "dense",
        "redis-1",
        "redis-2",
        "redis-3",
        "cluster-1",
        "cluster-2",
        "cluster-3",
    ];
    for k in order {
        let Some(rps) = h.req_per_s.get(k) else {
            continue;
        };
        let ratios: Vec<f64> = rps.iter().zip(&dense).map(|(a, b)| a / b).collect();
        let lo = ratios.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = ratios.iter().copied().fold(0.0, f64::max);
        let m = median(rps);
        let knee = h.knees.get(k).map_or("-".into(), |k| match k.knee {
            Some(rate) if k.client_limited => {
                format!("{rate:.0} (at least: the client was behind)")
            }
            Some(rate) => format!("{rate:.0}"),
            None => "none".into(),
        });
        let _ = writeln!(
            s,
            "| {} | {m:.0} | {:.2}x ({lo:.2}-{hi:.2}) | {:.1} µs | {knee} |",
            label(k),
            median(&ratios),
            1e6 / m
        );
    }
    machine_count(s, h, costs);
}

/// The cost per request and the machine-count argument, from the HTTP
/// table's medians and Redis's measured ceiling.
fn machine_count(s: &mut String, h: &Http, costs: Option<&Costs>) {
    let dense = h.req_per_s.get("dense").cloned().unwrap_or_default();
    let (Some(one), Some(c)) = (h.req_per_s.get("redis-1"), costs) else {
        return;
    };
    let (d, r1) = (median(&dense), median(one));
    let cap = c.redis_benchmark_hgetall_per_s;
    let _ = write!(
        s,
        "\nThe shared store's cost per request, here: the whole machine's time per request (1 / \
         req/s, both cores, {} connections) grows by {:.1} µs from one in-process replica to one \
         replica over Redis. The machine count is an argument from these figures, not a \
         measurement: suppose each replica had a machine like this one to itself and served the \
         req/s of one replica measured here (where it shared its cores with Redis and the client: \
         a floor; the in-process figure shared its cores with the client too), and each request \
         costs Redis one command at the measured `HGETALL` ceiling (redis-benchmark, itself on \
         this machine; on the cluster assumed 3 times one server's, not measured). {}",
        h.connections,
        1e6 / r1 - 1e6 / d,
        passing(d, r1, cap, "one redis-server", 1),
    );
    if let Some(cl) = h.req_per_s.get("cluster-1") {
        let _ = write!(
            s,
            " {}",
            passing(
                d,
                median(cl),
                cap * CLUSTER_MASTERS,
                "the 3-master cluster",
                3
            )
        );
    }
}

/// Masters of the cluster `scripts/leave-process` starts.
const CLUSTER_MASTERS: f64 = 3.0;

/// The sentence of [`replicas_to_pass`] for one kind of shared store.
fn passing(in_process: f64, per_replica: f64, cap: f64, over: &str, servers: u32) -> String {
    let head =
        format!("Over {over} ({per_replica:.0} req/s per replica, Redis's ceiling {cap:.0}),");
    match replicas_to_pass(in_process, per_replica, cap) {
        Pass::Replicas(n) => format!(
            "{head} {n} replica machines plus {servers} for Redis pass one in-process replica's \
             {in_process:.0} req/s ({:.0} req/s): {} machines against one.",
            f64::from(n) * per_replica,
            n + servers
        ),
        Pass::Inconclusive(n) => format!(
            "{head} {n} replica machines would deliver {:.0} req/s against one in-process \
             replica's {in_process:.0} if Redis kept up, but that is within 10% of its ceiling for \
             reads alone, and the mix's update scripts cost it more (not measured): these figures \
             cannot give a count.",
            f64::from(n) * per_replica
        ),
        Pass::RedisFirst => format!(
            "{head} no number of replicas passes one in-process replica's {in_process:.0} req/s: \
             Redis's ceiling comes first."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicas_pass_one_process_only_under_redis_ceiling() {
        // 50k in-process, 12k per replica: 5 replicas (60k) pass, 4 (48k) do not.
        assert_eq!(
            replicas_to_pass(50_000.0, 12_000.0, 130_000.0),
            Pass::Replicas(5)
        );
        // Exactly equal is not "more than": one more replica.
        assert_eq!(
            replicas_to_pass(48_000.0, 12_000.0, 130_000.0),
            Pass::Replicas(5)
        );
        // The need within 10% of the ceiling: inconclusive.
        assert_eq!(
            replicas_to_pass(100_000.0, 30_000.0, 130_000.0),
            Pass::Inconclusive(4)
        );
        // Redis-bound but above the in-process rate: still undecided, not "never".
        assert_eq!(
            replicas_to_pass(100_000.0, 30_000.0, 110_000.0),
            Pass::Inconclusive(4)
        );
        // Redis's ceiling not above the in-process rate.
        assert_eq!(
            replicas_to_pass(150_000.0, 12_000.0, 130_000.0),
            Pass::RedisFirst
        );
        assert_eq!(replicas_to_pass(1.0, 0.0, 130_000.0), Pass::RedisFirst);
    }
}
