//! Why the engine refused or aborted a run: the two kinds a caller must
//! tell apart, because they mean different things to whoever reads them.

/// Why [`crate::run`] returned no run file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// The plan asks for what no run can honour (no thread count, no
    /// repetition, a mix that needs tasks with none prefilled, ...):
    /// refused before anything was built or timed. Bad input.
    #[error("{0}")]
    Plan(String),
    /// A store broke its contract while it was measured: it returned the
    /// wrong task, lost a prefilled one, handed ids out of sequence, or
    /// failed the audit after a cell. The run stops, since nothing that
    /// store measured can be trusted: a finding about the store.
    #[error("{0}")]
    Store(String),
}
