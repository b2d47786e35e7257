//! Stage 1 of Symile-MIMIC: the cohort (`process_mimic_data.py` → `symile_mimic_data.csv`).
//!
//! One row per admission that has, at once, a chest X-ray of a kept view in
//! its window after admission (with CheXpert labels), a valid ECG in its
//! window and at least one of the labs in its window. The rules are the
//! recipe's cohort section ([`recipe::CohortRecipe`]); the published ones —
//! AP/PA, 24 h < Δ ≤ 72 h, ECG and the 50 labs within ±24 h — are its
//! default. The output is byte-identical to the reference's CSV (pandas dtype
//! and formatting quirks included), plus a typed Parquet copy, a JSON report
//! of the attrition at every step and the recipe (`recipe.toml`).
//!
//! The reference is O(admissions × table rows) and reads every ECG; here each
//! table is read once, events are grouped per subject and sorted by (time,
//! file order) so windows are binary searches, and `labevents` is one
//! streaming pass restricted to the admissions still in play. The tables
//! alone decide which admissions can reach the cohort (`reach`); only for
//! those are CXR files checked for existence and ECG records for validity,
//! and only when they are candidates (in time order, stopping at the first
//! that qualifies, each at most once). The same rules give the download plan
//! ([`plan`]): the files stage 1 can look at are known before any is
//! downloaded. Work is parallel across admissions but every per-admission
//! answer depends only on that admission, so outputs do not depend on the
//! thread count.

mod admissions;
mod cxr;
mod ecg;
mod error;
mod index;
mod labs;
mod output;
pub mod plan;
mod raw;
mod reach;

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use durable::{AtomicFile, DirLock, Transaction};
use mimic_io::discover::{CxrTables, Releases};
use progress::Progress;
use recipe::{CohortRecipe, Recipe};
use serde::Serialize;

/// Whether a run keeps its directory's `SHA256SUMS.txt` (a field of the config).
pub use durable::Checksums;
pub use error::CohortError;

use admissions::AdmCol;
use output::{Data, OutCol};

pub use dataset_layout::{COHORT_CSV, COHORT_PARQUET, COHORT_REPORT};

/// Inputs and options of the cohort stage.
#[derive(Debug, Clone)]
pub struct CohortConfig {
    /// The MIMIC-IV `hosp` directory: patients, admissions, labevents.
    pub hosp_dir: PathBuf,
    /// The MIMIC-CXR-JPG directory: CXR metadata, CheXpert labels, `files/…jpg`.
    pub cxr_dir: PathBuf,
    /// The MIMIC-IV-ECG directory: `record_list.csv` and WFDB records.
    pub ecg_dir: PathBuf,
    /// Where the outputs go (created if missing).
    pub save_dir: PathBuf,
    /// The build's recipe: its `cohort` section are the rules, and the whole
    /// of it is recorded as `save_dir/recipe.toml`.
    pub recipe: Recipe,
    /// Keep `save_dir/SHA256SUMS.txt` up to date with the outputs.
    pub checksums: Checksums,
    /// File names of the CXR tables; `None`: whichever `cxr_dir` holds
    /// (`mimic_io::discover::cxr_tables`), the 2.0.0 names first.
    pub cxr_tables: Option<CxrTables>,
    /// Release of each input for the report; `None`: read from the
    /// directory names (`mimic_io::discover::infer_versions`).
    pub versions: Option<Releases>,
    /// A download plan (`symile-mimic plan`'s directory) the inputs were
    /// fetched by: every file it lists must be on disk and non-empty, or
    /// recorded in its `absent.txt` as missing from the archive, before
    /// anything is written.
    pub plan: Option<PathBuf>,
}

