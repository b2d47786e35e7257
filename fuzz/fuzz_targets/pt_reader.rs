//! Fuzzes `tensor_store::TensorReader` on torch `.pt` files: the zip archive
//! and the `data.pkl` pickle inside it.
//!
//! The first input byte picks what the rest is:
//! - even: the whole `.pt` file, as is (zip structure, directory sizes, local
//!   headers; a mutated `data.pkl` mostly fails its CRC here);
//! - odd: `u16` LE length `n`, then `n` bytes of `data.pkl`, then the storage
//!   bytes. The target packs them into a valid zip (`fuzz/data.pkl`,
//!   `fuzz/data/0`, stored, CRCs right), so the pickle evaluator and the
//!   tensor checks see every mutation.
//!
//! See `common_tensor.rs` for what is checked.
#![no_main]

use std::io::Write as _;

use libfuzzer_sys::fuzz_target;

#[path = "common_tensor.rs"]
mod common_tensor;

fn archive(pkl: &[u8], storage: &[u8]) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    z.start_file("fuzz/data.pkl", opts).expect("zip in memory");
    z.write_all(pkl).expect("zip in memory");
    z.start_file("fuzz/data/0", opts).expect("zip in memory");
    z.write_all(storage).expect("zip in memory");
    z.finish().expect("zip in memory").into_inner()
}

fuzz_target!(|data: &[u8]| {
    let Some((&flag, body)) = data.split_first() else { return };
    let bytes = if flag % 2 == 0 {
        body.to_vec()
    } else {
        let n = match body {
            [a, b, ..] => usize::from(u16::from_le_bytes([*a, *b])),
            _ => 0,
        };
        let rest = body.get(2..).unwrap_or_default();
        let (pkl, storage) = rest.split_at(n.min(rest.len()));
        archive(pkl, storage)
    };
    common_tensor::check(&common_tensor::put("pt", &bytes));
});
