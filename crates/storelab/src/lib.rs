//! The `storelab` command, and the lab as a library for a crate that
//! benchmarks its own store (see `examples/bring-your-own-store`).
//!
//! A thin layer: raw flags become validated arguments, each subcommand calls
//! the crate that does its job (the `bench-harness` engine, `store-catalog`,
//! `storelab-stats`, `storelab-render`, `storelab-decisions`, `storelab-gate`,
//! `storelab-load`), and failures are typed ([`cli::Failure`]) and mapped to
//! exit codes: 0 success, 1 a finding, 2 an error.

pub mod cli;
