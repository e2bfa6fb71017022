//! Why a report or a plot could not be written.

use std::path::PathBuf;

use storelab_results::ResultsError;

/// Why a report or a plot could not be written.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The plots' directory could not be created.
    #[error("cannot create {}: {source}", dir.display())]
    CreateDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    /// plotters could not draw or save a plot (its message).
    #[error("cannot draw plot: {message}")]
    Plot { message: String },
    /// The soak file could not be read.
    #[error(transparent)]
    Soak(#[from] storelab_results::SoakError),
    /// The report could not be written.
    #[error(transparent)]
    Results(#[from] ResultsError),
}
