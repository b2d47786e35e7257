//! cohort's integration tests, one binary (one link, one process, as
//! rust-analyzer keeps them), a module per subject; `common` builds the small
//! MIMIC-shaped inputs they share.

mod common;
mod golden;
mod plan;
mod rules;
