//! `symile-mimic verify DIR`: checks a dataset directory — ours or the
//! published PhysioNet release (`data_npy/`) — against the release contract,
//! and against its `SHA256SUMS.txt` when it has one.
//!
//! Three kinds of checks, all collected (not just the first failure), each
//! saying which file and row broke which rule:
//! - the directory's state: no commit left pending by an interrupted run,
//!   no other run writing into it right now;
//! - checksums: every file `SHA256SUMS.txt` lists exists and hashes to its
//!   entry (in parallel, streamed); with `--against FILE`, the files whose
//!   checksums differ from another build's list;
//! - the contract: split CSVs, tensor names/dtypes/shapes from
//!   [`dataset_layout`], values in range, ids equal to the CSVs, retrieval
//!   blocks, disjoint splits. Tensors are streamed row by row through
//!   [`tensor_store::TensorReader`], so a 12 GB train CXR file is checked in
//!   constant memory and a malformed file is a failed check, never a crash.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use clap::Args;
use dataset_layout::{Dims, LABS_MEANS, METADATA, Split, Tensor};
use durable::{SUMS_FILE, Sums};
use mimic_io::progress::Progress;
use mimic_io::table::TableReader;
use rayon::prelude::*;
use tensor_store::{DType, TensorReader};

/// Flags of `symile-mimic verify`.
#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// Dataset directory: the split CSVs, and the tensors in <split>/ or data_npy/<split>/.
    pub dir: PathBuf,
    /// Also require the published release's frozen counts (11,622 admissions; 10,000 / 750 / 464 queries;
    /// 7,500 / 4,640 retrieval rows).
    #[arg(long = "expect-published")]
    pub expect_published: bool,
    /// Another build's SHA256SUMS.txt (another machine, a colleague, the release): list the files whose
    /// checksums differ from this directory's.
    #[arg(long, value_name = "SHA256SUMS")]
    pub against: Option<PathBuf>,
}

impl VerifyArgs {
    /// Checks `dir` against the contract and its own checksums only.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into(), expect_published: false, against: None }
    }
}

/// The outcome of a verification.
#[derive(Debug, Default, serde::Serialize)]
pub struct VerifyReport {
    passed: Vec<String>,
    failed: Vec<String>,
}

impl VerifyReport {
    fn check(&mut self, ok: bool, what: impl Into<String>) {
        if ok {
            self.passed.push(what.into());
        } else {
            self.failed.push(what.into());
        }
    }
    /// True when nothing failed.
    pub fn ok(&self) -> bool {
        self.failed.is_empty()
    }
    /// Number of failed checks.
    pub fn failures(&self) -> usize {
        self.failed.len()
    }
    /// Failed checks, for tests and callers.
    pub fn failed(&self) -> &[String] {
        &self.failed
    }
    /// Passed checks, for tests and callers.
    pub fn passed(&self) -> &[String] {
        &self.passed
    }
    /// A readable report.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for f in &self.failed {
            s.push_str(&format!("FAIL {f}\n"));
        }
        s.push_str(&format!("{} checks passed, {} failed", self.passed.len(), self.failed.len()));
        s
    }
}

/// Ids read from one split CSV.
#[derive(Debug, Default)]
struct SplitCsv {
    subject: Vec<i64>,
    hadm: Vec<i64>,
    label_hadm: Vec<i64>,
    label: Vec<i64>,
}

fn read_split_csv(path: &Path) -> Result<SplitCsv> {
    let mut t = TableReader::open(path)?;
    let idx = t.require(&["subject_id", "hadm_id"])?;
    let lab = t.column("label_hadm_id").zip(t.column("label"));
    let mut out = SplitCsv::default();
    let mut rec = csv::ByteRecord::new();
    while t.next_record(&mut rec)? {
        out.subject.push(t.parse_i64(&rec, idx[0])?);
        out.hadm.push(t.parse_i64(&rec, idx[1])?);
        if let Some((lh, l)) = lab {
            out.label_hadm.push(t.parse_i64(&rec, lh)?);
            out.label.push(t.parse_i64(&rec, l)?);
        }
    }
    Ok(out)
}

fn f32s(b: &[u8]) -> impl Iterator<Item = f32> + '_ {
    b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
}

