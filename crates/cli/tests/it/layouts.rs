//! `symile-mimic build --mimic-root` on the folder layouts MIMIC downloads
//! come in: versioned release folders below bare project folders, several
//! releases side by side, and the `physionet.org/files/` tree `wget -r`
//! leaves.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::common::{COHORT_DATA, ProcessDir, Run, by_column, cohort_args, process_dir, run, run_with_log, table};

const SCALE: &str = "48";

/// The synthetic input every test starts from (the default, unversioned layout).
fn synth_config() -> synth::SynthConfig {
    synth::SynthConfig { seed: 31, admissions: Some(150), ..synth::demo_config() }
}

/// The default layout and a build of it.
#[derive(Debug)]
struct Baseline {
    root: ProcessDir,
    input: PathBuf,
    out: PathBuf,
}

fn build(root: &Path, out: &Path, extra: &[&str]) -> Run {
    let mut args: Vec<String> =
        ["build", "--mimic-root", &root.display().to_string(), "--out"].into_iter().map(String::from).collect();
    args.push(out.display().to_string());
    for a in ["--cxr_scale", SCALE, "--cxr_crop", SCALE, "--candidate_n", "3"].iter().chain(extra) {
        args.push(a.to_string());
    }
    // The releases taken are logged at info level.
    run_with_log(args, Some("info"))
}

fn baseline() -> &'static Baseline {
    static B: OnceLock<Baseline> = OnceLock::new();
    B.get_or_init(|| {
        let root = process_dir!("layouts");
        let input = root.path().join("flat");
        synth::generate(&input, &synth_config()).unwrap();
        let out = root.path().join("flat-out");
        build(&input, &out, &[]).assert_success();
        Baseline { root, input, out }
    })
}

/// The same synthetic data as PhysioNet's current releases would be
/// downloaded (`physionet.org/files/...`, MIMIC-IV 3.1, MIMIC-CXR-JPG 2.1.0,
/// MIMIC-IV-ECG 1.0) with columns added and moved, and a build of it.
#[derive(Debug)]
struct Current {
    input: PathBuf,
    files: PathBuf,
    out: PathBuf,
    stderr: String,
}

fn current() -> &'static Current {
    static C: OnceLock<Current> = OnceLock::new();
    C.get_or_init(|| {
        let b = baseline();
        let input = b.root.path().join("wget");
        let cfg =
            synth::SynthConfig { physionet: Some(synth::Releases::current()), schema_drift: true, ..synth_config() };
        synth::generate(&input, &cfg).unwrap();
        let out = b.root.path().join("wget-out");
        let stderr = build(&input, &out, &[]).assert_success().stderr;
        Current { files: input.join("physionet.org/files"), input, out, stderr }
    })
}

/// A fresh directory next to the baseline.
fn scratch(name: &str) -> PathBuf {
    let p = baseline().root.path().join(name);
    std::fs::create_dir_all(&p).unwrap();
    p
}

