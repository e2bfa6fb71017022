//! The criterion benches of every store crate, written once.
//!
//! The catalog's stores get them from their catalog line, through
//! [`catalog_benches`]: `cargo bench -p store-catalog --bench stores` (every
//! store) and `cargo bench -p store-NAME` (that crate's, `storelab::crate_bench!`).
//! A store outside the catalog calls [`main`] from a bench of its own:
//!
//! ```ignore
//! fn main() { criterion_kit::main("shard", store_shard::ShardStore::with_capacity); }
//! ```
//!
//! Either runs, on a store prefilled with
//! [`keys()`] tasks (1,000,000 unless `STORELAB_BENCH_KEYS` says otherwise):
//! get of the hottest key, get and update of Zipf 80/20 keys (one thread,
//! and every core through `iter_custom`), create, delete, and get_all.
//! Throughput is set so criterion reports elements per second.
//!
//! These benches answer "how fast is this one store"; comparisons between
//! stores, with statistics, are the `storelab` harness's job.

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput};
use task_model::{NewTask, TaskDraft, TaskId, TaskPatch, TaskStore, Timestamp};
use workload::{HotKeys, KeyDist, Mix, Workload};

/// Tasks prefilled: `STORELAB_BENCH_KEYS`, or one million.
pub fn keys() -> u32 {
    std::env::var("STORELAB_BENCH_KEYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|k| *k > 0)
        .unwrap_or(1_000_000)
}

fn draft(i: u32) -> TaskDraft {
    NewTask {
        title: format!("task {i}"),
        ..Default::default()
    }
    .validate_at(Timestamp(1))
    .expect("valid generated title")
}

/// Zipf 80/20 ids (scrambled), 2^16 per thread, generated before timing.
fn zipf_ids(keys: u32, threads: usize) -> Vec<Vec<TaskId>> {
    let generated = Workload {
        keys,
        capacity: None,
        dist: KeyDist::SEED,
        hot_keys: HotKeys::Scrambled,
        mix: Mix::SEED,
        seed: 7,
        stream_len: 1 << 16,
    }
    .generate(threads);
    generated
        .streams
        .iter()
        .map(|s| s.ops().iter().map(|op| TaskId(u64::from(op.id))).collect())
        .collect()
}

/// Runs every bench for one store and prints criterion's summary.
pub fn main<S: TaskStore + 'static>(name: &str, make: fn(usize) -> S) {
    let mut c = Criterion::default().configure_from_args();
    store_benches(&mut c, name, make);
    c.final_summary();
}

/// Registers the benches of the catalog's stores that `keep` picks, in the
/// catalog's order: the single-thread ones only for a `single_thread` store,
/// none for one that stores nothing (`noop`).
pub fn catalog_benches(c: &mut Criterion, keep: &dyn Fn(&store_catalog::Store) -> bool) {
    struct Register<'a, 'k> {
        c: &'a mut Criterion,
        keep: &'k dyn Fn(&store_catalog::Store) -> bool,
    }
    impl store_catalog::Visit for Register<'_, '_> {
        fn store<S: TaskStore + 'static>(
            &mut self,
            line: &store_catalog::Store,
            make: fn(usize) -> S,
        ) {
            let entry = &line.entry;
            if !(self.keep)(line) || entry.stores_nothing {
                return;
            }
            if entry.single_thread {
                single_thread_benches(self.c, entry.name, make);
            } else {
                store_benches(self.c, entry.name, make);
            }
        }
    }
    store_catalog::visit(&mut Register { c, keep });
}

/// [`catalog_benches`] with criterion's default settings rather than the
/// command line's (which belongs to the caller: `storelab::crate_bench!`
/// takes `storelab run` options), then criterion's summary.
pub fn run_catalog_benches(keep: &dyn Fn(&store_catalog::Store) -> bool) {
    let mut c = Criterion::default();
    catalog_benches(&mut c, keep);
    c.final_summary();
}

