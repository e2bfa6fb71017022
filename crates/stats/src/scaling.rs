//! Scaling with threads: each thread count's speed-up over one thread, round
//! by round, and a fit of the Universal Scalability Law to the throughputs.
//!
//! **Speed-up.** A store's speed-up at T threads is its throughput at T over
//! its throughput at one thread: ns/op at 1 over ns/op at T, since ns/op is
//! wall time over all threads' operations. Above 1 the extra threads bought
//! throughput; T is perfect scaling. The (store, 1) and (store, T) cells of
//! one round ran seconds apart, like any two cells of a round (see
//! [`crate::paired`]), so the speed-up is formed round by round, and a round
//! in which the whole machine ran slow cancels out instead of widening both
//! cells' intervals. The median, interval and sign test are
//! [`paired_ratio`]'s, with no method of their own: the order-statistic
//! interval, exact at every number of rounds. Only rounds that both cells
//! measured count. The same ratio between two stores at one thread count is
//! [`speedup_over_store`].
//!
//! **Universal Scalability Law** (Gunther, *Guerrilla Capacity Planning*,
//! 2007): X(N) = λN / (1 + σ(N - 1) + κN(N - 1)). λ is the throughput of one
//! thread; σ the share of the work that is serialized (contention: a lock,
//! one shared counter), which caps throughput at λ/σ; κ the cost of keeping
//! threads coherent (crosstalk: cache lines bouncing between every pair of
//! cores), which bends the curve down past its peak at N* = √((1 - σ)/κ).
//! Two numbers say why a store stops scaling, where a table of speed-ups
//! only says that it does.
//!
//! **The fit** minimizes the squared residuals of ln X, that is of relative
//! errors: benchmark noise is multiplicative (a noisy round is some percent
//! off, at any throughput), and on the absolute scale the largest
//! throughputs would outweigh the rest. R² is reported on the same log
//! scale. Given σ and κ the best ln λ is the mean of ln X - ln(N/D(N)) (D the
//! denominator), so λ is solved in closed form and the search has two
//! dimensions. It is a Levenberg-Marquardt search held to σ, κ >= 0 (a
//! parameter at its bound is freed only when the cost falls inward; a step
//! that crosses the bound is clipped to it), started from the three best
//! points of a fixed grid of (σ, κ), the best end kept. Nothing is random:
//! the same points give the same fit, digit for digit. It needs at least
//! [`USL_MIN_THREAD_COUNTS`] distinct thread counts: three parameters fitted
//! to three points always fit, and say nothing.
//!
//! Read the fit for what it is. At 4 to 6 thread counts, σ and κ trade off
//! against each other, and a few percent of noise moves each more than the
//! other; the peak is an extrapolation past the largest count measured.
//! Threads beyond the machine's cores measure time slicing, which the law
//! reads as contention: fit only the counts up to the cores, or read σ as
//! the machine's and not the store's.

use std::fmt;

use storelab_results::{Metric, RunFile};

use crate::median;
use crate::paired::{PairedRatio, paired_ratio};

/// One store's speed-up at a thread count over one thread.
#[derive(Clone, Debug, PartialEq)]
pub struct Speedup {
    pub store: String,
    pub threads: usize,
    /// The per-round ratio ns/op at one thread over ns/op at `threads`
    /// (throughput at `threads` over throughput at one). Its `unpaired` is
    /// (samples of the `threads` cell, samples of the one-thread cell).
    pub ratio: PairedRatio,
}

impl Speedup {
    /// The median per-round speed-up; NaN without paired rounds.
    pub fn median(&self) -> f64 {
        self.ratio.median
    }

    /// The interval's lower bound; `None` with too few rounds for one.
    pub fn lo(&self) -> Option<f64> {
        self.ratio.ci.map(|(lo, _)| lo)
    }

    /// The interval's upper bound; `None` with too few rounds for one.
    pub fn hi(&self) -> Option<f64> {
        self.ratio.ci.map(|(_, hi)| hi)
    }

    /// Rounds that paired.
    pub fn n(&self) -> usize {
        self.ratio.n
    }

    /// The median speed-up per thread: 1 is perfect scaling.
    pub fn efficiency(&self) -> f64 {
        self.ratio.median / self.threads as f64
    }
}

