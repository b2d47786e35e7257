//! numpy `.npy` format version 1.0: header building (byte-identical to
//! `numpy.save`) and parsing.
//!
//! Layout: magic `\x93NUMPY`, version bytes `1 0`, `u16` little-endian header
//! length, then the header: the Python repr of a dict with sorted keys
//! (`{'descr': '<f4', 'fortran_order': False, 'shape': (n, 3), }`), followed by
//! numpy's "growth" spaces (21 minus the digits of `shape[0]`, so the header can
//! be rewritten in place when rows are appended), then padding spaces and a
//! final `\n` so that the data starts at a multiple of 64. numpy always pads
//! (a header that would already end on a multiple of 64 gets 64 more spaces),
//! and so do we: the header bytes are exactly numpy's.

use crate::DType;

/// numpy's magic string.
pub(crate) const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// Data alignment numpy uses (`numpy.lib.format.ARRAY_ALIGN`).
const ARRAY_ALIGN: usize = 64;
/// `numpy.lib.format.GROWTH_AXIS_MAX_DIGITS`.
const GROWTH_AXIS_MAX_DIGITS: usize = 21;

/// numpy's `descr` string of a dtype.
pub(crate) fn descr(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "<f4",
        DType::I64 => "<i8",
    }
}

/// Python's repr of a tuple of ints: `()`, `(n,)`, `(a, b)`.
fn py_tuple(shape: &[usize]) -> String {
    match shape {
        [] => "()".to_string(),
        [one] => format!("({one},)"),
        _ => {
            let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
            format!("({})", parts.join(", "))
        }
    }
}

/// The complete header (magic through the final `\n`) numpy writes for a
/// C-order array of `dtype` and `shape`; its length is the data offset.
pub(crate) fn header(dtype: DType, shape: &[usize]) -> Vec<u8> {
    let mut dict = format!("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", descr(dtype), py_tuple(shape));
    if let Some(first) = shape.first() {
        let digits = first.to_string().len();
        dict.push_str(&" ".repeat(GROWTH_AXIS_MAX_DIGITS.saturating_sub(digits)));
    }
    // magic (6) + version (2) + u16 length (2) + dict + '\n'
    let hlen = dict.len() + 1;
    let padlen = ARRAY_ALIGN - ((MAGIC.len() + 2 + 2 + hlen) % ARRAY_ALIGN);
    let total_len = (hlen + padlen) as u16;
    let mut out = Vec::with_capacity(10 + hlen + padlen);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&total_len.to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.resize(out.len() + padlen, b' ');
    out.push(b'\n');
    out
}

/// Bytes before the header dict: magic, version, and a `u16` (1.0) or `u32`
/// (2.0, 3.0) length.
pub(crate) const PREFIX_MAX: usize = 12;
/// Longest header dict accepted. Ours are under 128 bytes, numpy refuses
/// more than 10,000 by default (`max_header_size`) and format 1.0 cannot say
/// more than 65,535; the cap keeps a 2.0 header claiming 4 GB from sizing
/// anything.
const MAX_HEADER: usize = 1 << 16;

/// Length of the whole header (magic through the final `\n`), i.e. the data
/// offset, from the file's first bytes (`prefix`, up to [`PREFIX_MAX`]).
pub(crate) fn header_len(prefix: &[u8]) -> Result<u64, String> {
    if !prefix.starts_with(MAGIC) {
        return Err("not a .npy file: missing the \\x93NUMPY magic".into());
    }
    let (hlen, start) = match prefix[MAGIC.len()..] {
        [1, _, a, b, ..] => (u16::from_le_bytes([a, b]) as usize, 10),
        [2 | 3, _, a, b, c, d, ..] => (u32::from_le_bytes([a, b, c, d]) as usize, 12),
        [v @ (1..=3), ..] => return Err(format!("truncated .npy header: the file ends inside the version {v} length")),
        [v, minor, ..] => return Err(format!("unsupported .npy format version {v}.{minor}")),
        _ => return Err("truncated .npy header: the file ends inside the version".into()),
    };
    if hlen > MAX_HEADER {
        return Err(format!("the .npy header claims {hlen} bytes; at most {MAX_HEADER} are accepted"));
    }
    Ok((start + hlen) as u64)
}

