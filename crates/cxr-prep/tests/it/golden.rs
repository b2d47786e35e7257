//! End-to-end checks against the Python reference (Pillow 10.4 / torchvision 0.19):
//! decoded pixels, resized pixels, crop offsets (incl. the torch RandomCrop replay) and final
//! tensors, bit for bit.
//!
//! Two sources: this crate's `tests/data/` (the 20 golden-set JPEGs the tensors use, their
//! `cxr_geometry.csv`, per-row sha256 of the reference tensors, one synthetic vector), and the
//! repository's `testdata/` (the whole golden set with the reference tensors, and the synthetic
//! vectors up to a full-size 2544×3056 image, whose expected tensors are the sha256 recorded in
//! `vectors/golden/MANIFEST.json`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use cxr_prep::{
    CropRng, CropSampler, CxrPrep, Image, center_crop_offsets, decode_jpeg_file, jpeg_dimensions, resize_bilinear,
    resized_size, write_normalized,
};
use test_support::bytes::{f32_le, sha256_hex};
use test_support::fixture;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn channel0(img: &Image) -> Vec<u8> {
    img.data.iter().step_by(usize::from(img.channels)).copied().collect()
}

/// One row of `cxr_geometry.csv`.
#[derive(Debug)]
struct Geom {
    split: String,
    row: usize,
    cxr_path: String,
    orig: (u32, u32),
    resized: (u32, u32),
    crop: (u32, u32),
    resize_noop: bool,
    decoded_sha256: String,
    resized_ch0_sha256: String,
}

fn read_geometry(path: &Path) -> Vec<Geom> {
    let mut rdr = csv::Reader::from_path(path).unwrap();
    let headers = rdr.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"));
    let (split, row, cxr_path) = (col("split"), col("row"), col("cxr_path"));
    let (ow, oh, rw, rh) = (col("orig_w"), col("orig_h"), col("resized_w"), col("resized_h"));
    let (ct, cl, noop, dsha, rsha) =
        (col("crop_top"), col("crop_left"), col("resize_noop"), col("decoded_sha256"), col("resized_ch0_sha256"));
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            let n = |i: usize| r[i].parse::<u32>().unwrap();
            Geom {
                split: r[split].to_string(),
                row: r[row].parse().unwrap(),
                cxr_path: r[cxr_path].to_string(),
                orig: (n(ow), n(oh)),
                resized: (n(rw), n(rh)),
                crop: (n(ct), n(cl)),
                resize_noop: &r[noop] == "True",
                decoded_sha256: r[dsha].to_string(),
                resized_ch0_sha256: r[rsha].to_string(),
            }
        })
        .collect()
}

const SPLITS: [&str; 4] = ["train", "val", "val_retrieval", "test"];
const SCALE: u32 = 64;
const CROP: u32 = 64;
const SEED: u64 = 70;

/// Runs the full per-row pipeline over the geometry rows, checking every intermediate, and
/// returns each row's tensor keyed by (split, row). `locate` maps a `cxr_path` to a file.
fn run_pipeline(geoms: &[Geom], locate: impl Fn(&str) -> PathBuf) -> HashMap<(String, usize), Vec<f32>> {
    let prep = CxrPrep { scale: SCALE, crop: CROP };
    let mut sampler = CropSampler::new(&CropRng::Torch { seed: SEED });
    let mut out = HashMap::new();
    for split in SPLITS {
        for g in geoms.iter().filter(|g| g.split == split) {
            let path = locate(&g.cxr_path);
            let ctx = format!("{split} row {} ({})", g.row, g.cxr_path);
            let decoded = decode_jpeg_file(&path).unwrap();
            assert_eq!((decoded.width, decoded.height), g.orig, "{ctx}: decoded size");
            assert_eq!(decoded.channels, 1, "{ctx}: mode L");
            assert_eq!(jpeg_dimensions(&path).unwrap(), g.orig, "{ctx}: header size");
            assert_eq!(sha256_hex(&decoded.data), g.decoded_sha256, "{ctx}: decoded pixels");
            let size = resized_size(decoded.width, decoded.height, SCALE);
            assert_eq!(size, g.resized, "{ctx}: resized size");
            assert_eq!(size == g.orig, g.resize_noop, "{ctx}: resize no-op flag");
            let resized = prep.load_resized(&path).unwrap();
            assert_eq!((resized.width, resized.height), g.resized, "{ctx}");
            assert_eq!(sha256_hex(&channel0(&resized)), g.resized_ch0_sha256, "{ctx}: resized pixels");
            let (top, left) = if split == "train" {
                sampler.offsets(g.row as u64, resized.width, resized.height, CROP)
            } else {
                center_crop_offsets(resized.width, resized.height, CROP)
            };
            assert_eq!((top, left), g.crop, "{ctx}: crop offsets");
            let mut t = vec![0f32; (3 * CROP * CROP) as usize];
            write_normalized(&resized, top, left, CROP, &mut t);
            out.insert((split.to_string(), g.row), t);
        }
    }
    out
}

#[test]
fn committed_golden_rows_are_bit_identical() {
    let dir = data_dir().join("golden");
    let geoms = read_geometry(&dir.join("cxr_geometry.csv"));
    assert_eq!(geoms.len(), 37);
    let tensors = run_pipeline(&geoms, |p| dir.join(Path::new(p).file_name().unwrap()));
    let mut rdr = csv::Reader::from_path(dir.join("cxr_rows_sha256.csv")).unwrap();
    let mut checked = 0;
    for rec in rdr.records() {
        let rec = rec.unwrap();
        let key = (rec[0].to_string(), rec[1].parse::<usize>().unwrap());
        let t = &tensors[&key];
        assert_eq!(sha256_hex(&f32_le(t)), &rec[2], "{key:?}: tensor differs from reference");
        checked += 1;
    }
    assert_eq!(checked, 37);
}

