//! Signal-file decoding: byte layouts of the WFDB storage formats.
//!
//! Each signal file is read with one `read` and decoded in a tight loop into
//! the record's time-major sample buffer. When one file holds every signal in
//! header order without skew (every MIMIC-IV-ECG record), the samples are
//! decoded straight into the output; otherwise a file is decoded into a
//! scratch buffer and its columns scattered (and skewed) into place.
//!
//! Layouts and the handling of partial blocks follow wfdb-python 4.1.2
//! (`_rd_dat_signals`, `_blocks_to_samples`, `_required_byte_num`), the
//! reader the reference pipeline used.

use std::path::Path;

use super::{Header, SampleFormat, WfdbError};

/// Bytes wfdb-python reads for `n` samples of `format` (including the partial
/// trailing block of the packed formats). A file must hold at least this many
/// bytes after its byte offset.
pub fn required_bytes(format: SampleFormat, n: u64) -> u64 {
    match format {
        // Saturating: a header may state any length, and the answer is only
        // ever compared with a real file size.
        SampleFormat::F8 | SampleFormat::F80 => n,
        SampleFormat::F16 | SampleFormat::F61 | SampleFormat::F160 => n.saturating_mul(2),
        SampleFormat::F24 => n.saturating_mul(3),
        SampleFormat::F32 => n.saturating_mul(4),
        SampleFormat::F212 => n.saturating_mul(3).div_ceil(2),
        // wfdb-python rounds a trailing pair of 310 samples up to a whole 4-byte block.
        SampleFormat::F310 if n % 3 == 2 => (n / 3).saturating_mul(4).saturating_add(4),
        SampleFormat::F310 | SampleFormat::F311 => n.saturating_mul(4).div_ceil(3),
    }
}

/// Frames a file of `data_bytes` bytes (after its offset) holds with `k`
/// signals, as wfdb-python's `_infer_sig_len` (`int(size / (bytes per sample * k))`).
fn frames_in(format: SampleFormat, data_bytes: u64, k: u64) -> u64 {
    match format {
        SampleFormat::F212 => 2 * data_bytes / (3 * k),
        SampleFormat::F310 | SampleFormat::F311 => 3 * data_bytes / (4 * k),
        _ => data_bytes / (required_bytes(format, 1) * k),
    }
}

/// One signal file and the signals (header indices, in header order) it holds.
struct FileGroup<'a> {
    name: &'a str,
    channels: Vec<usize>,
}

/// Buffers reused across records by [`super::RecordReader`].
#[derive(Debug, Default)]
pub(super) struct Buffers {
    /// Contents of each signal file of the current record.
    files: Vec<Vec<u8>>,
    /// Samples of one file when they cannot be decoded in place.
    scratch: Vec<i32>,
}

