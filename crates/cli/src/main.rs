//! `symile-mimic`: build the Symile-MIMIC dataset from a MIMIC download.
//!
//! This file only parses flags and calls the stage libraries. Every flag of
//! the original Python scripts is accepted verbatim (`--mimiciv_hosp_dir`,
//! `--train_n`, …) and in kebab case (`--mimiciv-hosp-dir`). Errors print
//! their whole context chain and exit with status 2; nothing panics on bad
//! input.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};

use symile_mimic::{BuildArgs, build, progress::Bars};

#[derive(Debug, Parser)]
#[command(
    name = "symile-mimic",
    version,
    about = "Build the Symile-MIMIC dataset (CXR + ECG + labs per admission) from MIMIC"
)]
struct Cli {
    /// Worker threads (default: all cores). Outputs are identical for any value.
    #[arg(long, global = true)]
    threads: Option<usize>,
    /// Hide progress bars.
    #[arg(long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Stage 1: the cohort (symile_mimic_data.csv), like process_mimic_data.py.
    Cohort(CohortFlags),
    /// Stage 2: splits, lab percentiles and retrieval candidates, like create_dataset_splits.py.
    Splits(SplitsFlags),
    /// Stage 3: tensors for training, like process_and_save_tensors.py.
    Tensors(TensorsFlags),
    /// All three stages in a row, resumable.
    Build(BuildArgs),
    /// Check a dataset directory (ours or the published release) against the release contract.
    Verify(symile_mimic::verify::VerifyArgs),
    /// Render one sample (CXR, 12-lead ECG, lab percentiles) as a PNG.
    Inspect(symile_mimic::inspect::InspectArgs),
    /// Benchmark floor: decode the distinct JPEGs once and write the tensors' byte count.
    #[command(hide = true)]
    DecodeFloor(symile_mimic::floor::FloorArgs),
}

#[derive(Debug, Args)]
struct CohortFlags {
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
}

#[derive(Debug, Args)]
struct SplitsFlags {
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
    /// Use --seed (true) or draw a seed from the OS and report it (false).
    #[arg(long = "use_seed", visible_alias = "use-seed", default_value = "true", value_parser = parse_py_bool)]
    use_seed: bool,
    /// `reference` reproduces the original sampling exactly (O(n²)); `fast` is O(n·k) and does not.
    #[arg(long, default_value = "reference", value_parser = ["reference", "fast"])]
    negatives: String,
}

#[derive(Debug, Args)]
struct TensorsFlags {
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
}

/// Removes temporary files a killed earlier run left in `dir` (only names
/// with the tool's temporary prefix; nothing else is touched).
fn clean_stale_temps(dir: &std::path::Path) {
    match mimic_io::atomic::remove_stale_temps(dir) {
        Ok(removed) if !removed.is_empty() => {
            tracing::info!(
                "removed {} temporary file(s) left by an interrupted run in {}",
                removed.len(),
                dir.display()
            )
        }
        Ok(_) => {}
        Err(e) => tracing::warn!("cannot clean temporary files in {}: {e}", dir.display()),
    }
}

/// The reference's `str_to_bool`.
fn parse_py_bool(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "yes" | "true" | "t" | "y" | "1" => Ok(true),
        "no" | "false" | "f" | "n" | "0" => Ok(false),
        _ => Err(format!("expected a boolean (yes/true/t/y/1 or no/false/f/n/0), found {s:?}")),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    symile_mimic::init_logging();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", symile_mimic::error_chain(&err));
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    if let Some(n) = cli.threads {
        if n == 0 {
            bail!("--threads must be at least 1");
        }
        rayon::ThreadPoolBuilder::new().num_threads(n).build_global().context("cannot start the worker threads")?;
    }
    let bars = Bars::new(cli.quiet);
    match cli.command {
        Command::Cohort(f) => {
            clean_stale_temps(&f.save_dir);
            let report = cohort::run(
                &cohort::CohortConfig {
                    hosp_dir: f.mimiciv_hosp_dir,
                    cxr_dir: f.cxr_data_dir,
                    ecg_dir: f.ecg_data_dir,
                    save_dir: f.save_dir,
                    skip_unreadable_ecg: f.skip_unreadable_ecg,
                    cxr_tables: None,
                    versions: None,
                },
                &bars,
            )?;
            println!("{}", report.summary());
        }
        Command::Splits(f) => {
            clean_stale_temps(&f.save_dir);
            let report = splits::run(&splits::SplitsConfig {
                dataset_path: f.dataset_path,
                save_dir: f.save_dir,
                train_n: f.train_n,
                val_n: f.val_n,
                candidate_n: f.candidate_n,
                seed: f.use_seed.then_some(f.seed),
                negatives: if f.negatives == "fast" { splits::Negatives::Fast } else { splits::Negatives::Reference },
            })?;
            println!("{}", report.summary());
        }
        Command::Tensors(f) => {
            let format: tensor_store::Format = f.format.parse().map_err(|e| anyhow::anyhow!("--format: {e}"))?;
            let crop_rng = if f.crop_rng == "torch" {
                cxr_prep::CropRng::Torch { seed: f.seed }
            } else {
                cxr_prep::CropRng::ChaCha { seed: f.seed }
            };
            let report = tensors::run(
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
                },
                &bars,
            )?;
            println!("{}", report.summary());
        }
        Command::Build(mut args) => {
            if symile_mimic::demo::wants_demo(&args) {
                // No MIMIC given: build the embedded synthetic demo, next to the outputs.
                args.mimic_root = Some(symile_mimic::demo::ensure_demo_input(&args.out.join("demo-input"))?);
            }
            let summary = build(&args, &bars)?;
            println!("{}", summary.text());
        }
        Command::Inspect(args) => {
            let path = symile_mimic::inspect::inspect(&args)?;
            println!("wrote {}", path.display());
        }
        Command::DecodeFloor(args) => {
            let (images, bytes) = symile_mimic::floor::decode_floor(&args)?;
            println!("decoded {images} distinct images, wrote {bytes} bytes");
        }
        Command::Verify(args) => {
            let report = symile_mimic::verify::verify(&args)?;
            println!("{}", report.text());
            if !report.ok() {
                bail!("{}: {} check(s) failed", args.dir.display(), report.failures());
            }
        }
    }
    Ok(())
}
