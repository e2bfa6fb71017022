//! The redis-backed stores run the whole conformance suite from their
//! catalog lines (`cargo test -p store-catalog`), against a real server and
//! a real cluster this test process starts. Here: the unpipelined setting
//! on a server given by URL, as `--redis URL` gives one.

mod given_url {
    fn store(_capacity: usize) -> store_redis::RedisStore {
        use std::sync::OnceLock;
        static SERVER: OnceLock<store_redis::Server> = OnceLock::new();
        let server = SERVER.get_or_init(|| {
            store_redis::Server::start(store_redis::Persistence::None)
                .unwrap_or_else(|e| panic!("this test needs redis-server: {e}"))
        });
        store_redis::configure(store_redis::Config {
            url: Some(server.url()),
            ..store_redis::Config::default()
        });
        store_redis::RedisStore::unpipelined(64)
    }
    store_conformance::conformance_suite!(store(64));
}