/// Reads the whole file at `path` into `buf` (one `read_to_end`, reusing its capacity).
fn read_file(path: &Path, hea: &Path, buf: &mut Vec<u8>) -> Result<(), WfdbError> {
    use std::io::Read;
    buf.clear();
    let io = |source: std::io::Error| {
        if source.kind() == std::io::ErrorKind::NotFound {
            WfdbError::DatMissing { path: path.to_path_buf(), header: hea.to_path_buf() }
        } else {
            WfdbError::Io { path: path.to_path_buf(), source }
        }
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    if let Ok(meta) = file.metadata() {
        buf.reserve(usize::try_from(meta.len()).unwrap_or(0));
    }
    file.read_to_end(buf).map_err(io)?;
    Ok(())
}

/// Reads the signal files of a parsed single-segment header into `digital`
/// (resized to `sig_len × n_sig`); sets `header.sig_len` when it was absent.
pub(super) fn read_signals(
    header: &mut Header,
    hea: &Path,
    dir: &Path,
    bufs: &mut Buffers,
    digital: &mut Vec<i32>,
) -> Result<(), WfdbError> {
    let n_sig = header.n_sig;
    let unsupported = |header: &Header, signal: usize, what: String| WfdbError::UnsupportedSignal {
        path: hea.to_path_buf(),
        signal,
        file: header.signals.get(signal).map_or_else(String::new, |s| s.file_name.clone()),
        what,
    };

    // Group signals by file, in order of first appearance (wfdb-python's `describe_list_indices`).
    let mut groups: Vec<FileGroup<'_>> = Vec::new();
    for (i, s) in header.signals.iter().enumerate() {
        if s.samples_per_frame != 1 {
            return Err(unsupported(header, i, format!("{} samples per frame", s.samples_per_frame)));
        }
        match groups.iter_mut().find(|g| g.name == s.file_name) {
            Some(g) => {
                let first = &header.signals[g.channels[0]];
                if first.format != s.format {
                    return Err(unsupported(
                        header,
                        i,
                        format!(
                            "format {} differs from format {} of signal {} in the same file",
                            s.format, first.format, g.channels[0]
                        ),
                    ));
                }
                g.channels.push(i);
            }
            None => groups.push(FileGroup { name: &s.file_name, channels: vec![i] }),
        }
        if s.skew > 0 && s.format == SampleFormat::F8 {
            return Err(unsupported(header, i, "skew on a format-8 signal".to_string()));
        }
    }

    if bufs.files.len() < groups.len() {
        bufs.files.resize_with(groups.len(), Vec::new);
    }
    let mut paths = Vec::with_capacity(groups.len());
    for (g, buf) in groups.iter().zip(bufs.files.iter_mut()) {
        let path = dir.join(g.name);
        read_file(&path, hea, buf)?;
        paths.push(path);
    }

    let mut sig_len = header.sig_len;
    if !header.sig_len_given
        && let (Some(g), Some(data)) = (groups.first(), bufs.files.first())
    {
        let first = &header.signals[g.channels[0]];
        let data_bytes = (data.len() as u64).saturating_sub(first.byte_offset);
        let frames = frames_in(first.format, data_bytes, g.channels.len() as u64);
        sig_len = usize::try_from(frames).unwrap_or(usize::MAX);
        tracing::debug!(header = %hea.display(), sig_len, "signal length inferred from file size");
    }
    // Every file must hold what the header promises before anything is
    // allocated for it: a header can state an absurd length.
    for ((g, data), path) in groups.iter().zip(&bufs.files).zip(&paths) {
        let first = &header.signals[g.channels[0]];
        let n = (sig_len as u64).saturating_mul(g.channels.len() as u64);
        let expected = first.byte_offset.saturating_add(required_bytes(first.format, n));
        if (data.len() as u64) < expected {
            return Err(WfdbError::DatTooShort {
                path: path.clone(),
                header: hea.to_path_buf(),
                format: first.format,
                samples: n,
                byte_offset: first.byte_offset,
                expected,
                actual: data.len() as u64,
            });
        }
    }
    let total = sig_len
        .checked_mul(n_sig)
        .ok_or_else(|| unsupported(header, 0, format!("{sig_len} samples × {n_sig} signals")))?;
    digital.clear();
    digital.resize(total, 0);
    let scratch = &mut bufs.scratch;

    for (g, data) in groups.iter().zip(&bufs.files) {
        let first = &header.signals[g.channels[0]];
        let format = first.format;
        let k = g.channels.len();
        let n = sig_len * k;
        // Checked above, before allocating.
        let expected = first.byte_offset + required_bytes(format, n as u64);
        let bytes = &data[first.byte_offset as usize..expected as usize];
        let skewed = g.channels.iter().any(|&c| header.signals[c].skew > 0);
        let in_place = k == n_sig && !skewed && g.channels.iter().enumerate().all(|(j, &c)| j == c);
        let flat: &mut [i32] = if in_place {
            digital
        } else {
            scratch.clear();
            scratch.resize(n, 0);
            scratch
        };
        decode(format, bytes, flat);
        if format == SampleFormat::F8 {
            undo_differences(flat, k, g.channels.iter().map(|&c| header.signals[c].init_value));
        }
        if !in_place {
            for (j, &c) in g.channels.iter().enumerate() {
                let skew = header.signals[c].skew as usize;
                let invalid = format.invalid_value().unwrap_or(0);
                for t in 0..sig_len {
                    let src = t + skew;
                    digital[t * n_sig + c] = if src < sig_len { scratch[src * k + j] } else { invalid };
                }
            }
        }
    }
    header.sig_len = sig_len;
    Ok(())
}

/// Decodes `out.len()` samples of `format` from `bytes`, which holds exactly
/// [`required_bytes`] for that many samples.
fn decode(format: SampleFormat, bytes: &[u8], out: &mut [i32]) {
    match format {
        SampleFormat::F8 => {
            for (o, &b) in out.iter_mut().zip(bytes) {
                *o = i32::from(b as i8);
            }
        }
        SampleFormat::F80 => {
            for (o, &b) in out.iter_mut().zip(bytes) {
                *o = i32::from(b) - 128;
            }
        }
        SampleFormat::F16 => {
            for (o, b) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                *o = i32::from(i16::from_le_bytes([b[0], b[1]]));
            }
        }
        SampleFormat::F61 => {
            for (o, b) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                *o = i32::from(i16::from_be_bytes([b[0], b[1]]));
            }
        }
        SampleFormat::F160 => {
            for (o, b) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                *o = i32::from(u16::from_le_bytes([b[0], b[1]])) - 32768;
            }
        }
        SampleFormat::F24 => {
            for (o, b) in out.iter_mut().zip(bytes.chunks_exact(3)) {
                // Sign-extend from the high byte.
                *o = i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8;
            }
        }
        SampleFormat::F32 => {
            for (o, b) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                *o = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
        }
        SampleFormat::F212 => decode_212(bytes, out),
        SampleFormat::F310 => decode_packed10(bytes, out, unpack_310),
        SampleFormat::F311 => decode_packed10(bytes, out, unpack_311),
    }
}

