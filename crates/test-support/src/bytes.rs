//! Bytes as the reference data states them: sha256 digests in lowercase hex
//! (as `sha256sum` and the MANIFEST.json files print them) and the
//! little-endian bytes tensors hold.

use std::borrow::Borrow;

use sha2::{Digest, Sha256};

/// The sha256 of `bytes` in lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The sha256 of the concatenation of `chunks` in lowercase hex (hashes an
/// array value by value without building its bytes).
pub fn sha256_hex_of<B: AsRef<[u8]>>(chunks: impl IntoIterator<Item = B>) -> String {
    let mut h = Sha256::new();
    chunks.into_iter().for_each(|b| h.update(b));
    hex(&h.finalize())
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The little-endian bytes of `values` (values or references to them).
pub fn f32_le(values: impl IntoIterator<Item = impl Borrow<f32>>) -> Vec<u8> {
    values.into_iter().flat_map(|v| v.borrow().to_le_bytes()).collect()
}

/// The little-endian bytes of `values` (values or references to them).
pub fn i64_le(values: impl IntoIterator<Item = impl Borrow<i64>>) -> Vec<u8> {
    values.into_iter().flat_map(|v| v.borrow().to_le_bytes()).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn sha256_of_nothing_and_in_chunks() {
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(super::sha256_hex(b""), empty);
        assert_eq!(super::sha256_hex_of(Vec::<[u8; 4]>::new()), empty);
        assert_eq!(super::sha256_hex_of([b"ab", b"c!"]), super::sha256_hex(b"abc!"));
        assert_eq!(super::f32_le([1.0f32]), 1.0f32.to_le_bytes());
        let v = vec![-2i64];
        assert_eq!(super::i64_le(&v), (-2i64).to_le_bytes());
        assert_eq!(super::i64_le(v), (-2i64).to_le_bytes());
    }
}
