//! Retrieval negatives: for each query row, `candidate_n − 1` other rows.
//!
//! The reference (`sample_negative_candidates`) does, for each row `i` of a
//! split in order, `df.drop(row i).sample(n=candidate_n − 1)` on numpy's
//! global legacy generator. pandas' `sample` is `choice(n − 1, k,
//! replace=False)`, i.e. the first `k` entries of a full
//! `permutation(n − 1)`: every query consumes a whole shuffle, O(n) draws,
//! O(n²) for a split. [`reference`] reproduces exactly that (a few
//! milliseconds per query at n = 10 000).
//!
//! [`fast`] is the opt-in alternative for very large evaluation sets: O(k)
//! per query with Floyd's sampling on a ChaCha12 stream. It draws the same
//! *distribution* (k − 1 distinct rows other than the query, uniformly) but
//! NOT the reference's rows: outputs differ from the reference's.
//!
//! Both return a flat `n × (candidate_n − 1)` vector of row positions within
//! the split, query by query, in draw order.

use std::collections::HashSet;

use rand_chacha::ChaCha12Rng;
use rand_core::Rng;

use crate::numpy_rng::{RandomState, RngError};

/// Maps a position in "all rows but `query`, in order" to a split position.
#[inline]
fn pool_to_row(p: usize, query: usize) -> u32 {
    (if p < query { p } else { p + 1 }) as u32
}

/// `(negatives per query, pool size)` for a split of `n` rows, `None` for an
/// empty split; an error when the pool cannot supply `candidate_n − 1` rows.
fn negatives_per_query(n: usize, candidate_n: usize) -> Result<Option<(usize, usize)>, RngError> {
    if n == 0 {
        return Ok(None);
    }
    let k = candidate_n.saturating_sub(1);
    let pool = n - 1;
    if k > pool {
        return Err(RngError::SampleLargerThanPopulation { k, n: pool });
    }
    if n > u32::MAX as usize {
        return Err(RngError::TooLarge { len: n });
    }
    Ok(Some((k, pool)))
}

/// The reference's negatives for a split of `n` rows, drawn from `rng` (the
/// global generator, shared across splits: val first, then test).
///
/// Requires `1 <= candidate_n <= n` when `n > 0` (checked by the caller; an
/// out-of-range request is an error here too).
pub fn reference(rng: &mut RandomState, n: usize, candidate_n: usize) -> Result<Vec<u32>, RngError> {
    let Some((k, pool)) = negatives_per_query(n, candidate_n)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::with_capacity(n * k);
    let identity: Vec<u32> = (0..pool as u32).collect();
    let mut buf = identity.clone();
    for query in 0..n {
        buf.copy_from_slice(&identity);
        rng.shuffle(&mut buf)?;
        out.extend(buf[..k].iter().map(|&p| pool_to_row(p as usize, query)));
    }
    Ok(out)
}

/// Uniform in `[0, bound)` (bound > 0) by Lemire's multiply-and-reject.
#[inline]
fn below(rng: &mut ChaCha12Rng, bound: u32) -> u32 {
    let mut m = u64::from(rng.next_u32()) * u64::from(bound);
    let mut low = m as u32;
    if low < bound {
        let threshold = bound.wrapping_neg() % bound;
        while low < threshold {
            m = u64::from(rng.next_u32()) * u64::from(bound);
            low = m as u32;
        }
    }
    (m >> 32) as u32
}

/// Fast, NOT reference-reproducing negatives: Floyd's algorithm picks
/// `candidate_n − 1` distinct pool positions with O(k) draws per query.
/// Deterministic for a given `rng` state (the caller seeds it once from the
/// run's seed and uses it for val, then test).
pub fn fast(rng: &mut ChaCha12Rng, n: usize, candidate_n: usize) -> Result<Vec<u32>, RngError> {
    let Some((k, pool)) = negatives_per_query(n, candidate_n)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::with_capacity(n * k);
    let mut chosen: Vec<u32> = Vec::with_capacity(k);
    let mut set: HashSet<u32> = HashSet::new();
    let use_set = k > 32;
    for query in 0..n {
        chosen.clear();
        set.clear();
        for j in (pool - k)..pool {
            let t = below(rng, j as u32 + 1);
            let taken = if use_set { set.contains(&t) } else { chosen.contains(&t) };
            let pick = if taken { j as u32 } else { t };
            chosen.push(pick);
            if use_set {
                set.insert(pick);
            }
        }
        out.extend(chosen.iter().map(|&p| pool_to_row(p as usize, query)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use rand_core::SeedableRng;

    use super::*;

    #[test]
    fn reference_is_first_k_of_a_permutation_of_the_pool() {
        let n = 6;
        let got = reference(&mut RandomState::new(3).unwrap(), n, 3).unwrap();
        let mut rng = RandomState::new(3).unwrap();
        let mut want = Vec::new();
        for i in 0..n {
            let pool: Vec<usize> = (0..n).filter(|&r| r != i).collect();
            let p = rng.permutation(n - 1).unwrap();
            want.extend(p[..2].iter().map(|&j| pool[j] as u32));
        }
        assert_eq!(got, want);
        // candidate_n = 1: no negatives, but the stream still advances per query.
        let mut a = RandomState::new(3).unwrap();
        assert!(reference(&mut a, n, 1).unwrap().is_empty());
        let mut b = RandomState::new(3).unwrap();
        for _ in 0..n {
            b.permutation(n - 1).unwrap();
        }
        assert_eq!(a.next_u32(), b.next_u32());
    }

    #[test]
    fn fast_draws_distinct_other_rows() {
        let mut rng = ChaCha12Rng::seed_from_u64(9);
        let (n, c) = (50, 10);
        let got = fast(&mut rng, n, c).unwrap();
        assert_eq!(got.len(), n * (c - 1));
        for (i, q) in got.chunks(c - 1).enumerate() {
            let mut s = q.to_vec();
            s.sort_unstable();
            s.dedup();
            assert_eq!(s.len(), c - 1, "duplicates for query {i}");
            assert!(q.iter().all(|&r| r as usize != i && (r as usize) < n), "query {i}: {q:?}");
        }
        // Same seed, same output; the large-k path (HashSet) too.
        let again = fast(&mut ChaCha12Rng::seed_from_u64(9), n, c).unwrap();
        assert_eq!(got, again);
        let big = fast(&mut ChaCha12Rng::seed_from_u64(1), 100, 60).unwrap();
        for q in big.chunks(59) {
            let s: HashSet<u32> = q.iter().copied().collect();
            assert_eq!(s.len(), 59);
        }
        // Whole pool: every other row exactly once.
        let all = fast(&mut ChaCha12Rng::seed_from_u64(2), 5, 5).unwrap();
        let mut q0 = all[..4].to_vec();
        q0.sort_unstable();
        assert_eq!(q0, vec![1, 2, 3, 4]);
    }

    #[test]
    fn too_many_candidates_is_an_error() {
        let mut rng = RandomState::new(0).unwrap();
        assert_eq!(reference(&mut rng, 3, 4), Err(RngError::SampleLargerThanPopulation { k: 3, n: 2 }));
        let mut c = ChaCha12Rng::seed_from_u64(0);
        assert_eq!(fast(&mut c, 3, 4), Err(RngError::SampleLargerThanPopulation { k: 3, n: 2 }));
        assert!(reference(&mut rng, 0, 5).unwrap().is_empty());
    }
}
