//! Outputs that change together: all of a stage's files replace the previous
//! ones, or none do.
//!
//! Renaming files one by one is not enough: a run killed between two renames
//! leaves a mix of old and new outputs that looks complete. A
//! [`Transaction`] therefore works in two steps:
//!
//! 1. every file is written to its temporary and fsynced (and, unless turned
//!    off, hashed into the directory's `SHA256SUMS.txt`, itself one more
//!    staged file); then a **journal** listing every `temporary → final name`
//!    pair is written atomically at the root of the locked directory. Until
//!    the journal exists, a failure or a kill changes nothing: the
//!    temporaries are deleted (or removed as stale by the next run).
//! 2. the renames run. Once the journal exists the commit is decided: every
//!    temporary it names is complete and durable. If the process dies or a
//!    rename fails part-way, the next run that locks the directory rolls the
//!    commit forward from the journal ([`recover`]) before doing anything
//!    else, so the directory always ends up all-new (or stays all-old).

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::atomic::{AtomicFile, sync_dir, write_atomic};
use crate::sums::{Digest, SUMS_FILE, Sums, sha256_file};
use crate::{DirLock, DurableError};

/// Name of the journal of a commit in progress, at the root of the locked directory.
pub const JOURNAL_FILE: &str = ".symile-commit.json";

/// The environment variable that, in a build with the `fault-injection`
/// feature only, makes each commit sleep that many milliseconds between two
/// renames, so that a test can kill the process at exactly that point.
#[cfg(feature = "fault-injection")]
pub const PAUSE_BETWEEN_RENAMES_ENV: &str = "SYMILE_MIMIC_TEST_COMMIT_PAUSE_MS";

/// The pause between two renames of this commit: none, unless this is a
/// `fault-injection` build and [`PAUSE_BETWEEN_RENAMES_ENV`] asks for one.
/// Read at each commit, so nothing outlives the call.
fn pause_between_renames() -> Option<std::time::Duration> {
    #[cfg(feature = "fault-injection")]
    {
        let ms: u64 = std::env::var(PAUSE_BETWEEN_RENAMES_ENV).ok()?.parse().ok()?;
        Some(std::time::Duration::from_millis(ms)).filter(|d| !d.is_zero())
    }
    #[cfg(not(feature = "fault-injection"))]
    None
}

/// Whether a commit keeps the directory's `SHA256SUMS.txt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Checksums {
    /// Hash every committed file and record it in `SHA256SUMS.txt`.
    #[default]
    Update,
    /// Do not hash. Entries of the replaced files are removed from an existing
    /// `SHA256SUMS.txt`, so that it never vouches for bytes it did not see.
    Skip,
}

#[derive(Debug)]
struct Staged {
    file: AtomicFile,
    digest: Option<Digest>,
}

/// Files that are committed together; see the module documentation.
#[derive(Debug)]
pub struct Transaction {
    lock: DirLock,
    checksums: Checksums,
    staged: Vec<Staged>,
}

/// One `temporary → final name` pair of the journal, relative to the locked directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    temp: String,
    dest: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Journal {
    entries: Vec<Entry>,
}

/// Temporaries that are deleted unless the journal took them over.
struct Pending(Vec<PathBuf>);

impl Drop for Pending {
    fn drop(&mut self) {
        for t in &self.0 {
            let _ = fs::remove_file(t);
        }
    }
}

impl Transaction {
    /// A transaction in the directory `lock` holds; every staged file must lie inside it.
    pub fn new(lock: &DirLock, checksums: Checksums) -> Self {
        Self { lock: lock.clone(), checksums, staged: Vec::new() }
    }

    /// Adds a completely written file; it is hashed at commit if needed.
    pub fn stage(&mut self, file: AtomicFile) {
        self.staged.push(Staged { file, digest: None });
    }

