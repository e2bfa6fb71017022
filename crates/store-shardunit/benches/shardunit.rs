//! `cargo bench -p store-shardunit`: see the criterion-kit crate.

fn main() {
    criterion_kit::main("shardunit", store_shardunit::ShardUnitStore::with_capacity);
}
