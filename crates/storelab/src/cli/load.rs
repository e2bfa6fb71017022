//! `storelab load`: the HTTP load generator against a server on this machine.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use storelab_render::table;
use workload::{HotKeys, KeyDist, Mix, Workload};

use super::Failure;
use super::run::parse_duration;

#[derive(Args, Debug)]
pub(super) struct LoadArgs {
    /// The server's base URL; loopback addresses only.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Requests per second, open loop (latency from each request's due time).
    /// Without it, closed loop: find the maximum throughput.
    #[arg(long)]
    rate: Option<f64>,
    /// How long to load, e.g. 10s.
    #[arg(long, default_value = "10s")]
    duration: String,
    /// Concurrent connections.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Operation mix, as for `run`.
    #[arg(long, default_value = "read=80,update=20")]
    mix: String,
    /// Key distribution, as for `run`.
    #[arg(long, default_value = "zipf")]
    dist: String,
    /// Key space (default: the number of tasks the server reports).
    #[arg(long)]
    keys: Option<u32>,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Result file (JSON, the run schema; `storelab report` renders it).
    #[arg(long, default_value = "target/storelab/last-load.json")]
    out: PathBuf,
}

pub(super) fn load(args: LoadArgs) -> Result<(), Failure> {
    use storelab_load::{self as load, LoadPlan};
    let addr = load::loopback_addr(&args.url)?;
    let duration = parse_duration(&args.duration)?;
    if duration > load::MAX_DURATION {
        return Err(format!("--duration is at most {:?}", load::MAX_DURATION).into());
    }
    if args.connections == 0 || args.connections > load::MAX_CONNECTIONS {
        return Err(format!("--connections must be 1 to {}", load::MAX_CONNECTIONS).into());
    }
    if let Some(rate) = args.rate
        && !(rate > 0.0 && rate <= load::MAX_RATE)
    {
        return Err(format!("--rate must be above 0 and at most {}", load::MAX_RATE).into());
    }
    let mix = args.mix.parse::<Mix>()?;
    let dist = args.dist.parse::<KeyDist>()?;
    storelab_results::check_writable(&args.out)?;
    let keys = match args.keys {
        Some(k) => k,
        None => {
            let (_, tasks) = load::health(addr)?;
            u32::try_from(tasks).unwrap_or(u32::MAX).max(1)
        }
    };
    let outcome = load::run(LoadPlan {
        addr,
        rate: args.rate,
        duration,
        connections: args.connections,
        workload: Workload {
            keys,
            capacity: None,
            dist,
            hot_keys: HotKeys::Scrambled,
            mix,
            seed: args.seed,
            stream_len: 0,
        },
    })?;
    outcome.file.write(&args.out)?;
    print_load(&args, duration, &outcome);
    Ok(())
}

/// What `storelab load` prints: the run, its statuses, its latency table.
pub(super) fn print_load(
    args: &LoadArgs,
    duration: Duration,
    outcome: &storelab_load::LoadOutcome,
) {
    let cell = &outcome.file.cells[0];
    println!(
        "storelab load {} · store {} · {} connections · {} · {}",
        args.url,
        cell.store,
        args.connections,
        args.rate.map_or("closed loop".to_owned(), |r| format!(
            "open loop at {r} req/s"
        )),
        outcome.file.workload.mix
    );
    println!(
        "requests: {} in {:?}; achieved {:.0} req/s",
        outcome.requests, duration, outcome.rps
    );
    let statuses: Vec<String> = outcome
        .statuses
        .iter()
        .map(|(c, n)| format!("{c}: {n}"))
        .collect();
    println!(
        "statuses: {}; transport errors: {}",
        statuses.join(", "),
        outcome.transport_errors
    );
    let mut t = table::Table::new(&["op", "count", "p50", "p90", "p99", "p99.9", "max"]);
    for l in &cell.latency {
        let d = |v: u64| table::duration_ns(v as f64);
        t.row(vec![
            l.op.clone(),
            l.count.to_string(),
            d(l.p50),
            d(l.p90),
            d(l.p99),
            d(l.p999),
            d(l.max),
        ]);
    }
    print!("{}", t.text());
    if args.rate.is_some() {
        println!(
            "latency is measured from each request's due time (no coordinated omission); the client sent \
             requests {} late at p50, {} at p99",
            table::duration_ns(outcome.lateness.0 as f64),
            table::duration_ns(outcome.lateness.1 as f64)
        );
    }
    println!("results: {}", args.out.display());
}
