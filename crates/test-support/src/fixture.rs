//! Paths of the committed fixtures under `testdata/` (see its README.md).
//!
//! Every parity test reads its reference data from there or from its crate's
//! `tests/data/`, so `cargo test --workspace` checks everything on a fresh
//! clone. A missing fixture fails the test with the file's name; no test
//! skips for want of one.

use std::path::{Path, PathBuf};

/// The repository's `testdata/` directory.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

/// `testdata/<rel>`; panics when it does not exist.
#[track_caller]
pub fn path(rel: &str) -> PathBuf {
    let p = root().join(rel);
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
#[track_caller]
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
#[track_caller]
pub fn digest(rel: &str, file: &str) -> Digest {
    digests(rel).into_iter().find(|d| d.file == file).unwrap_or_else(|| panic!("{rel} has no row for {file}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_committed_fixture_is_found() {
        assert!(super::path("README.md").is_file());
    }

    #[test]
    #[should_panic(expected = "fixture")]
    fn a_missing_fixture_fails_loudly() {
        super::path("no/such/fixture");
    }
}
