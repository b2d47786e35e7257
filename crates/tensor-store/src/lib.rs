//! Streaming writers and readers for the three tensor file formats users load:
//! safetensors, numpy `.npy` (format 1.0) and torch `.pt` (zip + pickle).
//!
//! A [`TensorFile`] pre-sizes its output (a temporary file next to the final
//! name, see [`durable::atomic`]) and writes the header up front, so rows can
//! be written concurrently, in any order, straight to their place; memory stays
//! O(one row) whatever the tensor size. A [`TensorReader`] opens a file of
//! any of the three formats, written here or anywhere else, checks every size
//! its header states against the file, and reads rows by index or streams
//! them. The byte layouts are documented in `docs/formats.md`.

mod npy;
mod pickle;
mod pt;
mod reader;
mod st;

use std::fmt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use durable::AtomicFile;

pub use reader::{TensorReader, read_tensor, read_tensor_header};

/// Output format of a tensor file (`safetensors`, `npy`, `pt` in a recipe).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Hugging Face safetensors, one tensor per file named after the file stem.
    Safetensors,
    /// numpy `.npy` format version 1.0.
    Npy,
    /// torch `.pt` (zip archive holding a pickled `torch.Tensor`).
    Pt,
}

impl Format {
    /// File extension (without the dot).
    pub fn extension(&self) -> &'static str {
        match self {
            Format::Safetensors => "safetensors",
            Format::Npy => "npy",
            Format::Pt => "pt",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

impl FromStr for Format {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "safetensors" => Ok(Format::Safetensors),
            "npy" => Ok(Format::Npy),
            "pt" => Ok(Format::Pt),
            other => Err(StoreError::UnknownFormat(other.to_string())),
        }
    }
}

/// Element type of a tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    /// 32-bit IEEE float, little-endian.
    F32,
    /// 64-bit signed integer, little-endian.
    I64,
}

impl DType {
    /// Size of one element in bytes.
    pub fn size(&self) -> usize {
        match self {
            DType::F32 => 4,
            DType::I64 => 8,
        }
    }
}

/// Name, element type and shape of a tensor; `shape[0]` is the number of rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorSpec {
    /// Tensor name; also the file stem.
    pub name: String,
    /// Element type.
    pub dtype: DType,
    /// Shape in C order; `shape[0]` = rows.
    pub shape: Vec<usize>,
}

impl TensorSpec {
    /// Number of rows, `shape[0]`; `None` for a 0-dimensional tensor, which
    /// has none.
    pub fn rows(&self) -> Option<usize> {
        self.shape.first().copied()
    }

    /// Bytes of one row, `product(shape[1..])` × dtype size; `None` for a
    /// 0-dimensional tensor or when the count does not fit in `usize`.
    ///
    /// Checked because a shape read from a file can be anything, and rows can
    /// be enormous even when the tensor is empty: `(0, 3, 2^20, 2^20)` float32
    /// is a valid empty tensor whose rows would be 12 TiB each.
    pub fn row_bytes(&self) -> Option<usize> {
        let (_, row_shape) = self.shape.split_first()?;
        row_shape.iter().try_fold(self.dtype.size(), |acc, &d| acc.checked_mul(d))
    }

    /// Bytes of the whole tensor; `None` when the count does not fit in
    /// `u64`. Zero whenever a dimension is zero, however large the others:
    /// that is the tensor's true size, whatever order the dimensions come in.
    pub fn data_len(&self) -> Option<u64> {
        if self.shape.contains(&0) {
            return Some(0);
        }
        self.shape.iter().try_fold(self.dtype.size() as u64, |acc, &d| acc.checked_mul(d as u64))
    }
}

