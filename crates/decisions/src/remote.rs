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

/// The fewest replicas over one Redis whose req/s together pass one
/// in-process replica's, each replica serving `per_replica` req/s on a
/// machine of its own, while Redis serves at most `redis_cap` of the
/// store's requests per second (one per HTTP request); `None` when Redis's
/// ceiling comes first.
pub(crate) fn replicas_to_pass(in_process: f64, per_replica: f64, redis_cap: f64) -> Option<u32> {
    if per_replica <= 0.0 || !in_process.is_finite() {
        return None;
    }
    let n = (in_process / per_replica).floor() + 1.0;
    (n * per_replica <= redis_cap && n <= f64::from(u32::MAX)).then_some(n as u32)
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
                let base = Metric::NsPerOp.values(d);
                let ratios: Vec<f64> = ns.iter().zip(&base).map(|(a, b)| a / b).collect();
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
        "\nHTTP, closed loop, {} connections spread over the replicas, {} tasks, {} rounds of {} s ({}):\n",
        h.connections,
        h.keys,
        h.rounds,
        h.seconds,
        h.machine.name()
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
        "\nThe shared store's cost per request, here: {:.1} µs (one replica over Redis against one \
         in-process replica, on the same cores). The machine count is an argument from these \
         figures, not a measurement: suppose each replica had a machine like this one to itself and \
         served the req/s of one replica measured here (where it shared its cores with Redis and \
         the client, so this is a floor), and each request costs Redis one command at the \
         measured `HGETALL` ceiling (an update's script costs more, so this is a ceiling). {}",
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
    match replicas_to_pass(in_process, per_replica, cap) {
        Some(n) => format!(
            "Over {over} ({per_replica:.0} req/s per replica), {n} replica machines plus {servers} \
             for Redis pass one in-process replica's {in_process:.0} req/s ({:.0} req/s, under \
             Redis's ceiling of {cap:.0}{}): {} machines against one.",
            f64::from(n) * per_replica,
            if f64::from(n) * per_replica > cap * 0.9 {
                ", within 10% of it: a margin inside this machine's run-to-run spread, so \
                 Redis's one core is as likely the limit"
            } else {
                ""
            },
            n + servers
        ),
        None => format!(
            "Over {over} ({per_replica:.0} req/s per replica), no number of replicas passes one \
             in-process replica's {in_process:.0} req/s: Redis's ceiling of {cap:.0} commands per \
             second comes first."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicas_pass_one_process_only_under_redis_ceiling() {
        // 50k in-process, 12k per replica: 5 replicas (60k) pass, 4 (48k) do not.
        assert_eq!(replicas_to_pass(50_000.0, 12_000.0, 130_000.0), Some(5));
        // Exactly equal is not "more than": one more replica.
        assert_eq!(replicas_to_pass(48_000.0, 12_000.0, 130_000.0), Some(5));
        // Redis's ceiling comes first.
        assert_eq!(replicas_to_pass(150_000.0, 12_000.0, 130_000.0), None);
        assert_eq!(replicas_to_pass(1.0, 0.0, 130_000.0), None);
    }
}
