//! `symile-mimic evaluate` through the real binary, on the committed golden
//! set's test split (4 queries × 3 candidates): the human line, `--json`
//! with the documented keys, a reproducible bootstrap, and bad scores exiting
//! 2 with a message that says what was expected; and hand-made test splits
//! whose groups do not have exactly one query each.

use std::path::Path;

use crate::common::run;

/// A 1-D `.npy` of `descr` (`<f8`, `<i8`) as `numpy.save` writes it.
fn npy(path: &Path, descr: &str, data: Vec<[u8; 8]>) {
    let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({},), }}", data.len());
    let pad = 64 - (10 + dict.len() + 1) % 64;
    let header = format!("{dict}{}\n", " ".repeat(pad));
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    out.extend(data.into_iter().flatten());
    std::fs::write(path, out).unwrap();
}

/// A 1-D float64 `.npy`.
fn npy_f64(path: &Path, values: &[f64]) {
    npy(path, "<f8", values.iter().map(|v| v.to_le_bytes()).collect());
}

/// A dataset directory holding only a test split's three id tensors (int64 `.npy`).
fn hand_made(dir: &Path, hadm: &[i64], label_hadm: &[i64], label: &[i64]) {
    std::fs::create_dir_all(dir.join("test")).unwrap();
    for (stem, ids) in [("hadm_id", hadm), ("label_hadm_id", label_hadm), ("label", label)] {
        npy(&dir.join("test").join(format!("{stem}_test.npy")), "<i8", ids.iter().map(|v| v.to_le_bytes()).collect());
    }
}

fn eval(dir: &Path, scores: &Path, extra: &[&str]) -> crate::common::Run {
    let mut a: Vec<std::ffi::OsString> = vec!["evaluate".into(), dir.into(), "--scores".into(), scores.into()];
    a.extend(extra.iter().map(Into::into));
    run(a)
}

#[test]
fn evaluate_scores_the_test_split_and_says_why_bad_scores_are_bad() {
    let golden = test_support::fixture::path("golden/expected");
    let tmp = test_support::tempdir();
    // Rows 0..4 are the queries; score them highest except query 1, whose first negative wins.
    let mut scores = vec![0.5; 12];
    for q in [0, 2, 3] {
        scores[q] = 1.0;
    }
    scores[4 + 2] = 2.0; // the first negative of query 1 (rows 4.. are 2 negatives per query)
    let path = tmp.path().join("s.npy");
    npy_f64(&path, &scores);
    // Quiet prints no report, but an answer is not a report.
    let r = eval(&golden, &path, &["--json"]).assert_success();
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(
        (v["accuracy"].as_f64(), v["queries"].as_u64(), v["candidates"].as_u64()),
        (Some(0.75), Some(4), Some(3))
    );
    let line = eval(&golden, &path, &[]).assert_success().stdout;
    assert!(line.contains("accuracy 0.75") && line.contains("4 queries"), "{line}");
    let b1 = eval(&golden, &path, &["--json", "--bootstrap", "50", "--seed", "7"]).assert_success().stdout;
    let b2 = eval(&golden, &path, &["--json", "--bootstrap", "50", "--seed", "7"]).assert_success().stdout;
    assert_eq!(b1, b2, "a bootstrap is reproducible from its seed");
    let b: serde_json::Value = serde_json::from_str(b1.trim()).unwrap();
    assert!(b["ci95"][0].as_f64() <= b["ci95"][1].as_f64() && b["bootstrap_std"].as_f64().is_some(), "{b}");

    // Bad scores: the wrong length, a NaN, a split without labels.
    npy_f64(&path, &[0.0; 11]);
    let r = eval(&golden, &path, &[]);
    assert_eq!(r.code, Some(2));
    assert!(r.stderr.contains("11") && r.stderr.contains("12"), "{}", r.stderr);
    let mut nan = scores.clone();
    nan[5] = f64::NAN;
    npy_f64(&path, &nan);
    let r = eval(&golden, &path, &[]);
    assert_eq!(r.code, Some(2));
    assert!(r.stderr.contains("row 5"), "{}", r.stderr);
    let mut inf = scores.clone();
    inf[7] = f64::INFINITY;
    npy_f64(&path, &inf);
    let r = eval(&golden, &path, &[]);
    assert_eq!(r.code, Some(2));
    assert!(r.stderr.contains("test: the score of row 7 is inf; expected a finite number"), "{}", r.stderr);
    npy_f64(&path, &[0.0; 13]);
    let r = eval(&golden, &path, &["--split", "train"]);
    assert_eq!(r.code, Some(2));
    assert!(r.stderr.contains("val_retrieval") && r.stderr.contains("test"), "{}", r.stderr);
}

#[test]
fn evaluate_refuses_a_group_without_exactly_one_query() {
    let tmp = test_support::tempdir();
    let scores = tmp.path().join("s.npy");
    // Rows 0 and 1 are both queries of admission 7.
    let two = tmp.path().join("two");
    hand_made(&two, &[7, 7, 8, 8], &[7, 7, 8, 8], &[1, 1, 1, 0]);
    npy_f64(&scores, &[0.0; 4]);
    let r = eval(&two, &scores, &[]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "test: rows 0 and 1 are both queries (label 1) of hadm_id 7; expected one query per label_hadm_id"
        ),
        "{}",
        r.stderr
    );
    // Row 2 is a negative for admission 5, which has no query.
    let orphan = tmp.path().join("orphan");
    hand_made(&orphan, &[7, 8, 8], &[7, 8, 5], &[1, 1, 0]);
    npy_f64(&scores, &[0.0; 3]);
    let r = eval(&orphan, &scores, &[]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains("test: row 2 is a negative (label 0) for label_hadm_id 5, which no query (label 1) has"),
        "{}",
        r.stderr
    );
    // With the negative's query in place the same layout scores.
    let fine = tmp.path().join("fine");
    hand_made(&fine, &[7, 8, 8, 7], &[7, 8, 7, 8], &[1, 1, 0, 0]);
    npy_f64(&scores, &[1.0, 1.0, 0.0, 0.0]);
    let r = eval(&fine, &scores, &["--json"]).assert_success();
    assert_eq!(r.stdout.trim(), r#"{"accuracy":1.0,"queries":2,"candidates":2}"#);
}
