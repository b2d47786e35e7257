//! The `symile-mimic` command as a library: its flags (clap), what each
//! command does, and the outcome it reports. The binary (`main.rs`) and the
//! Python binding both go through [`main`] / [`parse`] + [`execute`], so a
//! flag means the same thing however the tool is called.
//!
//! Every flag of the original Python scripts is accepted verbatim
//! (`--mimiciv_hosp_dir`, `--train_n`, …) and in kebab case
//! (`--mimiciv-hosp-dir`).

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use mimic_io::progress::Progress;
use serde::Serialize;

use crate::BuildArgs;
use crate::progress::Bars;

#[derive(Debug, Parser)]
#[command(
    name = "symile-mimic",
    version,
    about = "Build the Symile-MIMIC dataset (CXR + ECG + labs per admission) from MIMIC"
)]
pub struct Cli {
    /// Worker threads (default: all cores). Outputs are identical for any value.
    #[arg(long, global = true)]
    pub threads: Option<usize>,
    /// Print errors only: no progress bars, no log lines.
    #[arg(long, global = true)]
    pub quiet: bool,
    /// Pause this many milliseconds between the renames of a commit (for
    /// tests that kill a run in the middle of one).
    #[arg(long = "debug-commit-pause-ms", global = true, hide = true)]
    pub debug_commit_pause_ms: Option<u64>,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command that writes a dataset directory takes.
#[derive(Debug, Clone, Args)]
pub struct OutputFlags {
    /// Do not hash the outputs into the directory's SHA256SUMS.txt (entries of
    /// replaced files are dropped from it, so it never vouches for unhashed bytes).
    #[arg(long = "no-checksums", alias = "no_checksums")]
    no_checksums: bool,
}

impl OutputFlags {
    fn checksums(&self) -> durable::Checksums {
        if self.no_checksums { durable::Checksums::Skip } else { durable::Checksums::Update }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Stage 1: the cohort (symile_mimic_data.csv), like process_mimic_data.py.
    Cohort(CohortFlags),
    /// Stage 2: splits, lab percentiles and retrieval candidates, like create_dataset_splits.py.
    Splits(SplitsFlags),
    /// Stage 3: tensors for training, like process_and_save_tensors.py.
    Tensors(TensorsFlags),
    /// All three stages in a row, resumable.
    Build(BuildArgs),
    /// Check a dataset directory (ours or the published release) against the release contract.
    Verify(crate::verify::VerifyArgs),
    /// Plan a minimal MIMIC-CXR-JPG / MIMIC-IV-ECG download from the tables alone, or check a download against a plan.
    Plan(crate::plan::PlanArgs),
    /// Render one sample (CXR, 12-lead ECG, lab percentiles) as a PNG.
    Inspect(crate::inspect::InspectArgs),
    /// Benchmark floor: decode the distinct JPEGs once and write the tensors' byte count.
    #[command(hide = true)]
    DecodeFloor(crate::floor::FloorArgs),
}

#[derive(Debug, Args)]
pub struct CohortFlags {
    /// MIMIC-IV hosp module directory (patients.csv.gz, admissions.csv.gz, labevents.csv.gz).
    #[arg(long = "mimiciv_hosp_dir", visible_alias = "mimiciv-hosp-dir")]
    mimiciv_hosp_dir: PathBuf,
    /// MIMIC-CXR-JPG directory (mimic-cxr-2.0.0-metadata.csv.gz, mimic-cxr-2.0.0-chexpert.csv.gz, files/).
    #[arg(long = "cxr_data_dir", visible_alias = "cxr-data-dir")]
    cxr_data_dir: PathBuf,
    /// MIMIC-IV-ECG directory (record_list.csv, files/).
    #[arg(long = "ecg_data_dir", visible_alias = "ecg-data-dir")]
    ecg_data_dir: PathBuf,
    /// Where symile_mimic_data.csv (and .parquet, cohort_report.json) go.
    #[arg(long = "save_dir", visible_alias = "save-dir")]
    save_dir: PathBuf,
    /// Count an unreadable candidate ECG as invalid (and list it in the report) instead of failing.
    #[arg(long = "skip-unreadable-ecg", alias = "skip_unreadable_ecg")]
    skip_unreadable_ecg: bool,
    /// The download plan (`symile-mimic plan --out DIR`) the inputs were fetched by: a file it lists that is
    /// neither on disk nor recorded in its absent.txt is an error, before anything is written.
    #[arg(long)]
    plan: Option<PathBuf>,
    #[command(flatten)]
    output: OutputFlags,
}

#[derive(Debug, Args)]
pub struct SplitsFlags {
    /// The cohort CSV (symile_mimic_data.csv).
    #[arg(long = "dataset_path", visible_alias = "dataset-path")]
    dataset_path: PathBuf,
    /// Where train/val/val_retrieval/test.csv and labs_means.json go.
    #[arg(long = "save_dir", visible_alias = "save-dir")]
    save_dir: PathBuf,
    /// Number of training rows.
    #[arg(long = "train_n", visible_alias = "train-n")]
    train_n: usize,
    /// Number of validation rows.
    #[arg(long = "val_n", visible_alias = "val-n")]
    val_n: usize,
    /// Candidates per query (1 positive + candidate_n - 1 negatives).
    #[arg(long = "candidate_n", visible_alias = "candidate-n")]
    candidate_n: usize,
    /// Seed (0..2^32-1).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Use --seed (true) or draw a seed from the OS and report it (false); yes/true/t/y/1 or no/false/f/n/0.
    #[arg(
        long = "use_seed",
        visible_alias = "use-seed",
        default_value = "true",
        value_name = "BOOL",
        action = clap::ArgAction::Set,
        value_parser = parse_py_bool
    )]
    use_seed: bool,
    /// `reference` reproduces the original sampling exactly (O(n²)); `fast` is O(n·k) and does not.
    #[arg(long, default_value = "reference", value_parser = ["reference", "fast"])]
    negatives: String,
    #[command(flatten)]
    output: OutputFlags,
}

