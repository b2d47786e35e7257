//! The evaluator's errors. Each names the retrieval set (the split, or
//! `retrieval set` for ids given directly), the row or file, and what was
//! expected; none repeats the text of its `source()`.

use std::path::PathBuf;

use dataset_layout::{Split, TensorNotFound};
use tensor_store::StoreError;

/// Why a retrieval set could not be opened or scored.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// `train` or `val`: no `label_hadm_id` / `label` tensors, so no retrieval task.
    #[error("split {split} has no retrieval labels: only val_retrieval and test do")]
    NoLabels {
        /// The split asked for.
        split: Split,
    },
    /// One of the three id tensors is in none of the places a dataset keeps it.
    #[error(transparent)]
    NotFound(#[from] TensorNotFound),
    /// An id tensor (or a scores file in a tensor format) could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An id tensor that is not one int64 value per row.
    #[error("{path}: expected a 1-D int64 tensor (one id per row), found {dtype} of shape {shape:?}")]
    IdTensor {
        /// The file.
        path: PathBuf,
        /// Its element type, as the file states it.
        dtype: &'static str,
        /// Its shape.
        shape: Vec<usize>,
    },
    /// `hadm_id`, `label_hadm_id` and `label` do not have the same number of rows.
    #[error("{set}: hadm_id has {hadm} rows, label_hadm_id {label_hadm}, label {label}; expected one of each per row")]
    RowCounts {
        /// The retrieval set.
        set: String,
        /// Rows of `hadm_id`.
        hadm: usize,
        /// Rows of `label_hadm_id`.
        label_hadm: usize,
        /// Rows of `label`.
        label: usize,
    },
    /// A `label` that is neither 1 nor 0.
    #[error("{set}: row {row} has label {value}; expected 1 (a query's own row) or 0 (a negative)")]
    BadLabel {
        /// The retrieval set.
        set: String,
        /// The row.
        row: usize,
        /// Its label.
        value: i64,
    },
    /// A query row (label 1) whose `label_hadm_id` is not its own `hadm_id`.
    #[error(
        "{set}: row {row} is a query (label 1) of hadm_id {hadm_id} but has label_hadm_id {label_hadm_id}; expected its own hadm_id"
    )]
    QueryMismatch {
        /// The retrieval set.
        set: String,
        /// The row.
        row: usize,
        /// Its `hadm_id`.
        hadm_id: i64,
        /// Its `label_hadm_id`.
        label_hadm_id: i64,
    },
    /// Two query rows (label 1) for the same admission: a group needs exactly one.
    #[error(
        "{set}: rows {first} and {row} are both queries (label 1) of hadm_id {hadm_id}; expected one query per label_hadm_id"
    )]
    DuplicateQuery {
        /// The retrieval set.
        set: String,
        /// The first query row of the admission.
        first: usize,
        /// The second one.
        row: usize,
        /// The admission.
        hadm_id: i64,
    },
    /// A negative (label 0) whose `label_hadm_id` is no query's `hadm_id`.
    #[error("{set}: row {row} is a negative (label 0) for label_hadm_id {label_hadm_id}, which no query (label 1) has")]
    OrphanNegative {
        /// The retrieval set.
        set: String,
        /// The row.
        row: usize,
        /// Its `label_hadm_id`.
        label_hadm_id: i64,
    },
    /// No row has label 1, so there is nothing to retrieve (and no accuracy).
    #[error("{set}: no queries (no row has label 1)")]
    NoQueries {
        /// The retrieval set.
        set: String,
    },
    /// Queries with different numbers of candidates: their accuracies have different chance levels.
    #[error(
        "{set}: query hadm_id {hadm_id} has {count} candidates but query hadm_id {first_hadm_id} has {first_count}; expected the same number for every query"
    )]
    UnequalGroups {
        /// The retrieval set.
        set: String,
        /// The first query.
        first_hadm_id: i64,
        /// Its candidates (itself included).
        first_count: usize,
        /// The first query whose count differs.
        hadm_id: i64,
        /// Its candidates.
        count: usize,
    },
    /// Not one score per row of the split's tensors.
    #[error("{set}: {got} scores, expected {expected} (one per row of its tensors, in row order)")]
    ScoresLength {
        /// The retrieval set.
        set: String,
        /// Scores given.
        got: usize,
        /// Rows of the set.
        expected: usize,
    },
    /// A NaN or infinite score: no candidate can be ranked against it.
    #[error("{set}: the score of row {row} is {value}; expected a finite number")]
    NonFiniteScore {
        /// The retrieval set.
        set: String,
        /// The first bad row.
        row: usize,
        /// Its score.
        value: f64,
    },
    /// An embedding matrix that is not `rows × d` values.
    #[error("{set}: {which} has {got} values, expected {expected} ({rows} rows × d = {d}, row-major)")]
    RaggedEmbeddings {
        /// The retrieval set.
        set: String,
        /// `r_c`, `r_e` or `r_l`.
        which: &'static str,
        /// Values given.
        got: usize,
        /// `rows × d`.
        expected: usize,
        /// Rows of the set.
        rows: usize,
        /// The embedding dimension.
        d: usize,
    },
    /// An embedding dimension of 0.
    #[error("embedding dimension d = 0: expected at least 1")]
    ZeroDim,
    /// A NaN or infinite embedding value that enters a score.
    #[error("{set}: {which} of row {row} holds {value}; expected finite values")]
    NonFiniteEmbedding {
        /// The retrieval set.
        set: String,
        /// `r_c`, `r_e` or `r_l`.
        which: &'static str,
        /// The first bad row.
        row: usize,
        /// The bad value.
        value: f32,
    },
    /// One bootstrap resample: its standard deviation (ddof 1) is undefined.
    #[error("bootstrap {0}: expected 0 (none) or at least 2 resamples")]
    BootstrapTooSmall(usize),
    /// A score kind other than `symile` and `clip`.
    #[error("unknown score kind {0:?}: expected symile or clip")]
    UnknownKind(String),
    /// A scores file that cannot be read, or is not a 1-D float32 or float64
    /// array; the source says which.
    #[error("{path}")]
    ScoresFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it, and what was expected.
        #[source]
        source: ScoresFileError,
    },
}

