//! Recipes through the real binary: a variant (other windows, views and a
//! lab list with itemids outside the 50) against an oracle — the
//! reference's rules re-derived here from the raw tables, admission by
//! admission as the reference does — stage by stage and end to end; the
//! precedence of flags over the file over the defaults; the template fed
//! back changing no byte; and each bad recipe refused with exit status 2,
//! nothing written.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::common::{ProcessDir, assert_same_dataset, dataset, os_args, process_dir, run};
use mimic_io::layout::cxr_rel_path;
use recipe::{Recipe, Requested, Window};

/// The variant: every cohort rule changed, labs in and outside the 50.
const VARIANT: &str = r#"
[cohort]
cxr_window_hours = [12, 96.5]
ecg_window_hours = [-36, 12]
labs_window_hours = [-12, 36]
cxr_views = ["AP", "PA", "LATERAL"]
labs = [51221, 50809, 50912, 51491, 50802, 50811]

[splits]
candidate_n = 4
seed = 3

[tensors]
cxr_scale = 40
cxr_crop = 32
format = "npy"
"#;

/// A synthetic input shared by the tests of this binary.
struct Input {
    root: ProcessDir,
    mimic: PathBuf,
}

fn input() -> &'static Input {
    static I: OnceLock<Input> = OnceLock::new();
    I.get_or_init(|| {
        let root = process_dir!("recipe");
        let mimic = root.path().join("mimic");
        let cfg = synth::SynthConfig { admissions: Some(300), ..synth::demo_config() };
        synth::generate(&mimic, &cfg).unwrap();
        Input { root, mimic }
    })
}

fn scratch(name: &str) -> PathBuf {
    let p = input().root.path().join(name);
    assert!(!p.exists(), "{name} used twice");
    std::fs::create_dir_all(&p).unwrap();
    p
}

fn hosp() -> PathBuf {
    input().mimic.join("mimiciv/hosp")
}
fn cxr_dir() -> PathBuf {
    input().mimic.join("mimic-cxr-jpg")
}
fn ecg_dir() -> PathBuf {
    input().mimic.join("mimic-iv-ecg")
}

fn variant_file(dir: &Path) -> PathBuf {
    let p = dir.join("variant.toml");
    std::fs::write(&p, VARIANT).unwrap();
    p
}

// ------------------------------------------------------------------ oracle

/// Seconds since 1970 of a naive `YYYY-MM-DD HH:MM:SS` (days from civil).
fn seconds(date: (i64, i64, i64), hms: (i64, i64, i64)) -> i64 {
    let (y, m, d) = date;
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + hms.0 * 3600 + hms.1 * 60 + hms.2
}

fn timestamp(s: &str) -> Option<i64> {
    if s.len() < 19 {
        return None;
    }
    let n = |a: usize, b: usize| s[a..b].parse::<i64>().unwrap();
    Some(seconds((n(0, 4), n(5, 7), n(8, 10)), (n(11, 13), n(14, 16), n(17, 19))))
}

/// Rows of a (gzipped) CSV as maps from column to cell.
fn table(path: &Path) -> Vec<HashMap<String, String>> {
    let t = test_support::table::Table::read(path);
    t.rows.into_iter().map(|row| t.headers.iter().cloned().zip(row).collect()).collect()
}

/// What stage 1 keeps of one admission under `recipe`.
#[derive(Debug, Clone, PartialEq)]
struct Expected {
    hadm: i64,
    dicom: String,
    ecg_study: i64,
    labs: Vec<Option<f64>>,
}

