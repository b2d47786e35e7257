//! `symile-mimic inspect DIR --split S --row N`: one dataset sample drawn as a
//! PNG, so a person can see what a row of the tensors holds — the chest X-ray
//! as the model sees it (after crop, back in grey levels), the 12-lead ECG and
//! the lab percentiles with the imputed (missing) ones marked.
//!
//! [`load`] reads the row (only its bytes: inspecting a row of a 12 GB train
//! CXR tensor costs a few hundred kilobytes of I/O), with the lab list of the
//! recipe the dataset records; [`draw`] renders it.

mod draw;
mod load;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

pub use draw::{ECG_HZ, HEIGHT, WIDTH, cxr_to_grey, render_png};
pub use load::{Sample, labs_in_tensor_order, load_sample};

/// Flags of `symile-mimic inspect`.
#[derive(Debug, Clone, Args)]
pub struct InspectArgs {
    /// Dataset directory: tensors in <split>/ (ours) or data_npy/<split>/ (the published release).
    pub dir: PathBuf,
    /// Split to read: train, val, val_retrieval or test.
    #[arg(long)]
    pub split: String,
    /// Row (0-based) of the split's tensors.
    #[arg(long)]
    pub row: usize,
    /// Where the PNG goes.
    #[arg(long, default_value = "sample.png")]
    pub out: PathBuf,
}

/// Renders row `args.row` of split `args.split` in `args.dir` and writes the
/// PNG to `args.out` (atomically); returns the path written.
pub fn inspect(args: &InspectArgs) -> Result<PathBuf> {
    let sample = load_sample(&args.dir, &args.split, args.row)?;
    let png = render_png(&sample)?;
    durable::write_atomic(&args.out, &png).with_context(|| format!("cannot write the PNG {}", args.out.display()))?;
    tracing::debug!(out = %args.out.display(), bytes = png.len(), "inspect PNG written");
    Ok(args.out.clone())
}
