//! A minimal `.npy` reader: little-endian `<f8`, `<f4` and `<i8`, C order.
//! The reference arrays of wfdb-python (f64) and numpy's RNG (i64) are types
//! `tensor-store` (f32/i64 tensors of a dataset) has no reason to read.

use std::path::Path;

/// An array's shape, dtype (`descr`) and raw little-endian data.
#[derive(Debug)]
pub struct Npy {
    pub shape: Vec<usize>,
    pub descr: String,
    pub data: Vec<u8>,
}

impl Npy {
    /// The values of an `<f8` array.
    pub fn f64s(&self) -> Vec<f64> {
        assert_eq!(self.descr, "<f8");
        self.data.chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().unwrap())).collect()
    }

    /// The values of an `<f4` array.
    pub fn f32s(&self) -> Vec<f32> {
        assert_eq!(self.descr, "<f4");
        self.data.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect()
    }

    /// The values of an `<i8` array.
    pub fn i64s(&self) -> Vec<i64> {
        assert_eq!(self.descr, "<i8");
        self.data.chunks_exact(8).map(|b| i64::from_le_bytes(b.try_into().unwrap())).collect()
    }
}

/// Reads the `.npy` file `path` (format 1.0, 2.0 or 3.0); panics naming the
/// file when it is not one this reader takes.
#[track_caller]
pub fn read(path: &Path) -> Npy {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&bytes[..6], b"\x93NUMPY", "{}: not a .npy file", path.display());
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => (u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize, 12),
        v => panic!("{}: npy version {v}", path.display()),
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
    let item = match descr.as_str() {
        "<f8" | "<i8" => 8,
        "<f4" => 4,
        d => panic!("{}: dtype {d} is not read here", path.display()),
    };
    assert_eq!(data.len(), shape.iter().product::<usize>() * item, "{}: data size", path.display());
    Npy { shape, descr, data }
}