/// Stage 1's rules applied to each admission in turn, reading every table
/// row for each (O(admissions × rows), as the reference does).
fn oracle_cohort(r: &Recipe) -> Vec<Expected> {
    let c = &r.cohort;
    let admissions = table(&hosp().join("admissions.csv.gz"));
    let meta = table(&cxr_dir().join("mimic-cxr-2.0.0-metadata.csv.gz"));
    let chex: std::collections::HashSet<String> =
        table(&cxr_dir().join("mimic-cxr-2.0.0-chexpert.csv.gz")).into_iter().map(|r| r["study_id"].clone()).collect();
    let ecgs = table(&ecg_dir().join("record_list.csv"));
    let labs = table(&hosp().join("labevents.csv.gz"));
    let cxr_time = |m: &HashMap<String, String>| {
        let d: i64 = m["StudyDate"].parse().unwrap();
        let t = m["StudyTime"].parse::<f64>().unwrap().trunc() as i64;
        seconds((d / 10_000, d / 100 % 100, d % 100), (t / 10_000, t / 100 % 100, t % 100))
    };
    let mut out = Vec::new();
    for a in &admissions {
        let subject = &a["subject_id"];
        let admit = timestamp(&a["admittime"]).unwrap();
        // The earliest image of a kept view on disk with lo < Δ ≤ hi (tie: file order), then CheXpert.
        let mut best: Option<(i64, &HashMap<String, String>)> = None;
        for m in meta.iter().filter(|m| &m["subject_id"] == subject && c.cxr_views.contains(&m["ViewPosition"])) {
            let delta = cxr_time(m) - admit;
            let rel = cxr_rel_path(subject.parse().unwrap(), m["study_id"].parse().unwrap(), &m["dicom_id"]);
            if c.cxr_window_hours.contains_open_closed(delta)
                && cxr_dir().join(rel).is_file()
                && best.is_none_or(|(t, _)| cxr_time(m) < t)
            {
                best = Some((cxr_time(m), m));
            }
        }
        let Some((_, image)) = best else { continue };
        if !chex.contains(&image["study_id"]) {
            continue;
        }
        // The earliest valid ECG with lo ≤ Δ ≤ hi (tie: file order).
        let mut ecg: Option<(i64, i64)> = None;
        for e in ecgs.iter().filter(|e| &e["subject_id"] == subject) {
            let Some(t) = timestamp(&e["ecg_time"]) else { continue };
            let valid = || {
                mimic_io::wfdb::record_validity(&ecg_dir().join(&e["path"])).unwrap() == mimic_io::wfdb::Validity::Valid
            };
            if c.ecg_window_hours.contains_closed(t - admit) && ecg.is_none_or(|(best, _)| t < best) && valid() {
                ecg = Some((t, e["study_id"].parse().unwrap()));
            }
        }
        let Some((_, ecg_study)) = ecg else { continue };
        // Each lab's earliest value with lo ≤ Δ ≤ hi (any hadm_id; tie: file order).
        let mut values: Vec<Option<(i64, f64)>> = vec![None; c.labs.len()];
        for l in labs.iter().filter(|l| &l["subject_id"] == subject && !l["valuenum"].is_empty()) {
            let Some(k) = c.labs.iter().position(|id| id.to_string() == l["itemid"]) else { continue };
            let Some(t) = timestamp(&l["charttime"]) else { continue };
            if c.labs_window_hours.contains_closed(t - admit) && values[k].is_none_or(|(best, _)| t < best) {
                values[k] = Some((t, l["valuenum"].parse().unwrap()));
            }
        }
        if values.iter().all(Option::is_none) {
            continue;
        }
        out.push(Expected {
            hadm: a["hadm_id"].parse().unwrap(),
            dicom: image["dicom_id"].clone(),
            ecg_study,
            labs: values.into_iter().map(|v| v.map(|(_, x)| x)).collect(),
        });
    }
    out
}

/// The cohort CSV as the oracle's records (lab columns by the recipe's itemids).
fn cohort_as_expected(csv: &Path, labs: &[u32]) -> Vec<Expected> {
    table(csv)
        .into_iter()
        .map(|r| Expected {
            hadm: r["hadm_id"].parse().unwrap(),
            dicom: r["cxr_dicom_id"].clone(),
            ecg_study: r["ecg_study_id"].parse().unwrap(),
            labs: labs
                .iter()
                .map(|id| Some(&r[&id.to_string()]).filter(|v| !v.is_empty()).map(|v| v.parse().unwrap()))
                .collect(),
        })
        .collect()
}

/// The variant built once through `build`, with its recipe.
struct Built {
    out: PathBuf,
    recipe: Recipe,
    requested: Recipe,
}

fn built() -> &'static Built {
    static B: OnceLock<Built> = OnceLock::new();
    B.get_or_init(|| {
        let dir = scratch("variant");
        let file = variant_file(&dir);
        let out = dir.join("out");
        run(os_args(&[&"build", &"--mimic-root", &input().mimic, &"--out", &out, &"--recipe", &file])).assert_success();
        let recipe = Requested::recorded(&out).unwrap().expect("recipe.toml").recipe;
        let requested = Requested::from_file(&file).unwrap().recipe;
        Built { out, recipe, requested }
    })
}

