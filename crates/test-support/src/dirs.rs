//! Directories for tests to write in.
//!
//! [`tempdir`] is `tempfile`'s, removed when dropped, made under the target
//! directory rather than the system's: on these machines creating a file in
//! the long-lived `/tmp` took 0.9 ms of system time against 0.03 ms in a
//! fresh checkout's `target/` (ext4; measured with 1,500 files each), and
//! the tests create tens of thousands (synthetic MIMIC trees). A static is never
//! dropped, though, so a `TempDir` holding a fixture shared through a
//! `OnceLock` would be left behind by every run (gigabytes under /tmp for the
//! end-to-end fixtures). [`ProcessDir`] lives under the target directory
//! instead, named after the process, and each new one removes those whose
//! process has ended.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

pub use tempfile::TempDir;

/// A fresh temporary directory, removed when dropped; panics with the reason
/// when it cannot be made.
#[track_caller]
pub fn tempdir() -> TempDir {
    match target_tmp() {
        Some(dir) => tempdir_in(&dir),
        None => tempfile::tempdir().unwrap_or_else(|e| panic!("cannot make a temporary directory: {e}")),
    }
}

/// `<target>/tmp/test-temp` for a test binary at `<target>/<profile>/deps/`
/// (where cargo puts every test binary), else `None`.
fn target_tmp() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let deps = exe.parent()?;
    if deps.file_name()? != "deps" {
        return None;
    }
    Some(deps.parent()?.parent()?.join("tmp").join("test-temp"))
}

/// A fresh temporary directory below `dir` (created if need be).
#[track_caller]
pub fn tempdir_in(dir: &Path) -> TempDir {
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    tempfile::tempdir_in(dir).unwrap_or_else(|e| panic!("cannot make a temporary directory in {}: {e}", dir.display()))
}

/// A directory that lives as long as this test process, for fixtures held
/// in statics: `<base>/test-fixtures/<pid>-<name>-<n>`. Creating one removes
/// the directories of processes that have ended; a running process's,
/// another `cargo test`'s included, are left alone.
#[derive(Debug)]
pub struct ProcessDir(PathBuf);

/// A [`ProcessDir`] under the calling test crate's `CARGO_TARGET_TMPDIR`
/// (cargo sets it only when it compiles integration tests, hence a macro).
#[macro_export]
macro_rules! process_dir {
    ($name:expr) => {
        $crate::ProcessDir::new_in(::std::path::Path::new(env!("CARGO_TARGET_TMPDIR")), $name)
    };
}

impl ProcessDir {
    /// A fresh `<base>/test-fixtures/<pid>-<name>-<n>`; see
    /// [`process_dir!`](crate::process_dir) for the usual `base`.
    pub fn new_in(base: &Path, name: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let base = base.join("test-fixtures");
        std::fs::create_dir_all(&base).unwrap_or_else(|e| panic!("{}: {e}", base.display()));
        for e in std::fs::read_dir(&base).unwrap_or_else(|e| panic!("{}: {e}", base.display())).flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let pid = name.split('-').next().unwrap_or_default();
            if !pid.is_empty() && !Path::new("/proc").join(pid).exists() {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = base.join(format!("{}-{name}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::ProcessDir;

    #[test]
    fn process_dirs_are_distinct_and_named_after_the_process() {
        let base = super::tempdir();
        let (a, b) = (ProcessDir::new_in(base.path(), "x"), ProcessDir::new_in(base.path(), "x"));
        assert_ne!(a.path(), b.path());
        let pid = std::process::id().to_string();
        assert!(a.path().file_name().unwrap().to_string_lossy().starts_with(&format!("{pid}-x-")));
        // A directory of a process that has ended (no such pid) is removed by the next one.
        let stale = base.path().join("test-fixtures").join(format!("{}-old-0", u32::MAX));
        std::fs::create_dir_all(&stale).unwrap();
        let _c = ProcessDir::new_in(base.path(), "y");
        assert!(!stale.exists() && a.path().exists());
    }
}
