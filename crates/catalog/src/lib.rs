//! The store catalog: the only list of stores in storelab.
//!
//! [`for_each_store!`] holds one line per store. Everything that needs the
//! list expands it, so adding a store is its crate, one line here, and its
//! dependency in this crate's `Cargo.toml`:
//! - the engine entries of [`catalog`] (what `storelab run` and `list` see),
//!   and the Task API over each servable store (`storelab serve`, and
//!   `storelab list --servable` for the HTTP scripts);
//! - the conformance suite (`tests/conformance.rs`): every line, knob
//!   settings included, runs it before it can be timed;
//! - the criterion benches (`benches/stores.rs`, through [`visit`]);
//! - each store crate's `cargo bench -p store-NAME`: the lines whose type
//!   that crate defines ([`of_crate`]), benched by `storelab::crate_bench!`;
//! - the gungraun gate (`crates/callgrind-gate`), for the stores that own no
//!   threads.
//!
//! A test (`tests/catalog.rs`) fails when a `crates/store-*` crate exists that
//! no line names, or whose `benches/lab.rs` is missing.
//!
//! # A line
//! `ident "name" Family (Type) (constructor from a capacity) "about" [options];`
//! Options: `serve` (servable over HTTP), `sharded(fn)` and `walkable(fn)`
//! (engine adapters: the shard of an id, a walk that clones nothing),
//! `threads` (owns threads: not in the single-threaded gate),
//! `single_thread` (one thread only; the single-thread suite),
//! `stores_nothing` (the harness's own cost; no suite), `remote(target)`
//! (lives outside the process: available only where its server is, see
//! [`Store::available`]; run only when named, like the `Knob` family).

use bench_harness::{Entry, Family, bench};
use store_dense::DenseStore;
use store_shardunit::ShardUnitStore;

