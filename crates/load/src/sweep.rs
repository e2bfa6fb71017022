//! `storelab load --sweep`: the open-loop rate raised step by step until the
//! server misses a latency target or fails, and the knee: the highest rate
//! it sustained under the target.
//!
//! Each step is a separate open-loop run (a fresh schedule, the same
//! connections), so a step is charged for its own backlog only. Latency is
//! kept two ways, as wrk2 and YCSB's intended-time option do: from each
//! request's due time (*corrected*: a request that waited behind a stalled
//! one is charged the wait) and from the moment it was actually sent
//! (*uncorrected*: what a client that waits for each answer before sending
//! the next reports, and why such clients flatter a saturated server). The
//! target is judged on the corrected p99.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use storelab_results::Machine;

use crate::{LoadError, LoadPlan, Quantiles, run};

/// A step passes when all of these hold.
pub const MIN_ACHIEVED: f64 = 0.95;

/// How to sweep.
#[derive(Clone, Debug)]
pub struct SweepPlan {
    /// Everything but the rate, which the sweep sets per step.
    pub base: LoadPlan,
    /// The first step's rate, requests per second.
    pub start: f64,
    /// Each step's rate over the last one's (above 1).
    pub factor: f64,
    /// No step above this rate.
    pub max_rate: f64,
    /// The corrected p99 a step must stay under.
    pub target_p99: Duration,
}

/// One step of a sweep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// The rate asked for.
    pub rate: f64,
    /// Requests answered over the time to the last answer.
    pub achieved: f64,
    pub requests: u64,
    /// 5xx answers and transport errors.
    pub errors: u64,
    pub corrected: Quantiles,
    pub uncorrected: Quantiles,
    /// How late the client itself sent requests (p99, ns).
    pub lateness_p99_ns: u64,
    /// `None` if the step passed; else why not.
    pub failed: Option<String>,
}

/// A whole sweep of one server.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Sweep {
    pub store: String,
    pub connections: usize,
    pub step_seconds: f64,
    pub target_p99_ns: u64,
    pub mix: String,
    pub seed: u64,
    pub steps: Vec<Step>,
    /// The highest rate of a passing step before the first failing one.
    pub knee: Option<f64>,
    /// Why the sweep stopped.
    pub stopped: String,
    pub machine: Machine,
}

/// The rule a step is judged by: no errors, at least [`MIN_ACHIEVED`] of
/// the rate answered in time, and the corrected p99 under the target.
/// Returns why it failed, if it did.
pub fn judge(step: &Step, target_p99_ns: u64) -> Option<String> {
    if step.errors > 0 {
        Some(format!("{} errors (5xx or transport)", step.errors))
    } else if step.achieved < MIN_ACHIEVED * step.rate {
        Some(format!(
            "achieved {:.0} req/s, under {:.0}% of the rate",
            step.achieved,
            MIN_ACHIEVED * 100.0
        ))
    } else if step.corrected.p99 > target_p99_ns {
        Some(format!(
            "corrected p99 {:.0} µs over the target {:.0} µs",
            step.corrected.p99 as f64 / 1e3,
            target_p99_ns as f64 / 1e3
        ))
    } else {
        None
    }
}

/// The knee of a list of judged steps: the rate of the last passing step
/// before the first failing one.
pub fn knee(steps: &[Step]) -> Option<f64> {
    steps
        .iter()
        .take_while(|s| s.failed.is_none())
        .map(|s| s.rate)
        .last()
}

/// Runs the sweep against a live server.
pub fn sweep(plan: &SweepPlan) -> Result<Sweep, LoadError> {
    if !(plan.factor > 1.0 && plan.start > 0.0 && plan.start <= plan.max_rate) {
        return Err(LoadError::BadSweep);
    }
    let target = plan.target_p99.as_nanos() as u64;
    let mut steps = Vec::new();
    let mut store = String::new();
    let mut rate = plan.start;
    let stopped = loop {
        let mut p = plan.base.clone();
        p.rate = Some(rate);
        p.workload.seed = plan.base.workload.seed.wrapping_add(steps.len() as u64);
        let o = run(p)?;
        store = o.file.cells.first().map_or(store, |c| c.store.clone());
        let errors = o
            .statuses
            .iter()
            .filter(|(c, _)| *c >= 500)
            .map(|(_, n)| n)
            .sum::<u64>()
            + o.transport_errors;
        let mut step = Step {
            rate,
            achieved: o.rps,
            requests: o.requests,
            errors,
            corrected: o.corrected,
            uncorrected: o.uncorrected,
            lateness_p99_ns: o.lateness.1,
            failed: None,
        };
        step.failed = judge(&step, target);
        let failed = step.failed.clone();
        steps.push(step);
        if let Some(why) = failed {
            break format!("at {rate:.0} req/s: {why}");
        }
        rate *= plan.factor;
        if rate > plan.max_rate {
            break format!(
                "the next step would pass the maximum rate {:.0}",
                plan.max_rate
            );
        }
    };
    Ok(Sweep {
        store,
        connections: plan.base.connections,
        step_seconds: plan.base.duration.as_secs_f64(),
        target_p99_ns: target,
        mix: plan.base.workload.mix.to_string(),
        seed: plan.base.workload.seed,
        knee: knee(&steps),
        steps,
        stopped,
        machine: Machine::current(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(rate: f64, achieved: f64, errors: u64, p99_us: u64) -> Step {
        let q = Quantiles {
            p50: 1,
            p99: p99_us * 1000,
            p999: p99_us * 1000,
            max: p99_us * 1000,
        };
        Step {
            rate,
            achieved,
            requests: 1,
            errors,
            corrected: q,
            uncorrected: q,
            lateness_p99_ns: 0,
            failed: None,
        }
    }

    #[test]
    fn a_step_fails_on_errors_on_falling_behind_and_on_the_target() {
        let target = 1_000_000;
        assert_eq!(judge(&step(1000.0, 1000.0, 0, 900), target), None);
        assert!(judge(&step(1000.0, 1000.0, 1, 900), target).is_some_and(|w| w.contains("errors")));
        assert!(
            judge(&step(1000.0, 900.0, 0, 900), target).is_some_and(|w| w.contains("achieved"))
        );
        assert!(judge(&step(1000.0, 1000.0, 0, 1100), target).is_some_and(|w| w.contains("p99")));
    }

    #[test]
    fn the_knee_is_the_last_pass_before_the_first_failure() {
        let mut steps = vec![
            step(1000.0, 1000.0, 0, 100),
            step(2000.0, 2000.0, 0, 200),
            step(4000.0, 4000.0, 0, 5000),
            step(8000.0, 8000.0, 0, 100),
        ];
        for s in &mut steps {
            s.failed = judge(s, 1_000_000);
        }
        assert_eq!(
            knee(&steps),
            Some(2000.0),
            "a lucky step after a failure does not count"
        );
        steps[0].failed = Some("errors".into());
        assert_eq!(knee(&steps), None);
    }
}
