//! Exit codes, pinned for every subcommand that can produce them: 0 success,
//! 1 a finding (a significant regression, a gate regression, a stale
//! document), 2 usage, input or I/O errors. A failing command leaves no
//! output file behind.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

fn storelab(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_storelab"))
        .args(args)
        .output()
        .expect("the storelab binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    (out.status.code().expect("exited, not killed"), stderr)
}

fn exits(code: i32, args: &[&str]) -> String {
    let (got, stderr) = storelab(args);
    assert_eq!(got, code, "{args:?} should exit {code}; stderr: {stderr}");
    stderr
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("storelab-exit-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the workspace root, two folders up")
        .to_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// The committed seed run, and a copy in which one cell is `factor` times
/// slower in every repetition.
fn seed_and_slower(dir: &Path, factor: f64) -> (PathBuf, PathBuf) {
    let seed = repo().join("results/seed.json");
    let mut file: Value =
        serde_json::from_str(&std::fs::read_to_string(&seed).expect("results/seed.json"))
            .expect("seed.json is JSON");
    for sample in file["cells"][0]["samples"]
        .as_array_mut()
        .expect("cells have samples")
    {
        let ns = sample["ns_per_op"].as_f64().expect("ns_per_op") * factor;
        let ops = sample["ops_per_sec"].as_f64().expect("ops_per_sec") / factor;
        sample["ns_per_op"] = json!(ns);
        sample["ops_per_sec"] = json!(ops);
    }
    let slower = dir.join("slower.json");
    std::fs::write(&slower, file.to_string()).expect("write the slower copy");
    (seed, slower)
}

#[test]
fn compare_exits_0_on_no_regression_1_on_a_regression_2_on_bad_input() {
    let dir = temp_dir("compare");
    let (seed, slower) = seed_and_slower(&dir, 1.5);
    exits(
        0,
        &["compare", s(&seed), s(&seed), "--fail-on-regression", "5"],
    );
    let stderr = exits(
        1,
        &["compare", s(&seed), s(&slower), "--fail-on-regression", "5"],
    );
    assert!(
        stderr.contains("significant regression past 5%"),
        "{stderr}"
    );
    // A regression without --fail-on-regression is reported, not a failure.
    exits(0, &["compare", s(&seed), s(&slower)]);
    exits(2, &["compare", s(&seed), s(&dir.join("missing.json"))]);
    exits(
        2,
        &[
            "compare",
            s(&seed),
            s(&slower),
            "--fail-on-regression",
            "-1",
        ],
    );
    exits(2, &["compare", s(&seed), "--baseline", "no-such-store"]);
    exits(2, &["compare", "--bogus-flag"]);
}

/// A gungraun summary with the two counts the gate reads.
fn summary(dir: &Path, instructions: u64, blocks: u64) {
    let bench = dir.join("group/bench");
    std::fs::create_dir_all(&bench).expect("summary dir");
    let metric = |v: u64| json!({ "values": { "new": v } });
    let v = json!({
        "group": "group",
        "function_name": "bench",
        "profiles": [
            { "tool": "Callgrind", "data": { "total": { "metrics": { "Ir": metric(instructions) } } } },
            { "tool": "DHAT", "data": { "total": { "metrics": {
                "TotalBlocks": metric(blocks), "TotalBytes": metric(blocks * 64) } } } }
        ]
    });
    std::fs::write(bench.join("summary.json"), v.to_string()).expect("write summary");
}

#[test]
fn gate_exits_0_within_tolerance_1_on_a_regression_2_on_bad_input() {
    let dir = temp_dir("gate");
    let summaries = dir.join("summaries");
    let baseline = dir.join("baseline.json");
    summary(&summaries, 1_000_000, 10);
    let gate = |extra: &[&str]| -> Vec<String> {
        [
            "gate",
            "--summaries",
            s(&summaries),
            "--baseline",
            s(&baseline),
        ]
        .iter()
        .chain(extra)
        .map(|a| a.to_string())
        .collect()
    };
    let run = |code: i32, v: Vec<String>| {
        let v: Vec<&str> = v.iter().map(String::as_str).collect();
        exits(code, &v)
    };
    run(0, gate(&["--bless"]));
    run(0, gate(&[]));
    summary(&summaries, 1_010_000, 10);
    run(0, gate(&[]));
    summary(&summaries, 1_050_000, 10);
    let stderr = run(1, gate(&[]));
    assert!(stderr.contains("regressed"), "{stderr}");
    summary(&summaries, 1_000_000, 11);
    run(1, gate(&[]));
    run(2, gate(&["--tolerance", "-3"]));
    let missing = dir.join("no-baseline.json");
    exits(
        2,
        &[
            "gate",
            "--summaries",
            s(&summaries),
            "--baseline",
            s(&missing),
        ],
    );
    exits(
        2,
        &[
            "gate",
            "--summaries",
            s(&dir.join("none")),
            "--baseline",
            s(&baseline),
        ],
    );
}

#[test]
fn decisions_check_exits_0_when_current_1_when_stale_2_on_bad_input() {
    let dir = temp_dir("decisions");
    let results = repo().join("results");
    let doc = dir.join("README.md");
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    std::fs::write(&doc, &readme).expect("copy README");
    let check = |doc: &Path| {
        vec![
            "decisions".to_owned(),
            "--doc".into(),
            s(doc).into(),
            "--results".into(),
            s(&results).into(),
            "--check".into(),
        ]
    };
    let run = |code: i32, v: Vec<String>| {
        let v: Vec<&str> = v.iter().map(String::as_str).collect();
        exits(code, &v)
    };
    run(0, check(&doc));
    // A generated figure edited by hand is a stale document.
    let start = readme.find("<!-- gen:").expect("a generated section");
    let line_end = start + readme[start..].find('\n').expect("a marker line");
    let mut stale = readme.clone();
    stale.insert_str(line_end + 1, "a figure typed by hand\n");
    std::fs::write(&doc, &stale).expect("write stale copy");
    let stderr = run(1, check(&doc));
    assert!(stderr.contains("is stale"), "{stderr}");
    run(2, check(&dir.join("missing.md")));
}

#[test]
fn bad_input_exits_2_for_every_subcommand_that_reads_it() {
    let dir = temp_dir("inputs");
    let missing = dir.join("missing.json");
    let out = dir.join("out.json");
    exits(2, &["run", "--stores", "no-such-store", "--out", s(&out)]);
    exits(2, &["report", s(&missing), "--out", s(&dir.join("r.md"))]);
    exits(2, &["merge", s(&missing), "--out", s(&out)]);
    exits(2, &["export", s(&missing)]);
    exits(2, &["export", s(&missing), "--format", "csv-of-doom"]);
    exits(
        2,
        &[
            "import-criterion",
            "--group",
            s(&dir),
            "--elements",
            "0",
            "--out",
            s(&out),
        ],
    );
    exits(2, &["serve", "--store", "unsync"]);
    // Limits are checked before anything is prefilled or bound.
    let e = exits(2, &["serve", "--max-header-bytes", "100"]);
    assert!(e.contains("at least 8192"), "{e}");
    let e = exits(2, &["serve", "--idle-timeout", "0s"]);
    assert!(e.contains("idle-timeout"), "{e}");
    let e = exits(2, &["serve", "--max-connections", "0"]);
    assert!(e.contains("at least 1"), "{e}");
    exits(
        2,
        &["load", "--url", "http://203.0.113.9:80", "--out", s(&out)],
    );
    exits(2, &["no-such-command"]);
    assert!(!out.exists(), "a failed command left {}", out.display());
}

#[test]
fn a_command_that_fails_after_its_checks_leaves_no_output_file() {
    let dir = temp_dir("no-file");
    // Nothing listens on port 1: the load fails after its arguments and its
    // output path were checked.
    let out = dir.join("sub/load.json");
    exits(
        2,
        &[
            "load",
            "--url",
            "http://127.0.0.1:1",
            "--duration",
            "1s",
            "--out",
            s(&out),
        ],
    );
    assert!(!out.exists(), "a failed load left {}", out.display());
    assert!(
        !dir.join("sub").exists(),
        "a failed load created its folder"
    );
    // An output path that cannot be written is refused before any work.
    let blocker = dir.join("file");
    std::fs::write(&blocker, "").expect("a plain file");
    let stderr = exits(
        2,
        &[
            "run",
            "--preset",
            "smoke",
            "--stores",
            "noop",
            "--threads",
            "1",
            "--quiet",
            "--out",
            s(&blocker.join("run.json")),
        ],
    );
    assert!(stderr.contains("cannot write"), "{stderr}");
}

#[test]
fn a_gate_across_two_machines_needs_normalizing() {
    let home = repo().join("results/seed.json");
    let xeon = repo().join("results/xeon-16c/seed.json");
    // Raw ratios between two machines compare the machines: as a gate that
    // is an error, not a finding.
    let stderr = exits(
        2,
        &[
            "compare",
            s(&home),
            s(&xeon),
            "--common",
            "--fail-on-regression",
            "5",
        ],
    );
    assert!(stderr.contains("--normalize others"), "{stderr}");
    // Shown (not gated), the table names both machines and a note says why
    // to normalize.
    let out = Command::new(env!("CARGO_BIN_EXE_storelab"))
        .args(["compare", s(&home), s(&xeon), "--common"])
        .output()
        .expect("the storelab binary runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        stdout.contains("(epyc-2c)") && stdout.contains("(xeon-16c)"),
        "{stdout}"
    );
    assert!(stderr.contains("two machines"), "{stderr}");
}
