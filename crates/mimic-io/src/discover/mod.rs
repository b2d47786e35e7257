//! Where the three MIMIC projects sit under a download root, and which
//! release each one is.
//!
//! PhysioNet serves a project at `files/<project>/<version>/`. Downloads keep
//! that shape (`wget -r` leaves `physionet.org/files/mimiciv/3.1/hosp/`),
//! drop the host (`mimiciv/3.1/hosp/`) or drop the version too
//! (`mimiciv/hosp/`). [`discover`] accepts all of them, with the root being
//! the directory that holds `physionet.org`, `physionet.org` itself or
//! `physionet.org/files`. A directory counts only when it holds its project's
//! tables, because the bare parent of a versioned download (`mimic-cxr-jpg/`
//! above `2.0.0/`) exists too and holds nothing.
//!
//! Symile-MIMIC was built from MIMIC-IV 2.2, MIMIC-CXR-JPG 2.0.0 and
//! MIMIC-IV-ECG 1.0. When a root holds several releases of a project, the
//! published one is taken and a [`Note`] says so; an explicit
//! [`VersionChoice`] takes another. Several releases without the published
//! one and without a choice is an error, as is a release present in two
//! places: picking one by a rule the user never saw would build a different
//! dataset silently.
//!
//! Only a few directory levels are listed (the project folders and their
//! version folders); image and record folders, which can hold hundreds of
//! thousands of entries, are never listed.

mod project;

use std::fmt;
use std::path::{Component, Path, PathBuf};

use crate::layout;

pub use project::{Project, Releases};

/// Releases asked for explicitly; `None` takes the only one present, or the
/// published one among several.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionChoice {
    /// MIMIC-IV release folder name, e.g. `3.1`.
    pub mimiciv: Option<String>,
    /// MIMIC-CXR-JPG release folder name, e.g. `2.1.0`.
    pub cxr: Option<String>,
    /// MIMIC-IV-ECG release folder name, e.g. `1.0`.
    pub ecg: Option<String>,
}

impl VersionChoice {
    /// The release asked for `project`, if any.
    pub fn get(&self, project: Project) -> Option<&str> {
        match project {
            Project::MimicIv => self.mimiciv.as_deref(),
            Project::CxrJpg => self.cxr.as_deref(),
            Project::IvEcg => self.ecg.as_deref(),
        }
    }
}

/// A project's directory and the release folder it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The directory holding the tables (for MIMIC-IV, its `hosp` module).
    pub dir: PathBuf,
    /// The release folder name; `None` for an unversioned layout.
    pub version: Option<String>,
}

/// File names of the MIMIC-CXR-JPG tables in one CXR directory.
///
/// MIMIC-CXR-JPG 2.1.0 still ships its tables under their 2.0.0 names; a
/// later release might rename them, so another release's names are taken
/// when they are the only ones there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CxrTables {
    /// Image metadata, by default `mimic-cxr-2.0.0-metadata.csv.gz`.
    pub metadata: String,
    /// CheXpert labels, by default `mimic-cxr-2.0.0-chexpert.csv.gz`.
    pub chexpert: String,
}

impl Default for CxrTables {
    fn default() -> Self {
        Self { metadata: layout::CXR_METADATA.to_string(), chexpert: layout::CXR_CHEXPERT.to_string() }
    }
}

/// Something [`discover`] decided that the user did not spell out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// Several releases were present and the published one was taken.
    TookPublished {
        /// The project.
        project: Project,
        /// The release taken.
        version: String,
        /// Where it is.
        dir: PathBuf,
        /// The releases left aside (`(unversioned)` for a folder without one).
        others: Vec<String>,
    },
    /// The CXR tables carry another release's name, and those were taken.
    CxrTableNames {
        /// The CXR directory.
        dir: PathBuf,
        /// The names taken.
        tables: CxrTables,
    },
}

/// A choice of the caller's that settles a [`Problem`] or changes what a
/// [`Note`] says was taken. This crate names no command-line flag or keyword:
/// its messages say what to choose, and a front end that knows its own
/// spelling renders them with it ([`DiscoverError::render`], [`Note::render`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// The release of one project ([`VersionChoice`]).
    Release(Project),
    /// The three project directories, named one by one instead of a root.
    ProjectDirs,
}

