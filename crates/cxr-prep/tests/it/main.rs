//! cxr-prep's integration tests, one binary (one link, one process, as
//! rust-analyzer keeps them), a module per subject.

mod golden;
mod pillow;
