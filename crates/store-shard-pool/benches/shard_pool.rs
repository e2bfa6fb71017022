//! `cargo bench -p store-shard-pool`: see the criterion-kit crate.

fn main() {
    criterion_kit::main(
        "shard-pool",
        store_shard_pool::ShardPoolStore::with_capacity,
    );
}
