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
//! - [`sequential_model`]: random sequences of every operation, checked step
//!   by step against a `BTreeMap` model; proptest shrinks a failure to a
//!   minimal sequence.
//! - [`concurrent`]: unique ids under concurrent creates, no lost updates
//!   (disjoint tasks, and disjoint fields of one task), readers never see a
//!   version that was never written, and `get_all` keeps the promise of the
//!   store's [`SnapshotGuarantee`](task_model::SnapshotGuarantee).
//! - [`errors`]: missing ids and invalid input give the right errors.
//! - [`lifecycle`]: a store that owns threads stops them when dropped.
//!
//! This crate is test code: it panics on a violation, which is what a test
//! should do. It is not a benchmark and measures nothing.

pub mod concurrent;
pub mod errors;
pub mod lifecycle;
pub mod sequential;

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

/// Every check that needs no second thread, for a store that may only be
/// used from one thread (such as the `unsync` floor).
#[macro_export]
macro_rules! single_thread_suite {
    ($make:expr) => {
        mod conformance_single_thread {
            #[allow(unused_imports)]
            use super::*;

            #[test]
            fn sequential_model() {
                $crate::sequential_model(|| $make);
            }
            #[test]
            fn ids_start_at_one_and_are_never_reused() {
                $crate::errors::ids_start_at_one_and_are_never_reused(&|| $make);
            }
            #[test]
            fn missing_ids_are_not_found() {
                $crate::errors::missing_ids_are_not_found(&|| $make);
            }
            #[test]
            fn invalid_input_is_refused() {
                $crate::errors::invalid_input_is_refused(&|| $make);
            }
            #[test]
            fn snapshots_are_immutable() {
                $crate::errors::snapshots_are_immutable(&|| $make);
            }
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

            #[test]
            fn concurrent_creates_get_unique_ids() {
                $crate::concurrent::creates_get_unique_ids(&|| $make);
            }
            #[test]
            fn updates_to_disjoint_tasks_are_not_lost() {
                $crate::concurrent::updates_to_disjoint_tasks_are_not_lost(&|| $make);
            }
            #[test]
            fn updates_to_one_task_are_atomic() {
                $crate::concurrent::updates_to_one_task_are_atomic(&|| $make);
            }
            #[test]
            fn readers_see_only_written_versions() {
                $crate::concurrent::readers_see_only_written_versions(&|| $make);
            }
            #[test]
            fn get_all_keeps_its_snapshot_promise() {
                $crate::concurrent::get_all_keeps_its_snapshot_promise(&|| $make);
            }
            #[test]
            fn deletes_race_with_readers_and_updates() {
                $crate::concurrent::deletes_race_with_readers_and_updates(&|| $make);
            }
        }
    };
}
