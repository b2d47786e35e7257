//! NaN-aware empirical CDF, lab percentiles and numpy-exact means.
//!
//! Stage 2 of the reference turns each raw lab value into a percentile of the
//! training distribution (`NaNAwareECDF`, a statsmodels `StepFunction`) and
//! writes the mean training percentile of each lab to `labs_means.json`
//! (pandas `Series.mean`). Both outputs are compared byte for byte, so this
//! crate reproduces the exact floating-point operations, not just the maths:
//!
//! - the step heights come from numpy's `linspace(1/n, 1, n)`, which is
//!   `i·step + start` with the last element forced to `stop` — not `(i+1)/n`
//!   ([`numpy_linspace`]);
//! - the mean is numpy's pairwise summation over 8192-element blocks divided
//!   by the count of observed values ([`numpy_sum`], [`pandas_mean`]).

/// Errors building an [`Ecdf`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EcdfError {
    /// The column has no observed (non-missing) value: the reference computes
    /// `1./nobs` with `nobs == 0` and raises `ZeroDivisionError`.
    #[error("no observed value among {len} values: an empirical CDF needs at least one")]
    NoObservedValue {
        /// Number of (all missing) values given.
        len: usize,
    },
}

/// A NaN-aware empirical CDF of one training column, looked up like the
/// reference's `NaNAwareECDF(train)(values)`.
///
/// The reference sorts the training values (NaN last), gives the `nobs`
/// observed ones the heights `linspace(1/nobs, 1, nobs)` and the NaNs the
/// height NaN, prepends `(-inf, 0.0)` and looks values up with
/// `searchsorted(x, v, side="right") - 1`. A NaN query therefore lands on the
/// *last* step: NaN when the training column had a NaN, but `1.0` when it had
/// none (a quirk the outputs keep).
#[derive(Debug, Clone, PartialEq)]
pub struct Ecdf {
    /// Observed training values, ascending.
    x: Vec<f64>,
    /// Step height after `x[i]`.
    y: Vec<f64>,
    /// What a missing query maps to (see the type's doc).
    missing: f64,
}

impl Ecdf {
    /// Builds the ECDF of a float training column (`None` or NaN = missing).
    pub fn new(values: &[Option<f64>]) -> Result<Self, EcdfError> {
        let mut x: Vec<f64> = values.iter().filter_map(|v| v.filter(|f| !f.is_nan())).collect();
        if x.is_empty() {
            return Err(EcdfError::NoObservedValue { len: values.len() });
        }
        let has_missing = x.len() < values.len();
        x.sort_by(f64::total_cmp);
        let y = numpy_linspace(1.0 / x.len() as f64, 1.0, x.len());
        let missing = if has_missing { f64::NAN } else { *y.last().expect("nobs >= 1") };
        Ok(Self { x, y, missing })
    }

    /// Builds the ECDF of an `int64` training column (pandas read every value
    /// of the column, in all splits, as an integer, so none is missing).
    ///
    /// The reference then stores the linspace heights into an integer array
    /// (`np.full_like(x, nan)` keeps `x`'s dtype), truncating every height but
    /// the last to `0`: the percentiles are `0.0` below the column maximum and
    /// `1.0` at or above it. Reproduced as is.
    pub fn new_int(values: &[i64]) -> Result<Self, EcdfError> {
        if values.is_empty() {
            return Err(EcdfError::NoObservedValue { len: 0 });
        }
        let mut x: Vec<f64> = values.iter().map(|&v| v as f64).collect();
        x.sort_by(f64::total_cmp);
        let y: Vec<f64> = numpy_linspace(1.0 / x.len() as f64, 1.0, x.len()).into_iter().map(f64::trunc).collect();
        let missing = *y.last().expect("nobs >= 1");
        Ok(Self { x, y, missing })
    }

    /// Number of observed training values.
    pub fn nobs(&self) -> usize {
        self.x.len()
    }

    /// The sorted observed training values.
    pub fn values(&self) -> &[f64] {
        &self.x
    }

    /// The step heights (`y[i]` is the percentile of `values()[i]`'s step).
    pub fn heights(&self) -> &[f64] {
        &self.y
    }

    /// The percentile of `v`; `None` (or NaN) is a missing value.
    pub fn pct(&self, v: Option<f64>) -> f64 {
        match v {
            Some(v) if !v.is_nan() => {
                // searchsorted(side="right"): number of x <= v.
                let k = self.x.partition_point(|&t| t <= v);
                if k == 0 { 0.0 } else { self.y[k - 1] }
            }
            _ => self.missing,
        }
    }
}

