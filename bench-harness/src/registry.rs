//! Every store the harness can run. Adding a store is one line here (and a
//! dependency in Cargo.toml).

use store_actor::ActorStore;
use store_channel::ChannelStore;
use store_dense::DenseStore;
use store_limits::{NoopStore, UnsyncStore};
use store_memory::MemoryStore;
use store_peers::{DashMapStore, PapayaStore, SccStore};
use store_shard::ShardStore;
use store_shard_pool::ShardPoolStore;
use store_shardunit::ShardUnitStore;

use crate::run::{Bench, bench};

/// What kind of store an entry is, for readers of a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// One of the decision log's five designs.
    Log,
    /// A public concurrent map.
    Peer,
    /// A design of this lab, beyond the log.
    New,
    /// A setting of another store, for measuring a knob; run only when named.
    Knob,
    /// A physical limit (a floor, or the harness's own cost).
    Limit,
}

/// One runnable store.
pub struct Entry {
    pub name: &'static str,
    pub about: &'static str,
    pub family: Family,
    /// Builds an empty store pre-sized for `capacity` tasks.
    pub build: fn(capacity: usize) -> Box<dyn Bench>,
    /// May only run on one thread (`unsync`).
    pub single_thread: bool,
    /// Stores nothing, so every read misses and nothing is prefilled (`noop`).
    pub stores_nothing: bool,
    /// Builds the Task API over this store, prefilled with that many tasks
    /// (`storelab serve`); `None` for stores that cannot serve.
    pub serve: Option<fn(prefill: u32) -> axum::Router>,
}

impl Entry {
    /// Makes the entry servable over HTTP.
    fn api(mut self, serve: fn(u32) -> axum::Router) -> Entry {
        self.serve = Some(serve);
        self
    }
}

/// The Task API over `store`, prefilled.
fn api<S: task_model::TaskStore + 'static>(store: S, prefill: u32, name: &str) -> axum::Router {
    task_api::prefill(&store, prefill);
    task_api::router(store, name)
}

const fn entry(
    name: &'static str,
    family: Family,
    about: &'static str,
    build: fn(usize) -> Box<dyn Bench>,
) -> Entry {
    Entry {
        name,
        about,
        family,
        build,
        single_thread: false,
        stores_nothing: false,
        serve: None,
    }
}

/// Every store, in the order tables list them.
pub fn registry() -> Vec<Entry> {
    use Family::*;
    vec![
        entry(
            "memory",
            Log,
            "one map behind one RwLock, mutex-guarded id counter (the log's baseline)",
            |c| bench(MemoryStore::with_capacity(c)).boxed(),
        )
        .api(|n| api(MemoryStore::with_capacity(n as usize), n, "memory")),
        entry(
            "shard",
            Log,
            "32 shards of whole memory stores by id & mask, atomic ids, pre-sized",
            |c| {
                bench(ShardStore::with_capacity(c))
                    .sharded(|s, id| (s.shard_of(id), s.shard_count()))
                    .boxed()
            },
        )
        .api(|n| api(ShardStore::with_capacity(n as usize), n, "shard")),
        entry(
            "shardunit",
            Log,
            "32 lean map+lock shard units by id & mask, atomic ids",
            |c| {
                let shards = |s: &ShardUnitStore, id| (s.shard_of(id), s.shards().len());
                bench(ShardUnitStore::with_capacity(c))
                    .sharded(shards)
                    .walkable(walk_units)
                    .boxed()
            },
        )
        .api(|n| api(ShardUnitStore::with_capacity(n as usize), n, "shardunit")),
        entry(
            "shard-pool",
            Log,
            "shardunit plus pinned per-core workers that run get_all",
            |c| bench(ShardPoolStore::with_capacity(c)).boxed(),
        )
        .api(|n| api(ShardPoolStore::with_capacity(n as usize), n, "shard-pool")),
        entry(
            "channel",
            Log,
            "an actor thread owns the map; a reply channel per call",
            |c| bench(ChannelStore::with_capacity(c)).boxed(),
        )
        .api(|n| api(ChannelStore::with_capacity(n as usize), n, "channel")),
        entry(
            "dense",
            New,
            "dense ids: COW chunks of slots indexed by id, a padded lock per chunk, shared snapshots",
            |c| {
                let chunks = |s: &DenseStore, id| s.chunk_of(id);
                bench(DenseStore::with_capacity(c))
                    .sharded(chunks)
                    .walkable(walk_dense)
                    .boxed()
            },
        )
        .api(|n| api(DenseStore::with_capacity(n as usize), n, "dense")),
        entry(
            "actor",
            New,
            "sharded actors, reused per-thread reply channels, spin-then-block, batched draining",
            |c| bench(ActorStore::with_capacity(c)).boxed(),
        )
        .api(|n| api(ActorStore::with_capacity(n as usize), n, "actor")),
        entry(
            "dashmap",
            Peer,
            "dashmap 6: RwLock-sharded hashbrown maps",
            |c| {
                bench(DashMapStore::with_capacity(c))
                    .sharded(|s, id| s.shard_of(id))
                    .boxed()
            },
        )
        .api(|n| api(DashMapStore::with_capacity(n as usize), n, "dashmap")),
        entry(
            "papaya",
            Peer,
            "papaya: lock-free reads, epoch reclamation; one pin per operation",
            |c| bench(PapayaStore::with_capacity(c)).boxed(),
        )
        .api(|n| api(PapayaStore::with_capacity(n as usize), n, "papaya")),
        entry(
            "scc",
            Peer,
            "scc HashMap: per-bucket locks, epoch reclamation",
            |c| bench(SccStore::with_capacity(c)).boxed(),
        )
        .api(|n| api(SccStore::with_capacity(n as usize), n, "scc")),
        entry(
            "shardunit-8",
            Knob,
            "shardunit with 8 shards (the knob: shard count)",
            |c| {
                let shards = |s: &ShardUnitStore, id| (s.shard_of(id), s.shards().len());
                bench(ShardUnitStore::with_shards_and_capacity(8, c))
                    .sharded(shards)
                    .boxed()
            },
        ),
        entry(
            "shardunit-256",
            Knob,
            "shardunit with 256 shards (the knob: shard count)",
            |c| {
                let shards = |s: &ShardUnitStore, id| (s.shard_of(id), s.shards().len());
                bench(ShardUnitStore::with_shards_and_capacity(256, c))
                    .sharded(shards)
                    .boxed()
            },
        ),
        entry(
            "shardunit-4096",
            Knob,
            "shardunit with 4096 shards (the knob: shard count)",
            |c| {
                let shards = |s: &ShardUnitStore, id| (s.shard_of(id), s.shards().len());
                bench(ShardUnitStore::with_shards_and_capacity(4096, c))
                    .sharded(shards)
                    .boxed()
            },
        ),
        Entry {
            single_thread: true,
            // SAFETY: `single_thread` makes the harness refuse to run this
            // store on more than one thread, and the harness never calls a
            // store from two threads at once otherwise (prefill, then each
            // pass, one after another), which is the constructor's contract.
            ..entry(
                "unsync",
                Limit,
                "a plain map with no synchronization (1 thread only): the floor",
                |c| bench(unsafe { UnsyncStore::with_capacity(c) }).boxed(),
            )
        },
        Entry {
            stores_nothing: true,
            ..entry(
                "noop",
                Limit,
                "does nothing: the harness's own cost per operation",
                |c| bench(NoopStore::with_capacity(c)).boxed(),
            )
        },
    ]
}

