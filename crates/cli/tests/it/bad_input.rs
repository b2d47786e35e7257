//! The bad-input matrix, run against the real `symile-mimic`
//! binary: every case must exit with status 2, print an `error:` that names
//! the file (and line or record where there is one) and says what was
//! expected, never panic, and leave the output directory exactly as it was
//! (user files included). Extra and reordered columns must *work*.
//!
//! One small synthetic MIMIC tree is generated per test binary, with a
//! reference run of cohort, splits and tensors on it; each case replaces one
//! input file in an "overlay" tree whose other entries are symlinks to the
//! original, so a case costs one run of one stage.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::common::*;
use mimic_io::layout;

/// Synthetic admissions: enough for every split to have a few rows.
const ADMISSIONS: usize = 120;

fn fx() -> &'static Fixture {
    static FX: OnceLock<Fixture> = OnceLock::new();
    FX.get_or_init(|| Fixture::new(ADMISSIONS, SCALE))
}

/// A save dir holding a file the tool did not write.
fn user_dir(name: &str) -> PathBuf {
    let d = fx().scratch(name);
    std::fs::write(d.join("my notes.txt"), b"not yours\n").unwrap();
    d
}

/// The fixture's inputs with `which/rel` replaced by `bytes` (`None`: absent).
fn inputs_with(case: &str, which: InputDir, rel: &str, bytes: Option<&[u8]>) -> Inputs {
    let mut i = fx().inputs.clone();
    let new = fx().scratch(&format!("in-{case}"));
    let target = overlay(which.of(&i), &new, rel);
    if let Some(b) = bytes {
        std::fs::write(&target, b).unwrap();
    }
    which.set(&mut i, new);
    i
}

/// The rows of table `file` of `which` (gunzipped when `.gz`).
fn table_rows(which: InputDir, file: &str) -> Vec<Vec<String>> {
    let path = which.of(&fx().inputs).join(file);
    let bytes = if file.ends_with(".gz") { gunzip(&path) } else { std::fs::read(&path).unwrap() };
    table::rows_from_bytes(&bytes)
}

/// Encodes rows for table `file` (gzip when `.gz`).
fn table_bytes(file: &str, rows: &[Vec<String>]) -> Vec<u8> {
    let b = table::to_bytes(rows);
    if file.ends_with(".gz") { gzip(&b) } else { b }
}

/// The fixture's inputs with table `file` rewritten by `edit`.
fn inputs_with_table(case: &str, which: InputDir, file: &str, edit: impl FnOnce(&mut Vec<Vec<String>>)) -> Inputs {
    let mut rows = table_rows(which, file);
    edit(&mut rows);
    inputs_with(case, which, file, Some(&table_bytes(file, &rows)))
}

/// Runs cohort on `inputs` into a save dir holding a user file and checks a clean failure.
fn cohort_fails(case: &str, inputs: &Inputs, needles: &[&str]) {
    let save = user_dir(&format!("out-{case}"));
    let before = snapshot(&save);
    let r = run(cohort_args(inputs, &save));
    assert_clean_failure(&r, needles, &save, &before);
}

/// Runs tensors on `data_dir` / `inputs` and checks a clean failure.
fn tensors_fails(data_dir: &Path, inputs: &Inputs, needles: &[&str]) {
    std::fs::write(data_dir.join("my notes.txt"), b"not yours\n").unwrap();
    let before = snapshot(data_dir);
    let r = run(tensors_args(data_dir, inputs));
    assert_clean_failure(&r, needles, data_dir, &before);
}

/// The reference cohort's first `ecg_path` and `cxr_path`.
fn cohort_paths() -> (String, String) {
    let rows = table::rows(&fx().cohort_csv());
    (rows[1][col(&rows, "ecg_path")].clone(), rows[1][col(&rows, "cxr_path")].clone())
}

/// Line (1-based, header = 1) of the first row of `rows` whose column `c` is `v`.
fn line_of(rows: &[Vec<String>], c: usize, v: &str) -> usize {
    rows.iter().position(|r| r[c] == v).unwrap() + 1
}

// ------------------------------------------------------------------ cohort

#[test]
fn cohort_each_missing_table_is_named() {
    for (which, file) in cohort_tables() {
        let i = inputs_with(&format!("missing-{file}"), which, file, None);
        let dir = match which {
            InputDir::Hosp => "MIMIC-IV hosp directory",
            InputDir::Cxr => "MIMIC-CXR-JPG directory",
            InputDir::Ecg => "MIMIC-IV-ECG directory",
        };
        cohort_fails(&format!("missing-{file}"), &i, &[file, "does not exist", dir]);
    }
}