/// What is wrong with a scores file (the cause of [`EvalError::ScoresFile`]).
#[derive(Debug, thiserror::Error)]
pub enum ScoresFileError {
    /// The file could not be opened or read.
    #[error("cannot read it")]
    Io(#[source] std::io::Error),
    /// A `.npy` format version other than 1.0, 2.0, 3.0.
    #[error("npy format version {0} is not one of 1, 2, 3")]
    NpyVersion(u8),
    /// The file ends inside the `.npy` header.
    #[error("truncated npy header")]
    Truncated,
    /// A header longer than any numpy writes.
    #[error("npy header of {len} bytes: expected at most {max}")]
    HeaderTooLong {
        /// The length the header states.
        len: usize,
        /// The longest read.
        max: usize,
    },
    /// A header that is not UTF-8 text.
    #[error("npy header is not text")]
    HeaderNotText,
    /// A header without one of its keys.
    #[error("npy header without '{0}'")]
    MissingKey(&'static str),
    /// An element type other than little-endian float32 or float64.
    #[error("dtype {0}: expected float32 (<f4) or float64 (<f8), little-endian")]
    Dtype(String),
    /// A shape that does not parse.
    #[error("npy shape {0} is not a shape")]
    BadShape(String),
    /// A shape other than `(n,)`.
    #[error("shape {0}: expected a 1-D array (n,), one score per row")]
    NotOneDimensional(String),
    /// Data of another length than the shape states.
    #[error("{got} data bytes, expected {n} × {size} for shape ({n},)")]
    DataLength {
        /// Bytes after the header.
        got: usize,
        /// Values the shape states.
        n: usize,
        /// Bytes per value.
        size: usize,
    },
    /// A tensor file (safetensors, `.pt`) that is not a 1-D float32 tensor.
    #[error("expected a 1-D float32 or float64 array of scores, found {dtype} of shape {shape:?}")]
    Tensor {
        /// Its element type.
        dtype: &'static str,
        /// Its shape.
        shape: Vec<usize>,
    },
}
