//! Instruction counts (callgrind) and heap blocks (DHAT) of each store's
//! single-thread operations on a 1,000-task store: OPS gets, updates,
//! creates and deletes, and one get_all. Setup (building and prefilling the
//! store) is not counted; the store is returned, so its drop is not either.
//!
//! Run through `scripts/gate`, which compares the counts with the committed
//! baseline.
//!
//! The stores come from the catalog (`store_catalog::for_each_store!`):
//! every line but the knob settings, `stores_nothing` (`noop`), and the
//! stores that own `threads` (`channel`, `actor`, `shard-pool`), whose
//! operations hand work to other threads. Valgrind serializes threads, so
//! how long a waiting side spins before the other runs is up to its
//! scheduler, and their instruction counts are not repeatable.
//! (`shard-pool`'s point operations are `shardunit`'s, which are here.)

use std::hint::black_box;

use callgrind_gate::{creates, deletes, draft, get_all, gets, prefilled, updates};
use gungraun::Dhat;
use gungraun::prelude::*;
use task_model::TaskDraft;

macro_rules! store_group {
    ($group:ident, $ty:ty, $make:expr) => {
        pub mod $group {
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
    };
}

/// Walks the catalog and keeps the lines the gate counts, then hands them to
/// `$then!` as `(id, Type, constructor)` triples.
macro_rules! gate_filter {
    (@acc $then:ident [$($kept:tt)*]) => {
        $then!($($kept)*);
    };
    // Knob settings are the same code as their store: not counted again.
    (@acc $then:ident [$($kept:tt)*] $id:ident $name:literal Knob ($ty:ty) ($ctor:expr) $about:literal [$($opt:tt)*]; $($rest:tt)*) => {
        gate_filter!(@acc $then [$($kept)*] $($rest)*);
    };
    // Stores outside the process: callgrind would count the client only,
    // and the server's work in another process not at all.
    (@acc $then:ident [$($kept:tt)*] $id:ident $name:literal Remote ($ty:ty) ($ctor:expr) $about:literal [$($opt:tt)*]; $($rest:tt)*) => {
        gate_filter!(@acc $then [$($kept)*] $($rest)*);
    };
    (@acc $then:ident [$($kept:tt)*] $id:ident $name:literal $family:ident ($ty:ty) ($ctor:expr) $about:literal [$($opt:tt)*]; $($rest:tt)*) => {
        gate_filter!(@opts $then [$($kept)*] ($id, $ty, $ctor) [$($opt)*] $($rest)*);
    };
    (@opts $then:ident [$($kept:tt)*] $store:tt [] $($rest:tt)*) => {
        gate_filter!(@acc $then [$($kept)* $store] $($rest)*);
    };
    (@opts $then:ident [$($kept:tt)*] $store:tt [threads $(, $($o:tt)*)?] $($rest:tt)*) => {
        gate_filter!(@acc $then [$($kept)*] $($rest)*);
    };
    (@opts $then:ident [$($kept:tt)*] $store:tt [stores_nothing $(, $($o:tt)*)?] $($rest:tt)*) => {
        gate_filter!(@acc $then [$($kept)*] $($rest)*);
    };
    (@opts $then:ident [$($kept:tt)*] $store:tt [$other:ident $(($($arg:tt)*))? $(, $($o:tt)*)?] $($rest:tt)*) => {
        gate_filter!(@opts $then [$($kept)*] $store [$($($o)*)?] $($rest)*);
    };
    ($then:ident; $($lines:tt)*) => {
        gate_filter!(@acc $then [] $($lines)*);
    };
}

/// The catalog's gate lines, as one benchmark group per store.
macro_rules! gate_groups {
    ($($lines:tt)*) => { gate_filter!(write_groups; $($lines)*); };
}

macro_rules! write_groups {
    ($(($id:ident, $ty:ty, $ctor:expr))*) => {
        // SAFETY (for `unsync`'s constructor): callgrind runs each benchmark
        // on one thread, calling the store from that thread only.
        $( store_group!($id, $ty, ($ctor)(0)); )*
    };
}

/// The catalog's gate lines, as gungraun's `main!` over their groups.
macro_rules! gate_main {
    ($($lines:tt)*) => { gate_filter!(write_main; $($lines)*); };
}

macro_rules! write_main {
    ($(($id:ident, $ty:ty, $ctor:expr))*) => {
        $( use stores::$id::$id; )*
        main!(
            config = LibraryBenchmarkConfig::default().tool(Dhat::default()),
            library_benchmark_groups = [$($id),*]
        );
    };
}

mod stores {
    use super::*;

    store_catalog::for_each_store!(gate_groups);
}

store_catalog::for_each_store!(gate_main);
