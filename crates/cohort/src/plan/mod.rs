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

mod check;
mod read;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use durable::{AtomicFile, Checksums, DirLock, Transaction};
use mimic_io::discover::{CxrTables, Project, Releases};
use progress::Progress;
use serde::{Deserialize, Serialize};

use crate::CohortError;

pub use check::{CheckConfig, CheckReport, JpegCheck, Verdict, check};
pub use read::{Download, Plan, PlanStatus, require_downloaded};

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

/// One table of the download, as the plan saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedTable {
    /// Project slug (`mimiciv`, `mimic-cxr-jpg`, `mimic-iv-ecg`).
    pub project: String,
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
    pub lists: BTreeMap<String, String>,
    /// The plan directory (not written).
    #[serde(skip)]
    pub out_dir: PathBuf,
    /// Wall time in seconds (printed, not written).
    #[serde(skip)]
    pub wall_seconds: f64,
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl ArchiveShare {
    /// `CXR: 13,950 of 377,110 images (3.7 %)`.
    pub fn line(&self, label: &str) -> String {
        let files =
            if self.files != self.planned { format!(", {} files", thousands(self.files)) } else { String::new() };
        format!(
            "{label}: {} of {} {} ({:.1} %){files}",
            thousands(self.planned),
            thousands(self.listed),
            self.unit,
            100.0 * self.share
        )
    }
}

impl PlanReport {
    /// The release planned for `project`.
    pub fn version(&self, project: Project) -> &str {
        self.versions.get(project).unwrap_or_default()
    }

    /// A short human-readable summary for the CLI.
    pub fn summary(&self) -> String {
        self.summary_with_dest("DEST")
    }

    /// [`PlanReport::summary`], naming `dest` as where the files go.
    pub fn summary_with_dest(&self, dest: &str) -> String {
        let mut s = String::new();
        s.push_str(&self.cxr.line("CXR"));
        s.push('\n');
        s.push_str(&self.ecg.line("ECG"));
        s.push('\n');
        let a = &self.admissions;
        let r = &self.cohort;
        s.push_str(&format!(
            "admissions that can reach the cohort: {} of {} (CXR listed {} {}, with CheXpert {}, ECG listed {} {}, labs {} {})\n",
            thousands(a.planned),
            thousands(a.read),
            r.cxr_window_hours.describe(true),
            thousands(a.with_cxr_candidate),
            thousands(a.with_chexpert_candidate),
            r.ecg_window_hours.describe(false),
            thousands(a.with_ecg_candidate),
            r.labs_window_hours.describe(false),
            thousands(a.planned),
        ));
        let v: Vec<String> = Project::ALL.iter().map(|&p| format!("{} {}", p.name(), self.version(p))).collect();
        s.push_str(&format!("releases: {}", v.join(", ")));
        if !self.versions_assumed.is_empty() {
            s.push_str(&format!(
                " ({} assumed: the input folders do not name a release; give --mimiciv-version/--cxr-version/--ecg-version)",
                self.versions_assumed.join(", ")
            ));
        }
        s.push('\n');
        if self.minimal {
            s.push_str(
                "minimal plan: it assumes the archive is complete (every image the metadata lists exists). Where an \
                 image it takes turns out absent, the cohort would fall back to an image not fetched: \
                 `symile-mimic plan --check` names those admissions; plan again with --minimal to take the next image.\n",
            );
            if self.skipped_as_absent > 0 {
                s.push_str(&format!("images passed over as recorded in absent.txt: {}\n", self.skipped_as_absent));
            }
        }
        let d = self.out_dir.display();
        s.push_str(&format!(
            "wrote {d}/{{{CXR_LIST}, {ECG_LIST}, {DOWNLOAD_SH}, {PLAN_JSON}}}\n\
             fetch:  bash {d}/{DOWNLOAD_SH} {dest}   (into {dest}/physionet.org/files/<project>/<version>/)\n\
             check:  symile-mimic plan --check --out {d} --mimic-root {dest}\n\
             build:  symile-mimic build --mimic-root {dest} --plan {d}"
        ));
        s
    }
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
            Ok(PlannedTable { project: p.slug().to_string(), path, bytes })
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
            .map(|(p, f)| (p.slug().to_string(), f.to_string()))
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

/// `download.sh` for `plan`: the template with the projects filled in.
fn download_script(plan: &PlanReport) -> String {
    let mut specs = Vec::new();
    for p in Project::ALL {
        let list = plan.lists.get(p.slug()).map_or("-", String::as_str);
        let tables: Vec<&str> = plan.tables.iter().filter(|t| t.project == p.slug()).map(|t| t.path.as_str()).collect();
        specs.push(format!("\"{} {} {list} {}\"", p.slug(), plan.version(p), tables.join(" ")));
    }
    include_str!("download.sh").replace("@PROJECTS@", &format!("\n  {}\n", specs.join("\n  ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(377_110), "377,110");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn share_line_reads_like_a_sentence() {
        let s = ArchiveShare {
            project: "mimic-cxr-jpg".into(),
            version: "2.0.0".into(),
            unit: "images".into(),
            listed: 377_110,
            planned: 13_950,
            files: 13_950,
            share: 13_950.0 / 377_110.0,
        };
        assert_eq!(s.line("CXR"), "CXR: 13,950 of 377,110 images (3.7 %)");
    }

    #[test]
    fn release_names_are_plain() {
        assert!(plain_name("2.0.0") && plain_name("mimic-cxr-2.0.0-metadata.csv.gz"));
        for bad in ["", ".", "..", "2.0 0", "a/b", "$(x)", "\"", "2.0.0\n"] {
            assert!(!plain_name(bad), "{bad:?}");
        }
    }
}
