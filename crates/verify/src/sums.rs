//! `SHA256SUMS.txt` against the files, against another build's list, and
//! against the digests `croissant.json` publishes.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use dataset_layout::CROISSANT;
use durable::{SUMS_FILE, Sums};
use errors::Chain;
use progress::Progress;
use rayon::prelude::*;

use crate::{Check, VerifyError, VerifyReport};

pub(crate) fn check_sums(
    dir: &Path,
    against: Option<&Path>,
    progress: &dyn Progress,
    rep: &mut VerifyReport,
) -> Result<(), VerifyError> {
    let own = match Sums::load(&dir.join(SUMS_FILE)) {
        Ok(s) => s,
        Err(e) => {
            rep.check(Check::SumsReadable, false, Chain(&e).to_string());
            None
        }
    };
    let theirs = match against {
        Some(p) => match Sums::load(p)? {
            Some(s) => Some(s),
            None => return Err(VerifyError::NoAgainst { path: p.to_path_buf() }),
        },
        None => None,
    };
    // Hash what either list names, each file once.
    let mut names: Vec<&str> = own.iter().flat_map(Sums::iter).map(|(n, _)| n).collect();
    names.extend(theirs.iter().flat_map(Sums::iter).map(|(n, _)| n));
    names.sort_unstable();
    names.dedup();
    if names.is_empty() {
        return Ok(());
    }
    let total: u64 = names.iter().filter_map(|n| std::fs::metadata(dir.join(n)).ok()).map(|m| m.len()).sum();
    progress.start("sha256", Some(total));
    let stop = AtomicBool::new(false);
    let actual: BTreeMap<&str, Option<durable::Digest>> = names
        .par_iter()
        .with_max_len(1)
        .map(|&n| {
            let mut on_chunk = |k: u64| {
                progress.inc(k);
                !progress.cancelled() && !stop.load(Ordering::Relaxed)
            };
            let d = durable::sha256_file(&dir.join(n), &mut on_chunk);
            if matches!(&d, Err(e) if e.kind() == std::io::ErrorKind::Interrupted) {
                stop.store(true, Ordering::Relaxed);
            }
            (n, d.ok())
        })
        .collect();
    progress.finish();
    if stop.load(Ordering::Relaxed) || progress.cancelled() {
        return Err(VerifyError::Cancelled);
    }
    if let Some(own) = &own {
        let mut bad = 0;
        for (name, want) in own.iter() {
            match actual.get(name).copied().flatten() {
                None => {
                    bad += 1;
                    rep.check(
                        Check::Checksums,
                        false,
                        format!("{SUMS_FILE}: {name} is listed but missing or unreadable"),
                    );
                }
                Some(got) if &got != want => {
                    bad += 1;
                    rep.check(
                        Check::Checksums,
                        false,
                        format!("{SUMS_FILE}: {name} does not match its checksum (the file changed)"),
                    );
                }
                Some(_) => {}
            }
        }
        if bad == 0 {
            rep.check(Check::Checksums, true, format!("{SUMS_FILE}: all {} files match", own.len()));
        }
    }
    if let Some(own) = &own {
        check_croissant(dir, own, rep);
    }
    if let (Some(theirs), Some(path)) = (&theirs, against) {
        // This directory's truth: its own list where it has one, else the files as they are.
        let ours = |name: &str| match &own {
            Some(o) => o.get(name).copied(),
            None => actual.get(name).copied().flatten(),
        };
        let mut differ = 0;
        for (name, want) in theirs.iter() {
            match ours(name) {
                Some(got) if &got == want => {}
                Some(_) => {
                    differ += 1;
                    rep.check(Check::Against, false, format!("against {}: {name} differs", path.display()));
                }
                None => {
                    differ += 1;
                    rep.check(
                        Check::Against,
                        false,
                        format!("against {}: {name} is not in {}", path.display(), dir.display()),
                    );
                }
            }
        }
        for (name, _) in own.iter().flat_map(Sums::iter) {
            if theirs.get(name).is_none() {
                differ += 1;
                rep.check(
                    Check::Against,
                    false,
                    format!("against {}: {name} is only in {}", path.display(), dir.display()),
                );
            }
        }
        if differ == 0 {
            rep.check(
                Check::Against,
                true,
                format!("against {}: all {} files are identical", path.display(), theirs.len()),
            );
        }
    }
    Ok(())
}

