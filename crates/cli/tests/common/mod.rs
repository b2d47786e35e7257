//! Shared helpers of the integration tests that run the real `symile-mimic`
//! binary: a synthetic MIMIC input generated once per test binary, a
//! reference run of the stages on it, directory snapshots (to prove a failed
//! run changed nothing), "overlay" trees that replace one input file while
//! symlinking everything else, and gzip/CSV/JPEG/WFDB mutators.
//!
//! Each test binary compiles this module separately and uses only part of
//! it, hence the `dead_code` allowance.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::hash::{DefaultHasher, Hasher};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use durable::TEMP_PREFIX;
use mimic_io::layout;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_symile-mimic");

/// Cohort outputs compared byte for byte (the report holds a wall time).
pub const COHORT_DATA: [&str; 2] = ["symile_mimic_data.csv", "symile_mimic_data.parquet"];

/// The split CSVs and `labs_means.json` (the inputs of `tensors`).
pub const SPLIT_INPUTS: [&str; 5] = ["train.csv", "val.csv", "val_retrieval.csv", "test.csv", "labs_means.json"];

/// Image side used by the `tensors` runs of the tests (small: fast).
pub const SCALE: &str = "48";

/// What one run of the binary did.
#[derive(Debug)]
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

    /// Panics with the whole output unless the run succeeded.
    pub fn ok(self) -> Self {
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

/// A directory that lives as long as this test process, for fixtures held
/// in statics. A static is never dropped, so a `TempDir` in one would be
/// left behind by every run (gigabytes under /tmp); these live under the
/// target dir instead, named after the process, and each new process
/// removes those whose process has ended.
#[derive(Debug)]
pub struct ProcessDir(PathBuf);

impl ProcessDir {
    /// A fresh `<target tmp>/test-fixtures/<pid>-<name>-<n>`.
    pub fn new(name: &str) -> Self {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("test-fixtures");
        std::fs::create_dir_all(&base).expect("target tmp dir");
        for e in std::fs::read_dir(&base).expect("target tmp dir").flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let pid = name.split('-').next().unwrap_or_default();
            if !pid.is_empty() && !Path::new("/proc").join(pid).exists() {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = base.join(format!("{}-{name}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("fixture dir");
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

/// A synthetic input and the outputs of an uninterrupted, unmodified run.
#[derive(Debug)]
pub struct Fixture {
    /// Holds everything below; removed by the next test process after this one ends.
    pub root: ProcessDir,
    pub inputs: Inputs,
    pub manifest: synth::Manifest,
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
        let root = ProcessDir::new("fixture");
        let input = root.path().join("input");
        let cfg = synth::SynthConfig { admissions: Some(admissions), ..synth::demo_config() };
        let manifest = synth::generate(&input, &cfg).expect("synth::generate");
        let inputs = Inputs {
            hosp: input.join("mimiciv").join("hosp"),
            cxr: input.join("mimic-cxr-jpg"),
            ecg: input.join("mimic-iv-ecg"),
        };
        let cohort_dir = root.path().join("cohort");
        run(cohort_args(&inputs, &cohort_dir)).ok();
        let cohort_rows = csv_rows(&cohort_dir.join(COHORT_DATA[0])).len();
        let sizes = Sizes::for_rows(cohort_rows);
        let data_dir = root.path().join("data");
        run(splits_args(&cohort_dir.join(COHORT_DATA[0]), &data_dir, sizes)).ok();
        run(tensors_args_at(&data_dir, &inputs, scale)).ok();
        Self { root, inputs, manifest, cohort_dir, cohort_rows, sizes, data_dir, scale }
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

// ---------------------------------------------------------------- snapshots

/// One entry of a directory snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Dir,
    File { len: u64, hash: u64 },
    Link(PathBuf),
}

/// Every entry under `dir` (relative path → kind, size, content hash);
/// symlinks are recorded, not followed; the lock file is left out.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Entry> {
    let mut out = BTreeMap::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Entry>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        // The lock file a writing run keeps in its output directory is not an output.
        if e.file_name() == durable::lock::LOCK_FILE {
            continue;
        }
        let rel = p.strip_prefix(root).unwrap().to_path_buf();
        let ft = e.file_type().unwrap();
        if ft.is_symlink() {
            out.insert(rel, Entry::Link(std::fs::read_link(&p).unwrap()));
        } else if ft.is_dir() {
            out.insert(rel, Entry::Dir);
            walk(root, &p, out);
        } else {
            let bytes = std::fs::read(&p).unwrap();
            out.insert(rel, Entry::File { len: bytes.len() as u64, hash: hash(&bytes) });
        }
    }
}

/// A content hash (SipHash with fixed keys: stable within a process).
pub fn hash(bytes: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    h.write(bytes);
    h.finish()
}

/// Every file under `dir` with its bytes (relative path → bytes).
pub fn read_tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    snapshot(dir)
        .into_iter()
        .filter(|(_, e)| matches!(e, Entry::File { .. }))
        .map(|(rel, _)| {
            let bytes = std::fs::read(dir.join(&rel)).unwrap();
            (rel, bytes)
        })
        .collect()
}

/// Files under `dir` whose name starts with the atomic writer's temp prefix.
/// Only names are read, and entries that vanish meanwhile are skipped, so it
/// can watch a directory a running process is writing.
pub fn temp_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p);
            } else if e.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                out.push(p.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

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

/// The inflated bytes of a gzip file.
pub fn gunzip(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    mimic_io::table::open_maybe_gz(path).unwrap().read_to_end(&mut out).unwrap();
    out
}

/// `bytes` as a gzip file made of stored (uncompressed) deflate blocks: the
/// CLI crate has no gzip encoder among its dependencies, and a valid member
/// is all the tests need.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let mut chunks = bytes.chunks(0xffff).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(c) = chunks.next() {
        out.push(u8::from(chunks.peek().is_none()));
        let len = c.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(c);
    }
    out.extend_from_slice(&crc32(bytes).to_le_bytes());
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out
}