#[test]
fn golden_reference_tensors_are_bit_identical() {
    let golden = fixture::path("golden");
    let geoms = read_geometry(&golden.join("expected/aux/cxr_geometry.csv"));
    let input = golden.join("input/mimic-cxr-jpg");
    // The geometry rows must follow the split CSVs' cxr_path column.
    for split in SPLITS {
        let mut rdr = csv::Reader::from_path(golden.join(format!("expected/{split}.csv"))).unwrap();
        let pos = rdr.headers().unwrap().iter().position(|h| h == "cxr_path").unwrap();
        let paths: Vec<String> = rdr.records().map(|r| r.unwrap()[pos].to_string()).collect();
        let geo: Vec<&str> = geoms.iter().filter(|g| g.split == split).map(|g| g.cxr_path.as_str()).collect();
        assert_eq!(paths, geo, "{split}: geometry rows vs split CSV");
    }
    let tensors = run_pipeline(&geoms, |p| input.join(p));
    for split in SPLITS {
        let bytes = std::fs::read(golden.join(format!("expected/tensors/{split}/cxr_{split}.safetensors"))).unwrap();
        let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let view = st.tensor(&format!("cxr_{split}")).unwrap();
        assert_eq!(view.dtype(), safetensors::Dtype::F32);
        let n = view.shape()[0];
        assert_eq!(&view.shape()[1..], &[3, CROP as usize, CROP as usize]);
        let row_bytes = (3 * CROP * CROP * 4) as usize;
        for (i, want) in view.data().chunks_exact(row_bytes).enumerate() {
            let got = f32_le(&tensors[&(split.to_string(), i)]);
            let diff = got.chunks(4).zip(want.chunks(4)).filter(|(a, b)| a != b).count();
            assert_eq!(diff, 0, "{split} row {i}: {diff} floats differ from the reference");
        }
        assert_eq!(n, tensors.keys().filter(|k| k.0 == split).count());
    }
}

/// The val/test path at scale 320 / crop 320 on one synthetic image.
fn center_tensor(jpg: &Path) -> Vec<f32> {
    let prep = CxrPrep { scale: 320, crop: 320 };
    let img = prep.load_resized(jpg).unwrap();
    let (top, left) = center_crop_offsets(img.width, img.height, prep.crop);
    let mut out = vec![0f32; 3 * 320 * 320];
    write_normalized(&img, top, left, prep.crop, &mut out);
    out
}

#[test]
fn committed_synthetic_vector_is_bit_identical() {
    // sha256 of synthetic_320x333.center.f32.npy's payload (3x320x320 little-endian f32).
    let t = center_tensor(&data_dir().join("synthetic_320x333.jpg"));
    assert_eq!(sha256_hex(&f32_le(&t)), "09653826737e988819d6eb285b72174cccb6718bccbd7078d1ec45ec59fe1a8f");
}

/// The synthetic vectors, up to a full-size 2544×3056 image. Pillow + numpy's
/// results are recorded in `MANIFEST.json` as sha256 of the decoded pixels, of
/// the resized grey image, and of the `(3, 320, 320)` little-endian f32 tensor
/// (the `.center.f32.npy` payload), with the crop box: equal sha256 means
/// bit-identical, and the intermediate ones say which step differs.
#[test]
fn synthetic_vectors_are_bit_identical() {
    let dir = fixture::path("vectors/golden/cxr");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture::path("vectors/golden/MANIFEST.json")).unwrap()).unwrap();
    let mut seen = 0;
    for name in ["320x333", "333x1000", "641x793", "853x653", "2544x3056"] {
        let want = &manifest[format!("cxr/synthetic_{name}")];
        let jpg = dir.join(format!("synthetic_{name}.jpg"));
        assert_eq!(want["tensor_shape"], serde_json::json!([3, 320, 320]), "synthetic_{name}");
        let decoded = decode_jpeg_file(&jpg).unwrap();
        assert_eq!(sha256_hex(&decoded.data), want["jpeg_decoded_sha256"], "synthetic_{name}: decoded pixels");
        let resized = CxrPrep { scale: 320, crop: 320 }.load_resized(&jpg).unwrap();
        assert_eq!(sha256_hex(&channel0(&resized)), want["resized_gray_sha256"], "synthetic_{name}: resized pixels");
        let (top, left) = center_crop_offsets(resized.width, resized.height, 320);
        let ltrb = [left, top, left + 320, top + 320];
        assert_eq!(serde_json::json!(ltrb), want["crop_box_ltrb"], "synthetic_{name}: crop box");
        let got = f32_le(center_tensor(&jpg));
        assert_eq!(sha256_hex(&got), want["tensor_sha256"], "synthetic_{name}: tensor differs from the reference");
        seen += 1;
    }
    assert_eq!(seen, 5);
}

#[test]
fn resize_of_full_size_image_keeps_geometry() {
    let path = fixture::path("vectors/golden/cxr/synthetic_2544x3056.jpg");
    assert_eq!(jpeg_dimensions(&path).unwrap(), (2544, 3056));
    let img = decode_jpeg_file(&path).unwrap();
    let t0 = std::time::Instant::now();
    let r = resize_bilinear(&img, 320, 384);
    eprintln!("full-size resize: {:?}", t0.elapsed());
    assert_eq!((r.width, r.height, r.channels, r.data.len()), (320, 384, 1, 320 * 384));
}