#[test]
fn stage_1_of_the_variant_is_the_oracles() {
    let b = built();
    let want = oracle_cohort(&b.requested);
    let got = cohort_as_expected(&b.out.join(dataset_layout::COHORT_CSV), &b.requested.cohort.labs);
    assert!(want.len() >= 20, "too small a cohort to say much: {}", want.len());
    assert_eq!(got, want);
    // The lab columns are the recipe's, in its order; the CXR column keeps its published name.
    let header = table(&b.out.join(dataset_layout::COHORT_CSV))[0].keys().cloned().collect::<Vec<_>>();
    for id in &b.requested.cohort.labs {
        assert!(header.contains(&id.to_string()), "{id}");
    }
    assert!(header.contains(&"cxr_24_72_hr".to_string()) && !header.contains(&"51265".to_string()));
    // The oracle is not the published rules: under those it keeps other admissions.
    let published = oracle_cohort(&Recipe::default());
    assert_ne!(published.iter().map(|e| e.hadm).collect::<Vec<_>>(), want.iter().map(|e| e.hadm).collect::<Vec<_>>());
}

/// `F(v)`: observed train values ≤ v over observed train values.
fn ecdf(train: &[Option<f64>], v: f64) -> f64 {
    let obs: Vec<f64> = train.iter().flatten().copied().collect();
    obs.iter().filter(|&&x| x <= v).count() as f64 / obs.len() as f64
}

#[test]
fn stage_2_of_the_variant_is_the_oracles() {
    let b = built();
    let labs = &b.requested.cohort.labs;
    let rows = table(&b.out.join(dataset_layout::COHORT_CSV)).len();
    // The published sizes, fitted to the small cohort (and recorded as used).
    assert_eq!((b.recipe.splits.train_n, b.recipe.splits.val_n), (rows * 6 / 10, (rows * 12 / 100).max(1)));
    assert_eq!(b.recipe.splits.candidate_n, 4);
    let train = table(&b.out.join("train.csv"));
    assert_eq!(train.len(), b.recipe.splits.train_n);
    let raw = |r: &HashMap<String, String>, id: u32| {
        Some(&r[&id.to_string()]).filter(|v| !v.is_empty()).map(|v| v.parse::<f64>().unwrap())
    };
    for (l, &id) in labs.iter().enumerate() {
        let train_values: Vec<Option<f64>> = train.iter().map(|r| raw(r, id)).collect();
        let all_observed = train_values.iter().all(Option::is_some);
        for split in ["train.csv", "val.csv", "test.csv"] {
            for r in table(&b.out.join(split)) {
                let got = &r[&format!("{id}_percentile")];
                match raw(&r, id) {
                    // numpy's linspace gives k/n to within an ulp; 1e-12 is a thousand of them.
                    Some(v) => {
                        assert!((got.parse::<f64>().unwrap() - ecdf(&train_values, v)).abs() < 1e-12, "{split} {id}")
                    }
                    // The reference's quirk: a column with no missing train value maps missing to 1.0.
                    None if all_observed => assert_eq!(got, "1.0", "{split} {id}"),
                    None => assert_eq!(got, "", "{split} {id}"),
                }
            }
        }
        // labs_means.json: the mean observed train percentile, in the recipe's order.
        let means: serde_json::Value =
            serde_json::from_slice(&std::fs::read(b.out.join("labs_means.json")).unwrap()).unwrap();
        let key = format!("{id}_percentile");
        let pcts: Vec<f64> = train.iter().filter_map(|r| r[&key].parse::<f64>().ok()).collect();
        let mean = pcts.iter().sum::<f64>() / pcts.len() as f64;
        assert!((means[&key].as_f64().unwrap() - mean).abs() < 1e-12, "{key}");
        let text = std::fs::read_to_string(b.out.join("labs_means.json")).unwrap();
        let order: Vec<usize> = labs.iter().map(|id| text.find(&format!("\"{id}_percentile\"")).unwrap()).collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]) && l < order.len(), "labs_means.json keeps the recipe's order");
    }
    // Retrieval blocks of candidate_n = 4.
    let test = table(&b.out.join("test.csv"));
    let queries = test.iter().filter(|r| r["label"] == "1").count();
    assert_eq!(test.len(), queries * 4);
}

fn npy(path: &Path) -> tensor_store::LoadedTensor {
    tensor_store::read_tensor(path).unwrap()
}

