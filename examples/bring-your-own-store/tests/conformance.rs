//! The shared suite, on a store the catalog does not list.
store_conformance::conformance_suite!(bring_your_own_store::BTreeStore::new());
