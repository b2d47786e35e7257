//! torchvision `ToTensor` + `Normalize(IMAGENET_MEAN, IMAGENET_STD)` on a crop, in `f32` with
//! the reference's exact operation order: `x = u8 as f32 / 255.0`, then `(x - mean) / std`,
//! each step rounded to `f32` (torch CPU kernels do plain IEEE `f32` division/subtraction).
//! Since the result depends only on the byte value and the channel, it is tabulated once per
//! call (256 × 3 entries) instead of recomputed per pixel; the values are identical.

use crate::Image;

/// ImageNet channel means of the reference's `Normalize` (torchvision's
/// pretrained-model statistics, not a property of MIMIC-CXR).
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// ImageNet channel standard deviations of the reference's `Normalize`.
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// The normalised value of byte `v` in channel `c`, exactly as torchvision computes it.
#[inline]
fn normalize_value(v: u8, c: usize) -> f32 {
    let x = f32::from(v) / 255.0f32;
    (x - IMAGENET_MEAN[c]) / IMAGENET_STD[c]
}

/// Writes the `crop`×`crop` window of `img` at (`top`, `left`) into `out` as a `(3, crop, crop)`
/// CHW `f32` tensor, normalised per channel. A 1-channel (grey) image is replicated to 3
/// channels, as `convert('RGB')` does in the reference, each with its own mean/std.
///
/// # Panics
/// If `out.len() != 3 * crop * crop`, if the window does not fit inside the image, or if the
/// image is not 1- or 3-channel: these are caller bugs, not data errors.
pub fn write_normalized(img: &Image, top: u32, left: u32, crop: u32, out: &mut [f32]) {
    let c_in = usize::from(img.channels);
    assert!(c_in == 1 || c_in == 3, "write_normalized: {c_in} channels, expected 1 or 3");
    let crop_u = crop as usize;
    let plane = crop_u * crop_u;
    assert_eq!(out.len(), 3 * plane, "write_normalized: output holds {} floats, expected 3*{crop}*{crop}", out.len());
    assert!(
        u64::from(top) + u64::from(crop) <= u64::from(img.height)
            && u64::from(left) + u64::from(crop) <= u64::from(img.width),
        "write_normalized: crop {crop} at (top {top}, left {left}) exceeds {}x{} image",
        img.width,
        img.height
    );
    let mut lut = [[0f32; 256]; 3];
    for (c, table) in lut.iter_mut().enumerate() {
        for (v, slot) in table.iter_mut().enumerate() {
            *slot = normalize_value(v as u8, c);
        }
    }
    let stride = img.width as usize * c_in;
    for (c, out_plane) in out.chunks_exact_mut(plane.max(1)).enumerate().take(3) {
        let table = &lut[c];
        let src_c = if c_in == 1 { 0 } else { c };
        for (y, out_row) in out_plane.chunks_exact_mut(crop_u.max(1)).enumerate().take(crop_u) {
            let row = &img.data[(top as usize + y) * stride..][..stride];
            let px = &row[left as usize * c_in..(left as usize + crop_u) * c_in];
            for (o, p) in out_row.iter_mut().zip(px.chunks_exact(c_in)) {
                *o = table[usize::from(p[src_c])];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_match_numpy_float32() {
        // Bit patterns from numpy: (np.float32(v) / np.float32(255) - mean32[c]) / std32[c]
        // (-2.117904, 2.64, 0.2051822).
        assert_eq!(normalize_value(0, 0).to_bits(), 3_221_719_997);
        assert_eq!(normalize_value(255, 2).to_bits(), 1_076_426_179);
        assert_eq!(normalize_value(128, 1).to_bits(), 1_045_568_328);
    }

    #[test]
    fn grey_is_replicated_and_window_respected() {
        // 4x3 grey image, values 10*y + x; crop 2 at (1, 2).
        let data: Vec<u8> = (0..3u8).flat_map(|y| (0..4u8).map(move |x| 10 * y + x)).collect();
        let img = Image { width: 4, height: 3, channels: 1, data };
        let mut out = vec![0f32; 12];
        write_normalized(&img, 1, 2, 2, &mut out);
        for c in 0..3 {
            let got = &out[c * 4..c * 4 + 4];
            let want: Vec<f32> = [12u8, 13, 22, 23].iter().map(|&v| normalize_value(v, c)).collect();
            assert_eq!(got, &want[..]);
        }
        // RGB: each plane reads its own channel.
        let rgb = Image { width: 1, height: 1, channels: 3, data: vec![1, 2, 3] };
        let mut out = vec![0f32; 3];
        write_normalized(&rgb, 0, 0, 1, &mut out);
        assert_eq!(out, vec![normalize_value(1, 0), normalize_value(2, 1), normalize_value(3, 2)]);
    }
}