/// CRC-32 (IEEE), bit by bit: only used on small test tables.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// Rows of a simple CSV (no quoted commas in the cells we edit), header first.
pub fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::ReaderBuilder::new().has_headers(false).from_path(path).unwrap();
    r.records().map(|rec| rec.unwrap().iter().map(str::to_string).collect()).collect()
}

/// Rows of a CSV given as bytes, header first.
pub fn csv_rows_bytes(bytes: &[u8]) -> Vec<Vec<String>> {
    let mut r = csv::ReaderBuilder::new().has_headers(false).from_reader(bytes);
    r.records().map(|rec| rec.unwrap().iter().map(str::to_string).collect()).collect()
}

/// Writes rows as CSV (minimal quoting, `\n` line ends).
pub fn csv_bytes(rows: &[Vec<String>]) -> Vec<u8> {
    let mut w =
        csv::WriterBuilder::new().flexible(true).terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    for r in rows {
        w.write_record(r).unwrap();
    }
    w.into_inner().unwrap()
}

/// Index of column `name` in a header row.
pub fn col(rows: &[Vec<String>], name: &str) -> usize {
    rows[0].iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name:?} in {:?}", rows[0]))
}

/// A CSV parsed into column name → values (for comparisons that ignore column order).
pub fn by_column(rows: &[Vec<String>]) -> BTreeMap<String, Vec<String>> {
    let mut m = BTreeMap::new();
    for (c, name) in rows[0].iter().enumerate() {
        m.insert(name.clone(), rows[1..].iter().map(|r| r[c].clone()).collect());
    }
    m
}

/// The hosp table file names (and where each lives).
pub fn cohort_tables() -> [(&'static str, &'static str); 6] {
    [
        ("hosp", layout::PATIENTS),
        ("hosp", layout::ADMISSIONS),
        ("hosp", layout::LABEVENTS),
        ("cxr", layout::CXR_METADATA),
        ("cxr", layout::CXR_CHEXPERT),
        ("ecg", layout::ECG_RECORD_LIST),
    ]
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
