//! A file's bytes gathered in order into large aligned chunks, digested as
//! they are copied and written as each chunk completes, with direct I/O
//! where the filesystem has it.
//!
//! Why: on write-bound work (small images, where the bytes are the cost)
//! copying every byte into the page cache was most of stage 3's CPU time
//! (`perf`: `copy_folio_from_iter_atomic`, the kernel filling fresh pages),
//! and hashing the files for `SHA256SUMS.txt` meant reading them back.
//!
//! Here the rows, which arrive from many threads in nearly their order, are
//! handed over (owned or shared, never waited on) to the file's gathering
//! thread, which copies them in file order to their place in a window of
//! reused memory, one chunk of the file, and extends the file's SHA-256 with
//! each block it copies while the block is still in the core's cache
//! ([`HASH_BLOCK`]). A complete window goes to the file's writer threads,
//! which write it with `O_DIRECT` (the device reads it from our buffer: no
//! copy, no page cache). The hash is of the very bytes written, never a
//! second read.
//!
//! Why one thread per file: the hash must take the bytes in order, so one
//! thread at a time extends it. Hashing what another core has just copied
//! ran at two thirds of the speed (1.25 against 1.95 GB/s here: the bytes
//! come back from memory), and copying and hashing under the file's lock,
//! by whichever worker brought the row, left the other workers waiting for
//! that lock instead of decoding.
//!
//! Memory is bounded: [`BUFFERS`] chunks per file, and a thread handing over
//! a row out of its turn waits while more than [`AHEAD_LIMIT`] bytes of rows
//! are waiting to be copied (only briefly, see [`AHEAD_WAIT`], when the row
//! the copying waits for has not arrived).
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
use std::time::{Duration, Instant};

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
/// at a time, see [`WRITERS`]) or waiting for it. (Four to eight measured
/// the same; every split's files are open at once.)
const BUFFERS: usize = 4;

/// Bytes of rows handed over but not yet copied past which a thread handing
/// over a row that is not the next to copy waits for the copying to catch up.
const AHEAD_LIMIT: usize = 32 << 20;

/// How long a row out of its turn waits for room before it is queued anyway:
/// the row the gathering thread waits for may be a task the waiting thread
/// itself holds.
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
        lock(&self.0)
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

/// A mutex's guard, poisoned or not (a panic is reported where it happened;
/// the state it leaves is checked by `finish`).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Bytes of a huge page, the alignment of the chunk buffers' windows.
const HUGE_PAGE: usize = 2 << 20;

/// A page-aligned buffer: the aligned window of a larger allocation (safe
/// code throughout).
///
/// Chunk buffers ([`Aligned::chunk`]) of a huge page or more are anonymous
/// mappings whose window starts on a huge-page boundary and is advised to the
/// kernel as huge-page memory (`MADV_HUGEPAGE`; on kernels with transparent
/// huge pages in their default `madvise` mode nothing else gets them). Why:
/// faulting in a chunk 4 KiB at a time, and pinning it page by page for each
/// direct write, cost more than the copying on write-bound work. Measured with
/// the binaries alternated on size A (6 rounds, medians): 1.695 against
/// 1.55 s with checksums, 1.60 against 1.36 s without (page faults 93k
/// against 55k). Where huge pages are unavailable the advice is refused and
/// the same mapping works with small pages. Short-lived buffers (a row read
/// back) stay on the heap: a fresh mapping would be faulted in every time.
struct Aligned {
    raw: Raw,
    start: usize,
    capacity: usize,
    len: usize,
}

/// The allocation an [`Aligned`] is a window of.
enum Raw {
    Heap(Vec<u8>),
    Mapped(memmap2::MmapMut),
}

impl Raw {
    fn bytes(&self) -> &[u8] {
        match self {
            Raw::Heap(v) => v,
            Raw::Mapped(m) => m,
        }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        match self {
            Raw::Heap(v) => v,
            Raw::Mapped(m) => m,
        }
    }
}

