//! `symile-mimic verify DIR`: checks a dataset directory — ours or the
//! published PhysioNet release (`data_npy/`) — against the release contract.
//!
//! Tensors are streamed row by row from their data offset, so a 12 GB train
//! CXR file is checked in constant memory. Every violation is collected (not
//! just the first) and the report says which file and row broke which rule.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use mimic_io::table::TableReader;
use tensor_store::{DType, TensorSpec};

/// Flags of `symile-mimic verify`.
#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// Dataset directory: the split CSVs, and the tensors in <split>/ or data_npy/<split>/.
    pub dir: PathBuf,
    /// Also require the published release's frozen counts (11,622 admissions; 10,000 / 750 / 464 queries;
    /// 7,500 / 4,640 retrieval rows).
    #[arg(long = "expect-published")]
    pub expect_published: bool,
}

/// The outcome of a verification.
#[derive(Debug, Default)]
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

const SPLITS: [&str; 4] = ["train", "val", "val_retrieval", "test"];
const EXTS: [&str; 3] = ["safetensors", "npy", "pt"];

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

/// Streams the rows of a tensor file: `f(row, bytes)`.
fn for_each_row(path: &Path, spec: &TensorSpec, offset: u64, mut f: impl FnMut(usize, &[u8])) -> Result<()> {
    let row_bytes = spec.shape[1..].iter().product::<usize>() * spec.dtype.size();
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut r = BufReader::with_capacity(1 << 20, file);
    let mut buf = vec![0u8; row_bytes];
    for row in 0..spec.shape[0] {
        r.read_exact(&mut buf).with_context(|| format!("{}: row {row} is truncated", path.display()))?;
        f(row, &buf);
    }
    Ok(())
}

fn f32s(b: &[u8]) -> impl Iterator<Item = f32> + '_ {
    b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
}

fn i64s(b: &[u8]) -> impl Iterator<Item = i64> + '_ {
    b.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
}

fn read_i64_tensor(path: &Path, spec: &TensorSpec, offset: u64) -> Result<Vec<i64>> {
    let mut v = Vec::with_capacity(spec.shape[0]);
    for_each_row(path, spec, offset, |_, b| v.extend(i64s(b)))?;
    Ok(v)
}

