//! WFDB reader against wfdb-python / WFDB test vectors.
//!
//! Committed vectors (tests/data/wfdb, see its README.md): wfdb-python's
//! sample records and `record-1a` (rdsamp's digital output of test01_00s),
//! plus `p_signal` arrays written by wfdb-python 4.1.2 (`rdrecord(..).p_signal`).
//! The larger multi-file record s0010_re and its `rdsamp` output are in the
//! repository's `testdata/vectors/wfdb-python`.

use std::path::{Path, PathBuf};

use mimic_io::wfdb::{self, SampleFormat, WfdbError};
use test_support::{assert_bits_eq, fixture, npy};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/wfdb").join(name)
}

/// WFDB checksum: the sum of a signal's samples modulo 2^16 (headers write it signed or unsigned).
fn checksum(rec: &wfdb::Record, signal: usize) -> i64 {
    let n = rec.header.n_sig;
    let sum: i64 = rec.digital.iter().skip(signal).step_by(n).map(|&d| i64::from(d)).sum();
    sum.rem_euclid(65536)
}

#[test]
fn test01_00s_digital_matches_rdsamp() {
    let rec = wfdb::read_record(&data("test01_00s")).unwrap();
    assert_eq!((rec.header.n_sig, rec.header.sig_len, rec.header.fs), (4, 4000, 500.0));
    assert_eq!(rec.header.signals[1].description, "ECG 2");
    let text = std::fs::read_to_string(data("record-1a")).unwrap();
    let want: Vec<i32> = text.split_ascii_whitespace().map(|t| t.parse().unwrap()).collect();
    assert_eq!(want.len(), 16000);
    assert_eq!(rec.digital, want);
    for s in 0..4 {
        assert_eq!(checksum(&rec, s), rec.header.signals[s].checksum.rem_euclid(65536), "signal {s}");
    }
}

#[test]
fn binformats_every_format_decodes() {
    let rec = wfdb::read_record(&data("binformats")).unwrap();
    let formats: Vec<u32> = rec.header.signals.iter().map(|s| s.format.code()).collect();
    assert_eq!(formats, [8, 16, 61, 80, 160, 212, 310, 311, 24, 32]);
    assert_eq!(rec.header.sig_len, 499);
    // The header's checksums were written by WFDB from the original samples.
    for (s, spec) in rec.header.signals.iter().enumerate() {
        assert_eq!(checksum(&rec, s), spec.checksum.rem_euclid(65536), "signal {s} (format {})", spec.format);
        // Each signal's init value is its first sample.
        assert_eq!(i64::from(rec.digital[s]), spec.init_value, "signal {s} first sample");
    }
    // First and last samples as wfdb-python 4.1.2 reads them (rdrecord(physical=False)).
    let col = |s: usize| -> Vec<i32> { rec.digital.iter().skip(s).step_by(10).copied().collect() };
    assert_eq!(col(0)[..5], [-2047, -1920, -1793, -1666, -1539]);
    assert_eq!(col(0)[496..], [111, -17, 110]);
    assert_eq!(col(3)[..5], [-124, -110, -96, -82, -68]);
    assert_eq!(col(5)[496..], [-408, -124, 160]);
    assert_eq!(col(6)[..5], [-505, -158, 189, -487, -140]);
    assert_eq!(col(7)[496..], [-256, 91, 438]);
    assert_eq!(col(8)[..2], [-8388599, -8322795]);
    assert_eq!(col(9)[496..], [1911686491, 1928529510, 1945372529]);
    let sums: Vec<i64> = (0..10).map(|s| col(s).iter().map(|&d| i64::from(d)).sum()).collect();
    assert_eq!(sums, [165465, -750, -251, -517, 747, -6824, -1621, -2145, -103338557, -26804401573]);

    let want = npy::read(&data("binformats.p_signal.f64.npy"));
    assert_eq!(want.shape, [499, 10]);
    assert_bits_eq(&rec.physical(), &want.f64s(), "binformats p_signal");
}

#[test]
fn format_212_odd_sample_count_three_signals() {
    let rec = wfdb::read_record(&data("100_3chan")).unwrap();
    assert_eq!((rec.header.n_sig, rec.header.sig_len), (3, 999));
    assert_eq!(rec.header.signals[0].baseline, 1024);
    for s in 0..3 {
        assert_eq!(checksum(&rec, s), rec.header.signals[s].checksum.rem_euclid(65536), "signal {s}");
    }
    let want = npy::read(&data("100_3chan.p_signal.f64.npy"));
    assert_eq!(want.shape, [999, 3]);
    assert_bits_eq(&rec.physical(), &want.f64s(), "100_3chan p_signal");
}

