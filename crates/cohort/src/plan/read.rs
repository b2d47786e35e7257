//! Reading a plan directory back, and stage 1's `--plan`: every planned
//! file is on disk, or the archive lacks it, before anything is written.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use mimic_io::discover::{CxrTables, Project, Releases};
use progress::Progress;
use rayon::prelude::*;

use super::{ABSENT, CHOSEN, CXR_LIST, ECG_LIST, PLAN_JSON, PlanReport, tables_of};
use crate::CohortError;

/// Paths shown in an error that lists files.
const FIRST_FEW: usize = 5;

/// A download: where the three projects' files are, and their releases.
#[derive(Debug, Clone)]
pub struct Download {
    /// MIMIC-IV `hosp` directory.
    pub hosp: PathBuf,
    /// MIMIC-CXR-JPG directory.
    pub cxr: PathBuf,
    /// MIMIC-IV-ECG directory.
    pub ecg: PathBuf,
    /// File names of the CXR tables.
    pub cxr_tables: CxrTables,
    /// Releases where known.
    pub versions: Releases,
}

impl Download {
    /// The project's root, where its `SHA256SUMS.txt` is (for MIMIC-IV, the
    /// folder above `hosp`).
    pub fn project_root(&self, p: Project) -> PathBuf {
        match p {
            Project::MimicIv => match self.hosp.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
                _ => PathBuf::from("."),
            },
            Project::CxrJpg => self.cxr.clone(),
            Project::IvEcg => self.ecg.clone(),
        }
    }

    /// Where a file of the project (path relative to its root) is on disk.
    /// MIMIC-IV's tables are looked for in the `hosp` directory given, whatever its name.
    pub fn local(&self, p: Project, rel: &str) -> PathBuf {
        match (p, rel.strip_prefix("hosp/")) {
            (Project::MimicIv, Some(name)) => self.hosp.join(name),
            _ => self.project_root(p).join(rel),
        }
    }
}

/// A plan directory, read back.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The directory.
    pub dir: PathBuf,
    /// `plan.json`.
    pub report: PlanReport,
    /// The text of `plan.json`, to name the line of a value in errors.
    json: String,
    /// Planned files: (project, path relative to its root), tables excluded.
    pub files: Vec<(Project, String)>,
    /// `absent.txt`: `<project>/<version>/<path>` the server answered 404 for.
    pub absent: HashSet<String>,
    /// A minimal plan's chosen images: (hadm_id, subject_id, path).
    pub chosen: Vec<(i64, i64, String)>,
}

fn plan_err(path: &Path, line: Option<usize>, message: impl Into<String>) -> CohortError {
    CohortError::Plan { path: path.to_path_buf(), line, message: message.into() }
}

/// Reads a text file of the plan directory; `what` says what it should be.
fn read_text(path: &Path, what: &'static str) -> Result<String, CohortError> {
    std::fs::read_to_string(path).map_err(|source| CohortError::PlanRead { path: path.to_path_buf(), what, source })
}

/// A planned path: relative, below the project's `files/`, without `..`.
fn valid_rel(rel: &str) -> bool {
    rel.starts_with("files/")
        && !rel.contains(['\\', '\r'])
        && rel.split('/').all(|c| !c.is_empty() && c != "." && c != "..")
}

/// `absent.txt`'s entries (empty when the file does not exist).
pub(crate) fn absent_keys(path: &Path) -> Result<HashSet<String>, CohortError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashSet::new()),
        Err(source) => {
            return Err(CohortError::PlanRead {
                path: path.to_path_buf(),
                what: "the list of files the archive lacks",
                source,
            });
        }
    };
    let mut out = HashSet::new();
    for (i, line) in text.lines().enumerate() {
        if line.is_empty() {
            continue;
        }
        let ok = line.split_once('/').and_then(|(_, rest)| rest.split_once('/')).is_some_and(|(_, rel)| valid_rel(rel));
        if !ok {
            return Err(plan_err(path, Some(i + 1), format!("expected <project>/<version>/files/..., found {line:?}")));
        }
        out.insert(line.to_string());
    }
    Ok(out)
}

