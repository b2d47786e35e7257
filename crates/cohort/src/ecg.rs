//! Stage 1.3: the earliest valid ECG in the recipe's window around admission
//! (the published ±24 h).
//!
//! The reference reads every record of `record_list.csv` to drop those whose
//! signal has a NaN or is all zero, then picks the earliest survivor in the
//! window. Picking, per admission, the first *valid* record among the window's
//! candidates in (ecg_time, file order) is the same result; validity is then
//! decided only for candidates, earliest first, each record at most once
//! (a `OnceLock` per record), in parallel across admissions. Every
//! admission's answer depends only on its own candidates, so the result and
//! the set of records opened do not depend on the thread count.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use mimic_io::Timestamp;
use mimic_io::table::{TableReader, UniqueKeys};
use mimic_io::wfdb::{Validity, WfdbError};
use progress::Progress;
use pyfmt::pandas::{ColumnKind, KindInference};
use rayon::prelude::*;
use recipe::Window;

use crate::CohortError;
use crate::admissions::Admissions;
use crate::error::DUPLICATE_ROWS;
use crate::index::{Bounds, TimeIndex};
use crate::raw::StrArena;

/// Decides the validity of a record (path without extension), or says why
/// it cannot be read.
pub(crate) type Checker<'a> = &'a (dyn Fn(&Path) -> Result<Validity, WfdbError> + Sync);

/// What opening a record found.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    Valid,
    HasNan,
    AllZero,
    /// The reader's error; `absent`: its `.hea` or `.dat` is not on disk.
    Unreadable {
        error: Arc<WfdbError>,
        absent: bool,
    },
}

/// Whether a reader error means the record's files are not on disk (as
/// opposed to present but unreadable): a partial download is told apart
/// from a damaged one.
fn is_absent(e: &WfdbError) -> bool {
    match e {
        WfdbError::DatMissing { .. } => true,
        WfdbError::Io { source, .. } => source.kind() == std::io::ErrorKind::NotFound,
        _ => false,
    }
}

/// The ECG record list.
#[derive(Debug)]
pub(crate) struct Ecgs {
    pub path: PathBuf,
    pub dir: PathBuf,
    pub subject: Vec<i64>,
    pub study: Vec<i64>,
    pub time: Vec<Option<Timestamp>>,
    pub file_name: StrArena,
    pub rel: StrArena,
    pub line: Vec<u64>,
    pub file_name_kind: ColumnKind,
    pub path_kind: ColumnKind,
    /// Rows with an `ecg_time` by subject, in (time, file order).
    index: TimeIndex,
    /// The window of the recipe (`lo ≤ Δ ≤ hi`).
    window: Window,
    /// Validity of each record, decided at most once.
    outcome: Vec<OnceLock<Outcome>>,
}

/// Reads `record_list.csv`; every `path` must be a safe relative path.
pub(crate) fn read(ecg_dir: &Path, window: Window, progress: &dyn Progress) -> Result<Ecgs, CohortError> {
    let path = ecg_dir.join(mimic_io::layout::ECG_RECORD_LIST);
    progress.start("ECG record list", None);
    let mut t = TableReader::open(&path)?;
    let c = t.require(&["subject_id", "study_id", "file_name", "ecg_time", "path"])?;
    let mut e = Ecgs {
        path: path.clone(),
        dir: ecg_dir.to_path_buf(),
        subject: Vec::new(),
        study: Vec::new(),
        time: Vec::new(),
        file_name: StrArena::default(),
        rel: StrArena::default(),
        line: Vec::new(),
        file_name_kind: ColumnKind::Int,
        path_kind: ColumnKind::Text,
        index: TimeIndex::default(),
        window,
        outcome: Vec::new(),
    };
    let (mut fk, mut pk) = (KindInference::default(), KindInference::default());
    let mut studies = UniqueKeys::new("study_id", DUPLICATE_ROWS);
    let mut rec = csv::ByteRecord::new();
    while t.next_record(&mut rec)? {
        let subject = t.parse_i64(&rec, c[0])?;
        let study = t.parse_i64(&rec, c[1])?;
        studies.insert(&t, study)?;
        let time = t.parse_opt_time(&rec, c[3])?;
        let rel = rec.get(c[4]).unwrap_or_default();
        let rel_text = String::from_utf8_lossy(rel);
        mimic_io::paths::safe_join(ecg_dir, &rel_text, &path, t.line())?;
        let file_name = rec.get(c[2]).unwrap_or_default();
        fk.observe(file_name);
        pk.observe(rel);
        e.subject.push(subject);
        e.study.push(study);
        e.time.push(time);
        e.file_name.push(file_name);
        e.rel.push(rel);
        e.line.push(t.line());
    }
    e.file_name_kind = fk.kind();
    e.path_kind = pk.kind();
    e.index = TimeIndex::new(&e.subject, |r| e.time[r].map(|t| t.0));
    e.outcome = (0..e.subject.len()).map(|_| OnceLock::new()).collect();
    progress.inc(e.subject.len() as u64);
    progress.finish();
    tracing::debug!(records = e.subject.len(), "ECG record list read");
    Ok(e)
}

