//! `redis-costs [TASKS] [ROUNDS] > FILE.json`: what the stores on Redis cost
//! besides their ns/op (which `storelab run --stores remote` measures):
//! - memory per task **in Redis**: `INFO memory`'s `used_memory` (summed
//!   over the masters of a cluster) before and after `TASKS` creates
//!   through the store, over `TASKS`; the in-process stores' heap bytes
//!   per task come from the engine's memory phase, in the run file;
//! - what pipelining saves in `get_all`: the walk of `TASKS` hashes with 500
//!   `HGETALL`s per round trip against one per round trip, `ROUNDS` rounds
//!   of each, interleaved (ABAB), on one server;
//! - Redis's own capacity for the commands a `get` sends: `HGETALL` of a
//!   task hash, from `redis-benchmark` (50 clients, no pipelining), the
//!   ceiling of every replica on one server together.
//!
//! Servers are started here (persistence none) and stopped at the end.

use std::process::{Command, ExitCode};
use std::time::Instant;

use store_redis::{Cluster, Config, Persistence, RedisStore, Server, Target};
use task_model::{NewTask, TaskStore};

fn used_memory(urls: &[String]) -> Result<u64, String> {
    let mut total = 0;
    for url in urls {
        let client = redis::Client::open(url.as_str()).map_err(|e| e.to_string())?;
        let mut con = client.get_connection().map_err(|e| e.to_string())?;
        let info: String = redis::cmd("INFO")
            .arg("memory")
            .query(&mut con)
            .map_err(|e| e.to_string())?;
        let used = info
            .lines()
            .find_map(|l| l.strip_prefix("used_memory:"))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .ok_or("INFO memory has no used_memory")?;
        total += used;
    }
    Ok(total)
}

fn fill(store: &RedisStore, tasks: u32) -> Result<(), String> {
    for i in 0..tasks {
        let draft = NewTask {
            title: format!("task {i}"),
            description: Some("prefilled by redis-costs".into()),
            completed: None,
        }
        .validate()
        .map_err(|e| e.to_string())?;
        store.try_create(draft).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn bytes_per_task(target: Target, urls: &[String], tasks: u32) -> Result<f64, String> {
    let config = Config {
        url: (target == Target::Single).then(|| urls[0].clone()),
        cluster: if target == Target::Cluster {
            urls.to_vec()
        } else {
            Vec::new()
        },
        namespace: Some("memory".into()),
        ..Config::default()
    };
    let store = RedisStore::with_config(target, &config, true);
    let before = used_memory(urls)?;
    fill(&store, tasks)?;
    let after = used_memory(urls)?;
    Ok((after.saturating_sub(before)) as f64 / f64::from(tasks))
}

fn pipelining(url: &str, tasks: u32, rounds: usize) -> Result<(Vec<f64>, Vec<f64>), String> {
    let config = Config {
        url: Some(url.to_owned()),
        namespace: Some("walk".into()),
        ..Config::default()
    };
    let piped = RedisStore::with_config(Target::Single, &config, true);
    let unpiped = RedisStore::with_config(Target::Single, &config, false);
    fill(&piped, tasks)?;
    let time = |s: &RedisStore| -> Result<f64, String> {
        let t = Instant::now();
        let n = s.try_get_all().map_err(|e| e.to_string())?.len();
        if n != tasks as usize {
            return Err(format!("get_all listed {n} of {tasks} tasks"));
        }
        Ok(t.elapsed().as_secs_f64() * 1e3)
    };
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        if round % 2 == 0 {
            a.push(time(&piped)?);
            b.push(time(&unpiped)?);
        } else {
            b.push(time(&unpiped)?);
            a.push(time(&piped)?);
        }
    }
    Ok((a, b))
}

fn capacity(server: &Server) -> Result<f64, String> {
    let port = server.port().to_string();
    let out = Command::new("redis-benchmark")
        .args(["-p", &port, "-c", "50", "-n", "200000", "-q", "--csv"])
        .args(["HGETALL", "{walk:1}:t:1"])
        .output()
        .map_err(|e| format!("redis-benchmark: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .filter_map(|l| l.split(',').nth(1))
        .find_map(|v| v.trim_matches('"').parse::<f64>().ok())
        .ok_or_else(|| format!("redis-benchmark printed no rate: {text}"))
}

fn run(tasks: u32, rounds: usize) -> Result<String, String> {
    let server = Server::start(Persistence::None).map_err(|e| e.to_string())?;
    let single = bytes_per_task(Target::Single, &[server.url()], tasks)?;
    let cluster = Cluster::start(3, Persistence::None).map_err(|e| e.to_string())?;
    let clustered = bytes_per_task(Target::Cluster, &cluster.urls(), tasks)?;
    drop(cluster);
    let (piped, unpiped) = pipelining(&server.url(), tasks, rounds)?;
    let hgetall = capacity(&server)?;
    let json = serde_json::json!({
        "tool": "redis-costs",
        "redis_version": redis_version(&server.url())?,
        "tasks": tasks,
        "redis_bytes_per_task": {"redis": single, "redis-cluster": clustered},
        "get_all_ms": {"pipelined_500": piped, "one_per_round_trip": unpiped},
        "redis_benchmark_hgetall_per_s": hgetall,
        "redis_benchmark": "redis-benchmark -c 50 -n 200000 HGETALL <a task hash>",
    });
    serde_json::to_string_pretty(&json).map_err(|e| e.to_string())
}

fn redis_version(url: &str) -> Result<String, String> {
    let client = redis::Client::open(url).map_err(|e| e.to_string())?;
    let mut con = client.get_connection().map_err(|e| e.to_string())?;
    let info: String = redis::cmd("INFO")
        .arg("server")
        .query(&mut con)
        .map_err(|e| e.to_string())?;
    Ok(info
        .lines()
        .find_map(|l| l.strip_prefix("redis_version:"))
        .unwrap_or("?")
        .trim()
        .to_owned())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: redis-costs [TASKS (default 100000)] [ROUNDS (default 10)]";
    let tasks = args.first().map_or(Ok(100_000), |a| a.parse::<u32>());
    let rounds = args.get(1).map_or(Ok(10), |a| a.parse::<usize>());
    let (Ok(tasks @ 1..), Ok(rounds @ 1..)) = (tasks, rounds) else {
        eprintln!("redis-costs: TASKS and ROUNDS are whole numbers above 0; {usage}");
        return ExitCode::from(2);
    };
    match run(tasks, rounds) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("redis-costs: {e}");
            ExitCode::FAILURE
        }
    }
}
