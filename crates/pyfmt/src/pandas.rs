//! How pandas reads a CSV column and writes it back.
//!
//! The reference reads every table with `pd.read_csv` and writes with
//! `DataFrame.to_csv`. A column's type is inferred over the *whole file*: all
//! values integers and none missing → `int64`; all numeric with a gap or a
//! decimal → `float64`; anything else → text. The type decides how a value is
//! printed back (`65` vs `65.0`, `317` → `317.0`), so byte-identical outputs
//! need the same inference. Missing means an empty field or one of pandas'
//! default NA strings (`NA`, `NaN`, `null`, `N/A`, …).

use std::sync::LazyLock;

use crate::push_py_float;

/// pandas' default `na_values` (pandas 2.2).
pub const NA_VALUES: [&str; 18] = [
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA",
    "NULL", "NaN", "None", "n/a", "nan",
];

/// True when pandas would read this field as missing.
pub fn is_na(field: &[u8]) -> bool {
    field.is_empty() || NA_VALUES.iter().any(|na| na.as_bytes() == field) || field == b"null"
}

/// Parses an integer the way pandas' C parser accepts it (optional sign,
/// digits, surrounding spaces).
pub fn parse_int(field: &[u8]) -> Option<i64> {
    std::str::from_utf8(field).ok()?.trim_matches(' ').parse::<i64>().ok()
}

/// Parses a float exactly as pandas' C parser does for a float64 column
/// (`precise_xstrtod`), `None` when pandas would not read it as a number.
///
/// This is not a correctly rounded parser, on purpose: pandas accumulates up
/// to 17 significant digits in a `double` and then scales by a power of ten,
/// so for 16–17 significant digits (every Python `repr` of a computed float)
/// it often lands 1 ulp away from the correctly rounded value —
/// `0.20455554637995066` reads as `0.2045555463799506`. The reference ranks
/// and prints back what pandas read, so parity needs the same digits
/// (checked against pandas 2.2.3 on 200,000 strings, 24 % of which pandas
/// does not round correctly). NA strings are the caller's business ([`is_na`]).
pub fn parse_float(field: &[u8]) -> Option<f64> {
    if field.iter().any(|b| b.is_ascii_alphabetic() && !matches!(b, b'e' | b'E')) {
        // pandas' fallback after xstrtod fails: the infinity spellings.
        let s = std::str::from_utf8(field).ok()?.trim_matches(' ');
        return match s {
            "inf" | "+inf" | "Inf" | "Infinity" | "+Infinity" => Some(f64::INFINITY),
            "-inf" | "-Inf" | "-Infinity" => Some(f64::NEG_INFINITY),
            _ => None,
        };
    }
    xstrtod(field)
}

/// The dtype pandas infers for a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Every value an integer, none missing: `int64`.
    Int,
    /// Every present value numeric (or none present): `float64`.
    Float,
    /// Anything else: `object` (strings, printed verbatim).
    Text,
}

/// Accumulates the dtype of one column over all its values.
#[derive(Debug, Clone, Copy)]
pub struct KindInference {
    all_int: bool,
    all_numeric: bool,
    any_na: bool,
}

impl Default for KindInference {
    fn default() -> Self {
        Self { all_int: true, all_numeric: true, any_na: false }
    }
}

impl KindInference {
    /// Feeds one raw field.
    pub fn observe(&mut self, field: &[u8]) {
        if is_na(field) {
            self.any_na = true;
            return;
        }
        if self.all_int && parse_int(field).is_none() {
            self.all_int = false;
        }
        if !self.all_int && self.all_numeric && parse_float(field).is_none() {
            self.all_numeric = false;
        }
    }

    /// Records that a missing value appears (a left join that found no match).
    pub fn observe_missing(&mut self) {
        self.any_na = true;
    }

    /// The resulting dtype.
    pub fn kind(&self) -> ColumnKind {
        if !self.all_numeric {
            ColumnKind::Text
        } else if self.all_int && !self.any_na {
            ColumnKind::Int
        } else {
            ColumnKind::Float
        }
    }
}

