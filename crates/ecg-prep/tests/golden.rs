//! ECG preprocessing against the reference's own outputs, bit for bit.
//!
//! - LUDB record 1 (committed in tests/data): wfdb-python's `p_signal` and the
//!   reference normalisation, compared as f64/f32 bit patterns.
//! - LUDB 2, test01_00s, s0010_re (`testdata/vectors`): test01_00s against
//!   `.npy` arrays; LUDB 2 and s0010_re against the sha256 of wfdb-python's
//!   arrays recorded in `vectors/golden/MANIFEST.json` (equal sha256 means
//!   bit-identical; the arrays themselves are not committed).
//! - The golden MIMIC-shaped set (`testdata/golden`): the removal predicate
//!   of every record in record_list.csv (wfdb-python 4.1.2's verdicts frozen
//!   below), and every ECG row of the reference's tensors.

use std::path::{Path, PathBuf};

use ecg_prep::{EcgError, Validity};
use test_support::bytes::sha256_hex_of;
use test_support::table::Table;
use test_support::{assert_bits_eq, fixture, npy};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

/// Loads `record`, compares its physical signal with `p_npy` (if given) and its
/// normalisation with `norm_npy`.
fn check_record(record: &Path, p_npy: Option<&Path>, norm_npy: &Path, shape: (usize, usize)) {
    let ecg = ecg_prep::load(record).unwrap();
    assert_eq!((ecg.samples, ecg.leads), shape);
    if let Some(p_npy) = p_npy {
        let p = npy::read(p_npy);
        assert_eq!(p.shape, [shape.0, shape.1]);
        assert_bits_eq(&ecg.physical, &p.f64s(), &format!("{} p_signal", record.display()));
    }
    let want = npy::read(norm_npy);
    assert_eq!(want.shape, [1, shape.0, shape.1]);
    let mut out = vec![0f32; shape.0 * shape.1];
    let stats = ecg.normalize_into(&mut out);
    assert!(!stats.output_is_nan());
    assert_bits_eq(&out, &want.f32s(), &format!("{} normalised", record.display()));
    assert_eq!(ecg_prep::check_validity(record).unwrap(), Validity::Valid);
    assert_eq!(ecg.validity(), Validity::Valid);
}

#[test]
fn ludb_1_physical_and_normalised_are_bit_identical() {
    check_record(&data("1"), Some(&data("ludb_1.p_signal.f64.npy")), &data("ludb_1.symile_norm.f32.npy"), (5000, 12));
    // Min/max as recorded in the golden MANIFEST.json.
    let stats = ecg_prep::load(&data("1")).unwrap().stats();
    assert_eq!((stats.min, stats.max), (-0.17082657703786716, 2.013180658172677));
    let mut out = vec![0f32; 60_000];
    let st = ecg_prep::load_normalized_into(&data("1"), 5000, 12, &mut out).unwrap();
    assert!(!st.flat && !st.has_nan);
    assert!(out.contains(&-1.0) && out.contains(&1.0));
}

#[test]
fn wrong_shape_is_an_error_naming_the_record() {
    let mut out = vec![0f32; 5000 * 12];
    let e = ecg_prep::load_normalized_into(&data("1"), 5000, 13, &mut out).unwrap_err();
    assert!(matches!(&e, EcgError::UnexpectedShape { samples: 5000, leads: 12, expected_leads: 13, .. }), "{e}");
    assert!(e.to_string().contains("tests/data/1"), "{e}");
    let e = ecg_prep::load(&data("no_such_record")).unwrap_err();
    let chain = errors::Chain(&e).to_string();
    assert!(matches!(&e, EcgError::Wfdb { .. }) && chain.contains("no_such_record.hea: cannot read: "), "{chain}");
}

