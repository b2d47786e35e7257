//! Minimal `.npy` reader shared by the crates' tests (included with
//! `#[path]`): little-endian `<f8`/`<f4`, C order only. The golden WFDB
//! vectors are f64, which `tensor-store` (f32/i64 only) does not read.

use std::path::Path;

/// An array's shape and its values as raw bit patterns (f64 bits, or f32 bits widened).
#[derive(Debug)]
pub struct Npy {
    pub shape: Vec<usize>,
    pub descr: String,
    pub data: Vec<u8>,
}

impl Npy {
    pub fn f64s(&self) -> Vec<f64> {
        assert_eq!(self.descr, "<f8");
        self.data.chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().unwrap())).collect()
    }
    #[allow(dead_code)]
    pub fn f32s(&self) -> Vec<f32> {
        assert_eq!(self.descr, "<f4");
        self.data.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect()
    }
}

pub fn read(path: &Path) -> Npy {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&bytes[..6], b"\x93NUMPY", "{}: not a .npy file", path.display());
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        _ => (u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize, 12),
    };
    let header = std::str::from_utf8(&bytes[start..start + header_len]).unwrap();
    let field = |key: &str| -> &str {
        let at = header.find(key).unwrap_or_else(|| panic!("{}: no {key} in {header}", path.display()));
        &header[at + key.len()..]
    };
    let descr = field("'descr':").trim_start().trim_start_matches('\'');
    let descr = descr[..descr.find('\'').unwrap()].to_string();
    assert!(field("'fortran_order':").trim_start().starts_with("False"), "{}: Fortran order", path.display());
    let shape_text = field("'shape':").trim_start().trim_start_matches('(');
    let shape_text = &shape_text[..shape_text.find(')').unwrap()];
    let shape: Vec<usize> =
        shape_text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| s.parse().unwrap()).collect();
    let data = bytes[start + header_len..].to_vec();
    let item = if descr.ends_with('8') { 8 } else { 4 };
    assert_eq!(data.len(), shape.iter().product::<usize>() * item, "{}: data size", path.display());
    Npy { shape, descr, data }
}
