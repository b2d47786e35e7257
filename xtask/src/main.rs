//! Project automation, all in Rust behind `cargo xtask …`:
//!
//! - `synth`: write a deterministic MIMIC-shaped input tree.
//! - `build-dataset`: the main job — the embedded demo (or a real MIMIC
//!   download) through cohort → splits → tensors.
//! - `golden --against DIR`: run every stage on `DIR/input` and compare each
//!   output with `DIR/expected`.
//! - `bench`: time the stages against their physical floors.

mod bench;
mod golden;
mod synth_cmd;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "xtask", about = "symile-mimic project automation")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate MIMIC-shaped synthetic input.
    Synth(synth_cmd::SynthArgs),
    /// Build the dataset: the embedded demo by default, or a MIMIC download.
    BuildDataset(BuildDatasetArgs),
    /// Run every stage on DIR/input and compare with DIR/expected.
    Golden(golden::GoldenArgs),
    /// Benchmark stages on synthetic data against their physical floors.
    Bench(bench::BenchArgs),
}

#[derive(Debug, clap::Args)]
struct BuildDatasetArgs {
    /// Everything `symile-mimic build` takes; without input directories the
    /// embedded demo is generated (cached under target/demo/) and used.
    #[command(flatten)]
    build: symile_mimic::BuildArgs,
    /// Hide progress bars.
    #[arg(long)]
    quiet: bool,
}

/// The workspace root (xtask lives one level below it).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask is inside the workspace").to_path_buf()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(bench::MEASURE_ARG) {
        return match bench::measure_child(&args[2..]) {
            Ok(code) => ExitCode::from(code as u8),
            Err(err) => {
                eprintln!("error: {err:#}");
                ExitCode::from(2)
            }
        };
    }
    let cli = Cli::parse();
    symile_mimic::init_logging();
    let result = match cli.command {
        Command::Synth(args) => synth_cmd::run(&args),
        Command::BuildDataset(args) => build_dataset(args),
        Command::Golden(args) => golden::run(&args),
        Command::Bench(args) => bench::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", symile_mimic::error_chain(&err));
            ExitCode::from(2)
        }
    }
}

/// Generates the embedded demo input under `target/demo/input` unless an
/// identical one is already there, and returns its root.
pub fn demo_input() -> Result<PathBuf> {
    let root = workspace_root().join("target").join("demo");
    let input = root.join("input");
    let stamp_path = root.join("input.config");
    let cfg = synth::demo_config();
    let stamp = format!("{cfg:?}");
    if input.is_dir() && std::fs::read_to_string(&stamp_path).is_ok_and(|s| s == stamp) {
        eprintln!("demo input: {} (cached)", input.display());
        return Ok(input);
    }
    if input.exists() {
        std::fs::remove_dir_all(&input)
            .with_context(|| format!("cannot clear the stale demo input {}", input.display()))?;
    }
    std::fs::create_dir_all(&root)?;
    let t = std::time::Instant::now();
    synth::generate(&input, &cfg).context("generating the demo input")?;
    std::fs::write(&stamp_path, stamp)?;
    eprintln!("demo input: {} (generated in {:.1}s)", input.display(), t.elapsed().as_secs_f64());
    Ok(input)
}

fn build_dataset(mut args: BuildDatasetArgs) -> Result<()> {
    let b = &mut args.build;
    let demo =
        b.mimic_root.is_none() && b.mimiciv_hosp_dir.is_none() && b.cxr_data_dir.is_none() && b.ecg_data_dir.is_none();
    if demo {
        b.mimic_root = Some(demo_input()?);
        if b.out == Path::new("symile-mimic-data") {
            b.out = workspace_root().join("target").join("demo").join("output");
        }
    }
    let t = std::time::Instant::now();
    let bars = symile_mimic::progress::Bars::new(args.quiet);
    let summary = symile_mimic::build(&args.build, &bars)?;
    println!("{}", summary.text());
    println!("done in {:.1}s", t.elapsed().as_secs_f64());
    Ok(())
}
