//! Generates a synthetic tree and prints its counts and the time taken; used
//! to measure generation speed in release builds:
//! `cargo run --release -p synth --example gen -- OUT_DIR [demo | SCALE] [SEED] [MAX_ECG] [MAX_CXR] [full|small] [PLANTED_REPS]`.

use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(out) = args.first() else {
        eprintln!("usage: gen OUT_DIR [demo | SCALE] [SEED] [MAX_ECG|-] [MAX_CXR|-] [full|small] [PLANTED_REPS]");
        std::process::exit(2);
    };
    let mut cfg = match args.get(1).map(String::as_str) {
        None | Some("demo") => synth::demo_config(),
        Some(s) => synth::SynthConfig { scale: s.parse().expect("SCALE is a number"), ..Default::default() },
    };
    if let Some(seed) = args.get(2) {
        cfg.seed = seed.parse().expect("SEED is an integer");
    }
    let limit = |s: &String| if s == "-" { None } else { Some(s.parse().expect("a file limit is an integer or -")) };
    cfg.max_ecg_files = args.get(3).and_then(limit);
    cfg.max_cxr_files = args.get(4).and_then(limit);
    if args.get(5).map(String::as_str) == Some("full") {
        cfg.cxr_size = synth::CxrSize::Full;
    }
    if let Some(reps) = args.get(6) {
        cfg.planted_reps = reps.parse().expect("PLANTED_REPS is an integer");
    }
    let t = Instant::now();
    match synth::generate(std::path::Path::new(out), &cfg) {
        Ok(m) => {
            println!("{}", serde_json::to_string_pretty(&m.counts).expect("counts serialise"));
            println!("seconds: {:.2}", t.elapsed().as_secs_f64());
        }
        Err(e) => {
            eprintln!("error: {}", errors::Chain(&e));
            std::process::exit(1);
        }
    }
}
