//! Text exactly as Python and pandas read and write it.
//!
//! The reference pipeline reads its tables with `pd.read_csv`, writes its CSVs
//! with `DataFrame.to_csv` and its JSON with `json.dump`; byte-identical
//! outputs need the same reading of every cell and the same printing back.
//! This crate is that and nothing else: it knows no MIMIC name, so the stages,
//! the input readers and the dataset card share one definition.
//!
//! - At the root, Python's float `repr` ([`py_float`], [`push_py_float`]) and
//!   `json.dump(…, indent=4)` of a flat object ([`py_json_object`]).
//! - [`pandas`]: how `read_csv` sees a cell (NA spellings, its integer and
//!   float parsers, the dtype of a whole column) and how `to_csv` prints it.
//!
//! Both Python and pandas print floats with `repr`: the shortest digits that
//! round-trip, in fixed notation for decimal exponents −4..=15 and `1e-05` /
//! `1e+16` style outside. Rust's `{}` prints the same digits but never
//! switches to exponent form, so parity needs this small translation.

pub mod pandas;

use std::fmt::Write as _;

/// Appends Python's `repr(x)` of a float to `out`.
pub fn push_py_float(out: &mut String, x: f64) {
    if x.is_nan() {
        out.push_str("nan");
        return;
    }
    if x.is_infinite() {
        out.push_str(if x > 0.0 { "inf" } else { "-inf" });
        return;
    }
    // `{:e}` gives the shortest round-trip digits as `d.ddde<exp>`.
    let mut sci = String::with_capacity(32);
    write!(sci, "{x:e}").expect("writing to a String cannot fail");
    let (mantissa, exp) = sci.split_once('e').expect("`{:e}` always has an exponent");
    let exp: i32 = exp.parse().expect("`{:e}` exponent is an integer");
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if negative {
        out.push('-');
    }
    if (-4..16).contains(&exp) {
        // Fixed notation with at least one digit after the point.
        let point = exp + 1; // digits before the decimal point
        if point <= 0 {
            out.push_str("0.");
            for _ in 0..-point {
                out.push('0');
            }
            out.push_str(&digits);
        } else {
            let point = point as usize;
            if digits.len() <= point {
                out.push_str(&digits);
                for _ in digits.len()..point {
                    out.push('0');
                }
                out.push_str(".0");
            } else {
                out.push_str(&digits[..point]);
                out.push('.');
                out.push_str(&digits[point..]);
            }
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let sign = if exp < 0 { '-' } else { '+' };
        write!(out, "e{sign}{:02}", exp.unsigned_abs()).expect("writing to a String cannot fail");
    }
}

/// Python's `repr(x)` of a float.
pub fn py_float(x: f64) -> String {
    let mut s = String::new();
    push_py_float(&mut s, x);
    s
}

/// A JSON value as Python's `json.dump(obj, f, indent=4)` writes it, for the
/// flat objects the pipeline writes (`labs_means.json`, `metadata.json`).
#[derive(Debug, Clone, PartialEq)]
pub enum PyJsonValue {
    /// A Python `int`.
    Int(i64),
    /// A Python `float` (`NaN` is written as `NaN`, as Python does).
    Float(f64),
    /// A Python `str`.
    Str(String),
}

/// Formats a flat `{key: value}` object exactly like `json.dump(obj, f, indent=4)`
/// (no trailing newline, keys in the given order, non-ASCII escaped).
pub fn py_json_object(entries: &[(String, PyJsonValue)]) -> String {
    if entries.is_empty() {
        return "{}".to_string();
    }
    let mut out = String::from("{\n");
    for (i, (key, value)) in entries.iter().enumerate() {
        out.push_str("    ");
        push_json_str(&mut out, key);
        out.push_str(": ");
        match value {
            PyJsonValue::Int(v) => write!(out, "{v}").expect("writing to a String cannot fail"),
            PyJsonValue::Float(v) if v.is_nan() => out.push_str("NaN"),
            PyJsonValue::Float(v) if v.is_infinite() => out.push_str(if *v > 0.0 { "Infinity" } else { "-Infinity" }),
            PyJsonValue::Float(v) => push_py_float(&mut out, *v),
            PyJsonValue::Str(s) => push_json_str(&mut out, s),
        }
        if i + 1 < entries.len() {
            out.push(',');
        }
        out.push('\n');
    }
    out.push('}');
    out
}

/// Python's `json` string escaping with `ensure_ascii=True`.
fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    write!(out, "\\u{unit:04x}").expect("writing to a String cannot fail");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected strings are what CPython 3.11 prints for `repr(x)`.
    #[test]
    fn float_repr_matches_python() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (317.0, "317.0"),
            (0.1, "0.1"),
            (-2.5, "-2.5"),
            (0.49999999999999994, "0.49999999999999994"),
            (0.16666666666666666, "0.16666666666666666"),
            (0.7000000000000001, "0.7000000000000001"),
            (1e-4, "0.0001"),
            (1.5e-4, "0.00015"),
            (1e-5, "1e-05"),
            (1.25e-7, "1.25e-07"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (9999999999999998.0, "9999999999999998.0"),
            (123456789012345.6, "123456789012345.6"),
            (42184968.0, "42184968.0"),
            (1e100, "1e+100"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::NAN, "nan"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for &(x, want) in cases {
            assert_eq!(py_float(x), want, "repr({x:?})");
        }
    }

    #[test]
    fn json_object_matches_python_indent4() {
        let got = py_json_object(&[
            ("train size".into(), PyJsonValue::Int(13)),
            ("51221_percentile".into(), PyJsonValue::Float(0.5384615384615384)),
            ("x".into(), PyJsonValue::Float(1e-05)),
            ("n".into(), PyJsonValue::Float(f64::NAN)),
            ("s".into(), PyJsonValue::Str("é\"".into())),
        ]);
        let want = "{\n    \"train size\": 13,\n    \"51221_percentile\": 0.5384615384615384,\n    \"x\": 1e-05,\n    \"n\": NaN,\n    \"s\": \"\\u00e9\\\"\"\n}";
        assert_eq!(got, want);
    }
}
