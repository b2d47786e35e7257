//! ECG preprocessing: WFDB record → physical signal → validity → [-1, 1].
//!
//! Reproduces the two places the reference pipeline touches ECGs:
//!
//! - `process_mimic_data.py` removes a record when its physical signal
//!   (`wfdb.rdrecord(p).p_signal`) has any NaN or is all zeros
//!   ([`check_validity`], [`Ecg::validity`]);
//! - `process_and_save_tensors.py` (`get_ecg`) maps the physical signal to
//!   `2·(s − min)/(max − min) − 1` in f64 with min/max over the whole record,
//!   then casts to f32 ([`Ecg::normalize_into`]).
//!
//! The physical signal comes from [`mimic_io::wfdb`], which reproduces
//! wfdb-python's `p_signal` bit for bit. Arrays are time-major
//! (`samples × leads`), the layout of `p_signal` and of the `(1, samples,
//! leads)` tensor.
//!
//! The free functions read one record each; loops over many records should
//! use one [`EcgReader`] per thread, which reuses its buffers (about 2–3×
//! faster per MIMIC record).

use std::path::{Path, PathBuf};

use mimic_io::wfdb::{Header, Record, RecordReader, WfdbError, physical_from_digital};
pub use mimic_io::wfdb::{Validity, digital_validity};

/// A physical ECG signal.
#[derive(Debug, Clone, PartialEq)]
pub struct Ecg {
    /// Samples per lead.
    pub samples: usize,
    /// Number of leads (signals), in header order.
    pub leads: usize,
    /// `(d − baseline) / gain` in f64, NaN for invalid samples; time-major
    /// (`physical[t * leads + lead]`).
    pub physical: Vec<f64>,
}

/// What one normalisation saw.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NormStats {
    /// Minimum of the record (NaN if it has a NaN or is empty).
    pub min: f64,
    /// Maximum of the record (NaN if it has a NaN or is empty).
    pub max: f64,
    /// `max == min`: the reference then computes 0/0 and the output is all NaN.
    pub flat: bool,
    /// The record has a NaN: min/max propagate it (as torch's) and the output is all NaN.
    pub has_nan: bool,
}

impl NormStats {
    /// Whether the output holds NaN (a flat record or one with a NaN sample).
    pub fn output_is_nan(&self) -> bool {
        self.flat || self.has_nan
    }
}

/// Errors of ECG preprocessing; each names the record.
#[derive(Debug, thiserror::Error)]
pub enum EcgError {
    /// The WFDB record could not be read.
    #[error("ECG record {record}")]
    Wfdb { record: PathBuf, source: WfdbError },
    /// The record does not have the shape the caller needs.
    #[error(
        "ECG record {record}: expected {expected_samples} samples × {expected_leads} leads, found {samples} × {leads}"
    )]
    UnexpectedShape { record: PathBuf, expected_samples: usize, expected_leads: usize, samples: usize, leads: usize },
}

/// Loads the physical signal of the record at `<path>.hea` / its signal files.
pub fn load(record_path_without_extension: &Path) -> Result<Ecg, EcgError> {
    EcgReader::new().load(record_path_without_extension)
}

/// Decides whether the reference keeps a record, from its digital samples.
///
/// Equal to [`Ecg::validity`] of the loaded signal, without building it: a
/// physical sample is NaN exactly when its digital value is the format's
/// invalid value, and zero exactly when `(d − baseline) / gain == 0`, i.e.
/// `f64(d) == f64(baseline)` for a finite gain (a non-zero difference divided
/// by a finite gain never rounds to 0).
pub fn check_validity(record_path_without_extension: &Path) -> Result<Validity, EcgError> {
    EcgReader::new().check_validity(record_path_without_extension)
}

/// Loads a record, checks it is `samples × leads`, and writes its normalised
/// signal into `out` (`samples * leads` values, time-major).
pub fn load_normalized_into(
    record_path_without_extension: &Path,
    samples: usize,
    leads: usize,
    out: &mut [f32],
) -> Result<NormStats, EcgError> {
    EcgReader::new().load_normalized_into(record_path_without_extension, samples, leads, out)
}

