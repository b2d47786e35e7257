//! The `symile-mimic` command's library side: the three-stage build with
//! resumable stage manifests, logging set-up and progress bars. The binary
//! (`main.rs`) only parses flags; `cargo xtask build-dataset` calls [`build`]
//! directly.

pub mod app;
pub mod build;
pub mod demo;
pub mod floor;
pub mod inspect;
pub mod plan;
pub mod progress;
pub mod signals;
pub mod verify;

pub use build::{BuildArgs, BuildSummary, build, build_or_demo};

/// Logs go to stderr. The level is `info`, `error` with `--quiet` (quiet
/// means errors only), or what `SYMILE_MIMIC_LOG` names (`error`, `warn`,
/// `info`, `debug`, `trace`), which wins over both. Colour only when stderr
/// is a terminal and `NO_COLOR` is unset (<https://no-color.org>).
pub fn init_logging(quiet: bool) {
    use std::io::IsTerminal;
    let level = std::env::var("SYMILE_MIMIC_LOG").ok().and_then(|v| v.parse::<tracing::Level>().ok());
    let level = level.unwrap_or(if quiet { tracing::Level::ERROR } else { tracing::Level::INFO });
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_ansi(std::io::stderr().is_terminal() && !no_color)
        .with_target(false)
        .try_init();
}

/// An error and its causes on one line, `a: b: c`, leaving out a cause whose
/// text its parent already printed (library errors name their cause in their
/// own message *and* expose it as `source()`, so `{:#}` would repeat it).
pub fn error_chain(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn causes_already_printed_are_not_repeated() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file");
        let err = anyhow::Error::new(io).context("cannot open x.csv: No such file").context("reading the cohort");
        assert_eq!(super::error_chain(&err), "reading the cohort: cannot open x.csv: No such file");
    }
}
