//! The one way this project writes an output file.
//!
//! Every output goes to a temporary file in the destination directory, is
//! fsynced, and is renamed over the final name only when it is complete. A run
//! that fails or is killed therefore never leaves a file that looks finished
//! but is not, and never touches a file the user had until the new one is
//! whole. Temporary names share one recognisable prefix so the next run that
//! holds the directory's lock can remove what a killed run left behind
//! ([`crate::DirLock::remove_stale_temps`]). Several files that must change
//! together go through a [`crate::Transaction`] instead of [`AtomicFile::commit`].

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Prefix of every temporary file this project creates next to an output.
pub const TEMP_PREFIX: &str = ".symile-tmp.";

/// Errors of the atomic writer; each names the path involved.
#[derive(Debug, thiserror::Error)]
pub enum AtomicError {
    /// The temporary file could not be created.
    #[error("cannot create a temporary file in {dir}")]
    Create { dir: PathBuf, source: io::Error },
    /// Writing, flushing or syncing failed.
    #[error("cannot write {path}")]
    Write { path: PathBuf, source: io::Error },
    /// The final rename failed.
    #[error("cannot move the finished file into place as {path}")]
    Rename { path: PathBuf, source: io::Error },
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A file being written; it becomes visible under its final name only on
/// [`AtomicFile::commit`]. Dropping it without committing deletes the temporary.
#[derive(Debug)]
pub struct AtomicFile {
    file: Option<File>,
    temp: PathBuf,
    dest: PathBuf,
}

impl AtomicFile {
    /// Starts writing `dest`; the parent directory must exist.
    pub fn create(dest: impl AsRef<Path>) -> Result<Self, AtomicError> {
        let dest = dest.as_ref().to_path_buf();
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!("{TEMP_PREFIX}{}.{n}.{name}", std::process::id()));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(|source| AtomicError::Create { dir: dir.clone(), source })?;
        Ok(Self { file: Some(file), temp, dest })
    }

    /// The open temporary file, for positioned writes (`FileExt::write_all_at`)
    /// or `set_len`.
    pub fn file(&self) -> &File {
        self.file.as_ref().expect("file is present until commit")
    }

    /// The final path this file will have.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// The temporary path being written.
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// Wraps an I/O error with the destination path.
    pub fn write_error(&self, source: io::Error) -> AtomicError {
        AtomicError::Write { path: self.dest.clone(), source }
    }

    /// Flushes, fsyncs and renames the file into place. If the rename fails
    /// the temporary is removed: nothing of this file is left behind.
    pub fn commit(self) -> Result<(), AtomicError> {
        let (temp, dest) = self.into_synced()?;
        if let Err(source) = fs::rename(&temp, &dest) {
            let _ = fs::remove_file(&temp);
            return Err(AtomicError::Rename { path: dest, source });
        }
        sync_parent(&dest);
        Ok(())
    }

    /// Fsyncs the data and closes the file without renaming it, handing the
    /// temporary over to the caller (a [`crate::Transaction`]), which from
    /// now on owns it: dropping the returned paths deletes nothing.
    pub(crate) fn into_synced(mut self) -> Result<(PathBuf, PathBuf), AtomicError> {
        let file = self.file.take().expect("file is present until commit");
        let synced = file.sync_all();
        drop(file);
        let temp = std::mem::take(&mut self.temp);
        let dest = std::mem::take(&mut self.dest);
        if let Err(source) = synced {
            let _ = fs::remove_file(&temp);
            return Err(AtomicError::Write { path: dest, source });
        }
        Ok((temp, dest))
    }
}

/// Makes a rename in `path`'s directory durable; failure here is not worth
/// failing the run (the data itself is already synced).
pub(crate) fn sync_parent(path: &Path) {
    if let Some(dir) = path.parent() {
        sync_dir(dir);
    }
}

/// Makes the renames in `dir` durable (best effort, see [`sync_parent`]).
pub(crate) fn sync_dir(dir: &Path) {
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.as_mut().expect("file is present until commit").write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.as_mut().expect("file is present until commit").flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// Writes `bytes` to `dest` atomically.
pub fn write_atomic(dest: impl AsRef<Path>, bytes: &[u8]) -> Result<(), AtomicError> {
    let mut f = AtomicFile::create(dest)?;
    f.write_all(bytes).map_err(|e| f.write_error(e))?;
    f.commit()
}

/// Writes `dest` atomically through a buffered writer filled by `fill`.
pub fn write_atomic_with<E>(
    dest: impl AsRef<Path>,
    fill: impl FnOnce(&mut BufWriter<&mut AtomicFile>) -> Result<(), E>,
) -> Result<(), E>
where
    E: From<AtomicError> + From<io::Error>,
{
    let mut f = AtomicFile::create(dest)?;
    {
        let mut w = BufWriter::with_capacity(1 << 20, &mut f);
        fill(&mut w)?;
        w.flush()?;
    }
    f.commit()?;
    Ok(())
}

/// Removes temporary files left in `dir` by a run that was killed, returning
/// their paths. Only names starting with [`TEMP_PREFIX`] are touched. Only a
/// run holding the directory's lock may call this (through
/// [`crate::DirLock::remove_stale_temps`]): another run's temporaries are live.
pub(crate) fn remove_stale_temps(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(removed),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) && entry.file_type()?.is_file() {
            fs::remove_file(entry.path())?;
            removed.push(entry.path());
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_makes_file_visible_and_drop_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.csv");
        fs::write(&dest, b"old").unwrap();
        {
            let mut f = AtomicFile::create(&dest).unwrap();
            f.write_all(b"half").unwrap();
            // dropped without commit: the old file is untouched, no temp remains
        }
        assert_eq!(fs::read(&dest).unwrap(), b"old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);

        write_atomic(&dest, b"new").unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"new");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn stale_temps_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(format!("{TEMP_PREFIX}1.0.x.pt")), b"junk").unwrap();
        fs::write(dir.path().join("user_notes.txt"), b"mine").unwrap();
        let removed = remove_stale_temps(dir.path()).unwrap();
        assert_eq!(removed.len(), 1);
        assert!(dir.path().join("user_notes.txt").exists());
    }

    #[test]
    fn missing_directory_is_a_named_error() {
        let err = AtomicFile::create("/nonexistent-dir-xyz/out.csv").unwrap_err();
        assert_eq!(err.to_string(), "cannot create a temporary file in /nonexistent-dir-xyz");
        // The cause is the source, not part of the message.
        let io = std::error::Error::source(&err).and_then(|s| s.downcast_ref::<io::Error>()).expect("an I/O source");
        assert_eq!(io.kind(), io::ErrorKind::NotFound);
    }
}
