//! Seeded random streams.
//!
//! Every subject draws from its own ChaCha8 stream (key = run seed, stream =
//! subject index and purpose), so a subject's rows do not depend on which
//! thread generated it or on how many subjects came before: that is what makes
//! the output byte-identical for any thread count.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng as _, SeedableRng};

/// What a stream is used for; separate purposes never share draws.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Purpose {
    Subject = 1,
    Pixels = 2,
    Signal = 3,
}

/// SplitMix64 finaliser: a cheap, well-mixed 64-bit hash.
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A deterministic random stream with the few draws the generator needs.
#[derive(Debug, Clone)]
pub(crate) struct Stream(ChaCha8Rng);

impl Stream {
    /// The stream of `(seed, purpose, index)`.
    pub(crate) fn new(seed: u64, purpose: Purpose, index: u64) -> Self {
        let mut key = [0u8; 32];
        for (i, part) in key.chunks_mut(8).enumerate() {
            part.copy_from_slice(&mix64(seed ^ mix64(i as u64 + 0xA5)).to_le_bytes());
        }
        let mut rng = ChaCha8Rng::from_seed(key);
        rng.set_stream(mix64((purpose as u64) << 56 ^ index));
        Self(rng)
    }

    pub(crate) fn u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `[0, 1)` with 53 bits.
    pub(crate) fn f64(&mut self) -> f64 {
        (self.u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in `[lo, hi]` (inclusive); `lo` when the range is empty.
    pub(crate) fn int(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = (hi - lo) as u64 + 1;
        lo + ((u128::from(self.u64()) * u128::from(span)) >> 64) as i64
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// Standard normal (Box–Muller, one value per call).
    pub(crate) fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.f64();
        let u2 = self.f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// An index into `items`.
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.int(0, items.len() as i64 - 1) as usize]
    }

    /// One of `items`, copied out.
    pub(crate) fn pick_str(&mut self, items: &[&'static str]) -> &'static str {
        items[self.int(0, items.len() as i64 - 1) as usize]
    }

    /// A count with mean `mean`: floor plus a Bernoulli on the fraction, then
    /// spread by a geometric-like factor so some subjects get many.
    pub(crate) fn count(&mut self, mean: f64) -> usize {
        if mean <= 0.0 {
            return 0;
        }
        // Exponential with the given mean, rounded stochastically.
        let x = -mean * (1.0 - self.f64()).ln();
        let base = x.floor();
        (base as usize) + usize::from(self.chance(x - base))
    }

    /// A fast non-cryptographic generator seeded from this stream, for bulk
    /// noise (pixels, signal samples).
    pub(crate) fn fast(&mut self) -> Fast {
        Fast(self.u64() | 1)
    }
}

/// xorshift64*: bulk noise where ChaCha would dominate the cost.
#[derive(Debug, Clone)]
pub(crate) struct Fast(u64);

impl Fast {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Roughly uniform in `[-1, 1)`.
    pub(crate) fn sym(&mut self) -> f32 {
        ((self.next() >> 40) as f32 / (1u64 << 23) as f32) - 1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4).map(|_| Stream::new(7, Purpose::Subject, 3).u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        let mut s = Stream::new(7, Purpose::Subject, 3);
        let mut t = Stream::new(7, Purpose::Subject, 4);
        let mut u = Stream::new(8, Purpose::Subject, 3);
        let (x, y, z) = (s.u64(), t.u64(), u.u64());
        assert_ne!(x, y);
        assert_ne!(x, z);
    }

    #[test]
    fn ranges_hold() {
        let mut s = Stream::new(1, Purpose::Subject, 0);
        for _ in 0..10_000 {
            let v = s.int(-3, 5);
            assert!((-3..=5).contains(&v));
            let f = s.f64();
            assert!((0.0..1.0).contains(&f));
        }
        let mean = (0..20_000).map(|_| s.count(2.5)).sum::<usize>() as f64 / 20_000.0;
        assert!((mean - 2.5).abs() < 0.15, "mean {mean}");
    }
}
