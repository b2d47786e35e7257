//! Tests of `symile-mimic inspect`: a tiny made-up dataset written with
//! `tensor_store::TensorFile` is rendered, the PNG decoded and checked pixel by
//! pixel where the layout is known (CXR grey levels, ECG ink, lab bars); the
//! error cases name the file and the numbers; and the committed golden set's
//! rows (`testdata/golden`) read back agree with its split CSVs.

use std::path::{Path, PathBuf};

use symile_mimic::inspect::{
    HEIGHT, InspectArgs, Sample, WIDTH, cxr_to_grey, inspect, labs_in_tensor_order, load_sample, render_png,
};
use tensor_store::{DType, Format, TensorFile, TensorSpec};
use test_support::bytes::{f32_le, i64_le};
use test_support::fixture;

const S: usize = 64;
const T: usize = 5000;
const LEADS: usize = 12;
const MEAN0: f32 = 0.485;
const STD0: f32 = 0.229;

/// Normalised value of grey level `g`, as the tensors stage computes it.
fn norm(g: f32, mean: f32, std: f32) -> f32 {
    (g / 255.0 - mean) / std
}

/// Grey level of CXR pixel (y, x) of row `r`: the left half dark, the right half bright.
fn cxr_grey(r: usize, _y: usize, x: usize) -> f32 {
    if x < S / 2 { 20.0 + r as f32 } else { 230.0 - r as f32 }
}

fn hadm(r: usize) -> i64 {
    20_000_000 + r as i64 * 7
}

/// Row `r`'s lab `k` is missing when `(k + r) % 3 == 0`.
fn lab_missing(r: usize, k: usize) -> bool {
    (k + r).is_multiple_of(3)
}

fn put(dir: &Path, name: &str, dtype: DType, shape: &[usize], format: Format, row: impl Fn(usize) -> Vec<u8>) {
    let spec = TensorSpec { name: name.to_string(), dtype, shape: shape.to_vec() };
    let f = TensorFile::create(dir, spec, format).unwrap();
    for r in 0..shape[0] {
        f.write_row(r, &row(r)).unwrap();
    }
    f.commit().unwrap();
}

/// Writes the tensors of `split` (n rows) under `root/<split>/`.
fn write_split(root: &Path, split: &str, n: usize, format: Format) -> PathBuf {
    let dir = root.join(split);
    std::fs::create_dir_all(&dir).unwrap();
    let means = [0.485f32, 0.456, 0.406];
    let stds = [0.229f32, 0.224, 0.225];
    put(&dir, &format!("cxr_{split}"), DType::F32, &[n, 3, S, S], format, |r| {
        f32_le((0..3).flat_map(|c| (0..S * S).map(move |i| norm(cxr_grey(r, i / S, i % S), means[c], stds[c]))))
    });
    put(&dir, &format!("ecg_{split}"), DType::F32, &[n, 1, T, LEADS], format, |r| {
        f32_le((0..T * LEADS).map(move |i| {
            let (t, l) = (i / LEADS, i % LEADS);
            let phase = t as f32 / 500.0 * (1.0 + l as f32 * 0.1 + r as f32 * 0.05) * std::f32::consts::TAU;
            0.8 * phase.sin() * (l + 1) as f32 / LEADS as f32
        }))
    });
    put(&dir, &format!("labs_percentiles_{split}"), DType::F32, &[n, 50], format, |r| {
        f32_le((0..50).map(move |k| if lab_missing(r, k) { 0.5 } else { (k as f32 + 0.5) / 50.0 }))
    });
    put(&dir, &format!("labs_missingness_{split}"), DType::I64, &[n, 50], format, |r| {
        i64_le((0..50).map(move |k| i64::from(!lab_missing(r, k))))
    });
    put(&dir, &format!("hadm_id_{split}"), DType::I64, &[n], format, |r| i64_le([hadm(r)]));
    if matches!(split, "val_retrieval" | "test") {
        put(&dir, &format!("label_hadm_id_{split}"), DType::I64, &[n], format, |r| i64_le([hadm(r % 2)]));
        put(&dir, &format!("label_{split}"), DType::I64, &[n], format, |r| i64_le([i64::from(r < 2)]));
    }
    dir
}

fn rgb(img: &image::RgbImage, x: u32, y: u32) -> [u8; 3] {
    img.get_pixel(x, y).0
}