/// Per-record counts after the validity checks.
#[derive(Debug, Default)]
pub(crate) struct EcgCounts {
    pub opened: usize,
    pub has_nan: usize,
    pub all_zero: usize,
    /// Records that could not be read (skipped as invalid), in record_list order.
    pub unreadable: Vec<String>,
    /// Of those, records whose `.hea` or `.dat` is not on disk.
    pub absent: usize,
    /// Their `record_list` paths (relative, without extension).
    pub absent_rel: Vec<String>,
}

impl Ecgs {
    /// Number of records in the list.
    pub fn len(&self) -> usize {
        self.subject.len()
    }

    /// Records of `subject` with lo ≤ ecg_time − admittime ≤ hi, in (time, file order).
    pub fn candidates(&self, subject: i64, admit: Timestamp) -> &[u32] {
        self.index.window(subject, admit.0, self.window, Bounds::Closed)
    }

    /// The record path (without extension) of row `r`; checked safe at read time.
    pub fn record_path(&self, r: u32) -> PathBuf {
        self.dir.join(&*self.rel.text(r))
    }

    /// For each admission in `which`, the first valid candidate (`None`: none valid).
    /// An unreadable candidate is an error naming the record unless `skip_unreadable`.
    pub fn select(
        &self,
        adm: &Admissions,
        which: &[usize],
        skip_unreadable: bool,
        checker: Checker<'_>,
        progress: &dyn Progress,
    ) -> Result<Vec<Option<u32>>, CohortError> {
        progress.start("ECG validity", Some(which.len() as u64));
        let results: Vec<Result<Option<u32>, CohortError>> = which
            .par_iter()
            .map(|&a| {
                if progress.cancelled() {
                    return Err(CohortError::Cancelled);
                }
                let r = self.first_valid(adm, a, skip_unreadable, checker);
                progress.inc(1);
                r
            })
            .collect();
        progress.finish();
        results.into_iter().collect()
    }

    fn first_valid(
        &self,
        adm: &Admissions,
        a: usize,
        skip_unreadable: bool,
        checker: Checker<'_>,
    ) -> Result<Option<u32>, CohortError> {
        for &r in self.candidates(adm.subject[a], adm.admit[a]) {
            let outcome = self.outcome[r as usize].get_or_init(|| match checker(&self.record_path(r)) {
                Ok(Validity::Valid) => Outcome::Valid,
                Ok(Validity::HasNan) => Outcome::HasNan,
                Ok(Validity::AllZero) => Outcome::AllZero,
                Err(e) => Outcome::Unreadable { absent: is_absent(&e), error: Arc::new(e) },
            });
            match outcome {
                Outcome::Valid => return Ok(Some(r)),
                Outcome::HasNan | Outcome::AllZero => {}
                Outcome::Unreadable { error, .. } => {
                    if !skip_unreadable {
                        return Err(CohortError::UnreadableEcg {
                            record: self.record_path(r),
                            table: self.path.clone(),
                            line: self.line[r as usize],
                            hadm_id: adm.hadm[a],
                            source: Arc::clone(error),
                        });
                    }
                }
            }
        }
        Ok(None)
    }

    /// Counts of what the checks found, over every record opened so far.
    pub fn counts(&self) -> EcgCounts {
        let mut c = EcgCounts::default();
        for (r, o) in self.outcome.iter().enumerate() {
            let Some(o) = o.get() else { continue };
            c.opened += 1;
            match o {
                Outcome::Valid => {}
                Outcome::HasNan => c.has_nan += 1,
                Outcome::AllZero => c.all_zero += 1,
                Outcome::Unreadable { absent, .. } => {
                    if *absent {
                        c.absent += 1;
                        c.absent_rel.push(self.rel.text(r as u32).into_owned());
                    }
                    c.unreadable.push(self.record_path(r as u32).display().to_string());
                }
            }
        }
        c
    }
}
