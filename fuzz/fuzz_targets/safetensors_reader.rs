//! Fuzzes `tensor_store::TensorReader` on safetensors files: the input is the
//! whole file (`u64` header length, JSON header, data). See
//! `common_tensor.rs` for what is checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common_tensor.rs"]
mod common_tensor;

fuzz_target!(|data: &[u8]| {
    common_tensor::check(&common_tensor::put("safetensors", data));
});