impl Plan {
    /// Reads `plan.json`, the lists, `absent.txt` and (minimal plans) the chosen images.
    pub fn load(dir: &Path) -> Result<Plan, CohortError> {
        let json_path = dir.join(PLAN_JSON);
        if !json_path.is_file() {
            return Err(plan_err(
                &json_path,
                None,
                format!("no download plan here; make one with `symile-mimic plan --out {}`", dir.display()),
            ));
        }
        let json = read_text(&json_path, "the plan")?;
        let mut report: PlanReport =
            serde_json::from_str(&json).map_err(|source| CohortError::PlanJson { path: json_path.clone(), source })?;
        report.out_dir = dir.to_path_buf();
        let mut files = Vec::new();
        for (p, name) in [(Project::CxrJpg, CXR_LIST), (Project::IvEcg, ECG_LIST)] {
            let path = dir.join(name);
            for (i, line) in read_text(&path, "the plan's file list")?.lines().enumerate() {
                if !valid_rel(line) {
                    return Err(plan_err(&path, Some(i + 1), format!("expected a path files/..., found {line:?}")));
                }
                files.push((p, line.to_string()));
            }
        }
        let mut chosen = Vec::new();
        if report.minimal {
            let path = dir.join(CHOSEN);
            for (i, line) in read_text(&path, "the minimal plan's chosen images")?.lines().enumerate().skip(1) {
                let f: Vec<&str> = line.splitn(3, ',').collect();
                let parsed = match f.as_slice() {
                    [h, s, rel] if valid_rel(rel) => {
                        h.parse().ok().zip(s.parse().ok()).map(|(h, s)| (h, s, rel.to_string()))
                    }
                    _ => None,
                };
                chosen.push(parsed.ok_or_else(|| {
                    plan_err(&path, Some(i + 1), format!("expected hadm_id,subject_id,files/..., found {line:?}"))
                })?);
            }
        }
        let absent = absent_keys(&dir.join(ABSENT))?;
        Ok(Plan { dir: dir.to_path_buf(), report, json, files, absent, chosen })
    }

    /// `<project>/<version>/<rel>`, the key of `absent.txt`.
    pub fn key(&self, p: Project, rel: &str) -> String {
        format!("{}/{}/{rel}", p.slug(), self.report.version(p))
    }

    /// Whether `absent.txt` records the file.
    pub fn is_absent(&self, p: Project, rel: &str) -> bool {
        self.absent.contains(&self.key(p, rel))
    }

    /// The URL of a planned file.
    pub fn url(&self, p: Project, rel: &str) -> String {
        format!("{}/files/{}", self.report.base_url.trim_end_matches('/'), self.key(p, rel))
    }

    /// The tables the plan was made from, as (project, path relative to the project root).
    pub fn tables(&self) -> Vec<(Project, String)> {
        self.report.tables.iter().map(|t| (t.project, t.path.clone())).collect()
    }

    /// 1-based line of `plan.json` holding `needle` after the line holding `after`.
    fn line_of(&self, after: &str, needle: &str) -> Option<usize> {
        let start = self.json.lines().position(|l| l.contains(after))?;
        self.json.lines().skip(start).position(|l| l.contains(needle)).map(|i| start + i + 1)
    }

