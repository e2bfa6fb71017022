use store_dense::DenseStore;

store_conformance::conformance_suite!(DenseStore::new());

mod across_chunks {
    // Pre-sized and grown past one chunk: 2,000+ creates cross the boundary.
    store_conformance::conformance_suite!(store_dense::DenseStore::with_capacity(10));
}
