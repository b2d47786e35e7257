//! Directory trees as values: to prove a failed run changed nothing
//! ([`snapshot`]), to compare two runs byte for byte ([`read_tree`]), to list
//! what a run left ([`files`], [`temp_files`]) and to copy a fixture before a
//! test edits it ([`copy_dir`]).
//!
//! The lock file a writing run keeps in its output directory
//! ([`durable::lock::LOCK_FILE`]) is not an output: snapshots and listings
//! leave it out.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hasher};
use std::path::{Path, PathBuf};

use durable::TEMP_PREFIX;

/// One entry of a directory snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Dir,
    File { len: u64, hash: u64 },
    Link(PathBuf),
}

/// Every entry under `dir` (relative path → kind, size, content hash);
/// symlinks are recorded, not followed; the lock file is left out. A missing
/// `dir` is an empty snapshot.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Entry> {
    let mut out = BTreeMap::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Entry>) {
    for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let e = e.unwrap();
        let p = e.path();
        if e.file_name() == durable::lock::LOCK_FILE {
            continue;
        }
        let rel = p.strip_prefix(root).unwrap().to_path_buf();
        let ft = e.file_type().unwrap();
        if ft.is_symlink() {
            out.insert(rel, Entry::Link(std::fs::read_link(&p).unwrap()));
        } else if ft.is_dir() {
            out.insert(rel, Entry::Dir);
            walk(root, &p, out);
        } else {
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            out.insert(rel, Entry::File { len: bytes.len() as u64, hash: hash(&bytes) });
        }
    }
}

/// A content hash (SipHash with fixed keys: stable within a process).
pub fn hash(bytes: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    h.write(bytes);
    h.finish()
}

/// Every file under `dir` with its bytes (relative path → bytes); symlinks
/// to files are not followed, the lock file is left out.
pub fn read_tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    snapshot(dir)
        .into_iter()
        .filter(|(_, e)| matches!(e, Entry::File { .. }))
        .map(|(rel, _)| {
            let bytes = std::fs::read(dir.join(&rel)).unwrap();
            (rel, bytes)
        })
        .collect()
}

/// Every file under `dir`, relative, sorted, following symlinks to files and
/// directories; the lock file is left out.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let p = e.unwrap().path();
            if p.file_name().is_some_and(|n| n == durable::lock::LOCK_FILE) {
                continue;
            }
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Files under `dir` whose name starts with the atomic writer's temp prefix.
/// Only names are read, and entries that vanish meanwhile are skipped, so it
/// can watch a directory a running process is writing.
pub fn temp_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p);
            } else if e.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                out.push(p.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// Copies the tree `from` to `to` (created), file by file.
#[track_caller]
pub fn copy_dir(from: &Path, to: &Path) {
    mirror(from, to, &|a, b| std::fs::copy(a, b).map(drop));
}

/// [`copy_dir`] by hard links: instant and free of space, for a copy whose
/// files are read or deleted but never changed in place (a changed file
/// would change the original too).
#[track_caller]
pub fn link_dir(from: &Path, to: &Path) {
    mirror(from, to, &|a, b| std::fs::hard_link(a, b));
}

/// Recreates the directories of `from` under `to` and gives each file its
/// counterpart with `place(source, destination)`.
#[track_caller]
fn mirror(from: &Path, to: &Path, place: &dyn Fn(&Path, &Path) -> std::io::Result<()>) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{}: {e}", to.display()));
    for e in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            mirror(&e.path(), &dest, place);
        } else {
            place(&e.path(), &dest).unwrap_or_else(|err| panic!("{}: {err}", e.path().display()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_see_every_change_and_skip_the_lock_file() {
        let d = crate::tempdir();
        let a = d.path().join("a");
        std::fs::create_dir_all(a.join("sub")).unwrap();
        std::fs::write(a.join("sub/x.txt"), b"x").unwrap();
        std::fs::write(a.join(durable::lock::LOCK_FILE), b"{}").unwrap();
        std::fs::write(a.join(format!("{TEMP_PREFIX}y")), b"").unwrap();
        let before = snapshot(&a);
        assert_eq!(before.len(), 3, "{before:?}");
        assert_eq!(files(&a), [PathBuf::from(format!("{TEMP_PREFIX}y")), PathBuf::from("sub/x.txt")]);
        assert_eq!(temp_files(&a), [PathBuf::from(format!("{TEMP_PREFIX}y"))]);
        let b = d.path().join("b");
        copy_dir(&a, &b);
        assert_eq!(read_tree(&a), read_tree(&b));
        std::fs::write(a.join("sub/x.txt"), b"z").unwrap();
        assert_ne!(snapshot(&a), before);
        assert!(snapshot(&d.path().join("none")).is_empty());
    }
}
