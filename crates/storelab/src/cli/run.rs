//! `storelab run`: presets, validated arguments, the run, its table.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

use bench_harness::{Plan, lab};
use store_catalog as registry;
use storelab_render::table;
use storelab_results::RunFile;
use workload::{HotKeys, KeyDist, Mix, ReadMode, Workload};

use super::Failure;

/// `--order`: see [`bench_harness::Order`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(super) enum OrderArg {
    Shuffled,
    Fixed,
    Reversed,
}

impl From<OrderArg> for bench_harness::Order {
    fn from(o: OrderArg) -> bench_harness::Order {
        match o {
            OrderArg::Shuffled => bench_harness::Order::Shuffled,
            OrderArg::Fixed => bench_harness::Order::Fixed,
            OrderArg::Reversed => bench_harness::Order::Reversed,
        }
    }
}

/// `--read`: how a read gets at its task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(super) enum ReadArg {
    /// `get`: clone the task's `Arc` out of the store (the default).
    Clone,
    /// `get_with`: look at the task in place.
    Visit,
}

impl From<ReadArg> for ReadMode {
    fn from(r: ReadArg) -> ReadMode {
        match r {
            ReadArg::Clone => ReadMode::Clone,
            ReadArg::Visit => ReadMode::Visit,
        }
    }
}

/// Named starting points for `run`; every option overrides its preset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Preset {
    /// The log's workload: 1M tasks, Zipf 80/20 (scrambled), 80% reads, 20% updates.
    Seed,
    /// A few seconds over every operation kind, for CI.
    Smoke,
    /// 1M tasks, Zipf 80/20, 95% reads, 5% updates.
    ReadHeavy,
    /// 1M tasks, Zipf 80/20, 50% reads, 30% updates, 10% creates, 10% deletes.
    WriteHeavy,
    /// get_all over 1M tasks.
    Bulk,
    /// 100% reads of 16 hot tasks among 1M (hotspot: 0.0016% of ids take
    /// 99.9% of reads): the log's "lock-free reads for the most accessed keys".
    Hot,
    /// As `hot`, with 5% updates of the same hot tasks.
    HotUpdate,
    /// YCSB workload A (update heavy): 50% reads, 50% updates, Zipf 0.99
    /// scrambled, 1M records.
    YcsbA,
    /// YCSB workload B (read mostly): 95% reads, 5% updates.
    YcsbB,
    /// YCSB workload C (read only): 100% reads.
    YcsbC,
    /// YCSB workload D (read latest): 95% reads, 5% inserts, the newest
    /// records the hottest (latest, Zipf 0.99 over recency).
    YcsbD,
    /// YCSB workload F (read-modify-write): 50% reads, 50% read-modify-writes.
    /// (E, short range scans, has no counterpart: see DECISIONS.md.)
    YcsbF,
    /// conc-map-bench ReadHeavy: 98% reads, 1% inserts, 1% removes, uniform,
    /// a fresh store of capacity 2^20 prefilled to 75%, 0.75 x capacity ops.
    CmbReadHeavy,
    /// conc-map-bench Exchange: 10% reads, 40% inserts, 40% removes, 10% updates.
    CmbExchange,
    /// conc-map-bench RapidGrow: 5% reads, 80% inserts, 5% removes, 10% updates.
    CmbRapidGrow,
    /// Growth: a fresh, unsized store creates 1M tasks; resizes show in
    /// ns/op and in the create latency tail.
    Growth,
}

/// What a preset sets.
#[derive(Clone, Copy)]
struct Spec {
    keys: u32,
    /// The size hint stores are built with, if not `keys`.
    capacity: Option<u32>,
    mix: Mix,
    dist: KeyDist,
    rep_secs: f64,
    stream_len: usize,
    /// Every repetition on a fresh store, with this many operations.
    fresh_ops: Option<u64>,
}

/// conc-map-bench's table: capacity 2^20 here (2^25 there; this machine
/// holds eleven stores at once), prefilled to 75%, 0.75 x capacity ops.
const CMB_CAPACITY: u32 = 1 << 20;

