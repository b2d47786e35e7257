//! Writes one tensor of a given shape with deterministic contents, from
//! several threads in shuffled row order, and reports throughput and peak RSS.
//! Used to check large files (ZIP64 `.pt`, 12 GB CXR tensors) and to produce
//! files for loading with numpy / torch / safetensors by hand.
//!
//! `cargo run --release -p tensor-store --example write_tensor -- DIR NAME FORMAT f32|i64 THREADS DIM0 [DIM...]`

use std::path::PathBuf;
use std::time::Instant;

use tensor_store::{DType, Format, TensorFile, TensorSpec, read_tensor_header};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 6 {
        eprintln!("usage: write_tensor DIR NAME FORMAT f32|i64 THREADS DIM0 [DIM...]");
        std::process::exit(2);
    }
    let dir = PathBuf::from(&args[0]);
    let format: Format = args[2].parse().expect("format");
    let dtype = if args[3] == "i64" { DType::I64 } else { DType::F32 };
    let threads: usize = args[4].parse().expect("threads");
    let shape: Vec<usize> = args[5..].iter().map(|s| s.parse().expect("dim")).collect();
    let spec = TensorSpec { name: args[1].clone(), dtype, shape: shape.clone() };
    let start = Instant::now();
    let file = TensorFile::create(&dir, spec, format).expect("create");
    let rows = shape[0];
    let rb = file.row_bytes();
    let elems = rb / dtype.size();
    std::thread::scope(|s| {
        for t in 0..threads {
            let file = &file;
            s.spawn(move || {
                let mut buf = Vec::with_capacity(rb);
                // rows in a scrambled order: row = (i * 7919) mod rows over this thread's share
                for i in (t..rows).step_by(threads) {
                    let row = (i * 7919) % rows;
                    let row = if gcd(7919, rows) == 1 { row } else { i };
                    buf.clear();
                    for e in 0..elems {
                        let v = (row * elems + e) as i64;
                        match dtype {
                            DType::F32 => buf.extend_from_slice(&((v % 1000) as f32 * 0.5).to_le_bytes()),
                            DType::I64 => buf.extend_from_slice(&v.to_le_bytes()),
                        }
                    }
                    file.write_row(row, &buf).expect("write_row");
                }
            });
        }
    });
    let path = file.commit().expect("finish and commit");
    let secs = start.elapsed().as_secs_f64();
    let len = std::fs::metadata(&path).unwrap().len();
    let (spec, offset) = read_tensor_header(&path).expect("read back");
    let rss = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM")).map(|l| l.to_string()))
        .unwrap_or_default();
    println!(
        "{} {:?} {:?} offset {offset}: {len} bytes in {secs:.2}s = {:.0} MB/s; {rss}",
        path.display(),
        spec.dtype,
        spec.shape,
        len as f64 / secs / 1e6
    );
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}
