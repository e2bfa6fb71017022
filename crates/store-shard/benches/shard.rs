//! `cargo bench -p store-shard`: see the criterion-kit crate.

fn main() {
    criterion_kit::main("shard", store_shard::ShardStore::with_capacity);
}
