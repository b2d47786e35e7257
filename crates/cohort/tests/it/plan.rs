//! The download plan on hand-made inputs: which files it takes (and which
//! not), that stage 1 on a download holding only those files writes the
//! same bytes as on the complete one, and what `--plan` refuses.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::common::scenario::*;
use crate::common::{Fixture, Sig};
use cohort::plan::{self, PlanConfig};
use cohort::{COHORT_CSV, COHORT_PARQUET, COHORT_REPORT, CohortConfig, CohortError, run};
use mimic_io::discover::{Project, Releases};
use progress::NoProgress;

fn plan_cfg(f: &Fixture, out: &Path, minimal: bool) -> PlanConfig {
    PlanConfig {
        hosp_dir: f.hosp(),
        cxr_dir: f.cxr_dir(),
        ecg_dir: f.ecg_dir(),
        cxr_tables: None,
        versions: None,
        out_dir: out.to_path_buf(),
        minimal,
        rules: recipe::CohortRecipe::default(),
    }
}

fn cohort_cfg(f: &Fixture, save: &Path, plan: Option<&Path>) -> CohortConfig {
    CohortConfig {
        hosp_dir: f.hosp(),
        cxr_dir: f.cxr_dir(),
        ecg_dir: f.ecg_dir(),
        save_dir: save.to_path_buf(),
        recipe: recipe::Recipe::default(),
        checksums: durable::Checksums::Update,
        cxr_tables: None,
        versions: None,
        plan: plan.map(Path::to_path_buf),
    }
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap().lines().map(String::from).collect()
}

/// Files under `dir/files/`, relative to `dir`.
fn files_under(dir: &Path) -> BTreeSet<String> {
    let files = dir.join("files");
    if !files.is_dir() {
        return BTreeSet::new();
    }
    test_support::tree::files(&files).into_iter().map(|p| format!("files/{}", p.display())).collect()
}

/// Deletes every image and ECG file the plan in `plan_dir` does not list; returns how many.
fn keep_only_planned(f: &Fixture, plan_dir: &Path) -> usize {
    let mut n = 0;
    for (dir, list) in [(f.cxr_dir(), plan::CXR_LIST), (f.ecg_dir(), plan::ECG_LIST)] {
        let keep: BTreeSet<String> = lines(&plan_dir.join(list)).into_iter().collect();
        for rel in files_under(&dir) {
            if !keep.contains(&rel) {
                std::fs::remove_file(dir.join(&rel)).unwrap();
                n += 1;
            }
        }
    }
    n
}

/// The cohort's three outputs.
fn outputs(save: &Path) -> BTreeMap<&'static str, Vec<u8>> {
    [COHORT_CSV, COHORT_PARQUET, COHORT_REPORT].into_iter().map(|n| (n, std::fs::read(save.join(n)).unwrap())).collect()
}

fn ecg_files(records: &[i64], subject: i64) -> Vec<String> {
    let s = subject.to_string();
    let mut v: Vec<String> =
        records.iter().flat_map(|r| ["hea", "dat"].map(|e| format!("files/p{}/p{s}/s{r}/{r}.{e}", &s[..4]))).collect();
    v.sort();
    v
}

