//! The verdict rules: every verdict in DECISIONS.md is one of these functions
//! applied to paired ratios from one run, never a judgment typed by hand.
//!
//! A rule sees the ratio's interval, not only its median: a claim "X is at
//! least T times as fast" holds when the whole interval lies above T, does
//! not hold when the whole interval lies below T, and is inconclusive when
//! the interval contains T, whatever side the median falls on. A claim that
//! needs more rounds than the run has, or a machine this lab does not have
//! (14 cores), is untestable here, and says why.
//!
//! Ratios are `slow / fast` of ns/op as the claim states them: a ratio of
//! 2.0 reads "the claimed-faster store is 2x as fast".

use storelab_stats::paired::{PairedRatio, Verdict};

/// What a rule concluded.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The data support the claim at the stated confidence.
    Holds,
    /// The data contradict the claim at the stated confidence.
    DoesNotHold,
    /// The interval contains the claim's threshold: the data cannot tell.
    Inconclusive,
    /// The claim cannot be tested on this run or machine; the reason.
    Untestable(String),
    /// Conclusive at every thread count, but not the same at all of them:
    /// the claim depends on the thread count.
    Mixed,
}

impl Outcome {
    /// The verdict's opening words, in bold.
    pub fn label(&self) -> String {
        match self {
            Outcome::Holds => "**holds**".into(),
            Outcome::DoesNotHold => "**does not hold**".into(),
            Outcome::Inconclusive => "**inconclusive**".into(),
            Outcome::Untestable(why) => format!("**untestable here** ({why})"),
            Outcome::Mixed => "**depends on the thread count**".into(),
        }
    }
}

fn too_few(pairs: usize, need: usize) -> Outcome {
    Outcome::Untestable(format!(
        "{pairs} paired rounds give no interval at this confidence; {need} are needed"
    ))
}

/// "The claimed-faster store is at least `factor` times as fast", judged on
/// the ratio slow/fast: holds when the interval's lower bound exceeds
/// `factor`, does not hold when its upper bound is under it.
pub fn at_least(ratio: &PairedRatio, factor: f64) -> Outcome {
    match ratio.verdict(factor) {
        Verdict::Above => Outcome::Holds,
        Verdict::Below => Outcome::DoesNotHold,
        Verdict::Inconclusive => Outcome::Inconclusive,
        Verdict::TooFew { pairs, need } => too_few(pairs, need),
    }
}

/// The most misses per million operations that a live key space may show
/// and still be "near zero" (issue 12): a thousandth of a percent. Misses
/// then are races with deletes in flight, not a key space drifting into
/// deleted ids (which missed millions of times).
pub const NEAR_ZERO_MISSES_PER_MILLION: f64 = 10.0;

/// Whether a cell's misses are near zero, judged on the one-sided 95% upper
/// bound of its miss rate (the count is Poisson), not on the count seen: a
/// cell holds when even that bound is at most
/// [`NEAR_ZERO_MISSES_PER_MILLION`]. A cell too short to bound the rate that
/// low does not hold.
pub fn misses_near_zero(misses: u64, ops: u64) -> bool {
    ops > 0
        && storelab_stats::poisson_upper(misses, 0.95) * 1e6 / ops as f64
            <= NEAR_ZERO_MISSES_PER_MILLION
}

/// Whether one store's sweep knees lie wholly above another's: the lowest
/// knee of the leader's rounds above the highest of the runner-up's (the
/// ladder is coarse and the rounds few, so the rule asks for no overlap
/// rather than an interval).
pub fn knee_apart(leader_lowest: f64, runner_up_highest: f64) -> bool {
    leader_lowest > runner_up_highest
}

/// "The measured ratio is at most `bound`" (a projection's upper bound, such
/// as a speed-up the USL allowed): holds when the whole interval lies at or
/// under the bound, does not hold when it lies wholly above it.
pub fn at_most(ratio: &PairedRatio, bound: f64) -> Outcome {
    match ratio.ci {
        Some((_, hi)) if hi <= bound => Outcome::Holds,
        Some((lo, _)) if lo > bound => Outcome::DoesNotHold,
        Some(_) => Outcome::Inconclusive,
        None => too_few(ratio.n, storelab_stats::paired::min_pairs(ratio.confidence)),
    }
}

/// "The claimed-faster store is faster": [`at_least`] with factor 1.
pub fn faster(ratio: &PairedRatio) -> Outcome {
    at_least(ratio, 1.0)
}

/// "The two are within `tolerance` of each other" (an equivalence claim,
/// such as "no difference"): holds when the whole interval lies within
/// [1/(1+tolerance), 1+tolerance], does not hold when the whole interval lies
/// outside it on one side.
pub fn within(ratio: &PairedRatio, tolerance: f64) -> Outcome {
    let (hi, lo) = (1.0 + tolerance, 1.0 / (1.0 + tolerance));
    match (ratio.verdict(hi), ratio.verdict(lo)) {
        (Verdict::TooFew { pairs, need }, _) => too_few(pairs, need),
        (Verdict::Above, _) | (_, Verdict::Below) => Outcome::DoesNotHold,
        (Verdict::Below, Verdict::Above) => Outcome::Holds,
        _ => Outcome::Inconclusive,
    }
}

