//! The `symile-mimic` command's library side: the three-stage build with
//! resumable stage manifests, logging set-up and progress bars. The binary
//! (`main.rs`) only parses flags; `cargo xtask build-dataset` calls [`build`]
//! directly.

pub mod build;
pub mod floor;
pub mod inspect;
pub mod progress;
pub mod verify;

pub use build::{BuildArgs, BuildSummary, build};

/// Logs go to stderr; `RUST_LOG`-style filtering is not needed for a tool
/// this size, so the level is `info` unless `SYMILE_MIMIC_LOG=debug`.
pub fn init_logging() {
    let debug = std::env::var("SYMILE_MIMIC_LOG").is_ok_and(|v| v.eq_ignore_ascii_case("debug"));
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(if debug { tracing::Level::DEBUG } else { tracing::Level::INFO })
        .with_target(false)
        .try_init();
}
