//! How pandas reads a CSV column and writes it back.
//!
//! The reference reads every table with `pd.read_csv` and writes with
//! `DataFrame.to_csv`. A column's type is inferred over the *whole file*: all
//! values integers and none missing → `int64`; all numeric with a gap or a
//! decimal → `float64`; anything else → text. The type decides how a value is
//! printed back (`65` vs `65.0`, `317` → `317.0`), so byte-identical outputs
//! need the same inference. Missing means an empty field or one of pandas'
//! default NA strings (`NA`, `NaN`, `null`, `N/A`, …).

use crate::pyfmt::push_py_float;

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

/// Parses a float the way pandas' C parser accepts it.
pub fn parse_float(field: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(field).ok()?.trim_matches(' ');
    match s {
        "inf" | "+inf" | "Inf" | "Infinity" | "+Infinity" => Some(f64::INFINITY),
        "-inf" | "-Inf" | "-Infinity" => Some(f64::NEG_INFINITY),
        _ => {
            // Rust also accepts "infinity"/"nan" spellings pandas does not; those
            // are either NA strings already or rejected here.
            if s.bytes().any(|b| b.is_ascii_alphabetic() && b != b'e' && b != b'E') {
                return None;
            }
            s.parse::<f64>().ok()
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
