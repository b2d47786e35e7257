//! Runs the cohort stage on an input tree laid out like the golden set
//! (`<root>/mimiciv/hosp`, `<root>/mimic-cxr-jpg`, `<root>/mimic-iv-ecg`), for
//! timing and memory measurements without the CLI:
//! `cargo run --release -p cohort --example run_cohort -- <root> <save_dir>`.

use std::path::PathBuf;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: run_cohort <input root> <save dir>");
        std::process::exit(2);
    }
    let root = PathBuf::from(&args[1]);
    let cfg = cohort::CohortConfig {
        hosp_dir: root.join("mimiciv/hosp"),
        cxr_dir: root.join("mimic-cxr-jpg"),
        ecg_dir: root.join("mimic-iv-ecg"),
        save_dir: PathBuf::from(&args[2]),
        recipe: recipe::Recipe::default(),
        checksums: durable::Checksums::Update,
        cxr_tables: None,
        versions: None,
        plan: None,
    };
    match cohort::run(&cfg, &progress::NoProgress) {
        Ok(rep) => println!("{}", rep.summary()),
        Err(e) => {
            eprintln!("error: {}", errors::Chain(&e));
            std::process::exit(1);
        }
    }
}
