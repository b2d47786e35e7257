//! Bad input: each case is a clear error naming the recipe field or column
//! and the numbers involved, and nothing at all is written to the output
//! directory.

use std::path::{Path, PathBuf};

use mimic_io::table::TableError;
use splits::{Negatives, SplitsConfig, SplitsError, run};

/// A small synthetic cohort with every column the reference expects:
/// `rows` admissions of subjects `subject_of(i)`, labs filled by `lab(i, l)`.
fn write_cohort(
    dir: &Path,
    rows: usize,
    subject_of: impl Fn(usize) -> i64,
    lab: impl Fn(usize, usize) -> String,
) -> PathBuf {
    let mut cols: Vec<String> = ["subject_id", "hadm_id", "admittime", "dischtime", "deathtime", "admission_type"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for c in splits::COLS_TO_DROP.iter().skip(4) {
        if !cols.iter().any(|x| x == c) {
            cols.push(c.to_string());
        }
    }
    cols.push("cxr_path".into());
    for c in mimic_io::layout::SPLIT_CHEXPERT_LABELS {
        cols.push(c.to_string());
    }
    cols.push("ecg_path".into());
    for id in mimic_io::layout::LABS {
        cols.push(id.to_string());
    }
    let mut text = cols.join(",");
    text.push('\n');
    for i in 0..rows {
        let mut cells: Vec<String> = Vec::new();
        for c in &cols {
            let cell = match c.as_str() {
                "subject_id" => subject_of(i).to_string(),
                "hadm_id" => (20_000_000 + i).to_string(),
                "cxr_path" => format!("files/p10/p{}/s1/x{i}.jpg", subject_of(i)),
                "ecg_path" => format!("files/p1000/p{}/s2/{i}", subject_of(i)),
                c if c.chars().all(|ch| ch.is_ascii_digit()) => {
                    let l = mimic_io::layout::LABS.iter().position(|id| id.to_string() == c).unwrap();
                    lab(i, l)
                }
                _ => "1.0".to_string(),
            };
            cells.push(cell);
        }
        text.push_str(&cells.join(","));
        text.push('\n');
    }
    let path = dir.join("cohort.csv");
    std::fs::write(&path, text).unwrap();
    path
}

fn cfg(dataset: PathBuf, save_dir: PathBuf) -> SplitsConfig {
    let mut recipe = recipe::Recipe::default();
    recipe.splits.train_n = 10;
    recipe.splits.val_n = 4;
    recipe.splits.candidate_n = 2;
    recipe.splits.seed = 1;
    recipe.splits.negatives = Negatives::Reference;
    SplitsConfig::new(dataset, save_dir, recipe)
}

fn default_lab(i: usize, l: usize) -> String {
    format!("{}.5", (i * 7 + l) % 13)
}

/// Runs and returns the error text, asserting the output dir stayed empty.
fn fails(c: &SplitsConfig) -> (SplitsError, String) {
    let err = run(c).expect_err("the run should fail");
    let text = errors::Chain(&err).to_string();
    let written: Vec<_> = match std::fs::read_dir(&c.save_dir) {
        Ok(rd) => rd.map(|e| e.unwrap().file_name()).collect(),
        Err(_) => Vec::new(),
    };
    assert!(written.is_empty(), "{text}: wrote {written:?}");
    (err, text)
}

#[test]
fn good_input_runs_and_is_deterministic() {
    let tmp = test_support::tempdir();
    let data = write_cohort(tmp.path(), 20, |i| 10_000_000 + i as i64, default_lab);
    let a = cfg(data.clone(), tmp.path().join("a"));
    let ra = run(&a).unwrap();
    assert_eq!((ra.train_rows, ra.val_rows, ra.test_queries), (10, 4, 6));
    assert_eq!(ra.val_retrieval_rows, 8);
    let b = cfg(data, tmp.path().join("b"));
    let rb = run(&b).unwrap();
    // All seven, splits_report.json included: no output carries a timing or a path.
    for f in dataset_layout::splits_outputs().into_iter().chain([recipe::RECIPE_FILE]) {
        assert_eq!(std::fs::read(a.save_dir.join(f)).unwrap(), std::fs::read(b.save_dir.join(f)).unwrap(), "{f}");
    }
    assert_eq!(ra.seed, rb.seed);
    let summary = ra.summary();
    assert!(summary.contains("train 10, val 4, test 6 queries"), "{summary}");
}

#[test]
fn fast_negatives_are_distinct_and_deterministic() {
    let tmp = test_support::tempdir();
    let data = write_cohort(tmp.path(), 20, |i| 10_000_000 + i as i64, default_lab);
    let mut a = cfg(data.clone(), tmp.path().join("a"));
    a.recipe.splits.negatives = Negatives::Fast;
    a.recipe.splits.candidate_n = 4;
    let ra = run(&a).unwrap();
    assert_eq!(ra.val_retrieval_rows, 16);
    let mut b = a.clone();
    b.save_dir = tmp.path().join("b");
    run(&b).unwrap();
    let va = std::fs::read_to_string(a.save_dir.join("val_retrieval.csv")).unwrap();
    assert_eq!(va, std::fs::read_to_string(b.save_dir.join("val_retrieval.csv")).unwrap());
    assert_eq!(va.lines().count(), 1 + 16);
    let report = std::fs::read_to_string(a.save_dir.join("splits_report.json")).unwrap();
    assert!(report.contains("\"negatives\": \"fast\""), "{report}");
}

#[test]
fn an_os_seed_is_reported_and_recorded_in_the_recipe() {
    let tmp = test_support::tempdir();
    let data = write_cohort(tmp.path(), 20, |i| 10_000_000 + i as i64, default_lab);
    let mut c = cfg(data.clone(), tmp.path().join("os"));
    c.recipe.splits.seed = 3_141_592_653;
    c.seed_source = splits::SeedSource::Os;
    let r = run(&c).unwrap();
    assert_eq!(r.seed_source, splits::SeedSource::Os);
    // The recorded recipe repeats the run.
    let recorded = recipe::Requested::recorded(&c.save_dir).unwrap().unwrap().recipe;
    assert_eq!(recorded.splits.seed, 3_141_592_653);
    let again = SplitsConfig::new(data, tmp.path().join("again"), recorded);
    run(&again).unwrap();
    for f in ["train.csv", "val_retrieval.csv", "test.csv", "recipe.toml"] {
        assert_eq!(std::fs::read(c.save_dir.join(f)).unwrap(), std::fs::read(again.save_dir.join(f)).unwrap());
    }
    let json = std::fs::read_to_string(c.save_dir.join("splits_report.json")).unwrap();
    assert!(json.contains("\"seed\": 3141592653") && json.contains("\"seed_source\": \"os\""), "{json}");
}

#[test]
fn train_n_too_large() {
    let tmp = test_support::tempdir();
    let data = write_cohort(tmp.path(), 20, |i| 10_000_000 + i as i64, default_lab);
    let mut c = cfg(data, tmp.path().join("out"));
    c.recipe.splits.train_n = 20;
    let (e, text) = fails(&c);
    assert!(matches!(e, SplitsError::TrainN { train_n: 20, rows: 20, .. }), "{text}");
    assert!(text.contains("splits.train_n = 20") && text.contains("20 rows"), "{text}");
    assert_eq!(e.field(), Some(recipe::Field::TrainN));
    c.recipe.splits.train_n = 0;
    let (e, text) = fails(&c);
    assert!(matches!(e, SplitsError::Recipe(_)) && e.field() == Some(recipe::Field::TrainN), "{text}");
}

#[test]
fn val_n_larger_than_what_is_left() {
    let tmp = test_support::tempdir();
    // Subjects repeat (i % 12): some rest rows share a train subject and are dropped.
    let data = write_cohort(tmp.path(), 20, |i| 10_000_000 + (i % 12) as i64, default_lab);
    let mut c = cfg(data, tmp.path().join("out"));
    c.recipe.splits.val_n = 10;
    let (e, text) = fails(&c);
    let SplitsError::ValN { val_n, train_n, rows, dropped, left } = e else { panic!("{text}") };
    assert_eq!((val_n, train_n, rows), (10, 10, 20));
    assert_eq!(dropped + left, 10);
    assert!(dropped > 0, "{text}");
    assert!(text.contains("splits.val_n = 10") && text.contains(&format!("{left} rows left")), "{text}");
}

#[test]
fn candidate_n_out_of_range() {
    let tmp = test_support::tempdir();
    let data = write_cohort(tmp.path(), 20, |i| 10_000_000 + i as i64, default_lab);
    let mut c = cfg(data, tmp.path().join("out"));
    c.recipe.splits.candidate_n = 0;
    let (e, text) = fails(&c);
    assert!(matches!(e, SplitsError::Recipe(_)) && e.field() == Some(recipe::Field::CandidateN), "{text}");
    assert_eq!(text, "splits.candidate_n: must be at least 1");
    c.recipe.splits.candidate_n = 5; // val has 4 rows
    let (e, text) = fails(&c);
    assert!(matches!(e, SplitsError::CandidateN { candidate_n: 5, split: "val", rows: 4 }), "{text}");
    assert!(text.contains("splits.candidate_n = 5") && text.contains("val split has 4 rows"), "{text}");
    c.recipe.splits.val_n = 8; // val 8 rows, test 2 rows
    let (e, text) = fails(&c);
    assert!(matches!(e, SplitsError::CandidateN { candidate_n: 5, split: "test", rows: 2 }), "{text}");
}

#[test]
fn lab_without_train_values() {
    let tmp = test_support::tempdir();
    // Lab #3 (50971) is observed only on row 0; lab #5 (51301) never.
    let lab = |i: usize, l: usize| match l {
        5 => String::new(),
        3 if i != 0 => String::new(),
        _ => default_lab(i, l),
    };
    let data = write_cohort(tmp.path(), 20, |i| 10_000_000 + i as i64, lab);
    let c = cfg(data, tmp.path().join("out"));
    let (e, text) = fails(&c);
    let SplitsError::NoTrainValues { column, train_rows } = e else { panic!("{text}") };
    // 50971 comes first in LABS order if row 0 is not in train; otherwise 51301.
    assert!(column == "50971" || column == "51301", "{text}");
    assert_eq!(train_rows, 10);
    assert!(text.contains(&format!("{column:?}")) && text.contains("10 train rows"), "{text}");
}

#[test]
fn seed_out_of_range() {
    let tmp = test_support::tempdir();
    let data = write_cohort(tmp.path(), 20, |i| 10_000_000 + i as i64, default_lab);
    let mut c = cfg(data, tmp.path().join("out"));
    c.recipe.splits.seed = 1 << 32;
    let (e, text) = fails(&c);
    assert!(matches!(e, SplitsError::Recipe(_)) && e.field() == Some(recipe::Field::Seed), "{text}");
    assert!(text.contains("splits.seed: 4294967296 is outside"), "{text}");
}

#[test]
fn missing_columns_are_listed() {
    let tmp = test_support::tempdir();
    let data = write_cohort(tmp.path(), 20, |i| 10_000_000 + i as i64, default_lab);
    // Remove the "ecg_time" (dropped by the reference) and "51221" (a lab) columns.
    let text = std::fs::read_to_string(&data).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let gone: Vec<usize> =
        header.iter().enumerate().filter(|(_, h)| **h == "ecg_time" || **h == "51221").map(|(i, _)| i).collect();
    assert_eq!(gone.len(), 2);
    let trimmed: String = text
        .lines()
        .map(|l| {
            l.split(',').enumerate().filter(|(i, _)| !gone.contains(i)).map(|(_, c)| c).collect::<Vec<_>>().join(",")
                + "\n"
        })
        .collect();
    std::fs::write(&data, trimmed).unwrap();
    let c = cfg(data, tmp.path().join("out"));
    let (e, msg) = fails(&c);
    assert!(matches!(e, SplitsError::Table(_)), "{msg}");
    assert!(msg.contains("\"ecg_time\"") && msg.contains("\"51221\""), "{msg}");
}

#[test]
fn duplicate_hadm_id() {
    let tmp = test_support::tempdir();
    let data = write_cohort(tmp.path(), 20, |i| 10_000_000 + i as i64, default_lab);
    let text = std::fs::read_to_string(&data).unwrap();
    // Line 6 (row 4) gets row 2's hadm_id.
    let fixed = text.replacen(",20000004,", ",20000002,", 1);
    assert_ne!(fixed, text);
    std::fs::write(&data, fixed).unwrap();
    let c = cfg(data, tmp.path().join("out"));
    let (e, msg) = fails(&c);
    assert!(
        matches!(&e, SplitsError::Table(TableError::Duplicate { column: "hadm_id", first_line: 4, at, .. }) if at.line == 6),
        "{msg}"
    );
    assert!(msg.contains("hadm_id 20000002"), "{msg}");
}

#[test]
fn non_numeric_lab_value() {
    let tmp = test_support::tempdir();
    let lab = |i: usize, l: usize| if i == 7 && l == 2 { "high".to_string() } else { default_lab(i, l) };
    let data = write_cohort(tmp.path(), 20, |i| 10_000_000 + i as i64, lab);
    let c = cfg(data, tmp.path().join("out"));
    let (e, msg) = fails(&c);
    assert!(matches!(e, SplitsError::Table(_)), "{msg}");
    assert!(msg.contains(":9:") && msg.contains("\"50912\"") && msg.contains("\"high\""), "{msg}");
}
