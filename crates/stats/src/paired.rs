//! Two stores of one run, compared round by round: the median of the
//! per-round ratios, its confidence interval, a sign test, and a verdict
//! against a threshold.
//!
//! A run measures its repetitions in interleaved rounds: round `rep` runs
//! every (store, threads) cell once, one after another, so the samples of two
//! stores with the same `rep` were taken seconds apart, under the same
//! background load, clock frequency and cache weather. Their ratio cancels
//! whatever the machine did in that round, and the spread of the ratios is
//! the noise of the difference, not the noise of the machine. Treating the
//! two cells as independent samples (Mann-Whitney, as `compare --baseline`
//! does) throws that pairing away: one slow round widens both intervals and
//! hides a difference that every single round shows.
//!
//! **Estimate.** The median of the per-round ratios b/a, taken on the log
//! scale (for an even count, the geometric mean of the middle two), so that
//! a against b is exactly the reciprocal of b against a, interval included.
//!
//! **Interval: order statistics, not a bootstrap.** The interval is the one
//! [`crate::summarize`] gives a median (and benchstat reports): from the k-th
//! smallest to the k-th largest ratio, k from the Binomial(n, 1/2) tail
//! ([`crate::ci_rank`]; Hollander & Wolfe, *Nonparametric Statistical
//! Methods*, §3.6). Its coverage is at least the asked confidence for any
//! continuous distribution of the ratios, provided the rounds are
//! independent, at every n, not only asymptotically. A bootstrap percentile
//! interval was the alternative; it loses on both counts that matter here. It
//! is random: the same file would give another interval under another seed,
//! and a fixed seed only hides that, while generated documents must be
//! reproducible digit for digit. And its guarantee is asymptotic: at the 6
//! to 20 rounds a run has, the resampled median takes only a handful of
//! distinct values and the percentile interval of a median is known to
//! undercover (Efron & Tibshirani, *An Introduction to the Bootstrap*,
//! §7.4). The price of exactness is width at small n: with 6 rounds, the
//! fewest for a 95% interval, the interval is the whole range of the ratios.
//!
//! **Test: the exact sign test, not Wilcoxon.** The p-value for "the median
//! ratio is 1" counts the rounds in which b was above a against
//! Binomial(n, 1/2), two-sided. The Wilcoxon signed-rank test on log ratios
//! has more power when the log ratios are symmetric about their median, but
//! it assumes that symmetry, and benchmark rounds break it: a round with a
//! page fault, a timer interrupt storm or a migration to a busy core is an
//! outlier on one side only. Its natural interval (Hodges-Lehmann) estimates
//! a pseudo-median, not the median reported above. The sign test is the
//! test the order-statistic interval inverts, so the two never disagree:
//! p < 1 - confidence exactly when the interval excludes 1 (rounds whose
//! ratio is exactly 1 count against rejection, which keeps this true with
//! ties; the unit tests check it). The cost is power: at 10 rounds,
//! significance at 5% needs 9 of the 10 rounds on one side.

use statrs::distribution::{Binomial, DiscreteCDF};
use storelab_results::{Cell, Metric};

use crate::ci_rank;

/// The samples of two cells of one run, paired by round (`rep`).
#[derive(Clone, Debug, PartialEq)]
pub struct Pairs {
    /// (rep, a's value, b's value) for each round both cells measured with a
    /// positive, finite value, in a's sample order.
    pub pairs: Vec<(usize, f64, f64)>,
    /// Samples of a and of b left out: a round the other cell lacks, a
    /// repeated round, or a value that is not positive and finite.
    pub unpaired: (usize, usize),
}

fn usable(x: f64) -> bool {
    x.is_finite() && x > 0.0
}

/// Pairs the samples of `a` and `b` by round, reading `metric`.
pub fn pair_by_round(a: &Cell, b: &Cell, metric: Metric) -> Pairs {
    let bv: Vec<(usize, f64)> = b
        .samples
        .iter()
        .map(|s| s.rep)
        .zip(metric.values(b))
        .collect();
    let mut pairs: Vec<(usize, f64, f64)> = Vec::new();
    for (rep, x) in a.samples.iter().map(|s| s.rep).zip(metric.values(a)) {
        if pairs.iter().any(|p| p.0 == rep) {
            continue;
        }
        if let Some(&(_, y)) = bv.iter().find(|(r, _)| *r == rep)
            && usable(x)
            && usable(y)
        {
            pairs.push((rep, x, y));
        }
    }
    let n = pairs.len();
    Pairs {
        unpaired: (a.samples.len() - n, b.samples.len() - n),
        pairs,
    }
}

