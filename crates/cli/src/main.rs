//! `symile-mimic`: build the Symile-MIMIC dataset from a MIMIC download.
//!
//! The command is [`symile_mimic::app`]; this file only hands it the
//! command line. Errors print their whole context chain and exit with
//! status 2; nothing panics on bad input. Ctrl-C / SIGTERM stop a run
//! cleanly: exit status 130 / 143.

use std::process::ExitCode;

fn main() -> ExitCode {
    test_hooks();
    ExitCode::from(symile_mimic::app::main(std::env::args_os()))
}

/// In debug builds only, `SYMILE_MIMIC_TEST_COMMIT_PAUSE_MS` makes every
/// commit of this process pause between two renames, so the reliability
/// tests can kill a run at exactly that point. It is read here, in the
/// binary, and nowhere else: the library and the Python module never see it.
fn test_hooks() {
    if cfg!(debug_assertions)
        && let Some(ms) = std::env::var("SYMILE_MIMIC_TEST_COMMIT_PAUSE_MS").ok().and_then(|v| v.parse().ok())
    {
        durable::commit::set_pause_between_renames(std::time::Duration::from_millis(ms));
    }
}
