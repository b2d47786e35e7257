//! `plan --check`: every planned file that is on disk holds what the archive
//! holds.
//!
//! Where the project's `SHA256SUMS.txt` is in the download (PhysioNet
//! publishes one per project and `download.sh` fetches it), each file is
//! hashed, streaming, in parallel; a mismatch is *truncated* when the file
//! is also structurally short, else *corrupt*. Files the list does not name
//! are checked by structure: a JPEG must decode its header (the caller's
//! [`JpegCheck`]) and end with an end-of-image marker, a WFDB header must
//! parse, and a `.dat` must hold exactly the bytes its `.hea` states. A
//! structural check cannot see a flipped bit in pixel or sample data; a hash can.
//!
//! The missing, truncated and corrupt files go to `refetch.txt` in the plan
//! directory, one URL per line (`download.sh --refetch` deletes and fetches
//! them again).

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use durable::{Checksums, DirLock, SUMS_FILE, Sums, Transaction};
use errors::Chain;
use mimic_io::discover::Project;
use progress::Progress;
use rayon::prelude::*;
use serde::Serialize;

use super::read::{Download, Plan};
use super::{REFETCH, stage_text, thousands};
use crate::CohortError;

/// What a structural check concluded about one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The file looks whole.
    Ok,
    /// The file ends early (the reason).
    Truncated(String),
    /// The file is damaged otherwise (the reason).
    Corrupt(String),
}

/// Decodes a JPEG's header; the JPEG decoder lives outside this crate.
pub type JpegCheck<'a> = &'a (dyn Fn(&Path) -> Result<(), String> + Sync);

/// Inputs of [`check`].
#[derive(Debug, Clone)]
pub struct CheckConfig {
    /// The plan directory.
    pub plan_dir: PathBuf,
    /// The download to check.
    pub download: Download,
}

/// One file that failed the check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadFile {
    /// `<project>/<version>/<path>`.
    pub file: String,
    /// Why.
    pub reason: String,
}

/// How the files of one project are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckMethod {
    /// Against the project's `SHA256SUMS.txt`, which is there.
    Sha256,
    /// By structure only (sizes, JPEG and WFDB syntax): no `SHA256SUMS.txt`.
    Structure,
}

impl std::fmt::Display for CheckMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CheckMethod::Sha256 => "sha256",
            CheckMethod::Structure => "structure",
        })
    }
}

/// What [`check`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// The plan directory.
    pub plan_dir: PathBuf,
    /// Files checked (planned files and tables).
    pub files: usize,
    /// Per project: how its files were checked.
    pub method: BTreeMap<Project, CheckMethod>,
    /// Files that hold what they should.
    pub ok: usize,
    /// Files checked by structure only (no SHA256SUMS.txt entry).
    pub by_structure: usize,
    /// Present files nothing could be checked against (a `.dat` whose `.hea` is missing).
    pub unchecked: usize,
    /// Files `absent.txt` records as missing from the archive.
    pub absent_from_archive: usize,
    /// Not on disk (nor recorded absent).
    pub missing: Vec<String>,
    /// Shorter than they should be.
    pub truncated: Vec<BadFile>,
    /// Damaged otherwise.
    pub corrupt: Vec<BadFile>,
    /// Minimal plans: admissions whose chosen image the archive lacks
    /// (`hadm_id (path)`): the cohort would fall back to an image not fetched.
    pub fallbacks: Vec<String>,
    /// `refetch.txt`: the URLs of the missing, truncated and corrupt files.
    pub refetch: PathBuf,
}

impl CheckReport {
    /// Whether the download is complete and intact for the plan.
    pub fn passed(&self) -> bool {
        self.missing.is_empty() && self.truncated.is_empty() && self.corrupt.is_empty() && self.fallbacks.is_empty()
    }

    /// Missing + truncated + corrupt.
    pub fn to_refetch(&self) -> usize {
        self.missing.len() + self.truncated.len() + self.corrupt.len()
    }

