//! A deterministic MIMIC-shaped synthetic data generator.
//!
//! MIMIC is credentialed, so the project brings its own inputs: [`generate`]
//! writes the tree SPEC "Inputs" lists (MIMIC-IV hosp tables, MIMIC-CXR-JPG
//! metadata/CheXpert tables and JPEGs, the MIMIC-IV-ECG record list and WFDB
//! records) with the real file names, columns, column order and number
//! formats of `golden/input`, plus `synth_manifest.json` recording which
//! stage-1 edge cases were planted and what stage 1 must conclude about them.
//!
//! Why it looks the way it does:
//! - **Deterministic.** Subjects are generated in fixed chunks, each subject
//!   from its own seeded ChaCha stream; chunks run in parallel but are written
//!   in order, and each gzip file is one member assembled from per-chunk
//!   deflate pieces (see [`emit`]), so the bytes never depend on threads.
//! - **Scales to real MIMIC row counts** (`scale = 1.0`: ~300k patients, 431k
//!   admissions, 118M lab events) in bounded memory: nothing is held beyond a
//!   batch of chunks, and file budgets bound how many JPEG/WFDB files exist.
//! - **Knows the answer.** Planted subjects exercise every stage-1 rule on
//!   purpose; the expected outcome is computed from the generated rows
//!   themselves ([`oracle`]), never by reading the files back.
//! - **Lays out like a download, on request.** By default the tree is
//!   `golden/input`'s (`mimiciv/hosp/`, `mimic-cxr-jpg/`, `mimic-iv-ecg/`);
//!   [`SynthConfig::physionet`] writes what `wget -r` fetches from PhysioNet
//!   instead (`physionet.org/files/<project>/<version>/`, each project with
//!   its `SHA256SUMS.txt`), and [`SynthConfig::schema_drift`] adds and moves
//!   table columns, so that finding inputs and reading tables by header are
//!   tested on the shapes real downloads have.

mod catalog;
mod drift;
mod emit;
mod files;
mod ids;
mod model;
mod oracle;
mod rng;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::emit::{GzChunk, GzFile, io_err};
use crate::model::{Builder, Ctx, FileState, Plant, Planted, Role, Subject};

/// Name of the manifest at the output root.
pub const MANIFEST: &str = "synth_manifest.json";

/// Real MIMIC row counts at `scale = 1.0`.
pub const REAL_PATIENTS: f64 = 299_712.0;
/// MIMIC-IV v2.2 admissions.
pub const REAL_ADMISSIONS: f64 = 431_231.0;

/// Subjects per chunk: the unit of parallel work and of file budgets.
const CHUNK_SUBJECTS: usize = 256;
/// Chunks generated before their output is written.
const BATCH_CHUNKS: usize = 8;

/// CXR image size class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum CxrSize {
    /// About 64–420 px per side: tiny files for tests and the demo.
    #[default]
    Small,
    /// About 2500×3000 like MIMIC-CXR-JPG, for benchmarks.
    Full,
}

impl std::str::FromStr for CxrSize {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "small" => Ok(Self::Small),
            "full" => Ok(Self::Full),
            _ => Err(format!("expected `small` or `full`, found {s:?}")),
        }
    }
}