/// Errors of this crate; each names the file and what was expected.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A format name that is not one of `safetensors`, `npy`, `pt`.
    #[error("unknown tensor format {0:?}: expected one of safetensors, npy, pt")]
    UnknownFormat(String),
    /// Creating, writing or renaming the output failed.
    #[error(transparent)]
    Atomic(#[from] durable::AtomicError),
    /// An I/O error on `path`.
    #[error("I/O error on {path}")]
    Io { path: PathBuf, source: std::io::Error },
    /// A spec that cannot be written (empty shape, bad name, ...).
    #[error("invalid tensor spec for {name:?}: {reason}")]
    InvalidSpec { name: String, reason: String },
    /// `write_row` or a read was given a row index past the end.
    #[error("{path}: row {row} out of range: the tensor has {rows} rows")]
    RowOutOfRange { path: PathBuf, row: usize, rows: usize },
    /// `write_row` was given the wrong number of bytes.
    #[error("{path}: row {row} has {got} bytes, expected {expected}")]
    RowLength { path: PathBuf, row: usize, got: usize, expected: usize },
    /// [`TensorFile::read_row`] asked for a row not written yet.
    #[error("{path}: row {row} read before it was written")]
    RowNotWritten { path: PathBuf, row: usize },
    /// A row was written twice.
    #[error("{path}: row {row} written twice")]
    RowTwice { path: PathBuf, row: usize },
    /// `finish` found rows never written.
    #[error("{path}: {missing} of {rows} rows never written (first missing: row {first})")]
    RowsMissing { path: PathBuf, missing: usize, rows: usize, first: usize },
    /// A read asked for rows `start..end`, which are not all in the tensor.
    #[error("{path}: rows {start}..{end} out of range: the tensor has {rows} rows")]
    RowsOutOfRange { path: PathBuf, start: usize, end: usize, rows: usize },
    /// A read was given a buffer whose length is not that of the rows asked for.
    #[error("{path}: a buffer of {got} bytes for rows {start}..{end}, expected {expected}")]
    BufferLength { path: PathBuf, start: usize, end: usize, got: usize, expected: u64 },
    /// A partial row read reaches past the end of the row.
    #[error("{path}: cannot read {len} bytes from byte {skip} of row {row}: a row has {row_bytes} bytes")]
    RowPart { path: PathBuf, row: usize, skip: usize, len: usize, row_bytes: usize },
    /// A file that is not a valid tensor file of the expected format.
    #[error("{path}: {what}")]
    Malformed { path: PathBuf, what: String },
}

/// How much of a file being written is final, for a reader that follows the
/// writers (a hasher that digests the bytes while they are still in the page
/// cache, on a core the writers leave idle). A row counts once its bytes are
/// written; the header is final from the start, the `.pt` tail once the file
/// is finished.
#[derive(Debug)]
pub struct WriteProgress {
    data_offset: u64,
    row_bytes: u64,
    rows: usize,
    total_len: u64,
    /// One bit per row, set after the row's bytes are in the file.
    done: Vec<AtomicU64>,
    /// Rows from 0 known done (a cache of the bitmap's prefix).
    prefix: AtomicUsize,
    /// Every byte of the file is written.
    complete: AtomicBool,
}

impl WriteProgress {
    /// The number of bytes from the start of the file that are final: they
    /// will not change before the file is put in place.
    pub fn final_prefix(&self) -> u64 {
        if self.complete.load(Ordering::Acquire) {
            return self.total_len;
        }
        let mut p = self.prefix.load(Ordering::Relaxed);
        while p < self.rows {
            let word = self.done[p / 64].load(Ordering::Acquire);
            let from = p % 64;
            // The run of set bits from `from` on.
            let run = (!(word >> from)).trailing_zeros() as usize;
            p += run.min(64 - from);
            if run < 64 - from {
                break;
            }
        }
        let p = p.min(self.rows);
        self.prefix.fetch_max(p, Ordering::Relaxed);
        self.data_offset + p as u64 * self.row_bytes
    }

    /// Whether row `row`'s bytes are in the file (false past the end).
    pub fn row_is_final(&self, row: usize) -> bool {
        row < self.rows && self.done[row / 64].load(Ordering::Acquire) & (1u64 << (row % 64)) != 0
    }

    /// The file's final length.
    pub fn total_len(&self) -> u64 {
        self.total_len
    }

    /// Whether every byte is written ([`TensorFile::finish`] has run).
    pub fn is_complete(&self) -> bool {
        self.complete.load(Ordering::Acquire)
    }
}

