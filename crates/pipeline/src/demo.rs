//! The embedded demo input: a deterministic MIMIC-shaped tree from the
//! `synth` generator, so a build runs end to end on a machine without MIMIC
//! (which is credentialed data).
//!
//! It is kept in a cache directory of the caller's choosing (the command
//! line takes the platform's cache directory), keyed by the generator's
//! configuration and version: `<cache>/demo-input-<key>/` holds the tree and
//! `<cache>/demo-input-<key>.json` records what made it —
//! `{"generator", "version", "config"}`, the config being
//! [`synth::SynthConfig`] as JSON. The record is written last, so a tree
//! without one (an interrupted generation) is generated again. A dataset
//! directory never holds the demo input.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::PipelineError;

/// What a demo tree was made by (the `.json` next to it).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DemoRecord {
    /// `symile-mimic synth`.
    pub generator: String,
    /// The tool version (the generator's output may change between versions).
    pub version: String,
    /// The generator's configuration.
    pub config: synth::SynthConfig,
}

impl DemoRecord {
    /// The record of the embedded demo.
    pub fn embedded() -> Self {
        Self {
            generator: "symile-mimic synth".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            config: synth::demo_config(),
        }
    }

    /// The record as its file holds it.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a demo record serialises") + "\n"
    }

    /// The cache key: the first 16 hex digits of the record's SHA-256.
    pub fn key(&self) -> String {
        Sha256::digest(self.to_json().as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect()
    }
}

/// The demo input under `cache_dir`, generated unless an identical one is
/// there; the cache directory is locked while it is generated.
pub fn demo_input(cache_dir: &Path) -> Result<PathBuf, PipelineError> {
    let record = DemoRecord::embedded();
    let stem = format!("demo-input-{}", record.key());
    let dir = cache_dir.join(&stem);
    let record_path = cache_dir.join(format!("{stem}.json"));
    let cached = |p: &Path| std::fs::read_to_string(p).is_ok_and(|t| t == record.to_json());
    if dir.is_dir() && cached(&record_path) {
        tracing::info!("demo input: {} (cached)", dir.display());
        return Ok(dir);
    }
    std::fs::create_dir_all(cache_dir).map_err(|source| PipelineError::Io { path: cache_dir.to_path_buf(), source })?;
    let _lock = durable::DirLock::acquire(cache_dir)?;
    // Another process may have generated it while this one waited.
    if dir.is_dir() && cached(&record_path) {
        return Ok(dir);
    }
    let t = std::time::Instant::now();
    // The generator refuses a non-empty directory it did not write, and
    // regenerates one it did: nothing else in the cache is touched.
    synth::generate(&dir, &record.config)?;
    durable::write_atomic(&record_path, record.to_json().as_bytes())?;
    tracing::info!("demo input: {} (generated in {:.1}s)", dir.display(), t.elapsed().as_secs_f64());
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_follows_the_configuration() {
        let a = DemoRecord::embedded();
        let mut b = a.clone();
        b.config.seed += 1;
        assert_eq!(a.key().len(), 16);
        assert_eq!(a.key(), DemoRecord::embedded().key());
        assert_ne!(a.key(), b.key());
        let back: DemoRecord = serde_json::from_str(&a.to_json()).unwrap();
        assert_eq!(back, a);
    }
}