/// Everything that shapes a synthetic dataset. Same config ⇒ same bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SynthConfig {
    pub seed: u64,
    /// Fraction of real MIMIC row counts (1.0 = ~300k patients).
    pub scale: f64,
    /// Background admissions wanted; overrides `scale` (which is then
    /// `admissions / 431231`).
    pub admissions: Option<usize>,
    pub cxr_size: CxrSize,
    /// Most JPEGs written by background subjects (planted ones are always
    /// written); images that can fall in a window are written first. Rows
    /// whose file is not written stay in the metadata table (the reference
    /// then just drops them at its existence check).
    pub max_cxr_files: Option<usize>,
    /// Most ECG records of background subjects. Every row of `record_list.csv`
    /// has its record (the reference crashes otherwise), so this bounds the
    /// ECG *rows*: ECGs within 48 h of an admission are kept first.
    pub max_ecg_files: Option<usize>,
    /// Copies of the planted edge-case set (0 = no planted cases).
    pub planted_reps: usize,
    /// Subjects present in the tables but missing from patients.csv.
    pub orphans: usize,
    /// Probability that a background admission has an AP/PA CXR 24–72 h in.
    pub p_cxr_window: f64,
    /// Probability that a background admission has an ECG within ±24 h.
    pub p_ecg_window: f64,
    /// Probability that a background admission has labs within ±24 h.
    pub p_labs_window: f64,
    /// Mean lab rows per admission (MIMIC-IV: ~274).
    pub labs_per_admission: f64,
    /// Mean ECGs per admission (MIMIC-IV-ECG: ~1.9).
    pub ecgs_per_admission: f64,
    /// Mean CXR studies per admission (MIMIC-CXR: ~0.53).
    pub cxr_studies_per_admission: f64,
    /// gzip level of the `.csv.gz` tables (1 = fastest).
    pub gzip_level: u32,
    /// Also plant cases that make stage 3 produce NaN (a constant ECG).
    pub nasty: bool,
    /// Put every `deathtime` at midnight, so pandas prints that column of the
    /// cohort as dates only (a quirk the cohort writer must reproduce).
    #[serde(default)]
    pub deathtime_midnight: bool,
    /// Write PhysioNet's download layout for these releases instead of
    /// `golden/input`'s. Left out of the manifest when unset, so default
    /// trees stay byte-identical to those written before the option existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub physionet: Option<Releases>,
    /// Add columns to and move columns of `admissions`, `labevents` and the
    /// CXR metadata, as a later release might (no known release does; see
    /// the `drift` module). Rows and values are otherwise unchanged.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub schema_drift: bool,
}

/// Release folder names of a PhysioNet layout (`files/<project>/<version>/`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Releases {
    /// MIMIC-IV, e.g. `3.1`.
    pub mimiciv: String,
    /// MIMIC-CXR-JPG, e.g. `2.1.0`.
    pub cxr: String,
    /// MIMIC-IV-ECG, e.g. `1.0`.
    pub ecg: String,
}

impl Releases {
    /// The releases Symile-MIMIC was published from: MIMIC-IV 2.2,
    /// MIMIC-CXR-JPG 2.0.0, MIMIC-IV-ECG 1.0.
    pub fn published() -> Self {
        Self { mimiciv: "2.2".into(), cxr: "2.0.0".into(), ecg: "1.0".into() }
    }

    /// The current releases: MIMIC-IV 3.1, MIMIC-CXR-JPG 2.1.0, MIMIC-IV-ECG 1.0.
    pub fn current() -> Self {
        Self { mimiciv: "3.1".into(), cxr: "2.1.0".into(), ecg: "1.0".into() }
    }
}

/// The checksum list PhysioNet keeps at each project's root (the format every
/// dataset directory of this tool has too).
pub use durable::SUMS_FILE as SHA256SUMS;

/// Where the tables and files of a tree go.
#[derive(Debug, Clone)]
struct Dirs {
    hosp: PathBuf,
    cxr: PathBuf,
    ecg: PathBuf,
    /// Project roots that get a `SHA256SUMS.txt` (PhysioNet layout only).
    checksummed: Vec<PathBuf>,
}

impl Dirs {
    fn new(out: &Path, cfg: &SynthConfig) -> Self {
        match &cfg.physionet {
            None => Self {
                hosp: out.join("mimiciv").join("hosp"),
                cxr: out.join("mimic-cxr-jpg"),
                ecg: out.join("mimic-iv-ecg"),
                checksummed: Vec::new(),
            },
            Some(r) => {
                let files = out.join("physionet.org").join("files");
                let iv = files.join("mimiciv").join(&r.mimiciv);
                let cxr = files.join("mimic-cxr-jpg").join(&r.cxr);
                let ecg = files.join("mimic-iv-ecg").join(&r.ecg);
                Self { hosp: iv.join("hosp"), cxr: cxr.clone(), ecg: ecg.clone(), checksummed: vec![iv, cxr, ecg] }
            }
        }
    }
}