    /// A short human-readable summary for the CLI.
    pub fn summary(&self) -> String {
        let method: Vec<String> = self.method.iter().map(|(p, m)| format!("{} by {m}", p.slug())).collect();
        let mut s = format!(
            "checked {} planned file(s) ({}): {} ok, {} missing, {} truncated, {} corrupt, {} absent from the archive (absent.txt){}\n",
            thousands(self.files),
            method.join(", "),
            thousands(self.ok),
            thousands(self.missing.len()),
            thousands(self.truncated.len()),
            thousands(self.corrupt.len()),
            thousands(self.absent_from_archive),
            if self.unchecked > 0 { format!(", {} present but not checkable", self.unchecked) } else { String::new() },
        );
        let show = |s: &mut String, what: &str, items: Vec<String>| {
            for i in items.iter().take(5) {
                s.push_str(&format!("  {what}: {i}\n"));
            }
            if items.len() > 5 {
                s.push_str(&format!("  … and {} more {what}\n", items.len() - 5));
            }
        };
        show(&mut s, "missing", self.missing.clone());
        show(&mut s, "truncated", self.truncated.iter().map(|b| format!("{} ({})", b.file, b.reason)).collect());
        show(&mut s, "corrupt", self.corrupt.iter().map(|b| format!("{} ({})", b.file, b.reason)).collect());
        if self.to_refetch() > 0 {
            let d = self.plan_dir.display();
            s.push_str(&format!(
                "wrote {} ({} URL(s), for wget -i); fetch them again with: bash {d}/download.sh --refetch DEST\n",
                self.refetch.display(),
                self.to_refetch()
            ));
        }
        if !self.fallbacks.is_empty() {
            s.push_str(&format!(
                "{} admission(s) of this minimal plan have a chosen image the archive lacks; the cohort would fall \
                 back to an image not fetched: {}\n  plan again with --minimal (it passes over images in absent.txt) \
                 and run download.sh again\n",
                self.fallbacks.len(),
                self.fallbacks.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
            ));
        }
        if self.passed() {
            s.push_str("the download holds every planned file\n");
        }
        s.pop();
        s
    }
}

/// The result for one file.
enum Status {
    Ok { by_structure: bool },
    Unchecked,
    Absent,
    Missing,
    Truncated(String),
    Corrupt(String),
}

/// Checks the download against the plan in `cfg.plan_dir` and writes
/// `refetch.txt` there. A failed check is a report, not an error; errors
/// are bad input (no plan, another release, a malformed `SHA256SUMS.txt`).
pub fn check(cfg: &CheckConfig, jpeg: JpegCheck<'_>, progress: &dyn Progress) -> Result<CheckReport, CohortError> {
    let dir = &cfg.plan_dir;
    let d = &cfg.download;
    let lock = DirLock::acquire(dir)?;
    lock.remove_stale_temps(dir)?;
    let plan = Plan::load(dir)?;
    plan.matches(d)?;
    let mut sums: BTreeMap<Project, Sums> = BTreeMap::new();
    let mut method = BTreeMap::new();
    for p in Project::ALL {
        let found = Sums::load(&d.project_root(p).join(SUMS_FILE))?;
        method.insert(p, if found.is_some() { CheckMethod::Sha256 } else { CheckMethod::Structure });
        if let Some(s) = found {
            sums.insert(p, s);
        }
    }
    let mut files = plan.tables();
    files.extend(plan.files.iter().cloned());

    progress.start("verify", Some(files.len() as u64));
    let statuses: Vec<Result<Status, CohortError>> = files
        .par_iter()
        .map(|(p, rel)| {
            if progress.cancelled() {
                return Err(CohortError::Cancelled);
            }
            let s = verify(&plan, d, sums.get(p), *p, rel, jpeg, progress);
            progress.inc(1);
            s
        })
        .collect();
    progress.finish();

    let mut rep = CheckReport {
        plan_dir: dir.clone(),
        files: files.len(),
        method,
        refetch: dir.join(REFETCH),
        ..CheckReport::default()
    };
    let mut urls = Vec::new();
    for ((p, rel), status) in files.iter().zip(statuses) {
        let key = plan.key(*p, rel);
        let bad = |reason: String| BadFile { file: key.clone(), reason };
        let refetch = match status? {
            Status::Ok { by_structure } => {
                rep.ok += 1;
                rep.by_structure += usize::from(by_structure);
                false
            }
            Status::Unchecked => {
                rep.unchecked += 1;
                false
            }
            Status::Absent => {
                rep.absent_from_archive += 1;
                false
            }
            Status::Missing => {
                rep.missing.push(key.clone());
                true
            }
            Status::Truncated(r) => {
                rep.truncated.push(bad(r));
                true
            }
            Status::Corrupt(r) => {
                rep.corrupt.push(bad(r));
                true
            }
        };
        if refetch {
            urls.push(plan.url(*p, rel));
        }
    }
    rep.fallbacks = plan
        .chosen
        .iter()
        .filter(|(.., rel)| plan.is_absent(Project::CxrJpg, rel))
        .map(|(hadm, _, rel)| format!("hadm_id {hadm} ({rel})"))
        .collect();
    urls.sort();
    let mut tx = Transaction::new(&lock, Checksums::Update);
    stage_text(&mut tx, &rep.refetch, &urls.iter().map(|u| format!("{u}\n")).collect::<String>(), false)?;
    tx.commit()?;
    Ok(rep)
}

