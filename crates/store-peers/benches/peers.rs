//! `cargo bench -p store-peers`: see the criterion-kit crate.

fn main() {
    let mut c = criterion::Criterion::default().configure_from_args();
    criterion_kit::store_benches(&mut c, "dashmap", store_peers::DashMapStore::with_capacity);
    criterion_kit::store_benches(&mut c, "papaya", store_peers::PapayaStore::with_capacity);
    criterion_kit::store_benches(&mut c, "scc", store_peers::SccStore::with_capacity);
    c.final_summary();
}
