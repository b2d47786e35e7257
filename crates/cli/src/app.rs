//! The `symile-mimic` command: its flags (clap), which library call each
//! command is, and the outcome it reports. The binary (`main.rs`) and the
//! Python binding both go through [`main`] / [`parse`] + [`execute`], so a
//! flag means the same thing however the tool is called.
//!
//! Every flag of the original Python scripts is accepted verbatim
//! (`--mimiciv_hosp_dir`, `--train_n`, …) and in kebab case
//! (`--mimiciv-hosp-dir`). The recipe's flags come from [`crate::flags`].

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Parser, Subcommand};
use pipeline::stages::{Adopt, SeedChoice, TensorsFiles, TensorsInputs};
use progress::Progress;
use recipe::{Provenance, Requested, Spelling};
use serde::Serialize;

use crate::evaluate::EvaluateArgs;
use crate::flags::{
    AllFields, CohortFields, FileInputFlags, InputFlags, OutputFlags, RecipeArgs, SpaceFlags, SplitsFields,
    TensorsFields, parse_py_bool,
};
use crate::inspect::InspectArgs;
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
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Stage 1: the cohort (symile_mimic_data.csv), like process_mimic_data.py.
    Cohort(CohortArgs),
    /// Stage 2: splits, lab percentiles and retrieval candidates, like create_dataset_splits.py.
    Splits(SplitsArgs),
    /// Stage 3: tensors for training, like process_and_save_tensors.py.
    Tensors(TensorsArgs),
    /// All three stages in a row, resumable.
    Build(BuildArgs),
    /// Print the published recipe (every parameter of a build, commented TOML): the template for a variant.
    Recipe(RecipeCmdArgs),
    /// Check a dataset directory (ours or the published release) against its recipe and the release contract.
    Verify(VerifyArgs),
    /// Plan a minimal MIMIC-CXR-JPG / MIMIC-IV-ECG download from the tables alone, or check a download against a plan.
    Plan(PlanArgs),
    /// Render one sample (CXR, 12-lead ECG, lab percentiles) as a PNG.
    Inspect(InspectArgs),
    /// Score a model on the benchmark: zero-shot CXR retrieval accuracy of per-row scores.
    Evaluate(EvaluateArgs),
    /// Benchmark floor: decode the distinct JPEGs once and write the tensors' byte count.
    #[command(hide = true)]
    DecodeFloor(FloorArgs),
}

impl Command {
    /// Gives the command a recipe mapping (Python's `recipe={...}`) in place
    /// of a file; false for a command that takes no recipe.
    pub fn set_recipe_mapping(&mut self, mapping: serde_json::Value) -> bool {
        let slot = match self {
            Command::Cohort(a) => &mut a.recipe.mapping,
            Command::Splits(a) => &mut a.recipe.mapping,
            Command::Tensors(a) => &mut a.recipe.mapping,
            Command::Build(a) => &mut a.recipe.mapping,
            Command::Plan(a) => &mut a.recipe.mapping,
            _ => return false,
        };
        *slot = Some(mapping);
        true
    }
}

/// Flags of `symile-mimic cohort`.
#[derive(Debug, Clone, Args)]
pub struct CohortArgs {
    #[command(flatten)]
    pub inputs: InputFlags,
    /// Where symile_mimic_data.csv (and .parquet, cohort_report.json, recipe.toml) go.
    #[arg(long = "save_dir", visible_alias = "save-dir")]
    pub save_dir: PathBuf,
    #[command(flatten)]
    pub recipe: RecipeArgs<CohortFields>,
    /// The download plan (`symile-mimic plan --out DIR`) the inputs were fetched by: a file it lists that is
    /// neither on disk nor recorded in its absent.txt is an error, before anything is written.
    #[arg(long)]
    pub plan: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputFlags,
}