#[test]
fn cohort_missing_or_renamed_columns_are_named() {
    let cases = [
        (InputDir::Hosp, layout::ADMISSIONS, "admittime"),
        (InputDir::Hosp, layout::PATIENTS, "anchor_age"),
        (InputDir::Hosp, layout::LABEVENTS, "valuenum"),
        (InputDir::Cxr, layout::CXR_METADATA, "ViewPosition"),
        (InputDir::Cxr, layout::CXR_CHEXPERT, "study_id"),
        (InputDir::Ecg, layout::ECG_RECORD_LIST, "path"),
    ];
    for (k, (which, file, column)) in cases.into_iter().enumerate() {
        // Even cases rename the column, odd ones remove it.
        let i = inputs_with_table(&format!("col-{k}"), which, file, |rows| {
            let c = col(rows, column);
            if k % 2 == 0 {
                rows[0][c] = format!("{column}_renamed");
            } else {
                for r in rows.iter_mut() {
                    r.remove(c);
                }
            }
        });
        cohort_fails(&format!("col-{k}"), &i, &[file, "missing required column", &format!("\"{column}\"")]);
    }
}

#[test]
fn cohort_unmodified_round_trip_of_a_table_is_byte_identical() {
    // Guards the other tests: re-serialising a table through the csv crate
    // must not change what the tool sees.
    for (which, file) in cohort_tables() {
        let rows = table_rows(which, file);
        let path = which.of(&fx().inputs).join(file);
        let orig = if file.ends_with(".gz") { gunzip(&path) } else { std::fs::read(&path).unwrap() };
        assert_eq!(table::to_bytes(&rows), orig, "{file}");
    }
}

/// Moves the last column first and appends an extra column `zz_extra`.
fn shuffle_and_extend(rows: &mut [Vec<String>]) {
    for (k, r) in rows.iter_mut().enumerate() {
        let last = r.pop().unwrap();
        r.insert(0, last);
        r.push(if k == 0 { "zz_extra".into() } else { format!("x{k}") });
    }
}

#[test]
fn cohort_extra_and_reordered_columns_work() {
    let want_csv = std::fs::read(fx().cohort_dir.join(COHORT_DATA[0])).unwrap();
    let want_pq = std::fs::read(fx().cohort_dir.join(COHORT_DATA[1])).unwrap();
    // Tables whose columns the reference picks by name: identical output.
    for (which, file) in [
        (InputDir::Hosp, layout::LABEVENTS),
        (InputDir::Cxr, layout::CXR_METADATA),
        (InputDir::Ecg, layout::ECG_RECORD_LIST),
    ] {
        let i = inputs_with_table(&format!("extra-{file}"), which, file, |rows| shuffle_and_extend(rows));
        let save = user_dir(&format!("out-extra-{file}"));
        run(cohort_args(&i, &save)).assert_success();
        assert!(std::fs::read(save.join(COHORT_DATA[0])).unwrap() == want_csv, "{file}: cohort CSV differs");
        assert!(std::fs::read(save.join(COHORT_DATA[1])).unwrap() == want_pq, "{file}: cohort Parquet differs");
        assert_eq!(std::fs::read(save.join("my notes.txt")).unwrap(), b"not yours\n");
    }
    // Tables the reference passes through (pandas keeps file column order and
    // carries extra columns): every reference column keeps its values.
    let want = by_column(&table::rows_from_bytes(&want_csv));
    for (which, file) in [
        (InputDir::Hosp, layout::ADMISSIONS),
        (InputDir::Hosp, layout::PATIENTS),
        (InputDir::Cxr, layout::CXR_CHEXPERT),
    ] {
        let i = inputs_with_table(&format!("extra-{file}"), which, file, |rows| shuffle_and_extend(rows));
        let save = user_dir(&format!("out-extra-{file}"));
        run(cohort_args(&i, &save)).assert_success();
        let got = by_column(&table::rows(&save.join(COHORT_DATA[0])));
        for (name, values) in &want {
            assert_eq!(got.get(name), Some(values), "{file}: column {name}");
        }
        assert!(
            got.keys().any(|k| k.starts_with("zz_extra")),
            "{file}: the extra column is not carried: {:?}",
            got.keys()
        );
    }
}

#[test]
fn cohort_gzip_truncated_or_not_gzip_is_named() {
    let adm = std::fs::read(fx().inputs.hosp.join(layout::ADMISSIONS)).unwrap();
    let i = inputs_with("gz-trunc", InputDir::Hosp, layout::ADMISSIONS, Some(&adm[..adm.len() / 2]));
    cohort_fails("gz-trunc", &i, &[layout::ADMISSIONS]);
    let plain = gunzip(&fx().inputs.hosp.join(layout::LABEVENTS));
    let i = inputs_with("gz-plain", InputDir::Hosp, layout::LABEVENTS, Some(&plain));
    cohort_fails("gz-plain", &i, &[layout::LABEVENTS]);
    let meta = std::fs::read(fx().inputs.cxr.join(layout::CXR_METADATA)).unwrap();
    let i = inputs_with("gz-trunc-meta", InputDir::Cxr, layout::CXR_METADATA, Some(&meta[..meta.len() - 6]));
    cohort_fails("gz-trunc-meta", &i, &[layout::CXR_METADATA]);
}