/// Appends `field` as pandas would print it back for a column of `kind`
/// (missing → empty). Text is appended unchanged; CSV quoting is the writer's job.
pub fn push_cell(out: &mut String, kind: ColumnKind, field: &[u8]) {
    if is_na(field) {
        return;
    }
    match kind {
        ColumnKind::Int => match parse_int(field) {
            Some(v) => out.push_str(&v.to_string()),
            None => out.push_str(&String::from_utf8_lossy(field)),
        },
        ColumnKind::Float => match parse_float(field) {
            Some(v) => push_py_float(out, v),
            None => out.push_str(&String::from_utf8_lossy(field)),
        },
        ColumnKind::Text => out.push_str(&String::from_utf8_lossy(field)),
    }
}

/// Appends a field as `DataFrame.to_csv` writes it: Python `csv` quoting
/// `QUOTE_MINIMAL` with line terminator `\n`, i.e. a field is quoted (and its
/// `"` doubled) when it contains `,`, `"` or `\n`. Python 3.11's writer does
/// *not* quote a lone `\r` under that terminator (checked on the reference's
/// Python 3.11.7: `csv.writer(f, lineterminator="\n").writerow(["x\ry"])`
/// writes `x\ry` bare).
pub fn push_csv_field(out: &mut String, field: &str) {
    if field.contains([',', '"', '\n']) {
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(field);
    }
}

/// `1e0 ..= 1e308` as the C compiler rounds the literals (correctly rounded).
static POW10: LazyLock<Vec<f64>> =
    LazyLock::new(|| (0..=308).map(|k| format!("1e{k}").parse::<f64>().expect("valid literal")).collect());

/// Digits pandas keeps before ignoring the rest.
const MAX_DIGITS: u32 = 17;

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// pandas `precise_xstrtod(str, &end, '.', 'E', '\0', skip_trailing=1, ...)`
/// followed by `to_double`'s "whole field consumed, no error" check.
fn xstrtod(s: &[u8]) -> Option<f64> {
    let at = |p: usize| s.get(p).copied().unwrap_or(0);
    let mut p = 0;
    while is_space(at(p)) {
        p += 1;
    }
    let mut negative = false;
    match at(p) {
        b'-' => {
            negative = true;
            p += 1;
        }
        b'+' => p += 1,
        _ => {}
    }
    let mut number = 0.0f64;
    let mut exponent: i64 = 0;
    let mut num_digits = 0u32;
    let mut num_decimals: i64 = 0;
    while at(p).is_ascii_digit() {
        if num_digits < MAX_DIGITS {
            number = number * 10.0 + f64::from(at(p) - b'0');
            num_digits += 1;
        } else {
            exponent += 1;
        }
        p += 1;
    }
    if at(p) == b'.' {
        p += 1;
        while num_digits < MAX_DIGITS && at(p).is_ascii_digit() {
            number = number * 10.0 + f64::from(at(p) - b'0');
            p += 1;
            num_digits += 1;
            num_decimals += 1;
        }
        if num_digits >= MAX_DIGITS {
            while at(p).is_ascii_digit() {
                p += 1;
            }
        }
        exponent -= num_decimals;
    }
    if num_digits == 0 {
        return None;
    }
    if negative {
        number = -number;
    }
    if at(p).eq_ignore_ascii_case(&b'e') {
        p += 1;
        let mut neg_exp = false;
        match at(p) {
            b'-' => {
                neg_exp = true;
                p += 1;
            }
            b'+' => p += 1,
            _ => {}
        }
        let mut n: i64 = 0;
        let mut exp_digits = 0u32;
        while exp_digits < MAX_DIGITS && at(p).is_ascii_digit() {
            n = n * 10 + i64::from(at(p) - b'0');
            exp_digits += 1;
            p += 1;
        }
        exponent += if neg_exp { -n } else { n };
        if exp_digits == 0 {
            p -= 1;
        }
    }
    let e = &*POW10;
    if exponent > 308 {
        // ERANGE: pandas rejects the conversion.
        return None;
    } else if exponent > 0 {
        number *= e[exponent as usize];
    } else if exponent < -308 {
        if exponent < -616 {
            number = 0.0;
        } else {
            number /= e[(-308 - exponent) as usize];
            number /= e[308];
        }
    } else {
        number /= e[(-exponent) as usize];
    }
    if number.is_infinite() {
        return None;
    }
    while is_space(at(p)) {
        p += 1;
    }
    (p == s.len()).then_some(number)
}