/// Flags of `symile-mimic splits`.
#[derive(Debug, Clone, Args)]
pub struct SplitsArgs {
    /// The cohort CSV (symile_mimic_data.csv).
    #[arg(long = "dataset_path", visible_alias = "dataset-path")]
    pub dataset_path: PathBuf,
    /// Where train/val/val_retrieval/test.csv, labs_means.json and recipe.toml go.
    #[arg(long = "save_dir", visible_alias = "save-dir")]
    pub save_dir: PathBuf,
    #[command(flatten)]
    pub recipe: RecipeArgs<SplitsFields>,
    /// Use the seed (true) or draw one from the OS and record it in recipe.toml (false); yes/true/t/y/1 or
    /// no/false/f/n/0.
    #[arg(
        long = "use_seed",
        visible_alias = "use-seed",
        default_value = "true",
        value_name = "BOOL",
        action = clap::ArgAction::Set,
        value_parser = parse_py_bool
    )]
    pub use_seed: bool,
    #[command(flatten)]
    pub output: OutputFlags,
}

/// Flags of `symile-mimic tensors`.
#[derive(Debug, Clone, Args)]
pub struct TensorsArgs {
    /// Directory with the split CSVs; tensors go to <data_dir>/<split>/.
    #[arg(long = "data_dir", visible_alias = "data-dir")]
    pub data_dir: PathBuf,
    #[command(flatten)]
    pub inputs: FileInputFlags,
    /// labs_means.json (relative to data_dir).
    #[arg(long = "labs_means", visible_alias = "labs-means", default_value = "labs_means.json")]
    pub labs_means: PathBuf,
    #[arg(long = "train_csv", visible_alias = "train-csv", default_value = "train.csv")]
    pub train_csv: PathBuf,
    #[arg(long = "val_csv", visible_alias = "val-csv", default_value = "val.csv")]
    pub val_csv: PathBuf,
    #[arg(long = "val_retrieval_csv", visible_alias = "val-retrieval-csv", default_value = "val_retrieval.csv")]
    pub val_retrieval_csv: PathBuf,
    #[arg(long = "test_csv", visible_alias = "test-csv", default_value = "test.csv")]
    pub test_csv: PathBuf,
    #[command(flatten)]
    pub recipe: RecipeArgs<TensorsFields>,
    #[command(flatten)]
    pub output: OutputFlags,
    #[command(flatten)]
    pub space: SpaceFlags,
}

/// Flags of `symile-mimic build`.
#[derive(Debug, Clone, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub inputs: InputFlags,
    /// Output directory: the cohort CSV, the split CSVs, the tensors and recipe.toml.
    #[arg(long = "out", alias = "save_dir", default_value = "symile-mimic-data")]
    pub out: PathBuf,
    #[command(flatten)]
    pub recipe: RecipeArgs<AllFields>,
    /// The download plan (`symile-mimic plan --out DIR`) the input was fetched by: a file it lists that is
    /// neither on disk nor recorded in its absent.txt is an error, before anything is written.
    #[arg(long)]
    pub plan: Option<PathBuf>,
    /// Redo every stage even when its manifest matches.
    #[arg(long)]
    pub force: bool,
    /// Where the embedded demo input is kept when no MIMIC input is given [default: $SYMILE_MIMIC_CACHE, else
    /// symile-mimic in the platform's cache directory: $XDG_CACHE_HOME or ~/.cache, ~/Library/Caches on macOS,
    /// %LOCALAPPDATA% on Windows].
    #[arg(long = "demo-cache", alias = "demo_cache", value_name = "DIR")]
    pub demo_cache: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputFlags,
    #[command(flatten)]
    pub space: SpaceFlags,
}

impl BuildArgs {
    /// Parses `build`'s flags (without the command name), so that callers
    /// other than the command line get exactly the command's defaults.
    pub fn from_flags<I, T>(flags: I) -> Result<Self>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        #[derive(Parser)]
        struct Flags {
            #[command(flatten)]
            build: BuildArgs,
        }
        let argv = std::iter::once(OsString::from("build")).chain(flags.into_iter().map(Into::into));
        Ok(Flags::try_parse_from(argv)?.build)
    }

    /// The build these flags ask for, the recipe included.
    pub fn request(&self) -> Result<pipeline::BuildRequest, recipe::RecipeError> {
        Ok(pipeline::BuildRequest {
            inputs: self.inputs.spec(),
            out: self.out.clone(),
            recipe: self.recipe.requested()?,
            plan: self.plan.clone(),
            force: self.force,
            checksums: self.output.checksums(),
            free_space: self.space.assume_free_bytes,
            demo_cache: Some(self.demo_cache.clone().unwrap_or_else(default_cache_dir)),
        })
    }
}

