//! Making a plan: from the tables alone, the image and ECG files stage 1 can
//! look at, written with `download.sh`, `plan.json` and (minimal plans) the
//! chosen images as one commit.

use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;
use std::time::Instant;

use durable::{Checksums, DirLock, Transaction};
use mimic_io::discover::{CxrTables, Project, Releases};
use progress::Progress;

use super::report::{ArchiveShare, PlanAdmissions, PlanReport, PlanRules, PlannedTable};
use super::{ABSENT, CHOSEN, CXR_LIST, DOWNLOAD_SH, ECG_LIST, PHYSIONET, PLAN_JSON, read, stage_text, tables_of};
use crate::CohortError;

/// Inputs and options of [`make_plan`].
#[derive(Debug, Clone)]
pub struct PlanConfig {
    /// MIMIC-IV `hosp` directory (the tables).
    pub hosp_dir: PathBuf,
    /// MIMIC-CXR-JPG directory (the tables; no image needs to exist).
    pub cxr_dir: PathBuf,
    /// MIMIC-IV-ECG directory (`record_list.csv`; no record needs to exist).
    pub ecg_dir: PathBuf,
    /// File names of the CXR tables; `None`: whichever `cxr_dir` holds.
    pub cxr_tables: Option<CxrTables>,
    /// Release of each project whose files are fetched; `None`: read from
    /// the directory names. A project whose release is not known is assumed
    /// to be the published one (and `plan.json` says so).
    pub versions: Option<Releases>,
    /// The plan directory (created; an earlier plan's files are replaced, its `absent.txt` kept).
    pub out_dir: PathBuf,
    /// Only the image that would be chosen if every listed file existed.
    pub minimal: bool,
    /// Stage 1's rules the plan is for (the recipe's `cohort` section).
    pub rules: recipe::CohortRecipe,
}

/// A release or table name that can be put in a URL, a path and the
/// script unquoted: letters, digits, `.`, `-`, `_`, not starting with `.`.
fn plain_name(s: &str) -> bool {
    !s.is_empty() && !s.starts_with('.') && s.chars().all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c))
}

/// Releases for the plan: the given or inferred ones, the published one
/// for a project whose release is unknown (listed in the second value).
fn plan_versions(cfg: &PlanConfig) -> Result<(Releases, Vec<String>), CohortError> {
    let known = cfg
        .versions
        .clone()
        .unwrap_or_else(|| mimic_io::discover::infer_versions(&cfg.hosp_dir, &cfg.cxr_dir, &cfg.ecg_dir));
    let mut versions = Releases::default();
    let mut assumed = Vec::new();
    for p in Project::ALL {
        let v = match known.get(p) {
            Some(v) => v.to_string(),
            None => {
                assumed.push(p.slug().to_string());
                p.published_version().to_string()
            }
        };
        if !plain_name(&v) {
            return Err(CohortError::Plan {
                path: cfg.out_dir.clone(),
                line: None,
                message: format!("{} release {v:?} is not a release folder name like 2.0.0", p.name()),
            });
        }
        versions.set(p, v);
    }
    Ok((versions, assumed))
}

