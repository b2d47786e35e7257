//! The per-record files: WFDB ECG records and grayscale CXR JPEGs.

use std::fmt::Write as _;
use std::path::Path;

use image::ExtendedColorType;
use image::codecs::jpeg::JpegEncoder;
use mimic_io::Timestamp;
use mimic_io::layout::ECG_LEADS;

use crate::SynthError;
use crate::emit::io_err;
use crate::model::EcgKind;
use crate::rng::Stream;

/// Samples per lead (10 s at 500 Hz).
pub(crate) const ECG_SAMPLES: usize = 5000;
const LEADS: usize = 12;
const FS: f64 = 500.0;

/// Digital samples, sample-major (`[t * 12 + lead]`), as format 16 stores them.
pub(crate) fn ecg_samples(rng: &mut Stream, kind: EcgKind, gain: u16) -> Vec<i16> {
    let n = ECG_SAMPLES * LEADS;
    match kind {
        EcgKind::Zero => return vec![0; n],
        EcgKind::Constant => return vec![rng.int(3, 40) as i16; n],
        EcgKind::Normal | EcgKind::Nan => {}
    }
    // One beat shape (P, Q, R, S, T as Gaussians, in mV) repeated at a heart
    // rate of 50-110 bpm, projected on each lead with its own amplitude, plus
    // baseline wander and noise.
    let hr = rng.int(50, 110) as f64;
    let rr = 60.0 / hr;
    let waves = [(0.16, 0.025, 0.15), (0.235, 0.008, -0.12), (0.25, 0.01, 1.1), (0.265, 0.01, -0.3), (0.45, 0.04, 0.3)];
    let phase = rng.f64() * rr;
    let mut base = vec![0f32; ECG_SAMPLES];
    for (i, b) in base.iter_mut().enumerate() {
        let t = (i as f64 / FS + phase) % rr;
        let mut v = 0.0;
        for &(c, w, a) in &waves {
            let d = (t - c) / w;
            if d.abs() < 5.0 {
                v += a * (-0.5 * d * d).exp();
            }
        }
        *b = v as f32;
    }
    let amp: Vec<f32> = (0..LEADS).map(|_| (rng.f64() * 2.4 - 0.9) as f32).collect();
    let wander: Vec<(f32, f32)> =
        (0..LEADS).map(|_| ((rng.f64() * 0.15) as f32, (rng.f64() * std::f64::consts::TAU) as f32)).collect();
    let mut fast = rng.fast();
    let g = f32::from(gain);
    let mut out = vec![0i16; n];
    // Baseline wander at 0.33 Hz: each lead's phasor rotated sample by sample.
    let step = 0.33 * std::f64::consts::TAU / FS;
    let (ss, cs) = (step.sin() as f32, step.cos() as f32);
    let mut ph: Vec<(f32, f32)> = wander.iter().map(|&(_, p)| (p.cos(), p.sin())).collect();
    for t in 0..ECG_SAMPLES {
        for l in 0..LEADS {
            let (c, s) = ph[l];
            let mv = amp[l] * base[t] + wander[l].0 * s + 0.015 * fast.sym();
            let d = mv * g;
            // Round half away from zero without a libm call; `as` saturates.
            out[t * LEADS + l] = (if d >= 0.0 { d + 0.5 } else { d - 0.5 }).max(-32767.0) as i16;
            ph[l] = (c * cs - s * ss, s * cs + c * ss);
        }
    }
    if kind == EcgKind::Nan {
        // A lead drops out for a while: WFDB's invalid sample value.
        let lead = rng.int(0, LEADS as i64 - 1) as usize;
        let start = rng.int(0, ECG_SAMPLES as i64 - 200) as usize;
        let len = rng.int(1, 200) as usize;
        for t in start..start + len {
            out[t * LEADS + lead] = i16::MIN;
        }
    }
    out
}

/// The `.hea` text of a record (the line structure of golden/input).
pub(crate) fn ecg_header(study_id: i64, time: Timestamp, gain: u16, samples: &[i16]) -> String {
    let (y, mo, d, h, mi, s) = time.parts();
    let mut hea = format!("{study_id} {LEADS} 500 {ECG_SAMPLES} {h:02}:{mi:02}:{s:02} {d:02}/{mo:02}/{y}\n");
    for (l, name) in ECG_LEADS.iter().enumerate() {
        let first = samples[l];
        // WFDB's checksum: the sum of the lead's samples modulo 65536.
        let sum: i64 = (0..ECG_SAMPLES).map(|t| i64::from(samples[t * LEADS + l])).sum();
        let checksum = sum.rem_euclid(65_536);
        writeln!(hea, "{study_id}.dat 16 {gain}.0(0)/mV 16 0 {first} {checksum} 0 {name}").expect("String write");
    }
    hea
}

