//! Statistics as benchstat does them: medians with order-statistic
//! confidence intervals, two-sided Mann-Whitney U tests, geometric means.
//!
//! Nothing here assumes a distribution: benchmark samples on a shared
//! machine are skewed and have outliers, and medians and ranks do not care.
//!
//! Beyond benchstat: [`paired`] compares two stores of one run round by
//! round (the ratio of their samples of the same repetition, which cancels
//! whatever the machine did that round), and [`multiple`] corrects the
//! p-values of many rows tested at once (Holm, Benjamini-Hochberg).
//! [`scaling`] reads one store across thread counts: the speed-up of each
//! over one thread, paired by round, and a fit of the Universal Scalability
//! Law (contention σ, coherency κ, the peak thread count).

pub mod compare;
mod error;
pub mod multiple;
pub mod paired;
pub mod scaling;

pub use error::CompareError;
pub use scaling::{
    Speedup, USL_MIN_THREAD_COUNTS, UslError, UslFit, UslInput, fit_usl, fit_usl_store, speedup,
    speedup_over_store, speedups, usl_points,
};

use statrs::distribution::{Binomial, ContinuousCDF, DiscreteCDF, Gamma, Normal};

/// The median and a confidence interval for it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    pub n: usize,
    pub median: f64,
    /// The interval, when enough samples exist for one at the asked level.
    pub ci: Option<(f64, f64)>,
}

impl Summary {
    /// Half the CI's width as a fraction of the median (benchstat's `±x%`).
    pub fn ci_half_width_pct(&self) -> Option<f64> {
        let (lo, hi) = self.ci?;
        (self.median != 0.0).then(|| (hi - lo) / 2.0 / self.median.abs() * 100.0)
    }
}

/// The median of `xs` (the mean of the middle two for an even count).
pub fn median(xs: &[f64]) -> f64 {
    let mut v = sorted(xs);
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        let hi = v.swap_remove(n / 2);
        (v[n / 2 - 1] + hi) / 2.0
    }
}

fn sorted(xs: &[f64]) -> Vec<f64> {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

/// Median and a distribution-free confidence interval at `confidence`
/// (benchstat uses 0.95): the interval between the k-th smallest and k-th
/// largest samples, with k the largest rank whose binomial tail stays within
/// (1 - confidence) / 2. Six samples is the fewest for a 95% interval.
pub fn summarize(xs: &[f64], confidence: f64) -> Summary {
    let n = xs.len();
    let v = sorted(xs);
    Summary {
        n,
        median: median(xs),
        ci: ci_rank(n, confidence).map(|k| (v[k - 1], v[n - k])),
    }
}

/// The rank k of the order-statistic interval for the median of `n`
/// samples at `confidence`: the interval runs from the k-th smallest to the
/// k-th largest sample. k is the largest rank with P(X <= k-1) <= alpha/2
/// for X ~ Binomial(n, 1/2), which makes the coverage at least `confidence`
/// for any continuous distribution. `None` when even the extremes do not
/// reach it (fewer than six samples at 95%).
pub fn ci_rank(n: usize, confidence: f64) -> Option<usize> {
    let alpha = 1.0 - confidence;
    let binomial = (n >= 1)
        .then(|| Binomial::new(0.5, n as u64).ok())
        .flatten()?;
    // P(X <= k-1) <= alpha/2: the k-th order statistic bounds the median.
    let mut k = 0usize;
    while k < n / 2 && binomial.cdf(k as u64) <= alpha / 2.0 {
        k += 1;
    }
    (k >= 1).then_some(k)
}

/// The outcome of comparing two sets of samples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Significance {
    /// The two-sided Mann-Whitney U p-value.
    P(f64),
    /// Too few samples for any difference to be significant at this alpha.
    TooFew { need: usize },
}

/// The smallest two-sided p-value Mann-Whitney U can reach with n1 and n2
/// samples and no ties: 2 / C(n1 + n2, n1).
pub fn min_p(n1: usize, n2: usize) -> f64 {
    let mut c = 1.0f64;
    for i in 0..n1 {
        c = c * (n2 + n1 - i) as f64 / (i + 1) as f64;
    }
    2.0 / c
}

/// Two-sided Mann-Whitney U test of `a` against `b`, or why it cannot say
/// anything at `alpha`.
///
/// Computed here rather than by statrs 0.19.1, whose exact two-sided
/// p-value is wrong (it returns 1.0 for two perfectly separated samples of
/// six; see DECISIONS.md). The method follows scipy's `mannwhitneyu` with
/// `method="auto"`: the exact distribution of U when there are no ties and
/// either sample has at most 8 values, otherwise the normal approximation
/// with tie correction and continuity correction. The tests pin values
/// computed by scipy.
pub fn mann_whitney(a: &[f64], b: &[f64], alpha: f64) -> Significance {
    if a.is_empty() || b.is_empty() || min_p(a.len(), b.len()) > alpha {
        // How many per side would make significance possible.
        let need = (1..=64).find(|n| min_p(*n, *n) <= alpha).unwrap_or(64);
        return Significance::TooFew { need };
    }
    Significance::P(mann_whitney_p(a, b))
}

