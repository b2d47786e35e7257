//! What the tests of the real `symile-mimic` binary share: running it,
//! the arguments of each stage, a synthetic MIMIC input with a reference run
//! of the stages on it (generated once per fixture, for the tests that use
//! it), clean-failure checks, "overlay" trees that replace one input file
//! while symlinking everything else, and JPEG mutators. The generic helpers
//! (snapshots, trees, gzip, CSV rows, process-lifetime dirs) come from
//! `test-support` and are re-exported here, so that a module's
//! `use crate::common::*` brings everything.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mimic_io::layout;
pub use test_support::gz::{gunzip, gzip};
pub use test_support::table::{self, by_column, col};
pub use test_support::tree::{Entry, read_tree, snapshot, temp_files};
pub use test_support::{ProcessDir, process_dir};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_symile-mimic");

/// Cohort outputs compared byte for byte (the report holds a wall time).
pub const COHORT_DATA: [&str; 2] = ["symile_mimic_data.csv", "symile_mimic_data.parquet"];

/// The split CSVs and `labs_means.json` (the inputs of `tensors`).
pub const SPLIT_INPUTS: [&str; 5] = ["train.csv", "val.csv", "val_retrieval.csv", "test.csv", "labs_means.json"];

/// Image side used by the `tensors` runs of the tests (small: fast).
pub const SCALE: &str = "48";

/// What one run of the binary did.
#[derive(Debug, Clone)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from_output(o: Output) -> Self {
        Self {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// Asserts that the run succeeded (exit status 0), panicking with its
    /// whole output otherwise; returns the run for its output.
    #[track_caller]
    pub fn assert_success(self) -> Self {
        assert_eq!(self.code, Some(0), "run failed\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }
}

/// Runs `symile-mimic --quiet <args>` and waits for it.
pub fn run<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_with_log(args, None)
}

/// [`run`], with the log level `SYMILE_MIMIC_LOG` set to `level` (it wins
/// over `--quiet`: no progress bars, but the log lines on stderr).
pub fn run_with_log<I, S>(args: I, level: Option<&str>) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(BIN);
    cmd.arg("--quiet").args(args).env_remove("SYMILE_MIMIC_LOG").env("RUST_BACKTRACE", "1");
    if let Some(level) = level {
        cmd.env("SYMILE_MIMIC_LOG", level);
    }
    Run::from_output(cmd.output().expect("cannot start symile-mimic"))
}

/// A command line of mixed strings and paths.
pub fn os_args(list: &[&dyn AsRef<OsStr>]) -> Vec<OsString> {
    list.iter().map(|a| a.as_ref().to_os_string()).collect()
}

/// Paths of the inputs of the three stages.
#[derive(Debug, Clone)]
pub struct Inputs {
    pub hosp: PathBuf,
    pub cxr: PathBuf,
    pub ecg: PathBuf,
}

/// `cohort` arguments.
pub fn cohort_args(i: &Inputs, save: &Path) -> Vec<PathBuf> {
    vec![
        "cohort".into(),
        "--mimiciv_hosp_dir".into(),
        i.hosp.clone(),
        "--cxr_data_dir".into(),
        i.cxr.clone(),
        "--ecg_data_dir".into(),
        i.ecg.clone(),
        "--save_dir".into(),
        save.to_path_buf(),
    ]
}

/// Split sizes that fit a cohort of `rows` rows.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub train_n: usize,
    pub val_n: usize,
    pub candidate_n: usize,
}

impl Sizes {
    pub fn for_rows(rows: usize) -> Self {
        Self { train_n: rows * 3 / 5, val_n: (rows / 10).max(2), candidate_n: 3 }
    }
}

/// `splits` arguments.
pub fn splits_args(dataset: &Path, save: &Path, s: Sizes) -> Vec<PathBuf> {
    vec![
        "splits".into(),
        "--dataset_path".into(),
        dataset.to_path_buf(),
        "--save_dir".into(),
        save.to_path_buf(),
        "--train_n".into(),
        s.train_n.to_string().into(),
        "--val_n".into(),
        s.val_n.to_string().into(),
        "--candidate_n".into(),
        s.candidate_n.to_string().into(),
        "--seed".into(),
        "7".into(),
    ]
}

/// `tensors` arguments (small images so that the tests stay fast).
pub fn tensors_args(data_dir: &Path, i: &Inputs) -> Vec<PathBuf> {
    tensors_args_at(data_dir, i, SCALE)
}