/// Writes `<base>.hea` and `<base>.dat`.
pub(crate) fn write_ecg(
    base: &Path,
    study_id: i64,
    time: Timestamp,
    gain: u16,
    samples: &[i16],
) -> Result<(), SynthError> {
    if let Some(dir) = base.parent() {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    }
    let mut dat = Vec::with_capacity(samples.len() * 2);
    for s in samples {
        dat.extend_from_slice(&s.to_le_bytes());
    }
    let dat_path = base.with_extension("dat");
    std::fs::write(&dat_path, dat).map_err(io_err(&dat_path))?;
    let hea_path = base.with_extension("hea");
    std::fs::write(&hea_path, ecg_header(study_id, time, gain, samples)).map_err(io_err(&hea_path))
}

/// A chest-radiograph-like grayscale picture: body silhouette, two dark lung
/// fields with ribs, a bright spine, and noise (the noise is what makes
/// full-size JPEGs as large as MIMIC's). Every shape is separable into a row
/// term plus a column term, so a pixel costs a few additions.
pub(crate) fn chest_pixels(rng: &mut Stream, rows: u32, cols: u32, noise: f32) -> Vec<u8> {
    let (w, h) = (cols as f32, rows as f32);
    let cx = 0.5 + (rng.f64() as f32 - 0.5) * 0.08;
    let lung_w = 0.17 + rng.f64() as f32 * 0.05;
    let bright = 150.0 + rng.f64() as f32 * 60.0;
    let rib_phase = rng.f64() as f32 * 6.0;
    let mut fast = rng.fast();
    let col = |f: &dyn Fn(f32) -> f32| -> Vec<f32> { (0..cols).map(|x| f(x as f32 / w)).collect() };
    let row = |f: &dyn Fn(f32) -> f32| -> Vec<f32> { (0..rows).map(|y| f(y as f32 / h)).collect() };
    let body_c = col(&|u| ((u - cx) / 0.46).powi(2));
    let body_r = row(&|v| ((v - 0.6) / 0.55).powi(2));
    let lung_c: [Vec<f32>; 2] = [-1.0f32, 1.0].map(|side| col(&|u| ((u - cx - side * 0.2) / lung_w).powi(2)));
    let lung_r = row(&|v| ((v - 0.47) / 0.3).powi(2));
    let rib_r = row(&|v| (v * 42.0 + rib_phase).sin());
    let spine_c = col(&|u| (1.0 - ((u - cx) / 0.035).powi(2)).max(0.0) * 40.0);
    let mut px = vec![0u8; (rows * cols) as usize];
    for (y, line) in px.chunks_mut(cols as usize).enumerate() {
        let (br, lr, rib) = (body_r[y], lung_r[y], 12.0 * rib_r[y].max(0.0));
        let spine_on = y as f32 / h > 0.1;
        for (x, p) in line.iter_mut().enumerate() {
            let body = body_c[x] + br;
            let mut val = if body < 1.0 { bright * (1.0 - 0.35 * body) } else { 25.0 };
            for lc in &lung_c {
                let d = lc[x] + lr;
                if d < 1.0 {
                    val -= (bright - 55.0) * (1.0 - d) - rib;
                }
            }
            if spine_on {
                val += spine_c[x];
            }
            val += noise * fast.sym();
            *p = val.clamp(0.0, 255.0) as u8;
        }
    }
    px
}