/// A tensor file being written. Rows are written with [`TensorFile::write_row`]
/// from any number of threads, in any order; [`TensorFile::finish`] checks that
/// every row arrived exactly once and moves the file into place. Dropping it
/// unfinished deletes the temporary file.
#[derive(Debug)]
pub struct TensorFile {
    file: AtomicFile,
    spec: TensorSpec,
    row_bytes: usize,
    /// Absolute offset of row 0.
    data_offset: u64,
    /// One bit per row: set once the row is written.
    written: Vec<AtomicU64>,
    /// `.pt` only: the archive layout and each row's CRC-32 (combined in row
    /// order at the end, so the data is never read back).
    pt: Option<(pt::PtLayout, Vec<AtomicU32>)>,
    /// What is final so far, shared with followers.
    progress: Arc<WriteProgress>,
    /// Held for each write of row bytes: one `pwrite` into a file at a time.
    /// Two threads writing one file at once contend on the kernel's inode
    /// lock, which it spins on while the holder runs; on a two-core machine
    /// that spinning took a fifth of stage 3's CPU time (`perf`,
    /// `rwsem_spin_on_owner`), time a thread waiting here leaves to others.
    write_lock: Mutex<()>,
}

fn invalid(spec: &TensorSpec, reason: impl Into<String>) -> StoreError {
    StoreError::InvalidSpec { name: spec.name.clone(), reason: reason.into() }
}

impl TensorFile {
    /// Creates `<dir>/<spec.name>.<ext>` via a temp file in `dir` (durable::atomic), header written first, file pre-sized.
    pub fn create(dir: &Path, spec: TensorSpec, format: Format) -> Result<Self, StoreError> {
        let Encoding { header, total_len, row_bytes, pt } = encode(&spec, format)?;
        let name = spec.name.as_str();
        let rows = spec.shape[0];
        let pt = pt.map(|layout| (layout, (0..rows).map(|_| AtomicU32::new(0)).collect()));
        let data_offset = match &pt {
            Some((layout, _)) => layout.data_offset(),
            None => header.len() as u64,
        };
        let dest = dir.join(format!("{name}.{}", format.extension()));
        let file = AtomicFile::create(&dest)?;
        let io = |source| StoreError::Io { path: file.temp_path().to_path_buf(), source };
        file.file().set_len(total_len).map_err(io)?;
        file.file().write_all_at(&header, 0).map_err(io)?;
        tracing::debug!(path = %dest.display(), %format, rows, row_bytes, total_len, "tensor file created");
        let written = (0..rows.div_ceil(64)).map(|_| AtomicU64::new(0)).collect();
        let progress = Arc::new(WriteProgress {
            data_offset,
            row_bytes: row_bytes as u64,
            rows,
            total_len,
            done: (0..rows.div_ceil(64)).map(|_| AtomicU64::new(0)).collect(),
            prefix: AtomicUsize::new(0),
            complete: AtomicBool::new(false),
        });
        Ok(Self { file, spec, row_bytes, data_offset, written, pt, progress, write_lock: Mutex::new(()) })
    }

    /// What of the file is final so far (see [`WriteProgress`]).
    pub fn progress(&self) -> Arc<WriteProgress> {
        Arc::clone(&self.progress)
    }

    /// Whether row `row`'s bytes are in the file, ready for
    /// [`TensorFile::read_row`] (see [`WriteProgress::row_is_final`]).
    pub fn row_is_final(&self, row: usize) -> bool {
        self.progress.row_is_final(row)
    }

    /// A handle on the temporary file for reading what [`WriteProgress`]
    /// says is final (positioned reads; the writers are not disturbed).
    pub fn reader(&self) -> Result<std::fs::File, StoreError> {
        self.file
            .file()
            .try_clone()
            .map_err(|source| StoreError::Io { path: self.file.temp_path().to_path_buf(), source })
    }

    /// The tensor being written.
    pub fn spec(&self) -> &TensorSpec {
        &self.spec
    }

    /// Bytes of one row: product(shape[1..]) * dtype size.
    pub fn row_bytes(&self) -> usize {
        self.row_bytes
    }

    /// Writes row `row`'s bytes (little-endian, C order) at its place; callable concurrently from many threads, any order.
    pub fn write_row(&self, row: usize, bytes: &[u8]) -> Result<(), StoreError> {
        self.check_row(row, bytes.len())?;
        let path = || self.file.dest().to_path_buf();
        let bit = 1u64 << (row % 64);
        let word = &self.written[row / 64];
        if word.fetch_or(bit, Ordering::AcqRel) & bit != 0 {
            return Err(StoreError::RowTwice { path: path(), row });
        }
        let offset = self.row_offset(row);
        let wrote = {
            let _one_writer = self.write_lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            self.file.file().write_all_at(bytes, offset)
        };
        if let Err(source) = wrote {
            // let a retry of this row succeed
            word.fetch_and(!bit, Ordering::AcqRel);
            return Err(StoreError::Io { path: self.file.temp_path().to_path_buf(), source });
        }
        if let Some((_, crcs)) = &self.pt {
            crcs[row].store(crc32fast::hash(bytes), Ordering::Release);
        }
        self.progress.done[row / 64].fetch_or(bit, Ordering::Release);
        Ok(())
    }

