//! Its own test binary: counts this process's pool threads.

#[test]
fn pool_threads_stop_when_the_store_is_dropped() {
    store_conformance::lifecycle::threads_stop_on_drop(|| {
        store_shard_pool::ShardPoolStore::with_config(8, 0, 4)
    });
}