#[test]
fn the_plan_takes_every_file_stage_1_can_look_at_and_no_other() {
    let f = scenario();
    f.write();
    let out = f.root.path().join("plan");
    let rep = plan::make_plan(&plan_cfg(&f, &out, false), &NoProgress).unwrap();
    // A5 has no image listed, A6 no top-50 lab: five admissions can reach the cohort.
    assert_eq!(rep.admissions.read, 7);
    assert_eq!(rep.admissions.planned, 5);
    let jpg = |s: i64, st: i64, d: &str| mimic_io::layout::cxr_rel_path(s, st, d);
    let mut want = vec![
        // A1 and A1b: every in-window AP/PA image, the missing one and the one without labels included.
        jpg(S1, 50000003, "d-missing"),
        jpg(S1, 50000004, "d-tie-first"),
        jpg(S1, 50000005, "d-tie-second"),
        jpg(S1, 50000006, "d-72"),
        // A2: the image without labels comes first, so both.
        jpg(S2, 50000010, "d2-nochex"),
        jpg(S2, 50000011, "d2-later"),
        jpg(S3, 50000020, "d3-72"),
        jpg(S4, 50000030, "d4"),
    ];
    want.sort();
    assert_eq!(lines(&out.join(plan::CXR_LIST)), want);
    // Not: exactly +24 h, the lateral, +72 h + 1 s, and A6's image (A6 has no lab).
    let mut want = ecg_files(&[40000002, 40000003, 40000004, 40000005], S1);
    want.extend(ecg_files(&[40000010], S2));
    want.extend(ecg_files(&[40000030], S3));
    want.extend(ecg_files(&[40000040], S4));
    want.sort();
    assert_eq!(lines(&out.join(plan::ECG_LIST)), want);
    assert_eq!((rep.cxr.listed, rep.cxr.planned), (12, 8));
    assert_eq!((rep.ecg.listed, rep.ecg.planned, rep.ecg.files), (11, 7, 14));
    // The unversioned folders name no release: the published ones are assumed, and said so.
    assert_eq!(rep.versions_assumed.len(), 3);
    assert_eq!(rep.version(mimic_io::discover::Project::CxrJpg), "2.0.0");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join(plan::PLAN_JSON)).unwrap()).unwrap();
    assert_eq!(json["cxr"]["planned"], 8);
    assert_eq!(json["tables"][2]["path"], "hosp/labevents.csv.gz");
    // Every file of the plan directory is in its SHA256SUMS.txt, and the script is executable.
    let sums = std::fs::read_to_string(out.join("SHA256SUMS.txt")).unwrap();
    for name in [plan::CXR_LIST, plan::ECG_LIST, plan::DOWNLOAD_SH, plan::PLAN_JSON] {
        assert!(sums.contains(&format!("  {name}\n")), "{name} not in SHA256SUMS.txt");
    }
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(out.join(plan::DOWNLOAD_SH)).unwrap().permissions().mode() & 0o111, 0o111);
}

#[test]
fn stage_1_on_the_planned_files_writes_the_same_bytes() {
    let f = scenario();
    f.write();
    let full = f.root.path().join("full");
    let complete = run(&cohort_cfg(&f, &full, None), &NoProgress).unwrap();
    assert_eq!(complete.cxr_candidates_absent, 1, "d-missing is listed but not in the archive");
    let out = f.root.path().join("plan");
    plan::make_plan(&plan_cfg(&f, &out, false), &NoProgress).unwrap();
    let deleted = keep_only_planned(&f, &out);
    assert_eq!(deleted, 4 + 3 * 2, "d-exact24, d-lateral, d3-72p, d6 and three records");
    let part = f.root.path().join("part");
    let partial = run(&cohort_cfg(&f, &part, None), &NoProgress).unwrap();
    assert_eq!(outputs(&full), outputs(&part));
    assert_eq!(partial.absent_files_warning(), complete.absent_files_warning());
    assert!(complete.absent_files_warning().unwrap().contains("symile-mimic plan"));

    // With the plan: the same bytes; the absent image is not explained until
    // the download records it, then the warning goes.
    let with_plan = f.root.path().join("with-plan");
    let r = run(&cohort_cfg(&f, &with_plan, Some(&out)), &NoProgress).unwrap_err();
    assert!(matches!(r, CohortError::PlannedFilesMissing { count: 1, .. }), "{r}");
    assert!(r.to_string().contains("d-missing.jpg") && r.to_string().contains("download.sh"), "{r}");
    assert!(!with_plan.exists(), "nothing is written when planned files are missing");
    let key = format!("mimic-cxr-jpg/2.0.0/{}", mimic_io::layout::cxr_rel_path(S1, 50000003, "d-missing"));
    std::fs::write(out.join(plan::ABSENT), format!("{key}\n")).unwrap();
    let planned = run(&cohort_cfg(&f, &with_plan, Some(&out)), &NoProgress).unwrap();
    assert_eq!(outputs(&full), outputs(&with_plan));
    assert_eq!(planned.absent_explained_by_plan, 1);
    assert_eq!(planned.absent_files_warning(), None);
}

