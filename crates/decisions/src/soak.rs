//! The soak run (`scripts/soak`): memory and read p99 minute by minute under
//! a steady open-loop load, and whether either grew.

use std::fmt::Write as _;

use storelab_stats::median;

use crate::DecisionsError;
use crate::{Results, read_json};

/// Whether a soak series grew: the median of its last third against the
/// median of its first third, minute 1 (warm-up) left out. A single spike
/// moves neither median. `tolerance` is the ratio allowed (1.10: 10%).
pub fn soak_grew(series: &[f64], tolerance: f64) -> Option<bool> {
    let steady = series.get(1..)?;
    let third = steady.len() / 3;
    if third == 0 {
        return None;
    }
    let first = median(&steady[..third]);
    let last = median(&steady[steady.len() - third..]);
    Some(last > first * tolerance)
}

/// The soak run (scripts/soak): RSS and read p99 per minute per store, and
/// whether either grew.
pub(crate) fn section_soak(r: &mut Results) -> Result<String, DecisionsError> {
    let soak: serde_json::Value = read_json(&r.dir.join("soak.json"))?;
    let rate = soak["rate"].as_f64().unwrap_or(f64::NAN);
    let minutes = soak["minutes"].as_u64().unwrap_or(0);
    let mut s = format!(
        "Open loop at {rate:.0} req/s (80% reads, 20% updates, Zipf), 8 connections, 100,000 tasks \
         prefilled, {minutes} one-minute windows per store; latency from each request's intended \
         send time.\n\n\
         | store | RSS minute 1 | RSS last minute | memory grew? | read p99 minute 1 | read p99 last minute | p99 grew? | requests | 5xx and transport errors |\n\
         |---|---:|---:|---|---:|---:|---|---:|---:|\n"
    );
    let stores = soak["stores"]
        .as_object()
        .ok_or_else(|| DecisionsError::Missing {
            file: "soak.json".into(),
            what: "stores".into(),
        })?;
    for (name, rows) in stores {
        let rows = rows.as_array().ok_or(DecisionsError::Malformed {
            file: "soak.json",
            what: "a store's minutes are not a list",
        })?;
        let col = |k: &str| -> Vec<f64> { rows.iter().filter_map(|r| r[k].as_f64()).collect() };
        let (rss, p99) = (col("rss_kib"), col("read_p99_ns"));
        let requests = col("requests");
        // Null where the load client of that run did not record errors.
        let errors = if rows.iter().all(|r| r["errors"].is_u64()) {
            format!("{:.0}", col("errors").iter().sum::<f64>())
        } else {
            "not recorded".to_owned()
        };
        let grew = |v: &[f64], tol: f64| match soak_grew(v, tol) {
            Some(true) => "**yes**",
            Some(false) => "no",
            None => "too few minutes",
        };
        let mib = |v: Option<&f64>| v.map_or("-".into(), |k| format!("{:.1} MiB", k / 1024.0));
        let us = |v: Option<&f64>| v.map_or("-".into(), |n| format!("{:.0} µs", n / 1000.0));
        let _ = writeln!(
            s,
            "| {name} | {} | {} | {} | {} | {} | {} | {:.0} | {errors} |",
            mib(rss.first()),
            mib(rss.last()),
            grew(&rss, 1.10),
            us(p99.first()),
            us(p99.last()),
            grew(&p99, 1.50),
            requests.iter().sum::<f64>(),
        );
    }
    s += "\nRule: a series grew if the median of its last third of minutes exceeds the median of \
          its first third (minute 1, the warm-up, left out) by more than 10% (memory) or 50% (p99, \
          which is noisier). Plot: results/soak.svg. Reproduce: `scripts/soak` (30 minutes; writes results/soak.json \
          and results/soak.svg).";
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::soak_grew;

    #[test]
    fn flat_series_and_spikes_do_not_grow_but_a_climb_does() {
        let flat = [50.0, 40.0, 40.5, 40.2, 39.8, 40.1, 40.0, 40.3, 40.2, 40.1];
        assert_eq!(soak_grew(&flat, 1.10), Some(false));
        let mut spike = flat;
        spike[9] = 400.0;
        assert_eq!(
            soak_grew(&spike, 1.10),
            Some(false),
            "one spike is not growth"
        );
        let climb: Vec<f64> = (0..10).map(|m| 40.0 + 4.0 * f64::from(m)).collect();
        assert_eq!(soak_grew(&climb, 1.10), Some(true));
        assert_eq!(soak_grew(&[1.0, 2.0, 3.0], 1.10), None, "too few minutes");
    }
}
