//! Joining relative paths that come from tables under a data root.
//!
//! `cxr_path` and `ecg_path` values are read from CSV files the user gave us.
//! A value that is absolute or climbs out of its root with `..` would make the
//! tool read (and report on) files outside the dataset, so every such path goes
//! through [`safe_join`], which rejects them with the table and row named.

use std::path::{Component, Path, PathBuf};

/// A table path that is absolute or leaves its data root.
#[derive(Debug, thiserror::Error)]
#[error("{table}:{line}: path {value:?} must be relative to {root} and stay inside it ({why})")]
pub struct UnsafePath {
    /// The table the value came from.
    pub table: PathBuf,
    /// 1-based line of the row in that table (header is line 1).
    pub line: u64,
    /// The offending value.
    pub value: String,
    /// The data root it was to be joined to.
    pub root: PathBuf,
    /// What is wrong with it.
    pub why: &'static str,
}

/// Checks that `relative` is a plain relative path (no root, no prefix, no
/// `..`), without touching the file system.
pub fn check_relative(relative: &str) -> Result<(), &'static str> {
    if relative.is_empty() {
        return Err("empty path");
    }
    for c in Path::new(relative).components() {
        match c {
            Component::Normal(_) | Component::CurDir => {}
            Component::ParentDir => return Err("contains '..'"),
            Component::RootDir | Component::Prefix(_) => return Err("absolute path"),
        }
    }
    Ok(())
}

/// Joins a table's relative path to `root`, rejecting absolute paths and `..`.
pub fn safe_join(root: &Path, relative: &str, table: &Path, line: u64) -> Result<PathBuf, UnsafePath> {
    check_relative(relative).map_err(|why| UnsafePath {
        table: table.to_path_buf(),
        line,
        value: relative.to_string(),
        root: root.to_path_buf(),
        why,
    })?;
    Ok(root.join(relative))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_relative_paths_join() {
        let p = safe_join(Path::new("/data/cxr"), "files/p10/p1/s2/x.jpg", Path::new("t.csv"), 2).unwrap();
        assert_eq!(p, Path::new("/data/cxr/files/p10/p1/s2/x.jpg"));
    }

    #[test]
    fn escapes_and_absolutes_are_rejected_with_context() {
        for bad in ["/etc/passwd", "files/../../etc/passwd", "..", ""] {
            let err = safe_join(Path::new("/data"), bad, Path::new("train.csv"), 7).unwrap_err();
            let msg = err.to_string();
            assert!(msg.starts_with("train.csv:7:"), "{msg}");
        }
    }
}
