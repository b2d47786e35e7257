//! Accuracy, its bootstrap, and the random draws both make.
//!
//! The procedure is the original's (`SymileMIMICModel.zeroshot_retrieval`
//! and `resample_retrieval_ds` in rajesh-lab/symile): a query is correct
//! when its highest-scoring candidate is its own row; a tie for the highest
//! score is broken uniformly at random among the tied candidates; a
//! bootstrap resample draws the queries with replacement and keeps each
//! drawn query's negatives, drawing its tie-breaks afresh.
//!
//! Draws come from ChaCha8 keyed by the seed (8 bytes little-endian) and the
//! 24-byte tag `"symile-mimic evaluate v1"`, one ChaCha stream per purpose:
//! stream 0 breaks the ties of the accuracy, stream `1 + b` makes bootstrap
//! resample `b` (for each of its `n` draws: the query, uniform in `0..n`,
//! then, only if that query has `t > 1` tied top candidates, one draw in
//! `0..t`). So the accuracy does not depend on the number of resamples,
//! resample `b` does not depend on the others, and nothing depends on
//! threads. Bounded draws are Lemire's unbiased multiply-and-reject on
//! 64-bit words.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use serde::Serialize;

use crate::{EvalError, Retrieval};

/// Domain separation: no other ChaCha stream of the project seeded with the
/// same user seed produces these words.
const TAG: &[u8; 24] = b"symile-mimic evaluate v1";

/// The outcome of a retrieval evaluation. Serialises (JSON) as
/// `{"accuracy", "queries", "candidates"}`, plus `"bootstrap_mean"`,
/// `"bootstrap_std"` and `"ci95"` when bootstrapped.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// The split's name (`test`, `val_retrieval`), or `retrieval set`.
    #[serde(skip)]
    pub set: String,
    /// Correct queries / queries.
    pub accuracy: f64,
    /// Number of queries.
    pub queries: usize,
    /// Candidates per query, its own row included (chance = 1 / candidates).
    pub candidates: usize,
    /// Queries whose highest score was shared by several candidates (the
    /// original prints a warning when there is any); their outcome depends on `seed`.
    #[serde(skip)]
    pub tied_queries: usize,
    /// The seed of the tie-breaks and resamples.
    #[serde(skip)]
    pub seed: u64,
    /// The bootstrap, when asked for.
    #[serde(flatten)]
    pub bootstrap: Option<Bootstrap>,
}

/// The accuracy's bootstrap distribution, summarised.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bootstrap {
    /// Number of resamples B.
    #[serde(skip)]
    pub samples: usize,
    /// Mean of the B resampled accuracies.
    #[serde(rename = "bootstrap_mean")]
    pub mean: f64,
    /// Their standard deviation with ddof = 1 (divided by B − 1).
    #[serde(rename = "bootstrap_std")]
    pub std: f64,
    /// The 2.5th and 97.5th percentiles of the B accuracies, numpy's default
    /// ("linear", Hyndman & Fan type 7) definition.
    pub ci95: [f64; 2],
}

impl Evaluation {
    /// One line for a person, e.g. `test: accuracy 0.431 (464 queries × 10
    /// candidates, chance 0.100); bootstrap 1000: mean 0.430 ± 0.023, 95 % CI
    /// [0.386, 0.474]`.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{}: accuracy {:.3} ({} queries × {} candidates, chance {:.3})",
            self.set,
            self.accuracy,
            self.queries,
            self.candidates,
            1.0 / self.candidates as f64
        );
        if let Some(b) = &self.bootstrap {
            s.push_str(&format!(
                "; bootstrap {}: mean {:.3} ± {:.3}, 95 % CI [{:.3}, {:.3}]",
                b.samples, b.mean, b.std, b.ci95[0], b.ci95[1]
            ));
        }
        if self.tied_queries > 0 {
            let q = if self.tied_queries == 1 { "query" } else { "queries" };
            s.push_str(&format!(
                "; {} {q} with a tied top score, broken at random (seed {})",
                self.tied_queries, self.seed
            ));
        }
        s
    }
}

impl std::fmt::Display for Evaluation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.summary())
    }
}

