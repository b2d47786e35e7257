//! Fuzzes the WFDB signal decoder through its public entry, `read_record`.
//!
//! The first 8 input bytes choose a well-formed header from a small space
//! (storage format, 1/2/3/12 signals, signal length given or inferred from the
//! file size, skew, byte offset, one file or two interleaved files, gain,
//! baseline, format-8 initial value); the rest of the input is the signal
//! data. Both files are written to a per-process temp dir and read back.
//! Must never panic; errors (short file, unsupported combination) are fine.
//!
//! When a record decodes, the target also checks:
//! - `digital.len() == sig_len × n_sig`, and an inferred length fits the data;
//! - `Record::physical()` has the same length and is NaN exactly where the
//!   digital value is the format's invalid value (all gains here are finite
//!   and non-zero);
//! - a long-lived `RecordReader` (whose buffers keep data from earlier inputs)
//!   returns exactly what a fresh `read_record` returns.
//!
//! Header mode 3 states a signal length from four input bytes (up to ~4e9):
//! the decoder must reject it as "too short" before allocating (finding F1 in
//! docs/fuzzing.md, fixed).
#![no_main]

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;
use mimic_io::wfdb::{Record, RecordReader, read_record, required_bytes};

#[path = "scratch.rs"]
mod scratch;

const FORMATS: [u32; 10] = [8, 16, 24, 32, 61, 80, 160, 212, 310, 311];
const N_SIG: [usize; 4] = [1, 2, 3, 12];
const GAINS: [&str; 8] = ["0", "200.0", "1000.0", "0.5", "-3.25", "1e-3", "62239.465", "7"];

struct Ctx {
    dir: tempfile::TempDir,
    reader: Mutex<RecordReader>,
}

fn ctx() -> &'static Ctx {
    static CTX: OnceLock<Ctx> = OnceLock::new();
    CTX.get_or_init(|| Ctx { dir: scratch::scratch_dir(), reader: Mutex::new(RecordReader::new()) })
}

fuzz_target!(|data: &[u8]| {
    let mut head = [0u8; 8];
    let n = data.len().min(8);
    head[..n].copy_from_slice(&data[..n]);
    let dat = &data[n..];
    let [b0, b1, b2, b3, b4, b5, b6, b7] = head;

    let format = FORMATS[usize::from(b0) % FORMATS.len()];
    let n_sig = N_SIG[usize::from(b1 & 3)];
    let sig_len: Option<u64> = match (b1 >> 2) & 3 {
        0 => None,
        1 => Some(u64::from(b2)),
        2 => Some(u64::from(b2) * u64::from(b3)),
        _ => Some(u64::from(u32::from_le_bytes([b2, b3, b4, b5]))),
    };
    let skew = if b1 & 0x10 != 0 { u32::from(b3 % 8) } else { 0 };
    let offset = if b1 & 0x20 != 0 { u32::from(b4 % 32) } else { 0 };
    let two_files = b1 & 0x40 != 0;
    let gain = GAINS[usize::from(b7) % GAINS.len()];
    let baseline = i32::from(b5 as i8);
    let init = i32::from(b6 as i8);

    let c = ctx();
    let mut hea = String::new();
    write!(hea, "fuzz {n_sig} 500").unwrap();
    if let Some(len) = sig_len {
        write!(hea, " {len}").unwrap();
    }
    hea.push('\n');
    for i in 0..n_sig {
        let file = if two_files && i % 2 == 1 { "b.dat" } else { "a.dat" };
        write!(hea, "{file} {format}").unwrap();
        // Skew the first and last signals (they share a file unless n_sig is even and two files are used).
        if skew > 0 && (i == 0 || i == n_sig - 1) {
            write!(hea, ":{skew}").unwrap();
        }
        if offset > 0 {
            write!(hea, "+{offset}").unwrap();
        }
        writeln!(hea, " {gain}({baseline})/mV 16 0 {init} 0 0 lead {i}").unwrap();
    }

    let dir = c.dir.path();
    let (a, b) = if two_files { dat.split_at(dat.len() / 2) } else { (dat, &[][..]) };
    std::fs::write(dir.join("fuzz.hea"), &hea).expect("write fuzz.hea");
    std::fs::write(dir.join("a.dat"), a).expect("write a.dat");
    std::fs::write(dir.join("b.dat"), b).expect("write b.dat");
    let record_path: PathBuf = dir.join("fuzz");

    let fresh = read_record(&record_path);
    let reused = c.reader.lock().unwrap_or_else(|p| p.into_inner()).read(&record_path);
    match (&fresh, &reused) {
        (Ok(x), Ok(y)) => assert!(same_record(x, y), "RecordReader reuse changed the result for\n{hea}"),
        (Err(x), Err(y)) => assert_eq!(x.to_string(), y.to_string()),
        _ => panic!("read_record and RecordReader disagree for\n{hea}: {fresh:?} vs {reused:?}"),
    }
    let Ok(rec) = fresh else { return };

    let h = &rec.header;
    assert_eq!(h.n_sig, n_sig);
    assert_eq!(rec.digital.len(), h.sig_len * n_sig, "{hea}");
    if let Some(len) = sig_len {
        assert_eq!(h.sig_len as u64, len);
    } else {
        // An inferred length must fit in the first file.
        let s = &h.signals[0];
        let k = h.signals.iter().filter(|x| x.file_name == s.file_name).count() as u64;
        let need = s.byte_offset + required_bytes(s.format, h.sig_len as u64 * k);
        assert!(need <= a.len() as u64, "inferred sig_len {} needs {need} bytes, a.dat has {}", h.sig_len, a.len());
    }
    let phys = rec.physical();
    assert_eq!(phys.len(), rec.digital.len());
    for (i, (&d, &p)) in rec.digital.iter().zip(&phys).enumerate() {
        let s = i % n_sig;
        assert_eq!(p.is_nan(), rec.is_invalid(s, d), "sample {i} digital {d} physical {p}\n{hea}");
    }
});

/// Equality that treats the records' identical NaN-free digital data and headers as equal.
fn same_record(x: &Record, y: &Record) -> bool {
    x.digital == y.digital && x.header == y.header
}