impl Default for SynthConfig {
    /// MIMIC-like proportions at 1 % of the real row counts.
    fn default() -> Self {
        Self {
            seed: 0,
            scale: 0.01,
            admissions: None,
            cxr_size: CxrSize::Small,
            max_cxr_files: None,
            max_ecg_files: None,
            planted_reps: 1,
            orphans: 2,
            p_cxr_window: 0.08,
            p_ecg_window: 0.45,
            p_labs_window: 0.9,
            labs_per_admission: 274.0,
            ecgs_per_admission: 1.86,
            cxr_studies_per_admission: 0.53,
            gzip_level: 1,
            nasty: false,
            deathtime_midnight: false,
            physionet: None,
            schema_drift: false,
        }
    }
}

/// The embedded default of `cargo xtask build-dataset`: ~700 admissions
/// enriched so that roughly 400–550 survive stage 1, small images, few labs
/// per admission; generated in a few seconds.
pub fn demo_config() -> SynthConfig {
    SynthConfig {
        seed: 2024,
        admissions: Some(700),
        planted_reps: 1,
        orphans: 2,
        p_cxr_window: 0.85,
        p_ecg_window: 0.85,
        p_labs_window: 0.97,
        labs_per_admission: 40.0,
        ecgs_per_admission: 1.1,
        cxr_studies_per_admission: 1.3,
        ..SynthConfig::default()
    }
}

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("{path}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error(
        "{path}: refusing to write into a non-empty directory without a {MANIFEST} (it may hold other data); pick an empty or new directory"
    )]
    NotOurs { path: PathBuf },
    #[error("invalid synth config: {0}")]
    Config(String),
    #[error("{path}: JPEG encoding failed")]
    Jpeg { path: PathBuf, source: image::ImageError },
    #[error("{path}: writing the manifest failed")]
    Manifest { path: PathBuf, source: Box<dyn std::error::Error + Send + Sync> },
    #[error(transparent)]
    Write(#[from] durable::AtomicError),
}

/// Row and file counts of a generated tree.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub subjects: usize,
    pub patients: usize,
    pub orphans: usize,
    pub admissions: usize,
    pub labevents: usize,
    pub cxr_rows: usize,
    pub cxr_studies: usize,
    pub cxr_jpgs: usize,
    pub chexpert_rows: usize,
    pub ecgs: usize,
    /// Admissions stage 1 keeps (all admissions, planted or not).
    pub expected_survivors: usize,
    /// Admissions whose choice depends on an unstable sort (should be 0).
    pub ambiguous_ties: usize,
    pub max_cxr_candidates: usize,
    pub max_ecg_candidates: usize,
    pub planted_admissions: usize,
}

/// What stage 1 must conclude for one planted admission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlantedAdmission {
    pub subject_id: i64,
    /// Case name per modality (`cxr`, `ecg`, `labs`, `img`, `pair`).
    pub cases: BTreeMap<String, String>,
    pub survive: bool,
    /// `cxr`, `chexpert`, `ecg`, `labs`: which requirement fails.
    pub dropped_by: Vec<String>,
    pub cxr_candidates: usize,
    pub cxr_dicom_id: Option<String>,
    pub cxr_study_id: Option<i64>,
    pub cxr_path: Option<String>,
    pub ecg_candidates: usize,
    pub ecg_study_id: Option<i64>,
    pub ecg_path: Option<String>,
    /// Expected lab value per itemid (the 50 only; absent = empty cell).
    pub labs: BTreeMap<String, f64>,
}

/// Planted admissions and survivors per case (`"cxr:exact72"` ...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseCount {
    pub admissions: usize,
    pub survive: usize,
}

