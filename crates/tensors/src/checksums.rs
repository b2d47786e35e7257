//! Checksums of the tensor files, computed while they are being written.
//!
//! A separate pass over the finished files would read every byte back once
//! and, on write-bound work (small images: the bytes are the cost), add its
//! whole duration to the stage's. Instead hashing threads follow the
//! writers: each file is registered when it is created, and a thread digests
//! every byte its [`WriteProgress`] says is final — the header at once, the
//! rows as the contiguous prefix of written rows grows, the `.pt` tail when the
//! file is finished — reading them back from the page cache a moment after
//! they were written. Workers take their tasks in the order of the rows they
//! write (`write::tasks`), so every file's prefix grows steadily.
//!
//! SHA-256 reads a file in order, so one file is hashed by one thread at a
//! time; with several threads, different files are hashed side by side. A
//! split's CXR file is most of its bytes, and at about 1.3 GB/s per core the
//! hashing of one such file is slower than the writers fill it: a second
//! thread keeps the other files (the ECG tensor, the next split's) from
//! queueing behind it.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::{Arc, Mutex};
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

impl Active {
    fn new(f: Followed) -> Self {
        Self { f, pos: 0, sha: sha2::Sha256::new() }
    }

    /// Final bytes not hashed yet.
    fn pending(&self) -> u64 {
        self.f.progress.final_prefix().saturating_sub(self.pos)
    }

    /// Complete and hashed to its end. (`is_complete` is read first: a file
    /// complete at that moment has its whole length final.)
    fn finished(&self) -> bool {
        self.f.progress.is_complete() && self.pos == self.f.progress.total_len()
    }
}

/// What the hashing threads share.
struct Shared {
    files: Receiver<Followed>,
    /// The sender is still alive: more files may come.
    open: bool,
    /// Files no thread is hashing right now.
    idle: Vec<Active>,
    done: BTreeMap<usize, Digest>,
}

impl Shared {
    fn receive(&mut self) {
        while self.open {
            match self.files.try_recv() {
                Ok(f) => self.idle.push(Active::new(f)),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => self.open = false,
            }
        }
    }

    /// The idle file with the most final bytes to hash (or one that only
    /// needs its digest taken), taken out of the idle list.
    fn take(&mut self) -> Option<Active> {
        let best = (0..self.idle.len())
            .map(|i| (i, self.idle[i].pending()))
            .filter(|&(i, pending)| pending > 0 || self.idle[i].finished())
            .max_by_key(|&(_, pending)| pending)?;
        Some(self.idle.swap_remove(best.0))
    }
}

/// How long a thread waits when every file it could hash is caught up.
const IDLE: Duration = Duration::from_millis(1);

/// Bytes a thread hashes of one file before it looks again for the file
/// that is furthest behind.
const TURN: u64 = 64 << 20;