/// The get_all floor: visit every map entry of every unit, reading the
/// pointer but neither cloning it nor touching the task it points to.
fn walk_units(store: &ShardUnitStore) -> usize {
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
fn walk_dense(store: &DenseStore) -> usize {
    let mut seen = 0usize;
    let mut mix = 0usize;
    store.for_each_arc(|task| {
        seen += 1;
        mix ^= std::sync::Arc::as_ptr(task) as usize;
    });
    std::hint::black_box(mix);
    seen
}

/// Looks up `names` (comma-separated; `all` is every store but the knob
/// settings, `knobs` is those) in the registry, in the registry's order.
pub fn select(names: &str) -> Result<Vec<Entry>, String> {
    let all = registry();
    let wanted: Vec<&str> = names
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    if wanted.is_empty() {
        return Err(
            "no store named: use --stores all or a comma-separated list (see `storelab list`)"
                .into(),
        );
    }
    let knob = |e: &Entry| e.family == Family::Knob;
    let selected = |e: &Entry| {
        wanted
            .iter()
            .any(|w| *w == e.name || (*w == "all" && !knob(e)) || (*w == "knobs" && knob(e)))
    };
    for name in &wanted {
        if !matches!(*name, "all" | "knobs") && !all.iter().any(|e| e.name == *name) {
            let known: Vec<&str> = all.iter().map(|e| e.name).collect();
            return Err(format!(
                "unknown store '{name}'; known stores: {}",
                known.join(", ")
            ));
        }
    }
    Ok(all.into_iter().filter(selected).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_selectable() {
        let all = registry();
        let mut names: Vec<&str> = all.iter().map(|e| e.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
        let knobs = all.iter().filter(|e| e.family == Family::Knob).count();
        assert!(knobs > 0);
        assert_eq!(select("all").expect("all").len(), all.len() - knobs);
        assert_eq!(select("all,knobs").expect("all and knobs").len(), all.len());
        let two = select("dashmap, memory").expect("known names");
        assert_eq!(
            two.iter().map(|e| e.name).collect::<Vec<_>>(),
            ["memory", "dashmap"]
        );
    }

    #[test]
    fn unknown_names_are_refused_with_the_known_list() {
        let Err(err) = select("memory,btree") else {
            panic!("btree is not a store")
        };
        assert!(
            err.contains("unknown store 'btree'") && err.contains("dashmap"),
            "{err}"
        );
        assert!(select(" , ").is_err());
    }
}