impl Spec {
    /// The log's workload; every other preset changes some of it.
    const SEED: Spec = Spec {
        keys: 1_000_000,
        capacity: None,
        mix: Mix::SEED,
        dist: KeyDist::SEED,
        rep_secs: 0.3,
        stream_len: 1 << 20,
        fresh_ops: None,
    };

    /// A YCSB workload. YCSB's zipfian constant is 0.99; its request
    /// distribution "zipfian" is scrambled, "latest" counts from the newest
    /// insert.
    fn ycsb(m: &str, d: &str) -> Spec {
        Spec {
            mix: mix(m),
            dist: dist(d),
            ..Spec::SEED
        }
    }

    /// A conc-map-bench workload: a fresh store of capacity
    /// [`CMB_CAPACITY`], prefilled to 75%, as many operations as the prefill.
    fn cmb(m: &str) -> Spec {
        let prefill = CMB_CAPACITY / 4 * 3;
        Spec {
            keys: prefill,
            capacity: Some(CMB_CAPACITY),
            mix: mix(m),
            dist: KeyDist::Uniform,
            fresh_ops: Some(u64::from(prefill)),
            ..Spec::SEED
        }
    }
}

/// A preset's mix.
fn mix(s: &str) -> Mix {
    s.parse::<Mix>().expect("preset mixes are valid")
}

/// A preset's key distribution.
fn dist(s: &str) -> KeyDist {
    s.parse::<KeyDist>()
        .expect("preset distributions are valid")
}

impl Preset {
    fn name(self) -> &'static str {
        match self {
            Preset::Seed => "seed",
            Preset::Smoke => "smoke",
            Preset::ReadHeavy => "read-heavy",
            Preset::WriteHeavy => "write-heavy",
            Preset::Bulk => "bulk",
            Preset::Hot => "hot",
            Preset::HotUpdate => "hot-update",
            Preset::YcsbA => "ycsb-a",
            Preset::YcsbB => "ycsb-b",
            Preset::YcsbC => "ycsb-c",
            Preset::YcsbD => "ycsb-d",
            Preset::YcsbF => "ycsb-f",
            Preset::CmbReadHeavy => "cmb-read-heavy",
            Preset::CmbExchange => "cmb-exchange",
            Preset::CmbRapidGrow => "cmb-rapid-grow",
            Preset::Growth => "growth",
        }
    }

    /// Everything the preset sets.
    fn spec(self) -> Spec {
        let base = Spec::SEED;
        match self {
            Preset::Seed => base,
            Preset::Smoke => Spec {
                keys: 10_000,
                mix: mix("read=69,update=20,create=5,delete=5,get_all=1"),
                rep_secs: 0.02,
                stream_len: 1 << 14,
                ..base
            },
            Preset::ReadHeavy => Spec {
                mix: mix("read=95,update=5"),
                rep_secs: 0.4,
                ..base
            },
            Preset::WriteHeavy => Spec {
                mix: mix("read=50,update=30,create=10,delete=10"),
                rep_secs: 0.4,
                ..base
            },
            Preset::Bulk => Spec {
                mix: mix("get_all=100"),
                rep_secs: 0.4,
                stream_len: 1 << 10,
                ..base
            },
            Preset::Hot => Spec {
                mix: mix("read=100"),
                dist: dist("hotspot:0.000016:0.999"),
                ..base
            },
            Preset::HotUpdate => Spec {
                mix: mix("read=95,update=5"),
                dist: dist("hotspot:0.000016:0.999"),
                ..base
            },
            Preset::YcsbA => Spec::ycsb("read=50,update=50", "zipf:0.99"),
            Preset::YcsbB => Spec::ycsb("read=95,update=5", "zipf:0.99"),
            Preset::YcsbC => Spec::ycsb("read=100", "zipf:0.99"),
            Preset::YcsbD => Spec::ycsb("read=95,create=5", "latest:0.99"),
            Preset::YcsbF => Spec::ycsb("read=50,rmw=50", "zipf:0.99"),
            Preset::CmbReadHeavy => Spec::cmb("read=98,create=1,delete=1"),
            Preset::CmbExchange => Spec::cmb("read=10,create=40,delete=40,update=10"),
            Preset::CmbRapidGrow => Spec::cmb("read=5,create=80,delete=5,update=10"),
            Preset::Growth => Spec {
                keys: 0,
                capacity: Some(0),
                mix: mix("create=100"),
                dist: KeyDist::Uniform,
                fresh_ops: Some(1_000_000),
                ..base
            },
        }
    }
}

