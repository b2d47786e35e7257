//! Errors of the cohort stage; each names the file, flag or record involved.

use std::path::PathBuf;
use std::sync::Arc;

use arrow_schema::ArrowError;
use durable::{AtomicError, DurableError};
use mimic_io::paths::UnsafePath;
use mimic_io::table::TableError;
use mimic_io::wfdb::WfdbError;
use parquet::errors::ParquetError;

/// What a repeated key in an input table would do to the reference's output.
pub(crate) const DUPLICATE_ROWS: &str = "the reference would silently duplicate rows";

/// Why the cohort could not be built.
#[derive(Debug, thiserror::Error)]
pub enum CohortError {
    /// An input file the stage needs does not exist.
    #[error("the {dir} directory lacks {}: {} does not exist", path.file_name().unwrap_or_default().display(), path.display())]
    MissingInput {
        /// The input directory that should contain the file (`MIMIC-IV hosp`, …).
        dir: &'static str,
        /// The path that was looked for.
        path: PathBuf,
    },
    /// A table could not be read, lacks columns, or has a malformed field.
    #[error(transparent)]
    Table(#[from] TableError),
    /// A relative path from a table is absolute or leaves its root.
    #[error(transparent)]
    UnsafePath(#[from] UnsafePath),
    /// A column has a type the reference cannot work with.
    #[error("{path}: {message}")]
    BadColumn {
        /// The table.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A candidate ECG record could not be read.
    #[error(
        "cannot read ECG record {record} ({table}:{line}, a candidate for hadm_id {hadm_id}; set \
         cohort.skip_unreadable_ecg to count it as invalid and go on)"
    )]
    UnreadableEcg {
        /// The record path without extension.
        record: PathBuf,
        /// record_list.csv.
        table: PathBuf,
        /// Line of the record in record_list.csv.
        line: u64,
        /// The admission that needed it.
        hadm_id: i64,
        /// The reader's error (shared: every admission that has the record as
        /// a candidate sees the same one).
        source: Arc<WfdbError>,
    },
    /// A filter left no admission.
    #[error("the cohort is empty: {description} left no admission ({before} admission(s) before it)")]
    EmptyCohort {
        /// The filter that emptied the cohort.
        filter: crate::Filter,
        /// What it tested, with the recipe's values.
        description: String,
        /// Admissions that reached the filter.
        before: usize,
    },
    /// A file-system operation on an output or input path failed.
    #[error("{path}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Writing an output failed.
    #[error(transparent)]
    Atomic(#[from] AtomicError),
    /// Locking, committing or checksumming the output directory failed.
    #[error(transparent)]
    Durable(#[from] DurableError),
    /// The run was asked to stop; nothing of it was put in place.
    #[error("cancelled; no output of this run was kept")]
    Cancelled,
    /// A file of a download plan is malformed, or the plan does not match the download.
    #[error("{}", located(path, *line, message))]
    Plan {
        /// The file.
        path: PathBuf,
        /// Its 1-based line, where one is to blame.
        line: Option<usize>,
        /// What is wrong and what to do.
        message: String,
    },
    /// A file of a download plan cannot be read.
    #[error("{path}: cannot read {what}")]
    PlanRead {
        /// The file.
        path: PathBuf,
        /// What it should be (`the plan's file list`, …).
        what: &'static str,
        /// The I/O error.
        source: std::io::Error,
    },
    /// `plan.json` does not parse as a download plan (the parser's error
    /// names the line and column).
    #[error("{path}: not a download plan")]
    PlanJson {
        /// plan.json.
        path: PathBuf,
        /// The parser's error.
        source: serde_json::Error,
    },
    /// The download holds another release of a project than the plan was
    /// made for. The message names no setting; the caller says how to choose
    /// a release in its own spelling.
    #[error(
        "{}{}: the plan is for {} {planned}, the download has {have} ({}); plan again for {have}, or choose {planned}",
        plan.display(),
        line.map_or_else(String::new, |l| format!(":{l}")),
        project.name(),
        root.display()
    )]
    PlanRelease {
        /// plan.json.
        plan: PathBuf,
        /// The line of the release in plan.json, if found.
        line: Option<usize>,
        /// The project.
        project: mimic_io::discover::Project,
        /// The release the plan was made for.
        planned: String,
        /// The release the download holds.
        have: String,
        /// Where the download holds it.
        root: PathBuf,
    },
    /// Files a download plan lists are not on disk (or are empty) and the
    /// download did not record them as missing from the archive.
    #[error(
        "{count} file(s) of the download plan {} are missing or empty ({first}); without them the cohort would \
         differ from one built from the complete archive. Run {}/download.sh to fetch them (it records files the \
         archive lacks in absent.txt), or see what is wrong with `symile-mimic plan --check`",
        plan.display(),
        plan.display()
    )]
    PlannedFilesMissing {
        /// The plan directory.
        plan: PathBuf,
        /// How many.
        count: usize,
        /// The first few paths.
        first: String,
    },
    /// A minimal plan took images the archive lacks: stage 1 would fall back
    /// to images the plan did not fetch.
    #[error(
        "{count} admission(s) of the minimal download plan {} have a chosen image that the archive lacks ({first}); \
         stage 1 would take a later image, which the plan did not fetch. Plan again with --minimal (it passes over \
         the images in absent.txt) and run download.sh again",
        plan.display()
    )]
    MinimalPlanFallback {
        /// The plan directory.
        plan: PathBuf,
        /// How many admissions.
        count: usize,
        /// The first few, with their image.
        first: String,
    },
    /// The download plan was made for other stage-1 rules.
    #[error(
        "the download plan {} was made for {field} = {planned}, the cohort's recipe has {wanted}: its files are not \
         the ones this cohort looks at; plan again with this recipe (symile-mimic plan --recipe ...)",
        plan.display()
    )]
    PlanRules {
        /// plan.json.
        plan: PathBuf,
        /// The first field that differs.
        field: recipe::Field,
        /// Its value in the plan.
        planned: String,
        /// Its value in the cohort's recipe.
        wanted: String,
    },
    /// The Parquet encoder failed.
    #[error("{path}: cannot write Parquet")]
    Parquet {
        /// The output file.
        path: PathBuf,
        /// The encoder's error (see `parquet_cause`).
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// The Parquet encoder's error as a source. parquet's and arrow's wrappers
/// of another error (`External: …`, `Io error: …`) print that error and
/// return it as their source as well; a wrapper that adds nothing else is
/// left out, so that the chain says the cause once.
pub(crate) fn parquet_cause(e: ParquetError) -> Box<dyn std::error::Error + Send + Sync> {
    match e {
        ParquetError::External(inner) => match inner.downcast::<ArrowError>() {
            Ok(arrow) => arrow_cause(*arrow),
            Err(inner) => inner,
        },
        other => Box::new(other),
    }
}

/// [`parquet_cause`] for arrow's errors.
pub(crate) fn arrow_cause(e: ArrowError) -> Box<dyn std::error::Error + Send + Sync> {
    match e {
        ArrowError::ExternalError(inner) => inner,
        ArrowError::IoError(text, io) if text == io.to_string() => Box::new(io),
        other => Box::new(other),
    }
}

/// `path:line: message`, or `path: message` without a line.
fn located(path: &std::path::Path, line: Option<usize>, message: &str) -> String {
    match line {
        Some(l) => format!("{}:{l}: {message}", path.display()),
        None => format!("{}: {message}", path.display()),
    }
}

impl CohortError {
    /// The recipe field the error is about, if any (the caller names it in
    /// its own spelling).
    pub fn field(&self) -> Option<recipe::Field> {
        match self {
            CohortError::UnreadableEcg { .. } => Some(recipe::Field::SkipUnreadableEcg),
            CohortError::EmptyCohort { filter, .. } => match filter {
                crate::Filter::CxrWindow | crate::Filter::CxrOnDisk => Some(recipe::Field::CxrWindowHours),
                crate::Filter::EcgWindow => Some(recipe::Field::EcgWindowHours),
                crate::Filter::LabsWindow => Some(recipe::Field::LabsWindowHours),
                _ => None,
            },
            CohortError::PlanRules { field, .. } => Some(*field),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error;

    use errors::Chain;

    use super::*;

    fn parquet(e: ParquetError) -> CohortError {
        CohortError::Parquet { path: "out/symile_mimic_data.parquet".into(), source: parquet_cause(e) }
    }

    #[test]
    fn an_encoder_failure_says_its_cause_once() {
        let disk = || std::io::Error::new(std::io::ErrorKind::StorageFull, "No space left on device");
        let want = "out/symile_mimic_data.parquet: cannot write Parquet: No space left on device";
        assert_eq!(Chain(&parquet(ParquetError::External(Box::new(disk())))).to_string(), want);
        let via_arrow = ParquetError::from(ArrowError::from(disk()));
        assert_eq!(Chain(&parquet(via_arrow)).to_string(), want);
        let own = parquet(ParquetError::General("bad schema".into()));
        assert_eq!(
            Chain(&own).to_string(),
            "out/symile_mimic_data.parquet: cannot write Parquet: Parquet error: bad schema"
        );
        assert!(own.source().is_some_and(|s| s.is::<ParquetError>()));
    }

    #[test]
    fn an_unreadable_record_keeps_the_readers_error() {
        let wfdb = mimic_io::wfdb::read_header(std::path::Path::new("/nonexistent-dir-xyz/r.hea")).unwrap_err();
        let e = CohortError::UnreadableEcg {
            record: "/nonexistent-dir-xyz/r".into(),
            table: "record_list.csv".into(),
            line: 2,
            hadm_id: 7,
            source: Arc::new(wfdb),
        };
        let source = e.source().and_then(|s| s.downcast_ref::<Arc<WfdbError>>());
        assert!(matches!(source.map(|s| &**s), Some(WfdbError::Io { .. })), "{e:?}");
        assert!(!e.to_string().contains("r.hea"), "the reader's error is said by the reader: {e}");
    }
}
