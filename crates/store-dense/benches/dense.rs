//! `cargo bench -p store-dense`: see the criterion-kit crate.

fn main() {
    criterion_kit::main("dense", store_dense::DenseStore::with_capacity);
}