/// Admissions left after each filter, in the order they are applied: first
/// the filters the tables decide, then those that look at files. (The
/// reference applies them in another order; each is a test of the admission
/// alone, so the rows are the same.) Every count before `with_cxr_in_window`
/// is the same for any download of the same tables, and the later ones are
/// the same for any download holding the files of a download plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Attrition {
    /// Rows of admissions.csv.gz.
    pub admissions_read: usize,
    /// With an image of a kept view listed in the metadata in the CXR window.
    pub with_cxr_candidate: usize,
    /// … one of which belongs to a study with CheXpert labels.
    pub with_chexpert_candidate: usize,
    /// … and with at least one ECG record listed in the ECG window.
    pub with_ecg_candidate: usize,
    /// … and with at least one of the labs in the labs window: the admissions
    /// that can reach the cohort, whose files are looked at.
    pub with_labs: usize,
    /// … whose earliest in-window image on disk exists (the chosen image).
    pub with_cxr_in_window: usize,
    /// … whose chosen image's study has CheXpert labels.
    pub after_chexpert_join: usize,
    /// … with a valid ECG (no NaN, not all zero) in the ECG window.
    pub with_valid_ecg: usize,
    /// Rows written.
    pub final_rows: usize,
}

/// Rows read from each input table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InputRows {
    pub patients: usize,
    pub admissions: usize,
    pub labevents: u64,
    pub cxr_metadata: usize,
    /// Metadata rows of a kept view (the published AP/PA).
    pub cxr_metadata_ap_pa: usize,
    pub cxr_chexpert: usize,
    pub ecg_record_list: usize,
}

/// What the cohort stage did; also written as `save_dir/cohort_report.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CohortReport {
    pub attrition: Attrition,
    /// Distinct subject_id among the final rows.
    pub unique_subjects: usize,
    /// In-window CXR candidates whose file existence was checked (those of
    /// admissions that can reach the cohort, earliest first, up to the first
    /// that exists).
    pub cxr_candidates_checked: usize,
    /// Of those, the images absent on disk. The reference skips them too,
    /// but a download that lacks an image the archive has builds another
    /// cohort than the complete download: see [`CohortReport::absent_files_warning`].
    pub cxr_candidates_absent: usize,
    /// ECG records opened to decide validity.
    pub ecg_records_opened: usize,
    /// Of those, records whose `.hea` or `.dat` is absent on disk (a failed
    /// run, or with `skip_unreadable_ecg` counted as invalid and listed in
    /// `ecg_unreadable_skipped`).
    pub ecg_records_absent: usize,
    /// Opened ECG records whose signal has a NaN.
    pub ecg_invalid_nan: usize,
    /// Opened ECG records whose signal is all zero.
    pub ecg_invalid_all_zero: usize,
    /// Unreadable candidate ECG records counted as invalid (`skip_unreadable_ecg`).
    pub ecg_unreadable_skipped: Vec<String>,
    /// labevents rows inside the labs window of a target admission.
    pub labevents_rows_in_window: u64,
    pub input_rows: InputRows,
    /// Some admission's subject is missing from patients (patients ints print as floats).
    pub patients_join_gap: bool,
    /// Some admission has no valid ECG in its window (ecg_adm prints as a float).
    pub ecg_adm_float: bool,
    /// Temporary files of an interrupted earlier run removed from `save_dir`.
    pub stale_temps_removed: usize,
    /// Output files written, relative to `save_dir`.
    pub outputs: Vec<String>,
    /// Wall time of the stage in seconds (printed, not written: the report
    /// file is identical for identical inputs, like every other output).
    #[serde(skip)]
    pub wall_seconds: f64,
    /// Release of each input, where known: a cohort is only comparable with
    /// one built from the same releases. Left out when none is known.
    #[serde(skip_serializing_if = "Releases::is_empty")]
    pub versions: Releases,
    /// The input is the embedded synthetic demo ([`Input::SyntheticDemo`]),
    /// not MIMIC: the dataset card then says no row is patient data. Written
    /// only when true, so the report of a real input keeps its bytes.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub synthetic: bool,
    /// Absent files the download plan's `absent.txt` records as missing from
    /// the archive (so not a sign of an incomplete download). Not written:
    /// the report of a planned download equals that of a complete one.
    #[serde(skip)]
    pub absent_explained_by_plan: usize,
    /// The rules applied (for the summary; the dataset records them in `recipe.toml`).
    #[serde(skip)]
    pub rules: CohortRecipe,
}

