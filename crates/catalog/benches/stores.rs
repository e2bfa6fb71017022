//! `cargo bench -p store-catalog --bench stores [-- FILTER]`: the criterion
//! benches of every catalog store (see the criterion-kit crate), from the
//! catalog's lines. `-- dense/` runs one store's (`cargo bench -p
//! store-dense` runs a crate's stores' without prefilling the others).

fn main() {
    let mut c = criterion::Criterion::default().configure_from_args();
    criterion_kit::catalog_benches(&mut c, &|_| true);
    c.final_summary();
}