/// `store`'s speed-up at `threads` over one thread, round by round, with its
/// interval at `confidence`; `None` when the run has no one-thread cell or
/// no `threads` cell of the store. At one thread it is 1 in every round.
pub fn speedup(run: &RunFile, store: &str, threads: usize, confidence: f64) -> Option<Speedup> {
    let one = run.cell(store, 1)?;
    let many = run.cell(store, threads)?;
    Some(Speedup {
        store: store.to_owned(),
        threads,
        ratio: paired_ratio(many, one, Metric::NsPerOp, confidence),
    })
}

/// [`speedup`] at every thread count `store` was measured at, ascending (one
/// thread included); `None` without a one-thread cell.
pub fn speedups(run: &RunFile, store: &str, confidence: f64) -> Option<Vec<Speedup>> {
    run.cell(store, 1)?;
    Some(
        run.thread_counts()
            .into_iter()
            .filter_map(|t| speedup(run, store, t, confidence))
            .collect(),
    )
}

/// Store `a` over store `b` at the same thread count, round by round: ns/op
/// of `b` over ns/op of `a`, so above 1 means `a` has the higher throughput,
/// read like a speed-up. This is [`paired_ratio`] of the two cells; `None`
/// when either cell is missing.
pub fn speedup_over_store(
    run: &RunFile,
    a: &str,
    b: &str,
    threads: usize,
    confidence: f64,
) -> Option<PairedRatio> {
    let (ca, cb) = (run.cell(a, threads)?, run.cell(b, threads)?);
    Some(paired_ratio(ca, cb, Metric::NsPerOp, confidence))
}

/// The fewest distinct thread counts [`fit_usl`] accepts.
pub const USL_MIN_THREAD_COUNTS: usize = 4;

/// Which throughputs of a store's cells a fit reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UslInput {
    /// One point per thread count: the median throughput of its rounds.
    Medians,
    /// One point per sample: every round weighs in, and a thread count with
    /// more rounds weighs more.
    Samples,
}

/// Why the law could not be fitted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum UslError {
    /// Fewer distinct thread counts than three parameters need to be tested.
    TooFewThreadCounts { distinct: usize, need: usize },
    /// A point with no threads, or a throughput that is not positive and
    /// finite.
    BadPoint { threads: usize, throughput: f64 },
}

impl fmt::Display for UslError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UslError::TooFewThreadCounts { distinct, need } => write!(
                f,
                "a scalability fit needs {need} distinct thread counts, and has {distinct}"
            ),
            UslError::BadPoint {
                threads,
                throughput,
            } => write!(
                f,
                "cannot fit throughput {throughput} at {threads} threads (need at least one \
                 thread and a positive, finite throughput)"
            ),
        }
    }
}

impl std::error::Error for UslError {}

/// The Universal Scalability Law fitted to (threads, throughput) points.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct UslFit {
    /// The modelled throughput of one thread, in the points' unit.
    pub lambda: f64,
    /// Contention: the serialized share of the work (>= 0).
    pub sigma: f64,
    /// Coherency: the pairwise crosstalk cost (>= 0).
    pub kappa: f64,
    /// The thread count of peak throughput, √((1 - σ)/κ); `None` when
    /// κ = 0 (throughput rises toward λ/σ without a peak) or σ >= 1
    /// (throughput never rises above one thread's).
    pub peak: Option<f64>,
    /// R² of ln X: the share of the variance of the log throughputs the fit
    /// explains. NaN when every point has the same throughput.
    pub r_squared_log: f64,
    /// The largest |X_observed / X_model - 1| over the points.
    pub max_rel_residual: f64,
    /// Points fitted, and how many distinct thread counts they have.
    pub points: usize,
    pub thread_counts: usize,
}

impl UslFit {
    /// The modelled throughput at `n` threads.
    pub fn throughput(&self, n: f64) -> f64 {
        model(self.lambda, self.sigma, self.kappa, n)
    }

    /// The modelled throughput at the peak, when there is one.
    pub fn peak_throughput(&self) -> Option<f64> {
        self.peak.map(|n| self.throughput(n))
    }
}

fn model(lambda: f64, sigma: f64, kappa: f64, n: f64) -> f64 {
    lambda * n / denominator(sigma, kappa, n)
}

fn denominator(sigma: f64, kappa: f64, n: f64) -> f64 {
    1.0 + sigma * (n - 1.0) + kappa * n * (n - 1.0)
}

