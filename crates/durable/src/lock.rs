//! One writer per output directory.
//!
//! Two runs writing into the same directory destroy each other's work: the
//! second one's clean-up removes the first one's live temporary files, and
//! their `SHA256SUMS.txt` updates race. So every run that writes into a
//! directory first takes an exclusive advisory lock (`flock`) on a lock file
//! inside it and keeps it for the whole run. The kernel releases the lock
//! when the process ends, however it ends, so a killed run never leaves a
//! stale lock behind; the file itself stays (deleting a lock file races with
//! the next run opening it).
//!
//! The lock is re-entrant within a process: `build` holds its output
//! directory and then calls the stages, which lock the same directory again
//! and share the holder's lock instead of conflicting with it.
//!
//! Taking the lock also completes a commit an interrupted run left half done
//! ([`crate::commit::recover`]), before anything else touches the directory.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::DurableError;

/// Name of the lock file inside a locked directory.
pub const LOCK_FILE: &str = ".symile-lock";

/// Who holds a directory: what the lock file records for the next run's message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// Process id of the holder.
    pub pid: u32,
    /// The holder's command line.
    pub command: String,
    /// When the holder took the lock (RFC 3339, UTC).
    pub started: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {}, `{}`, started {}", self.pid, self.command, self.started)
    }
}

/// The lock of one directory, shared by every [`DirLock`] of this process on it.
#[derive(Debug)]
struct Held {
    dir: PathBuf,
    /// Whether taking the lock created `dir`.
    created: bool,
    /// Keeps the `flock`: closing the file releases it.
    _file: File,
}

impl Drop for Held {
    /// A run that created its output directory and then failed before
    /// writing anything leaves no trace: not even the directory.
    fn drop(&mut self) {
        if !self.created {
            return;
        }
        let only_lock = fs::read_dir(&self.dir)
            .map(|entries| entries.filter_map(Result::ok).all(|e| e.file_name() == LOCK_FILE))
            .unwrap_or(false);
        if only_lock {
            let _ = fs::remove_file(self.dir.join(LOCK_FILE));
            let _ = fs::remove_dir(&self.dir);
        }
    }
}

/// Directories this process holds, by canonical path.
fn registry() -> &'static Mutex<HashMap<PathBuf, Weak<Held>>> {
    static HELD: OnceLock<Mutex<HashMap<PathBuf, Weak<Held>>>> = OnceLock::new();
    HELD.get_or_init(Default::default)
}

/// Proof that this process is the only writer of a directory. Clones and
/// re-entrant acquisitions share one lock; it is released when the last is dropped.
#[derive(Debug, Clone)]
pub struct DirLock {
    held: Arc<Held>,
}

impl DirLock {
    /// Creates `dir` if needed and locks it for this process, or fails at
    /// once with [`DurableError::Busy`] naming the other writer. Completes a
    /// commit an interrupted run left pending in `dir`.
    pub fn acquire(dir: &Path) -> Result<Self, DurableError> {
        let io = |source| DurableError::Io { path: dir.to_path_buf(), source };
        let created = !dir.is_dir();
        fs::create_dir_all(dir).map_err(io)?;
        let key = fs::canonicalize(dir).map_err(io)?;
        let mut map = registry().lock().unwrap_or_else(|e| e.into_inner());
        if let Some(held) = map.get(&key).and_then(Weak::upgrade) {
            return Ok(Self { held });
        }
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|source| DurableError::Io { path: path.clone(), source })?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(DurableError::Busy { dir: dir.to_path_buf(), holder: read_holder(&mut file) });
            }
            Err(TryLockError::Error(source)) => return Err(DurableError::Io { path, source }),
        }
        let holder = Holder {
            pid: std::process::id(),
            command: std::env::args().collect::<Vec<_>>().join(" "),
            started: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        };
        let record = serde_json::to_string(&holder).expect("a holder serialises") + "\n";
        let written = file
            .set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(record.as_bytes()));
        written.map_err(|source| DurableError::Io { path: path.clone(), source })?;
        let held = Arc::new(Held { dir: dir.to_path_buf(), created, _file: file });
        map.insert(key, Arc::downgrade(&held));
        drop(map);
        let lock = Self { held };
        crate::commit::recover(&lock)?;
        Ok(lock)
    }

    /// The locked directory, as given to [`DirLock::acquire`].
    pub fn dir(&self) -> &Path {
        &self.held.dir
    }

    /// Removes the temporaries that a killed run left in `dir` (the locked
    /// directory or a folder inside it) and returns their paths. Safe only
    /// because this process holds the lock: no other run's file is live.
    pub fn remove_stale_temps(&self, dir: &Path) -> Result<Vec<PathBuf>, DurableError> {
        crate::atomic::remove_stale_temps(dir).map_err(|source| DurableError::Io { path: dir.to_path_buf(), source })
    }
}

