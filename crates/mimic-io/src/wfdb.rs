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
mod validity;

use std::path::{Path, PathBuf};

pub use decode::required_bytes;
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

/// One signal line of a header, with the WFDB defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalSpec {
    /// Signal file name, relative to the header's directory.
    pub file_name: String,
    /// Storage format.
    pub format: SampleFormat,
    /// Samples per frame (`x<n>` suffix of the format field; default 1).
    pub samples_per_frame: u32,
    /// Skew in frames (`:<n>` suffix; default 0).
    pub skew: u32,
    /// Byte offset of the first sample in the file (`+<n>` suffix; default 0).
    pub byte_offset: u64,
    /// ADC units per physical unit (default 200; a written 0 also means 200).
    pub adc_gain: f64,
    /// Digital value of physical zero (default: the ADC zero).
    pub baseline: i64,
    /// Physical units (default `mV`).
    pub units: String,
    /// ADC resolution in bits (default 0 = unknown).
    pub adc_res: u32,
    /// ADC zero (default 0).
    pub adc_zero: i64,
    /// Value of the first sample, used by format 8 (default 0, as wfdb-python reads it).
    pub init_value: i64,
    /// 16-bit checksum of the samples (default 0; not verified).
    pub checksum: i64,
    /// Block size (default 0).
    pub block_size: u32,
    /// Signal description (lead name); may contain spaces; default empty.
    pub description: String,
}

/// A parsed single-segment header.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// Record name from the record line.
    pub record_name: String,
    /// Number of signals.
    pub n_sig: usize,
    /// Sampling frequency in Hz (default 250).
    pub fs: f64,
    /// Samples per signal. 0 when the header omits it (see `sig_len_given`);
    /// [`read_record`] then infers it from the size of the first signal file.
    pub sig_len: usize,
    /// Whether the record line states the signal length.
    pub sig_len_given: bool,
    /// Base time as written, if present.
    pub base_time: Option<String>,
    /// Base date as written, if present.
    pub base_date: Option<String>,
    /// One entry per signal, in header order.
    pub signals: Vec<SignalSpec>,
    /// Comment lines with `" \t#"` stripped from both ends.
    pub comments: Vec<String>,
}

/// Errors of the WFDB reader. Each names the file and where in it.
#[derive(Debug, thiserror::Error)]
pub enum WfdbError {
    /// A header or signal file could not be read.
    #[error("{path}: cannot read: {source}")]
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

/// Parses the text of a `.hea` file; `origin` (the `.hea` path) only names errors.
pub fn parse_header(text: &str, origin: &Path) -> Result<Header, WfdbError> {
    let mut comments = Vec::new();
    // (1-based line number, trimmed text) of every non-comment, non-blank line.
    let mut lines: Vec<(usize, &str)> = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.trim();
        if line.starts_with('#') {
            comments.push(line.trim_matches([' ', '\t', '#']).to_string());
        } else if !line.is_empty() {
            lines.push((i + 1, line));
        }
    }
    let Some(&(rec_no, rec_line)) = lines.first() else {
        return Err(syntax(origin, text.split('\n').count().max(1), "record line", "a record line", ""));
    };
    let record = parse_record_line(rec_no, rec_line, origin)?;

    let signal_lines = &lines[1..];
    if signal_lines.len() != record.n_sig {
        // Name the first surplus line, or the last line when lines are missing.
        let line = signal_lines.get(record.n_sig).map_or_else(|| lines.last().map_or(rec_no, |l| l.0), |l| l.0);
        return Err(WfdbError::SignalCount {
            path: origin.to_path_buf(),
            line,
            expected: record.n_sig,
            found: signal_lines.len(),
        });
    }
    let mut signals = Vec::with_capacity(record.n_sig);
    for &(no, line) in signal_lines {
        signals.push(parse_signal_line(no, line, origin)?);
    }
    Ok(Header {
        record_name: record.name,
        n_sig: record.n_sig,
        fs: record.fs,
        sig_len: record.sig_len.unwrap_or(0),
        sig_len_given: record.sig_len.is_some(),
        base_time: record.base_time,
        base_date: record.base_date,
        signals,
        comments,
    })
}

/// Fields of the record line.
struct RecordLine {
    name: String,
    n_sig: usize,
    fs: f64,
    sig_len: Option<usize>,
    base_time: Option<String>,
    base_date: Option<String>,
}