fn i64s(b: &[u8]) -> impl Iterator<Item = i64> + '_ {
    b.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
}

/// Rows (at most five) of `t` whose values break `bad`.
fn bad_rows(t: &TensorReader, bad: impl Fn(&[u8]) -> bool) -> Result<Vec<usize>> {
    let mut rows = Vec::new();
    t.for_each_row(|row, b| {
        if rows.len() < 5 && bad(b) {
            rows.push(row);
        }
        Ok(())
    })?;
    Ok(rows)
}

/// Checks `args.dir` and returns the report (an `Err` only for I/O trouble
/// that prevents checking at all). `progress` shows the hashing.
pub fn verify(args: &VerifyArgs, progress: &dyn Progress) -> Result<VerifyReport> {
    let dir = &args.dir;
    let mut rep = VerifyReport::default();
    check_state(dir, &mut rep)?;
    check_sums(dir, args.against.as_deref(), progress, &mut rep)?;
    check_contract(dir, args.expect_published, &mut rep)?;
    Ok(rep)
}

/// No commit left half done, nobody writing.
fn check_state(dir: &Path, rep: &mut VerifyReport) -> Result<()> {
    let pending = durable::pending_commit(dir);
    rep.check(
        !pending,
        if pending {
            format!(
                "{}: an interrupted run left a commit pending ({}); any command writing into this directory completes it",
                dir.display(),
                durable::commit::JOURNAL_FILE
            )
        } else {
            "no commit pending".to_string()
        },
    );
    let holder = durable::lock::holder_of(dir).with_context(|| format!("cannot read the lock of {}", dir.display()))?;
    rep.check(
        holder.is_none(),
        match &holder {
            Some(h) => {
                format!("{} is being written by another run ({h}); verify it when that run is done", dir.display())
            }
            None => "no run is writing into the directory".to_string(),
        },
    );
    Ok(())
}

/// `SHA256SUMS.txt` against the files, and against `against`.
fn check_sums(dir: &Path, against: Option<&Path>, progress: &dyn Progress, rep: &mut VerifyReport) -> Result<()> {
    let own = match Sums::load(&dir.join(SUMS_FILE)) {
        Ok(s) => s,
        Err(e) => {
            rep.check(false, e.to_string());
            None
        }
    };
    let theirs = match against {
        Some(p) => match Sums::load(p)? {
            Some(s) => Some(s),
            None => anyhow::bail!("--against {}: no such file", p.display()),
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
        anyhow::bail!("verification cancelled while hashing");
    }
    if let Some(own) = &own {
        let mut bad = 0;
        for (name, want) in own.iter() {
            match actual.get(name).copied().flatten() {
                None => {
                    bad += 1;
                    rep.check(false, format!("{SUMS_FILE}: {name} is listed but missing or unreadable"));
                }
                Some(got) if &got != want => {
                    bad += 1;
                    rep.check(false, format!("{SUMS_FILE}: {name} does not match its checksum (the file changed)"));
                }
                Some(_) => {}
            }
        }
        if bad == 0 {
            rep.check(true, format!("{SUMS_FILE}: all {} files match", own.len()));
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
                    rep.check(false, format!("--against {}: {name} differs", path.display()));
                }
                None => {
                    differ += 1;
                    rep.check(false, format!("--against {}: {name} is not in {}", path.display(), dir.display()));
                }
            }
        }
        for (name, _) in own.iter().flat_map(Sums::iter) {
            if theirs.get(name).is_none() {
                differ += 1;
                rep.check(false, format!("--against {}: {name} is only in {}", path.display(), dir.display()));
            }
        }
        if differ == 0 {
            rep.check(true, format!("--against {}: all {} files are identical", path.display(), theirs.len()));
        }
    }
    Ok(())
}

