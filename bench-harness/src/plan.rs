//! Phase 0, the plan: how long and how often to measure, checked before
//! anything is built. Every later phase reads the plan; none changes it.

use std::time::Duration;

use workload::{OpKind, ReadMode, Workload};

use crate::Entry;

/// How long and how often to measure.
#[derive(Clone, Debug)]
pub struct Plan {
    pub preset: Option<String>,
    pub workload: Workload,
    pub threads: Vec<usize>,
    pub reps: usize,
    /// Either a fixed count of operations per thread per repetition...
    pub ops: Option<u64>,
    /// ...or a target duration per repetition, the count calibrated per
    /// (store, threads) during warm-up.
    pub rep_time: Duration,
    pub read_mode: ReadMode,
    /// Operations run untimed before each repetition, in percent of the
    /// repetition's count (the same stream positions the next repetition
    /// does not use).
    pub warmup_pct: u32,
    /// The order of the cells within each round, and of the prefills.
    pub order: Order,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// Every repetition, and each untimed pass, on a freshly built and
    /// prefilled store, without warm-up (growth from empty, conc-map-bench's
    /// RapidGrow): what is measured is a store's life from its start, and a
    /// growing mix cannot pile up tasks over repetitions. Needs `ops`, which
    /// is then the operations of a whole repetition, split over its threads.
    pub fresh: bool,
}

/// The order in which stores are prefilled and cells run within a round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// A new seeded shuffle for every round and for the prefills (the
    /// default): no store always runs first, or right after the same other
    /// store, so order effects become noise that repetitions average out,
    /// and the seed makes the run repeatable.
    Shuffled,
    /// Catalog order, every round: for checking that order does not matter.
    Fixed,
    /// Reverse catalog order, every round.
    Reversed,
}

impl Order {
    pub fn name(self) -> &'static str {
        match self {
            Order::Shuffled => "shuffled",
            Order::Fixed => "fixed",
            Order::Reversed => "reversed",
        }
    }

    /// The order of `n` items for round `round` (prefill is round
    /// `usize::MAX`), from `seed`.
    pub fn arrange(self, n: usize, seed: u64, round: usize) -> Vec<usize> {
        let mut v: Vec<usize> = (0..n).collect();
        match self {
            Order::Fixed => {}
            Order::Reversed => v.reverse(),
            Order::Shuffled => {
                // Fisher-Yates over splitmix64: no dependency, and the same
                // seed gives the same order on every machine.
                let mut state = seed ^ (round as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                for i in (1..n).rev() {
                    state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
                    let mut z = state;
                    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                    z ^= z >> 31;
                    v.swap(i, (z % (i as u64 + 1)) as usize);
                }
            }
        }
        v
    }
}

/// Each repetition must hold at least this many of its mix's rarest
/// operation per thread; calibration lengthens a repetition until it does,
/// and a cell fixed shorter by `--ops` is flagged (`Cell::too_short`).
pub const MIN_RAREST_OPS: u64 = 10;

impl Plan {
    /// Refuses a plan no run can honour, before anything is built.
    pub fn validate(&self, entries: &[Entry]) -> Result<(), String> {
        if self.threads.is_empty() || self.threads.contains(&0) {
            return Err("thread counts must be at least 1".into());
        }
        if self.reps == 0 {
            return Err("--reps must be at least 1".into());
        }
        if self.fresh && self.ops.is_none() {
            return Err("a run on fresh stores needs a fixed operation count (--ops)".into());
        }
        if self.workload.keys == 0 && self.workload.mix.keyed() {
            return Err(
                "with no prefilled tasks (--keys 0) the mix may only create and get_all".into(),
            );
        }
        for e in entries {
            if e.single_thread && !self.threads.contains(&1) {
                return Err(format!(
                    "store '{}' runs on one thread only; add 1 to --threads",
                    e.name
                ));
            }
        }
        Ok(())
    }

    /// The thread counts a store runs at.
    pub fn threads_of(&self, e: &Entry) -> Vec<usize> {
        self.threads
            .iter()
            .copied()
            .filter(|t| !e.single_thread || *t == 1)
            .collect()
    }

    /// Operations per thread that hold [`MIN_RAREST_OPS`] of the rarest kind.
    pub fn rarest_floor(&self) -> u64 {
        let workload = &self.workload;
        let rarest = OpKind::ALL
            .iter()
            .map(|k| workload.mix.percent(*k))
            .filter(|pct| *pct > 0)
            .min()
            .unwrap_or(100);
        MIN_RAREST_OPS * 100 / u64::from(rarest)
    }

    /// The most threads any cell runs: the streams generated, and the lanes
    /// of a live key space.
    pub fn max_threads(&self) -> usize {
        *self.threads.iter().max().unwrap_or(&1)
    }

    /// The progress bar's steps: a prefill per store, a calibration, the
    /// repetitions and two passes per cell, and a memory phase per store in
    /// a live mix.
    pub(crate) fn steps(&self, entries: &[Entry]) -> u64 {
        let cells: usize = entries.iter().map(|e| self.threads_of(e).len()).sum();
        let memory = if self.workload.mix.live() {
            entries.len()
        } else {
            0
        };
        (entries.len() + cells * (self.reps + 3) + memory) as u64
    }
}
