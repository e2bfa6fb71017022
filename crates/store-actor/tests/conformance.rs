use store_actor::ActorStore;

store_conformance::conformance_suite!(ActorStore::new());

mod four_actors {
    // More actors than this machine's cores: the yields must keep it live.
    store_conformance::conformance_suite!(store_actor::ActorStore::with_actors(4, 0));
}