/// `name[/nseg] nsig [fs[/counterfreq][(basecount)] [siglen [basetime [basedate]]]]`
fn parse_record_line(no: usize, line: &str, origin: &Path) -> Result<RecordLine, WfdbError> {
    let mut tokens = line.split_ascii_whitespace();
    let name_tok = tokens.next().unwrap_or("");
    let (name, n_seg) = match name_tok.split_once('/') {
        Some((name, seg)) => (name, seg),
        None => (name_tok, ""),
    };
    if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-') {
        return Err(syntax(origin, no, "record name", "letters, digits, '_' or '-'", name_tok));
    }
    if !n_seg.is_empty() {
        if !n_seg.bytes().all(|b| b.is_ascii_digit()) {
            return Err(syntax(origin, no, "number of segments", "an unsigned integer", n_seg));
        }
        return Err(WfdbError::Unsupported {
            path: origin.to_path_buf(),
            line: no,
            what: format!("multi-segment record ({n_seg} segments)"),
        });
    }
    let n_sig_tok = tokens.next().unwrap_or("");
    let n_sig = parse_unsigned(n_sig_tok)
        .ok_or_else(|| syntax(origin, no, "number of signals", "an unsigned integer", n_sig_tok))?;
    let fs = match tokens.next() {
        None => 250.0,
        Some(tok) => {
            // fs[/counterfreq][(basecount)]: only fs is used.
            let end = tok.find(['/', '(']).unwrap_or(tok.len());
            let fs_text = &tok[..end];
            if fs_text.is_empty() {
                250.0
            } else {
                parse_decimal(fs_text)
                    .ok_or_else(|| syntax(origin, no, "sampling frequency", "a decimal number", tok))?
            }
        }
    };
    let sig_len = match tokens.next() {
        None => None,
        Some(tok) => {
            Some(parse_unsigned(tok).ok_or_else(|| syntax(origin, no, "signal length", "an unsigned integer", tok))?)
        }
    };
    let base_time = tokens.next().map(str::to_string);
    let base_date = tokens.next().map(str::to_string);
    Ok(RecordLine { name: name.to_string(), n_sig, fs, sig_len, base_time, base_date })
}

