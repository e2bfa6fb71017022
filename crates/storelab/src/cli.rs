//! The `storelab` command line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use bench_harness::{Plan, lab};
use store_catalog as registry;
use storelab_render::compare::{self as cmp, Format};
use storelab_render::table;
use storelab_results::{Metric, RunFile};
use workload::{HotKeys, KeyDist, Mix, ReadMode, Workload};

#[derive(Parser, Debug)]
#[command(
    name = "storelab",
    version,
    about = "A benchmark lab for concurrent in-memory task stores"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List every store the harness can run.
    List(ListArgs),
    /// Run a workload over stores and thread counts; print a table, write results.
    Run(RunArgs),
    /// Print the table of a run file, as `run` printed it.
    Show(ShowArgs),
    /// Compare two run files (OLD NEW), or the stores of one file against a baseline store.
    Compare(CompareArgs),
    /// Write a Markdown report with SVG plots from run files.
    Report(ReportArgs),
    /// The CI gate: compare gungraun instruction and allocation counts with a baseline.
    Gate(GateArgs),
    /// Regenerate the figures between the markers of DECISIONS.md from result files.
    Decisions(DecisionsArgs),
    /// Turn criterion's saved samples of one group into a run file.
    ImportCriterion(ImportArgs),
    /// Serve the Task REST API over one store.
    Serve(ServeArgs),
    /// Load a Task API server on this machine over HTTP; report RPS and latency.
    Load(LoadArgs),
    /// Join run files of the same work into one.
    Merge(MergeArgs),
}

#[derive(Args, Debug)]
struct ListArgs {
    /// Print only the names of the stores `serve` can serve, one a line
    /// (for scripts).
    #[arg(long)]
    servable: bool,
}

#[derive(Args, Debug)]
struct ShowArgs {
    /// A run file written by `storelab run`.
    file: PathBuf,
}

#[derive(Args, Debug)]
struct MergeArgs {
    #[arg(required = true)]
    files: Vec<PathBuf>,
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args, Debug)]
struct ServeArgs {
    /// The store to serve (see `storelab list`).
    #[arg(long, default_value = "dense")]
    store: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: std::net::SocketAddr,
    /// Tasks created before serving (ids 1..=N).
    #[arg(long, default_value_t = 0)]
    prefill: u32,
}

#[derive(Args, Debug)]
struct LoadArgs {
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

#[derive(Args, Debug)]
struct DecisionsArgs {
    /// The document to rewrite in place.
    #[arg(long, default_value = "DECISIONS.md")]
    doc: PathBuf,
    /// Where the result files are.
    #[arg(long, default_value = "results")]
    results: PathBuf,
    /// Exit non-zero if the document is not up to date, instead of rewriting it.
    #[arg(long)]
    check: bool,
}

#[derive(Args, Debug)]
struct ImportArgs {
    /// A criterion group's folder, e.g. target/criterion/log-claims.
    group: PathBuf,
    /// Elements each iteration processes (the group's throughput).
    #[arg(long, default_value_t = 1.0)]
    elements: f64,
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args, Debug)]
struct GateArgs {
    /// Where gungraun wrote the callgrind-gate summaries.
    #[arg(long, default_value = "target/gungraun/callgrind-gate")]
    summaries: PathBuf,
    /// The committed baseline.
    #[arg(long, default_value = "results/gate-baseline.json")]
    baseline: PathBuf,
    /// Largest instruction-count growth allowed, in percent.
    #[arg(long, default_value_t = 2.0)]
    tolerance: f64,
    /// Write the current counts as the new baseline instead of checking.
    #[arg(long)]
    bless: bool,
}

#[derive(Args, Debug)]
struct CompareArgs {
    /// One run file (with --baseline) or two (OLD NEW).
    #[arg(required = true, num_args = 1..=2)]
    files: Vec<PathBuf>,
    /// Compare every store of one file against this store.
    #[arg(long)]
    baseline: Option<String>,
    /// The metric compared.
    #[arg(long, value_enum, default_value = "ns-per-op")]
    metric: MetricArg,
    /// Significance level of the Mann-Whitney U test.
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    #[arg(long, value_enum, default_value = "text")]
    format: FormatArg,
    /// Exit non-zero if any row got worse by more than PCT percent, significantly.
    #[arg(long, value_name = "PCT")]
    fail_on_regression: Option<f64>,
    /// Compare only the (store, threads) rows both files have.
    #[arg(long)]
    common: bool,
    /// Divide every sample by STORE's sample of the same round and threads in
    /// the same file before comparing two files: cancels the drift of the
    /// machine between the runs.
    #[arg(long, value_name = "STORE")]
    normalize: Option<String>,
}

