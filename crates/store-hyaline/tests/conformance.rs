//! Extra configurations of this store; its default configuration runs the
//! suite from its catalog line (`cargo test -p store-catalog`).

#![cfg(not(storelab_loom))]

mod across_chunks {
    // Pre-sized and grown past one chunk: 2,000+ creates cross the boundary.
    store_conformance::conformance_suite!(store_hyaline::HyalineStore::with_capacity(10));
}