/// The two-sided p-value (see [`mann_whitney`]).
pub fn mann_whitney_p(a: &[f64], b: &[f64]) -> f64 {
    let (n1, n2) = (a.len(), b.len());
    let n = n1 + n2;
    // Midranks of the pooled sample, and the sizes of tied groups.
    let mut pooled: Vec<(f64, bool)> = a
        .iter()
        .map(|x| (*x, true))
        .chain(b.iter().map(|x| (*x, false)))
        .collect();
    pooled.sort_by(|x, y| x.0.total_cmp(&y.0));
    let mut rank_sum_a = 0.0;
    let mut tie_term = 0.0;
    let mut ties = false;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && pooled[j + 1].0 == pooled[i].0 {
            j += 1;
        }
        let group = (j - i + 1) as f64;
        let midrank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum_a += midrank * pooled[i..=j].iter().filter(|p| p.1).count() as f64;
        if j > i {
            ties = true;
            tie_term += group * group * group - group;
        }
        i = j + 1;
    }
    let u1 = rank_sum_a - (n1 * (n1 + 1)) as f64 / 2.0;
    let u = u1.max((n1 * n2) as f64 - u1);
    let p = if !ties && (n1 <= 8 || n2 <= 8) {
        2.0 * exact_u_sf(u as usize, n1, n2)
    } else {
        let mean = (n1 * n2) as f64 / 2.0;
        let nf = n as f64;
        let var = (n1 * n2) as f64 / 12.0 * ((nf + 1.0) - tie_term / (nf * (nf - 1.0)));
        if var <= 0.0 {
            return 1.0;
        }
        let z = (u - mean - 0.5) / var.sqrt();
        let normal = Normal::standard();
        2.0 * normal.sf(z)
    };
    p.clamp(0.0, 1.0)
}

/// P(U >= u) under the null hypothesis, for sample sizes n1 and n2 without
/// ties: counts of arrangements by U, through the recurrence
/// f(m, n, u) = f(m - 1, n, u - n) + f(m, n - 1, u).
fn exact_u_sf(u: usize, n1: usize, n2: usize) -> f64 {
    let max_u = n1 * n2;
    // counts[m][k][u] built up over m and k; keep two layers of m.
    let mut prev: Vec<Vec<f64>> = (0..=n2)
        .map(|_| {
            let mut v = vec![0.0; max_u + 1];
            v[0] = 1.0;
            v
        })
        .collect();
    for m in 1..=n1 {
        let mut cur: Vec<Vec<f64>> = vec![vec![0.0; max_u + 1]; n2 + 1];
        cur[0][0] = 1.0;
        for k in 1..=n2 {
            for x in 0..=m * k {
                let with_top_from_a = if x >= k { prev[k][x - k] } else { 0.0 };
                cur[k][x] = with_top_from_a + cur[k - 1][x];
            }
        }
        prev = cur;
    }
    let counts = &prev[n2];
    let total: f64 = counts.iter().sum();
    counts[u.min(max_u)..].iter().sum::<f64>() / total
}

/// The geometric mean of positive values; `None` if any is not positive.
pub fn geomean(xs: &[f64]) -> Option<f64> {
    if xs.is_empty() || xs.iter().any(|x| x.is_nan() || *x <= 0.0) {
        return None;
    }
    Some((xs.iter().map(|x| x.ln()).sum::<f64>() / xs.len() as f64).exp())
}

