//! `cargo xtask golden --against DIR`: every stage on `DIR/input`, every
//! output compared with `DIR/expected`.
//!
//! The flags come from the parameter table in `DIR/README.md` (the golden
//! sets record them there). Two layouts are understood: a full set
//! (`input/mimiciv/…` → all three stages) and a splits-only set
//! (`input/symile_mimic_data.csv[.gz]`). CSVs are compared cell by cell (the
//! first difference is reported with both values) and byte for byte; JSON by
//! value and bytes; tensors by dtype, shape and exact bytes — train crops
//! included, because the run replays the reference's torch crop generator.
//!
//! An expected CSV may be given by its digest instead of the file: a row
//! `name,sha256,bytes,lines` of `expected/sha256.csv` (the committed
//! published-size set keeps its 10 MB of expected CSVs that way). Ours must
//! then have that sha256, i.e. be the reference's file byte for byte; only
//! the first differing cell cannot be named.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use progress::NoProgress;
use sha2::{Digest, Sha256};

#[derive(Debug, clap::Args)]
pub struct GoldenArgs {
    /// A golden directory with README.md, input/ and expected/.
    #[arg(long)]
    against: PathBuf,
    /// Where to write this run's outputs (default: target/golden/<name>).
    #[arg(long)]
    work: Option<PathBuf>,
}

/// `| key | value |` rows of the README's parameter table.
fn readme_params(readme: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in readme.lines() {
        let cells: Vec<&str> = line.trim().trim_matches('|').split('|').map(str::trim).collect();
        if cells.len() == 2 && !cells[0].is_empty() && !cells[0].starts_with("---") {
            out.insert(cells[0].to_string(), cells[1].to_string());
        }
    }
    out
}

fn param<T: std::str::FromStr>(p: &BTreeMap<String, String>, prefix: &str) -> Result<T> {
    let (k, v) = p
        .iter()
        .find(|(k, _)| k.starts_with(prefix))
        .with_context(|| format!("README.md has no `| {prefix} | … |` row"))?;
    v.parse().map_err(|_| anyhow::anyhow!("README.md: `{k}` = {v:?} is not a number"))
}

fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let raw = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if path.extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..]).read_to_end(&mut out)?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// Finds `expected/<name>` or `expected/<name>.gz`.
fn expected_file(expected: &Path, name: &str) -> Option<PathBuf> {
    [expected.join(name), expected.join(format!("{name}.gz"))].into_iter().find(|p| p.is_file())
}

/// sha256 (hex), byte size and line count of a reference file, from a row of
/// `expected/sha256.csv`.
#[derive(Debug, PartialEq, Eq)]
struct FileDigest {
    sha256: String,
    bytes: u64,
    lines: u64,
}

impl FileDigest {
    fn of(bytes: &[u8]) -> Self {
        FileDigest {
            sha256: Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect(),
            bytes: bytes.len() as u64,
            lines: bytes.iter().filter(|&&b| b == b'\n').count() as u64,
        }
    }
}

/// The rows of `expected/sha256.csv` (`file,sha256,bytes,lines`), if it exists.
fn expected_digests(expected: &Path) -> Result<BTreeMap<String, FileDigest>> {
    let path = expected.join("sha256.csv");
    let mut out = BTreeMap::new();
    if !path.is_file() {
        return Ok(out);
    }
    let mut r = csv::Reader::from_path(&path).with_context(|| format!("cannot read {}", path.display()))?;
    if r.headers()?.iter().collect::<Vec<_>>() != ["file", "sha256", "bytes", "lines"] {
        bail!("{}: header is not file,sha256,bytes,lines", path.display());
    }
    for rec in r.records() {
        let rec = rec.with_context(|| format!("reading {}", path.display()))?;
        let num = |i: usize| -> Result<u64> {
            rec[i].parse().with_context(|| format!("{}: {:?} is not a number", path.display(), &rec[i]))
        };
        out.insert(rec[0].to_string(), FileDigest { sha256: rec[1].to_string(), bytes: num(2)?, lines: num(3)? });
    }
    Ok(out)
}

#[derive(Debug, Default)]
struct Tally {
    checked: usize,
    failures: Vec<String>,
}

impl Tally {
    fn fail(&mut self, msg: String) {
        println!("  MISMATCH {msg}");
        self.failures.push(msg);
    }
}

