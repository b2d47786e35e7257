//! A file's bytes gathered into large aligned chunks, digested as they are
//! copied and written as each completes, with direct I/O where the filesystem has it.
//!
//! Why: on write-bound work (small images, where the bytes are the cost)
//! copying every byte into the page cache was most of stage 3's CPU time
//! (`perf`: `copy_folio_from_iter_atomic`, the kernel filling fresh pages),
//! and hashing the files for `SHA256SUMS.txt` meant reading them back.
//! Here the rows, which arrive from many threads in nearly their order, are
//! copied straight to their place in a window of reused memory, one chunk of
//! the file; once every byte of the window is there it is handed to this
//! file's writer threads, which write it with `O_DIRECT` (the device reads it
//! from our buffer: no copy, no page cache).
//!
//! The SHA-256 of the file is extended as the bytes are copied, in blocks
//! small enough to be still in the core's cache ([`HASH_BLOCK`]), by the
//! thread that brings the bytes at the hash's position; bytes that arrive
//! before their turn are hashed from the window once the hash reaches them.
//! Hashing bytes another core has just written, as a separate hasher thread
//! did, ran at two thirds of the speed (1.25 against 1.95 GB/s here): the
//! bytes had to come back from memory. The hash is of the very bytes
//! written, never a second read.
//!
//! Memory is bounded: [`BUFFERS`] chunks per file, and rows that arrive past
//! the window wait (briefly, see [`AHEAD_WAIT`]) while more than
//! [`AHEAD_LIMIT`] bytes of them are parked.
//!
//! Where `O_DIRECT` is refused (tmpfs, some network filesystems) the same
//! chunks are written through the page cache.

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use sha2::Digest as _;

/// Alignment of direct I/O offsets, lengths and buffers (a page: at least
/// every device's logical block).
const ALIGN: usize = 4096;

/// Bytes per chunk: large writes keep the device busy (8 MiB: ~1.1 GB/s here,
/// what `dd oflag=direct` reaches with any larger block).
pub(crate) const CHUNK: usize = 8 << 20;

/// Bytes copied, then hashed, at a time: well inside a core's first-level
/// cache, so the hash reads what the copy has just brought in.
const HASH_BLOCK: usize = 32 << 10;

/// Threads writing a file's chunks: while one waits to be woken after its
/// write (both cores busy hashing and decoding), the other's write keeps the
/// device busy. (Measured side by side, one to three made no difference on an
/// idle two-core machine; two cost nothing.)
const WRITERS: usize = 2;

/// Chunks per file, in all: one being filled, the others being written (two
/// at a time, see [`WRITERS`]) or waiting for it.
const BUFFERS: usize = 5;

/// Bytes of rows past the window that may be parked before a thread putting
/// more waits for the window to catch up.
const AHEAD_LIMIT: usize = 32 << 20;

/// How long a row past the window waits for room before it is parked anyway:
/// the row the window waits for may be a task the waiting thread itself holds.
const AHEAD_WAIT: Duration = Duration::from_millis(20);

/// Chunk buffers shared by the files of a run: a file takes its buffers
/// from here and returns them when it is complete, so the next file reuses
/// memory already faulted in (on a virtual machine, touching fresh memory
/// is one of the costliest things a write-bound run does). The buffers are
/// freed with the last clone.
#[derive(Clone, Default)]
pub struct ChunkPool(Arc<Mutex<Vec<Aligned>>>);

impl ChunkPool {
    /// An empty pool.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Aligned>> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn take(&self) -> Option<Aligned> {
        self.lock().pop()
    }

    fn give(&self, bufs: impl IntoIterator<Item = Aligned>) {
        self.lock().extend(bufs.into_iter().filter(|b| b.capacity() == CHUNK));
    }
}

impl std::fmt::Debug for ChunkPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkPool").field("buffers", &self.lock().len()).finish()
    }
}

/// A page-aligned buffer (safe code: the aligned window of a larger `Vec`).
struct Aligned {
    raw: Vec<u8>,
    start: usize,
    len: usize,
}

impl Aligned {
    fn new(capacity: usize) -> Self {
        let raw = vec![0u8; capacity + ALIGN];
        let start = raw.as_ptr().align_offset(ALIGN).min(ALIGN);
        Self { raw, start, len: 0 }
    }