#[test]
fn load_sample_reads_exactly_the_requested_row() {
    let tmp = test_support::tempdir();
    write_split(tmp.path(), "test", 4, Format::Safetensors);
    let s = load_sample(tmp.path(), "test", 3).unwrap();
    assert_eq!((s.split.as_str(), s.row, s.rows), ("test", 3, 4));
    assert_eq!(s.hadm_id, hadm(3));
    assert_eq!(s.label, Some((0, hadm(1))));
    assert_eq!((s.cxr_h, s.cxr_w, s.cxr.len()), (S, S, S * S));
    assert_eq!(s.cxr[0], norm(cxr_grey(3, 0, 0), MEAN0, STD0));
    assert_eq!(s.cxr[S - 1], norm(cxr_grey(3, 0, S - 1), MEAN0, STD0));
    assert_eq!((s.ecg_samples, s.ecg_leads, s.ecg.len()), (T, LEADS, T * LEADS));
    assert_eq!(s.labs.len(), 50);
    assert_eq!(s.labs[1], 1.5 / 50.0);
    assert_eq!(s.labs[0], 0.5); // (0 + 3) % 3 == 0: missing, imputed
    let observed: Vec<bool> = (0..50).map(|k| !lab_missing(3, k)).collect();
    assert_eq!(s.observed, observed);
    let grey = cxr_to_grey(&s);
    assert_eq!((grey[0], grey[S - 1]), (23, 227));

    let first = load_sample(tmp.path(), "test", 0).unwrap();
    assert_eq!(first.label, Some((1, hadm(0))));
    assert_eq!(first.cxr[0], norm(20.0, MEAN0, STD0));
}

#[test]
fn cxr_grey_levels_round_trip() {
    let sample = Sample {
        split: "val".into(),
        row: 0,
        rows: 1,
        hadm_id: 1,
        label: None,
        cxr: (0..=255).map(|g| norm(g as f32, MEAN0, STD0)).chain([-50.0, 50.0, f32::NAN]).collect(),
        cxr_h: 1,
        cxr_w: 259,
        ecg: vec![],
        ecg_samples: 0,
        ecg_leads: 0,
        labs: vec![],
        lab_ids: vec![],
        observed: vec![],
    };
    let grey = cxr_to_grey(&sample);
    let expected: Vec<u8> = (0..=255u8).chain([0, 255, 0]).collect();
    assert_eq!(grey, expected);
}

#[test]
fn labs_are_in_ascending_itemid_order() {
    let labs = labs_in_tensor_order(&mimic_io::layout::LABS);
    assert_eq!(labs.len(), 50);
    assert_eq!(labs[0], (50802, "Base Excess"));
    assert_eq!(labs[49], (52172, "RDW-SD"));
    assert!(labs.windows(2).all(|w| w[0].0 < w[1].0));
    assert!(labs.iter().all(|(_, name)| !name.is_empty()));
    // A variant's labs: string order (the reference's sorted keys), no name outside the 50.
    assert_eq!(
        labs_in_tensor_order(&[51221, 220_045, 50802]),
        [(220_045, ""), (50802, "Base Excess"), (51221, "Hematocrit")]
    );
}

#[test]
fn inspect_writes_a_png_showing_the_sample() {
    let tmp = test_support::tempdir();
    write_split(tmp.path(), "val", 3, Format::Safetensors);
    let out = tmp.path().join("val1.png");
    let args = InspectArgs { dir: tmp.path().to_path_buf(), split: "val".into(), row: 1, out: out.clone() };
    let written = inspect(&args).unwrap();
    assert_eq!(written, out);
    let img = image::open(&out).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (WIDTH, HEIGHT));

    // Not blank: the grey-level variance is far from zero.
    let lum: Vec<f64> = img.pixels().map(|p| p.0.iter().map(|&c| c as f64).sum::<f64>() / 3.0).collect();
    let mean = lum.iter().sum::<f64>() / lum.len() as f64;
    let var = lum.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / lum.len() as f64;
    assert!(var > 500.0, "variance {var}");

    // The CXR box is (20, 100)..(560, 640): row 1's left half is grey 21, right half 229.
    assert_eq!(rgb(&img, 20 + 100, 100 + 270), [21, 21, 21]);
    assert_eq!(rgb(&img, 20 + 440, 100 + 270), [229, 229, 229]);
    let dark =
        (100..640).flat_map(|y| (20..290).map(move |x| (x, y))).filter(|&(x, y)| rgb(&img, x, y)[0] < 30).count();
    assert!(dark > 270 * 500, "dark CXR pixels: {dark}");

    // ECG ink (red traces) in the middle column.
    let red = |p: [u8; 3]| p[0] > 150 && p[1] < 60 && p[2] < 80;
    let ink = (60..1000).flat_map(|y| (590..1230).map(move |x| (x, y))).filter(|&(x, y)| red(rgb(&img, x, y))).count();
    assert!(ink > 5_000, "ECG ink pixels: {ink}");

    // Lab bars: observed (blue) and missing (light grey) both present in the right column.
    let count = |c: [u8; 3]| {
        (60..1000).flat_map(|y| (1240..1800).map(move |x| (x, y))).filter(|&(x, y)| rgb(&img, x, y) == c).count()
    };
    assert!(count([31, 119, 180]) > 5_000, "observed-bar pixels");
    assert!(count([205, 205, 205]) > 2_000, "missing-bar pixels");

    // Same inputs, same bytes.
    let again = render_png(&load_sample(tmp.path(), "val", 1).unwrap()).unwrap();
    assert_eq!(again, std::fs::read(&out).unwrap());
}