/// Calls `$callback! { LINES }` with the catalog, one line per store, in the
/// order tables list them.
#[macro_export]
macro_rules! for_each_store {
    ($callback:ident) => {
        $callback! {
            memory "memory" Log (store_memory::MemoryStore) (store_memory::MemoryStore::with_capacity)
                "one map behind one RwLock, mutex-guarded id counter (the log's baseline)" [serve];
            shard "shard" Log (store_shard::ShardStore) (store_shard::ShardStore::with_capacity)
                "32 shards of whole memory stores by id & mask, atomic ids, pre-sized"
                [serve, sharded(|s, id| (s.shard_of(id), s.shard_count()))];
            shardunit "shardunit" Log (store_shardunit::ShardUnitStore) (store_shardunit::ShardUnitStore::with_capacity)
                "32 lean map+lock shard units by id & mask, atomic ids"
                [serve, sharded(|s, id| (s.shard_of(id), s.shards().len())), walkable($crate::walk_units)];
            shard_pool "shard-pool" Log (store_shard_pool::ShardPoolStore) (store_shard_pool::ShardPoolStore::with_capacity)
                "shardunit plus pinned per-core workers that run get_all" [serve, threads];
            channel "channel" Log (store_channel::ChannelStore) (store_channel::ChannelStore::with_capacity)
                "an actor thread owns the map; a reply channel per call" [serve, threads];
            dense "dense" New (store_dense::DenseStore) (store_dense::DenseStore::with_capacity)
                "dense ids: COW chunks of slots indexed by id, a padded lock per chunk, shared snapshots"
                [serve, sharded(|s, id| s.chunk_of(id)), walkable($crate::walk_dense)];
            rcu "rcu" New (store_rcu::RcuStore) (store_rcu::RcuStore::with_capacity)
                "dense's slots read-copy-update: reads pin an epoch and write nothing shared; CAS writes"
                [serve, sharded(|s, id| s.chunk_of(id)), walkable($crate::walk_rcu)];
            hyaline "hyaline" New (store_hyaline::HyalineStore) (store_hyaline::HyalineStore::with_capacity)
                "rcu's slots reclaimed by seize (Hyaline): a read writes only its own thread's line; len striped per thread"
                [serve, sharded(|s, id| s.chunk_of(id)), walkable(store_hyaline::HyalineStore::walk)];
            actor "actor" New (store_actor::ActorStore) (store_actor::ActorStore::with_capacity)
                "sharded actors, reused per-thread reply channels, spin-then-block, batched draining"
                [serve, threads];
            dashmap "dashmap" Peer (store_peers::DashMapStore) (store_peers::DashMapStore::with_capacity)
                "dashmap 6: RwLock-sharded hashbrown maps" [serve, sharded(|s, id| s.shard_of(id))];
            papaya "papaya" Peer (store_peers::PapayaStore) (store_peers::PapayaStore::with_capacity)
                "papaya: lock-free reads, epoch reclamation; one pin per operation" [serve];
            scc "scc" Peer (store_peers::SccStore) (store_peers::SccStore::with_capacity)
                "scc HashMap: per-bucket locks, epoch reclamation" [serve];
            redis "redis" Remote (store_redis::RedisStore) (store_redis::RedisStore::single)
                "a real redis-server over loopback: a hash per task, Lua-script writes, INCRBY id blocks, striped len"
                [serve, remote(store_redis::Target::Single)];
            redis_cluster "redis-cluster" Remote (store_redis::RedisStore) (store_redis::RedisStore::cluster)
                "redis on a local 3-master Redis Cluster: 256 hash tags per store, get_all walks every master"
                [serve, remote(store_redis::Target::Cluster)];
            shardunit_8 "shardunit-8" Knob (store_shardunit::ShardUnitStore)
                (|c| store_shardunit::ShardUnitStore::with_shards_and_capacity(8, c))
                "shardunit with 8 shards (the knob: shard count)"
                [sharded(|s, id| (s.shard_of(id), s.shards().len()))];
            shardunit_256 "shardunit-256" Knob (store_shardunit::ShardUnitStore)
                (|c| store_shardunit::ShardUnitStore::with_shards_and_capacity(256, c))
                "shardunit with 256 shards (the knob: shard count)"
                [sharded(|s, id| (s.shard_of(id), s.shards().len()))];
            shardunit_4096 "shardunit-4096" Knob (store_shardunit::ShardUnitStore)
                (|c| store_shardunit::ShardUnitStore::with_shards_and_capacity(4096, c))
                "shardunit with 4096 shards (the knob: shard count)"
                [sharded(|s, id| (s.shard_of(id), s.shards().len()))];
            hyaline_batch_32 "hyaline-batch-32" Knob (store_hyaline::HyalineStore)
                (|c| store_hyaline::HyalineStore::with_batch(c, 32))
                "hyaline retiring in batches of 32, seize's default (the knob: how often a writer pays the heavy barrier)"
                [sharded(|s, id| s.chunk_of(id)), walkable(store_hyaline::HyalineStore::walk)];
            hyaline_batch_1024 "hyaline-batch-1024" Knob (store_hyaline::HyalineStore)
                (|c| store_hyaline::HyalineStore::with_batch(c, 1024))
                "hyaline retiring in batches of 1024 (the knob: how often a writer pays the heavy barrier)"
                [sharded(|s, id| s.chunk_of(id)), walkable(store_hyaline::HyalineStore::walk)];
            shard_pool_unpinned "shard-pool-unpinned" Knob (store_shard_pool::ShardPoolStore)
                (store_shard_pool::ShardPoolStore::unpinned)
                "shard-pool with its workers left unpinned (the knob: CPU affinity)" [threads];
            dense_twin "dense-twin" Knob (store_dense::DenseStore) (store_dense::DenseStore::with_capacity)
                "dense again under another name: the A/A test of scripts/calibrate" [];
            dense_slow_4 "dense-slow-4" Knob (store_limits::Delayed<store_dense::DenseStore, 4>)
                (|c| store_limits::Delayed::<_, 4>::new(store_dense::DenseStore::with_capacity(c)))
                "dense plus 4 iterations of busy work per operation (calibration)" [];
            dense_slow_8 "dense-slow-8" Knob (store_limits::Delayed<store_dense::DenseStore, 8>)
                (|c| store_limits::Delayed::<_, 8>::new(store_dense::DenseStore::with_capacity(c)))
                "dense plus 8 iterations of busy work per operation (calibration)" [];
            dense_slow_16 "dense-slow-16" Knob (store_limits::Delayed<store_dense::DenseStore, 16>)
                (|c| store_limits::Delayed::<_, 16>::new(store_dense::DenseStore::with_capacity(c)))
                "dense plus 16 iterations of busy work per operation (calibration)" [];
            dense_slow_32 "dense-slow-32" Knob (store_limits::Delayed<store_dense::DenseStore, 32>)
                (|c| store_limits::Delayed::<_, 32>::new(store_dense::DenseStore::with_capacity(c)))
                "dense plus 32 iterations of busy work per operation (calibration)" [];
            // SAFETY of the constructor: `single_thread` makes the harness
            // refuse to run this store on more than one thread, the suite
            // runs it on one thread per store, and the harness never calls a
            // store from two threads at once otherwise (prefill, then each
            // pass, one after another): the constructor's contract.
            unsync "unsync" Limit (store_limits::UnsyncStore)
                (|c| unsafe { store_limits::UnsyncStore::with_capacity(c) })
                "a plain map with no synchronization (1 thread only): the floor" [single_thread];
            unsync_vec "unsync-vec" Limit (store_limits::UnsyncVecStore)
                (|c| unsafe { store_limits::UnsyncVecStore::with_capacity(c) })
                "a plain vector indexed by id, no synchronization (1 thread only): the floor of id-indexed stores"
                [single_thread];
            floor "floor" Limit (store_limits::FloorStore) (store_limits::FloorStore::with_capacity)
                "one atomic pointer per id, versions never freed during a run: the multi-thread floor"
                [walkable(store_limits::FloorStore::walk)];
            noop "noop" Limit (store_limits::NoopStore) (store_limits::NoopStore::with_capacity)
                "does nothing: the harness's own cost per operation" [stores_nothing];
        }
    };
}