#[test]
fn cohort_row_with_wrong_field_count_names_the_line() {
    let i = inputs_with_table("fields", InputDir::Hosp, layout::ADMISSIONS, |rows| rows[5].push("surplus".into()));
    cohort_fails("fields", &i, &[&format!("{}:6", layout::ADMISSIONS), "expected 16 fields", "found 17"]);
    let i = inputs_with_table("fields-rl", InputDir::Ecg, layout::ECG_RECORD_LIST, |rows| {
        rows[3].pop();
    });
    cohort_fails("fields-rl", &i, &[&format!("{}:4", layout::ECG_RECORD_LIST), "expected 5 fields", "found 4"]);
}

#[test]
fn cohort_unparsable_ids_and_timestamps_name_line_and_column() {
    let i = inputs_with_table("bad-hadm", InputDir::Hosp, layout::ADMISSIONS, |rows| {
        let c = col(rows, "hadm_id");
        rows[4][c] = "2x0001".into();
    });
    cohort_fails("bad-hadm", &i, &[&format!("{}:5", layout::ADMISSIONS), "\"hadm_id\"", "integer", "2x0001"]);
    let i = inputs_with_table("bad-admittime", InputDir::Hosp, layout::ADMISSIONS, |rows| {
        let c = col(rows, "admittime");
        rows[7][c] = "2180-13-45 25:61:00".into();
    });
    cohort_fails(
        "bad-admittime",
        &i,
        &[&format!("{}:8", layout::ADMISSIONS), "\"admittime\"", "timestamp", "2180-13-45 25:61:00"],
    );
    let i = inputs_with_table("bad-subject-pat", InputDir::Hosp, layout::PATIENTS, |rows| rows[2][0] = "ten".into());
    cohort_fails("bad-subject-pat", &i, &[&format!("{}:3", layout::PATIENTS), "\"subject_id\"", "integer"]);
    let i = inputs_with_table("bad-ecg-study", InputDir::Ecg, layout::ECG_RECORD_LIST, |rows| {
        let c = col(rows, "study_id");
        rows[2][c] = "4e7".into();
    });
    cohort_fails("bad-ecg-study", &i, &[&format!("{}:3", layout::ECG_RECORD_LIST), "\"study_id\"", "integer"]);
    let i = inputs_with_table("bad-ecg-time", InputDir::Ecg, layout::ECG_RECORD_LIST, |rows| {
        let c = col(rows, "ecg_time");
        rows[2][c] = "yesterday".into();
    });
    cohort_fails("bad-ecg-time", &i, &[&format!("{}:3", layout::ECG_RECORD_LIST), "\"ecg_time\"", "yesterday"]);
    let i = inputs_with_table("bad-studydate", InputDir::Cxr, layout::CXR_METADATA, |rows| {
        let c = col(rows, "StudyDate");
        rows[2][c] = "2180-01-01".into();
    });
    cohort_fails("bad-studydate", &i, &[&format!("{}:3", layout::CXR_METADATA), "\"StudyDate\"", "YYYYMMDD"]);
}

#[test]
fn cohort_duplicate_keys_are_named() {
    let i = inputs_with_table("dup-hadm", InputDir::Hosp, layout::ADMISSIONS, |rows| {
        let c = col(rows, "hadm_id");
        rows[9][c] = rows[3][c].clone();
    });
    cohort_fails("dup-hadm", &i, &[&format!("{}:10", layout::ADMISSIONS), "duplicate hadm_id", "line 4"]);
    let i = inputs_with_table("dup-study", InputDir::Cxr, layout::CXR_CHEXPERT, |rows| {
        let c = col(rows, "study_id");
        rows[6][c] = rows[2][c].clone();
    });
    cohort_fails("dup-study", &i, &[&format!("{}:7", layout::CXR_CHEXPERT), "duplicate study_id", "line 3"]);
}

/// Inputs with the chosen cohort ECG's header edited by `edit` (or its `.dat` replaced).
fn ecg_record_case(
    case: &str,
    ecg_path: &str,
    hea: Option<&dyn Fn(&str) -> String>,
    dat: Option<Option<Vec<u8>>>,
) -> Inputs {
    let mut i = fx().inputs.clone();
    let new = fx().scratch(&format!("in-{case}"));
    let base = fx().inputs.ecg.join(ecg_path);
    let hea_rel = format!("{ecg_path}.hea");
    let dat_rel = format!("{ecg_path}.dat");
    // Overlay the record directory, then rewrite both files as asked.
    let dir_rel = Path::new(ecg_path).parent().unwrap().to_str().unwrap().to_string();
    let dir = overlay(&fx().inputs.ecg, &new, &dir_rel);
    std::fs::create_dir_all(&dir).unwrap();
    for e in std::fs::read_dir(fx().inputs.ecg.join(&dir_rel)).unwrap() {
        let e = e.unwrap();
        std::os::unix::fs::symlink(e.path(), dir.join(e.file_name())).unwrap();
    }
    if let Some(edit) = hea {
        let text = std::fs::read_to_string(base.with_extension("hea")).unwrap();
        std::fs::remove_file(new.join(&hea_rel)).unwrap();
        std::fs::write(new.join(&hea_rel), edit(&text)).unwrap();
    }
    if let Some(d) = dat {
        std::fs::remove_file(new.join(&dat_rel)).unwrap();
        if let Some(bytes) = d {
            std::fs::write(new.join(&dat_rel), bytes).unwrap();
        }
    }
    i.ecg = new;
    i
}