fn compare_csv(name: &str, ours: &Path, expected: &Path, tally: &mut Tally) -> Result<()> {
    tally.checked += 1;
    let a = read_maybe_gz(ours)?;
    let b = read_maybe_gz(expected)?;
    if a == b {
        println!("  ok       {name}: byte-identical ({} bytes)", a.len());
        return Ok(());
    }
    let parse = |bytes: &[u8]| -> Result<Vec<csv::StringRecord>> {
        let mut r = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes);
        r.records().collect::<Result<_, _>>().map_err(Into::into)
    };
    let (ra, rb) = (parse(&a)?, parse(&b)?);
    let header = rb.first().cloned().unwrap_or_default();
    for (i, (x, y)) in ra.iter().zip(rb.iter()).enumerate() {
        if x != y {
            let col = (0..x.len().max(y.len())).find(|&c| x.get(c) != y.get(c)).unwrap_or(0);
            tally.fail(format!(
                "{name}: line {} column {:?}: ours {:?}, expected {:?}",
                i + 1,
                header.get(col).unwrap_or("?"),
                x.get(col).unwrap_or("<missing>"),
                y.get(col).unwrap_or("<missing>")
            ));
            return Ok(());
        }
    }
    if ra.len() != rb.len() {
        tally.fail(format!("{name}: {} lines, expected {}", ra.len(), rb.len()));
    } else {
        tally.fail(format!("{name}: same cells but bytes differ (quoting or line ends)"));
    }
    Ok(())
}

fn compare_digest(name: &str, ours: &Path, expected: &FileDigest, tally: &mut Tally) -> Result<()> {
    tally.checked += 1;
    let got = FileDigest::of(&read_maybe_gz(ours)?);
    if got == *expected {
        println!("  ok       {name}: sha256 equals the reference's ({} bytes, {} lines)", got.bytes, got.lines);
    } else {
        tally.fail(format!(
            "{name}: sha256 {} ({} bytes, {} lines), the reference's is {} ({} bytes, {} lines)",
            got.sha256, got.bytes, got.lines, expected.sha256, expected.bytes, expected.lines
        ));
    }
    Ok(())
}

fn compare_json(name: &str, ours: &Path, expected: &Path, tally: &mut Tally) -> Result<()> {
    tally.checked += 1;
    let a = fs::read(ours).with_context(|| format!("cannot read {}", ours.display()))?;
    let b = fs::read(expected)?;
    let va: serde_json::Value =
        serde_json::from_slice(&a).with_context(|| format!("{} is not JSON", ours.display()))?;
    let vb: serde_json::Value = serde_json::from_slice(&b)?;
    if va != vb {
        tally.fail(format!("{name}: values differ: ours {va}, expected {vb}"));
    } else if a != b {
        tally.fail(format!("{name}: same values, bytes differ"));
    } else {
        println!("  ok       {name}: byte-identical");
    }
    Ok(())
}

fn compare_tensors(ours_dir: &Path, expected_dir: &Path, tally: &mut Tally) -> Result<()> {
    let mut files: Vec<PathBuf> = Vec::new();
    for split in fs::read_dir(expected_dir)? {
        for f in fs::read_dir(split?.path())? {
            files.push(f?.path());
        }
    }
    files.sort();
    for exp in files {
        let split =
            exp.parent().and_then(Path::file_name).map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let name = exp.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let ours = ours_dir.join(&split).join(&name);
        tally.checked += 1;
        let e = tensor_store::read_tensor(&exp).with_context(|| format!("reading {}", exp.display()))?;
        let o = match tensor_store::read_tensor(&ours) {
            Ok(o) => o,
            Err(err) => {
                tally.fail(format!("{split}/{name}: {}", errors::Chain(&err)));
                continue;
            }
        };
        if o.spec.dtype != e.spec.dtype || o.spec.shape != e.spec.shape {
            tally.fail(format!(
                "{split}/{name}: ours {:?} {:?}, expected {:?} {:?}",
                o.spec.dtype, o.spec.shape, e.spec.dtype, e.spec.shape
            ));
        } else if o.data != e.data {
            let elem = if e.spec.dtype == tensor_store::DType::F32 { 4 } else { 8 };
            let first = o.data.iter().zip(&e.data).position(|(a, b)| a != b).unwrap_or(0) / elem;
            let differing = o.data.chunks(elem).zip(e.data.chunks(elem)).filter(|(a, b)| a != b).count();
            tally.fail(format!("{split}/{name}: {differing} element(s) differ, first at flat index {first}"));
        } else {
            println!("  ok       {split}/{name}: {:?} {:?} identical", e.spec.dtype, e.spec.shape);
        }
    }
    Ok(())
}