#[test]
fn stage_3_of_the_variant_is_the_oracles() {
    let b = built();
    let labs = &b.requested.cohort.labs;
    let means: serde_json::Value =
        serde_json::from_slice(&std::fs::read(b.out.join("labs_means.json")).unwrap()).unwrap();
    // The reference's sorted(labs_means.keys()): string order.
    let mut keys: Vec<String> = labs.iter().map(|id| format!("{id}_percentile")).collect();
    keys.sort();
    for split in ["train", "val", "val_retrieval", "test"] {
        let rows = table(&b.out.join(format!("{split}.csv")));
        let p = npy(&b.out.join(format!("{split}/labs_percentiles_{split}.npy")));
        let m = npy(&b.out.join(format!("{split}/labs_missingness_{split}.npy")));
        assert_eq!(p.spec.shape, [rows.len(), labs.len()]);
        let cxr = npy(&b.out.join(format!("{split}/cxr_{split}.npy")));
        assert_eq!(cxr.spec.shape, [rows.len(), 3, 32, 32]);
        let pv: Vec<f32> = p.data.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
        let mv: Vec<i64> = m.data.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap())).collect();
        for (i, r) in rows.iter().enumerate() {
            for (j, key) in keys.iter().enumerate() {
                let raw = key.trim_end_matches("_percentile");
                let (want_p, want_m) = if r[raw].is_empty() {
                    (means[key].as_f64().unwrap() as f32, 0)
                } else {
                    (r[key].parse::<f64>().unwrap() as f32, 1)
                };
                assert_eq!(
                    (pv[i * keys.len() + j].to_bits(), mv[i * keys.len() + j]),
                    (want_p.to_bits(), want_m),
                    "{split} row {i} {key}"
                );
            }
        }
    }
}

/// The variant's image and ECG tensors hold, row by row, the files its CSV
/// rows name, prepared at the variant's scale and crop: each expected row is
/// made here from the row's own `cxr_path` and `ecg_path` with the prep
/// crates' functions (which their own tests hold to Pillow's and wfdb's
/// outputs). Train rows take seeded random crops and are left to the goldens;
/// the other splits are centre-cropped.
#[test]
fn stage_3_of_the_variant_holds_each_rows_own_image_and_ecg() {
    let b = built();
    let t = &b.requested.tensors;
    let (scale, crop) = (t.cxr_scale, t.cxr_crop);
    let prep = cxr_prep::CxrPrep { scale, crop };
    let f32s =
        |data: &[u8]| -> Vec<f32> { data.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect() };
    let mut checked = 0;
    for split in ["val", "val_retrieval", "test"] {
        let rows = table(&b.out.join(format!("{split}.csv")));
        let cxr = npy(&b.out.join(format!("{split}/cxr_{split}.npy")));
        let ecg = npy(&b.out.join(format!("{split}/ecg_{split}.npy")));
        assert_eq!(ecg.spec.shape, [rows.len(), 1, 5000, 12]);
        let (cxr, ecg) = (f32s(&cxr.data), f32s(&ecg.data));
        let per_image = 3 * (crop * crop) as usize;
        for (i, r) in rows.iter().enumerate() {
            let img = prep.load_resized(&cxr_dir().join(&r["cxr_path"])).unwrap();
            assert_eq!(img.width.min(img.height), scale, "{split} row {i}: {}", r["cxr_path"]);
            let (top, left) = cxr_prep::center_crop_offsets(img.width, img.height, crop);
            let mut want = vec![0f32; per_image];
            cxr_prep::write_normalized(&img, top, left, crop, &mut want);
            let got = &cxr[i * per_image..(i + 1) * per_image];
            assert!(
                got.iter().zip(&want).all(|(g, w)| g.to_bits() == w.to_bits()),
                "{split} row {i}: the CXR tensor is not {} at scale {scale}, crop {crop}",
                r["cxr_path"]
            );
            let mut want = vec![0f32; 5000 * 12];
            ecg_prep::load_normalized_into(&ecg_dir().join(&r["ecg_path"]), 5000, 12, &mut want).unwrap();
            let got = &ecg[i * 60_000..(i + 1) * 60_000];
            assert!(
                got.iter().zip(&want).all(|(g, w)| g.to_bits() == w.to_bits()),
                "{split} row {i}: the ECG tensor is not {}",
                r["ecg_path"]
            );
            checked += 1;
        }
    }
    assert!(checked > 0, "no row checked");
}

