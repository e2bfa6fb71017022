//! The `storelab` command line: one module per subcommand, each turning raw
//! flags into validated arguments before calling the crate that does the
//! job; failures are typed ([`Failure`]) and mapped to exit codes.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod compare;
mod decisions;
mod files;
mod gate;
mod load;
mod machine;
mod run;
mod serve;

pub use run::{Preset, parse_duration};

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
    List(files::ListArgs),
    /// Run a workload over stores and thread counts; print a table, write results.
    Run(run::RunArgs),
    /// Print the table of a run file, as `run` printed it.
    Show(files::ShowArgs),
    /// Compare two run files (OLD NEW), or the stores of one file against a baseline store.
    Compare(compare::CompareArgs),
    /// Write a Markdown report with SVG plots from run files.
    Report(files::ReportArgs),
    /// The CI gate: compare gungraun instruction and allocation counts with a baseline.
    Gate(gate::GateArgs),
    /// Regenerate the figures between the markers of DECISIONS.md from result files.
    Decisions(decisions::DecisionsArgs),
    /// Turn criterion's saved samples of one group into a run file.
    ImportCriterion(decisions::ImportArgs),
    /// Serve the Task REST API over one store.
    Serve(serve::ServeArgs),
    /// Load a Task API server on this machine over HTTP; report RPS and latency.
    Load(load::LoadArgs),
    /// Print a run file in another tool's format (Go's, for benchstat).
    Export(files::ExportArgs),
    /// Join run files of the same work into one.
    Merge(files::MergeArgs),
    /// Print this machine's record (as result files hold it) or its short name.
    Machine(machine::MachineArgs),
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
    crate::build().install();
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
        }) => exit(run::run(args, yours)),
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
    crate::build().install();
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
            files::list(&args);
            Ok(())
        }
        Command::Run(args) => run::run(args, Vec::new()),
        Command::Show(args) => storelab_results::RunFile::read(&args.file)
            .map(|f| run::print_run(&f))
            .map_err(Failure::from),
        Command::Compare(args) => compare::compare(args),
        Command::Report(args) => files::report(args),
        Command::Gate(args) => gate::gate(args),
        Command::Decisions(args) => decisions::decisions(args),
        Command::ImportCriterion(args) => decisions::import_criterion(args),
        Command::Serve(args) => serve::serve(args),
        Command::Load(args) => load::load(args),
        Command::Merge(args) => files::merge(args),
        Command::Export(args) => files::export(args),
        Command::Machine(args) => machine::machine(&args),
    };
    exit(result)
}
