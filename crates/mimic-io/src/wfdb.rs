//! WFDB records: header (`.hea`) parser and signal-file (`.dat`) decoder.
//!
//! MIMIC-IV-ECG stores every ECG as a WFDB record: a text header naming the
//! signals, their storage format, gain and baseline, and one or more binary
//! signal files. The reference pipeline reads them with `wfdb.rdrecord`
//! (wfdb-python 4.1.2), so this reader follows *that* implementation where it
//! and the WFDB specification disagree, and says so where it matters:
//!
//! - the header is split into comment lines (first non-blank character `#`)
//!   and other non-blank lines; comments are kept with `" \t#"` stripped from
//!   both ends;
//! - a missing baseline defaults to the ADC zero, a gain of 0 means 200, a
//!   missing unit means `mV`;
//! - the physical value is `(f64(d) - f64(baseline)) / adc_gain`, and a sample
//!   equal to the format's "invalid" value becomes NaN (format 8 has none);
//! - a skewed signal is shifted left by its skew, and the last `skew` samples
//!   (which would lie beyond the record) are the invalid value;
//! - format 8 differences start from `init_value`, which (as in wfdb-python)
//!   is 0 when the header omits it.
//!
//! Multi-segment records, several samples per frame and the compressed
//! formats (508/516/524) are rejected with [`WfdbError::Unsupported`]: MIMIC
//! never uses them.

mod decode;
mod header;
mod validity;

use std::path::{Path, PathBuf};

pub use decode::required_bytes;
pub use header::{Header, SignalSpec, parse_header, read_header};
pub use validity::{Validity, digital_validity, record_validity};

/// WFDB storage format of one signal (the number in the header's format field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SampleFormat {
    /// 8-bit first differences.
    F8,
    /// 16-bit two's complement, little-endian.
    F16,
    /// 24-bit two's complement, little-endian.
    F24,
    /// 32-bit two's complement, little-endian.
    F32,
    /// 16-bit two's complement, big-endian.
    F61,
    /// 8-bit offset binary.
    F80,
    /// 16-bit offset binary, little-endian.
    F160,
    /// Two 12-bit samples packed in three bytes.
    F212,
    /// Three 10-bit samples packed in four bytes (low 31 bits of two 16-bit words).
    F310,
    /// Three 10-bit samples packed in four bytes (low 30 bits, little-endian).
    F311,
}

impl SampleFormat {
    /// The format for a header's format number, if this reader knows it.
    pub fn from_code(code: u32) -> Option<SampleFormat> {
        Some(match code {
            8 => SampleFormat::F8,
            16 => SampleFormat::F16,
            24 => SampleFormat::F24,
            32 => SampleFormat::F32,
            61 => SampleFormat::F61,
            80 => SampleFormat::F80,
            160 => SampleFormat::F160,
            212 => SampleFormat::F212,
            310 => SampleFormat::F310,
            311 => SampleFormat::F311,
            _ => return None,
        })
    }

    /// The header's format number.
    pub fn code(self) -> u32 {
        match self {
            SampleFormat::F8 => 8,
            SampleFormat::F16 => 16,
            SampleFormat::F24 => 24,
            SampleFormat::F32 => 32,
            SampleFormat::F61 => 61,
            SampleFormat::F80 => 80,
            SampleFormat::F160 => 160,
            SampleFormat::F212 => 212,
            SampleFormat::F310 => 310,
            SampleFormat::F311 => 311,
        }
    }

    /// The digital value that marks a missing sample (wfdb-python's
    /// `INVALID_SAMPLE_VALUE`); format 8 has none.
    pub fn invalid_value(self) -> Option<i32> {
        match self {
            SampleFormat::F8 => None,
            SampleFormat::F80 => Some(-(1 << 7)),
            SampleFormat::F310 | SampleFormat::F311 => Some(-(1 << 9)),
            SampleFormat::F212 => Some(-(1 << 11)),
            SampleFormat::F16 | SampleFormat::F61 | SampleFormat::F160 => Some(-(1 << 15)),
            SampleFormat::F24 => Some(-(1 << 23)),
            SampleFormat::F32 => Some(i32::MIN),
        }
    }
}