/// A parsed `.npy` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NpyHeader {
    pub dtype: DType,
    pub shape: Vec<usize>,
    pub data_offset: u64,
}

/// Parses the start of a `.npy` file (`head` must hold at least the whole
/// header). Accepts versions 1.0, 2.0 and 3.0, C order, `<f4`/`<i8` only.
pub(crate) fn parse_header(head: &[u8]) -> Result<NpyHeader, String> {
    if head.len() < 10 || &head[..6] != MAGIC {
        return Err("not a .npy file: missing the \\x93NUMPY magic".into());
    }
    let (hlen, start) = match head[6] {
        1 => (u16::from_le_bytes([head[8], head[9]]) as usize, 10),
        2 | 3 => {
            if head.len() < 12 {
                return Err("truncated .npy header".into());
            }
            (u32::from_le_bytes([head[8], head[9], head[10], head[11]]) as usize, 12)
        }
        v => return Err(format!("unsupported .npy format version {v}.{}", head[7])),
    };
    let end = start + hlen;
    if head.len() < end {
        return Err(format!("truncated .npy header: expected {hlen} header bytes"));
    }
    let text = std::str::from_utf8(&head[start..end]).map_err(|_| "the .npy header is not ASCII".to_string())?;
    let text = text.trim_end();
    let descr = dict_value(text, "descr")?;
    let dtype = match descr.trim_matches(|c| c == '\'' || c == '"') {
        "<f4" => DType::F32,
        "<i8" => DType::I64,
        other => return Err(format!("unsupported .npy dtype {other:?}: expected '<f4' or '<i8'")),
    };
    if dict_value(text, "fortran_order")? != "False" {
        return Err("Fortran-order .npy arrays are not supported: expected 'fortran_order': False".into());
    }
    let shape_text = dict_value(text, "shape")?;
    let inner = shape_text
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| format!("bad .npy shape {shape_text:?}: expected a tuple"))?;
    let mut shape = Vec::new();
    for part in inner.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        shape.push(part.parse::<usize>().map_err(|_| format!("bad .npy shape {shape_text:?}"))?);
    }
    Ok(NpyHeader { dtype, shape, data_offset: end as u64 })
}

/// The text of `'key': VALUE` in a header dict; tuples are returned whole.
fn dict_value<'a>(text: &'a str, key: &str) -> Result<&'a str, String> {
    let pat = format!("'{key}':");
    let at = text.find(&pat).ok_or_else(|| format!("the .npy header has no '{key}' entry"))?;
    let rest = text[at + pat.len()..].trim_start();
    let end = if rest.starts_with('(') { rest.find(')').map(|i| i + 1) } else { rest.find([',', '}']) }
        .ok_or_else(|| format!("unterminated '{key}' entry in the .npy header"))?;
    Ok(rest[..end].trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuple_reprs_match_python() {
        assert_eq!(py_tuple(&[]), "()");
        assert_eq!(py_tuple(&[13]), "(13,)");
        assert_eq!(py_tuple(&[2, 3, 320, 320]), "(2, 3, 320, 320)");
    }

    #[test]
    fn header_round_trips_and_aligns() {
        for shape in [vec![0], vec![13], vec![13, 50], vec![10000, 3, 320, 320], vec![7, 1, 5000, 12]] {
            for dtype in [DType::F32, DType::I64] {
                let h = header(dtype, &shape);
                assert_eq!(h.len() % 64, 0, "{shape:?}");
                assert_eq!(*h.last().unwrap(), b'\n');
                let p = parse_header(&h).unwrap();
                assert_eq!(p, NpyHeader { dtype, shape: shape.clone(), data_offset: h.len() as u64 });
            }
        }
    }
}