impl CohortReport {
    /// A short human-readable summary for the CLI.
    pub fn summary(&self) -> String {
        let a = &self.attrition;
        let i = &self.input_rows;
        let r = &self.rules;
        let mut s = String::new();
        s.push_str(&format!(
            "inputs: {} patients, {} admissions, {} lab events, {} CXR images ({} {}), {} CheXpert studies, {} ECG records\n",
            i.patients,
            i.admissions,
            i.labevents,
            i.cxr_metadata,
            i.cxr_metadata_ap_pa,
            r.views_text(),
            i.cxr_chexpert,
            i.ecg_record_list
        ));
        let line = |what: String, n: usize| format!("  {what:<28}{n:>9}\n");
        s.push_str(&format!("admissions read               {:>9}\n", a.admissions_read));
        s.push_str(&line(format!("with a CXR listed {}", r.cxr_window_hours.describe(true)), a.with_cxr_candidate));
        s.push_str(&format!("  of a CheXpert-labelled study{:>9}\n", a.with_chexpert_candidate));
        s.push_str(&line(format!("with an ECG listed {}", r.ecg_window_hours.describe(false)), a.with_ecg_candidate));
        s.push_str(&line(format!("with labs {}", r.labs_window_hours.describe(false)), a.with_labs));
        s.push_str(&format!("  with the CXR on disk        {:>9}\n", a.with_cxr_in_window));
        s.push_str(&format!("  after the CheXpert join     {:>9}\n", a.after_chexpert_join));
        s.push_str(&format!("  with a valid ECG            {:>9}\n", a.with_valid_ecg));
        s.push_str(&format!("final rows                    {:>9} ({} subjects)\n", a.final_rows, self.unique_subjects));
        s.push_str(&format!(
            "CXR candidates checked {} (absent on disk {}); ECG records opened {} (absent on disk {}, NaN {}, all-zero {}, unreadable skipped {})\n",
            self.cxr_candidates_checked,
            self.cxr_candidates_absent,
            self.ecg_records_opened,
            self.ecg_records_absent,
            self.ecg_invalid_nan,
            self.ecg_invalid_all_zero,
            self.ecg_unreadable_skipped.len()
        ));
        s.push_str(&format!("wall time {:.1} s", self.wall_seconds));
        s
    }

    /// Files the cohort looked at that are absent on disk and that no
    /// download plan records as missing from the archive.
    pub fn unexplained_absent(&self) -> usize {
        (self.cxr_candidates_absent + self.ecg_records_absent).saturating_sub(self.absent_explained_by_plan)
    }

    /// The warning to give when the cohort looked at files that are absent
    /// on disk and no download plan says the archive lacks them: the
    /// reference skips absent images, so an incomplete download builds
    /// another cohort than the complete one, with no error.
    pub fn absent_files_warning(&self) -> Option<String> {
        if self.unexplained_absent() == 0 {
            return None;
        }
        Some(format!(
            "{} in-window CXR image(s) and {} candidate ECG record(s) that stage 1 looked at are absent on disk. \
             The reference skips an absent image (and takes the next one), so if the download is incomplete this \
             cohort differs from one built from the complete archive. To build from part of the archive, run \
             `symile-mimic plan`, fetch its files with the plan's download.sh (it records files the archive lacks \
             in absent.txt) and pass --plan <plan dir>: then a file not yet downloaded is an error.",
            self.cxr_candidates_absent, self.ecg_records_absent
        ))
    }
}

/// What the inputs of a run are, as its report records it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Input {
    /// MIMIC (or anything the caller does not vouch is synthetic).
    #[default]
    Mimic,
    /// The embedded synthetic demo (`synth`'s MIMIC-shaped generator): the
    /// report says `"synthetic": true`, and the dataset card says so.
    SyntheticDemo,
}

/// Builds the cohort from the MIMIC inputs named in `cfg` and writes
/// `symile_mimic_data.csv`, `symile_mimic_data.parquet` and `cohort_report.json`
/// to `cfg.save_dir`.
pub fn run(cfg: &CohortConfig, progress: &dyn Progress) -> Result<CohortReport, CohortError> {
    run_on(cfg, Input::Mimic, progress)
}

