//! Streaming writers and readers for the three tensor file formats users load:
//! safetensors, numpy `.npy` (format 1.0) and torch `.pt` (zip + pickle).
//!
//! A [`TensorFile`] pre-sizes its output (a temporary file next to the final
//! name, see [`durable::atomic`]) and writes the header up front, so rows can
//! be written concurrently, in any order, straight to their place; memory stays
//! O(one row) whatever the tensor size. The byte layouts are documented in
//! `docs/formats.md`.

mod npy;
mod pickle;
mod pt;
mod st;

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use durable::AtomicFile;

/// Output format of a tensor file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    #[error("I/O error on {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// A spec that cannot be written (empty shape, bad name, ...).
    #[error("invalid tensor spec for {name:?}: {reason}")]
    InvalidSpec { name: String, reason: String },
    /// `write_row` was given a row index past the end.
    #[error("{path}: row {row} out of range: the tensor has {rows} rows")]
    RowOutOfRange { path: PathBuf, row: usize, rows: usize },
    /// `write_row` was given the wrong number of bytes.
    #[error("{path}: row {row} has {got} bytes, expected {expected}")]
    RowLength { path: PathBuf, row: usize, got: usize, expected: usize },
    /// A row was written twice.
    #[error("{path}: row {row} written twice")]
    RowTwice { path: PathBuf, row: usize },
    /// `finish` found rows never written.
    #[error("{path}: {missing} of {rows} rows never written (first missing: row {first})")]
    RowsMissing { path: PathBuf, missing: usize, rows: usize, first: usize },
    /// A file that is not a valid tensor file of the expected format.
    #[error("{path}: {what}")]
    Malformed { path: PathBuf, what: String },
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
        Ok(Self { file, spec, row_bytes, data_offset, written, pt })
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
        let rows = self.spec.shape[0];
        let path = || self.file.dest().to_path_buf();
        if row >= rows {
            return Err(StoreError::RowOutOfRange { path: path(), row, rows });
        }
        if bytes.len() != self.row_bytes {
            return Err(StoreError::RowLength { path: path(), row, got: bytes.len(), expected: self.row_bytes });
        }
        let bit = 1u64 << (row % 64);
        let word = &self.written[row / 64];
        if word.fetch_or(bit, Ordering::AcqRel) & bit != 0 {
            return Err(StoreError::RowTwice { path: path(), row });
        }
        let offset = self.data_offset + (row as u64) * (self.row_bytes as u64);
        if let Err(source) = self.file.file().write_all_at(bytes, offset) {
            // let a retry of this row succeed
            word.fetch_and(!bit, Ordering::AcqRel);
            return Err(StoreError::Io { path: self.file.temp_path().to_path_buf(), source });
        }
        if let Some((_, crcs)) = &self.pt {
            crcs[row].store(crc32fast::hash(bytes), Ordering::Release);
        }
        Ok(())
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

impl TensorSpec {
    /// Bytes of the whole tensor.
    pub fn data_len(&self) -> u64 {
        self.shape.iter().map(|&d| d as u64).product::<u64>() * self.dtype.size() as u64
    }
}

fn malformed(path: &Path, what: impl Into<String>) -> StoreError {
    StoreError::Malformed { path: path.to_path_buf(), what: what.into() }
}

