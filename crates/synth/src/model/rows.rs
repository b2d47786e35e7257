//! The rows of one subject, as the writers print them and the oracle reads
//! them: admissions, CXR studies and images, ECGs, lab events.

use mimic_io::Timestamp;

use super::cases::Planted;

/// Whether a table row's file is on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileState {
    /// Written (unless a file budget drops it; see `budget`).
    Write,
    /// Deliberately absent (planted or background "missing image").
    Missing,
    /// Dropped by `--max-cxr-files`.
    Budget,
}

#[derive(Debug, Clone)]
pub(crate) struct Admission {
    pub hadm_id: i64,
    pub admit: Timestamp,
    pub disch: Timestamp,
    pub death: Option<Timestamp>,
    pub admission_type: &'static str,
    pub provider: u32,
    pub admission_location: &'static str,
    pub discharge_location: &'static str,
    pub insurance: &'static str,
    pub language: &'static str,
    pub marital: &'static str,
    pub race: &'static str,
    pub ed: Option<(Timestamp, Timestamp)>,
    /// The planted cases it exercises; `None` for a background admission.
    pub planted: Option<Planted>,
}

#[derive(Debug, Clone)]
pub(crate) struct Study {
    pub study_id: i64,
    /// `StudyDate` + `StudyTime` truncated to whole seconds.
    pub time: Timestamp,
    /// Fraction of a second in thousandths, and how many digits are printed.
    pub frac_ms: u16,
    pub frac_digits: u8,
    pub procedure: &'static str,
    /// CheXpert labels: 1, 0, -1, or 2 for blank; `None` = no CheXpert row.
    pub chexpert: Option<[i8; 14]>,
}

#[derive(Debug, Clone)]
pub(crate) struct Image {
    pub dicom_id: String,
    pub study: usize,
    pub view: &'static str,
    pub rows: u32,
    pub cols: u32,
    pub quality: u8,
    pub file: FileState,
    pub planted: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EcgKind {
    Normal,
    /// Some samples are -32768 (NaN in the physical signal).
    Nan,
    /// Every sample is 0.
    Zero,
    /// Every sample is the same non-zero value (valid for stage 1).
    Constant,
}

#[derive(Debug, Clone)]
pub(crate) struct Ecg {
    pub study_id: i64,
    pub time: Timestamp,
    pub kind: EcgKind,
    pub gain: u16,
    pub planted: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Lab {
    pub hadm_id: Option<i64>,
    pub specimen: u32,
    /// Index into [`crate::catalog::ITEMS`].
    pub item: u16,
    pub time: Timestamp,
    pub store_min: Option<u16>,
    /// `valuenum` as an integer in units of 10^-decimals; `None` = blank.
    pub value: Option<i64>,
    pub blank_text: u8,
    pub provider: Option<u32>,
    pub priority: u8,
    pub comment: Option<u8>,
    /// Write this row's labevent_id swapped with the next row's (a tie whose
    /// file order disagrees with labevent_id order).
    pub swap_id_with_next: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Subject {
    pub index: usize,
    pub subject_id: i64,
    pub in_patients: bool,
    pub gender: &'static str,
    pub anchor_age: i64,
    pub anchor_year: i64,
    pub anchor_group: &'static str,
    pub dod: Option<Timestamp>,
    pub admissions: Vec<Admission>,
    pub studies: Vec<Study>,
    pub images: Vec<Image>,
    pub ecgs: Vec<Ecg>,
    pub labs: Vec<Lab>,
    /// CheXpert rows for studies with no metadata rows (study ids only).
    pub extra_chexpert: Vec<(i64, [i8; 14])>,
    pub planted: bool,
}
