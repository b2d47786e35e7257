//! Ctrl-C and SIGTERM.
//!
//! The first signal only raises a flag: the libraries poll it (through
//! [`progress::Progress::cancelled`]) between units of work, stop
//! within about a second, drop their uncommitted temporaries and return a
//! `Cancelled` error; outputs already committed stay. The binary then says
//! what was completed and exits 130 (SIGINT) or 143 (SIGTERM), as a shell
//! expects. A second signal exits at once (the next run removes whatever
//! temporaries that leaves).

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use anyhow::{Context, Result};
use signal_hook::consts::{SIGINT, SIGTERM};

static RECEIVED: OnceLock<Arc<AtomicUsize>> = OnceLock::new();

/// Installs the handlers (once per process).
pub fn install() -> Result<()> {
    let received = RECEIVED.get_or_init(|| Arc::new(AtomicUsize::new(0)));
    let once = Arc::new(AtomicBool::new(false));
    for sig in [SIGINT, SIGTERM] {
        // Registered first, so it sees the flag before this signal sets it.
        signal_hook::flag::register_conditional_shutdown(sig, 128 + sig, Arc::clone(&once))
            .context("cannot install the signal handlers")?;
        signal_hook::flag::register(sig, Arc::clone(&once)).context("cannot install the signal handlers")?;
        signal_hook::flag::register_usize(sig, Arc::clone(received), sig as usize)
            .context("cannot install the signal handlers")?;
    }
    Ok(())
}

/// The signal received, if any.
pub fn received() -> Option<i32> {
    RECEIVED.get().map(|r| r.load(Ordering::Relaxed) as i32).filter(|&s| s != 0)
}

/// The exit status for a run stopped by `signal`: 128 + its number.
pub fn exit_status(signal: i32) -> u8 {
    (128 + signal) as u8
}

/// `SIGINT` / `SIGTERM` by name, for messages.
pub fn name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "SIGINT (Ctrl-C)",
        SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}