/// How a caller spells a [`Setting`] (`--cxr-version`), or `None` to leave
/// it unsaid.
pub type Spell<'a> = &'a dyn Fn(Setting) -> Option<String>;

/// ` (with X)` after a sentence, or nothing when the setting is unsaid.
fn with(spell: Spell<'_>, setting: Setting, template: impl Fn(&str) -> String) -> String {
    spell(setting).map_or_else(String::new, |s| template(&s))
}

impl Note {
    /// The note, naming the setting that chooses otherwise as `spell` spells
    /// it; `Display` leaves it unsaid.
    pub fn render(&self, spell: Spell<'_>) -> String {
        match self {
            Note::TookPublished { project, version, dir, others } => format!(
                "{project}: took {version}, the release Symile-MIMIC was published from ({}), over {}{}",
                dir.display(),
                others.join(", "),
                with(spell, Setting::Release(*project), |s| format!(" (choose another with {s})"))
            ),
            Note::CxrTableNames { .. } => self.to_string(),
        }
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::TookPublished { .. } => f.write_str(&self.render(&|_| None)),
            Note::CxrTableNames { dir, tables } => write!(
                f,
                "{}: reading {} and {} (no {} there)",
                dir.display(),
                tables.metadata,
                tables.chexpert,
                layout::CXR_METADATA
            ),
        }
    }
}

/// The three inputs found under a root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered {
    /// The root searched.
    pub root: PathBuf,
    /// MIMIC-IV's `hosp` module.
    pub hosp: Located,
    /// MIMIC-CXR-JPG.
    pub cxr: Located,
    /// File names of the CXR tables in `cxr.dir`.
    pub cxr_tables: CxrTables,
    /// MIMIC-IV-ECG.
    pub ecg: Located,
    /// Choices made without being asked, for the caller to report.
    pub notes: Vec<Note>,
}

impl Discovered {
    /// The directory and release of `project`.
    pub fn get(&self, project: Project) -> &Located {
        match project {
            Project::MimicIv => &self.hosp,
            Project::CxrJpg => &self.cxr,
            Project::IvEcg => &self.ecg,
        }
    }

    /// The release of every project whose release folder is known.
    pub fn versions(&self) -> Releases {
        Project::ALL.into_iter().filter_map(|p| self.get(p).version.clone().map(|v| (p, v))).collect()
    }
}

/// A directory holding a project's tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Its release folder name, if any.
    pub version: Option<String>,
    /// The directory.
    pub dir: PathBuf,
}

/// A directory that looked like a project's but does not hold its tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The directory.
    pub dir: PathBuf,
    /// What it lacks.
    pub reason: String,
}

/// Why one project could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// No directory holds the project's tables.
    Missing {
        /// The project.
        project: Project,
        /// Directories that looked like the project's but lack tables.
        rejected: Vec<Rejected>,
    },
    /// Several releases, none of them the published one, and none chosen.
    SeveralVersions {
        /// The project.
        project: Project,
        /// Every release found.
        candidates: Vec<Candidate>,
    },
    /// The release asked for is not there.
    ChosenAbsent {
        /// The project.
        project: Project,
        /// The release asked for.
        wanted: String,
        /// The releases that are there.
        candidates: Vec<Candidate>,
    },
    /// The same release is in more than one place.
    Ambiguous {
        /// The project.
        project: Project,
        /// The release (`None`: unversioned folders).
        version: Option<String>,
        /// Where it is.
        dirs: Vec<PathBuf>,
    },
}

/// Why a root did not resolve to three inputs.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    /// The root is not a directory.
    #[error("{}: not a directory (expected a MIMIC download holding mimiciv/, mimic-cxr-jpg/ and mimic-iv-ecg/, or physionet.org/files/)", root.display())]
    NotADirectory {
        /// The root given.
        root: PathBuf,
    },
    /// Some project is missing or ambiguous.
    #[error("{}", unresolved_message(root, found, problems, &|_| None))]
    Unresolved {
        /// The root given.
        root: PathBuf,
        /// The projects that did resolve (paths relative to the root).
        found: Vec<String>,
        /// One entry per project that did not.
        problems: Vec<Problem>,
    },
}

impl DiscoverError {
    /// The message, naming the settings that resolve it as `spell` spells
    /// them (the command's flags, the Python keywords); `Display` is
    /// `render(&|_| None)`, which leaves them unsaid.
    pub fn render(&self, spell: Spell<'_>) -> String {
        match self {
            DiscoverError::NotADirectory { .. } => self.to_string(),
            DiscoverError::Unresolved { root, found, problems } => unresolved_message(root, found, problems, spell),
        }
    }
}

