//! The errors of stage 3.
//!
//! Every variant names what the user has to look at: the recipe field, the file, and
//! for anything that comes from a split CSV the table and the 1-based line of
//! the (first) row that refers to it, because the same image or record is
//! usually shared by several rows.

use std::io;
use std::path::PathBuf;

use durable::{AtomicError, DurableError};
use mimic_io::paths::UnsafePath;
use mimic_io::table::TableError;

/// An error of [`crate::run`]. When `run` returns one, no tensor file and no
/// `metadata.json` of this run has been put in place.
#[derive(Debug, thiserror::Error)]
pub enum TensorsError {
    /// The dataset card or the Croissant file could not be rendered.
    #[error("{}: cannot render the dataset card", path.display())]
    Card { path: PathBuf, source: dataset_card::CardError },
    /// The recipe breaks a rule that holds whatever the data (a crop larger
    /// than the scale, a zero size, …).
    #[error(transparent)]
    Recipe(#[from] recipe::RecipeError),
    /// A split CSV could not be read, lacks columns or has a bad field.
    #[error(transparent)]
    Table(#[from] TableError),
    /// `labs_means.json` cannot be read.
    #[error("{path}: cannot read the lab means")]
    LabsMeansRead { path: PathBuf, source: io::Error },
    /// `labs_means.json` is not a flat JSON object of numbers, or does not
    /// have exactly one `<itemid>_percentile` key per lab of the recipe
    /// (then `field` is the recipe's lab list).
    #[error("{path}: {message}")]
    LabsMeans { path: PathBuf, message: String, field: Option<recipe::Field> },
    /// A split CSV has no data row (the reference cannot stack an empty split).
    #[error("{table}: the split has no rows (expected at least one: the reference cannot stack an empty split)")]
    EmptySplit { table: PathBuf },
    /// A `cxr_path`/`ecg_path` value that is absolute or leaves its data root.
    #[error(transparent)]
    UnsafePath(#[from] UnsafePath),
    /// An image or ECG header a row refers to does not exist.
    #[error("{table}:{line}: {what} {path} does not exist")]
    MissingInput { table: PathBuf, line: u64, what: &'static str, path: PathBuf },
    /// An image could not be read, decoded or resized.
    #[error("{table}:{line}")]
    Cxr { table: PathBuf, line: u64, source: cxr_prep::CxrError },
    /// The resized image does not have the size its JPEG header promised
    /// (train crop offsets were drawn for that size).
    #[error(
        "{table}:{line}: {path}: resized image is {got_w}x{got_h}, but its JPEG header gives {want_w}x{want_h} after resizing"
    )]
    CxrSize { table: PathBuf, line: u64, path: PathBuf, got_w: u32, got_h: u32, want_w: u32, want_h: u32 },
    /// An ECG record could not be read (boxed: the WFDB error is large).
    #[error("{table}:{line}")]
    Ecg { table: PathBuf, line: u64, source: Box<ecg_prep::EcgError> },
    /// An ECG record whose shape differs from the split's first record.
    #[error(
        "{table}:{line}: ECG record {record} has {samples} samples x {leads} leads, but the split's first record \
         ({first}) has {want_samples} x {want_leads}; every record of a split must have the same shape"
    )]
    EcgShape {
        table: PathBuf,
        line: u64,
        record: String,
        samples: usize,
        leads: usize,
        first: String,
        want_samples: usize,
        want_leads: usize,
    },
    /// With `strict`: ECG records whose normalised signal is NaN (flat or
    /// containing NaN samples).
    #[error(
        "{table}: {count} ECG record(s) normalise to NaN (flat signal or NaN samples) and strict mode is on: {records:?}"
    )]
    BadEcg { table: PathBuf, count: usize, records: Vec<String> },
    /// Writing a tensor file failed.
    #[error(transparent)]
    Store(#[from] tensor_store::StoreError),
    /// Writing `metadata.json` failed.
    #[error(transparent)]
    Atomic(#[from] AtomicError),
    /// A directory could not be created or cleaned, or a file not hashed.
    #[error("{path}")]
    Io { path: PathBuf, source: io::Error },
    /// Locking the output directory, checking its free space or committing failed.
    #[error(transparent)]
    Durable(#[from] DurableError),
    /// The run was asked to stop; nothing of it was put in place.
    #[error("cancelled; no tensor file of this run was kept")]
    Cancelled,
    /// An invariant of this crate was broken (a bug, not bad input).
    #[error("internal error: {0}")]
    Internal(String),
}

impl TensorsError {
    /// The recipe field the error is about, if any (the caller names it in
    /// its own spelling).
    pub fn field(&self) -> Option<recipe::Field> {
        match self {
            TensorsError::Recipe(e) => e.field(),
            TensorsError::LabsMeans { field, .. } => *field,
            _ => None,
        }
    }
}
