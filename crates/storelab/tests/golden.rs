//! Golden files pin what the lab prints, byte for byte, on fixed result
//! files (`tests/fixtures/`, copies of a committed run): the run table, the
//! compare tables in every format, and every generated section of
//! DECISIONS.md and README.md. A change of output is a deliberate change:
//! rerun with `UPDATE_GOLDEN=1` and read the diff of `tests/golden/`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn here() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests")
}

fn storelab(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_storelab"))
        .args(args)
        .current_dir(here())
        .output()
        .expect("the storelab binary runs");
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// Compares `actual` with `golden/NAME`, or rewrites it under UPDATE_GOLDEN.
fn golden(name: &str, actual: &str) {
    let path = here().join("golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "{name} differs from its golden file at line {}:\n  golden: {:?}\n  actual: {:?}\n(rerun with UPDATE_GOLDEN=1 if the change is intended)",
            line + 1,
            expected.lines().nth(line),
            actual.lines().nth(line)
        );
    }
}

#[test]
fn run_tables() {
    for file in ["seed", "bulk", "seed-shards", "seed-visit", "http-closed"] {
        let shown = storelab(&["show", &format!("fixtures/{file}.json")]);
        golden(&format!("show-{file}.txt"), &shown);
    }
}

#[test]
fn go_benchmark_export() {
    let out = storelab(&["export", "fixtures/seed.json", "--format", "gobench"]);
    golden("export-seed.gobench", &out);
}

#[test]
fn compare_tables() {
    for format in ["text", "md", "csv"] {
        let out = storelab(&[
            "compare",
            "fixtures/seed.json",
            "--baseline",
            "memory",
            "--format",
            format,
        ]);
        golden(&format!("compare-baseline.{format}"), &out);
        let out = storelab(&[
            "compare",
            "fixtures/seed.json",
            "fixtures/seed-shards.json",
            "--common",
            "--format",
            format,
        ]);
        golden(&format!("compare-two.{format}"), &out);
    }
    let out = storelab(&[
        "compare",
        "fixtures/http-closed.json",
        "--baseline",
        "memory",
        "--metric",
        "ops-per-sec",
    ]);
    golden("compare-http.text", &out);
}

/// Regenerates a golden document from the fixtures, in a scratch copy.
fn regenerated(doc: &str) -> String {
    let dir = std::env::temp_dir().join(format!("storelab-golden-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let copy = dir.join(doc);
    let golden_doc = here().join("golden").join(doc);
    std::fs::copy(&golden_doc, &copy).expect("copy the golden document");
    storelab(&[
        "decisions",
        "--doc",
        copy.to_str().expect("utf-8 path"),
        "--results",
        "fixtures",
    ]);
    std::fs::read_to_string(Path::new(&copy)).expect("the regenerated document")
}

#[test]
fn decisions_sections() {
    let doc = regenerated("DECISIONS.md");
    golden("DECISIONS.md", &doc);
    let readme = regenerated("README.md");
    golden("README.md", &readme);
}
