//! The per-process scratch directory the file-reading targets write their
//! input to.

/// A new scratch dir, on tmpfs when there is one: rewriting a file on ext4
/// costs ~3.5 ms (its `auto_da_alloc` flushes a truncated file on close),
/// ~70× more than on `/dev/shm`, and would cap a target at ~100 exec/s.
/// libFuzzer exits without running destructors, so each run leaves one small
/// `symile-fuzz-*` directory behind.
pub fn scratch_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("symile-fuzz-")
        .tempdir_in("/dev/shm")
        .or_else(|_| tempfile::tempdir())
        .expect("a scratch dir for the fuzz input")
}