#[test]
fn published_layout_and_npy_with_labels() {
    let tmp = test_support::tempdir();
    write_split(&tmp.path().join("data_npy"), "val_retrieval", 3, Format::Npy);
    let s = load_sample(tmp.path(), "val_retrieval", 2).unwrap();
    assert_eq!((s.hadm_id, s.label), (hadm(2), Some((0, hadm(0)))));
    let out = tmp.path().join("vr.png");
    inspect(&InspectArgs { dir: tmp.path().to_path_buf(), split: "val_retrieval".into(), row: 2, out: out.clone() })
        .unwrap();
    assert_eq!(image::open(&out).unwrap().to_rgb8().dimensions(), (WIDTH, HEIGHT));
}

#[test]
fn errors_name_the_file_and_the_numbers() {
    let tmp = test_support::tempdir();
    let dir = write_split(tmp.path(), "val", 3, Format::Safetensors);
    let out = tmp.path().join("x.png");
    let args =
        |split: &str, row| InspectArgs { dir: tmp.path().to_path_buf(), split: split.into(), row, out: out.clone() };

    let e = format!("{:#}", inspect(&args("val", 3)).unwrap_err());
    assert!(e.contains("row 3 is out of range") && e.contains("val has 3 rows"), "{e}");

    let e = format!("{:#}", inspect(&args("validation", 0)).unwrap_err());
    assert!(e.contains("unknown split \"validation\"") && e.contains("train, val, val_retrieval, test"), "{e}");

    // val_retrieval has no tensors at all here.
    let e = format!("{:#}", inspect(&args("val_retrieval", 0)).unwrap_err());
    assert!(e.contains("cxr_val_retrieval not found") && e.contains("data_npy"), "{e}");

    // A tensor with a different row count.
    put(&dir, "hadm_id_val", DType::I64, &[2], Format::Safetensors, |r| i64_le([r as i64]));
    let e = format!("{:#}", inspect(&args("val", 0)).unwrap_err());
    assert!(e.contains("hadm_id_val.safetensors has 2 rows") && e.contains("has 3"), "{e}");

    // A tensor of the wrong shape.
    put(&dir, "labs_percentiles_val", DType::F32, &[3, 49], Format::Safetensors, |_| f32_le(vec![0.5; 49]));
    let e = format!("{:#}", inspect(&args("val", 0)).unwrap_err());
    assert!(e.contains("labs_percentiles_val.safetensors") && e.contains("(n, 50)") && e.contains("[3, 49]"), "{e}");

    // A missing tensor.
    std::fs::remove_file(dir.join("ecg_val.safetensors")).unwrap();
    let e = format!("{:#}", inspect(&args("val", 0)).unwrap_err());
    assert!(e.contains("ecg_val not found") && e.contains("tried"), "{e}");
    assert!(!out.exists(), "no PNG is written on an error");
}

/// The golden set's tensors (expected/tensors/<split>/) agree with its split CSVs.
#[test]
fn golden_rows_match_the_split_csvs() {
    let golden = &fixture::path("golden/expected");
    let mut rdr = csv::Reader::from_path(golden.join("test.csv")).unwrap();
    let headers = rdr.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap_or_else(|| panic!("column {name}"));
    let (hadm_c, label_hadm_c, label_c) = (col("hadm_id"), col("label_hadm_id"), col("label"));
    let labs = labs_in_tensor_order(&mimic_io::layout::LABS);
    let mut rows = 0;
    for (row, rec) in rdr.records().enumerate() {
        let rec = rec.unwrap();
        let s = load_sample(golden, "test", row).unwrap();
        assert_eq!(s.hadm_id.to_string(), rec[hadm_c], "row {row}");
        let (label, label_hadm) = s.label.unwrap();
        assert_eq!(label_hadm.to_string(), rec[label_hadm_c], "row {row}");
        assert_eq!(label as f64, rec[label_c].parse::<f64>().unwrap(), "row {row}");
        for (k, (id, _)) in labs.iter().enumerate() {
            let raw = &rec[col(&id.to_string())];
            assert_eq!(s.observed[k], !raw.is_empty(), "row {row} lab {id}");
            if s.observed[k] {
                let pct: f64 = rec[col(&format!("{id}_percentile"))].parse().unwrap();
                assert!((s.labs[k] as f64 - pct).abs() < 1e-6, "row {row} lab {id}: {} vs {pct}", s.labs[k]);
            }
        }
        rows += 1;
    }
    assert_eq!(rows, 12);
    let png = render_png(&load_sample(golden, "test", 0).unwrap()).unwrap();
    let img = image::load_from_memory(&png).unwrap();
    assert_eq!((img.width(), img.height()), (WIDTH, HEIGHT));
}
