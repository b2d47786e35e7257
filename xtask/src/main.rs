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
#[cfg(test)]
mod tidy;

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
                eprintln!("error: {}", symile_mimic::error_chain(&err));
                ExitCode::from(2)
            }
        };
    }
    let cli = Cli::parse();
    symile_mimic::init_logging(matches!(&cli.command, Command::BuildDataset(a) if a.quiet));
    if let Err(err) = symile_mimic::signals::install() {
        eprintln!("error: {}", symile_mimic::error_chain(&err));
        return ExitCode::from(2);
    }
    let result = match cli.command {
        Command::Synth(args) => synth_cmd::run(&args),
        Command::BuildDataset(args) => build_dataset(args),
        Command::Golden(args) => golden::run(&args),
        Command::Bench(args) => bench::run(&args),
    };
    if let Some(sig) = symile_mimic::signals::received() {
        let what = result.err().map_or("the run had completed".to_string(), |e| symile_mimic::error_chain(&e));
        eprintln!("interrupted by {}: {what}", symile_mimic::signals::name(sig));
        return ExitCode::from(symile_mimic::signals::exit_status(sig));
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", symile_mimic::error_chain(&err));
            ExitCode::from(2)
        }
    }
}

fn build_dataset(mut args: BuildDatasetArgs) -> Result<()> {
    let demo = workspace_root().join("target").join("demo");
    if args.build.inputs.spec().is_empty() && args.build.out == Path::new("symile-mimic-data") {
        args.build.out = demo.join("output");
    }
    if args.build.demo_cache.is_none() {
        args.build.demo_cache = Some(demo.clone());
    }
    let t = std::time::Instant::now();
    let bars = symile_mimic::progress::Bars::new(args.quiet);
    let req = args.build.request().map_err(|e| anyhow::anyhow!(e.render(recipe::Spelling::CommandLine)))?;
    let summary = pipeline::build(&req, &bars)?;
    if !args.quiet {
        println!("{}", summary.text());
        println!("done in {:.1}s", t.elapsed().as_secs_f64());
    }
    Ok(())
}

/// The docs' command lines are checked against the real flag parsers, so a
/// renamed or removed flag cannot linger in a page a user copies from.
#[cfg(test)]
mod doc_commands {
    use std::path::Path;

    use clap::Parser;

    /// Every command line in the ```sh blocks of README.md and docs/*.md,
    /// continuation lines joined and comments dropped.
    fn command_lines() -> Vec<(String, String)> {
        let root = super::workspace_root();
        let mut pages = vec![root.join("README.md")];
        let mut docs: Vec<_> = std::fs::read_dir(root.join("docs"))
            .expect("docs/")
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "md"))
            .collect();
        docs.sort();
        pages.extend(docs);
        let mut out = Vec::new();
        for page in pages {
            let text = std::fs::read_to_string(&page).unwrap();
            let name = page.file_name().unwrap().to_string_lossy().into_owned();
            let mut in_sh = false;
            let mut pending = String::new();
            for line in text.lines() {
                let trimmed = line.trim();
                if trimmed.starts_with("```") {
                    in_sh = !in_sh && matches!(trimmed, "```sh" | "```bash" | "```console");
                    continue;
                }
                if !in_sh {
                    continue;
                }
                let code = match trimmed.find(" #") {
                    Some(i) => &trimmed[..i],
                    None if trimmed.starts_with('#') => "",
                    None => trimmed,
                };
                match code.strip_suffix('\\') {
                    Some(head) => pending.push_str(head),
                    None => {
                        pending.push_str(code);
                        let cmd = std::mem::take(&mut pending).trim().to_string();
                        if !cmd.is_empty() {
                            out.push((name.clone(), cmd));
                        }
                    }
                }
            }
        }
        out
    }

    /// Words of a documented command: `[--seed 0]` is an option shown as
    /// optional, `a|b|c` a choice (the first is tried), `$X`/`D`/`OUT` placeholders.
    fn words(cmd: &str) -> Vec<String> {
        cmd.split_whitespace()
            .map(|w| w.trim_matches(|c| c == '[' || c == ']'))
            .filter(|w| !w.is_empty())
            .map(|w| if w.starts_with("--") { w.to_string() } else { w.split('|').next().unwrap().to_string() })
            .collect()
    }

    #[test]
    fn every_recipe_key_is_documented_with_its_default() {
        let page = std::fs::read_to_string(super::workspace_root().join("docs/recipe.md")).unwrap();
        let published = recipe::Recipe::default();
        for f in recipe::Field::ALL {
            let row = page
                .lines()
                .find(|l| l.starts_with(&format!("| `{}` |", f.path())))
                .unwrap_or_else(|| panic!("docs/recipe.md has no row for {f}"));
            let value = published.value(f);
            let shown = if f == recipe::Field::Labs {
                "the published 50".to_string()
            } else {
                value.to_string().replace(',', ", ")
            };
            assert!(row.contains(&shown), "docs/recipe.md gives {f} another default than {shown}: {row}");
        }
    }

    #[test]
    fn every_documented_command_line_parses() {
        let lines = command_lines();
        let mut checked = 0;
        for (page, cmd) in &lines {
            let w = words(cmd);
            let result = match w.first().map(String::as_str) {
                Some("symile-mimic") => symile_mimic::app::parse(&w).map(drop),
                Some("cargo") if w.get(1).map(String::as_str) == Some("xtask") => {
                    let argv: Vec<&str> = std::iter::once("xtask").chain(w[2..].iter().map(String::as_str)).collect();
                    super::Cli::try_parse_from(argv).map(drop)
                }
                _ => continue,
            };
            checked += 1;
            if let Err(e) = result {
                panic!("{page}: `{cmd}` does not parse:\n{e}");
            }
        }
        assert!(checked >= 10, "only {checked} command lines found; is the extraction broken?");
        assert!(Path::new(&super::workspace_root()).join("README.md").is_file());
    }
}
