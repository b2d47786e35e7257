//! Progress reporting without printing.
//!
//! Libraries never print; long loops report through this trait and the
//! binary draws `indicatif` bars from it. [`NoProgress`] is for tests.

/// Receives progress of a long-running step. Implementations must be cheap
/// and thread-safe: `inc` is called from worker threads.
pub trait Progress: Sync {
    /// A step begins; `total` is its unit count when known.
    fn start(&self, _step: &str, _total: Option<u64>) {}
    /// `n` more units are done.
    fn inc(&self, _n: u64) {}
    /// The current step is over.
    fn finish(&self) {}
}

/// Discards all progress.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}
