//! The download plan: the files of MIMIC-CXR-JPG and MIMIC-IV-ECG that
//! stage 1 can look at under a recipe's rules, from the tables alone, and the
//! check of a download against a plan. The rules live in `cohort::plan`,
//! next to stage 1's; this resolves the inputs and hands the JPEG header
//! check to the library.

use std::path::{Path, PathBuf};

use cohort::plan::{CheckConfig, CheckReport, PlanConfig, PlanReport};
use errors::Chain;
use progress::Progress;
use serde::Serialize;

use crate::PipelineError;
use crate::inputs::{InputSpec, physionet_parent};

/// What `plan` takes.
#[derive(Debug, Clone)]
pub struct PlanRequest {
    /// The tables (or a whole download, for `check`).
    pub inputs: InputSpec,
    /// The plan directory.
    pub out: PathBuf,
    /// Only the image stage 1 chooses if the archive holds every listed image.
    pub minimal: bool,
    /// Check the download against the plan in `out` instead of making one.
    pub check: bool,
    /// Stage 1's rules to plan for (the recipe's `cohort` section).
    pub rules: recipe::CohortRecipe,
}

/// What `plan` did.
#[derive(Debug, Serialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum PlanOutcome {
    /// A plan was written.
    Made {
        /// The plan (`plan.json`).
        plan: Box<PlanReport>,
        /// Where `download.sh` puts the files next to the tables planned
        /// from, when those are in PhysioNet's layout.
        dest: Option<PathBuf>,
    },
    /// A download was checked.
    Checked(Box<CheckReport>),
}

impl PlanOutcome {
    /// The human summary.
    pub fn summary(&self) -> String {
        match self {
            PlanOutcome::Made { plan, dest } => {
                let d = dest.as_ref().map_or_else(|| "DEST".to_string(), |d| d.display().to_string());
                plan.summary_with_dest(&d)
            }
            PlanOutcome::Checked(r) => r.summary(),
        }
    }

    /// Why the command failed although it ran (a check that found bad files).
    pub fn failure(&self) -> Option<String> {
        match self {
            PlanOutcome::Checked(r) if !r.passed() => Some(format!(
                "the download is not complete for the plan: {} missing, {} truncated, {} corrupt, {} fallback(s) of a minimal plan",
                r.missing.len(),
                r.truncated.len(),
                r.corrupt.len(),
                r.fallbacks.len()
            )),
            _ => None,
        }
    }
}

/// Makes a plan, or checks a download against one.
pub fn plan(req: &PlanRequest, progress: &dyn Progress) -> Result<PlanOutcome, PipelineError> {
    let dirs = req.inputs.resolve()?;
    if req.check {
        let cfg = CheckConfig { plan_dir: req.out.clone(), download: dirs.download() };
        let jpeg = |p: &Path| cxr_prep::jpeg_dimensions(p).map(|_| ()).map_err(|e| Chain(&e).to_string());
        let report = cohort::plan::check(&cfg, &jpeg, progress)
            .map_err(|source| PipelineError::PlanCheck { plan: req.out.clone(), source: Box::new(source) })?;
        return Ok(PlanOutcome::Checked(Box::new(report)));
    }
    let dest = physionet_parent(&dirs.cxr);
    let report = cohort::plan::make_plan(
        &PlanConfig {
            hosp_dir: dirs.hosp,
            cxr_dir: dirs.cxr,
            ecg_dir: dirs.ecg,
            cxr_tables: Some(dirs.cxr_tables),
            versions: Some(dirs.versions),
            out_dir: req.out.clone(),
            minimal: req.minimal,
            rules: req.rules.clone(),
        },
        progress,
    )?;
    Ok(PlanOutcome::Made { plan: Box::new(report), dest })
}
