//! `storelab gate`: the CI regression gate on deterministic counts.
//!
//! Reads the gungraun summaries (`summary.json`, written with
//! `--save-summary=json`) of the `callgrind-gate` benchmarks, and compares
//! each benchmark's instruction count (callgrind `Ir`) and heap blocks (DHAT
//! `TotalBlocks`) with a committed baseline. It fails when an instruction
//! count grows by more than the tolerance, when an allocation count grows at
//! all, or when a benchmark of the baseline is missing. `--bless` writes the
//! baseline instead: the deliberate way to accept a change.
//!
//! Counts depend on the compiler and the dependency versions, so the
//! baseline records the rustc it was made with, and the gate refuses to
//! compare counts made by another one (re-bless after a toolchain change).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use storelab_render::Table;

mod error;

pub use error::GateError;

/// Baseline file schema.
pub const GATE_SCHEMA: &str = "storelab.gate/v1";

/// The counts of one benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Instructions executed (callgrind Ir).
    pub instructions: u64,
    /// Heap blocks allocated (DHAT total blocks).
    pub alloc_blocks: u64,
    /// Heap bytes allocated (DHAT total bytes); reported, not gated.
    pub alloc_bytes: u64,
}

/// A set of counts, keyed by `group/benchmark`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GateFile {
    pub schema: String,
    pub rustc: String,
    pub valgrind: String,
    pub counts: BTreeMap<String, Counts>,
}

/// Reads every `summary.json` under `dir`.
pub fn collect(dir: &Path, rustc: &str, valgrind: &str) -> Result<GateFile, GateError> {
    let mut files = Vec::new();
    find_summaries(dir, &mut files)?;
    if files.is_empty() {
        return Err(GateError::NoSummaries {
            dir: dir.to_owned(),
        });
    }
    let mut counts = BTreeMap::new();
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(|source| GateError::Read {
            path: path.clone(),
            source,
        })?;
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|source| GateError::NotJson {
                path: path.clone(),
                source,
            })?;
        let name = format!(
            "{}/{}",
            v["group"].as_str().unwrap_or("?"),
            v["function_name"].as_str().unwrap_or("?")
        );
        let metric = |tool: &'static str, key: &'static str| -> Result<u64, GateError> {
            v["profiles"]
                .as_array()
                .and_then(|ps| ps.iter().find(|p| p["tool"] == tool))
                .and_then(|p| p["data"]["total"]["metrics"][key]["values"]["new"].as_u64())
                .ok_or_else(|| GateError::MissingCount {
                    path: path.clone(),
                    tool,
                    key,
                })
        };
        counts.insert(
            name,
            Counts {
                instructions: metric("Callgrind", "Ir")?,
                alloc_blocks: metric("DHAT", "TotalBlocks")?,
                alloc_bytes: metric("DHAT", "TotalBytes")?,
            },
        );
    }
    Ok(GateFile {
        schema: GATE_SCHEMA.into(),
        rustc: rustc.into(),
        valgrind: valgrind.into(),
        counts,
    })
}

fn find_summaries(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> Result<(), GateError> {
    let entries = std::fs::read_dir(dir).map_err(|source| GateError::Read {
        path: dir.to_owned(),
        source,
    })?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            find_summaries(&path, out)?;
        } else if path.file_name().is_some_and(|n| n == "summary.json") {
            out.push(path);
        }
    }
    Ok(())
}

impl GateFile {
    /// Reads and checks a baseline.
    pub fn read(path: &Path) -> Result<GateFile, GateError> {
        let text = std::fs::read_to_string(path).map_err(|source| GateError::Read {
            path: path.to_owned(),
            source,
        })?;
        let file: GateFile =
            serde_json::from_str(&text).map_err(|source| GateError::NotABaseline {
                path: path.to_owned(),
                source,
            })?;
        if file.schema != GATE_SCHEMA {
            return Err(GateError::Schema {
                path: path.to_owned(),
                found: file.schema,
            });
        }
        Ok(file)
    }

    pub fn write(&self, path: &Path) -> Result<(), GateError> {
        let json = serde_json::to_string_pretty(self).map_err(GateError::Encode)?;
        Ok(storelab_results::write_file(
            path,
            (json + "\n").as_bytes(),
        )?)
    }
}

/// The verdict on one benchmark.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub name: String,
    pub before: Option<Counts>,
    pub after: Option<Counts>,
    pub failures: Vec<String>,
}

