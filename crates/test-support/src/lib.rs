//! What the workspace's tests share, written once (rust-analyzer's
//! `test-utils` is the model).
//!
//! Every crate's integration tests (and unit tests, where they want it) take
//! this crate as a **dev-dependency only**; no library links it, and the tidy
//! test in `xtask` fails if one does. It knows nothing of MIMIC or of any
//! stage: it holds the helpers several test files used to copy, so that a fix
//! to one (a missing fixture that must fail, NaN compared by bits, a gzip
//! member that is really valid) is made once.
//!
//! - [`fixture`]: paths of the committed fixtures under `testdata/` and their
//!   digest tables. A missing fixture panics with its name: no test skips for
//!   want of data.
//! - [`npy`]: a minimal `.npy` reader (little-endian, C order) for reference
//!   arrays `tensor-store` does not read (f64, i64).
//! - [`assert_bits_eq`]: float slices compared bit for bit (NaN equals NaN).
//! - [`gz`]: gzip in and out of memory, for tables the tests write or edit.
//! - [`table`]: a CSV file as rows of strings, by header or header first.
//! - [`tree`]: directory snapshots (to prove a failed run changed nothing),
//!   every file of a tree with its bytes, copies, leftover temporaries.
//! - [`dirs`]: temp dirs, and [`ProcessDir`], a directory that lives as long
//!   as the test process, for fixtures held in statics.
//! - [`bytes`]: sha256 in hex, little-endian bytes of f32 and i64 values.

pub mod bytes;
pub mod dirs;
pub mod fixture;
pub mod gz;
pub mod npy;
pub mod table;
pub mod tree;

mod bits;

pub use bits::{Bits, assert_bits_eq};
pub use dirs::{ProcessDir, TempDir, tempdir};