#[derive(Args, Debug)]
struct ReportArgs {
    /// Run files to report on.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The Markdown file to write; plots go to plots/ beside it.
    #[arg(long, default_value = "results/REPORT.md")]
    out: PathBuf,
}

/// `--metric`: the figures `compare` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum MetricArg {
    /// Nanoseconds per operation (lower is better).
    NsPerOp,
    /// Operations per second (higher is better).
    OpsPerSec,
}

impl From<MetricArg> for Metric {
    fn from(m: MetricArg) -> Metric {
        match m {
            MetricArg::NsPerOp => Metric::NsPerOp,
            MetricArg::OpsPerSec => Metric::OpsPerSec,
        }
    }
}

/// `--format`: how `compare` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum FormatArg {
    Text,
    Md,
    Csv,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Text => Format::Text,
            FormatArg::Md => Format::Md,
            FormatArg::Csv => Format::Csv,
        }
    }
}

/// `--order`: see [`bench_harness::Order`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum OrderArg {
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
enum ReadArg {
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
}

impl Preset {
    fn name(self) -> &'static str {
        match self {
            Preset::Seed => "seed",
            Preset::Smoke => "smoke",
            Preset::ReadHeavy => "read-heavy",
            Preset::WriteHeavy => "write-heavy",
            Preset::Bulk => "bulk",
        }
    }

    /// (keys, mix, seconds per rep, stream length)
    fn defaults(self) -> (u32, Mix, f64, usize) {
        let mix = |s: &str| s.parse::<Mix>().expect("preset mixes are valid");
        match self {
            Preset::Seed => (1_000_000, Mix::SEED, 0.3, 1 << 20),
            Preset::Smoke => (
                10_000,
                mix("read=69,update=20,create=5,delete=5,get_all=1"),
                0.02,
                1 << 14,
            ),
            Preset::ReadHeavy => (1_000_000, mix("read=95,update=5"), 0.4, 1 << 20),
            Preset::WriteHeavy => (
                1_000_000,
                mix("read=50,update=30,create=10,delete=10"),
                0.4,
                1 << 20,
            ),
            Preset::Bulk => (1_000_000, mix("get_all=100"), 0.4, 1 << 10),
        }
    }
}

#[derive(Args, Debug)]
struct RunArgs {
    /// Starting point; options below override it.
    #[arg(long, value_enum, default_value = "seed")]
    preset: Preset,
    /// `all` (every store but knob settings), `knobs`, or names separated by commas (see `storelab list`).
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
}

/// Why a command did not succeed. Each kind has its exit code, as ripgrep's
/// and benchstat's users expect: 0 success, 1 a finding, 2 an error.
#[derive(Debug)]
pub enum Failure {
    /// The command ran and found something wrong with what it checked: a
    /// significant regression, a gate regression, a stale document. Exit 1.
    Finding(String),
    /// Bad usage, bad input, or an I/O error: nothing was checked. Exit 2.
    Error(String),
}

impl Failure {
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Finding(_) => 1,
            Failure::Error(_) => 2,
        }
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure::Error(message)
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Self {
        Failure::Error(message.to_owned())
    }
}

/// Prints a failure and turns it into the process's exit code.
fn exit(result: Result<(), Failure>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Finding(message)) => {
            eprintln!("storelab: {message}");
            ExitCode::from(1)
        }
        Err(Failure::Error(message)) => {
            eprintln!("storelab: error: {message}");
            ExitCode::from(2)
        }
    }
}

/// The peers and floors a store of your own is measured beside, when
/// [`bench_main`] is not told `--stores`.
pub const BESIDE_YOURS: &str = "dense,dashmap,papaya,scc,unsync,noop";