#[test]
fn the_variant_end_to_end_verifies_and_records_its_recipe() {
    let b = built();
    // The recipe recorded is the requested one with the sizes it was fitted to.
    let mut want = b.requested.clone();
    want.splits.train_n = b.recipe.splits.train_n;
    want.splits.val_n = b.recipe.splits.val_n;
    assert_eq!(b.recipe, want);
    let sums = durable::Sums::load(&b.out.join(durable::SUMS_FILE)).unwrap().unwrap();
    assert!(sums.get(recipe::RECIPE_FILE).is_some());
    run(os_args(&[&"verify", &b.out])).assert_success();
    let rep = verify::verify(&verify::VerifyRequest::new(&b.out), &progress::NoProgress).unwrap();
    assert!(rep.ok(), "{}", rep.text());
    let recipe_check: Vec<&str> =
        rep.findings().iter().filter(|f| f.check == verify::Check::Recipe).map(|f| f.detail.as_str()).collect();
    assert_eq!(recipe_check.len(), 1);
    assert!(recipe_check[0].contains("a variant of the published recipe (cohort.cxr_window_hours"), "{recipe_check:?}");
    // The release's frozen counts are the published recipe's: a variant fails them once, saying why.
    let strict = verify::VerifyRequest { expect_published: true, ..verify::VerifyRequest::new(&b.out) };
    let rep = verify::verify(&strict, &progress::NoProgress).unwrap();
    let published: Vec<&verify::Finding> =
        rep.findings().iter().filter(|f| matches!(f.check, verify::Check::Published(_))).collect();
    assert_eq!(published.len(), 1, "{}", rep.text());
    assert_eq!(rep.failures(), 1, "{}", rep.text());
    assert!(
        published[0].detail.starts_with(
            "published: the recorded recipe (recipe.toml) differs from the published one in cohort.cxr_window_hours, \
             cohort.ecg_window_hours,"
        ) && published[0].detail.ends_with("so the published contract does not apply"),
        "{}",
        published[0].detail
    );
    let r = run(os_args(&[&"verify", &b.out, &"--expect-published"]));
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(
        r.stdout.contains("differs from the published one in")
            || r.stderr.contains("differs from the published one in")
    );
    // Row shapes follow the recipe's lab count: with the published 50 assumed, the variant fails.
    let bare_dir = scratch("variant-bare");
    for (rel, bytes) in dataset(&b.out) {
        std::fs::create_dir_all(bare_dir.join(&rel).parent().unwrap()).unwrap();
        std::fs::write(bare_dir.join(&rel), bytes).unwrap();
    }
    std::fs::remove_file(bare_dir.join("recipe.toml")).unwrap();
    let bare = verify::verify(&verify::VerifyRequest::new(&bare_dir), &progress::NoProgress).unwrap();
    let labs = verify::Check::TensorShape(dataset_layout::Split::Train, dataset_layout::Tensor::LabsPercentiles);
    let failed = bare.failed_of(labs);
    assert!(failed.len() == 1 && failed[0].detail.contains(", 6] (expected ["), "{}", bare.text());
    assert!(failed[0].detail.ends_with(", 50])"), "{}", failed[0].detail);
    // inspect reads the variant's lab list from its recipe.
    let png = scratch("variant-png").join("row.png");
    run(os_args(&[&"inspect", &b.out, &"--split", &"train", &"--row", &"0", &"--out", &png])).assert_success();
    assert!(std::fs::metadata(&png).unwrap().len() > 10_000);
    let sample = symile_mimic::inspect::load_sample(&b.out, "train", 0).unwrap();
    assert_eq!(sample.lab_ids, [50802, 50809, 50811, 50912, 51221, 51491]);
    // The same recipe fed back builds the same bytes.
    let again = scratch("variant-again").join("out");
    run(os_args(&[
        &"build",
        &"--mimic-root",
        &input().mimic,
        &"--out",
        &again,
        &"--recipe",
        &b.out.join("recipe.toml"),
    ]))
    .assert_success();
    assert_same_dataset(&b.out, &again);
}