#[test]
fn a_planned_file_not_downloaded_is_an_error_naming_it() {
    let f = scenario();
    f.write();
    let out = f.root.path().join("plan");
    plan::make_plan(&plan_cfg(&f, &out, false), &NoProgress).unwrap();
    let key = format!("mimic-cxr-jpg/2.0.0/{}", mimic_io::layout::cxr_rel_path(S1, 50000003, "d-missing"));
    std::fs::write(out.join(plan::ABSENT), format!("{key}\n")).unwrap();
    let rel = "files/p1000/p10000002/s40000010/40000010.dat";
    std::fs::write(f.ecg_dir().join(rel), b"").unwrap();
    std::fs::remove_file(f.cxr_dir().join(mimic_io::layout::cxr_rel_path(S4, 50000030, "d4"))).unwrap();
    let save = f.root.path().join("save");
    let e = run(&cohort_cfg(&f, &save, Some(&out)), &NoProgress).unwrap_err().to_string();
    assert!(e.starts_with("2 file(s) of the download plan"), "{e}");
    assert!(e.contains("d4.jpg") && e.contains("40000010.dat"), "{e}");
    assert!(!save.exists());
}

#[test]
fn a_plan_for_other_releases_or_tables_is_refused_with_its_line() {
    let f = scenario();
    f.write();
    let out = f.root.path().join("plan");
    plan::make_plan(&plan_cfg(&f, &out, false), &NoProgress).unwrap();
    let save = f.root.path().join("save");
    let versions: Releases = [(Project::CxrJpg, "2.1.0")].into_iter().collect();
    let cfg = CohortConfig { versions: Some(versions), ..cohort_cfg(&f, &save, Some(&out)) };
    let e = run(&cfg, &NoProgress).unwrap_err().to_string();
    let json = std::fs::read_to_string(out.join(plan::PLAN_JSON)).unwrap();
    let line = json.lines().position(|l| l.contains("\"mimic-cxr-jpg\": \"2.0.0\"")).unwrap() + 1;
    assert!(
        e.contains(&format!("plan.json:{line}: the plan is for MIMIC-CXR-JPG 2.0.0, the download has 2.1.0")),
        "{e}"
    );

    // Another labevents (one more row): the plan may not hold the files it needs.
    let mut f2 = scenario();
    f2.lab(S6, "", 51221, T, "5");
    f2.write();
    std::fs::copy(f2.hosp().join("labevents.csv.gz"), f.hosp().join("labevents.csv.gz")).unwrap();
    let e = run(&cohort_cfg(&f, &save, Some(&out)), &NoProgress).unwrap_err().to_string();
    assert!(e.contains("plan.json:") && e.contains("hosp/labevents.csv.gz") && e.contains("plan again"), "{e}");
    assert!(!save.exists());

    let e = run(&cohort_cfg(&f, &save, Some(&f.root.path().join("nowhere"))), &NoProgress).unwrap_err().to_string();
    assert!(e.contains("nowhere/plan.json") && e.contains("symile-mimic plan --out"), "{e}");
    std::fs::write(out.join(plan::CXR_LIST), "files/p10/ok.jpg\n../../etc/passwd\n").unwrap();
    let e = run(&cohort_cfg(&f, &save, Some(&out)), &NoProgress).unwrap_err().to_string();
    assert!(e.contains("mimic-cxr-jpg.txt:2: expected a path files/"), "{e}");
}

