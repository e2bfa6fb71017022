//! Extra configurations of this store; its default configuration runs the
//! suite from its catalog line (`cargo test -p store-catalog`).

mod four_actors {
    // More actors than this machine's cores: the yields must keep it live.
    store_conformance::conformance_suite!(store_actor::ActorStore::with_actors(4, 0));
}