/// `store`'s (threads, ops/s) points from `run`, ascending by threads: ops/s
/// is 1e9 over each sample's ns/op; samples whose ns/op is not positive and
/// finite are left out, and so is a cell with none left.
pub fn usl_points(run: &RunFile, store: &str, input: UslInput) -> Vec<(usize, f64)> {
    let mut out: Vec<(usize, f64)> = Vec::new();
    for cell in run.cells.iter().filter(|c| c.store == store) {
        let x: Vec<f64> = Metric::NsPerOp
            .values(cell)
            .into_iter()
            .filter(|ns| ns.is_finite() && *ns > 0.0)
            .map(|ns| 1e9 / ns)
            .collect();
        match input {
            UslInput::Medians if !x.is_empty() => out.push((cell.threads, median(&x))),
            UslInput::Medians => {}
            UslInput::Samples => out.extend(x.into_iter().map(|v| (cell.threads, v))),
        }
    }
    out.sort_by_key(|p| p.0);
    out
}

/// [`fit_usl`] of [`usl_points`]: `store`'s scalability in `run`, in ops/s.
pub fn fit_usl_store(run: &RunFile, store: &str, input: UslInput) -> Result<UslFit, UslError> {
    fit_usl(&usl_points(run, store, input))
}

/// Fits the Universal Scalability Law to (threads, throughput) points, in
/// any order, any number per thread count (see the module's documentation).
pub fn fit_usl(points: &[(usize, f64)]) -> Result<UslFit, UslError> {
    if let Some(&(threads, throughput)) = points
        .iter()
        .find(|(n, x)| *n == 0 || !x.is_finite() || *x <= 0.0)
    {
        return Err(UslError::BadPoint {
            threads,
            throughput,
        });
    }
    let mut counts: Vec<usize> = points.iter().map(|p| p.0).collect();
    counts.sort_unstable();
    counts.dedup();
    if counts.len() < USL_MIN_THREAD_COUNTS {
        return Err(UslError::TooFewThreadCounts {
            distinct: counts.len(),
            need: USL_MIN_THREAD_COUNTS,
        });
    }
    let d = Data {
        n: points.iter().map(|p| p.0 as f64).collect(),
        y: points.iter().map(|p| p.1.ln()).collect(),
    };
    let best = grid_starts(&d)
        .into_iter()
        .map(|start| refine(&d, start))
        .fold(None, |best: Option<([f64; 2], f64)>, theta| {
            let c = cost(&d, theta);
            match best {
                Some((_, bc)) if bc <= c => best,
                _ => Some((theta, c)),
            }
        })
        .map_or([0.0, 0.0], |(theta, _)| theta);
    Ok(summarize_fit(&d, best, counts.len()))
}

/// The points on the fit's scale: threads, and ln of the throughput.
struct Data {
    n: Vec<f64>,
    y: Vec<f64>,
}

/// ln λ at its best for (σ, κ), and the log residuals ln X - ln X_model.
fn profile(d: &Data, theta: [f64; 2]) -> (f64, Vec<f64>) {
    let z: Vec<f64> =
        d.n.iter()
            .zip(&d.y)
            .map(|(n, y)| y - n.ln() + denominator(theta[0], theta[1], *n).ln())
            .collect();
    let ln_lambda = z.iter().sum::<f64>() / z.len() as f64;
    (ln_lambda, z.iter().map(|z| z - ln_lambda).collect())
}

fn cost(d: &Data, theta: [f64; 2]) -> f64 {
    profile(d, theta).1.iter().map(|r| r * r).sum()
}

const GRID_SIGMA: [f64; 8] = [0.0, 1e-3, 1e-2, 0.03, 0.1, 0.3, 1.0, 3.0];
const GRID_KAPPA: [f64; 8] = [0.0, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1];

/// The three lowest-cost points of the fixed (σ, κ) grid, best first (grid
/// order among equals).
fn grid_starts(d: &Data) -> Vec<[f64; 2]> {
    let mut grid: Vec<([f64; 2], f64)> = GRID_SIGMA
        .iter()
        .flat_map(|s| GRID_KAPPA.iter().map(move |k| [*s, *k]))
        .map(|theta| (theta, cost(d, theta)))
        .collect();
    grid.sort_by(|a, b| a.1.total_cmp(&b.1));
    grid.into_iter().take(3).map(|(theta, _)| theta).collect()
}

