//! `symile-mimic plan`: the files of MIMIC-CXR-JPG and MIMIC-IV-ECG that
//! stage 1 can look at, from the tables alone, with a script that fetches
//! them; `plan --check` verifies a download against a plan.
//!
//! The rules live in `cohort::plan`, next to stage 1's; this module only
//! resolves the inputs, hands the JPEG header check to the library and
//! words the warning for a cohort built on absent files.

use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use cohort::plan::{CheckConfig, CheckReport, Download, PlanConfig, PlanReport};
use mimic_io::discover::VersionChoice;
use mimic_io::progress::Progress;
use serde::Serialize;

/// Flags of `symile-mimic plan`.
#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// A MIMIC download (or just its tables) in any layout `build --mimic-root` reads.
    #[arg(long = "mimic-root", alias = "mimic_root")]
    pub mimic_root: Option<PathBuf>,
    /// MIMIC-IV release: the one to take under --mimic-root, or the one the three directories hold [default: from
    /// the folder names, else 2.2].
    #[arg(long = "mimiciv-version", alias = "mimiciv_version")]
    pub mimiciv_version: Option<String>,
    /// MIMIC-CXR-JPG release (as --mimiciv-version) [default: from the folder names, else 2.0.0].
    #[arg(long = "cxr-version", alias = "cxr_version")]
    pub cxr_version: Option<String>,
    /// MIMIC-IV-ECG release (as --mimiciv-version) [default: from the folder names, else 1.0].
    #[arg(long = "ecg-version", alias = "ecg_version")]
    pub ecg_version: Option<String>,
    /// MIMIC-IV hosp directory (patients, admissions, labevents).
    #[arg(long = "mimiciv_hosp_dir", visible_alias = "mimiciv-hosp-dir")]
    pub mimiciv_hosp_dir: Option<PathBuf>,
    /// MIMIC-CXR-JPG directory (the metadata and CheXpert tables; no image needs to be there).
    #[arg(long = "cxr_data_dir", visible_alias = "cxr-data-dir")]
    pub cxr_data_dir: Option<PathBuf>,
    /// MIMIC-IV-ECG directory (record_list.csv; no record needs to be there).
    #[arg(long = "ecg_data_dir", visible_alias = "ecg-data-dir")]
    pub ecg_data_dir: Option<PathBuf>,
    /// The plan directory: mimic-cxr-jpg.txt, mimic-iv-ecg.txt, download.sh, plan.json.
    #[arg(long, default_value = "download-plan")]
    pub out: PathBuf,
    /// Take only the image stage 1 chooses if the archive holds every image its metadata lists (passing over
    /// those absent.txt records): smaller, but `plan --check` must then find no chosen image absent.
    #[arg(long)]
    pub minimal: bool,
    /// Verify the download at --mimic-root (or the three directories) against the plan in --out: by SHA-256
    /// where the project's SHA256SUMS.txt is there, else by structure. Writes refetch.txt; exit status 2 when a
    /// planned file is missing, truncated or corrupt.
    #[arg(long, conflicts_with = "minimal")]
    pub check: bool,
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

/// The folder holding `physionet.org/` when `dir` is a project folder of
/// PhysioNet's layout (`<X>/physionet.org/files/<project>/<version>`).
fn physionet_parent(dir: &Path) -> Option<PathBuf> {
    let dir = std::fs::canonicalize(dir).ok()?;
    let names: Vec<Component> = dir.components().collect();
    let n = names.len();
    (n >= 5 && names[n - 4].as_os_str() == "physionet.org" && names[n - 3].as_os_str() == "files")
        .then(|| names[..n - 4].iter().collect())
}

/// Runs `plan` or `plan --check`.
pub fn plan(args: &PlanArgs, progress: &dyn Progress) -> Result<PlanOutcome> {
    let choice = VersionChoice {
        mimiciv: args.mimiciv_version.clone(),
        cxr: args.cxr_version.clone(),
        ecg: args.ecg_version.clone(),
    };
    let dirs = crate::build::resolve_inputs(
        args.mimic_root.as_deref(),
        &choice,
        [&args.mimiciv_hosp_dir, &args.cxr_data_dir, &args.ecg_data_dir],
    )?;
    if args.check {
        let cfg = CheckConfig {
            plan_dir: args.out.clone(),
            download: Download {
                hosp: dirs.hosp,
                cxr: dirs.cxr,
                ecg: dirs.ecg,
                cxr_tables: dirs.cxr_tables,
                versions: dirs.versions,
            },
        };
        let jpeg = |p: &Path| cxr_prep::jpeg_dimensions(p).map(|_| ()).map_err(|e| e.to_string());
        let report = cohort::plan::check(&cfg, &jpeg, progress)
            .with_context(|| format!("checking the download against the plan in {}", args.out.display()))?;
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
            out_dir: args.out.clone(),
            minimal: args.minimal,
        },
        progress,
    )?;
    Ok(PlanOutcome::Made { plan: Box::new(report), dest })
}

/// Logs the warning of a cohort built while files it looked at are absent
/// and no download plan says the archive lacks them.
pub fn warn_absent(report: &cohort::CohortReport) {
    if let Some(w) = report.absent_files_warning() {
        tracing::warn!("{w}");
    }
}

/// `report`, after [`warn_absent`].
pub fn warned(report: cohort::CohortReport) -> cohort::CohortReport {
    warn_absent(&report);
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_serialise_with_the_command_and_the_mode() {
        let o = crate::app::Outcome::Plan(PlanOutcome::Checked(Box::default()));
        let v = serde_json::to_value(&o).unwrap();
        assert_eq!(v["command"], "plan");
        assert_eq!(v["mode"], "checked");
        assert!(v["missing"].is_array());
        assert!(o.summary().contains("checked 0 planned file(s)"));
    }

    #[test]
    fn the_physionet_parent_is_found_from_a_project_folder() {
        let d = tempfile::tempdir().unwrap();
        let cxr = d.path().join("physionet.org/files/mimic-cxr-jpg/2.0.0");
        std::fs::create_dir_all(&cxr).unwrap();
        assert_eq!(physionet_parent(&cxr), Some(std::fs::canonicalize(d.path()).unwrap()));
        assert_eq!(physionet_parent(d.path()), None);
    }
}