/// Sign-extends a 12-bit value.
fn sext12(v: u32) -> i32 {
    ((v << 20) as i32) >> 20
}

/// Two 12-bit samples per three bytes: low 8 bits in bytes 0 and 2, high
/// nibbles in byte 1 (low nibble for the first sample).
fn decode_212(bytes: &[u8], out: &mut [i32]) {
    let pairs = out.len() / 2;
    for (o, b) in out.chunks_exact_mut(2).zip(bytes.chunks_exact(3)) {
        o[0] = sext12(u32::from(b[0]) | (u32::from(b[1] & 0x0F) << 8));
        o[1] = sext12(u32::from(b[2]) | (u32::from(b[1] >> 4) << 8));
    }
    if out.len() % 2 == 1 {
        let b = &bytes[3 * pairs..];
        out[2 * pairs] = sext12(u32::from(b[0]) | (u32::from(b[1] & 0x0F) << 8));
    }
}

/// Format 310 block: samples 0 and 1 are the 7 high bits of bytes 0/2 plus the
/// 3 low bits of bytes 1/3; sample 2 is the 5 high bits of byte 1 (low part)
/// and of byte 3 (high part).
fn unpack_310(b: [u8; 4]) -> [u32; 3] {
    let [b0, b1, b2, b3] = b.map(u32::from);
    [(b0 >> 1) | ((b1 & 0x07) << 7), (b2 >> 1) | ((b3 & 0x07) << 7), ((b1 >> 3) & 0x1F) | (((b3 >> 3) & 0x1F) << 5)]
}

/// Format 311 block: three consecutive 10-bit fields, little-endian. Like
/// wfdb-python, the third field takes 7 bits of byte 3 (bit 30 of the word,
/// always 0 in a well-formed file).
fn unpack_311(b: [u8; 4]) -> [u32; 3] {
    let [b0, b1, b2, b3] = b.map(u32::from);
    [b0 | ((b1 & 0x03) << 8), (b1 >> 2) | ((b2 & 0x0F) << 6), (b2 >> 4) | ((b3 & 0x7F) << 4)]
}

/// Three 10-bit samples per four bytes; a trailing partial block is padded
/// with zero bytes. Values above 511 are negative (wfdb-python's `-= 1024`).
fn decode_packed10(bytes: &[u8], out: &mut [i32], unpack: fn([u8; 4]) -> [u32; 3]) {
    let signed = |v: u32| if v > 511 { v as i32 - 1024 } else { v as i32 };
    let blocks = out.len() / 3;
    for (o, b) in out.chunks_exact_mut(3).zip(bytes.chunks_exact(4)) {
        let s = unpack([b[0], b[1], b[2], b[3]]);
        o[0] = signed(s[0]);
        o[1] = signed(s[1]);
        o[2] = signed(s[2]);
    }
    let tail = &mut out[3 * blocks..];
    if !tail.is_empty() {
        let mut b = [0u8; 4];
        let src = &bytes[4 * blocks..];
        b[..src.len().min(4)].copy_from_slice(&src[..src.len().min(4)]);
        let s = unpack(b);
        for (o, v) in tail.iter_mut().zip(s) {
            *o = signed(v);
        }
    }
}