/// `file fmt[xspf][:skew][+offset] [gain[(baseline)][/units] [res [zero [init [checksum [blocksize [description]]]]]]]`
fn parse_signal_line(no: usize, line: &str, origin: &Path) -> Result<SignalSpec, WfdbError> {
    // The first eight fields are whitespace-separated; the rest of the line is the description.
    let mut fields: [Option<&str>; 8] = [None; 8];
    let mut rest = line;
    for slot in fields.iter_mut() {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        *slot = Some(&rest[..end]);
        rest = &rest[end..];
    }
    let description = rest.trim().to_string();

    let file_name = fields[0].unwrap_or("");
    if file_name == "~" {
        return Err(WfdbError::Unsupported {
            path: origin.to_path_buf(),
            line: no,
            what: "signal without a file ('~')".to_string(),
        });
    }
    if file_name.is_empty()
        || file_name == "."
        || file_name == ".."
        || !file_name.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err(syntax(origin, no, "file name", "a plain file name (letters, digits, '_', '-', '.')", file_name));
    }

    // Format field: fmt[xspf][:skew][+offset], suffixes in this order.
    let fmt_tok = fields[1].ok_or_else(|| syntax(origin, no, "format", "a storage format", ""))?;
    let code_end = fmt_tok.find(['x', ':', '+']).unwrap_or(fmt_tok.len());
    let code_text = &fmt_tok[..code_end];
    let code =
        parse_unsigned(code_text).ok_or_else(|| syntax(origin, no, "format", "a storage format number", fmt_tok))?;
    let format = match u32::try_from(code).ok().and_then(SampleFormat::from_code) {
        Some(f) => f,
        None if matches!(code, 508 | 516 | 524) => {
            return Err(WfdbError::Unsupported {
                path: origin.to_path_buf(),
                line: no,
                what: format!("compressed storage format {code}"),
            });
        }
        None => {
            return Err(WfdbError::UnknownFormat {
                path: origin.to_path_buf(),
                line: no,
                format: code_text.to_string(),
            });
        }
    };
    let mut suffix = &fmt_tok[code_end..];
    let mut take = |prefix: char, stop: &[char], field: &'static str| -> Result<Option<u64>, WfdbError> {
        let Some(after) = suffix.strip_prefix(prefix) else { return Ok(None) };
        let end = after.find(stop).unwrap_or(after.len());
        let value = parse_unsigned(&after[..end])
            .map(|v| v as u64)
            .ok_or_else(|| syntax(origin, no, field, "an unsigned integer", fmt_tok))?;
        suffix = &after[end..];
        Ok(Some(value))
    };
    let spf = take('x', &[':', '+'], "samples per frame")?.unwrap_or(1);
    let skew = take(':', &['+'], "skew")?.unwrap_or(0);
    let byte_offset = take('+', &[], "byte offset")?.unwrap_or(0);
    if !suffix.is_empty() {
        return Err(syntax(origin, no, "format", "fmt[x<samples per frame>][:<skew>][+<byte offset>]", fmt_tok));
    }
    let spf = u32::try_from(spf).map_err(|_| syntax(origin, no, "samples per frame", "a 32-bit count", fmt_tok))?;
    let skew = u32::try_from(skew).map_err(|_| syntax(origin, no, "skew", "a 32-bit count", fmt_tok))?;

    // Gain field: gain[(baseline)][/units].
    let mut adc_gain = 200.0;
    let mut baseline = None;
    let mut units = "mV".to_string();
    if let Some(tok) = fields[2] {
        let gain_end = tok.find(['(', '/']).unwrap_or(tok.len());
        let gain_text = &tok[..gain_end];
        if !gain_text.is_empty() {
            adc_gain =
                parse_decimal(gain_text).ok_or_else(|| syntax(origin, no, "ADC gain", "a decimal number", tok))?;
            if adc_gain == 0.0 {
                adc_gain = 200.0;
            }
        }
        let mut rest = &tok[gain_end..];
        if let Some(after) = rest.strip_prefix('(') {
            let close = after.find(')').ok_or_else(|| syntax(origin, no, "baseline", "'(' integer ')'", tok))?;
            let value = after[..close]
                .parse::<i64>()
                .map_err(|_| syntax(origin, no, "baseline", "an integer in parentheses", tok))?;
            baseline = Some(value);
            rest = &after[close + 1..];
        }
        if let Some(after) = rest.strip_prefix('/') {
            if !after.is_empty() {
                units = after.to_string();
            }
            rest = "";
        }
        if !rest.is_empty() {
            return Err(syntax(origin, no, "ADC gain", "gain[(baseline)][/units]", tok));
        }
    }
    let unsigned_u32 = |i: usize, field: &'static str| -> Result<Option<u32>, WfdbError> {
        fields[i]
            .map(|t| {
                parse_unsigned(t)
                    .and_then(|v| u32::try_from(v).ok())
                    .ok_or_else(|| syntax(origin, no, field, "an unsigned integer", t))
            })
            .transpose()
    };
    let signed = |i: usize, field: &'static str| -> Result<Option<i64>, WfdbError> {
        fields[i].map(|t| t.parse::<i64>().map_err(|_| syntax(origin, no, field, "an integer", t))).transpose()
    };
    let adc_res = unsigned_u32(3, "ADC resolution")?.unwrap_or(0);
    let adc_zero = signed(4, "ADC zero")?;
    let init_value = signed(5, "initial value")?.unwrap_or(0);
    let checksum = signed(6, "checksum")?.unwrap_or(0);
    let block_size = unsigned_u32(7, "block size")?.unwrap_or(0);
    let adc_zero_v = adc_zero.unwrap_or(0);

    Ok(SignalSpec {
        file_name: file_name.to_string(),
        format,
        samples_per_frame: spf,
        skew,
        byte_offset,
        adc_gain,
        baseline: baseline.unwrap_or(adc_zero_v),
        units,
        adc_res,
        adc_zero: adc_zero_v,
        init_value,
        checksum,
        block_size,
        description,
    })
}

/// The [`WfdbError::HeaderSyntax`] of `field` on line `line` of `origin`:
/// `expected` is what the WFDB grammar allows there, `found` what the line holds.
fn syntax(origin: &Path, line: usize, field: &'static str, expected: &'static str, found: &str) -> WfdbError {
    WfdbError::HeaderSyntax { path: origin.to_path_buf(), line, field, expected, found: found.to_string() }
}

/// Digits only (no sign), as the WFDB header grammar requires for counts.
fn parse_unsigned(s: &str) -> Option<usize> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A decimal number as the header grammar allows (`-?digits[.digits][e[+-]digits]`),
/// parsed with correct rounding like Python's `float()`. Rejects `inf`/`nan`,
/// which the grammar does not allow.
fn parse_decimal(s: &str) -> Option<f64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E')) {
        return None;
    }
    s.parse().ok()
}