/// Makes a download plan from the tables named in `cfg` and writes it to
/// `cfg.out_dir` (all files at once). No image or ECG file is read.
pub fn make_plan(cfg: &PlanConfig, progress: &dyn Progress) -> Result<PlanReport, CohortError> {
    let started = Instant::now();
    let cxr_tables = cfg.cxr_tables.clone().unwrap_or_else(|| mimic_io::discover::cxr_tables(&cfg.cxr_dir));
    crate::check_inputs(&cfg.hosp_dir, &cfg.cxr_dir, &cfg.ecg_dir, &cxr_tables)?;
    let (versions, versions_assumed) = plan_versions(cfg)?;
    for t in [&cxr_tables.metadata, &cxr_tables.chexpert] {
        if !plain_name(t) {
            return Err(CohortError::Plan {
                path: cfg.cxr_dir.join(t),
                line: None,
                message: "a table name the download script cannot quote".into(),
            });
        }
    }
    let out = &cfg.out_dir;
    let lock = DirLock::acquire(out)?;
    lock.remove_stale_temps(out)?;
    // Every project has a release here (plan_versions assumes the published one).
    let release = |p: Project| versions.get(p).unwrap_or_default();
    let key = |p: Project, rel: &str| format!("{}/{}/{rel}", p.slug(), release(p));
    // A minimal plan passes over images the server already said it lacks.
    let absent: HashSet<String> = if cfg.minimal { read::absent_keys(&out.join(ABSENT))? } else { HashSet::new() };

    let t = crate::read_tables(&cfg.hosp_dir, &cfg.cxr_dir, &cfg.ecg_dir, &cxr_tables, &cfg.rules, progress)?;
    let (adm, cxr, ecgs, reach) = (&t.adm, &t.cxr, &t.ecgs, &t.reach);
    let mut images = BTreeSet::new();
    let mut chosen = Vec::new();
    let mut skipped_as_absent = 0;
    // Admissions whose ECG records may be opened.
    let mut ecg_admissions = Vec::new();
    for &(a, _) in &reach.reach {
        let cands = cxr.candidates(adm.subject[a], adm.admit[a]);
        if cfg.minimal {
            let mut first = None;
            for &r in cands {
                let rel = cxr.rel_path(r);
                if absent.contains(&key(Project::CxrJpg, &rel)) {
                    skipped_as_absent += 1;
                } else {
                    first = Some((r, rel));
                    break;
                }
            }
            if let Some((r, rel)) = first {
                // Its labels decide whether the record validity is ever looked at.
                if cxr.chexpert_of(r).is_some() {
                    ecg_admissions.push(a);
                }
                chosen.push((adm.hadm[a], adm.subject[a], rel.clone()));
                images.insert(rel);
            }
        } else {
            images.extend(cands.iter().map(|&r| cxr.rel_path(r)));
            ecg_admissions.push(a);
        }
    }
    if reach.every_admission_has_ecg_candidate {
        // pandas' dtype of ecg_adm then depends on every admission's records.
        ecg_admissions = (0..adm.len()).collect();
    }
    let mut records = BTreeSet::new();
    for &a in &ecg_admissions {
        for &r in ecgs.candidates(adm.subject[a], adm.admit[a]) {
            records.insert(ecgs.rel.text(r).into_owned());
        }
    }
    let ecg_files: BTreeSet<String> = records.iter().flat_map(|r| [format!("{r}.hea"), format!("{r}.dat")]).collect();

    let tables: Vec<PlannedTable> = tables_of(&cfg.hosp_dir, &cfg.cxr_dir, &cfg.ecg_dir, &cxr_tables)
        .into_iter()
        .map(|(p, path, local)| {
            let bytes = std::fs::metadata(&local).map_err(crate::io_err(&local))?.len();
            Ok(PlannedTable { project: p, path, bytes })
        })
        .collect::<Result<_, CohortError>>()?;
    let share = |p: Project, unit: &str, listed: usize, planned: usize, files: usize| ArchiveShare {
        project: p.slug().to_string(),
        version: release(p).to_string(),
        unit: unit.to_string(),
        listed,
        planned,
        files,
        share: if listed == 0 { 0.0 } else { planned as f64 / listed as f64 },
    };
    let report = PlanReport {
        tool: format!("symile-mimic {}", env!("CARGO_PKG_VERSION")),
        minimal: cfg.minimal,
        assumes_complete_archive: cfg.minimal,
        versions: versions.clone(),
        versions_assumed,
        base_url: PHYSIONET.to_string(),
        rules: rules(&cfg.rules, cfg.minimal, reach.every_admission_has_ecg_candidate),
        cohort: cfg.rules.rules(),
        admissions: PlanAdmissions {
            read: adm.len(),
            with_cxr_candidate: reach.with_cxr_candidate,
            with_chexpert_candidate: reach.with_chexpert_candidate,
            with_ecg_candidate: reach.targets.len(),
            planned: reach.reach.len(),
        },
        cxr: share(Project::CxrJpg, "images", cxr.meta_rows, images.len(), images.len()),
        ecg: share(Project::IvEcg, "records", ecgs.len(), records.len(), ecg_files.len()),
        skipped_as_absent,
        tables,
        lists: [(Project::CxrJpg, CXR_LIST), (Project::IvEcg, ECG_LIST)]
            .into_iter()
            .map(|(p, f)| (p, f.to_string()))
            .collect(),
        out_dir: out.clone(),
        wall_seconds: 0.0,
    };
    if progress.cancelled() {
        return Err(CohortError::Cancelled);
    }

    let mut tx = Transaction::new(&lock, Checksums::Update);
    let lines = |set: &BTreeSet<String>| set.iter().map(|p| format!("{p}\n")).collect::<String>();
    stage_text(&mut tx, &out.join(CXR_LIST), &lines(&images), false)?;
    stage_text(&mut tx, &out.join(ECG_LIST), &lines(&ecg_files), false)?;
    stage_text(&mut tx, &out.join(DOWNLOAD_SH), &download_script(&report), true)?;
    if cfg.minimal {
        let mut csv = String::from("hadm_id,subject_id,path\n");
        for (hadm, subject, rel) in &chosen {
            csv.push_str(&format!("{hadm},{subject},{rel}\n"));
        }
        stage_text(&mut tx, &out.join(CHOSEN), &csv, false)?;
    }
    let json = serde_json::to_string_pretty(&report).map_err(|e| crate::io_err(out)(e.into()))? + "\n";
    stage_text(&mut tx, &out.join(PLAN_JSON), &json, false)?;
    tx.commit()?;
    let mut report = report;
    report.wall_seconds = started.elapsed().as_secs_f64();
    tracing::info!(
        images = report.cxr.planned,
        records = report.ecg.planned,
        seconds = report.wall_seconds,
        "download plan written"
    );
    Ok(report)
}