impl Aligned {
    /// A buffer for a file's chunks, reused for the whole run: huge pages
    /// where it is large enough and the kernel gives them.
    fn chunk(capacity: usize) -> Self {
        if capacity >= HUGE_PAGE
            && let Ok(m) = memmap2::MmapMut::map_anon(capacity + HUGE_PAGE)
        {
            let start = m.as_ptr().align_offset(HUGE_PAGE);
            if start <= HUGE_PAGE {
                #[cfg(target_os = "linux")]
                let _ = m.advise_range(memmap2::Advice::HugePage, start, capacity);
                return Self { raw: Raw::Mapped(m), start, capacity, len: 0 };
            }
        }
        Self::new(capacity)
    }

    /// A buffer on the heap.
    fn new(capacity: usize) -> Self {
        let raw = vec![0u8; capacity + ALIGN];
        // `align_offset` may decline (`usize::MAX`): then the window is not aligned.
        let start = raw.as_ptr().align_offset(ALIGN).min(ALIGN);
        Self { raw: Raw::Heap(raw), start, capacity, len: 0 }
    }

    fn capacity(&self) -> usize {
        self.capacity
    }

    fn is_aligned(&self) -> bool {
        self.raw.bytes()[self.start..].as_ptr().align_offset(ALIGN) == 0
    }

    /// The filled bytes.
    fn data(&self) -> &[u8] {
        &self.raw.bytes()[self.start..self.start + self.len]
    }

    /// The filled bytes and whatever follows them up to the next multiple of
    /// [`ALIGN`] (written past the file's end, then cut off).
    fn padded(&self) -> &[u8] {
        &self.raw.bytes()[self.start..self.start + self.len.next_multiple_of(ALIGN)]
    }

    /// Copies `bytes` to position `at` of the buffer.
    fn write_at(&mut self, at: usize, bytes: &[u8]) {
        let at = self.start + at;
        self.raw.bytes_mut()[at..at + bytes.len()].copy_from_slice(bytes);
    }

    /// `n` bytes at position `at`, filled or not.
    fn slice(&self, at: usize, n: usize) -> &[u8] {
        &self.raw.bytes()[self.start + at..self.start + at + n]
    }

    /// The first `n` bytes of the window, to be filled.
    fn window_mut(&mut self, n: usize) -> &mut [u8] {
        let start = self.start;
        &mut self.raw.bytes_mut()[start..start + n]
    }

    fn clear(&mut self) {
        self.len = 0;
    }
}

/// Bytes handed over to a stream: owned by it, or shared with whoever else
/// holds them (a row kept for later copies is handed over without a copy).
#[derive(Debug, Clone)]
pub(crate) enum Piece {
    Owned(Vec<u8>),
    Shared(Arc<[u8]>),
}

impl Piece {
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            Piece::Owned(v) => v,
            Piece::Shared(a) => a,
        }
    }
}

/// A run of the file's bytes, handed to the writers.
struct Chunk {
    offset: u64,
    buf: Aligned,
}

/// A chunk handed to the writers, until it is written.
struct InFlight {
    chunk: Arc<Chunk>,
    written: bool,
}

/// Rows handed over, waiting for the gathering thread.
struct Queue {
    /// Every byte before this is copied (to the window, or further on).
    next: u64,
    /// Pieces handed over and not yet copied, by offset.
    pending: BTreeMap<u64, Piece>,
    pending_bytes: usize,
    /// No more pieces come: the gathering thread ends once it has copied
    /// what it can.
    closed: bool,
    wait_s: f64,
}

/// The window being filled, owned by the gathering thread while it copies.
struct Window {
    /// Bytes `[staged_at, staged_at + window_len)`, `staged_at` a multiple of
    /// [`CHUNK`]; every byte before it is in flight or in the file.
    staged_at: u64,
    /// The window's buffer (taken when its first byte arrives).
    staging: Option<Aligned>,
    /// The SHA-256 of every byte copied, when a digest was asked for.
    sha: Option<sha2::Sha256>,
    to_write: Option<Sender<Arc<Chunk>>>,
    copy_s: f64,
    buffer_wait_s: f64,
}

