//! Checksums of the finished files, computed while the next split is decoded.
//!
//! Hashing the outputs for `SHA256SUMS.txt` means reading every byte back
//! once (from the page cache: a split's files were just written). Done after
//! each split, one big file (the train CXR tensor is 12 GB at the published
//! size) keeps one core busy while the other idles. So a split's files go to
//! a hashing thread as soon as they are complete and are hashed while the
//! next split is being decoded; only the last split's hashing is left when
//! the decoding ends.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Receiver;

use durable::{AtomicFile, Checksums, Digest};
use mimic_io::progress::Progress;

use crate::error::TensorsError;

/// Hashes the files arriving on `files`, in order, until the sender is
/// dropped; returns them with their digests (`None` with checksums off).
/// Stops with `Cancelled` when `stop` is raised or the user cancels.
pub(crate) fn hash_queue(
    files: Receiver<AtomicFile>,
    checksums: Checksums,
    hashed: &AtomicU64,
    stop: &AtomicBool,
    progress: &dyn Progress,
) -> Result<Vec<(AtomicFile, Option<Digest>)>, TensorsError> {
    let mut out = Vec::new();
    for f in files {
        if checksums == Checksums::Skip {
            out.push((f, None));
            continue;
        }
        let mut on_chunk = |n: u64| {
            hashed.fetch_add(n, Ordering::Relaxed);
            !stop.load(Ordering::Relaxed) && !progress.cancelled()
        };
        let digest = durable::sha256_file(f.temp_path(), &mut on_chunk).map_err(|source| {
            if source.kind() == std::io::ErrorKind::Interrupted {
                TensorsError::Cancelled
            } else {
                TensorsError::Io { path: f.temp_path().to_path_buf(), source }
            }
        })?;
        out.push((f, Some(digest)));
    }
    Ok(out)
}
