//! storelab's harness: the data path from workload to report.
//!
//! - [`workload`] (its own crate): key distributions, operation mixes, per-thread streams
//!   generated before timing.
//! - [`registry`]: every store the harness can run, one line each.
//! - [`run`]: the timed loop (monomorphized per store), and the untimed
//!   passes for allocations and latency.
//! - [`lab`]: a whole run: prefill, calibrate, interleaved repetitions.
//! - [`measure`]: the counting allocator.
//! - [`results`]: the versioned result file, and [`machine`], its record of
//!   where it ran.
//! - [`stats`]: medians, confidence intervals, Mann-Whitney U.
//! - [`compare`] and [`report`]: benchstat-style comparisons; Markdown and
//!   SVG reports.
//! - [`table`]: text, Markdown and CSV tables.
//! - [`load`]: the HTTP load generator (open and closed loop) for the Task API.
//! - [`cli`]: the `storelab` command line.
//!
//! Not here: the stores themselves (the `store-*` crates) and the model
//! (`task-model`).

pub mod cli;
pub mod compare;
pub mod decisions;
pub mod gate;
pub mod lab;
pub mod load;
pub mod machine;
pub mod measure;
pub mod registry;
pub mod report;
pub mod results;
pub mod run;
pub mod stats;
pub mod table;

/// Re-exported: workloads live in their own crate, shared with the criterion benches.
pub use workload;