fn verify(
    plan: &Plan,
    d: &Download,
    sums: Option<&Sums>,
    p: Project,
    rel: &str,
    jpeg: JpegCheck<'_>,
    progress: &dyn Progress,
) -> Result<Status, CohortError> {
    let path = d.local(p, rel);
    let len = match std::fs::metadata(&path) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(if plan.is_absent(p, rel) { Status::Absent } else { Status::Missing });
        }
        Err(e) => return Ok(Status::Corrupt(format!("cannot stat: {e}"))),
    };
    if len == 0 {
        return Ok(Status::Truncated("empty".into()));
    }
    if let Some(want) = sums.and_then(|s| s.get(rel)) {
        let got = match durable::sha256_file(&path, &mut |_| !progress.cancelled()) {
            Ok(h) => h,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => return Err(CohortError::Cancelled),
            Err(e) => return Ok(Status::Corrupt(format!("cannot read: {e}"))),
        };
        if &got == want {
            return Ok(Status::Ok { by_structure: false });
        }
        return Ok(match structure(&path, rel, jpeg) {
            Some(Verdict::Truncated(why)) => Status::Truncated(format!("SHA-256 differs; {why}")),
            _ => Status::Corrupt("SHA-256 differs from SHA256SUMS.txt".into()),
        });
    }
    Ok(match structure(&path, rel, jpeg) {
        None => Status::Unchecked,
        Some(Verdict::Ok) => Status::Ok { by_structure: true },
        Some(Verdict::Truncated(why)) => Status::Truncated(why),
        Some(Verdict::Corrupt(why)) => Status::Corrupt(why),
    })
}

/// The structural verdict on a non-empty file, by its extension; `None`
/// when nothing can be checked (a `.dat` without its header, a table).
fn structure(path: &Path, rel: &str, jpeg: JpegCheck<'_>) -> Option<Verdict> {
    let ext = Path::new(rel).extension().and_then(|e| e.to_str()).unwrap_or("");
    match ext {
        "jpg" => Some(match jpeg(path) {
            Err(why) => Verdict::Corrupt(why),
            Ok(()) => match last_two_bytes(path) {
                Ok([0xFF, 0xD9]) => Verdict::Ok,
                Ok(_) => Verdict::Truncated("no JPEG end-of-image marker".into()),
                Err(e) => Verdict::Corrupt(format!("cannot read: {e}")),
            },
        }),
        "hea" => Some(match mimic_io::wfdb::read_header(path) {
            Ok(_) => Verdict::Ok,
            Err(e) => Verdict::Corrupt(Chain(&e).to_string()),
        }),
        "dat" => dat_verdict(path),
        "gz" => Some(match first_two_bytes(path) {
            Ok([0x1F, 0x8B]) => Verdict::Ok,
            Ok(_) => Verdict::Corrupt("not a gzip file".into()),
            Err(e) => Verdict::Corrupt(format!("cannot read: {e}")),
        }),
        _ => None,
    }
}

/// A `.dat` holds exactly the bytes its header (the `.hea` of the same
/// name) states for the signals stored in it.
fn dat_verdict(dat: &Path) -> Option<Verdict> {
    let header = mimic_io::wfdb::read_header(&dat.with_extension("hea")).ok()?;
    let name = dat.file_name()?.to_str()?;
    let signals: Vec<_> = header.signals.iter().filter(|s| s.file_name == name).collect();
    let first = signals.first()?;
    if !header.sig_len_given || signals.iter().any(|s| s.format != first.format || s.samples_per_frame != 1) {
        return None;
    }
    let samples = (header.sig_len as u64).saturating_mul(signals.len() as u64);
    let want = first.byte_offset.saturating_add(mimic_io::wfdb::required_bytes(first.format, samples));
    let have = std::fs::metadata(dat).ok()?.len();
    Some(match have.cmp(&want) {
        std::cmp::Ordering::Equal => Verdict::Ok,
        std::cmp::Ordering::Less => Verdict::Truncated(format!("{have} bytes, the header states {want}")),
        std::cmp::Ordering::Greater => Verdict::Corrupt(format!("{have} bytes, the header states {want}")),
    })
}

fn last_two_bytes(path: &Path) -> std::io::Result<[u8; 2]> {
    let mut f = std::fs::File::open(path)?;
    f.seek(SeekFrom::End(-2))?;
    let mut b = [0u8; 2];
    f.read_exact(&mut b)?;
    Ok(b)
}

fn first_two_bytes(path: &Path) -> std::io::Result<[u8; 2]> {
    let mut b = [0u8; 2];
    std::fs::File::open(path)?.read_exact(&mut b)?;
    Ok(b)
}