/// The one-sided upper confidence bound of a Poisson mean, given `k`
/// events counted (Garwood's exact bound: the `confidence` quantile of a
/// Gamma(k + 1, 1)). For k = 0 at 95% it is about 3.0: no event seen still
/// leaves room for about three.
pub fn poisson_upper(k: u64, confidence: f64) -> f64 {
    Gamma::new(k as f64 + 1.0, 1.0)
        .map(|g| g.inverse_cdf(confidence))
        .unwrap_or(f64::INFINITY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn ci_needs_six_samples_and_uses_extremes_at_six() {
        let five = summarize(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.95);
        assert_eq!(five.ci, None, "5 samples cannot give a 95% interval");
        let six = summarize(&[6.0, 1.0, 5.0, 2.0, 4.0, 3.0], 0.95);
        assert_eq!(six.ci, Some((1.0, 6.0)));
        assert_eq!(six.median, 3.5);
        // With 10 samples benchstat's interval is the 2nd..9th values.
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(summarize(&ten, 0.95).ci, Some((2.0, 9.0)));
    }

    #[test]
    fn ci_half_width_is_a_percentage_of_the_median() {
        let s = summarize(&[90.0, 95.0, 100.0, 100.0, 105.0, 110.0], 0.95);
        assert_eq!(s.ci_half_width_pct(), Some(10.0));
    }

    #[test]
    fn mann_whitney_separates_clear_differences_and_not_noise() {
        let a = [10.0, 11.0, 10.5, 10.2, 10.8, 10.1];
        let b = [20.0, 21.0, 20.5, 20.2, 20.8, 20.1];
        match mann_whitney(&a, &b, 0.05) {
            Significance::P(p) => assert!(p < 0.01, "p = {p}"),
            other => panic!("{other:?}"),
        }
        let c = [10.0, 11.0, 10.5, 10.2, 10.8, 10.1];
        let d = [10.3, 10.9, 10.4, 10.6, 10.7, 10.0];
        match mann_whitney(&c, &d, 0.05) {
            Significance::P(p) => assert!(p > 0.05, "p = {p}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn p_values_match_scipy() {
        // Each expected value is scipy.stats.mannwhitneyu(x, y).pvalue.
        let cases: [(&[f64], &[f64], f64); 6] = [
            (
                &[10.0, 11.0, 10.5, 10.2, 10.8, 10.1],
                &[20.0, 21.0, 20.5, 20.2, 20.8, 20.1],
                0.0021645021645021645,
            ),
            (
                &[1.0, 2.0, 3.0, 4.0],
                &[5.0, 6.0, 7.0, 8.0],
                0.02857142857142857,
            ),
            (
                &[19.0, 22.0, 16.0, 29.0, 24.0],
                &[20.0, 11.0, 17.0, 12.0],
                0.1111111111111111,
            ),
            (
                &[10.0, 11.0, 10.5, 10.2, 10.8, 10.1],
                &[10.3, 10.9, 10.4, 10.6, 10.7, 10.0],
                0.8725590308923818,
            ),
            (
                &[1.0, 2.0, 2.0, 3.0, 3.0, 3.0],
                &[3.0, 4.0, 4.0, 5.0, 5.0, 6.0],
                0.008732768512539242,
            ),
            (
                &[
                    0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0,
                    15.0, 16.0, 17.0, 18.0, 19.0,
                ],
                &[
                    5.5, 6.5, 7.5, 8.5, 9.5, 10.5, 11.5, 12.5, 13.5, 14.5, 15.5, 16.5, 17.5, 18.5,
                    19.5, 20.5, 21.5, 22.5, 23.5, 24.5,
                ],
                0.010581211443165648,
            ),
        ];
        for (x, y, want) in cases {
            let got = mann_whitney_p(x, y);
            assert!(
                (got - want).abs() < 1e-9,
                "{x:?} vs {y:?}: got {got}, scipy {want}"
            );
            assert!(
                (mann_whitney_p(y, x) - want).abs() < 1e-9,
                "the test is symmetric"
            );
        }
    }

    #[test]
    fn too_few_samples_are_reported_not_tested() {
        assert_eq!(
            mann_whitney(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0], 0.05),
            Significance::TooFew { need: 4 }
        );
        // 4 vs 4 can reach p = 2/70 < 0.05.
        assert!(matches!(
            mann_whitney(&[1.0, 2.0, 3.0, 4.0], &[5.0, 6.0, 7.0, 8.0], 0.05),
            Significance::P(_)
        ));
        assert!((min_p(4, 4) - 2.0 / 70.0).abs() < 1e-12);
    }

    #[test]
    fn geomeans() {
        assert!((geomean(&[1.0, 4.0]).expect("positive") - 2.0).abs() < 1e-12);
        assert_eq!(geomean(&[1.0, 0.0]), None);
        assert_eq!(geomean(&[]), None);
    }

    #[test]
    fn poisson_upper_bounds_match_the_tables() {
        // Garwood's one-sided 95% upper limits, half the chi-square 0.95
        // quantile with 2(k + 1) degrees of freedom (standard tables: 5.991,
        // 9.488, 33.924): 2.996 for 0 events, 4.744 for 1, 16.96 for 10.
        assert!((poisson_upper(0, 0.95) - 2.996).abs() < 0.01);
        assert!((poisson_upper(1, 0.95) - 4.744).abs() < 0.01);
        assert!((poisson_upper(10, 0.95) - 16.962).abs() < 0.01);
    }
}
