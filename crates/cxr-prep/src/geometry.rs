//! The integer geometry of torchvision's `Resize(int)` and `CenterCrop`, reproduced with Python's
//! arithmetic (exact integers, correctly rounded true division, round-half-to-even).

/// Python's `int(p / s)` for non-negative integers: `p / s` is the correctly rounded `float` of
/// the exact quotient (CPython rounds int/int true division correctly even past 2**53), then
/// truncated. Doing it in `f64` directly is only exact while `p` fits in 53 bits, so larger
/// products are rounded by hand to 53 significant bits, half to even.
fn py_int_of_true_div(p: u64, s: u64) -> u64 {
    debug_assert!(s > 0);
    if p < (1u64 << 53) {
        // Both operands are exact doubles; IEEE division is correctly rounded, like CPython.
        return (p as f64 / s as f64) as u64;
    }
    let q = p / s;
    let e = 63 - q.leading_zeros() as i32; // floor(log2(p / s)), q >= 1 here
    let round_half_even = |n: u128, d: u128| {
        let (q, r) = (n / d, n % d);
        if 2 * r > d || (2 * r == d && q % 2 == 1) { q + 1 } else { q }
    };
    if e < 52 {
        let shift = (52 - e) as u32;
        let m = round_half_even(u128::from(p) << shift, u128::from(s));
        (m >> shift) as u64
    } else {
        let shift = (e - 52) as u32;
        let m = round_half_even(u128::from(p), u128::from(s) << shift);
        (m << shift) as u64
    }
}

/// Output `(width, height)` of torchvision `Resize(scale)` on an image of `width`×`height`:
/// the short side becomes `scale`, the long side `int(scale * long / short)` (exact integer
/// product, true division, truncation), as in torchvision 0.19's `_compute_resized_output_size`.
/// A square image counts as "width is the short side". When the result equals the input size,
/// torchvision returns the image untouched; callers can test `resized_size(w, h, s) == (w, h)`.
///
/// A zero-sized input is returned unchanged (Python would divide by zero). A long side beyond
/// `u32::MAX` saturates (Pillow could not allocate such an image anyway).
pub fn resized_size(width: u32, height: u32, scale: u32) -> (u32, u32) {
    if width == 0 || height == 0 {
        return (width, height);
    }
    let (short, long) = if width <= height { (width, height) } else { (height, width) };
    let new_long = py_int_of_true_div(u64::from(scale) * u64::from(long), u64::from(short));
    let new_long = u32::try_from(new_long).unwrap_or(u32::MAX);
    if width <= height { (scale, new_long) } else { (new_long, scale) }
}

/// Offset of a centred crop of `crop` along a side of `len`: `int(round((len - crop) / 2.0))`
/// with Python's round-half-to-even (so 6.5 → 6 but 37.5 → 38). Saturates at 0 when
/// `crop > len` (torchvision would pad instead; the pipeline never crops beyond the image).
fn center_offset(len: u32, crop: u32) -> u32 {
    let d = len.saturating_sub(crop);
    let half = d / 2;
    if d % 2 == 1 && half % 2 == 1 { half + 1 } else { half }
}

/// `(top, left)` of torchvision `CenterCrop(crop)` on a `width`×`height` image:
/// `(int(round((height - crop) / 2)), int(round((width - crop) / 2)))`, Python rounding.
pub fn center_crop_offsets(width: u32, height: u32, crop: u32) -> (u32, u32) {
    (center_offset(height, crop), center_offset(width, crop))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resized_size_matches_torchvision() {
        // Values computed with torchvision's formula in CPython.
        assert_eq!(resized_size(2544, 3056, 320), (320, 384));
        assert_eq!(resized_size(3056, 2544, 320), (384, 320));
        assert_eq!(resized_size(322, 254, 64), (81, 64));
        assert_eq!(resized_size(111, 153, 64), (64, 88));
        assert_eq!(resized_size(131, 131, 64), (64, 64));
        assert_eq!(resized_size(333, 1000, 320), (320, 960));
        assert_eq!(resized_size(853, 653, 320), (418, 320));
        // Already the target size: unchanged (torchvision's early return).
        assert_eq!(resized_size(64, 81, 64), (64, 81));
        // Upsampling.
        assert_eq!(resized_size(40, 50, 64), (64, 80));
        assert_eq!(resized_size(0, 50, 64), (0, 50));
    }

    #[test]
    fn true_division_is_correctly_rounded_past_2_pow_53() {
        // CPython: int(2**60 / 3) == 384307168202282304, below the exact floor ...325 because the
        // quotient is first rounded to 53 significant bits.
        assert_eq!(py_int_of_true_div(1u64 << 60, 3), 384_307_168_202_282_304);
        // int((2**53 + 1) / 1) == 2**53 (ties to even drops the low bit).
        assert_eq!(py_int_of_true_div((1u64 << 53) + 1, 1), 1u64 << 53);
        // int((2**53 + 3) / 1) == 2**53 + 4.
        assert_eq!(py_int_of_true_div((1u64 << 53) + 3, 1), (1u64 << 53) + 4);
        // Below 2**53 the plain f64 path: int(7 / 2) = 3.
        assert_eq!(py_int_of_true_div(7, 2), 3);
        // 2**54 - 1 over 4: exact quotient 2**52 - 0.25 rounds to 2**52 in f64.
        assert_eq!(py_int_of_true_div((1u64 << 54) - 1, 4), 1u64 << 52);
    }

    #[test]
    fn center_crop_uses_half_to_even() {
        assert_eq!(center_offset(333, 320), 6); // 6.5 -> 6
        assert_eq!(center_offset(395, 320), 38); // 37.5 -> 38
        assert_eq!(center_offset(384, 320), 32);
        assert_eq!(center_offset(320, 320), 0);
        assert_eq!(center_offset(321, 320), 0); // 0.5 -> 0
        assert_eq!(center_offset(323, 320), 2); // 1.5 -> 2
        assert_eq!(center_crop_offsets(418, 320, 320), (0, 49));
        assert_eq!(center_crop_offsets(320, 333, 320), (6, 0));
    }
}
