//! MIMIC inputs: the names, formats and layouts of the three releases.
//!
//! This is the only crate that knows MIMIC file names, column names,
//! timestamp formats, the WFDB record format and the folder layouts: the
//! stage crates read their inputs through it. How pandas reads and prints a
//! value is `pyfmt`'s; the table readers here use it to tell a missing field
//! from a number exactly as the reference does.
//!
//! - [`layout`]: file names, the 50 labs, CheXpert columns, path layouts.
//! - [`discover`]: where the three projects and which releases sit under a download root.
//! - [`table`]: streaming (gzip) CSV readers that find columns by header name.
//! - [`wfdb`]: WFDB header parser and signal reader.
//! - [`time`]: a compact naive timestamp.
//! - [`paths`]: `safe_join` for every path that comes from a table.

pub mod discover;
pub mod layout;
pub mod paths;
pub mod table;
pub mod time;
pub mod wfdb;

pub use paths::safe_join;
pub use time::Timestamp;