/// [`run`], saying what the inputs are (the report of
/// [`Input::SyntheticDemo`] records `"synthetic": true`; the rows are the same).
pub fn run_on(cfg: &CohortConfig, input: Input, progress: &dyn Progress) -> Result<CohortReport, CohortError> {
    run_with_checker(cfg, input, progress, &mimic_io::wfdb::record_validity)
}

/// What a filter that emptied the cohort tested, in the rules' own terms.
pub(crate) fn filter_text(rules: &CohortRecipe, filter: Filter) -> String {
    let views = rules.views_text();
    match filter {
        Filter::CxrWindow => {
            format!(
                "the CXR window (an image of view {views} listed with Δ in {})",
                rules.cxr_window_hours.describe(true)
            )
        }
        Filter::ChexpertCandidate => {
            format!("the CheXpert join (no in-window {views} image's study has a CheXpert row)")
        }
        Filter::EcgWindow => format!("the ECG window (a record with Δ in {})", rules.ecg_window_hours.describe(false)),
        Filter::LabsWindow => format!(
            "the labs window (one of the {} labs with Δ in {})",
            rules.labs.len(),
            rules.labs_window_hours.describe(false)
        ),
        Filter::CxrOnDisk => format!("the CXR window on disk (every in-window {views} image is absent)"),
        Filter::ChexpertJoin => "the CheXpert join (the chosen image's study has no CheXpert row)".to_string(),
        Filter::EcgValidity => "ECG validity (a record with no NaN that is not all zero)".to_string(),
        Filter::NoAdmissions => "admissions.csv.gz (it has no rows)".to_string(),
    }
}

/// The filters of stage 1, in the order they are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    NoAdmissions,
    CxrWindow,
    ChexpertCandidate,
    EcgWindow,
    LabsWindow,
    CxrOnDisk,
    ChexpertJoin,
    EcgValidity,
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> CohortError + '_ {
    move |source| CohortError::Io { path: path.to_path_buf(), source }
}