fn file_stem(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Reads a tensor file of any of the three formats, detected by extension/magic.
pub fn read_tensor(path: &Path) -> Result<LoadedTensor, StoreError> {
    let (spec, offset) = read_tensor_header(path)?;
    let file = File::open(path).map_err(|source| StoreError::Io { path: path.to_path_buf(), source })?;
    let len = usize::try_from(spec.data_len()).map_err(|_| malformed(path, "tensor too large for memory"))?;
    let mut data = vec![0u8; len];
    file.read_exact_at(&mut data, offset).map_err(|source| StoreError::Io { path: path.to_path_buf(), source })?;
    Ok(LoadedTensor { spec, data })
}

/// Reads only the spec and the byte offset of the data in the file
/// (safetensors/npy: the header; pt: the zip directory and `data.pkl`). The
/// name is the tensor's name for safetensors and the file stem otherwise.
pub fn read_tensor_header(path: &Path) -> Result<(TensorSpec, u64), StoreError> {
    let io = |source| StoreError::Io { path: path.to_path_buf(), source };
    let mut file = File::open(path).map_err(io)?;
    let file_len = file.metadata().map_err(io)?.len();
    let mut magic = [0u8; 8];
    let got = read_up_to(&mut file, &mut magic).map_err(io)?;
    let magic = &magic[..got];
    let (spec, offset) = if magic.starts_with(npy::MAGIC) {
        let mut head = vec![0u8; 12];
        let n = file.read_at(&mut head, 0).map_err(io)?;
        head.truncate(n);
        let hlen = match head.get(6) {
            Some(1) if n >= 10 => 10 + u16::from_le_bytes([head[8], head[9]]) as usize,
            Some(2 | 3) if n >= 12 => 12 + u32::from_le_bytes([head[8], head[9], head[10], head[11]]) as usize,
            _ => return Err(malformed(path, "truncated .npy header")),
        };
        if hlen as u64 > file_len {
            return Err(malformed(path, format!("the .npy header claims {hlen} bytes but the file has {file_len}")));
        }
        let mut head = vec![0u8; hlen];
        file.read_exact_at(&mut head, 0).map_err(io)?;
        let h = npy::parse_header(&head).map_err(|e| malformed(path, e))?;
        (TensorSpec { name: file_stem(path), dtype: h.dtype, shape: h.shape }, h.data_offset)
    } else if magic.starts_with(b"PK\x03\x04") {
        read_pt_header(path, file)?
    } else if magic.len() == 8 {
        let n = st::header_len(magic.try_into().expect("8 bytes")).map_err(|e| malformed(path, e))?;
        if 8 + n > file_len {
            return Err(malformed(
                path,
                format!("the safetensors header claims {n} bytes but the file has {file_len}"),
            ));
        }
        let mut json = vec![0u8; n as usize];
        file.read_exact_at(&mut json, 8).map_err(io)?;
        let h = st::parse_header(&json).map_err(|e| malformed(path, e))?;
        if 8 + n + h.data_len != file_len {
            return Err(malformed(
                path,
                format!(
                    "the safetensors header describes {} data bytes but the file has {}",
                    h.data_len,
                    file_len - 8 - n
                ),
            ));
        }
        (TensorSpec { name: h.name, dtype: h.dtype, shape: h.shape }, h.data_offset)
    } else {
        return Err(malformed(path, "not a tensor file: expected safetensors, .npy or torch .pt"));
    };
    let end = offset.checked_add(spec.data_len());
    if end.is_none_or(|e| e > file_len) {
        return Err(malformed(
            path,
            format!("the data ({} bytes at {offset}) runs past the end of the file", spec.data_len()),
        ));
    }
    if !magic.starts_with(b"PK\x03\x04") && end != Some(file_len) {
        return Err(malformed(
            path,
            format!("expected {} data bytes after the header, found {}", spec.data_len(), file_len - offset),
        ));
    }
    Ok((spec, offset))
}

/// Reads into `buf` until it is full or the file ends.
fn read_up_to(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read(&mut buf[got..])? {
            0 => break,
            n => got += n,
        }
    }
    Ok(got)
}

/// Opens a torch zip archive: the folder is the first record's prefix (as
/// torch's reader does), `data.pkl` names the storage record.
fn read_pt_header(path: &Path, file: File) -> Result<(TensorSpec, u64), StoreError> {
    let zerr = |e: zip::result::ZipError| malformed(path, format!("invalid torch zip archive: {e}"));
    // Torch archives start at byte 0. Saying so matters: the zip crate's
    // offset detection guesses `eocd - cd_size` and, with the ZIP64 end records
    // torch (and we) write between the central directory and the EOCD, lands on
    // the wrong entry when the first central entry is exactly 76 bytes long
    // (a tensor name of 21 characters, e.g. `hadm_id_val_retrieval`).
    let config = zip::read::Config { archive_offset: zip::read::ArchiveOffset::Known(0) };
    let mut zip = zip::ZipArchive::with_config(config, file).map_err(zerr)?;
    let first = zip.by_index(0).map_err(zerr)?.name().map_err(zerr)?.into_owned();
    let Some((folder, _)) = first.split_once('/') else {
        return Err(malformed(path, format!("record {first:?} is not inside a folder, as torch archives are")));
    };
    let folder = folder.to_string();
    let pkl = {
        let mut f = zip.by_name(&format!("{folder}/data.pkl")).map_err(zerr)?;
        let mut buf = Vec::with_capacity(f.size() as usize);
        f.read_to_end(&mut buf).map_err(|source| StoreError::Io { path: path.to_path_buf(), source })?;
        buf
    };
    let value = pickle::parse(&pkl).map_err(|e| malformed(path, format!("data.pkl: {e}")))?;
    let info = pickle::tensor_info(&value).map_err(|e| malformed(path, format!("data.pkl: {e}")))?;
    let record = format!("{folder}/data/{}", info.key);
    let f = zip.by_name(&record).map_err(zerr)?;
    if f.compression() != zip::CompressionMethod::Stored {
        return Err(malformed(path, format!("{record} is compressed; torch stores tensor data uncompressed")));
    }
    let expected = info.numel as u64 * info.dtype.size() as u64;
    if f.size() != expected {
        return Err(malformed(
            path,
            format!("{record} has {} bytes, expected {expected} for {} elements", f.size(), info.numel),
        ));
    }
    let offset = f.data_start().ok_or_else(|| malformed(path, format!("cannot locate the data of {record}")))?;
    Ok((TensorSpec { name: file_stem(path), dtype: info.dtype, shape: info.shape }, offset))
}
