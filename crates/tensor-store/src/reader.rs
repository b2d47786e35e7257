//! Reading tensor files that someone else wrote: a user's download, a golden
//! set, a file cut short by a full disk. Every size a header states is checked
//! against the file's real length before it is used, and metadata (npy and
//! safetensors headers, `data.pkl`) is read only up to a small fixed cap, so a
//! malformed file ends in a [`StoreError`] naming it, never in a panic or an
//! allocation larger than the file.

use std::fs::File;
use std::io::Read;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::{Format, LoadedTensor, StoreError, TensorSpec, npy, pickle, st};

/// Bytes [`TensorReader::for_each_row`] reads at a time (or one row, if a row
/// is larger): large enough for sequential throughput, small enough that
/// streaming a 12 GB tensor costs no memory.
const STREAM_CHUNK: usize = 1 << 20;

/// Largest `data.pkl` accepted. The pickle of one tensor is a few hundred
/// bytes (about 300 for four dimensions); the cap keeps a zip entry that
/// claims gigabytes from sizing anything.
const MAX_PICKLE: u64 = 64 << 10;

fn malformed(path: &Path, what: impl Into<String>) -> StoreError {
    StoreError::Malformed { path: path.to_path_buf(), what: what.into() }
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io { path: path.to_path_buf(), source }
}