#[test]
fn the_template_fed_back_changes_no_byte() {
    let dir = scratch("template");
    let printed = run(["recipe"]).assert_success().stdout;
    assert_eq!(printed, recipe::render_template());
    let file = dir.join("published.toml");
    std::fs::write(&file, &printed).unwrap();
    let small = ["--cxr_scale", "40", "--cxr_crop", "32"];
    let (a, b) = (dir.join("default"), dir.join("fed-back"));
    let mut args_a = os_args(&[&"build", &"--mimic-root", &input().mimic, &"--out", &a]);
    args_a.extend(small.iter().map(Into::into));
    run(args_a).assert_success();
    let mut args_b = os_args(&[&"build", &"--mimic-root", &input().mimic, &"--out", &b, &"--recipe", &file]);
    args_b.extend(small.iter().map(Into::into));
    run(args_b).assert_success();
    assert_same_dataset(&a, &b);
}

#[test]
fn flags_override_the_file_and_the_file_overrides_the_defaults() {
    let dir = scratch("precedence");
    let file = dir.join("partial.toml");
    // The file alone breaks a rule across fields (the published crop, 320, over its scale); the flag mends it.
    std::fs::write(&file, "[splits]\ncandidate_n = 5\nseed = 11\n\n[tensors]\ncxr_scale = 40\n").unwrap();
    let alone = dir.join("alone");
    let r = run(os_args(&[&"build", &"--mimic-root", &input().mimic, &"--out", &alone, &"--recipe", &file]));
    assert_eq!(r.code, Some(2), "{r:?}");
    let want = format!(
        "error: {}:6: tensors.cxr_scale: 40 is smaller than tensors.cxr_crop (320, the published default)",
        file.display()
    );
    assert!(r.stderr.contains(&want), "{}", r.stderr);
    // A flag that leaves it broken is the field named, with the file's value and line.
    let r = run(os_args(&[
        &"build",
        &"--mimic-root",
        &input().mimic,
        &"--out",
        &alone,
        &"--recipe",
        &file,
        &"--cxr_crop",
        &"50",
    ]));
    assert_eq!(r.code, Some(2), "{r:?}");
    let want = format!("error: --cxr_crop: 50 is larger than tensors.cxr_scale (40, in {}:6)", file.display());
    assert!(r.stderr.contains(&want), "{}", r.stderr);
    assert!(!alone.exists());
    let out = dir.join("out");
    let flags: [&dyn AsRef<std::ffi::OsStr>; 11] = [
        &"build",
        &"--mimic-root",
        &input().mimic,
        &"--out",
        &out,
        &"--recipe",
        &file,
        &"--seed",
        &"12",
        &"--cxr_crop",
        &"32",
    ];
    run(os_args(&flags)).assert_success();
    let got = Requested::recorded(&out).unwrap().unwrap().recipe;
    assert_eq!(got.splits.candidate_n, 5, "the file");
    assert_eq!(got.splits.seed, 12, "the flag over the file");
    assert_eq!((got.tensors.cxr_scale, got.tensors.cxr_crop), (40, 32), "file and flag");
    assert_eq!(got.cohort, recipe::CohortRecipe::default(), "the defaults");
    assert_eq!(got.cohort.cxr_window_hours, Window::hours(24, 72));
    let meta: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("metadata.json")).unwrap()).unwrap();
    assert_eq!((meta["cxr_scale"].as_u64(), meta["cxr_crop"].as_u64()), (Some(40), Some(32)));
}