/// One catalog line, as the engine and the server see it.
pub struct Store {
    pub entry: Entry,
    /// The crate its type comes from, as Rust names it (`store_dense`;
    /// `store_limits` for `Delayed<DenseStore, 4>`): what [`of_crate`] picks.
    pub krate: &'static str,
    /// Builds the Task API over this store, prefilled with that many tasks
    /// (`storelab serve`); `None` for stores that cannot serve.
    pub serve: Option<fn(prefill: u32) -> axum::Router>,
    /// Whether the store can be built here, or why not (a `remote` store
    /// whose server is absent and cannot be started); in-process stores
    /// always can.
    pub available: fn() -> Result<(), String>,
}

/// The Task API over `store`, prefilled.
pub fn api<S: task_model::TaskStore + 'static>(store: S, prefill: u32, name: &str) -> axum::Router {
    task_api::prefill(&store, prefill);
    task_api::router(store, name)
}

/// Applies the engine adapters of a line's options to a benched store.
#[doc(hidden)]
#[macro_export]
macro_rules! bench_options {
    ($b:expr;) => { $b };
    ($b:expr; sharded($f:expr) $(, $($rest:tt)*)?) => { $crate::bench_options!($b.sharded($f); $($($rest)*)?) };
    ($b:expr; walkable($f:expr) $(, $($rest:tt)*)?) => { $crate::bench_options!($b.walkable($f); $($($rest)*)?) };
    ($b:expr; $other:ident $(($($arg:tt)*))? $(, $($rest:tt)*)?) => { $crate::bench_options!($b; $($($rest)*)?) };
}

/// Applies the entry flags of a line's options.
macro_rules! entry_options {
    ($s:ident, $ctor:expr, $name:literal;) => {};
    ($s:ident, $ctor:expr, $name:literal; serve $(, $($rest:tt)*)?) => {
        $s.serve = Some(|n| api(($ctor)(n as usize), n, $name));
        entry_options!($s, $ctor, $name; $($($rest)*)?);
    };
    ($s:ident, $ctor:expr, $name:literal; single_thread $(, $($rest:tt)*)?) => {
        $s.entry.single_thread = true;
        entry_options!($s, $ctor, $name; $($($rest)*)?);
    };
    ($s:ident, $ctor:expr, $name:literal; remote($target:expr) $(, $($rest:tt)*)?) => {
        $s.available = || store_redis::available($target);
        entry_options!($s, $ctor, $name; $($($rest)*)?);
    };
    ($s:ident, $ctor:expr, $name:literal; stores_nothing $(, $($rest:tt)*)?) => {
        $s.entry.stores_nothing = true;
        entry_options!($s, $ctor, $name; $($($rest)*)?);
    };
    ($s:ident, $ctor:expr, $name:literal; $other:ident $(($($arg:tt)*))? $(, $($rest:tt)*)?) => {
        entry_options!($s, $ctor, $name; $($($rest)*)?);
    };
}

