//! Resumable stages: each stage of a build writes
//! `<out>/.symile-build/<stage>.json` — the tool version, what the stage was
//! keyed on (its recipe sections and input directories), and the size and
//! modification time of each input table and each output it wrote. A rerun
//! skips a stage whose manifest still matches and redoes one that does not,
//! and everything after it.
//!
//! Image and ECG record files are not listed: there can be a million of
//! them, and stages read them only through the tables, which are.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use progress::Progress;
use serde::{Deserialize, Serialize};

use crate::PipelineError;

/// A file as a manifest remembers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct FileStamp {
    path: PathBuf,
    size: u64,
    mtime_ns: u128,
}

/// `<stage>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct StageManifest {
    tool_version: String,
    /// What the stage was run with (renamed from the flags it once was).
    #[serde(alias = "flags")]
    key: serde_json::Value,
    inputs: Vec<FileStamp>,
    outputs: Vec<FileStamp>,
}

fn stamp(path: &Path) -> Result<FileStamp, PipelineError> {
    let meta = fs::metadata(path).map_err(|source| PipelineError::Io { path: path.to_path_buf(), source })?;
    let mtime_ns = meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
    Ok(FileStamp { path: path.to_path_buf(), size: meta.len(), mtime_ns })
}

fn stamps(paths: &[PathBuf]) -> Result<Vec<FileStamp>, PipelineError> {
    paths.iter().map(|p| stamp(p)).collect()
}

/// What became of each stage of a build.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StageLog {
    /// Stages that ran, in order.
    pub run: Vec<String>,
    /// Stages skipped as up to date.
    pub skipped: Vec<String>,
    /// The summaries of the stages that ran.
    pub reports: Vec<String>,
}

impl StageLog {
    fn done(&self) -> String {
        let mut done = self.skipped.clone();
        done.extend(self.run.iter().cloned());
        if done.is_empty() { "none".to_string() } else { done.join(", ") }
    }
}

/// Runs stages unless their manifests show the same key, inputs and outputs.
pub(crate) struct Stages<'a> {
    dir: PathBuf,
    force: bool,
    dirty: bool,
    pub log: StageLog,
    progress: &'a dyn Progress,
}

/// One stage to run: its name, key, input tables and outputs.
pub(crate) struct Stage<'a> {
    pub name: &'static str,
    pub key: serde_json::Value,
    pub inputs: &'a [PathBuf],
    pub outputs: Vec<PathBuf>,
}

impl<'a> Stages<'a> {
    pub fn new(out: &Path, force: bool, progress: &'a dyn Progress) -> Self {
        Self { dir: out.join(dataset_layout::BUILD_DIR), force, dirty: false, log: StageLog::default(), progress }
    }

    /// Runs `work` (returning its summary) unless `stage` is up to date.
    pub fn run(
        &mut self,
        stage: Stage<'_>,
        work: impl FnOnce() -> Result<String, PipelineError>,
    ) -> Result<(), PipelineError> {
        let name = stage.name;
        let manifest_path = self.dir.join(format!("{name}.json"));
        let current_inputs = stamps(stage.inputs)?;
        let old: Option<StageManifest> =
            fs::read_to_string(&manifest_path).ok().and_then(|text| serde_json::from_str(&text).ok());
        if let Some(old) = old.filter(|_| !self.force && !self.dirty) {
            let same_outputs = stamps(&stage.outputs).is_ok_and(|o| o == old.outputs);
            if old.tool_version == env!("CARGO_PKG_VERSION")
                && old.key == stage.key
                && old.inputs == current_inputs
                && same_outputs
            {
                tracing::info!("{name}: up to date (manifest {}), skipped", manifest_path.display());
                self.log.skipped.push(name.to_string());
                return Ok(());
            }
        }
        // Anything after a stage that runs must run too.
        self.dirty = true;
        if self.progress.cancelled() {
            return Err(PipelineError::Stopped { before: name, done: self.log.done() });
        }
        let _ = fs::remove_file(&manifest_path);
        let report = work().map_err(|source| PipelineError::Stage {
            stage: name,
            done: self.log.done(),
            source: Box::new(source),
        })?;
        self.log.reports.push(report);
        let manifest = StageManifest {
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            key: stage.key,
            inputs: current_inputs,
            outputs: stamps(&stage.outputs)?,
        };
        fs::create_dir_all(&self.dir).map_err(|source| PipelineError::Io { path: self.dir.clone(), source })?;
        let text = serde_json::to_string_pretty(&manifest).expect("a manifest serialises");
        durable::write_atomic(&manifest_path, text.as_bytes())?;
        self.log.run.push(name.to_string());
        Ok(())
    }

    /// Whether `name` was skipped as up to date.
    pub fn skipped(&self, name: &str) -> bool {
        self.log.skipped.iter().any(|s| s == name)
    }
}