#[test]
fn stages_run_alone_take_the_recipe_recorded_with_their_inputs() {
    let dir = scratch("alone");
    let file = variant_file(&dir);
    let out = dir.join("out");
    let cohort = os_args(&[
        &"cohort",
        &"--mimiciv_hosp_dir",
        &hosp(),
        &"--cxr_data_dir",
        &cxr_dir(),
        &"--ecg_data_dir",
        &ecg_dir(),
        &"--save_dir",
        &out,
        &"--recipe",
        &file,
    ]);
    run(cohort).assert_success();
    // No recipe given: splits and tensors take the variant's lab list and seed from recipe.toml.
    run(os_args(&[&"splits", &"--dataset_path", &out.join(dataset_layout::COHORT_CSV), &"--save_dir", &out]))
        .assert_success();
    run(os_args(&[
        &"tensors",
        &"--data_dir",
        &out,
        &"--cxr_data_dir",
        &cxr_dir(),
        &"--ecg_data_dir",
        &ecg_dir(),
        &"--cxr_scale",
        &"40",
        &"--cxr_crop",
        &"32",
        &"--format",
        &"npy",
    ]))
    .assert_success();
    for f in [
        "symile_mimic_data.csv",
        "train.csv",
        "test.csv",
        "labs_means.json",
        "train/labs_percentiles_train.npy",
        "recipe.toml",
    ] {
        assert!(
            std::fs::read(out.join(f)).unwrap() == std::fs::read(built().out.join(f)).unwrap(),
            "{f} differs from the build's"
        );
    }
    // A value that could not take effect is refused, naming both values and the record.
    let r = run(os_args(&[
        &"splits",
        &"--dataset_path",
        &out.join(dataset_layout::COHORT_CSV),
        &"--save_dir",
        &dir.join("other"),
        &"--recipe",
        &dir.join("nothing.toml"),
    ]));
    assert_eq!(r.code, Some(2));
    std::fs::write(dir.join("labs.toml"), "[cohort]\nlabs = [51221]\n").unwrap();
    let other = dir.join("other");
    let r = run(os_args(&[
        &"splits",
        &"--dataset_path",
        &out.join(dataset_layout::COHORT_CSV),
        &"--save_dir",
        &other,
        &"--recipe",
        &dir.join("labs.toml"),
    ]));
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(
        r.stderr.contains("cohort.labs = [51221] differs from the recipe that built the inputs")
            && r.stderr.contains("recipe.toml"),
        "{}",
        r.stderr
    );
    assert!(!other.exists() || std::fs::read_dir(&other).unwrap().next().is_none());
}

/// Each bad recipe: exit status 2, the key and the file named, nothing written.
#[test]
fn bad_recipes_are_refused_naming_the_key_and_the_file() {
    let dir = scratch("bad");
    let cases: [(&str, &str, &[&str]); 10] = [
        (
            "unknown-key",
            "[cohort]\ncxr_windows = [1, 2]\n",
            &["bad-unknown-key.toml:2: cohort.cxr_windows: unknown key"],
        ),
        (
            "unknown-section",
            "[cohorts]\nlabs = [1]\n",
            &["cohorts: unknown key (expected one of cohort, splits, tensors)"],
        ),
        (
            "wrong-type",
            "[splits]\ntrain_n = \"ten\"\n",
            &["splits.train_n: invalid type: string \"ten\", expected a whole number"],
        ),
        (
            "lo-ge-hi",
            "[cohort]\nlabs_window_hours = [24, -24]\n",
            &["bad-lo-ge-hi.toml:2: cohort.labs_window_hours: lo (24 h) must be less than hi (-24 h)"],
        ),
        (
            "empty-views",
            "[cohort]\ncxr_views = []\n",
            &["bad-empty-views.toml:2: cohort.cxr_views: the list of views is empty"],
        ),
        ("empty-labs", "[cohort]\n\nlabs = []\n", &["bad-empty-labs.toml:3: cohort.labs: the list of labs is empty"]),
        (
            "duplicate-itemid",
            "[cohort]\nlabs = [51221, 51221]\n",
            &["bad-duplicate-itemid.toml:2: cohort.labs: itemid 51221 is listed twice"],
        ),
        (
            "negative-size",
            "[splits]\nval_n = -3\n",
            &["splits.val_n: invalid value: -3, expected a whole number (0 or more)"],
        ),
        (
            "crop-gt-scale",
            "[tensors]\ncxr_scale = 32\ncxr_crop = 40\n",
            &["bad-crop-gt-scale.toml:3: tensors.cxr_crop: 40 is larger than tensors.cxr_scale (32, in ", ".toml:2)"],
        ),
        ("not-toml", "[cohort\n", &["bad-not-toml.toml:1:"]),
    ];
    for (name, text, needles) in cases {
        let file = dir.join(format!("bad-{name}.toml"));
        std::fs::write(&file, text).unwrap();
        for command in ["build", "cohort", "splits", "tensors", "plan"] {
            let out = dir.join(format!("out-{name}-{command}"));
            let mut a = os_args(&[&command, &"--recipe", &file]);
            a.extend(match command {
                "build" => os_args(&[&"--mimic-root", &input().mimic, &"--out", &out]),
                "cohort" => os_args(&[&"--mimic-root", &input().mimic, &"--save_dir", &out]),
                "splits" => {
                    os_args(&[&"--dataset_path", &built().out.join(dataset_layout::COHORT_CSV), &"--save_dir", &out])
                }
                "tensors" => os_args(&[&"--data_dir", &out, &"--mimic-root", &input().mimic]),
                _ => os_args(&[&"--mimic-root", &input().mimic, &"--out", &out]),
            });
            let r = run(a);
            assert_eq!(r.code, Some(2), "{name} {command}: {r:?}");
            for n in needles {
                assert!(r.stderr.contains(n), "{name} {command}: {n:?} not in {}", r.stderr);
            }
            assert!(
                r.stderr.contains(&file.display().to_string()),
                "{name} {command}: the file is not named: {}",
                r.stderr
            );
            assert!(!out.exists(), "{name} {command}: {} was written", out.display());
        }
    }
    // A bad flag is named as typed.
    let r = run(os_args(&[
        &"build",
        &"--mimic-root",
        &input().mimic,
        &"--out",
        &dir.join("flag"),
        &"--cxr-window-hours",
        &"72,24",
    ]));
    assert_eq!(r.code, Some(2));
    assert!(r.stderr.contains("error: --cxr-window-hours: lo (72 h) must be less than hi (24 h)"), "{}", r.stderr);
    assert!(!dir.join("flag").exists());
    // A recipe file that does not exist.
    let r = run(os_args(&[
        &"build",
        &"--mimic-root",
        &input().mimic,
        &"--out",
        &dir.join("none"),
        &"--recipe",
        &dir.join("none.toml"),
    ]));
    assert_eq!(r.code, Some(2));
    assert!(r.stderr.contains("cannot read the recipe") && r.stderr.contains("none.toml"), "{}", r.stderr);
}