/// `synth_manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub generator: String,
    /// False while generation is running (marks the directory as ours).
    pub complete: bool,
    pub config: SynthConfig,
    pub counts: Counts,
    pub cases: BTreeMap<String, CaseCount>,
    /// Planted admissions by hadm_id.
    pub admissions: BTreeMap<String, PlantedAdmission>,
    /// hadm_ids stage 1 keeps, in admissions.csv order; omitted (None) above
    /// 20,000 survivors.
    pub survivors: Option<Vec<i64>>,
}

const GENERATOR: &str = "symile-mimic synth";
const SURVIVOR_LIST_MAX: usize = 20_000;

impl SynthConfig {
    fn effective_scale(&self) -> f64 {
        match self.admissions {
            Some(n) => n as f64 / REAL_ADMISSIONS,
            None => self.scale,
        }
    }

    fn validate(&self) -> Result<(), SynthError> {
        let s = self.effective_scale();
        let bad = |m: String| Err(SynthError::Config(m));
        if !(s > 0.0 && s <= 20.0) {
            return bad(format!("scale must be in (0, 20], found {s}"));
        }
        for (name, p) in [
            ("p_cxr_window", self.p_cxr_window),
            ("p_ecg_window", self.p_ecg_window),
            ("p_labs_window", self.p_labs_window),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return bad(format!("{name} must be a probability, found {p}"));
            }
        }
        for (name, v) in [
            ("labs_per_admission", self.labs_per_admission),
            ("ecgs_per_admission", self.ecgs_per_admission),
            ("cxr_studies_per_admission", self.cxr_studies_per_admission),
        ] {
            if !(0.0..=10_000.0).contains(&v) {
                return bad(format!("{name} must be in [0, 10000], found {v}"));
            }
        }
        if !(1..=9).contains(&self.gzip_level) {
            return bad(format!("gzip_level must be 1..=9, found {}", self.gzip_level));
        }
        if let Some(r) = &self.physionet {
            for (name, v) in [("mimiciv", &r.mimiciv), ("cxr", &r.cxr), ("ecg", &r.ecg)] {
                let plain = !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c));
                if !plain || v.starts_with('.') || v == "files" || v == "hosp" {
                    return bad(format!("physionet.{name} must be a release folder name like 3.1, found {v:?}"));
                }
            }
        }
        Ok(())
    }
}

/// Who every subject is.
struct Plan {
    roles: Vec<Role>,
    plants: Vec<Plant>,
}

impl Plan {
    fn new(cfg: &SynthConfig) -> Self {
        let plants = model::plan_cases(cfg);
        let wanted = (REAL_PATIENTS * cfg.effective_scale()).round() as usize;
        let n = wanted.max(plants.len() + cfg.orphans + 1);
        let mut roles = vec![Role::Background; n];
        for (j, _) in plants.iter().enumerate() {
            let pos = ((2 * j + 1) * n) / (2 * plants.len());
            roles[pos] = Role::Planted(j);
        }
        for k in 0..cfg.orphans {
            let mut pos = ((4 * k + 1) * n) / (4 * cfg.orphans);
            while roles[pos] != Role::Background {
                pos = (pos + 1) % n;
            }
            roles[pos] = Role::Orphan;
        }
        Self { roles, plants }
    }
}

/// What one chunk contributes.
#[derive(Default)]
struct ChunkOut {
    subjects: Vec<Subject>,
    patients: GzChunk,
    admissions: GzChunk,
    metadata: GzChunk,
    chexpert: GzChunk,
    record_list: Vec<u8>,
    counts: Counts,
    cases: BTreeMap<String, CaseCount>,
    planted: BTreeMap<String, PlantedAdmission>,
    survivors: Vec<i64>,
}

fn share(total: Option<usize>, chunk: usize, chunks: usize) -> usize {
    match total {
        None => usize::MAX,
        Some(m) => (m * (chunk + 1)) / chunks - (m * chunk) / chunks,
    }
}