/// numpy's `linspace(start, stop, num)` (endpoint=True) for float64, bit for bit.
///
/// numpy 2.1 computes `delta = stop - start`, `step = delta / (num - 1)`,
/// `y = arange(num) * step` (or `arange(num) / div * delta` when `step == 0`),
/// then `y += start`, and finally sets the last element to `stop` when
/// `num > 1`. With `num == 1` the step is undefined and `y = [0 * delta + start]`.
pub fn numpy_linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    if num == 0 {
        return Vec::new();
    }
    let delta = stop - start;
    let div = num - 1;
    let mut y: Vec<f64> = (0..num).map(|i| i as f64).collect();
    if div > 0 {
        let step = delta / div as f64;
        if step == 0.0 {
            for v in &mut y {
                *v = *v / div as f64 * delta;
            }
        } else {
            for v in &mut y {
                *v *= step;
            }
        }
    } else {
        for v in &mut y {
            *v *= delta;
        }
    }
    for v in &mut y {
        *v += start;
    }
    if num > 1 {
        y[num - 1] = stop;
    }
    y
}

/// numpy's pairwise block size (`PW_BLOCKSIZE`).
const PW_BLOCKSIZE: usize = 128;
/// numpy's default ufunc buffer size: `add.reduce` hands the inner loop at
/// most this many elements at a time.
const UFUNC_BUFSIZE: usize = 8192;