    fn capacity(&self) -> usize {
        self.raw.len() - ALIGN
    }

    fn is_aligned(&self) -> bool {
        self.start < ALIGN
    }

    /// The filled bytes.
    fn data(&self) -> &[u8] {
        &self.raw[self.start..self.start + self.len]
    }

    /// The filled bytes and whatever follows them up to the next multiple of
    /// [`ALIGN`] (written past the file's end, then cut off).
    fn padded(&self) -> &[u8] {
        &self.raw[self.start..self.start + self.len.next_multiple_of(ALIGN)]
    }

    /// Copies `bytes` to position `at` of the buffer.
    fn write_at(&mut self, at: usize, bytes: &[u8]) {
        let at = self.start + at;
        self.raw[at..at + bytes.len()].copy_from_slice(bytes);
    }

    /// `n` bytes at position `at`, filled or not.
    fn slice(&self, at: usize, n: usize) -> &[u8] {
        &self.raw[self.start + at..self.start + at + n]
    }

    fn clear(&mut self) {
        self.len = 0;
    }
}

/// A run of the file's bytes, handed to the writers.
struct Chunk {
    offset: u64,
    buf: Aligned,
}

impl Chunk {
    fn end(&self) -> u64 {
        self.offset + self.buf.len as u64
    }
}

/// A chunk handed on (hashed), until it is written.
struct InFlight {
    chunk: Arc<Chunk>,
    written: bool,
}

struct State {
    /// The window being filled: bytes `[staged_at, staged_at + window_len)`,
    /// `staged_at` a multiple of [`CHUNK`]. Every byte before it is in flight
    /// or in the file.
    staged_at: u64,
    /// The window's buffer (taken when its first byte arrives); a piece
    /// inside the window is copied straight to its place.
    staging: Option<Aligned>,
    /// Bytes of the window put so far (each byte is put once: the window is
    /// complete when this reaches its length).
    filled: usize,
    /// Pieces past the window, by offset, until the window reaches them.
    ahead: BTreeMap<u64, Vec<u8>>,
    ahead_bytes: usize,
    in_flight: VecDeque<InFlight>,
    free: Vec<Aligned>,
    allocated: usize,
    /// The first write error (kind and message; `io::Error` is not `Clone`).
    error: Option<(io::ErrorKind, String)>,
    to_write: Option<Sender<Arc<Chunk>>>,
    /// The SHA-256 of bytes `[0, hashed_to)`, when a digest was asked for.
    sha: Option<sha2::Sha256>,
    hashed_to: u64,
    /// Pieces copied before the hash reached them (offset → length), each
    /// inside one window: hashed from memory when it does.
    unhashed: BTreeMap<u64, usize>,
    /// Seconds spent writing, hashing, and waiting for a free buffer (for
    /// the debug log of where a file's time went).
    write_s: f64,
    hash_s: f64,
    buffer_wait_s: f64,
    ahead_wait_s: f64,
    created: std::time::Instant,
}

/// The stream of one file's bytes to its chunks.
pub(crate) struct Stream {
    /// The temporary file's path, for errors.
    path: PathBuf,
    /// Through the page cache.
    buffered: File,
    /// The same file opened with `O_DIRECT`, where the filesystem allows it.
    direct: Option<File>,
    /// A direct write was refused (`EINVAL`: an alignment this filesystem
    /// does not take): the rest goes through the page cache.
    direct_refused: AtomicBool,
    total_len: u64,
    state: Mutex<State>,
    changed: Condvar,
    threads: Mutex<Threads>,
    pool: Option<ChunkPool>,
}

#[derive(Default)]
struct Threads {
    writers: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream").field("path", &self.path).field("direct", &self.is_direct()).finish()
    }
}

