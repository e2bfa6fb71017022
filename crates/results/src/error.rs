//! Why a run file could not be read, written or merged.

use std::path::PathBuf;

use crate::SCHEMA;

/// Why a run file could not be read, written, merged or compared.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not JSON.
    #[error("{} is not JSON: {source}", path.display())]
    NotJson {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// A run file of another schema version.
    #[error("{} has schema '{found}'; this storelab reads '{SCHEMA}'", path.display())]
    Schema { path: PathBuf, found: String },
    /// JSON without a `schema` field: not a run file.
    #[error("{} is not a storelab run file (no schema field)", path.display())]
    NoSchema { path: PathBuf },
    /// The right schema, but the fields do not match it.
    #[error("{} does not match schema {SCHEMA}: {source}", path.display())]
    Mismatch {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// `merge` was given no files.
    #[error("nothing to merge")]
    NothingToMerge,
    /// A plain merge found the same cell in two runs.
    #[error("{store} x{threads} appears in two of the merged runs")]
    DuplicateCell { store: String, threads: usize },
    /// The runs measured different work (each difference as "keys 1 vs 2").
    #[error(
        "the two runs measured different work ({}); compare runs of the same workload",
        differences.join(", ")
    )]
    DifferentWork { differences: Vec<String> },
    /// The results could not be encoded as JSON.
    #[error("cannot encode results: {0}")]
    Encode(serde_json::Error),
    /// A parent directory could not be created.
    #[error("cannot create {}: {source}", dir.display())]
    CreateDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    /// A path with no file name (`/`, `..`).
    #[error("{} names no file", path.display())]
    NoFileName { path: PathBuf },
    /// Writing (or renaming into place) failed.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The output path is a directory.
    #[error("{} is a directory, not a file", path.display())]
    IsDirectory { path: PathBuf },
    /// An ancestor of the output path is a file, not a directory.
    #[error("cannot write {}: {} is not a directory", path.display(), dir.display())]
    ParentNotDirectory { path: PathBuf, dir: PathBuf },
    /// The directory the output would go in refuses a new file.
    #[error("cannot write {}: {source} (in {})", path.display(), dir.display())]
    NotWritable {
        path: PathBuf,
        dir: PathBuf,
        source: std::io::Error,
    },
}
