//! Why the gate could not compare counts.

use std::path::PathBuf;

use storelab_results::ResultsError;

/// Why the gate could not collect, read, write or compare counts. (A
/// regression is not an error: [`crate::check`] returns it as a verdict.)
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// No gungraun summaries where they were looked for.
    #[error(
        "no gungraun summary.json under {}: run the benchmarks with --save-summary=json first (scripts/gate does)",
        dir.display()
    )]
    NoSummaries { dir: PathBuf },
    /// A file or directory could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A summary that is not JSON.
    #[error("{} is not JSON: {source}", path.display())]
    NotJson {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// A summary without one of the counts the gate reads.
    #[error("{}: no {tool} {key} count (was DHAT enabled?)", path.display())]
    MissingCount {
        path: PathBuf,
        tool: &'static str,
        key: &'static str,
    },
    /// A baseline that does not parse as one.
    #[error("{} is not a gate baseline: {source}", path.display())]
    NotABaseline {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// A baseline of another schema.
    #[error("{} has schema '{found}'; expected '{}'", path.display(), crate::GATE_SCHEMA)]
    Schema { path: PathBuf, found: String },
    /// The baseline could not be encoded.
    #[error("cannot encode the baseline: {0}")]
    Encode(serde_json::Error),
    /// The baseline could not be written.
    #[error(transparent)]
    Write(#[from] ResultsError),
    /// Counts from two compilers: not comparable.
    #[error(
        "the baseline was counted with {baseline}, this run with {current}: counts from different compilers are not comparable; \
         re-bless the baseline (scripts/bless) on this toolchain"
    )]
    OtherCompiler { baseline: String, current: String },
}
