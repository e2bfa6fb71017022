//! Rendering: what the lab shows a reader. Text, Markdown and CSV tables
//! ([`table`]), comparison tables ([`compare`]), and REPORT.md with its SVG
//! plots ([`report`], one function per chart; the scaling plots of many-core
//! runs in [`scaling`]; the soak run's in [`soak`]). Reads result files and the
//! statistics crate's data; measures and decides nothing.

pub mod compare;
mod error;
pub mod gobench;
pub mod report;
pub mod scaling;
pub mod soak;
pub mod table;

pub use error::RenderError;
pub use table::Table;
