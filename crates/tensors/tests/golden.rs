//! End-to-end parity of stage 3 with the reference's golden tensors
//! (`testdata/golden`), plus formats, determinism and bad inputs.
//!
//! Every test copies the golden split CSVs and `labs_means.json` into a temp
//! `data_dir` and runs [`tensors::run`] on the golden MIMIC inputs with the
//! reference's parameters (scale 64, crop 64, torch seed 70).

use std::fs;
use std::path::{Path, PathBuf};

use progress::{NoProgress, Progress};
use tensor_store::{DType, Format, read_tensor};
use tensors::{TensorsConfig, TensorsError, run};
use test_support::fixture;
use test_support::tree::files;

/// Records every progress call, to check totals per split.
#[derive(Debug, Default)]
struct Recorder {
    events: std::sync::Mutex<Vec<(String, u64)>>,
}

impl Progress for Recorder {
    fn start(&self, step: &str, total: Option<u64>) {
        self.events.lock().unwrap().push((format!("start {step}"), total.unwrap_or(u64::MAX)));
    }
    fn inc(&self, n: u64) {
        let mut e = self.events.lock().unwrap();
        match e.last_mut() {
            Some((name, done)) if name.starts_with("done ") => *done += n,
            _ => e.push(("done ".to_string(), n)),
        }
    }
    fn finish(&self) {
        self.events.lock().unwrap().push(("finish".to_string(), 0));
    }
}

const INPUTS: [&str; 5] = ["train.csv", "val.csv", "val_retrieval.csv", "test.csv", "labs_means.json"];
/// The splits, in the reference's order (an expectation of these tests, not read from the library).
const SPLITS: [&str; 4] = ["train", "val", "val_retrieval", "test"];

/// The committed golden set: `input/` and the reference's `expected/` outputs.
fn golden() -> PathBuf {
    fixture::path("golden")
}

/// A temp data_dir holding copies of the golden split CSVs and labs means.
fn data_dir(g: &Path) -> test_support::TempDir {
    let dir = test_support::tempdir();
    for f in INPUTS {
        fs::copy(g.join("expected").join(f), dir.path().join(f)).unwrap();
    }
    dir
}

fn config(g: &Path, data: &Path) -> TensorsConfig {
    let mut cfg = TensorsConfig::new(data, g.join("input/mimic-iv-ecg"), g.join("input/mimic-cxr-jpg"));
    cfg.recipe.tensors.cxr_scale = 64;
    cfg.recipe.tensors.cxr_crop = 64;
    cfg.recipe.tensors.format = Format::Safetensors;
    cfg.recipe.tensors.crop_rng = recipe::CropGenerator::Torch;
    cfg.recipe.splits.seed = 70;
    cfg
}

fn tensor_names(split: &str) -> Vec<String> {
    let mut names = vec!["cxr", "ecg", "labs_percentiles", "labs_missingness", "hadm_id"];
    if matches!(split, "val_retrieval" | "test") {
        names.extend(["label_hadm_id", "label"]);
    }
    names.into_iter().map(|n| format!("{n}_{split}")).collect()
}

/// Asserts that `data` holds only the inputs (no tensors, no metadata, no
/// temporaries, no split directories).
fn assert_no_outputs(data: &Path) {
    let mut expected: Vec<PathBuf> = INPUTS.iter().map(PathBuf::from).collect();
    expected.sort();
    assert_eq!(files(data), expected);
    for s in SPLITS {
        assert!(!data.join(s).exists(), "split directory {s} left behind");
    }
}

/// Compares every tensor of `data` (format `ext`) with the golden safetensors.
fn assert_matches_golden(g: &Path, data: &Path, ext: &str) {
    for split in SPLITS {
        for name in tensor_names(split) {
            let ours = read_tensor(&data.join(split).join(format!("{name}.{ext}"))).unwrap();
            let want =
                read_tensor(&g.join("expected/tensors").join(split).join(format!("{name}.safetensors"))).unwrap();
            assert_eq!(ours.spec.dtype, want.spec.dtype, "{split}/{name}");
            assert_eq!(ours.spec.shape, want.spec.shape, "{split}/{name}");
            assert_eq!(ours.spec.name, name, "{split}/{name}.{ext}");
            if ours.data != want.data {
                let row = want.data.len() / want.spec.shape[0];
                let bad: Vec<usize> = (0..want.spec.shape[0])
                    .filter(|&r| ours.data[r * row..][..row] != want.data[r * row..][..row])
                    .collect();
                panic!("{split}/{name}.{ext}: rows {bad:?} differ from the golden tensor");
            }
        }
    }
}

