//! A CSV's columns typed as `pandas.read_csv` types them.

use std::io::Read;
use std::sync::Arc;

use pyfmt::pandas::{KindInference, is_na};

use crate::{CardError, Column, ColumnKind, CsvTable};

/// pandas' default `true_values` and `false_values`: a column of only these
/// (none missing) reads as `bool`.
const BOOLS: [&[u8]; 6] = [b"True", b"TRUE", b"true", b"False", b"FALSE", b"false"];

pub(crate) fn infer(file: String, data: impl Read) -> Result<CsvTable, CardError> {
    // The csv crate's message says the record, line and byte where reading stopped.
    let err = |e: csv::Error| CardError::Csv { file: file.clone(), source: Arc::new(e) };
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(data);
    let header = reader.byte_headers().map_err(err)?.clone();
    let mut kinds = vec![KindInference::default(); header.len()];
    let mut bools = vec![true; header.len()];
    let mut record = csv::ByteRecord::new();
    let mut rows = 0u64;
    while reader.read_byte_record(&mut record).map_err(err)? {
        rows += 1;
        for (i, field) in record.iter().enumerate() {
            kinds[i].observe(field);
            bools[i] &= !is_na(field) && BOOLS.contains(&field);
        }
    }
    let mut columns = Vec::with_capacity(header.len());
    for (i, name) in header.iter().enumerate() {
        let name =
            std::str::from_utf8(name).map_err(|_| CardError::HeaderNotUtf8 { file: file.clone(), column: i + 1 })?;
        let kind = match ColumnKind::from(kinds[i].kind()) {
            // A header alone: pandas gives every column dtype object.
            _ if rows == 0 => ColumnKind::Text,
            ColumnKind::Text if bools[i] => ColumnKind::Bool,
            k => k,
        };
        columns.push(Column { name: name.to_string(), kind });
    }
    Ok(CsvTable { file, columns })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_pandas_dtypes() {
        let csv = "id,x,Lung Opacity,path,flag,51221\n1,1.5,,a/b.jpg,True,7\n2,2,1.0,c,False,\n";
        let t = infer("t.csv".into(), csv.as_bytes()).unwrap();
        let got: Vec<(&str, ColumnKind)> = t.columns.iter().map(|c| (c.name.as_str(), c.kind)).collect();
        assert_eq!(
            got,
            [
                ("id", ColumnKind::Int),
                ("x", ColumnKind::Float),
                ("Lung Opacity", ColumnKind::Float),
                ("path", ColumnKind::Text),
                ("flag", ColumnKind::Bool),
                ("51221", ColumnKind::Float),
            ]
        );
    }

    #[test]
    fn a_ragged_row_names_the_file_and_its_cause_the_line() {
        use std::error::Error as _;
        let e = infer("bad.csv".into(), "a,b\n1,2\n3\n".as_bytes()).unwrap_err();
        assert_eq!(e.to_string(), "bad.csv: cannot read it as CSV");
        let cause = e.source().expect("the csv error is the source").to_string();
        assert!(cause.contains("line: 3") && cause.contains("found record with 1 field"), "{cause}");
        assert!(matches!(&e, CardError::Csv { source, .. } if source.position().map(|p| p.line()) == Some(3)));
    }

    #[test]
    fn a_header_that_is_not_utf8_names_its_column() {
        let e = infer("h.csv".into(), &b"a,\xff\n1,2\n"[..]).unwrap_err().to_string();
        assert_eq!(e, "h.csv: column 2 of the header is not UTF-8");
    }
}