fn file_stem(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

/// What a format's header says, before the checks common to all formats.
struct Header {
    format: Format,
    spec: TensorSpec,
    /// Absolute offset of the tensor's first byte.
    data_offset: u64,
    /// Bytes the file holds for the tensor from `data_offset` on (already
    /// checked to lie inside the file).
    available: u64,
    /// Whether the tensor must fill `available` exactly (npy, safetensors) or
    /// may be a prefix of it (a torch storage can be larger than its tensor).
    exact: bool,
}

/// An open tensor file of any of the three formats, its header validated
/// against the file: rows are read by index or streamed, and no offset
/// arithmetic is left to the caller.
///
/// Opening checks everything a header states: the shape's byte counts do not
/// overflow, the data lies inside the file, and the file holds no fewer (npy,
/// safetensors: nor more) bytes than the shape needs. Reads use positioned I/O
/// on one shared handle, so a `&TensorReader` can serve many threads.
#[derive(Debug)]
pub struct TensorReader {
    path: PathBuf,
    file: File,
    /// The length when opened; a read past it means the file shrank since.
    file_len: u64,
    format: Format,
    spec: TensorSpec,
    data_offset: u64,
    rows: usize,
    row_bytes: usize,
}

impl TensorReader {
    /// Opens `path`, detecting the format from its first bytes (`\x93NUMPY`:
    /// npy, `PK\x03\x04`: torch zip, otherwise safetensors), and validates the
    /// header against the file. The name is the tensor's own for safetensors
    /// and the file stem otherwise.
    ///
    /// A 0-dimensional tensor is refused: it has no rows, and no writer here
    /// produces one. Rows of zero bytes (shape `(n, 0)`) are accepted, but no
    /// more of them than the file has bytes: a header claiming 10^18 empty
    /// rows would otherwise turn every row loop into a hang.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let io = io_error(path);
        let file = File::open(path).map_err(&io)?;
        let meta = file.metadata().map_err(&io)?;
        if !meta.is_file() {
            return Err(malformed(path, "not a regular file: expected a safetensors, .npy or torch .pt file"));
        }
        let file_len = meta.len();
        let mut magic = [0u8; 8];
        let got = read_up_to(&file, &mut magic, 0).map_err(&io)?;
        let magic = &magic[..got];
        let h = if magic.starts_with(npy::MAGIC) {
            open_npy(path, &file, file_len)?
        } else if magic.starts_with(b"PK\x03\x04") {
            open_pt(path, &file, file_len)?
        } else if let Ok(prefix) = <[u8; 8]>::try_from(magic) {
            open_safetensors(path, &file, file_len, prefix)?
        } else {
            return Err(malformed(
                path,
                format!("not a tensor file: {file_len} bytes, too short for a safetensors, .npy or torch .pt header"),
            ));
        };
        let Header { format, spec, data_offset, available, exact } = h;

        let Some(rows) = spec.rows() else {
            return Err(malformed(
                path,
                format!("a 0-dimensional {format} tensor has no rows: expected at least one dimension"),
            ));
        };
        let row_bytes = spec.row_bytes().ok_or_else(|| {
            malformed(
                path,
                format!(
                    "a row of shape {} ({:?}) has more bytes than memory can address",
                    shape_text(&spec.shape[1..]),
                    spec.dtype
                ),
            )
        })?;
        if row_bytes == 0 && rows as u64 > file_len {
            return Err(malformed(
                path,
                format!(
                    "{rows} rows of 0 bytes ({}): more rows than the file's {file_len} bytes",
                    shape_text(&spec.shape)
                ),
            ));
        }
        let needed = (rows as u64).checked_mul(row_bytes as u64).filter(|&n| n <= available).ok_or_else(|| {
            malformed(
                path,
                format!(
                    "shape {} ({:?}) needs {} data bytes at byte {data_offset}, the file holds {available}",
                    shape_text(&spec.shape),
                    spec.dtype,
                    byte_count(rows, row_bytes)
                ),
            )
        })?;
        if exact && needed != available {
            return Err(malformed(
                path,
                format!(
                    "shape {} ({:?}) needs {needed} data bytes after the header, the file has {available}",
                    shape_text(&spec.shape),
                    spec.dtype
                ),
            ));
        }
        tracing::debug!(path = %path.display(), %format, rows, row_bytes, data_offset, "tensor file opened");
        Ok(Self { path: path.to_path_buf(), file, file_len, format, spec, data_offset, rows, row_bytes })
    }

    /// The file read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Its format, as detected from the first bytes.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Name, dtype and shape.
    pub fn spec(&self) -> &TensorSpec {
        &self.spec
    }

    /// Absolute offset of row 0 in the file.
    pub fn data_offset(&self) -> u64 {
        self.data_offset
    }

    /// Number of rows, `shape[0]`.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Bytes of one row: `product(shape[1..])` × dtype size.
    pub fn row_bytes(&self) -> usize {
        self.row_bytes
    }

    /// Bytes of the whole tensor (bounded by the file length).
    pub fn data_len(&self) -> u64 {
        self.rows as u64 * self.row_bytes as u64
    }

    /// Reads row `row` into `buf`, which must be exactly [`row_bytes`](Self::row_bytes) long.
    pub fn read_row(&self, row: usize, buf: &mut [u8]) -> Result<(), StoreError> {
        self.check_row(row)?;
        if buf.len() != self.row_bytes {
            return Err(StoreError::BufferLength {
                path: self.path.clone(),
                start: row,
                end: row + 1,
                got: buf.len(),
                expected: self.row_bytes as u64,
            });
        }
        self.read_at(buf, row as u64 * self.row_bytes as u64, row)
    }

    /// Reads `buf.len()` bytes of row `row`, starting `skip` bytes into the
    /// row: one image channel or one lead without reading the whole row.
    pub fn read_row_part(&self, row: usize, skip: usize, buf: &mut [u8]) -> Result<(), StoreError> {
        self.check_row(row)?;
        if skip.checked_add(buf.len()).is_none_or(|end| end > self.row_bytes) {
            return Err(StoreError::RowPart {
                path: self.path.clone(),
                row,
                skip,
                len: buf.len(),
                row_bytes: self.row_bytes,
            });
        }
        self.read_at(buf, row as u64 * self.row_bytes as u64 + skip as u64, row)
    }

    /// Reads rows `rows` into `buf`, which must hold exactly that many rows.
    /// An empty range inside the tensor reads nothing.
    pub fn read_rows(&self, rows: Range<usize>, buf: &mut [u8]) -> Result<(), StoreError> {
        let Range { start, end } = rows;
        if start > end || end > self.rows {
            return Err(StoreError::RowsOutOfRange { path: self.path.clone(), start, end, rows: self.rows });
        }
        // In range, so bounded by the tensor's data length.
        let expected = (end - start) as u64 * self.row_bytes as u64;
        if buf.len() as u64 != expected {
            return Err(StoreError::BufferLength { path: self.path.clone(), start, end, got: buf.len(), expected });
        }
        self.read_at(buf, start as u64 * self.row_bytes as u64, start)
    }

    /// Calls `f(row, bytes)` for every row in order, reading about 1 MiB (or
    /// one row, if larger) at a time. Stops at the first error, `f`'s included.
    pub fn for_each_row(&self, mut f: impl FnMut(usize, &[u8]) -> Result<(), StoreError>) -> Result<(), StoreError> {
        if self.row_bytes == 0 {
            // Nothing to read; `open` bounded the row count by the file length.
            return (0..self.rows).try_for_each(|row| f(row, &[]));
        }
        let per_chunk = (STREAM_CHUNK / self.row_bytes).clamp(1, self.rows.max(1));
        let mut buf = Vec::new();
        let mut start = 0;
        while start < self.rows {
            let end = (start + per_chunk).min(self.rows);
            // At most one chunk or one row, and never more than the tensor: a
            // row of a tensor with rows lies inside the file.
            buf.resize((end - start) * self.row_bytes, 0);
            self.read_rows(start..end, &mut buf)?;
            for (i, bytes) in buf.chunks_exact(self.row_bytes).enumerate() {
                f(start + i, bytes)?;
            }
            start = end;
        }
        Ok(())
    }

    /// Reads the whole tensor into memory (at most the file's length).
    pub fn read_all(&self) -> Result<Vec<u8>, StoreError> {
        let len = usize::try_from(self.data_len())
            .map_err(|_| malformed(&self.path, format!("{} bytes of data do not fit in memory", self.data_len())))?;
        let mut data = vec![0u8; len];
        self.read_rows(0..self.rows, &mut data)?;
        Ok(data)
    }

    fn check_row(&self, row: usize) -> Result<(), StoreError> {
        if row >= self.rows {
            return Err(StoreError::RowOutOfRange { path: self.path.clone(), row, rows: self.rows });
        }
        Ok(())
    }

    /// Reads `buf` at `at` bytes into the data; `row` is the first row
    /// concerned, for the message if the file has shrunk since it was opened.
    fn read_at(&self, buf: &mut [u8], at: u64, row: usize) -> Result<(), StoreError> {
        let offset = self.data_offset + at;
        self.file.read_exact_at(buf, offset).map_err(|source| {
            if source.kind() == std::io::ErrorKind::UnexpectedEof {
                malformed(
                    &self.path,
                    format!(
                        "the file ends before the {} bytes of row {row} at byte {offset}; it had {} bytes when opened",
                        buf.len(),
                        self.file_len
                    ),
                )
            } else {
                StoreError::Io { path: self.path.clone(), source }
            }
        })
    }
}

