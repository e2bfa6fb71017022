//! Why the generated sections could not be regenerated.

use std::path::PathBuf;

use storelab_results::ResultsError;
use storelab_stats::CompareError;

/// Why [`crate::regenerate`] or [`crate::import_criterion`] failed: the
/// document's markers, a result file that is missing, unreadable, from the
/// wrong machine, or lacks what a section needs. (A stale document is not
/// an error: the caller compares the regenerated text.)
#[derive(Debug, thiserror::Error)]
pub enum DecisionsError {
    /// A run file could not be read.
    #[error(transparent)]
    Results(#[from] ResultsError),
    /// Two runs could not be compared.
    #[error(transparent)]
    Compare(#[from] CompareError),
    /// A file or directory could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A result file that is not a run file does not parse.
    #[error("{}: {source}", path.display())]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// A result file of another schema version.
    #[error("{file} has schema {found}, want {want}: run {fix}")]
    Schema {
        file: &'static str,
        found: String,
        want: &'static str,
        fix: &'static str,
    },
    /// A top-level result file measured on another machine than seed.json.
    #[error(
        "results/{file} was measured on '{found}', not on the lab's machine '{home}' \
         (results/seed.json's): move it to results/{found}/"
    )]
    ForeignMachine {
        file: String,
        found: String,
        home: String,
    },
    /// A machine's folder holding another machine's files.
    #[error(
        "results/{}/seed.json was measured on '{found}': a machine's files live in results/{found}/",
        dir.display()
    )]
    MisplacedMachine { dir: PathBuf, found: String },
    /// A `<!-- gen:` marker without its ` -->`.
    #[error("an unclosed '<!-- gen:' marker")]
    UnclosedMarker,
    /// A section without its closing marker.
    #[error("section '{name}' has no closing marker {close}")]
    NoClosingMarker { name: String, close: String },
    /// A marker that names no section.
    #[error("unknown generated section '{name}'")]
    UnknownSection { name: String },
    /// A section failed (why: `source`).
    #[error("section '{name}': {source}")]
    Section {
        name: String,
        source: Box<DecisionsError>,
    },
    /// A run file lacks a cell a section needs.
    #[error("no result for {store} at {threads} thread(s)")]
    NoCell { store: String, threads: usize },
    /// Two stores a section compares share no thread count.
    #[error("no thread count has both {a} and {b}")]
    NoCommonThreads { a: String, b: String },
    /// A result file lacks what a section needs (`what`: "memory store").
    #[error("{file} has no {what}")]
    Missing { file: String, what: String },
    /// A result file holds something of the wrong shape.
    #[error("{file}: {what}")]
    Malformed {
        file: &'static str,
        what: &'static str,
    },
    /// Too few runs for a figure (`fix`: the script that makes them).
    #[error("{fix} needs at least {need} runs")]
    TooFewRuns { need: usize, fix: &'static str },
    /// No files of a kind a section reads (`pattern` in `dir`).
    #[error("no {pattern} in {}: run {fix}", dir.display())]
    NoFiles {
        pattern: &'static str,
        dir: PathBuf,
        fix: &'static str,
    },
    /// micro.json is not made of criterion rounds.
    #[error(
        "micro.json is not made of criterion rounds (one pass per round, merged): run scripts/micro"
    )]
    NotCriterionRounds,
    /// No criterion benchmark saved samples in the group's directory.
    #[error("no criterion samples under {}: run the benchmarks first", dir.display())]
    NoCriterionSamples { dir: PathBuf },
}