#[test]
fn a_minimal_plan_takes_the_first_image_and_passes_over_absent_ones() {
    let f = scenario();
    f.write();
    let full = f.root.path().join("full");
    run(&cohort_cfg(&f, &full, None), &NoProgress).unwrap();
    let out = f.root.path().join("plan");
    let rep = plan::make_plan(&plan_cfg(&f, &out, true), &NoProgress).unwrap();
    assert!(rep.minimal && rep.assumes_complete_archive);
    assert!(rep.summary().contains("assumes the archive is complete"), "{}", rep.summary());
    let jpg = |s: i64, st: i64, d: &str| mimic_io::layout::cxr_rel_path(s, st, d);
    let mut want = vec![
        jpg(S1, 50000003, "d-missing"),
        jpg(S2, 50000010, "d2-nochex"),
        jpg(S3, 50000020, "d3-72"),
        jpg(S4, 50000030, "d4"),
    ];
    want.sort();
    assert_eq!(lines(&out.join(plan::CXR_LIST)), want);
    // d-missing (A1, A1b) and d2-nochex (A2) have no labels: those admissions never reach the ECG check.
    let mut want = ecg_files(&[40000030], S3);
    want.extend(ecg_files(&[40000040], S4));
    want.sort();
    assert_eq!(lines(&out.join(plan::ECG_LIST)), want);

    // The archive lacks d-missing: the chosen image of A1 and A1b turned out absent.
    let key = format!("mimic-cxr-jpg/2.0.0/{}", jpg(S1, 50000003, "d-missing"));
    std::fs::write(out.join(plan::ABSENT), format!("{key}\n")).unwrap();
    let save = f.root.path().join("save");
    let e = run(&cohort_cfg(&f, &save, Some(&out)), &NoProgress).unwrap_err();
    assert!(matches!(e, CohortError::MinimalPlanFallback { count: 2, .. }), "{e}");
    assert!(e.to_string().contains("hadm_id 20000001") && e.to_string().contains("--minimal"), "{e}");

    // Planned again, it takes the next image, and the download then builds the complete cohort.
    let rep = plan::make_plan(&plan_cfg(&f, &out, true), &NoProgress).unwrap();
    assert_eq!(rep.skipped_as_absent, 2);
    assert!(lines(&out.join(plan::CXR_LIST)).contains(&jpg(S1, 50000004, "d-tie-first")));
    keep_only_planned(&f, &out);
    run(&cohort_cfg(&f, &save, Some(&out)), &NoProgress).unwrap();
    assert_eq!(outputs(&full), outputs(&save));
}

/// When every admission read has an ECG in its window, pandas types
/// `ecg_adm` by whether *any* admission lacks a valid one, so stage 1 opens
/// the records of admissions that cannot reach the cohort: the plan takes them.
#[test]
fn when_every_admission_has_an_ecg_the_plan_takes_every_admissions_records() {
    let mut f = minimal();
    f.admission(S3, 20000005, "2150-03-01 00:00:00", ""); // no CXR: cannot reach the cohort
    f.ecg(S3, 40000031, "2150-03-01 00:00:00", Sig::Valid);
    f.write();
    let full = f.root.path().join("full");
    let complete = run(&cohort_cfg(&f, &full, None), &NoProgress).unwrap();
    assert!(!complete.ecg_adm_float);
    let out = f.root.path().join("plan");
    let rep = plan::make_plan(&plan_cfg(&f, &out, false), &NoProgress).unwrap();
    assert_eq!(rep.admissions.planned, 1);
    assert_eq!(lines(&out.join(plan::ECG_LIST)), ecg_files(&[40000030, 40000031], S3));
    assert!(rep.rules.ecg.contains("every admission"), "{}", rep.rules.ecg);
    keep_only_planned(&f, &out);
    let save = f.root.path().join("save");
    run(&cohort_cfg(&f, &save, Some(&out)), &NoProgress).unwrap();
    assert_eq!(outputs(&full), outputs(&save));
}

#[test]
fn the_plan_needs_the_tables_only() {
    let f = scenario();
    f.write();
    for dir in [f.cxr_dir(), f.ecg_dir()] {
        std::fs::remove_dir_all(dir.join("files")).unwrap();
    }
    let out = f.root.path().join("plan");
    let rep = plan::make_plan(&plan_cfg(&f, &out, false), &NoProgress).unwrap();
    assert_eq!(rep.cxr.planned, 8);
    std::fs::remove_file(f.hosp().join("labevents.csv.gz")).unwrap();
    let e = plan::make_plan(&plan_cfg(&f, &out, false), &NoProgress).unwrap_err();
    assert!(matches!(e, CohortError::MissingInput { dir: "MIMIC-IV hosp", .. }), "{e}");
    assert!(e.to_string().contains("labevents.csv.gz"), "{e}");
}