/// `tensors` arguments with `--cxr_scale` and `--cxr_crop` set to `scale`.
pub fn tensors_args_at(data_dir: &Path, i: &Inputs, scale: &str) -> Vec<PathBuf> {
    vec![
        "tensors".into(),
        "--data_dir".into(),
        data_dir.to_path_buf(),
        "--ecg_data_dir".into(),
        i.ecg.clone(),
        "--cxr_data_dir".into(),
        i.cxr.clone(),
        "--cxr_scale".into(),
        scale.into(),
        "--cxr_crop".into(),
        scale.into(),
    ]
}

/// A synthetic input and the outputs of an uninterrupted, unmodified run.
#[derive(Debug)]
pub struct Fixture {
    /// Holds everything below; removed by the next test process after this one ends.
    pub root: ProcessDir,
    pub inputs: Inputs,
    /// `cohort` output dir of the reference run.
    pub cohort_dir: PathBuf,
    /// Rows of the reference cohort.
    pub cohort_rows: usize,
    pub sizes: Sizes,
    /// `splits` output dir of the reference run (also its `tensors` data_dir).
    pub data_dir: PathBuf,
    /// `--cxr_scale`/`--cxr_crop` of the reference `tensors` run.
    pub scale: &'static str,
}

impl Fixture {
    /// Generates `admissions` synthetic admissions and runs cohort, splits
    /// and tensors (images scaled to `scale`) on them.
    pub fn new(admissions: usize, scale: &'static str) -> Self {
        let root = process_dir!("fixture");
        let input = root.path().join("input");
        let cfg = synth::SynthConfig { admissions: Some(admissions), ..synth::demo_config() };
        synth::generate(&input, &cfg).expect("synth::generate");
        let inputs = Inputs {
            hosp: input.join("mimiciv").join("hosp"),
            cxr: input.join("mimic-cxr-jpg"),
            ecg: input.join("mimic-iv-ecg"),
        };
        let cohort_dir = root.path().join("cohort");
        run(cohort_args(&inputs, &cohort_dir)).assert_success();
        let cohort_rows = table::rows(&cohort_dir.join(COHORT_DATA[0])).len();
        let sizes = Sizes::for_rows(cohort_rows);
        let data_dir = root.path().join("data");
        run(splits_args(&cohort_dir.join(COHORT_DATA[0]), &data_dir, sizes)).assert_success();
        run(tensors_args_at(&data_dir, &inputs, scale)).assert_success();
        Self { root, inputs, cohort_dir, cohort_rows, sizes, data_dir, scale }
    }

