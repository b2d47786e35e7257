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
mod error;
mod labs;
mod plan;
mod report;
mod write;

use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
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
    let (reports, stale, finish_seconds) = match written {
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
        finish_seconds,
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
/// removed, and the seconds spent completing the files after their rows.
type Written = (Vec<SplitReport>, Vec<PathBuf>, f64);

/// Splits written at once (see `write::write_splits`): all of them, their
/// rows advancing together, so that their files' copying and hashing (each
/// file one core's work at a time) runs side by side on every core instead of
/// one split after the other. (Measured side by side on two cores, size A:
/// 1.03–1.06× the run without checksums with all four at once, 1.10–1.17×
/// two at a time, 1.13–1.30× one at a time; see `docs/benchmarks.md`.)
const TOGETHER: usize = Split::ALL.len();

/// The order the splits are written in: the largest first (a CXR tensor is
/// most of a split's bytes, and its hash, one thread's work, is the longest
/// chain of the run: started first, it ends first; written together, its
/// progress is the one shown live), ties in the splits' own order. The order
/// changes no byte of any output.
fn write_order(plans: &[SplitPlan], cfg: &TensorsConfig) -> Result<Vec<usize>, TensorsError> {
    let mut sized = Vec::with_capacity(plans.len());
    for (i, p) in plans.iter().enumerate() {
        sized.push((split_bytes(p, cfg)?, i));
    }
    sized.sort_by_key(|&(bytes, i)| (std::cmp::Reverse(bytes), i));
    Ok(sized.into_iter().map(|(_, i)| i).collect())
}

/// Writes every split (each file hashed as it is written when the checksums
/// are kept, see `tensor_store`'s streams), then commits all files with
/// `metadata.json`, the recipe and the cards in one transaction; records the
/// split directories it had to create in `created_dirs`.
fn write_all(
    plans: &[SplitPlan],
    cfg: &TensorsConfig,
    lock: &DirLock,
    progress: &dyn Progress,
    created_dirs: &mut Vec<PathBuf>,
) -> Result<Written, TensorsError> {
    let mut stale = lock.remove_stale_temps(&cfg.data_dir)?;
    let stop = AtomicBool::new(false);
    let kept = cfg.checksums == Checksums::Update;
    let options = tensor_store::WriteOptions { digest: kept, pool: Some(tensor_store::ChunkPool::new()) };
    let (to_finish, finish_queue) = mpsc::channel::<tensor_store::TensorFile>();
    let (written, finished) = std::thread::scope(|scope| {
        // A group's files are completed (their last chunks written and
        // hashed) and fsynced here, while the next group is written when the
        // splits are written in more than one: the device never waits for a
        // group's tail, and the commit's own fsync finds nothing left to
        // write.
        let finisher = scope.spawn(|| -> Result<Vec<(AtomicFile, Option<durable::Digest>)>, TensorsError> {
            let mut done = Vec::new();
            for file in finish_queue {
                if stop.load(Ordering::Relaxed) {
                    // Dropped unfinished: the temporaries go.
                    continue;
                }
                let (file, digest) = file.finish_digested()?;
                file.file()
                    .sync_data()
                    .map_err(|source| TensorsError::Io { path: file.temp_path().to_path_buf(), source })?;
                done.push((file, digest));
            }
            Ok(done)
        });
        let mut write = || -> Result<Vec<SplitReport>, TensorsError> {
            let mut reports = Vec::new();
            for group in write_order(plans, cfg)?.chunks(TOGETHER) {
                let mut dirs = Vec::with_capacity(group.len());
                for &i in group {
                    let dir = dataset_layout::split_dir(&cfg.data_dir, plans[i].name);
                    if !dir.is_dir() {
                        fs::create_dir_all(&dir).map_err(|source| TensorsError::Io { path: dir.clone(), source })?;
                        created_dirs.push(dir.clone());
                    }
                    stale.extend(lock.remove_stale_temps(&dir)?);
                    dirs.push(dir);
                }
                let jobs: Vec<write::SplitJob> = group
                    .iter()
                    .zip(&dirs)
                    .map(|(&i, dir)| write::SplitJob { plan: &plans[i], dir, dims: dims(&plans[i], cfg) })
                    .collect();
                for (files, mut report) in write::write_splits(&jobs, cfg, &options, progress)? {
                    for file in files {
                        report.files.push(file.dest().display().to_string());
                        // The finisher only stops early on an error, which its join reports.
                        let _ = to_finish.send(file);
                    }
                    reports.push(report);
                }
                if finisher.is_finished() {
                    // It failed: no point in writing the other splits.
                    break;
                }
            }
            // Reports in the splits' own order.
            reports.sort_by_key(|r| Split::ALL.iter().position(|s| s.name() == r.split));
            Ok(reports)
        };
        let written = write();
        if written.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        drop(to_finish);
        let waited = Instant::now();
        let finished = finisher.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let finish_seconds = waited.elapsed().as_secs_f64();
        tracing::debug!(finish_seconds, "files finished and synced");
        (written, finished.map(|f| (f, finish_seconds)))
    });
    let reports = written?;
    let (files, finish_seconds) = finished?;
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
    Ok((reports, stale, finish_seconds))
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
