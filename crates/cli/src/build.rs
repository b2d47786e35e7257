//! All three stages in a row, resumable.
//!
//! Each stage writes `<out>/.symile-build/<stage>.json`: the tool version,
//! the stage's flags, the size and modification time of each input table and
//! of each output it wrote. A rerun skips a stage whose manifest still
//! matches and redoes one that does not (and everything after it); `--force`
//! redoes everything. Image and ECG record files are not listed: there can be
//! a million of them, and stages read them only through the tables, which are.
//!
//! The output directory is locked for the whole build (one writer per
//! directory); each stage commits its outputs, and `SHA256SUMS.txt` with
//! them, all at once, so a build stopped at any point leaves complete stages
//! and nothing half-written.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use anyhow::{Context, Result, bail};
use clap::Args;
use dataset_layout::{COHORT_CSV, COHORT_PARQUET, LABS_MEANS, Split};
use mimic_io::progress::Progress;
use mimic_io::{discover, layout};
use serde::{Deserialize, Serialize};

/// Flags of `symile-mimic build`. Defaults are the published release's settings.
#[derive(Debug, Clone, Args)]
pub struct BuildArgs {
    /// A MIMIC download holding mimiciv/<version>/hosp/ (or mimiciv/hosp/), mimic-cxr-jpg/<version>/ and
    /// mimic-iv-ecg/<version>/ (or unversioned), or physionet.org/files/ as `wget -r` leaves it. With several
    /// releases the published ones (2.2, 2.0.0, 1.0) are taken. Alternatively give the three directories; with
    /// none, the embedded synthetic demo is generated and used.
    #[arg(long = "mimic-root", alias = "mimic_root")]
    pub mimic_root: Option<PathBuf>,
    /// MIMIC-IV release to take under --mimic-root (its folder name, e.g. 3.1).
    #[arg(long = "mimiciv-version", alias = "mimiciv_version", requires = "mimic_root")]
    pub mimiciv_version: Option<String>,
    /// MIMIC-CXR-JPG release to take under --mimic-root (e.g. 2.1.0).
    #[arg(long = "cxr-version", alias = "cxr_version", requires = "mimic_root")]
    pub cxr_version: Option<String>,
    /// MIMIC-IV-ECG release to take under --mimic-root (e.g. 1.0).
    #[arg(long = "ecg-version", alias = "ecg_version", requires = "mimic_root")]
    pub ecg_version: Option<String>,
    #[arg(long = "mimiciv_hosp_dir", visible_alias = "mimiciv-hosp-dir")]
    pub mimiciv_hosp_dir: Option<PathBuf>,
    #[arg(long = "cxr_data_dir", visible_alias = "cxr-data-dir")]
    pub cxr_data_dir: Option<PathBuf>,
    #[arg(long = "ecg_data_dir", visible_alias = "ecg-data-dir")]
    pub ecg_data_dir: Option<PathBuf>,
    /// Output directory: the cohort CSV, the split CSVs and the tensors.
    #[arg(long = "out", alias = "save_dir", default_value = "symile-mimic-data")]
    pub out: PathBuf,
    /// Training rows [default: 10000, the published value, when the cohort has at least 11,000 rows; otherwise 60 % of it].
    #[arg(long = "train_n", visible_alias = "train-n")]
    pub train_n: Option<usize>,
    /// Validation rows [default: 750 with the published train_n; otherwise 12 % of the cohort].
    #[arg(long = "val_n", visible_alias = "val-n")]
    pub val_n: Option<usize>,
    #[arg(long = "candidate_n", visible_alias = "candidate-n", default_value_t = 10)]
    pub candidate_n: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long = "cxr_scale", visible_alias = "cxr-scale", default_value_t = 320)]
    pub cxr_scale: u32,
    #[arg(long = "cxr_crop", visible_alias = "cxr-crop", default_value_t = 320)]
    pub cxr_crop: u32,
    /// Tensor format: safetensors, npy or pt.
    #[arg(long, default_value = "safetensors")]
    pub format: String,
    /// Train-crop generator: chacha or torch.
    #[arg(long = "crop-rng", default_value = "chacha", value_parser = ["chacha", "torch"])]
    pub crop_rng: String,
    /// Count unreadable candidate ECGs as invalid instead of failing.
    #[arg(long = "skip-unreadable-ecg")]
    pub skip_unreadable_ecg: bool,
    /// The download plan (`symile-mimic plan --out DIR`) the input was fetched by: a file it lists that is
    /// neither on disk nor recorded in its absent.txt is an error, before anything is written.
    #[arg(long)]
    pub plan: Option<PathBuf>,
    /// Redo every stage even when its manifest matches.
    #[arg(long)]
    pub force: bool,
    /// Do not hash the outputs into <out>/SHA256SUMS.txt.
    #[arg(long = "no-checksums", alias = "no_checksums")]
    pub no_checksums: bool,
    /// Free bytes to assume under --out instead of asking the filesystem.
    #[arg(long = "assume-free-bytes", hide = true)]
    pub assume_free_bytes: Option<u64>,
}