pub fn run(args: &GoldenArgs) -> Result<()> {
    let dir = &args.against;
    let readme = fs::read_to_string(dir.join("README.md")).with_context(|| format!("{}/README.md", dir.display()))?;
    let p = readme_params(&readme);
    let seed: u64 = param(&p, "split seed")?;
    let train_n: usize = param(&p, "train_n")?;
    let val_n: usize = param(&p, "val_n")?;
    let candidate_n: usize = param(&p, "candidate_n")?;
    let name = dir.canonicalize()?.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let work = args.work.clone().unwrap_or_else(|| crate::workspace_root().join("target").join("golden").join(&name));
    if work.exists() {
        fs::remove_dir_all(&work).with_context(|| format!("cannot clear {}", work.display()))?;
    }
    fs::create_dir_all(&work)?;
    let input = dir.join("input");
    let expected = dir.join("expected");
    let digests = expected_digests(&expected)?;
    let mut tally = Tally::default();
    println!(
        "golden set {} (seed {seed}, train_n {train_n}, val_n {val_n}, candidate_n {candidate_n}) → {}",
        dir.display(),
        work.display()
    );

    // The golden run's parameters as one recipe: the published rules, the
    // README's sizes and seed, and the reference's torch crop generator.
    let mut recipe = recipe::Recipe::default();
    recipe.splits.train_n = train_n;
    recipe.splits.val_n = val_n;
    recipe.splits.candidate_n = candidate_n;
    recipe.splits.seed = seed;
    recipe.splits.fit_small_cohort = false;
    recipe.tensors.crop_rng = recipe::CropGenerator::Torch;

    let full = input.join("mimiciv").is_dir();
    if full {
        recipe.tensors.cxr_scale = param(&p, "cxr_scale")?;
        recipe.tensors.cxr_crop = param(&p, "cxr_crop")?;
    }
    let cohort_csv = if full {
        let report = cohort::run(
            &cohort::CohortConfig {
                hosp_dir: input.join("mimiciv/hosp"),
                cxr_dir: input.join("mimic-cxr-jpg"),
                ecg_dir: input.join("mimic-iv-ecg"),
                save_dir: work.clone(),
                recipe: recipe.clone(),
                checksums: durable::Checksums::Update,
                cxr_tables: None,
                versions: None,
                plan: None,
            },
            &NoProgress,
        )?;
        println!("cohort: {}", report.summary().lines().next().unwrap_or_default());
        let ours = work.join("symile_mimic_data.csv");
        if let Some(exp) = expected_file(&expected, "symile_mimic_data.csv") {
            compare_csv("symile_mimic_data.csv", &ours, &exp, &mut tally)?;
        } else if let Some(d) = digests.get("symile_mimic_data.csv") {
            compare_digest("symile_mimic_data.csv", &ours, d, &mut tally)?;
        }
        ours
    } else {
        expected_file(&input, "symile_mimic_data.csv")
            .with_context(|| format!("{} has neither mimiciv/ nor symile_mimic_data.csv", input.display()))?
    };

    splits::run(&splits::SplitsConfig::new(cohort_csv, work.clone(), recipe.clone()))?;
    for f in ["train.csv", "val.csv", "val_retrieval.csv", "test.csv"] {
        match (expected_file(&expected, f), digests.get(f)) {
            (Some(exp), _) => compare_csv(f, &work.join(f), &exp, &mut tally)?,
            (None, Some(d)) => compare_digest(f, &work.join(f), d, &mut tally)?,
            (None, None) => tally.fail(format!("{f}: neither it nor its digest is in {}", expected.display())),
        }
    }
    compare_json("labs_means.json", &work.join("labs_means.json"), &expected.join("labs_means.json"), &mut tally)?;

    if full {
        let mut cfg = tensors::TensorsConfig::new(&work, input.join("mimic-iv-ecg"), input.join("mimic-cxr-jpg"));
        cfg.recipe = recipe.clone();
        tensors::run(&cfg, &NoProgress)?;
        compare_json("metadata.json", &work.join("metadata.json"), &expected.join("metadata.json"), &mut tally)?;
        compare_tensors(&work, &expected.join("tensors"), &mut tally)?;
    }

    println!("{} output(s) compared, {} mismatch(es)", tally.checked, tally.failures.len());
    if !tally.failures.is_empty() {
        bail!("golden check failed: {}", tally.failures.join("; "));
    }
    Ok(())
}