/// Applies the file budgets of one chunk: background ECGs beyond the budget
/// are removed from the tables, background JPEGs beyond it are not written.
fn apply_budgets(subjects: &mut [Subject], cxr_budget: usize, ecg_budget: usize) {
    use mimic_io::time::HOUR;
    let near =
        |s: &Subject, t: i64, lo: i64, hi: i64| s.admissions.iter().any(|a| t - a.admit.0 > lo && t - a.admit.0 <= hi);
    if ecg_budget != usize::MAX {
        let planted: usize = subjects.iter().map(|s| s.ecgs.iter().filter(|e| e.planted).count()).sum();
        let mut rank: Vec<(u8, usize, usize)> = Vec::new();
        for (si, s) in subjects.iter().enumerate() {
            for (ei, e) in s.ecgs.iter().enumerate() {
                if !e.planted {
                    rank.push((u8::from(!near(s, e.time.0, -48 * HOUR - 1, 48 * HOUR)), si, ei));
                }
            }
        }
        rank.sort();
        let keep = ecg_budget.saturating_sub(planted);
        let mut drop: Vec<Vec<bool>> = subjects.iter().map(|s| vec![false; s.ecgs.len()]).collect();
        for &(_, si, ei) in rank.iter().skip(keep) {
            drop[si][ei] = true;
        }
        for (s, d) in subjects.iter_mut().zip(drop) {
            let mut it = d.into_iter();
            s.ecgs.retain(|_| !it.next().unwrap_or(false));
        }
    }
    if cxr_budget != usize::MAX {
        let planted: usize =
            subjects.iter().map(|s| s.images.iter().filter(|i| i.planted && i.file == FileState::Write).count()).sum();
        let mut rank: Vec<(u8, usize, usize)> = Vec::new();
        for (si, s) in subjects.iter().enumerate() {
            for (ii, im) in s.images.iter().enumerate() {
                if !im.planted && im.file == FileState::Write {
                    let t = s.studies[im.study].time.0;
                    let relevant = (im.view == "AP" || im.view == "PA") && near(s, t, 24 * HOUR, 72 * HOUR);
                    rank.push((u8::from(!relevant), si, ii));
                }
            }
        }
        rank.sort();
        let keep = cxr_budget.saturating_sub(planted);
        for &(_, si, ii) in rank.iter().skip(keep) {
            subjects[si].images[ii].file = FileState::Budget;
        }
    }
}