impl BuildArgs {
    /// Parses `build`'s flags (without the command name), so that callers
    /// other than the command line (tests, bindings) get exactly the
    /// command's defaults from their one declaration.
    pub fn from_flags<I, T>(flags: I) -> Result<Self>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        #[derive(clap::Parser)]
        struct Flags {
            #[command(flatten)]
            build: BuildArgs,
        }
        let argv = std::iter::once(std::ffi::OsString::from("build")).chain(flags.into_iter().map(Into::into));
        Ok(<Flags as clap::Parser>::try_parse_from(argv)?.build)
    }
}

/// The three input directories of a build.
#[derive(Debug, Clone)]
pub struct InputDirs {
    pub hosp: PathBuf,
    pub cxr: PathBuf,
    pub ecg: PathBuf,
    /// File names of the CXR tables in `cxr`.
    pub cxr_tables: discover::CxrTables,
    /// Release of each input where known (project → version).
    pub versions: BTreeMap<String, String>,
}

impl BuildArgs {
    /// Resolves `--mimic-root` (logging which releases were taken) or the
    /// three directory flags.
    pub fn input_dirs(&self) -> Result<InputDirs> {
        let choice = discover::VersionChoice {
            mimiciv: self.mimiciv_version.clone(),
            cxr: self.cxr_version.clone(),
            ecg: self.ecg_version.clone(),
        };
        resolve_inputs(
            self.mimic_root.as_deref(),
            &choice,
            [&self.mimiciv_hosp_dir, &self.cxr_data_dir, &self.ecg_data_dir],
        )
    }
}

/// Finds the three inputs under `mimic_root` (taking the releases of
/// `choice`, logging which were taken), or takes the three directories
/// `[hosp, cxr, ecg]`, whose releases are read from their folder names
/// unless `choice` names them.
pub fn resolve_inputs(
    mimic_root: Option<&Path>,
    choice: &discover::VersionChoice,
    [hosp, cxr, ecg]: [&Option<PathBuf>; 3],
) -> Result<InputDirs> {
    if let Some(root) = mimic_root {
        let found = discover::discover(root, choice).context("--mimic-root")?;
        for note in &found.notes {
            tracing::info!("{note}");
        }
        for p in discover::Project::ALL {
            let l = found.get(p);
            let version = l.version.as_deref().unwrap_or("(unversioned)");
            tracing::info!("{p} {version}: {}", l.dir.display());
        }
        let versions = found.versions();
        return Ok(InputDirs {
            hosp: found.hosp.dir,
            cxr: found.cxr.dir,
            ecg: found.ecg.dir,
            cxr_tables: found.cxr_tables,
            versions,
        });
    }
    match (hosp, cxr, ecg) {
        (Some(h), Some(c), Some(e)) => {
            let mut versions = discover::infer_versions(h, c, e);
            for p in discover::Project::ALL {
                if let Some(v) = choice.get(p) {
                    versions.insert(p.slug().to_string(), v.to_string());
                }
            }
            Ok(InputDirs {
                hosp: h.clone(),
                cxr: c.clone(),
                ecg: e.clone(),
                cxr_tables: discover::cxr_tables(c),
                versions,
            })
        }
        _ => bail!("give --mimic-root DIR, or all of --mimiciv_hosp_dir, --cxr_data_dir and --ecg_data_dir"),
    }
}