#[cfg(test)]
mod xstrtod_tests {
    use super::*;

    #[test]
    fn matches_pandas_not_correct_rounding() {
        // pandas 2.2.3 read_csv: "0.20455554637995066" -> 0.2045555463799506.
        assert_eq!(parse_float(b"0.20455554637995066"), Some(0.2045555463799506));
        assert_ne!(parse_float(b"0.20455554637995066"), Some(0.20455554637995066));
        // More strings pandas 2.2.3 does not round correctly, with what it returns.
        let cases: &[(&str, f64)] = &[
            ("0.054422922529595186", 0.0544229225295951),
            ("736.0906142865935635200", 736.0906142865934),
            ("15146737332.727533", 15146737332.727531),
            ("9.210986675838744863754e-01", 0.9210986675838746),
            ("9.74543097308772088e-02", 0.09745430973087722),
            ("3.3676501126574074e-13", 3.367650112657408e-13),
            ("9.9098964486881513380467368e-01", 0.9909896448688152),
            ("397.23174066301476159", 397.2317406630148),
            ("65551118.709985144", 65551118.70998514),
            ("58637.509741599955", 58637.50974159996),
            ("9.80635756843339589927666e-01", 0.9806357568433395),
            ("8.966596414276015725164e-01", 0.8966596414276015),
        ];
        for &(s, want) in cases {
            assert_eq!(parse_float(s.as_bytes()).map(f64::to_bits), Some(want.to_bits()), "{s}");
        }
        // Short decimals are exact either way.
        for s in ["7.94", "0.1", "-3.0", "149", "1e-05", "2.5E3", " 4.5 ", "5.", ".5"] {
            let want: f64 = s.trim().parse().unwrap();
            assert_eq!(parse_float(s.as_bytes()), Some(want), "{s}");
        }
        assert_eq!(parse_float(b"inf"), Some(f64::INFINITY));
        assert_eq!(parse_float(b"abc"), None);
        assert_eq!(parse_float(b"1.2.3"), None);
        assert_eq!(parse_float(b""), None);
        assert_eq!(parse_float(b"-"), None);
        assert_eq!(parse_float(b"1e999"), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quoting_is_pythons_minimal() {
        let mut s = String::new();
        for (i, f) in ["plain text", "a,b", "say \"hi\"", "two\nlines", "x\ry", ""].iter().enumerate() {
            if i > 0 {
                s.push('|');
            }
            push_csv_field(&mut s, f);
        }
        // Python 3.11.7: csv.writer(io.StringIO(), lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        assert_eq!(s, "plain text|\"a,b\"|\"say \"\"hi\"\"\"|\"two\nlines\"|x\ry|");
    }

    fn kind_of(values: &[&str]) -> ColumnKind {
        let mut k = KindInference::default();
        for v in values {
            k.observe(v.as_bytes());
        }
        k.kind()
    }

    #[test]
    fn inference_follows_pandas() {
        assert_eq!(kind_of(&["1", "2", "-3"]), ColumnKind::Int);
        assert_eq!(kind_of(&["1", "", "3"]), ColumnKind::Float);
        assert_eq!(kind_of(&["1", "NA", "3"]), ColumnKind::Float);
        assert_eq!(kind_of(&["1.0", "2"]), ColumnKind::Float);
        assert_eq!(kind_of(&["", ""]), ColumnKind::Float);
        assert_eq!(kind_of(&["1", "x"]), ColumnKind::Text);
        assert_eq!(kind_of(&["2146-07-11", ""]), ColumnKind::Text);
    }

    #[test]
    fn cells_print_like_to_csv() {
        let cell = |k, f: &str| {
            let mut s = String::new();
            push_cell(&mut s, k, f.as_bytes());
            s
        };
        assert_eq!(cell(ColumnKind::Float, "317"), "317.0");
        assert_eq!(cell(ColumnKind::Float, "0.00001"), "1e-05");
        assert_eq!(cell(ColumnKind::Float, ""), "");
        assert_eq!(cell(ColumnKind::Float, "NaN"), "");
        assert_eq!(cell(ColumnKind::Int, "+007"), "7");
        assert_eq!(cell(ColumnKind::Text, "WHITE"), "WHITE");
        assert_eq!(cell(ColumnKind::Text, "NA"), "");
    }
}