/// The platform's cache directory for the demo input, from this process's
/// environment (see [`cache_dir_from`]).
pub fn default_cache_dir() -> PathBuf {
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    let env = CacheEnv {
        symile_mimic_cache: var("SYMILE_MIMIC_CACHE"),
        xdg_cache_home: var("XDG_CACHE_HOME"),
        home: var("HOME"),
        local_app_data: var("LOCALAPPDATA"),
    };
    cache_dir_from(&env, Platform::current()).unwrap_or_else(|| std::env::temp_dir().join("symile-mimic-cache"))
}

/// The environment values the demo cache's place depends on (unset or empty: `None`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheEnv {
    /// `SYMILE_MIMIC_CACHE`: the cache directory itself.
    pub symile_mimic_cache: Option<PathBuf>,
    /// `XDG_CACHE_HOME` (Linux and other Unix).
    pub xdg_cache_home: Option<PathBuf>,
    /// `HOME`.
    pub home: Option<PathBuf>,
    /// `LOCALAPPDATA` (Windows).
    pub local_app_data: Option<PathBuf>,
}

/// Which convention the user cache directory follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// The XDG base directories: `$XDG_CACHE_HOME`, else `~/.cache`.
    Xdg,
    /// macOS: `~/Library/Caches`.
    MacOs,
    /// Windows: `%LOCALAPPDATA%`.
    Windows,
}

impl Platform {
    /// The platform this binary was built for.
    pub fn current() -> Platform {
        if cfg!(target_os = "macos") {
            Platform::MacOs
        } else if cfg!(windows) {
            Platform::Windows
        } else {
            Platform::Xdg
        }
    }
}

/// Where the demo input is cached: `SYMILE_MIMIC_CACHE` as given, else
/// `symile-mimic` in the platform's user cache directory (the one the
/// `dirs` crate's `cache_dir` names: `$XDG_CACHE_HOME` or `~/.cache`,
/// `~/Library/Caches`, `%LOCALAPPDATA%`); `None` when the environment names
/// none of them. `--demo-cache` wins over all of these (see [`BuildArgs`]).
/// A pure function of `env`, so the precedence is tested without touching
/// the process's environment.
pub fn cache_dir_from(env: &CacheEnv, platform: Platform) -> Option<PathBuf> {
    if let Some(d) = &env.symile_mimic_cache {
        return Some(d.clone());
    }
    let base = match platform {
        Platform::Xdg => env.xdg_cache_home.clone().or_else(|| env.home.as_ref().map(|h| h.join(".cache"))),
        Platform::MacOs => env.home.as_ref().map(|h| h.join("Library").join("Caches")),
        Platform::Windows => env.local_app_data.clone(),
    };
    base.map(|b| b.join("symile-mimic"))
}

/// Flags of `symile-mimic recipe`.
#[derive(Debug, Clone, Args)]
pub struct RecipeCmdArgs {
    /// Write the recipe to this file instead of printing it.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

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

/// Flags of `symile-mimic plan`.
#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub inputs: InputFlags,
    /// The plan directory: mimic-cxr-jpg.txt, mimic-iv-ecg.txt, download.sh, plan.json.
    #[arg(long, default_value = "download-plan")]
    pub out: PathBuf,
    #[command(flatten)]
    pub recipe: RecipeArgs<CohortFields>,
    /// Take only the image stage 1 chooses if the archive holds every image its metadata lists (passing over
    /// those absent.txt records): smaller, but `plan --check` must then find no chosen image absent.
    #[arg(long)]
    pub minimal: bool,
    /// Verify the download at --mimic-root (or the three directories) against the plan in --out: by SHA-256
    /// where the project's SHA256SUMS.txt is there, else by structure. Writes refetch.txt; exit status 2 when a
    /// planned file is missing, truncated or corrupt.
    #[arg(long, conflicts_with = "minimal")]
    pub check: bool,
}

