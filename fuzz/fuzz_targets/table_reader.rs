//! Fuzzes `mimic_io::table::TableReader` on arbitrary CSV bytes, plain and gzip.
//!
//! The first byte picks how the rest of the input is stored:
//! 0 = plain `.csv`; 1 = gzip-compressed `.csv.gz` (flate2, in this target);
//! 2 = the raw bytes named `.csv.gz` (not gzip: the inflate errors); 3 =
//! gzip-compressed and truncated to half (a cut-off download). The table is
//! then read to the end (or the first error) the way the stage crates read
//! theirs: `require(&["subject_id", "hadm_id"])`, `next_record`, and every
//! field parser on every column (plus one column past the end). Must never
//! panic; errors are fine but must name the file. Record line numbers never
//! go down. (They may repeat: like pandas, the csv crate ends a record at a
//! lone `\r`, but line numbers count `\n` only, so a record after a lone CR
//! is on the same line as the one before, as a text editor shows it.)
#![no_main]

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::OnceLock;

use flate2::Compression;
use flate2::write::GzEncoder;
use libfuzzer_sys::fuzz_target;
use mimic_io::table::TableReader;

#[path = "scratch.rs"]
mod scratch;

/// This process's scratch dir (see [`scratch::scratch_dir`]).
fn dir() -> &'static tempfile::TempDir {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(scratch::scratch_dir)
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(data).expect("gzip into memory");
    enc.finish().expect("gzip into memory")
}

fuzz_target!(|data: &[u8]| {
    let Some((&flag, body)) = data.split_first() else { return };
    let (name, bytes): (&str, Vec<u8>) = match flag % 4 {
        0 => ("fuzz.csv", body.to_vec()),
        1 => ("fuzz.csv.gz", gzip(body)),
        2 => ("fuzz.csv.gz", body.to_vec()),
        _ => {
            let mut z = gzip(body);
            z.truncate(z.len() / 2);
            ("fuzz.csv.gz", z)
        }
    };
    let path: PathBuf = dir().path().join(name);
    std::fs::write(&path, &bytes).expect("write the fuzz table");

    let mut reader = match TableReader::open(&path) {
        Ok(r) => r,
        Err(e) => {
            assert!(e.to_string().contains("fuzz.csv"), "error does not name the file: {e}");
            return;
        }
    };
    let ids = reader.require(&["subject_id", "hadm_id"]).unwrap_or_else(|_| vec![0, 1]);
    let time_col = reader.column("charttime");
    let mut rec = csv::ByteRecord::new();
    let mut last_line = reader.line();
    loop {
        match reader.next_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                assert!(e.to_string().contains("fuzz.csv"), "error does not name the file: {e}");
                break;
            }
        }
        assert!(reader.line() >= last_line, "line went from {last_line} to {}", reader.line());
        last_line = reader.line();
        for &c in &ids {
            let _ = reader.parse_i64(&rec, c);
        }
        if let Some(c) = time_col {
            let _ = reader.parse_time(&rec, c);
        }
        for c in 0..=rec.len() {
            let _ = reader.parse_i64(&rec, c);
            let _ = reader.parse_opt_i64(&rec, c);
            let _ = reader.parse_opt_f64(&rec, c);
            let _ = reader.parse_time(&rec, c);
            let _ = reader.parse_opt_time(&rec, c);
            let _ = TableReader::text(&rec, c);
        }
        let _ = reader.field_error(rec.len() + 1, b"x", "anything");
    }
});