#[test]
fn golden_parity_with_torch_crops() {
    let g = golden();
    let data = data_dir(&g);
    let progress = Recorder::default();
    let cfg = config(&g, data.path());
    let report = run(&cfg, &progress).unwrap();
    assert_matches_golden(&g, data.path(), "safetensors");
    let events = progress.events.into_inner().unwrap();
    let mut want = Vec::new();
    // The largest split is written first (the order changes no byte).
    for (split, rows) in [("train", 13u64), ("test", 12), ("val_retrieval", 9), ("val", 3)] {
        want.extend([(format!("start {split}"), rows), ("done ".to_string(), rows), ("finish".to_string(), 0)]);
    }
    // The files are hashed as they are written: no step of its own after them.
    assert_eq!(events, want);
    assert_eq!(
        fs::read(data.path().join("metadata.json")).unwrap(),
        fs::read(g.join("expected/metadata.json")).unwrap()
    );

    let rows: Vec<usize> = report.splits.iter().map(|s| s.rows).collect();
    assert_eq!(rows, [13, 3, 9, 12]);
    // retrieval splits repeat each query's image/record candidate_n = 3 times
    assert_eq!(report.splits[3].unique_images, 4);
    assert_eq!(report.splits[3].unique_ecgs, 4);
    assert_eq!(report.splits[0].ecg_shape, (5000, 12));
    assert!(report.bad_ecg_records().is_empty());
    assert_eq!(report.splits.iter().map(|s| s.files.len()).collect::<Vec<_>>(), [5, 5, 7, 7]);
    // nothing but the outputs (and SHA256SUMS.txt, which lists them) was added
    let files = files(data.path());
    assert_eq!(files.len(), INPUTS.len() + 4 + 24 + 1, "{files:?}");
    let sums = durable::Sums::load(&data.path().join(durable::SUMS_FILE)).unwrap().unwrap();
    assert_eq!(
        sums.len(),
        4 + 24,
        "every tensor file, metadata.json, recipe.toml, README.md and croissant.json, nothing else"
    );
    // The Croissant file lists every output with the hash SHA256SUMS.txt has for it.
    let croissant: serde_json::Value =
        serde_json::from_slice(&fs::read(data.path().join("croissant.json")).unwrap()).unwrap();
    let objects: Vec<&serde_json::Value> =
        croissant["distribution"].as_array().unwrap().iter().filter(|o| o["@type"] == "cr:FileObject").collect();
    let mut listed = 0;
    for o in &objects {
        let path = o["contentUrl"].as_str().unwrap();
        if let Some(d) = sums.get(path) {
            assert_eq!(o["sha256"].as_str().unwrap(), durable::sums::hex(d), "{path}");
            listed += 1;
        }
    }
    assert_eq!(listed, sums.len() - 1, "every file of SHA256SUMS.txt but croissant.json itself");
    // The recipe recorded is the one the run used.
    let recorded = recipe::Requested::recorded(data.path()).unwrap().unwrap().recipe;
    assert_eq!(recorded, cfg.recipe);
}

fn assert_format_matches_golden(format: Format) {
    let g = golden();
    let data = data_dir(&g);
    let mut cfg = config(&g, data.path());
    cfg.recipe.tensors.format = format;
    run(&cfg, &NoProgress).unwrap();
    assert_matches_golden(&g, data.path(), format.extension());
}

#[test]
fn npy_holds_the_same_tensors() {
    assert_format_matches_golden(Format::Npy);
}

#[test]
fn pt_holds_the_same_tensors() {
    assert_format_matches_golden(Format::Pt);
}