/// numpy's `pairwise_sum` for float64 (`loops_utils.h.src`).
fn pairwise_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut res = 0.0;
        for &v in a {
            res += v;
        }
        res
    } else if n <= PW_BLOCKSIZE {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&a[..8]);
        let mut i = 8;
        while i < n - (n % 8) {
            for (j, acc) in r.iter_mut().enumerate() {
                *acc += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &v in &a[i..] {
            res += v;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_sum(&a[..n2]) + pairwise_sum(&a[n2..])
    }
}

/// `np.add.reduce` of a contiguous float64 array, bit for bit: the output
/// starts at `0.0` and each buffer-sized chunk is added after being summed
/// pairwise.
pub fn numpy_sum(values: &[f64]) -> f64 {
    let mut acc = 0.0;
    for chunk in values.chunks(UFUNC_BUFSIZE) {
        acc += pairwise_sum(chunk);
    }
    acc
}

/// pandas' NaN-skipping `Series.mean` of a float64 column, bit for bit:
/// missing values (None or NaN) are replaced by `0.0`, the column is summed
/// with [`numpy_sum`] in order, and the sum is divided by the number of
/// observed values. `None` when nothing is observed (pandas returns NaN).
pub fn pandas_mean(values: &[Option<f64>]) -> Option<f64> {
    let mut count = 0usize;
    let filled: Vec<f64> = values
        .iter()
        .map(|v| match v {
            Some(f) if !f.is_nan() => {
                count += 1;
                *f
            }
            _ => 0.0,
        })
        .collect();
    if count == 0 {
        return None;
    }
    Some(numpy_sum(&filled) / count as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linspace_is_numpy_not_i_over_n() {
        // numpy 2.1: linspace(1/3, 1, 3) == [0.3333333333333333, 0.6666666666666667, 1.0]
        // ((i+1)/n would give 0.6666666666666666).
        let y = numpy_linspace(1.0 / 3.0, 1.0, 3);
        assert_eq!(y, vec![1.0 / 3.0, 0.6666666666666667, 1.0]);
        // More values printed by numpy 2.1 for linspace(1/n, 1, n).
        let cases: &[(usize, usize, f64)] = &[
            (7, 1, 0.2857142857142857),
            (7, 2, 0.4285714285714286),
            (7, 5, 0.8571428571428572),
            (13, 1, 0.15384615384615385),
            (13, 4, 0.38461538461538464),
            (13, 11, 0.9230769230769231),
            (1000, 333, 0.334),
            (1000, 998, 0.999),
            (9999, 1, 0.00020002000200020003),
            (9999, 3333, 0.33343334333433344),
            (9999, 9997, 0.999899989999),
        ];
        for &(n, i, want) in cases {
            assert_eq!(numpy_linspace(1.0 / n as f64, 1.0, n)[i].to_bits(), want.to_bits(), "n={n} i={i}");
        }
        // For n = 10, numpy gives 0.30000000000000004 at i = 2 and
        // 0.7000000000000001 at i = 6, where (i+1)/n would be 0.3 / 0.7.
        let y = numpy_linspace(0.1, 1.0, 10);
        assert_eq!(y[2], 0.30000000000000004);
        assert_eq!(y[6], 0.7000000000000001);
        assert_eq!(y[9], 1.0);
        assert_eq!(numpy_linspace(1.0, 1.0, 1), vec![1.0]);
        assert!(numpy_linspace(0.0, 1.0, 0).is_empty());
    }

    #[test]
    fn ecdf_steps_and_quirks() {
        let e = Ecdf::new(&[Some(3.0), None, Some(1.0), Some(3.0), Some(2.0)]).unwrap();
        assert_eq!(e.nobs(), 4);
        assert_eq!(e.values(), &[1.0, 2.0, 3.0, 3.0]);
        assert_eq!(e.pct(Some(0.5)), 0.0);
        assert_eq!(e.pct(Some(1.0)), 0.25);
        assert_eq!(e.pct(Some(2.5)), 0.5);
        assert_eq!(e.pct(Some(3.0)), 1.0);
        assert_eq!(e.pct(Some(f64::INFINITY)), 1.0);
        assert_eq!(e.pct(Some(f64::NEG_INFINITY)), 0.0);
        // The training column has a missing value: missing maps to NaN.
        assert!(e.pct(None).is_nan());
        assert!(e.pct(Some(f64::NAN)).is_nan());

        // No missing value in training: missing maps to 1.0 (reference quirk).
        let full = Ecdf::new(&[Some(5.0), Some(4.0)]).unwrap();
        assert_eq!(full.pct(None), 1.0);
        assert_eq!(full.pct(Some(4.0)), 0.5);

        assert_eq!(Ecdf::new(&[None, None]), Err(EcdfError::NoObservedValue { len: 2 }));
        assert_eq!(Ecdf::new(&[]), Err(EcdfError::NoObservedValue { len: 0 }));
    }

    #[test]
    fn int_column_truncates_heights() {
        let e = Ecdf::new_int(&[3, 1, 2, 3]).unwrap();
        assert_eq!(e.heights(), &[0.0, 0.0, 0.0, 1.0]);
        assert_eq!(e.pct(Some(0.0)), 0.0);
        assert_eq!(e.pct(Some(2.0)), 0.0);
        assert_eq!(e.pct(Some(3.0)), 1.0);
        assert_eq!(e.pct(None), 1.0);
        let one = Ecdf::new_int(&[7]).unwrap();
        assert_eq!(one.pct(Some(7.0)), 1.0);
        assert_eq!(one.pct(Some(6.0)), 0.0);
    }

    #[test]
    fn pairwise_branches() {
        // < 8: plain loop, left to right.
        assert_eq!(numpy_sum(&[0.1, 0.2, 0.3]), (0.1 + 0.2) + 0.3);
        // 8..=128: eight strided accumulators then the leftovers.
        let v: Vec<f64> = (0..19).map(|i| 0.1 * i as f64 + 1e-3).collect();
        let mut r = [0.0; 8];
        r.copy_from_slice(&v[..8]);
        for j in 0..8 {
            r[j] += v[8 + j];
        }
        let mut want = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &x in &v[16..] {
            want += x;
        }
        assert_eq!(numpy_sum(&v).to_bits(), want.to_bits());
        // Recursion splits 300 at 144 (150 - 150 % 8).
        let w: Vec<f64> = (0..300).map(|i| 1.0 / (i as f64 + 1.0)).collect();
        assert_eq!(numpy_sum(&w).to_bits(), (pairwise_sum(&w[..144]) + pairwise_sum(&w[144..])).to_bits());
        // Buffer chunks of 8192 accumulated from 0.0.
        let z: Vec<f64> = (0..10_000).map(|i| 1.0 / (i as f64 + 3.0)).collect();
        assert_eq!(numpy_sum(&z).to_bits(), (0.0 + pairwise_sum(&z[..8192]) + pairwise_sum(&z[8192..])).to_bits());
    }

    #[test]
    fn sum_matches_numpy_values() {
        // v[i] = ((i*7919) % 10007) / 997 + 1/(i+1); sums printed by numpy 2.1 `v[:n].sum()`.
        let v: Vec<f64> =
            (0..20_000u64).map(|i| ((i * 7919) % 10007) as f64 / 997.0 + 1.0 / (i as f64 + 1.0)).collect();
        let cases: &[(usize, f64)] = &[
            (5, 21.488950183884985),
            (100, 508.67885194090945),
            (300, 1510.5514702995572),
            (8192, 41122.902131871575),
            (10_000, 50196.92702429081),
            (20_000, 100372.47370715404),
        ];
        for &(n, want) in cases {
            assert_eq!(numpy_sum(&v[..n]).to_bits(), want.to_bits(), "n={n}");
        }
    }

    #[test]
    fn mean_skips_missing() {
        assert_eq!(pandas_mean(&[Some(1.0), None, Some(2.0)]), Some(1.5));
        assert_eq!(pandas_mean(&[None, Some(f64::NAN)]), None);
        assert_eq!(pandas_mean(&[]), None);
    }
}
