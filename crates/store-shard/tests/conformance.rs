use store_shard::ShardStore;

store_conformance::conformance_suite!(ShardStore::new());

mod one_shard {
    // A single shard is the degenerate case of the mask arithmetic.
    store_conformance::conformance_suite!(store_shard::ShardStore::with_shards_and_capacity(1, 0));
}