/// The gradient Jᵀr and the Gauss-Newton matrix JᵀJ of the profiled log
/// residuals in (σ, κ), and the cost.
fn normal_equations(d: &Data, theta: [f64; 2]) -> ([f64; 2], [[f64; 2]; 2], f64) {
    let (_, r) = profile(d, theta);
    // dz/dσ = (N - 1)/D, dz/dκ = N(N - 1)/D; the residuals subtract their
    // mean, and so do the derivatives.
    let raw: Vec<[f64; 2]> =
        d.n.iter()
            .map(|n| {
                let den = denominator(theta[0], theta[1], *n);
                [(n - 1.0) / den, n * (n - 1.0) / den]
            })
            .collect();
    let m = raw.len() as f64;
    let mean = [
        raw.iter().map(|j| j[0]).sum::<f64>() / m,
        raw.iter().map(|j| j[1]).sum::<f64>() / m,
    ];
    let (mut g, mut h) = ([0.0; 2], [[0.0; 2]; 2]);
    for (j, ri) in raw.iter().zip(&r) {
        let jc = [j[0] - mean[0], j[1] - mean[1]];
        for a in 0..2 {
            g[a] += jc[a] * ri;
            for b in 0..2 {
                h[a][b] += jc[a] * jc[b];
            }
        }
    }
    (g, h, r.iter().map(|x| x * x).sum())
}

/// The damped step on the free parameters (a parameter at 0 whose gradient
/// points outward stays put): (H + μ diag H) δ = -g.
fn damped_step(g: [f64; 2], h: [[f64; 2]; 2], free: [bool; 2], mu: f64) -> [f64; 2] {
    let diag = |i: usize| h[i][i] * (1.0 + mu) + 1e-300;
    match free {
        [true, true] => {
            let (a, b, c, e) = (diag(0), h[0][1], h[1][0], diag(1));
            let det = a * e - b * c;
            if det.abs() > 0.0 && det.is_finite() {
                [(-g[0] * e + b * g[1]) / det, (c * g[0] - a * g[1]) / det]
            } else {
                [-g[0] / a, -g[1] / e]
            }
        }
        [true, false] => [-g[0] / diag(0), 0.0],
        [false, true] => [0.0, -g[1] / diag(1)],
        [false, false] => [0.0, 0.0],
    }
}

/// Levenberg-Marquardt from `start`, held to σ, κ >= 0.
fn refine(d: &Data, start: [f64; 2]) -> [f64; 2] {
    let mut theta = start;
    let mut mu = 1e-3;
    for _ in 0..500 {
        let (g, h, c) = normal_equations(d, theta);
        let free = [theta[0] > 0.0 || g[0] < 0.0, theta[1] > 0.0 || g[1] < 0.0];
        if free == [false, false] || c == 0.0 {
            break;
        }
        let mut improved = false;
        while mu < 1e12 {
            let step = damped_step(g, h, free, mu);
            let next = [(theta[0] + step[0]).max(0.0), (theta[1] + step[1]).max(0.0)];
            let nc = cost(d, next);
            if nc < c {
                theta = next;
                mu = (mu * 0.3).max(1e-12);
                improved = c - nc > 1e-15 * c;
                break;
            }
            mu *= 10.0;
        }
        if !improved {
            break;
        }
    }
    theta
}

