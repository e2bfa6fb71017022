//! Extra configurations of this store; its default configuration runs the
//! suite from its catalog line (`cargo test -p store-catalog`).

mod four_workers {
    // More workers than this machine's cores, so get_all's fan-out is
    // exercised even on a 2-core machine.
    store_conformance::conformance_suite!(store_shard_pool::ShardPoolStore::with_config(8, 0, 4));
}