impl Stream {
    /// A stream into `buffered` (an open handle on `path`, already sized to
    /// `total_len`); digested when `digest`, its buffers from `pool` if
    /// given. `try_direct` opens `path` again with `O_DIRECT` and uses that
    /// when the filesystem allows it.
    pub(crate) fn new(
        path: &Path,
        buffered: File,
        total_len: u64,
        digest: bool,
        pool: Option<ChunkPool>,
        try_direct: bool,
    ) -> io::Result<Arc<Self>> {
        let direct = if try_direct && Aligned::new(ALIGN).is_aligned() {
            std::fs::OpenOptions::new().read(true).write(true).custom_flags(libc::O_DIRECT).open(path).ok()
        } else {
            None
        };
        let (to_write, write_rx) = channel();
        let stream = Arc::new(Self {
            path: path.to_path_buf(),
            buffered,
            direct,
            direct_refused: AtomicBool::new(false),
            total_len,
            state: Mutex::new(State {
                staged_at: 0,
                staging: None,
                filled: 0,
                ahead: BTreeMap::new(),
                ahead_bytes: 0,
                in_flight: VecDeque::new(),
                free: Vec::new(),
                allocated: 0,
                error: None,
                to_write: Some(to_write),
                sha: digest.then(sha2::Sha256::new),
                hashed_to: 0,
                unhashed: BTreeMap::new(),
                write_s: 0.0,
                hash_s: 0.0,
                buffer_wait_s: 0.0,
                ahead_wait_s: 0.0,
                created: std::time::Instant::now(),
            }),
            changed: Condvar::new(),
            threads: Mutex::new(Threads::default()),
            pool,
        });
        let write_rx = Arc::new(Mutex::new(write_rx));
        let mut writers = Vec::new();
        for _ in 0..WRITERS {
            let (s, rx) = (Arc::clone(&stream), Arc::clone(&write_rx));
            writers.push(std::thread::Builder::new().name("tensor-write".into()).spawn(move || s.write_chunks(&rx))?);
        }
        *stream.threads() = Threads { writers };
        Ok(stream)
    }

    /// Whether the file is written with direct I/O.
    pub(crate) fn is_direct(&self) -> bool {
        self.direct_file().is_some()
    }