/// The six tables of stage 1 with the input directory that holds each.
pub(crate) fn input_tables(
    hosp: &Path,
    cxr: &Path,
    ecg: &Path,
    cxr_tables: &CxrTables,
) -> [(&'static str, PathBuf); 6] {
    use mimic_io::layout as l;
    [
        ("MIMIC-IV hosp", hosp.join(l::PATIENTS)),
        ("MIMIC-IV hosp", hosp.join(l::ADMISSIONS)),
        ("MIMIC-IV hosp", hosp.join(l::LABEVENTS)),
        ("MIMIC-CXR-JPG", cxr.join(&cxr_tables.metadata)),
        ("MIMIC-CXR-JPG", cxr.join(&cxr_tables.chexpert)),
        ("MIMIC-IV-ECG", ecg.join(l::ECG_RECORD_LIST)),
    ]
}

/// Fails with the directory and path of the first missing input file.
pub(crate) fn check_inputs(hosp: &Path, cxr: &Path, ecg: &Path, cxr_tables: &CxrTables) -> Result<(), CohortError> {
    for (dir, path) in input_tables(hosp, cxr, ecg, cxr_tables) {
        if !path.is_file() {
            return Err(CohortError::MissingInput { dir, path });
        }
    }
    Ok(())
}

pub(crate) fn nonempty(n: usize, rules: &CohortRecipe, filter: Filter, before: usize) -> Result<(), CohortError> {
    if n == 0 {
        Err(CohortError::EmptyCohort { filter, description: filter_text(rules, filter), before })
    } else {
        Ok(())
    }
}

/// The three tables of stage 1 that are read whole, and the table-only selection.
pub(crate) struct Tables {
    pub adm: admissions::Admissions,
    pub cxr: cxr::Cxr,
    pub ecgs: ecg::Ecgs,
    pub reach: reach::Reach,
}

/// Reads the tables and applies the filters they decide, failing like the
/// cohort does when one of them leaves no admission. `cancelled` is polled
/// between steps.
pub(crate) fn read_tables(
    hosp: &Path,
    cxr_dir: &Path,
    ecg_dir: &Path,
    cxr_tables: &CxrTables,
    rules: &CohortRecipe,
    progress: &dyn Progress,
) -> Result<Tables, CohortError> {
    let step = || if progress.cancelled() { Err(CohortError::Cancelled) } else { Ok(()) };
    let adm = admissions::read(hosp, progress)?;
    step()?;
    nonempty(adm.len(), rules, Filter::NoAdmissions, 0)?;
    let cxr = cxr::read(cxr_dir, cxr_tables, rules, progress)?;
    step()?;
    let ecgs = ecg::read(ecg_dir, rules.ecg_window_hours, progress)?;
    step()?;
    let reach = reach::reach(hosp, &adm, &cxr, &ecgs, rules, progress)?;
    step()?;
    nonempty(reach.with_cxr_candidate, rules, Filter::CxrWindow, adm.len())?;
    nonempty(reach.with_chexpert_candidate, rules, Filter::ChexpertCandidate, reach.with_cxr_candidate)?;
    nonempty(reach.targets.len(), rules, Filter::EcgWindow, reach.with_chexpert_candidate)?;
    nonempty(reach.reach.len(), rules, Filter::LabsWindow, reach.targets.len())?;
    Ok(Tables { adm, cxr, ecgs, reach })
}

/// [`run`] with the ECG validity check passed in (it is the only part that
/// reads WFDB records, and the only part worth parallelising).
pub(crate) fn run_with_checker(
    cfg: &CohortConfig,
    input: Input,
    progress: &dyn Progress,
    checker: ecg::Checker<'_>,
) -> Result<CohortReport, CohortError> {
    let started = Instant::now();
    let cxr_tables = cfg.cxr_tables.clone().unwrap_or_else(|| mimic_io::discover::cxr_tables(&cfg.cxr_dir));
    check_inputs(&cfg.hosp_dir, &cfg.cxr_dir, &cfg.ecg_dir, &cxr_tables)?;
    let versions = cfg
        .versions
        .clone()
        .unwrap_or_else(|| mimic_io::discover::infer_versions(&cfg.hosp_dir, &cfg.cxr_dir, &cfg.ecg_dir));
    let rules = &cfg.recipe.cohort;
    // A download plan is checked before anything is written: a file it
    // lists that is not on disk would change the cohort silently.
    let planned = match &cfg.plan {
        Some(dir) => Some(plan::require_downloaded(
            dir,
            &plan::Download {
                hosp: cfg.hosp_dir.clone(),
                cxr: cfg.cxr_dir.clone(),
                ecg: cfg.ecg_dir.clone(),
                cxr_tables: cxr_tables.clone(),
                versions: versions.clone(),
            },
            rules,
            progress,
        )?),
        None => None,
    };
    let save = &cfg.save_dir;
    // One writer per directory; outputs are replaced only by a complete run
    // (one commit at the end): a failed run leaves the directory as it was.
    let lock = DirLock::acquire(save)?;
    let stale_temps_removed = lock.remove_stale_temps(save)?.len();
    let step = |done: Result<(), CohortError>| if progress.cancelled() { Err(CohortError::Cancelled) } else { done };

    let Tables { adm, cxr, ecgs, reach } =
        read_tables(&cfg.hosp_dir, &cfg.cxr_dir, &cfg.ecg_dir, &cxr_tables, rules, progress)?;
    let mut rep = CohortReport {
        input_rows: InputRows {
            patients: adm.pat_rows,
            admissions: adm.len(),
            labevents: reach.labs.rows,
            cxr_metadata: cxr.meta_rows,
            cxr_metadata_ap_pa: cxr.subject.len(),
            cxr_chexpert: cxr.chex_rows,
            ecg_record_list: ecgs.len(),
        },
        patients_join_gap: adm.gap,
        stale_temps_removed,
        versions,
        labevents_rows_in_window: reach.labs.rows_in_window,
        rules: rules.clone(),
        synthetic: input == Input::SyntheticDemo,
        ..CohortReport::default()
    };
    let a = &mut rep.attrition;
    a.admissions_read = adm.len();
    a.with_cxr_candidate = reach.with_cxr_candidate;
    a.with_chexpert_candidate = reach.with_chexpert_candidate;
    a.with_ecg_candidate = reach.targets.len();
    a.with_labs = reach.reach.len();

    // The chosen image: the earliest in-window AP/PA image on disk, then the CheXpert inner join.
    let which = reach.admissions();
    let sel = cxr.select(&adm, &which, &cfg.cxr_dir, progress);
    step(Ok(()))?;
    rep.cxr_candidates_checked = sel.checked;
    rep.cxr_candidates_absent = sel.absent_rows.len();
    rep.attrition.with_cxr_in_window = which.iter().filter(|&&a| sel.chosen[a].is_some()).count();
    nonempty(rep.attrition.with_cxr_in_window, rules, Filter::CxrOnDisk, which.len())?;
    let with_chex: Vec<(usize, usize)> =
        reach.reach.iter().copied().filter(|&(a, _)| sel.chosen[a].is_some_and(|c| c.chexpert.is_some())).collect();
    rep.attrition.after_chexpert_join = with_chex.len();
    nonempty(with_chex.len(), rules, Filter::ChexpertJoin, rep.attrition.with_cxr_in_window)?;

    // ECG validity, lazily, only for admissions that have everything else.
    let which: Vec<usize> = with_chex.iter().map(|&(a, _)| a).collect();
    let chosen_ecg = ecgs.select(&adm, &which, rules.skip_unreadable_ecg, checker, progress)?;
    step(Ok(()))?;
    let rows: Vec<(usize, usize, u32)> =
        with_chex.iter().zip(&chosen_ecg).filter_map(|(&(a, slot), e)| e.map(|e| (a, slot, e))).collect();
    rep.attrition.with_valid_ecg = rows.len();
    rep.attrition.final_rows = rows.len();
    nonempty(rows.len(), rules, Filter::EcgValidity, with_chex.len())?;

    // pandas makes ecg_adm float when *any* admission read lacks a valid ECG.
    rep.ecg_adm_float = if !reach.every_admission_has_ecg_candidate || chosen_ecg.iter().any(Option::is_none) {
        true
    } else {
        let all: Vec<usize> = (0..adm.len()).collect();
        ecgs.select(&adm, &all, rules.skip_unreadable_ecg, checker, progress)?.iter().any(Option::is_none)
    };
    let counts = ecgs.counts();
    rep.ecg_records_opened = counts.opened;
    rep.ecg_records_absent = counts.absent;
    rep.ecg_invalid_nan = counts.has_nan;
    rep.ecg_invalid_all_zero = counts.all_zero;
    rep.ecg_unreadable_skipped = counts.unreadable;
    rep.unique_subjects = rows.iter().map(|&(a, ..)| adm.subject[a]).collect::<HashSet<_>>().len();
    if let Some(p) = &planned {
        let cxr_explained = sel.absent_rows.iter().filter(|&&r| p.absent_cxr(&cxr.rel_path(r))).count();
        let ecg_explained = counts.absent_rel.iter().filter(|rel| p.absent_ecg_record(rel)).count();
        rep.absent_explained_by_plan = cxr_explained + ecg_explained;
    }

    step(Ok(()))?;
    let cols = build_columns(&adm, &cxr, &sel, &ecgs, &reach.labs, &rules.labs, &rows, rep.ecg_adm_float);
    rep.outputs = dataset_layout::COHORT_OUTPUTS.iter().map(|s| s.to_string()).collect();
    let mut tx = Transaction::new(&lock, cfg.checksums);
    write_outputs(save, &cols, rows.len(), &mut tx)?;
    let json = serde_json::to_vec_pretty(&rep).map_err(|e| io_err(save)(e.into()))?;
    tx.stage(staged_file(&save.join(COHORT_REPORT), &json)?);
    tx.stage(staged_file(&save.join(recipe::RECIPE_FILE), recipe::render(&cfg.recipe).as_bytes())?);
    step(Ok(()))?;
    tx.commit()?;
    rep.wall_seconds = started.elapsed().as_secs_f64();
    tracing::info!(rows = rows.len(), seconds = rep.wall_seconds, "cohort written");
    Ok(rep)
}

/// An uncommitted output file holding `bytes`.
fn staged_file(path: &Path, bytes: &[u8]) -> Result<AtomicFile, CohortError> {
    let mut f = AtomicFile::create(path)?;
    f.write_all(bytes).map_err(|e| f.write_error(e))?;
    Ok(f)
}

/// Assembles the output columns in the reference's order for the final rows
/// `(admission, lab slot, ECG record)`; `lab_ids` are the recipe's labs.
#[allow(clippy::too_many_arguments)]
fn build_columns(
    adm: &admissions::Admissions,
    cxr: &cxr::Cxr,
    sel: &cxr::CxrSelection,
    ecgs: &ecg::Ecgs,
    labs: &labs::LabValues,
    lab_ids: &[u32],
    rows: &[(usize, usize, u32)],
    ecg_adm_float: bool,
) -> Vec<OutCol> {
    let adms = || rows.iter().map(|&(a, ..)| a);
    let cxr_row = |a: usize| sel.chosen[a].expect("final rows have a CXR").row;
    let chex_row = |a: usize| sel.chosen[a].and_then(|c| c.chexpert).expect("final rows have CheXpert labels");
    let mut cols = Vec::new();
    let mut extras = Vec::new();
    let suffixed =
        |name: &str, extra: bool, suffix: &str| if extra { format!("{name}{suffix}") } else { name.to_string() };
    let pat_cells =
        |col: usize| adms().map(move |a| adm.patient[a].map(|p| adm.pat_raw.cell(p as usize, col))).collect::<Vec<_>>();
    for (name, c) in &adm.columns {
        let col = match *c {
            AdmCol::Subject => OutCol::new(name, Data::Int(adms().map(|a| Some(adm.subject[a])).collect())),
            AdmCol::Hadm => OutCol::new(name, Data::Int(adms().map(|a| Some(adm.hadm[a])).collect())),
            AdmCol::Admittime => OutCol::new(name, Data::Time(adms().map(|a| Some(adm.admit[a])).collect())),
            AdmCol::Dischtime => OutCol::new(name, Data::Time(adms().map(|a| adm.disch[a]).collect())),
            AdmCol::Deathtime => OutCol::new(name, Data::Time(adms().map(|a| adm.death[a]).collect())),
            AdmCol::AdmRaw { col, extra } => {
                let make = |suffix| {
                    OutCol::from_raw(
                        suffixed(name, extra, suffix),
                        adm.adm_raw.kind(col),
                        false,
                        adms().map(|a| Some(adm.adm_raw.cell(a, col))),
                    )
                };
                if extra {
                    extras.push(make("_y"));
                }
                make("_x")
            }
            AdmCol::PatRaw { col, extra } => {
                let kind = adm.pat_raw.kind(col);
                let cells = pat_cells(col);
                let make =
                    |suffix| OutCol::from_raw(suffixed(name, extra, suffix), kind, adm.gap, cells.iter().copied());
                if extra {
                    extras.push(make("_y"));
                }
                make("_x")
            }
            AdmCol::AdmittimeYear => OutCol::new(name, Data::Int(adms().map(|a| Some(adm.admit[a].year())).collect())),
            AdmCol::Age => {
                let parts = |a: usize| {
                    adm.patient[a].and_then(|p| {
                        let p = p as usize;
                        Some((adm.anchor_age[p]?, adm.anchor_year[p]?, adm.admit[a].year()))
                    })
                };
                if adm.age_is_int() {
                    let v = adms().map(|a| parts(a).map(|(g, y, yr)| g as i64 + (yr - y as i64))).collect();
                    OutCol { name: name.clone(), data: Data::Int(v), int_as_float: adm.gap }
                } else {
                    let v = adms().map(|a| parts(a).map(|(g, y, yr)| g + (yr as f64 - y))).collect();
                    OutCol::new(name, Data::Float(v))
                }
            }
        };
        cols.push(col);
    }

    // CXR columns, then CheXpert (every column but subject_id, in file order).
    let dicom = |a: usize| Some(cxr.dicom.text(cxr_row(a)).into_owned());
    cols.push(OutCol::new("cxr_24_72_hr", Data::Text(adms().map(dicom).collect())));
    cols.push(OutCol::new("cxr_dicom_id", Data::Text(adms().map(dicom).collect())));
    cols.push(OutCol::new("cxr_study_id", Data::Int(adms().map(|a| Some(cxr.study[cxr_row(a) as usize])).collect())));
    cols.push(OutCol::new(
        "cxr_ViewPosition",
        Data::Text(adms().map(|a| Some(cxr.view.text(cxr_row(a)).into_owned())).collect()),
    ));
    cols.push(OutCol::from_raw(
        "cxr_ViewCodeSequence_CodeMeaning",
        cxr.meaning_kind,
        false,
        adms().map(|a| Some(cxr.meaning.get(cxr_row(a)))),
    ));
    cols.push(OutCol::new(
        "cxr_StudyDateTime",
        Data::Time(adms().map(|a| Some(cxr.time[cxr_row(a) as usize])).collect()),
    ));
    cols.push(OutCol::new("cxr_path", Data::Text(adms().map(|a| Some(cxr.rel_path(cxr_row(a)))).collect())));
    for (c, name) in cxr.chex.names.iter().enumerate() {
        cols.push(OutCol::from_raw(
            name.clone(),
            cxr.chex.kind(c),
            false,
            adms().map(|a| Some(cxr.chex.cell(chex_row(a) as usize, c))),
        ));
    }

    // Columns the reference does not know appear again from the ECG frame (pandas `_y`).
    cols.extend(extras);

    // ECG.
    let ecg_rows = || rows.iter().map(|&(.., e)| e);
    cols.push(OutCol {
        name: "ecg_adm".into(),
        data: Data::Int(ecg_rows().map(|e| Some(ecgs.study[e as usize])).collect()),
        int_as_float: ecg_adm_float,
    });
    cols.push(OutCol::new("ecg_study_id", Data::Int(ecg_rows().map(|e| Some(ecgs.study[e as usize])).collect())));
    cols.push(OutCol::from_raw(
        "ecg_file_name",
        ecgs.file_name_kind,
        false,
        ecg_rows().map(|e| Some(ecgs.file_name.get(e))),
    ));
    cols.push(OutCol::new("ecg_time", Data::Time(ecg_rows().map(|e| ecgs.time[e as usize]).collect())));
    cols.push(OutCol::from_raw("ecg_path", ecgs.path_kind, false, ecg_rows().map(|e| Some(ecgs.rel.get(e)))));

    // Labs, in the recipe's order, then labs_all_nan (0: every row has a lab).
    // The CXR column keeps the published name `cxr_24_72_hr` whatever the
    // window: downstream code reads it by that name.
    for (i, itemid) in lab_ids.iter().enumerate() {
        cols.push(OutCol::new(
            itemid.to_string(),
            Data::Float(rows.iter().map(|&(_, slot, _)| labs.of(slot)[i]).collect()),
        ));
    }
    cols.push(OutCol::new("labs_all_nan", Data::Int(vec![Some(0); rows.len()])));
    cols
}

/// Writes the CSV and the Parquet file and stages them in `tx`: they become
/// visible with the report, all together, when `tx` commits.
fn write_outputs(save: &Path, cols: &[OutCol], rows: usize, tx: &mut Transaction) -> Result<(), CohortError> {
    let csv_path = save.join(COHORT_CSV);
    let pq_path = save.join(COHORT_PARQUET);
    let mut csv_file = AtomicFile::create(&csv_path)?;
    {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, &mut csv_file);
        output::write_csv(cols, rows, &mut w).map_err(io_err(&csv_path))?;
        w.flush().map_err(io_err(&csv_path))?;
    }
    let mut pq_file = AtomicFile::create(&pq_path)?;
    output::write_parquet(cols, &mut pq_file, &pq_path)?;
    tx.stage(csv_file);
    tx.stage(pq_file);
    Ok(())
}