/// Compares `current` with `baseline`: instructions may grow by at most
/// `tolerance_pct` percent, allocation blocks not at all; every baseline
/// benchmark must still exist. New benchmarks pass (bless to record them).
pub fn check(
    baseline: &GateFile,
    current: &GateFile,
    tolerance_pct: f64,
) -> Result<Vec<Verdict>, GateError> {
    if baseline.rustc != current.rustc {
        return Err(GateError::OtherCompiler {
            baseline: baseline.rustc.clone(),
            current: current.rustc.clone(),
        });
    }
    let mut names: Vec<&String> = baseline
        .counts
        .keys()
        .chain(current.counts.keys())
        .collect();
    names.sort();
    names.dedup();
    Ok(names
        .into_iter()
        .map(|name| {
            let before = baseline.counts.get(name).copied();
            let after = current.counts.get(name).copied();
            let mut failures = Vec::new();
            match (before, after) {
                (Some(b), Some(a)) => {
                    let growth = (a.instructions as f64 - b.instructions as f64)
                        / b.instructions.max(1) as f64
                        * 100.0;
                    if growth > tolerance_pct {
                        failures.push(format!(
                            "instructions +{growth:.2}% (tolerance {tolerance_pct}%)"
                        ));
                    }
                    if a.alloc_blocks > b.alloc_blocks {
                        failures.push(format!(
                            "allocations {} -> {}",
                            b.alloc_blocks, a.alloc_blocks
                        ));
                    }
                }
                (Some(_), None) => failures.push("benchmark missing from this run".into()),
                _ => {}
            }
            Verdict {
                name: name.clone(),
                before,
                after,
                failures,
            }
        })
        .collect())
}

/// The before/after table.
pub fn table(verdicts: &[Verdict]) -> Table {
    let mut t = Table::new(&[
        "benchmark",
        "Ir before",
        "Ir after",
        "Δ Ir",
        "allocs before",
        "allocs after",
        "verdict",
    ]);
    let num = |c: Option<Counts>, f: fn(Counts) -> u64| c.map_or("-".into(), |c| f(c).to_string());
    for v in verdicts {
        let delta = match (v.before, v.after) {
            (Some(b), Some(a)) => format!(
                "{:+.2}%",
                (a.instructions as f64 - b.instructions as f64) / b.instructions.max(1) as f64
                    * 100.0
            ),
            _ => "-".into(),
        };
        let verdict = if !v.failures.is_empty() {
            format!("FAIL: {}", v.failures.join("; "))
        } else if v.before.is_none() {
            "new (bless to record)".into()
        } else {
            "ok".into()
        };
        t.row(vec![
            v.name.clone(),
            num(v.before, |c| c.instructions),
            num(v.after, |c| c.instructions),
            delta,
            num(v.before, |c| c.alloc_blocks),
            num(v.after, |c| c.alloc_blocks),
            verdict,
        ]);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(rustc: &str, entries: &[(&str, u64, u64)]) -> GateFile {
        GateFile {
            schema: GATE_SCHEMA.into(),
            rustc: rustc.into(),
            valgrind: "valgrind-3.19.0".into(),
            counts: entries
                .iter()
                .map(|(n, ir, blocks)| {
                    (
                        (*n).to_owned(),
                        Counts {
                            instructions: *ir,
                            alloc_blocks: *blocks,
                            alloc_bytes: 0,
                        },
                    )
                })
                .collect(),
        }
    }

    fn failed(v: &[Verdict]) -> Vec<&str> {
        v.iter()
            .filter(|v| !v.failures.is_empty())
            .map(|v| v.name.as_str())
            .collect()
    }

    #[test]
    fn growth_within_tolerance_passes_and_past_it_fails() {
        let base = file("r", &[("a/get", 10_000, 0), ("a/update", 10_000, 100)]);
        let ok = file("r", &[("a/get", 10_150, 0), ("a/update", 9_000, 100)]);
        assert!(failed(&check(&base, &ok, 2.0).expect("same rustc")).is_empty());
        let slow = file("r", &[("a/get", 10_201, 0), ("a/update", 10_000, 100)]);
        assert_eq!(
            failed(&check(&base, &slow, 2.0).expect("same rustc")),
            ["a/get"]
        );
    }

    #[test]
    fn any_extra_allocation_fails() {
        let base = file("r", &[("a/update", 10_000, 100)]);
        let more = file("r", &[("a/update", 10_000, 101)]);
        let v = check(&base, &more, 2.0).expect("same rustc");
        assert_eq!(failed(&v), ["a/update"]);
        assert!(table(&v).text().contains("allocations 100 -> 101"));
    }

    #[test]
    fn missing_benchmarks_fail_and_new_ones_pass() {
        let base = file("r", &[("a/get", 1, 0)]);
        let other = file("r", &[("b/get", 1, 0)]);
        let v = check(&base, &other, 2.0).expect("same rustc");
        assert_eq!(failed(&v), ["a/get"]);
        assert!(table(&v).text().contains("new (bless to record)"));
    }

    #[test]
    fn another_compiler_is_refused() {
        let err = check(&file("rustc 1", &[]), &file("rustc 2", &[]), 2.0).expect_err("refused");
        assert!(err.to_string().contains("re-bless"), "{err}");
    }
}