/// The median per-round ratio b/a, its interval and its sign test.
#[derive(Clone, Debug, PartialEq)]
pub struct PairedRatio {
    /// Rounds that paired (the ratios the figures below come from).
    pub n: usize,
    /// Samples of a and of b that did not pair (see [`Pairs::unpaired`]).
    pub unpaired: (usize, usize),
    /// The median ratio b/a (geometric midpoint of the middle two for an
    /// even count); NaN without pairs.
    pub median: f64,
    /// The order-statistic interval at `confidence`; `None` with fewer pairs
    /// than [`min_pairs`].
    pub ci: Option<(f64, f64)>,
    pub confidence: f64,
    /// Exact two-sided sign-test p-value for "the median ratio is 1".
    pub p: f64,
}

/// What the interval says about the ratio against a threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The whole interval lies above the threshold.
    Above,
    /// The whole interval lies below the threshold.
    Below,
    /// The interval contains the threshold: the data cannot tell, whatever
    /// side the median falls on.
    Inconclusive,
    /// Too few pairs for a finite interval at this confidence: `pairs`
    /// rounds paired, `need` are the fewest that give one.
    TooFew { pairs: usize, need: usize },
}

impl PairedRatio {
    /// `Above` when the interval's lower bound exceeds `threshold`, `Below`
    /// when its upper bound is under it, `Inconclusive` when it contains it,
    /// `TooFew` without an interval. For ns/op, `verdict(1.05) == Above`
    /// reads "b is more than 5% slower than a, at this confidence".
    pub fn verdict(&self, threshold: f64) -> Verdict {
        match self.ci {
            None => Verdict::TooFew {
                pairs: self.n,
                need: min_pairs(self.confidence),
            },
            Some((lo, _)) if lo > threshold => Verdict::Above,
            Some((_, hi)) if hi < threshold => Verdict::Below,
            Some(_) => Verdict::Inconclusive,
        }
    }

    /// Whether the sign test rejects "no difference" at 1 - confidence;
    /// the same as the interval excluding 1.
    pub fn significant(&self) -> bool {
        self.p < 1.0 - self.confidence
    }

    /// Half the interval's width as a percentage of the median, like
    /// [`crate::Summary::ci_half_width_pct`].
    pub fn ci_half_width_pct(&self) -> Option<f64> {
        let (lo, hi) = self.ci?;
        (self.median > 0.0).then(|| (hi - lo) / 2.0 / self.median * 100.0)
    }
}

/// The fewest pairs that give a finite interval at `confidence` (6 at 95%,
/// 8 at 99%); 64 if none up to that does.
pub fn min_pairs(confidence: f64) -> usize {
    (1..=64)
        .find(|n| ci_rank(*n, confidence).is_some())
        .unwrap_or(64)
}

/// Cell `b` over cell `a` of one run, round by round, reading `metric`:
/// the ratio is b/a of that metric, so for ns/op a ratio above 1 means b is
/// slower, and for ops/s that b is faster.
pub fn paired_ratio(a: &Cell, b: &Cell, metric: Metric, confidence: f64) -> PairedRatio {
    let pairs = pair_by_round(a, b, metric);
    let ratios: Vec<f64> = pairs.pairs.iter().map(|(_, x, y)| y / x).collect();
    PairedRatio {
        unpaired: pairs.unpaired,
        ..ratio_summary(&ratios, confidence)
    }
}

/// The median, interval and sign test of per-round ratios already formed.
/// Ratios that are not positive and finite are left out (and not counted in
/// `n`).
pub fn ratio_summary(ratios: &[f64], confidence: f64) -> PairedRatio {
    let mut v: Vec<f64> = ratios.iter().copied().filter(|r| usable(*r)).collect();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = match n {
        0 => f64::NAN,
        _ if !n.is_multiple_of(2) => v[n / 2],
        _ => (v[n / 2 - 1] * v[n / 2]).sqrt(),
    };
    PairedRatio {
        n,
        unpaired: (0, 0),
        median,
        ci: ci_rank(n, confidence).map(|k| (v[k - 1], v[n - k])),
        confidence,
        p: sign_test_p(&v, 1.0),
    }
}

