//! Whether the reference pipeline keeps an ECG record.
//!
//! `process_mimic_data.py` drops a record whose physical signal
//! (`wfdb.rdrecord(p).p_signal`) has a NaN or is all zeros. The rule is a
//! property of the WFDB record alone, so it lives with the reader: stage 1
//! uses it to choose each admission's ECG, stage 3 (`ecg-prep`) to report
//! the records it writes.

use std::path::Path;

use super::{Header, RecordReader, WfdbError};

/// Whether the reference keeps a record. It removes it when
/// `np.isnan(p).any() or np.all(p == 0)`; a NaN takes precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Validity {
    /// Kept.
    Valid,
    /// Removed: some sample is NaN (its digital value is the format's invalid value).
    HasNan,
    /// Removed: every physical sample is zero (also true of an empty record, as `np.all([])`).
    AllZero,
}

impl Validity {
    /// Whether the reference keeps the record.
    pub fn is_valid(self) -> bool {
        self == Validity::Valid
    }
}

/// [`Validity`] of a header and its time-major digital samples, decided on
/// the digital values: a physical sample is NaN exactly when its digital
/// value is the format's invalid value, and zero exactly when
/// `f64(d) == f64(baseline)` for a finite gain (a non-zero difference
/// divided by a finite gain never rounds to 0).
pub fn digital_validity(header: &Header, digital: &[i32]) -> Validity {
    let n_sig = header.n_sig;
    if n_sig == 0 || digital.is_empty() {
        return Validity::AllZero;
    }
    if header.signals.iter().any(|s| !s.adc_gain.is_finite()) {
        // Rare: an infinite gain (e.g. written 1e999) makes every finite difference 0.
        return digital_validity_general(header, digital);
    }
    // i64 so that "no invalid value" (format 8) is a value no i32 sample can equal.
    let invalid: Vec<i64> =
        header.signals.iter().map(|s| s.format.invalid_value().map_or(i64::MAX, i64::from)).collect();
    let baseline: Vec<f64> = header.signals.iter().map(|s| s.baseline as f64).collect();
    // Branch-free accumulation so the inner loop vectorises; NaN takes precedence at the end.
    let mut any_invalid = false;
    let mut any_nonzero = false;
    for frame in digital.chunks_exact(n_sig) {
        for ((&d, &inv), &b) in frame.iter().zip(&invalid).zip(&baseline) {
            any_invalid |= i64::from(d) == inv;
            any_nonzero |= d as f64 != b;
        }
    }
    if any_invalid {
        Validity::HasNan
    } else if any_nonzero {
        Validity::Valid
    } else {
        Validity::AllZero
    }
}

/// [`digital_validity`] evaluating `(d − baseline) / gain == 0` literally.
fn digital_validity_general(header: &Header, digital: &[i32]) -> Validity {
    let n_sig = header.n_sig;
    let mut all_zero = true;
    for frame in digital.chunks_exact(n_sig) {
        for (&d, s) in frame.iter().zip(&header.signals) {
            if s.format.invalid_value() == Some(d) {
                return Validity::HasNan;
            }
            all_zero &= (d as f64 - s.baseline as f64) / s.adc_gain == 0.0;
        }
    }
    if all_zero { Validity::AllZero } else { Validity::Valid }
}

/// The [`Validity`] of the record at `<p>.hea` (header and samples are read).
pub fn record_validity(record_path_without_extension: &Path) -> Result<Validity, WfdbError> {
    let mut digital = Vec::new();
    let header = RecordReader::new().read_into(record_path_without_extension, &mut digital)?;
    Ok(digital_validity(&header, &digital))
}
