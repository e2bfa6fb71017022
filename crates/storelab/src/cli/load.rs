//! `storelab load`: the HTTP load generator against a server on this machine.
//!
//! The client (the `storelab-load` crate doc has the design): a few threads,
//! each driving many non-blocking keep-alive connections from one epoll
//! set, so that the client takes little of the cores the server needs.
//!
//! `--url` may be given more than once, for replicas of one API over a
//! store outside the process: the connections are dealt to the servers in
//! turn (connection i to URL i % n), every URL is checked as the one URL
//! is, and the run file (its store's `about`) and the printed header name
//! them all. With one URL, everything reads as it did before.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;

use storelab_render::table;
use workload::{HotKeys, KeyDist, Mix, Workload};

use super::Failure;
use super::run::parse_duration;

#[derive(Args, Debug)]
pub(super) struct LoadArgs {
    /// The server's base URL; loopback addresses only. Give it more than
    /// once to spread the connections over several servers serving one
    /// store (replicas): connection i goes to URL i % n, so --connections
    /// must be at least the number of URLs.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: Vec<String>,
    /// Requests per second, open loop (latency from each request's due time).
    /// Without it, closed loop: find the maximum throughput.
    #[arg(long)]
    rate: Option<f64>,
    /// How long to load, e.g. 10s.
    #[arg(long, default_value = "10s")]
    duration: String,
    /// Concurrent keep-alive connections (one request in flight on each).
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Client threads driving the connections, each many of them through
    /// one epoll set with non-blocking sockets (at most one per
    /// connection). One is the least CPU taken from the server; raise it
    /// only when one client thread is saturated (closed loop on many
    /// cores).
    #[arg(long, default_value_t = 1)]
    client_threads: usize,
    /// Operation mix, as for `run`.
    #[arg(long, default_value = "read=80,update=20")]
    mix: String,
    /// Key distribution, as for `run`.
    #[arg(long, default_value = "zipf")]
    dist: String,
    /// Key space: requests ask for ids 1..=N (at least 1; default: the
    /// number of tasks the server reports).
    #[arg(long)]
    keys: Option<u32>,
    /// Seed of the generated key and operation streams: the same seed,
    /// mix and key space send the same requests.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Sweep the open-loop rate: from --sweep-start, times --sweep-factor
    /// per step (each step lasts --duration), until the corrected p99
    /// passes --target-p99, a request fails, or the server falls behind;
    /// reports the knee (the highest rate sustained under the target) and
    /// the client's own lateness at every step. The knee is judged only at
    /// steps where the client kept up (its lateness p99 at most a tenth of
    /// the target); if it was behind at the failing step, the knee is
    /// reported as a lower bound.
    #[arg(long, conflicts_with = "rate")]
    sweep: bool,
    /// The sweep's first rate, requests per second.
    #[arg(long, default_value_t = 5000.0)]
    sweep_start: f64,
    /// Each step's rate over the previous one's.
    #[arg(long, default_value_t = 1.25)]
    sweep_factor: f64,
    /// The sweep's highest rate.
    #[arg(long, default_value_t = 200_000.0)]
    max_rate: f64,
    /// The p99 (from each request's due time) a sweep step must stay under.
    #[arg(long, default_value = "1ms")]
    target_p99: String,
    /// Result file: JSON, the run schema (`storelab report` renders it),
    /// and beside it the same name with .csv, the run's one sample as `run`
    /// writes samples (store, threads = connections, rep, total_ops =
    /// requests, wall_ns, ns_per_op, ops_per_sec, bytes_per_op,
    /// allocs_per_op); a sweep writes its JSON only. The folder must exist.
    /// Default target/storelab/last-load.json (that folder is created).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Where `--out` writes when it is not given; its folder is created.
const DEFAULT_OUT: &str = "target/storelab/last-load.json";

impl LoadArgs {
    fn out(&self) -> &Path {
        self.out.as_deref().unwrap_or(Path::new(DEFAULT_OUT))
    }
}

pub(super) fn load(args: LoadArgs) -> Result<(), Failure> {
    use storelab_load::{self as load, LoadPlan};
    let addrs = args
        .url
        .iter()
        .map(|url| load::loopback_addr(url))
        .collect::<Result<Vec<_>, _>>()?;
    let duration = parse_duration(&args.duration)?;
    if duration > load::MAX_DURATION {
        return Err(format!("--duration is at most {:?}", load::MAX_DURATION).into());
    }
    if args.connections == 0 || args.connections > load::MAX_CONNECTIONS {
        return Err(format!("--connections must be 1 to {}", load::MAX_CONNECTIONS).into());
    }
    if args.connections < addrs.len() {
        return Err(format!(
            "--connections must be at least the number of --url ({}): connection i goes to URL i % {}, and every server gets one",
            addrs.len(),
            addrs.len()
        )
        .into());
    }
    if args.client_threads == 0 || args.client_threads > load::MAX_CLIENT_THREADS {
        return Err(format!("--client-threads must be 1 to {}", load::MAX_CLIENT_THREADS).into());
    }
    if let Some(rate) = args.rate
        && !(rate > 0.0 && rate <= load::MAX_RATE)
    {
        return Err(format!("--rate must be above 0 and at most {}", load::MAX_RATE).into());
    }
    if args.keys == Some(0) {
        return Err("--keys must be at least 1 (requests ask for ids 1..=N)".into());
    }
    if args.sweep {
        sweep_target(&args)?;
    }
    let mix = args.mix.parse::<Mix>()?;
    let dist = args.dist.parse::<KeyDist>()?;
    check_out(&args)?;
    let keys = match args.keys {
        Some(k) => k,
        // With several servers, the fewest tasks any holds: every id
        // asked for exists on each.
        None => {
            let (_, tasks) = load::health_all(&addrs)?;
            u32::try_from(tasks).unwrap_or(u32::MAX).max(1)
        }
    };
    let plan = LoadPlan {
        addrs,
        rate: args.rate,
        duration,
        connections: args.connections,
        client_threads: args.client_threads,
        workload: Workload {
            keys,
            capacity: None,
            dist,
            hot_keys: HotKeys::Scrambled,
            mix,
            seed: args.seed,
            stream_len: 0,
        },
    };
    if args.sweep {
        return sweep(&args, plan);
    }
    let outcome = load::run(plan)?;
    outcome.file.write(args.out())?;
    print_load(&args, duration, &outcome);
    Ok(())
}

/// `--out`, if given, goes into a folder that exists (nothing is created
/// for it); any result path must be writable. Checked before any load.
fn check_out(args: &LoadArgs) -> Result<(), Failure> {
    if let Some(out) = &args.out {
        let folder = out
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !folder.is_dir() {
            return Err(format!(
                "--out {}: the folder {} does not exist (create it first)",
                out.display(),
                folder.display()
            )
            .into());
        }
    }
    Ok(storelab_results::check_writable(args.out())?)
}

/// A rate in requests per second, to about three significant digits:
/// `0.400`, `2.50`, `12.5`, `4021`.
pub(super) fn per_second(rate: f64) -> String {
    let magnitude = rate.abs();
    if !rate.is_finite() || magnitude >= 100.0 || magnitude == 0.0 {
        return format!("{rate:.0}");
    }
    // Digits after the point for three significant ones, at most six.
    let decimals = (2.0 - magnitude.log10().floor()).clamp(0.0, 6.0) as usize;
    format!("{rate:.decimals$}")
}

/// The sweep's options, validated (before anything connects); returns the
/// p99 target.
fn sweep_target(args: &LoadArgs) -> Result<Duration, Failure> {
    let target_p99 = parse_duration(&args.target_p99)?;
    let rates_ok = |r: f64| r.is_finite() && r > 0.0 && r <= storelab_load::MAX_RATE;
    if !(rates_ok(args.sweep_start) && rates_ok(args.max_rate) && args.sweep_start <= args.max_rate)
    {
        return Err(format!(
            "--sweep-start and --max-rate must be above 0 and at most {}, the start no higher than the maximum",
            storelab_load::MAX_RATE
        )
        .into());
    }
    if !(args.sweep_factor.is_finite() && args.sweep_factor >= 1.01 && args.sweep_factor <= 10.0) {
        return Err("--sweep-factor must be from 1.01 to 10".into());
    }
    Ok(target_p99)
}

/// `--sweep`: validated, run, written, printed.
fn sweep(args: &LoadArgs, base: storelab_load::LoadPlan) -> Result<(), Failure> {
    use storelab_load::sweep::{self, SweepPlan};
    let target_p99 = sweep_target(args)?;
    let result = sweep::sweep(&SweepPlan {
        base,
        start: args.sweep_start,
        factor: args.sweep_factor,
        max_rate: args.max_rate,
        target_p99,
    })?;
    let json = serde_json::to_string_pretty(&result).map_err(|e| e.to_string())?;
    storelab_results::write_file(args.out(), (json + "\n").as_bytes())?;
    print_sweep(args, &result);
    Ok(())
}

/// What `storelab load --sweep` prints: every step, the client's lateness
/// beside the server's latency, and the knee.
fn print_sweep(args: &LoadArgs, result: &storelab_load::sweep::Sweep) {
    let d = |v: u64| table::duration_ns(v as f64);
    println!(
        "storelab load {} --sweep · store {} · {} connections on {} client thread(s) · {} s per step · {} · target p99 {}",
        args.url.join(", "),
        result.store,
        result.connections,
        result.client_threads,
        result.step_seconds,
        result.mix,
        d(result.target_p99_ns)
    );
    let mut t = table::Table::new(&[
        "rate",
        "achieved",
        "p50 corrected",
        "p99 corrected",
        "p99 uncorrected",
        "p99.9 corrected",
        "client late p50",
        "late p99",
        "client",
        "errors",
        "step",
    ]);
    for s in &result.steps {
        t.row(vec![
            per_second(s.rate),
            per_second(s.achieved),
            d(s.corrected.p50),
            d(s.corrected.p99),
            d(s.uncorrected.p99),
            d(s.corrected.p999),
            d(s.lateness_p50_ns),
            d(s.lateness_p99_ns),
            if s.client_late { "LATE" } else { "kept up" }.into(),
            s.errors.to_string(),
            s.failed.clone().unwrap_or_else(|| "passed".into()),
        ]);
    }
    print!("{}", t.text());
    let knee = match (result.knee, result.client_limited) {
        (Some(k), false) => format!("{} req/s", per_second(k)),
        (Some(k), true) => format!(
            "at least {} req/s (a lower bound: the failing step had the client behind)",
            per_second(k)
        ),
        (None, _) => "none (no step passed with the client keeping up)".into(),
    };
    println!("knee: {knee}; stopped {}.", result.stopped);
    println!(
        "corrected: from each request's due time; uncorrected: from its send time; client late: \
         from when a request could be sent (due, its connection free) to when the client sent it. \
         The knee is judged only at steps where the client kept up (client late p99 at most {}, \
         {:.0}% of the target); a LATE step that passed does not stop the sweep.",
        d(result.lateness_bound_ns),
        storelab_load::sweep::CLIENT_SHARE * 100.0
    );
    println!("results: {}", args.out().display());
}

/// What `storelab load` prints: the run, its statuses, its latency table.
pub(super) fn print_load(
    args: &LoadArgs,
    duration: Duration,
    outcome: &storelab_load::LoadOutcome,
) {
    let cell = &outcome.file.cells[0];
    println!(
        "storelab load {} · store {} · {} connections on {} client thread(s) · {} · {}",
        args.url.join(", "),
        cell.store,
        args.connections,
        args.client_threads.min(args.connections),
        args.rate.map_or("closed loop".to_owned(), |r| format!(
            "open loop at {r} req/s"
        )),
        outcome.file.workload.mix
    );
    println!(
        "requests: {} in {:?}; achieved {} req/s",
        outcome.requests,
        duration,
        per_second(outcome.rps)
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
    let (late50, late99) = (
        table::duration_ns(outcome.lateness.0 as f64),
        table::duration_ns(outcome.lateness.1 as f64),
    );
    if args.rate.is_some() {
        println!(
            "latency is measured from each request's due time (no coordinated omission); the client sent \
             requests {late50} late at p50, {late99} at p99 (from when each could be sent: due, its connection free)"
        );
    } else {
        println!(
            "the client sent each next request {late50} after the last answer at p50, {late99} at p99"
        );
    }
    println!("results: {}", args.out().display());
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::{LoadArgs, load, per_second};

    #[derive(Parser)]
    struct Cmd {
        #[command(flatten)]
        args: LoadArgs,
    }

    fn parse(argv: &[&str]) -> LoadArgs {
        Cmd::try_parse_from(std::iter::once("load").chain(argv.iter().copied()))
            .expect("the arguments parse")
            .args
    }

    /// Runs `storelab load` with `argv`; its exit code and message.
    fn refused(argv: &[&str]) -> (u8, String) {
        let failure = load(parse(argv)).expect_err("refused");
        (failure.exit_code(), failure.to_string())
    }

    #[test]
    fn url_is_repeatable_and_one_by_default() {
        assert_eq!(parse(&[]).url, ["http://127.0.0.1:8080"]);
        let two = parse(&["--url", "http://127.0.0.1:1", "--url", "http://[::1]:2"]);
        assert_eq!(two.url, ["http://127.0.0.1:1", "http://[::1]:2"]);
    }

    #[test]
    fn every_url_is_checked_and_a_bad_one_exits_2() {
        let first = ["--url", "http://127.0.0.1:1", "--duration", "1s"];
        for (second, says) in [
            ("http://10.0.0.1:80", "not a loopback address"),
            ("127.0.0.1:80", "not an http:// URL"),
            ("http://127.0.0.1:2/tasks", "without a path"),
        ] {
            let argv: Vec<&str> = first.iter().copied().chain(["--url", second]).collect();
            let (code, message) = refused(&argv);
            assert_eq!(code, 2, "{second}: {message}");
            assert!(message.contains(says), "{second}: {message}");
        }
        let (code, message) = refused(&[
            "--url",
            "http://127.0.0.1:1",
            "--url",
            "http://127.0.0.1:2",
            "--connections",
            "1",
        ]);
        assert_eq!(code, 2, "{message}");
        assert!(
            message.contains("at least the number of --url (2)"),
            "{message}"
        );
        // Valid URLs with nothing listening: the load fails at its first
        // connection, with an error, not a panic, and writes nothing.
        let dir = std::env::temp_dir().join(format!("storelab-load-none-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp folder");
        let out = dir.join("none.json");
        let (code, message) = refused(&[
            "--url",
            "http://127.0.0.1:1",
            "--url",
            "http://127.0.0.1:2",
            "--keys",
            "10",
            "--duration",
            "1s",
            "--out",
            out.to_str().expect("utf-8 path"),
        ]);
        assert_eq!(code, 2, "{message}");
        assert!(message.contains("cannot connect"), "{message}");
        assert!(!out.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_load_over_two_servers_writes_one_file_naming_both() {
        let build = store_catalog::catalog()
            .into_iter()
            .find(|s| s.entry.name == "dense")
            .and_then(|s| s.serve)
            .expect("dense is servable");
        let servers: Vec<task_api::Background> = (0..2)
            .map(|_| {
                task_api::spawn_background("127.0.0.1:0".parse().expect("addr"), build(50))
                    .expect("server starts")
            })
            .collect();
        let urls: Vec<String> = servers
            .iter()
            .map(|s| format!("http://{}", s.addr))
            .collect();
        let dir = std::env::temp_dir().join(format!("storelab-load-urls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp folder");
        let out = dir.join("two.json");
        let out_arg = out.to_str().expect("utf-8 path");
        let argv = [
            "--url",
            &urls[0],
            "--url",
            &urls[1],
            "--duration",
            "300ms",
            "--connections",
            "2",
            "--out",
            out_arg,
        ];
        load(parse(&argv)).expect("a load over two servers");
        let file = storelab_results::RunFile::read(&out).expect("the run file");
        let about = &file.stores[0].about;
        assert!(
            about.ends_with(&format!(
                ", spread over 2 servers: {}, {}",
                urls[0], urls[1]
            )),
            "{about}"
        );
        assert_eq!(file.cells[0].store, "dense");
        assert_eq!(file.workload.keys, 50, "the servers' task count");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn rates_keep_about_three_significant_digits() {
        assert_eq!(per_second(0.4), "0.400");
        assert_eq!(per_second(0.5333), "0.533");
        assert_eq!(per_second(2.5), "2.50");
        assert_eq!(per_second(12.345), "12.3");
        assert_eq!(per_second(99.94), "99.9");
        assert_eq!(per_second(4021.4), "4021");
        assert_eq!(per_second(0.0), "0");
        assert_eq!(per_second(0.001234), "0.00123");
    }
}
