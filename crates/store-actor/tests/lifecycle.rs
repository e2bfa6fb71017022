//! Its own test binary: counts this process's actor threads.

#[test]
fn actor_threads_stop_when_the_store_is_dropped() {
    store_conformance::lifecycle::threads_stop_on_drop(|| {
        store_actor::ActorStore::with_actors(4, 0)
    });
}