/// A claim whose size needs more cores than this machine has: the direction
/// is judged by [`faster`], the size is untestable.
pub fn direction_only(ratio: &PairedRatio, needs: &str) -> (Outcome, Outcome) {
    (faster(ratio), Outcome::Untestable(needs.to_owned()))
}

/// Combines the outcomes of one claim at several thread counts: holds where
/// every one holds, does not hold where every one does not, depends on the
/// thread count where each is conclusive but they differ, and is
/// inconclusive otherwise; untestable if any is.
pub fn everywhere(outcomes: &[Outcome]) -> Outcome {
    if let Some(u) = outcomes
        .iter()
        .find(|o| matches!(o, Outcome::Untestable(_)))
    {
        return u.clone();
    }
    if outcomes.is_empty() {
        return Outcome::Untestable("no thread count measured both stores".into());
    }
    if outcomes.iter().all(|o| *o == Outcome::Holds) {
        Outcome::Holds
    } else if outcomes.iter().all(|o| *o == Outcome::DoesNotHold) {
        Outcome::DoesNotHold
    } else if outcomes
        .iter()
        .all(|o| matches!(o, Outcome::Holds | Outcome::DoesNotHold))
    {
        Outcome::Mixed
    } else {
        Outcome::Inconclusive
    }
}

/// A claim "at every thread count" (a conjunction): does not hold as soon as
/// one thread count does not, holds when all do, and is otherwise
/// inconclusive (or untestable, if one is).
pub fn all_of(outcomes: &[Outcome]) -> Outcome {
    if outcomes.contains(&Outcome::DoesNotHold) {
        return Outcome::DoesNotHold;
    }
    match everywhere(outcomes) {
        Outcome::Mixed => Outcome::Inconclusive,
        o => o,
    }
}

/// "`a` counts more than `b`", judged on deterministic counts (cachegrind's
/// simulated cache) repeated a few times: each side is the (lowest, highest)
/// over its runs, which differ only where valgrind's thread scheduling
/// varies. Holds when every run of `a` is above every run of `b`, does not
/// hold when every run of `a` is below every run of `b`, and is inconclusive
/// when the ranges meet.
pub fn counts_above(a: (f64, f64), b: (f64, f64)) -> Outcome {
    if a.0 > b.1 {
        Outcome::Holds
    } else if a.1 < b.0 {
        Outcome::DoesNotHold
    } else {
        Outcome::Inconclusive
    }
}

/// "`a` is at most `limit`" on repeated counts (lowest, highest): holds when
/// every run is, does not hold when no run is.
pub fn counts_at_most(a: (f64, f64), limit: f64) -> Outcome {
    if a.1 <= limit {
        Outcome::Holds
    } else if a.0 > limit {
        Outcome::DoesNotHold
    } else {
        Outcome::Inconclusive
    }
}

/// A claim's stated arithmetic checked against its own figures (the log's
/// `58x` is 603.1/60.36 = 10.0x). Returns the recomputed ratio and whether
/// the stated one is within 10% of it.
pub fn arithmetic(numerator: f64, denominator: f64, stated: f64) -> (f64, bool) {
    let actual = numerator / denominator;
    (actual, (actual / stated - 1.0).abs() <= 0.10)
}

#[cfg(test)]
mod tests {
    use super::*;
    use storelab_stats::paired::ratio_summary;

    #[test]
    fn counts_compare_every_run() {
        assert_eq!(counts_above((11.0, 11.4), (3.7, 3.7)), Outcome::Holds);
        assert_eq!(counts_above((3.0, 3.2), (3.7, 3.9)), Outcome::DoesNotHold);
        assert_eq!(counts_above((3.5, 4.0), (3.7, 3.7)), Outcome::Inconclusive);
        assert_eq!(counts_above((3.7, 3.7), (3.7, 3.7)), Outcome::Inconclusive);
        assert_eq!(counts_at_most((0.2, 0.4), 1.0), Outcome::Holds);
        assert_eq!(counts_at_most((3.7, 3.7), 1.0), Outcome::DoesNotHold);
        assert_eq!(counts_at_most((0.9, 1.2), 1.0), Outcome::Inconclusive);
        assert_eq!(counts_at_most((1.0, 1.0), 1.0), Outcome::Holds);
    }

    /// 20 rounds of ratios spread around `center` by up to `spread`.
    fn ratios(center: f64, spread: f64) -> PairedRatio {
        let v: Vec<f64> = (0..20)
            .map(|i| center * (1.0 + spread * (i as f64 / 19.0 - 0.5)))
            .collect();
        ratio_summary(&v, 0.95)
    }