#[test]
fn skew_shifts_and_pads_with_invalid() {
    let plain = wfdb::read_record(&data("test01_00s")).unwrap();
    let skewed = wfdb::read_record(&data("test01_00s_skew")).unwrap();
    assert_eq!(skewed.header.signals[1].skew, 3);
    for t in 0..4000 {
        for s in 0..4 {
            let want = match s {
                1 if t + 3 < 4000 => plain.digital[(t + 3) * 4 + 1],
                1 => -32768,
                _ => plain.digital[t * 4 + s],
            };
            assert_eq!(skewed.digital[t * 4 + s], want, "t {t} s {s}");
        }
    }
    let p = skewed.physical();
    assert_eq!(p.iter().filter(|v| v.is_nan()).count(), 3);
    assert!(p[3999 * 4 + 1].is_nan() && skewed.is_invalid(1, -32768) && !skewed.is_invalid(1, -32767));
}

#[test]
fn several_samples_per_frame_is_a_clear_error() {
    let h = wfdb::read_header(&data("test01_00s_frame.hea")).unwrap();
    assert_eq!(h.signals[1].samples_per_frame, 2);
    let e = wfdb::read_record(&data("test01_00s_frame")).unwrap_err();
    assert!(matches!(&e, WfdbError::UnsupportedSignal { signal: 1, .. }), "{e}");
    assert!(e.to_string().contains("2 samples per frame"), "{e}");
}

#[test]
fn s0010_re_two_files_match_rdsamp_physical() {
    let dir = fixture::path("vectors/wfdb-python");
    let rec = wfdb::read_record(&dir.join("sample-data/s0010_re")).unwrap();
    assert_eq!((rec.header.n_sig, rec.header.sig_len), (15, 38400));
    assert_eq!(rec.header.signals[13].file_name, "s0010_re.xyz");
    for s in 0..15 {
        assert_eq!(checksum(&rec, s), rec.header.signals[s].checksum.rem_euclid(65536), "signal {s}");
    }
    // record-3b: `rdsamp -r s0010_re -f 5 -t 38 -P -s 13 0 4 8 3`, 8 decimals.
    let p = rec.physical();
    let text = std::fs::read_to_string(dir.join("tests/target-output/record-3b")).unwrap();
    let channels = [13, 0, 4, 8, 3];
    let mut rows = 0;
    for (r, line) in text.lines().enumerate() {
        for (tok, &c) in line.split_ascii_whitespace().zip(&channels) {
            let v = p[(5000 + r) * 15 + c];
            let want: f64 = tok.parse().unwrap();
            assert!((v - want).abs() <= 5.000001e-9, "row {r} channel {c}: {v} vs {tok}");
        }
        rows += 1;
    }
    assert_eq!(rows, 33000);
}

/// A scratch record directory with a header text and a copy of test01_00s.dat.
fn scratch(header: &str, dat_bytes: Option<usize>) -> (test_support::TempDir, PathBuf) {
    let dir = test_support::tempdir();
    std::fs::write(dir.path().join("r.hea"), header).unwrap();
    if let Some(n) = dat_bytes {
        let dat = std::fs::read(data("test01_00s.dat")).unwrap();
        std::fs::write(dir.path().join("r.dat"), &dat[..n]).unwrap();
    }
    let rec = dir.path().join("r");
    (dir, rec)
}

const TWO_SIGNALS: &str = "r 2 500 SIGLEN\nr.dat 16 100/mV 16 0 0 0 0 a\nr.dat 16 100/mV 16 0 0 0 0 b\n";

#[test]
fn missing_and_short_dat_files_are_named() {
    let (_d, rec) = scratch(&TWO_SIGNALS.replace("SIGLEN", "100"), None);
    let e = wfdb::read_record(&rec).unwrap_err();
    assert!(matches!(&e, WfdbError::DatMissing { path, .. } if path.ends_with("r.dat")), "{e}");
    assert!(e.to_string().contains("r.dat"), "{e}");

    let (_d, rec) = scratch(&TWO_SIGNALS.replace("SIGLEN", "100"), Some(399));
    let e = wfdb::read_record(&rec).unwrap_err();
    assert!(
        matches!(&e, WfdbError::DatTooShort { path, expected: 400, actual: 399, .. } if path.ends_with("r.dat")),
        "{e}"
    );
    let msg = e.to_string();
    assert!(msg.contains("r.dat") && msg.contains("400") && msg.contains("399"), "{msg}");

    let (_d, rec) = scratch(&TWO_SIGNALS.replace("SIGLEN", "100"), Some(400));
    let r = wfdb::read_record(&rec).unwrap();
    assert_eq!(r.digital.len(), 200);
}