#[test]
fn same_seed_same_bytes_for_any_thread_count_and_chacha_crops_are_real_crops() {
    let g = golden();
    let mut outputs = Vec::new();
    for threads in [1, 2] {
        let data = data_dir(&g);
        let mut cfg = config(&g, data.path());
        cfg.recipe.tensors.crop_rng = recipe::CropGenerator::ChaCha;
        cfg.recipe.splits.seed = 5;
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| run(&cfg, &NoProgress)).unwrap();
        let bytes: Vec<(PathBuf, Vec<u8>)> =
            files(data.path()).into_iter().map(|f| (f.clone(), fs::read(data.path().join(&f)).unwrap())).collect();
        outputs.push((data, bytes));
    }
    assert_eq!(outputs[0].1, outputs[1].1, "1 and 2 threads must write identical files");

    // Non-train splits do not depend on the crop RNG.
    let data = outputs[0].0.path();
    let train = read_tensor(&data.join("train/cxr_train.safetensors")).unwrap();
    let golden_train = read_tensor(&g.join("expected/tensors/train/cxr_train.safetensors")).unwrap();
    assert_eq!(train.spec.shape, golden_train.spec.shape);
    let row_bytes = 3 * 64 * 64 * 4;
    let mut csv = csv::Reader::from_path(data.join("train.csv")).unwrap();
    let col = csv.headers().unwrap().iter().position(|h| h == "cxr_path").unwrap();
    let prep = cxr_prep::CxrPrep { scale: 64, crop: 64 };
    let mut off_center = 0;
    for (r, rec) in csv.records().enumerate() {
        let path = g.join("input/mimic-cxr-jpg").join(&rec.unwrap()[col]);
        let img = prep.load_resized(&path).unwrap();
        let row = &train.data[r * row_bytes..][..row_bytes];
        let mut floats = vec![0f32; 3 * 64 * 64];
        let mut found = None;
        'search: for top in 0..=img.height - 64 {
            for left in 0..=img.width - 64 {
                cxr_prep::write_normalized(&img, top, left, 64, &mut floats);
                if floats.iter().flat_map(|v| v.to_le_bytes()).eq(row.iter().copied()) {
                    found = Some((top, left));
                    break 'search;
                }
            }
        }
        let found = found.unwrap_or_else(|| panic!("train row {r} is not a crop of its resized image"));
        if found != cxr_prep::center_crop_offsets(img.width, img.height, 64) {
            off_center += 1;
        }
    }
    assert!(off_center > 0, "random crops all landed on the centre: the seed is not used");
}

/// Writes CSV `file` in `data` back after `edit` changed its records.
fn edit_csv(data: &Path, file: &str, edit: impl FnOnce(&csv::StringRecord, &mut Vec<csv::StringRecord>)) {
    let path = data.join(file);
    let mut r = csv::Reader::from_path(&path).unwrap();
    let headers = r.headers().unwrap().clone();
    let mut rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    edit(&headers, &mut rows);
    let mut w = csv::Writer::from_path(&path).unwrap();
    w.write_record(&headers).unwrap();
    for row in rows {
        w.write_record(&row).unwrap();
    }
    w.flush().unwrap();
}

fn set_field(headers: &csv::StringRecord, row: &mut csv::StringRecord, column: &str, value: &str) {
    let i = headers.iter().position(|h| h == column).unwrap();
    let mut fields: Vec<String> = row.iter().map(str::to_string).collect();
    fields[i] = value.to_string();
    *row = csv::StringRecord::from(fields);
}

/// An ECG root of symlinks to the golden records the split CSVs use, so that
/// tests can remove files or add records without touching the fixture.
fn ecg_mirror(g: &Path, data: &Path, root: &Path) {
    for f in ["train.csv", "val.csv", "val_retrieval.csv", "test.csv"] {
        let mut r = csv::Reader::from_path(data.join(f)).unwrap();
        let col = r.headers().unwrap().iter().position(|h| h == "ecg_path").unwrap();
        for rec in r.records() {
            let rel = rec.unwrap()[col].to_string();
            let dst = root.join(&rel);
            fs::create_dir_all(dst.parent().unwrap()).unwrap();
            for ext in ["hea", "dat"] {
                let link = PathBuf::from(format!("{}.{ext}", dst.display()));
                if !link.exists() {
                    std::os::unix::fs::symlink(g.join("input/mimic-iv-ecg").join(format!("{rel}.{ext}")), link)
                        .unwrap();
                }
            }
        }
    }
}

/// A 12-lead format-16 record of `samples` samples, every one `value`.
fn write_constant_record(root: &Path, rel: &str, value: i16, samples: usize) {
    let base = root.join(rel);
    fs::create_dir_all(base.parent().unwrap()).unwrap();
    let name = base.file_name().unwrap().to_string_lossy().into_owned();
    let checksum = (samples as i64 * i64::from(value)).rem_euclid(65536);
    let mut hea = format!("{name} 12 500 {samples}\n");
    for lead in ["I", "II", "III", "aVR", "aVF", "aVL", "V1", "V2", "V3", "V4", "V5", "V6"] {
        hea.push_str(&format!("{name}.dat 16 1000.0(0)/mV 16 0 {value} {checksum} 0 {lead}\n"));
    }
    fs::write(format!("{}.hea", base.display()), hea).unwrap();
    let dat: Vec<u8> = (0..samples * 12).flat_map(|_| value.to_le_bytes()).collect();
    fs::write(format!("{}.dat", base.display()), dat).unwrap();
}

