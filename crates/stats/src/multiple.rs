//! Many rows tested at once: adjusted p-values.
//!
//! A comparison table tests every (store, threads) row at alpha 0.05; with
//! twenty rows and no real change anywhere, the chance that at least one
//! shows a "significant" difference is 1 - 0.95^20, about 64%. A verdict a
//! skeptic accepts has to hold for the family of rows, not for one row
//! picked after the fact. Both corrections here return adjusted p-values, in
//! the input's order, to be compared with the unchanged alpha.
//!
//! - **Holm-Bonferroni** (Holm 1979, *A simple sequentially rejective
//!   multiple test procedure*) bounds the family-wise error rate, the chance
//!   of even one false finding, by alpha, under any dependence between the
//!   rows. Rows of one run are dependent (they share the machine), so this
//!   is the correction for verdicts. It is uniformly more powerful than
//!   plain Bonferroni: the smallest p-value is multiplied by m, the next by
//!   m - 1, and so on, kept monotone.
//! - **Benjamini-Hochberg** (1995, *Controlling the false discovery rate*)
//!   bounds the expected share of false findings among the findings. It
//!   assumes independent or positively dependent tests (Benjamini & Yekutieli
//!   2001), which rows measured on one machine plausibly are but need not
//!   be; it suits screening many rows for what to look at, not verdicts.
//!
//! A NaN p-value is taken as 1: a test that said nothing rejects nothing,
//! but it still counts in the family's size.

/// A family-wise correction of p-values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Correction {
    /// Each p-value on its own.
    None,
    /// Holm-Bonferroni: the family-wise error rate, any dependence.
    Holm,
    /// Benjamini-Hochberg: the false discovery rate.
    BenjaminiHochberg,
}

impl Correction {
    pub fn name(self) -> &'static str {
        match self {
            Correction::None => "none",
            Correction::Holm => "Holm",
            Correction::BenjaminiHochberg => "Benjamini-Hochberg",
        }
    }

    /// The adjusted p-values, in the order of `p`.
    pub fn adjust(self, p: &[f64]) -> Vec<f64> {
        match self {
            Correction::None => p.iter().map(|x| clean(*x)).collect(),
            Correction::Holm => holm(p),
            Correction::BenjaminiHochberg => benjamini_hochberg(p),
        }
    }
}

fn clean(p: f64) -> f64 {
    if p.is_nan() { 1.0 } else { p.clamp(0.0, 1.0) }
}

/// Indices of `p` by ascending p-value (NaN as 1; stable for equal values).
fn ascending(p: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&i, &j| clean(p[i]).total_cmp(&clean(p[j])));
    order
}

/// Holm-Bonferroni adjusted p-values, in the input order: the i-th smallest
/// (from 0) is multiplied by m - i, then made non-decreasing along that
/// order, and capped at 1.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut out = vec![0.0; m];
    let mut running = 0.0f64;
    for (i, &idx) in ascending(p).iter().enumerate() {
        running = running.max(((m - i) as f64 * clean(p[idx])).min(1.0));
        out[idx] = running;
    }
    out
}

/// Benjamini-Hochberg adjusted p-values (q-values), in the input order: the
/// i-th smallest (from 1) is multiplied by m / i, then made non-decreasing
/// by taking the minimum over it and every larger one, and capped at 1.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut out = vec![0.0; m];
    let mut running = 1.0f64;
    for (i, &idx) in ascending(p).iter().enumerate().rev() {
        running = running.min(m as f64 / (i + 1) as f64 * clean(p[idx]));
        out[idx] = running;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: &[f64], want: &[f64]) {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "got {got:?}, want {want:?}");
        }
    }

    #[test]
    fn holm_by_hand() {
        // Sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04
        // -> running max 0.02, 0.03, 0.06, 0.06; back in input order:
        close(&holm(&[0.01, 0.04, 0.03, 0.005]), &[0.03, 0.06, 0.06, 0.02]);
        // Capped at 1, and ties keep equal values.
        close(&holm(&[0.5, 0.5, 0.2]), &[1.0, 1.0, 0.6]);
        close(&holm(&[0.02]), &[0.02]);
        assert!(holm(&[]).is_empty());
    }

    #[test]
    fn benjamini_hochberg_by_hand() {
        // Sorted: 0.005*4/1 = 0.02, 0.01*4/2 = 0.02, 0.03*4/3 = 0.04,
        // 0.04*4/4 = 0.04 -> running min from the top: the same here.
        close(
            &benjamini_hochberg(&[0.01, 0.04, 0.03, 0.005]),
            &[0.02, 0.04, 0.04, 0.02],
        );
        // The running minimum matters: 0.04*3/2 = 0.06 > 0.045*3/3.
        close(
            &benjamini_hochberg(&[0.045, 0.01, 0.04]),
            &[0.045, 0.03, 0.045],
        );
        close(&benjamini_hochberg(&[0.9, 0.8]), &[0.9, 0.9]);
        assert!(benjamini_hochberg(&[]).is_empty());
    }

    #[test]
    fn nan_counts_as_one_and_none_only_cleans() {
        close(&holm(&[f64::NAN, 0.01]), &[1.0, 0.02]);
        close(&benjamini_hochberg(&[f64::NAN, 0.01]), &[1.0, 0.02]);
        close(&Correction::None.adjust(&[f64::NAN, 0.01]), &[1.0, 0.01]);
        close(
            &Correction::Holm.adjust(&[0.01, 0.04, 0.03, 0.005]),
            &[0.03, 0.06, 0.06, 0.02],
        );
    }

    #[test]
    fn holm_is_never_below_bh_nor_the_raw_p() {
        let p = [0.001, 0.2, 0.03, 0.04, 0.5, 0.012, 0.049, 0.9];
        let (h, b) = (holm(&p), benjamini_hochberg(&p));
        for i in 0..p.len() {
            assert!(h[i] >= b[i] - 1e-15 && b[i] >= p[i] - 1e-15, "{i}");
            assert!(h[i] <= 1.0 && b[i] <= 1.0);
        }
    }
}
