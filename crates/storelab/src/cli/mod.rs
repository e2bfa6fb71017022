//! The `storelab` command line: one module per subcommand, each turning raw
//! flags into validated arguments before calling the crate that does the
//! job; failures are typed ([`Failure`]) and mapped to exit codes.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bench;
mod compare;
mod decisions;
mod files;
mod gate;
mod load;
mod machine;
mod redis;
mod run;
mod serve;

pub use bench::crate_bench_main;
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
    /// Draw the SVG plot of a result file that has no report section (the soak run's).
    Plot(files::PlotArgs),
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

/// Why a command did not succeed: a finding, or an error of this binary or
/// of a library crate it called (each crate's typed error, converted by
/// `?`). [`Failure::exit_code`] is the one place that maps them to exit
/// codes, as ripgrep's and benchstat's users expect: 0 success, 1 a
/// finding, 2 an error.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The command ran and found something wrong with what it checked: a
    /// significant regression, a gate regression, a stale document. Exit 1.
    #[error("{0}")]
    Finding(String),
    /// Bad usage or bad input this binary checked itself (its flags):
    /// nothing was checked. Exit 2.
    #[error("{0}")]
    Error(String),
    /// The engine (`bench-harness`) refused the plan (exit 2), or a store
    /// broke its contract while it was measured (a finding: exit 1).
    #[error(transparent)]
    Engine(#[from] bench_harness::EngineError),
    /// A mix, key distribution or other workload option did not parse.
    #[error(transparent)]
    Workload(#[from] workload::ParseError),
    /// A run file could not be read, written or merged.
    #[error(transparent)]
    Results(#[from] storelab_results::ResultsError),
    /// Two runs, or the stores of one, could not be compared.
    #[error(transparent)]
    Compare(#[from] storelab_stats::CompareError),
    /// A report or plot could not be written.
    #[error(transparent)]
    Render(#[from] storelab_render::RenderError),
    /// The gate could not collect, read or compare counts.
    #[error(transparent)]
    Gate(#[from] storelab_gate::GateError),
    /// The generated sections could not be regenerated.
    #[error(transparent)]
    Decisions(#[from] storelab_decisions::DecisionsError),
    /// A load run could not start or finish.
    #[error(transparent)]
    Load(#[from] storelab_load::LoadError),
    /// `--stores` named no store or an unknown one.
    #[error(transparent)]
    Select(#[from] store_catalog::SelectError),
    /// The server's limits are inconsistent.
    #[error(transparent)]
    Limits(#[from] task_api::limits::LimitsError),
    /// The open-file limit is too low for the server's limits.
    #[error(transparent)]
    OpenFiles(#[from] task_api::limits::TooFewFiles),
    /// The server could not listen on its address.
    #[error(transparent)]
    Bind(#[from] task_api::BindError),
    /// The server could not start, or stopped with an error.
    #[error(transparent)]
    Server(#[from] task_api::ServerError),
}

impl Failure {
    /// The exit code: 1 for a finding, 2 for every error. The only place
    /// errors become exit codes.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Finding(_) | Failure::Engine(bench_harness::EngineError::Store(_)) => 1,
            Failure::Error(_)
            | Failure::Engine(bench_harness::EngineError::Plan(_))
            | Failure::Workload(_)
            | Failure::Results(_)
            | Failure::Compare(_)
            | Failure::Render(_)
            | Failure::Gate(_)
            | Failure::Decisions(_)
            | Failure::Load(_)
            | Failure::Select(_)
            | Failure::Limits(_)
            | Failure::OpenFiles(_)
            | Failure::Bind(_)
            | Failure::Server(_) => 2,
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

/// Prints a failure and turns it into the process's exit code
/// ([`Failure::exit_code`]).
fn exit(result: Result<(), Failure>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            let code = failure.exit_code();
            if code == 1 {
                eprintln!("storelab: {failure}");
            } else {
                eprintln!("storelab: error: {failure}");
            }
            ExitCode::from(code)
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
/// A catalog store crate's bench is [`crate::crate_bench!`] instead.
pub fn bench_main(yours: Vec<bench_harness::Entry>) -> ExitCode {
    crate::build().install();
    let names: Vec<&'static str> = yours.iter().map(|e| e.name).collect();
    bench::lab(bench::args(), yours, &names)
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
        Command::List(args) => files::list(&args),
        Command::Run(args) => run::run(args, Vec::new()),
        Command::Show(args) => storelab_results::RunFile::read(&args.file)
            .map(|f| run::print_run(&f))
            .map_err(Failure::from),
        Command::Compare(args) => compare::compare(args),
        Command::Report(args) => files::report(args),
        Command::Plot(args) => files::plot(&args),
        Command::Gate(args) => gate::gate(args),
        Command::Decisions(args) => decisions::decisions(args),
        Command::ImportCriterion(args) => decisions::import_criterion(args),
        Command::Serve(args) => serve::serve(args),
        Command::Load(args) => load::load(args),
        Command::Merge(args) => files::merge(args),
        Command::Export(args) => files::export(args),
        Command::Machine(args) => machine::machine(&args),
    };
    // The Redis servers this process started, if any, stopped by process
    // id, whatever the command's outcome.
    store_redis::stop_local();
    exit(result)
}

#[cfg(test)]
mod tests {
    use bench_harness::EngineError;

    use super::Failure;

    #[test]
    fn bad_input_exits_2_and_a_finding_exits_1() {
        let plan = Failure::from(EngineError::Plan("--reps must be at least 1".into()));
        assert_eq!(plan.exit_code(), 2, "a refused plan is bad input");
        let store = Failure::from(EngineError::Store("store 'x' lost a task".into()));
        assert_eq!(
            store.exit_code(),
            1,
            "a store that broke its contract is a finding"
        );
        assert_eq!(Failure::Finding("stale".into()).exit_code(), 1);
        assert_eq!(Failure::Error("bad flag".into()).exit_code(), 2);
        let Err(unknown) = store_catalog::select("nosuch") else {
            panic!("an unknown store was selected");
        };
        assert_eq!(Failure::from(unknown).exit_code(), 2);
    }
}