/// Folders searched for the projects: the root itself, and PhysioNet's
/// `files/` folder when the root is above it.
fn bases(root: &Path) -> Vec<PathBuf> {
    [root.to_path_buf(), root.join("files"), root.join("physionet.org").join("files")]
        .into_iter()
        .filter(|b| b.is_dir())
        .collect()
}

/// Sub-folders of `dir` (sorted by name, hidden ones skipped), or why it
/// cannot be listed.
fn subdirs(dir: &Path) -> Result<Vec<String>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot be listed: {e}"))?;
    let mut names = Vec::new();
    for e in entries {
        let e = e.map_err(|e| format!("cannot be listed: {e}"))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') && e.path().is_dir() {
            names.push(name);
        }
    }
    names.sort_by(|a, b| compare_versions(a, b));
    Ok(names)
}

/// Orders release names numerically where they are numbers (`2.10` after `2.9`).
fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    let key = |s: &str| -> Vec<(u64, String)> {
        s.split(['.', '-', '_']).map(|p| (p.parse::<u64>().unwrap_or(u64::MAX), p.to_string())).collect()
    };
    key(a).cmp(&key(b)).then_with(|| a.cmp(b))
}

/// Tables of `names` absent from `dir`.
fn absent(dir: &Path, names: &[&str]) -> Vec<String> {
    names.iter().filter(|n| !dir.join(n).is_file()).map(|n| n.to_string()).collect()
}

/// Finds the CXR tables in `dir`: the 2.0.0 names when present, else the
/// only `mimic-cxr-<v>-<kind>.csv.gz`, else the one of `version`; or says
/// what the directory lacks.
fn find_cxr_tables(dir: &Path, version: Option<&str>) -> Result<CxrTables, String> {
    let default = CxrTables::default();
    let has_meta = dir.join(&default.metadata).is_file();
    let has_chex = dir.join(&default.chexpert).is_file();
    if has_meta && has_chex {
        return Ok(default);
    }
    let mut listed = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with("mimic-cxr-") && e.path().is_file() {
                listed.push(name);
            }
        }
    }
    listed.sort();
    // Err((true, name)): absent; Err((false, description)): several candidates.
    let pick = |kind: &str, has_default: bool, default_name: &str| -> Result<String, (bool, String)> {
        if has_default {
            return Ok(default_name.to_string());
        }
        let suffix = format!("-{kind}.csv.gz");
        let found: Vec<&String> = listed.iter().filter(|n| n.ends_with(&suffix)).collect();
        match found.as_slice() {
            [] => Err((true, format!("{default_name} (or mimic-cxr-<version>{suffix})"))),
            [one] => Ok((*one).clone()),
            several => version
                .map(|v| format!("mimic-cxr-{v}{suffix}"))
                .filter(|own| several.contains(&own))
                .ok_or_else(|| {
                    let names: Vec<&str> = several.iter().map(|s| s.as_str()).collect();
                    let why = match version {
                        Some(v) => format!("none named for release {v}"),
                        None => "no release folder to choose by".to_string(),
                    };
                    (false, format!("has several {kind} tables ({}) and {why}", names.join(", ")))
                }),
        }
    };
    match (pick("metadata", has_meta, &default.metadata), pick("chexpert", has_chex, &default.chexpert)) {
        (Ok(metadata), Ok(chexpert)) => Ok(CxrTables { metadata, chexpert }),
        (m, c) => {
            let errs: Vec<(bool, String)> = [m.err(), c.err()].into_iter().flatten().collect();
            let absent: Vec<String> = errs.iter().filter(|e| e.0).map(|e| e.1.clone()).collect();
            let mut why: Vec<String> = errs.iter().filter(|e| !e.0).map(|e| e.1.clone()).collect();
            if !absent.is_empty() {
                why.insert(0, format!("lacks {}", absent.join(" and ")));
            }
            Err(why.join("; "))
        }
    }
}

/// The CXR table names in `dir` as [`discover`] would choose them; the
/// 2.0.0 names when the directory holds none (the reader then names the
/// file it expected).
pub fn cxr_tables(dir: &Path) -> CxrTables {
    let version = version_from_path(Project::CxrJpg, dir);
    find_cxr_tables(dir, version.as_deref()).unwrap_or_default()
}

