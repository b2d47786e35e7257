//! Fuzzes the scalar field parsers every table reader uses, with round-trip properties.
//!
//! - `Timestamp::parse_bytes`: a parsed time printed with `Display` parses back
//!   to itself, and `Timestamp::parse` agrees with it on UTF-8 input;
//! - `table::parse_i64_bytes` (the allocation-free id parser) agrees exactly
//!   with Rust's `str::parse::<i64>`, its slow-path reference;
//! - `pandas::parse_int` / `parse_float` / `is_na` never panic, and a parsed
//!   integer printed back parses to itself;
//! - `pyfmt::py_float` of every parsed float, and of the input's first 8 bytes
//!   read as an `f64` bit pattern, parses back with `f64::from_str`
//!   (correctly rounded) to the same value bit for bit, or the same
//!   infinity/NaN.
//!   `pandas::parse_float` copies pandas' `precise_xstrtod`, which is not
//!   correctly rounded and counts leading zeros against its 17 digits (pandas
//!   2.2.3 reads `-0.00024683428836594546` as `-0.0002468342883659`, 839 ulp
//!   off, and `00000000000000000000001.5` as `0.0`), so for it only "reads
//!   back as a number of the same sign (or zero)" is asserted.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pyfmt::pandas::{is_na, parse_float, parse_int};
use pyfmt::py_float;
use mimic_io::table::parse_i64_bytes;
use mimic_io::time::Timestamp;

/// `py_float(x)` must read back as `x`.
fn check_py_float(x: f64) {
    let s = py_float(x);
    if x.is_nan() {
        assert_eq!(s, "nan");
        return;
    }
    let back: f64 = s.parse().unwrap_or_else(|e| panic!("py_float({x:?}) = {s:?} does not parse: {e}"));
    assert_eq!(back.to_bits(), x.to_bits(), "py_float({x:?}) = {s:?} reads back as {back:?}");
    let y = parse_float(s.as_bytes()).unwrap_or_else(|| panic!("pandas::parse_float rejects py_float({x:?}) = {s:?}"));
    assert!(y == 0.0 || y.is_sign_negative() == x.is_sign_negative(), "pandas::parse_float({s:?}) = {y:?}");
    if x.is_infinite() {
        assert_eq!(y, x);
    }
}

fuzz_target!(|data: &[u8]| {
    if let Some(t) = Timestamp::parse_bytes(data) {
        let printed = t.to_string();
        assert_eq!(Timestamp::parse_bytes(printed.as_bytes()), Some(t), "{printed:?} from {data:?}");
        let (y, m, d, h, mi, s) = t.parts();
        assert_eq!(Timestamp::from_parts(y, m, d, h, mi, s), Some(t));
        assert_eq!(t.date_string(), printed[..10]);
        assert_eq!(t.is_midnight(), printed.ends_with(" 00:00:00"));
    }
    if let Ok(text) = std::str::from_utf8(data) {
        assert_eq!(Timestamp::parse(text).ok(), Timestamp::parse_bytes(data));
    }

    let fast = parse_i64_bytes(data);
    let reference = std::str::from_utf8(data).ok().and_then(|s| s.parse::<i64>().ok());
    assert_eq!(fast, reference, "parse_i64_bytes disagrees with str::parse on {data:?}");

    let _ = is_na(data);
    if let Some(v) = parse_int(data) {
        assert_eq!(parse_int(v.to_string().as_bytes()), Some(v));
    }
    if let Some(x) = parse_float(data) {
        assert!(!x.is_nan(), "parse_float({data:?}) is NaN: NaN must come only from is_na");
        check_py_float(x);
    }
    if let Some(bits) = data.get(..8) {
        let x = f64::from_bits(u64::from_le_bytes(bits.try_into().expect("8 bytes")));
        check_py_float(x);
    }
});
