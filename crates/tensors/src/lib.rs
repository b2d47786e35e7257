//! Stage 3 of the Symile-MIMIC build (`process_and_save_tensors.py`): the four
//! split CSVs become, per split, CXR, ECG, lab and id tensors in
//! `<data_dir>/<split>/<name>_<split>.<ext>`, plus `<data_dir>/metadata.json`.
//!
//! The reference stacks every tensor of a split in memory and decodes an image
//! again for every retrieval candidate row. Here a run has two phases:
//!
//! 1. **Check** (module `plan`): read `labs_means.json` and all four CSVs, check
//!    columns, ids, labs, paths, the existence of every image and ECG header,
//!    and draw the train crop offsets in row order (so the torch replay sees
//!    the reference's sequence). No output file exists yet, so any bad input
//!    fails fast and leaves nothing behind.
//! 2. **Write** (module `write`): per split, pre-sized tensor files are filled row
//!    slot by row slot from the rayon pool, each distinct image and ECG record
//!    decoded once. All files stay temporary until every split has
//!    succeeded; then they are renamed into place and `metadata.json` is
//!    written last.
//!
//! Values follow the reference's stage 3 bit for bit; `cxr-prep`, `ecg-prep` and
//! `tensor-store` do the pixel, signal and file-format work.

mod card;
mod checksums;
mod error;
mod labs;
mod plan;
mod report;
mod write;

use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use dataset_layout::{Dims, METADATA, Split};
use durable::{AtomicFile, DirLock, Transaction};
use progress::Progress;
use pyfmt::{PyJsonValue, py_json_object};
use recipe::Recipe;

/// Whether a run keeps its directory's `SHA256SUMS.txt` (a field of the config).
pub use durable::Checksums;
pub use error::TensorsError;
pub use report::{SplitReport, TensorsReport};

use crate::labs::LabsMeans;
use crate::plan::SplitPlan;

/// Everything stage 3 needs; the CLI fills it from its flags.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorsConfig {
    /// Directory with the split CSVs and `labs_means.json`; outputs go here.
    pub data_dir: PathBuf,
    /// MIMIC-IV-ECG root (`ecg_path` values are relative to it).
    pub ecg_dir: PathBuf,
    /// MIMIC-CXR-JPG root (`cxr_path` values are relative to it).
    pub cxr_dir: PathBuf,
    /// `labs_means.json`, relative to `data_dir` (an absolute path is used as is).
    pub labs_means: PathBuf,
    /// Split CSVs, relative to `data_dir` (absolute paths are used as is).
    pub train_csv: PathBuf,
    pub val_csv: PathBuf,
    pub val_retrieval_csv: PathBuf,
    pub test_csv: PathBuf,
    /// The build's recipe: its `tensors` section (scale, crop, format, crop
    /// generator, strictness), `splits.seed` for the train crops and
    /// `cohort.labs` for the lab tensors; recorded as `recipe.toml`.
    pub recipe: Recipe,
    /// Keep `data_dir/SHA256SUMS.txt` up to date with the outputs.
    pub checksums: Checksums,
    /// Free bytes to assume under `data_dir` instead of asking the
    /// filesystem (tests; filesystems that misreport).
    pub free_space: Option<u64>,
}

impl TensorsConfig {
    /// The reference's file names (`labs_means.json`, `<split>.csv`), the
    /// published recipe (scale and crop 320, safetensors, ChaCha crops with
    /// seed 0, not strict), checksums kept.
    pub fn new(data_dir: impl Into<PathBuf>, ecg_dir: impl Into<PathBuf>, cxr_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            ecg_dir: ecg_dir.into(),
            cxr_dir: cxr_dir.into(),
            labs_means: dataset_layout::LABS_MEANS.into(),
            train_csv: Split::Train.csv().into(),
            val_csv: Split::Val.csv().into(),
            val_retrieval_csv: Split::ValRetrieval.csv().into(),
            test_csv: Split::Test.csv().into(),
            recipe: Recipe::default(),
            checksums: Checksums::Update,
            free_space: None,
        }
    }

    /// The train crops' generator with the recipe's seed.
    pub fn crop_rng(&self) -> cxr_prep::CropRng {
        let seed = self.recipe.splits.seed;
        match self.recipe.tensors.crop_rng {
            recipe::CropGenerator::ChaCha => cxr_prep::CropRng::ChaCha { seed },
            recipe::CropGenerator::Torch => cxr_prep::CropRng::Torch { seed },
        }
    }

    /// The CSV of `split`, resolved against `data_dir`.
    fn csv(&self, split: Split) -> PathBuf {
        let rel = match split {
            Split::Train => &self.train_csv,
            Split::Val => &self.val_csv,
            Split::ValRetrieval => &self.val_retrieval_csv,
            Split::Test => &self.test_csv,
        };
        self.data_dir.join(rel)
    }
}