macro_rules! engine_stores {
    ($( $id:ident $name:literal $family:ident ($ty:ty) ($ctor:expr) $about:literal [$($opt:tt)*]; )*) => {
        vec![$({
            #[allow(unused_mut)]
            let mut store = Store {
                entry: Entry::new($name, Family::$family, $about, |c| {
                    $crate::bench_options!(bench(($ctor)(c)); $($opt)*).boxed()
                }),
                krate: crate_of(stringify!($ty)),
                serve: None,
                available: || Ok(()),
            };
            entry_options!(store, $ctor, $name; $($opt)*);
            store
        }),*]
    };
}

/// Every store, in the order tables list them.
pub fn catalog() -> Vec<Store> {
    for_each_store!(engine_stores)
}

/// Generic code over the catalog's stores, each with its own type: what
/// [`visit`] calls (the criterion benches, `criterion_kit::catalog_benches`),
/// for code that needs the type but not the store crates as dependencies.
pub trait Visit {
    /// One catalog line (`line`: its entry and crate) and its constructor
    /// from a capacity.
    fn store<S: task_model::TaskStore + 'static>(&mut self, line: &Store, make: fn(usize) -> S);
}

macro_rules! visit_lines {
    ($( $id:ident $name:literal $family:ident ($ty:ty) ($ctor:expr) $about:literal [$($opt:tt)*]; )*) => {
        /// Calls `v` with every catalog line, in the catalog's order.
        pub fn visit(v: &mut impl Visit) {
            let mut lines = catalog().into_iter();
            $( v.store(&lines.next().expect("one entry per line"), $ctor); )*
        }
    };
}

for_each_store!(visit_lines);

/// The crate a type path names first: `store_dense` for `store_dense::DenseStore`.
fn crate_of(ty: &'static str) -> &'static str {
    ty.split("::").next().unwrap_or(ty).trim()
}

/// The stores of one store crate (`store-dense`, as Cargo names it: what
/// `env!("CARGO_PKG_NAME")` says), knob settings left out as `all` leaves
/// them: the lines whose type that crate defines, in the catalog's order.
/// `cargo bench -p store-NAME` benches these (`storelab::crate_bench!`).
pub fn of_crate(package: &str) -> Vec<Store> {
    let krate = package.replace('-', "_");
    catalog()
        .into_iter()
        .filter(|s| s.krate == krate && s.entry.family != Family::Knob)
        .collect()
}

/// The get_all floor: visit every map entry of every unit, reading the
/// pointer but neither cloning it nor touching the task it points to.
#[doc(hidden)]
pub fn walk_units(store: &ShardUnitStore) -> usize {
    let mut seen = 0usize;
    let mut mix = 0usize;
    for unit in store.shards().iter() {
        unit.for_each_arc(|task| {
            seen += 1;
            mix ^= std::sync::Arc::as_ptr(task) as usize;
        });
    }
    std::hint::black_box(mix);
    seen
}

/// The get_all floor of the dense store: every slot's pointer, nothing cloned.
#[doc(hidden)]
pub fn walk_dense(store: &DenseStore) -> usize {
    let mut seen = 0usize;
    let mut mix = 0usize;
    store.for_each_arc(|task| {
        seen += 1;
        mix ^= std::sync::Arc::as_ptr(task) as usize;
    });
    std::hint::black_box(mix);
    seen
}

/// The get_all floor of the rcu store: every task visited in place.
#[doc(hidden)]
pub fn walk_rcu(store: &store_rcu::RcuStore) -> usize {
    let mut seen = 0usize;
    let mut mix = 0usize;
    store.for_each_task(|task| {
        seen += 1;
        mix ^= std::ptr::from_ref(task) as usize;
    });
    std::hint::black_box(mix);
    seen
}

/// Why [`select`] refused a list of store names.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    /// The list names no store at all.
    #[error("no store named: use --stores all or a comma-separated list (see `storelab list`)")]
    NoStore,
    /// A name that is not in the catalog (`known`: the catalog's names).
    #[error("unknown store '{name}'; known stores: {}", known.join(", "))]
    UnknownStore {
        name: String,
        known: Vec<&'static str>,
    },
}

