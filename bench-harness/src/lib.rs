//! storelab's engine: drives a workload over any [`TaskStore`] and measures
//! it. It knows no store and no renderer (as bustle's `run::<T>()`): a store
//! arrives as an [`Entry`], whose `build` wraps it with [`bench()`], and a run
//! leaves as a [`RunFile`](storelab_results::RunFile).
//!
//! A run is a pipeline of phases, one module each, in the order the data
//! flows ([`lab`] has the table):
//! - [`plan`]: how long and how often to measure, checked first;
//! - `cells`: every store built, prefilled, its live key space made;
//! - `rounds`: calibration, then the interleaved timed repetitions;
//! - `passes` and `audit`: the untimed allocation and latency passes, and
//!   the audit that the store kept what it was given;
//! - `memory`: the heap over a fresh store's life.
//!
//! Under the phases: `bench` ([`Bench`], a store made ready for the
//! engine), `drive` (the timed loop, monomorphized per store), `live` (the
//! live key space of a mix that creates or deletes) and [`measure`] (the
//! counting allocator).
//!
//! Workloads live in their own crate ([`workload`]), shared with the
//! criterion benches; the store list lives in `store-catalog`.
//!
//! [`TaskStore`]: task_model::TaskStore

mod audit;
mod bench;
mod cells;
mod drive;
mod error;
pub mod lab;
mod live;
pub mod measure;
mod memory;
mod passes;
pub mod plan;
mod rounds;

pub use audit::{AUDIT_AT, audit};
pub use bench::{Bench, Benched, ShardOf, bench};
pub use cells::PREFILL_DESCRIPTION;
pub use drive::{Tally, Timed, WorkQueue, timer_cost_ns};
pub use error::EngineError;
pub use lab::run;
pub use live::{Lane, LiveKeys};
pub use memory::HELD_AFTER_MS;
pub use plan::{MIN_RAREST_OPS, Order, Plan};
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