/// Like [`check_record`], with the expected arrays given by their sha256 in
/// the vectors' MANIFEST.json (entry `ecg/<name>`): `p_sha256` of the f64
/// physical signal when `physical`, and `norm_sha256` of the f32 normalisation.
fn check_record_sha256(record: &Path, name: &str, physical: bool, shape: (usize, usize)) {
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture::path("vectors/golden/MANIFEST.json")).unwrap()).unwrap();
    let want = &manifest[format!("ecg/{name}")];
    let ecg = ecg_prep::load(record).unwrap();
    assert_eq!((ecg.samples, ecg.leads), shape);
    assert_eq!(want["shape"], serde_json::json!([shape.0, shape.1]), "{name}: shape");
    assert_eq!(want["norm_shape"], serde_json::json!([1, shape.0, shape.1]), "{name}: normalised shape");
    if physical {
        let got = sha256_hex_of(ecg.physical.iter().map(|v| v.to_le_bytes()));
        assert_eq!(got, want["p_sha256"], "{name}: p_signal differs from wfdb-python's");
    }
    let mut out = vec![0f32; shape.0 * shape.1];
    let stats = ecg.normalize_into(&mut out);
    assert!(!stats.output_is_nan());
    let got = sha256_hex_of(out.iter().map(|v| v.to_le_bytes()));
    assert_eq!(got, want["norm_sha256"], "{name}: normalised signal differs from the reference's");
    assert_eq!(ecg_prep::check_validity(record).unwrap(), Validity::Valid);
    assert_eq!(ecg.validity(), Validity::Valid);
}

#[test]
fn reference_vectors_are_bit_identical() {
    let golden = fixture::path("vectors/golden/ecg");
    let ludb = fixture::path("vectors/PyHealth/test-resources/core/ludb/data");
    let samples = fixture::path("vectors/wfdb-python/sample-data");
    check_record_sha256(&ludb.join("2"), "ludb_2", true, (5000, 12));
    check_record(
        &samples.join("test01_00s"),
        Some(&golden.join("test01_00s.p_signal.f64.npy")),
        &golden.join("test01_00s.symile_norm.f32.npy"),
        (4000, 4),
    );
    // s0010_re: physical checked against rdsamp in mimic-io; here its normalisation.
    check_record_sha256(&samples.join("s0010_re"), "s0010_re", false, (38400, 15));
}

/// Records of the golden input that wfdb-python 4.1.2 + the reference predicate remove.
const REMOVED: [(&str, Validity); 10] = [
    ("files/p1029/p10297107/s42920404/42920404", Validity::HasNan),
    ("files/p1078/p10788162/s46021926/46021926", Validity::HasNan),
    ("files/p1101/p11011221/s49423143/49423143", Validity::HasNan),
    ("files/p1456/p14566517/s49796270/49796270", Validity::AllZero),
    ("files/p1481/p14818904/s40041974/40041974", Validity::HasNan),
    ("files/p1594/p15945804/s44306761/44306761", Validity::AllZero),
    ("files/p1696/p16962821/s46799303/46799303", Validity::HasNan),
    ("files/p1843/p18438143/s41520094/41520094", Validity::AllZero),
    ("files/p1843/p18438143/s45405797/45405797", Validity::AllZero),
    ("files/p1843/p18438143/s49867755/49867755", Validity::AllZero),
];

#[test]
fn golden_mimic_records_validity() {
    let root = fixture::path("golden/input/mimic-iv-ecg");
    let list = Table::read(&root.join("record_list.csv"));
    let paths = list.column("path");
    assert_eq!(paths.len(), 86);
    let mut counts = [0usize; 3];
    let mut reader = ecg_prep::EcgReader::new();
    for p in &paths {
        let record = root.join(p);
        let fast = ecg_prep::check_validity(&record).unwrap();
        assert_eq!(reader.check_validity(&record).unwrap(), fast, "{p}: reused reader");
        let slow = ecg_prep::load(&record).unwrap().validity();
        assert_eq!(fast, slow, "{p}: digital fast path disagrees with the physical predicate");
        let want = REMOVED.iter().find(|(q, _)| q == p).map_or(Validity::Valid, |&(_, v)| v);
        assert_eq!(fast, want, "{p}");
        counts[fast as usize] += 1;
    }
    assert_eq!(counts, [76, 5, 5]);
}

