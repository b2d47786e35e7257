//! The output table: typed columns printed as pandas' `to_csv` would, and
//! written to Parquet with proper Arrow types (datetimes as
//! `Timestamp(Millisecond)`, which Parquet annotates as TIMESTAMP(MILLIS)).
//!
//! One typed model feeds both writers. A column keeps the type of its source
//! (ids stay `Int64` in Parquet) while `int_as_float` records that pandas
//! turned it into `float64` (a gap in a left join, or `ecg_adm`), which only
//! changes how the CSV prints it (`65.0`).

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMillisecondArray};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use mimic_io::Timestamp;
use pyfmt::pandas::{self, ColumnKind, push_csv_field};
use pyfmt::push_py_float;

use crate::CohortError;
use crate::error::{arrow_cause, parquet_cause};

/// Values of one output column, for the output rows only.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Data {
    Int(Vec<Option<i64>>),
    Float(Vec<Option<f64>>),
    Text(Vec<Option<String>>),
    Time(Vec<Option<Timestamp>>),
}

/// One output column.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OutCol {
    pub name: String,
    pub data: Data,
    /// pandas holds this integer column as `float64`: the CSV prints `65.0`.
    pub int_as_float: bool,
}

impl OutCol {
    /// A column with the given name and data, printed as its own type.
    pub fn new(name: impl Into<String>, data: Data) -> Self {
        Self { name: name.into(), data, int_as_float: false }
    }

    /// A column of raw pass-through cells (`None`: the row had no source
    /// row, i.e. a left-join gap). `kind` is the dtype pandas inferred over
    /// the source file; `gap` says the join left some row without a match.
    pub fn from_raw<'a>(
        name: impl Into<String>,
        kind: ColumnKind,
        gap: bool,
        cells: impl Iterator<Item = Option<&'a [u8]>>,
    ) -> Self {
        let present = |c: Option<&'a [u8]>| c.filter(|b| !pandas::is_na(b));
        let data = match kind {
            ColumnKind::Int => Data::Int(cells.map(|c| present(c).and_then(pandas::parse_int)).collect()),
            ColumnKind::Float => Data::Float(cells.map(|c| present(c).and_then(pandas::parse_float)).collect()),
            ColumnKind::Text => {
                Data::Text(cells.map(|c| present(c).map(|b| String::from_utf8_lossy(b).into_owned())).collect())
            }
        };
        Self { name: name.into(), data, int_as_float: kind == ColumnKind::Int && gap }
    }

    fn has_null(&self) -> bool {
        match &self.data {
            Data::Int(v) => v.iter().any(Option::is_none),
            Data::Float(v) => v.iter().any(Option::is_none),
            Data::Text(v) => v.iter().any(Option::is_none),
            Data::Time(v) => v.iter().any(Option::is_none),
        }
    }
}

