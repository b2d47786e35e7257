//! `verify` against the reference's own outputs and against broken copies,
//! and `build`'s resumable stage manifests.

use std::fs;
use std::path::{Path, PathBuf};

use progress::NoProgress;
use test_support::fixture;
use test_support::tree::copy_dir;
use verify::{VerifyRequest as VerifyArgs, verify};

/// The reference's outputs of the committed golden set.
fn golden_expected() -> PathBuf {
    fixture::path("golden/expected")
}

#[test]
fn the_reference_outputs_pass_and_broken_copies_fail() {
    let golden = golden_expected();
    let rep = verify(&VerifyArgs::new(golden.clone()), &NoProgress).unwrap();
    assert!(rep.ok(), "{}", rep.text());

    // The published counts are not the golden set's.
    let rep = verify(&VerifyArgs { expect_published: true, ..VerifyArgs::new(golden.clone()) }, &NoProgress).unwrap();
    assert!(rep.failed().iter().any(|f| f.contains("10,000")), "{}", rep.text());

    // A val row moved into train breaks disjointness; a missing tensor is named.
    let dir = test_support::tempdir();
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
    let rep = verify(&VerifyArgs::new(dir.path().to_path_buf()), &NoProgress).unwrap();
    let text = rep.text();
    assert!(text.contains("subject_id disjoint between train and val"), "{text}");
    assert!(text.contains("label_test"), "{text}");
    assert!(text.contains("13 rows, train.csv has 14"), "{text}");
}

/// Files a user hands `verify` that lie about their size are failed checks,
/// never a crash or a huge allocation.
#[test]
fn lying_tensors_are_failed_checks() {
    use tensor_store::{DType, TensorFile, TensorSpec};
    let dir = test_support::tempdir();
    copy_dir(&golden_expected(), dir.path());
    // A 0-row CXR tensor whose rows would each be 12 TiB.
    let val = dir.path().join("tensors/val");
    fs::remove_file(val.join("cxr_val.safetensors")).unwrap();
    let spec = TensorSpec { name: "cxr_val".into(), dtype: DType::F32, shape: vec![0, 3, 1 << 20, 1 << 20] };
    TensorFile::create(&val, spec, tensor_store::Format::Safetensors).unwrap().commit().unwrap();
    // Retrieval labels with fewer rows than the other tensors of the split.
    let test = dir.path().join("tensors/test");
    fs::remove_file(test.join("label_test.safetensors")).unwrap();
    let spec = TensorSpec { name: "label_test".into(), dtype: DType::I64, shape: vec![5] };
    let f = TensorFile::create(&test, spec, tensor_store::Format::Safetensors).unwrap();
    for r in 0..5 {
        f.write_row(r, &1i64.to_le_bytes()).unwrap();
    }
    f.commit().unwrap();

    let rep = verify(&VerifyArgs::new(dir.path().to_path_buf()), &NoProgress).unwrap();
    let text = rep.text();
    assert!(text.contains("val/cxr_val: 0 rows, val.csv has 3"), "{text}");
    assert!(text.contains("test/label_test: 5 rows, test.csv has 12"), "{text}");
    assert!(text.contains("test: hadm_id, label_hadm_id and label have 12, 12 and 5 rows"), "{text}");
}

/// A synthetic MIMIC tree of 120 admissions: the directory that owns it, and its root.
fn small_input() -> (test_support::TempDir, std::path::PathBuf) {
    let input = test_support::tempdir();
    let cfg = synth::SynthConfig { admissions: Some(120), ..synth::demo_config() };
    let mimic = input.path().join("mimic");
    synth::generate(&mimic, &cfg).unwrap();
    (input, mimic)
}

/// `build` with `flags` from `mimic` into `out`.
fn build(mimic: &Path, out: &Path, flags: &[&str]) -> pipeline::BuildSummary {
    let mut args = symile_mimic::BuildArgs::from_flags(flags).unwrap();
    args.inputs.root.mimic_root = Some(mimic.to_path_buf());
    args.out = out.to_path_buf();
    pipeline::build(&args.request().unwrap(), &NoProgress).unwrap()
}