/// Flags of the hidden `decode-floor` subcommand.
#[derive(Debug, Clone, Args)]
pub struct FloorArgs {
    /// Directory with the split CSVs; a scratch file is written (and removed) here.
    #[arg(long = "data_dir")]
    pub data_dir: PathBuf,
    /// MIMIC-CXR-JPG directory containing files/.
    #[arg(long = "cxr_data_dir")]
    pub cxr_data_dir: PathBuf,
    /// Crop size the tensors would have.
    #[arg(long = "cxr_crop", default_value_t = 320)]
    pub cxr_crop: usize,
    /// Lab columns the tensors would have.
    #[arg(long, default_value_t = 50)]
    pub labs: usize,
    /// Only write (and fsync) the bytes, decoding nothing: the floor of write-bound work.
    #[arg(long = "write-only", conflicts_with = "decode_only")]
    pub write_only: bool,
    /// Only decode the images, writing nothing: the floor of decode-bound work.
    #[arg(long = "decode-only", conflicts_with = "direct")]
    pub decode_only: bool,
    /// Write with O_DIRECT (as stage 3 does where the filesystem allows) instead of through the page cache.
    #[arg(long)]
    pub direct: bool,
}

/// What a command did, for the caller to print or return.
#[derive(Debug, Serialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Outcome {
    Cohort(cohort::CohortReport),
    Splits(splits::SplitsReport),
    Tensors(tensors::TensorsReport),
    Build(pipeline::BuildSummary),
    Recipe {
        toml: String,
        written: Option<PathBuf>,
    },
    Verify(verify::VerifyReport),
    Plan(pipeline::plan::PlanOutcome),
    Inspect {
        png: PathBuf,
    },
    Evaluate {
        #[serde(flatten)]
        evaluation: ::evaluate::Evaluation,
        /// What the command line prints (JSON with `--json`).
        #[serde(skip)]
        text: String,
    },
    DecodeFloor {
        images: usize,
        bytes: u64,
    },
}

impl Outcome {
    /// The human summary the command line prints.
    pub fn summary(&self) -> String {
        match self {
            Outcome::Cohort(r) => r.summary(),
            Outcome::Splits(r) => r.summary(),
            Outcome::Tensors(r) => r.summary(),
            Outcome::Build(s) => s.text(),
            Outcome::Recipe { toml, written: None } => toml.trim_end().to_string(),
            Outcome::Recipe { written: Some(p), .. } => format!("wrote {}", p.display()),
            Outcome::Verify(r) => r.text(),
            Outcome::Plan(p) => p.summary(),
            Outcome::Inspect { png } => format!("wrote {}", png.display()),
            Outcome::Evaluate { text, .. } => text.clone(),
            Outcome::DecodeFloor { images, bytes } => format!("decoded {images} distinct images, wrote {bytes} bytes"),
        }
    }