/// Writes the table as pandas `to_csv(index=False)` does.
pub(crate) fn write_csv(cols: &[OutCol], rows: usize, w: &mut impl Write) -> std::io::Result<()> {
    // pandas prints a datetime column date-only when every value is midnight.
    let date_only: Vec<bool> = cols
        .iter()
        .map(|c| match &c.data {
            Data::Time(v) => v.iter().flatten().all(|t| t.is_midnight()),
            _ => false,
        })
        .collect();
    let mut line = String::with_capacity(4096);
    for (i, c) in cols.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        push_csv_field(&mut line, &c.name);
    }
    line.push('\n');
    w.write_all(line.as_bytes())?;
    let mut cell = String::with_capacity(64);
    for r in 0..rows {
        line.clear();
        for (i, c) in cols.iter().enumerate() {
            if i > 0 {
                line.push(',');
            }
            cell.clear();
            match &c.data {
                Data::Int(v) => {
                    if let Some(x) = v[r] {
                        if c.int_as_float {
                            push_py_float(&mut cell, x as f64);
                        } else {
                            cell.push_str(&x.to_string());
                        }
                    }
                }
                Data::Float(v) => {
                    if let Some(x) = v[r] {
                        push_py_float(&mut cell, x);
                    }
                }
                Data::Text(v) => {
                    if let Some(x) = &v[r] {
                        cell.push_str(x);
                    }
                }
                Data::Time(v) => {
                    if let Some(t) = v[r] {
                        if date_only[i] {
                            cell.push_str(&t.date_string());
                        } else {
                            cell.push_str(&t.to_string());
                        }
                    }
                }
            }
            push_csv_field(&mut line, &cell);
        }
        line.push('\n');
        w.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// The Arrow record batch of the table.
pub(crate) fn record_batch(cols: &[OutCol]) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let mut fields = Vec::with_capacity(cols.len());
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(cols.len());
    for c in cols {
        let (dt, array): (DataType, ArrayRef) = match &c.data {
            Data::Int(v) => (DataType::Int64, Arc::new(Int64Array::from(v.clone()))),
            Data::Float(v) => (DataType::Float64, Arc::new(Float64Array::from(v.clone()))),
            Data::Text(v) => (DataType::Utf8, Arc::new(StringArray::from(v.clone()))),
            // Milliseconds, not seconds: Parquet's TIMESTAMP logical type has no
            // second unit, and a second-unit column is stored as a bare INT64
            // that pandas/pyarrow read back as integers.
            Data::Time(v) => (
                DataType::Timestamp(TimeUnit::Millisecond, None),
                Arc::new(TimestampMillisecondArray::from(v.iter().map(|t| t.map(|t| t.0 * 1000)).collect::<Vec<_>>())),
            ),
        };
        fields.push(Field::new(&c.name, dt, c.has_null()));
        arrays.push(array);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
}

/// Encodes the table as Parquet (Snappy) into `w`.
pub(crate) fn write_parquet<W: Write + Send>(cols: &[OutCol], w: W, path: &Path) -> Result<(), CohortError> {
    let err = |source| CohortError::Parquet { path: path.to_path_buf(), source };
    let batch = record_batch(cols).map_err(|e| err(arrow_cause(e)))?;
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::SNAPPY)
        .build();
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(w, batch.schema(), Some(props)).map_err(|e| err(parquet_cause(e)))?;
    writer.write(&batch).map_err(|e| err(parquet_cause(e)))?;
    writer.close().map_err(|e| err(parquet_cause(e)))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_prints_like_pandas() {
        let t = |s: &str| Some(Timestamp::parse(s).unwrap());
        let cols = vec![
            OutCol { name: "a".into(), data: Data::Int(vec![Some(65), None]), int_as_float: true },
            OutCol::new("b", Data::Int(vec![Some(7), Some(-1)])),
            OutCol::new("c", Data::Float(vec![Some(0.00001), Some(317.0)])),
            OutCol::new("d, e", Data::Text(vec![Some("x,\"y\"".into()), Some("p\rq".into())])),
            OutCol::new("day", Data::Time(vec![t("2121-04-13"), None])),
            OutCol::new("when", Data::Time(vec![t("2121-04-13"), t("2121-04-13 20:06:00")])),
        ];
        let mut out = Vec::new();
        write_csv(&cols, 2, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a,b,c,\"d, e\",day,when\n65.0,7,1e-05,\"x,\"\"y\"\"\",2121-04-13,2121-04-13 00:00:00\n\
             ,-1,317.0,p\rq,,2121-04-13 20:06:00\n"
        );
    }

    #[test]
    fn raw_columns_keep_source_types() {
        let cells = [Some(&b"65"[..]), None, Some(&b"NA"[..])];
        let c = OutCol::from_raw("anchor_age", ColumnKind::Int, true, cells.iter().copied());
        assert_eq!(c.data, Data::Int(vec![Some(65), None, None]));
        assert!(c.int_as_float);
        let c = OutCol::from_raw("dod", ColumnKind::Text, true, cells.iter().copied());
        assert_eq!(c.data, Data::Text(vec![Some("65".into()), None, None]));
        assert!(!c.int_as_float);
        let batch = record_batch(&[OutCol::from_raw("x", ColumnKind::Float, false, cells.iter().copied())]).unwrap();
        assert_eq!(batch.schema().field(0).data_type(), &DataType::Float64);
        assert!(batch.schema().field(0).is_nullable());
    }
}