/// Builds every split's tensors and `metadata.json`. On error nothing of this
/// run is left in `data_dir`: no tensor file, no `metadata.json`, no split
/// directory it created (files of an earlier run are left untouched).
pub fn run(cfg: &TensorsConfig, progress: &dyn Progress) -> Result<TensorsReport, TensorsError> {
    let started = Instant::now();
    cfg.recipe.validate(&recipe::Provenance::default())?;
    // One writer per directory, for the whole run.
    let lock = DirLock::acquire(&cfg.data_dir)?;

    // Phase 1: read and check everything; no file is created.
    let labs = LabsMeans::read(&cfg.data_dir.join(&cfg.labs_means), &cfg.recipe.cohort.labs)?;
    let mut plans: Vec<SplitPlan> =
        Split::ALL.iter().map(|&s| plan::read_split(s, &cfg.csv(s), cfg, &labs)).collect::<Result<_, _>>()?;
    let mut sampler = cxr_prep::CropSampler::new(&cfg.crop_rng());
    for p in &mut plans {
        let is_train = p.name == Split::Train;
        plan::check_inputs(p, cfg, is_train.then_some(&mut sampler))?;
        if progress.cancelled() {
            return Err(TensorsError::Cancelled);
        }
    }
    let needed = output_bytes(&plans, cfg)?;
    durable::ensure_space(&cfg.data_dir, needed, cfg.free_space)?;
    let check_seconds = started.elapsed().as_secs_f64();
    tracing::debug!(check_seconds, needed, "inputs checked");

    // Phase 2: write, keeping every file temporary until all splits succeed.
    let mut created_dirs = Vec::new();
    let written = write_all(&plans, cfg, &lock, progress, &mut created_dirs);
    let (reports, stale, checksum_seconds) = match written {
        Ok(r) => r,
        Err(e) => {
            // Temporaries are gone (dropped); leave no directory we made either.
            for dir in created_dirs.iter().rev() {
                let _ = fs::remove_dir(dir);
            }
            return Err(e);
        }
    };
    Ok(TensorsReport {
        splits: reports,
        metadata: cfg.data_dir.join(METADATA).display().to_string(),
        stale_temps_removed: stale.iter().map(|p| p.display().to_string()).collect(),
        check_seconds,
        checksum_seconds,
        output_bytes: needed,
        total_seconds: started.elapsed().as_secs_f64(),
    })
}

/// The dimensions every row of `plan`'s tensors has.
fn dims(plan: &SplitPlan, cfg: &TensorsConfig) -> Dims {
    Dims {
        cxr_crop: cfg.recipe.tensors.cxr_crop as usize,
        ecg_samples: plan.ecg_shape.0,
        ecg_leads: plan.ecg_shape.1,
        labs: plan.labs_percentiles.len() / plan.rows,
    }
}

/// Bytes of every file the run will write, known from the row counts alone.
fn output_bytes(plans: &[SplitPlan], cfg: &TensorsConfig) -> Result<u64, TensorsError> {
    let mut total = metadata_json(plans, cfg).len() as u64;
    for p in plans {
        total += split_bytes(p, cfg)?;
    }
    Ok(total)
}

/// Bytes of the tensor files of one split.
fn split_bytes(plan: &SplitPlan, cfg: &TensorsConfig) -> Result<u64, TensorsError> {
    let d = dims(plan, cfg);
    let mut total = 0;
    for &t in plan.name.tensors() {
        total += tensor_store::encoded_len(&t.spec(plan.name, plan.rows, &d), cfg.recipe.tensors.format)?;
    }
    Ok(total)
}

/// What [`write_all`] returns: the split reports, the stale temporaries it
/// removed, and the seconds spent waiting for the checksums after decoding.
type Written = (Vec<SplitReport>, Vec<PathBuf>, f64);

/// The order the splits are written in: the largest first (a CXR tensor is
/// most of a split's bytes, and its hash, one thread's work, is the longest
/// chain of the run: started first, it ends first), ties in the splits' own
/// order. The order changes no byte of any output.
fn write_order(plans: &[SplitPlan], cfg: &TensorsConfig) -> Result<Vec<usize>, TensorsError> {
    let mut sized = Vec::with_capacity(plans.len());
    for (i, p) in plans.iter().enumerate() {
        sized.push((split_bytes(p, cfg)?, i));
    }
    sized.sort_by_key(|&(bytes, i)| (std::cmp::Reverse(bytes), i));
    Ok(sized.into_iter().map(|(_, i)| i).collect())
}

