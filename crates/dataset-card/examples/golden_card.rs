//! Renders a card for the committed golden outputs: copies
//! `testdata/golden/expected` (CSVs, JSONs, tensors moved to `<split>/`) into
//! a directory, hashes every file, types every CSV column from its cells, and
//! writes `README.md`, `croissant.json` and `SHA256SUMS.txt` beside them —
//! a directory `mlcroissant` can validate and read.
//!
//! ```sh
//! cargo run -p dataset-card --example golden_card -- target/card-example
//! ```

use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};

use dataset_card::{
    CROISSANT, CardInput, CsvTable, FileEntry, Format, README, SplitCount, Windows, render_croissant, render_readme,
};
use mimic_io::discover::Releases;
use sha2::{Digest, Sha256};

/// The committed golden outputs.
pub fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/golden/expected")
}

/// The golden set's recipe (the reference run's flags), as a recipe file would say it.
const RECIPE: &str = "\
# The golden set's flags: --train_n 13 --val_n 3 --candidate_n 3 --seed 70 --cxr_scale 64 --cxr_crop 64
[cohort]
cxr_window_hours = [24, 72]
ecg_window_hours = [-24, 24]
labs_window_hours = [-24, 24]
cxr_views = [\"AP\", \"PA\"]

[splits]
train_n = 13
val_n = 3
candidate_n = 3
seed = 70

[tensors]
cxr_scale = 64
cxr_crop = 64
format = \"safetensors\"
";

const SPLITS: [&str; 4] = ["train", "val", "val_retrieval", "test"];
const CSVS: [&str; 5] = ["symile_mimic_data.csv", "train.csv", "val.csv", "val_retrieval.csv", "test.csv"];

fn entry(dir: &Path, path: &str) -> Result<FileEntry, Box<dyn Error>> {
    let bytes = fs::read(dir.join(path))?;
    let sha256 = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    Ok(FileEntry { path: path.to_string(), bytes: bytes.len() as u64, sha256 })
}

/// Rows and queries (`label` = 1 rows) of a split CSV.
fn counts(csv_path: &Path) -> Result<(usize, usize), Box<dyn Error>> {
    let mut reader = csv::Reader::from_path(csv_path)?;
    let label = reader.headers()?.iter().position(|h| h == "label");
    let (mut rows, mut queries) = (0, 0);
    for record in reader.records() {
        let record = record?;
        rows += 1;
        if label.is_some_and(|i| &record[i] == "1") {
            queries += 1;
        }
    }
    Ok((rows, queries))
}

/// Writes the golden card directory into `out` and returns the input it was rendered from.
pub fn write_golden_card(out: &Path) -> Result<CardInput, Box<dyn Error>> {
    let golden = golden_dir();
    fs::create_dir_all(out)?;
    let mut paths: Vec<String> = Vec::new();
    for name in CSVS.iter().chain(&["labs_means.json", "metadata.json"]) {
        fs::copy(golden.join(name), out.join(name))?;
        paths.push(name.to_string());
    }
    for split in SPLITS {
        fs::create_dir_all(out.join(split))?;
        let mut names: Vec<String> = fs::read_dir(golden.join("tensors").join(split))?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<Result<_, _>>()?;
        names.sort();
        for name in names {
            fs::copy(golden.join("tensors").join(split).join(&name), out.join(split).join(&name))?;
            paths.push(format!("{split}/{name}"));
        }
    }

    let mut splits = Vec::new();
    for split in SPLITS {
        let (rows, queries) = counts(&out.join(format!("{split}.csv")))?;
        let retrieval = split == "val_retrieval" || split == "test";
        splits.push(SplitCount {
            name: split.to_string(),
            rows,
            queries: (split != "train").then_some(queries),
            candidates_per_query: (retrieval && queries > 0).then(|| rows / queries),
        });
    }
    let mut csvs = Vec::new();
    for name in CSVS {
        csvs.push(CsvTable::infer(name, fs::File::open(out.join(name))?)?);
    }
    let versions = Releases::published();
    let mut input = CardInput {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        recipe_toml: RECIPE.to_string(),
        recipe_is_published: false,
        recipe_summary: vec![
            ("cohort.cxr_window_hours".into(), "(24 h, 72 h]".into()),
            ("cohort.ecg_window_hours".into(), "[-24 h, 24 h]".into()),
            ("cohort.labs_window_hours".into(), "[-24 h, 24 h]".into()),
            ("cohort.cxr_views".into(), "AP/PA".into()),
            ("splits.train_n".into(), "13".into()),
            ("splits.val_n".into(), "3".into()),
            ("splits.candidate_n".into(), "3".into()),
            ("splits.seed".into(), "70".into()),
            ("tensors.cxr_scale".into(), "64".into()),
            ("tensors.cxr_crop".into(), "64".into()),
        ],
        windows: Windows { cxr: "(24 h, 72 h]".into(), ecg: "[-24 h, 24 h]".into(), labs: "[-24 h, 24 h]".into() },
        cxr_views: vec!["AP".into(), "PA".into()],
        labs: 50,
        cxr_crop: 64,
        versions,
        tensor_format: Format::Safetensors,
        date_published: None,
        splits,
        files: paths.iter().map(|p| entry(out, p)).collect::<Result<_, _>>()?,
        csvs,
    };

    // README first (it does not list itself), then the Croissant file, which
    // lists it, then the checksums of every file, the two cards included (so
    // the Croissant file cannot list SHA256SUMS.txt, which holds its hash).
    fs::write(out.join(README), render_readme(&input)?)?;
    input.files.push(entry(out, README)?);
    fs::write(out.join(CROISSANT), render_croissant(&input)?)?;
    let mut sums: Vec<FileEntry> = input.files.clone();
    sums.push(entry(out, CROISSANT)?);
    sums.sort_by(|a, b| a.path.cmp(&b.path));
    let sums: String = sums.iter().map(|f| format!("{}  {}\n", f.sha256, f.path)).collect();
    fs::write(out.join("SHA256SUMS.txt"), sums)?;
    Ok(input)
}

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn Error>> {
    let out = std::env::args_os().nth(1).map(PathBuf::from).ok_or("usage: golden_card OUT_DIR")?;
    write_golden_card(&out)?;
    println!("{}", out.join(CROISSANT).display());
    Ok(())
}
