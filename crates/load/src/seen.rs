//! What the client saw: latency histograms, statuses, errors, lateness.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use storelab_results::new_histograms;
use workload::OpKind;

/// A latency histogram with the bounds of every other one (1 ns to 100 s,
/// 3 significant digits).
pub(crate) fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 100_000_000_000, 3).expect("constant bounds")
}

fn ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX).max(1)
}

/// What one client thread saw, or (merged) all of them.
pub(crate) struct Seen {
    pub hists: [Histogram<u64>; workload::KINDS],
    /// Every request, from its due time (corrected) and from its actual
    /// send time (uncorrected, what a client that waits hides).
    pub corrected: Histogram<u64>,
    pub uncorrected: Histogram<u64>,
    /// How late the client sent each request ([`crate::schedule::lateness`]).
    pub lateness: Histogram<u64>,
    pub statuses: Vec<(u16, u64)>,
    pub transport_errors: u64,
    /// Requests finished (answered, or failed at the transport).
    pub finished: u64,
    /// When the last one finished, from the start.
    pub last_done: Option<Duration>,
}

impl Seen {
    pub fn new() -> Seen {
        Seen {
            hists: new_histograms(),
            corrected: histogram(),
            uncorrected: histogram(),
            lateness: histogram(),
            statuses: Vec::new(),
            transport_errors: 0,
            finished: 0,
            last_done: None,
        }
    }

    pub fn late(&mut self, by: Duration) {
        self.lateness.saturating_record(ns(by));
    }

    pub fn status(&mut self, code: u16) {
        add_status(&mut self.statuses, code, 1);
    }

    /// A request finished at `done`: due at `due`, sent at `sent`.
    pub fn finished(
        &mut self,
        kind: OpKind,
        due: Instant,
        sent: Instant,
        done: Instant,
        start: Instant,
    ) {
        let from_due = ns(done.saturating_duration_since(due));
        self.hists[kind as usize].saturating_record(from_due);
        self.corrected.saturating_record(from_due);
        self.uncorrected
            .saturating_record(ns(done.saturating_duration_since(sent)));
        self.finished += 1;
        let at = done.saturating_duration_since(start);
        self.last_done = Some(self.last_done.map_or(at, |l| l.max(at)));
    }

    /// Adds what `other` saw.
    pub fn merge(&mut self, other: Seen) {
        for (into, from) in self.hists.iter_mut().zip(other.hists.iter()) {
            let _ = into.add(from);
        }
        let _ = self.lateness.add(&other.lateness);
        let _ = self.corrected.add(&other.corrected);
        let _ = self.uncorrected.add(&other.uncorrected);
        for (code, n) in other.statuses {
            add_status(&mut self.statuses, code, n);
        }
        self.statuses.sort_unstable();
        self.transport_errors += other.transport_errors;
        self.finished += other.finished;
        self.last_done = match (self.last_done, other.last_done) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }

    /// From the start to the last answer (`planned` if nothing was
    /// answered), at least a millisecond; in open loop at least `planned`,
    /// the schedule's length: 4 requests at 0.4 req/s over 10 s (the last
    /// due at 7.5 s) achieved 0.4 req/s, not 4/7.5.
    pub fn elapsed(&self, planned: Duration, open_loop: bool) -> Duration {
        let last = self.last_done.unwrap_or(planned);
        let floor = if open_loop {
            planned
        } else {
            Duration::from_millis(1)
        };
        last.max(floor)
    }
}

fn add_status(statuses: &mut Vec<(u16, u64)>, code: u16, n: u64) {
    match statuses.iter_mut().find(|(c, _)| *c == code) {
        Some((_, k)) => *k += n,
        None => statuses.push((code, n)),
    }
}