    /// The direct handle, unless there is none or it was refused.
    fn direct_file(&self) -> Option<&File> {
        self.direct.as_ref().filter(|_| !self.direct_refused.load(Ordering::Relaxed))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn threads(&self) -> MutexGuard<'_, Threads> {
        self.threads.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn failed(state: &State) -> Option<io::Error> {
        state.error.as_ref().map(|(kind, msg)| io::Error::new(*kind, msg.clone()))
    }

    /// Bytes of the window starting at `at`.
    fn window_len(&self, at: u64) -> usize {
        (self.total_len - at).min(CHUNK as u64) as usize
    }

    fn window_end(&self, st: &State) -> u64 {
        st.staged_at + self.window_len(st.staged_at) as u64
    }

    /// Puts `bytes` at `offset`. Each byte of the file is put exactly once
    /// (the caller checks); what falls in the window being filled is copied
    /// to its place, what lies past it is parked until the window reaches it.
    pub(crate) fn put(&self, offset: u64, bytes: &[u8]) -> io::Result<()> {
        let mut st = self.lock();
        if let Some(e) = Self::failed(&st) {
            return Err(e);
        }
        let mut waited = false;
        while !waited && offset >= self.window_end(&st) && st.ahead_bytes + bytes.len() > AHEAD_LIMIT {
            let t = std::time::Instant::now();
            let (guard, timeout) =
                self.changed.wait_timeout(st, AHEAD_WAIT).unwrap_or_else(|poisoned| poisoned.into_inner());
            st = guard;
            st.ahead_wait_s += t.elapsed().as_secs_f64();
            waited = timeout.timed_out();
            if let Some(e) = Self::failed(&st) {
                return Err(e);
            }
        }
        st = self.place(st, offset, bytes)?;
        // Parked pieces the window has reached.
        loop {
            let end = self.window_end(&st);
            let Some(at) = st.ahead.keys().next().copied().filter(|&at| at < end) else { break };
            let piece = st.ahead.remove(&at).expect("the key was just read");
            st.ahead_bytes -= piece.len();
            st = self.place(st, at, &piece)?;
        }
        self.changed.notify_all();
        Ok(())
    }

    /// Copies what of `bytes` (at `offset`) falls in the window, hashing it
    /// on the way when the hash has reached it, handing on each window it
    /// completes, and parks the rest once it lies past the window.
    fn place<'a>(
        &'a self,
        mut st: MutexGuard<'a, State>,
        mut offset: u64,
        mut bytes: &[u8],
    ) -> io::Result<MutexGuard<'a, State>> {
        while !bytes.is_empty() {
            let (at, len) = (st.staged_at, self.window_len(st.staged_at));
            if offset >= at + len as u64 {
                st.ahead_bytes += bytes.len();
                st.ahead.insert(offset, bytes.to_vec());
                break;
            }
            if offset < at {
                return Err(io::Error::other(format!("bytes at {offset} put twice")));
            }
            if st.staging.is_none() {
                // May wait; the window may have moved meanwhile.
                st = self.take_buffer(st)?;
                continue;
            }
            let n = ((at + len as u64 - offset) as usize).min(bytes.len());
            Self::copy(&mut st, offset, &bytes[..n]);
            st.filled += n;
            Self::catch_up(&mut st);
            if st.filled == len {
                self.cut(&mut st, len);
            }
            offset += n as u64;
            bytes = &bytes[n..];
        }
        Ok(st)
    }

    /// Copies `piece` (inside the window) to its place; extends the hash
    /// with it, block by block as each is copied, when the hash has reached
    /// `offset`, else notes it for [`Self::catch_up`].
    fn copy(st: &mut State, offset: u64, piece: &[u8]) {
        let rel = (offset - st.staged_at) as usize;
        let State { staging, sha, hashed_to, unhashed, hash_s, .. } = st;
        let staging = staging.as_mut().expect("a window buffer is taken before bytes are copied");
        match sha {
            Some(sha) if *hashed_to == offset => {
                let t = std::time::Instant::now();
                for (i, block) in piece.chunks(HASH_BLOCK).enumerate() {
                    staging.write_at(rel + i * HASH_BLOCK, block);
                    sha.update(block);
                }
                *hashed_to += piece.len() as u64;
                *hash_s += t.elapsed().as_secs_f64();
            }
            Some(_) => {
                staging.write_at(rel, piece);
                unhashed.insert(offset, piece.len());
            }
            None => staging.write_at(rel, piece),
        }
    }

    /// Extends the hash with the pieces of the window copied before it
    /// reached them, as far as they are contiguous. (Once every byte of the
    /// window is there, the hash has reached its end: a window is hashed
    /// before it is handed on.)
    fn catch_up(st: &mut State) {
        let State { staging, staged_at, sha, hashed_to, unhashed, hash_s, .. } = st;
        let Some(sha) = sha else { return };
        let t = std::time::Instant::now();
        while let Some(n) = unhashed.remove(hashed_to) {
            let window = staging.as_ref().expect("pieces noted are in the window's buffer");
            sha.update(window.slice((*hashed_to - *staged_at) as usize, n));
            *hashed_to += n as u64;
        }
        *hash_s += t.elapsed().as_secs_f64();
    }

    /// A free or new buffer as `staging`, waiting while all are in flight.
    fn take_buffer<'a>(&'a self, mut st: MutexGuard<'a, State>) -> io::Result<MutexGuard<'a, State>> {
        loop {
            if let Some(e) = Self::failed(&st) {
                return Err(e);
            }
            if st.staging.is_some() {
                // Another thread took one while this one waited.
                return Ok(st);
            }
            if let Some(b) = st.free.pop() {
                st.staging = Some(b);
                return Ok(st);
            }
            if st.allocated < BUFFERS {
                st.allocated += 1;
                // A file smaller than a chunk needs no more than its length.
                let capacity = CHUNK.min((self.total_len as usize).next_multiple_of(ALIGN).max(ALIGN));
                let pooled = if capacity == CHUNK { self.pool.as_ref().and_then(ChunkPool::take) } else { None };
                st.staging = Some(pooled.unwrap_or_else(|| Aligned::new(capacity)));
                return Ok(st);
            }
            let t = std::time::Instant::now();
            st = self.changed.wait(st).unwrap_or_else(|poisoned| poisoned.into_inner());
            st.buffer_wait_s += t.elapsed().as_secs_f64();
        }
    }

    /// Hands the completed window (`len` bytes) on as a chunk.
    fn cut(&self, st: &mut State, len: usize) {
        let Some(mut buf) = st.staging.take() else { return };
        buf.len = len;
        st.filled = 0;
        let chunk = Arc::new(Chunk { offset: st.staged_at, buf });
        debug_assert!(st.sha.is_none() || st.hashed_to == chunk.end(), "a window is hashed before it is handed on");
        st.staged_at += len as u64;
        st.in_flight.push_back(InFlight { chunk: Arc::clone(&chunk), written: false });
        // The writers only end after their sender is dropped; a failed send
        // means a panic, which `finish` reports.
        if let Some(tx) = &st.to_write {
            let _ = tx.send(chunk);
        }
    }

    /// A writer thread: each chunk it takes at its offset.
    fn write_chunks(&self, chunks: &Mutex<Receiver<Arc<Chunk>>>) {
        loop {
            let next = chunks.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).recv();
            let Ok(chunk) = next else { break };
            let failed = self.lock().error.is_some();
            let t = std::time::Instant::now();
            let result = if failed { Ok(()) } else { self.write_chunk(&chunk) };
            let offset = chunk.offset;
            drop(chunk);
            let mut st = self.lock();
            st.write_s += t.elapsed().as_secs_f64();
            if let Err(e) = result {
                st.error.get_or_insert((e.kind(), e.to_string()));
            }
            if let Some(f) = st.in_flight.iter_mut().find(|f| f.chunk.offset == offset) {
                f.written = true;
            }
            Self::reclaim(&mut st);
            self.changed.notify_all();
        }
    }

    fn write_chunk(&self, chunk: &Chunk) -> io::Result<()> {
        let end = chunk.offset + chunk.buf.len as u64;
        if let Some(direct) = self.direct_file() {
            // A final partial chunk goes out padded, then the file is cut
            // back to its length.
            match direct.write_all_at(chunk.buf.padded(), chunk.offset) {
                Ok(()) if end == self.total_len && !chunk.buf.len.is_multiple_of(ALIGN) => {
                    return direct.set_len(self.total_len);
                }
                Ok(()) => return Ok(()),
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                    tracing::debug!(path = %self.path.display(), "direct write refused, writing through the page cache");
                    self.direct_refused.store(true, Ordering::Relaxed);
                }
                Err(e) => return Err(e),
            }
        }
        self.buffered.write_all_at(chunk.buf.data(), chunk.offset)
    }

    /// Returns the buffers of the chunks at the front that are written to the
    /// pool.
    fn reclaim(st: &mut State) {
        while st.in_flight.front().is_some_and(|f| f.written) {
            let f = st.in_flight.pop_front().expect("checked");
            if let Ok(mut chunk) = Arc::try_unwrap(f.chunk) {
                chunk.buf.clear();
                st.free.push(chunk.buf);
            } else {
                // Still held by a reader copying from it: let it go.
                st.allocated -= 1;
            }
        }
    }

    /// Reads `buf.len()` bytes at `offset`, which must all have been put
    /// (the caller knows: [`crate::TensorFile::row_is_final`]): from memory
    /// while they are there, else from the file.
    pub(crate) fn read(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let end = offset + buf.len() as u64;
        let disk_end = {
            let st = self.lock();
            let mem_start = st.in_flight.front().map_or(st.staged_at, |f| f.chunk.offset);
            let window = self.window_len(st.staged_at);
            let pieces = st.in_flight.iter().map(|f| (f.chunk.offset, f.chunk.buf.data()));
            let pieces = pieces.chain(st.staging.as_ref().map(|s| (st.staged_at, s.slice(0, window))));
            let pieces = pieces.chain(st.ahead.range(..end).map(|(&at, piece)| (at, &piece[..])));
            for (at, data) in pieces {
                let (lo, hi) = (offset.max(at), end.min(at + data.len() as u64));
                if lo < hi {
                    buf[(lo - offset) as usize..(hi - offset) as usize]
                        .copy_from_slice(&data[(lo - at) as usize..(hi - at) as usize]);
                }
            }
            end.min(mem_start)
        };
        if offset >= disk_end {
            return Ok(());
        }
        let want = &mut buf[..(disk_end - offset) as usize];
        let Some(direct) = self.direct_file() else {
            return self.buffered.read_exact_at(want, offset);
        };
        let start = offset - offset % ALIGN as u64;
        let len = (disk_end - start) as usize;
        let mut scratch = Aligned::new(len.next_multiple_of(ALIGN));
        scratch.len = len.next_multiple_of(ALIGN);
        let window = &mut scratch.raw[scratch.start..scratch.start + scratch.len];
        // A direct read may stop short at the end of the file.
        let mut got = 0;
        while got < len {
            match direct.read_at(&mut window[got..], start + got as u64) {
                Ok(0) => return Err(io::Error::from(io::ErrorKind::UnexpectedEof)),
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let skip = (offset - start) as usize;
        want.copy_from_slice(&window[skip..skip + want.len()]);
        Ok(())
    }

    /// Hands on the last chunk and waits until every byte is written and
    /// hashed; returns the digest when one was asked for. Every byte of the
    /// file must have been put.
    pub(crate) fn finish(&self) -> io::Result<Option<durable::Digest>> {
        {
            let mut st = self.lock();
            if st.staged_at != self.total_len || !st.ahead.is_empty() {
                return Err(io::Error::other(format!(
                    "{} of {} bytes complete from the start, {} more put, {} pieces parked",
                    st.staged_at,
                    self.total_len,
                    st.filled,
                    st.ahead.len()
                )));
            }
            if st.sha.is_some() && st.hashed_to != self.total_len {
                return Err(io::Error::other(format!("{} of {} bytes hashed", st.hashed_to, self.total_len)));
            }
            st.to_write = None;
        }
        let threads = std::mem::take(&mut *self.threads());
        for w in threads.writers {
            w.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        }
        let mut st = self.lock();
        let sha = st.sha.take();
        self.return_buffers(&mut st);
        if let Some(e) = Self::failed(&st) {
            return Err(e);
        }
        tracing::debug!(
            path = %self.path.display(),
            bytes = self.total_len,
            seconds = st.created.elapsed().as_secs_f64(),
            writing = st.write_s,
            hashing = st.hash_s,
            waiting_for_a_buffer = st.buffer_wait_s,
            waiting_ahead = st.ahead_wait_s,
            "file streamed"
        );
        Ok(sha.map(|s| s.finalize().into()))
    }

    /// Stops the threads without writing what is left (an unfinished file
    /// about to be deleted).
    pub(crate) fn abandon(&self) {
        {
            let mut st = self.lock();
            st.error.get_or_insert((io::ErrorKind::Other, "abandoned".into()));
            st.to_write = None;
        }
        self.changed.notify_all();
        let threads = std::mem::take(&mut *self.threads());
        // A panic there was already reported on its thread; nothing is kept.
        for w in threads.writers {
            let _ = w.join();
        }
        self.return_buffers(&mut self.lock());
    }

    /// Gives this file's buffers to the pool (the threads are done).
    fn return_buffers(&self, st: &mut State) {
        let spare = st
            .free
            .drain(..)
            .chain(st.staging.take())
            .chain(st.in_flight.drain(..).filter_map(|f| Arc::try_unwrap(f.chunk).ok()).map(|c| c.buf));
        let mut spare: Vec<Aligned> = spare.collect();
        spare.iter_mut().for_each(Aligned::clear);
        match &self.pool {
            Some(pool) => pool.give(spare),
            None => drop(spare),
        }
    }

    /// The temporary file's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream into a new file `path` of `len` bytes.
    fn open(path: &Path, len: usize, digest: bool, pool: Option<ChunkPool>, direct: bool) -> Arc<Stream> {
        let file = File::options().read(true).write(true).create(true).truncate(true).open(path).unwrap();
        file.set_len(len as u64).unwrap();
        Stream::new(path, file, len as u64, digest, pool, direct).unwrap()
    }

    fn bytes(n: usize, seed: u8) -> Vec<u8> {
        (0..n).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
    }

    /// Puts `data` as pieces of `piece` bytes, each neighbouring pair
    /// swapped (every other piece arrives ahead of its turn), reading some
    /// back on the way; checks the file and its digest.
    fn round_trip(direct: bool, len: usize, piece: usize, digest: bool) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let s = open(&path, len, digest, None, direct);
        let data = bytes(len, 7);
        let pieces: Vec<(usize, usize)> = (0..len).step_by(piece).map(|a| (a, (a + piece).min(len))).collect();
        let mut order: Vec<usize> = (0..pieces.len()).collect();
        for pair in order.chunks_mut(2) {
            pair.reverse();
        }
        for (k, &i) in order.iter().enumerate() {
            let (a, b) = pieces[i];
            s.put(a as u64, &data[a..b]).unwrap();
            // Read back a piece put earlier: from memory or from the file.
            let (a, b) = pieces[order[k / 2]];
            let mut back = vec![0u8; b - a];
            s.read(a as u64, &mut back).unwrap();
            assert_eq!(back, &data[a..b], "piece at {a}");
        }
        let got = s.finish().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), data);
        let want: Option<durable::Digest> = digest.then(|| sha2::Sha256::digest(&data).into());
        assert_eq!(got, want);
    }

    #[test]
    fn pieces_out_of_order_make_the_file_and_its_digest() {
        for direct in [true, false] {
            // Less than a chunk, exactly chunks, and chunks and a partial page.
            round_trip(direct, 1000, 96, true);
            round_trip(direct, 2 * CHUNK, 1 << 20, true);
            round_trip(direct, 3 * CHUNK + 4097, 1_228_800, true);
            round_trip(direct, CHUNK + 5, 300_001, false);
        }
    }

    #[test]
    fn files_written_one_after_another_reuse_the_pool_s_buffers() {
        let dir = tempfile::tempdir().unwrap();
        let pool = ChunkPool::new();
        for (i, len) in [3 * CHUNK + 10, 2 * CHUNK, 1000].into_iter().enumerate() {
            let path = dir.path().join(format!("f{i}"));
            let s = open(&path, len, true, Some(pool.clone()), true);
            let data = bytes(len, i as u8);
            for piece in data.chunks(1 << 20).enumerate() {
                s.put((piece.0 << 20) as u64, piece.1).unwrap();
            }
            assert_eq!(s.finish().unwrap(), Some(sha2::Sha256::digest(&data).into()));
            assert_eq!(std::fs::read(&path).unwrap(), data);
            // Every chunk-sized buffer came back; a file under a chunk took none.
            let pooled = pool.lock().len();
            assert!((1..=BUFFERS).contains(&pooled), "{pooled} buffers pooled after file {i}");
        }
    }

    #[test]
    fn rows_far_ahead_of_their_turn_are_parked_after_a_wait_not_lost() {
        // More than AHEAD_LIMIT put in reverse order by one thread: each put
        // over the limit waits AHEAD_WAIT for a position that only this
        // thread can move, then parks its bytes.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let piece = 4 << 20;
        let len = AHEAD_LIMIT + 3 * piece;
        let s = open(&path, len, true, None, true);
        let data = bytes(len, 3);
        let started = std::time::Instant::now();
        for a in (0..len).step_by(piece).rev() {
            s.put(a as u64, &data[a..a + piece]).unwrap();
        }
        assert!(started.elapsed() >= 3 * AHEAD_WAIT, "the puts over the limit waited");
        assert_eq!(s.finish().unwrap(), Some(sha2::Sha256::digest(&data).into()));
        assert_eq!(std::fs::read(&path).unwrap(), data);
    }

    #[test]
    fn bytes_put_again_behind_the_window_are_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let s = open(&path, 100, false, None, true);
        s.put(0, &[1; 100]).unwrap();
        let e = s.put(10, &[2]).unwrap_err();
        assert!(e.to_string().contains("bytes at 10 put twice"), "{e}");
        s.finish().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), [1; 100]);
    }

    #[test]
    fn direct_io_can_be_turned_off() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let s = open(&path, 0, false, None, false);
        assert!(!s.is_direct());
        s.finish().unwrap();
    }

    #[test]
    fn a_file_not_put_completely_is_an_error_at_its_finish() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let s = open(&path, 100, true, None, true);
        s.put(0, &[1; 10]).unwrap();
        s.put(50, &[2; 10]).unwrap();
        let mut b = [0u8; 10];
        s.read(50, &mut b).unwrap();
        assert_eq!(b, [2; 10]);
        let e = s.finish().unwrap_err();
        assert!(e.to_string().contains("0 of 100 bytes complete from the start, 20 more put, 0 pieces parked"), "{e}");
        s.abandon();
    }
}
