//! Pillow's `Image.resize(size, Image.BILINEAR)` for 8-bit images, reproduced exactly.
//!
//! This follows the algorithm of Pillow's `libImaging/Resample.c` (the convolution resampler
//! that also antialiases when downscaling), because any other bilinear resize (e.g.
//! `fast_image_resize`) differs by ±1 on a sizeable fraction of pixels:
//!
//! * per output pixel, a triangle filter centred on the source position, stretched by the scale
//!   factor when downscaling (support = `max(in/out, 1)`), weights normalised to sum 1 in `f64`,
//!   then rounded to 22-bit fixed point (`PRECISION_BITS = 32 - 8 - 2`);
//! * two separable passes, horizontal first (only over the source rows the vertical pass will
//!   read), each accumulating `u8 × i32` in an `i32` that starts at `1 << 21` and is shifted
//!   right by 22 and clipped to `0..=255`;
//! * a pass is skipped when its dimension does not change; if neither changes the image is
//!   copied (Pillow's `Image.resize` returns `self.copy()` in that case too).

use crate::Image;

/// Fixed-point precision of Pillow's 8-bit resampler.
const PRECISION_BITS: u32 = 32 - 8 - 2;

/// Pillow's `bilinear_filter`: a unit triangle.
fn bilinear_filter(x: f64) -> f64 {
    let x = x.abs();
    if x < 1.0 { 1.0 - x } else { 0.0 }
}

/// Filter taps of one resampling pass: output pixel `i` reads `len[i]` source samples starting
/// at `start[i]` with weights `weights[i * ksize ..][.. len[i]]`.
#[derive(Debug)]
struct Taps {
    ksize: usize,
    start: Vec<usize>,
    len: Vec<usize>,
    weights: Vec<i32>,
}

/// Computes the taps for resampling `in_size` samples to `out_size` over the whole input
/// (box `0..in_size`), following `precompute_coeffs` + `normalize_coeffs_8bpc` operation for
/// operation (same `f64` expressions and order, same truncating `int` casts).
fn precompute_taps(in_size: u32, out_size: u32) -> Taps {
    // Pillow passes the box as C floats; `in1 - in0` is computed in float, then widened.
    let (in0, in1) = (0.0f32, in_size as f32);
    let scale = f64::from(in1 - in0) / f64::from(out_size);
    let filterscale = if scale < 1.0 { 1.0 } else { scale };
    let support = 1.0 * filterscale;
    let ksize = support.ceil() as usize * 2 + 1;
    let n = out_size as usize;
    let mut start = Vec::with_capacity(n);
    let mut len = Vec::with_capacity(n);
    let mut weights = vec![0i32; n * ksize];
    let mut k = vec![0f64; ksize];
    for (xx, wrow) in weights.chunks_exact_mut(ksize).enumerate() {
        let center = f64::from(in0) + (xx as f64 + 0.5) * scale;
        let ss = 1.0 / filterscale;
        // `(int)` in C truncates toward zero, as `as i64` does.
        let xmin = ((center - support + 0.5) as i64).max(0);
        let xmax = ((center + support + 0.5) as i64).min(i64::from(in_size));
        let count = (xmax - xmin).max(0) as usize;
        let mut ww = 0.0f64;
        for (x, kx) in k.iter_mut().enumerate().take(count) {
            let w = bilinear_filter(((x as i64 + xmin) as f64 - center + 0.5) * ss);
            *kx = w;
            ww += w;
        }
        for (kx, out) in k.iter().zip(wrow.iter_mut()).take(count) {
            let v = if ww != 0.0 { kx / ww } else { *kx };
            let fixed = v * f64::from(1u32 << PRECISION_BITS);
            *out = if v < 0.0 { (-0.5 + fixed) as i32 } else { (0.5 + fixed) as i32 };
        }
        start.push(xmin as usize);
        len.push(count);
    }
    Taps { ksize, start, len, weights }
}

/// Pillow's `clip8`: drop the fraction bits and clamp to a byte.
#[inline]
fn clip8(acc: i32) -> u8 {
    (acc >> PRECISION_BITS).clamp(0, 255) as u8
}

/// Horizontal pass over `rows` source rows starting at row `row0`; `C` interleaved channels.
fn horizontal<const C: usize>(src: &Image, row0: usize, rows: usize, taps: &Taps, out_w: usize) -> Vec<u8> {
    let in_stride = src.width as usize * C;
    let out_stride = out_w * C;
    let mut out = vec![0u8; out_stride * rows];
    for (y, orow) in out.chunks_exact_mut(out_stride.max(1)).enumerate().take(rows) {
        let irow = &src.data[(row0 + y) * in_stride..][..in_stride];
        let per_pixel =
            orow.chunks_exact_mut(C).zip(taps.start.iter().zip(&taps.len)).zip(taps.weights.chunks_exact(taps.ksize));
        for ((opix, (&s, &n)), k) in per_pixel {
            let src = &irow[s * C..(s + n) * C];
            if C == 1 {
                // Same sum as the general branch; the slice form lets the compiler vectorise.
                let acc =
                    src.iter().zip(&k[..n]).fold(1i32 << (PRECISION_BITS - 1), |a, (&p, &w)| a + i32::from(p) * w);
                opix[0] = clip8(acc);
                continue;
            }
            let mut acc = [1i32 << (PRECISION_BITS - 1); C];
            for (px, &w) in src.chunks_exact(C).zip(k) {
                for c in 0..C {
                    acc[c] += i32::from(px[c]) * w;
                }
            }
            for c in 0..C {
                opix[c] = clip8(acc[c]);
            }
        }
    }
    out
}

