//! Times `check_validity`, `load` and `load` + `normalize_into` per record over
//! a MIMIC-IV-ECG-shaped tree (default: the committed golden input,
//! `testdata/golden/input/mimic-iv-ecg`).
//!
//! `cargo run --release -p ecg-prep --example time_records -- [<mimic-iv-ecg dir> [<passes>]]`

use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let root = args.next().map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/golden/input/mimic-iv-ecg"))
    });
    let passes: usize = args.next().map_or(20, |s| s.parse().expect("passes: an integer"));
    let list = std::fs::read_to_string(root.join("record_list.csv")).expect("record_list.csv");
    let mut lines = list.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = header.iter().position(|h| *h == "path").expect("path column");
    let records: Vec<PathBuf> = lines.map(|l| root.join(l.split(',').nth(col).expect("path field"))).collect();
    let n = (records.len() * passes) as f64;

    let t = Instant::now();
    let mut valid = 0;
    for _ in 0..passes {
        for r in &records {
            valid += usize::from(ecg_prep::check_validity(r).expect("record").is_valid());
        }
    }
    let per_validity = t.elapsed().as_secs_f64() / n;

    let t = Instant::now();
    for _ in 0..passes {
        for r in &records {
            std::hint::black_box(ecg_prep::load(r).expect("record"));
        }
    }
    let per_load = t.elapsed().as_secs_f64() / n;

    let t = Instant::now();
    let mut out = vec![0f32; 5000 * 12];
    for _ in 0..passes {
        for r in &records {
            std::hint::black_box(ecg_prep::load_normalized_into(r, 5000, 12, &mut out).expect("record"));
        }
    }
    let per_norm = t.elapsed().as_secs_f64() / n;

    // The same with one reused EcgReader (buffers not reallocated per record).
    let mut reader = ecg_prep::EcgReader::new();
    let t = Instant::now();
    for _ in 0..passes {
        for r in &records {
            std::hint::black_box(reader.check_validity(r).expect("record"));
        }
    }
    let per_validity_reuse = t.elapsed().as_secs_f64() / n;
    let t = Instant::now();
    for _ in 0..passes {
        for r in &records {
            std::hint::black_box(reader.load_normalized_into(r, 5000, 12, &mut out).expect("record"));
        }
    }
    let per_norm_reuse = t.elapsed().as_secs_f64() / n;
    println!(
        "{} records x {passes} passes ({} valid per pass), per record: check_validity {:.1} us, load {:.1} us, \
         load_normalized_into {:.1} us; with a reused EcgReader: check_validity {:.1} us, load_normalized_into {:.1} us",
        records.len(),
        valid / passes,
        per_validity * 1e6,
        per_load * 1e6,
        per_norm * 1e6,
        per_validity_reuse * 1e6,
        per_norm_reuse * 1e6
    );
}
