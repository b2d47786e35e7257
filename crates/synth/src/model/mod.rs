//! One subject's rows: the structures the writers print, and how background
//! subjects and planted edge cases fill them.
//!
//! - `rows`: the structures (admissions, CXR studies and images, ECGs, labs).
//! - `cases`: the planted edge cases, one enum per modality, and the plan of
//!   which planted subject gets which.
//! - `builder`: one subject's builder and the rows it adds one at a time.
//! - `background`: subjects in rough MIMIC proportions.
//! - `planted`: subjects laid out so that one rule of SPEC stage 1 is
//!   exercised exactly.
mod background;
mod builder;
mod cases;
mod planted;
mod rows;

use mimic_io::Timestamp;
use mimic_io::time::HOUR;

pub(crate) use builder::{Builder, Ctx};
pub(crate) use cases::{Plant, Planted, Role, plan_cases};
pub(crate) use rows::{Admission, EcgKind, FileState, Subject};

const DAY: i64 = 24 * HOUR;

fn ts(y: i64, m: u32, d: u32, h: u32, mi: u32, s: u32) -> Timestamp {
    Timestamp::from_parts(y, m, d, h, mi, s).expect("valid calendar fields")
}

fn add(t: Timestamp, secs: i64) -> Timestamp {
    Timestamp(t.0 + secs)
}

fn midnight(t: Timestamp) -> Timestamp {
    Timestamp(t.0 - t.0.rem_euclid(DAY))
}
