//! The `symile-mimic` package's integration tests, one binary (one link, one
//! process, as rust-analyzer keeps them), a module per subject; `common` runs
//! the real binary and holds what they share.
//!
//! Sharing a process: no test changes the environment, the current directory
//! or any other process-global state (children get their environment through
//! `Command`); every fixture lives in a directory of its own
//! (a `test_support::ProcessDir` named after the fixture), and
//! `runs`' timing-sensitive kills take turns among themselves only.

mod bad_input;
mod common;
mod evaluate;
mod inspect;
mod layouts;
mod plan;
mod recipe;
mod reliability;
mod runs;
mod verify_build;
