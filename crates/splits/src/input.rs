//! The cohort CSV as stage 2 sees it: the reference's `read_csv(...).drop(COLS_TO_DROP)`.
//!
//! Every kept cell is stored as its raw bytes and printed back at the end the
//! way pandas would (`push_cell` with the dtype inferred over the whole
//! file), so columns this stage does not interpret pass through unchanged.
//! Only the ids and the recipe's labs are parsed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use mimic_io::layout::SPLIT_CHEXPERT_LABELS;
use mimic_io::table::{TableReader, UniqueKeys};
use pyfmt::pandas::{ColumnKind, KindInference, is_na};

use crate::SplitsError;

/// The columns `create_dataset_splits.py` drops (`COLS_TO_DROP`); pandas'
/// `drop` raises when one is absent, so each is required.
pub const COLS_TO_DROP: [&str; 34] = [
    "admittime",
    "dischtime",
    "deathtime",
    "admission_type",
    "admission_location",
    "discharge_location",
    "race",
    "hospital_expire_flag",
    "gender",
    "anchor_age",
    "anchor_year",
    "dod",
    "admittime_year",
    "age",
    "cxr_24_72_hr",
    "cxr_dicom_id",
    "cxr_study_id",
    "cxr_ViewPosition",
    "cxr_ViewCodeSequence_CodeMeaning",
    "cxr_StudyDateTime",
    "study_id",
    "Consolidation",
    "Enlarged Cardiomediastinum",
    "Fracture",
    "Lung Lesion",
    "Pleural Other",
    "Pneumonia",
    "Pneumothorax",
    "Support Devices",
    "ecg_adm",
    "ecg_study_id",
    "ecg_file_name",
    "ecg_time",
    "labs_all_nan",
];

/// The cohort after the drop: kept columns in file order, raw cells, parsed ids and labs.
#[derive(Debug)]
pub(crate) struct Cohort {
    pub path: PathBuf,
    /// Kept column names, file order.
    pub headers: Vec<String>,
    /// pandas dtype of each kept column, inferred over the whole file.
    pub kinds: Vec<ColumnKind>,
    /// Raw bytes of every kept cell, row-major.
    bytes: Vec<u8>,
    /// End offset in `bytes` of each cell, row-major.
    ends: Vec<usize>,
    pub subject: Vec<i64>,
    pub hadm: Vec<i64>,
    /// `labs[l][row]`: the value of the recipe's `l`-th lab (None = missing).
    pub labs: Vec<Vec<Option<f64>>>,
    /// pandas dtype of each lab column (the recipe's order).
    pub lab_kinds: Vec<ColumnKind>,
}

impl Cohort {
    /// Reads and checks the cohort CSV (header, ids, unique `hadm_id`, the
    /// numeric columns of `lab_ids`).
    pub fn read(path: &Path, lab_ids: &[u32]) -> Result<Self, SplitsError> {
        let mut reader = TableReader::open(path)?;
        let headers = reader.headers().to_vec();
        let mut seen = HashMap::new();
        for h in &headers {
            if seen.insert(h.as_str(), ()).is_some() {
                return Err(SplitsError::DuplicateColumn { path: path.to_path_buf(), column: h.clone() });
            }
        }
        let lab_names: Vec<String> = lab_ids.iter().map(u32::to_string).collect();
        let mut required: Vec<&str> = vec!["subject_id", "hadm_id", "cxr_path"];
        required.extend(SPLIT_CHEXPERT_LABELS);
        required.push("ecg_path");
        required.extend(lab_names.iter().map(String::as_str));
        required.extend(COLS_TO_DROP);
        reader.require(&required)?;

        let kept: Vec<usize> = (0..headers.len()).filter(|&i| !COLS_TO_DROP.contains(&headers[i].as_str())).collect();
        let kept_headers: Vec<String> = kept.iter().map(|&i| headers[i].clone()).collect();
        let col = |name: &str| headers.iter().position(|h| h == name).expect("required column present");
        let subject_col = col("subject_id");
        let hadm_col = col("hadm_id");
        let lab_cols: Vec<usize> = lab_names.iter().map(|n| col(n)).collect();

        let mut inference = vec![KindInference::default(); kept.len()];
        let mut bytes = Vec::new();
        let mut ends = Vec::new();
        let mut subject = Vec::new();
        let mut hadm = Vec::new();
        let mut labs: Vec<Vec<Option<f64>>> = vec![Vec::new(); lab_ids.len()];
        let mut hadm_lines = UniqueKeys::new("hadm_id", "admissions must be unique");
        let mut rec = csv::ByteRecord::new();
        while reader.next_record(&mut rec)? {
            for (k, &i) in kept.iter().enumerate() {
                let field = rec.get(i).unwrap_or_default();
                inference[k].observe(field);
                bytes.extend_from_slice(field);
                ends.push(bytes.len());
            }
            subject.push(reader.parse_i64(&rec, subject_col)?);
            let h = reader.parse_i64(&rec, hadm_col)?;
            hadm_lines.insert(&reader, h)?;
            hadm.push(h);
            for (l, &c) in lab_cols.iter().enumerate() {
                let v = rec.get(c).unwrap_or_default();
                let parsed = if is_na(v) {
                    None
                } else {
                    // pandas' own (not correctly rounded) float parser: the reference ranks these values.
                    Some(
                        pyfmt::pandas::parse_float(v)
                            .ok_or_else(|| reader.field_error(c, v, "a number or an empty field"))?,
                    )
                };
                labs[l].push(parsed);
            }
        }
        let kinds: Vec<ColumnKind> = inference.iter().map(KindInference::kind).collect();
        let lab_kinds =
            lab_names.iter().map(|n| kinds[kept_headers.iter().position(|h| h == n).expect("labs are kept")]).collect();
        tracing::debug!(rows = hadm.len(), columns = kept_headers.len(), "read cohort {}", path.display());
        Ok(Self { path: path.to_path_buf(), headers: kept_headers, kinds, bytes, ends, subject, hadm, labs, lab_kinds })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.hadm.len()
    }

    /// Raw bytes of kept column `c` in row `r`.
    pub fn cell(&self, r: usize, c: usize) -> &[u8] {
        let idx = r * self.headers.len() + c;
        let start = if idx == 0 { 0 } else { self.ends[idx - 1] };
        &self.bytes[start..self.ends[idx]]
    }
}