/// What the lock file says about its holder; `None` if it cannot be read
/// (the holder may not have written it yet).
fn read_holder(file: &mut File) -> Option<Holder> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(text.trim()).ok()
}

/// Who holds `dir`'s lock right now, if anyone (for `verify` and messages).
pub fn holder_of(dir: &Path) -> io::Result<Option<Holder>> {
    let path = dir.join(LOCK_FILE);
    // Read-only: a published dataset may sit on a read-only mount.
    let mut file = match OpenOptions::new().read(true).open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    match file.try_lock_shared() {
        Ok(()) => Ok(None),
        Err(TryLockError::WouldBlock) => Ok(Some(read_holder(&mut file).unwrap_or(Holder {
            pid: 0,
            command: "(unknown)".into(),
            started: "(unknown)".into(),
        }))),
        Err(TryLockError::Error(e)) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_open_file_description_is_refused_and_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let first = DirLock::acquire(dir.path()).unwrap();
        // A second, independent flock on the same file (as another process would take).
        let mut other = OpenOptions::new().read(true).write(true).open(dir.path().join(LOCK_FILE)).unwrap();
        assert!(matches!(other.try_lock(), Err(TryLockError::WouldBlock)));
        let holder = read_holder(&mut other).unwrap();
        assert_eq!(holder.pid, std::process::id());
        assert_eq!(holder_of(dir.path()).unwrap().map(|h| h.pid), Some(std::process::id()));
        drop(first);
        assert!(other.try_lock().is_ok(), "dropping the last DirLock releases the flock");
    }

    #[test]
    fn reacquiring_in_the_same_process_shares_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let a = DirLock::acquire(dir.path()).unwrap();
        let b = DirLock::acquire(&dir.path().join(".")).unwrap();
        assert!(Arc::ptr_eq(&a.held, &b.held));
        drop(a);
        assert!(holder_of(dir.path()).unwrap().is_some(), "still held through b");
        drop(b);
        assert!(holder_of(dir.path()).unwrap().is_none());
    }

    #[test]
    fn a_directory_the_lock_created_goes_if_nothing_was_written() {
        let base = tempfile::tempdir().unwrap();
        let (unused, used) = (base.path().join("unused"), base.path().join("used"));
        drop(DirLock::acquire(&unused).unwrap());
        assert!(!unused.exists());
        let lock = DirLock::acquire(&used).unwrap();
        fs::write(used.join("out.csv"), b"x").unwrap();
        drop(lock);
        assert!(used.join("out.csv").exists() && used.join(LOCK_FILE).exists());
        // An existing directory is never removed, even if it held nothing.
        let existing = tempfile::tempdir().unwrap();
        drop(DirLock::acquire(existing.path()).unwrap());
        assert!(existing.path().is_dir());
    }

    #[test]
    fn stale_temps_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let lock = DirLock::acquire(dir.path()).unwrap();
        fs::write(dir.path().join(format!("{}1.0.x.pt", crate::TEMP_PREFIX)), b"junk").unwrap();
        fs::write(dir.path().join("user_notes.txt"), b"mine").unwrap();
        let removed = lock.remove_stale_temps(dir.path()).unwrap();
        assert_eq!(removed.len(), 1);
        assert!(dir.path().join("user_notes.txt").exists());
        assert!(dir.path().join(LOCK_FILE).exists());
    }
}
