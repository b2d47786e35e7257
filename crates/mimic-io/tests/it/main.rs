//! mimic-io's integration tests, one binary (one link, one process, as
//! rust-analyzer keeps them), a module per subject.

mod discover;
mod wfdb;