/// Format 8 stores first differences: each signal's samples are the running
/// sum of its differences starting from its initial value (wrapping in 32
/// bits, like wfdb-python's int32 `cumsum`).
fn undo_differences(flat: &mut [i32], k: usize, init: impl Iterator<Item = i64>) {
    for (j, init) in init.enumerate() {
        let mut acc = 0i32;
        for frame in flat.chunks_exact_mut(k) {
            acc = acc.wrapping_add(frame[j]);
            frame[j] = acc.wrapping_add(init as i32);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts_match_wfdb_python() {
        assert_eq!(required_bytes(SampleFormat::F212, 3), 5);
        assert_eq!(required_bytes(SampleFormat::F212, 4), 6);
        assert_eq!(required_bytes(SampleFormat::F310, 4), 6);
        assert_eq!(required_bytes(SampleFormat::F310, 5), 8);
        assert_eq!(required_bytes(SampleFormat::F311, 5), 7);
        assert_eq!(required_bytes(SampleFormat::F311, 6), 8);
        assert_eq!(required_bytes(SampleFormat::F24, 7), 21);
        assert_eq!(frames_in(SampleFormat::F212, 749, 1), 499);
        assert_eq!(frames_in(SampleFormat::F16, 120_000, 12), 5000);
    }

    #[test]
    fn decode_212_pairs_and_odd_tail() {
        // Samples 0x123 (291), -2048 (0x800), and a trailing -1 (0xFFF).
        let bytes = [0x23, 0x81, 0x00, 0xFF, 0x0F];
        let mut out = [0; 3];
        decode(SampleFormat::F212, &bytes, &mut out);
        assert_eq!(out, [0x123, -2048, -1]);
    }

    #[test]
    fn decode_byte_formats() {
        let mut out = [0; 2];
        decode(SampleFormat::F16, &[0x00, 0x80, 0xFF, 0x7F], &mut out);
        assert_eq!(out, [-32768, 32767]);
        decode(SampleFormat::F61, &[0x80, 0x00, 0x7F, 0xFF], &mut out);
        assert_eq!(out, [-32768, 32767]);
        decode(SampleFormat::F160, &[0x00, 0x00, 0x01, 0x80], &mut out);
        assert_eq!(out, [-32768, 1]);
        decode(SampleFormat::F80, &[0x00, 0x81], &mut out);
        assert_eq!(out, [-128, 1]);
        decode(SampleFormat::F24, &[0x00, 0x00, 0x80, 0xFE, 0xFF, 0xFF], &mut out);
        assert_eq!(out, [-8_388_608, -2]);
        decode(SampleFormat::F32, &[0, 0, 0, 0x80, 5, 0, 0, 0], &mut out);
        assert_eq!(out, [i32::MIN, 5]);
    }

    #[test]
    fn decode_310_311_blocks() {
        // 311: fields 1, -1 (0x3FF), -512 (0x200) packed LSB-first in 30 bits.
        let word: u32 = 1 | (0x3FF << 10) | (0x200 << 20);
        let mut out = [0; 3];
        decode(SampleFormat::F311, &word.to_le_bytes(), &mut out);
        assert_eq!(out, [1, -1, -512]);
        // 310: two 16-bit words; word 0 bits 1..11 = s0, word 1 bits 1..11 = s1,
        // s2 low 5 bits in word 0 bits 11..16, high 5 bits in word 1 bits 11..16.
        let (s0, s1, s2) = (5u16, 0x3FEu16, 0x155u16);
        let w0 = (s0 << 1) | ((s2 & 0x1F) << 11);
        let w1 = (s1 << 1) | ((s2 >> 5) << 11);
        let b0 = w0.to_le_bytes();
        let b1 = w1.to_le_bytes();
        decode(SampleFormat::F310, &[b0[0], b0[1], b1[0], b1[1]], &mut out);
        assert_eq!(out, [5, -2, 0x155]);
        // Trailing partial block of one sample.
        let mut out = [0; 4];
        decode(SampleFormat::F311, &[1, 0, 0, 0, 7, 0], &mut out);
        assert_eq!(out, [1, 0, 0, 7]);
    }

    #[test]
    fn format_8_running_sum_per_channel() {
        let mut flat = [1, 10, 2, -5, -1, 0];
        undo_differences(&mut flat, 2, [100i64, -3].into_iter());
        assert_eq!(flat, [101, 7, 103, 2, 102, 2]);
    }
}
