//! `symile-mimic build --mimic-root` on the folder layouts MIMIC downloads
//! come in: versioned release folders below bare project folders, several
//! releases side by side, and the `physionet.org/files/` tree `wget -r`
//! leaves.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::{COHORT_DATA, Run, run};

const SCALE: &str = "48";

/// The synthetic input every test starts from (the default, unversioned layout).
fn synth_config() -> synth::SynthConfig {
    synth::SynthConfig { seed: 31, admissions: Some(150), ..synth::demo_config() }
}

/// The default layout and a build of it.
#[derive(Debug)]
struct Baseline {
    root: tempfile::TempDir,
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
    run(args)
}

fn baseline() -> &'static Baseline {
    static B: OnceLock<Baseline> = OnceLock::new();
    B.get_or_init(|| {
        let root = tempfile::tempdir().unwrap();
        let input = root.path().join("flat");
        synth::generate(&input, &synth_config()).unwrap();
        let out = root.path().join("flat-out");
        build(&input, &out, &[]).ok();
        Baseline { root, input, out }
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
    let res = build(&r, &out, &[]).ok();
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
    assert_eq!(json(&out.join(".symile-build/cohort.json"))["flags"]["versions"], want);
    // The unversioned layout records no release.
    assert!(json(&b.out.join("cohort_report.json")).get("versions").is_none());
}

#[test]
fn version_flags_need_a_root() {
    let r = run(["build", "--mimiciv-version", "3.1", "--mimiciv_hosp_dir", "x"]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(r.stderr.contains("--mimic-root"), "{}", r.stderr);
}
