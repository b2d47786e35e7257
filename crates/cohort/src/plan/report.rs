//! `plan.json`: what a plan takes of each archive, from which tables, for
//! which rules and releases. Written by [`super::make_plan`], read back by
//! [`super::Plan::load`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use mimic_io::discover::{Project, Releases};
use serde::{Deserialize, Serialize};

/// One table of the download, as the plan saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedTable {
    /// The project (its slug in JSON: `mimiciv`, `mimic-cxr-jpg`, `mimic-iv-ecg`).
    pub project: Project,
    /// Path relative to the project's root (`hosp/labevents.csv.gz`).
    pub path: String,
    /// Its size: a plan made from other tables may not be sufficient for these.
    pub bytes: u64,
}

/// What a plan takes of one archive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchiveShare {
    /// Project slug.
    pub project: String,
    /// Release.
    pub version: String,
    /// What `listed` and `planned` count: `images` or `records`.
    pub unit: String,
    /// Rows of the metadata table (every view) or of `record_list.csv`.
    pub listed: usize,
    /// Images or records planned.
    pub planned: usize,
    /// Files planned (an ECG record is a `.hea` and a `.dat`).
    pub files: usize,
    /// `planned / listed`.
    pub share: f64,
}

/// Admissions at each table-only filter (the first half of the cohort's attrition).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanAdmissions {
    /// Rows of admissions.csv.gz.
    pub read: usize,
    /// With an image of a kept view listed in the CXR window.
    pub with_cxr_candidate: usize,
    /// … one of which has CheXpert labels.
    pub with_chexpert_candidate: usize,
    /// … and an ECG record listed in the ECG window.
    pub with_ecg_candidate: usize,
    /// … and one of the labs in the labs window: the admissions planned for.
    pub planned: usize,
}

/// The rules a plan applied, in words, for whoever reads `plan.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanRules {
    /// Which admissions the plan fetches files for.
    pub admissions: String,
    /// Which images.
    pub cxr: String,
    /// Which ECG records.
    pub ecg: String,
}

/// A download plan; also `plan.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanReport {
    /// The tool and its version.
    pub tool: String,
    /// Made with `minimal`.
    pub minimal: bool,
    /// The plan is sufficient only if every image it takes is in the archive
    /// (true of minimal plans): `symile-mimic plan --check` names the
    /// admissions for which that turned out false.
    pub assumes_complete_archive: bool,
    /// Release of each project: the plan's URLs and paths.
    pub versions: Releases,
    /// Projects whose release was not known from the inputs' folders and
    /// was taken to be the published one.
    pub versions_assumed: Vec<String>,
    /// Where `download.sh` fetches from by default.
    pub base_url: String,
    /// The rules applied.
    pub rules: PlanRules,
    /// Stage 1's rules the plan is for (the recipe's `cohort` section): a
    /// cohort built with other rules looks at other files. A plan written
    /// before recipes existed is for the published rules.
    #[serde(default)]
    pub cohort: recipe::CohortRecipe,
    /// Admissions at each table-only filter.
    pub admissions: PlanAdmissions,
    /// The share of MIMIC-CXR-JPG.
    pub cxr: ArchiveShare,
    /// The share of MIMIC-IV-ECG.
    pub ecg: ArchiveShare,
    /// Images passed over because `absent.txt` records them (minimal plans).
    pub skipped_as_absent: usize,
    /// The tables the plan was made from, with their sizes.
    pub tables: Vec<PlannedTable>,
    /// Files of the plan directory: project → its list.
    pub lists: BTreeMap<Project, String>,
    /// The plan directory (not written).
    #[serde(skip)]
    pub out_dir: PathBuf,
    /// Wall time in seconds (printed, not written).
    #[serde(skip)]
    pub wall_seconds: f64,
}

impl PlanReport {
    /// The release planned for `project`.
    pub fn version(&self, project: Project) -> &str {
        self.versions.get(project).unwrap_or_default()
    }
}
