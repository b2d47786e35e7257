//! A CSV file as rows of strings, for tests that check or edit a table cell
//! by cell: header first ([`rows`], [`to_bytes`], which round-trip the files
//! the tools write) or header apart ([`Table`], columns by name). Files whose
//! name ends in `.gz` are inflated first.

use std::collections::BTreeMap;
use std::path::Path;

use crate::gz::read_maybe_gz;

/// Every row of the CSV file `path`, the header first.
#[track_caller]
pub fn rows(path: &Path) -> Vec<Vec<String>> {
    rows_from_bytes(&read_maybe_gz(path))
}

/// Every row of a CSV given as bytes, the header first.
#[track_caller]
pub fn rows_from_bytes(bytes: &[u8]) -> Vec<Vec<String>> {
    let mut r = csv::ReaderBuilder::new().has_headers(false).from_reader(bytes);
    r.records().map(|rec| rec.unwrap().iter().map(str::to_string).collect()).collect()
}

/// Rows as CSV (minimal quoting, `\n` line ends: how pandas and the stages
/// write them).
pub fn to_bytes(rows: &[Vec<String>]) -> Vec<u8> {
    let mut w =
        csv::WriterBuilder::new().flexible(true).terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    for r in rows {
        w.write_record(r).unwrap();
    }
    w.into_inner().unwrap()
}

/// The index of column `name` in the header row `rows[0]`.
#[track_caller]
pub fn col(rows: &[Vec<String>], name: &str) -> usize {
    rows[0].iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name:?} in {:?}", rows[0]))
}

/// Rows (header first) as column name → values, for comparisons that ignore
/// column order.
pub fn by_column(rows: &[Vec<String>]) -> BTreeMap<String, Vec<String>> {
    let mut m = BTreeMap::new();
    for (c, name) in rows[0].iter().enumerate() {
        m.insert(name.clone(), rows[1..].iter().map(|r| r[c].clone()).collect());
    }
    m
}

/// A CSV file read into memory, its header apart.
#[derive(Debug, Clone)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// Reads the CSV file `path` (inflated when `.gz`).
    #[track_caller]
    pub fn read(path: &Path) -> Self {
        let mut rows = rows(path);
        assert!(!rows.is_empty(), "{}: no header", path.display());
        let headers = rows.remove(0);
        Self { headers, rows }
    }

    /// The index of column `name`.
    #[track_caller]
    pub fn col(&self, name: &str) -> usize {
        self.headers
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name:?} in {:?}", self.headers))
    }

    /// The values of column `name`, row by row.
    #[track_caller]
    pub fn column(&self, name: &str) -> Vec<&str> {
        let c = self.col(name);
        self.rows.iter().map(|r| r[c].as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_and_columns_by_name() {
        let text = b"a,b,c\n1,\"x, y\",\n2,\"say \"\"hi\"\"\",z\n";
        let rows = rows_from_bytes(text);
        assert_eq!(to_bytes(&rows), text);
        assert_eq!(col(&rows, "c"), 2);
        assert_eq!(by_column(&rows)["b"], ["x, y", "say \"hi\""]);
        let dir = crate::tempdir();
        crate::gz::write_gz(&dir.path().join("t.csv.gz"), text);
        let t = Table::read(&dir.path().join("t.csv.gz"));
        assert_eq!(t.headers, ["a", "b", "c"]);
        assert_eq!(t.column("a"), ["1", "2"]);
    }
}
