//! Plain-text tables for the terminal, and the number formatting every
//! output shares.

use storelab_results::{Family, Metric, RunFile};
use storelab_stats::summarize;

/// A table of aligned columns; the first column is left-aligned, the rest
/// right-aligned.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Aligned text.
    pub fn text(&self) -> String {
        let cols = self.header.len();
        let width: Vec<usize> = (0..cols)
            .map(|c| {
                std::iter::once(&self.header)
                    .chain(&self.rows)
                    .map(|r| r.get(c).map_or(0, |s| s.chars().count()))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |r: &Vec<String>| {
            let cells: Vec<String> = (0..cols)
                .map(|c| {
                    let s = r.get(c).map_or("", String::as_str);
                    if c == 0 {
                        format!("{s:<w$}", w = width[c])
                    } else {
                        format!("{s:>w$}", w = width[c])
                    }
                })
                .collect();
            cells.join("  ").trim_end().to_owned()
        };
        let mut out = line(&self.header) + "\n";
        for r in &self.rows {
            out += &line(r);
            out.push('\n');
        }
        out
    }

    /// A GitHub-flavoured Markdown table.
    pub fn markdown(&self) -> String {
        let mut out = format!("| {} |\n", self.header.join(" | "));
        out += &format!(
            "|{}\n",
            (0..self.header.len())
                .map(|c| if c == 0 { "---|" } else { "---:|" })
                .collect::<String>()
        );
        for r in &self.rows {
            out += &format!("| {} |\n", r.join(" | "));
        }
        out
    }

    /// Comma-separated values (cells are numbers and names; none has a comma).
    pub fn csv(&self) -> String {
        let mut out = self.header.join(",") + "\n";
        for r in &self.rows {
            out += &r.join(",");
            out.push('\n');
        }
        out
    }
}

/// A number with three significant digits and a unit suffix where it helps:
/// 1.23k, 45.6M.
pub fn human(x: f64) -> String {
    let a = x.abs();
    let (v, suffix) = if a >= 1e9 {
        (x / 1e9, "G")
    } else if a >= 1e6 {
        (x / 1e6, "M")
    } else if a >= 1e4 {
        (x / 1e3, "k")
    } else {
        (x, "")
    };
    let digits = if v.abs() >= 100.0 {
        0
    } else if v.abs() >= 10.0 {
        1
    } else {
        2
    };
    format!("{v:.digits$}{suffix}")
}

/// Nanoseconds as a readable duration: 850ns, 12.3µs, 4.56ms.
pub fn duration_ns(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2}s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2}ms", ns / 1e6)
    } else if ns >= 1e4 {
        format!("{:.1}µs", ns / 1e3)
    } else {
        format!("{ns:.0}ns")
    }
}

/// The header lines that say what was run, where.
pub fn run_header(file: &RunFile) -> String {
    let w = &file.workload;
    let dist = match (file.zipf_s, &w.dist) {
        (Some(s), workload::KeyDist::Latest { .. }) => {
            format!("latest (zipf s={s:.3} over recency)")
        }
        (Some(s), _) => format!("zipf s={s:.3}"),
        (None, d) => d.to_string(),
    };
    let per_rep = match file.rep_seconds {
        Some(s) => format!("{s} s per rep"),
        None => "fixed ops per rep".into(),
    };
    let placement = match (&w.dist, w.hot_keys) {
        (workload::KeyDist::Latest { .. }, _) | (_, workload::HotKeys::Newest) => "newest",
        (_, workload::HotKeys::Scrambled) => "scrambled",
        (_, workload::HotKeys::LowIds) => "low-id",
    };
    let keys = if w.keys == 0 {
        "starts empty".to_owned()
    } else {
        let capacity = match w.capacity {
            Some(c) if c != w.keys => format!(" of capacity {}", human(f64::from(c))),
            _ => String::new(),
        };
        let space = if w.mix.live() { "live, " } else { "" };
        format!(
            "{} keys{capacity} · {space}{dist}, {placement} hot keys, hottest 20% took {:.1}%",
            human(f64::from(w.keys)),
            file.hot20_share * 100.0
        )
    };
    format!(
        "storelab run{} · {keys} · {} · reads: {} · {} reps, {per_rep}, {} order\n\
         machine: {}\n",
        file.preset
            .as_deref()
            .map(|p| format!(" --preset {p}"))
            .unwrap_or_default(),
        w.mix,
        match file.read_mode {
            workload::ReadMode::Clone => "clone the Arc",
            workload::ReadMode::Visit => "visit in place",
        },
        file.reps,
        file.order,
        file.machine.summary(),
    )
}