fn summarize_fit(d: &Data, theta: [f64; 2], thread_counts: usize) -> UslFit {
    let (ln_lambda, r) = profile(d, theta);
    let [sigma, kappa] = theta;
    let mean_y = d.y.iter().sum::<f64>() / d.y.len() as f64;
    let ss_tot: f64 = d.y.iter().map(|y| (y - mean_y).powi(2)).sum();
    let ss_res: f64 = r.iter().map(|x| x * x).sum();
    UslFit {
        lambda: ln_lambda.exp(),
        sigma,
        kappa,
        peak: (kappa > 0.0 && sigma < 1.0).then(|| ((1.0 - sigma) / kappa).sqrt()),
        r_squared_log: if ss_tot > 0.0 {
            1.0 - ss_res / ss_tot
        } else {
            f64::NAN
        },
        max_rel_residual: r.iter().map(|x| x.exp_m1().abs()).fold(0.0, f64::max),
        points: d.n.len(),
        thread_counts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paired::Verdict;
    use storelab_results::Cell;
    use storelab_results::fixture::{cell, file};

    const WIDE: [usize; 6] = [1, 2, 4, 8, 16, 32];
    const NARROW: [usize; 5] = [1, 2, 4, 8, 16];
    /// ±3% multiplicative, fixed: no seed to change the answer.
    const NOISE: [f64; 6] = [1.03, 0.97, 0.98, 1.03, 0.97, 1.02];
    /// Another ±3%, one that bends the curves the other way.
    const NOISE_2: [f64; 6] = [0.97, 1.03, 1.03, 0.97, 1.03, 0.97];
    /// A machine whose speed swings by 3x from round to round.
    const DRIFT: [f64; 10] = [1.0, 1.5, 0.8, 1.2, 2.4, 0.9, 1.1, 1.3, 0.7, 1.6];

    fn curve(sigma: f64, kappa: f64, ns: &[usize], noise: &[f64]) -> Vec<(usize, f64)> {
        ns.iter()
            .enumerate()
            .map(|(i, n)| {
                let x = model(1e6, sigma, kappa, *n as f64);
                (*n, x * noise.get(i).copied().unwrap_or(1.0))
            })
            .collect()
    }

    fn threads_cell(store: &str, threads: usize, ns: &[f64]) -> Cell {
        let mut c = cell(store, ns);
        c.threads = threads;
        c
    }

    fn fit(points: &[(usize, f64)]) -> UslFit {
        match fit_usl(points) {
            Ok(f) => f,
            Err(e) => panic!("{points:?}: {e}"),
        }
    }

    const CASES: [(f64, f64); 4] = [(0.05, 0.001), (0.2, 0.0), (0.0, 0.01), (0.0, 0.0)];

    #[test]
    fn exact_curves_give_back_their_parameters() {
        for (sigma, kappa) in CASES {
            for ns in [&WIDE[..], &NARROW[..]] {
                let f = fit(&curve(sigma, kappa, ns, &[]));
                let what = format!("σ={sigma} κ={kappa} at {ns:?}: {f:?}");
                assert!((f.sigma - sigma).abs() < 1e-9, "{what}");
                assert!((f.kappa - kappa).abs() < 1e-11, "{what}");
                assert!((f.lambda / 1e6 - 1.0).abs() < 1e-9, "{what}");
                assert!(f.max_rel_residual < 1e-9, "{what}");
                assert!(f.r_squared_log > 1.0 - 1e-12, "{what}");
                assert_eq!((f.points, f.thread_counts), (ns.len(), ns.len()));
            }
        }
    }

    #[test]
    fn a_parameter_that_is_zero_is_fitted_as_exactly_zero() {
        assert_eq!(fit(&curve(0.2, 0.0, &WIDE, &[])).kappa, 0.0);
        assert_eq!(fit(&curve(0.0, 0.01, &WIDE, &[])).sigma, 0.0);
        let linear = fit(&curve(0.0, 0.0, &NARROW, &[]));
        assert_eq!((linear.sigma, linear.kappa), (0.0, 0.0));
    }

    #[test]
    fn three_percent_noise_moves_the_parameters_a_little() {
        // Measured: σ moves by at most 0.012, κ by 0.0005, λ by 0.8%.
        for (sigma, kappa) in CASES {
            for ns in [&WIDE[..], &NARROW[..]] {
                for noise in [NOISE, NOISE_2] {
                    let f = fit(&curve(sigma, kappa, ns, &noise));
                    let what = format!("σ={sigma} κ={kappa} at {ns:?} {noise:?}: {f:?}");
                    assert!((f.sigma - sigma).abs() < 0.02, "{what}");
                    assert!((f.kappa - kappa).abs() < 0.001, "{what}");
                    assert!((f.lambda / 1e6 - 1.0).abs() < 0.015, "{what}");
                    assert!(f.max_rel_residual < 0.05, "{what}");
                    assert!(f.r_squared_log > 0.99, "{what}");
                }
            }
        }
        // A peak inside the measured range survives the noise; one past it
        // (30.8 threads, measured up to 16) moves by a fifth.
        for noise in [NOISE, NOISE_2] {
            let inside = fit(&curve(0.0, 0.01, &NARROW, &noise)).peak;
            assert!(inside.is_some_and(|p| (p - 10.0).abs() < 0.2), "{inside:?}");
            let past = fit(&curve(0.05, 0.001, &NARROW, &noise)).peak;
            assert!(
                past.is_some_and(|p| (p / 30.82 - 1.0).abs() < 0.25),
                "{past:?}"
            );
        }
    }

    #[test]
    fn the_peak_is_where_the_curve_turns() {
        let f = fit(&curve(0.05, 0.001, &WIDE, &[]));
        let peak = f.peak.expect("κ > 0 and σ < 1");
        assert!((peak - (0.95f64 / 0.001).sqrt()).abs() < 1e-4, "{peak}");
        let top = f.peak_throughput().expect("a peak");
        assert!(top > f.throughput(peak - 1.0) && top > f.throughput(peak + 1.0));
        let f = fit(&curve(0.0, 0.01, &NARROW, &[]));
        assert!((f.peak.expect("a peak") - 10.0).abs() < 1e-5, "{f:?}");
        // No coherency cost: throughput only approaches λ/σ.
        assert_eq!(fit(&curve(0.2, 0.0, &WIDE, &[])).peak, None);
        assert_eq!(fit(&curve(0.0, 0.0, &WIDE, &[])).peak, None);
        // Past σ = 1 no thread count beats one thread.
        let worse = fit(&curve(1.5, 0.001, &WIDE, &[]));
        assert!(
            (worse.sigma - 1.5).abs() < 1e-9 && worse.peak.is_none(),
            "{worse:?}"
        );
    }

    #[test]
    fn fewer_than_four_thread_counts_or_bad_points_are_refused() {
        // Many points, but only three thread counts.
        let mut three = curve(0.1, 0.001, &[1, 2, 4], &[]);
        three.extend(curve(0.1, 0.001, &[1, 2, 4], &NOISE));
        let refused = UslError::TooFewThreadCounts {
            distinct: 3,
            need: 4,
        };
        assert_eq!(fit_usl(&three), Err(refused));
        assert!(refused.to_string().contains("needs 4"));
        assert!(matches!(
            fit_usl(&[]),
            Err(UslError::TooFewThreadCounts { distinct: 0, .. })
        ));
        let mut nan = curve(0.1, 0.001, &WIDE, &[]);
        nan[2].1 = f64::NAN;
        assert!(matches!(
            fit_usl(&nan),
            Err(UslError::BadPoint { threads: 4, .. })
        ));
        let mut zero = curve(0.1, 0.001, &WIDE, &[]);
        zero[0].0 = 0;
        assert!(matches!(
            fit_usl(&zero),
            Err(UslError::BadPoint { threads: 0, .. })
        ));
    }

    #[test]
    fn the_order_of_the_points_does_not_matter() {
        let points = curve(0.05, 0.001, &WIDE, &NOISE);
        let mut reversed = points.clone();
        reversed.reverse();
        let (a, b) = (fit(&points), fit(&reversed));
        assert!((a.sigma - b.sigma).abs() < 1e-9 && (a.kappa - b.kappa).abs() < 1e-11);
    }

    /// A run of `store` whose cells follow the law at `threads`, over ten
    /// rounds of [`DRIFT`].
    fn usl_run(store: &str, sigma: f64, kappa: f64, threads: &[usize]) -> RunFile {
        let cells = threads
            .iter()
            .map(|t| {
                let ns_per_op = 1e9 / model(1e6, sigma, kappa, *t as f64);
                let ns: Vec<f64> = DRIFT.iter().map(|d| ns_per_op * d).collect();
                threads_cell(store, *t, &ns)
            })
            .collect();
        file(cells)
    }

    #[test]
    fn a_run_file_is_fitted_on_its_ops_per_second() {
        let run = usl_run("s", 0.05, 0.001, &WIDE);
        let medians = usl_points(&run, "s", UslInput::Medians);
        assert_eq!(medians.len(), 6);
        assert_eq!(usl_points(&run, "s", UslInput::Samples).len(), 60);
        assert!(usl_points(&run, "other", UslInput::Medians).is_empty());
        for input in [UslInput::Medians, UslInput::Samples] {
            let f = fit_usl_store(&run, "s", input).expect("six thread counts");
            // The drift scales every thread count alike: σ and κ survive it.
            assert!((f.sigma - 0.05).abs() < 1e-7, "{input:?}: {f:?}");
            assert!((f.kappa - 0.001).abs() < 1e-9, "{input:?}: {f:?}");
        }
        assert!(matches!(
            fit_usl_store(&run, "other", UslInput::Medians),
            Err(UslError::TooFewThreadCounts { distinct: 0, .. })
        ));
    }

    /// One-thread cell of ten drifting rounds, and an 8-thread cell `gain`
    /// times faster each round, times `noise(round)`.
    fn scaling_run(gain: f64, noise: impl Fn(usize) -> f64) -> RunFile {
        let one: Vec<f64> = DRIFT.iter().map(|d| 400.0 * d).collect();
        let eight: Vec<f64> = one
            .iter()
            .enumerate()
            .map(|(r, ns)| ns / gain * noise(r))
            .collect();
        file(vec![
            threads_cell("s", 1, &one),
            threads_cell("s", 8, &eight),
        ])
    }

    #[test]
    fn four_times_faster_each_round_is_a_speed_up_of_four() {
        let exact = scaling_run(4.0, |_| 1.0);
        let s = speedup(&exact, "s", 8, 0.95).expect("both cells");
        assert_eq!((s.store.as_str(), s.threads, s.n()), ("s", 8, 10));
        assert!((s.median() - 4.0).abs() < 1e-12, "{s:?}");
        let (lo, hi) = (s.lo().expect("10 rounds"), s.hi().expect("10 rounds"));
        assert!(
            (lo - 4.0).abs() < 1e-12 && (hi - 4.0).abs() < 1e-12,
            "{s:?}"
        );
        assert!((s.efficiency() - 0.5).abs() < 1e-12);
        // ±1% per round under a 3x drift between rounds: the interval stays
        // within 1% of 4.
        let noisy = scaling_run(4.0, |r| 1.0 + 0.01 * [1.0, -1.0, 0.5][r % 3]);
        let s = speedup(&noisy, "s", 8, 0.95).expect("both cells");
        let (lo, hi) = (s.lo().expect("10 rounds"), s.hi().expect("10 rounds"));
        assert!(lo > 3.95 && hi < 4.05 && lo < 4.0 && hi > 4.0, "{lo}..{hi}");
        assert_eq!(s.ratio.verdict(3.9), Verdict::Above);
    }

    #[test]
    fn speedups_cover_every_thread_count_from_one() {
        let run = scaling_run(4.0, |_| 1.0);
        let all = speedups(&run, "s", 0.95).expect("a one-thread cell");
        let got: Vec<(usize, f64)> = all.iter().map(|s| (s.threads, s.median())).collect();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0], (1, 1.0));
        assert!(got[1].0 == 8 && (got[1].1 - 4.0).abs() < 1e-12);
        assert!(speedup(&run, "s", 4, 0.95).is_none(), "no 4-thread cell");
    }

    #[test]
    fn rounds_missing_from_either_cell_are_left_out() {
        let mut run = scaling_run(4.0, |_| 1.0);
        // Round 3 only at one thread, a round 12 only at eight.
        run.cells[1].samples.retain(|s| s.rep != 3);
        run.cells[1].samples[0].rep = 12;
        let s = speedup(&run, "s", 8, 0.95).expect("both cells");
        assert_eq!(s.n(), 8);
        assert_eq!(s.ratio.unpaired, (1, 2));
        assert!((s.median() - 4.0).abs() < 1e-12);
    }

    #[test]
    fn a_store_without_a_one_thread_cell_has_no_speed_up() {
        let run = file(vec![
            threads_cell("s", 2, &[100.0; 6]),
            threads_cell("s", 8, &[50.0; 6]),
        ]);
        assert!(speedup(&run, "s", 8, 0.95).is_none());
        assert!(speedups(&run, "s", 0.95).is_none());
        assert!(speedups(&run, "absent", 0.95).is_none());
    }

    #[test]
    fn one_store_over_another_reads_like_a_speed_up() {
        let a: Vec<f64> = DRIFT.iter().map(|d| 50.0 * d).collect();
        let b: Vec<f64> = DRIFT.iter().map(|d| 100.0 * d).collect();
        let run = file(vec![threads_cell("a", 4, &a), threads_cell("b", 4, &b)]);
        let r = speedup_over_store(&run, "a", "b", 4, 0.95).expect("both cells");
        assert!((r.median - 2.0).abs() < 1e-12, "a is twice as fast: {r:?}");
        assert_eq!(r.verdict(1.0), Verdict::Above);
        let back = speedup_over_store(&run, "b", "a", 4, 0.95).expect("both cells");
        assert!((back.median * r.median - 1.0).abs() < 1e-12);
        assert!(speedup_over_store(&run, "a", "b", 1, 0.95).is_none());
    }
}
