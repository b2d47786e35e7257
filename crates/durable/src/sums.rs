//! `SHA256SUMS.txt`: the checksum list PhysioNet publishes with every
//! project, and the only way to show that two builds are the same dataset,
//! bit for bit.
//!
//! The format is `sha256sum`'s: one line per file, 64 lowercase hex digits,
//! two spaces, the path relative to the directory with `/` separators,
//! sorted by path, so `sha256sum -c SHA256SUMS.txt` run in the directory
//! checks every file. Paths that `sha256sum` would have to escape (a newline
//! or a backslash in the name) are refused rather than written.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use sha2::{Digest as _, Sha256};

use crate::DurableError;

/// File name of the checksum list in a dataset directory.
pub const SUMS_FILE: &str = "SHA256SUMS.txt";

/// A SHA-256 digest.
pub type Digest = [u8; 32];

/// Lowercase hex of a digest.
pub fn hex(d: &Digest) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses 64 hex digits (either case).
fn parse_hex(s: &str) -> Option<Digest> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let mut d = [0u8; 32];
    for (i, byte) in d.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(d)
}

/// A checksum list: relative path → digest, kept sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sums {
    entries: BTreeMap<String, Digest>,
}

impl Sums {
    /// Parses `text` (the contents of `path`, named in errors). Accepts
    /// `sha256sum`'s text (`  `) and binary (` *`) markers.
    pub fn parse(text: &str, path: &Path) -> Result<Self, DurableError> {
        let mut entries = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            let bad = |what: &str| DurableError::Sums { path: path.to_path_buf(), line: i + 1, what: what.to_string() };
            if line.starts_with('\\') {
                return Err(bad("an escaped file name, which this tool never writes"));
            }
            let (hash, rest) =
                line.split_at_checked(64).ok_or_else(|| bad("expected 64 hex digits, two spaces and a path"))?;
            let digest = parse_hex(hash).ok_or_else(|| bad("expected 64 hex digits at the start of the line"))?;
            let name = rest
                .strip_prefix("  ")
                .or_else(|| rest.strip_prefix(" *"))
                .filter(|n| !n.is_empty())
                .ok_or_else(|| bad("expected two spaces (or a space and `*`) and a path after the digest"))?;
            if entries.insert(name.to_string(), digest).is_some() {
                return Err(bad(&format!("{name} is listed twice")));
            }
        }
        Ok(Self { entries })
    }

    /// Reads `path`; `None` when it does not exist.
    pub fn load(path: &Path) -> Result<Option<Self>, DurableError> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let text = String::from_utf8(bytes).map_err(|e| DurableError::Sums {
                    path: path.to_path_buf(),
                    line: e.as_bytes()[..e.utf8_error().valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1,
                    what: "not UTF-8 text".into(),
                })?;
                Self::parse(&text, path).map(Some)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(DurableError::Io { path: path.to_path_buf(), source }),
        }
    }

    /// Records `digest` for the relative path `rel`.
    pub fn set(&mut self, rel: &str, digest: Digest) -> Result<(), DurableError> {
        if rel.is_empty() || rel.contains(['\n', '\r', '\\']) {
            return Err(DurableError::Unlistable { name: rel.to_string() });
        }
        self.entries.insert(rel.to_string(), digest);
        Ok(())
    }

    /// Forgets `rel`.
    pub fn remove(&mut self, rel: &str) {
        self.entries.remove(rel);
    }

    /// The digest recorded for `rel`.
    pub fn get(&self, rel: &str) -> Option<&Digest> {
        self.entries.get(rel)
    }

    /// Entries sorted by path.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Digest)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is listed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The file's text, as `sha256sum` writes it.
    pub fn render(&self) -> String {
        let mut s = String::with_capacity(self.entries.len() * 100);
        for (name, d) in &self.entries {
            s.push_str(&hex(d));
            s.push_str("  ");
            s.push_str(name);
            s.push('\n');
        }
        s
    }
}

/// SHA-256 of a file, streamed in 1 MiB chunks. `on_chunk` is told the bytes
/// of each chunk and returns `false` to stop (the result is then an
/// `Interrupted` error), so a long hash can report progress and be cancelled.
pub fn sha256_file(path: &Path, on_chunk: &mut dyn FnMut(u64) -> bool) -> io::Result<Digest> {
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        h.update(&buf[..n]);
        if !on_chunk(n as u64) {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "hashing was cancelled"));
        }
    }
    Ok(h.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_render_round_trip_sorted() {
        let a = "fbb6b30b41732026a9073fd355103e207f6b3c7c1adc086724df42e286417adf";
        let b = "edb4e7dcf53a28bf272c6a678749c3d97e77f7d3f87bd23cb13004ad50fbef65";
        let text = format!("{a}  z.csv\n{b} *train/x.npy\n");
        let s = Sums::parse(&text, Path::new("S")).unwrap();
        assert_eq!(s.render(), format!("{b}  train/x.npy\n{a}  z.csv\n"));
        assert_eq!(Sums::parse(&s.render(), Path::new("S")).unwrap(), s);
    }

    #[test]
    fn malformed_lines_name_file_and_line() {
        let good = "fbb6b30b41732026a9073fd355103e207f6b3c7c1adc086724df42e286417adf  a\n";
        for (bad, what) in [
            ("xyz", "64 hex digits"),
            ("fbb6b30b41732026a9073fd355103e207f6b3c7c1adc086724df42e286417adg  a", "hex digits"),
            ("fbb6b30b41732026a9073fd355103e207f6b3c7c1adc086724df42e286417adf a", "two spaces"),
            ("fbb6b30b41732026a9073fd355103e207f6b3c7c1adc086724df42e286417adf  a", "listed twice"),
            ("\\fbb6", "escaped"),
        ] {
            let err = Sums::parse(&format!("{good}{bad}\n"), Path::new("/d/SHA256SUMS.txt")).unwrap_err().to_string();
            assert!(err.contains("/d/SHA256SUMS.txt:2") && err.contains(what), "{bad}: {err}");
        }
    }

    #[test]
    fn file_hash_matches_a_known_value_and_can_be_cancelled() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"new a").unwrap();
        assert_eq!(
            hex(&sha256_file(&p, &mut |_| true).unwrap()),
            "fbb6b30b41732026a9073fd355103e207f6b3c7c1adc086724df42e286417adf"
        );
        let err = sha256_file(&p, &mut |_| false).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Interrupted);
    }

    #[test]
    fn names_sha256sum_would_escape_are_refused() {
        let mut s = Sums::default();
        assert!(s.set("a\nb", [0; 32]).is_err());
        assert!(s.set("a\\b", [0; 32]).is_err());
        assert!(s.set("train/a.npy", [0; 32]).is_ok());
    }
}
