//! Stage 1.2: the chest X-ray in the recipe's window after admission (the
//! published 24–72 h), and its CheXpert labels.
//!
//! Only rows of the recipe's views (the published AP/PA) are kept, grouped by
//! subject and sorted by (StudyDateTime, file order) in a [`TimeIndex`], so an
//! admission's window is two binary searches. The reference drops images missing on disk *before* choosing;
//! choosing the first candidate that exists, in that order, is the same
//! result while touching the file system only for candidates, each at most
//! once (cached) even when two admissions share one, and only for the
//! admissions the tables leave in play (see `reach`): which files are looked
//! at is then a property of the tables, so a download holding only those
//! files gives the same answers as a complete one.

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

use mimic_io::Timestamp;
use mimic_io::table::{TableReader, UniqueKeys};
use progress::Progress;
use pyfmt::pandas::{ColumnKind, KindInference};
use rayon::prelude::*;
use recipe::Window;

use crate::CohortError;
use crate::admissions::Admissions;
use crate::error::DUPLICATE_ROWS;
use crate::index::{Bounds, TimeIndex};
use crate::raw::{RawColumns, StrArena};

/// Metadata columns the reference reads or drops by name.
const META_REQUIRED: [&str; 9] = [
    "dicom_id",
    "subject_id",
    "study_id",
    "ViewPosition",
    "StudyDate",
    "StudyTime",
    "ViewCodeSequence_CodeMeaning",
    "ProcedureCodeSequence_CodeMeaning",
    "PatientOrientationCodeSequence_CodeMeaning",
];

/// The kept images (the recipe's views) of the metadata table, and the CheXpert table.
#[derive(Debug)]
pub(crate) struct Cxr {
    pub meta_rows: usize,
    pub subject: Vec<i64>,
    pub study: Vec<i64>,
    pub time: Vec<Timestamp>,
    pub dicom: StrArena,
    pub view: StrArena,
    pub meaning: StrArena,
    pub meaning_kind: ColumnKind,
    /// Kept rows by subject, in (time, file order).
    index: TimeIndex,
    /// The window of the recipe (`lo < Δ ≤ hi`).
    window: Window,
    /// CheXpert columns except `subject_id`, in file order.
    pub chex: RawColumns,
    pub chex_by_study: HashMap<i64, u32>,
    pub chex_rows: usize,
}

/// The chosen image of one admission.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CxrChoice {
    /// Kept metadata row.
    pub row: u32,
    /// CheXpert row of its study, if any.
    pub chexpert: Option<u32>,
}

/// Result of the CXR step over all admissions.
#[derive(Debug)]
pub(crate) struct CxrSelection {
    pub chosen: Vec<Option<CxrChoice>>,
    /// Candidate images whose file does not exist (kept rows, in file order).
    pub absent_rows: Vec<u32>,
    /// Candidate images whose existence was checked.
    pub checked: usize,
}

fn parse_study_date(b: &[u8]) -> Option<(i64, u32, u32)> {
    let v = pyfmt::pandas::parse_int(b)?;
    if !(10_000_101..=99_991_231).contains(&v) {
        return None;
    }
    Some((v / 10_000, ((v / 100) % 100) as u32, (v % 100) as u32))
}

/// `StudyTime.astype(int)` then zero-padded `HHMMSS`.
fn parse_study_time(b: &[u8]) -> Option<(u32, u32, u32)> {
    let f = pyfmt::pandas::parse_float(b)?;
    if !(0.0..1_000_000.0).contains(&f) {
        return None;
    }
    let t = f.trunc() as u32;
    Some((t / 10_000, (t / 100) % 100, t % 100))
}

