//! Streaming writers and readers for the three tensor file formats users load:
//! safetensors, numpy `.npy` (format 1.0) and torch `.pt` (zip + pickle).
//!
//! A [`TensorFile`] pre-sizes its output (a temporary file next to the final
//! name, see [`durable::atomic`]) and takes the header up front, so rows can
//! be written concurrently, in any order; they are assembled into 8 MiB chunks
//! written with direct I/O (and hashed, when asked) as each completes, so
//! memory stays a few chunks per file whatever the tensor size. A
//! [`TensorReader`] opens a file of any of the three formats, written here or
//! anywhere else, checks every size its header states against the file, and
//! reads rows by index or streams them. The byte layouts are documented in `docs/formats.md`.

mod npy;
mod pickle;
mod pt;
mod reader;
mod st;
mod stream;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use durable::AtomicFile;

pub use reader::{TensorReader, read_tensor, read_tensor_header};
pub use stream::ChunkPool;

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
    /// A `.pt` file that is not a valid zip archive of a torch tensor.
    #[error("{path}: invalid torch zip archive")]
    PtArchive { path: PathBuf, source: zip::result::ZipError },
    /// A record of a `.pt` archive that cannot be read.
    #[error("{path}: cannot read {record}")]
    PtRecord { path: PathBuf, record: String, source: std::io::Error },
}

/// How a [`TensorFile`] is written.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// Compute the file's SHA-256 from its bytes as they are written
    /// ([`TensorFile::finish_digested`] returns it).
    pub digest: bool,
    /// Take chunk buffers from, and return them to, this pool (files written
    /// one after another reuse memory instead of faulting in their own).
    pub pool: Option<ChunkPool>,
}

/// A tensor file being written. Rows are written with [`TensorFile::write_row`]
/// from any number of threads, in any order (best nearly in row order: the
/// file is completed chunk by chunk from its start, and rows past the chunk
/// being filled are held in memory until it reaches them, see `stream`);
/// [`TensorFile::finish`] checks that every row
/// arrived exactly once and completes the file. Dropping it unfinished
/// deletes the temporary file.
#[derive(Debug)]
pub struct TensorFile {
    file: AtomicFile,
    spec: TensorSpec,
    row_bytes: usize,
    /// Absolute offset of row 0.
    data_offset: u64,
    total_len: u64,
    /// One bit per row: set once `write_row` is called for it.
    written: Vec<AtomicU64>,
    /// One bit per row: set once its bytes are in the stream (readable).
    done: Vec<AtomicU64>,
    /// `.pt` only: the archive layout and each row's CRC-32 (combined in row
    /// order at the end, so the data is never read back).
    pt: Option<(pt::PtLayout, Vec<AtomicU32>)>,
    stream: StreamGuard,
}

/// Stops the stream's threads when a file is dropped unfinished.
#[derive(Debug)]
struct StreamGuard(Arc<stream::Stream>);

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.abandon();
    }
}

fn invalid(spec: &TensorSpec, reason: impl Into<String>) -> StoreError {
    StoreError::InvalidSpec { name: spec.name.clone(), reason: reason.into() }
}

impl TensorFile {
    /// Creates `<dir>/<spec.name>.<ext>` via a temp file in `dir` (durable::atomic), header written first, file pre-sized.
    pub fn create(dir: &Path, spec: TensorSpec, format: Format) -> Result<Self, StoreError> {
        Self::create_with(dir, spec, format, &WriteOptions::default())
    }

    /// [`TensorFile::create`] with `options`: a digest computed as the
    /// bytes are written, buffers shared with other files.
    pub fn create_with(
        dir: &Path,
        spec: TensorSpec,
        format: Format,
        options: &WriteOptions,
    ) -> Result<Self, StoreError> {
        let Encoding { mut header, total_len, row_bytes, pt } = encode(&spec, format)?;
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
        let handle = file.file().try_clone().map_err(io)?;
        let stream =
            stream::Stream::new(file.temp_path(), handle, total_len, options.digest, options.pool.clone(), true)
                .map_err(io)?;
        let stream = StreamGuard(stream);
        header.resize(data_offset as usize, 0);
        stream.0.put(0, stream::Piece::Owned(header)).map_err(io)?;
        tracing::debug!(
            path = %dest.display(), %format, rows, row_bytes, total_len, direct = stream.0.is_direct(),
            "tensor file created"
        );
        let bits = || (0..rows.div_ceil(64)).map(|_| AtomicU64::new(0)).collect();
        Ok(Self { file, spec, row_bytes, data_offset, total_len, written: bits(), done: bits(), pt, stream })
    }

    /// Whether row `row`'s bytes are written, ready for
    /// [`TensorFile::read_row`] (false past the end).
    pub fn row_is_final(&self, row: usize) -> bool {
        row < self.spec.shape[0] && self.done[row / 64].load(Ordering::Acquire) & (1u64 << (row % 64)) != 0
    }

    /// The tensor being written.
    pub fn spec(&self) -> &TensorSpec {
        &self.spec
    }

    /// Bytes of one row: product(shape[1..]) * dtype size.
    pub fn row_bytes(&self) -> usize {
        self.row_bytes
    }

    /// Where the file goes when it is committed.
    pub fn dest(&self) -> &Path {
        self.file.dest()
    }

    /// The file's final length.
    pub fn total_len(&self) -> u64 {
        self.total_len
    }

    fn io_error(&self, source: std::io::Error) -> StoreError {
        StoreError::Io { path: self.stream.0.path().to_path_buf(), source }
    }