fn rules(r: &recipe::CohortRecipe, minimal: bool, every_admission: bool) -> PlanRules {
    let h = |s: i64| recipe::Hours(s).to_string();
    let views = r.views_text();
    let admissions = format!(
        "admissions that can reach the cohort from the tables alone: an image of view {views} listed with \
         {} < StudyDateTime - admittime <= {} whose study has a CheXpert row, a record_list row with \
         {} <= ecg_time - admittime <= {}, and at least one of the {} labs with {} <= charttime - admittime <= {}",
        h(r.cxr_window_hours.lo),
        h(r.cxr_window_hours.hi),
        h(r.ecg_window_hours.lo),
        h(r.ecg_window_hours.hi),
        r.labs.len(),
        h(r.labs_window_hours.lo),
        h(r.labs_window_hours.hi),
    );
    let cxr = if minimal {
        format!(
            "per admission, the earliest listed in-window {views} image (tie: metadata order) not recorded in \
             absent.txt: the image stage 1 chooses if the archive holds it"
        )
    } else {
        format!(
            "per admission, every listed in-window {views} image: stage 1 takes the earliest one on disk, so any of \
             them can be chosen when the ones before it are absent from the archive"
        )
    };
    let mut ecg = if minimal {
        "per admission whose chosen image has CheXpert labels, every record_list row in the window (.hea and .dat): \
         validity is only known from the signal"
            .to_string()
    } else {
        "per admission, every record_list row in the window (.hea and .dat): stage 1 takes the earliest valid one, \
         and validity is only known from the signal"
            .to_string()
    };
    if every_admission {
        ecg.push_str(
            "; every admission read has a record in its window, so (pandas types ecg_adm by whether any admission \
             lacks a valid ECG) the records of every admission",
        );
    }
    PlanRules { admissions, cxr, ecg }
}

/// `download.sh` for `plan`: the template with the projects filled in.
fn download_script(plan: &PlanReport) -> String {
    let mut specs = Vec::new();
    for p in Project::ALL {
        let list = plan.lists.get(&p).map_or("-", String::as_str);
        let tables: Vec<&str> = plan.tables.iter().filter(|t| t.project == p).map(|t| t.path.as_str()).collect();
        specs.push(format!("\"{} {} {list} {}\"", p.slug(), plan.version(p), tables.join(" ")));
    }
    include_str!("download.sh").replace("@PROJECTS@", &format!("\n  {}\n", specs.join("\n  ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_names_are_plain() {
        assert!(plain_name("2.0.0") && plain_name("mimic-cxr-2.0.0-metadata.csv.gz"));
        for bad in ["", ".", "..", "2.0 0", "a/b", "$(x)", "\"", "2.0.0\n"] {
            assert!(!plain_name(bad), "{bad:?}");
        }
    }
}
