//! The machine record written into every result file: a figure without the
//! machine it came from is not a figure.

use std::process::Command;

use serde::{Deserialize, Serialize};

/// Where and how a result was obtained.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    pub cpu_model: String,
    /// Logical CPUs the process may use.
    pub cores: usize,
    pub os: String,
    pub kernel: String,
    pub rustc: String,
    pub git_commit: String,
    /// Whether the working tree had uncommitted source changes (outside
    /// `results/`).
    pub git_dirty: bool,
    /// UTC, RFC 3339.
    pub date: String,
    /// The exact command line.
    pub command: String,
}

impl Machine {
    /// Reads the record of this machine and process.
    pub fn current() -> Machine {
        Machine {
            cpu_model: cpu_model(),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            os: os_name(),
            kernel: run("uname", &["-r"]).unwrap_or_else(|| std::env::consts::OS.to_owned()),
            rustc: option_env!("STORELAB_RUSTC")
                .map(str::to_owned)
                .or_else(|| run("rustc", &["--version"]))
                .unwrap_or_else(|| "unknown".into()),
            git_commit: run("git", &["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into()),
            // Source changes only: result files rewritten by a series of
            // runs do not make the code that measured them dirty.
            git_dirty: run(
                "git",
                &[
                    "status",
                    "--porcelain",
                    "--untracked-files=no",
                    "--",
                    ".",
                    ":(exclude)results",
                ],
            )
            .is_some_and(|s| !s.is_empty()),
            date: run("date", &["-u", "+%Y-%m-%dT%H:%M:%SZ"]).unwrap_or_else(|| "unknown".into()),
            command: std::env::args().collect::<Vec<_>>().join(" "),
        }
    }

    /// One line for table headers.
    pub fn summary(&self) -> String {
        format!(
            "{} · {} cores · {} · {} · commit {}{}",
            self.cpu_model,
            self.cores,
            self.os,
            self.rustc,
            &self.git_commit[..self.git_commit.len().min(10)],
            if self.git_dirty { " (dirty)" } else { "" }
        )
    }
}

fn run(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_owned())
}

fn os_name() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_owned())
        })
        .unwrap_or_else(|| std::env::consts::OS.to_owned())
}