/// The exact two-sided sign test of "the median of `xs` is `center`":
/// 2 P(X <= m) for X ~ Binomial(n, 1/2), with m the count on the smaller
/// side. Values equal to `center` (or NaN) count on neither side but stay in
/// n, which is conservative and keeps the test the exact inverse of the
/// order-statistic interval. 1.0 for no values.
pub fn sign_test_p(xs: &[f64], center: f64) -> f64 {
    let n = xs.len();
    let above = xs.iter().filter(|x| **x > center).count();
    let below = xs.iter().filter(|x| **x < center).count();
    let m = n - above.max(below);
    match Binomial::new(0.5, n as u64) {
        Ok(b) if n >= 1 => (2.0 * b.cdf(m as u64)).min(1.0),
        _ => 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Significance, mann_whitney};
    use storelab_results::fixture::cell;

    /// A deterministic stream of numbers in [0, 1) (a 64-bit LCG).
    fn noise(seed: u64) -> impl FnMut() -> f64 {
        let mut s = seed;
        move || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    #[test]
    fn a_clear_difference_is_above_or_below() {
        let up = [1.21, 1.19, 1.22, 1.18, 1.20, 1.23, 1.17, 1.20, 1.21, 1.19];
        let r = ratio_summary(&up, 0.95);
        assert_eq!(r.n, 10);
        assert!((r.median - 1.20).abs() < 1e-9, "{}", r.median);
        // 10 ratios: the interval is the 2nd to the 9th.
        assert_eq!(r.ci, Some((1.18, 1.22)));
        assert_eq!(r.verdict(1.1), Verdict::Above);
        assert_eq!(r.verdict(1.3), Verdict::Below);
        assert_eq!(r.verdict(1.2), Verdict::Inconclusive);
        assert!(r.significant());
        let down: Vec<f64> = up.iter().map(|x| 1.0 / x).collect();
        assert_eq!(ratio_summary(&down, 0.95).verdict(1.0), Verdict::Below);
    }

    #[test]
    fn a_median_past_the_threshold_with_an_interval_across_it_is_inconclusive() {
        // Median 1.12 (> 1.05), but two rounds of ten went the other way and
        // the interval reaches down to 0.97.
        let r = ratio_summary(
            &[1.15, 0.95, 1.12, 1.20, 0.97, 1.10, 1.14, 1.08, 1.12, 1.25],
            0.95,
        );
        assert!(r.median > 1.05, "{}", r.median);
        let (lo, hi) = r.ci.expect("10 pairs give an interval");
        assert!(lo < 1.05 && hi > 1.05, "{lo}..{hi}");
        assert_eq!(r.verdict(1.05), Verdict::Inconclusive);
        // Eight of ten above 1 is not significant by the sign test either.
        assert!(!r.significant(), "p = {}", r.p);
        assert!((r.p - 2.0 * 56.0 / 1024.0).abs() < 1e-12, "p = {}", r.p);
    }

    #[test]
    fn too_few_pairs_say_how_many_are_needed() {
        let r = ratio_summary(&[1.5, 1.6, 1.4, 1.5, 1.7], 0.95);
        assert_eq!(r.ci, None);
        assert_eq!(r.verdict(1.0), Verdict::TooFew { pairs: 5, need: 6 });
        // Five of five on one side: p = 2/32, not below 0.05.
        assert!((r.p - 0.0625).abs() < 1e-12 && !r.significant());
        assert_eq!(min_pairs(0.95), 6);
        assert_eq!(min_pairs(0.99), 8);
        let empty = ratio_summary(&[], 0.95);
        assert!(empty.median.is_nan() && empty.p == 1.0);
        assert_eq!(empty.verdict(1.0), Verdict::TooFew { pairs: 0, need: 6 });
        // Six of six is the fewest that can be significant at 95%.
        let six = ratio_summary(&[1.5, 1.6, 1.4, 1.5, 1.7, 1.45], 0.95);
        assert_eq!(six.ci, Some((1.4, 1.7)));
        assert_eq!(six.verdict(1.0), Verdict::Above);
        assert!((six.p - 2.0 / 64.0).abs() < 1e-12);
    }

    #[test]
    fn sign_test_values() {
        // Nine of ten above: 2 * (1 + 10) / 1024.
        let nine: Vec<f64> = (0..10).map(|i| if i == 0 { 0.9 } else { 1.1 }).collect();
        assert!((sign_test_p(&nine, 1.0) - 22.0 / 1024.0).abs() < 1e-12);
        // Balanced: p = 1.
        assert_eq!(sign_test_p(&[0.9, 1.1, 0.8, 1.2], 1.0), 1.0);
        // A tie counts against rejection: 5 above and one tie of 6 is
        // 2 P(X <= 1) = 14/64, not the 2/32 of dropping the tie.
        let tied = [1.0, 1.1, 1.2, 1.3, 1.4, 1.5];
        assert!((sign_test_p(&tied, 1.0) - 14.0 / 64.0).abs() < 1e-12);
        assert_eq!(sign_test_p(&[], 1.0), 1.0);
    }

    #[test]
    fn the_sign_test_and_the_interval_never_disagree() {
        let mut u = noise(7);
        for n in 1..=30usize {
            for shift in [0.9, 0.97, 1.0, 1.03, 1.1, 1.3] {
                let mut ratios: Vec<f64> = (0..n).map(|_| shift * (0.85 + 0.3 * u())).collect();
                if n.is_multiple_of(5) {
                    ratios[0] = 1.0; // a tie with the null value
                }
                for confidence in [0.9, 0.95, 0.99] {
                    let r = ratio_summary(&ratios, confidence);
                    let excludes_one = r.ci.is_some_and(|(lo, hi)| lo > 1.0 || hi < 1.0);
                    assert_eq!(
                        r.significant(),
                        excludes_one,
                        "n={n} shift={shift} confidence={confidence}: p={} ci={:?}",
                        r.p,
                        r.ci
                    );
                }
            }
        }
    }

    #[test]
    fn swapping_the_cells_inverts_the_ratio() {
        let mut u = noise(3);
        let a: Vec<f64> = (0..10).map(|_| 100.0 + 20.0 * u()).collect();
        let b: Vec<f64> = (0..10).map(|_| 110.0 + 20.0 * u()).collect();
        let (ca, cb) = (cell("a", &a), cell("b", &b));
        let ab = paired_ratio(&ca, &cb, Metric::NsPerOp, 0.95);
        let ba = paired_ratio(&cb, &ca, Metric::NsPerOp, 0.95);
        assert!((ab.median * ba.median - 1.0).abs() < 1e-12);
        let ((lo1, hi1), (lo2, hi2)) = (ab.ci.expect("10 pairs"), ba.ci.expect("10 pairs"));
        assert!((lo1 * hi2 - 1.0).abs() < 1e-12 && (hi1 * lo2 - 1.0).abs() < 1e-12);
        assert_eq!(ab.p, ba.p);
    }

    #[test]
    fn pairing_sees_through_drift_that_hides_the_difference_from_mann_whitney() {
        // The machine's speed swings by 3x between rounds; b is 5% slower
        // than a in every round, give or take 1%.
        let drift = [1.0, 1.5, 0.8, 1.2, 2.4, 0.9, 1.1, 1.3, 0.7, 1.6];
        let mut u = noise(11);
        let a: Vec<f64> = drift.iter().map(|d| 100.0 * d).collect();
        let b: Vec<f64> = drift
            .iter()
            .map(|d| 105.0 * d * (0.99 + 0.02 * u()))
            .collect();
        match mann_whitney(&a, &b, 0.05) {
            Significance::P(p) => assert!(p > 0.5, "unpaired p = {p}"),
            other => panic!("{other:?}"),
        }
        let r = paired_ratio(&cell("a", &a), &cell("b", &b), Metric::NsPerOp, 0.95);
        assert_eq!(r.n, 10);
        assert_eq!(r.verdict(1.0), Verdict::Above);
        assert_eq!(r.verdict(1.02), Verdict::Above);
        assert_eq!(r.verdict(1.1), Verdict::Below);
        assert!((r.p - 2.0 / 1024.0).abs() < 1e-12);
        // The same cells read as ops/s: the ratio inverts.
        let ops = paired_ratio(&cell("a", &a), &cell("b", &b), Metric::OpsPerSec, 0.95);
        assert!((ops.median * r.median - 1.0).abs() < 1e-9);
        assert_eq!(ops.verdict(1.0), Verdict::Below);
    }

    #[test]
    fn samples_pair_by_round_not_by_position() {
        let mut a = cell("a", &[100.0, 200.0, 300.0, 400.0]);
        let mut b = cell("b", &[110.0, 220.0, 330.0, 440.0]);
        // b's samples in another order, a's round 3 missing from b, and a
        // round 7 only in b.
        b.samples.reverse();
        b.samples.retain(|s| s.rep != 3);
        b.samples[0].rep = 7;
        a.samples[1].ns_per_op = f64::NAN;
        let p = pair_by_round(&a, &b, Metric::NsPerOp);
        // Round 0 pairs; round 1 has a NaN; round 3 is missing from b; round
        // 2 of b was renamed 7.
        assert_eq!(p.pairs, vec![(0, 100.0, 110.0)]);
        assert_eq!(p.unpaired, (3, 2));
    }
}
