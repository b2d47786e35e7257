//! No code. This crate exists for its manifest: it makes the main job's
//! build (`cargo xtask build-dataset`, `cargo run -p symile-mimic`) resolve
//! the dependency features that `cargo test --workspace` resolves, so that
//! the tests reuse every library the main job compiled instead of building
//! the workspace a second time. See `Cargo.toml` for the one difference it
//! covers; the tidy checks in `xtask` compare the two resolutions.