/// Threads that hash the files while they are written (see [`checksums`]):
/// one per core, at most [`MAX_HASHERS`].
fn hashers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_HASHERS)
}

/// More threads than a split has large files (its CXR and ECG tensors, and
/// the previous split's CXR tensor still being hashed) would find nothing
/// to do.
const MAX_HASHERS: usize = 3;

/// Writes every split while threads hash the files as they are written
/// (see [`checksums`]), then commits all files with `metadata.json`, the
/// recipe and the cards in one transaction; records the split directories it
/// had to create in `created_dirs`.
fn write_all(
    plans: &[SplitPlan],
    cfg: &TensorsConfig,
    lock: &DirLock,
    progress: &dyn Progress,
    created_dirs: &mut Vec<PathBuf>,
) -> Result<Written, TensorsError> {
    let mut stale = lock.remove_stale_temps(&cfg.data_dir)?;
    let hashed = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let kept = cfg.checksums == Checksums::Update;
    let (to_hash, queue) = mpsc::channel::<checksums::Followed>();
    let (to_sync, sync_queue) = mpsc::channel::<(PathBuf, fs::File)>();
    let (written, digests, synced, checksum_seconds) = std::thread::scope(|scope| {
        let hasher =
            scope.spawn(|| checksums::follow(queue, if kept { hashers() } else { 1 }, &hashed, &stop, progress));
        // Each finished file is fsynced at once, while the next ones are
        // written and hashed: the disk works beside the cores, and the
        // commit's own fsync finds nothing left to write.
        let syncer = scope.spawn(|| -> Result<(), TensorsError> {
            for (path, file) in sync_queue {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                file.sync_data().map_err(|source| TensorsError::Io { path, source })?;
            }
            Ok(())
        });
        let mut total = 0u64;
        let mut write = || -> Result<(Vec<SplitReport>, Vec<AtomicFile>), TensorsError> {
            let mut reports = Vec::new();
            let mut finished = Vec::new();
            for i in write_order(plans, cfg)? {
                let p = &plans[i];
                let dir = dataset_layout::split_dir(&cfg.data_dir, p.name);
                if !dir.is_dir() {
                    fs::create_dir_all(&dir).map_err(|source| TensorsError::Io { path: dir.clone(), source })?;
                    created_dirs.push(dir.clone());
                }
                stale.extend(lock.remove_stale_temps(&dir)?);
                let base = finished.len();
                let register = |files: &[tensor_store::TensorFile]| -> Result<(), TensorsError> {
                    if !kept {
                        return Ok(());
                    }
                    for (i, f) in files.iter().enumerate() {
                        let followed = checksums::Followed {
                            index: base + i,
                            path: dir.join(f.spec().name.as_str()),
                            file: f.reader()?,
                            progress: f.progress(),
                        };
                        // The hasher only stops early on an error, which the join reports.
                        let _ = to_hash.send(followed);
                    }
                    Ok(())
                };
                let (files, mut report) = write::write_split(p, &dir, &dims(p, cfg), cfg, progress, &register)?;
                for file in files {
                    total += file.progress().total_len();
                    let file = file.finish()?;
                    let handle = file
                        .file()
                        .try_clone()
                        .map_err(|source| TensorsError::Io { path: file.temp_path().to_path_buf(), source })?;
                    // The syncer only stops early on an error, which its join reports.
                    let _ = to_sync.send((file.temp_path().to_path_buf(), handle));
                    report.files.push(file.dest().display().to_string());
                    finished.push(file);
                }
                reports.push(report);
            }
            // Reports in the splits' own order.
            reports.sort_by_key(|r| Split::ALL.iter().position(|s| s.name() == r.split));
            Ok((reports, finished))
        };
        let written = write();
        drop(to_hash);
        drop(to_sync);
        let waited = Instant::now();
        if written.is_err() {
            stop.store(true, Ordering::Relaxed);
        } else if kept {
            // Show what is left of the hashing once the writing is done.
            let now = hashed.load(Ordering::Relaxed);
            progress.start("sha256", Some(total.saturating_sub(now)));
            let mut shown = now;
            while !hasher.is_finished() {
                let now = hashed.load(Ordering::Relaxed);
                progress.inc(now - shown);
                shown = now;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            progress.inc(hashed.load(Ordering::Relaxed) - shown);
            progress.finish();
        }
        let digests = hasher.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let hashing_left = waited.elapsed().as_secs_f64();
        tracing::debug!(hashing_left, "files hashed");
        let synced = syncer.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        tracing::debug!(seconds = waited.elapsed().as_secs_f64() - hashing_left, "files synced");
        (written, digests, synced, hashing_left)
    });
    let (reports, finished) = written?;
    synced?;
    let mut digests = if kept { digests? } else { Default::default() };
    let files: Vec<(AtomicFile, Option<durable::Digest>)> =
        finished.into_iter().enumerate().map(|(i, f)| (f, digests.remove(&i))).collect();
    let mut tx = Transaction::new(lock, cfg.checksums);
    let mut staged = Vec::new();
    let relative = |p: &std::path::Path| {
        p.strip_prefix(&cfg.data_dir).unwrap_or(p).to_string_lossy().replace(std::path::MAIN_SEPARATOR, "/")
    };
    for (file, digest) in files {
        let bytes = file.file().metadata().map_or(0, |m| m.len());
        staged.push(card::Staged { rel: relative(file.dest()), bytes, digest });
        match digest {
            Some(d) => tx.stage_hashed(file, d),
            None => tx.stage(file),
        }
    }
    // The small files, with their digests: the card lists them too.
    let mut small = vec![
        (METADATA.to_string(), metadata_json(plans, cfg).into_bytes()),
        (recipe::RECIPE_FILE.to_string(), recipe::render(&cfg.recipe).into_bytes()),
    ];
    for (rel, bytes) in &small {
        staged.push(card::Staged { rel: rel.clone(), bytes: bytes.len() as u64, digest: Some(card::digest_of(bytes)) });
    }
    let cards = card::render(&cfg.data_dir, &cfg.recipe, plans, &staged, kept)?;
    small.push((dataset_card::README.to_string(), cards.readme));
    if let Some(c) = cards.croissant {
        small.push((dataset_card::CROISSANT.to_string(), c));
    }
    for (rel, bytes) in small {
        let mut f = AtomicFile::create(cfg.data_dir.join(&rel))?;
        std::io::Write::write_all(&mut f, &bytes).map_err(|e| f.write_error(e))?;
        tx.stage_hashed(f, card::digest_of(&bytes));
    }
    if progress.cancelled() {
        return Err(TensorsError::Cancelled);
    }
    tx.commit()?;
    tracing::debug!("outputs committed");
    Ok((reports, stale, checksum_seconds))
}

/// `metadata.json` exactly as the reference's `json.dump(..., indent=4)`.
fn metadata_json(plans: &[SplitPlan], cfg: &TensorsConfig) -> String {
    let size = |split: Split| plans.iter().find(|p| p.name == split).map_or(0, |p| p.rows as i64);
    let mut entries: Vec<(String, PyJsonValue)> =
        Split::ALL.iter().map(|&s| (s.metadata_key().to_string(), PyJsonValue::Int(size(s)))).collect();
    entries.push(("cxr_scale".into(), PyJsonValue::Int(cfg.recipe.tensors.cxr_scale.into())));
    entries.push(("cxr_crop".into(), PyJsonValue::Int(cfg.recipe.tensors.cxr_crop.into())));
    py_json_object(&entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_matches_the_reference_layout() {
        let mut cfg = TensorsConfig::new("/d", "/e", "/c");
        cfg.recipe.tensors.cxr_scale = 64;
        cfg.recipe.tensors.cxr_crop = 64;
        let plans: Vec<SplitPlan> = [(Split::Train, 13), (Split::Val, 3), (Split::ValRetrieval, 9), (Split::Test, 12)]
            .into_iter()
            .map(|(name, rows)| SplitPlan {
                name,
                csv: PathBuf::new(),
                rows,
                hadm_id: vec![],
                label_hadm_id: vec![],
                label: vec![],
                labs_percentiles: vec![],
                labs_missingness: vec![],
                cxr_groups: vec![],
                ecg_groups: vec![],
                crops: None,
                resized: vec![],
                ecg_shape: (0, 0),
            })
            .collect();
        assert_eq!(
            metadata_json(&plans, &cfg),
            "{\n    \"train size\": 13,\n    \"val size\": 3,\n    \"val retrieval size\": 9,\n    \"test size\": 12,\n    \"cxr_scale\": 64,\n    \"cxr_crop\": 64\n}"
        );
    }

    #[test]
    fn csv_paths_resolve_against_data_dir() {
        let mut cfg = TensorsConfig::new("/d", "/e", "/c");
        cfg.test_csv = "/abs/test.csv".into();
        assert_eq!(cfg.csv(Split::ValRetrieval), PathBuf::from("/d/val_retrieval.csv"));
        assert_eq!(cfg.csv(Split::Test), PathBuf::from("/abs/test.csv"));
    }
}
