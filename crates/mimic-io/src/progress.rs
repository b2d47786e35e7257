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
    /// Whether the user asked the run to stop (Ctrl-C, SIGTERM). Long loops
    /// poll this between units of work and return their crate's `Cancelled`
    /// error, dropping (and so deleting) everything uncommitted.
    fn cancelled(&self) -> bool {
        false
    }
}

/// Discards all progress.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}
