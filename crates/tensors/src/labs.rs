//! `labs_means.json` and the two lab tensors of a row.
//!
//! The reference iterates over `sorted(labs_means.keys())` — string order, so
//! by itemid (`50802_percentile` first), not LABS order — and for each key
//! takes the row's percentile when the raw lab (the column without
//! `_percentile`) is present, else the train mean with indicator 0. The file
//! is Python's `json.dump` output, which may contain `NaN`/`Infinity`, so it
//! is read by a small parser of flat objects rather than a strict JSON one;
//! numbers are parsed with correct rounding, as Python's `float()` does.

use std::path::Path;

use pyfmt::pandas::{is_na, parse_float};

use crate::error::TensorsError;

/// The percentile keys in the reference's (sorted) order with their means.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LabsMeans {
    /// `<itemid>_percentile` keys, sorted as strings.
    pub keys: Vec<String>,
    /// `labs_means[key]`, aligned with `keys`.
    pub means: Vec<f64>,
}

impl LabsMeans {
    /// Reads and checks `labs_means.json` against the recipe's labs.
    pub fn read(path: &Path, labs: &[u32]) -> Result<Self, TensorsError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| TensorsError::LabsMeansRead { path: path.to_path_buf(), source })?;
        Self::parse(&text, path, labs)
    }

    /// Parses the text of `labs_means.json`; `path` is only used in errors.
    pub fn parse(text: &str, path: &Path, labs: &[u32]) -> Result<Self, TensorsError> {
        let err = |message: String, field| TensorsError::LabsMeans { path: path.to_path_buf(), message, field };
        let entries = parse_flat_object(text).map_err(|m| err(m, None))?;
        // Python's json.load keeps the last of duplicate keys.
        let mut map: std::collections::BTreeMap<String, f64> = std::collections::BTreeMap::new();
        for (k, v) in entries {
            map.insert(k, v);
        }
        let expected: Vec<String> = labs.iter().map(|id| format!("{id}_percentile")).collect();
        let missing: Vec<&String> = expected.iter().filter(|k| !map.contains_key(*k)).collect();
        let unexpected: Vec<&String> = map.keys().filter(|k| !expected.contains(k)).collect();
        if !missing.is_empty() || !unexpected.is_empty() {
            return Err(err(
                format!(
                    "expected exactly the {} keys <itemid>_percentile of the labs of the recipe (cohort.labs); missing \
                     {missing:?}, unexpected {unexpected:?}",
                    labs.len()
                ),
                Some(recipe::Field::Labs),
            ));
        }
        // BTreeMap iterates in byte order of the keys = Python's sorted() for ASCII keys.
        let (keys, means) = map.into_iter().unzip();
        Ok(Self { keys, means })
    }

    /// Raw lab column of each key (`50802_percentile` → `50802`), aligned with `keys`.
    pub fn raw_columns(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.replace("_percentile", "")).collect()
    }

    /// Fills one row's percentiles and observed-indicators from a CSV record,
    /// given the column indices of the raw labs and of the percentiles
    /// (aligned with `keys`). A present lab whose percentile is missing gives
    /// NaN, as pandas would; an unparsable percentile is reported as
    /// `(column index, value)`.
    pub fn fill_row<'r>(
        &self,
        rec: &'r csv::ByteRecord,
        raw_cols: &[usize],
        pct_cols: &[usize],
        percentiles: &mut [f32],
        observed: &mut [i64],
    ) -> Result<(), (usize, &'r [u8])> {
        for i in 0..self.keys.len() {
            let raw = rec.get(raw_cols[i]).unwrap_or_default();
            if is_na(raw) {
                percentiles[i] = self.means[i] as f32;
                observed[i] = 0;
            } else {
                let field = rec.get(pct_cols[i]).unwrap_or_default();
                let value = if is_na(field) { f64::NAN } else { parse_float(field).ok_or((pct_cols[i], field))? };
                percentiles[i] = value as f32;
                observed[i] = 1;
            }
        }
        Ok(())
    }
}

