//! Checksums of the tensor files, computed while they are being written.
//!
//! A separate pass over the finished files would read every byte back once
//! and, on write-bound work (small images: the bytes are the cost), add its
//! whole duration to the stage's. Instead one hashing thread follows the
//! writers: each file is registered when it is created, and the thread digests
//! every byte its [`WriteProgress`] says is final — the header at once, the
//! rows as the contiguous prefix of written rows grows, the `.pt` tail when the
//! file is finished — reading them back from the page cache a moment after
//! they were written, on the core the writers leave idle while the kernel
//! writes their pages out. Workers take their tasks in row order, so the
//! prefix grows steadily; the splits whose rows are written out of order (the
//! retrieval sets, where each image fills its rows all over the file) go
//! first, so their hashing overlaps the writing of the ones that follow.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::Duration;

use durable::Digest;
use progress::Progress;
use sha2::Digest as _;
use tensor_store::WriteProgress;

use crate::error::TensorsError;

/// A file to follow: its index (in creation order), a read handle, its progress.
pub(crate) struct Followed {
    pub index: usize,
    pub path: PathBuf,
    pub file: File,
    pub progress: Arc<WriteProgress>,
}

struct Active {
    f: Followed,
    pos: u64,
    sha: sha2::Sha256,
}

/// How long the thread waits when every file it follows is caught up.
const IDLE: Duration = Duration::from_millis(1);

/// Digests every file registered on `files` (by index) once it is complete,
/// until the sender is dropped and every file is done. `hashed` counts the
/// bytes digested; `stop` (or the user cancelling) ends it early with
/// `Cancelled`.
pub(crate) fn follow(
    files: Receiver<Followed>,
    hashed: &AtomicU64,
    stop: &AtomicBool,
    progress: &dyn Progress,
) -> Result<BTreeMap<usize, Digest>, TensorsError> {
    let mut active: Vec<Active> = Vec::new();
    let mut done = BTreeMap::new();
    let mut open = true;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        while open {
            match files.try_recv() {
                Ok(f) => active.push(Active { f, pos: 0, sha: sha2::Sha256::new() }),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => open = false,
            }
        }
        if stop.load(Ordering::Relaxed) || progress.cancelled() {
            return Err(TensorsError::Cancelled);
        }
        let mut moved = false;
        let mut i = 0;
        while i < active.len() {
            let a = &mut active[i];
            // Read `complete` before the prefix: a file complete at that
            // moment has its whole length final.
            let complete = a.f.progress.is_complete();
            let end = a.f.progress.final_prefix();
            while a.pos < end {
                let n = ((end - a.pos) as usize).min(buf.len());
                a.f.file
                    .read_exact_at(&mut buf[..n], a.pos)
                    .map_err(|source| TensorsError::Io { path: a.f.path.clone(), source })?;
                a.sha.update(&buf[..n]);
                a.pos += n as u64;
                hashed.fetch_add(n as u64, Ordering::Relaxed);
                moved = true;
                if stop.load(Ordering::Relaxed) {
                    return Err(TensorsError::Cancelled);
                }
            }
            if complete && a.pos == a.f.progress.total_len() {
                let a = active.swap_remove(i);
                done.insert(a.f.index, a.sha.finalize().into());
            } else {
                i += 1;
            }
        }
        if !open && active.is_empty() {
            return Ok(done);
        }
        if !moved {
            if active.is_empty() {
                // Nothing to follow: wait for the next file (or the end).
                match files.recv() {
                    Ok(f) => active.push(Active { f, pos: 0, sha: sha2::Sha256::new() }),
                    Err(_) => open = false,
                }
            } else {
                std::thread::sleep(IDLE);
            }
        }
    }
}