fn link(target: &Path, at: &Path) {
    std::fs::create_dir_all(at.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, at).unwrap();
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// PhysioNet's layout without the host folders: `mimic-cxr-jpg/` and
/// `mimic-iv-ecg/` exist and hold only their release folders. `--mimic-root`
/// once took those bare parents and failed with
/// `cannot stat R/mimic-cxr-jpg/mimic-cxr-2.0.0-metadata.csv.gz`.
#[test]
fn versioned_folders_below_bare_parents_build() {
    let b = baseline();
    let r = scratch("versioned");
    link(&b.input.join("mimiciv/hosp"), &r.join("mimiciv/2.2/hosp"));
    link(&b.input.join("mimic-cxr-jpg"), &r.join("mimic-cxr-jpg/2.0.0"));
    link(&b.input.join("mimic-iv-ecg"), &r.join("mimic-iv-ecg/1.0"));
    let out = scratch("versioned-out");
    let res = build(&r, &out, &[]).assert_success();
    assert!(!res.stderr.contains("cannot stat"), "{}", res.stderr);
    for line in ["MIMIC-IV 2.2: ", "MIMIC-CXR-JPG 2.0.0: ", "MIMIC-IV-ECG 1.0: "] {
        assert!(res.stderr.contains(line), "the releases taken are not logged ({line:?}):\n{}", res.stderr);
    }
    // The same data in other folders: the same cohort, byte for byte.
    for f in COHORT_DATA {
        assert!(std::fs::read(out.join(f)).unwrap() == std::fs::read(b.out.join(f)).unwrap(), "{f} differs");
    }
    let want = serde_json::json!({"mimiciv": "2.2", "mimic-cxr-jpg": "2.0.0", "mimic-iv-ecg": "1.0"});
    assert_eq!(json(&out.join("cohort_report.json"))["versions"], want);
    assert_eq!(json(&out.join(".symile-build/cohort.json"))["key"]["versions"], want);
    // The unversioned layout records no release.
    assert!(json(&b.out.join("cohort_report.json")).get("versions").is_none());
}

#[test]
fn an_incomplete_input_names_the_flags_that_complete_it() {
    let r = run(["build", "--mimiciv-version", "3.1", "--mimiciv_hosp_dir", "x"]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(
        r.stderr.contains("no MIMIC input")
            && r.stderr.contains("--mimic-root DIR, or --mimiciv_hosp_dir, --cxr_data_dir and --ecg_data_dir"),
        "{}",
        r.stderr
    );
}

/// The column a drifted `admissions.csv.gz` adds reaches the cohort twice,
/// as the reference's merges name it (`_x` where admissions columns are,
/// `_y` before `ecg_adm`); the columns drift adds to `labevents` and the CXR
/// metadata are never read.
const ADDED: [&str; 2] = ["discharge_provider_id_x", "discharge_provider_id_y"];

/// `wget -r` of the current releases, with columns added and moved, builds
/// the same dataset as the default layout of the same synthetic data.
///
/// Compared: the cohort CSV column by column (every column of the default
/// build, same name, same cells in the same row order); its header, which
/// differs only by the added columns and by `hospital_expire_flag`, which the
/// drifted admissions file moves after `deathtime` (pandas keeps the file's
/// column order); the split CSVs the same way; `labs_means.json` and every
/// tensor byte for byte (those read columns by name, so drift cannot reach
/// them). Not compared: the cohort Parquet (it has the added columns too) and
/// the reports (they hold wall times).
#[test]
fn physionet_tree_of_current_releases_builds_the_same_dataset() {
    let (b, c) = (baseline(), current());
    for line in ["MIMIC-IV 3.1: ", "MIMIC-CXR-JPG 2.1.0: ", "MIMIC-IV-ECG 1.0: "] {
        assert!(c.stderr.contains(line), "{line:?} not logged:\n{}", c.stderr);
    }
    let want = serde_json::json!({"mimiciv": "3.1", "mimic-cxr-jpg": "2.1.0", "mimic-iv-ecg": "1.0"});
    assert_eq!(json(&c.out.join("cohort_report.json"))["versions"], want);

    let old = table::rows(&b.out.join(COHORT_DATA[0]));
    let new = table::rows(&c.out.join(COHORT_DATA[0]));
    assert!(old.len() > 20, "a cohort of {} rows proves little", old.len() - 1);
    let mut expected_header: Vec<&str> =
        old[0].iter().map(String::as_str).filter(|h| *h != "hospital_expire_flag").collect();
    let at = expected_header.iter().position(|h| *h == "deathtime").unwrap() + 1;
    expected_header.insert(at, "hospital_expire_flag");
    let kept: Vec<&str> = new[0].iter().map(String::as_str).filter(|h| !ADDED.contains(h)).collect();
    assert_eq!(kept, expected_header);
    assert_eq!(new[0].len(), old[0].len() + ADDED.len());
    let (old_cols, new_cols) = (by_column(&old), by_column(&new));
    for (name, cells) in &old_cols {
        assert_eq!(new_cols.get(name), Some(cells), "cohort column {name}");
    }
    assert!(new_cols["discharge_provider_id_x"] == new_cols["discharge_provider_id_y"]);

    for split in ["train.csv", "val.csv", "val_retrieval.csv", "test.csv"] {
        let (o, n) = (by_column(&table::rows(&b.out.join(split))), by_column(&table::rows(&c.out.join(split))));
        for (name, cells) in &o {
            assert_eq!(n.get(name), Some(cells), "{split}: column {name}");
        }
        let extra: Vec<&str> = n.keys().map(String::as_str).filter(|k| !o.contains_key(*k)).collect();
        assert_eq!(extra, ADDED, "{split}");
    }
    let same = |rel: &str| std::fs::read(b.out.join(rel)).unwrap() == std::fs::read(c.out.join(rel)).unwrap();
    assert!(same("labs_means.json"));
    let mut tensors = 0;
    for split in ["train", "val", "val_retrieval", "test"] {
        for e in std::fs::read_dir(b.out.join(split)).unwrap() {
            let rel = format!("{split}/{}", e.unwrap().file_name().to_string_lossy());
            assert!(same(&rel), "{rel} differs");
            tensors += 1;
        }
    }
    assert_eq!(tensors, 24);

    // The cohort stage on its own, given the three folders, reads the releases from their names.
    let save = scratch("wget-cohort");
    let inputs = crate::common::Inputs {
        hosp: c.files.join("mimiciv/3.1/hosp"),
        cxr: c.files.join("mimic-cxr-jpg/2.1.0"),
        ecg: c.files.join("mimic-iv-ecg/1.0"),
    };
    run(cohort_args(&inputs, &save)).assert_success();
    assert_eq!(json(&save.join("cohort_report.json"))["versions"], want);
    assert!(std::fs::read(save.join(COHORT_DATA[0])).unwrap() == std::fs::read(c.out.join(COHORT_DATA[0])).unwrap());
    // The root may also be physionet.org or physionet.org/files.
    for root in [c.input.join("physionet.org"), c.files.clone()] {
        let out = scratch(&format!("wget-root-{}", root.file_name().unwrap().to_string_lossy()));
        build(&root, &out, &[]).assert_success();
        assert!(std::fs::read(out.join(COHORT_DATA[0])).unwrap() == std::fs::read(c.out.join(COHORT_DATA[0])).unwrap());
    }
}

/// Several releases side by side: the published ones unless others are chosen.
#[test]
fn several_releases_take_the_published_ones_unless_told() {
    let (b, c) = (baseline(), current());
    let r = scratch("side-by-side");
    link(&b.input.join("mimiciv/hosp"), &r.join("mimiciv/2.2/hosp"));
    link(&c.files.join("mimiciv/3.1/hosp"), &r.join("mimiciv/3.1/hosp"));
    link(&b.input.join("mimic-cxr-jpg"), &r.join("mimic-cxr-jpg/2.0.0"));
    link(&c.files.join("mimic-cxr-jpg/2.1.0"), &r.join("mimic-cxr-jpg/2.1.0"));
    link(&b.input.join("mimic-iv-ecg"), &r.join("mimic-iv-ecg/1.0"));

    let out = scratch("side-by-side-published");
    let res = build(&r, &out, &[]).assert_success();
    for needle in ["MIMIC-IV: took 2.2", "over 3.1", "MIMIC-CXR-JPG: took 2.0.0", "over 2.1.0"] {
        assert!(res.stderr.contains(needle), "{needle:?} not logged:\n{}", res.stderr);
    }
    assert!(std::fs::read(out.join(COHORT_DATA[0])).unwrap() == std::fs::read(b.out.join(COHORT_DATA[0])).unwrap());

    let out = scratch("side-by-side-chosen");
    build(&r, &out, &["--mimiciv-version", "3.1", "--cxr-version", "2.1.0"]).assert_success();
    assert!(std::fs::read(out.join(COHORT_DATA[0])).unwrap() == std::fs::read(c.out.join(COHORT_DATA[0])).unwrap());
    let want = serde_json::json!({"mimiciv": "3.1", "mimic-cxr-jpg": "2.1.0", "mimic-iv-ecg": "1.0"});
    assert_eq!(json(&out.join("cohort_report.json"))["versions"], want);

    // Two releases, neither the published one, and no choice: refused, naming both.
    let r = scratch("unpublished-pair");
    link(&b.input.join("mimiciv/hosp"), &r.join("mimiciv/3.0/hosp"));
    link(&c.files.join("mimiciv/3.1/hosp"), &r.join("mimiciv/3.1/hosp"));
    link(&b.input.join("mimic-cxr-jpg"), &r.join("mimic-cxr-jpg/2.0.0"));
    link(&b.input.join("mimic-iv-ecg"), &r.join("mimic-iv-ecg/1.0"));
    let out = r.join("never-written");
    let res = build(&r, &out, &[]);
    assert_eq!(res.code, Some(2), "{res:?}");
    for needle in [
        "found mimic-cxr-jpg/2.0.0 and mimic-iv-ecg/1.0 under",
        "several MIMIC-IV releases and none is the published 2.2: 3.0 (mimiciv/3.0/hosp), 3.1 (mimiciv/3.1/hosp)",
        "choose one with --mimiciv-version",
    ] {
        assert!(res.stderr.contains(needle), "{needle:?} not in:\n{}", res.stderr);
    }
    assert!(!out.exists());
}
