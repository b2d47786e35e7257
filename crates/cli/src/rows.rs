//! Row access to a tensor file for `verify` and `inspect`.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use tensor_store::TensorSpec;

/// An opened tensor file: its spec and where each row lies.
#[derive(Debug)]
pub struct TensorReader {
    path: PathBuf,
    spec: TensorSpec,
    offset: u64,
    row_bytes: usize,
    file: File,
}

impl TensorReader {
    /// Opens any of the three formats; sizes are checked against the file.
    pub fn open(path: &Path) -> Result<Self> {
        let (spec, offset) = tensor_store::read_tensor_header(path)?;
        let row_bytes = spec.shape.iter().skip(1).try_fold(spec.dtype.size(), |a, &d| a.checked_mul(d));
        let len = std::fs::metadata(path)?.len();
        let Some(row_bytes) = row_bytes.filter(|&r| spec.shape[0] == 0 || (r as u64) <= len) else {
            bail!("{}: a row of shape {:?} is larger than the file", path.display(), &spec.shape[1..]);
        };
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        Ok(Self { path: path.to_path_buf(), spec, offset, row_bytes, file })
    }
    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// Name, dtype, shape.
    pub fn spec(&self) -> &TensorSpec {
        &self.spec
    }
    /// Rows.
    pub fn rows(&self) -> usize {
        self.spec.shape.first().copied().unwrap_or(0)
    }
    /// Bytes of one row.
    pub fn row_bytes(&self) -> usize {
        self.row_bytes
    }
    /// Reads `buf.len()` bytes of row `row` from `skip` bytes into it.
    pub fn read_row_part(&self, row: usize, skip: usize, buf: &mut [u8]) -> Result<()> {
        if row >= self.rows() || skip.checked_add(buf.len()).is_none_or(|e| e > self.row_bytes) {
            bail!(
                "{}: row {row} (bytes {skip}+{}) is out of range: {} rows",
                self.path.display(),
                buf.len(),
                self.rows()
            );
        }
        let at = self.offset + row as u64 * self.row_bytes as u64 + skip as u64;
        self.file.read_exact_at(buf, at).with_context(|| format!("{}: cannot read row {row}", self.path.display()))
    }
    /// Reads row `row`.
    pub fn read_row(&self, row: usize, buf: &mut [u8]) -> Result<()> {
        self.read_row_part(row, 0, buf)
    }
    /// Calls `f` with every row, in order.
    pub fn for_each_row(&self, mut f: impl FnMut(usize, &[u8]) -> Result<()>) -> Result<()> {
        let mut buf = vec![0u8; if self.rows() == 0 { 0 } else { self.row_bytes }];
        for row in 0..self.rows() {
            self.read_row(row, &mut buf)?;
            f(row, &buf)?;
        }
        Ok(())
    }
}