/// What probing one directory concluded.
enum Probe {
    Holds(Option<CxrTables>),
    Lacks(String),
}

/// Whether `dir` holds `project`'s tables.
fn probe(project: Project, dir: &Path, version: Option<&str>) -> Probe {
    let missing = match project {
        Project::MimicIv => absent(dir, &[layout::PATIENTS, layout::ADMISSIONS, layout::LABEVENTS]),
        Project::IvEcg => absent(dir, &[layout::ECG_RECORD_LIST]),
        Project::CxrJpg => {
            return match find_cxr_tables(dir, version) {
                Ok(t) => Probe::Holds(Some(t)),
                Err(why) => Probe::Lacks(why),
            };
        }
    };
    if missing.is_empty() { Probe::Holds(None) } else { Probe::Lacks(format!("lacks {}", missing.join(", "))) }
}

/// A directory holding a project's tables, with the CXR table names found in it.
type Hit = (Candidate, Option<CxrTables>);

/// Directories holding a project's tables, and those that look like the
/// project's but do not.
#[derive(Default)]
struct Search {
    found: Vec<Hit>,
    rejected: Vec<Rejected>,
}

impl Search {
    /// Probes `dir`; a directory lacking tables is listed only when `report_lack`.
    fn consider(&mut self, project: Project, dir: PathBuf, version: Option<String>, report_lack: bool) {
        match probe(project, &dir, version.as_deref()) {
            Probe::Holds(tables) => self.found.push((Candidate { version, dir }, tables)),
            Probe::Lacks(reason) if report_lack => self.rejected.push(Rejected { dir, reason }),
            Probe::Lacks(_) => {}
        }
    }
}

/// Every directory under `root` holding `project`'s tables, and those that
/// look like the project's but do not.
fn search(root: &Path, project: Project) -> Search {
    let mut s = Search::default();
    let leaf = |d: &Path| if project == Project::MimicIv { d.join("hosp") } else { d.to_path_buf() };
    for base in bases(root) {
        let top = base.join(project.slug());
        if !top.is_dir() {
            continue;
        }
        // The unversioned layout. The bare parent of release folders holds
        // nothing and is not worth a mention; one holding part of the tables is.
        let flat = leaf(&top);
        if flat.is_dir() {
            let partial = project == Project::MimicIv
                || std::fs::read_dir(&flat).is_ok_and(|entries| {
                    entries.flatten().any(|e| {
                        let name = e.file_name().to_string_lossy().into_owned();
                        name.ends_with(".csv.gz") || name == layout::ECG_RECORD_LIST
                    })
                });
            s.consider(project, flat, None, partial);
        }
        match subdirs(&top) {
            Err(reason) => s.rejected.push(Rejected { dir: top.clone(), reason }),
            Ok(names) => {
                for name in names {
                    // `hosp/` is the unversioned MIMIC-IV module; `files/` holds images or records.
                    if name == "hosp" || name == "files" {
                        continue;
                    }
                    let dir = top.join(&name);
                    let module = leaf(&dir);
                    if module.is_dir() {
                        s.consider(project, module, Some(name), true);
                    } else {
                        s.rejected.push(Rejected { dir, reason: "has no hosp/".to_string() });
                    }
                }
            }
        }
    }
    // A bare `hosp/` directly under the root: MIMIC-IV with its folders stripped.
    if project == Project::MimicIv && root.join("hosp").is_dir() {
        s.consider(project, root.join("hosp"), None, true);
    }
    // The same directory reached twice (a symlinked release folder) is one candidate.
    let mut seen = Vec::new();
    s.found.retain(|(c, _)| {
        let key = std::fs::canonicalize(&c.dir).unwrap_or_else(|_| c.dir.clone());
        let new = !seen.contains(&key);
        seen.push(key);
        new
    });
    s
}

fn version_label(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "(unversioned)".to_string())
}