#[test]
fn signal_length_is_inferred_when_absent() {
    let (_d, rec) = scratch(&TWO_SIGNALS.replace(" SIGLEN", ""), Some(1002));
    let r = wfdb::read_record(&rec).unwrap();
    assert!(!r.header.sig_len_given);
    assert_eq!(r.header.sig_len, 250, "1002 bytes / (2 bytes × 2 signals), floored");
    assert_eq!(r.digital.len(), 500);
}

#[test]
fn signals_spread_over_files_in_any_order() {
    // Signal 0 in b.dat, signals 1 and 2 interleaved in a.dat (format 80 with offset).
    let dir = test_support::tempdir();
    std::fs::write(
        dir.path().join("m.hea"),
        "m 3 250 3\nb.dat 16 2(1)/mV\na.dat 80+2 4 8 0 0 0 0 second lead\na.dat 80\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("b.dat"), [1u8, 0, 0xFF, 0xFF, 0x00, 0x80]).unwrap();
    std::fs::write(dir.path().join("a.dat"), [9u8, 9, 128, 129, 0, 255, 127, 130]).unwrap();
    let r = wfdb::read_record(&dir.path().join("m")).unwrap();
    assert_eq!(r.digital, [1, 0, 1, -1, -128, 127, -32768, -1, 2]);
    assert_eq!(r.header.signals[1].description, "second lead");
    assert_eq!(r.header.signals[1].format, SampleFormat::F80);
    let p = r.physical();
    assert_eq!(p[0], 0.0);
    assert_eq!(p[1], 0.0);
    assert_eq!(p[2], 1.0 / 200.0);
    assert_eq!(p[3], -1.0);
    assert!(p[4].is_nan(), "format 80 stored 0 = -128 = invalid");
    assert!(p[6].is_nan(), "format 16 -32768 = invalid");
    assert_eq!(p[7], -0.25);
}

#[test]
fn header_errors_name_the_header_file() {
    let (_d, rec) = scratch("r 2 500 10\nr.dat 16\n", Some(40));
    let e = wfdb::read_record(&rec).unwrap_err();
    assert!(matches!(&e, WfdbError::SignalCount { path, line: 2, .. } if path.ends_with("r.hea")), "{e}");
    let (_d, rec) = scratch("r 1 500 10\nr.dat 99 200\n", Some(40));
    let e = wfdb::read_record(&rec).unwrap_err();
    assert!(matches!(&e, WfdbError::UnknownFormat { path, line: 2, .. } if path.ends_with("r.hea")), "{e}");
    let e = wfdb::read_record(Path::new("/nonexistent/dir/rec")).unwrap_err();
    assert!(matches!(&e, WfdbError::Io { path, .. } if path.ends_with("rec.hea")), "{e}");
}

#[test]
fn reused_reader_gives_the_same_records() {
    let names = ["binformats", "test01_00s", "100_3chan", "test01_00s_skew", "binformats", "test01_00s"];
    let mut reader = wfdb::RecordReader::new();
    let mut digital = vec![7; 3];
    for name in names {
        let fresh = wfdb::read_record(&data(name)).unwrap();
        assert_eq!(reader.read(&data(name)).unwrap(), fresh, "{name}");
        let header = reader.read_into(&data(name), &mut digital).unwrap();
        assert_eq!((&header, &digital), (&fresh.header, &fresh.digital), "{name}");
    }
    // An error leaves the reader usable.
    let err = reader.read(&data("test01_00s_frame")).unwrap_err();
    assert!(
        matches!(&err, wfdb::WfdbError::UnsupportedSignal { signal: 1, what, .. } if what.contains("2 samples per frame")),
        "{err:?}"
    );
    assert_eq!(reader.read(&data("100_3chan")).unwrap(), wfdb::read_record(&data("100_3chan")).unwrap());
}

/// Found by the `wfdb_samples` fuzz target: a header stating an absurd length
/// must be a "too short" error before anything is allocated for it (it used to
/// abort on a 4 TB allocation or panic on a capacity overflow).
#[test]
fn absurd_stated_length_is_dat_too_short() {
    let dir = test_support::tempdir();
    for len in ["1099511627776", "18446744073709551615"] {
        std::fs::write(dir.path().join("r.hea"), format!("r 1 500 {len}\nr.dat 16\n")).unwrap();
        std::fs::write(dir.path().join("r.dat"), [0u8; 4]).unwrap();
        let e = mimic_io::wfdb::read_record(&dir.path().join("r")).unwrap_err();
        assert!(matches!(e, mimic_io::wfdb::WfdbError::DatTooShort { .. }), "{e}");
    }
}