/// What a query's scores decide before any draw: how many candidates share
/// the top score, and whether its own row is one of them. Since its own row
/// is its first candidate, it is then the first of the tied ones.
#[derive(Debug, Clone, Copy)]
struct Top {
    tied: u64,
    own_row_on_top: bool,
}

impl Top {
    /// Which tied candidate wins (0 = the first tied in candidate order);
    /// draws only when there is a tie.
    fn pick(self, rng: &mut ChaCha8Rng) -> u64 {
        if self.tied > 1 { below(rng, self.tied) } else { 0 }
    }

    fn correct(self, rng: &mut ChaCha8Rng) -> bool {
        let pick = self.pick(rng);
        self.own_row_on_top && pick == 0
    }
}

/// Stream `stream` of the evaluator's generator for `seed` (see the module doc).
fn stream(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..].copy_from_slice(TAG);
    let mut rng = ChaCha8Rng::from_seed(key);
    rng.set_stream(stream);
    rng
}

/// Unbiased uniform draw in `0..n` (`n >= 1`): Lemire's multiply-and-reject
/// ("Fast random integer generation in an interval", 2019) on 64-bit words.
fn below(rng: &mut ChaCha8Rng, n: u64) -> u64 {
    debug_assert!(n >= 1);
    let mut m = u128::from(rng.next_u64()) * u128::from(n);
    if (m as u64) < n {
        let threshold = n.wrapping_neg() % n;
        while (m as u64) < threshold {
            m = u128::from(rng.next_u64()) * u128::from(n);
        }
    }
    (m >> 64) as u64
}

/// Checks `scores` against `r` (one finite value per row).
fn check_scores(r: &Retrieval, scores: &[f64]) -> Result<(), EvalError> {
    if scores.len() != r.rows() {
        return Err(EvalError::ScoresLength { set: r.name().to_string(), got: scores.len(), expected: r.rows() });
    }
    if let Some(row) = scores.iter().position(|s| !s.is_finite()) {
        return Err(EvalError::NonFiniteScore { set: r.name().to_string(), row, value: scores[row] });
    }
    Ok(())
}

/// Each query's [`Top`]. Ties are exact equality of the scores, as the
/// original's `logits == max_value`.
fn tops(r: &Retrieval, scores: &[f64]) -> Vec<Top> {
    (0..r.queries())
        .map(|q| {
            let cands = r.candidates_of(q);
            let max = cands.iter().map(|&i| scores[i]).fold(f64::NEG_INFINITY, f64::max);
            let tied = cands.iter().filter(|&&i| scores[i] == max).count() as u64;
            Top { tied, own_row_on_top: scores[cands[0]] == max }
        })
        .collect()
}

/// The row each query retrieves: its highest-scoring candidate, a tie broken
/// uniformly at random from `seed` with exactly the draws [`evaluate`] makes
/// for its accuracy (so `accuracy` = the share of queries retrieving their own row).
pub fn predict(r: &Retrieval, scores: &[f64], seed: u64) -> Result<Vec<usize>, EvalError> {
    check_scores(r, scores)?;
    let mut rng = stream(seed, 0);
    Ok(tops(r, scores)
        .into_iter()
        .enumerate()
        .map(|(q, top)| {
            let cands = r.candidates_of(q);
            let max = cands.iter().map(|&i| scores[i]).fold(f64::NEG_INFINITY, f64::max);
            let pick = top.pick(&mut rng) as usize;
            cands.iter().copied().filter(|&i| scores[i] == max).nth(pick).expect("pick < tied")
        })
        .collect())
}

/// Zero-shot retrieval accuracy of `scores` (one per row of `r`, row `i`'s
/// CXR scored as the answer to its query), with `bootstrap` resamples
/// (0 = none, else at least 2) drawn from `seed`.
pub fn evaluate(r: &Retrieval, scores: &[f64], bootstrap: usize, seed: u64) -> Result<Evaluation, EvalError> {
    check_scores(r, scores)?;
    if bootstrap == 1 {
        return Err(EvalError::BootstrapTooSmall(bootstrap));
    }
    let tops = tops(r, scores);
    let mut rng = stream(seed, 0);
    let correct = tops.iter().filter(|t| t.correct(&mut rng)).count();
    let bootstrap = (bootstrap > 0).then(|| summarise(&resampled_accuracies(&tops, bootstrap, seed)));
    Ok(Evaluation {
        set: r.name().to_string(),
        accuracy: correct as f64 / tops.len() as f64,
        queries: tops.len(),
        candidates: r.candidates(),
        tied_queries: tops.iter().filter(|t| t.tied > 1).count(),
        seed,
        bootstrap,
    })
}

