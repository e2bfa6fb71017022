//! Go's benchmark format (golang.org/x/perf `benchfmt`, proposal 14313), so
//! stock benchstat reads storelab's results.
//!
//! - Configuration lines, `key: value`: a key begins with a lower-case
//!   letter and holds no space and no upper-case letter.
//! - One result line per repetition (benchstat treats lines of one name as
//!   samples): `Benchmark<Preset>/store=<name>-<threads>`, the operations of
//!   that repetition as the iteration count, then value-unit pairs: `ns/op`
//!   (the repetition's), `B/op` and `allocs/op` (the cell's allocation pass).
//!   The `-<threads>` suffix is Go's GOMAXPROCS suffix; benchstat reads the
//!   last `-N` of a name as it, so store names with dashes are safe.

use std::fmt::Write as _;

use storelab_results::RunFile;

/// The benchmark's name: `Benchmark` and the preset in CamelCase.
fn benchmark_name(file: &RunFile) -> String {
    let preset = file.preset.as_deref().unwrap_or("run");
    let camel: String = preset
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    format!("Benchmark{camel}")
}

/// A configuration value on one line.
fn value(v: &str) -> String {
    v.replace(['\n', '\r'], " ")
}

/// The run file in Go's benchmark format.
pub fn gobench(file: &RunFile) -> String {
    let mut out = String::new();
    let m = &file.machine;
    for (key, v) in [
        ("goos", "linux".to_owned()),
        ("pkg", "storelab".to_owned()),
        ("cpu", m.cpu_model.clone()),
        ("cores", m.cores.to_string()),
        ("rustc", m.rustc.clone()),
        ("commit", m.git_commit.clone()),
        ("keys", file.workload.keys.to_string()),
        ("mix", file.workload.mix.to_string()),
        ("read-mode", file.read_mode.to_string()),
        ("reps", file.reps.to_string()),
    ] {
        let _ = writeln!(out, "{key}: {}", value(&v));
    }
    out.push('\n');
    let name = benchmark_name(file);
    for cell in &file.cells {
        for s in &cell.samples {
            let _ = writeln!(
                out,
                "{name}/store={}-{}\t{}\t{} ns/op\t{} B/op\t{} allocs/op",
                cell.store,
                cell.threads,
                s.total_ops,
                s.ns_per_op,
                cell.bytes_per_op,
                cell.allocs_per_op
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use storelab_results::fixture::{cell, file};

    /// The benchfmt grammar, checked line by line: a configuration line,
    /// a blank line, or a result line.
    fn check_grammar(text: &str) -> usize {
        let mut results = 0;
        for line in text.lines() {
            if line.is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix("Benchmark") {
                let fields: Vec<&str> = line.split_whitespace().collect();
                assert!(
                    rest.chars().next().is_some_and(|c| !c.is_lowercase()),
                    "the name goes on with a non-lower-case letter: {line}"
                );
                let (name, procs) = fields[0].rsplit_once('-').expect("a -procs suffix");
                assert!(!name.is_empty() && procs.parse::<u32>().is_ok(), "{line}");
                assert!(fields[1].parse::<u64>().is_ok(), "iterations: {line}");
                let pairs = &fields[2..];
                assert!(
                    !pairs.is_empty() && pairs.len().is_multiple_of(2),
                    "value-unit pairs: {line}"
                );
                for pair in pairs.chunks(2) {
                    assert!(pair[0].parse::<f64>().is_ok(), "a value: {line}");
                    assert!(!pair[1].is_empty(), "a unit: {line}");
                }
                results += 1;
            } else {
                let (key, v) = line.split_once(": ").expect("key: value");
                assert!(
                    key.chars().next().is_some_and(|c| c.is_lowercase())
                        && !key.chars().any(|c| c.is_whitespace() || c.is_uppercase()),
                    "a configuration key: {line}"
                );
                assert!(!v.contains('\n'));
            }
        }
        results
    }

    #[test]
    fn every_line_follows_the_benchfmt_grammar() {
        let mut f = file(vec![
            cell("shard-pool", &[100.0, 101.0, 99.0]),
            cell("dense", &[50.0]),
        ]);
        f.preset = Some("read-heavy".into());
        let text = gobench(&f);
        assert_eq!(check_grammar(&text), 4, "one result line per repetition");
        assert!(
            text.contains("BenchmarkReadHeavy/store=shard-pool-1\t1\t100 ns/op"),
            "{text}"
        );
    }

    #[test]
    fn the_grammar_check_can_fail() {
        let bad = "BenchmarkX-1 many 3 ns/op\n";
        assert!(std::panic::catch_unwind(|| check_grammar(bad)).is_err());
        let bad_key = "Goos: linux\n";
        assert!(std::panic::catch_unwind(|| check_grammar(bad_key)).is_err());
    }
}