/// The release contract: CSVs, tensors, values, ids, retrieval blocks, disjointness.
fn check_contract(dir: &Path, expect_published: bool, rep: &mut VerifyReport) -> Result<()> {
    let metadata: Option<serde_json::Value> = dataset_layout::tensor_roots(dir)
        .iter()
        .find_map(|root| std::fs::read(root.join(METADATA)).ok())
        .and_then(|b| serde_json::from_slice(&b).ok());
    let crop = metadata.as_ref().and_then(|m| m["cxr_crop"].as_u64()).map(|c| c as usize);

    let mut csvs: BTreeMap<Split, SplitCsv> = BTreeMap::new();
    for split in Split::ALL {
        match read_split_csv(&dir.join(split.csv())) {
            Ok(c) => {
                rep.check(true, format!("{} readable", split.csv()));
                csvs.insert(split, c);
            }
            Err(e) => rep.check(false, format!("{}: {e:#}", split.csv())),
        }
    }
    rep.check(dir.join(LABS_MEANS).is_file(), format!("{LABS_MEANS} present"));

    let mut candidate_n: Option<usize> = None;
    for split in Split::ALL {
        let csv = csvs.get(&split);
        let n_csv = csv.map(|c| c.hadm.len());
        if let (Some(m), Some(n)) = (&metadata, n_csv) {
            let want = m[split.metadata_key()].as_u64();
            rep.check(
                want == Some(n as u64),
                format!("{METADATA} {:?} = {want:?} matches {} rows ({n})", split.metadata_key(), split.csv()),
            );
        }
        let mut ids: BTreeMap<Tensor, Vec<i64>> = BTreeMap::new();
        for &tensor in split.tensors() {
            let stem = tensor.stem(split);
            let path = match dataset_layout::find_tensor(dir, split, tensor) {
                Ok(p) => p,
                Err(e) => {
                    rep.check(false, e.to_string());
                    continue;
                }
            };
            let t = match TensorReader::open(&path) {
                Ok(t) => t,
                Err(e) => {
                    rep.check(false, e.to_string());
                    continue;
                }
            };
            let rows = t.rows();
            if let Some(n) = n_csv {
                rep.check(rows == n, format!("{split}/{stem}: {rows} rows, {} has {n}", split.csv()));
            }
            // The crop comes from metadata.json when there is one, else from the tensor itself.
            let want_crop = crop.or_else(|| t.spec().shape.get(2).copied()).unwrap_or(0);
            let want = tensor.shape(rows, &Dims::mimic(want_crop));
            let ok = t.spec().dtype == tensor.dtype() && t.spec().shape == want;
            rep.check(
                ok,
                format!("{split}/{stem}: dtype {:?} shape {:?} (expected {want:?})", t.spec().dtype, t.spec().shape),
            );
            if !ok {
                continue;
            }
            let (what, bad) = match tensor {
                Tensor::Ecg => (
                    "every value finite in [-1, 1]",
                    bad_rows(&t, |b| f32s(b).any(|x| !(x.is_finite() && (-1.0..=1.0).contains(&x))))?,
                ),
                Tensor::LabsPercentiles => {
                    ("percentiles in [0, 1]", bad_rows(&t, |b| f32s(b).any(|x| !(0.0..=1.0).contains(&x)))?)
                }
                Tensor::LabsMissingness => {
                    ("indicators in {0, 1}", bad_rows(&t, |b| i64s(b).any(|x| x != 0 && x != 1))?)
                }
                Tensor::Cxr => ("every value finite", bad_rows(&t, |b| f32s(b).any(|x| !x.is_finite()))?),
                Tensor::HadmId | Tensor::LabelHadmId | Tensor::Label => {
                    debug_assert_eq!(t.spec().dtype, DType::I64);
                    let mut v = Vec::with_capacity(rows);
                    t.for_each_row(|_, b| {
                        v.extend(i64s(b));
                        Ok(())
                    })?;
                    if let Some(c) = csv {
                        let column = match tensor {
                            Tensor::HadmId => &c.hadm,
                            Tensor::LabelHadmId => &c.label_hadm,
                            _ => &c.label,
                        };
                        if !column.is_empty() {
                            rep.check(
                                &v == column,
                                format!("{split}/{stem} equals the {} column of {}", tensor.name(), split.csv()),
                            );
                        }
                    }
                    ids.insert(tensor, v);
                    continue;
                }
            };
            rep.check(bad.is_empty(), format!("{split}/{stem}: {what} (bad rows {bad:?})"));
        }
        check_blocks(split, &ids, csvs.get(&Split::Val), &mut candidate_n, rep);
    }

    // Disjointness across train / val / test.
    let sets = |key: fn(&SplitCsv) -> &Vec<i64>| -> Vec<(Split, HashSet<i64>)> {
        [Split::Train, Split::Val, Split::Test]
            .iter()
            .filter_map(|s| csvs.get(s).map(|c| (*s, key(c).iter().copied().collect())))
            .collect()
    };
    for (what, key) in
        [("subject_id", (|c: &SplitCsv| &c.subject) as fn(&SplitCsv) -> &Vec<i64>), ("hadm_id", |c| &c.hadm)]
    {
        let s = sets(key);
        for i in 0..s.len() {
            for j in i + 1..s.len() {
                let shared = s[i].1.intersection(&s[j].1).count();
                rep.check(shared == 0, format!("{what} disjoint between {} and {} ({shared} shared)", s[i].0, s[j].0));
            }
        }
    }

    if expect_published {
        let count = |s: Split| csvs.get(&s).map(|c| c.hadm.len());
        let queries = |s: Split| csvs.get(&s).map(|c| c.label.iter().filter(|&&l| l == 1).count());
        for (what, got, want) in [
            ("train has 10,000 rows", count(Split::Train), 10_000),
            ("val has 750 rows", count(Split::Val), 750),
            ("test has 464 queries", queries(Split::Test), 464),
            ("val_retrieval has 7,500 rows", count(Split::ValRetrieval), 7_500),
            ("test has 4,640 rows", count(Split::Test), 4_640),
        ] {
            rep.check(got == Some(want), format!("published: {what} ({got:?})"));
        }
        if let Ok(n) = crate::build::count_rows(&dir.join(dataset_layout::COHORT_CSV)) {
            rep.check(n == 11_622, format!("published: {} has 11,622 rows ({n})", dataset_layout::COHORT_CSV));
        }
    }
    Ok(())
}

