//! Durable output directories, for any tool that must never lose or
//! half-replace what a user had: nothing here knows what the files hold.
//!
//! - [`atomic`]: one file, written to a temporary next to its final name,
//!   fsynced, renamed into place.
//! - [`lock`]: one writer per output directory ([`DirLock`]), released by
//!   the kernel when the process dies.
//! - [`commit`]: several files that replace the previous ones together or
//!   not at all ([`Transaction`]), with a journal the next run completes.
//! - [`sums`]: the directory's `SHA256SUMS.txt`, kept by every commit.
//! - [`space`]: free space, checked before the work.
//!
//! # Fault injection (test builds only)
//!
//! The feature `fault-injection` (off by default) lets a test stop a
//! commit half-way: each commit then reads
//! `SYMILE_MIMIC_TEST_COMMIT_PAUSE_MS` (`commit::PAUSE_BETWEEN_RENAMES_ENV`)
//! and sleeps that long between two renames, so the test can kill the
//! process with some files renamed and the journal still in place. Only the
//! command's `[dev-dependencies]` turn it on, so the binaries `cargo test`
//! builds have it and `cargo build`, `cargo install` and the Python module
//! do not: there the hook is not compiled at all. It is read at each
//! commit and held nowhere, so nothing it does outlives one commit.

pub mod atomic;
pub mod commit;
pub mod lock;
pub mod space;
pub mod sums;

use std::path::PathBuf;

pub use atomic::{AtomicError, AtomicFile, TEMP_PREFIX, write_atomic, write_atomic_with};
pub use commit::{Checksums, Transaction, pending_commit};
pub use lock::{DirLock, Holder};
pub use space::{ensure_space, human_bytes};
pub use sums::{Digest, SUMS_FILE, Sums, sha256_file};

/// Errors of this crate; each names the path involved.
#[derive(Debug, thiserror::Error)]
pub enum DurableError {
    /// Creating, writing or renaming one file failed.
    #[error(transparent)]
    Atomic(#[from] AtomicError),
    /// An I/O error on `path`.
    #[error("{path}")]
    Io { path: PathBuf, source: std::io::Error },
    /// Another run holds the directory.
    #[error(
        "{dir} is being written by another run ({}); wait for it to finish or choose another output directory",
        holder.as_ref().map_or_else(|| "its details are not recorded yet".to_string(), |h| h.to_string())
    )]
    Busy { dir: PathBuf, holder: Option<Holder> },
    /// The journal of an interrupted commit cannot be used.
    #[error("{path}: {what}")]
    Journal { path: PathBuf, what: String },
    /// The journal of an interrupted commit does not parse.
    #[error("{path}: not a commit journal")]
    JournalSyntax { path: PathBuf, source: serde_json::Error },
    /// A line of a `SHA256SUMS.txt` that is not in `sha256sum`'s format.
    #[error("{path}:{line}: {what}")]
    Sums { path: PathBuf, line: usize, what: String },
    /// A file name `sha256sum` would have to escape (newline, backslash).
    #[error("{name:?} cannot be listed in SHA256SUMS.txt: sha256sum would escape the name")]
    Unlistable { name: String },
    /// A rename failed after the commit was decided.
    #[error(
        "cannot move the finished file into place as {dest} (the commit is recorded in {journal} and the next run writing into this directory completes it)"
    )]
    CommitIncomplete { dest: PathBuf, journal: PathBuf, source: std::io::Error },
    /// A staged file is not inside the locked directory.
    #[error("{path} is not inside the locked output directory {dir}")]
    OutsideDir { path: PathBuf, dir: PathBuf },
    /// Not enough free space for the outputs.
    #[error("needs {} under {}, {} free", human_bytes(*needed), dir.display(), human_bytes(*free))]
    NoSpace { dir: PathBuf, needed: u64, free: u64 },
}