    #[test]
    fn at_most_a_bound_uses_the_whole_interval() {
        // 20 rounds around 3.5 (3.15-3.85): under 4, over 3, across 3.5.
        assert_eq!(at_most(&ratios(3.5, 0.2), 4.0), Outcome::Holds);
        assert_eq!(at_most(&ratios(3.5, 0.2), 3.0), Outcome::DoesNotHold);
        assert_eq!(at_most(&ratios(3.5, 0.2), 3.5), Outcome::Inconclusive);
        // Too few rounds for an interval: untestable, whatever the median.
        let few = ratio_summary(&[3.0, 3.1, 3.2], 0.95);
        assert!(matches!(at_most(&few, 4.0), Outcome::Untestable(_)));
    }

    #[test]
    fn knees_are_apart_only_without_overlap() {
        assert!(knee_apart(12_000.0, 9_800.0));
        assert!(!knee_apart(9_800.0, 9_800.0));
        assert!(!knee_apart(9_000.0, 12_000.0));
    }

    #[test]
    fn misses_are_near_zero_when_their_upper_bound_is() {
        // None in ten million: the bound is 0.3 per million.
        assert!(misses_near_zero(0, 10_000_000));
        // 50 in ten million is 5 per million; the bound, about 6.4, holds.
        assert!(misses_near_zero(50, 10_000_000));
        // 95 in ten million is 9.5 seen, but the bound is above 10.
        assert!(!misses_near_zero(95, 10_000_000));
        // None in 100,000 operations cannot bound the rate under 10.
        assert!(!misses_near_zero(0, 100_000));
        // The fixed key space's write-heavy cells missed millions.
        assert!(!misses_near_zero(3_000_000, 10_000_000));
        assert!(!misses_near_zero(0, 0));
    }

    #[test]
    fn at_least_holds_fails_or_cannot_tell() {
        assert_eq!(at_least(&ratios(2.0, 0.1), 1.5), Outcome::Holds);
        assert_eq!(at_least(&ratios(1.2, 0.1), 1.5), Outcome::DoesNotHold);
        // The median is above the threshold, but the interval straddles it.
        let wide = ratios(1.55, 0.6);
        assert!(wide.median > 1.5);
        assert_eq!(at_least(&wide, 1.5), Outcome::Inconclusive);
    }

    #[test]
    fn too_few_rounds_are_untestable() {
        let few = ratio_summary(&[2.0, 2.1, 1.9], 0.95);
        assert!(matches!(at_least(&few, 1.5), Outcome::Untestable(_)));
        assert!(matches!(within(&few, 0.05), Outcome::Untestable(_)));
    }

    #[test]
    fn within_is_an_equivalence_test() {
        assert_eq!(within(&ratios(1.0, 0.02), 0.05), Outcome::Holds);
        assert_eq!(within(&ratios(1.3, 0.05), 0.05), Outcome::DoesNotHold);
        assert_eq!(within(&ratios(0.7, 0.05), 0.05), Outcome::DoesNotHold);
        assert_eq!(within(&ratios(1.0, 0.3), 0.05), Outcome::Inconclusive);
    }

    #[test]
    fn everywhere_needs_every_thread_count() {
        use Outcome::*;
        assert_eq!(everywhere(&[Holds, Holds]), Holds);
        assert_eq!(everywhere(&[DoesNotHold, DoesNotHold]), DoesNotHold);
        assert_eq!(everywhere(&[Holds, DoesNotHold]), Mixed);
        assert_eq!(everywhere(&[Holds, Inconclusive]), Inconclusive);
        assert!(matches!(
            everywhere(&[Holds, Untestable("x".into())]),
            Untestable(_)
        ));
        assert!(matches!(everywhere(&[]), Untestable(_)));
    }

    #[test]
    fn all_of_is_a_conjunction() {
        use Outcome::*;
        assert_eq!(all_of(&[Holds, DoesNotHold]), DoesNotHold);
        assert_eq!(all_of(&[Inconclusive, DoesNotHold]), DoesNotHold);
        assert_eq!(all_of(&[Holds, Holds]), Holds);
        assert_eq!(all_of(&[Holds, Inconclusive]), Inconclusive);
    }

    #[test]
    fn direction_is_judged_and_size_is_not() {
        let (dir, size) = direction_only(&ratios(2.0, 0.1), "14 cores");
        assert_eq!(dir, Outcome::Holds);
        assert!(matches!(size, Outcome::Untestable(ref w) if w == "14 cores"));
    }

    #[test]
    fn the_logs_arithmetic_is_rechecked() {
        let (x, ok) = arithmetic(603.1, 60.36, 58.0);
        assert!((x - 9.99).abs() < 0.01 && !ok);
        assert!(arithmetic(666.1, 11.57, 57.0).1);
    }

    #[test]
    fn labels_name_the_outcome() {
        assert_eq!(Outcome::Holds.label(), "**holds**");
        assert!(
            Outcome::Untestable("2 cores".into())
                .label()
                .contains("2 cores")
        );
    }
}