/// [`check_validity`] of a record already read.
pub fn validity_of_record(record: &Record) -> Validity {
    digital_validity(&record.header, &record.digital)
}

/// Reads many records reusing its file, sample and signal buffers (the free
/// functions build a fresh one per call). One per thread.
#[derive(Debug, Default)]
pub struct EcgReader {
    reader: RecordReader,
    digital: Vec<i32>,
    physical: Vec<f64>,
}

impl EcgReader {
    /// A reader with empty buffers.
    pub fn new() -> EcgReader {
        EcgReader::default()
    }

    fn read(&mut self, record: &Path) -> Result<Header, EcgError> {
        self.reader
            .read_into(record, &mut self.digital)
            .map_err(|source| EcgError::Wfdb { record: record.to_path_buf(), source })
    }

    /// See [`check_validity`].
    pub fn check_validity(&mut self, record_path_without_extension: &Path) -> Result<Validity, EcgError> {
        let header = self.read(record_path_without_extension)?;
        Ok(digital_validity(&header, &self.digital))
    }

    /// See [`load`].
    pub fn load(&mut self, record_path_without_extension: &Path) -> Result<Ecg, EcgError> {
        let header = self.read(record_path_without_extension)?;
        let mut physical = vec![0.0; self.digital.len()];
        physical_from_digital(&header, &self.digital, &mut physical);
        Ok(Ecg { samples: header.sig_len, leads: header.n_sig, physical })
    }

    /// See [`load_normalized_into`].
    pub fn load_normalized_into(
        &mut self,
        record_path_without_extension: &Path,
        samples: usize,
        leads: usize,
        out: &mut [f32],
    ) -> Result<NormStats, EcgError> {
        let header = self.read(record_path_without_extension)?;
        if header.sig_len != samples || header.n_sig != leads {
            return Err(EcgError::UnexpectedShape {
                record: record_path_without_extension.to_path_buf(),
                expected_samples: samples,
                expected_leads: leads,
                samples: header.sig_len,
                leads: header.n_sig,
            });
        }
        self.physical.clear();
        self.physical.resize(self.digital.len(), 0.0);
        physical_from_digital(&header, &self.digital, &mut self.physical);
        Ok(normalize_slice(&self.physical, out))
    }
}

/// min/max over `physical` (NaN-propagating, like torch) and the flags.
pub fn norm_stats(physical: &[f64]) -> NormStats {
    if physical.is_empty() {
        return NormStats { min: f64::NAN, max: f64::NAN, flat: false, has_nan: false };
    }
    // A separate NaN pass keeps both loops branch-free (vectorisable).
    if physical.iter().fold(false, |acc, v| acc | v.is_nan()) {
        return NormStats { min: f64::NAN, max: f64::NAN, flat: false, has_nan: true };
    }
    let mut min = f64::INFINITY;
    let mut max = f64::NEG_INFINITY;
    for &v in physical {
        min = if v < min { v } else { min };
        max = if v > max { v } else { max };
    }
    NormStats { min, max, flat: max == min, has_nan: false }
}

/// [`Ecg::normalize_into`] over a time-major physical slice.
///
/// # Panics
/// If `out.len() != physical.len()`.
pub fn normalize_slice(physical: &[f64], out: &mut [f32]) -> NormStats {
    assert_eq!(out.len(), physical.len(), "normalize: output must hold samples × leads values");
    let stats = norm_stats(physical);
    let (min, range) = (stats.min, stats.max - stats.min);
    for (o, &s) in out.iter_mut().zip(physical) {
        let t = s - min;
        let t = 2.0 * t;
        let t = t / range;
        let t = t - 1.0;
        *o = t as f32;
    }
    stats
}

