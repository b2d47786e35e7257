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

mod error;
mod labs;
mod plan;
mod report;
mod write;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use mimic_io::atomic::{TEMP_PREFIX, remove_stale_temps, write_atomic};
use mimic_io::progress::Progress;
use mimic_io::pyfmt::{PyJsonValue, py_json_object};

pub use error::TensorsError;
pub use plan::SPLITS;
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
    /// Shorter edge after resizing.
    pub cxr_scale: u32,
    /// Side of the square crop; at most `cxr_scale`.
    pub cxr_crop: u32,
    /// Output file format.
    pub format: tensor_store::Format,
    /// Source of the train crop offsets.
    pub crop_rng: cxr_prep::CropRng,
    /// Make flat/NaN ECG records an error instead of a reported NaN row.
    pub strict: bool,
}

impl TensorsConfig {
    /// The reference's defaults: `labs_means.json`, `<split>.csv`, scale and
    /// crop 320, safetensors, ChaCha crops with seed 0, not strict.
    pub fn new(data_dir: impl Into<PathBuf>, ecg_dir: impl Into<PathBuf>, cxr_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            ecg_dir: ecg_dir.into(),
            cxr_dir: cxr_dir.into(),
            labs_means: "labs_means.json".into(),
            train_csv: "train.csv".into(),
            val_csv: "val.csv".into(),
            val_retrieval_csv: "val_retrieval.csv".into(),
            test_csv: "test.csv".into(),
            cxr_scale: 320,
            cxr_crop: 320,
            format: tensor_store::Format::Safetensors,
            crop_rng: cxr_prep::CropRng::ChaCha { seed: 0 },
            strict: false,
        }
    }

    /// The CSV of `split` (one of [`SPLITS`]), resolved against `data_dir`.
    fn csv(&self, split: &str) -> PathBuf {
        let rel = match split {
            "train" => &self.train_csv,
            "val" => &self.val_csv,
            "val_retrieval" => &self.val_retrieval_csv,
            _ => &self.test_csv,
        };
        self.data_dir.join(rel)
    }
}

/// Builds every split's tensors and `metadata.json`. On error nothing of this
/// run is left in `data_dir`: no tensor file, no `metadata.json`, no split
/// directory it created (files of an earlier run are left untouched).
pub fn run(cfg: &TensorsConfig, progress: &dyn Progress) -> Result<TensorsReport, TensorsError> {
    let started = Instant::now();
    if cfg.cxr_scale == 0 || cfg.cxr_crop == 0 {
        return Err(TensorsError::ZeroSize { scale: cfg.cxr_scale, crop: cfg.cxr_crop });
    }
    if cfg.cxr_crop > cfg.cxr_scale {
        return Err(TensorsError::CropLargerThanScale { crop: cfg.cxr_crop, scale: cfg.cxr_scale });
    }

    // Phase 1: read and check everything; no file is created.
    let labs = LabsMeans::read(&cfg.data_dir.join(&cfg.labs_means))?;
    let mut plans: Vec<SplitPlan> =
        SPLITS.iter().map(|&s| plan::read_split(s, &cfg.csv(s), cfg, &labs)).collect::<Result<_, _>>()?;
    let mut sampler = cxr_prep::CropSampler::new(&cfg.crop_rng);
    for p in &mut plans {
        let is_train = p.name == "train";
        plan::check_inputs(p, cfg, is_train.then_some(&mut sampler))?;
    }
    let check_seconds = started.elapsed().as_secs_f64();
    tracing::debug!(check_seconds, "inputs checked");

    // Phase 2: write, keeping every file temporary until all splits succeed.
    let mut created_dirs = Vec::new();
    let written = write_all(&plans, cfg, progress, &mut created_dirs);
    let (reports, stale) = match written {
        Ok(r) => r,
        Err(e) => {
            // Temporaries are gone (dropped); leave no directory we made either.
            for dir in created_dirs.iter().rev() {
                let _ = fs::remove_dir(dir);
            }
            return Err(e);
        }
    };

    let metadata = cfg.data_dir.join("metadata.json");
    write_atomic(&metadata, metadata_json(&plans, cfg).as_bytes())?;
    Ok(TensorsReport {
        splits: reports,
        metadata: metadata.display().to_string(),
        stale_temps_removed: stale.iter().map(|p| p.display().to_string()).collect(),
        check_seconds,
        total_seconds: started.elapsed().as_secs_f64(),
    })
}