/// What a build produced, for the caller to print.
#[derive(Debug, Clone, Serialize)]
pub struct BuildSummary {
    pub out: PathBuf,
    pub cohort_rows: Option<u64>,
    pub stages_run: Vec<String>,
    pub stages_skipped: Vec<String>,
    pub reports: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct FileStamp {
    path: PathBuf,
    size: u64,
    mtime_ns: u128,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct StageManifest {
    tool_version: String,
    flags: serde_json::Value,
    inputs: Vec<FileStamp>,
    outputs: Vec<FileStamp>,
}

fn stamp(path: &Path) -> Result<FileStamp> {
    let meta = fs::metadata(path).with_context(|| format!("cannot stat {}", path.display()))?;
    let mtime_ns = meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
    Ok(FileStamp { path: path.to_path_buf(), size: meta.len(), mtime_ns })
}

fn stamps(paths: &[PathBuf]) -> Result<Vec<FileStamp>> {
    paths.iter().map(|p| stamp(p)).collect()
}

/// Runs `stage` unless its manifest shows identical flags, inputs and outputs.
struct Stages<'a> {
    dir: PathBuf,
    force: bool,
    dirty: bool,
    summary: &'a mut BuildSummary,
    progress: &'a dyn Progress,
}

impl Stages<'_> {
    fn run(
        &mut self,
        name: &str,
        flags: serde_json::Value,
        inputs: &[PathBuf],
        outputs: impl Fn() -> Vec<PathBuf>,
        work: impl FnOnce() -> Result<String>,
    ) -> Result<()> {
        let manifest_path = self.dir.join(format!("{name}.json"));
        let current_inputs = stamps(inputs)?;
        let old: Option<StageManifest> =
            fs::read_to_string(&manifest_path).ok().and_then(|text| serde_json::from_str(&text).ok());
        if let Some(old) = old.filter(|_| !self.force && !self.dirty) {
            let same_outputs = stamps(&outputs()).is_ok_and(|o| o == old.outputs);
            if old.tool_version == env!("CARGO_PKG_VERSION")
                && old.flags == flags
                && old.inputs == current_inputs
                && same_outputs
            {
                tracing::info!("{name}: up to date (manifest {}), skipped", manifest_path.display());
                self.summary.stages_skipped.push(name.to_string());
                return Ok(());
            }
        }
        // Anything after a stage that runs must run too.
        self.dirty = true;
        let done = || {
            let mut done = self.summary.stages_skipped.clone();
            done.extend(self.summary.stages_run.iter().cloned());
            if done.is_empty() { "none".to_string() } else { done.join(", ") }
        };
        if self.progress.cancelled() {
            bail!("stopped before {name}; complete stages: {}", done());
        }
        let _ = fs::remove_file(&manifest_path);
        let report = work().with_context(|| format!("{name} did not complete; complete stages: {}", done()))?;
        self.summary.reports.push(report);
        let manifest = StageManifest {
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            flags,
            inputs: current_inputs,
            outputs: stamps(&outputs())?,
        };
        fs::create_dir_all(&self.dir).with_context(|| format!("cannot create {}", self.dir.display()))?;
        durable::write_atomic(&manifest_path, serde_json::to_string_pretty(&manifest)?.as_bytes())?;
        self.summary.stages_run.push(name.to_string());
        Ok(())
    }
}

/// [`build`], first generating the embedded demo input into `demo_dir` when
/// `args` names no input (MIMIC is credentialed; the demo is not). The output
/// directory and the demo's parent are locked before anything is written.
pub fn build_or_demo(mut args: BuildArgs, demo_dir: &Path, progress: &dyn Progress) -> Result<BuildSummary> {
    let _out = durable::DirLock::acquire(&args.out)
        .with_context(|| format!("cannot take the output directory {}", args.out.display()))?;
    if crate::demo::wants_demo(&args) {
        let parent = demo_dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let _demo = durable::DirLock::acquire(parent)?;
        args.mimic_root = Some(crate::demo::ensure_demo_input(demo_dir)?);
    }
    build(&args, progress)
}