/// Retrieval blocks: the positives first, then `candidate_n - 1` negatives
/// per query in query order, each labelled with its query's hadm_id.
fn check_blocks(
    split: Split,
    ids: &BTreeMap<Tensor, Vec<i64>>,
    val: Option<&SplitCsv>,
    candidate_n: &mut Option<usize>,
    rep: &mut VerifyReport,
) {
    let (Some(h), Some(lh), Some(l)) =
        (ids.get(&Tensor::HadmId), ids.get(&Tensor::LabelHadmId), ids.get(&Tensor::Label))
    else {
        return;
    };
    if h.len() != lh.len() || h.len() != l.len() {
        rep.check(
            false,
            format!("{split}: hadm_id, label_hadm_id and label have {}, {} and {} rows", h.len(), lh.len(), l.len()),
        );
        return;
    }
    let positives = l.iter().take_while(|&&x| x == 1).count();
    let total = l.len();
    let ok_layout = positives > 0 && total % positives == 0;
    rep.check(ok_layout, format!("{split}: {positives} positives first, {total} rows in all"));
    if !ok_layout {
        return;
    }
    let k = total / positives;
    if let Some(prev) = *candidate_n {
        rep.check(prev == k, format!("{split}: candidate_n {k} equals the other split's {prev}"));
    }
    *candidate_n = Some(k);
    let mut bad = None;
    'queries: for q in 0..positives {
        if lh[q] != h[q] {
            bad = Some(format!("positive row {q} has label_hadm_id {} ≠ hadm_id {}", lh[q], h[q]));
            break;
        }
        for r in positives + q * (k - 1)..positives + (q + 1) * (k - 1) {
            if l[r] != 0 || lh[r] != h[q] || h[r] == h[q] {
                bad = Some(format!("row {r} is not a negative of query {q} (hadm {})", h[q]));
                break 'queries;
            }
        }
    }
    rep.check(
        bad.is_none(),
        format!(
            "{split}: every query has 1 positive and {} negatives{}",
            k - 1,
            bad.map(|b| format!(": {b}")).unwrap_or_default()
        ),
    );
    if let Some(v) = val.filter(|_| split == Split::ValRetrieval) {
        rep.check(v.hadm[..] == h[..positives], format!("{split}: positives are val.csv's rows in order"));
    }
}
