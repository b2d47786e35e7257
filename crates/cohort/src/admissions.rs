//! Stage 1.1: admissions left-joined with patients.
//!
//! Both tables are small next to `labevents` (hundreds of thousands of rows),
//! so they are read whole. Columns the reference passes through untouched are
//! kept as raw bytes with pandas' dtype inferred over the whole file; the left
//! join's gap (an admission whose subject is not in `patients`) turns every
//! patients column that was `int64` into `float64`, for every row, exactly as
//! pandas does.

use std::collections::HashMap;
use std::path::Path;

use mimic_io::Timestamp;
use mimic_io::table::{TableReader, UniqueKeys};
use progress::Progress;
use pyfmt::pandas::ColumnKind;

use crate::CohortError;
use crate::error::DUPLICATE_ROWS;
use crate::raw::RawColumns;

/// Admissions columns the reference drops right after the join.
const ADM_DROPPED: [&str; 6] =
    ["admit_provider_id", "insurance", "language", "marital_status", "edregtime", "edouttime"];
/// Every admissions column the reference names (its `drop` calls fail without them).
const ADM_KNOWN: [&str; 16] = [
    "subject_id",
    "hadm_id",
    "admittime",
    "dischtime",
    "deathtime",
    "admission_type",
    "admit_provider_id",
    "admission_location",
    "discharge_location",
    "insurance",
    "language",
    "marital_status",
    "race",
    "edregtime",
    "edouttime",
    "hospital_expire_flag",
];
/// Every patients column the reference names.
const PAT_KNOWN: [&str; 6] = ["subject_id", "gender", "anchor_age", "anchor_year", "anchor_year_group", "dod"];

/// One column of the admissions part of the output, in output order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AdmCol {
    Subject,
    Hadm,
    Admittime,
    Dischtime,
    Deathtime,
    /// A pass-through admissions column (index into `adm_raw`); `extra` marks
    /// a column the reference does not know, which pandas later suffixes `_x`/`_y`.
    AdmRaw {
        col: usize,
        extra: bool,
    },
    /// A pass-through patients column (index into `pat_raw`).
    PatRaw {
        col: usize,
        extra: bool,
    },
    AdmittimeYear,
    Age,
}

/// The admissions table joined with patients.
#[derive(Debug)]
pub(crate) struct Admissions {
    pub subject: Vec<i64>,
    pub hadm: Vec<i64>,
    pub admit: Vec<Timestamp>,
    pub disch: Vec<Option<Timestamp>>,
    pub death: Vec<Option<Timestamp>>,
    pub adm_raw: RawColumns,
    /// Patients row of each admission (`None`: subject absent from patients).
    pub patient: Vec<Option<u32>>,
    pub pat_raw: RawColumns,
    pub pat_rows: usize,
    pub anchor_age: Vec<Option<f64>>,
    pub anchor_year: Vec<Option<f64>>,
    /// Some admission's subject is missing from patients (the left join has a gap).
    pub gap: bool,
    /// Output columns of this part, in order.
    pub columns: Vec<(String, AdmCol)>,
}

impl Admissions {
    /// Number of admissions read.
    pub fn len(&self) -> usize {
        self.hadm.len()
    }

    /// True when `age` is an integer column before the join's gap.
    pub fn age_is_int(&self) -> bool {
        let a = self.pat_raw.position("anchor_age").map(|c| self.pat_raw.kind(c));
        let y = self.pat_raw.position("anchor_year").map(|c| self.pat_raw.kind(c));
        a == Some(ColumnKind::Int) && y == Some(ColumnKind::Int)
    }
}

