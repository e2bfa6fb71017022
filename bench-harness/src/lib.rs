//! storelab's engine: drives a workload over any [`TaskStore`] and measures
//! it. It knows no store and no renderer (as bustle's `run::<T>()`): a store
//! arrives as an [`Entry`], whose `build` wraps it with [`bench`], and a run
//! leaves as a [`RunFile`](storelab_results::RunFile).
//!
//! - [`run`]: the timed loop (monomorphized per store), and the untimed
//!   passes for allocations and latency.
//! - [`lab`]: a whole run as named phases: prefill, calibrate, interleaved
//!   repetitions, measurement passes.
//! - [`measure`]: the counting allocator.
//!
//! Workloads live in their own crate ([`workload`]), shared with the
//! criterion benches; the store list lives in `store-catalog`.
//!
//! [`TaskStore`]: task_model::TaskStore

pub mod lab;
pub mod measure;
pub mod run;

pub use lab::{Order, Plan, run};
pub use run::{Bench, Benched, bench};
pub use storelab_results::Family;
/// Re-exported: workloads live in their own crate, shared with the criterion benches.
pub use workload;

/// One runnable store, as the engine sees it.
pub struct Entry {
    pub name: &'static str,
    pub about: &'static str,
    pub family: Family,
    /// Builds an empty store pre-sized for `capacity` tasks.
    pub build: fn(capacity: usize) -> Box<dyn Bench>,
    /// May only run on one thread (`unsync`).
    pub single_thread: bool,
    /// Stores nothing, so every read misses and nothing is prefilled (`noop`).
    pub stores_nothing: bool,
}

impl Entry {
    /// An entry that runs on any thread count and stores what it is given.
    pub const fn new(
        name: &'static str,
        family: Family,
        about: &'static str,
        build: fn(usize) -> Box<dyn Bench>,
    ) -> Entry {
        Entry {
            name,
            about,
            family,
            build,
            single_thread: false,
            stores_nothing: false,
        }
    }
}