impl Ecg {
    /// The reference's removal predicate on the physical signal.
    pub fn validity(&self) -> Validity {
        if self.physical.iter().any(|v| v.is_nan()) {
            Validity::HasNan
        } else if self.physical.iter().all(|&v| v == 0.0) {
            Validity::AllZero
        } else {
            Validity::Valid
        }
    }

    /// Errors unless the signal is `samples × leads` (`record` names the error).
    pub fn check_shape(&self, record: &Path, samples: usize, leads: usize) -> Result<(), EcgError> {
        if self.samples == samples && self.leads == leads {
            Ok(())
        } else {
            Err(EcgError::UnexpectedShape {
                record: record.to_path_buf(),
                expected_samples: samples,
                expected_leads: leads,
                samples: self.samples,
                leads: self.leads,
            })
        }
    }

    /// Writes `2·(s − min)/(max − min) − 1` (f64, cast to f32) into `out`,
    /// time-major, the reference's `(1, samples, leads)` tensor without the
    /// leading axis.
    ///
    /// Evaluated as the reference does, one rounding per step: `t = s − min`,
    /// `t = 2·t`, `t = t / (max − min)`, `t = t − 1`, then `t as f32`
    /// (round to nearest even). min/max propagate NaN like torch's; a flat
    /// record gives 0/0 = NaN everywhere, as in the reference.
    ///
    /// # Panics
    /// If `out.len() != samples * leads`.
    pub fn normalize_into(&self, out: &mut [f32]) -> NormStats {
        normalize_slice(&self.physical, out)
    }

    /// Min, max and the flags [`Ecg::normalize_into`] reports, without writing.
    pub fn stats(&self) -> NormStats {
        norm_stats(&self.physical)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ecg(physical: Vec<f64>) -> Ecg {
        Ecg { samples: physical.len(), leads: 1, physical }
    }

    #[test]
    fn normalise_maps_to_minus_one_one() {
        let e = ecg(vec![-1.0, 0.0, 3.0]);
        let mut out = [0f32; 3];
        let st = e.normalize_into(&mut out);
        assert_eq!(out, [-1.0, -0.5, 1.0]);
        assert_eq!((st.min, st.max, st.flat, st.has_nan), (-1.0, 3.0, false, false));
    }

    #[test]
    fn normalise_is_f64_then_one_f32_rounding() {
        // Expected bits from numpy: `(2*(s-s.min())/(s.max()-s.min())-1).astype(np.float32)`.
        // Doing the arithmetic in f32 instead gives 0xbe4f6744, 0xbf119f99, 0x3f800002, 0x3e92efdc.
        let e = ecg(vec![-0.17082657703786716, 0.7, 0.3, 2.013180658172677, 1.234567]);
        let mut out = [0f32; 5];
        e.normalize_into(&mut out);
        let bits: Vec<u32> = out.iter().map(|v| v.to_bits()).collect();
        assert_eq!(bits, [0xbf800000, 0xbe4f6747, 0xbf119f9a, 0x3f800000, 0x3e92efdb]);
    }

    #[test]
    fn flat_and_nan_records_give_nan() {
        let mut out = [0f32; 2];
        let st = ecg(vec![0.5, 0.5]).normalize_into(&mut out);
        assert!(st.flat && !st.has_nan && st.output_is_nan());
        assert!(out.iter().all(|v| v.is_nan()));
        let st = ecg(vec![f64::NAN, 0.5]).normalize_into(&mut out);
        assert!(st.has_nan && st.min.is_nan() && st.max.is_nan());
        assert!(out.iter().all(|v| v.is_nan()));
    }

    #[test]
    fn validity_predicate() {
        assert_eq!(ecg(vec![0.0, -0.0]).validity(), Validity::AllZero);
        assert_eq!(ecg(vec![]).validity(), Validity::AllZero);
        assert_eq!(ecg(vec![0.0, f64::NAN]).validity(), Validity::HasNan);
        assert_eq!(ecg(vec![0.0, 1e-300]).validity(), Validity::Valid);
        assert!(!Validity::HasNan.is_valid());
    }
}