/// Runs cohort → splits → tensors into `args.out`, skipping stages whose
/// manifests still match.
pub fn build(args: &BuildArgs, progress: &dyn Progress) -> Result<BuildSummary> {
    let dirs = args.input_dirs()?;
    let format: tensor_store::Format = args.format.parse().map_err(|e| anyhow::anyhow!("--format: {e}"))?;
    let _lock = durable::DirLock::acquire(&args.out)
        .with_context(|| format!("cannot take the output directory {}", args.out.display()))?;
    let checksums = if args.no_checksums { durable::Checksums::Skip } else { durable::Checksums::Update };
    let out = &args.out;
    let mut summary = BuildSummary {
        out: out.clone(),
        cohort_rows: None,
        stages_run: vec![],
        stages_skipped: vec![],
        reports: vec![],
    };
    let mut stages = Stages {
        dir: out.join(dataset_layout::BUILD_DIR),
        force: args.force,
        dirty: false,
        summary: &mut summary,
        progress,
    };

    let cohort_csv = out.join(COHORT_CSV);
    let cohort_inputs = vec![
        dirs.hosp.join(layout::PATIENTS),
        dirs.hosp.join(layout::ADMISSIONS),
        dirs.hosp.join(layout::LABEVENTS),
        dirs.cxr.join(&dirs.cxr_tables.metadata),
        dirs.cxr.join(&dirs.cxr_tables.chexpert),
        dirs.ecg.join(layout::ECG_RECORD_LIST),
    ];
    let mut cohort_flags = serde_json::json!({"hosp": dirs.hosp, "cxr": dirs.cxr, "ecg": dirs.ecg,
                                              "skip_unreadable_ecg": args.skip_unreadable_ecg, "versions": dirs.versions});
    if let Some(plan) = &args.plan {
        cohort_flags["plan"] = serde_json::json!(plan);
    }
    stages.run(
        "cohort",
        cohort_flags,
        &cohort_inputs,
        || vec![cohort_csv.clone(), out.join(COHORT_PARQUET)],
        || {
            let report = cohort::run(
                &cohort::CohortConfig {
                    hosp_dir: dirs.hosp.clone(),
                    cxr_dir: dirs.cxr.clone(),
                    ecg_dir: dirs.ecg.clone(),
                    save_dir: out.clone(),
                    skip_unreadable_ecg: args.skip_unreadable_ecg,
                    checksums,
                    cxr_tables: Some(dirs.cxr_tables.clone()),
                    versions: Some(dirs.versions.clone()),
                    plan: args.plan.clone(),
                },
                progress,
            )?;
            crate::plan::warn_absent(&report);
            Ok(report.summary())
        },
    )?;
    if stages.summary.stages_skipped.last().is_some_and(|s| s == "cohort") && args.plan.is_none() {
        // Files may have been absent when the cohort was built; say so on every build that keeps it.
        let old: Option<serde_json::Value> =
            fs::read(out.join(dataset_layout::COHORT_REPORT)).ok().and_then(|b| serde_json::from_slice(&b).ok());
        let absent = |k: &str| old.as_ref().and_then(|r| r[k].as_u64()).unwrap_or(0);
        if absent("cxr_candidates_absent") + absent("ecg_records_absent") > 0 {
            tracing::warn!(
                "the cohort kept from an earlier build was built while {} in-window CXR image(s) and {} ECG record(s) \
                 were absent on disk; if the download was incomplete, it differs from one built from the complete \
                 archive: rebuild with --force --plan <plan dir> (see `symile-mimic plan`)",
                absent("cxr_candidates_absent"),
                absent("ecg_records_absent")
            );
        }
    }

    let rows = count_rows(&cohort_csv)?;
    let (train_n, val_n) = split_sizes(rows, args.train_n, args.val_n);
    let split_csvs: Vec<PathBuf> = Split::ALL.iter().map(|s| out.join(s.csv())).collect();
    let labs_means = out.join(LABS_MEANS);
    stages.run(
        "splits",
        serde_json::json!({"train_n": train_n, "val_n": val_n, "candidate_n": args.candidate_n, "seed": args.seed}),
        std::slice::from_ref(&cohort_csv),
        || {
            let mut v = split_csvs.clone();
            v.push(labs_means.clone());
            v
        },
        || {
            let report = splits::run(&splits::SplitsConfig {
                dataset_path: cohort_csv.clone(),
                save_dir: out.clone(),
                train_n,
                val_n,
                candidate_n: args.candidate_n,
                seed: Some(args.seed),
                negatives: splits::Negatives::Reference,
                checksums,
            })?;
            Ok(report.summary())
        },
    )?;

    let mut tensor_inputs = split_csvs.clone();
    tensor_inputs.push(labs_means.clone());
    let crop_rng = match args.crop_rng.as_str() {
        "torch" => cxr_prep::CropRng::Torch { seed: args.seed },
        _ => cxr_prep::CropRng::ChaCha { seed: args.seed },
    };
    stages.run(
        "tensors",
        serde_json::json!({"cxr": dirs.cxr, "ecg": dirs.ecg, "cxr_scale": args.cxr_scale, "cxr_crop": args.cxr_crop,
                           "format": args.format, "crop_rng": args.crop_rng, "seed": args.seed}),
        &tensor_inputs,
        || dataset_layout::tensor_outputs(format).iter().map(|p| out.join(p)).collect(),
        || {
            let mut cfg = tensors::TensorsConfig::new(out, &dirs.ecg, &dirs.cxr);
            cfg.cxr_scale = args.cxr_scale;
            cfg.cxr_crop = args.cxr_crop;
            cfg.format = format;
            cfg.crop_rng = crop_rng;
            cfg.checksums = checksums;
            cfg.free_space = args.assume_free_bytes;
            let report = tensors::run(&cfg, progress)?;
            Ok(report.summary())
        },
    )?;
    drop(stages);
    summary.cohort_rows = Some(rows);
    Ok(summary)
}

