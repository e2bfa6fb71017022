//! The `storelab` command, and the lab as a library for a crate that
//! benchmarks its own store (see `examples/bring-your-own-store`).
//!
//! A thin layer: raw flags become validated arguments, each subcommand calls
//! the crate that does its job (the `bench-harness` engine, `store-catalog`,
//! `storelab-stats`, `storelab-render`, `storelab-decisions`, `storelab-gate`,
//! `storelab-load`), and failures are typed ([`cli::Failure`]) and mapped to
//! exit codes: 0 success, 1 a finding, 2 an error.

pub mod cli;

use storelab_results::machine::Build;

/// `rustc -V`, the target and the profile of this build, written by the
/// `built` crate from `build.rs`.
#[allow(dead_code, clippy::all)]
mod built_info {
    include!(concat!(env!("OUT_DIR"), "/built.rs"));
}

/// How this crate was built, as its build script found it: the commit and
/// dirty flag of the checkout, the compiler, the profile and the target.
/// [`cli::main`] and [`cli::bench_main`] install it
/// ([`Build::install`]) before anything is measured, so every result file
/// records it, wherever the program runs.
pub fn build() -> Build {
    Build {
        git_commit: env!("STORELAB_GIT_COMMIT"),
        git_dirty: matches!(env!("STORELAB_GIT_DIRTY").as_bytes(), b"true"),
        rustc: built_info::RUSTC_VERSION,
        // Cargo tells a build script only `release` or `debug`; this
        // workspace's bench profile is release with debug info.
        profile: match (built_info::PROFILE, built_info::DEBUG) {
            ("release", true) => "bench",
            (profile, _) => profile,
        },
        target: built_info::TARGET,
    }
}
