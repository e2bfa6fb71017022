//! `cargo bench -p bring-your-own-store [-- RUN OPTIONS]`: the lab's seed
//! workload over `btree` (this crate's store), the peers and the floors;
//! the same table and result file as `storelab run`.

use bench_harness::{Entry, Family, bench};
use bring_your_own_store::BTreeStore;

// Counts allocations, so the table has B/op and allocs/op.
#[global_allocator]
static ALLOC: bench_harness::measure::alloc::CountingAlloc =
    bench_harness::measure::alloc::CountingAlloc;

fn main() -> std::process::ExitCode {
    storelab::cli::bench_main(vec![Entry::new(
        "btree",
        Family::New,
        "one Mutex around a BTreeMap (bring-your-own-store example)",
        |capacity| bench(BTreeStore::with_capacity(capacity)).boxed(),
    )])
}
