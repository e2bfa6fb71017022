//! The soak file, `results/soak.json`, that `scripts/soak` writes: a store
//! served under a steady open-loop load for some one-minute windows, and
//! after each minute the server's resident memory and the minute's latency
//! percentiles. Versioned by [`SOAK_SCHEMA`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The schema identifier of soak files.
pub const SOAK_SCHEMA: &str = "storelab-soak/1";

/// One `scripts/soak` run over some stores.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SoakFile {
    pub schema: String,
    /// The open-loop rate, requests per second.
    pub rate: f64,
    /// One-minute windows per store.
    pub minutes: usize,
    /// Tasks created before the load starts.
    pub prefill: u64,
    /// The load client's connections.
    pub connections: usize,
    /// The command line that made the file.
    pub command: String,
    pub machine: SoakMachine,
    /// Each store's minutes, in order; stores by name.
    pub stores: BTreeMap<String, Vec<SoakMinute>>,
}

/// Where a soak ran, as the script records it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SoakMachine {
    /// The processor, as Python's `platform` names it (often only the
    /// architecture).
    pub cpu: String,
    pub cores: usize,
    /// The short commit the binary was built from.
    pub commit: String,
    /// When the file was written, RFC 3339.
    pub date: String,
}

/// One store's one-minute window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SoakMinute {
    /// 1, 2, ...
    pub minute: usize,
    /// The server's VmRSS after the minute, KiB.
    pub rss_kib: u64,
    /// Requests sent in the minute.
    pub requests: u64,
    /// 404 answers.
    pub not_found: u64,
    /// 5xx and transport errors; `None` where the load client of that run
    /// did not record them.
    pub errors: Option<u64>,
    pub read_p50_ns: u64,
    /// Read p99, from each request's intended send time, ns.
    pub read_p99_ns: u64,
    pub read_p999_ns: u64,
    /// `None` where the minute had no updates.
    pub update_p99_ns: Option<u64>,
}

impl SoakMinute {
    /// The server's resident memory, MiB.
    pub fn rss_mib(&self) -> f64 {
        self.rss_kib as f64 / 1024.0
    }

    /// The read p99, µs.
    pub fn read_p99_us(&self) -> f64 {
        self.read_p99_ns as f64 / 1000.0
    }
}

/// Why a soak file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SoakError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("not JSON: {0}")]
    NotJson(serde_json::Error),
    #[error("schema '{found}'; this storelab reads '{SOAK_SCHEMA}'")]
    Schema { found: String },
    #[error("not a soak file (no schema field)")]
    NoSchema,
    #[error("does not match schema {SOAK_SCHEMA}: {0}")]
    Mismatch(serde_json::Error),
    /// One of the above, in the file at `path`.
    #[error("{}: {source}", path.display())]
    In {
        path: PathBuf,
        source: Box<SoakError>,
    },
}

impl SoakFile {
    /// Reads and checks a soak file.
    pub fn read(path: &Path) -> Result<SoakFile, SoakError> {
        let text = std::fs::read_to_string(path).map_err(|source| SoakError::Read {
            path: path.to_owned(),
            source,
        })?;
        SoakFile::parse(&text).map_err(|e| SoakError::In {
            path: path.to_owned(),
            source: Box::new(e),
        })
    }

    /// Parses and checks the text of a soak file.
    pub fn parse(text: &str) -> Result<SoakFile, SoakError> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(SoakError::NotJson)?;
        match value.get("schema").and_then(|s| s.as_str()) {
            Some(SOAK_SCHEMA) => {}
            Some(other) => {
                return Err(SoakError::Schema {
                    found: other.to_owned(),
                });
            }
            None => return Err(SoakError::NoSchema),
        }
        serde_json::from_value(value).map_err(SoakError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"{"schema": "storelab-soak/1", "rate": 5000.0, "minutes": 2,
        "prefill": 100000, "connections": 8, "command": "scripts/soak rcu",
        "machine": {"cpu": "x86_64", "cores": 2, "commit": "abc", "date": "d"},
        "stores": {"rcu": [
          {"minute": 1, "rss_kib": 2048, "requests": 300000, "not_found": 0, "errors": null,
           "read_p50_ns": 1, "read_p99_ns": 250000, "read_p999_ns": 3, "update_p99_ns": null},
          {"minute": 2, "rss_kib": 3072, "requests": 300000, "not_found": 1, "errors": 4,
           "read_p50_ns": 1, "read_p99_ns": 1500, "read_p999_ns": 3, "update_p99_ns": 7}]}}"#;

    #[test]
    fn parses_with_nulls_and_converts_units() {
        let f = SoakFile::parse(TEXT).expect("parsed");
        let rcu = &f.stores["rcu"];
        assert_eq!(rcu.len(), 2);
        assert_eq!(rcu[0].errors, None);
        assert_eq!(rcu[1].errors, Some(4));
        assert_eq!(rcu[1].update_p99_ns, Some(7));
        assert_eq!(rcu[0].rss_mib(), 2.0);
        assert_eq!(rcu[1].rss_mib(), 3.0);
        assert_eq!(rcu[0].read_p99_us(), 250.0);
        assert_eq!(rcu[1].read_p99_us(), 1.5);
        assert_eq!(f.machine.cores, 2);
    }

    #[test]
    fn refuses_other_schemas_and_missing_fields() {
        let other = TEXT.replace("storelab-soak/1", "storelab-soak/2");
        let err = SoakFile::parse(&other).expect_err("refused").to_string();
        assert!(err.contains("storelab-soak/2"), "{err}");
        let err = SoakFile::parse(r#"{"rate": 1}"#)
            .expect_err("refused")
            .to_string();
        assert!(err.contains("no schema"), "{err}");
        let err = SoakFile::parse(&TEXT.replace("\"rss_kib\": 2048, ", ""))
            .expect_err("refused")
            .to_string();
        assert!(err.contains("rss_kib"), "{err}");
    }

    /// The committed soak file parses.
    #[test]
    fn committed_file_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../results/soak.json");
        if path.exists() {
            let f = SoakFile::read(&path).expect("parsed");
            assert!(f.stores.values().all(|m| m.len() == f.minutes));
        }
    }
}
