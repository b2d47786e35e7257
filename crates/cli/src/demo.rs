//! The embedded demo input: a deterministic MIMIC-shaped tree from the
//! `synth` generator, so `symile-mimic build` and `cargo xtask build-dataset`
//! run end to end on a machine without MIMIC (which is credentialed data).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Generates the demo input in `dir` unless an identical one is already there
/// (a stamp file next to it records the generator configuration), and returns
/// `dir`.
pub fn ensure_demo_input(dir: &Path) -> Result<PathBuf> {
    let cfg = synth::demo_config();
    let stamp_path = dir.with_extension("config");
    let stamp = format!("{cfg:?}");
    if dir.is_dir() && std::fs::read_to_string(&stamp_path).is_ok_and(|s| s == stamp) {
        tracing::info!("demo input: {} (cached)", dir.display());
        return Ok(dir.to_path_buf());
    }
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let t = std::time::Instant::now();
    // The generator refuses a non-empty directory it did not write, and
    // regenerates one it did: a user's files are never overwritten.
    synth::generate(dir, &cfg).with_context(|| format!("generating the demo input in {}", dir.display()))?;
    std::fs::write(&stamp_path, stamp).with_context(|| format!("cannot write {}", stamp_path.display()))?;
    tracing::info!("demo input: {} (generated in {:.1}s)", dir.display(), t.elapsed().as_secs_f64());
    Ok(dir.to_path_buf())
}

/// Whether `args` names no input at all (then the demo is used).
pub fn wants_demo(args: &crate::BuildArgs) -> bool {
    args.mimic_root.is_none()
        && args.mimiciv_hosp_dir.is_none()
        && args.cxr_data_dir.is_none()
        && args.ecg_data_dir.is_none()
}
