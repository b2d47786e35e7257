//! Header (`.hea`) parsing: the record line, one line per signal and the
//! comments, with the WFDB defaults filled in where wfdb-python fills them.

use std::path::Path;

use super::{SampleFormat, WfdbError};

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
    /// [`read_record`](super::read_record) then infers it from the size of the first signal file.
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
}