/// Picks one candidate of `project`, or says why none can be picked.
fn choose(
    project: Project,
    found: Vec<Hit>,
    rejected: Vec<Rejected>,
    wanted: Option<&str>,
) -> Result<(Hit, Option<Note>), Problem> {
    let candidates = || found.iter().map(|(c, _)| c.clone()).collect::<Vec<_>>();
    let with_version = |v: &str| found.iter().filter(|(c, _)| c.version.as_deref() == Some(v)).collect::<Vec<_>>();
    let ambiguous = |version: Option<String>, hits: &[&Hit]| Problem::Ambiguous {
        project,
        version,
        dirs: hits.iter().map(|(c, _)| c.dir.clone()).collect(),
    };
    if let Some(w) = wanted {
        let hits = with_version(w);
        return match hits.as_slice() {
            [] => Err(Problem::ChosenAbsent { project, wanted: w.to_string(), candidates: candidates() }),
            [one] => Ok(((*one).clone(), None)),
            several => Err(ambiguous(Some(w.to_string()), several)),
        };
    }
    match found.len() {
        0 => return Err(Problem::Missing { project, rejected }),
        1 => return Ok((found.into_iter().next().expect("one candidate"), None)),
        _ => {}
    }
    let published = project.published_version();
    let hits = with_version(published);
    match hits.as_slice() {
        [one] => {
            let taken = (*one).clone();
            let others = found.iter().filter(|(c, _)| c.dir != taken.0.dir).map(|(c, _)| version_label(&c.version));
            let note = Note::TookPublished {
                project,
                version: published.to_string(),
                dir: taken.0.dir.clone(),
                others: others.collect(),
            };
            Ok((taken, Some(note)))
        }
        [] => {
            // Unversioned folders only, in several places: the same release twice as far as we can tell.
            if found.iter().all(|(c, _)| c.version.is_none()) {
                let all: Vec<_> = found.iter().collect();
                return Err(ambiguous(None, &all));
            }
            Err(Problem::SeveralVersions { project, candidates: candidates() })
        }
        several => Err(ambiguous(Some(published.to_string()), several)),
    }
}

/// Finds MIMIC-IV `hosp`, MIMIC-CXR-JPG and MIMIC-IV-ECG under `root`.
///
/// Every project is resolved before anything is reported, so one error
/// lists all that is missing or ambiguous along with what was found.
pub fn discover(root: &Path, choice: &VersionChoice) -> Result<Discovered, DiscoverError> {
    if !root.is_dir() {
        return Err(DiscoverError::NotADirectory { root: root.to_path_buf() });
    }
    let mut located = Vec::new();
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    let mut cxr_tables = CxrTables::default();
    for project in Project::ALL {
        let Search { found, rejected } = search(root, project);
        match choose(project, found, rejected, choice.get(project)) {
            Ok(((cand, tables), note)) => {
                notes.extend(note);
                if let Some(t) = tables {
                    if t != CxrTables::default() {
                        notes.push(Note::CxrTableNames { dir: cand.dir.clone(), tables: t.clone() });
                    }
                    cxr_tables = t;
                }
                located.push((project, Located { dir: cand.dir, version: cand.version }));
            }
            Err(p) => problems.push(p),
        }
    }
    if !problems.is_empty() {
        let found = located.iter().map(|(_, l)| relative(root, &l.dir)).collect();
        return Err(DiscoverError::Unresolved { root: root.to_path_buf(), found, problems });
    }
    let mut take = |p: Project| {
        let i = located.iter().position(|(q, _)| *q == p).expect("every project resolved");
        located.remove(i).1
    };
    let (hosp, cxr, ecg) = (take(Project::MimicIv), take(Project::CxrJpg), take(Project::IvEcg));
    Ok(Discovered { root: root.to_path_buf(), hosp, cxr, cxr_tables, ecg, notes })
}

/// `path` relative to `root` for messages (whole when it is not below it).
fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    if rel.as_os_str().is_empty() { ".".to_string() } else { rel.display().to_string() }
}

