//! `verify` against the reference's own outputs and against broken copies,
//! and `build`'s resumable stage manifests.

use std::fs;
use std::path::{Path, PathBuf};

use mimic_io::progress::NoProgress;
use symile_mimic::verify::{VerifyArgs, verify};

fn golden_expected() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/golden/expected");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("skipping: {} is absent", p.display());
        None
    }
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            fs::copy(e.path(), &dest).unwrap();
        }
    }
}

#[test]
fn the_reference_outputs_pass_and_broken_copies_fail() {
    let Some(golden) = golden_expected() else { return };
    let rep = verify(&VerifyArgs { dir: golden.clone(), expect_published: false }).unwrap();
    assert!(rep.ok(), "{}", rep.text());

    // The published counts are not the golden set's.
    let rep = verify(&VerifyArgs { dir: golden.clone(), expect_published: true }).unwrap();
    assert!(rep.failed().iter().any(|f| f.contains("10,000")), "{}", rep.text());

    // A val row moved into train breaks disjointness; a missing tensor is named.
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&golden, dir.path());
    let val = fs::read_to_string(dir.path().join("val.csv")).unwrap();
    let first_val_row = val.lines().nth(1).unwrap();
    let train_header = fs::read_to_string(dir.path().join("train.csv")).unwrap();
    let header = train_header.lines().next().unwrap().to_string();
    let ncols = header.split(',').count();
    let shared_row: Vec<&str> = first_val_row.split(',').take(ncols).collect();
    let mut train = train_header.clone();
    train.push_str(&shared_row.join(","));
    train.push('\n');
    fs::write(dir.path().join("train.csv"), train).unwrap();
    fs::remove_file(dir.path().join("tensors/test/label_test.safetensors")).unwrap();
    let rep = verify(&VerifyArgs { dir: dir.path().to_path_buf(), expect_published: false }).unwrap();
    let text = rep.text();
    assert!(text.contains("subject_id disjoint between train and val"), "{text}");
    assert!(text.contains("label_test"), "{text}");
    assert!(text.contains("13 rows, train.csv has 14"), "{text}");
}

#[test]
fn build_skips_up_to_date_stages_and_redoes_changed_ones() {
    let input = tempfile::tempdir().unwrap();
    let cfg = synth::SynthConfig { admissions: Some(120), ..synth::demo_config() };
    synth::generate(&input.path().join("mimic"), &cfg).unwrap();
    let out = tempfile::tempdir().unwrap();
    let args = symile_mimic::BuildArgs {
        mimic_root: Some(input.path().join("mimic")),
        mimiciv_version: None,
        cxr_version: None,
        ecg_version: None,
        mimiciv_hosp_dir: None,
        cxr_data_dir: None,
        ecg_data_dir: None,
        out: out.path().join("data"),
        train_n: None,
        val_n: None,
        candidate_n: 3,
        seed: 0,
        cxr_scale: 64,
        cxr_crop: 64,
        format: "safetensors".into(),
        crop_rng: "chacha".into(),
        skip_unreadable_ecg: false,
        force: false,
    };
    let first = symile_mimic::build(&args, &NoProgress).unwrap();
    assert_eq!(first.stages_run, ["cohort", "splits", "tensors"]);
    let cxr = out.path().join("data/train/cxr_train.safetensors");
    let bytes = fs::read(&cxr).unwrap();

    let second = symile_mimic::build(&args, &NoProgress).unwrap();
    assert!(second.stages_run.is_empty(), "{second:?}");
    assert_eq!(second.stages_skipped, ["cohort", "splits", "tensors"]);

    // A changed flag redoes its stage and everything after it.
    let third = symile_mimic::build(&symile_mimic::BuildArgs { candidate_n: 4, ..args.clone() }, &NoProgress).unwrap();
    assert_eq!(third.stages_skipped, ["cohort"]);
    assert_eq!(third.stages_run, ["splits", "tensors"]);

    // A deleted output redoes its stage; --force redoes everything.
    fs::remove_file(&cxr).unwrap();
    let fourth = symile_mimic::build(&args, &NoProgress).unwrap();
    assert_eq!(fourth.stages_run, ["splits", "tensors"]);
    assert_eq!(fs::read(&cxr).unwrap(), bytes, "same flags, same bytes");
    let fifth = symile_mimic::build(&symile_mimic::BuildArgs { force: true, ..args.clone() }, &NoProgress).unwrap();
    assert_eq!(fifth.stages_run, ["cohort", "splits", "tensors"]);

    let rep = verify(&VerifyArgs { dir: out.path().join("data"), expect_published: false }).unwrap();
    assert!(rep.ok(), "{}", rep.text());
}
