//! Instruction counts (callgrind) and heap blocks (DHAT) of each store's
//! single-thread operations on a 1,000-task store: OPS gets, updates,
//! creates and deletes, and one get_all. Setup (building and prefilling the
//! store) is not counted; the store is returned, so its drop is not either.
//!
//! Run through `scripts/gate`, which compares the counts with the committed
//! baseline.
//!
//! Not here: `channel`, `actor` and `shard-pool`, whose operations hand work
//! to other threads. Valgrind serializes threads, so how long a waiting side
//! spins before the other runs is up to its scheduler, and their instruction
//! counts are not repeatable. (`shard-pool`'s point operations are
//! `shardunit`'s, which are here.)

use std::hint::black_box;

use callgrind_gate::{creates, deletes, draft, get_all, gets, prefilled, updates};
use gungraun::Dhat;
use gungraun::prelude::*;
use task_model::TaskDraft;

macro_rules! store_group {
    ($module:ident, $group:ident, $ty:ty, $make:expr) => {
        mod $module {
            use super::*;

            fn store() -> $ty {
                prefilled($make)
            }

            fn store_and_draft() -> ($ty, TaskDraft) {
                (prefilled($make), draft(0))
            }

            #[library_benchmark]
            #[bench::ops(setup = store)]
            pub fn get(s: $ty) -> $ty {
                black_box(gets(&s));
                s
            }

            #[library_benchmark]
            #[bench::ops(setup = store)]
            pub fn update(s: $ty) -> $ty {
                black_box(updates(&s));
                s
            }

            #[library_benchmark]
            #[bench::ops(setup = store_and_draft)]
            pub fn create(
                fixture: ($ty, TaskDraft),
            ) -> ($ty, Vec<std::sync::Arc<task_model::Task>>) {
                let made = creates(&fixture.0, &fixture.1);
                (fixture.0, made)
            }

            #[library_benchmark]
            #[bench::ops(setup = store)]
            pub fn delete(s: $ty) -> ($ty, Vec<std::sync::Arc<task_model::Task>>) {
                let gone = deletes(&s);
                (s, gone)
            }

            #[library_benchmark]
            #[bench::ops(setup = store)]
            pub fn get_all(s: $ty) -> ($ty, Vec<std::sync::Arc<task_model::Task>>) {
                let all = super::get_all(&s);
                (s, all)
            }

            library_benchmark_group!(
                name = $group,
                benchmarks = [get, update, create, delete, get_all]
            );
        }
        use $module::$group;
    };
}

store_group!(
    memory_ops,
    memory,
    store_memory::MemoryStore,
    store_memory::MemoryStore::new()
);
store_group!(
    shard_ops,
    shard,
    store_shard::ShardStore,
    store_shard::ShardStore::new()
);
store_group!(
    shardunit_ops,
    shardunit,
    store_shardunit::ShardUnitStore,
    store_shardunit::ShardUnitStore::new()
);
store_group!(
    dense_ops,
    dense,
    store_dense::DenseStore,
    store_dense::DenseStore::new()
);
store_group!(
    dashmap_ops,
    dashmap,
    store_peers::DashMapStore,
    store_peers::DashMapStore::new()
);
store_group!(
    papaya_ops,
    papaya,
    store_peers::PapayaStore,
    store_peers::PapayaStore::new()
);
store_group!(
    scc_ops,
    scc,
    store_peers::SccStore,
    store_peers::SccStore::new()
);
// SAFETY: callgrind runs each benchmark on one thread, calling the store from
// that thread only.
store_group!(unsync_ops, unsync, store_limits::UnsyncStore, unsafe {
    store_limits::UnsyncStore::new()
});

main!(
    config = LibraryBenchmarkConfig::default().tool(Dhat::default()),
    library_benchmark_groups = [
        memory, shard, shardunit, dense, dashmap, papaya, scc, unsync
    ]
);