    /// Adds a completely written file whose SHA-256 the caller already has
    /// (computed in parallel, or while the file was still in the page cache).
    pub fn stage_hashed(&mut self, file: AtomicFile, digest: Digest) {
        self.staged.push(Staged { file, digest: Some(digest) });
    }

    /// Whether this transaction hashes its files.
    pub fn checksums(&self) -> Checksums {
        self.checksums
    }

    /// Puts every staged file in place together (see the module
    /// documentation) and returns their final paths, in staging order.
    pub fn commit(self) -> Result<Vec<PathBuf>, DurableError> {
        let root = self.lock.dir().to_path_buf();
        let mut pending = Pending(Vec::new());
        let mut entries: Vec<(PathBuf, PathBuf, String)> = Vec::new();
        let mut digests = Vec::new();
        for s in self.staged {
            let (temp, dest) = s.file.into_synced()?;
            pending.0.push(temp.clone());
            let rel = relative_to(&root, &dest)?;
            digests.push((rel.clone(), s.digest));
            entries.push((temp, dest, rel));
        }
        let sums_path = root.join(SUMS_FILE);
        let old = Sums::load(&sums_path)?;
        if self.checksums == Checksums::Update || old.is_some() {
            let mut sums = old.unwrap_or_default();
            for ((rel, digest), (temp, ..)) in digests.iter().zip(&entries) {
                match (self.checksums, digest) {
                    (Checksums::Update, Some(d)) => sums.set(rel, *d)?,
                    (Checksums::Update, None) => {
                        let d = sha256_file(temp, &mut |_| true)
                            .map_err(|source| DurableError::Io { path: temp.clone(), source })?;
                        sums.set(rel, d)?;
                    }
                    (Checksums::Skip, _) => sums.remove(rel),
                }
            }
            let mut f = AtomicFile::create(&sums_path)?;
            std::io::Write::write_all(&mut f, sums.render().as_bytes()).map_err(|e| f.write_error(e))?;
            let (temp, dest) = f.into_synced()?;
            pending.0.push(temp.clone());
            entries.push((temp, dest, SUMS_FILE.to_string()));
        }

        let journal = Journal {
            entries: entries
                .iter()
                .map(|(temp, _, rel)| Ok(Entry { temp: relative_to(&root, temp)?, dest: rel.clone() }))
                .collect::<Result<_, DurableError>>()?,
        };
        let journal_path = root.join(JOURNAL_FILE);
        let text = serde_json::to_string_pretty(&journal).expect("a journal serialises") + "\n";
        write_atomic(&journal_path, text.as_bytes())?;
        // The commit is decided: the journal now owns the temporaries.
        pending.0.clear();

        let pause = pause_between_renames();
        for (i, (temp, dest, _)) in entries.iter().enumerate() {
            if let Some(pause) = pause.filter(|_| i > 0) {
                std::thread::sleep(pause);
            }
            fs::rename(temp, dest).map_err(|source| DurableError::CommitIncomplete {
                dest: dest.clone(),
                journal: journal_path.clone(),
                source,
            })?;
        }
        finish(&root, &journal_path, entries.iter().map(|(_, d, _)| d.as_path()))?;
        Ok(entries.into_iter().filter(|(.., rel)| rel != SUMS_FILE).map(|(_, dest, _)| dest).collect())
    }
}

/// Syncs the directories of the renamed files and removes the journal.
fn finish<'a>(root: &Path, journal: &Path, dests: impl Iterator<Item = &'a Path>) -> Result<(), DurableError> {
    let mut dirs: Vec<&Path> = dests.filter_map(Path::parent).collect();
    dirs.sort();
    dirs.dedup();
    for d in dirs {
        sync_dir(d);
    }
    fs::remove_file(journal).map_err(|source| DurableError::Io { path: journal.to_path_buf(), source })?;
    sync_dir(root);
    Ok(())
}

