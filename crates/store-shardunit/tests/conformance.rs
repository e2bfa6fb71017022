use store_shardunit::ShardUnitStore;

store_conformance::conformance_suite!(ShardUnitStore::new());