/// `storelab run` over stores of your own, beside the catalog's: for a
/// `[[bench]]` with `harness = false`, so `cargo bench` in your crate runs
/// the lab's workload (the seed preset unless you pass another) over your
/// stores, the peers and the floors ([`BESIDE_YOURS`]), and prints the same
/// table and result file as `storelab run`. Arguments after `--` are
/// `storelab run`'s: `cargo bench -- --preset smoke --threads 1,2`.
pub fn bench_main(yours: Vec<bench_harness::Entry>) -> ExitCode {
    // cargo bench passes --bench; a criterion-style filter is not an option.
    let mut argv: Vec<String> = vec!["storelab".into(), "run".into()];
    argv.extend(std::env::args().skip(1).filter(|a| a != "--bench"));
    if !argv
        .iter()
        .any(|a| a == "--stores" || a.starts_with("--stores="))
    {
        let mut names: Vec<&str> = yours.iter().map(|e| e.name).collect();
        names.push(BESIDE_YOURS);
        argv.push("--stores".into());
        argv.push(names.join(","));
    }
    match Cli::try_parse_from(argv) {
        Ok(Cli {
            command: Command::Run(args),
        }) => exit(run(args, yours)),
        Ok(_) => exit(Err("only `run` options are taken here".into())),
        Err(e) => {
            let _ = e.print();
            ExitCode::from(if e.use_stderr() { 2 } else { 0 })
        }
    }
}

/// Runs the command line; failures are printed and exit 1 (a finding) or
/// 2 (an error).
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help and version to stdout with success, errors to
            // stderr with failure.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let result = match cli.command {
        Command::List(args) => {
            list(&args);
            Ok(())
        }
        Command::Run(args) => run(args, Vec::new()),
        Command::Show(args) => RunFile::read(&args.file)
            .map(|f| print_run(&f))
            .map_err(Failure::from),
        Command::Compare(args) => compare(args),
        Command::Report(args) => report(args),
        Command::Gate(args) => gate(args),
        Command::Decisions(args) => decisions(args),
        Command::ImportCriterion(args) => import_criterion(args),
        Command::Serve(args) => serve(args),
        Command::Load(args) => load(args),
        Command::Merge(args) => merge(args),
    };
    exit(result)
}

fn list(args: &ListArgs) {
    if args.servable {
        for s in registry::catalog().iter().filter(|s| s.serve.is_some()) {
            println!("{}", s.entry.name);
        }
        return;
    }
    let mut t = table::Table::new(&["store", "kind", "threads", "what it is"]);
    for s in registry::catalog() {
        let e = &s.entry;
        let kind = e.family.name();
        t.row(vec![
            e.name.into(),
            kind.into(),
            if e.single_thread {
                "1 only".into()
            } else {
                "any".into()
            },
            e.about.into(),
        ]);
    }
    print!("{}", t.text());
}

/// The default thread counts: 1, powers of two below the core count, and
/// the core count.
fn default_threads() -> Vec<usize> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut v: Vec<usize> = std::iter::successors(Some(1usize), |t| Some(t * 2))
        .take_while(|t| *t < cores)
        .collect();
    v.push(cores);
    v.dedup();
    v
}

fn parse_threads(raw: &[String]) -> Result<Vec<usize>, String> {
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

/// The entries `--stores` names: yours by name, the rest from the catalog.
fn select_entries(
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
        picked.extend(
            registry::select(&from_catalog.join(","))?
                .into_iter()
                .map(|s| s.entry),
        );
    }
    Ok(picked)
}

