//! The card of the committed golden outputs (`testdata/golden/expected`),
//! rendered next to copies of the real files: every hash, size and column in
//! it is checked against those files.
//!
//! The directory is built as stage 3 builds one: the golden CSVs, JSONs and
//! tensors (moved to `<split>/`) copied, every file hashed, every CSV column
//! typed from its cells, then `README.md`, `croissant.json` and
//! `SHA256SUMS.txt` beside them — a directory `mlcroissant` can validate.

use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};

use dataset_card::{
    CROISSANT, CardInput, ColumnKind, CsvTable, FileEntry, Format, README, SUMS_FILE, SplitCount, TOOL_VERSION,
    Windows, render_cards,
};
use mimic_io::discover::Releases;
use serde_json::Value;
use test_support::bytes::sha256_hex;

/// The committed golden outputs.
fn golden_dir() -> PathBuf {
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
    Ok(FileEntry::of(path, &fs::read(dir.join(path))?))
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
fn write_golden_card(out: &Path) -> Result<CardInput, Box<dyn Error>> {
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
        tool_version: TOOL_VERSION.to_string(),
        synthetic: false,
        checksums: true,
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
    let cards = render_cards(&input)?;
    let croissant = cards.croissant.ok_or("the golden card keeps checksums")?;
    fs::write(out.join(README), &cards.readme)?;
    fs::write(out.join(CROISSANT), &croissant)?;
    let mut sums: Vec<FileEntry> = input.files.clone();
    sums.push(FileEntry::of(README, cards.readme.as_bytes()));
    sums.push(FileEntry::of(CROISSANT, croissant.as_bytes()));
    sums.sort_by(|a, b| a.path.cmp(&b.path));
    let sums: String = sums.iter().map(|f| format!("{}  {}\n", f.sha256, f.path)).collect();
    fs::write(out.join(SUMS_FILE), sums)?;
    input.files.push(FileEntry::of(README, cards.readme.as_bytes()));
    Ok(input)
}

#[test]
fn the_golden_card_describes_the_real_files() {
    let dir = test_support::tempdir();
    let input = write_golden_card(dir.path()).unwrap();
    let croissant: Value = serde_json::from_slice(&fs::read(dir.path().join("croissant.json")).unwrap()).unwrap();

    let dist = croissant["distribution"].as_array().unwrap();
    assert_eq!(dist.len(), 5 + 2 + 5 + 5 + 7 + 7 + 1, "CSVs, JSONs, 24 tensors, README");
    for o in dist {
        let path = o["contentUrl"].as_str().unwrap();
        let bytes = fs::read(dir.path().join(path)).unwrap();
        let sha = sha256_hex(&bytes);
        assert_eq!(o["sha256"], sha.as_str(), "{path}");
        assert_eq!(o["contentSize"], format!("{} B", bytes.len()), "{path}");
    }
    // The checksums file lists every file the Croissant file lists, with the same digest, and the Croissant file.
    let sums = fs::read_to_string(dir.path().join("SHA256SUMS.txt")).unwrap();
    assert_eq!(sums.lines().count(), dist.len() + 1);
    for line in sums.lines() {
        let (sha, path) = line.split_once("  ").unwrap();
        if path == "croissant.json" {
            continue;
        }
        let o = dist.iter().find(|o| o["contentUrl"] == path).unwrap_or_else(|| panic!("{path} not listed"));
        assert_eq!(o["sha256"], sha);
    }
    assert!(sums.contains("  croissant.json\n"));

    let sets = croissant["recordSet"].as_array().unwrap();
    assert_eq!(sets.len(), 5);
    for set in sets {
        let stem = set["name"].as_str().unwrap();
        let text = fs::read_to_string(dir.path().join(format!("{stem}.csv"))).unwrap();
        let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
        let names: Vec<&str> = set["field"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
        assert_eq!(names, header, "{stem}");
    }
    let test = input.csvs.iter().find(|t| t.file == "test.csv").unwrap();
    let kind = |name: &str| test.columns.iter().find(|c| c.name == name).unwrap().kind;
    assert_eq!(kind("hadm_id"), ColumnKind::Int);
    assert_eq!(kind("label"), ColumnKind::Int);
    assert_eq!(kind("Lung Opacity"), ColumnKind::Float);
    assert_eq!(kind("51221_percentile"), ColumnKind::Float);
    assert_eq!(kind("cxr_path"), ColumnKind::Text);

    let readme = fs::read_to_string(dir.path().join("README.md")).unwrap();
    for row in [
        "| `train` | 13 | — | — |",
        "| `val` | 3 | 3 | — |",
        "| `val_retrieval` | 9 | 3 | 3 |",
        "| `test` | 12 | 4 | 3 |",
    ] {
        assert!(readme.contains(row), "{row} missing");
    }
    assert!(readme.contains("`cxr_test` float32 (12, 3, 64, 64)"));
    assert!(readme.starts_with("# Symile-MIMIC (variant)"), "the golden flags are not the published recipe");
}

#[test]
fn the_golden_card_is_byte_identical_across_runs() {
    let (a, b) = (test_support::tempdir(), test_support::tempdir());
    write_golden_card(a.path()).unwrap();
    write_golden_card(b.path()).unwrap();
    for name in ["README.md", "croissant.json", "SHA256SUMS.txt"] {
        assert_eq!(fs::read(a.path().join(name)).unwrap(), fs::read(b.path().join(name)).unwrap(), "{name}");
    }
}
