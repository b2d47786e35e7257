//! MIMIC inputs and the formatting primitives of the outputs.
//!
//! This is the only crate that knows MIMIC file names, column names,
//! timestamp formats, the WFDB record format and the folder layouts. The
//! stage crates share nothing but what is here and the files on disk.
//!
//! - [`layout`]: file names, the 50 labs, CheXpert columns, path layouts.
//! - [`discover`]: where the three projects and which releases sit under a download root.
//! - [`table`]: streaming (gzip) CSV readers that find columns by header name.
//! - [`wfdb`]: WFDB header parser and signal reader.
//! - [`time`]: a compact naive timestamp.
//! - [`paths`]: `safe_join` for every path that comes from a table.
//! - [`pandas`]: pandas dtype inference and cell printing.
//! - [`pyfmt`]: Python `repr`/`json.dump` formatting for byte-identical outputs.

pub mod discover;
pub mod layout;
pub mod pandas;
pub mod paths;
pub mod pyfmt;
pub mod table;
pub mod time;
pub mod wfdb;

pub use paths::safe_join;
pub use time::Timestamp;