/// Writes every split and puts the files in place once all have succeeded;
/// records the split directories it had to create in `created_dirs`.
fn write_all(
    plans: &[SplitPlan],
    cfg: &TensorsConfig,
    progress: &dyn Progress,
    created_dirs: &mut Vec<PathBuf>,
) -> Result<(Vec<SplitReport>, Vec<PathBuf>), TensorsError> {
    let mut stale = remove_stale_metadata_temps(&cfg.data_dir)?;
    let mut pending = Vec::new();
    let mut reports = Vec::new();
    for p in plans {
        let dir = cfg.data_dir.join(p.name);
        if !dir.is_dir() {
            fs::create_dir_all(&dir).map_err(|source| TensorsError::Io { path: dir.clone(), source })?;
            created_dirs.push(dir.clone());
        }
        stale.extend(remove_stale_temps(&dir).map_err(|source| TensorsError::Io { path: dir.clone(), source })?);
        let (files, report) = write::write_split(p, &dir, cfg, progress)?;
        pending.push(files);
        reports.push(report);
    }
    for (files, report) in pending.into_iter().zip(&mut reports) {
        for f in files {
            report.files.push(f.finish()?.display().to_string());
        }
    }
    Ok((reports, stale))
}

/// `metadata.json` exactly as the reference's `json.dump(..., indent=4)`.
fn metadata_json(plans: &[SplitPlan], cfg: &TensorsConfig) -> String {
    let size = |name: &str| plans.iter().find(|p| p.name == name).map_or(0, |p| p.rows as i64);
    let entries = [
        ("train size", PyJsonValue::Int(size("train"))),
        ("val size", PyJsonValue::Int(size("val"))),
        ("val retrieval size", PyJsonValue::Int(size("val_retrieval"))),
        ("test size", PyJsonValue::Int(size("test"))),
        ("cxr_scale", PyJsonValue::Int(cfg.cxr_scale.into())),
        ("cxr_crop", PyJsonValue::Int(cfg.cxr_crop.into())),
    ];
    let entries: Vec<(String, PyJsonValue)> = entries.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    py_json_object(&entries)
}

/// Removes temporaries of `metadata.json` left in `data_dir` by a killed run.
/// Only our own temp names for that one file are touched: `data_dir` also
/// holds the earlier stages' outputs, which other runs may be writing.
fn remove_stale_metadata_temps(data_dir: &Path) -> Result<Vec<PathBuf>, TensorsError> {
    let io_err = |source| TensorsError::Io { path: data_dir.to_path_buf(), source };
    let mut removed = Vec::new();
    for entry in fs::read_dir(data_dir).map_err(io_err)? {
        let entry = entry.map_err(io_err)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(TEMP_PREFIX)
            && name.ends_with(".metadata.json")
            && entry.file_type().map_err(io_err)?.is_file()
        {
            fs::remove_file(entry.path()).map_err(io_err)?;
            removed.push(entry.path());
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_matches_the_reference_layout() {
        let mut cfg = TensorsConfig::new("/d", "/e", "/c");
        cfg.cxr_scale = 64;
        cfg.cxr_crop = 64;
        let plans: Vec<SplitPlan> = [("train", 13), ("val", 3), ("val_retrieval", 9), ("test", 12)]
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
        assert_eq!(cfg.csv("val_retrieval"), PathBuf::from("/d/val_retrieval.csv"));
        assert_eq!(cfg.csv("test"), PathBuf::from("/abs/test.csv"));
    }

    #[test]
    fn stale_metadata_temps_only_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let stale = dir.path().join(format!("{TEMP_PREFIX}1.0.metadata.json"));
        let other = dir.path().join(format!("{TEMP_PREFIX}1.1.train.csv"));
        fs::write(&stale, b"x").unwrap();
        fs::write(&other, b"y").unwrap();
        fs::write(dir.path().join("metadata.json"), b"z").unwrap();
        assert_eq!(remove_stale_metadata_temps(dir.path()).unwrap(), vec![stale.clone()]);
        assert!(!stale.exists() && other.exists() && dir.path().join("metadata.json").exists());
    }
}