fn run(args: RunArgs, yours: Vec<bench_harness::Entry>) -> Result<(), Failure> {
    let (keys, mix, rep_secs, stream_len) = args.preset.defaults();
    let keys = args.keys.unwrap_or(keys);
    if keys == 0 {
        return Err("--keys must be at least 1".into());
    }
    let mix = match &args.mix {
        Some(m) => m.parse::<Mix>()?,
        None => mix,
    };
    let dist = match &args.dist {
        Some(d) => d.parse::<KeyDist>()?,
        None => KeyDist::SEED,
    };
    let threads = match &args.threads {
        Some(raw) => parse_threads(raw)?,
        None => default_threads(),
    };
    let rep_time = match &args.duration {
        Some(d) => parse_duration(d)?,
        None => Duration::from_secs_f64(rep_secs),
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
    let entries = select_entries(&args.stores, yours)?;
    for e in &entries {
        if e.single_thread && !threads.contains(&1) {
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
    let plan = Plan {
        preset: Some(args.preset.name().into()),
        workload: Workload {
            keys,
            dist,
            hot_keys: args.hot_keys.unwrap_or(HotKeys::Scrambled),
            mix,
            seed: args.seed,
            stream_len,
        },
        threads,
        reps: args.reps,
        ops: args.ops,
        rep_time,
        read_mode: args.read_mode.into(),
        order: args.order.into(),
        warmup_pct: args.warmup,
        progress: !args.quiet,
    };
    let file = lab::run(&plan, entries)?;
    file.write(&args.out)?;
    print_run(&file);
    println!("results: {} (and .csv)", args.out.display());
    Ok(())
}

/// The header, table and notes of a run.
fn print_run(file: &RunFile) {
    print!("{}", table::run_header(file));
    println!();
    print!("{}", table::run_table(file).text());
    println!();
    print!("{}", table::run_notes(file));
}

fn compare(args: CompareArgs) -> Result<(), Failure> {
    let (metric, format): (Metric, Format) = (args.metric.into(), args.format.into());
    if !(args.alpha > 0.0 && args.alpha < 1.0) {
        return Err(format!("--alpha must be between 0 and 1, got {}", args.alpha).into());
    }
    if args
        .fail_on_regression
        .is_some_and(|p| !(p.is_finite() && p >= 0.0))
    {
        return Err("--fail-on-regression takes a non-negative percentage".into());
    }
    let files: Vec<RunFile> = args
        .files
        .iter()
        .map(|p| RunFile::read(p))
        .collect::<Result<_, _>>()?;
    match (files.as_slice(), &args.baseline) {
        ([_], Some(_)) if args.normalize.is_some() => Err(
            "--normalize compares two files (OLD NEW); --baseline already compares the stores of one file with each other"
                .into(),
        ),
        ([file], Some(baseline)) => {
            let rows =
                storelab_stats::compare::against_baseline(file, baseline, metric, args.alpha)?;
            let table = cmp::baseline_table(&rows, baseline, metric.name(), args.alpha);
            let title = format!(
                "{} against {baseline} ({})",
                stem(&args.files[0]),
                metric.name()
            );
            print!("{}", cmp::render(&table, format, &title));
            if args.fail_on_regression.is_some() {
                return Err("--fail-on-regression needs two files (OLD NEW)".into());
            }
            Ok(())
        }
        ([_], None) => Err("one file needs --baseline STORE; or give two files, OLD NEW".into()),
        ([old, new], None) => compare_two(&args, old, new, metric, format),
        ([_, _], Some(_)) => {
            Err("--baseline compares the stores of one file; give one file".into())
        }
        _ => Err("give one file with --baseline, or two files".into()),
    }
}

/// A file's name without its folder and extension, for table titles.
fn stem(p: &Path) -> String {
    p.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("run")
        .to_owned()
}

/// `compare OLD NEW`, plain or normalized; a significant regression past
/// `--fail-on-regression` is a finding.
fn compare_two(
    args: &CompareArgs,
    old: &RunFile,
    new: &RunFile,
    metric: Metric,
    format: Format,
) -> Result<(), Failure> {
    let c = match &args.normalize {
        None => storelab_stats::compare::compare(old, new, metric, args.alpha, args.common)?,
        Some(reference) => storelab_stats::compare::compare_normalized(
            old,
            new,
            metric,
            args.alpha,
            args.common,
            reference,
        )?,
    };
    let (a, b) = (stem(&args.files[0]), stem(&args.files[1]));
    let title = match &args.normalize {
        None => format!("{a} -> {b} ({}, alpha {})", metric.name(), args.alpha),
        Some(reference) => format!(
            "{a} -> {b} ({} over {reference}'s in the same round, alpha {})",
            metric.name(),
            args.alpha
        ),
    };
    print!(
        "{}",
        cmp::render(&cmp::comparison_table(&c, &a, &b), format, &title)
    );
    for u in &c.unmatched {
        eprintln!("storelab: note: {u}");
    }
    let Some(pct) = args.fail_on_regression else {
        return Ok(());
    };
    let bad = c.regressions(pct);
    if bad.is_empty() {
        return Ok(());
    }
    let rows: Vec<String> = bad
        .iter()
        .map(|r| format!("{} x{} {:+.1}%", r.store, r.threads, r.delta_pct))
        .collect();
    let normalized = args
        .normalize
        .as_deref()
        .map(|r| format!(" (normalized by {r})"))
        .unwrap_or_default();
    Err(Failure::Finding(format!(
        "significant regression past {pct}%{normalized}: {}",
        rows.join(", ")
    )))
}

fn gate(args: GateArgs) -> Result<(), Failure> {
    use storelab_gate as gate;
    if !(args.tolerance.is_finite() && args.tolerance >= 0.0) {
        return Err("--tolerance takes a non-negative percentage".into());
    }
    let version = |program: &str| {
        std::process::Command::new(program)
            .arg("--version")
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_else(|| "unknown".into())
    };
    let current = gate::collect(&args.summaries, &version("rustc"), &version("valgrind"))?;
    if args.bless {
        current.write(&args.baseline)?;
        println!(
            "blessed {} benchmarks into {}",
            current.counts.len(),
            args.baseline.display()
        );
        return Ok(());
    }
    let baseline = gate::GateFile::read(&args.baseline)?;
    let verdicts = gate::check(&baseline, &current, args.tolerance)?;
    print!("{}", gate::table(&verdicts).text());
    let failed = verdicts.iter().filter(|v| !v.failures.is_empty()).count();
    if failed > 0 {
        return Err(Failure::Finding(format!(
            "{failed} benchmark(s) regressed against {} (instructions past {}% or any new allocation); \
             if the change is intended, run scripts/bless and commit the baseline",
            args.baseline.display(),
            args.tolerance
        )));
    }
    println!(
        "gate: {} benchmarks within {}% instructions and no new allocations",
        verdicts.len(),
        args.tolerance
    );
    Ok(())
}

fn decisions(args: DecisionsArgs) -> Result<(), Failure> {
    let doc = std::fs::read_to_string(&args.doc)
        .map_err(|e| format!("cannot read {}: {e}", args.doc.display()))?;
    let new = storelab_decisions::regenerate(&doc, &args.results)?;
    if args.check {
        if new != doc {
            return Err(Failure::Finding(format!(
                "{} is stale: run scripts/regen",
                args.doc.display()
            )));
        }
        println!(
            "{} is up to date with {}",
            args.doc.display(),
            args.results.display()
        );
        return Ok(());
    }
    std::fs::write(&args.doc, new)
        .map_err(|e| format!("cannot write {}: {e}", args.doc.display()))?;
    println!("regenerated {}", args.doc.display());
    Ok(())
}

fn import_criterion(args: ImportArgs) -> Result<(), Failure> {
    if !(args.elements.is_finite() && args.elements > 0.0) {
        return Err("--elements must be positive".into());
    }
    let file = storelab_decisions::import_criterion(&args.group, args.elements)?;
    file.write(&args.out)?;
    println!(
        "wrote {} ({} benchmarks)",
        args.out.display(),
        file.cells.len()
    );
    Ok(())
}

fn serve(args: ServeArgs) -> Result<(), Failure> {
    let entries = registry::select(&args.store)?;
    let [entry] = entries.as_slice() else {
        return Err("serve one store at a time".into());
    };
    let build = entry.serve.ok_or_else(|| {
        format!(
            "store '{}' cannot serve HTTP (it is single-threaded or stores nothing)",
            entry.entry.name
        )
    })?;
    eprintln!(
        "storelab: prefilling {} with {} tasks",
        entry.entry.name, args.prefill
    );
    Ok(task_api::run_blocking(args.addr, build(args.prefill))?)
}

fn load(args: LoadArgs) -> Result<(), Failure> {
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
            dist,
            hot_keys: HotKeys::Scrambled,
            mix,
            seed: args.seed,
            stream_len: 0,
        },
        windows: 6,
    })?;
    outcome.file.write(&args.out)?;
    print_load(&args, duration, &outcome);
    Ok(())
}

/// What `storelab load` prints: the run, its statuses, its latency table.
fn print_load(args: &LoadArgs, duration: Duration, outcome: &storelab_load::LoadOutcome) {
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

fn merge(args: MergeArgs) -> Result<(), Failure> {
    let files = args
        .files
        .iter()
        .map(|p| RunFile::read(p))
        .collect::<Result<Vec<_>, _>>()?;
    let merged = RunFile::merge(files)?;
    merged.write(&args.out)?;
    println!(
        "wrote {} ({} cells)",
        args.out.display(),
        merged.cells.len()
    );
    Ok(())
}

fn report(args: ReportArgs) -> Result<(), Failure> {
    let files: Vec<(PathBuf, RunFile)> = args
        .files
        .iter()
        .map(|p| RunFile::read(p).map(|f| (p.clone(), f)))
        .collect::<Result<_, _>>()?;
    let written = storelab_render::report::write_report(&files, &args.out)?;
    for w in written {
        println!("wrote {}", w.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