    /// Reads back row `row`, which must have been written (see
    /// [`WriteProgress::row_is_final`]), into `buf` (`row_bytes` long): a
    /// positioned read of the temporary file, from the page cache while the
    /// row is recent. For a row whose bytes are those of an earlier row.
    pub fn read_row(&self, row: usize, buf: &mut [u8]) -> Result<(), StoreError> {
        self.check_row(row, buf.len())?;
        if !self.progress.row_is_final(row) {
            return Err(StoreError::RowNotWritten { path: self.file.dest().to_path_buf(), row });
        }
        self.file
            .file()
            .read_exact_at(buf, self.row_offset(row))
            .map_err(|source| StoreError::Io { path: self.file.temp_path().to_path_buf(), source })
    }

    /// That `row` is in the tensor and `len` is a row's byte count.
    fn check_row(&self, row: usize, len: usize) -> Result<(), StoreError> {
        let rows = self.spec.shape[0];
        let path = || self.file.dest().to_path_buf();
        if row >= rows {
            return Err(StoreError::RowOutOfRange { path: path(), row, rows });
        }
        if len != self.row_bytes {
            return Err(StoreError::RowLength { path: path(), row, got: len, expected: self.row_bytes });
        }
        Ok(())
    }

    /// Absolute offset of row `row`'s bytes.
    fn row_offset(&self, row: usize) -> u64 {
        self.data_offset + (row as u64) * (self.row_bytes as u64)
    }

    /// [`TensorFile::finish`], then puts the file in place on its own
    /// ([`AtomicFile::commit`]); returns its path. For a tensor that is not
    /// part of a larger set of outputs.
    pub fn commit(self) -> Result<PathBuf, StoreError> {
        let file = self.finish()?;
        let dest = file.dest().to_path_buf();
        file.commit()?;
        Ok(dest)
    }

    /// Checks every row was written exactly once and completes the file
    /// (the `.pt` archive's tail); returns it still temporary, for the caller
    /// to commit together with the other files of its run
    /// ([`durable::Transaction`]) or alone ([`AtomicFile::commit`]).
    pub fn finish(self) -> Result<AtomicFile, StoreError> {
        let rows = self.spec.shape[0];
        let mut missing = 0usize;
        let mut first = None;
        for row in 0..rows {
            if self.written[row / 64].load(Ordering::Acquire) & (1u64 << (row % 64)) == 0 {
                missing += 1;
                first.get_or_insert(row);
            }
        }
        if let Some(first) = first {
            return Err(StoreError::RowsMissing { path: self.file.dest().to_path_buf(), missing, rows, first });
        }
        if let Some((layout, crcs)) = &self.pt {
            let mut crc = crc32fast::Hasher::new();
            for c in crcs {
                crc.combine(&crc32fast::Hasher::new_with_initial_len(c.load(Ordering::Acquire), self.row_bytes as u64));
            }
            let tail = layout.tail(crc.finalize());
            self.file
                .file()
                .write_all_at(&tail, layout.tail_offset())
                .map_err(|source| StoreError::Io { path: self.file.temp_path().to_path_buf(), source })?;
        }
        self.progress.complete.store(true, Ordering::Release);
        tracing::debug!(path = %self.file.dest().display(), "tensor file complete");
        Ok(self.file)
    }
}

/// A tensor's bytes before its data: what [`TensorFile::create`] writes first.
struct Encoding {
    header: Vec<u8>,
    total_len: u64,
    row_bytes: usize,
    pt: Option<pt::PtLayout>,
}