/// `path` relative to `root`, with `/` separators; both must exist up to
/// `path`'s parent (the final component need not exist).
fn relative_to(root: &Path, path: &Path) -> Result<String, DurableError> {
    let outside = || DurableError::OutsideDir { path: path.to_path_buf(), dir: root.to_path_buf() };
    let canon = |p: &Path| fs::canonicalize(p).map_err(|source| DurableError::Io { path: p.to_path_buf(), source });
    let root_c = canon(root)?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let full = canon(parent)?.join(path.file_name().ok_or_else(outside)?);
    let rel = full.strip_prefix(&root_c).map_err(|_| outside())?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_str().map(str::to_string).ok_or_else(outside))
        .collect::<Result<_, _>>()?;
    if parts.is_empty() {
        return Err(outside());
    }
    Ok(parts.join("/"))
}

/// Rolls forward a commit that an interrupted run left in `lock`'s
/// directory: every temporary the journal still names is renamed into place,
/// then the journal is removed. Returns how many files were moved. Called
/// by [`DirLock::acquire`] before any other work in the directory.
pub(crate) fn recover(lock: &DirLock) -> Result<usize, DurableError> {
    let root = lock.dir();
    let path = root.join(JOURNAL_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(source) => return Err(DurableError::Io { path, source }),
    };
    let journal: Journal =
        serde_json::from_str(&text).map_err(|source| DurableError::JournalSyntax { path: path.clone(), source })?;
    let mut moved = 0;
    let mut dests = Vec::new();
    for e in &journal.entries {
        let safe =
            |rel: &str| !rel.is_empty() && !rel.starts_with('/') && !rel.split('/').any(|c| c == ".." || c.is_empty());
        if !safe(&e.temp) || !safe(&e.dest) {
            return Err(DurableError::Journal {
                path: path.clone(),
                what: format!("entry {} -> {} leaves the directory", e.temp, e.dest),
            });
        }
        let (temp, dest) = (root.join(&e.temp), root.join(&e.dest));
        if temp.exists() {
            fs::rename(&temp, &dest).map_err(|source| DurableError::CommitIncomplete {
                dest: dest.clone(),
                journal: path.clone(),
                source,
            })?;
            moved += 1;
        }
        dests.push(dest);
    }
    finish(root, &path, dests.iter().map(PathBuf::as_path))?;
    tracing::info!(
        "completed an interrupted commit in {}: {moved} of {} file(s) moved into place",
        root.display(),
        journal.entries.len()
    );
    Ok(moved)
}

