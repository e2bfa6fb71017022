//! The one conformance suite every storelab store passes, and that you can
//! run on your own store.
//!
//! ```ignore
//! // in your store crate's tests/conformance.rs
//! store_conformance::conformance_suite!(my_store::MyStore::new());
//! ```
//!
//! The macro expands to one `#[test]` per check, so a failure names the
//! property that broke. The checks are also plain functions taking a
//! constructor, for stores that need a custom harness.
//!
//! What it checks:
//! - [`sequential_model`]: random sequences of every operation, with creates
//!   and patches covering every field, checked step by step against a
//!   `BTreeMap` model; proptest shrinks a failure to a minimal sequence.
//! - [`concurrent`]: unique ids under concurrent creates (dense, or with
//!   the bounded gaps of per-thread blocks, as the store's
//!   [`IdPolicy`](task_model::IdPolicy) says), no lost updates
//!   (disjoint tasks, and disjoint fields of one task), readers never see a
//!   version that was never written, `get_all` keeps the promise of the
//!   store's [`SnapshotGuarantee`](task_model::SnapshotGuarantee); and
//!   whole concurrent histories are linearizable ([`linearizable`]: every
//!   answer fits one order of the operations, `get_all` and `len` held to
//!   the store's claim).
//! - [`sizes`]: 70,000 tasks and more, past chunk, shard and `u16`
//!   boundaries, against a model.
//! - [`errors`]: missing ids and invalid input give the right errors.
//!
//! Ids: the single-thread checks expect 1, 2, 3, ... from every store,
//! since under either id policy a thread that creates alone on a store gets
//! exactly those; the concurrent ones hold a store to the policy it
//! declares ([`concurrent::check_created_ids`], and the linearizability
//! checker's model of a create, see [`linearizable`]).
//! - [`lifecycle`]: a dropped store holds none of its tasks, and a store
//!   that owns threads has stopped them when `drop` returns.
//!
//! Every check the macros generate runs under a time limit
//! ([`watchdog`]): a store that hangs fails the check that hung, by name,
//! instead of hanging `cargo test`.
//!
//! This crate is test code: it panics on a violation, which is what a test
//! should do. It is not a benchmark and measures nothing.

pub mod concurrent;
pub mod errors;
pub mod lifecycle;
pub mod linearizable;
pub mod sequential;
pub mod sizes;
pub mod watchdog;

pub use sequential::sequential_model;

use task_model::{NewTask, TaskDraft, Timestamp};

/// A valid draft with the given title, stamped with a fixed time.
pub fn draft(title: &str) -> TaskDraft {
    NewTask {
        title: title.to_owned(),
        description: None,
        completed: None,
    }
    .validate_at(Timestamp(1))
    .expect("conformance titles are valid")
}

/// One `#[test]` running `$check(&|| $make)` under the suite's time limit
/// ([`watchdog::with_time_limit`]). The store is built inside the check's
/// thread, so a single-threaded store is still used from one thread only.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_test {
    ($name:ident, $check:path, $make:expr) => {
        #[test]
        fn $name() {
            $crate::watchdog::with_time_limit(stringify!($name), || {
                $check(&|| $make);
            });
        }
    };
}

/// Every check that needs no second thread, for a store that may only be
/// used from one thread (such as the `unsync` floor).
#[macro_export]
macro_rules! single_thread_suite {
    ($make:expr) => {
        mod conformance_single_thread {
            #[allow(unused_imports)]
            use super::*;

            $crate::__conformance_test!(sequential_model, $crate::sequential_model, $make);
            $crate::__conformance_test!(
                ids_start_at_one_and_are_never_reused,
                $crate::errors::ids_start_at_one_and_are_never_reused,
                $make
            );
            $crate::__conformance_test!(
                missing_ids_are_not_found,
                $crate::errors::missing_ids_are_not_found,
                $make
            );
            $crate::__conformance_test!(
                invalid_input_is_refused,
                $crate::errors::invalid_input_is_refused,
                $make
            );
            $crate::__conformance_test!(
                snapshots_are_immutable,
                $crate::errors::snapshots_are_immutable,
                $make
            );
            $crate::__conformance_test!(
                sizes_past_every_boundary,
                $crate::sizes::sizes_past_every_boundary,
                $make
            );
            $crate::__conformance_test!(
                drop_releases_every_task,
                $crate::lifecycle::drop_releases_every_task,
                $make
            );
        }
    };
}

/// The whole suite: every single-thread check plus the concurrent ones.
#[macro_export]
macro_rules! conformance_suite {
    ($make:expr) => {
        $crate::single_thread_suite!($make);

        mod conformance_concurrent {
            #[allow(unused_imports)]
            use super::*;

            $crate::__conformance_test!(
                concurrent_creates_get_unique_ids,
                $crate::concurrent::creates_get_unique_ids,
                $make
            );
            $crate::__conformance_test!(
                updates_to_disjoint_tasks_are_not_lost,
                $crate::concurrent::updates_to_disjoint_tasks_are_not_lost,
                $make
            );
            $crate::__conformance_test!(
                updates_to_one_task_are_atomic,
                $crate::concurrent::updates_to_one_task_are_atomic,
                $make
            );
            $crate::__conformance_test!(
                readers_see_only_written_versions,
                $crate::concurrent::readers_see_only_written_versions,
                $make
            );
            $crate::__conformance_test!(
                get_all_keeps_its_snapshot_promise,
                $crate::concurrent::get_all_keeps_its_snapshot_promise,
                $make
            );
            $crate::__conformance_test!(
                deletes_race_with_readers_and_updates,
                $crate::concurrent::deletes_race_with_readers_and_updates,
                $make
            );
            $crate::__conformance_test!(
                histories_are_linearizable,
                $crate::concurrent::histories_are_linearizable,
                $make
            );
            $crate::__conformance_test!(
                contended_updates_are_linearizable,
                $crate::concurrent::contended_updates_are_linearizable,
                $make
            );
            $crate::__conformance_test!(
                get_all_is_linearizable,
                $crate::concurrent::get_all_is_linearizable,
                $make
            );
        }
    };
}