/// A shape for a message: a header may list thousands of dimensions, and the
/// message need not.
fn shape_text(shape: &[usize]) -> String {
    const SHOWN: usize = 8;
    if shape.len() <= SHOWN {
        return format!("{shape:?}");
    }
    let head: Vec<String> = shape[..SHOWN].iter().map(usize::to_string).collect();
    format!("[{}, ... ({} dimensions)]", head.join(", "), shape.len())
}

/// `rows × row_bytes` for a message, exact even when it overflows `u64`.
fn byte_count(rows: usize, row_bytes: usize) -> u128 {
    rows as u128 * row_bytes as u128
}

/// Reads a tensor file of any of the three formats into memory.
pub fn read_tensor(path: &Path) -> Result<LoadedTensor, StoreError> {
    let r = TensorReader::open(path)?;
    let data = r.read_all()?;
    Ok(LoadedTensor { spec: r.spec, data })
}

/// Reads only the spec and the byte offset of the data, with every check of
/// [`TensorReader::open`].
pub fn read_tensor_header(path: &Path) -> Result<(TensorSpec, u64), StoreError> {
    let r = TensorReader::open(path)?;
    Ok((r.spec, r.data_offset))
}

/// Reads into `buf` from `offset` until it is full or the file ends.
fn read_up_to(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

fn open_npy(path: &Path, file: &File, file_len: u64) -> Result<Header, StoreError> {
    let mut prefix = [0u8; npy::PREFIX_MAX];
    let n = read_up_to(file, &mut prefix, 0).map_err(io_error(path))?;
    let header_len = npy::header_len(&prefix[..n]).map_err(|e| malformed(path, e))?;
    if header_len > file_len {
        return Err(malformed(path, format!("the .npy header claims {header_len} bytes but the file has {file_len}")));
    }
    // Bounded by npy::MAX_HEADER (header_len) and by the file (just above).
    let mut head = vec![0u8; header_len as usize];
    file.read_exact_at(&mut head, 0).map_err(io_error(path))?;
    let h = npy::parse_header(&head).map_err(|e| malformed(path, e))?;
    Ok(Header {
        format: Format::Npy,
        spec: TensorSpec { name: file_stem(path), dtype: h.dtype, shape: h.shape },
        data_offset: h.data_offset,
        available: file_len - h.data_offset,
        exact: true,
    })
}

fn open_safetensors(path: &Path, file: &File, file_len: u64, prefix: [u8; 8]) -> Result<Header, StoreError> {
    let n = st::header_len(prefix).map_err(|e| malformed(path, e))?;
    let data_start = 8 + n; // n <= st::MAX_HEADER
    if data_start > file_len {
        return Err(malformed(path, format!("the safetensors header claims {n} bytes but the file has {file_len}")));
    }
    let mut json = vec![0u8; n as usize];
    file.read_exact_at(&mut json, 8).map_err(io_error(path))?;
    let h = st::parse_header(&json).map_err(|e| malformed(path, e))?;
    let available = file_len - data_start;
    if h.data_len != available {
        return Err(malformed(
            path,
            format!("the safetensors header describes {} data bytes but the file has {available}", h.data_len),
        ));
    }
    Ok(Header {
        format: Format::Safetensors,
        spec: TensorSpec { name: h.name, dtype: h.dtype, shape: h.shape },
        // The one tensor starts where the data does (its offsets were checked
        // to be contiguous from 0).
        data_offset: data_start,
        available,
        exact: true,
    })
}

/// Opens a torch zip archive: the folder is the first record's prefix (as
/// torch's reader does), `data.pkl` names the storage record.
fn open_pt(path: &Path, file: &File, file_len: u64) -> Result<Header, StoreError> {
    let zerr = |source| StoreError::PtArchive { path: path.to_path_buf(), source };
    // Torch archives start at byte 0. Saying so matters: the zip crate's
    // offset detection guesses `eocd - cd_size` and, with the ZIP64 end records
    // torch (and we) write between the central directory and the EOCD, lands on
    // the wrong entry when the first central entry is exactly 76 bytes long
    // (a tensor name of 21 characters, e.g. `hadm_id_val_retrieval`).
    let config = zip::read::Config { archive_offset: zip::read::ArchiveOffset::Known(0) };
    let mut zip = zip::ZipArchive::with_config(config, file).map_err(zerr)?;
    let first = zip.by_index_data(0).map_err(zerr)?.name().map_err(zerr)?.into_owned();
    let Some((folder, _)) = first.split_once('/') else {
        return Err(malformed(path, format!("record {first:?} is not inside a folder, as torch archives are")));
    };
    let folder = folder.to_string();
    let pkl_name = format!("{folder}/data.pkl");
    let pkl = {
        let f = zip.by_name(&pkl_name).map_err(zerr)?;
        if f.size() > MAX_PICKLE {
            return Err(malformed(
                path,
                format!(
                    "{pkl_name} claims {} bytes; the pickle of one tensor has a few hundred (at most {MAX_PICKLE})",
                    f.size()
                ),
            ));
        }
        let mut buf = Vec::new();
        // `take` as well: the size checked above is only what the directory claims.
        f.take(MAX_PICKLE + 1).read_to_end(&mut buf).map_err(|source| StoreError::PtRecord {
            path: path.to_path_buf(),
            record: pkl_name.clone(),
            source,
        })?;
        if buf.len() as u64 > MAX_PICKLE {
            return Err(malformed(path, format!("{pkl_name} holds more than {MAX_PICKLE} bytes")));
        }
        buf
    };
    let value = pickle::parse(&pkl).map_err(|e| malformed(path, format!("{pkl_name}: {e}")))?;
    let info = pickle::tensor_info(&value).map_err(|e| malformed(path, format!("{pkl_name}: {e}")))?;
    let record = format!("{folder}/data/{}", info.key);
    let f = zip.by_name(&record).map_err(zerr)?;
    if f.compression() != zip::CompressionMethod::Stored {
        return Err(malformed(path, format!("{record} is compressed; torch stores tensor data uncompressed")));
    }
    let expected = (info.numel as u64).checked_mul(info.dtype.size() as u64);
    if expected != Some(f.size()) || f.compressed_size() != f.size() {
        return Err(malformed(
            path,
            format!(
                "{record} has {} bytes ({} stored), expected {} for {} {:?} elements",
                f.size(),
                f.compressed_size(),
                info.numel as u128 * info.dtype.size() as u128,
                info.numel,
                info.dtype
            ),
        ));
    }
    let offset = f.data_start().ok_or_else(|| malformed(path, format!("cannot locate the data of {record}")))?;
    if offset.checked_add(f.size()).is_none_or(|end| end > file_len) {
        return Err(malformed(
            path,
            format!("{record}: {} bytes at byte {offset} run past the end of the file ({file_len} bytes)", f.size()),
        ));
    }
    Ok(Header {
        format: Format::Pt,
        spec: TensorSpec { name: file_stem(path), dtype: info.dtype, shape: info.shape },
        data_offset: offset,
        available: f.size(),
        exact: false,
    })
}