fn wfdb_cases(ecg_path: &str) -> Vec<(&'static str, Inputs, Vec<String>)> {
    let dat = std::fs::read(fx().inputs.ecg.join(format!("{ecg_path}.dat"))).unwrap();
    let name = Path::new(ecg_path).file_name().unwrap().to_str().unwrap().to_string();
    let tag = ecg_path.replace('/', "_");
    let signals = |t: &str| {
        let (first, rest) = t.split_once('\n').unwrap();
        let mut f: Vec<&str> = first.split(' ').collect();
        f[1] = "13";
        format!("{}\n{rest}", f.join(" "))
    };
    let format = |t: &str| t.replace(".dat 16 ", ".dat 77 ");
    vec![
        (
            "signal count",
            ecg_record_case(&format!("wfdb-sig-{tag}"), ecg_path, Some(&signals), None),
            vec![format!("{name}.hea"), "declares 13 signals".into(), "12 signal lines".into()],
        ),
        (
            "format",
            ecg_record_case(&format!("wfdb-fmt-{tag}"), ecg_path, Some(&format), None),
            vec![format!("{name}.hea"), "unknown WFDB storage format \"77\"".into()],
        ),
        (
            "short dat",
            ecg_record_case(&format!("wfdb-short-{tag}"), ecg_path, None, Some(Some(dat[..dat.len() / 3].to_vec()))),
            vec![format!("{name}.dat"), "too short".into(), format!("the file has {}", dat.len() / 3)],
        ),
        (
            "missing dat",
            ecg_record_case(&format!("wfdb-nodat-{tag}"), ecg_path, None, Some(None)),
            vec![format!("{name}.dat"), "does not exist".into()],
        ),
    ]
}

#[test]
fn cohort_broken_wfdb_record_of_a_candidate_is_named() {
    let (ecg_path, _) = cohort_paths();
    for (what, i, needles) in wfdb_cases(&ecg_path) {
        let mut needles: Vec<&str> = needles.iter().map(String::as_str).collect();
        needles.push(layout::ECG_RECORD_LIST);
        needles.push("--skip-unreadable-ecg");
        let save = user_dir(&format!("out-wfdb-{what}"));
        let before = snapshot(&save);
        let r = run(cohort_args(&i, &save));
        assert_clean_failure(&r, &needles, &save, &before);
    }
}