/// Reads the single f32 tensor of a safetensors file: (shape, values).
fn read_safetensors_f32(path: &Path) -> (Vec<usize>, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let (_, t) = header.as_object().unwrap().iter().find(|(k, _)| *k != "__metadata__").unwrap();
    assert_eq!(t["dtype"], "F32");
    let shape: Vec<usize> = t["shape"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
    let off: Vec<usize> = t["data_offsets"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
    let body = &bytes[8 + n + off[0]..8 + n + off[1]];
    (shape, body.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect())
}

#[test]
fn golden_ecg_tensors_are_bit_identical() {
    let golden = fixture::path("golden");
    let ecg_root = golden.join("input/mimic-iv-ecg");
    let mut rows = 0;
    // One reader for every row, as the tensors stage would use it.
    let mut reader = ecg_prep::EcgReader::new();
    for split in ["train", "val", "val_retrieval", "test"] {
        let rows_of_split = Table::read(&golden.join(format!("expected/{split}.csv")));
        let paths = rows_of_split.column("ecg_path");
        let (shape, want) =
            read_safetensors_f32(&golden.join(format!("expected/tensors/{split}/ecg_{split}.safetensors")));
        assert_eq!(shape, [paths.len(), 1, 5000, 12]);
        let mut out = vec![0f32; 5000 * 12];
        for (i, p) in paths.iter().enumerate() {
            reader.load_normalized_into(&ecg_root.join(p), 5000, 12, &mut out).unwrap();
            assert_bits_eq(&out, &want[i * 60_000..(i + 1) * 60_000], &format!("{split} row {i} ({p})"));
            rows += 1;
        }
    }
    assert_eq!(rows, 13 + 3 + 9 + 12);
}

/// Writes a one-file format-16 record `r` with the given header gain fields and samples.
fn temp_record(gains: &[&str], frames: &[&[i16]]) -> (test_support::TempDir, PathBuf) {
    let dir = test_support::tempdir();
    let mut hea = format!("r {} 500 {}\n", gains.len(), frames.len());
    for g in gains {
        hea.push_str(&format!("r.dat 16 {g} 16 0\n"));
    }
    std::fs::write(dir.path().join("r.hea"), hea).unwrap();
    let dat: Vec<u8> = frames.iter().flat_map(|f| f.iter().flat_map(|v| v.to_le_bytes())).collect();
    std::fs::write(dir.path().join("r.dat"), dat).unwrap();
    let rec = dir.path().join("r");
    (dir, rec)
}

#[test]
fn fast_validity_equals_physical_predicate_on_edge_headers() {
    type Case<'a> = (&'a [&'a str], &'a [&'a [i16]], Validity);
    let cases: [Case<'_>; 6] = [
        // Baseline 5: digital 5 is physical zero.
        (&["200(5)/mV", "100"], &[&[5, 0], &[5, 0]], Validity::AllZero),
        (&["200(5)/mV", "100"], &[&[5, 0], &[6, 0]], Validity::Valid),
        // -32768 is NaN even in an otherwise all-zero record.
        (&["200", "100"], &[&[0, 0], &[0, -32768]], Validity::HasNan),
        // An infinite gain (1e999 parses to inf, as in Python) makes every sample 0.
        (&["1e999", "100"], &[&[7, 0], &[9, 0]], Validity::AllZero),
        // A constant non-zero record is kept (and normalises to NaN).
        (&["1000(0)/mV"], &[&[3], &[3]], Validity::Valid),
        // Empty record: np.all([]) is True.
        (&["200"], &[], Validity::AllZero),
    ];
    for (i, (gains, frames, want)) in cases.iter().enumerate() {
        let (_d, rec) = temp_record(gains, frames);
        let ecg = ecg_prep::load(&rec).unwrap();
        assert_eq!(ecg.validity(), *want, "case {i}: physical predicate");
        assert_eq!(ecg_prep::check_validity(&rec).unwrap(), *want, "case {i}: digital fast path");
    }
    let (_d, rec) = temp_record(&["1000(0)/mV"], &[&[3], &[3]]);
    let mut out = [0f32; 2];
    let st = ecg_prep::load(&rec).unwrap().normalize_into(&mut out);
    assert!(st.flat && !st.has_nan && st.min == 0.003 && out.iter().all(|v| v.is_nan()));
}