#[test]
fn flat_ecg_is_nan_and_reported_or_an_error_when_strict() {
    let g = golden();
    let flat = "files/p9999/p99999999/s99999999/99999999";
    for strict in [false, true] {
        let data = data_dir(&g);
        let ecg_root = test_support::tempdir();
        edit_csv(data.path(), "val.csv", |h, rows| set_field(h, &mut rows[1], "ecg_path", flat));
        write_constant_record(ecg_root.path(), flat, 100, 5000);
        ecg_mirror(&g, data.path(), ecg_root.path());
        let mut cfg = config(&g, data.path());
        cfg.ecg_dir = ecg_root.path().to_path_buf();
        cfg.recipe.tensors.strict = strict;
        let result = run(&cfg, &NoProgress);
        if strict {
            let err = result.unwrap_err();
            assert!(matches!(&err, TensorsError::BadEcg { count: 1, .. }), "{err}");
            assert!(err.to_string().contains(flat) && err.to_string().contains("val.csv"), "{err}");
            assert_no_outputs(data.path());
            continue;
        }
        let report = result.unwrap();
        assert_eq!(report.splits[1].flat_ecg_records, vec![flat.to_string()]);
        assert_eq!(report.splits[1].nan_ecg_rows, 1);
        assert_eq!(report.bad_ecg_records(), vec![flat.to_string()]);
        let ours = read_tensor(&data.path().join("val/ecg_val.safetensors")).unwrap();
        let want = read_tensor(&g.join("expected/tensors/val/ecg_val.safetensors")).unwrap();
        let row = 5000 * 12 * 4;
        assert!(ours.data[row..2 * row].chunks_exact(4).all(|b| f32::from_le_bytes(b.try_into().unwrap()).is_nan()));
        assert_eq!(ours.data[..row], want.data[..row]);
        assert_eq!(ours.data[2 * row..], want.data[2 * row..]);
    }
}

#[test]
fn missing_inputs_fail_without_leaving_files() {
    let g = golden();

    // A missing JPEG in the last split: found before anything is written.
    let data = data_dir(&g);
    edit_csv(data.path(), "test.csv", |h, rows| {
        set_field(h, &mut rows[2], "cxr_path", "files/p10/p10000000/s50000000/missing.jpg")
    });
    let err = run(&config(&g, data.path()), &NoProgress).unwrap_err();
    let msg = errors::Chain(&err).to_string();
    assert!(matches!(err, TensorsError::MissingInput { line: 4, .. }), "{msg}");
    assert!(msg.contains("test.csv:4") && msg.contains("missing.jpg"), "{msg}");
    assert_no_outputs(data.path());

    // A missing .dat of a record only the test split uses: found while
    // writing test, after train/val/val_retrieval were written (temporarily).
    let data = data_dir(&g);
    let ecg_root = test_support::tempdir();
    ecg_mirror(&g, data.path(), ecg_root.path());
    let mut used_elsewhere = Vec::new();
    for f in ["train.csv", "val.csv", "val_retrieval.csv"] {
        edit_csv(data.path(), f, |h, rows| {
            let i = h.iter().position(|c| c == "ecg_path").unwrap();
            used_elsewhere.extend(rows.iter().map(|r| r[i].to_string()));
        });
    }
    let mut victim = String::new();
    edit_csv(data.path(), "test.csv", |h, rows| {
        let i = h.iter().position(|c| c == "ecg_path").unwrap();
        // not the first row's record: that one is read while checking inputs
        let first = rows[0][i].to_string();
        victim = rows.iter().map(|r| r[i].to_string()).find(|p| !used_elsewhere.contains(p) && *p != first).unwrap();
    });
    fs::remove_file(format!("{}.dat", ecg_root.path().join(&victim).display())).unwrap();
    let mut cfg = config(&g, data.path());
    cfg.ecg_dir = ecg_root.path().to_path_buf();
    let err = run(&cfg, &NoProgress).unwrap_err();
    let msg = errors::Chain(&err).to_string();
    assert!(matches!(err, TensorsError::Ecg { .. }), "{msg}");
    assert!(msg.contains("test.csv") && msg.contains(&victim), "{msg}");
    assert_no_outputs(data.path());
}

