//! `storelab`: see `storelab --help`.

use std::process::ExitCode;

#[global_allocator]
static ALLOC: bench_harness::measure::alloc::CountingAlloc =
    bench_harness::measure::alloc::CountingAlloc;

fn main() -> ExitCode {
    storelab::cli::main()
}
