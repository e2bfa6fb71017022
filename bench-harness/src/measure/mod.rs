//! What the harness measures beside time.

pub mod alloc;
pub mod blocks;