/// The accuracy of each of `b` resamples of the queries (with replacement,
/// as many as there are), each query drawn keeping its own candidates.
fn resampled_accuracies(tops: &[Top], b: usize, seed: u64) -> Vec<f64> {
    let n = tops.len() as u64;
    (0..b as u64)
        .map(|i| {
            let mut rng = stream(seed, 1 + i);
            let correct = (0..n).filter(|_| tops[below(&mut rng, n) as usize].correct(&mut rng)).count();
            correct as f64 / n as f64
        })
        .collect()
}

/// Mean, standard deviation (ddof 1) and the 2.5 / 97.5 percentiles of at
/// least two values.
fn summarise(acc: &[f64]) -> Bootstrap {
    let b = acc.len() as f64;
    let mean = acc.iter().sum::<f64>() / b;
    let var = acc.iter().map(|a| (a - mean) * (a - mean)).sum::<f64>() / (b - 1.0);
    let mut sorted = acc.to_vec();
    sorted.sort_by(f64::total_cmp);
    Bootstrap { samples: acc.len(), mean, std: var.sqrt(), ci95: [percentile(&sorted, 2.5), percentile(&sorted, 97.5)] }
}

/// `numpy.percentile(x, p)` of sorted, non-empty `x` with numpy's default
/// method, in numpy's arithmetic: virtual index `(n − 1)·(p / 100)`, then
/// `a + (b − a)·g` for a fraction `g < 0.5` and `b − (b − a)·(1 − g)` otherwise.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    let v = (n - 1) as f64 * (p / 100.0);
    if v >= (n - 1) as f64 {
        return sorted[n - 1];
    }
    let lo = v.floor();
    let g = v - lo;
    let (a, b) = (sorted[lo as usize], sorted[lo as usize + 1]);
    let diff = b - a;
    if g >= 0.5 { b - diff * (1.0 - g) } else { a + diff * g }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_is_numpys() {
        // numpy 2.4.6: np.percentile(x, [2.5, 97.5]) for these x.
        let x = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];
        assert_eq!(percentile(&x, 2.5), 0.12250000000000001);
        assert_eq!(percentile(&x, 97.5), 0.9775);
        let x = [0.25, 0.5];
        assert_eq!(percentile(&x, 2.5), 0.25625);
        assert_eq!(percentile(&x, 97.5), 0.49375);
        let mut x: Vec<f64> = (0..1000).map(|i| ((i * 7919) % 1000) as f64 / 999.0).collect();
        x.sort_by(f64::total_cmp);
        assert_eq!(percentile(&x, 2.5), 0.025);
        assert_eq!(percentile(&x, 97.5), 0.975);
        assert_eq!(percentile(&[0.3], 2.5), 0.3);
    }

    #[test]
    fn std_has_ddof_one() {
        let b = summarise(&[0.0, 1.0]);
        assert_eq!((b.mean, b.std), (0.5, std::f64::consts::FRAC_1_SQRT_2));
    }

    #[test]
    fn bounded_draws_are_unbiased_and_stay_in_range() {
        let mut rng = stream(1, 0);
        let mut counts = [0u32; 3];
        for _ in 0..30_000 {
            counts[below(&mut rng, 3) as usize] += 1;
        }
        // Each count is Binomial(30000, 1/3): sd ≈ 81.6; 6 sd.
        assert!(counts.iter().all(|&c| c.abs_diff(10_000) < 490), "{counts:?}");
        assert!((0..1000).all(|_| below(&mut rng, 1) == 0));
        assert!((0..1000).all(|_| below(&mut rng, u64::MAX) < u64::MAX));
    }

    #[test]
    fn streams_are_independent_of_each_other() {
        let a: Vec<u64> = (0..4).map(|_| stream(7, 0).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(stream(7, 0).next_u64(), stream(7, 1).next_u64());
        assert_ne!(stream(7, 0).next_u64(), stream(8, 0).next_u64());
    }
}