#[test]
fn cohort_skip_unreadable_ecg_goes_on_and_reports_the_record() {
    let (ecg_path, _) = cohort_paths();
    let i = ecg_record_case("skip-nodat", &ecg_path, None, Some(None));
    let save = user_dir("out-skip-nodat");
    let mut args = cohort_args(&i, &save);
    args.push("--skip-unreadable-ecg".into());
    run(args).assert_success();
    let report = std::fs::read_to_string(save.join("cohort_report.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&report).unwrap();
    let skipped = v["ecg_unreadable_skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{report}");
    assert!(skipped[0].as_str().unwrap().contains(&ecg_path), "{report}");
    // The admission either found a later valid ECG or was dropped: its ECG is no longer the broken one.
    let rows = table::rows(&save.join(COHORT_DATA[0]));
    let c = col(&rows, "ecg_path");
    assert!(rows[1..].iter().all(|r| r[c] != ecg_path));
    assert_eq!(std::fs::read(save.join("my notes.txt")).unwrap(), b"not yours\n");
}

#[test]
fn cohort_only_checks_that_images_exist() {
    // The reference only calls os.path.exists on images: a zero-byte or
    // non-JPEG file at the chosen path must give the unmodified cohort.
    let (_, cxr_path) = cohort_paths();
    let i = inputs_with("cxr-zero", InputDir::Cxr, &cxr_path, Some(b""));
    let save = user_dir("out-cxr-zero");
    run(cohort_args(&i, &save)).assert_success();
    for f in COHORT_DATA {
        assert!(std::fs::read(save.join(f)).unwrap() == std::fs::read(fx().cohort_dir.join(f)).unwrap(), "{f} differs");
    }
}

#[test]
fn cohort_unsafe_record_list_paths_are_refused() {
    for (k, bad) in ["/etc/passwd", "files/../../outside/record", "../mimic-iv-ecg/files/x"].into_iter().enumerate() {
        let i = inputs_with_table(&format!("unsafe-rl-{k}"), InputDir::Ecg, layout::ECG_RECORD_LIST, |rows| {
            let c = col(rows, "path");
            let last = rows.len() - 1;
            rows[last][c] = bad.into();
        });
        let n = table_rows(InputDir::Ecg, layout::ECG_RECORD_LIST).len();
        cohort_fails(
            &format!("unsafe-rl-{k}"),
            &i,
            &[&format!("{}:{n}", layout::ECG_RECORD_LIST), bad, "must be relative"],
        );
    }
}

#[test]
fn cohort_unwritable_save_dir_is_named() {
    // Running as root, permissions do not stop writes: the parent is a file.
    let d = fx().scratch("unwritable");
    let file = d.join("a-file");
    std::fs::write(&file, b"plain file\n").unwrap();
    let before = snapshot(&d);
    let save = file.join("out");
    let r = run(cohort_args(&fx().inputs, &save));
    assert_clean_failure(&r, &[save.to_str().unwrap()], &d, &before);
}

#[test]
fn cohort_keeps_user_files_on_success() {
    let save = user_dir("out-user-ok");
    std::fs::create_dir(save.join("sub")).unwrap();
    std::fs::write(save.join("sub").join("data.csv"), b"a,b\n1,2\n").unwrap();
    let before = snapshot(&save);
    run(cohort_args(&fx().inputs, &save)).assert_success();
    let after = snapshot(&save);
    for (k, v) in &before {
        assert_eq!(after.get(k), Some(v), "{} changed", k.display());
    }
    let new: Vec<_> = after.keys().filter(|k| !before.contains_key(*k)).collect();
    // CSV, Parquet, report, recipe, and the directory's SHA256SUMS.txt.
    assert_eq!(new.len(), 5, "{new:?}");
    assert!(temp_files(&save).is_empty());
}

// ------------------------------------------------------------------ splits

fn splits_fails(case: &str, dataset: &Path, s: Sizes, needles: &[&str]) {
    let save = user_dir(&format!("out-{case}"));
    let before = snapshot(&save);
    let r = run(splits_args(dataset, &save, s));
    assert_clean_failure(&r, needles, &save, &before);
}

#[test]
fn splits_impossible_sizes_are_refused() {
    let fx = fx();
    let n = fx.cohort_rows;
    let csv = fx.cohort_csv();
    let ok = fx.sizes;
    // The library names the recipe field; the command line adds the flag that set it.
    let train_all = format!("splits.train_n = {n} must be at least 1 and less than the");
    splits_fails("train-all", &csv, Sizes { train_n: n, ..ok }, &[&train_all, "(set by --train_n)"]);
    splits_fails("train-more", &csv, Sizes { train_n: n + 5, ..ok }, &[&format!("splits.train_n = {}", n + 5)]);
    splits_fails("train-zero", &csv, Sizes { train_n: 0, ..ok }, &["error: --train_n: must be at least 1"]);
    splits_fails(
        "val-big",
        &csv,
        Sizes { val_n: n - ok.train_n, ..ok },
        &["splits.val_n =", "rows left", "(set by --val_n)"],
    );
    splits_fails("cand-zero", &csv, Sizes { candidate_n: 0, ..ok }, &["error: --candidate_n: must be at least 1"]);
    splits_fails(
        "cand-big",
        &csv,
        Sizes { candidate_n: n, ..ok },
        &["splits.candidate_n =", "split has", "(set by --candidate_n)"],
    );
}

#[test]
fn splits_missing_or_broken_cohort_is_named() {
    let d = fx().scratch("splits-in");
    let missing = d.join("nope.csv");
    splits_fails("missing-cohort", &missing, fx().sizes, &["nope.csv"]);
    let mut rows = table::rows(&fx().cohort_csv());
    let c = col(&rows, "hadm_id");
    rows[4][c] = rows[2][c].clone();
    let dup = d.join("dup.csv");
    std::fs::write(&dup, table::to_bytes(&rows)).unwrap();
    splits_fails("dup-cohort", &dup, fx().sizes, &["dup.csv:5: duplicate hadm_id", "(first on line 3)"]);
    let mut rows = table::rows(&fx().cohort_csv());
    let c = col(&rows, "subject_id");
    for r in rows.iter_mut() {
        r.remove(c);
    }
    let nocol = d.join("nocol.csv");
    std::fs::write(&nocol, table::to_bytes(&rows)).unwrap();
    splits_fails("nocol-cohort", &nocol, fx().sizes, &["nocol.csv", "missing required column", "\"subject_id\""]);
}

// ------------------------------------------------------------------ tensors

#[test]
fn tensors_each_missing_input_is_named() {
    for f in SPLIT_INPUTS {
        let d = fx().copy_split_inputs(&format!("t-missing-{f}"));
        std::fs::remove_file(d.join(f)).unwrap();
        tensors_fails(&d, &fx().inputs, &[f]);
    }
}

#[test]
fn tensors_missing_or_renamed_columns_are_named() {
    for (k, (f, column)) in
        [("train.csv", "cxr_path"), ("val.csv", "ecg_path"), ("val_retrieval.csv", "label"), ("test.csv", "hadm_id")]
            .into_iter()
            .enumerate()
    {
        let d = fx().copy_split_inputs(&format!("t-col-{k}"));
        let mut rows = table::rows(&d.join(f));
        let c = col(&rows, column);
        rows[0][c] = format!("{column}_renamed");
        std::fs::write(d.join(f), table::to_bytes(&rows)).unwrap();
        tensors_fails(&d, &fx().inputs, &[f, "missing required column", &format!("\"{column}\"")]);
    }
}

#[test]
fn tensors_extra_and_reordered_columns_work() {
    let d = fx().copy_split_inputs("t-extra");
    for f in &SPLIT_INPUTS[..4] {
        let mut rows = table::rows(&d.join(f));
        for (k, r) in rows.iter_mut().enumerate() {
            r.reverse();
            r.push(if k == 0 { "zz_extra".into() } else { "x".into() });
        }
        std::fs::write(d.join(f), table::to_bytes(&rows)).unwrap();
    }
    std::fs::write(d.join("my notes.txt"), b"not yours\n").unwrap();
    run(tensors_args(&d, &fx().inputs)).assert_success();
    let want = read_tree(&fx().data_dir);
    let got = read_tree(&d);
    let outputs: Vec<&PathBuf> =
        want.keys().filter(|k| k.components().count() > 1 || *k == Path::new("metadata.json")).collect();
    assert!(outputs.len() >= 10, "{outputs:?}");
    for k in outputs {
        assert!(got.get(k) == want.get(k), "{} differs", k.display());
    }
    assert_eq!(got[Path::new("my notes.txt")], b"not yours\n");
}

#[test]
fn tensors_unsafe_split_paths_are_refused() {
    let cases = [
        ("train.csv", "cxr_path", "/etc/passwd", "absolute"),
        ("val.csv", "ecg_path", "files/../../../outside", "'..'"),
        ("test.csv", "cxr_path", "../mimic-cxr-jpg/files/x.jpg", "'..'"),
    ];
    for (k, (f, column, bad, why)) in cases.into_iter().enumerate() {
        let d = fx().copy_split_inputs(&format!("t-unsafe-{k}"));
        let mut rows = table::rows(&d.join(f));
        let c = col(&rows, column);
        let last = rows.len() - 1;
        rows[last][c] = bad.into();
        std::fs::write(d.join(f), table::to_bytes(&rows)).unwrap();
        tensors_fails(&d, &fx().inputs, &[&format!("{f}:{}", last + 1), bad, why]);
    }
}

/// A `(csv file, row index)` of a split whose record/image is not the first of its split.
fn later_row(f: &str, column: &str) -> (String, usize) {
    let rows = table::rows(&fx().data_dir.join(f));
    let c = col(&rows, column);
    let first = rows[1][c].clone();
    let r = (2..rows.len()).find(|&r| rows[r][c] != first).expect("a second distinct value");
    (rows[r][c].clone(), line_of(&rows, c, &rows[r][c]))
}

#[test]
fn tensors_broken_wfdb_records_are_named() {
    // A record that is not the first of its split: found while writing, after
    // the check phase, so the cleanup of partial outputs is exercised too.
    for f in ["train.csv", "test.csv"] {
        let (ecg_path, line) = later_row(f, "ecg_path");
        for (what, i, needles) in wfdb_cases(&ecg_path) {
            let d = fx().copy_split_inputs(&format!("t-wfdb-{f}-{what}"));
            let mut needles: Vec<&str> = needles.iter().map(String::as_str).collect();
            let at = format!("{f}:{line}");
            needles.push(&at);
            tensors_fails(&d, &i, &needles);
        }
    }
}

#[test]
fn tensors_broken_jpegs_are_named() {
    let mut cases = Vec::new();
    for f in ["train.csv", "val.csv"] {
        let (cxr_path, line) = later_row(f, "cxr_path");
        let jpeg = std::fs::read(fx().inputs.cxr.join(&cxr_path)).unwrap();
        let mut bomb = jpeg.clone();
        set_jpeg_dimensions(&mut bomb, 60000, 60000);
        cases.push((f, line, cxr_path.clone(), "truncated", jpeg[..jpeg.len() / 2].to_vec(), "truncated"));
        cases.push((f, line, cxr_path.clone(), "zero", Vec::new(), "zero bytes"));
        cases.push((f, line, cxr_path.clone(), "png", b"\x89PNG\r\n\x1a\nnot a jpeg".to_vec(), "not a JPEG"));
        cases.push((f, line, cxr_path.clone(), "bomb", bomb, "3600000000 pixels"));
    }
    for (f, line, cxr_path, what, bytes, needle) in cases {
        let case = format!("t-jpeg-{f}-{what}");
        let i = inputs_with(&case, InputDir::Cxr, &cxr_path, Some(&bytes));
        let d = fx().copy_split_inputs(&case);
        let name = Path::new(&cxr_path).file_name().unwrap().to_str().unwrap().to_string();
        tensors_fails(&d, &i, &[&format!("{f}:{line}"), &name, needle]);
    }
}

#[test]
fn tensors_missing_image_is_named() {
    let (cxr_path, line) = later_row("test.csv", "cxr_path");
    let i = inputs_with("t-noimg", InputDir::Cxr, &cxr_path, None);
    let d = fx().copy_split_inputs("t-noimg");
    tensors_fails(&d, &i, &[&format!("test.csv:{line}"), &cxr_path, "does not exist"]);
}

#[test]
fn tensors_bad_labs_means_is_named() {
    let d = fx().copy_split_inputs("t-labs");
    std::fs::write(d.join("labs_means.json"), b"{\"50912_percentile\": \"high\"}").unwrap();
    tensors_fails(&d, &fx().inputs, &["labs_means.json"]);
}

#[test]
fn tensors_unwritable_data_dir_is_named() {
    // data_dir is a regular file: nothing can be read or written there.
    let d = fx().scratch("t-unwritable");
    let file = d.join("a-file");
    std::fs::write(&file, b"plain file\n").unwrap();
    let before = snapshot(&d);
    let r = run(tensors_args(&file, &fx().inputs));
    assert_clean_failure(&r, &["a-file"], &d, &before);
}

#[test]
fn cohort_failure_keeps_an_earlier_runs_outputs() {
    // A failed run changes nothing in the output dir, so an earlier
    // successful run's cohort must still be there afterwards.
    let save = user_dir("out-earlier-cohort");
    for f in COHORT_DATA.iter().chain(&["cohort_report.json"]) {
        std::fs::copy(fx().cohort_dir.join(f), save.join(f)).unwrap();
    }
    let before = snapshot(&save);
    let i = inputs_with_table("earlier-dup", InputDir::Hosp, layout::ADMISSIONS, |rows| {
        let c = col(rows, "hadm_id");
        rows[9][c] = rows[3][c].clone();
    });
    let r = run(cohort_args(&i, &save));
    assert_clean_failure(&r, &[layout::ADMISSIONS, "duplicate hadm_id"], &save, &before);
}

#[test]
fn splits_keeps_user_files_and_refuses_an_unwritable_save_dir() {
    let save = user_dir("splits-user-ok");
    let before = snapshot(&save);
    run(splits_args(&fx().cohort_csv(), &save, fx().sizes)).assert_success();
    let after = snapshot(&save);
    for (k, v) in &before {
        assert_eq!(after.get(k), Some(v), "{} changed", k.display());
    }
    for f in SPLIT_INPUTS {
        assert!(std::fs::read(save.join(f)).unwrap() == std::fs::read(fx().data_dir.join(f)).unwrap(), "{f} differs");
    }
    assert!(temp_files(&save).is_empty());

    let d = fx().scratch("splits-unwritable");
    let file = d.join("a-file");
    std::fs::write(&file, b"plain file\n").unwrap();
    let before = snapshot(&d);
    let r = run(splits_args(&fx().cohort_csv(), &file.join("out"), fx().sizes));
    assert_clean_failure(&r, &["cannot create the output directory", "a-file"], &d, &before);
}

#[test]
fn tensors_failure_keeps_an_earlier_runs_outputs() {
    // A data dir holding a complete earlier run; the new run fails while
    // writing (a val image is truncated): every earlier file must survive.
    let d = fx().scratch("t-earlier");
    for (rel, bytes) in read_tree(&fx().data_dir) {
        std::fs::create_dir_all(d.join(&rel).parent().unwrap()).unwrap();
        std::fs::write(d.join(&rel), bytes).unwrap();
    }
    let (cxr_path, line) = later_row("val.csv", "cxr_path");
    let jpeg = std::fs::read(fx().inputs.cxr.join(&cxr_path)).unwrap();
    let i = inputs_with("t-earlier", InputDir::Cxr, &cxr_path, Some(&jpeg[..jpeg.len() / 2]));
    tensors_fails(&d, &i, &[&format!("val.csv:{line}"), "truncated"]);
}

/// The `error:` text split at `": "`; a long segment seen twice means the
/// cause was printed twice (an error that embeds `{source}` in its own
/// message *and* reports it as its source, printed with `{:#}`).
fn repeated_segment(stderr: &str) -> Option<String> {
    let msg = stderr.lines().find_map(|l| l.strip_prefix("error: "))?;
    let segs: Vec<&str> = msg.split(": ").collect();
    segs.iter().enumerate().find(|(k, s)| s.len() >= 20 && segs[k + 1..].contains(s)).map(|(_, s)| s.to_string())
}

#[test]
fn error_messages_do_not_repeat_their_cause() {
    let mut repeated = Vec::new();
    let mut check = |what: &str, r: Run| {
        assert_eq!(r.code, Some(2), "{what}: {}", r.stderr);
        if let Some(seg) = repeated_segment(&r.stderr) {
            repeated.push(format!("{what}: {seg:?} is printed twice in: {}", r.stderr.trim_end()));
        }
    };
    // tensors: a truncated train image, a short .dat, a missing split CSV.
    let (cxr_path, _) = later_row("train.csv", "cxr_path");
    let jpeg = std::fs::read(fx().inputs.cxr.join(&cxr_path)).unwrap();
    let i = inputs_with("rep-jpeg", InputDir::Cxr, &cxr_path, Some(&jpeg[..jpeg.len() / 2]));
    check("tensors, truncated JPEG", run(tensors_args(&fx().copy_split_inputs("rep-jpeg"), &i)));
    let (ecg_path, _) = later_row("test.csv", "ecg_path");
    let i = ecg_record_case("rep-dat", &ecg_path, None, Some(Some(vec![0; 100])));
    check("tensors, short .dat", run(tensors_args(&fx().copy_split_inputs("rep-dat"), &i)));
    let d = fx().copy_split_inputs("rep-nocsv");
    std::fs::remove_file(d.join("val.csv")).unwrap();
    check("tensors, missing val.csv", run(tensors_args(&d, &fx().inputs)));
    // splits: a missing cohort CSV.
    let out = fx().scratch("rep-splits");
    check("splits, missing cohort", run(splits_args(&out.join("nope.csv"), &out, fx().sizes)));
    // cohort: a save dir below a regular file.
    let f = fx().scratch("rep-cohort").join("a-file");
    std::fs::write(&f, b"x").unwrap();
    check("cohort, save dir below a file", run(cohort_args(&fx().inputs, &f.join("out"))));
    assert!(repeated.is_empty(), "{} message(s) repeat their cause:\n{}", repeated.len(), repeated.join("\n"));
}

#[test]
fn splits_extra_and_reordered_columns_work() {
    // pandas keeps the file's column order and carries unknown columns, so the
    // split CSVs are compared column by column; labs_means.json must be identical.
    let d = fx().scratch("splits-extra");
    let mut rows = table::rows(&fx().cohort_csv());
    for (k, r) in rows.iter_mut().enumerate() {
        r.reverse();
        r.push(if k == 0 { "zz_extra".into() } else { format!("x{k}") });
    }
    let cohort = d.join("cohort.csv");
    std::fs::write(&cohort, table::to_bytes(&rows)).unwrap();
    let save = d.join("out");
    run(splits_args(&cohort, &save, fx().sizes)).assert_success();
    assert!(
        std::fs::read(save.join("labs_means.json")).unwrap()
            == std::fs::read(fx().data_dir.join("labs_means.json")).unwrap(),
        "labs_means.json differs"
    );
    for f in &SPLIT_INPUTS[..4] {
        let want = by_column(&table::rows(&fx().data_dir.join(f)));
        let got = by_column(&table::rows(&save.join(f)));
        for (name, values) in &want {
            assert_eq!(got.get(name), Some(values), "{f}: column {name}");
        }
        assert!(got.contains_key("zz_extra"), "{f}: the extra column is not carried");
    }
}

/// A killed run leaves `.symile-tmp.*` files; the next `cohort` run removes
/// them and nothing else.
#[test]
fn cohort_cleans_temporaries_of_a_killed_run() {
    let f = fx();
    let save = f.scratch("stale_temps");
    let stale = save.join(format!("{}1.0.symile_mimic_data.csv", durable::TEMP_PREFIX));
    std::fs::write(&stale, b"half a cohort").unwrap();
    std::fs::write(save.join("notes.txt"), b"mine").unwrap();
    run(cohort_args(&f.inputs, &save)).assert_success();
    assert!(!stale.exists(), "the stale temporary must be removed");
    assert_eq!(std::fs::read(save.join("notes.txt")).unwrap(), b"mine");
    assert_eq!(
        std::fs::read(save.join("symile_mimic_data.csv")).unwrap(),
        std::fs::read(f.cohort_dir.join("symile_mimic_data.csv")).unwrap()
    );
}

// ------------------------------------------------------------------ settings

/// The library names the settings that would resolve a download root in
/// words of its own; the command prints them as its flags.
#[test]
fn an_unresolved_root_names_the_flags_that_resolve_it() {
    let root = fx().scratch("two-unpublished-releases");
    for v in ["3.0", "3.1"] {
        for t in [layout::PATIENTS, layout::ADMISSIONS, layout::LABEVENTS] {
            let p = root.join(format!("mimiciv/{v}/hosp/{t}"));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"").unwrap();
        }
    }
    std::fs::create_dir_all(root.join("mimic-cxr-jpg/2.0.0/files")).unwrap();
    for t in [layout::CXR_METADATA, layout::CXR_CHEXPERT] {
        std::fs::write(root.join("mimic-cxr-jpg/2.0.0").join(t), b"").unwrap();
    }
    std::fs::create_dir_all(root.join("mimic-iv-ecg/1.0/files")).unwrap();
    std::fs::write(root.join("mimic-iv-ecg/1.0").join(layout::ECG_RECORD_LIST), b"").unwrap();
    let out = root.join("never-written");
    let args: [&std::ffi::OsStr; 7] = [
        "build".as_ref(),
        "--mimic-root".as_ref(),
        root.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--ecg-version".as_ref(),
        "2.0".as_ref(),
    ];
    let r = run(args);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    for needle in [
        "several MIMIC-IV releases and none is the published 2.2: 3.0 (mimiciv/3.0/hosp), 3.1 (mimiciv/3.1/hosp); \
         choose one with --mimiciv-version;",
        "MIMIC-IV-ECG 2.0 was asked for (--ecg-version 2.0) but is not there; found 1.0 (mimic-iv-ecg/1.0)",
    ] {
        assert!(r.stderr.contains(needle), "{needle:?} not in:\n{}", r.stderr);
    }
    assert!(!out.exists());
}
