//! The machine record says what built the binary, not what the folder it
//! runs in says: run from an empty folder outside the repository, and again
//! with an empty environment (no PATH, so no `git` and no `rustc` to ask),
//! the binary records the commit, the dirty flag, the compiler, the profile
//! and the target it was built with.

use std::path::{Path, PathBuf};
use std::process::Command;

use storelab_results::{Machine, RunFile};

/// A new empty folder under the system's temporary folder.
fn empty_dir(tag: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("storelab-provenance-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A tiny run in `dir` (its working folder); the machine record it wrote.
fn machine_of_a_run_in(dir: &Path, empty_env: bool) -> Machine {
    let out = dir.join("r.json");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_storelab"));
    cmd.current_dir(dir)
        .args([
            "run",
            "--preset",
            "smoke",
            "--stores",
            "noop",
            "--threads",
            "1",
            "--keys",
            "1000",
            "--reps",
            "6",
            "--ops",
            "1000",
            "--quiet",
            "--out",
        ])
        .arg(&out);
    if empty_env {
        cmd.env_clear().env("PATH", "");
    }
    let run = cmd.output().expect("the storelab binary runs");
    assert!(
        run.status.success(),
        "storelab run failed in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&run.stderr)
    );
    RunFile::read(&out).expect("a run file").machine
}

/// What `program args` prints, run in `dir`, if it succeeds.
fn output(dir: &Path, program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

#[test]
fn the_build_is_recorded_wherever_the_binary_runs() {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let top = output(manifest_dir, "git", &["rev-parse", "--show-toplevel"]);
    let dir = empty_dir("plain");
    if let Some(top) = &top {
        assert!(
            !dir.starts_with(top),
            "{} should be outside the repository {top}",
            dir.display()
        );
    }
    let m = machine_of_a_run_in(&dir, false);

    // A checkout of this workspace tracks this crate's manifest; a source
    // tree unpacked inside some other repository does not, and must not
    // take that repository's commit.
    let tracked = output(
        manifest_dir,
        "git",
        &["ls-files", "--error-unmatch", "Cargo.toml"],
    )
    .is_some();
    let head = output(manifest_dir, "git", &["rev-parse", "HEAD"]);
    match (&top, head) {
        (Some(top), Some(head)) if tracked => {
            assert_eq!(m.git_commit, head, "the commit the binary was built from");
            let status = output(
                Path::new(top),
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
            .expect("git status");
            assert_eq!(
                m.git_dirty,
                !status.is_empty(),
                "the dirty flag of the build (a tracked file changed between the build and this test?): {status}"
            );
        }
        _ => {
            eprintln!(
                "skipped the commit check: {} is not in a git checkout of this workspace; recorded {}",
                manifest_dir.display(),
                m.git_commit
            );
            if !manifest_dir.join(".cargo_vcs_info.json").exists() {
                assert_eq!(m.git_commit, "unknown", "built outside a checkout");
            }
        }
    }
    match output(manifest_dir, "rustc", &["--version"]) {
        Some(rustc) => assert_eq!(m.rustc, rustc, "the compiler that built the binary"),
        None => eprintln!("skipped the compiler check: no rustc --version here"),
    }
    assert_ne!(m.rustc, "unknown");
    let target = m.target.clone().expect("the target is recorded");
    assert!(
        target.starts_with(std::env::consts::ARCH),
        "target {target} is not for {}",
        std::env::consts::ARCH
    );
    let profile = m.profile.clone().expect("the profile is recorded");
    assert!(
        ["debug", "release", "bench"].contains(&profile.as_str()),
        "profile {profile}"
    );
    assert_eq!(
        profile == "debug",
        cfg!(debug_assertions),
        "profile {profile}: this test and the binary are built alike"
    );
    assert!(
        m.name
            .as_deref()
            .is_some_and(|n| n.ends_with(&format!("-{}c", m.cores)))
    );
    assert!(m.summary().starts_with(&m.name()), "{}", m.summary());

    // No PATH, no HOME, nothing: the same record but for the date and the
    // command line, so nothing in it was asked of git or rustc at run time.
    let bare_dir = empty_dir("bare");
    let bare = machine_of_a_run_in(&bare_dir, true);
    assert_eq!(
        Machine {
            date: m.date.clone(),
            command: m.command.clone(),
            ..bare
        },
        m
    );

    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&bare_dir);
}
