//! Micro-benchmarks of the decision log's claims about single operations:
//!
//! - shard selection by `id & mask` versus `id % n` (the log: "bitwise AND,
//!   ~1 cycle, versus modulo, ~10-20 cycles");
//! - id generation by one atomic add versus a mutex-guarded counter;
//! - filling a store whose maps were pre-sized versus one that grows.
//!
//! `scripts/micro` runs them and imports criterion's samples into
//! `results/micro.json`, which DECISIONS.md is generated from.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{BatchSize, Criterion, Throughput};
use task_model::{NewTask, TaskStore, Timestamp};

fn main() {
    let mut c = Criterion::default().configure_from_args();

    let mut g = c.benchmark_group("log-claims");
    g.throughput(Throughput::Elements(1024));
    // Shard selection over 1024 ids. The shard count is opaque to the
    // compiler (black_box), as it is to a store configured at run time: a
    // constant divisor would let it turn `%` into a multiply.
    let ids: Vec<u64> = (1..=1024u64)
        .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 20)
        .collect();
    let shards = black_box(32u64);
    let mask = black_box(shards - 1);
    g.bench_function("shard-by-mask", |b| {
        b.iter(|| {
            ids.iter()
                .fold(0u64, |acc, id| acc.wrapping_add(black_box(id & mask)))
        })
    });
    g.bench_function("shard-by-modulo", |b| {
        b.iter(|| {
            ids.iter()
                .fold(0u64, |acc, id| acc.wrapping_add(black_box(id % shards)))
        })
    });

    // Id generation, 1024 ids per iteration, one thread (uncontended: the
    // harness measures contention).
    let atomic = AtomicU64::new(1);
    g.bench_function("id-atomic", |b| {
        b.iter(|| {
            for _ in 0..1024 {
                black_box(atomic.fetch_add(1, Ordering::Relaxed));
            }
        })
    });
    let mutex = parking_lot::Mutex::new(1u64);
    g.bench_function("id-mutex", |b| {
        b.iter(|| {
            for _ in 0..1024 {
                let mut next = mutex.lock();
                black_box(*next);
                *next += 1;
            }
        })
    });
    let std_mutex = std::sync::Mutex::new(1u64);
    g.bench_function("id-std-mutex", |b| {
        b.iter(|| {
            for _ in 0..1024 {
                let mut next = std_mutex
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                black_box(*next);
                *next += 1;
            }
        })
    });

    // Filling a shard store with 1024 tasks, pre-sized or not.
    let draft = NewTask {
        title: "t".into(),
        ..Default::default()
    }
    .validate_at(Timestamp(1))
    .expect("valid");
    g.bench_function("fill-presized", |b| {
        b.iter_batched(
            || store_shard::ShardStore::with_capacity(1024),
            |s| {
                for _ in 0..1024 {
                    s.create(draft.clone());
                }
                s
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("fill-growing", |b| {
        b.iter_batched(
            store_shard::ShardStore::new,
            |s| {
                for _ in 0..1024 {
                    s.create(draft.clone());
                }
                s
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
    c.final_summary();
}
