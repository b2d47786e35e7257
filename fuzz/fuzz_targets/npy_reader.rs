//! Fuzzes `tensor_store::TensorReader` on `.npy` files: the input is everything
//! after the `\x93NUMPY` magic (version, header length, header dict, data), so
//! no effort goes into rediscovering the magic. See `common_tensor.rs` for
//! what is checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common_tensor.rs"]
mod common_tensor;

fuzz_target!(|data: &[u8]| {
    let mut bytes = b"\x93NUMPY".to_vec();
    bytes.extend_from_slice(data);
    common_tensor::check(&common_tensor::put("npy", &bytes));
});