/// Digests every file registered on `files` (by index) once it is complete,
/// on `threads` threads, until the sender is dropped and every file is done.
/// `hashed` counts the bytes digested; `stop` (or the user cancelling) ends
/// it early with `Cancelled`.
pub(crate) fn follow(
    files: Receiver<Followed>,
    threads: usize,
    hashed: &AtomicU64,
    stop: &AtomicBool,
    progress: &dyn Progress,
) -> Result<BTreeMap<usize, Digest>, TensorsError> {
    let shared = Mutex::new(Shared { files, open: true, idle: Vec::new(), done: BTreeMap::new() });
    let lock = || shared.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let failed = AtomicBool::new(false);
    let worker = || -> Result<(), TensorsError> {
        let mut buf = vec![0u8; 1 << 20];
        loop {
            if stop.load(Ordering::Relaxed) || failed.load(Ordering::Relaxed) || progress.cancelled() {
                return Err(TensorsError::Cancelled);
            }
            let taken = {
                let mut s = lock();
                s.receive();
                match s.take() {
                    Some(a) => Some(a),
                    None if !s.open && s.idle.is_empty() => return Ok(()),
                    None => None,
                }
            };
            let Some(mut a) = taken else {
                std::thread::sleep(IDLE);
                continue;
            };
            // Hash what is final, up to a turn's worth; a file whose every
            // byte is final is finished once it is also marked complete.
            let turn_end = a.pos + TURN;
            loop {
                let end = a.f.progress.final_prefix().min(turn_end);
                if a.pos >= end {
                    break;
                }
                while a.pos < end {
                    let n = ((end - a.pos) as usize).min(buf.len());
                    a.f.file
                        .read_exact_at(&mut buf[..n], a.pos)
                        .map_err(|source| TensorsError::Io { path: a.f.path.clone(), source })?;
                    a.sha.update(&buf[..n]);
                    a.pos += n as u64;
                    hashed.fetch_add(n as u64, Ordering::Relaxed);
                    if stop.load(Ordering::Relaxed) {
                        return Err(TensorsError::Cancelled);
                    }
                }
            }
            let mut s = lock();
            if a.finished() {
                s.done.insert(a.f.index, a.sha.finalize().into());
            } else {
                s.idle.push(a);
            }
        }
    };
    let outcome = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads.max(1))
            .map(|_| {
                scope.spawn(|| {
                    let r = worker();
                    failed.fetch_or(r.is_err(), Ordering::Relaxed);
                    r
                })
            })
            .collect();
        let mut first_error = None;
        for h in handles {
            let r = h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            // A real error wins over the `Cancelled` the others stopped with.
            match (r, &first_error) {
                (Ok(()), _) => {}
                (Err(e), None) => first_error = Some(e),
                (Err(e), Some(TensorsError::Cancelled)) => first_error = Some(e),
                (Err(_), Some(_)) => {}
            }
        }
        first_error
    });
    match outcome {
        Some(e) => Err(e),
        None => Ok(shared.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner()).done),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use tensor_store::{DType, Format, TensorFile, TensorSpec};

    use super::*;

    /// Files written by two threads, rows in an order that leaves gaps,
    /// while three hashing threads follow: each digest is that of the
    /// file's final bytes, whatever thread took which part of it.
    #[test]
    fn followers_digest_every_file_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let formats = [Format::Safetensors, Format::Npy, Format::Pt, Format::Safetensors];
        let files: Vec<TensorFile> = formats
            .iter()
            .enumerate()
            .map(|(i, &format)| {
                let spec = TensorSpec { name: format!("t{i}"), dtype: DType::F32, shape: vec![300 + 50 * i, 257] };
                TensorFile::create(dir.path(), spec, format).unwrap()
            })
            .collect();
        let (send, receive) = mpsc::channel();
        for (index, f) in files.iter().enumerate() {
            let followed = Followed {
                index,
                path: dir.path().join(&f.spec().name),
                file: f.reader().unwrap(),
                progress: f.progress(),
            };
            send.send(followed).unwrap();
        }
        drop(send);
        let hashed = AtomicU64::new(0);
        let stop = AtomicBool::new(false);
        let (digests, finished) = std::thread::scope(|scope| {
            let hashers = scope.spawn(|| follow(receive, 3, &hashed, &stop, &progress::NoProgress));
            for f in &files {
                let rows = f.spec().shape[0];
                let row = |r: usize| -> Vec<u8> { (0..f.row_bytes()).map(|b| (r * 31 + b * 7) as u8).collect() };
                // Two writers: one takes the even rows, the other the odd ones backwards.
                std::thread::scope(|w| {
                    w.spawn(|| (0..rows).step_by(2).for_each(|r| f.write_row(r, &row(r)).unwrap()));
                    w.spawn(|| (1..rows).step_by(2).rev().for_each(|r| f.write_row(r, &row(r)).unwrap()));
                });
            }
            let finished: Vec<_> = files.into_iter().map(|f| f.finish().unwrap()).collect();
            (hashers.join().unwrap().unwrap(), finished)
        });
        assert_eq!(digests.len(), finished.len());
        let mut total = 0;
        for (i, f) in finished.iter().enumerate() {
            let bytes = std::fs::read(f.temp_path()).unwrap();
            total += bytes.len() as u64;
            let want: Digest = sha2::Sha256::digest(&bytes).into();
            assert_eq!(digests[&i], want, "file {i}");
        }
        assert_eq!(hashed.load(Ordering::Relaxed), total, "each byte hashed once");
    }

    #[test]
    fn a_stop_ends_the_followers_with_cancelled() {
        let dir = tempfile::tempdir().unwrap();
        let spec = TensorSpec { name: "t".into(), dtype: DType::I64, shape: vec![4] };
        let f = TensorFile::create(dir.path(), spec, Format::Npy).unwrap();
        let (send, receive) = mpsc::channel();
        send.send(Followed { index: 0, path: dir.path().join("t"), file: f.reader().unwrap(), progress: f.progress() })
            .unwrap();
        let stop = AtomicBool::new(true);
        // The file is never finished and the sender stays open: only the stop ends it.
        match follow(receive, 2, &AtomicU64::new(0), &stop, &progress::NoProgress) {
            Err(TensorsError::Cancelled) => {}
            other => panic!("expected Cancelled, got {other:?}"),
        }
        drop(send);
    }
}
