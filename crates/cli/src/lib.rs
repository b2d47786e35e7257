//! The `symile-mimic` command: clap flags, progress bars, signals and
//! printing over the library crates (`pipeline`, `verify`, `evaluate`). The
//! binary (`main.rs`) only hands [`app::main`] the command line; `cargo xtask
//! build-dataset` and the Python binding call [`app`] too.

pub mod app;
pub mod evaluate;
pub mod flags;
pub mod inspect;
pub mod progress;
pub mod signals;

pub use app::BuildArgs;
use recipe::{Field, Provenance, Source, Spelling};

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
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal() && !no_color)
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

/// How the caller of `spelling` set (or can set) `field`: `set by --train_n`,
/// `set in variant.toml`, or, for a default, the flag and the recipe key.
pub fn how_set(field: Field, provenance: &Provenance, spelling: Spelling) -> String {
    let flag = field.spelled(if spelling == Spelling::Python { Spelling::Python } else { Spelling::CommandLine });
    match provenance.source(field) {
        Source::Flag => format!("set by {flag}"),
        Source::File(p) => format!("set in {}", p.display()),
        Source::Mapping => "set in recipe=".to_string(),
        Source::Recorded(p) => format!("recorded in {}", p.display()),
        Source::Default | Source::Fitted => match spelling {
            Spelling::Python => format!("{flag}, or {} in recipe=", field.path()),
            _ => format!("{flag}, or {} in a --recipe file", field.path()),
        },
    }
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
