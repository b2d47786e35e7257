//! All three stages in a row into one directory, resumable.
//!
//! The output directory is locked for the whole build (one writer per
//! directory); each stage commits its outputs, `recipe.toml` and
//! `SHA256SUMS.txt` with them, all at once, so a build stopped at any point
//! leaves complete stages and nothing half-written. Each stage's manifest
//! ([`crate::manifest`]) keys on the recipe sections it depends on, so
//! changing a window redoes stage 1 and everything after it, changing the
//! crop only stage 3.

use std::path::{Path, PathBuf};

use dataset_layout::{COHORT_CSV, COHORT_PARQUET, LABS_MEANS, Split};
use progress::Progress;
use recipe::{Recipe, Requested};
use serde::Serialize;

use crate::PipelineError;
use crate::inputs::InputSpec;
use crate::manifest::{Stage, Stages};
use crate::stages::{self, Adopt, SeedChoice, TensorsInputs};

/// What a build takes.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    /// The MIMIC input; empty: the embedded demo (see `demo_cache`).
    pub inputs: InputSpec,
    /// The dataset directory.
    pub out: PathBuf,
    /// The recipe asked for.
    pub recipe: Requested,
    /// The download plan the input was fetched by (stage 1's `plan`).
    pub plan: Option<PathBuf>,
    /// Redo every stage even when its manifest matches.
    pub force: bool,
    /// Keep `<out>/SHA256SUMS.txt`.
    pub checksums: durable::Checksums,
    /// Free bytes to assume under `out` instead of asking the filesystem.
    pub free_space: Option<u64>,
    /// Where the demo input is cached when `inputs` names nothing; `None`
    /// then is an error.
    pub demo_cache: Option<PathBuf>,
}

impl BuildRequest {
    /// The published recipe from `inputs` into `out`, checksums kept.
    pub fn new(inputs: InputSpec, out: impl Into<PathBuf>) -> Self {
        Self {
            inputs,
            out: out.into(),
            recipe: Requested::published(),
            plan: None,
            force: false,
            checksums: durable::Checksums::Update,
            free_space: None,
            demo_cache: None,
        }
    }
}

/// What a build produced.
#[derive(Debug, Clone, Serialize)]
pub struct BuildSummary {
    /// The dataset directory.
    pub out: PathBuf,
    /// Rows of the cohort.
    pub cohort_rows: Option<u64>,
    /// Stages that ran.
    pub stages_run: Vec<String>,
    /// Stages skipped as up to date.
    pub stages_skipped: Vec<String>,
    /// The summaries of the stages that ran.
    pub reports: Vec<String>,
    /// The recipe that built the dataset (`<out>/recipe.toml`).
    #[serde(skip)]
    pub recipe: Recipe,
    /// The demo input used, when no MIMIC input was named.
    pub demo_input: Option<PathBuf>,
}

/// Every file stage 3 leaves for a format: the tensors, `metadata.json`,
/// the recipe, the card and (with checksums) the Croissant file.
fn tensor_outputs(out: &Path, format: dataset_layout::Format, checksums: durable::Checksums) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = dataset_layout::tensor_outputs(format).iter().map(|p| out.join(p)).collect();
    v.extend([recipe::RECIPE_FILE, dataset_layout::CARD].map(|f| out.join(f)));
    if checksums == durable::Checksums::Update {
        v.push(out.join(dataset_layout::CROISSANT));
    }
    v
}

