//! `symile-mimic`: build the Symile-MIMIC dataset from a MIMIC download.
//!
//! The command is [`symile_mimic::app`]; this file only hands it the
//! command line. Errors print their whole context chain and exit with
//! status 2; nothing panics on bad input. Ctrl-C / SIGTERM stop a run
//! cleanly: exit status 130 / 143.

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(symile_mimic::app::main(std::env::args_os()))
}
