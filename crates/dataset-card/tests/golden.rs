//! The card of the committed golden outputs (`testdata/golden/expected`),
//! rendered next to copies of the real files: every hash, size and column in
//! it is checked against those files.

#[allow(dead_code)]
#[path = "../examples/golden_card.rs"]
mod golden_card;

use std::fs;

use dataset_card::ColumnKind;
use serde_json::Value;
use test_support::bytes::sha256_hex;

#[test]
fn the_golden_card_describes_the_real_files() {
    let dir = test_support::tempdir();
    let input = golden_card::write_golden_card(dir.path()).unwrap();
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
    golden_card::write_golden_card(a.path()).unwrap();
    golden_card::write_golden_card(b.path()).unwrap();
    for name in ["README.md", "croissant.json", "SHA256SUMS.txt"] {
        assert_eq!(fs::read(a.path().join(name)).unwrap(), fs::read(b.path().join(name)).unwrap(), "{name}");
    }
}
