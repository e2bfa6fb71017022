use store_memory::MemoryStore;

store_conformance::conformance_suite!(MemoryStore::new());