fn gen_chunk(chunk: usize, chunks: usize, ctx: Ctx<'_>, plan: &Plan, dirs: &Dirs) -> Result<ChunkOut, SynthError> {
    let cfg = ctx.cfg;
    let lo = chunk * CHUNK_SUBJECTS;
    let hi = ((chunk + 1) * CHUNK_SUBJECTS).min(plan.roles.len());
    let mut subjects: Vec<Subject> = (lo..hi)
        .map(|i| {
            let role = plan.roles[i];
            let b = Builder::new(ctx, i, role);
            match role {
                Role::Planted(j) => b.planted(plan.plants[j]),
                _ => b.background(),
            }
        })
        .collect();
    apply_budgets(&mut subjects, share(cfg.max_cxr_files, chunk, chunks), share(cfg.max_ecg_files, chunk, chunks));

    let mut c = ChunkOut::default();
    let (mut pat, mut adm, mut meta, mut chex) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let cxr_root = &dirs.cxr;
    let ecg_root = &dirs.ecg;
    for s in &subjects {
        c.counts.subjects += 1;
        if s.in_patients {
            c.counts.patients += 1;
            emit::patient_row(&mut pat, s);
        } else {
            c.counts.orphans += 1;
        }
        for a in &s.admissions {
            emit::admission_row(&mut adm, s, a);
            c.counts.admissions += 1;
            let e = oracle::expect(s, a);
            c.counts.max_cxr_candidates = c.counts.max_cxr_candidates.max(e.cxr_candidates);
            c.counts.max_ecg_candidates = c.counts.max_ecg_candidates.max(e.ecg_candidates);
            c.counts.ambiguous_ties += usize::from(e.ambiguous);
            if e.survives() {
                c.counts.expected_survivors += 1;
                c.survivors.push(a.hadm_id);
            }
            if let Some(planted) = a.planted {
                c.counts.planted_admissions += 1;
                for (m, name) in planted.names() {
                    let cc = c.cases.entry(format!("{m}:{name}")).or_default();
                    cc.admissions += 1;
                    cc.survive += usize::from(e.survives());
                }
                c.planted.insert(a.hadm_id.to_string(), planted_entry(s, planted, &e));
            }
        }
        emit::metadata_rows(&mut meta, s);
        c.counts.cxr_rows += s.images.len();
        c.counts.cxr_studies += s.studies.len();
        c.counts.chexpert_rows += emit::chexpert_rows(&mut chex, s);
        emit::record_list_rows(&mut c.record_list, s);
        c.counts.ecgs += s.ecgs.len();
        c.counts.labevents += s.labs.len();
        // Files.
        for (k, e) in s.ecgs.iter().enumerate() {
            let mut r = rng::Stream::new(cfg.seed, rng::Purpose::Signal, (s.index as u64) << 8 | k as u64);
            let samples = files::ecg_samples(&mut r, e.kind, e.gain);
            let base = ecg_root.join(emit::ecg_rel_path(s.subject_id, e.study_id));
            files::write_ecg(&base, e.study_id, e.time, e.gain, &samples)?;
        }
        for (k, im) in s.images.iter().enumerate() {
            if im.file != FileState::Write {
                continue;
            }
            let mut r = rng::Stream::new(cfg.seed, rng::Purpose::Pixels, (s.index as u64) << 12 | k as u64);
            let noise = match cfg.cxr_size {
                CxrSize::Small => 3.0,
                CxrSize::Full => 3.5,
            };
            let px = files::chest_pixels(&mut r, im.rows, im.cols, noise);
            let study_id = s.studies[im.study].study_id;
            let path = cxr_root.join(mimic_io::layout::cxr_rel_path(s.subject_id, study_id, &im.dicom_id));
            files::write_jpeg(&path, &px, im.rows, im.cols, im.quality)?;
            c.counts.cxr_jpgs += 1;
        }
    }
    if cfg.schema_drift {
        adm = drift::ADMISSIONS.rewrite(&adm);
        meta = drift::METADATA.rewrite(&meta);
    }
    let level = cfg.gzip_level;
    c.patients = GzChunk::deflate(&pat, level);
    c.admissions = GzChunk::deflate(&adm, level);
    c.metadata = GzChunk::deflate(&meta, level);
    c.chexpert = GzChunk::deflate(&chex, level);
    c.subjects = subjects;
    Ok(c)
}

fn planted_entry(s: &Subject, planted: Planted, e: &oracle::Expect) -> PlantedAdmission {
    let cxr = e.cxr.map(|i| &s.images[i]);
    let cxr_study_id = cxr.map(|im| s.studies[im.study].study_id);
    let ecg = e.ecg.map(|i| &s.ecgs[i]);
    let labs = e
        .labs
        .iter()
        .map(|(&itemid, &i)| {
            let l = &s.labs[i];
            let dec = catalog::ITEMS[l.item as usize].decimals;
            (itemid.to_string(), emit::scaled_f64(l.value.expect("chosen labs have values"), dec))
        })
        .collect();
    PlantedAdmission {
        subject_id: s.subject_id,
        cases: planted.names().iter().map(|(m, n)| (m.to_string(), n.to_string())).collect(),
        survive: e.survives(),
        dropped_by: e.dropped_by(),
        cxr_candidates: e.cxr_candidates,
        cxr_dicom_id: cxr.map(|im| im.dicom_id.clone()),
        cxr_study_id,
        cxr_path: cxr.map(|im| mimic_io::layout::cxr_rel_path(s.subject_id, cxr_study_id.unwrap_or(0), &im.dicom_id)),
        ecg_candidates: e.ecg_candidates,
        ecg_study_id: ecg.map(|x| x.study_id),
        ecg_path: ecg.map(|x| emit::ecg_rel_path(s.subject_id, x.study_id)),
        labs,
    }
}