/// Checks `spec` and lays its file out in `format`.
fn encode(spec: &TensorSpec, format: Format) -> Result<Encoding, StoreError> {
    let name = spec.name.as_str();
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\', '\0']) {
        return Err(invalid(spec, "the name must be a plain file stem (no path separators)"));
    }
    if spec.shape.is_empty() {
        return Err(invalid(spec, "a tensor needs at least one dimension (shape[0] = rows)"));
    }
    let row_elems = spec.shape[1..]
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| invalid(spec, "shape overflows"))?;
    let row_bytes = row_elems.checked_mul(spec.dtype.size()).ok_or_else(|| invalid(spec, "shape overflows"))?;
    let data_len = spec.shape[0].checked_mul(row_bytes).ok_or_else(|| invalid(spec, "shape overflows"))? as u64;
    Ok(match format {
        Format::Safetensors => {
            let header = st::header(name, spec.dtype, &spec.shape, data_len as usize).map_err(|e| invalid(spec, e))?;
            Encoding { total_len: header.len() as u64 + data_len, header, row_bytes, pt: None }
        }
        Format::Npy => {
            let header = npy::header(spec.dtype, &spec.shape);
            if header.len() > u16::MAX as usize {
                return Err(invalid(spec, "npy header longer than format 1.0 allows"));
            }
            Encoding { total_len: header.len() as u64 + data_len, header, row_bytes, pt: None }
        }
        Format::Pt => {
            let layout = pt::PtLayout::new(name, spec.dtype, &spec.shape);
            Encoding { header: layout.head(), total_len: layout.total_len(), row_bytes, pt: Some(layout) }
        }
    })
}

/// The size in bytes of the file [`TensorFile`] writes for `spec` in
/// `format`, known before any row exists (for free-space checks).
pub fn encoded_len(spec: &TensorSpec, format: Format) -> Result<u64, StoreError> {
    encode(spec, format).map(|e| e.total_len)
}

/// A tensor read back into memory.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedTensor {
    /// Name, dtype and shape.
    pub spec: TensorSpec,
    /// Little-endian C-order bytes.
    pub data: Vec<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_final_prefix_follows_the_rows_written_from_the_start() {
        let dir = tempfile::tempdir().unwrap();
        for format in [Format::Safetensors, Format::Npy, Format::Pt] {
            let spec = TensorSpec { name: format!("t_{format}"), dtype: DType::I64, shape: vec![130] };
            let f = TensorFile::create(dir.path(), spec, format).unwrap();
            let p = f.progress();
            let head = p.final_prefix();
            assert!(head > 0 && head < p.total_len());
            for r in [1, 0, 3] {
                f.write_row(r, &(r as i64).to_le_bytes()).unwrap();
            }
            assert_eq!(p.final_prefix(), head + 2 * 8, "rows 0 and 1, not 3 past the gap");
            for r in (2..130).filter(|&r| r != 3) {
                f.write_row(r, &(r as i64).to_le_bytes()).unwrap();
            }
            assert_eq!(p.final_prefix(), head + 130 * 8);
            assert!(!p.is_complete());
            let total = p.total_len();
            let file = f.finish().unwrap();
            assert!(p.is_complete());
            assert_eq!(p.final_prefix(), total);
            assert_eq!(file.file().metadata().unwrap().len(), total);
        }
    }

    #[test]
    fn a_written_row_reads_back_and_an_unwritten_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        for format in [Format::Safetensors, Format::Npy, Format::Pt] {
            let spec = TensorSpec { name: format!("r_{format}"), dtype: DType::F32, shape: vec![5, 3] };
            let f = TensorFile::create(dir.path(), spec, format).unwrap();
            let row: Vec<u8> = [1.5f32, -2.0, 3.25].iter().flat_map(|v| v.to_le_bytes()).collect();
            f.write_row(2, &row).unwrap();
            let mut back = vec![0u8; 12];
            f.read_row(2, &mut back).unwrap();
            assert_eq!(back, row);
            assert!(f.row_is_final(2) && !f.row_is_final(1) && !f.row_is_final(5));
            match f.read_row(1, &mut back) {
                Err(StoreError::RowNotWritten { row: 1, .. }) => {}
                other => panic!("expected RowNotWritten for row 1, got {other:?}"),
            }
            match f.read_row(2, &mut [0u8; 8]) {
                Err(StoreError::RowLength { got: 8, expected: 12, .. }) => {}
                other => panic!("expected RowLength, got {other:?}"),
            }
            match f.read_row(5, &mut back) {
                Err(StoreError::RowOutOfRange { row: 5, rows: 5, .. }) => {}
                other => panic!("expected RowOutOfRange, got {other:?}"),
            }
        }
    }
}