    /// A fresh directory under the fixture root.
    pub fn scratch(&self, name: &str) -> PathBuf {
        let p = self.root.path().join("scratch").join(name);
        assert!(!p.exists(), "scratch dir {name} used twice");
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    /// The cohort CSV of the reference run.
    pub fn cohort_csv(&self) -> PathBuf {
        self.cohort_dir.join(COHORT_DATA[0])
    }

    /// `tensors` arguments at the fixture's scale.
    pub fn tensors_args(&self, data_dir: &Path, i: &Inputs) -> Vec<PathBuf> {
        tensors_args_at(data_dir, i, self.scale)
    }

    /// A copy of the split CSVs and `labs_means.json` in a new data dir.
    pub fn copy_split_inputs(&self, name: &str) -> PathBuf {
        let d = self.scratch(name);
        // The split stage's files as it leaves them (the card lists them).
        for f in SPLIT_INPUTS.iter().chain(&[recipe::RECIPE_FILE, dataset_layout::SPLITS_REPORT]) {
            std::fs::copy(self.data_dir.join(f), d.join(f)).unwrap();
        }
        d
    }
}

// ---------------------------------------------------------------- results

/// Asserts that a run failed cleanly: exit status 2, an `error:` line, no
/// panic or backtrace, every `needles` string in stderr, and `dir` exactly
/// as `before`.
pub fn assert_clean_failure(r: &Run, needles: &[&str], dir: &Path, before: &BTreeMap<PathBuf, Entry>) {
    let ctx = format!("exit {:?}\nstdout:\n{}\nstderr:\n{}", r.code, r.stdout, r.stderr);
    assert_eq!(r.code, Some(2), "expected exit status 2\n{ctx}");
    assert!(!r.stderr.contains("panicked"), "the binary panicked\n{ctx}");
    assert!(!r.stderr.contains("stack backtrace"), "a backtrace was printed\n{ctx}");
    assert!(r.stderr.contains("error: "), "no `error:` line\n{ctx}");
    for n in needles {
        assert!(r.stderr.contains(n), "stderr does not mention {n:?}\n{ctx}");
    }
    eprintln!("--- {}\n{}", dir.display(), r.stderr.trim_end());
    let after = snapshot(dir);
    assert_eq!(&after, before, "the output dir {} changed\n{ctx}", dir.display());
}

/// The dataset a build wrote: every file but the build's own bookkeeping
/// (`.symile-build/` records input paths and modification times, which
/// differ between two output directories).
pub fn dataset(out: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    read_tree(out).into_iter().filter(|(p, _)| !p.starts_with(dataset_layout::BUILD_DIR)).collect()
}

/// Asserts that the builds in `a` and `b` wrote the same files with the
/// same bytes, and that `a` is a whole dataset (more than 30 files).
#[track_caller]
pub fn assert_same_dataset(a: &Path, b: &Path) {
    let (a, b) = (dataset(a), dataset(b));
    assert!(a.len() > 30, "too few outputs: {:?}", a.keys());
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (k, v) in &a {
        assert!(v == &b[k], "{} differs", k.display());
    }
}

// ---------------------------------------------------------------- overlays

/// Makes `new` a copy of the tree `orig` in which every entry is a symlink
/// to the original except the directories leading to `rel`; `rel` itself is
/// left absent. Returns `new/rel`, for the caller to write (or to leave
/// missing). Cheap: only the directories on the way to `rel` are created.
pub fn overlay(orig: &Path, new: &Path, rel: &str) -> PathBuf {
    let rel = Path::new(rel);
    let comps: Vec<_> = rel.components().collect();
    let (mut o, mut n) = (orig.to_path_buf(), new.to_path_buf());
    for (k, c) in comps.iter().enumerate() {
        std::fs::create_dir_all(&n).unwrap();
        let c = c.as_os_str();
        for e in std::fs::read_dir(&o).unwrap() {
            let e = e.unwrap();
            if e.file_name() != c {
                std::os::unix::fs::symlink(e.path(), n.join(e.file_name())).unwrap();
            }
        }
        o.push(c);
        n.push(c);
        if k + 1 == comps.len() {
            return n;
        }
    }
    panic!("empty relative path");
}

// ---------------------------------------------------------------- file helpers

/// The hosp table file names (and where each lives).
pub fn cohort_tables() -> [(InputDir, &'static str); 6] {
    [
        (InputDir::Hosp, layout::PATIENTS),
        (InputDir::Hosp, layout::ADMISSIONS),
        (InputDir::Hosp, layout::LABEVENTS),
        (InputDir::Cxr, layout::CXR_METADATA),
        (InputDir::Cxr, layout::CXR_CHEXPERT),
        (InputDir::Ecg, layout::ECG_RECORD_LIST),
    ]
}

/// One of the three input directories of [`Inputs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputDir {
    /// MIMIC-IV `hosp`.
    Hosp,
    /// MIMIC-CXR-JPG.
    Cxr,
    /// MIMIC-IV-ECG.
    Ecg,
}

impl InputDir {
    /// The directory in `i`.
    pub fn of(self, i: &Inputs) -> &Path {
        match self {
            InputDir::Hosp => &i.hosp,
            InputDir::Cxr => &i.cxr,
            InputDir::Ecg => &i.ecg,
        }
    }

    /// Makes `dir` this input directory of `i`.
    pub fn set(self, i: &mut Inputs, dir: PathBuf) {
        match self {
            InputDir::Hosp => i.hosp = dir,
            InputDir::Cxr => i.cxr = dir,
            InputDir::Ecg => i.ecg = dir,
        }
    }
}

/// Rewrites the height and width of the first SOF0/SOF1/SOF2 marker of a JPEG.
pub fn set_jpeg_dimensions(jpeg: &mut [u8], height: u16, width: u16) {
    let mut i = 2;
    while i + 9 < jpeg.len() {
        assert_eq!(jpeg[i], 0xFF, "not at a JPEG marker at byte {i}");
        let marker = jpeg[i + 1];
        let len = usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
        if matches!(marker, 0xC0..=0xC2) {
            jpeg[i + 5..i + 7].copy_from_slice(&height.to_be_bytes());
            jpeg[i + 7..i + 9].copy_from_slice(&width.to_be_bytes());
            return;
        }
        i += 2 + len;
    }
    panic!("no SOF marker found");
}
