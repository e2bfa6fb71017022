//! The `storelab` binary end to end: bad input fails clearly, and the smoke
//! preset runs over every store.

use std::path::PathBuf;
use std::process::{Command, Output};

fn storelab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_storelab"))
        .args(args)
        .output()
        .expect("the storelab binary runs")
}

fn temp_out(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("storelab-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

/// Fails with exit code 2 and a message containing `needle`, without a panic.
fn refuses(args: &[&str], needle: &str) {
    let out = storelab(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{args:?} should fail with 2; stderr: {stderr}"
    );
    assert!(
        stderr.contains(needle),
        "{args:?}: expected '{needle}' in: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
}

#[test]
fn bad_input_is_refused_with_a_clear_message() {
    let out = temp_out("never.json");
    let out = out.to_str().expect("utf-8 temp path");
    let quick = ["run", "--preset", "smoke", "--quiet", "--out", out];
    let with = |extra: &[&'static str]| -> Vec<String> {
        quick
            .iter()
            .map(|s| s.to_string())
            .chain(extra.iter().map(|s| s.to_string()))
            .collect()
    };
    let cases: Vec<(Vec<String>, &str)> = vec![
        (with(&["--stores", "memory,btree"]), "unknown store 'btree'"),
        (with(&["--mix", "read=80,update=30"]), "sums to 110"),
        (
            with(&["--mix", "read=80,scan=20"]),
            "unknown operation 'scan'",
        ),
        (with(&["--threads", "0"]), "zero threads"),
        (with(&["--threads", "two"]), "not a thread count"),
        (with(&["--dist", "zipf:abc"]), "not a number"),
        (
            with(&["--dist", "hotspot:2:0.5"]),
            "strictly between 0 and 1",
        ),
        (with(&["--dist", "pareto"]), "unknown distribution"),
        (with(&["--duration", "soon"]), "not a duration"),
        (with(&["--keys", "0"]), "--keys 0 (no prefilled tasks)"),
        (
            vec![
                "run",
                "--preset",
                "growth",
                "--duration",
                "1s",
                "--out",
                out,
            ]
            .into_iter()
            .map(String::from)
            .collect(),
            "use --ops, not --duration",
        ),
        (with(&["--dist", "latest:-1"]), "Zipf exponent"),
        (with(&["--reps", "0"]), "--reps must be at least 1"),
        (
            with(&["--stores", "unsync", "--threads", "2"]),
            "one thread only",
        ),
    ];
    for (args, needle) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        refuses(&args, needle);
    }
    refuses(
        &[
            "run",
            "--preset",
            "smoke",
            "--quiet",
            "--out",
            "/proc/storelab/forbidden.json",
        ],
        "cannot",
    );
    refuses(&["run", "--preset", "nonsense"], "invalid value 'nonsense'");
    refuses(&["frobnicate"], "unrecognized subcommand");
    refuses(
        &[
            "load",
            "--url",
            "http://192.168.0.1:8080",
            "--duration",
            "1s",
        ],
        "not a loopback address",
    );
    refuses(
        &[
            "load",
            "--url",
            "http://127.0.0.1:1",
            "--sweep",
            "--sweep-factor",
            "1",
        ],
        "--sweep-factor must be from 1.01 to 10",
    );
    refuses(
        &[
            "load",
            "--url",
            "http://127.0.0.1:1",
            "--sweep",
            "--target-p99",
            "soon",
        ],
        "not a duration",
    );
    refuses(
        &["load", "--url", "http://127.0.0.1:1", "--connections", "0"],
        "--connections must be 1 to",
    );
    refuses(
        &["load", "--url", "http://127.0.0.1:1", "--rate=-5"],
        "--rate must be above 0",
    );
    refuses(
        &["load", "--url", "http://127.0.0.1:1", "--duration", "1s"],
        "cannot connect",
    );
    refuses(&["serve", "--store", "unsync"], "cannot serve HTTP");
    refuses(&["serve", "--store", "btree"], "unknown store 'btree'");
    refuses(
        &["compare", "/nonexistent/a.json", "/nonexistent/b.json"],
        "cannot read /nonexistent/a.json",
    );
}

#[test]
fn list_names_every_store() {
    let out = storelab(&["list"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for name in [
        "memory",
        "shard",
        "shardunit",
        "shard-pool",
        "channel",
        "dashmap",
        "papaya",
        "scc",
        "unsync",
        "noop",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(name)),
            "list lacks {name}:\n{text}"
        );
    }
}

#[test]
fn smoke_preset_runs_every_store_end_to_end() {
    let out = temp_out("smoke.json");
    let run = storelab(&[
        "run",
        "--preset",
        "smoke",
        "--quiet",
        "--keys",
        "2000",
        "--duration",
        "5ms",
        "--threads",
        "1,2",
        "--stores",
        // One store on Redis end to end (its started server included); the
        // other two run the conformance suite from their catalog lines.
        "all,knobs,redis",
        "--out",
        out.to_str().expect("utf-8 temp path"),
    ]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "smoke run failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let file = storelab_results::RunFile::read(&out).expect("a valid run file");
    assert_eq!(file.schema, storelab_results::SCHEMA);
    for store in store_catalog::catalog() {
        let entry = &store.entry;
        if entry.family == bench_harness::Family::Remote && entry.name != "redis" {
            continue;
        }
        let threads: &[usize] = if entry.single_thread { &[1] } else { &[1, 2] };
        for &t in threads {
            let cell = file
                .cell(entry.name, t)
                .unwrap_or_else(|| panic!("no result for {} x{t}", entry.name));
            assert_eq!(
                cell.samples.len(),
                6,
                "{} x{t}: one sample per rep",
                entry.name
            );
            assert!(
                cell.samples
                    .iter()
                    .all(|s| s.ns_per_op > 0.0 && s.total_ops > 0)
            );
            assert!(
                !cell.latency.is_empty(),
                "{} x{t}: latency recorded",
                entry.name
            );
        }
        assert!(stdout.contains(entry.name), "table lacks {}", entry.name);
        if !entry.stores_nothing {
            // Updates allocate a new version of the task: never zero.
            let cell = file.cell(entry.name, 1).expect("checked above");
            assert!(
                cell.allocs_per_op > 0.0,
                "{}: allocations not counted",
                entry.name
            );
            if entry.family == bench_harness::Family::Remote {
                // Its tasks live in redis-server's memory, not this heap
                // (measured apart: `redis-memory`, DECISIONS.md).
                continue;
            }
            let heap = file.store(entry.name).and_then(|s| s.heap_bytes_per_task);
            assert!(
                heap.is_some_and(|b| b > 64.0),
                "{}: heap per task {heap:?}",
                entry.name
            );
            // The smoke mix creates and deletes: the memory phase ran.
            let memory = file
                .store(entry.name)
                .and_then(|s| s.memory.clone())
                .unwrap_or_else(|| panic!("{}: no memory phase", entry.name));
            assert!(
                memory.after_prefill > 64.0
                    && memory.after_churn > 64.0
                    && memory.peak >= memory.after_churn
                    && memory.held_after.len() == 3
                    && memory.churned == memory.tasks,
                "{}: {memory:?}",
                entry.name
            );
        }
    }
    assert!(
        file.cell("unsync", 2).is_none(),
        "unsync must not run on 2 threads"
    );
    assert!(file.machine.cores >= 1 && !file.machine.cpu_model.is_empty());
    assert!(out.with_extension("csv").exists(), "a CSV beside the JSON");
}

/// The stores on Redis stay out of `--stores all` with one line saying so,
/// and where no `redis-server` can be found they are listed as unavailable,
/// refused by name (exit 2), and the default run still succeeds.
#[test]
fn remote_stores_are_skipped_by_default_and_refused_without_redis() {
    let no_redis = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_storelab"))
            .args(args)
            .env("PATH", "/nonexistent")
            .output()
            .expect("the storelab binary runs")
    };
    let list = no_redis(&["list"]);
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(list.status.success());
    assert!(
        listed.contains("unavailable here: redis: 'redis-server' is not on PATH")
            && listed.contains("unavailable here: redis-cluster:"),
        "{listed}"
    );
    let out = temp_out("no-redis.json");
    let out = out.to_str().expect("utf-8 temp path");
    let named = no_redis(&[
        "run", "--preset", "smoke", "--stores", "redis", "--out", out,
    ]);
    assert_eq!(named.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&named.stderr)
            .contains("store 'redis' cannot be built here: 'redis-server' is not on PATH"),
        "{}",
        String::from_utf8_lossy(&named.stderr)
    );
    let quick = [
        "run",
        "--preset",
        "smoke",
        "--quiet",
        "--keys",
        "500",
        "--duration",
        "2ms",
        "--threads",
        "1",
        "--reps",
        "1",
        "--out",
        out,
    ];
    let default = no_redis(&quick);
    let said = String::from_utf8_lossy(&default.stderr);
    assert!(default.status.success(), "{said}");
    assert!(
        said.contains("storelab: skipped redis, redis-cluster: stores outside the process run only when named (--stores remote); unavailable here: 'redis-server' is not on PATH"),
        "{said}"
    );
}
