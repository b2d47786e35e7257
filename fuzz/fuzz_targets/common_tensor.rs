//! What the three tensor-file targets share: a per-process scratch dir and the
//! checks run on every input once it is on disk.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use tensor_store::{StoreError, TensorReader, read_tensor, read_tensor_header};

#[path = "scratch.rs"]
mod scratch;

/// This process's scratch dir (see [`scratch::scratch_dir`]).
fn dir() -> &'static tempfile::TempDir {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(scratch::scratch_dir)
}

/// Writes `bytes` as `fuzz.<ext>` in the scratch dir and returns its path.
pub fn put(ext: &str, bytes: &[u8]) -> PathBuf {
    let path = dir().path().join(format!("fuzz.{ext}"));
    std::fs::write(&path, bytes).expect("write the fuzz tensor");
    path
}

#[track_caller]
fn names_file(e: &StoreError, path: &Path) {
    let msg = e.to_string();
    assert!(msg.contains(&path.display().to_string()), "error does not name the file: {msg}");
}

/// Opens `path` and reads it every way the reader offers. Must never panic;
/// errors must name the file. When it opens, also checks that:
/// - the spec's checked sizes agree with the reader's and the data lies in the file;
/// - `read_row` of every row, `read_rows` of all rows, `for_each_row` and
///   `read_tensor` return the same bytes;
/// - a row past the end, a wrong buffer and a part past the row's end are
///   errors naming the file; `read_tensor_header` agrees with the reader.
pub fn check(path: &Path) {
    let file_len = std::fs::metadata(path).expect("metadata").len();
    let r = match TensorReader::open(path) {
        Ok(r) => r,
        Err(e) => {
            names_file(&e, path);
            let whole = read_tensor(path).expect_err("read_tensor opened what TensorReader refused");
            assert_eq!(whole.to_string(), e.to_string());
            return;
        }
    };
    let (rows, rb) = (r.rows(), r.row_bytes());
    assert_eq!(r.spec().rows(), Some(rows));
    assert_eq!(r.spec().row_bytes(), Some(rb));
    assert_eq!(r.spec().data_len(), Some(r.data_len()));
    assert!(r.data_offset() + r.data_len() <= file_len, "data past the end of the file");
    assert!(rows as u64 <= file_len, "{rows} rows in a {file_len}-byte file");

    let mut all = vec![0u8; r.data_len() as usize];
    r.read_rows(0..rows, &mut all).expect("read_rows of all rows");
    // Only a row of a tensor that has rows is sure to fit in memory: the rows
    // of an empty tensor may claim terabytes.
    let mut row = if rows > 0 { vec![0u8; rb] } else { Vec::new() };
    for i in 0..rows {
        r.read_row(i, &mut row).expect("read_row");
        assert_eq!(row, all[i * rb..(i + 1) * rb], "row {i}");
    }
    let mut next = 0;
    r.for_each_row(|i, bytes| {
        assert_eq!(i, next);
        assert_eq!(bytes, &all[i * rb..(i + 1) * rb], "streamed row {i}");
        next += 1;
        Ok(())
    })
    .expect("for_each_row");
    assert_eq!(next, rows);
    let t = read_tensor(path).expect("read_tensor after TensorReader::open");
    assert_eq!((&t.spec, &t.data), (r.spec(), &all));
    assert_eq!(read_tensor_header(path).expect("read_tensor_header"), (r.spec().clone(), r.data_offset()));

    if rows > 0 {
        let skip = rb / 2;
        let mut part = vec![0u8; rb - skip];
        r.read_row_part(rows - 1, skip, &mut part).expect("read_row_part");
        assert_eq!(part, all[(rows - 1) * rb + skip..rows * rb]);
        names_file(&r.read_row_part(0, skip, &mut vec![0u8; rb - skip + 1]).unwrap_err(), path);
        names_file(&r.read_row(0, &mut vec![0u8; rb + 1]).unwrap_err(), path);
    }
    names_file(&r.read_row(rows, &mut row).unwrap_err(), path);
    names_file(&r.read_rows(0..rows + 1, &mut []).unwrap_err(), path);
}