/// Reads `patients.csv.gz` and `admissions.csv.gz` from the hosp directory.
pub(crate) fn read(hosp_dir: &Path, progress: &dyn Progress) -> Result<Admissions, CohortError> {
    let pat_path = hosp_dir.join(mimic_io::layout::PATIENTS);
    let adm_path = hosp_dir.join(mimic_io::layout::ADMISSIONS);
    progress.start("patients", None);

    // patients
    let mut t = TableReader::open(&pat_path)?;
    t.require(&PAT_KNOWN)?;
    let headers = t.headers().to_vec();
    let subj_col = t.require(&["subject_id"])?[0];
    let (mut names, mut idx) = (Vec::new(), Vec::new());
    for (i, h) in headers.iter().enumerate() {
        if h != "subject_id" && h != "anchor_year_group" {
            names.push(h.clone());
            idx.push(i);
        }
    }
    let mut pat_raw = RawColumns::new(names, idx);
    let age_col = t.require(&["anchor_age"])?[0];
    let year_col = t.require(&["anchor_year"])?[0];
    let mut by_subject: HashMap<i64, u32> = HashMap::new();
    let mut unique = UniqueKeys::new("subject_id", DUPLICATE_ROWS);
    let (mut anchor_age, mut anchor_year) = (Vec::new(), Vec::new());
    let mut rec = csv::ByteRecord::new();
    while t.next_record(&mut rec)? {
        let s = t.parse_i64(&rec, subj_col)?;
        let row = anchor_age.len() as u32;
        unique.insert(&t, s)?;
        by_subject.insert(s, row);
        anchor_age.push(t.parse_opt_f64(&rec, age_col)?);
        anchor_year.push(t.parse_opt_f64(&rec, year_col)?);
        pat_raw.push(&rec);
    }
    let pat_rows = anchor_age.len();
    progress.inc(pat_rows as u64);
    progress.finish();

    // admissions
    progress.start("admissions", None);
    let mut t = TableReader::open(&adm_path)?;
    let req = t.require(&ADM_KNOWN)?;
    let headers = t.headers().to_vec();
    for h in &headers {
        if h != "subject_id" && pat_raw.position(h).is_some() {
            return Err(CohortError::BadColumn {
                path: adm_path,
                message: format!("column {h:?} is also a patients column; the reference's join would rename both"),
            });
        }
    }
    let (mut names, mut idx) = (Vec::new(), Vec::new());
    let mut columns = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        let col = match h.as_str() {
            "subject_id" => AdmCol::Subject,
            "hadm_id" => AdmCol::Hadm,
            "admittime" => AdmCol::Admittime,
            "dischtime" => AdmCol::Dischtime,
            "deathtime" => AdmCol::Deathtime,
            _ if ADM_DROPPED.contains(&h.as_str()) => continue,
            _ => {
                names.push(h.clone());
                idx.push(i);
                AdmCol::AdmRaw { col: names.len() - 1, extra: !ADM_KNOWN.contains(&h.as_str()) }
            }
        };
        columns.push((h.clone(), col));
    }
    for (c, name) in pat_raw.names.iter().enumerate() {
        columns.push((name.clone(), AdmCol::PatRaw { col: c, extra: !PAT_KNOWN.contains(&name.as_str()) }));
    }
    columns.push(("admittime_year".into(), AdmCol::AdmittimeYear));
    columns.push(("age".into(), AdmCol::Age));
    let mut adm_raw = RawColumns::new(names, idx);

    let [c_subj, c_hadm, c_admit, c_disch, c_death] = [req[0], req[1], req[2], req[3], req[4]];
    let mut out = Admissions {
        subject: Vec::new(),
        hadm: Vec::new(),
        admit: Vec::new(),
        disch: Vec::new(),
        death: Vec::new(),
        adm_raw: RawColumns::default(),
        patient: Vec::new(),
        pat_raw,
        pat_rows,
        anchor_age,
        anchor_year,
        gap: false,
        columns,
    };
    let mut seen = UniqueKeys::new("hadm_id", DUPLICATE_ROWS);
    while t.next_record(&mut rec)? {
        let s = t.parse_i64(&rec, c_subj)?;
        let h = t.parse_i64(&rec, c_hadm)?;
        seen.insert(&t, h)?;
        // The reference's `admittime.dt.year.astype("int64")` fails on a missing admittime.
        out.admit.push(t.parse_time(&rec, c_admit)?);
        out.disch.push(t.parse_opt_time(&rec, c_disch)?);
        out.death.push(t.parse_opt_time(&rec, c_death)?);
        let p = by_subject.get(&s).copied();
        out.gap |= p.is_none();
        out.patient.push(p);
        out.subject.push(s);
        out.hadm.push(h);
        adm_raw.push(&rec);
    }
    out.adm_raw = adm_raw;
    progress.inc(out.len() as u64);
    progress.finish();
    tracing::debug!(admissions = out.len(), patients = out.pat_rows, gap = out.gap, "admissions read");
    Ok(out)
}
