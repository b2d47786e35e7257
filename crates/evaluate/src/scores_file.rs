//! Reading a scores file: a 1-D float32 or float64 array, one score per row.
//!
//! `numpy.save` of the scores is the expected form. `tensor-store` reads
//! only float32 and int64, and models' scores are as often float64, so the
//! `.npy` header is parsed here (format 1.0, 2.0 and 3.0; little-endian
//! `<f4` or `<f8`; shape `(n,)`); any other file goes to
//! [`tensor_store::TensorReader`], which reads float32 safetensors and `.pt`.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use tensor_store::{DType, TensorReader};

use crate::{EvalError, ScoresFileError as Bad};

const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// Longest `.npy` header read (numpy's own headers are under 200 bytes).
const MAX_HEADER: usize = 64 * 1024;

/// The scores in `path`, as f64 (float32 values are widened exactly).
pub fn read_scores(path: &Path) -> Result<Vec<f64>, EvalError> {
    let bad = |source: Bad| EvalError::ScoresFile { path: path.to_path_buf(), source };
    let io = |e: std::io::Error| bad(Bad::Io(e));
    let mut file = File::open(path).map_err(io)?;
    let mut magic = [0u8; 6];
    let is_npy = match file.read_exact(&mut magic) {
        Ok(()) => &magic == MAGIC,
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => false,
        Err(e) => return Err(io(e)),
    };
    if !is_npy {
        return read_tensor(path);
    }
    let mut bytes = magic.to_vec();
    file.read_to_end(&mut bytes).map_err(io)?;
    parse_npy(&bytes).map_err(bad)
}

/// A float32 1-D tensor in one of `tensor-store`'s other formats.
fn read_tensor(path: &Path) -> Result<Vec<f64>, EvalError> {
    let reader = TensorReader::open(path)?;
    let spec = reader.spec();
    if spec.dtype != DType::F32 || spec.shape.len() != 1 {
        let dtype = if spec.dtype == DType::F32 { "float32" } else { "int64" };
        return Err(EvalError::ScoresFile {
            path: path.to_path_buf(),
            source: Bad::Tensor { dtype, shape: spec.shape.clone() },
        });
    }
    let bytes = reader.read_all()?;
    Ok(bytes.chunks_exact(4).map(|b| f64::from(f32::from_le_bytes(b.try_into().expect("4 bytes")))).collect())
}

/// The scores of a whole `.npy` file's bytes; the error says what is wrong.
fn parse_npy(bytes: &[u8]) -> Result<Vec<f64>, Bad> {
    let (len_bytes, start) = match bytes.get(6) {
        Some(1) => (2, 10),
        Some(2 | 3) => (4, 12),
        Some(&v) => return Err(Bad::NpyVersion(v)),
        None => return Err(Bad::Truncated),
    };
    let len_field = bytes.get(8..8 + len_bytes).ok_or(Bad::Truncated)?;
    let header_len = len_field.iter().rev().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    if header_len > MAX_HEADER {
        return Err(Bad::HeaderTooLong { len: header_len, max: MAX_HEADER });
    }
    let header = bytes.get(start..start + header_len).ok_or(Bad::Truncated)?;
    let header = std::str::from_utf8(header).map_err(|_| Bad::HeaderNotText)?;
    let descr = value_of(header, "descr").ok_or(Bad::MissingKey("descr"))?;
    let shape = value_of(header, "shape").ok_or(Bad::MissingKey("shape"))?;
    let size = match descr.trim_matches(|c| c == '\'' || c == '"') {
        "<f8" => 8,
        "<f4" => 4,
        other => return Err(Bad::Dtype(other.to_string())),
    };
    let dims: Vec<&str> = shape.trim_matches(|c| c == '(' || c == ')').split(',').map(str::trim).collect();
    let n: usize = match dims.as_slice() {
        [n, ""] => n.parse().map_err(|_| Bad::BadShape(shape.to_string()))?,
        _ => return Err(Bad::NotOneDimensional(shape.to_string())),
    };
    let data = &bytes[start + header_len..];
    if Some(data.len()) != n.checked_mul(size) {
        return Err(Bad::DataLength { got: data.len(), n, size });
    }
    Ok(match size {
        8 => data.chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes"))).collect(),
        _ => data.chunks_exact(4).map(|b| f64::from(f32::from_le_bytes(b.try_into().expect("4 bytes")))).collect(),
    })
}

/// The text of `'key': value` in a numpy header dict, up to the next
/// top-level comma (a shape's parentheses included).
fn value_of<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header.find(&format!("'{key}'"))? + key.len() + 2;
    let rest = header[at..].trim_start().strip_prefix(':')?.trim_start();
    let end = if rest.starts_with('(') { rest.find(')')? + 1 } else { rest.find([',', '}'])? };
    Some(rest[..end].trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `.npy` file as `numpy.save` writes it (format 1.0, padded to 64 bytes).
    fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
        let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        let pad = 64 - (10 + dict.len() + 1) % 64;
        let header = format!("{dict}{}\n", " ".repeat(pad));
        let mut out = MAGIC.to_vec();
        out.extend([1, 0]);
        out.extend((header.len() as u16).to_le_bytes());
        out.extend(header.as_bytes());
        out.extend(data);
        out
    }

    #[test]
    fn reads_float64_and_float32() {
        let v = [0.5f64, -1.25, 3.0];
        let data: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        assert_eq!(parse_npy(&npy("<f8", "(3,)", &data)).unwrap(), v);
        let data: Vec<u8> = v.iter().flat_map(|&x| (x as f32).to_le_bytes()).collect();
        assert_eq!(parse_npy(&npy("<f4", "(3,)", &data)).unwrap(), v);
        assert_eq!(parse_npy(&npy("<f8", "(0,)", &[])).unwrap(), Vec::<f64>::new());
    }

    #[test]
    fn says_what_is_wrong() {
        let err = |b: Vec<u8>| parse_npy(&b).unwrap_err().to_string();
        assert!(err(npy("<i8", "(3,)", &[0; 24])).contains("expected float32 (<f4) or float64 (<f8)"));
        assert!(err(npy(">f8", "(3,)", &[0; 24])).contains("little-endian"));
        assert!(err(npy("<f8", "(3, 1)", &[0; 24])).contains("expected a 1-D array"));
        assert!(err(npy("<f8", "()", &[0; 8])).contains("expected a 1-D array"));
        assert!(err(npy("<f8", "(4,)", &[0; 24])).contains("24 data bytes, expected 4 × 8"));
        assert!(err(MAGIC.to_vec()).contains("truncated"));
        assert!(matches!(parse_npy(&npy("<f8", "(4,)", &[0; 24])), Err(Bad::DataLength { got: 24, n: 4, size: 8 })));
    }

    #[test]
    fn the_cause_is_the_source_said_once() {
        use std::error::Error as _;
        let dir = std::env::temp_dir().join(format!("evaluate-scores-{}", std::process::id()));
        let e = read_scores(&dir.join("missing.npy")).unwrap_err();
        assert_eq!(e.to_string(), dir.join("missing.npy").display().to_string());
        let cause = e.source().expect("a typed cause");
        assert_eq!(cause.to_string(), "cannot read it");
        let io = cause.source().and_then(|s| s.downcast_ref::<std::io::Error>()).expect("the io error below it");
        assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    }
}