fn list_candidates(root: &Path, candidates: &[Candidate]) -> String {
    candidates
        .iter()
        .map(|c| format!("{} ({})", version_label(&c.version), relative(root, &c.dir)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// What a directory of `project` must hold, for messages.
fn looked_for(project: Project) -> String {
    let s = project.slug();
    match project {
        Project::MimicIv => format!(
            "{s}/<version>/hosp or {s}/hosp with {}, {}, {}",
            layout::PATIENTS,
            layout::ADMISSIONS,
            layout::LABEVENTS
        ),
        Project::CxrJpg => format!(
            "{s}/<version>/ or {s}/ with {} and {} (or mimic-cxr-<version>-metadata.csv.gz and \
             mimic-cxr-<version>-chexpert.csv.gz)",
            layout::CXR_METADATA,
            layout::CXR_CHEXPERT
        ),
        Project::IvEcg => format!("{s}/<version>/ or {s}/ with {}", layout::ECG_RECORD_LIST),
    }
}

/// What is missing, e.g. "MIMIC-IV hosp".
fn what(project: Project) -> String {
    match project {
        Project::MimicIv => "MIMIC-IV hosp".to_string(),
        p => p.name().to_string(),
    }
}

fn problem_message(root: &Path, p: &Problem, spell: Spell<'_>) -> String {
    match p {
        Problem::Missing { project, rejected } => {
            let mut s = format!(
                "missing {}: looked for {} (also under physionet.org/files/)",
                what(*project),
                looked_for(*project)
            );
            if !rejected.is_empty() {
                let r: Vec<String> =
                    rejected.iter().map(|r| format!("{} {}", relative(root, &r.dir), r.reason)).collect();
                s.push_str(&format!("; {}", r.join("; ")));
            }
            s
        }
        Problem::SeveralVersions { project, candidates } => format!(
            "several {} releases and none is the published {}: {}; choose one{}",
            project.name(),
            project.published_version(),
            list_candidates(root, candidates),
            with(spell, Setting::Release(*project), |s| format!(" with {s}"))
        ),
        Problem::ChosenAbsent { project, wanted, candidates } => {
            let there = if candidates.is_empty() { "none".to_string() } else { list_candidates(root, candidates) };
            format!(
                "{} {wanted} was asked for{} but is not there; found {there}",
                project.name(),
                with(spell, Setting::Release(*project), |s| format!(" ({s} {wanted})"))
            )
        }
        Problem::Ambiguous { project, version, dirs } => {
            let d: Vec<String> = dirs.iter().map(|d| relative(root, d)).collect();
            format!(
                "{} {} is in more than one place: {}; keep one, or name the three project directories{}",
                project.name(),
                version_label(version),
                d.join(", "),
                with(spell, Setting::ProjectDirs, |s| format!(" ({s})"))
            )
        }
    }
}

fn unresolved_message(root: &Path, found: &[String], problems: &[Problem], spell: Spell<'_>) -> String {
    let head = if found.is_empty() {
        format!("found none of MIMIC-IV hosp, MIMIC-CXR-JPG and MIMIC-IV-ECG under {}", root.display())
    } else {
        format!("found {} under {}", and_list(found), root.display())
    };
    let rest: Vec<String> = problems.iter().map(|p| problem_message(root, p, spell)).collect();
    format!("{head}; {}", rest.join("; "))
}

/// The release `dir` belongs to, read from its path: the folder after
/// `mimiciv` in `…/mimiciv/<version>/hosp`, or the last folder of
/// `…/mimic-cxr-jpg/<version>` and `…/mimic-iv-ecg/<version>`. `None` for
/// an unversioned or unrecognised path. Used where directories are given one
/// by one rather than found.
pub fn version_from_path(project: Project, dir: &Path) -> Option<String> {
    let from = |p: &Path| -> Option<String> {
        let names: Vec<String> = p
            .components()
            .filter_map(|c| match c {
                Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
                _ => None,
            })
            .collect();
        let at = names.iter().rposition(|n| n == project.slug())?;
        let version = names.get(at + 1)?;
        let rest = &names[at + 2..];
        let shaped = match project {
            Project::MimicIv => rest == ["hosp"],
            _ => rest.is_empty() && version != "files",
        };
        shaped.then(|| version.clone())
    };
    // The path as given first: canonicalising would resolve a symlinked
    // release folder to wherever it points. `..` cannot be read lexically.
    let lexical = if dir.components().any(|c| c == Component::ParentDir) { None } else { from(dir) };
    lexical.or_else(|| std::fs::canonicalize(dir).ok().and_then(|c| from(&c)))
}

/// The releases of three directories given one by one (see
/// [`version_from_path`]); a project whose release cannot be told is left unknown.
pub fn infer_versions(hosp: &Path, cxr: &Path, ecg: &Path) -> Releases {
    [(Project::MimicIv, hosp), (Project::CxrJpg, cxr), (Project::IvEcg, ecg)]
        .into_iter()
        .filter_map(|(p, d)| version_from_path(p, d).map(|v| (p, v)))
        .collect()
}
