//! The cards of a small directory, as stage 3 writes them: a CSV and a
//! recipe are written, hashed and typed, then `README.md`, `croissant.json`
//! and `SHA256SUMS.txt` are written beside them, in that order — a directory
//! `mlcroissant validate` accepts and reads back.
//!
//! ```sh
//! cargo run -p dataset-card --example card -- target/card-example
//! mlcroissant validate --jsonld target/card-example/croissant.json
//! ```

use std::error::Error;
use std::fs;
use std::path::PathBuf;

use dataset_card::{
    CROISSANT, CardInput, CsvTable, FileEntry, Format, README, SUMS_FILE, SplitCount, TOOL_VERSION, Windows,
    render_cards,
};
use mimic_io::discover::Releases;

/// Two queries, each with one negative: the other query's row.
const TEST_CSV: &str = "hadm_id,label_hadm_id,label,Lung Opacity\n7,7,1,1.0\n8,8,1,\n8,7,0,\n7,8,0,1.0\n";
const RECIPE: &str = "[splits]\ncandidate_n = 2\n";

fn main() -> Result<(), Box<dyn Error>> {
    let out = std::env::args_os().nth(1).map(PathBuf::from).ok_or("usage: card OUT_DIR")?;
    fs::create_dir_all(&out)?;
    let mut files = Vec::new();
    for (name, text) in [("recipe.toml", RECIPE), ("test.csv", TEST_CSV)] {
        fs::write(out.join(name), text)?;
        files.push(FileEntry::of(name, text.as_bytes()));
    }
    let input = CardInput {
        tool_version: TOOL_VERSION.to_string(),
        synthetic: true,
        checksums: true,
        recipe_toml: RECIPE.to_string(),
        recipe_is_published: false,
        recipe_summary: vec![("splits.candidate_n".into(), "2".into())],
        windows: Windows { cxr: "(24 h, 72 h]".into(), ecg: "[-24 h, 24 h]".into(), labs: "[-24 h, 24 h]".into() },
        cxr_views: vec!["AP".into(), "PA".into()],
        labs: 50,
        cxr_crop: 320,
        versions: Releases::default(),
        tensor_format: Format::Safetensors,
        date_published: None,
        splits: vec![SplitCount { name: "test".into(), rows: 4, queries: Some(2), candidates_per_query: Some(2) }],
        csvs: vec![CsvTable::infer("test.csv", TEST_CSV.as_bytes())?],
        files,
    };
    // The README first (the Croissant file lists it), then the Croissant file,
    // then the checksums of everything, both cards included.
    let cards = render_cards(&input)?;
    let croissant = cards.croissant.ok_or("this directory keeps checksums")?;
    fs::write(out.join(README), &cards.readme)?;
    fs::write(out.join(CROISSANT), &croissant)?;
    let mut sums = input.files;
    sums.push(FileEntry::of(README, cards.readme.as_bytes()));
    sums.push(FileEntry::of(CROISSANT, croissant.as_bytes()));
    sums.sort_by(|a, b| a.path.cmp(&b.path));
    fs::write(out.join(SUMS_FILE), sums.iter().map(|f| format!("{}  {}\n", f.sha256, f.path)).collect::<String>())?;
    println!("{}", out.join(CROISSANT).display());
    Ok(())
}