#[derive(Debug, Args)]
pub struct TensorsFlags {
    /// Directory with the split CSVs; tensors go to <data_dir>/<split>/.
    #[arg(long = "data_dir", visible_alias = "data-dir")]
    data_dir: PathBuf,
    /// MIMIC-IV-ECG directory containing files/.
    #[arg(long = "ecg_data_dir", visible_alias = "ecg-data-dir")]
    ecg_data_dir: PathBuf,
    /// MIMIC-CXR-JPG directory containing files/.
    #[arg(long = "cxr_data_dir", visible_alias = "cxr-data-dir")]
    cxr_data_dir: PathBuf,
    /// labs_means.json (relative to data_dir).
    #[arg(long = "labs_means", visible_alias = "labs-means", default_value = "labs_means.json")]
    labs_means: PathBuf,
    #[arg(long = "train_csv", visible_alias = "train-csv", default_value = "train.csv")]
    train_csv: PathBuf,
    #[arg(long = "val_csv", visible_alias = "val-csv", default_value = "val.csv")]
    val_csv: PathBuf,
    #[arg(long = "val_retrieval_csv", visible_alias = "val-retrieval-csv", default_value = "val_retrieval.csv")]
    val_retrieval_csv: PathBuf,
    #[arg(long = "test_csv", visible_alias = "test-csv", default_value = "test.csv")]
    test_csv: PathBuf,
    /// Shorter image edge after resizing.
    #[arg(long = "cxr_scale", visible_alias = "cxr-scale", default_value_t = 320)]
    cxr_scale: u32,
    /// Square crop size.
    #[arg(long = "cxr_crop", visible_alias = "cxr-crop", default_value_t = 320)]
    cxr_crop: u32,
    /// Output format: safetensors, npy (the PhysioNet release layout) or pt (torch.load).
    #[arg(long, default_value = "safetensors")]
    format: String,
    /// Seed of the random train crops.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Train-crop generator: `chacha` (default) or `torch` (replays torch.manual_seed(seed) + RandomCrop like the reference).
    #[arg(long = "crop-rng", alias = "crop_rng", default_value = "chacha", value_parser = ["chacha", "torch"])]
    crop_rng: String,
    /// Fail on ECG records that normalise to NaN (flat or NaN signal) instead of warning.
    #[arg(long)]
    strict: bool,
    /// Free bytes to assume under --data_dir instead of asking the filesystem.
    #[arg(long = "assume-free-bytes", hide = true)]
    assume_free_bytes: Option<u64>,
    #[command(flatten)]
    output: OutputFlags,
}