/// `croissant.json`'s `cr:FileObject`s against `SHA256SUMS.txt`: each
/// `contentUrl` listed there with the same digest (or, for a file the list
/// does not hold, the file's own digest). The card is written with
/// stage 3's outputs; a stage rerun alone afterwards updates the list but
/// not the card, which then vouches for bytes that are gone. No card, no
/// check.
fn check_croissant(dir: &Path, own: &Sums, rep: &mut VerifyReport) {
    let path = dir.join(CROISSANT);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => return rep.check(Check::Croissant, false, format!("{CROISSANT}: cannot be read: {e}")),
    };
    let doc: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(d) => d,
        Err(e) => return rep.check(Check::Croissant, false, format!("{CROISSANT}: not JSON: {e}")),
    };
    let objects: Vec<&serde_json::Value> =
        doc["distribution"].as_array().into_iter().flatten().filter(|o| o["@type"] == "cr:FileObject").collect();
    let mut bad = 0;
    for (i, o) in objects.iter().enumerate() {
        let (Some(url), Some(sha)) = (o["contentUrl"].as_str(), o["sha256"].as_str()) else {
            bad += 1;
            rep.check(Check::Croissant, false, format!("{CROISSANT}: distribution[{i}] has no contentUrl or sha256"));
            continue;
        };
        match own.get(url) {
            // A file an earlier stage wrote without checksums: the card hashed
            // it as it was, so it is held to the file itself.
            None => match durable::sha256_file(&dir.join(url), &mut |_| true) {
                Ok(d) if durable::sums::hex(&d) == sha => {}
                Ok(d) => {
                    bad += 1;
                    rep.check(
                        Check::Croissant,
                        false,
                        format!(
                            "{CROISSANT}: {url} has sha256 {sha}, the file (not in {SUMS_FILE}) has {} (the card is \
                             stale: rebuild stage 3)",
                            durable::sums::hex(&d)
                        ),
                    );
                }
                Err(e) => {
                    bad += 1;
                    rep.check(
                        Check::Croissant,
                        false,
                        format!("{CROISSANT}: lists {url}, which is not in {SUMS_FILE} and cannot be read: {e}"),
                    );
                }
            },
            Some(d) if durable::sums::hex(d) != sha => {
                bad += 1;
                rep.check(
                    Check::Croissant,
                    false,
                    format!(
                        "{CROISSANT}: {url} has sha256 {sha}, {SUMS_FILE} has {} (the card is stale: rebuild stage 3)",
                        durable::sums::hex(d)
                    ),
                );
            }
            Some(_) => {}
        }
    }
    if bad == 0 {
        rep.check(
            Check::Croissant,
            true,
            format!("{CROISSANT}: the {} files it lists match {SUMS_FILE}", objects.len()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(entries: &[(&str, String)]) -> String {
        let objects: Vec<serde_json::Value> = entries
            .iter()
            .map(|(url, sha)| serde_json::json!({"@type": "cr:FileObject", "contentUrl": url, "sha256": sha}))
            .chain([serde_json::json!({"@type": "cr:FileSet", "includes": "*.csv"})])
            .collect();
        serde_json::json!({"distribution": objects}).to_string()
    }

    #[test]
    fn a_stale_croissant_card_is_reported_file_by_file() {
        let d = tempfile::tempdir().unwrap();
        let (a, b) = ([1u8; 32], [2u8; 32]);
        let mut sums = Sums::default();
        sums.set("train.csv", a).unwrap();
        sums.set("test.csv", b).unwrap();
        let run = |text: &str| {
            std::fs::write(d.path().join(CROISSANT), text).unwrap();
            let mut rep = VerifyReport::default();
            check_croissant(d.path(), &sums, &mut rep);
            rep
        };
        let rep = run(&card(&[("train.csv", durable::sums::hex(&a)), ("test.csv", durable::sums::hex(&b))]));
        assert_eq!(rep.passed(), ["croissant.json: the 2 files it lists match SHA256SUMS.txt"]);
        assert!(rep.ok());
        // train.csv rewritten by a stage rerun alone; a file the list does not hold.
        let rep = run(&card(&[("train.csv", durable::sums::hex(&b)), ("gone.csv", durable::sums::hex(&a))]));
        assert_eq!(
            rep.failed(),
            [
                format!(
                    "croissant.json: train.csv has sha256 {}, SHA256SUMS.txt has {} (the card is stale: rebuild stage 3)",
                    durable::sums::hex(&b),
                    durable::sums::hex(&a)
                ),
                "croissant.json: lists gone.csv, which is not in SHA256SUMS.txt and cannot be read: No such file or \
                 directory (os error 2)"
                    .to_string(),
            ]
        );
        assert_eq!(rep.failed_of(Check::Croissant).len(), 2);
        // A file no stage listed (written without checksums) is held to its own bytes.
        std::fs::write(d.path().join("labs_means.json"), b"{}").unwrap();
        let own_digest = durable::sha256_file(&d.path().join("labs_means.json"), &mut |_| true).unwrap();
        let rep = run(&card(&[("labs_means.json", durable::sums::hex(&own_digest))]));
        assert!(rep.ok(), "{:?}", rep.failed());
        let rep = run(&card(&[("labs_means.json", durable::sums::hex(&a))]));
        assert_eq!(
            rep.failed(),
            [format!(
                "croissant.json: labs_means.json has sha256 {}, the file (not in SHA256SUMS.txt) has {} (the card is \
                 stale: rebuild stage 3)",
                durable::sums::hex(&a),
                durable::sums::hex(&own_digest)
            )]
        );
        assert!(run("{").failed()[0].starts_with("croissant.json: not JSON: "));
        // No card, no check.
        std::fs::remove_file(d.path().join(CROISSANT)).unwrap();
        let mut rep = VerifyReport::default();
        check_croissant(d.path(), &sums, &mut rep);
        assert!(rep.findings().is_empty());
    }
}