#[derive(Args, Debug)]
pub(super) struct RunArgs {
    /// Starting point; options below override it.
    #[arg(long, value_enum, default_value = "seed")]
    preset: Preset,
    /// `all` (every store in the process but knob settings), `knobs`,
    /// `remote` (the stores on Redis), or names separated by commas (see
    /// `storelab list`).
    #[arg(long, default_value = "all")]
    stores: String,
    /// Thread counts, e.g. 1,2,4 (default: 1, powers of two, and the core count).
    #[arg(long, value_delimiter = ',')]
    threads: Option<Vec<String>>,
    /// Tasks prefilled, and the key space of reads, updates and deletes.
    #[arg(long)]
    keys: Option<u32>,
    /// uniform | zipf (calibrated to 80/20) | zipf:S | hotspot:FRACTION:SHARE
    #[arg(long)]
    dist: Option<String>,
    /// Where the hot ranks land: scrambled over the ids, or the lowest ids.
    #[arg(long, value_parser = str::parse::<HotKeys>)]
    hot_keys: Option<HotKeys>,
    /// Percentages summing to 100, e.g. read=80,update=20 (also create, delete, get_all).
    #[arg(long)]
    mix: Option<String>,
    /// Target time per repetition, e.g. 400ms or 0.4s; the op count is calibrated per store.
    #[arg(long)]
    duration: Option<String>,
    /// Fixed operations per thread per repetition (instead of --duration).
    #[arg(long, conflicts_with = "duration")]
    ops: Option<u64>,
    /// Untimed operations before each repetition, in percent of its count.
    #[arg(long, default_value_t = 10)]
    warmup: u32,
    /// Repetitions per (store, threads); 6 is the fewest for a 95% CI.
    #[arg(long, default_value_t = 6)]
    reps: usize,
    /// Seed of the key and operation streams.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// How reads get at a task: clone its Arc (get) or visit it in place (get_with).
    #[arg(long = "read", value_enum, default_value = "clone")]
    read_mode: ReadArg,
    /// Order of the prefills and of the cells within each round: a seeded
    /// shuffle per round (the default), catalog order, or its reverse.
    #[arg(long, value_enum, default_value = "shuffled")]
    order: OrderArg,
    /// Result file (JSON; a CSV is written beside it).
    #[arg(long, default_value = "target/storelab/last-run.json")]
    out: PathBuf,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    #[command(flatten)]
    pub(super) redis: super::redis::RedisArgs,
}

/// The default thread counts: 1, powers of two below the core count, and
/// the core count.
pub(super) fn default_threads() -> Vec<usize> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut v: Vec<usize> = std::iter::successors(Some(1usize), |t| Some(t * 2))
        .take_while(|t| *t < cores)
        .collect();
    v.push(cores);
    v.dedup();
    v
}

pub(super) fn parse_threads(raw: &[String]) -> Result<Vec<usize>, String> {
    let mut out = Vec::new();
    for part in raw.iter().map(|s| s.trim()) {
        let n: usize = part
            .parse()
            .map_err(|_| format!("'{part}' is not a thread count (expected numbers like 1,2,4)"))?;
        if n == 0 {
            return Err("zero threads: every thread count must be at least 1".into());
        }
        if n > 1024 {
            return Err(format!(
                "{n} threads is more than this harness allows (1024)"
            ));
        }
        if !out.contains(&n) {
            out.push(n);
        }
    }
    if out.is_empty() {
        return Err("no thread count given".into());
    }
    Ok(out)
}

