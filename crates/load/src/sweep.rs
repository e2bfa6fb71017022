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
//!
//! **The client must keep up.** A step's corrected latencies include how
//! late the client itself sent each request ([`crate::schedule::lateness`]).
//! The client kept up at a step if its lateness p99 was at most
//! [`CLIENT_SHARE`] of the target p99 (100 µs at the default 1 ms): then a
//! step that fails the target failed by the server's own latency to within
//! a tenth of the target, whatever the client added. The bound is on the
//! target, not on each step's own p99: at a low rate a fast server answers
//! in tens of µs, and a client some µs late there changes no verdict.
//!
//! The knee is judged only at steps where the client kept up: it is the
//! last step that passed with the client keeping up, before the first
//! failing step. A step where the client was late and that still passed
//! does not stop the sweep (the server met the target even with the
//! client's lateness added) but is not a knee. The sweep stops at the first
//! failing step as before; if the client was late there, the failure may be
//! the client's: the knee is then a lower bound (`client_limited`), and the
//! printed table says so.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use storelab_results::Machine;

use crate::{LoadError, LoadPlan, Quantiles, run, urls};

/// A step passes when all of these hold.
pub const MIN_ACHIEVED: f64 = 0.95;

/// The client kept up at a step when its lateness p99 was at most this
/// share of the target p99.
pub const CLIENT_SHARE: f64 = 0.1;

/// The most client lateness (p99, ns) a step may show and still count
/// toward the knee: [`CLIENT_SHARE`] of the target.
pub fn lateness_bound(target_p99_ns: u64) -> u64 {
    (target_p99_ns as f64 * CLIENT_SHARE) as u64
}

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
    /// The same, p50 (0 in files written before it was kept).
    #[serde(default)]
    pub lateness_p50_ns: u64,
    /// The client fell behind: its lateness p99 was over the bound
    /// ([`lateness_bound`]); the step says nothing about the server's knee.
    #[serde(default)]
    pub client_late: bool,
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
    /// The highest rate of a step that passed with the client keeping up,
    /// before the first failing one ([`knee`]).
    pub knee: Option<f64>,
    /// The client lateness p99 a step may show and count ([`lateness_bound`];
    /// 0 in files written before it was kept).
    #[serde(default)]
    pub lateness_bound_ns: u64,
    /// The sweep stopped at a step that failed with the client behind:
    /// the knee is a lower bound ([`client_limited`]).
    #[serde(default)]
    pub client_limited: bool,
    /// Threads of the client (0 in files written when it ran one per
    /// connection).
    #[serde(default)]
    pub client_threads: usize,
    /// Why the sweep stopped.
    pub stopped: String,
    pub machine: Machine,
    /// The servers' base URLs, when the sweep spread its connections over
    /// several ([`LoadPlan::addrs`]); empty for one server, as in files
    /// from before several could be given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub servers: Vec<String>,
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

/// Whether the client fell behind at a step: its lateness p99 over
/// `bound_ns`.
pub fn client_late(step: &Step, bound_ns: u64) -> bool {
    step.lateness_p99_ns > bound_ns
}

/// The knee of a list of judged steps: the rate of the last step that
/// passed with the client keeping up, before the first failing one. A step
/// where the client was late is never the knee, even if it passed.
pub fn knee(steps: &[Step]) -> Option<f64> {
    steps
        .iter()
        .take_while(|s| s.failed.is_none())
        .filter(|s| !s.client_late)
        .map(|s| s.rate)
        .last()
}

/// Whether the step that ended a sweep failed with the client late: then
/// the failure may be the client's, and the knee is a lower bound.
pub fn client_limited(steps: &[Step]) -> bool {
    steps
        .iter()
        .find(|s| s.failed.is_some())
        .is_some_and(|s| s.client_late)
}

/// One step at `rate` (the `n`-th, with its own seed), judged.
fn step(
    plan: &SweepPlan,
    rate: f64,
    n: usize,
    target: u64,
    bound: u64,
) -> Result<(Step, String), LoadError> {
    let mut p = plan.base.clone();
    p.rate = Some(rate);
    p.workload.seed = plan.base.workload.seed.wrapping_add(n as u64);
    let o = run(p)?;
    let store = o
        .file
        .cells
        .first()
        .map_or_else(String::new, |c| c.store.clone());
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
        lateness_p50_ns: o.lateness.0,
        client_late: false,
        failed: None,
    };
    step.failed = judge(&step, target);
    step.client_late = client_late(&step, bound);
    Ok((step, store))
}

