//! Bit-exact comparison of float slices: parity with numpy, torch and
//! wfdb-python means equal bit patterns, not "close"; NaN equals NaN.

use std::fmt::Debug;

/// A float compared by its bit pattern: `f32` and `f64`.
pub trait Bits: Copy + Debug {
    /// The value's bits, widened to 64.
    fn bits(self) -> u64;
    /// Whether the value is a NaN (any payload).
    fn nan(self) -> bool;
}

impl Bits for f32 {
    fn bits(self) -> u64 {
        u64::from(self.to_bits())
    }
    fn nan(self) -> bool {
        self.is_nan()
    }
}

impl Bits for f64 {
    fn bits(self) -> u64 {
        self.to_bits()
    }
    fn nan(self) -> bool {
        self.is_nan()
    }
}

/// Asserts that `got` and `want` have the same length and bit-identical
/// values (any NaN equals any NaN), naming `what` and the first index that
/// differs.
#[track_caller]
pub fn assert_bits_eq<T: Bits>(got: &[T], want: &[T], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(g.bits() == w.bits() || (g.nan() && w.nan()), "{what}[{i}]: got {g:?}, want {w:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::assert_bits_eq;

    #[test]
    fn nan_equals_nan_and_signed_zeros_differ() {
        assert_bits_eq(&[f64::NAN, 1.0], &[-f64::NAN, 1.0], "nan");
        assert_bits_eq(&[f32::NAN, 0.5], &[f32::NAN, 0.5], "f32");
        let r = std::panic::catch_unwind(|| assert_bits_eq(&[0.0f32], &[-0.0f32], "zero"));
        assert!(r.is_err());
    }
}