/// The published sizes (10,000 / 750) when the cohort is the published size
/// or larger, else 60 % / 12 % of the rows so a small cohort (a demo, a MIMIC
/// subset) still yields all three splits. Explicit flags always win.
pub fn split_sizes(rows: u64, train_n: Option<usize>, val_n: Option<usize>) -> (usize, usize) {
    let rows = rows as usize;
    let published = rows >= 11_000;
    let train = train_n.unwrap_or(if published { 10_000 } else { rows * 6 / 10 });
    let val = val_n.unwrap_or(if published && train_n.is_none() { 750 } else { (rows * 12 / 100).max(1) });
    if train_n.is_none() || val_n.is_none() {
        tracing::info!("cohort has {rows} rows: using --train_n {train} --val_n {val}");
    }
    (train, val)
}

/// Data rows of a CSV (lines after the header), for the summary.
pub fn count_rows(path: &Path) -> Result<u64> {
    let mut t = mimic_io::table::TableReader::open(path)?;
    let mut rec = csv::ByteRecord::new();
    let mut n = 0;
    while t.next_record(&mut rec)? {
        n += 1;
    }
    Ok(n)
}

impl BuildSummary {
    /// A human summary: stage reports, then where everything is.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for r in &self.reports {
            s.push_str(r);
            s.push('\n');
        }
        if !self.stages_skipped.is_empty() {
            s.push_str(&format!("up to date, not rerun: {}\n", self.stages_skipped.join(", ")));
        }
        let o = self.out.display();
        s.push_str(&format!(
            "outputs in {o}:\n  cohort   {o}/symile_mimic_data.csv (+ .parquet, cohort_report.json){}\n  splits   {o}/{{train,val,val_retrieval,test}}.csv, labs_means.json, splits_report.json\n  tensors  {o}/{{train,val,val_retrieval,test}}/, metadata.json\n",
            self.cohort_rows.map(|n| format!(", {n} rows")).unwrap_or_default()
        ));
        s
    }
}
