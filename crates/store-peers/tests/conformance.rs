mod dashmap_store {
    store_conformance::conformance_suite!(store_peers::DashMapStore::new());
}
mod papaya_store {
    store_conformance::conformance_suite!(store_peers::PapayaStore::new());
}
mod scc_store {
    store_conformance::conformance_suite!(store_peers::SccStore::new());
}