/// The reference's `str_to_bool`.
fn parse_py_bool(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "yes" | "true" | "t" | "y" | "1" => Ok(true),
        "no" | "false" | "f" | "n" | "0" => Ok(false),
        _ => Err(format!("expected a boolean (yes/true/t/y/1 or no/false/f/n/0), found {s:?}")),
    }
}

/// What a command did, for the caller to print or return.
#[derive(Debug, Serialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Outcome {
    Cohort(cohort::CohortReport),
    Splits(splits::SplitsReport),
    Tensors(tensors::TensorsReport),
    Build(crate::BuildSummary),
    Verify(crate::verify::VerifyReport),
    Plan(crate::plan::PlanOutcome),
    Inspect { png: PathBuf },
    DecodeFloor { images: usize, bytes: u64 },
}

impl Outcome {
    /// The human summary the command line prints.
    pub fn summary(&self) -> String {
        match self {
            Outcome::Cohort(r) => r.summary(),
            Outcome::Splits(r) => r.summary(),
            Outcome::Tensors(r) => r.summary(),
            Outcome::Build(s) => s.text(),
            Outcome::Verify(r) => r.text(),
            Outcome::Plan(p) => p.summary(),
            Outcome::Inspect { png } => format!("wrote {}", png.display()),
            Outcome::DecodeFloor { images, bytes } => format!("decoded {images} distinct images, wrote {bytes} bytes"),
        }
    }

    /// Why a command that ran counts as failed (exit status 2): a failed
    /// `verify`, a `plan --check` that found bad files.
    pub fn failure(&self) -> Option<String> {
        match self {
            Outcome::Verify(r) if !r.ok() => Some(format!("{} check(s) failed", r.failures())),
            Outcome::Plan(p) => p.failure(),
            _ => None,
        }
    }
}

/// Parses a command line (`argv[0]` is the program name).
pub fn parse<I, T>(argv: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    Cli::try_parse_from(argv)
}

/// The command line tool: parses `argv`, runs the command and prints its
/// summary (not with `--quiet`) or its error; returns the exit status: 0, 2
/// for an error (or a failed `verify`), 130 / 143 after Ctrl-C / SIGTERM.
pub fn main<I, T>(argv: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match parse(argv) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    crate::init_logging(cli.quiet);
    if let Err(err) = crate::signals::install() {
        eprintln!("error: {}", crate::error_chain(&err));
        return 2;
    }
    let quiet = cli.quiet;
    let bars = Bars::new(quiet);
    let result = execute(cli, &bars);
    if let Some(sig) = crate::signals::received() {
        // Whatever the command returned, it stopped because it was asked to.
        let what = match &result {
            Ok(_) => "the run had completed".to_string(),
            Err(err) => crate::error_chain(err),
        };
        eprintln!("interrupted by {}: {what}", crate::signals::name(sig));
        return crate::signals::exit_status(sig);
    }
    match result {
        Ok(outcome) => {
            let failure = outcome.failure();
            // Quiet means errors only; a failed verification is one.
            if !quiet || failure.is_some() {
                println!("{}", outcome.summary());
            }
            if let Some(why) = failure {
                eprintln!("error: {why}");
                return 2;
            }
            0
        }
        Err(err) => {
            eprintln!("error: {}", crate::error_chain(&err));
            2
        }
    }
}

