//! The physical floor of stage 3, for `cargo xtask bench tensors`: decode
//! every distinct JPEG of each split once (all cores), then write as many
//! bytes as the tensors occupy. No stage-3 implementation can do less work
//! than this, so `tensors wall / floor wall` says how much overhead is ours.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;
use mimic_io::table::TableReader;
use rayon::prelude::*;

/// Flags of the hidden `decode-floor` subcommand.
#[derive(Debug, Clone, Args)]
pub struct FloorArgs {
    /// Directory with the split CSVs; a scratch file is written (and removed) here.
    #[arg(long = "data_dir")]
    pub data_dir: PathBuf,
    /// MIMIC-CXR-JPG directory containing files/.
    #[arg(long = "cxr_data_dir")]
    pub cxr_data_dir: PathBuf,
    /// Crop size the tensors would have.
    #[arg(long = "cxr_crop", default_value_t = 320)]
    pub cxr_crop: u64,
}

/// Decodes the distinct images of every split and writes the tensors' byte
/// count; returns (images decoded, bytes written).
pub fn decode_floor(args: &FloorArgs) -> Result<(usize, u64)> {
    let mut decoded = 0;
    let mut bytes = 0u64;
    let dims = dataset_layout::Dims::mimic(args.cxr_crop as usize);
    for split in dataset_layout::Split::ALL {
        let csv = args.data_dir.join(split.csv());
        let mut t = TableReader::open(&csv)?;
        let col = t.require(&["cxr_path"])?[0];
        let mut rec = csv::ByteRecord::new();
        let mut seen = HashSet::new();
        let mut paths = Vec::new();
        let mut rows = 0u64;
        while t.next_record(&mut rec)? {
            rows += 1;
            let rel = TableReader::text(&rec, col);
            if seen.insert(rel.clone()) {
                paths.push(mimic_io::safe_join(&args.cxr_data_dir, &rel, &csv, t.line())?);
            }
        }
        paths.par_iter().try_for_each(|p| cxr_prep::decode_jpeg_file(p).map(drop))?;
        decoded += paths.len();
        let row: usize =
            split.tensors().iter().map(|t| t.row_shape(&dims).iter().product::<usize>() * t.dtype().size()).sum();
        bytes += rows * row as u64;
    }
    write_zeros(&args.data_dir.join(".symile-floor.tmp"), bytes)?;
    Ok((decoded, bytes))
}

fn write_zeros(path: &Path, mut n: u64) -> Result<()> {
    let mut f = std::fs::File::create(path)?;
    let buf = vec![0u8; 1 << 20];
    while n > 0 {
        let k = n.min(buf.len() as u64) as usize;
        f.write_all(&buf[..k])?;
        n -= k as u64;
    }
    f.sync_all()?;
    drop(f);
    std::fs::remove_file(path)?;
    Ok(())
}