/// `400ms`, `0.4s`, `2s`, or plain seconds.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let (number, scale) = if let Some(ms) = raw.strip_suffix("ms") {
        (ms, 1e-3)
    } else if let Some(s) = raw.strip_suffix('s') {
        (s, 1.0)
    } else {
        (raw, 1.0)
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("'{raw}' is not a duration (expected e.g. 400ms or 0.4s)"))?;
    let secs = value * scale;
    if !(secs.is_finite() && secs > 0.0 && secs <= 3600.0) {
        return Err(format!(
            "duration '{raw}' must be more than 0 and at most an hour"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// One line on stderr when `--stores all` leaves the stores outside the
/// process out: which, why, and whether they could run here.
fn say_remote_skipped(stores: &str) {
    let named = |n: &str| stores.split(',').map(str::trim).any(|w| w == n);
    if !named("all") {
        return;
    }
    let remote: Vec<_> = registry::catalog()
        .into_iter()
        .filter(|s| s.entry.family == bench_harness::Family::Remote && !named(s.entry.name))
        .collect();
    let Some(first) = remote.first() else { return };
    let names: Vec<_> = remote.iter().map(|s| s.entry.name).collect();
    let here = match (first.available)() {
        Ok(()) => "available here".to_owned(),
        Err(why) => format!("unavailable here: {why}"),
    };
    eprintln!(
        "storelab: skipped {}: stores outside the process run only when named (--stores remote); {here}",
        names.join(", ")
    );
}

/// The entries `--stores` names: yours by name, the rest from the catalog;
/// a named store that cannot be built here (a `remote` one with no server)
/// is refused with the reason.
pub(super) fn select_entries(
    names: &str,
    mut yours: Vec<bench_harness::Entry>,
) -> Result<Vec<bench_harness::Entry>, Failure> {
    let mut from_catalog = Vec::new();
    let mut picked = Vec::new();
    for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match yours.iter().position(|e| e.name == name) {
            Some(i) => picked.push(yours.swap_remove(i)),
            None => from_catalog.push(name),
        }
    }
    if !from_catalog.is_empty() || picked.is_empty() {
        for store in registry::select(&from_catalog.join(","))? {
            (store.available)().map_err(|why| {
                format!("store '{}' cannot be built here: {why}", store.entry.name)
            })?;
            picked.push(store.entry);
        }
    }
    Ok(picked)
}

pub(super) fn run(args: RunArgs, yours: Vec<bench_harness::Entry>) -> Result<(), Failure> {
    let plan = plan(&args)?;
    args.redis.apply()?;
    say_remote_skipped(&args.stores);
    let entries = select_entries(&args.stores, yours)?;
    for e in &entries {
        if e.single_thread && !plan.threads.contains(&1) {
            return Err(format!(
                "store '{}' runs on one thread only; include 1 in --threads",
                e.name
            )
            .into());
        }
    }
    storelab_results::check_writable(&args.out)?;
    if args.reps < 6 {
        eprintln!(
            "storelab: note: {} reps give no 95% confidence interval; use 6 or more",
            args.reps
        );
    }
    let file = lab::run(&plan, entries)?;
    file.write(&args.out)?;
    print_run(&file);
    println!("results: {} (and .csv)", args.out.display());
    Ok(())
}

/// The plan `args` ask for: their preset with the options' changes, every
/// option checked.
fn plan(args: &RunArgs) -> Result<Plan, Failure> {
    let spec = args.preset.spec();
    let workload = workload(args, &spec)?;
    let fresh = spec.fresh_ops.is_some();
    if fresh && args.duration.is_some() {
        return Err(format!(
            "--preset {} runs a fixed number of operations on a fresh store per repetition; use --ops, not --duration",
            args.preset.name()
        )
        .into());
    }
    // conc-map-bench runs 0.75 x capacity operations, which is the prefill:
    // a --keys of its own moves both.
    let ops = args.ops.or(spec.fresh_ops.map(|ops| {
        if args.keys.is_some() && spec.keys > 0 {
            u64::from(workload.keys)
        } else {
            ops
        }
    }));
    let threads = match &args.threads {
        Some(raw) => parse_threads(raw)?,
        None => default_threads(),
    };
    let rep_time = match &args.duration {
        Some(d) => parse_duration(d)?,
        None => Duration::from_secs_f64(spec.rep_secs),
    };
    if args.reps == 0 {
        return Err("--reps must be at least 1".into());
    }
    if args.warmup > 1000 {
        return Err("--warmup is a percentage of each repetition, at most 1000".into());
    }
    if args.ops == Some(0) {
        return Err("--ops must be at least 1".into());
    }
    Ok(Plan {
        preset: Some(args.preset.name().into()),
        workload,
        threads,
        reps: args.reps,
        ops,
        rep_time,
        read_mode: args.read_mode.into(),
        order: args.order.into(),
        warmup_pct: args.warmup,
        progress: !args.quiet,
        fresh,
    })
}

/// The workload `args` ask for: the preset's keys, capacity, mix and key
/// distribution, each overridden by its option.
fn workload(args: &RunArgs, spec: &Spec) -> Result<Workload, Failure> {
    let keys = args.keys.unwrap_or(spec.keys);
    let mix = match &args.mix {
        Some(m) => m.parse::<Mix>()?,
        None => spec.mix,
    };
    if keys == 0 && mix.keyed() {
        return Err("--keys 0 (no prefilled tasks) needs a mix of creates and get_all only".into());
    }
    let dist = match &args.dist {
        Some(d) => d.parse::<KeyDist>()?,
        None => spec.dist,
    };
    let capacity = match (args.keys, spec.capacity) {
        // An explicit --keys resizes the table with it, keeping the ratio.
        (Some(k), Some(c)) if spec.keys > 0 => {
            Some((u64::from(c) * u64::from(k) / u64::from(spec.keys)) as u32)
        }
        (_, c) => c,
    };
    Ok(Workload {
        keys,
        capacity,
        dist,
        hot_keys: args.hot_keys.unwrap_or(HotKeys::Scrambled),
        mix,
        seed: args.seed,
        stream_len: spec.stream_len,
    })
}

/// The header, table and notes of a run.
pub(super) fn print_run(file: &RunFile) {
    print!("{}", table::run_header(file));
    println!();
    print!("{}", table::run_table(file).text());
    println!();
    print!("{}", table::run_notes(file));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_has_valid_defaults() {
        for preset in Preset::value_variants() {
            let spec = preset.spec();
            assert!(spec.rep_secs > 0.0 && spec.stream_len.is_power_of_two());
            // Only a fresh-store preset may start empty, and then only creates.
            assert!(spec.keys > 0 || (spec.fresh_ops.is_some() && !spec.mix.keyed()));
            // A fresh store's repetition fits in its streams without cycling.
            if let Some(ops) = spec.fresh_ops {
                assert!(ops as usize <= spec.stream_len, "{}", preset.name());
            }
            // The name is what clap accepts.
            assert_eq!(
                Preset::from_str(preset.name(), false).map(|p| p.name()),
                Ok(preset.name())
            );
        }
        assert!(matches!(Preset::Hot.spec().dist, KeyDist::Hotspot { .. }));
        assert_eq!(Preset::HotUpdate.name(), "hot-update");
        // The published definitions.
        assert_eq!(Preset::YcsbD.spec().mix.to_string(), "read=95,create=5");
        assert_eq!(Preset::YcsbD.spec().dist, KeyDist::Latest { s: Some(0.99) });
        assert_eq!(Preset::YcsbF.spec().mix.to_string(), "read=50,rmw=50");
        let x = Preset::CmbExchange.spec();
        assert_eq!(x.mix.to_string(), "read=10,update=10,create=40,delete=40");
        assert_eq!(x.capacity, Some(1 << 20));
        assert_eq!(x.keys, (1 << 20) / 4 * 3, "75% of capacity");
        assert_eq!(
            Preset::CmbRapidGrow.spec().mix.to_string(),
            "read=5,update=10,create=80,delete=5"
        );
        assert_eq!(
            Preset::CmbReadHeavy.spec().mix.to_string(),
            "read=98,create=1,delete=1"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("400ms"), Ok(Duration::from_millis(400)));
        assert_eq!(parse_duration("0.5s"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("fast").is_err());
    }

    #[test]
    fn threads() {
        assert_eq!(
            parse_threads(&["1".into(), "2".into(), "2".into()]),
            Ok(vec![1, 2])
        );
        assert!(
            parse_threads(&["0".into()])
                .unwrap_err()
                .contains("zero threads")
        );
        assert!(parse_threads(&["two".into()]).is_err());
        let d = default_threads();
        assert_eq!(d[0], 1);
    }
}
