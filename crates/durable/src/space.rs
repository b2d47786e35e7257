//! Free space, checked before the work instead of discovered when the disk fills.
//!
//! Stage 3 knows the size of every file it will write from the row counts
//! alone; at the published size that is about 33 GB, written over minutes.
//! Comparing with the filesystem's free space first turns a disk that would
//! fill part-way into an error in the first second.

use std::io;
use std::path::Path;

use crate::DurableError;

/// Bytes an unprivileged process may still write on the filesystem holding `dir`.
pub fn available_space(dir: &Path) -> io::Result<u64> {
    let st = rustix::fs::statvfs(dir).map_err(io::Error::from)?;
    Ok(st.f_bavail.saturating_mul(st.f_frsize))
}

/// Fails with [`DurableError::NoSpace`] unless `needed` bytes fit under
/// `dir`. `free` replaces the filesystem's figure when given (for tests and
/// for users who know better, e.g. on a filesystem that misreports).
pub fn ensure_space(dir: &Path, needed: u64, free: Option<u64>) -> Result<(), DurableError> {
    let free = match free {
        Some(f) => f,
        None => available_space(dir).map_err(|source| DurableError::Io { path: dir.to_path_buf(), source })?,
    };
    if needed > free {
        return Err(DurableError::NoSpace { dir: dir.to_path_buf(), needed, free });
    }
    Ok(())
}

/// A size for people: `33.1 GB`, `512.0 MB`, `900 bytes` (decimal units, as `df -H`).
pub fn human_bytes(n: u64) -> String {
    const UNITS: [(&str, f64); 4] = [("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)];
    for (unit, size) in UNITS {
        if n as f64 >= size {
            return format!("{:.1} {unit}", n as f64 / size);
        }
    }
    format!("{n} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_space_names_the_directory_and_both_sizes() {
        let err = ensure_space(Path::new("/data/out"), 33_100_000_000, Some(20_400_000_000)).unwrap_err();
        assert_eq!(err.to_string(), "needs 33.1 GB under /data/out, 20.4 GB free");
        assert!(ensure_space(Path::new("/data/out"), 10, Some(10)).is_ok());
    }

    #[test]
    fn the_real_filesystem_reports_some_space() {
        let dir = tempfile::tempdir().unwrap();
        assert!(available_space(dir.path()).unwrap() > 0);
        assert_eq!(human_bytes(999), "999 bytes");
        assert_eq!(human_bytes(1_500_000), "1.5 MB");
    }
}