/// Prepares `out`: creates it, or clears a previous synth output in it, or
/// refuses a non-empty directory that is not ours.
fn prepare_out_dir(out: &Path) -> Result<(), SynthError> {
    if out.exists() {
        let mut entries = std::fs::read_dir(out).map_err(io_err(out))?;
        if entries.next().is_some() {
            if !out.join(MANIFEST).is_file() {
                return Err(SynthError::NotOurs { path: out.to_path_buf() });
            }
            for name in ["mimiciv", "mimic-cxr-jpg", "mimic-iv-ecg", "physionet.org"] {
                let p = out.join(name);
                if p.exists() {
                    std::fs::remove_dir_all(&p).map_err(io_err(&p))?;
                }
            }
        }
    }
    std::fs::create_dir_all(out).map_err(io_err(out))
}

fn write_manifest(out: &Path, m: &Manifest) -> Result<(), SynthError> {
    let path = out.join(MANIFEST);
    let mut text =
        serde_json::to_string_pretty(m).map_err(|e| SynthError::Manifest { path: path.clone(), source: e.into() })?;
    text.push('\n');
    Ok(durable::write_atomic(&path, text.as_bytes())?)
}

/// Writes a complete synthetic MIMIC tree into `out` and returns its manifest
/// (also written to `out/synth_manifest.json`).
pub fn generate(out: &Path, cfg: &SynthConfig) -> Result<Manifest, SynthError> {
    cfg.validate()?;
    prepare_out_dir(out)?;
    let mut manifest = Manifest {
        generator: GENERATOR.to_string(),
        complete: false,
        config: cfg.clone(),
        counts: Counts::default(),
        cases: BTreeMap::new(),
        admissions: BTreeMap::new(),
        survivors: Some(Vec::new()),
    };
    write_manifest(out, &manifest)?;

    let plan = Plan::new(cfg);
    let n = plan.roles.len();
    let scale = cfg.effective_scale();
    let admitted = 0.6;
    let ctx = Ctx {
        cfg,
        ids: ids::Ids::new(cfg.seed, n as u64),
        p_admitted: admitted,
        extra_adm: ((REAL_ADMISSIONS * scale) / (n as f64 * admitted) - 1.0).max(0.0),
    };
    let dirs = Dirs::new(out, cfg);
    let (hosp, cxr, ecg) = (&dirs.hosp, &dirs.cxr, &dirs.ecg);
    for d in [hosp, cxr, ecg] {
        std::fs::create_dir_all(d).map_err(io_err(d))?;
    }
    let level = cfg.gzip_level;
    let mut patients = GzFile::create(hosp.join(mimic_io::layout::PATIENTS), level)?;
    let mut admissions = GzFile::create(hosp.join(mimic_io::layout::ADMISSIONS), level)?;
    let mut labevents = GzFile::create(hosp.join(mimic_io::layout::LABEVENTS), level)?;
    let mut metadata = GzFile::create(cxr.join(mimic_io::layout::CXR_METADATA), level)?;
    let mut chexpert = GzFile::create(cxr.join(mimic_io::layout::CXR_CHEXPERT), level)?;
    let rl_path = ecg.join(mimic_io::layout::ECG_RECORD_LIST);
    let mut record_list = std::io::BufWriter::new(std::fs::File::create(&rl_path).map_err(io_err(&rl_path))?);
    use std::io::Write as _;
    let (adm_header, lab_header, meta_header) = if cfg.schema_drift {
        (drift::ADMISSIONS.header, drift::LABEVENTS.header, drift::METADATA.header)
    } else {
        (emit::ADMISSIONS_HEADER, emit::LABEVENTS_HEADER, emit::METADATA_HEADER)
    };
    patients.append(&GzChunk::deflate(emit::PATIENTS_HEADER.as_bytes(), level))?;
    admissions.append(&GzChunk::deflate(adm_header.as_bytes(), level))?;
    labevents.append(&GzChunk::deflate(lab_header.as_bytes(), level))?;
    metadata.append(&GzChunk::deflate(meta_header.as_bytes(), level))?;
    chexpert.append(&GzChunk::deflate(emit::chexpert_header().as_bytes(), level))?;
    record_list.write_all(emit::RECORD_LIST_HEADER.as_bytes()).map_err(io_err(&rl_path))?;

    let ranges = emit::ref_ranges();
    let chunks = n.div_ceil(CHUNK_SUBJECTS);
    let mut next_lab_id: i64 = 1;
    let mut survivors = Vec::new();
    let all: Vec<usize> = (0..chunks).collect();
    for batch in all.chunks(BATCH_CHUNKS) {
        let outs: Vec<ChunkOut> =
            batch.par_iter().map(|&c| gen_chunk(c, chunks, ctx, &plan, &dirs)).collect::<Result<_, _>>()?;
        let mut bases = Vec::with_capacity(outs.len());
        for o in &outs {
            bases.push(next_lab_id);
            next_lab_id += o.counts.labevents as i64;
        }
        let labs: Vec<GzChunk> = outs
            .par_iter()
            .zip(bases)
            .map(|(o, base)| {
                let mut buf = Vec::with_capacity(o.counts.labevents * 150);
                let mut id = base;
                for s in &o.subjects {
                    emit::lab_rows(&mut buf, s, id, &ranges);
                    id += s.labs.len() as i64;
                }
                if cfg.schema_drift {
                    buf = drift::LABEVENTS.rewrite(&buf);
                }
                GzChunk::deflate(&buf, level)
            })
            .collect();
        for (o, l) in outs.into_iter().zip(labs) {
            patients.append(&o.patients)?;
            admissions.append(&o.admissions)?;
            metadata.append(&o.metadata)?;
            chexpert.append(&o.chexpert)?;
            labevents.append(&l)?;
            record_list.write_all(&o.record_list).map_err(io_err(&rl_path))?;
            add_counts(&mut manifest.counts, &o.counts);
            for (k, v) in o.cases {
                let e = manifest.cases.entry(k).or_default();
                e.admissions += v.admissions;
                e.survive += v.survive;
            }
            manifest.admissions.extend(o.planted);
            if survivors.len() <= SURVIVOR_LIST_MAX {
                survivors.extend(o.survivors);
            }
        }
        tracing::debug!(done = batch[batch.len() - 1] + 1, chunks, "synth chunks written");
    }
    for f in [patients, admissions, labevents, metadata, chexpert] {
        f.finish()?;
    }
    record_list.flush().map_err(io_err(&rl_path))?;
    drop(record_list);
    for project in &dirs.checksummed {
        files::write_sha256sums(project, SHA256SUMS)?;
    }
    manifest.survivors = (manifest.counts.expected_survivors <= SURVIVOR_LIST_MAX).then_some(survivors);
    manifest.complete = true;
    write_manifest(out, &manifest)?;
    Ok(manifest)
}

fn add_counts(t: &mut Counts, c: &Counts) {
    t.subjects += c.subjects;
    t.patients += c.patients;
    t.orphans += c.orphans;
    t.admissions += c.admissions;
    t.labevents += c.labevents;
    t.cxr_rows += c.cxr_rows;
    t.cxr_studies += c.cxr_studies;
    t.cxr_jpgs += c.cxr_jpgs;
    t.chexpert_rows += c.chexpert_rows;
    t.ecgs += c.ecgs;
    t.expected_survivors += c.expected_survivors;
    t.ambiguous_ties += c.ambiguous_ties;
    t.max_cxr_candidates = t.max_cxr_candidates.max(c.max_cxr_candidates);
    t.max_ecg_candidates = t.max_ecg_candidates.max(c.max_ecg_candidates);
    t.planted_admissions += c.planted_admissions;
}
