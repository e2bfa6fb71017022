//! Extra configurations of this store; its default configuration runs the
//! suite from its catalog line (`cargo test -p store-catalog`).

mod one_shard {
    // A single shard is the degenerate case of the mask arithmetic.
    store_conformance::conformance_suite!(store_shard::ShardStore::with_shards_and_capacity(1, 0));
}