/// Reads and parses a `.hea` file.
pub fn read_header(hea_path: &Path) -> Result<Header, WfdbError> {
    let bytes = std::fs::read(hea_path).map_err(|source| WfdbError::Io { path: hea_path.to_path_buf(), source })?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|e| WfdbError::HeaderEncoding { path: hea_path.to_path_buf(), offset: e.valid_up_to() })?;
    parse_header(text, hea_path)
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

    fn p() -> &'static Path {
        Path::new("x.hea")
    }

    #[test]
    fn record_line_full_and_minimal() {
        let h = parse_header("rec 0 500/1000(3) 5000 00:10:59 18/04/2119\n", p()).unwrap();
        assert_eq!(h.record_name, "rec");
        assert_eq!(h.n_sig, 0);
        assert_eq!(h.fs, 500.0);
        assert_eq!(h.sig_len, 5000);
        assert!(h.sig_len_given);
        assert_eq!(h.base_time.as_deref(), Some("00:10:59"));
        assert_eq!(h.base_date.as_deref(), Some("18/04/2119"));
        let h = parse_header("rec 0\n", p()).unwrap();
        assert_eq!(h.fs, 250.0);
        assert_eq!(h.sig_len, 0);
        assert!(!h.sig_len_given);
        assert_eq!(h.base_time, None);
    }

    #[test]
    fn signal_line_defaults() {
        let h = parse_header("r 3 360\na.dat 212\nb.dat 16x1:2+24 0\nc.dat 16 100 12 7\n", p()).unwrap();
        let s = &h.signals[0];
        assert_eq!(s.format, SampleFormat::F212);
        assert_eq!((s.adc_gain, s.baseline, s.units.as_str(), s.adc_zero), (200.0, 0, "mV", 0));
        assert_eq!((s.samples_per_frame, s.skew, s.byte_offset), (1, 0, 0));
        let s = &h.signals[1];
        assert_eq!((s.samples_per_frame, s.skew, s.byte_offset), (1, 2, 24));
        assert_eq!(s.adc_gain, 200.0, "gain 0 means 200");
        let s = &h.signals[2];
        assert_eq!((s.adc_gain, s.adc_res, s.adc_zero, s.baseline), (100.0, 12, 7, 7), "baseline defaults to adc_zero");
        assert_eq!(s.description, "");
    }

    #[test]
    fn signal_line_full_with_spaces_in_description_and_comments() {
        let text = "# top\nr 1 200 499\n\nd0 8 62239.465(-23190)/uV 12 0 -2047 -31143 0 sig 0, fmt 8\n  # tail # \n";
        let h = parse_header(text, p()).unwrap();
        let s = &h.signals[0];
        assert_eq!(s.adc_gain, 62239.465);
        assert_eq!(s.baseline, -23190);
        assert_eq!(s.units, "uV");
        assert_eq!((s.adc_res, s.adc_zero, s.init_value, s.checksum, s.block_size), (12, 0, -2047, -31143, 0));
        assert_eq!(s.description, "sig 0, fmt 8");
        assert_eq!(h.comments, vec!["top".to_string(), "tail".to_string()]);
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse_header("r 2 500 10\na.dat 16\n", p()).unwrap_err();
        assert!(matches!(e, WfdbError::SignalCount { line: 2, expected: 2, found: 1, .. }), "{e}");
        let e = parse_header("r 1 500 10\na.dat 16\n# c\nb.dat 16\n", p()).unwrap_err();
        assert!(matches!(e, WfdbError::SignalCount { line: 4, expected: 1, found: 2, .. }), "{e}");
        let e = parse_header("r 1 500 10\na.dat 17 200\n", p()).unwrap_err();
        assert!(matches!(&e, WfdbError::UnknownFormat { line: 2, format, .. } if format == "17"), "{e}");
        assert!(e.to_string().starts_with("x.hea:2: unknown WFDB storage format"), "{e}");
        let e = parse_header("r 1 500 10\na.dat 16 abc\n", p()).unwrap_err();
        assert!(matches!(e, WfdbError::HeaderSyntax { line: 2, field: "ADC gain", .. }), "{e}");
        let e = parse_header("r 1 500 10\na.dat 16 inf\n", p()).unwrap_err();
        assert!(matches!(e, WfdbError::HeaderSyntax { line: 2, field: "ADC gain", .. }), "{e}");
        let e = parse_header("r/2 2 500 10\n", p()).unwrap_err();
        assert!(matches!(e, WfdbError::Unsupported { line: 1, .. }), "{e}");
        let e = parse_header("r 1 500 10\n../a.dat 16\n", p()).unwrap_err();
        assert!(matches!(e, WfdbError::HeaderSyntax { line: 2, field: "file name", .. }), "{e}");
        let e = parse_header("r 1 500 10\na.dat 516\n", p()).unwrap_err();
        assert!(matches!(e, WfdbError::Unsupported { line: 2, .. }), "{e}");
        let e = parse_header("# only\n\n", p()).unwrap_err();
        assert!(matches!(e, WfdbError::HeaderSyntax { field: "record line", .. }), "{e}");
        let e = parse_header("r x 500\n", p()).unwrap_err();
        assert!(matches!(e, WfdbError::HeaderSyntax { line: 1, field: "number of signals", .. }), "{e}");
    }

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