/// Runs the sweep against a live server.
pub fn sweep(plan: &SweepPlan) -> Result<Sweep, LoadError> {
    if !(plan.factor > 1.0 && plan.start > 0.0 && plan.start <= plan.max_rate) {
        return Err(LoadError::BadSweep);
    }
    let target = plan.target_p99.as_nanos() as u64;
    let bound = lateness_bound(target);
    let mut steps: Vec<Step> = Vec::new();
    let mut store = String::new();
    let mut rate = plan.start;
    let stopped = loop {
        let (s, name) = step(plan, rate, steps.len(), target, bound)?;
        if !name.is_empty() {
            store = name;
        }
        let (late, failed, lateness) = (s.client_late, s.failed.clone(), s.lateness_p99_ns);
        steps.push(s);
        if let Some(why) = failed {
            break if late {
                format!(
                    "at {rate:.0} req/s: {why}, with the client behind (its lateness p99 {:.0} µs, \
                     over the bound {:.0} µs): the failure may be the client's",
                    lateness as f64 / 1e3,
                    bound as f64 / 1e3,
                )
            } else {
                format!("at {rate:.0} req/s: {why}")
            };
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
        lateness_bound_ns: bound,
        client_limited: client_limited(&steps),
        client_threads: plan.base.client_threads.min(plan.base.connections),
        steps,
        stopped,
        machine: Machine::current(),
        servers: if plan.base.addrs.len() > 1 {
            urls(&plan.base.addrs)
        } else {
            Vec::new()
        },
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
            lateness_p50_ns: 0,
            client_late: false,
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

    #[test]
    fn a_step_where_the_client_was_late_is_not_a_knee() {
        let target = 1_000_000;
        let bound = lateness_bound(target);
        assert_eq!(bound, 100_000, "a tenth of the target");
        let judged = |rate: f64, lateness_us: u64| {
            let mut s = step(rate, rate, 0, 300);
            s.lateness_p99_ns = lateness_us * 1000;
            s.failed = judge(&s, target);
            s.client_late = client_late(&s, bound);
            s
        };
        // The client kept up at both: the higher is the knee.
        let kept_up = vec![judged(1000.0, 5), judged(2000.0, 100)];
        assert!(kept_up.iter().all(|s| s.failed.is_none() && !s.client_late));
        assert_eq!(knee(&kept_up), Some(2000.0), "a step where it kept up is");
        // The client fell behind at 2000: that step passed the target, but
        // it is not the knee; the last step where it kept up is.
        let late = vec![judged(1000.0, 5), judged(2000.0, 101)];
        assert!(late[1].failed.is_none() && late[1].client_late);
        assert_eq!(knee(&late), Some(1000.0), "a step where it was late is not");
        assert!(!client_limited(&late), "nothing failed");
        // A late pass does not hide a later knee where the client kept up.
        let mut failing = judged(8000.0, 5);
        failing.corrected.p99 = 2_000_000;
        failing.failed = judge(&failing, target);
        let mut steps = vec![
            judged(1000.0, 5),
            judged(2000.0, 300),
            judged(4000.0, 20),
            failing.clone(),
        ];
        assert_eq!(knee(&steps), Some(4000.0));
        assert!(
            !client_limited(&steps),
            "the server failed, the client kept up"
        );
        // The same failure with the client behind: the knee is a lower bound.
        steps[3].lateness_p99_ns = 1_660_000;
        steps[3].client_late = client_late(&steps[3], bound);
        assert_eq!(knee(&steps), Some(4000.0));
        assert!(client_limited(&steps));
        // Late from the first step: no knee at all.
        assert_eq!(knee(&[judged(1000.0, 1660)]), None);
        // Old files (no lateness kept) read as a client that kept up.
        let old: Step = serde_json::from_str(
            r#"{"rate":5000.0,"achieved":5000.0,"requests":1,"errors":0,
                "corrected":{"p50":1,"p99":1,"p999":1,"max":1},
                "uncorrected":{"p50":1,"p99":1,"p999":1,"max":1},
                "lateness_p99_ns":7,"failed":null}"#,
        )
        .expect("an old step parses");
        assert!(!old.client_late && old.lateness_p50_ns == 0);
    }
}