/// Whether `dir` holds a commit that an interrupted run left pending.
pub fn pending_commit(dir: &Path) -> bool {
    dir.join(JOURNAL_FILE).is_file()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn staged(dir: &Path, name: &str, text: &str) -> AtomicFile {
        let mut f = AtomicFile::create(dir.join(name)).unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        v.sort();
        v
    }

    #[test]
    fn commit_replaces_all_files_and_records_their_sums() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("sub")).unwrap();
        fs::write(dir.path().join("a.csv"), "old").unwrap();
        let lock = DirLock::acquire(dir.path()).unwrap();
        let mut tx = Transaction::new(&lock, Checksums::Update);
        tx.stage(staged(dir.path(), "a.csv", "new a"));
        tx.stage(staged(&dir.path().join("sub"), "b.csv", "new b"));
        let done = tx.commit().unwrap();
        assert_eq!(done, vec![dir.path().join("a.csv"), dir.path().join("sub").join("b.csv")]);
        assert_eq!(fs::read_to_string(dir.path().join("a.csv")).unwrap(), "new a");
        let sums = fs::read_to_string(dir.path().join(SUMS_FILE)).unwrap();
        // sha256 of "new a" and "new b" (Python's hashlib), sorted by path, as sha256sum writes them.
        assert_eq!(
            sums,
            "fbb6b30b41732026a9073fd355103e207f6b3c7c1adc086724df42e286417adf  a.csv\n\
             edb4e7dcf53a28bf272c6a678749c3d97e77f7d3f87bd23cb13004ad50fbef65  sub/b.csv\n"
        );
        assert_eq!(names(dir.path()), vec![".symile-lock", "SHA256SUMS.txt", "a.csv", "sub"]);
    }

    #[test]
    fn skip_removes_stale_entries_and_does_not_create_a_sums_file() {
        let dir = tempfile::tempdir().unwrap();
        let lock = DirLock::acquire(dir.path()).unwrap();
        let mut tx = Transaction::new(&lock, Checksums::Skip);
        tx.stage(staged(dir.path(), "a.csv", "x"));
        tx.commit().unwrap();
        assert!(!dir.path().join(SUMS_FILE).exists());

        let mut tx = Transaction::new(&lock, Checksums::Update);
        tx.stage(staged(dir.path(), "a.csv", "x"));
        tx.stage(staged(dir.path(), "b.csv", "y"));
        tx.commit().unwrap();
        let mut tx = Transaction::new(&lock, Checksums::Skip);
        tx.stage(staged(dir.path(), "a.csv", "changed"));
        tx.commit().unwrap();
        let sums = fs::read_to_string(dir.path().join(SUMS_FILE)).unwrap();
        assert!(!sums.contains("a.csv") && sums.contains("  b.csv\n"), "{sums}");
    }

    #[test]
    fn a_dropped_transaction_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let lock = DirLock::acquire(dir.path()).unwrap();
        let mut tx = Transaction::new(&lock, Checksums::Update);
        tx.stage(staged(dir.path(), "a.csv", "x"));
        drop(tx);
        assert_eq!(names(dir.path()), vec![".symile-lock"]);
    }

    #[test]
    fn an_interrupted_commit_is_rolled_forward_by_the_next_lock() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.csv"), "old a").unwrap();
        fs::write(dir.path().join("b.csv"), "old b").unwrap();
        // What a run killed after its first rename leaves: a.csv new, b.csv old,
        // b's temporary complete, the journal naming both.
        let tb = format!("{}9.1.b.csv", crate::TEMP_PREFIX);
        fs::write(dir.path().join("a.csv"), "new a").unwrap();
        fs::write(dir.path().join(&tb), "new b").unwrap();
        let journal = Journal {
            entries: vec![
                Entry { temp: format!("{}9.0.a.csv", crate::TEMP_PREFIX), dest: "a.csv".into() },
                Entry { temp: tb.clone(), dest: "b.csv".into() },
            ],
        };
        fs::write(dir.path().join(JOURNAL_FILE), serde_json::to_string(&journal).unwrap()).unwrap();
        assert!(pending_commit(dir.path()));
        let _lock = DirLock::acquire(dir.path()).unwrap();
        assert!(!pending_commit(dir.path()));
        assert_eq!(fs::read_to_string(dir.path().join("a.csv")).unwrap(), "new a");
        assert_eq!(fs::read_to_string(dir.path().join("b.csv")).unwrap(), "new b");
        assert!(!dir.path().join(&tb).exists());
    }

    #[test]
    fn a_journal_that_leaves_the_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let journal = r#"{"entries":[{"temp":"../x","dest":"a.csv"}]}"#;
        fs::write(dir.path().join(JOURNAL_FILE), journal).unwrap();
        let err = DirLock::acquire(dir.path()).unwrap_err().to_string();
        assert!(err.contains(JOURNAL_FILE) && err.contains("leaves the directory"), "{err}");
    }

    #[test]
    fn files_outside_the_locked_directory_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        let lock = DirLock::acquire(dir.path()).unwrap();
        let mut tx = Transaction::new(&lock, Checksums::Update);
        tx.stage(staged(other.path(), "a.csv", "x"));
        let err = tx.commit().unwrap_err();
        assert!(matches!(err, DurableError::OutsideDir { .. }), "{err}");
        assert_eq!(fs::read_dir(other.path()).unwrap().count(), 0, "the temporary is removed");
    }
}