#[test]
fn build_skips_up_to_date_stages_and_redoes_changed_ones() {
    let (_input, mimic) = small_input();
    let out = test_support::tempdir();
    let data = out.path().join("data");
    let base = ["--candidate_n", "3", "--cxr_scale", "64", "--cxr_crop", "64"];
    // The base flags with some replaced or added.
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        let mut v = base.to_vec();
        for pair in extra.chunks(2) {
            match v.iter().position(|f| *f == pair[0]) {
                Some(i) => v[i + 1] = pair[1],
                None => v.extend(pair),
            }
        }
        v
    };
    let first = build(&mimic, &data, &base);
    assert_eq!(first.stages_run, ["cohort", "splits", "tensors"]);
    let cxr = data.join("train/cxr_train.safetensors");
    let bytes = fs::read(&cxr).unwrap();

    let second = build(&mimic, &data, &base);
    assert!(second.stages_run.is_empty(), "{second:?}");
    assert_eq!(second.stages_skipped, ["cohort", "splits", "tensors"]);

    // A changed recipe field redoes its stage and everything after it.
    let third = build(&mimic, &data, &with(&["--candidate_n", "4"]));
    assert_eq!(third.stages_skipped, ["cohort"]);
    assert_eq!(third.stages_run, ["splits", "tensors"]);
    let crop = build(&mimic, &data, &with(&["--candidate_n", "4", "--cxr_crop", "60"]));
    assert_eq!(
        (crop.stages_skipped, crop.stages_run),
        (vec!["cohort".to_string(), "splits".into()], vec!["tensors".to_string()])
    );
    let window = build(&mimic, &data, &with(&["--cxr-window-hours", "24,96"]));
    assert_eq!(window.stages_run, ["cohort", "splits", "tensors"]);
    let recorded = recipe::Requested::recorded(&data).unwrap().unwrap().recipe;
    assert_eq!(recorded.cohort.cxr_window_hours, recipe::Window::hours(24, 96));

    // A deleted output redoes its stage; force redoes everything.
    let back = build(&mimic, &data, &base);
    assert_eq!(back.stages_run, ["cohort", "splits", "tensors"]);
    fs::remove_file(&cxr).unwrap();
    let fourth = build(&mimic, &data, &base);
    assert_eq!(fourth.stages_run, ["tensors"]);
    assert_eq!(fs::read(&cxr).unwrap(), bytes, "same recipe, same bytes");
    let mut forced = base.to_vec();
    forced.push("--force");
    let fifth = build(&mimic, &data, &forced);
    assert_eq!(fifth.stages_run, ["cohort", "splits", "tensors"]);

    let rep = verify(&VerifyArgs::new(data.clone()), &NoProgress).unwrap();
    assert!(rep.ok(), "{}", rep.text());
}

/// `croissant.json` publishes a digest per file; a stage rerun alone after
/// the build rewrites files and `SHA256SUMS.txt` but not the card, which
/// `verify` then reports, file by file.
#[test]
fn a_croissant_card_left_stale_by_a_stage_rerun_is_reported() {
    let (_input, mimic) = small_input();
    let out = test_support::tempdir();
    let data = out.path().join("data");
    build(&mimic, &data, &["--candidate_n", "3", "--cxr_scale", "32", "--cxr_crop", "32"]);
    let rep = verify(&VerifyArgs::new(data.clone()), &NoProgress).unwrap();
    assert!(rep.ok(), "{}", rep.text());
    let card: Vec<&verify::Finding> = rep.findings().iter().filter(|f| f.check == verify::Check::Croissant).collect();
    assert!(card.len() == 1 && card[0].detail.contains("files it lists match SHA256SUMS.txt"), "{card:?}");

    // Stage 2 again with another seed: new split CSVs, a new SHA256SUMS.txt, the old card.
    let r = crate::common::run(crate::common::os_args(&[
        &"splits",
        &"--dataset_path",
        &data.join(dataset_layout::COHORT_CSV),
        &"--save_dir",
        &data,
        &"--candidate_n",
        &"3",
        &"--seed",
        &"5",
    ]));
    assert_eq!(r.code, Some(0), "{r:?}");
    let rep = verify(&VerifyArgs::new(data.clone()), &NoProgress).unwrap();
    let stale = rep.failed_of(verify::Check::Croissant);
    assert!(
        stale.iter().any(|f| f.detail.starts_with("croissant.json: train.csv has sha256 ")
            && f.detail.ends_with("(the card is stale: rebuild stage 3)")),
        "{}",
        rep.text()
    );
    assert!(rep.failed_of(verify::Check::Checksums).is_empty(), "the list itself is current: {}", rep.text());
}
