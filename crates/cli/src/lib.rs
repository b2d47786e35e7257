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
use mimic_io::discover::{Project, Setting};
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

/// An error and its causes on one line, `a: b: c`, outermost first: what
/// the command prints after `error: ` and the Python binding raises.
///
/// Every error of the workspace follows one rule: a level's message says
/// only its own context (`cannot open x.csv`) and its cause is returned by
/// `source()` alone (a wrapper that adds nothing is `#[error(transparent)]`).
/// The chain is therefore printed as it is, each cause once, nothing left
/// out ([`errors::Chain`]).
pub fn error_chain(err: &anyhow::Error) -> String {
    let err: &(dyn std::error::Error + 'static) = err.as_ref();
    errors::Chain(err).to_string()
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

/// How the caller of `spelling` chooses `setting`: `--cxr-version` on the
/// command line, `cxr_version=` in Python. The libraries name these
/// settings in words of their own; only the front ends know their spelling.
pub fn spell_setting(setting: Setting, spelling: Spelling) -> String {
    let python = spelling == Spelling::Python;
    match setting {
        Setting::Release(Project::MimicIv) if python => "mimiciv_version=".into(),
        Setting::Release(Project::CxrJpg) if python => "cxr_version=".into(),
        Setting::Release(Project::IvEcg) if python => "ecg_version=".into(),
        Setting::Release(Project::MimicIv) => "--mimiciv-version".into(),
        Setting::Release(Project::CxrJpg) => "--cxr-version".into(),
        Setting::Release(Project::IvEcg) => "--ecg-version".into(),
        Setting::ProjectDirs if python => "mimiciv_hosp_dir=, cxr_data_dir=, ecg_data_dir=".into(),
        Setting::ProjectDirs => "--mimiciv_hosp_dir, --cxr_data_dir, --ecg_data_dir".into(),
    }
}

/// For each level of `err` whose message leaves a setting of the caller's
/// unsaid, `(that message, the message naming it as spelling spells it)`:
/// what [`app`]'s errors substitute in the printed chain.
pub fn spelled_settings(err: &(dyn std::error::Error + 'static), spelling: Spelling) -> Vec<(String, String)> {
    use cohort::CohortError;
    use mimic_io::discover::DiscoverError;
    use pipeline::PipelineError;

    let spell = |s: Setting| Some(spell_setting(s, spelling));
    let discover = |d: &DiscoverError| (d.to_string(), d.render(&spell));
    let cohort = |c: &CohortError| match c {
        CohortError::PlanRelease { project, planned, .. } => {
            let plain = c.to_string();
            let spelled = format!("{plain} with {} {planned}", spell_setting(Setting::Release(*project), spelling));
            Some((plain, spelled))
        }
        _ => None,
    };
    let mut out = Vec::new();
    let mut level = Some(err);
    while let Some(e) = level {
        // Stage errors wrap the others transparently: their text is the inner error's.
        let found = match e.downcast_ref::<PipelineError>() {
            Some(PipelineError::Discover(d)) => Some(discover(d)),
            Some(PipelineError::Cohort(c)) => cohort(c),
            _ => None,
        };
        let found = found
            .or_else(|| e.downcast_ref::<DiscoverError>().map(discover))
            .or_else(|| e.downcast_ref::<CohortError>().and_then(cohort))
            .or_else(|| e.downcast_ref::<Box<CohortError>>().and_then(|c| cohort(c)));
        out.extend(found.filter(|(plain, spelled)| plain != spelled));
        level = e.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use std::error::Error;
    use std::io;
    use std::path::Path;

    use super::error_chain;

    #[test]
    fn the_chain_is_printed_as_it_is() {
        let io = io::Error::new(io::ErrorKind::NotFound, "No such file");
        let err = anyhow::Error::new(io).context("cannot open x.csv").context("reading the cohort");
        assert_eq!(error_chain(&err), "reading the cohort: cannot open x.csv: No such file");
        // Nothing is left out, not even a cause a level has already printed
        // (no error of the workspace does that).
        let io = io::Error::new(io::ErrorKind::NotFound, "No such file");
        let err = anyhow::Error::new(io).context("cannot open x.csv: No such file");
        assert_eq!(error_chain(&err), "cannot open x.csv: No such file: No such file");
    }

    /// The rendered chain of `err`, after checking that it holds the message
    /// of each level exactly once.
    fn said_once(err: impl Error + Send + Sync + 'static) -> String {
        let err = anyhow::Error::new(err);
        let line = error_chain(&err);
        for level in err.chain() {
            let text = level.to_string();
            assert_eq!(line.matches(&text).count(), 1, "{text:?} is not said exactly once in {line:?}");
        }
        line
    }

    fn io_text(err: &dyn Error) -> String {
        let mut cause = err.source();
        while let Some(e) = cause {
            if e.is::<io::Error>() {
                return e.to_string();
            }
            cause = e.source();
        }
        panic!("no I/O error under {err}")
    }

    #[test]
    fn library_errors_say_each_cause_once() {
        let dir = Path::new("/nonexistent-dir-xyz");

        // An atomic write into a directory that does not exist.
        let err = durable::write_atomic(dir.join("out.csv"), b"x").unwrap_err();
        let io = io_text(&err);
        assert_eq!(said_once(err), format!("cannot create a temporary file in /nonexistent-dir-xyz: {io}"));

        // A table that cannot be opened, as stage 1 reports it inside a build.
        let table = mimic_io::table::TableReader::open(&dir.join("admissions.csv.gz")).unwrap_err();
        let io = io_text(&table);
        let err = pipeline::PipelineError::Stage {
            stage: "cohort",
            done: "none".into(),
            source: Box::new(pipeline::PipelineError::Cohort(cohort::CohortError::from(table))),
        };
        assert_eq!(
            said_once(err),
            format!(
                "cohort did not complete; complete stages: none: cannot open /nonexistent-dir-xyz/admissions.csv.gz: {io}"
            )
        );

        // A candidate ECG record whose header cannot be read.
        let wfdb = mimic_io::wfdb::read_header(&dir.join("r.hea")).unwrap_err();
        let io = io_text(&wfdb);
        let err = cohort::CohortError::UnreadableEcg {
            record: dir.join("r"),
            table: "record_list.csv".into(),
            line: 2,
            hadm_id: 7,
            source: std::sync::Arc::new(wfdb),
        };
        assert_eq!(
            said_once(err),
            format!(
                "cannot read ECG record /nonexistent-dir-xyz/r (record_list.csv:2, a candidate for hadm_id 7; set \
                 cohort.skip_unreadable_ecg to count it as invalid and go on): /nonexistent-dir-xyz/r.hea: cannot read: {io}"
            )
        );
    }
}
