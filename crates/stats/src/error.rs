//! Why two runs, or the stores of one run, could not be compared.

use storelab_results::ResultsError;

/// Why [`crate::compare::compare`], [`crate::compare::compare_normalized`]
/// or [`crate::compare::against_baseline`] refused.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// The runs measured different work.
    #[error(transparent)]
    Results(#[from] ResultsError),
    /// `--normalize STORE` names a store one of the runs lacks.
    #[error("--normalize: '{reference}' is not in the {side} run; it has: {}", known.join(", "))]
    ReferenceMissing {
        reference: String,
        side: &'static str,
        known: Vec<String>,
    },
    /// Rows only one run has (as "store xN only in the old run"), and
    /// `--common` was not given.
    #[error(
        "the runs cover different stores or thread counts ({}); pass --common to compare only what both have",
        unmatched.join("; ")
    )]
    DifferentRows { unmatched: Vec<String> },
    /// No (store, threads) row in both runs.
    #[error("the two runs have no (store, threads) row in common")]
    NoCommonRow,
    /// No (store, threads) row in both runs with the reference at its
    /// thread count.
    #[error(
        "the two runs have no (store, threads) row in common with {reference} at its thread count"
    )]
    NoCommonRowWithReference { reference: String },
    /// The baseline store is not in the run.
    #[error("baseline '{baseline}' is not in this run; it has: {}", known.join(", "))]
    UnknownBaseline {
        baseline: String,
        known: Vec<String>,
    },
}

/// Why one row could not be normalized: it is left out of the comparison
/// and the message becomes a note. (Each variant names what is missing.)
#[allow(clippy::enum_variant_names)]
#[derive(Debug, thiserror::Error)]
pub(crate) enum NotNormalized {
    #[error("{store} x{threads}: no {reference} x{threads} in the {side} run to normalize by")]
    NoReferenceCell {
        store: String,
        threads: usize,
        reference: String,
        side: &'static str,
    },
    #[error("{store} x{threads}: no other store at x{threads} in both runs to normalize by")]
    NoOtherStore { store: String, threads: usize },
    #[error("{store} x{threads}: no round of the {side} run has both it and {label}")]
    NoCommonRound {
        store: String,
        threads: usize,
        side: &'static str,
        label: String,
    },
}