    /// Fails when the download holds other releases or other tables than the
    /// plan was made from: the plan would not be the right list of files.
    pub fn matches(&self, d: &Download) -> Result<(), CohortError> {
        let json_path = self.dir.join(PLAN_JSON);
        for p in Project::ALL {
            let planned = self.report.version(p);
            if let Some(have) = d.versions.get(p)
                && have != planned
            {
                return Err(CohortError::PlanRelease {
                    plan: json_path.clone(),
                    line: self.line_of("\"versions\"", &format!("\"{}\"", p.slug())),
                    project: p,
                    planned: planned.to_string(),
                    have: have.to_string(),
                    root: d.project_root(p),
                });
            }
        }
        let local = tables_of(&d.hosp, &d.cxr, &d.ecg, &d.cxr_tables);
        for t in &self.report.tables {
            let Some((_, _, path)) = local.iter().find(|(p, rel, _)| *p == t.project && *rel == t.path) else {
                return Err(plan_err(
                    &json_path,
                    self.line_of("\"tables\"", &format!("\"{}\"", t.path)),
                    format!("the plan was made from {} {}, which this download does not read", t.project, t.path),
                ));
            };
            let bytes = std::fs::metadata(path).map_err(crate::io_err(path))?.len();
            if bytes != t.bytes {
                return Err(plan_err(
                    &json_path,
                    self.line_of("\"tables\"", &format!("\"{}\"", t.path)),
                    format!(
                        "the plan was made from a {} of {} bytes; {} has {bytes}: plan again from these tables",
                        t.path,
                        t.bytes,
                        path.display()
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl Plan {
    /// Fails when the plan was made for other stage-1 rules: their cohort
    /// looks at other files than the plan fetched.
    pub fn is_for(&self, rules: &recipe::CohortRecipe) -> Result<(), CohortError> {
        let planned = recipe::Recipe { cohort: self.report.cohort.clone(), ..Default::default() };
        let wanted = recipe::Recipe { cohort: rules.rules(), ..Default::default() };
        for field in recipe::Section::Cohort.fields() {
            if planned.value(field) != wanted.value(field) {
                return Err(CohortError::PlanRules {
                    plan: self.dir.join(PLAN_JSON),
                    field,
                    planned: planned.value(field).to_string(),
                    wanted: wanted.value(field).to_string(),
                });
            }
        }
        Ok(())
    }
}

/// What stage 1 needs to know of a plan once its files are checked.
#[derive(Debug, Clone)]
pub struct PlanStatus {
    plan: Plan,
}

impl PlanStatus {
    /// Whether `absent.txt` records the image (path relative to the CXR root).
    pub fn absent_cxr(&self, rel: &str) -> bool {
        self.plan.is_absent(Project::CxrJpg, rel)
    }

    /// Whether `absent.txt` records a file of the ECG record (path without extension).
    pub fn absent_ecg_record(&self, rel: &str) -> bool {
        ["hea", "dat"].iter().any(|ext| self.plan.is_absent(Project::IvEcg, &format!("{rel}.{ext}")))
    }

    /// The plan.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }
}

/// `n` items, the first few named.
fn first_few(items: &[String]) -> String {
    let mut s = items.iter().take(FIRST_FEW).cloned().collect::<Vec<_>>().join(", ");
    if items.len() > FIRST_FEW {
        s.push_str(", …");
    }
    s
}

/// Stage 1's `--plan`: the plan matches the download (releases, tables),
/// every planned file is on disk and non-empty unless `absent.txt` records
/// it, and (minimal plans) no chosen image is recorded absent. Only file
/// sizes are looked at; `symile-mimic plan --check` verifies contents.
pub fn require_downloaded(
    dir: &Path,
    d: &Download,
    rules: &recipe::CohortRecipe,
    progress: &dyn Progress,
) -> Result<PlanStatus, CohortError> {
    let plan = Plan::load(dir)?;
    plan.matches(d)?;
    plan.is_for(rules)?;
    progress.start("planned files", Some(plan.files.len() as u64));
    let mut missing: Vec<String> = plan
        .files
        .par_iter()
        .filter_map(|(p, rel)| {
            progress.inc(1);
            if plan.is_absent(*p, rel) {
                return None;
            }
            let local = d.local(*p, rel);
            match std::fs::metadata(&local) {
                Ok(m) if m.len() > 0 => None,
                _ => Some(local.display().to_string()),
            }
        })
        .collect();
    progress.finish();
    if !missing.is_empty() {
        missing.sort();
        return Err(CohortError::PlannedFilesMissing {
            plan: dir.to_path_buf(),
            count: missing.len(),
            first: first_few(&missing),
        });
    }
    let fallbacks: Vec<String> = plan
        .chosen
        .iter()
        .filter(|(.., rel)| plan.is_absent(Project::CxrJpg, rel))
        .map(|(hadm, _, rel)| format!("hadm_id {hadm} ({rel})"))
        .collect();
    if !fallbacks.is_empty() {
        return Err(CohortError::MinimalPlanFallback {
            plan: dir.to_path_buf(),
            count: fallbacks.len(),
            first: first_few(&fallbacks),
        });
    }
    Ok(PlanStatus { plan })
}