    /// Writes row `row`'s bytes (little-endian, C order) at its place; callable concurrently from many threads, any order.
    /// The bytes are copied; [`TensorFile::write_row_owned`] and
    /// [`TensorFile::write_row_shared`] hand them over without a copy.
    pub fn write_row(&self, row: usize, bytes: &[u8]) -> Result<(), StoreError> {
        self.check_row(row, bytes.len())?;
        self.write_piece(row, stream::Piece::Owned(bytes.to_vec()))
    }

    /// [`TensorFile::write_row`] of bytes the file takes over.
    pub fn write_row_owned(&self, row: usize, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.check_row(row, bytes.len())?;
        self.write_piece(row, stream::Piece::Owned(bytes))
    }

    /// [`TensorFile::write_row`] of bytes shared with their other users (a
    /// row that later rows copy), held until they are in the file.
    pub fn write_row_shared(&self, row: usize, bytes: Arc<[u8]>) -> Result<(), StoreError> {
        self.check_row(row, bytes.len())?;
        self.write_piece(row, stream::Piece::Shared(bytes))
    }

    /// Hands `piece` (a checked row's bytes) to the stream.
    fn write_piece(&self, row: usize, piece: stream::Piece) -> Result<(), StoreError> {
        let bit = 1u64 << (row % 64);
        let word = &self.written[row / 64];
        if word.fetch_or(bit, Ordering::AcqRel) & bit != 0 {
            return Err(StoreError::RowTwice { path: self.file.dest().to_path_buf(), row });
        }
        let crc = self.pt.is_some().then(|| crc32fast::hash(piece.bytes()));
        if let Err(source) = self.stream.0.put(self.row_offset(row), piece) {
            word.fetch_and(!bit, Ordering::AcqRel);
            return Err(self.io_error(source));
        }
        if let (Some((_, crcs)), Some(crc)) = (&self.pt, crc) {
            crcs[row].store(crc, Ordering::Release);
        }
        self.done[row / 64].fetch_or(bit, Ordering::Release);
        Ok(())
    }

    /// Reads back row `row`, which must have been written (see
    /// [`TensorFile::row_is_final`]), into `buf` (`row_bytes` long): from
    /// memory while the row is recent, else from the file. For a row whose
    /// bytes are those of an earlier row.
    pub fn read_row(&self, row: usize, buf: &mut [u8]) -> Result<(), StoreError> {
        self.check_row(row, buf.len())?;
        if !self.row_is_final(row) {
            return Err(StoreError::RowNotWritten { path: self.file.dest().to_path_buf(), row });
        }
        self.stream.0.read(self.row_offset(row), buf).map_err(|e| self.io_error(e))
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
        self.finish_digested().map(|(file, _)| file)
    }

    /// [`TensorFile::finish`], with the file's SHA-256 when it was created
    /// with [`WriteOptions::digest`] (computed from the bytes as they were
    /// written, never read back).
    pub fn finish_digested(self) -> Result<(AtomicFile, Option<durable::Digest>), StoreError> {
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
            let mut tail = layout.tail(crc.finalize());
            tail.resize((self.total_len - layout.tail_offset()) as usize, 0);
            self.stream.0.put(layout.tail_offset(), stream::Piece::Owned(tail)).map_err(|e| self.io_error(e))?;
        }
        let digest = self.stream.0.finish().map_err(|e| self.io_error(e))?;
        tracing::debug!(path = %self.file.dest().display(), "tensor file complete");
        Ok((self.file, digest))
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

/// The bytes of the file [`TensorFile`] writes for `spec` in `format` that
/// come before the first row (the header; for `.pt`, the archive's records
/// before the data).
pub fn encoded_header(spec: &TensorSpec, format: Format) -> Result<Vec<u8>, StoreError> {
    encode(spec, format).map(|e| e.header)
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
    fn the_digest_is_that_of_the_file_written_whatever_the_row_order() {
        use sha2::Digest as _;
        let dir = tempfile::tempdir().unwrap();
        for format in [Format::Safetensors, Format::Npy, Format::Pt] {
            // 130 rows of 100 kB: several chunks, rows across chunk ends.
            let spec = TensorSpec { name: format!("t_{format}"), dtype: DType::F32, shape: vec![130, 25_000] };
            let f =
                TensorFile::create_with(dir.path(), spec, format, &WriteOptions { digest: true, pool: None }).unwrap();
            let row = |r: usize| -> Vec<u8> { (0..100_000).map(|i| (i * 7 + r * 13) as u8).collect() };
            let mut order: Vec<usize> = (0..130).collect();
            order.swap(0, 5);
            order.swap(40, 90);
            for r in order {
                f.write_row(r, &row(r)).unwrap();
            }
            let total = f.total_len();
            let (file, digest) = f.finish_digested().unwrap();
            let bytes = std::fs::read(file.temp_path()).unwrap();
            assert_eq!(bytes.len() as u64, total);
            assert_eq!(digest, Some(sha2::Sha256::digest(&bytes).into()), "{format}");
        }
    }

    #[test]
    fn a_file_created_without_a_digest_has_none() {
        let dir = tempfile::tempdir().unwrap();
        let spec = TensorSpec { name: "n".into(), dtype: DType::I64, shape: vec![3] };
        let f = TensorFile::create(dir.path(), spec, Format::Npy).unwrap();
        for r in 0..3 {
            f.write_row(r, &(r as i64).to_le_bytes()).unwrap();
        }
        let (file, digest) = f.finish_digested().unwrap();
        assert_eq!(digest, None);
        assert_eq!(
            &std::fs::read(file.temp_path()).unwrap()[128..],
            &[0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]
        );
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
