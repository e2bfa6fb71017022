//! Bakes into `storelab` how it is being built, so a result file records
//! what measured it rather than whatever `git` and `rustc` say in the
//! folder it happens to run in:
//!
//! - the compiler (`rustc -V`), the target triple and the profile, from the
//!   `built` crate (`$OUT_DIR/built.rs`, included by `src/lib.rs`);
//! - the commit and the dirty flag of the git checkout this crate is built
//!   from, as `STORELAB_GIT_COMMIT` and `STORELAB_GIT_DIRTY`. Dirty means
//!   uncommitted changes to tracked files outside `results/` (result files
//!   rewritten by a series of runs do not make the code that measured them
//!   dirty). Outside a git checkout of this workspace (a source tarball, or
//!   a tarball unpacked inside some other repository) the commit is
//!   `unknown`, or the one `cargo package` recorded in
//!   `.cargo_vcs_info.json`, and the build does not fail.
//!
//! It reruns when git's HEAD, the branch it points to or the index change,
//! or any tracked top-level entry of the checkout but `results/` does
//! (cargo scans a directory recursively), so the flag follows the sources.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    built::write_built_file().expect("storelab build script: cannot write $OUT_DIR/built.rs");

    let manifest_dir = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    );
    let (commit, dirty) = match checkout(&manifest_dir) {
        Some(top) => {
            watch_checkout(&top);
            let commit = git(&top, &["rev-parse", "HEAD"]).filter(|c| is_hash(c));
            let dirty = git(
                &top,
                &[
                    "status",
                    "--porcelain",
                    "--untracked-files=no",
                    "--",
                    ".",
                    ":(exclude)results",
                ],
            )
            .map(|status| !status.is_empty());
            if commit.is_none() || dirty.is_none() {
                println!(
                    "cargo:warning=storelab: git could not tell the commit or the state of {}; result files will record what it could",
                    top.display()
                );
            }
            (commit, dirty.unwrap_or(false))
        }
        None => {
            let vcs_info = manifest_dir.join(".cargo_vcs_info.json");
            if vcs_info.exists() {
                println!("cargo:rerun-if-changed={}", vcs_info.display());
            }
            match std::fs::read_to_string(&vcs_info)
                .ok()
                .and_then(|text| cargo_vcs_info(&text))
            {
                Some((commit, dirty)) => (Some(commit), dirty),
                None => {
                    println!(
                        "cargo:warning=storelab: not built from a git checkout of its workspace; result files will record commit unknown"
                    );
                    (None, false)
                }
            }
        }
    };
    println!(
        "cargo:rustc-env=STORELAB_GIT_COMMIT={}",
        commit.as_deref().unwrap_or("unknown")
    );
    println!("cargo:rustc-env=STORELAB_GIT_DIRTY={dirty}");
}

/// Runs git in `dir` with the caller's repository overrides removed and
/// without optional locks (so `git status` does not rewrite the index this
/// script watches); its trimmed output, if it succeeded.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_OPTIONAL_LOCKS", "0")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_COMMON_DIR")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The top of the git checkout this crate is built from: one that tracks
/// this crate's `Cargo.toml`, so a tarball unpacked inside an unrelated
/// repository does not take that repository's commit.
fn checkout(manifest_dir: &Path) -> Option<PathBuf> {
    git(manifest_dir, &["ls-files", "--error-unmatch", "Cargo.toml"])?;
    git(manifest_dir, &["rev-parse", "--show-toplevel"])
        .filter(|top| !top.is_empty())
        .map(PathBuf::from)
}

/// Reruns this script when the commit, the index or a tracked source
/// changes: git's HEAD, index, packed refs and the branch HEAD points to,
/// and every tracked top-level entry but `results/`.
fn watch_checkout(top: &Path) {
    let mut paths: Vec<PathBuf> = Vec::new();
    let git_path = |name: &str| git(top, &["rev-parse", "--git-path", name]).map(|p| top.join(p));
    for name in ["HEAD", "index", "packed-refs"] {
        paths.extend(git_path(name));
    }
    if let Some(branch) = git(top, &["symbolic-ref", "-q", "HEAD"])
        && let Some(loose) = git_path(&branch)
    {
        // A packed branch has no loose file yet: watch where it will be.
        if loose.exists() {
            paths.push(loose);
        } else {
            paths.extend(loose.parent().map(Path::to_path_buf));
        }
    }
    let tracked = git(top, &["ls-tree", "--name-only", "HEAD"]).unwrap_or_default();
    let mut entries: Vec<&str> = tracked.lines().collect();
    if entries.is_empty() {
        // No commit yet: the workspace's own layout.
        entries = vec![
            "crates",
            "bench-harness",
            "examples",
            "Cargo.toml",
            "Cargo.lock",
        ];
    }
    paths.extend(
        entries
            .into_iter()
            .filter(|e| !matches!(*e, "results" | "target" | ".git"))
            .map(|e| top.join(e)),
    );
    for path in paths {
        // A watched path that does not exist would rerun the script on
        // every build.
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}

/// A full commit id (SHA-1 or SHA-256).
fn is_hash(s: &str) -> bool {
    matches!(s.len(), 40 | 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The commit and dirty flag `cargo package` wrote into
/// `.cargo_vcs_info.json` (`{"git": {"sha1": "...", "dirty": true}, ...}`).
fn cargo_vcs_info(text: &str) -> Option<(String, bool)> {
    let after_key = &text[text.find("\"sha1\"")? + "\"sha1\"".len()..];
    let start = after_key.find('"')? + 1;
    let len = after_key[start..].find('"')?;
    let commit = &after_key[start..start + len];
    let dirty = text.split_once("\"dirty\"").is_some_and(|(_, rest)| {
        rest.trim_start()
            .trim_start_matches(':')
            .trim_start()
            .starts_with("true")
    });
    is_hash(commit).then(|| (commit.to_owned(), dirty))
}
