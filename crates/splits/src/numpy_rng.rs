//! numpy's legacy `RandomState`, bit for bit, for the draws stage 2 makes.
//!
//! The reference splits with sklearn's `train_test_split(random_state=seed)`,
//! which is `RandomState(seed).permutation(n)`, and samples retrieval
//! negatives with pandas' `DataFrame.sample`, which is
//! `RandomState.choice(n, k, replace=False)` on numpy's global legacy
//! generator. Reproducing the published split membership therefore needs the
//! exact legacy algorithms, not just "an MT19937":
//!
//! - seeding is the classic `init_genrand(seed)` (numpy accepts 0..=2³²−1);
//! - a bounded draw in `[0, max]` takes 32-bit outputs masked to the smallest
//!   all-ones value `>= max` and rejects those above `max` (`random_interval`);
//! - `shuffle` is Fisher–Yates from the last index down, `permutation(n)`
//!   shuffles `0..n`, and `choice(n, k, replace=False)` is `permutation(n)[..k]`.
//!
//! Bounds above 2³²−1 would switch numpy to 64-bit draws; no split here is
//! that large, so such a request is an error rather than untested code.

use rand_mt::Mt;

/// An error of the legacy generator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RngError {
    /// numpy's `RandomState(seed)` only accepts 0..=2³²−1.
    #[error("seed {seed} is outside numpy's RandomState range 0..=4294967295")]
    SeedOutOfRange {
        /// The rejected seed.
        seed: u64,
    },
    /// A shuffle of more than 2³² elements (numpy would switch to 64-bit draws).
    #[error("cannot shuffle {len} elements: numpy-exact draws are implemented for at most 4294967296")]
    TooLarge {
        /// The requested length.
        len: usize,
    },
    /// `choice` asked for more elements than the population has.
    #[error("cannot take {k} elements without replacement from a population of {n}")]
    SampleLargerThanPopulation {
        /// Requested sample size.
        k: usize,
        /// Population size.
        n: usize,
    },
}

/// numpy's legacy `RandomState` (MT19937), restricted to the draws stage 2 uses.
#[derive(Clone)]
pub struct RandomState {
    mt: Mt,
}

impl std::fmt::Debug for RandomState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RandomState").finish_non_exhaustive()
    }
}

impl RandomState {
    /// `np.random.RandomState(seed)` (also what `np.random.seed(seed)` does to
    /// the global generator).
    pub fn new(seed: u64) -> Result<Self, RngError> {
        let seed = u32::try_from(seed).map_err(|_| RngError::SeedOutOfRange { seed })?;
        // rand_mt's `Mt::new` is MT19937's `init_genrand`, as numpy's `mt19937_seed`.
        Ok(Self { mt: Mt::new(seed) })
    }

    /// The next raw 32-bit MT19937 output.
    #[inline]
    pub fn next_u32(&mut self) -> u32 {
        self.mt.next_u32()
    }

    /// numpy's legacy `random_interval(max)`: uniform in `[0, max]` by masked
    /// rejection on 32-bit outputs (no draw at all when `max == 0`).
    #[inline]
    pub fn interval(&mut self, max: u32) -> u32 {
        if max == 0 {
            return 0;
        }
        let mask = u32::MAX >> max.leading_zeros();
        loop {
            let v = self.mt.next_u32() & mask;
            if v <= max {
                return v;
            }
        }
    }

    /// `RandomState.shuffle` of a 1-D array: for `i` from `len − 1` down to 1,
    /// swap `v[i]` with `v[interval(i)]`.
    pub fn shuffle<T>(&mut self, v: &mut [T]) -> Result<(), RngError> {
        if v.len() > 1usize << 32 {
            return Err(RngError::TooLarge { len: v.len() });
        }
        for i in (1..v.len()).rev() {
            // i <= 2^32 - 1 here because len <= 2^32.
            let j = self.interval(i as u32) as usize;
            v.swap(i, j);
        }
        Ok(())
    }

    /// `RandomState.permutation(n)`: a shuffled `0..n`.
    pub fn permutation(&mut self, n: usize) -> Result<Vec<usize>, RngError> {
        let mut v: Vec<usize> = (0..n).collect();
        self.shuffle(&mut v)?;
        Ok(v)
    }

    /// `RandomState.choice(n, k, replace=False)` (no weights): the first `k`
    /// entries of `permutation(n)`, so it always consumes a full shuffle.
    pub fn choice_without_replacement(&mut self, n: usize, k: usize) -> Result<Vec<usize>, RngError> {
        if k > n {
            return Err(RngError::SampleLargerThanPopulation { k, n });
        }
        let mut v = self.permutation(n)?;
        v.truncate(k);
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_genrand_reference_outputs() {
        // MT19937 reference (mt19937ar.c, init_genrand(5489)): first outputs.
        let mut r = RandomState::new(5489).unwrap();
        assert_eq!(r.next_u32(), 3_499_211_612);
        assert_eq!(r.next_u32(), 581_869_302);
        // numpy 2.1: RandomState(0).randint(0, 2**32, size=2, dtype=np.uint32) == [2357136044, 2546248239]
        // (a full-range legacy draw is the raw 32-bit output).
        let mut r0 = RandomState::new(0).unwrap();
        assert_eq!(r0.next_u32(), 2_357_136_044);
        assert_eq!(r0.next_u32(), 2_546_248_239);
    }

    #[test]
    fn seed_range_is_numpy_range() {
        assert!(RandomState::new(u64::from(u32::MAX)).is_ok());
        assert_eq!(RandomState::new(1 << 32).unwrap_err(), RngError::SeedOutOfRange { seed: 1 << 32 });
    }

    #[test]
    fn interval_masks_and_rejects() {
        let mut a = RandomState::new(7).unwrap();
        let mut b = RandomState::new(7).unwrap();
        // max = 5 -> mask 7: values 6 and 7 are rejected and redrawn.
        for _ in 0..1000 {
            let got = a.interval(5);
            let want = loop {
                let v = b.next_u32() & 7;
                if v <= 5 {
                    break v;
                }
            };
            assert_eq!(got, want);
        }
        // max = 0 draws nothing.
        assert_eq!(a.interval(0), 0);
        assert_eq!(a.next_u32(), b.next_u32());
    }

    #[test]
    fn choice_too_large_is_an_error() {
        let mut r = RandomState::new(1).unwrap();
        assert_eq!(r.choice_without_replacement(3, 4), Err(RngError::SampleLargerThanPopulation { k: 4, n: 3 }));
        assert_eq!(r.choice_without_replacement(0, 0), Ok(vec![]));
    }
}
