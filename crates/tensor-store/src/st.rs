//! safetensors: header building with the `safetensors` crate's own
//! [`Metadata`]/[`TensorInfo`] types (so the JSON is byte-for-byte what its
//! `serialize` would produce) and header parsing.
//!
//! Layout: `u64` little-endian header length `n`, `n` bytes of JSON
//! (`{"<name>":{"dtype":"F32","shape":[..],"data_offsets":[0,len]}}`) padded
//! with spaces to a multiple of 8, then the raw little-endian C-order data.

use safetensors::Dtype;
use safetensors::tensor::{Metadata, TensorInfo};

use crate::DType;

fn st_dtype(dtype: DType) -> Dtype {
    match dtype {
        DType::F32 => Dtype::F32,
        DType::I64 => Dtype::I64,
    }
}

/// Header bytes (length prefix + padded JSON) of a file holding one tensor.
pub(crate) fn header(name: &str, dtype: DType, shape: &[usize], data_len: usize) -> Result<Vec<u8>, String> {
    let info = TensorInfo { dtype: st_dtype(dtype), shape: shape.to_vec(), data_offsets: (0, data_len) };
    let metadata = Metadata::new(None, vec![(name.to_string(), info)]).map_err(|e| e.to_string())?;
    let mut json = serde_json::to_string(&metadata).map_err(|e| e.to_string())?.into_bytes();
    json.resize(json.len().next_multiple_of(8), b' ');
    let mut out = Vec::with_capacity(8 + json.len());
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    Ok(out)
}

/// Largest header accepted. One tensor's entry is under 200 bytes and a
/// `__metadata__` map rarely more than a few kB; the `safetensors` crate
/// allows 100 MB, but a header is read whole into memory, so a file claiming
/// that much is refused before anything is allocated.
pub(crate) const MAX_HEADER: u64 = 1 << 20;

/// One tensor described by a safetensors header.
#[derive(Debug, Clone)]
pub(crate) struct StHeader {
    pub name: String,
    pub dtype: DType,
    pub shape: Vec<usize>,
    /// Total bytes after the header the file must have; the one tensor's
    /// offsets were checked to run from 0 to here.
    pub data_len: u64,
}

/// Length of the JSON header from the 8-byte prefix.
pub(crate) fn header_len(prefix: [u8; 8]) -> Result<u64, String> {
    let n = u64::from_le_bytes(prefix);
    if n > MAX_HEADER {
        return Err(format!("safetensors header length {n} is implausible (max {MAX_HEADER})"));
    }
    Ok(n)
}

/// Parses the JSON header; the file must hold exactly one tensor of a
/// supported dtype.
pub(crate) fn parse_header(json: &[u8]) -> Result<StHeader, String> {
    let text = std::str::from_utf8(json).map_err(|e| format!("safetensors header is not UTF-8: {e}"))?;
    let metadata: Metadata = serde_json::from_str(text).map_err(|e| format!("invalid safetensors header JSON: {e}"))?;
    // `Metadata`'s deserialiser already checked offsets are contiguous and
    // match shape x dtype, so the end of the last tensor is the data length.
    let data_len = metadata.data_len() as u64;
    let tensors = metadata.tensors();
    if tensors.len() != 1 {
        return Err(format!("expected exactly one tensor in the safetensors file, found {}", tensors.len()));
    }
    let (name, info) = tensors.into_iter().next().expect("one tensor");
    let dtype = match info.dtype {
        Dtype::F32 => DType::F32,
        Dtype::I64 => DType::I64,
        other => return Err(format!("unsupported safetensors dtype {other:?}: expected F32 or I64")),
    };
    Ok(StHeader { name, dtype, shape: info.shape.clone(), data_len })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_matches_python_safetensors_layout() {
        let h = header("hadm_id_train", DType::I64, &[13], 104).unwrap();
        let json = br#"{"hadm_id_train":{"dtype":"I64","shape":[13],"data_offsets":[0,104]}}   "#;
        assert_eq!(&h[..8], &(json.len() as u64).to_le_bytes());
        assert_eq!(&h[8..], json);
        let p = parse_header(&h[8..]).unwrap();
        assert_eq!(p.name, "hadm_id_train");
        assert_eq!(p.shape, vec![13]);
        assert_eq!(p.data_len, 104);
    }
}