/// Looks up `names` (comma-separated; `all` is every store in the process
/// but the knob settings, `knobs` is those, `remote` the stores outside the
/// process) in the catalog, in the catalog's order.
pub fn select(names: &str) -> Result<Vec<Store>, SelectError> {
    let all = catalog();
    let wanted: Vec<&str> = names
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    if wanted.is_empty() {
        return Err(SelectError::NoStore);
    }
    let group = |s: &Store| match s.entry.family {
        Family::Knob => "knobs",
        Family::Remote => "remote",
        _ => "all",
    };
    let selected = |s: &Store| wanted.iter().any(|w| *w == s.entry.name || *w == group(s));
    for name in &wanted {
        if !matches!(*name, "all" | "knobs" | "remote")
            && !all.iter().any(|s| s.entry.name == *name)
        {
            return Err(SelectError::UnknownStore {
                name: (*name).to_owned(),
                known: all.iter().map(|s| s.entry.name).collect(),
            });
        }
    }
    Ok(all.into_iter().filter(selected).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(stores: &[Store]) -> Vec<&'static str> {
        stores.iter().map(|s| s.entry.name).collect()
    }

    #[test]
    fn names_are_unique_and_selectable() {
        let all = catalog();
        let mut unique = names(&all);
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), all.len());
        let knobs = all
            .iter()
            .filter(|s| s.entry.family == Family::Knob)
            .count();
        assert!(knobs > 0);
        let remote = all
            .iter()
            .filter(|s| s.entry.family == Family::Remote)
            .count();
        assert_eq!(remote, 2);
        assert_eq!(
            select("all").expect("all").len(),
            all.len() - knobs - remote
        );
        assert_eq!(
            select("all,knobs,remote").expect("every group").len(),
            all.len()
        );
        assert_eq!(
            names(&select("remote").expect("remote")),
            ["redis", "redis-cluster"]
        );
        let two = select("dashmap, memory").expect("known names");
        assert_eq!(names(&two), ["memory", "dashmap"]);
    }

    #[test]
    fn options_reach_the_entries() {
        let all = catalog();
        let get = |n: &str| all.iter().find(|s| s.entry.name == n).expect("listed");
        assert!(get("unsync").entry.single_thread && get("unsync").serve.is_none());
        assert!(get("noop").entry.stores_nothing);
        assert!(get("dense").serve.is_some() && !get("dense").entry.single_thread);
        assert!(get("shardunit-8").serve.is_none());
        let dense = (get("dense").entry.build)(16);
        assert!(dense.walk().is_some() && dense.shard_of(task_model::TaskId(1)).is_some());
        let memory = (get("memory").entry.build)(16);
        assert!(memory.walk().is_none() && memory.shard_of(task_model::TaskId(1)).is_none());
    }

    #[test]
    fn a_crate_has_the_stores_its_types_come_from() {
        assert_eq!(names(&of_crate("store-dense")), ["dense"]);
        assert_eq!(names(&of_crate("store-shard")), ["shard"]);
        assert_eq!(names(&of_crate("store-shard-pool")), ["shard-pool"]);
        assert_eq!(
            names(&of_crate("store-peers")),
            ["dashmap", "papaya", "scc"]
        );
        assert_eq!(
            names(&of_crate("store-limits")),
            ["unsync", "unsync-vec", "floor", "noop"]
        );
        assert!(of_crate("store-conformance").is_empty());
    }

    #[test]
    fn visit_passes_each_line_with_its_own_constructor() {
        struct Names(Vec<(&'static str, usize)>);
        impl Visit for Names {
            fn store<S: task_model::TaskStore + 'static>(
                &mut self,
                line: &Store,
                make: fn(usize) -> S,
            ) {
                self.0.push((line.entry.name, make(4).len()));
            }
        }
        let mut seen = Names(Vec::new());
        visit(&mut seen);
        let listed: Vec<_> = names(&catalog());
        assert_eq!(seen.0.iter().map(|(n, _)| *n).collect::<Vec<_>>(), listed);
        assert!(seen.0.iter().all(|(_, len)| *len == 0));
    }

    #[test]
    fn unknown_names_are_refused_with_the_known_list() {
        let Err(err) = select("memory,btree") else {
            panic!("btree is not a store")
        };
        assert!(
            matches!(&err, SelectError::UnknownStore { name, .. } if name == "btree"),
            "{err}"
        );
        let message = err.to_string();
        assert!(
            message.contains("unknown store 'btree'") && message.contains("dashmap"),
            "{message}"
        );
        assert!(matches!(select(" , "), Err(SelectError::NoStore)));
    }
}