impl std::fmt::Display for SampleFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.code())
    }
}

/// Errors of the WFDB reader. Each names the file and where in it.
#[derive(Debug, thiserror::Error)]
pub enum WfdbError {
    /// A header or signal file could not be read.
    #[error("{path}: cannot read")]
    Io { path: PathBuf, source: std::io::Error },
    /// The header is not UTF-8 text.
    #[error("{path}: header is not UTF-8 text (invalid byte at offset {offset})")]
    HeaderEncoding { path: PathBuf, offset: usize },
    /// A header line does not follow the WFDB syntax.
    #[error("{path}:{line}: {field}: expected {expected}, found {found:?}")]
    HeaderSyntax { path: PathBuf, line: usize, field: &'static str, expected: &'static str, found: String },
    /// The header's signal lines do not match the record line's signal count.
    #[error("{path}:{line}: record line declares {expected} signals, but the header has {found} signal lines")]
    SignalCount { path: PathBuf, line: usize, expected: usize, found: usize },
    /// A signal line names a storage format this reader does not know.
    #[error("{path}:{line}: unknown WFDB storage format {format:?} (known: 8, 16, 24, 32, 61, 80, 160, 212, 310, 311)")]
    UnknownFormat { path: PathBuf, line: usize, format: String },
    /// A valid WFDB feature this reader does not implement (MIMIC never uses it).
    #[error("{path}:{line}: unsupported WFDB feature: {what}")]
    Unsupported { path: PathBuf, line: usize, what: String },
    /// A valid WFDB feature this reader does not implement, found while reading signal data.
    #[error("{path}: signal {signal} ({file}): unsupported WFDB feature: {what}")]
    UnsupportedSignal { path: PathBuf, signal: usize, file: String, what: String },
    /// A signal file named by the header does not exist.
    #[error("{path}: signal file named in {header} does not exist")]
    DatMissing { path: PathBuf, header: PathBuf },
    /// A signal file holds fewer bytes than the header's signal length needs.
    #[error(
        "{path}: signal file too short: header {header} needs {expected} bytes \
         ({samples} samples of format {format} from byte offset {byte_offset}), the file has {actual}"
    )]
    DatTooShort {
        path: PathBuf,
        header: PathBuf,
        format: SampleFormat,
        samples: u64,
        byte_offset: u64,
        expected: u64,
        actual: u64,
    },
}

/// A record: its header and digital samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The header (with `sig_len` inferred from the file size if it was absent).
    pub header: Header,
    /// Digital samples, time-major: sample `t` of signal `s` is at `t * n_sig + s`.
    pub digital: Vec<i32>,
}

/// Reads `<p>.hea`, then the signal files it names (relative to the header's directory).
///
/// For many records, [`RecordReader`] reuses its buffers and is faster.
pub fn read_record(record_path_without_extension: &Path) -> Result<Record, WfdbError> {
    RecordReader::new().read(record_path_without_extension)
}

/// Reads many records while reusing the file and sample buffers, so a loop
/// over 800k MIMIC records does not allocate (and page-fault) ~0.5 MB per record.
#[derive(Debug, Default)]
pub struct RecordReader {
    buffers: decode::Buffers,
    header_text: Vec<u8>,
}

impl RecordReader {
    /// A reader with empty buffers.
    pub fn new() -> RecordReader {
        RecordReader::default()
    }

    /// Reads the record at `<p>.hea` into a new [`Record`].
    pub fn read(&mut self, record_path_without_extension: &Path) -> Result<Record, WfdbError> {
        let mut digital = Vec::new();
        let header = self.read_into(record_path_without_extension, &mut digital)?;
        Ok(Record { header, digital })
    }

