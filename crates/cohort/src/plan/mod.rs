//! The download plan: the image and ECG files stage 1 can look at, known
//! from the tables alone.
//!
//! A complete MIMIC-CXR-JPG is ~570 GB and MIMIC-IV-ECG ~90 GB, while the
//! cohort uses one image and one ECG per admission. Stage 1 looks at files
//! only for the admissions that can reach the cohort ([`crate::reach`]): for
//! each, the in-window AP/PA images earliest first up to the first that
//! exists, and the in-window `record_list` records earliest first up to the
//! first valid one. Which of them exist and are valid is unknown before the
//! download, so the plan takes all of them; a download holding those files
//! (plus the tables) then builds byte-identical outputs to a complete one,
//! even where the archive lacks a file its metadata lists: both skip it the
//! same way. `minimal` takes only the image that would be chosen if every
//! listed file existed (passing over those `absent.txt` already records),
//! and the ECG records of the admissions whose image has CheXpert labels.
//!
//! A plan directory holds the two lists (paths relative to each project's
//! root, sorted), `download.sh` (resumable `wget`), `plan.json` (releases,
//! rules, counts, table sizes) and, for a minimal plan, the chosen image of
//! each admission. `download.sh` appends the files the server lacks to
//! `absent.txt`; [`require_downloaded`] (stage 1's `--plan`) and [`check`]
//! read the directory back.
//!
//! One job a module: `make` makes and writes a plan, `report` is `plan.json`,
//! `summary` says a plan in words, `read` reads a plan directory back and
//! `check` verifies a download against it. This module holds the file names
//! and what they share.

mod check;
mod make;
mod read;
mod report;
mod summary;

use std::io::Write;
use std::path::{Path, PathBuf};

use durable::{AtomicFile, Transaction};
use mimic_io::discover::{CxrTables, Project};

use crate::CohortError;

pub use check::{CheckConfig, CheckMethod, CheckReport, JpegCheck, Verdict, check};
pub use make::{PlanConfig, make_plan};
pub use read::{Download, Plan, PlanStatus, require_downloaded};
pub use report::{ArchiveShare, PlanAdmissions, PlanReport, PlanRules, PlannedTable};
pub use summary::thousands;

/// `plan.json`: releases, rules, counts and the tables the plan was made from.
pub const PLAN_JSON: &str = "plan.json";
/// The MIMIC-CXR-JPG files to fetch, relative to the project's root.
pub const CXR_LIST: &str = "mimic-cxr-jpg.txt";
/// The MIMIC-IV-ECG files to fetch (`.hea` and `.dat`), relative to the project's root.
pub const ECG_LIST: &str = "mimic-iv-ecg.txt";
/// The fetching script.
pub const DOWNLOAD_SH: &str = "download.sh";
/// Files the server answered 404 for, as `<project>/<version>/<path>`; appended by `download.sh`.
pub const ABSENT: &str = "absent.txt";
/// URLs of files [`check`] found missing, truncated or corrupt, for `wget -i`.
pub const REFETCH: &str = "refetch.txt";
/// A minimal plan's chosen image per admission (`hadm_id,subject_id,path`).
pub const CHOSEN: &str = "chosen-images.csv";
/// Where PhysioNet serves projects (`<base>/files/<project>/<version>/`).
pub const PHYSIONET: &str = "https://physionet.org";

/// The tables of the download, relative to each project's root, with the
/// directory that holds them.
fn tables_of(hosp: &Path, cxr: &Path, ecg: &Path, cxr_tables: &CxrTables) -> Vec<(Project, String, PathBuf)> {
    use mimic_io::layout as l;
    let mut v: Vec<(Project, String, PathBuf)> = [l::PATIENTS, l::ADMISSIONS, l::LABEVENTS]
        .iter()
        .map(|t| (Project::MimicIv, format!("hosp/{t}"), hosp.join(t)))
        .collect();
    for t in [&cxr_tables.metadata, &cxr_tables.chexpert] {
        v.push((Project::CxrJpg, t.clone(), cxr.join(t)));
    }
    v.push((Project::IvEcg, l::ECG_RECORD_LIST.to_string(), ecg.join(l::ECG_RECORD_LIST)));
    v
}

/// Writes `text` to a temporary for `path` and stages it in `tx`.
fn stage_text(tx: &mut Transaction, path: &Path, text: &str, executable: bool) -> Result<(), CohortError> {
    let mut f = AtomicFile::create(path)?;
    f.write_all(text.as_bytes()).map_err(|e| f.write_error(e))?;
    if executable {
        use std::os::unix::fs::PermissionsExt;
        f.file().set_permissions(std::fs::Permissions::from_mode(0o755)).map_err(crate::io_err(path))?;
    }
    tx.stage(f);
    Ok(())
}