    /// Whether the outcome is the command's data (printed even with
    /// `--quiet`, which silences reports, not answers).
    pub fn is_data(&self) -> bool {
        matches!(self, Outcome::Recipe { written: None, .. } | Outcome::Evaluate { .. } | Outcome::DecodeFloor { .. })
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
    let result = execute_as(cli, &bars, Spelling::CommandLine);
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
            // Quiet means errors only; a failed verification is one, and an answer is not a report.
            if !quiet || failure.is_some() || outcome.is_data() {
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

/// Runs a parsed command for the command line; `progress` draws bars and
/// says whether to stop.
pub fn execute(cli: Cli, progress: &dyn Progress) -> Result<Outcome> {
    execute_as(cli, progress, Spelling::CommandLine)
}

/// [`execute`] for a caller that names recipe fields its own way
/// (`Spelling::Python`: `train_n=`).
pub fn execute_as(cli: Cli, progress: &dyn Progress, spelling: Spelling) -> Result<Outcome> {
    match cli.threads {
        Some(0) => bail!("{}: must be at least 1", threads_name(spelling)),
        // A pool of its own (not the global one) so that a process can run
        // several commands, with different thread counts, one after another.
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .context("cannot start the worker threads")?
            .install(|| run(cli.command, progress, spelling)),
        None => run(cli.command, progress, spelling),
    }
}

fn threads_name(spelling: Spelling) -> &'static str {
    if spelling == Spelling::Python { "threads=" } else { "--threads" }
}

/// The recipe flags asked for, or the recipe error in the caller's words.
fn requested<F>(args: &RecipeArgs<F>, spelling: Spelling) -> Result<Requested> {
    args.requested().map_err(|e| anyhow!(e.render(spelling)))
}

/// A pipeline error in the caller's words: a recipe error as they wrote the
/// value, and for an error about a field, how they set it.
fn explain(err: pipeline::PipelineError, provenance: &Provenance, spelling: Spelling) -> anyhow::Error {
    let recipe_text = err.recipe_error().map(|r| (errors::Chain(r).to_string(), r.render(spelling)));
    let field = err.field();
    let no_input = matches!(err, pipeline::PipelineError::NoInput { .. });
    let settings = crate::spelled_settings(&err, spelling);
    let mut text = crate::error_chain(&anyhow::Error::new(err));
    for (plain, spelled) in settings {
        text = text.replacen(&plain, &spelled, 1);
    }
    if no_input {
        text.push_str(match spelling {
            Spelling::Python => " (mimic_root=, or mimiciv_hosp_dir=, cxr_data_dir= and ecg_data_dir=)",
            _ => " (--mimic-root DIR, or --mimiciv_hosp_dir, --cxr_data_dir and --ecg_data_dir)",
        });
    }
    match (recipe_text, field) {
        (Some((plain, spelled)), _) => text = text.replace(&plain, &spelled),
        (None, Some(field)) => text.push_str(&format!(" ({})", crate::how_set(field, provenance, spelling))),
        (None, None) => {}
    }
    anyhow!(text)
}

fn run(command: Command, progress: &dyn Progress, spelling: Spelling) -> Result<Outcome> {
    Ok(match command {
        Command::Cohort(a) => {
            let req = requested(&a.recipe, spelling)?;
            let dirs = a.inputs.spec().resolve().map_err(|e| explain(e, &req.provenance, spelling))?;
            let r = pipeline::stages::cohort(&dirs, &a.save_dir, &req, a.plan.clone(), a.output.checksums(), progress)
                .map_err(|e| explain(e, &req.provenance, spelling))?;
            Outcome::Cohort(r)
        }
        Command::Splits(a) => {
            let req = requested(&a.recipe, spelling)?;
            let seed = if a.use_seed { SeedChoice::Recipe } else { SeedChoice::Os };
            let r =
                pipeline::stages::splits(&a.dataset_path, &a.save_dir, &req, Adopt::Unset, seed, a.output.checksums())
                    .map_err(|e| explain(e, &req.provenance, spelling))?;
            Outcome::Splits(r)
        }
        Command::Tensors(a) => {
            let req = requested(&a.recipe, spelling)?;
            let (cxr_dir, ecg_dir) =
                a.inputs.spec().resolve_files().map_err(|e| explain(e, &req.provenance, spelling))?;
            let inputs = TensorsInputs {
                data_dir: a.data_dir.clone(),
                ecg_dir,
                cxr_dir,
                files: Some(TensorsFiles {
                    labs_means: a.labs_means.clone(),
                    train_csv: a.train_csv.clone(),
                    val_csv: a.val_csv.clone(),
                    val_retrieval_csv: a.val_retrieval_csv.clone(),
                    test_csv: a.test_csv.clone(),
                }),
                free_space: a.space.assume_free_bytes,
            };
            let r = pipeline::stages::tensors(&inputs, &req, Adopt::Unset, a.output.checksums(), progress)
                .map_err(|e| explain(e, &req.provenance, spelling))?;
            Outcome::Tensors(r)
        }
        Command::Build(a) => {
            let req = a.request().map_err(|e| anyhow!(e.render(spelling)))?;
            let summary = pipeline::build(&req, progress).map_err(|e| explain(e, &req.recipe.provenance, spelling))?;
            Outcome::Build(summary)
        }
        Command::Recipe(a) => {
            let toml = recipe::render_template();
            if let Some(p) = &a.out {
                durable::write_atomic(p, toml.as_bytes())?;
            }
            Outcome::Recipe { toml, written: a.out.clone() }
        }
        Command::Plan(a) => {
            let req = requested(&a.recipe, spelling)?;
            let plan = pipeline::plan::PlanRequest {
                inputs: a.inputs.spec(),
                out: a.out.clone(),
                minimal: a.minimal,
                check: a.check,
                rules: req.recipe.cohort.clone(),
            };
            Outcome::Plan(pipeline::plan::plan(&plan, progress).map_err(|e| explain(e, &req.provenance, spelling))?)
        }
        Command::Inspect(a) => Outcome::Inspect { png: crate::inspect::inspect(&a)? },
        Command::Evaluate(a) => {
            let evaluation = crate::evaluate::evaluate(&a)?;
            Outcome::Evaluate { text: a.render(&evaluation), evaluation }
        }
        Command::DecodeFloor(a) => {
            let mut dims = recipe::Recipe::default().dims();
            dims.cxr_crop = a.cxr_crop;
            dims.labs = a.labs;
            let write = match (a.decode_only, a.direct) {
                (true, _) => pipeline::floor::FloorWrite::Skip,
                (false, true) => pipeline::floor::FloorWrite::Direct,
                (false, false) => pipeline::floor::FloorWrite::Buffered,
            };
            let (images, bytes) =
                pipeline::floor::decode_floor(&a.data_dir, &a.cxr_data_dir, &dims, !a.write_only, write)?;
            Outcome::DecodeFloor { images, bytes }
        }
        Command::Verify(a) => Outcome::Verify(verify::verify(
            &verify::VerifyRequest {
                dir: a.dir.clone(),
                expect_published: a.expect_published,
                against: a.against.clone(),
            },
            progress,
        )?),
    })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::{CacheEnv, Platform, cache_dir_from};

    fn p(s: &str) -> Option<PathBuf> {
        Some(PathBuf::from(s))
    }

    #[test]
    fn the_demo_cache_is_the_override_then_the_platforms_cache_directory() {
        let all = CacheEnv {
            symile_mimic_cache: p("/my/cache"),
            xdg_cache_home: p("/xdg"),
            home: p("/home/u"),
            local_app_data: p("C:/Users/u/AppData/Local"),
        };
        for platform in [Platform::Xdg, Platform::MacOs, Platform::Windows] {
            assert_eq!(cache_dir_from(&all, platform), p("/my/cache"), "{platform:?}");
        }
        let no_override = CacheEnv { symile_mimic_cache: None, ..all.clone() };
        assert_eq!(cache_dir_from(&no_override, Platform::Xdg), p("/xdg/symile-mimic"));
        assert_eq!(cache_dir_from(&no_override, Platform::MacOs), p("/home/u/Library/Caches/symile-mimic"));
        assert_eq!(cache_dir_from(&no_override, Platform::Windows), p("C:/Users/u/AppData/Local/symile-mimic"));
        let home_only = CacheEnv { home: p("/home/u"), ..CacheEnv::default() };
        assert_eq!(cache_dir_from(&home_only, Platform::Xdg), p("/home/u/.cache/symile-mimic"));
        assert_eq!(cache_dir_from(&home_only, Platform::Windows), None);
        assert_eq!(cache_dir_from(&CacheEnv::default(), Platform::Xdg), None);
    }
}