/// Registers every bench of one store with `c`.
pub fn store_benches<S: TaskStore + 'static>(c: &mut Criterion, name: &str, make: fn(usize) -> S) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (store, ids) = prefilled(make, cores);
    point_and_bulk(c, name, &store, &ids);
    let patch = TaskPatch::set_completed(true, Timestamp(2));
    let mut g = c.benchmark_group(format!("{name}/parallel"));
    g.throughput(Throughput::Elements(cores as u64));
    for (label, update) in [("get/zipf", false), ("mix80-20/zipf", true)] {
        g.bench_function(format!("{label}/threads={cores}"), |b| {
            b.iter_custom(|iters| parallel(&store, &ids, iters, update, &patch))
        });
    }
    g.finish();
}

/// Registers only the single-thread benches, for a store that must not be
/// called from two threads (the `unsync` floor).
pub fn single_thread_benches<S: TaskStore + 'static>(
    c: &mut Criterion,
    name: &str,
    make: fn(usize) -> S,
) {
    let (store, ids) = prefilled(make, 1);
    point_and_bulk(c, name, &store, &ids);
}

fn prefilled<S: TaskStore>(make: fn(usize) -> S, threads: usize) -> (S, Vec<Vec<TaskId>>) {
    let keys = keys();
    let store = make(keys as usize);
    for i in 1..=keys {
        store.create(draft(i));
    }
    (store, zipf_ids(keys, threads))
}

fn point_and_bulk<S: TaskStore>(c: &mut Criterion, name: &str, store: &S, ids: &[Vec<TaskId>]) {
    let hottest = ids[0][0];
    let patch = TaskPatch::set_completed(true, Timestamp(2));

    let mut g = c.benchmark_group(format!("{name}/point"));
    g.throughput(Throughput::Elements(1));
    g.bench_function("get/hot", |b| {
        b.iter(|| black_box(store.get(black_box(hottest))))
    });
    g.bench_function("get/zipf", |b| {
        let mut i = 0usize;
        let mine = &ids[0];
        b.iter(|| {
            i = i.wrapping_add(1);
            black_box(store.get(mine[i & (mine.len() - 1)]))
        })
    });
    g.bench_function("update/zipf", |b| {
        let mut i = 0usize;
        let mine = &ids[0];
        b.iter(|| {
            i = i.wrapping_add(1);
            black_box(store.update(mine[i & (mine.len() - 1)], patch.clone()))
        })
    });
    g.finish();

    let mut g = c.benchmark_group(format!("{name}/bulk"));
    g.throughput(Throughput::Elements(store.len() as u64));
    g.sample_size(10);
    g.bench_function("get_all", |b| b.iter(|| black_box(store.get_all())));
    g.finish();

    // Last, because creating grows the store.
    let mut g = c.benchmark_group(format!("{name}/grow"));
    g.throughput(Throughput::Elements(1));
    let fresh = draft(0);
    g.bench_function("create", |b| {
        b.iter(|| black_box(store.create(fresh.clone())))
    });
    g.bench_function("delete", |b| {
        b.iter_batched(
            || store.create(fresh.clone()).id,
            |id| black_box(store.delete(id)),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

/// `iters` operations on each of `ids.len()` threads started together;
/// returns the wall time (criterion divides by iters; throughput is per
/// thread count). With `update`, one op in five is an update.
fn parallel<S: TaskStore>(
    store: &S,
    ids: &[Vec<TaskId>],
    iters: u64,
    update: bool,
    patch: &TaskPatch,
) -> Duration {
    let barrier = Barrier::new(ids.len());
    let spans: Vec<(Instant, Instant)> = std::thread::scope(|s| {
        let handles: Vec<_> = ids
            .iter()
            .map(|mine| {
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    let start = Instant::now();
                    for i in 0..iters as usize {
                        let id = mine[i & (mine.len() - 1)];
                        if update && i % 5 == 4 {
                            black_box(store.update(id, patch.clone()));
                        } else {
                            black_box(store.get(id));
                        }
                    }
                    (start, Instant::now())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let first = spans.iter().map(|s| s.0).min().unwrap_or_else(Instant::now);
    let last = spans.iter().map(|s| s.1).max().unwrap_or(first);
    last - first
}
