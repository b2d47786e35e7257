//! gzip in and out of memory, for the tables tests write or edit. MIMIC ships
//! its tables gzipped; the readers under test must see a valid member.

use std::io::{Read, Write};
use std::path::Path;

use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;

/// `bytes` as one gzip member.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Writes `bytes` gzipped to `path`.
#[track_caller]
pub fn write_gz(path: &Path, bytes: &[u8]) {
    std::fs::write(path, gzip(bytes)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// The inflated bytes of the gzip file `path` (every member).
#[track_caller]
pub fn gunzip(path: &Path) -> Vec<u8> {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    MultiGzDecoder::new(f).read_to_end(&mut out).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    out
}

/// The bytes of `path`, inflated when its name ends in `.gz`.
#[track_caller]
pub fn read_maybe_gz(path: &Path) -> Vec<u8> {
    if path.extension().is_some_and(|e| e == "gz") {
        gunzip(path)
    } else {
        std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip_and_empty_input() {
        let dir = crate::tempdir();
        for (name, bytes) in [("a.csv.gz", &b"a,b\n1,2\n"[..]), ("empty.gz", b"")] {
            let p = dir.path().join(name);
            super::write_gz(&p, bytes);
            assert_eq!(super::gunzip(&p), bytes);
            assert_eq!(super::read_maybe_gz(&p), bytes);
        }
        let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let p = dir.path().join("big.gz");
        std::fs::write(&p, super::gzip(&big)).unwrap();
        assert_eq!(super::gunzip(&p), big);
    }
}