/// Runs cohort → splits → tensors into `req.out`, skipping stages whose
/// manifests still match.
pub fn build(req: &BuildRequest, progress: &dyn Progress) -> Result<BuildSummary, PipelineError> {
    req.recipe.validate()?;
    let out = &req.out;
    let _lock = durable::DirLock::acquire(out)?;
    let mut inputs = req.inputs.clone();
    let mut demo_input = None;
    if inputs.is_empty() {
        let cache = req.demo_cache.as_ref().ok_or(PipelineError::NoInput {
            needs: "a MIMIC download root or the three project directories (no demo cache is set)",
        })?;
        let dir = crate::demo::demo_input(cache)?;
        inputs.mimic_root = Some(dir.clone());
        demo_input = Some(dir);
    }
    let dirs = inputs.resolve()?;
    let recipe = &req.recipe.recipe;
    let mut stages = Stages::new(out, req.force, progress);

    let cohort_csv = out.join(COHORT_CSV);
    let tables = dirs.tables();
    let mut key = serde_json::json!({"hosp": dirs.hosp, "cxr": dirs.cxr, "ecg": dirs.ecg,
                                     "versions": dirs.versions, "cohort": recipe.cohort});
    if let Some(plan) = &req.plan {
        key["plan"] = serde_json::json!(plan);
    }
    // The demo's rows are synthetic: its cohort report says so, and so does the
    // card stage 3 writes from it. (In the key only then, so that the manifest
    // of a real input keeps its bytes; a cohort built before it was recorded
    // is built again.)
    let input = if demo_input.is_some() { cohort::Input::SyntheticDemo } else { cohort::Input::Mimic };
    if input == cohort::Input::SyntheticDemo {
        key["synthetic"] = serde_json::json!(true);
    }
    stages.run(
        Stage { name: "cohort", key, inputs: &tables, outputs: vec![cohort_csv.clone(), out.join(COHORT_PARQUET)] },
        || {
            let r = stages::cohort_of(&dirs, input, out, &req.recipe, req.plan.clone(), req.checksums, progress)?;
            Ok(r.summary())
        },
    )?;
    if stages.skipped("cohort") && req.plan.is_none() {
        warn_if_kept_cohort_saw_absent_files(out);
    }

    let rows = count_rows(&cohort_csv)?;
    let mut split_outputs: Vec<PathBuf> = Split::ALL.iter().map(|s| out.join(s.csv())).collect();
    split_outputs.push(out.join(LABS_MEANS));
    let key = serde_json::json!({"labs": recipe.cohort.labs, "splits": recipe.splits});
    stages.run(
        Stage { name: "splits", key, inputs: std::slice::from_ref(&cohort_csv), outputs: split_outputs.clone() },
        || {
            let r = stages::splits(&cohort_csv, out, &req.recipe, Adopt::Earlier, SeedChoice::Recipe, req.checksums)?;
            Ok(r.summary())
        },
    )?;

    let key = serde_json::json!({"cxr": dirs.cxr, "ecg": dirs.ecg, "recipe": recipe});
    stages.run(
        Stage {
            name: "tensors",
            key,
            inputs: &split_outputs,
            outputs: tensor_outputs(out, recipe.tensors.format, req.checksums),
        },
        || {
            let inputs = TensorsInputs {
                data_dir: out.clone(),
                ecg_dir: dirs.ecg.clone(),
                cxr_dir: dirs.cxr.clone(),
                files: None,
                free_space: req.free_space,
            };
            let r = stages::tensors(&inputs, &req.recipe, Adopt::Earlier, req.checksums, progress)?;
            Ok(r.summary())
        },
    )?;
    let built = Requested::recorded(out)?.map(|r| r.recipe).unwrap_or_else(|| recipe.clone());
    let log = stages.log;
    Ok(BuildSummary {
        out: out.clone(),
        cohort_rows: Some(rows),
        stages_run: log.run,
        stages_skipped: log.skipped,
        reports: log.reports,
        recipe: built,
        demo_input,
    })
}

/// Files may have been absent when a kept cohort was built; say so on every
/// build that keeps it.
fn warn_if_kept_cohort_saw_absent_files(out: &Path) {
    let old: Option<serde_json::Value> =
        std::fs::read(out.join(dataset_layout::COHORT_REPORT)).ok().and_then(|b| serde_json::from_slice(&b).ok());
    let absent = |k: &str| old.as_ref().and_then(|r| r[k].as_u64()).unwrap_or(0);
    if absent("cxr_candidates_absent") + absent("ecg_records_absent") > 0 {
        tracing::warn!(
            "the cohort kept from an earlier build was built while {} in-window CXR image(s) and {} ECG record(s) \
             were absent on disk; if the download was incomplete, it differs from one built from the complete \
             archive: rebuild with force and the download plan (see `symile-mimic plan`)",
            absent("cxr_candidates_absent"),
            absent("ecg_records_absent")
        );
    }
}

/// Data rows of a CSV (lines after the header).
pub fn count_rows(path: &Path) -> Result<u64, PipelineError> {
    let mut t = mimic_io::table::TableReader::open(path)?;
    let mut rec = csv::ByteRecord::new();
    let mut n = 0;
    while t.next_record(&mut rec)? {
        n += 1;
    }
    Ok(n)
}

impl BuildSummary {
    /// A human summary: stage reports, then where everything is.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for r in &self.reports {
            s.push_str(r);
            s.push('\n');
        }
        if !self.stages_skipped.is_empty() {
            s.push_str(&format!("up to date, not rerun: {}\n", self.stages_skipped.join(", ")));
        }
        let o = self.out.display();
        s.push_str(&format!(
            "outputs in {o}:\n  cohort   {o}/symile_mimic_data.csv (+ .parquet, cohort_report.json){}\n  splits   {o}/{{train,val,val_retrieval,test}}.csv, labs_means.json, splits_report.json\n  tensors  {o}/{{train,val,val_retrieval,test}}/, metadata.json\n  recipe   {o}/recipe.toml\n",
            self.cohort_rows.map(|n| format!(", {n} rows")).unwrap_or_default()
        ));
        s
    }
}
