//! The `storelab` command, and the lab as a library for a crate that
//! benchmarks its own store (see `examples/bring-your-own-store`).
//!
//! A thin layer: raw flags become validated arguments, each subcommand calls
//! the crate that does its job (the `bench-harness` engine, `store-catalog`,
//! `storelab-stats`, `storelab-render`, `storelab-decisions`, `storelab-gate`,
//! `storelab-load`), and failures are typed ([`cli::Failure`]) and mapped to
//! exit codes: 0 success, 1 a finding, 2 an error.

pub mod cli;

#[doc(hidden)]
pub use bench_harness as __bench_harness;

/// The whole `benches/lab.rs` of a catalog store crate (`crates/store-*`,
/// with `harness = false` and `storelab` as a dev-dependency with its `micro`
/// feature): `storelab::crate_bench!();`. `cargo bench -p store-NAME` then
/// benches the stores the catalog builds from that crate
/// ([`cli::crate_bench_main`]): with no options their criterion
/// micro-benchmarks and the lab's seed run beside the peers and floors;
/// options after `--` are `storelab run`'s (`-- --preset smoke`), plus
/// `--micro`. It counts allocations, as `storelab` does (B/op, allocs/op).
#[macro_export]
macro_rules! crate_bench {
    () => {
        #[global_allocator]
        static ALLOC: $crate::__bench_harness::measure::alloc::CountingAlloc =
            $crate::__bench_harness::measure::alloc::CountingAlloc;

        fn main() -> ::std::process::ExitCode {
            $crate::cli::crate_bench_main(env!("CARGO_PKG_NAME"))
        }
    };
}

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
