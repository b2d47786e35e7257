//! Errors of stage 2, each naming the recipe field or column and the numbers involved.

use std::path::PathBuf;

use durable::{AtomicError, DurableError};
use mimic_io::table::TableError;

use crate::numpy_rng::RngError;

/// Why `splits` refused to run or failed; nothing is written when this is returned
/// before the output phase (every check happens before the first file is created).
#[derive(Debug, thiserror::Error)]
pub enum SplitsError {
    /// The recipe breaks a rule that holds whatever the data.
    #[error(transparent)]
    Recipe(#[from] recipe::RecipeError),
    /// `splits.train_n` outside `1..rows` (sklearn's `train_test_split` rejects it).
    #[error(
        "splits.train_n = {train_n} must be at least 1 and less than the {rows} rows of the cohort {} (rows must be \
         left for val and test)",
        path.display()
    )]
    TrainN {
        /// The value.
        train_n: usize,
        /// Rows in the cohort.
        rows: usize,
        /// The cohort file.
        path: PathBuf,
    },
    /// `splits.val_n` outside `1..left` where `left` is what remains after train and its subject filter.
    #[error(
        "splits.val_n = {val_n} must be at least 1 and less than the {left} rows left for val and test (the cohort \
         has {rows} rows; splits.train_n = {train_n} took {train_n} and {dropped} more were dropped for a train subject)"
    )]
    ValN {
        /// The value.
        val_n: usize,
        /// `splits.train_n`.
        train_n: usize,
        /// Rows in the cohort.
        rows: usize,
        /// Rows of the rest-set dropped for a train subject.
        dropped: usize,
        /// Rows left for val + test.
        left: usize,
    },
    /// `splits.candidate_n` above an evaluation split's size.
    #[error(
        "splits.candidate_n = {candidate_n} must be at most the number of rows of each evaluation split; the {split} \
         split has {rows} rows"
    )]
    CandidateN {
        /// The value.
        candidate_n: usize,
        /// `val` or `test`.
        split: &'static str,
        /// Rows of that split.
        rows: usize,
    },
    /// The cohort CSV could not be read, lacks columns, or has a malformed field.
    #[error(transparent)]
    Table(#[from] TableError),
    /// A column name appears twice in the cohort header.
    #[error("{path}: column {column:?} appears more than once in the header")]
    DuplicateColumn {
        /// The cohort file.
        path: PathBuf,
        /// The repeated name.
        column: String,
    },
    /// A lab column with no observed training value (the reference divides by zero).
    #[error(
        "lab column {column:?} (of cohort.labs) has no observed value among the {train_rows} train rows: its \
         percentiles are undefined (the reference raises ZeroDivisionError)"
    )]
    NoTrainValues {
        /// The lab column (itemid).
        column: String,
        /// Train rows.
        train_rows: usize,
    },
    /// Two splits share a subject or admission (the reference's `run_assertions`).
    #[error("{column} {id} is in both the {a} and {b} splits; splits must be disjoint")]
    Overlap {
        /// `subject_id` or `hadm_id`.
        column: &'static str,
        /// The shared id.
        id: i64,
        /// First split.
        a: &'static str,
        /// Second split.
        b: &'static str,
    },
    /// A numpy-exact draw could not be made.
    #[error("{what}")]
    Rng {
        /// Which draw.
        what: &'static str,
        /// The generator's error.
        source: RngError,
    },
    /// The output directory could not be created.
    #[error("cannot create the output directory {}", path.display())]
    SaveDir {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Writing an output failed.
    #[error(transparent)]
    Write(#[from] AtomicError),
    /// Locking, committing or checksumming the output directory failed.
    #[error(transparent)]
    Durable(#[from] DurableError),
    /// Serialising the report failed.
    #[error("cannot serialise splits_report.json")]
    Report(#[from] serde_json::Error),
}

impl SplitsError {
    /// The recipe field the error is about, if any (the caller names it in
    /// its own spelling).
    pub fn field(&self) -> Option<recipe::Field> {
        match self {
            SplitsError::Recipe(e) => e.field(),
            SplitsError::TrainN { .. } => Some(recipe::Field::TrainN),
            SplitsError::ValN { .. } => Some(recipe::Field::ValN),
            SplitsError::CandidateN { .. } => Some(recipe::Field::CandidateN),
            SplitsError::NoTrainValues { .. } => Some(recipe::Field::Labs),
            _ => None,
        }
    }
}
