//! The physical floors of stage 3, for `cargo xtask bench tensors`: decoding
//! every distinct JPEG of each split once (all cores), and writing as many
//! bytes as the tensors occupy. No stage-3 implementation can do less work
//! than either, and at best it overlaps them, so the larger of the two walls
//! is the floor and `tensors wall / floor wall` says how much is ours.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

use mimic_io::table::TableReader;
use rayon::prelude::*;

use crate::PipelineError;

/// How the floor writes its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FloorWrite {
    /// Not at all: the decoding floor alone.
    Skip,
    /// Through the page cache, 1 MiB `write`s, then `fsync`.
    Buffered,
    /// With `O_DIRECT`, 8 MiB aligned writes from one reused buffer, then
    /// `fsync` (as stage 3 writes its tensors where the filesystem allows).
    Direct,
}

/// Decodes (with `decode`) the distinct images of every split under
/// `data_dir`, all splits' at once as stage 3 does, and writes, fsyncs and
/// removes a file of the tensors' byte count for `dims` (unless `write` is
/// [`FloorWrite::Skip`]); returns (images decoded, bytes written).
pub fn decode_floor(
    data_dir: &Path,
    cxr_dir: &Path,
    dims: &dataset_layout::Dims,
    decode: bool,
    write: FloorWrite,
) -> Result<(usize, u64), PipelineError> {
    let mut bytes = 0u64;
    let mut paths = Vec::new();
    for split in dataset_layout::Split::ALL {
        let csv = data_dir.join(split.csv());
        let mut t = TableReader::open(&csv)?;
        let col = t.require(&["cxr_path"])?[0];
        let mut rec = csv::ByteRecord::new();
        // Distinct within a split: each split's tensors decode their own images.
        let mut seen = HashSet::new();
        let mut rows = 0u64;
        while t.next_record(&mut rec)? {
            rows += 1;
            let rel = TableReader::text(&rec, col);
            if seen.insert(rel.clone()) {
                paths.push(mimic_io::safe_join(cxr_dir, &rel, &csv, t.line())?);
            }
        }
        let row: usize =
            split.tensors().iter().map(|t| t.row_shape(dims).iter().product::<usize>() * t.dtype().size()).sum();
        bytes += rows * row as u64;
    }
    let mut decoded = 0;
    if decode {
        paths
            .par_iter()
            .try_for_each(|p| cxr_prep::decode_jpeg_file(p).map(drop))
            .map_err(|source| PipelineError::Floor { source })?;
        decoded = paths.len();
    }
    let scratch = data_dir.join(".symile-floor.tmp");
    let written = match write {
        FloorWrite::Skip => return Ok((decoded, 0)),
        FloorWrite::Buffered => write_zeros(&scratch, bytes),
        FloorWrite::Direct => write_zeros_direct(&scratch, bytes),
    };
    written.map_err(|source| PipelineError::Io { path: scratch, source })?;
    Ok((decoded, bytes))
}

fn write_zeros(path: &Path, mut n: u64) -> std::io::Result<()> {
    let mut f = std::fs::File::create(path)?;
    let buf = vec![0u8; 1 << 20];
    while n > 0 {
        let k = n.min(buf.len() as u64) as usize;
        f.write_all(&buf[..k])?;
        n -= k as u64;
    }
    f.sync_all()?;
    drop(f);
    std::fs::remove_file(path)
}

fn write_zeros_direct(path: &Path, n: u64) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    const ALIGN: usize = 4096;
    const CHUNK: usize = 8 << 20;
    let mut f =
        std::fs::OpenOptions::new().write(true).create(true).truncate(true).custom_flags(libc::O_DIRECT).open(path)?;
    // The page-aligned window of a larger buffer.
    let raw = vec![0u8; CHUNK + ALIGN];
    let start = raw.as_ptr().align_offset(ALIGN);
    let buf = &raw[start..start + CHUNK];
    let mut left = n;
    while left > 0 {
        let k = (left.min(CHUNK as u64) as usize).next_multiple_of(ALIGN);
        f.write_all(&buf[..k])?;
        left = left.saturating_sub(k as u64);
    }
    f.set_len(n)?;
    f.sync_all()?;
    drop(f);
    std::fs::remove_file(path)
}
