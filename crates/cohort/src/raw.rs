//! Compact storage of raw CSV cells that are passed through to the output.
//!
//! The reference prints most input columns back unchanged except for pandas'
//! dtype round trip (`65` stays `65`, `0` in a float column becomes `0.0`).
//! Keeping the raw bytes of those cells in one arena (instead of a `String`
//! per cell) keeps the admissions table at a few bytes per cell, and the
//! [`KindInference`] of each column sees every row of the file, as pandas does.

use pyfmt::pandas::{ColumnKind, KindInference};

/// Raw cells of selected columns of a table, row-major, in one byte arena.
#[derive(Debug, Default)]
pub(crate) struct RawColumns {
    /// Column names as in the file header.
    pub names: Vec<String>,
    /// Position of each stored column in the file's records.
    pub file_index: Vec<usize>,
    kinds: Vec<KindInference>,
    data: Vec<u8>,
    ends: Vec<usize>,
}

impl RawColumns {
    /// Stores the columns at `file_index` (named `names`).
    pub fn new(names: Vec<String>, file_index: Vec<usize>) -> Self {
        let kinds = vec![KindInference::default(); names.len()];
        Self { names, file_index, kinds, data: Vec::new(), ends: Vec::new() }
    }

    /// Number of stored columns.
    pub fn width(&self) -> usize {
        self.names.len()
    }

    /// Appends the stored columns of one record and feeds dtype inference.
    pub fn push(&mut self, rec: &csv::ByteRecord) {
        for (c, &i) in self.file_index.iter().enumerate() {
            let field = rec.get(i).unwrap_or_default();
            self.kinds[c].observe(field);
            self.data.extend_from_slice(field);
            self.ends.push(self.data.len());
        }
    }

    /// The raw bytes of cell (`row`, `col`).
    pub fn cell(&self, row: usize, col: usize) -> &[u8] {
        let k = row * self.width() + col;
        let start = if k == 0 { 0 } else { self.ends[k - 1] };
        &self.data[start..self.ends[k]]
    }

    /// The dtype pandas infers for column `col` over every pushed row.
    pub fn kind(&self, col: usize) -> ColumnKind {
        self.kinds[col].kind()
    }

    /// Index of a stored column by name.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }
}

/// Many short strings in one buffer (ECG paths, file names, dicom ids).
#[derive(Debug, Default)]
pub(crate) struct StrArena {
    data: Vec<u8>,
    ends: Vec<usize>,
}

impl StrArena {
    /// Appends a string; returns its index.
    pub fn push(&mut self, s: &[u8]) -> u32 {
        self.data.extend_from_slice(s);
        self.ends.push(self.data.len());
        (self.ends.len() - 1) as u32
    }

    /// The bytes of string `i`.
    pub fn get(&self, i: u32) -> &[u8] {
        let i = i as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.data[start..self.ends[i]]
    }

    /// String `i` as text (lossy for non-UTF-8 bytes).
    pub fn text(&self, i: u32) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(self.get(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_round_trip_and_kinds_follow_pandas() {
        let mut raw = RawColumns::new(vec!["a".into(), "c".into()], vec![0, 2]);
        raw.push(&csv::ByteRecord::from(vec!["1", "x", "2.5"]));
        raw.push(&csv::ByteRecord::from(vec!["", "y", "3"]));
        assert_eq!(raw.cell(0, 0), b"1");
        assert_eq!(raw.cell(0, 1), b"2.5");
        assert_eq!(raw.cell(1, 0), b"");
        assert_eq!(raw.cell(1, 1), b"3");
        assert_eq!(raw.kind(0), ColumnKind::Float);
        assert_eq!(raw.kind(1), ColumnKind::Float);
        assert_eq!(raw.position("c"), Some(1));

        let mut arena = StrArena::default();
        let a = arena.push(b"files/p1/x");
        let b = arena.push(b"");
        let c = arena.push(b"y");
        assert_eq!((arena.get(a), arena.get(b), arena.get(c)), (&b"files/p1/x"[..], &b""[..], &b"y"[..]));
    }
}
