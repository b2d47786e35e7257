//! `symile-mimic evaluate` through the real binary, on the committed golden
//! set's test split (4 queries × 3 candidates): the human line, `--json`
//! with the documented keys, a reproducible bootstrap, and bad scores exiting
//! 2 with a message that says what was expected.

use std::path::Path;

use crate::common::run;

/// A 1-D float64 `.npy` as `numpy.save` writes it.
fn npy_f64(path: &Path, values: &[f64]) {
    let dict = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': ({},), }}", values.len());
    let pad = 64 - (10 + dict.len() + 1) % 64;
    let header = format!("{dict}{}\n", " ".repeat(pad));
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    out.extend(values.iter().flat_map(|v| v.to_le_bytes()));
    std::fs::write(path, out).unwrap();
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
    npy_f64(&path, &[0.0; 13]);
    let r = eval(&golden, &path, &["--split", "train"]);
    assert_eq!(r.code, Some(2));
    assert!(r.stderr.contains("val_retrieval") && r.stderr.contains("test"), "{}", r.stderr);
}
