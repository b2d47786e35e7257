//! `SHA256SUMS.txt` against the files, and against another build's list.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

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