/// Parses a flat JSON object `{"key": number, ...}` as Python's `json` module
/// writes it (`NaN`, `Infinity`, `-Infinity` allowed), keeping file order.
fn parse_flat_object(text: &str) -> Result<Vec<(String, f64)>, String> {
    let mut p = Parser { s: text.as_bytes(), i: 0 };
    p.ws();
    p.expect(b'{')?;
    let mut out = Vec::new();
    p.ws();
    if p.peek() == Some(b'}') {
        p.i += 1;
    } else {
        loop {
            p.ws();
            let key = p.string()?;
            p.ws();
            p.expect(b':')?;
            p.ws();
            let value = p.number().map_err(|e| format!("key {key:?}: {e}"))?;
            out.push((key, value));
            p.ws();
            match p.peek() {
                Some(b',') => p.i += 1,
                Some(b'}') => {
                    p.i += 1;
                    break;
                }
                _ => return Err(p.unexpected("',' or '}'")),
            }
        }
    }
    p.ws();
    if p.i != p.s.len() {
        return Err(p.unexpected("the end of the file"));
    }
    Ok(out)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn unexpected(&self, what: &str) -> String {
        match self.peek() {
            Some(c) => format!("at byte {}: expected {what}, found {:?}", self.i, c as char),
            None => format!("at byte {}: expected {what}, found the end of the file", self.i),
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.unexpected(&format!("{:?}", c as char)))
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.expect(b'"')?;
        let mut units: Vec<u16> = Vec::new();
        loop {
            let Some(c) = self.peek() else { return Err(self.unexpected("a closing '\"'")) };
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(e) = self.peek() else { return Err(self.unexpected("an escape")) };
                    self.i += 1;
                    let unit = match e {
                        b'"' => u16::from(b'"'),
                        b'\\' => u16::from(b'\\'),
                        b'/' => u16::from(b'/'),
                        b'b' => 8,
                        b'f' => 12,
                        b'n' => u16::from(b'\n'),
                        b'r' => u16::from(b'\r'),
                        b't' => u16::from(b'\t'),
                        b'u' => {
                            let hex = self.s.get(self.i..self.i + 4).ok_or_else(|| self.unexpected("4 hex digits"))?;
                            let hex = std::str::from_utf8(hex).map_err(|_| self.unexpected("4 hex digits"))?;
                            let v = u16::from_str_radix(hex, 16).map_err(|_| self.unexpected("4 hex digits"))?;
                            self.i += 4;
                            v
                        }
                        _ => return Err(format!("at byte {}: invalid escape \\{}", self.i - 1, e as char)),
                    };
                    units.push(unit);
                }
                _ => {
                    // Copy a whole UTF-8 sequence starting at c.
                    let start = self.i - 1;
                    let len = match c {
                        0x00..=0x7f => 1,
                        0xc0..=0xdf => 2,
                        0xe0..=0xef => 3,
                        _ => 4,
                    };
                    let bytes = self.s.get(start..start + len).ok_or_else(|| "invalid UTF-8 in a key".to_string())?;
                    let ch = std::str::from_utf8(bytes).map_err(|_| "invalid UTF-8 in a key".to_string())?;
                    units.extend(ch.encode_utf16());
                    self.i = start + len;
                }
            }
        }
        String::from_utf16(&units).map_err(|_| "invalid \\u escape (lone surrogate) in a key".to_string())
    }

    fn number(&mut self) -> Result<f64, String> {
        let start = self.i;
        while matches!(self.peek(), Some(c) if !matches!(c, b',' | b'}' | b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
        let token = std::str::from_utf8(&self.s[start..self.i]).map_err(|_| "invalid UTF-8".to_string())?;
        match token {
            "NaN" => return Ok(f64::NAN),
            "Infinity" => return Ok(f64::INFINITY),
            "-Infinity" => return Ok(f64::NEG_INFINITY),
            _ => {}
        }
        let json_like = token.bytes().next().is_some_and(|c| c == b'-' || c.is_ascii_digit())
            && token.bytes().all(|c| c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E'));
        match token.parse::<f64>() {
            Ok(v) if json_like => Ok(v),
            _ => Err(format!("expected a number, found {token:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use mimic_io::layout::LABS;

    use super::*;

    fn parse(text: &str, path: &Path) -> Result<LabsMeans, TensorsError> {
        LabsMeans::parse(text, path, &LABS)
    }

    fn all_keys_json(override_key: Option<(&str, &str)>) -> String {
        let mut entries: Vec<String> = LABS
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let key = format!("{id}_percentile");
                let value = match override_key {
                    Some((k, v)) if k == key => v.to_string(),
                    _ => format!("0.{}", i + 1),
                };
                format!("    \"{key}\": {value}")
            })
            .collect();
        if let Some((k, v)) = override_key
            && !LABS.iter().any(|id| format!("{id}_percentile") == k)
        {
            entries.push(format!("    \"{k}\": {v}"));
        }
        format!("{{\n{}\n}}", entries.join(",\n"))
    }

    #[test]
    fn keys_are_sorted_as_strings_and_values_kept() {
        let m = parse(&all_keys_json(None), Path::new("labs_means.json")).unwrap();
        assert_eq!(m.keys.len(), 50);
        assert_eq!(m.keys[0], "50802_percentile");
        assert_eq!(m.keys[49], "52172_percentile");
        assert!(m.keys.windows(2).all(|w| w[0] < w[1]));
        // 50802 is the 40th LABS entry (index 39) → value 0.40
        assert_eq!(m.means[0], 0.40);
        assert_eq!(m.raw_columns()[0], "50802");
    }

    #[test]
    fn python_nan_and_infinity_parse() {
        let m = parse(&all_keys_json(Some(("51221_percentile", "NaN"))), Path::new("x.json")).unwrap();
        let i = m.keys.iter().position(|k| k == "51221_percentile").unwrap();
        assert!(m.means[i].is_nan());
        let m = parse(&all_keys_json(Some(("51221_percentile", "-Infinity"))), Path::new("x.json")).unwrap();
        assert_eq!(m.means[i], f64::NEG_INFINITY);
        let m = parse(&all_keys_json(Some(("51221_percentile", "0.16666666666666666"))), Path::new("x.json")).unwrap();
        assert_eq!(m.means[i], 1.0 / 6.0);
    }

    #[test]
    fn the_keys_are_the_recipes_labs_sorted_as_the_reference_sorts_them() {
        let text = "{\"9_percentile\": 0.5, \"220045_percentile\": 0.25, \"51221_percentile\": 0.75}";
        let m = LabsMeans::parse(text, Path::new("m.json"), &[51221, 9, 220_045]).unwrap();
        // Python's sorted() on the keys: string order, not numeric.
        assert_eq!(m.keys, ["220045_percentile", "51221_percentile", "9_percentile"]);
        assert_eq!(m.means, [0.25, 0.75, 0.5]);
        let e = LabsMeans::parse(text, Path::new("m.json"), &[51221, 9]).unwrap_err();
        assert!(e.to_string().contains("the 2 keys") && e.to_string().contains("unexpected [\"220045_percentile\"]"));
        assert_eq!(e.field(), Some(recipe::Field::Labs));
    }

    #[test]
    fn missing_and_unexpected_keys_are_named() {
        let text = all_keys_json(None).replace("\"51221_percentile\"", "\"51221_pct\"");
        let msg = parse(&text, Path::new("/d/labs_means.json")).unwrap_err().to_string();
        assert!(msg.starts_with("/d/labs_means.json:"), "{msg}");
        assert!(msg.contains("missing [\"51221_percentile\"]") && msg.contains("unexpected [\"51221_pct\"]"), "{msg}");
    }

    #[test]
    fn malformed_json_is_an_error_with_position() {
        for bad in ["", "{", "{\"a\": }", "{\"a\": 1,}", "[1]", "{\"a\": 1} x", "{\"a\": nan}", "{\"a\": \"1\"}"] {
            let r = parse_flat_object(bad);
            assert!(r.is_err(), "{bad:?} parsed as {r:?}");
        }
        assert_eq!(parse_flat_object("{}").unwrap(), vec![]);
        assert_eq!(
            parse_flat_object("{\"a\\u00e9\": -1e-05, \"b\": 2}").unwrap(),
            vec![("a\u{e9}".to_string(), -1e-05), ("b".to_string(), 2.0)]
        );
    }

    #[test]
    fn row_takes_percentile_when_present_else_mean() {
        let m = LabsMeans { keys: vec!["1_percentile".into(), "2_percentile".into()], means: vec![0.25, 0.75] };
        // columns: 1, 2, 1_percentile, 2_percentile
        let rec = csv::ByteRecord::from(vec!["4.5", "", "0.1", ""]);
        let (mut p, mut o) = ([0f32; 2], [9i64; 2]);
        m.fill_row(&rec, &[0, 1], &[2, 3], &mut p, &mut o).unwrap();
        assert_eq!(p, [0.1f64 as f32, 0.75]);
        assert_eq!(o, [1, 0]);

        // present raw lab with a missing percentile → NaN (pandas), observed
        let rec = csv::ByteRecord::from(vec!["4.5", "NA", "nan", "0.3"]);
        m.fill_row(&rec, &[0, 1], &[2, 3], &mut p, &mut o).unwrap();
        assert!(p[0].is_nan());
        assert_eq!((p[1], o), (0.75, [1, 0]));

        let rec = csv::ByteRecord::from(vec!["4.5", "", "x0.1", ""]);
        assert_eq!(m.fill_row(&rec, &[0, 1], &[2, 3], &mut p, &mut o).unwrap_err(), (2, &b"x0.1"[..]));
    }
}
