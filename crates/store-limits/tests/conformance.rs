//! `unsync` is single-threaded by contract, so it runs the single-thread part
//! of the suite. `noop` is not a store (it stores nothing) and runs none.

use store_limits::UnsyncStore;

// SAFETY: each test builds its own store and uses it on its own thread only.
store_conformance::single_thread_suite!(unsafe { UnsyncStore::new() });