    /// Reads the record at `<p>.hea`, storing its digital samples (time-major)
    /// in `digital` (cleared and resized; its allocation is reused), and
    /// returns its header.
    pub fn read_into(
        &mut self,
        record_path_without_extension: &Path,
        digital: &mut Vec<i32>,
    ) -> Result<Header, WfdbError> {
        let mut hea = record_path_without_extension.as_os_str().to_owned();
        hea.push(".hea");
        let hea = PathBuf::from(hea);
        self.header_text.clear();
        {
            use std::io::Read;
            let io = |source| WfdbError::Io { path: hea.clone(), source };
            std::fs::File::open(&hea).map_err(io)?.read_to_end(&mut self.header_text).map_err(io)?;
        }
        let text = std::str::from_utf8(&self.header_text)
            .map_err(|e| WfdbError::HeaderEncoding { path: hea.clone(), offset: e.valid_up_to() })?;
        let mut header = parse_header(text, &hea)?;
        let dir = record_path_without_extension.parent().unwrap_or(Path::new(""));
        decode::read_signals(&mut header, &hea, dir, &mut self.buffers, digital)?;
        Ok(header)
    }
}

impl Record {
    /// Physical signal, time-major like [`Record::digital`]:
    /// `(f64(d) - f64(baseline)) / adc_gain`, NaN where `d` is the format's invalid value.
    ///
    /// Same operations in the same order as wfdb-python's `dac` (subtract in f64, then
    /// divide), so the values are bit-identical to `rdrecord(...).p_signal`.
    pub fn physical(&self) -> Vec<f64> {
        let mut out = vec![0.0; self.digital.len()];
        self.physical_into(&mut out);
        out
    }

    /// [`Record::physical`] into a caller's buffer of `digital.len()` values.
    ///
    /// # Panics
    /// If `out.len() != self.digital.len()`.
    pub fn physical_into(&self, out: &mut [f64]) {
        physical_from_digital(&self.header, &self.digital, out);
    }

    /// Whether digital value `d` of signal `signal` is its format's invalid value
    /// (physical NaN). Always false for format 8.
    ///
    /// # Panics
    /// If `signal >= n_sig`.
    pub fn is_invalid(&self, signal: usize, d: i32) -> bool {
        self.header.signals[signal].format.invalid_value() == Some(d)
    }
}

/// `(f64(d) - f64(baseline)) / adc_gain` per sample, NaN for the invalid value;
/// `digital` and `out` are time-major with `header.n_sig` signals.
///
/// Written branch-free over per-signal parameter rows so the compiler can
/// vectorise it; the arithmetic (one subtraction, one division, both in f64)
/// is exactly wfdb-python's `dac`.
///
/// # Panics
/// If `out.len() != digital.len()`.
pub fn physical_from_digital(header: &Header, digital: &[i32], out: &mut [f64]) {
    assert_eq!(out.len(), digital.len(), "physical_from_digital: output length must equal the sample count");
    let n_sig = header.n_sig;
    if n_sig == 0 {
        return;
    }
    let baseline: Vec<f64> = header.signals.iter().map(|s| s.baseline as f64).collect();
    let gain: Vec<f64> = header.signals.iter().map(|s| s.adc_gain).collect();
    // i64 so that "no invalid value" (format 8) is a value no i32 sample can equal.
    let invalid: Vec<i64> =
        header.signals.iter().map(|s| s.format.invalid_value().map_or(i64::MAX, i64::from)).collect();
    for (frame_out, frame_in) in out.chunks_exact_mut(n_sig).zip(digital.chunks_exact(n_sig)) {
        for ((((o, &d), &b), &g), &inv) in frame_out.iter_mut().zip(frame_in).zip(&baseline).zip(&gain).zip(&invalid) {
            let v = (d as f64 - b) / g;
            *o = if i64::from(d) == inv { f64::NAN } else { v };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_values() {
        assert_eq!(SampleFormat::F16.invalid_value(), Some(-32768));
        assert_eq!(SampleFormat::F212.invalid_value(), Some(-2048));
        assert_eq!(SampleFormat::F80.invalid_value(), Some(-128));
        assert_eq!(SampleFormat::F24.invalid_value(), Some(-8388608));
        assert_eq!(SampleFormat::F32.invalid_value(), Some(i32::MIN));
        assert_eq!(SampleFormat::F310.invalid_value(), Some(-512));
        assert_eq!(SampleFormat::F8.invalid_value(), None);
        for code in [8, 16, 24, 32, 61, 80, 160, 212, 310, 311] {
            assert_eq!(SampleFormat::from_code(code).unwrap().code(), code);
        }
        assert_eq!(SampleFormat::from_code(0), None);
    }
}