/// Encodes and writes a grayscale JPEG.
pub(crate) fn write_jpeg(path: &Path, pixels: &[u8], rows: u32, cols: u32, quality: u8) -> Result<(), SynthError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    }
    let mut buf = Vec::with_capacity(pixels.len() / 4 + 1024);
    JpegEncoder::new_with_quality(&mut buf, quality)
        .encode(pixels, cols, rows, ExtendedColorType::L8)
        .map_err(|source| SynthError::Jpeg { path: path.to_path_buf(), source })?;
    std::fs::write(path, buf).map_err(io_err(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Purpose;

    #[test]
    fn ecg_kinds_have_their_defining_property() {
        let mut r = Stream::new(1, Purpose::Signal, 0);
        let normal = ecg_samples(&mut r, EcgKind::Normal, 200);
        assert_eq!(normal.len(), 60_000);
        assert!(normal.iter().all(|&s| s != i16::MIN));
        assert!(normal.iter().any(|&s| s != 0));
        let nan = ecg_samples(&mut r, EcgKind::Nan, 1000);
        assert!(nan.contains(&i16::MIN));
        assert!(ecg_samples(&mut r, EcgKind::Zero, 200).iter().all(|&s| s == 0));
        let c = ecg_samples(&mut r, EcgKind::Constant, 200);
        assert!(c[0] != 0 && c.iter().all(|&s| s == c[0]));
    }

    #[test]
    fn header_lines_follow_wfdb() {
        let mut samples = vec![0i16; 60_000];
        samples[0] = -137;
        samples[12] = -1;
        samples[1] = 5;
        let t = Timestamp::parse("2121-04-10 23:27:25").unwrap();
        let hea = ecg_header(49886407, t, 1000, &samples);
        let lines: Vec<&str> = hea.lines().collect();
        assert_eq!(lines.len(), 13);
        assert_eq!(lines[0], "49886407 12 500 5000 23:27:25 10/04/2121");
        // -137 + -1 = -138 -> 65398 (mod 65536).
        assert_eq!(lines[1], "49886407.dat 16 1000.0(0)/mV 16 0 -137 65398 0 I");
        assert_eq!(lines[2], "49886407.dat 16 1000.0(0)/mV 16 0 5 5 0 II");
        assert!(hea.ends_with(" V6\n"));
    }
}

#[cfg(test)]
mod golden_tests {
    use super::*;
    use std::path::PathBuf;

    /// The golden records' `.hea` files must be exactly what [`ecg_header`]
    /// prints for their `.dat` samples (initial value and checksum convention).
    #[test]
    fn headers_match_golden_records() {
        // The committed golden set (see testdata/README.md).
        let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/golden/input/mimic-iv-ecg"));
        let list = root.join("record_list.csv");
        let text = std::fs::read_to_string(&list).unwrap_or_else(|e| {
            panic!("{}: {e}; the golden set is committed under testdata/ (see testdata/README.md)", list.display())
        });
        let mut checked = 0;
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            let base = root.join(f[4]);
            let dat = std::fs::read(base.with_extension("dat")).unwrap();
            let samples: Vec<i16> = dat.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect();
            let hea = std::fs::read_to_string(base.with_extension("hea")).unwrap();
            let gain: u16 =
                hea.lines().nth(1).unwrap().split(' ').nth(2).unwrap().split('.').next().unwrap().parse().unwrap();
            let time = Timestamp::parse(f[3]).unwrap();
            assert_eq!(ecg_header(f[1].parse().unwrap(), time, gain, &samples), hea, "{}", base.display());
            checked += 1;
        }
        assert_eq!(checked, 86);
    }
}

/// Every file below `dir`, as paths relative to `root` with `/` separators.
fn files_below(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), SynthError> {
    for e in std::fs::read_dir(dir).map_err(io_err(dir))? {
        let path = e.map_err(io_err(dir))?.path();
        if path.is_dir() {
            files_below(root, &path, out)?;
        } else {
            let rel = path.strip_prefix(root).expect("below root");
            let parts: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            out.push(parts.join("/"));
        }
    }
    Ok(())
}

/// Writes `root/name` as PhysioNet publishes it next to each project:
/// `sha256sum` lines (`<hex>  <path>`) for every other file below `root`,
/// sorted by path, so a download can be checked with `sha256sum -c`.
pub(crate) fn write_sha256sums(root: &Path, name: &str) -> Result<(), SynthError> {
    use rayon::prelude::*;
    let mut rels = Vec::new();
    files_below(root, root, &mut rels)?;
    rels.retain(|r| r != name);
    rels.sort();
    let digests: Vec<durable::Digest> = rels
        .par_iter()
        .map(|rel| {
            let path = root.join(rel);
            durable::sha256_file(&path, &mut |_| true).map_err(io_err(&path))
        })
        .collect::<Result<_, _>>()?;
    let mut sums = durable::Sums::default();
    for (digest, rel) in digests.into_iter().zip(&rels) {
        sums.set(rel, digest).map_err(|e| SynthError::Manifest { path: root.join(rel), source: e.into() })?;
    }
    Ok(durable::write_atomic(root.join(name), sums.render().as_bytes())?)
}
