//! Progress reporting and cancellation without printing.
//!
//! Libraries never print; their long loops report through [`Progress`] and
//! poll [`Progress::cancelled`] between units of work. The front ends own the
//! other side: the command draws `indicatif` bars and turns Ctrl-C / SIGTERM
//! into `cancelled`, the Python binding forwards to a Python callable and
//! turns `KeyboardInterrupt` into it. [`NoProgress`] is for tests and for
//! callers that want neither.
//!
//! A crate of its own because every stage, the libraries above them and all
//! three front ends share it, while none of them needs anything else from
//! the crate that reads MIMIC.

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
