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

use anyhow::Result;
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

fn build_dataset(mut args: BuildDatasetArgs) -> Result<()> {
    let b = &mut args.build;
    if symile_mimic::demo::wants_demo(b) {
        let input = workspace_root().join("target").join("demo").join("input");
        b.mimic_root = Some(symile_mimic::demo::ensure_demo_input(&input)?);
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