/// The worked example of docs/recipe.md, rerun: each row of its table is
/// the embedded demo's cohort under that window (and views), so the page
/// cannot drift from what the tool does.
#[test]
fn the_worked_example_of_the_recipe_page_is_the_demos() {
    let page = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/recipe.md")).unwrap();
    let section = page.split("## A worked example").nth(1).expect("the worked example").split("\n## ").next().unwrap();
    let dir = scratch("worked-example");
    let demo = pipeline::demo::demo_input(&dir.join("cache")).unwrap();
    // The admissions the text says the demo has.
    let said: usize = section
        .split(" admissions in `admissions.csv.gz`")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("the demo's admission count in the text");
    let report = |out: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(out.join(dataset_layout::COHORT_REPORT)).unwrap()).unwrap()
    };
    let cell_number = |cell: &str| -> Option<usize> { cell.split_whitespace().next()?.parse().ok() };
    let mut rows = 0;
    let mut published_rows = None;
    for line in section.lines().filter(|l| l.starts_with("| `[")) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        assert_eq!(cells.len(), 3, "{line}");
        let window = cells[0].split('`').nth(1).unwrap().trim_matches(|c| c == '[' || c == ']').replace(' ', "");
        let mut args = os_args(&[&"cohort", &"--mimic-root", &demo, &"--save_dir", &dir.join(format!("row-{rows}"))]);
        args.extend(os_args(&[&"--cxr-window-hours", &window]));
        if let Some(views) = cells[0].split("cxr_views = ").nth(1) {
            let views: Vec<&str> = views.trim_matches('`').trim_matches(|c| c == '[' || c == ']').split(", ").collect();
            let views = views.iter().map(|v| v.trim_matches('"')).collect::<Vec<_>>().join(",");
            args.extend(os_args(&[&"--cxr-views", &views]));
        }
        run(args).assert_success();
        let r = report(&dir.join(format!("row-{rows}")));
        let a = &r["attrition"];
        assert_eq!(a["admissions_read"].as_u64(), Some(said as u64), "the text's admission count");
        if let Some(listed) = cell_number(cells[1]) {
            assert_eq!(a["with_cxr_candidate"].as_u64(), Some(listed as u64), "{line}");
        }
        let final_rows = cell_number(cells[2]).unwrap_or_else(|| panic!("no cohort rows in {line}"));
        assert_eq!(a["final_rows"].as_u64(), Some(final_rows as u64), "{line}");
        // The gain in parentheses is over the published row (the first).
        match (published_rows, cells[2].split("(+").nth(1)) {
            (None, None) => published_rows = Some(final_rows),
            (Some(p), Some(gain)) => {
                assert_eq!(gain.trim_end_matches(')').parse::<usize>().unwrap(), final_rows - p, "{line}")
            }
            _ => panic!("only the first row is the published one, without a gain: {line}"),
        }
        rows += 1;
    }
    assert_eq!(rows, 5, "the table's rows");
}
