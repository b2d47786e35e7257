//! Times decode, resize and normalisation of one CXR JPEG (default: the 2544×3056 synthetic
//! vector committed in `testdata/vectors/golden/cxr`). Run with
//! `cargo run --release -p cxr-prep --example bench -- [path.jpg] [scale] [iterations]`.
//!
//! Besides wall-clock (median/min), it reports this thread's CPU time per call from
//! `/proc/thread-self/stat` (Linux), which stays meaningful on a busy shared machine.

use std::path::PathBuf;
use std::time::Instant;

use cxr_prep::{Image, center_crop_offsets, decode_jpeg, resize_bilinear, resized_size, write_normalized};

/// utime + stime of the calling thread in seconds (clock ticks assumed 100 Hz), if available.
fn thread_cpu_s() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let after_comm = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// Runs `f` `iters` times; returns "median/min wall ms, CPU ms per call".
fn time<T>(iters: usize, mut f: impl FnMut() -> T) -> (String, T) {
    let mut wall = Vec::with_capacity(iters);
    let cpu0 = thread_cpu_s();
    let mut last = None;
    for _ in 0..iters {
        let t = Instant::now();
        last = Some(f());
        wall.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let cpu = match (cpu0, thread_cpu_s()) {
        (Some(a), Some(b)) => format!("{:.2}", (b - a) * 1e3 / iters as f64),
        _ => "n/a".to_string(),
    };
    wall.sort_by(f64::total_cmp);
    (format!("wall median {:.2} / min {:.2}, cpu {cpu} ms", wall[iters / 2], wall[0]), last.expect("iters >= 1"))
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().filter(|s| !s.is_empty()).map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/vectors/golden/cxr/synthetic_2544x3056.jpg"))
    });
    let scale: u32 = args.next().map_or(320, |s| s.parse().expect("scale"));
    let iters: usize = args.next().map_or(30, |s| s.parse().expect("iterations")).max(1);
    let bytes = std::fs::read(&path).expect("read jpeg");
    let (dec, img): (_, Image) = time(iters, || decode_jpeg(&bytes, &path).expect("decode"));
    let (w, h) = resized_size(img.width, img.height, scale);
    let (res, r) = time(iters, || resize_bilinear(&img, w, h));
    let (top, left) = center_crop_offsets(r.width, r.height, scale);
    let mut out = vec![0f32; 3 * (scale * scale) as usize];
    let (norm, ()) = time(iters * 10, || write_normalized(&r, top, left, scale, &mut out));
    println!("{} ({}x{} -> {w}x{h}, {iters} iterations)", path.display(), img.width, img.height);
    println!("  decode    {dec}");
    println!("  resize    {res}");
    println!("  normalise {norm}");
}