/// Checks `args.dir` and returns the report (an `Err` only for I/O trouble
/// that prevents checking at all).
pub fn verify(args: &VerifyArgs) -> Result<VerifyReport> {
    let dir = &args.dir;
    let mut rep = VerifyReport::default();
    // Ours: <dir>/<split>/; the PhysioNet release: <dir>/data_npy/<split>/;
    // a golden set: <dir>/tensors/<split>/.
    let tensor_root =
        ["data_npy", "tensors"].iter().map(|d| dir.join(d)).find(|p| p.is_dir()).unwrap_or_else(|| dir.clone());
    let metadata: Option<serde_json::Value> = std::fs::read(dir.join("metadata.json"))
        .or_else(|_| std::fs::read(tensor_root.join("metadata.json")))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let crop = metadata.as_ref().and_then(|m| m["cxr_crop"].as_u64()).map(|c| c as usize);
    let meta_key = |s: &str| match s {
        "train" => "train size",
        "val" => "val size",
        "val_retrieval" => "val retrieval size",
        _ => "test size",
    };

    let mut csvs: BTreeMap<&str, SplitCsv> = BTreeMap::new();
    for split in SPLITS {
        let path = dir.join(format!("{split}.csv"));
        match read_split_csv(&path) {
            Ok(c) => {
                rep.check(true, format!("{split}.csv readable"));
                csvs.insert(split, c);
            }
            Err(e) => rep.check(false, format!("{split}.csv: {e:#}")),
        }
    }

    let mut candidate_n: Option<usize> = None;
    for split in SPLITS {
        let csv = csvs.get(split);
        let n_csv = csv.map(|c| c.hadm.len());
        if let (Some(m), Some(n)) = (&metadata, n_csv) {
            let want = m[meta_key(split)].as_u64();
            rep.check(
                want == Some(n as u64),
                format!("metadata.json {:?} = {want:?} matches {split}.csv rows ({n})", meta_key(split)),
            );
        }
        let mut names = vec!["cxr", "ecg", "labs_percentiles", "labs_missingness", "hadm_id"];
        if split == "val_retrieval" || split == "test" {
            names.extend(["label_hadm_id", "label"]);
        }
        let mut labels: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
        for name in names {
            let stem = format!("{name}_{split}");
            let Some(path) =
                EXTS.iter().map(|e| tensor_root.join(split).join(format!("{stem}.{e}"))).find(|p| p.is_file())
            else {
                rep.check(false, format!("{split}/{stem}.{{safetensors,npy,pt}} missing"));
                continue;
            };
            let (spec, offset) = match tensor_store::read_tensor_header(&path) {
                Ok(h) => h,
                Err(e) => {
                    rep.check(false, format!("{}: {e}", path.display()));
                    continue;
                }
            };
            let rows = spec.shape.first().copied().unwrap_or(0);
            if let Some(n) = n_csv {
                rep.check(rows == n, format!("{split}/{stem}: {rows} rows, {split}.csv has {n}"));
            }
            let (dtype, tail): (DType, Vec<Option<usize>>) = match name {
                "cxr" => (DType::F32, vec![Some(3), crop, crop]),
                "ecg" => (DType::F32, vec![Some(1), Some(5000), Some(12)]),
                "labs_percentiles" => (DType::F32, vec![Some(50)]),
                "labs_missingness" => (DType::I64, vec![Some(50)]),
                _ => (DType::I64, vec![]),
            };
            let shape_ok = spec.shape.len() == tail.len() + 1
                && spec.shape[1..].iter().zip(&tail).all(|(&d, want)| want.is_none_or(|w| w == d))
                && (name != "cxr" || spec.shape[2] == spec.shape[3]);
            rep.check(
                spec.dtype == dtype && shape_ok,
                format!("{split}/{stem}: dtype {:?} shape {:?}", spec.dtype, spec.shape),
            );
            if !shape_ok || spec.dtype != dtype {
                continue;
            }
            match name {
                "ecg" => {
                    let mut bad = Vec::new();
                    for_each_row(&path, &spec, offset, |row, b| {
                        if f32s(b).any(|x| !(x.is_finite() && (-1.0..=1.0).contains(&x))) && bad.len() < 5 {
                            bad.push(row);
                        }
                    })?;
                    rep.check(
                        bad.is_empty(),
                        format!("{split}/{stem}: every value finite in [-1, 1] (bad rows {bad:?})"),
                    );
                }
                "labs_percentiles" => {
                    let mut bad = Vec::new();
                    for_each_row(&path, &spec, offset, |row, b| {
                        if f32s(b).any(|x| !(0.0..=1.0).contains(&x)) && bad.len() < 5 {
                            bad.push(row);
                        }
                    })?;
                    rep.check(bad.is_empty(), format!("{split}/{stem}: percentiles in [0, 1] (bad rows {bad:?})"));
                }
                "labs_missingness" => {
                    let mut bad = Vec::new();
                    for_each_row(&path, &spec, offset, |row, b| {
                        if i64s(b).any(|x| x != 0 && x != 1) && bad.len() < 5 {
                            bad.push(row);
                        }
                    })?;
                    rep.check(bad.is_empty(), format!("{split}/{stem}: indicators in {{0, 1}} (bad rows {bad:?})"));
                }
                "cxr" => {
                    let mut bad = Vec::new();
                    for_each_row(&path, &spec, offset, |row, b| {
                        if f32s(b).any(|x| !x.is_finite()) && bad.len() < 5 {
                            bad.push(row);
                        }
                    })?;
                    rep.check(bad.is_empty(), format!("{split}/{stem}: every value finite (bad rows {bad:?})"));
                }
                "hadm_id" | "label_hadm_id" | "label" => {
                    let v = read_i64_tensor(&path, &spec, offset)?;
                    if let Some(c) = csv {
                        let want = match name {
                            "hadm_id" => &c.hadm,
                            "label_hadm_id" => &c.label_hadm,
                            _ => &c.label,
                        };
                        if !want.is_empty() {
                            rep.check(&v == want, format!("{split}/{stem} equals the {name} column of {split}.csv"));
                        }
                    }
                    labels.insert(name, v);
                }
                _ => {}
            }
        }
        // Candidate blocks: n positives, then candidate_n - 1 negatives per query.
        if let (Some(h), Some(lh), Some(l)) = (labels.get("hadm_id"), labels.get("label_hadm_id"), labels.get("label"))
        {
            let positives = l.iter().take_while(|&&x| x == 1).count();
            let total = l.len();
            let ok_layout = positives > 0 && total % positives == 0;
            rep.check(ok_layout, format!("{split}: {positives} positives first, {total} rows in all"));
            if ok_layout {
                let k = total / positives;
                if let Some(prev) = candidate_n {
                    rep.check(prev == k, format!("{split}: candidate_n {k} equals the other split's {prev}"));
                }
                candidate_n = Some(k);
                let mut bad = None;
                for q in 0..positives {
                    if lh[q] != h[q] {
                        bad = Some(format!("positive row {q} has label_hadm_id {} ≠ hadm_id {}", lh[q], h[q]));
                        break;
                    }
                    let negs = positives + q * (k - 1)..positives + (q + 1) * (k - 1);
                    for r in negs {
                        if l[r] != 0 || lh[r] != h[q] || h[r] == h[q] {
                            bad = Some(format!("row {r} is not a negative of query {q} (hadm {})", h[q]));
                            break;
                        }
                    }
                    if bad.is_some() {
                        break;
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
                if let Some(v) = (split == "val_retrieval").then(|| csvs.get("val")).flatten() {
                    rep.check(
                        v.hadm[..] == h[..positives.min(h.len())],
                        format!("{split}: positives are val.csv's rows in order"),
                    );
                }
            }
        }
    }

    // Disjointness across train / val / test.
    let sets = |key: fn(&SplitCsv) -> &Vec<i64>| -> Vec<(&str, HashSet<i64>)> {
        ["train", "val", "test"]
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

    if args.expect_published {
        let count = |s: &str| csvs.get(s).map(|c| c.hadm.len());
        let queries = |s: &str| csvs.get(s).map(|c| c.label.iter().filter(|&&l| l == 1).count());
        rep.check(count("train") == Some(10_000), format!("published: train has 10,000 rows ({:?})", count("train")));
        rep.check(count("val") == Some(750), format!("published: val has 750 rows ({:?})", count("val")));
        rep.check(queries("test") == Some(464), format!("published: test has 464 queries ({:?})", queries("test")));
        rep.check(
            count("val_retrieval") == Some(7_500),
            format!("published: val_retrieval has 7,500 rows ({:?})", count("val_retrieval")),
        );
        rep.check(count("test") == Some(4_640), format!("published: test has 4,640 rows ({:?})", count("test")));
        if let Ok(n) = crate::build::count_rows(&dir.join("symile_mimic_data.csv")) {
            rep.check(n == 11_622, format!("published: symile_mimic_data.csv has 11,622 rows ({n})"));
        }
    }
    Ok(rep)
}