#[test]
fn bad_configuration_and_tables_fail_before_writing() {
    let g = golden();

    let data = data_dir(&g);
    let mut cfg = config(&g, data.path());
    cfg.recipe.tensors.cxr_crop = 65;
    let msg = run(&cfg, &NoProgress).unwrap_err().to_string();
    assert_eq!(msg, "tensors.cxr_crop: 65 is larger than tensors.cxr_scale (64)");
    assert_no_outputs(data.path());

    // labs_means.json without one key
    let path = data.path().join("labs_means.json");
    let text = fs::read_to_string(&path).unwrap();
    let kept: Vec<&str> = text.lines().filter(|l| !l.contains("\"50813_percentile\"")).collect();
    fs::write(&path, kept.join("\n")).unwrap();
    let err = run(&config(&g, data.path()), &NoProgress).unwrap_err();
    let msg = errors::Chain(&err).to_string();
    assert!(matches!(err, TensorsError::LabsMeans { .. }), "{msg}");
    assert!(msg.contains("labs_means.json") && msg.contains("50813_percentile"), "{msg}");
    assert_no_outputs(data.path());

    // a split CSV without a percentile column and without ecg_path
    let data = data_dir(&g);
    let path = data.path().join("val_retrieval.csv");
    let text = fs::read_to_string(&path).unwrap();
    let text = text.replacen("51221_percentile", "x51221", 1).replacen("ecg_path", "ecg_file", 1);
    fs::write(&path, text).unwrap();
    let msg = run(&config(&g, data.path()), &NoProgress).unwrap_err().to_string();
    assert!(
        msg.contains("val_retrieval.csv") && msg.contains("\"51221_percentile\"") && msg.contains("\"ecg_path\""),
        "{msg}"
    );
    assert_no_outputs(data.path());

    // a path escaping the image root
    let data = data_dir(&g);
    edit_csv(data.path(), "val.csv", |h, rows| set_field(h, &mut rows[0], "cxr_path", "../../etc/passwd"));
    let msg = run(&config(&g, data.path()), &NoProgress).unwrap_err().to_string();
    assert!(msg.contains("val.csv:2") && msg.contains("../../etc/passwd"), "{msg}");
    assert_no_outputs(data.path());
}

#[test]
fn earlier_outputs_and_user_files_survive_and_stale_temps_go() {
    let g = golden();
    let data = data_dir(&g);
    fs::create_dir(data.path().join("val")).unwrap();
    fs::write(data.path().join("val/notes.txt"), b"mine").unwrap();
    let stale = data.path().join("val/.symile-tmp.1.0.cxr_val.safetensors");
    fs::write(&stale, b"half").unwrap();
    let report = run(&config(&g, data.path()), &NoProgress).unwrap();
    assert_eq!(fs::read(data.path().join("val/notes.txt")).unwrap(), b"mine");
    assert!(!stale.exists());
    assert_eq!(report.stale_temps_removed, vec![stale.display().to_string()]);
    let hadm = read_tensor(&data.path().join("val/hadm_id_val.safetensors")).unwrap();
    assert_eq!(hadm.spec.dtype, DType::I64);
    assert_eq!(hadm.spec.shape, vec![3]);
    assert_eq!(i64::from_le_bytes(hadm.data[..8].try_into().unwrap()), 21455861);
}

#[test]
fn ecg_records_of_another_shape_are_named() {
    let g = golden();
    let data = data_dir(&g);
    let ecg_root = test_support::tempdir();
    let short = "files/p9999/p99999998/s99999998/99999998";
    edit_csv(data.path(), "val.csv", |h, rows| set_field(h, &mut rows[2], "ecg_path", short));
    write_constant_record(ecg_root.path(), short, 7, 4000);
    ecg_mirror(&g, data.path(), ecg_root.path());
    let mut cfg = config(&g, data.path());
    cfg.ecg_dir = ecg_root.path().to_path_buf();
    let err = run(&cfg, &NoProgress).unwrap_err();
    let msg = errors::Chain(&err).to_string();
    assert!(matches!(err, TensorsError::EcgShape { line: 4, samples: 4000, want_samples: 5000, .. }), "{msg}");
    assert!(msg.contains("val.csv:4") && msg.contains(short), "{msg}");
    assert_no_outputs(data.path());
}
