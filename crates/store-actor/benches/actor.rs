//! `cargo bench -p store-actor`: see the criterion-kit crate.

fn main() {
    criterion_kit::main("actor", store_actor::ActorStore::with_capacity);
}
