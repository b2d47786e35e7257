//! Runs stage 3 on a prepared data directory and prints the report summary;
//! for measuring speed and memory without the CLI.
//!
//! `cargo run -p tensors --example tensors_run -- DATA_DIR ECG_DIR CXR_DIR SCALE CROP THREADS [FORMAT]`

fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 7 {
        eprintln!("usage: tensors_run DATA_DIR ECG_DIR CXR_DIR SCALE CROP THREADS [FORMAT]");
        std::process::exit(2);
    }
    let mut cfg = tensors::TensorsConfig::new(&a[1], &a[2], &a[3]);
    cfg.recipe.tensors.cxr_scale = a[4].parse().expect("SCALE");
    cfg.recipe.tensors.cxr_crop = a[5].parse().expect("CROP");
    let threads: usize = a[6].parse().expect("THREADS");
    if let Some(f) = a.get(7) {
        cfg.recipe.tensors.format = f.parse().expect("FORMAT");
    }
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("thread pool");
    match pool.install(|| tensors::run(&cfg, &progress::NoProgress)) {
        Ok(report) => print!("{}", report.summary()),
        Err(e) => {
            eprintln!("error: {}", errors::Chain(&e));
            std::process::exit(1);
        }
    }
}
