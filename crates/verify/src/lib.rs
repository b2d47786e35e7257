//! The contract of a Symile-MIMIC dataset directory — ours or the published
//! PhysioNet release (`data_npy/`) — as typed checks.
//!
//! Three kinds of checks, all collected (not just the first failure), each
//! saying which file and row broke which rule:
//! - the directory's state: no commit left pending by an interrupted run,
//!   no other run writing into it right now;
//! - checksums: every file `SHA256SUMS.txt` lists exists and hashes to its
//!   entry (in parallel, streamed); with `against`, the files whose
//!   checksums differ from another build's list;
//! - the contract, against the recipe the directory records (`recipe.toml`;
//!   the published recipe for the release, which has none): split CSVs,
//!   tensor names, dtypes and shapes from [`dataset_layout`] with the
//!   recipe's lab count and crop, `labs_means.json` keys, values in range,
//!   ids equal to the CSVs, retrieval blocks of `candidate_n` rows, split
//!   sizes, disjoint splits; with `expect_published`, the release's frozen
//!   counts too. Tensors are streamed row by row through
//!   [`tensor_store::TensorReader`], so a 12 GB train CXR file is checked in
//!   constant memory and a malformed file is a failed check, never a crash.

mod contract;
mod report;
mod sums;

use std::path::{Path, PathBuf};

use progress::Progress;

pub use report::{Check, Finding, VerifyReport};

/// What to verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyRequest {
    /// The dataset directory: split CSVs, and tensors in `<split>/` or `data_npy/<split>/`.
    pub dir: PathBuf,
    /// Also require the published release's frozen counts (11,622
    /// admissions; 10,000 / 750 / 464 queries; 7,500 / 4,640 retrieval rows).
    /// They are the published recipe's: a directory recording another
    /// recipe fails this once, naming the fields that differ.
    pub expect_published: bool,
    /// Another build's `SHA256SUMS.txt`: list the files whose checksums differ.
    pub against: Option<PathBuf>,
}

impl VerifyRequest {
    /// Checks `dir` against its contract and its own checksums only.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into(), expect_published: false, against: None }
    }
}

/// Why checking could not even start or go on (a failed check is not an
/// error: it is in the report).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The directory's lock could not be read.
    #[error("cannot read the lock of {}", dir.display())]
    Lock {
        /// The directory.
        dir: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `against` names no file.
    #[error("{}: no such checksum list", path.display())]
    NoAgainst {
        /// The path given.
        path: PathBuf,
    },
    /// `against` could not be read.
    #[error(transparent)]
    Sums(#[from] durable::DurableError),
    /// A tensor could not be read while streaming its rows.
    #[error(transparent)]
    Tensor(#[from] tensor_store::StoreError),
    /// Hashing was cancelled.
    #[error("verification cancelled while hashing")]
    Cancelled,
}

/// Checks `req.dir` and returns the report (an `Err` only for trouble that
/// prevents checking at all). `progress` shows the hashing.
pub fn verify(req: &VerifyRequest, progress: &dyn Progress) -> Result<VerifyReport, VerifyError> {
    let dir = &req.dir;
    let mut rep = VerifyReport::default();
    check_state(dir, &mut rep)?;
    sums::check_sums(dir, req.against.as_deref(), progress, &mut rep)?;
    contract::check_contract(dir, req.expect_published, &mut rep)?;
    Ok(rep)
}

/// No commit left half done, nobody writing.
fn check_state(dir: &Path, rep: &mut VerifyReport) -> Result<(), VerifyError> {
    let pending = durable::pending_commit(dir);
    rep.check(
        Check::NoPendingCommit,
        !pending,
        if pending {
            format!(
                "{}: an interrupted run left a commit pending ({}); any command writing into this directory completes it",
                dir.display(),
                durable::commit::JOURNAL_FILE
            )
        } else {
            "no commit pending".to_string()
        },
    );
    let holder =
        durable::lock::holder_of(dir).map_err(|source| VerifyError::Lock { dir: dir.to_path_buf(), source })?;
    rep.check(
        Check::NotBeingWritten,
        holder.is_none(),
        match &holder {
            Some(h) => {
                format!("{} is being written by another run ({h}); verify it when that run is done", dir.display())
            }
            None => "no run is writing into the directory".to_string(),
        },
    );
    Ok(())
}