/// The main result table of a run: one row per (store, threads).
pub fn run_table(file: &RunFile) -> Table {
    let mut t = Table::new(&[
        "store",
        "thr",
        "ns/op",
        "±CI",
        "Mops/s",
        "vs best",
        "fair",
        "B/op",
        "allocs/op",
        "read p50",
        "read p99",
        "read p99.9",
        "write p99",
        "heap B/task",
        "imbalance",
    ]);
    let limits = file.limits();
    let threads = file.thread_counts();
    for th in threads {
        let best = file
            .cells
            .iter()
            .filter(|c| c.threads == th && !c.too_short && !limits.contains(&c.store.as_str()))
            .map(|c| summarize(&Metric::NsPerOp.values(c), 0.95).median)
            .fold(f64::INFINITY, f64::min);
        for cell in file.cells.iter().filter(|c| c.threads == th) {
            let ns = summarize(&Metric::NsPerOp.values(cell), 0.95);
            let ops = summarize(&Metric::OpsPerSec.values(cell), 0.95);
            let lat = |op: &str, f: fn(&storelab_results::Latency) -> u64| {
                cell.latency
                    .iter()
                    .find(|l| l.op == op)
                    .map_or("-".into(), |l| duration_ns(f(l) as f64))
            };
            let info = file.store(&cell.store);
            t.row(vec![
                cell.store.clone(),
                th.to_string(),
                human(ns.median),
                ns.ci_half_width_pct()
                    .map_or("n/a".into(), |p| format!("±{p:.0}%")),
                format!("{:.2}", ops.median / 1e6),
                if cell.too_short {
                    "too short".into()
                } else if limits.contains(&cell.store.as_str()) || !best.is_finite() {
                    "-".into()
                } else {
                    format!("{:.2}x", ns.median / best)
                },
                match cell.fairness() {
                    None => "-".into(),
                    Some(f) if cell.unfair() => format!("{f:.2} unfair"),
                    Some(f) => format!("{f:.2}"),
                },
                human(cell.bytes_per_op),
                format!("{:.2}", cell.allocs_per_op),
                lat("read", |l| l.p50),
                lat("read", |l| l.p99),
                lat("read", |l| l.p999),
                lat(write_kind(file), |l| l.p99),
                info.and_then(|i| i.heap_bytes_per_task)
                    .map_or("-".into(), |b| format!("{b:.0}")),
                info.and_then(|i| i.shard_imbalance.as_ref())
                    .map_or("-".into(), |i| {
                        format!("{:.2} /{}", i.max_over_mean, i.shards)
                    }),
            ]);
        }
    }
    t
}

/// The write whose p99 the table shows: update if the mix has them, else
/// read-modify-write, else create.
fn write_kind(file: &RunFile) -> &'static str {
    let mix = &file.workload.mix;
    if mix.update > 0 {
        "update"
    } else if mix.rmw > 0 {
        "rmw"
    } else {
        "create"
    }
}

/// The notes printed under a run table.
pub fn run_notes(file: &RunFile) -> String {
    let mut notes = String::new();
    notes += "ns/op: median over repetitions of wall time / total ops (Go's RunParallel). ±CI: 95% CI half-width.\n";
    notes += "vs best: median ns/op over the fastest non-limit store at that thread count.\n";
    notes += &format!(
        "fair: slowest thread's throughput over the median of the others' (median over repetitions); below {:.1} a cell is unfair.\n",
        storelab_results::UNFAIR_BELOW
    );
    notes += &format!(
        "latency: one op in {} timed, in one untimed pass per cell (not replicated: shapes, not comparisons); each includes ~{:.0} ns of clock reads. write = {}.\n",
        file.cells.first().map_or(8, |c| c.latency_every),
        file.timer_cost_ns,
        write_kind(file)
    );
    for s in &file.stores {
        if let Some(w) = &s.walk_ns {
            notes += &format!(
                "get_all floor ({}): walking every map entry, cloning nothing, takes {}.\n",
                s.name,
                duration_ns(storelab_stats::median(w))
            );
        }
    }
    let missed: Vec<String> = file
        .cells
        .iter()
        .filter(|c| {
            c.misses > 0
                && file
                    .store(&c.store)
                    .is_some_and(|s| s.family != Family::Limit)
        })
        .map(|c| {
            let ops: u64 = c.samples.iter().map(|s| s.total_ops).sum();
            format!(
                "{} x{}: {} ({:.1} per million ops)",
                c.store,
                c.threads,
                c.misses,
                c.misses as f64 * 1e6 / ops.max(1) as f64
            )
        })
        .collect();
    if !missed.is_empty() {
        let why = if file.workload.mix.live() {
            "live key space: keyed ops that raced a create or a delete"
        } else {
            "the mix deletes"
        };
        notes += &format!("misses ({why}): {}\n", missed.join(", "));
    }
    let short = file.too_short_cells();
    if !short.is_empty() {
        notes += &format!(
            "too short (a repetition held too few of the mix's rarest operation per thread; not ranked): {}\n",
            short.join(", ")
        );
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humans() {
        assert_eq!(human(1.234), "1.23");
        assert_eq!(human(56.78), "56.8");
        assert_eq!(human(123.4), "123");
        assert_eq!(human(12_345.0), "12.3k");
        assert_eq!(human(9_160_000.0), "9.16M");
        assert_eq!(duration_ns(850.0), "850ns");
        assert_eq!(duration_ns(12_345.0), "12.3µs");
        assert_eq!(duration_ns(4_560_000.0), "4.56ms");
    }

    #[test]
    fn tables_align_and_render_markdown() {
        let mut t = Table::new(&["a", "b"]);
        t.row(vec!["long name".into(), "1".into()]);
        assert_eq!(t.text(), "a          b\nlong name  1\n");
        assert_eq!(t.markdown(), "| a | b |\n|---|---:|\n| long name | 1 |\n");
        assert_eq!(t.csv(), "a,b\nlong name,1\n");
    }
}