/// Vertical pass: every output row is a weighted sum of whole source rows, so it is independent
/// of the channel layout. Summing row by row (instead of pixel by pixel) gives the same integers
/// because the `i32` additions are exact.
fn vertical(src: &[u8], stride: usize, taps: &Taps, row_shift: usize, out_h: usize) -> Vec<u8> {
    let mut out = vec![0u8; stride * out_h];
    let mut acc = vec![0i32; stride];
    for (yy, orow) in out.chunks_exact_mut(stride.max(1)).enumerate().take(out_h) {
        let (s, n) = (taps.start[yy] - row_shift, taps.len[yy]);
        let k = &taps.weights[yy * taps.ksize..][..n];
        acc.fill(1i32 << (PRECISION_BITS - 1));
        for (y, &w) in k.iter().enumerate() {
            let irow = &src[(s + y) * stride..][..stride];
            for (a, &p) in acc.iter_mut().zip(irow) {
                *a += i32::from(p) * w;
            }
        }
        for (o, &a) in orow.iter_mut().zip(&acc) {
            *o = clip8(a);
        }
    }
    out
}

/// Resizes `img` to `width`×`height` exactly as Pillow 10.4 `img.resize((width, height),
/// Image.BILINEAR)` does for mode `L` / `RGB`.
///
/// # Panics
/// If `img.channels` is not 1 or 3 or `img.data` does not hold `width * height * channels` bytes.
pub fn resize_bilinear(img: &Image, width: u32, height: u32) -> Image {
    let c = usize::from(img.channels);
    assert!(c == 1 || c == 3, "resize_bilinear: {c} channels, expected 1 or 3");
    assert_eq!(
        img.data.len(),
        img.width as usize * img.height as usize * c,
        "resize_bilinear: data length does not match {}x{}x{c}",
        img.width,
        img.height
    );
    if width == 0 || height == 0 || img.width == 0 || img.height == 0 {
        return Image { width, height, channels: img.channels, data: vec![0; width as usize * height as usize * c] };
    }
    let need_h = width != img.width;
    let need_v = height != img.height;
    if !need_h && !need_v {
        return img.clone();
    }
    let vtaps = precompute_taps(img.height, height);
    // Source rows the vertical pass reads: the horizontal pass only computes these.
    let first = vtaps.start[0];
    let last = vtaps.start[height as usize - 1] + vtaps.len[height as usize - 1];
    let (data, rows_shift) = if need_h {
        let htaps = precompute_taps(img.width, width);
        let rows = last - first;
        let tmp = match c {
            1 => horizontal::<1>(img, first, rows, &htaps, width as usize),
            _ => horizontal::<3>(img, first, rows, &htaps, width as usize),
        };
        (tmp, first)
    } else {
        (img.data.clone(), 0)
    };
    if !need_v {
        return Image { width, height, channels: img.channels, data };
    }
    let out = vertical(&data, width as usize * c, &vtaps, rows_shift, height as usize);
    Image { width, height, channels: img.channels, data: out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taps_for_halving_match_pillow() {
        // 4 -> 2: scale 2, support 2, ksize 5; centre of output 0 is 1.0, taps x=0..3 with
        // triangle weights 0.75, 0.75, 0.25 normalised... computed by hand from Pillow's formula:
        // xmin = int(1 - 2 + .5) = 0, xmax = int(1 + 2 + .5) = 3; w(x) = tri((x - 1 + .5) / 2)
        // = [0.75, 0.75, 0.25] / 1.75.
        let t = precompute_taps(4, 2);
        assert_eq!(t.ksize, 5);
        assert_eq!((t.start[0], t.len[0]), (0, 3));
        let expect = |w: f64| (0.5 + w / 1.75 * 4194304.0) as i32;
        assert_eq!(&t.weights[..3], &[expect(0.75), expect(0.75), expect(0.25)]);
        assert_eq!((t.start[1], t.len[1]), (1, 3));
    }

    #[test]
    fn identity_and_constant_images() {
        let img = Image { width: 5, height: 4, channels: 1, data: (0..20).collect() };
        assert_eq!(resize_bilinear(&img, 5, 4), img);
        // A constant image stays constant under any resize (weights sum to 1 << 22 +- rounding).
        let flat = Image { width: 37, height: 23, channels: 3, data: vec![200; 37 * 23 * 3] };
        let r = resize_bilinear(&flat, 11, 64);
        assert_eq!((r.width, r.height, r.channels), (11, 64, 3));
        assert!(r.data.iter().all(|&v| v == 200), "{:?}", &r.data[..12]);
    }

    #[test]
    fn grey_and_rgb_paths_agree() {
        // Resizing a grey image equals resizing its RGB replication channel by channel.
        let (w, h) = (29u32, 17u32);
        let grey: Vec<u8> = (0..w * h).map(|i| ((i * 37 + i / 7) % 256) as u8).collect();
        let rgb: Vec<u8> = grey.iter().flat_map(|&v| [v, v, v]).collect();
        let g = resize_bilinear(&Image { width: w, height: h, channels: 1, data: grey }, 13, 31);
        let c = resize_bilinear(&Image { width: w, height: h, channels: 3, data: rgb }, 13, 31);
        let c0: Vec<u8> = c.data.chunks(3).map(|p| p[0]).collect();
        assert_eq!(g.data, c0);
        assert!(c.data.chunks(3).all(|p| p[0] == p[1] && p[1] == p[2]));
    }
}