/// Reads the metadata and CheXpert tables named in `tables`, keeping the
/// images of the rules' views.
pub(crate) fn read(
    cxr_dir: &Path,
    tables: &mimic_io::discover::CxrTables,
    rules: &recipe::CohortRecipe,
    progress: &dyn Progress,
) -> Result<Cxr, CohortError> {
    let meta_path = cxr_dir.join(&tables.metadata);
    let chex_path = cxr_dir.join(&tables.chexpert);
    progress.start("CXR metadata", None);
    let mut t = TableReader::open(&meta_path)?;
    let c = t.require(&META_REQUIRED)?;
    let [c_dicom, c_subj, c_study, c_view, c_date, c_time, c_meaning] = [c[0], c[1], c[2], c[3], c[4], c[5], c[6]];
    let mut cxr = Cxr {
        meta_rows: 0,
        subject: Vec::new(),
        study: Vec::new(),
        time: Vec::new(),
        dicom: StrArena::default(),
        view: StrArena::default(),
        meaning: StrArena::default(),
        meaning_kind: ColumnKind::Text,
        index: TimeIndex::default(),
        window: rules.cxr_window_hours,
        chex: RawColumns::default(),
        chex_by_study: HashMap::new(),
        chex_rows: 0,
    };
    let mut meaning_inf = KindInference::default();
    let mut dicoms = UniqueKeys::new("dicom_id", DUPLICATE_ROWS);
    let mut rec = csv::ByteRecord::new();
    while t.next_record(&mut rec)? {
        cxr.meta_rows += 1;
        let subject = t.parse_i64(&rec, c_subj)?;
        let study = t.parse_i64(&rec, c_study)?;
        let dicom = rec.get(c_dicom).unwrap_or_default();
        dicoms.insert(&t, String::from_utf8_lossy(dicom).into_owned())?;
        // The reference computes StudyDateTime for every row before filtering views.
        let date_b = rec.get(c_date).unwrap_or_default();
        let (y, mo, d) =
            parse_study_date(date_b).ok_or_else(|| t.field_error(c_date, date_b, "a date YYYYMMDD (integer)"))?;
        let time_b = rec.get(c_time).unwrap_or_default();
        let (h, mi, s) = parse_study_time(time_b)
            .ok_or_else(|| t.field_error(c_time, time_b, "a time HHMMSS[.fff] (number below 240000)"))?;
        let ts = Timestamp::from_parts(y, mo, d, h, mi, s)
            .ok_or_else(|| t.field_error(c_time, time_b, "a valid StudyDate + StudyTime"))?;
        let meaning = rec.get(c_meaning).unwrap_or_default();
        meaning_inf.observe(meaning);
        let view = rec.get(c_view).unwrap_or_default();
        if !rules.cxr_views.iter().any(|v| v.as_bytes() == view) {
            continue;
        }
        cxr.subject.push(subject);
        cxr.study.push(study);
        cxr.time.push(ts);
        cxr.dicom.push(dicom);
        cxr.view.push(view);
        cxr.meaning.push(meaning);
    }
    drop(dicoms);
    cxr.meaning_kind = meaning_inf.kind();
    cxr.index = TimeIndex::new(&cxr.subject, |r| Some(cxr.time[r].0));
    progress.inc(cxr.meta_rows as u64);
    progress.finish();

    progress.start("CheXpert labels", None);
    let mut t = TableReader::open(&chex_path)?;
    let c = t.require(&["subject_id", "study_id"])?;
    let (mut names, mut idx) = (Vec::new(), Vec::new());
    for (i, h) in t.headers().iter().enumerate() {
        if i != c[0] {
            names.push(h.clone());
            idx.push(i);
        }
    }
    let mut chex = RawColumns::new(names, idx);
    let mut lines = UniqueKeys::new("study_id", DUPLICATE_ROWS);
    while t.next_record(&mut rec)? {
        let study = t.parse_i64(&rec, c[1])?;
        lines.insert(&t, study)?;
        cxr.chex_by_study.insert(study, cxr.chex_rows as u32);
        cxr.chex_rows += 1;
        chex.push(&rec);
    }
    cxr.chex = chex;
    progress.inc(cxr.chex_rows as u64);
    progress.finish();
    tracing::debug!(
        metadata = cxr.meta_rows,
        kept_views = cxr.subject.len(),
        chexpert = cxr.chex_rows,
        "CXR tables read"
    );
    Ok(cxr)
}

impl Cxr {
    /// Relative image path of kept row `i` (built, so safe by construction).
    pub fn rel_path(&self, i: u32) -> String {
        let i_us = i as usize;
        mimic_io::layout::cxr_rel_path(self.subject[i_us], self.study[i_us], &self.dicom.text(i))
    }

    /// For every admission in `which`, the earliest kept image on disk with
    /// lo < StudyDateTime − admittime ≤ hi (tie → metadata order), and the
    /// CheXpert row of its study; `None` for every other admission.
    pub fn select(&self, adm: &Admissions, which: &[usize], cxr_dir: &Path, progress: &dyn Progress) -> CxrSelection {
        let exists: Vec<OnceLock<bool>> = (0..self.subject.len()).map(|_| OnceLock::new()).collect();
        progress.start("CXR in window", Some(which.len() as u64));
        let found: Vec<(usize, Option<CxrChoice>)> = which
            .par_iter()
            .map(|&a| {
                let found = self
                    .candidates(adm.subject[a], adm.admit[a])
                    .iter()
                    .copied()
                    .find(|&row| *exists[row as usize].get_or_init(|| cxr_dir.join(self.rel_path(row)).exists()));
                progress.inc(1);
                (a, found.map(|row| CxrChoice { row, chexpert: self.chexpert_of(row) }))
            })
            .collect();
        progress.finish();
        let mut chosen = vec![None; adm.len()];
        for (a, c) in found {
            chosen[a] = c;
        }
        let checked = exists.iter().filter(|e| e.get().is_some()).count();
        let absent_rows = (0..exists.len() as u32).filter(|&r| exists[r as usize].get() == Some(&false)).collect();
        CxrSelection { chosen, absent_rows, checked }
    }

    /// The CheXpert row of kept row `row`'s study, if it has one.
    pub fn chexpert_of(&self, row: u32) -> Option<u32> {
        self.chex_by_study.get(&self.study[row as usize]).copied()
    }

    /// Kept rows of `subject` in the window, in (time, file order).
    pub fn candidates(&self, subject: i64, admit: Timestamp) -> &[u32] {
        self.index.window(subject, admit.0, self.window, Bounds::OpenClosed)
    }
}