/// The chunks handed to the writers and the buffers to fill.
struct Chunks {
    in_flight: VecDeque<InFlight>,
    free: Vec<Aligned>,
    allocated: usize,
    write_s: f64,
}

/// The stream of one file's bytes to its chunks.
///
/// Locks are taken in the order window, queue, chunks (a reader takes all
/// three to see every byte in memory at once).
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
    queue: Mutex<Queue>,
    /// A piece arrived, or the queue closed (for the gathering thread).
    arrived: Condvar,
    /// Pieces were copied (for threads waiting to hand over theirs).
    room: Condvar,
    window: Mutex<Window>,
    chunks: Mutex<Chunks>,
    /// A chunk was written and its buffer freed.
    freed: Condvar,
    /// The first error (kind and message; `io::Error` is not `Clone`).
    error: Mutex<Option<(io::ErrorKind, String)>>,
    failed: AtomicBool,
    threads: Mutex<Threads>,
    pool: Option<ChunkPool>,
    created: Instant,
}

#[derive(Default)]
struct Threads {
    gatherer: Option<JoinHandle<()>>,
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
            queue: Mutex::new(Queue {
                next: 0,
                pending: BTreeMap::new(),
                pending_bytes: 0,
                closed: false,
                wait_s: 0.0,
            }),
            arrived: Condvar::new(),
            room: Condvar::new(),
            window: Mutex::new(Window {
                staged_at: 0,
                staging: None,
                sha: digest.then(sha2::Sha256::new),
                to_write: Some(to_write),
                copy_s: 0.0,
                buffer_wait_s: 0.0,
            }),
            chunks: Mutex::new(Chunks { in_flight: VecDeque::new(), free: Vec::new(), allocated: 0, write_s: 0.0 }),
            freed: Condvar::new(),
            error: Mutex::new(None),
            failed: AtomicBool::new(false),
            threads: Mutex::new(Threads::default()),
            pool,
            created: Instant::now(),
        });
        let write_rx = Arc::new(Mutex::new(write_rx));
        let mut writers = Vec::new();
        for _ in 0..WRITERS {
            let (s, rx) = (Arc::clone(&stream), Arc::clone(&write_rx));
            writers.push(std::thread::Builder::new().name("tensor-write".into()).spawn(move || s.write_chunks(&rx))?);
        }
        let s = Arc::clone(&stream);
        let gatherer = std::thread::Builder::new().name("tensor-gather".into()).spawn(move || s.gather())?;
        *lock(&stream.threads) = Threads { gatherer: Some(gatherer), writers };
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

    fn failed(&self) -> Option<io::Error> {
        if !self.failed.load(Ordering::Acquire) {
            return None;
        }
        lock(&self.error).as_ref().map(|(kind, msg)| io::Error::new(*kind, msg.clone()))
    }

    /// Records the first error and wakes every waiting thread (each checks
    /// for it under its lock, so taking each lock once is enough for none to
    /// miss the wake-up).
    fn fail(&self, kind: io::ErrorKind, msg: String) {
        lock(&self.error).get_or_insert((kind, msg));
        self.failed.store(true, Ordering::Release);
        drop(lock(&self.queue));
        self.arrived.notify_all();
        self.room.notify_all();
        drop(lock(&self.chunks));
        self.freed.notify_all();
    }

    /// Bytes of the window starting at `at`.
    fn window_len(&self, at: u64) -> usize {
        (self.total_len - at).min(CHUNK as u64) as usize
    }

    /// Hands over `piece`, the file's bytes at `offset`. Each byte of the file
    /// is put exactly once; the pieces are copied in file order by the
    /// file's gathering thread.
    pub(crate) fn put(&self, offset: u64, piece: Piece) -> io::Result<()> {
        let len = piece.bytes().len();
        if len == 0 {
            return Ok(());
        }
        let mut q = lock(&self.queue);
        if let Some(e) = self.failed() {
            return Err(e);
        }
        let end = offset + len as u64;
        let before =
            q.pending.range(..=offset).next_back().is_some_and(|(&at, p)| at + p.bytes().len() as u64 > offset);
        let after = q.pending.range(offset..).next().is_some_and(|(&at, _)| at < end);
        if offset < q.next || before || after {
            return Err(io::Error::other(format!("bytes at {offset} put twice")));
        }
        // Over the limit, a piece that is not the next to copy waits for
        // room: for as long as it takes while the gathering thread has work
        // (it frees room without this thread: a slow disk holds the rows
        // back, memory does not grow), at most AHEAD_WAIT while it waits for
        // the next piece, which may be this thread's to bring.
        let mut timed_out = false;
        while !timed_out && offset != q.next && q.pending_bytes + len > AHEAD_LIMIT {
            let t = Instant::now();
            q = if q.pending.contains_key(&q.next) {
                self.room.wait(q).unwrap_or_else(|poisoned| poisoned.into_inner())
            } else {
                let (guard, timeout) =
                    self.room.wait_timeout(q, AHEAD_WAIT).unwrap_or_else(|poisoned| poisoned.into_inner());
                timed_out = timeout.timed_out();
                guard
            };
            q.wait_s += t.elapsed().as_secs_f64();
            if let Some(e) = self.failed() {
                return Err(e);
            }
        }
        let next = offset == q.next;
        q.pending.insert(offset, piece);
        q.pending_bytes += len;
        drop(q);
        if next {
            self.arrived.notify_one();
        }
        Ok(())
    }

    /// The gathering thread: copies (and hashes) the pieces in file order,
    /// handing on each window it completes; ends when the queue is closed
    /// and nothing it can copy is left, or on the first error.
    fn gather(&self) {
        loop {
            {
                let mut q = lock(&self.queue);
                while !q.pending.contains_key(&q.next) && !q.closed && !self.failed.load(Ordering::Acquire) {
                    q = self.arrived.wait(q).unwrap_or_else(|poisoned| poisoned.into_inner());
                }
                if self.failed.load(Ordering::Acquire) || !q.pending.contains_key(&q.next) {
                    break;
                }
            }
            // The piece leaves the queue only with the window held, so a
            // reader (which holds both) finds it in one or the other.
            let mut w = lock(&self.window);
            let piece = {
                let mut q = lock(&self.queue);
                let at = q.next;
                let piece = q.pending.remove(&at).expect("only this thread takes pieces");
                let len = piece.bytes().len();
                q.pending_bytes -= len;
                q.next += len as u64;
                (at, piece)
            };
            self.room.notify_all();
            if let Err(e) = self.copy(&mut w, piece.0, piece.1.bytes()) {
                self.fail(e.kind(), e.to_string());
                break;
            }
        }
        // The writers end once this sender is gone and the chunks are out.
        lock(&self.window).to_write = None;
    }

    /// Copies `bytes` (at `offset`, the window's next byte) to the window,
    /// block by block, extending the hash with each block as it is copied,
    /// and hands on each window it completes.
    fn copy(&self, w: &mut Window, mut offset: u64, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            if w.staging.is_none() {
                let t = Instant::now();
                w.staging = Some(self.take_buffer()?);
                w.buffer_wait_s += t.elapsed().as_secs_f64();
            }
            let (at, len) = (w.staged_at, self.window_len(w.staged_at));
            let rel = (offset - at) as usize;
            let n = (len - rel).min(bytes.len());
            let t = Instant::now();
            let Window { staging, sha, .. } = &mut *w;
            let staging = staging.as_mut().expect("taken above");
            for (i, block) in bytes[..n].chunks(HASH_BLOCK).enumerate() {
                staging.write_at(rel + i * HASH_BLOCK, block);
                if let Some(sha) = sha.as_mut() {
                    sha.update(block);
                }
            }
            w.copy_s += t.elapsed().as_secs_f64();
            if rel + n == len {
                self.cut(w, len);
            }
            offset += n as u64;
            bytes = &bytes[n..];
        }
        Ok(())
    }

    /// A free or new buffer, waiting while all are in flight.
    fn take_buffer(&self) -> io::Result<Aligned> {
        let mut c = lock(&self.chunks);
        loop {
            if let Some(e) = self.failed() {
                return Err(e);
            }
            if let Some(b) = c.free.pop() {
                return Ok(b);
            }
            if c.allocated < BUFFERS {
                c.allocated += 1;
                // A file smaller than a chunk needs no more than its length.
                let capacity = CHUNK.min((self.total_len as usize).next_multiple_of(ALIGN).max(ALIGN));
                let pooled = if capacity == CHUNK { self.pool.as_ref().and_then(ChunkPool::take) } else { None };
                return Ok(pooled.unwrap_or_else(|| Aligned::chunk(capacity)));
            }
            c = self.freed.wait(c).unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    /// Hands the completed window (`len` bytes) on as a chunk.
    fn cut(&self, w: &mut Window, len: usize) {
        let Some(mut buf) = w.staging.take() else { return };
        buf.len = len;
        let chunk = Arc::new(Chunk { offset: w.staged_at, buf });
        w.staged_at += len as u64;
        lock(&self.chunks).in_flight.push_back(InFlight { chunk: Arc::clone(&chunk), written: false });
        // The writers only end after the sender is dropped; a failed send
        // means a panic, which `finish` reports.
        if let Some(tx) = &w.to_write {
            let _ = tx.send(chunk);
        }
    }

    /// A writer thread: each chunk it takes at its offset.
    fn write_chunks(&self, chunks: &Mutex<Receiver<Arc<Chunk>>>) {
        loop {
            let next = lock(chunks).recv();
            let Ok(chunk) = next else { break };
            let t = Instant::now();
            let result = if self.failed.load(Ordering::Acquire) { Ok(()) } else { self.write_chunk(&chunk) };
            let offset = chunk.offset;
            drop(chunk);
            if let Err(e) = result {
                self.fail(e.kind(), e.to_string());
            }
            let mut c = lock(&self.chunks);
            c.write_s += t.elapsed().as_secs_f64();
            if let Some(f) = c.in_flight.iter_mut().find(|f| f.chunk.offset == offset) {
                f.written = true;
            }
            Self::reclaim(&mut c);
            drop(c);
            self.freed.notify_all();
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
    /// free list.
    fn reclaim(c: &mut Chunks) {
        while c.in_flight.front().is_some_and(|f| f.written) {
            let f = c.in_flight.pop_front().expect("checked");
            if let Ok(mut chunk) = Arc::try_unwrap(f.chunk) {
                chunk.buf.clear();
                c.free.push(chunk.buf);
            } else {
                // Still held by a reader copying from it: let it go.
                c.allocated -= 1;
            }
        }
    }

    /// Reads `buf.len()` bytes at `offset`, which must all have been put
    /// (the caller knows: [`crate::TensorFile::row_is_final`]): from memory
    /// while they are there, else from the file.
    pub(crate) fn read(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let end = offset + buf.len() as u64;
        let disk_end = {
            let w = lock(&self.window);
            let q = lock(&self.queue);
            let c = lock(&self.chunks);
            let mem_start = c.in_flight.front().map_or(w.staged_at, |f| f.chunk.offset);
            let staged = (q.next - w.staged_at).min(self.window_len(w.staged_at) as u64) as usize;
            let pieces = c.in_flight.iter().map(|f| (f.chunk.offset, f.chunk.buf.data()));
            let pieces = pieces.chain(w.staging.as_ref().map(|s| (w.staged_at, s.slice(0, staged))));
            let pieces = pieces.chain(q.pending.range(..end).map(|(&at, piece)| (at, piece.bytes())));
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
        let window = scratch.window_mut(scratch.len);
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

    /// Waits until every byte is copied, hashed and written; returns the
    /// digest when one was asked for. Every byte of the file must have been
    /// put.
    pub(crate) fn finish(&self) -> io::Result<Option<durable::Digest>> {
        lock(&self.queue).closed = true;
        self.arrived.notify_all();
        self.join();
        if let Some(e) = self.failed() {
            return Err(e);
        }
        let mut w = lock(&self.window);
        let q = lock(&self.queue);
        if q.next != self.total_len {
            return Err(io::Error::other(format!(
                "{} of {} bytes complete from the start, {} more put, {} pieces waiting",
                q.next,
                self.total_len,
                q.pending_bytes,
                q.pending.len()
            )));
        }
        let mut c = lock(&self.chunks);
        self.return_buffers(&mut w, &mut c);
        tracing::debug!(
            path = %self.path.display(),
            bytes = self.total_len,
            seconds = self.created.elapsed().as_secs_f64(),
            writing = c.write_s,
            copying_and_hashing = w.copy_s,
            waiting_for_a_buffer = w.buffer_wait_s,
            waiting_ahead = q.wait_s,
            "file streamed"
        );
        Ok(w.sha.take().map(|s| s.finalize().into()))
    }

    /// Joins the gathering thread, then the writers (which end once it has
    /// dropped their sender), passing on a panic of any.
    fn join(&self) {
        let threads = std::mem::take(&mut *lock(&self.threads));
        for t in threads.gatherer.into_iter().chain(threads.writers) {
            t.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        }
    }

    /// Stops the threads without writing what is left (an unfinished file
    /// about to be deleted).
    pub(crate) fn abandon(&self) {
        self.fail(io::ErrorKind::Other, "abandoned".into());
        lock(&self.queue).closed = true;
        self.arrived.notify_all();
        let threads = std::mem::take(&mut *lock(&self.threads));
        // A panic there was already reported on its thread; nothing is kept.
        for t in threads.gatherer.into_iter().chain(threads.writers) {
            let _ = t.join();
        }
        let mut w = lock(&self.window);
        let mut c = lock(&self.chunks);
        self.return_buffers(&mut w, &mut c);
    }

    /// Gives this file's buffers to the pool (the threads are done).
    fn return_buffers(&self, w: &mut Window, c: &mut Chunks) {
        let spare = c
            .free
            .drain(..)
            .chain(w.staging.take())
            .chain(c.in_flight.drain(..).filter_map(|f| Arc::try_unwrap(f.chunk).ok()).map(|c| c.buf));
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

    fn owned(bytes: &[u8]) -> Piece {
        Piece::Owned(bytes.to_vec())
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
            s.put(a as u64, owned(&data[a..b])).unwrap();
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
    fn buffers_are_aligned_windows_large_chunks_on_a_huge_page() {
        for (capacity, chunk) in [(ALIGN, true), (3 * ALIGN, true), (HUGE_PAGE, true), (CHUNK, true), (CHUNK, false)] {
            let mut b = if chunk { Aligned::chunk(capacity) } else { Aligned::new(capacity) };
            assert!(b.is_aligned(), "{capacity}");
            assert_eq!(b.capacity(), capacity);
            let huge = b.raw.bytes()[b.start..].as_ptr().align_offset(HUGE_PAGE) == 0;
            let mapped = matches!(b.raw, Raw::Mapped(_));
            assert_eq!(mapped, chunk && capacity >= HUGE_PAGE, "{capacity}, chunk: {chunk}");
            assert!(huge || !mapped, "{capacity}: a mapped window starts on a huge page");
            // Fresh memory reads as zeros; the whole window takes writes.
            assert!(b.slice(0, capacity).iter().all(|&x| x == 0));
            b.write_at(capacity - 3, &[7, 8, 9]);
            b.len = capacity;
            assert_eq!(&b.data()[capacity - 4..], &[0, 7, 8, 9]);
            assert_eq!(b.padded().len(), capacity);
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
                s.put((piece.0 << 20) as u64, owned(piece.1)).unwrap();
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
        // over the limit but the last (the next to copy) waits AHEAD_WAIT for
        // a position that only this thread can move, then queues its bytes.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let piece = 4 << 20;
        let len = AHEAD_LIMIT + 4 * piece;
        let s = open(&path, len, true, None, true);
        let data = bytes(len, 3);
        let started = std::time::Instant::now();
        for a in (0..len).step_by(piece).rev() {
            s.put(a as u64, owned(&data[a..a + piece])).unwrap();
        }
        assert!(started.elapsed() >= 3 * AHEAD_WAIT, "the puts over the limit waited");
        assert_eq!(s.finish().unwrap(), Some(sha2::Sha256::digest(&data).into()));
        assert_eq!(std::fs::read(&path).unwrap(), data);
    }

    #[test]
    fn rows_from_many_threads_shared_or_owned_make_the_file_and_its_digest() {
        // Rows of a retrieval split's size, each thread taking the next row
        // (nearly in order, as stage 3's workers do), every third row a
        // shared copy of an earlier one, some read back on the way.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let (row, rows) = (1_228_800, 40);
        let len = row * rows + 96;
        let s = open(&path, len, true, Some(ChunkPool::new()), true);
        let data: Vec<u8> = (0..rows)
            .flat_map(|r| bytes(row, if r % 3 == 2 { (r - 2) as u8 } else { r as u8 }))
            .chain(bytes(96, 200))
            .collect();
        let shared: Vec<Arc<[u8]>> = (0..rows).map(|r| Arc::from(&data[r * row..(r + 1) * row])).collect();
        let next = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    loop {
                        let r = next.fetch_add(1, Ordering::Relaxed);
                        if r >= rows {
                            break;
                        }
                        let piece = match r % 3 {
                            2 => Piece::Shared(Arc::clone(&shared[r - 2])),
                            1 => Piece::Shared(Arc::clone(&shared[r])),
                            _ => owned(&data[r * row..(r + 1) * row]),
                        };
                        s.put((r * row) as u64, piece).unwrap();
                        if r >= 8 {
                            let mut back = vec![0u8; row];
                            s.read(((r - 8) * row) as u64, &mut back).ok();
                        }
                    }
                });
            }
        });
        s.put((rows * row) as u64, owned(&data[rows * row..])).unwrap();
        let got = s.finish().unwrap();
        assert_eq!(got, Some(sha2::Sha256::digest(&data).into()));
        assert!(std::fs::read(&path).unwrap() == data, "the file holds the rows in order");
    }

    #[test]
    fn bytes_put_again_behind_the_window_are_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let s = open(&path, 100, false, None, true);
        s.put(0, owned(&[1; 100])).unwrap();
        // Whether or not the first piece is copied yet.
        let e = s.put(10, owned(&[2])).unwrap_err();
        assert!(e.to_string().contains("bytes at 10 put twice"), "{e}");
        s.read(0, &mut [0; 100]).unwrap();
        let e = s.put(99, owned(&[2])).unwrap_err();
        assert!(e.to_string().contains("bytes at 99 put twice"), "{e}");
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
        s.put(0, owned(&[1; 10])).unwrap();
        s.put(50, owned(&[2; 10])).unwrap();
        let mut b = [0u8; 10];
        s.read(50, &mut b).unwrap();
        assert_eq!(b, [2; 10]);
        let e = s.finish().unwrap_err();
        assert!(
            e.to_string().contains("10 of 100 bytes complete from the start, 10 more put, 1 pieces waiting"),
            "{e}"
        );
        s.abandon();
    }
}
