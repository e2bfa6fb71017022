//! The Task API's model: what a task is, what a client may send, how that
//! input is validated, and the [`TaskStore`] trait that every storelab store
//! implements.
//!
//! This crate is for the *shape* of the data and the *contract* of a store.
//! It is not a store itself (see the `store-*` crates), not a benchmark
//! harness (see `bench-harness`), and not an HTTP layer.
//!
//! # Parse, don't validate
//! A store never sees unvalidated input. Client input ([`NewTask`],
//! [`TaskUpdate`]) becomes a [`TaskDraft`] or a [`TaskPatch`] only through
//! validation, so a store cannot be handed an empty title. The fallible,
//! request-level API that an HTTP handler wants ([`TaskApi`]) is provided
//! for every store on top of the infallible [`TaskStore`] primitives.

mod snapshot;
mod store;
mod task;
mod validate;

pub use snapshot::{SharedSlots, Snapshot};
pub use store::{IdPolicy, SnapshotGuarantee, StoreError, TaskApi, TaskStore, Unreachable};
pub use task::{NewTask, Task, TaskDraft, TaskId, TaskPatch, TaskUpdate, Timestamp};
pub use validate::{MAX_DESCRIPTION_CHARS, MAX_TITLE_CHARS, ValidationError};