/// Runs a parsed command; `progress` draws bars and says whether to stop.
pub fn execute(cli: Cli, progress: &dyn Progress) -> Result<Outcome> {
    if let Some(ms) = cli.debug_commit_pause_ms {
        durable::commit::set_pause_between_renames(std::time::Duration::from_millis(ms));
    }
    match cli.threads {
        Some(0) => bail!("--threads must be at least 1"),
        // A pool of its own (not the global one) so that a process can run
        // several commands, with different thread counts, one after another.
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .context("cannot start the worker threads")?
            .install(|| run(cli.command, progress)),
        None => run(cli.command, progress),
    }
}

fn run(command: Command, progress: &dyn Progress) -> Result<Outcome> {
    Ok(match command {
        Command::Cohort(f) => Outcome::Cohort(crate::plan::warned(cohort::run(
            &cohort::CohortConfig {
                hosp_dir: f.mimiciv_hosp_dir,
                cxr_dir: f.cxr_data_dir,
                ecg_dir: f.ecg_data_dir,
                save_dir: f.save_dir,
                skip_unreadable_ecg: f.skip_unreadable_ecg,
                checksums: f.output.checksums(),
                cxr_tables: None,
                versions: None,
                plan: f.plan,
            },
            progress,
        )?)),
        Command::Splits(f) => Outcome::Splits(splits::run(&splits::SplitsConfig {
            dataset_path: f.dataset_path,
            save_dir: f.save_dir,
            train_n: f.train_n,
            val_n: f.val_n,
            candidate_n: f.candidate_n,
            seed: f.use_seed.then_some(f.seed),
            negatives: if f.negatives == "fast" { splits::Negatives::Fast } else { splits::Negatives::Reference },
            checksums: f.output.checksums(),
        })?),
        Command::Tensors(f) => {
            let format: tensor_store::Format = f.format.parse().map_err(|e| anyhow::anyhow!("--format: {e}"))?;
            let crop_rng = if f.crop_rng == "torch" {
                cxr_prep::CropRng::Torch { seed: f.seed }
            } else {
                cxr_prep::CropRng::ChaCha { seed: f.seed }
            };
            Outcome::Tensors(tensors::run(
                &tensors::TensorsConfig {
                    data_dir: f.data_dir,
                    ecg_dir: f.ecg_data_dir,
                    cxr_dir: f.cxr_data_dir,
                    labs_means: f.labs_means,
                    train_csv: f.train_csv,
                    val_csv: f.val_csv,
                    val_retrieval_csv: f.val_retrieval_csv,
                    test_csv: f.test_csv,
                    cxr_scale: f.cxr_scale,
                    cxr_crop: f.cxr_crop,
                    format,
                    crop_rng,
                    strict: f.strict,
                    checksums: f.output.checksums(),
                    free_space: f.assume_free_bytes,
                },
                progress,
            )?)
        }
        Command::Build(args) => {
            // No MIMIC given: the embedded synthetic demo is generated next to the outputs.
            let demo = args.out.join("demo-input");
            Outcome::Build(crate::build_or_demo(args, &demo, progress)?)
        }
        Command::Plan(args) => Outcome::Plan(crate::plan::plan(&args, progress)?),
        Command::Inspect(args) => Outcome::Inspect { png: crate::inspect::inspect(&args)? },
        Command::DecodeFloor(args) => {
            let (images, bytes) = crate::floor::decode_floor(&args)?;
            Outcome::DecodeFloor { images, bytes }
        }
        Command::Verify(args) => Outcome::Verify(crate::verify::verify(&args, progress)?),
    })
}
