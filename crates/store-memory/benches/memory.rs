//! `cargo bench -p store-memory`: see the criterion-kit crate.

fn main() {
    criterion_kit::main("memory", store_memory::MemoryStore::with_capacity);
}
