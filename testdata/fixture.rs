//! Paths of the committed fixtures under `testdata/` (see its README.md), for
//! the crates' tests (included with `#[path]`). A missing fixture fails the
//! test with the file's name; no test skips for want of one.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// `testdata/<rel>`; panics when it does not exist.
pub fn path(rel: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(rel);
    assert!(p.exists(), "fixture {} is missing; it is committed under testdata/ (see testdata/README.md)", p.display());
    p
}

/// One row of a digest table (`file,sha256,bytes,lines`): the sha256, size
/// and line count of a reference output that is not committed itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    pub file: String,
    pub sha256: String,
    pub bytes: u64,
    pub lines: u64,
}

/// Reads the digest table `testdata/<rel>`.
pub fn digests(rel: &str) -> Vec<Digest> {
    let p = path(rel);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("file,sha256,bytes,lines"), "{}: header", p.display());
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f.len(), 4, "{}: {l:?}", p.display());
            Digest {
                file: f[0].to_string(),
                sha256: f[1].to_string(),
                bytes: f[2].parse().unwrap(),
                lines: f[3].parse().unwrap(),
            }
        })
        .collect()
}

/// The digest of `file` in the table `testdata/<rel>`.
pub fn digest(rel: &str, file: &str) -> Digest {
    digests(rel).into_iter().find(|d| d.file == file).unwrap_or_else(|| panic!("{rel} has no row for {file}"))
}
