//! The two renderers on a typical input: what each file must contain, and the
//! inputs they refuse.

use mimic_io::discover::{Project, Releases};
use serde_json::Value;

use super::*;

fn sha(i: usize) -> String {
    format!("{i:064x}")
}

fn col(name: &str, kind: ColumnKind) -> Column {
    Column { name: name.to_string(), kind }
}

/// The published recipe on the published releases, in safetensors.
fn published() -> CardInput {
    let versions = Releases::published();
    let splits = vec![
        SplitCount { name: "train".into(), rows: 10_000, queries: None, candidates_per_query: None },
        SplitCount { name: "val".into(), rows: 750, queries: Some(750), candidates_per_query: None },
        SplitCount { name: "val_retrieval".into(), rows: 7_500, queries: Some(750), candidates_per_query: Some(10) },
        SplitCount { name: "test".into(), rows: 8_720, queries: Some(872), candidates_per_query: Some(10) },
    ];
    let mut paths: Vec<String> =
        ["symile_mimic_data.csv", "train.csv", "val.csv", "val_retrieval.csv", "test.csv"].map(String::from).to_vec();
    paths.extend(dataset_layout::tensor_outputs(Format::Safetensors).iter().map(|p| p.to_str().unwrap().to_string()));
    paths.extend(["labs_means.json", "recipe.toml", "README.md"].map(String::from));
    let files = paths
        .into_iter()
        .enumerate()
        .map(|(i, path)| FileEntry { path, bytes: 1000 * i as u64 + 7, sha256: sha(i) })
        .collect();
    let split_columns = vec![
        col("subject_id", ColumnKind::Int),
        col("hadm_id", ColumnKind::Int),
        col("cxr_path", ColumnKind::Text),
        col("Lung Opacity", ColumnKind::Float),
        col("No Finding", ColumnKind::Float),
        col("51221", ColumnKind::Float),
        col("51221_percentile", ColumnKind::Float),
        col("flag", ColumnKind::Bool),
    ];
    let csvs = ["train.csv", "test.csv"]
        .iter()
        .map(|f| CsvTable { file: f.to_string(), columns: split_columns.clone() })
        .collect();
    CardInput {
        tool_version: "0.1.0".into(),
        synthetic: false,
        checksums: true,
        recipe_toml: "[cohort]\ncxr_window_hours = [24, 72]\n".into(),
        recipe_is_published: true,
        recipe_summary: vec![
            ("cohort.cxr_window_hours".into(), "(24 h, 72 h]".into()),
            ("splits.seed".into(), "0".into()),
        ],
        windows: Windows { cxr: "(24 h, 72 h]".into(), ecg: "[-24 h, 24 h]".into(), labs: "[-24 h, 24 h]".into() },
        cxr_views: vec!["AP".into(), "PA".into()],
        labs: 50,
        cxr_crop: 320,
        versions,
        tensor_format: Format::Safetensors,
        date_published: None,
        splits,
        files,
        csvs,
    }
}

fn variant() -> CardInput {
    let mut v = published();
    v.recipe_is_published = false;
    v.recipe_toml = "[cohort]\ncxr_window_hours = [0, 48]\n".into();
    v.windows.cxr = "(0 h, 48 h]".into();
    v.recipe_summary[0].1 = "(0 h, 48 h]".into();
    v
}

fn croissant(input: &CardInput) -> Value {
    serde_json::from_str(&render_croissant(input).unwrap()).expect("croissant.json is JSON")
}

#[test]
fn croissant_has_every_required_field() {
    let c = croissant(&published());
    assert_eq!(c["@type"], "sc:Dataset");
    assert_eq!(c["conformsTo"], "http://mlcommons.org/croissant/1.1");
    assert_eq!(c["@context"]["@vocab"], "https://schema.org/");
    assert_eq!(c["@context"]["rai"], "http://mlcommons.org/croissant/RAI/");
    assert_eq!(c["@context"]["cr"], "http://mlcommons.org/croissant/");
    for key in ["name", "description", "license", "url", "version", "citeAs", "datePublished"] {
        assert!(c[key].as_str().is_some_and(|s| !s.is_empty()), "{key} missing: {c}");
    }
    assert_eq!(c["name"], "Symile-MIMIC");
    assert_eq!(c["version"], "1.0.0");
    assert_eq!(c["datePublished"], "2025-01-28");
    assert_eq!(c["license"], "https://physionet.org/about/licenses/physionet-credentialed-health-data-license-150/");
    assert_eq!(c["creator"].as_array().unwrap().len(), 4);
    assert_eq!(c["creator"][0]["name"], "Adriel Saporta");
    for key in [
        "rai:dataCollection",
        "rai:dataLimitations",
        "rai:personalSensitiveInformation",
        "rai:dataBiases",
        "rai:dataUseCases",
    ] {
        assert!(!c[key].is_null(), "{key} missing");
    }
    let collection = c["rai:dataCollection"].as_str().unwrap();
    assert!(collection.contains("Beth Israel Deaconess") && collection.contains("MIMIC-IV 2.2"), "{collection}");
}

#[test]
fn one_file_object_per_file_with_its_hash() {
    let input = published();
    let c = croissant(&input);
    let dist = c["distribution"].as_array().unwrap();
    assert_eq!(dist.len(), input.files.len());
    for (f, o) in input.files.iter().zip(dist) {
        assert_eq!(o["@type"], "cr:FileObject");
        assert_eq!(o["@id"], f.path.as_str());
        assert_eq!(o["contentUrl"], f.path.as_str());
        assert_eq!(o["sha256"], f.sha256.as_str());
        assert_eq!(o["contentSize"], format!("{} B", f.bytes));
        assert!(!o["contentUrl"].as_str().unwrap().starts_with('/'));
    }
    let fmt = |p: &str| dist.iter().find(|o| o["@id"] == p).unwrap()["encodingFormat"].clone();
    assert_eq!(fmt("test.csv"), "text/csv");
    assert_eq!(fmt("train/cxr_train.safetensors"), "application/x-safetensors");
    assert_eq!(fmt("labs_means.json"), "application/json");
    assert_eq!(fmt("README.md"), "text/markdown");
    assert_eq!(fmt("recipe.toml"), "application/toml");
    assert!(dist.iter().all(|o| o["@id"] != "SHA256SUMS.txt" && o["@id"] != "croissant.json"));
}

#[test]
fn one_record_set_per_csv_with_its_columns_in_order() {
    let input = published();
    let c = croissant(&input);
    let sets = c["recordSet"].as_array().unwrap();
    assert_eq!(sets.len(), input.csvs.len());
    for (table, set) in input.csvs.iter().zip(sets) {
        let stem = table.file.strip_suffix(".csv").unwrap();
        assert_eq!(set["@type"], "cr:RecordSet");
        assert_eq!(set["@id"], stem);
        assert_eq!(set["name"], stem);
        let fields = set["field"].as_array().unwrap();
        assert_eq!(fields.len(), table.columns.len());
        for (column, field) in table.columns.iter().zip(fields) {
            assert_eq!(field["name"], column.name.as_str());
            assert_eq!(field["dataType"], column.kind.croissant_type());
            assert_eq!(field["source"]["fileObject"]["@id"], table.file.as_str());
            assert_eq!(field["source"]["extract"]["column"], column.name.as_str());
            let id = field["@id"].as_str().unwrap();
            assert!(id.starts_with(&format!("{stem}/")), "{id}");
            assert!(id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%/".contains(&b)), "{id} is not an IRI");
        }
    }
    let test = &sets[1]["field"];
    assert_eq!(test[3]["@id"], "test/Lung%20Opacity");
    assert_eq!(test[5]["@id"], "test/51221");
    assert_eq!(test[7]["dataType"], "sc:Boolean");
}

/// Every string in a JSON value, with the key it is under.
fn strings<'a>(v: &'a Value, key: &'a str, out: &mut Vec<(&'a str, &'a str)>) {
    match v {
        Value::String(s) => out.push((key, s)),
        Value::Array(a) => a.iter().for_each(|x| strings(x, key, out)),
        Value::Object(o) => o.iter().for_each(|(k, x)| strings(x, k, out)),
        _ => {}
    }
}

fn looks_like_a_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.windows(10).any(|w| {
        w[..4].iter().all(u8::is_ascii_digit)
            && w[4] == b'-'
            && w[5..7].iter().all(u8::is_ascii_digit)
            && w[7] == b'-'
            && w[8..].iter().all(u8::is_ascii_digit)
    }) || b.windows(8).any(|w| {
        w[..2].iter().all(u8::is_ascii_digit)
            && w[2] == b':'
            && w[3..5].iter().all(u8::is_ascii_digit)
            && w[5] == b':'
            && w[6..].iter().all(u8::is_ascii_digit)
    })
}

#[test]
fn no_absolute_path_and_no_timestamp_but_the_publication_date() {
    for input in [published(), variant()] {
        let c = croissant(&input);
        let mut all = Vec::new();
        strings(&c, "", &mut all);
        for (key, s) in all {
            if key == "datePublished" {
                continue;
            }
            assert!(!looks_like_a_timestamp(s), "{key}: {s:?} looks like a timestamp");
            assert!(!s.starts_with('/'), "{key}: {s:?} is an absolute path");
        }
        assert!(!render_readme(&input).unwrap().contains("/work/"));
    }
    assert!(looks_like_a_timestamp("2025-01-28") && looks_like_a_timestamp("at 07:12:00"));
}

#[test]
fn rendering_is_deterministic() {
    let input = published();
    assert_eq!(render_croissant(&input).unwrap(), render_croissant(&input.clone()).unwrap());
    assert_eq!(render_readme(&input).unwrap(), render_readme(&input.clone()).unwrap());
    for text in [render_croissant(&input).unwrap(), render_readme(&input).unwrap()] {
        assert!(text.ends_with('\n') && !text.ends_with("\n\n"), "{:?}", &text[text.len() - 20..]);
    }
}

#[test]
fn readme_states_every_split_count_the_recipe_and_the_licence() {
    let input = published();
    let md = render_readme(&input).unwrap();
    assert!(md.starts_with("# Symile-MIMIC\n"));
    for (row, counts) in [
        ("| `train` |", "| 10,000 | — | — |"),
        ("| `val` |", "| 750 | 750 | — |"),
        ("| `val_retrieval` |", "| 7,500 | 750 | 10 |"),
        ("| `test` |", "| 8,720 | 872 | 10 |"),
    ] {
        assert!(md.contains(&format!("{row} {}", counts.trim_start_matches("| "))), "{row} {counts} missing:\n{md}");
    }
    assert!(md.contains("PhysioNet Credentialed Health Data License 1.5.0"));
    assert!(md.contains("data use agreement"));
    assert!(md.contains("https://physionet.org/about/licenses/physionet-credentialed-health-data-license-150/"));
    assert!(md.contains("```toml\n[cohort]\ncxr_window_hours = [24, 72]\n```\n"));
    assert!(md.contains("| `cohort.cxr_window_hours` | (24 h, 72 h] |"));
    assert!(md.contains("symile-mimic](https://github.com/symile-mimic/symile-mimic) 0.1.0"));
    assert!(md.contains("| MIMIC-IV | 2.2 |") && md.contains("| MIMIC-CXR-JPG | 2.0.0 |"));
    assert!(md.contains("https://github.com/symile-mimic/symile-mimic/blob/main/docs/formats.md"));
    assert!(md.contains("symile_mimic.Dataset(root, \"train\")"));
    assert!(md.contains("safetensors.numpy import load_file"));
    assert!(md.contains("symile_mimic.evaluate(root, \"test\", scores, bootstrap=1000)"));
    assert!(md.contains("symile-mimic evaluate path/to/this/directory --split test --scores test_scores.npy"));
    for doi in ["10.13026/3vvj-s428", "10.13026/6mm1-ek67", "10.13026/8360-t248", "10.13026/4nqg-sb35"] {
        assert!(md.contains(doi), "{doi}");
    }
    assert!(md.contains("10.1161/01.CIR.101.23.e215") && md.contains("arXiv:2411.01053"));
    assert!(md.contains("| `train/cxr_train.safetensors` |") && md.contains("float32 (10000, 3, 320, 320)"));
    assert!(md.contains("`label_test` int64 (8720,)"));
    assert!(!md.contains("| `README.md` |"), "the card lists its own size");
    assert!(md.contains("the published Symile-MIMIC (version 1.0.0 on PhysioNet"));
}

/// The card's `python` blocks, in order.
fn python_blocks(md: &str) -> Vec<&str> {
    md.split("```python\n").skip(1).map(|b| b.split("```").next().unwrap()).collect()
}

#[test]
fn the_loading_examples_follow_the_tensor_format_for_numpy_and_torch() {
    let mut input = published();
    let md = render_readme(&input).unwrap();
    let blocks = python_blocks(&md);
    // Dataset, DataLoader, numpy, torch, pandas + mlcroissant, evaluate.
    assert_eq!(blocks.len(), 6, "{blocks:#?}");
    assert!(blocks[0].contains("symile_mimic.Dataset(root, \"train\")") && !blocks[0].contains("torch"));
    assert!(blocks[1].contains("import torch\n") && blocks[1].contains("torch.utils.data.DataLoader(ds"));
    assert!(blocks[2].contains("from safetensors.numpy import load_file") && !blocks[2].contains("torch"));
    assert!(blocks[3].starts_with("import torch\nfrom safetensors.torch import load_file\n"), "{}", blocks[3]);
    assert!(blocks[3].contains("load_file(f\"{root}/train/cxr_train.safetensors\")[\"cxr_train\"]"));

    input.tensor_format = Format::Npy;
    let md = render_readme(&input).unwrap();
    let blocks = python_blocks(&md);
    assert_eq!(blocks.len(), 6);
    assert!(
        blocks[2].contains("np.load(f\"{root}/train/cxr_train.npy\", mmap_mode=\"r\")") && !blocks[2].contains("torch")
    );
    assert!(blocks[3].contains("torch.from_numpy(np.load(f\"{root}/train/cxr_train.npy\"))"));

    // numpy reads a torch archive only through the Dataset: no numpy block of its own.
    input.tensor_format = Format::Pt;
    let md = render_readme(&input).unwrap();
    let blocks = python_blocks(&md);
    assert_eq!(blocks.len(), 5);
    assert!(blocks[2].contains("torch.load(f\"{root}/train/cxr_train.pt\", mmap=True, weights_only=True)"));
    // Only the torch blocks need torch.
    for b in &blocks {
        assert_eq!(b.contains("torch"), b.contains("import torch\n"), "{b}");
    }
}

#[test]
fn the_file_table_lists_the_checksums_file_without_a_digest() {
    let md = render_readme(&published()).unwrap();
    assert!(
        md.contains("| `SHA256SUMS.txt` | — | SHA-256 of every output file (`sha256sum -c SHA256SUMS.txt`) |\n"),
        "{md}"
    );
    assert_eq!(md.matches("| `SHA256SUMS.txt` |").count(), 1);
    assert!(md.contains("`SHA256SUMS.txt` lists the SHA-256 of every file, these two included."));
}

#[test]
fn without_checksums_the_card_says_why_there_is_no_croissant_file() {
    let mut input = variant();
    input.checksums = false;
    let md = render_readme(&input).unwrap();
    assert!(md.contains(
        "With them, this `README.md`. There is no `croissant.json`: this build kept no checksums \
         (`--no-checksums`), and Croissant metadata gives every file's SHA-256. To get it, build again without \
         `--no-checksums` (in Python, without `no_checksums=True`)."
    ));
    assert!(!md.contains("| `SHA256SUMS.txt` |") && !md.contains("mlcroissant"));
    assert!(python_blocks(&md).iter().any(|b| b.contains("pd.read_csv(f\"{root}/train.csv\")")));
    assert!(matches!(render_croissant(&input), Err(CardError::NoChecksums)));
    assert!(render_readme(&variant()).unwrap().contains("mlcroissant"));
}

fn synthetic() -> CardInput {
    let mut v = variant();
    v.synthetic = true;
    v.versions = Releases::default();
    v
}

#[test]
fn a_synthetic_build_claims_no_patients_and_no_physionet_licence() {
    let md = render_readme(&synthetic()).unwrap();
    assert!(md.starts_with(
        "# Symile-MIMIC (synthetic demo)\n\n> **Synthetic data, not the Symile-MIMIC dataset.** Every row was made \
         by symile-mimic's generator; none describes a real patient.\n\nSynthetic, MIMIC-shaped data"
    ));
    assert!(
        md.contains("Each row is one synthetic admission made by symile-mimic's deterministic MIMIC-shaped generator")
    );
    assert!(md.contains("not derived from PhysioNet data"));
    for claim in [
        "Beth Israel",
        "BIDMC",
        "derived from credentialed",
        "credentialed PhysioNet users bound",
        "Health data of real patients",
        "| MIMIC project | release |",
    ] {
        assert!(!md.contains(claim), "{claim:?} in the synthetic card:\n{md}");
    }
    let licence = md.split("## Licence and access\n\n").nth(1).unwrap();
    assert!(licence.starts_with("This directory holds synthetic data made by symile-mimic's generator"));
    assert!(licence.contains("It is not derived from PhysioNet data and holds no patient data"));
    assert!(licence.contains("MIT licence of symile-mimic (https://spdx.org/licenses/MIT.html)"));

    let c = croissant(&synthetic());
    assert_eq!(c["name"], "Symile-MIMIC (synthetic demo)");
    assert_eq!(c["license"], "https://spdx.org/licenses/MIT.html");
    assert!(c["version"].as_str().unwrap().starts_with("1.0.0+synthetic."));
    assert_eq!(c["datePublished"], TOOL_RELEASED);
    assert_eq!(c["isBasedOn"], serde_json::json!([]));
    assert!(c["description"].as_str().unwrap().starts_with("Synthetic, MIMIC-shaped data"));
    assert!(c["description"].as_str().unwrap().contains("no row describes a real patient"));
    assert_eq!(c["rai:dataCollectionType"][0], "Synthetic data generation");
    assert!(c["rai:dataCollection"].as_str().unwrap().starts_with("No data was collected. Every row was generated"));
    assert!(c["rai:personalSensitiveInformation"][0].as_str().unwrap().starts_with("None: every row"));
    assert!(c["rai:dataLimitations"].as_str().unwrap().starts_with("Synthetic:"));
    let mut all = Vec::new();
    strings(&c, "", &mut all);
    for (key, text) in all {
        assert!(!text.contains("Beth Israel") && !text.contains("real patients"), "{key}: {text}");
    }

    // The flag wins over a recipe and releases that would otherwise be the published dataset's.
    let mut published_shape = published();
    published_shape.synthetic = true;
    let md = render_readme(&published_shape).unwrap();
    assert!(md.starts_with("# Symile-MIMIC (synthetic demo)\n") && !md.contains("the same rows, splits and values"));
    assert_eq!(croissant(&published_shape)["datePublished"], TOOL_RELEASED);
}

#[test]
fn a_real_build_keeps_the_credentialed_licence() {
    for input in [published(), variant()] {
        let md = render_readme(&input).unwrap();
        let licence = md.split("## Licence and access\n\n").nth(1).unwrap();
        assert!(licence.starts_with("This dataset is derived from credentialed-access PhysioNet data"), "{licence}");
        assert!(md.contains("Beth Israel Deaconess Medical Center") && !md.contains("synthetic"));
        assert_eq!(croissant(&input)["rai:dataCollectionType"][0], "Secondary Data analysis");
    }
}

#[test]
fn a_variant_is_labelled_a_variant_with_its_own_windows() {
    let input = variant();
    let md = render_readme(&input).unwrap();
    assert!(md.starts_with("# Symile-MIMIC (variant)\n\n> **A variant, not the published Symile-MIMIC dataset.**"));
    assert!(md.contains("(0 h, 48 h]") && !md.contains("(24 h, 72 h]"));
    assert!(!md.contains("the same rows, splits and values"));
    let c = croissant(&input);
    assert_eq!(c["name"], "Symile-MIMIC (variant)");
    assert_eq!(c["datePublished"], TOOL_RELEASED, "a variant is dated by the release of the tool that built it");
    assert_eq!(c["url"], "https://github.com/symile-mimic/symile-mimic");
    let version = c["version"].as_str().unwrap();
    assert!(version.starts_with("1.0.0+variant.") && version.len() == "1.0.0+variant.".len() + 12, "{version}");
    assert!(c["description"].as_str().unwrap().contains("not the published dataset"));

    // Another variant has another version; the same one, the same.
    let mut other = variant();
    other.recipe_toml.push_str("[splits]\nseed = 1\n");
    assert_ne!(croissant(&other)["version"], c["version"]);
    assert_eq!(croissant(&variant())["version"], c["version"]);

    let mut dated = variant();
    dated.date_published = Some("2026-03-01".into());
    assert_eq!(croissant(&dated)["datePublished"], "2026-03-01");
}

#[test]
fn the_published_recipe_on_other_releases_is_not_the_published_dataset() {
    let mut input = published();
    input.versions.set(Project::MimicIv, "3.1");
    let md = render_readme(&input).unwrap();
    assert!(md.contains("(variant)") && md.contains("not the published dataset"));
    assert!(md.contains("https://doi.org/10.13026/kpb9-mt58"), "MIMIC-IV 3.1 cited by its DOI");
    let c = croissant(&input);
    assert_eq!(c["datePublished"], "2026-12-04");
    assert!(c["version"].as_str().unwrap().contains("+variant."));

    let mut partial = published();
    partial.versions.remove(Project::IvEcg);
    let md = render_readme(&partial).unwrap();
    assert!(md.contains("| MIMIC-IV-ECG | not recorded |") && md.contains("(variant)"));
    assert!(md.contains("MIMIC-IV-ECG (release not recorded)"));
}

#[test]
fn bad_inputs_are_refused_naming_the_field() {
    let err = |f: &dyn Fn(&mut CardInput)| {
        let mut input = published();
        f(&mut input);
        let a = render_croissant(&input).unwrap_err().to_string();
        assert_eq!(render_readme(&input).unwrap_err().to_string(), a);
        a
    };
    let e = err(&|i| i.files[0].path = "/data/out/test.csv".into());
    assert!(e.starts_with("files[0].path \"/data/out/test.csv\": an absolute path"), "{e}");
    assert!(err(&|i| i.files[1].path = "a/../b.csv".into()).contains("'..'"));
    assert!(err(&|i| i.files[1].path = "a b.csv".into()).contains("character"));
    assert!(err(&|i| i.files[2].path = "croissant.json".into()).contains("cannot list itself"));
    let e = err(&|i| i.files[2].path = "SHA256SUMS.txt".into());
    assert!(e.starts_with("files[2].path \"SHA256SUMS.txt\": SHA256SUMS.txt holds croissant.json's hash"), "{e}");
    assert!(err(&|i| i.files[2].path = i.files[1].path.clone()).contains("listed twice"));
    assert!(err(&|i| i.files[3].sha256 = "ABC".into()).starts_with("files[3].sha256 \"ABC\""));
    assert!(err(&|i| i.files[3].sha256 = "AB".repeat(32)).contains("lowercase"));
    assert!(err(&|i| i.csvs[0].file = "nope.csv".into()).starts_with("csvs[0].file \"nope.csv\" is not in files"));
    assert!(err(&|i| i.csvs[0].file = "labs_means.json".into()).contains("expected a .csv file"));
    assert!(err(&|i| i.csvs[1].columns[1].name = "subject_id".into()).contains("\"subject_id\" appears twice"));
    assert!(err(&|i| i.csvs[1].columns.clear()).contains("no columns"));
    assert!(err(&|i| i.splits[1].name = "train".into()).starts_with("splits[1].name \"train\" is listed twice"));
    for bad in ["2025-1-28", "2025-02-30", "28/01/2025", "2025-01-28T00:00:00"] {
        assert!(err(&|i| i.date_published = Some(bad.into())).starts_with("date_published"), "{bad}");
    }
    assert!(is_date("2024-02-29") && !is_date("2023-02-29") && !is_date("2000-13-01"));
    let e = err(&|i| {
        i.recipe_is_published = false;
        i.tool_version = "0.0.9".into();
    });
    assert_eq!(
        e,
        "tool_version \"0.0.9\": its release date is not known (this is symile-mimic 0.1.0, released 2026-12-04); \
         give date_published"
    );
}

#[test]
fn every_version_of_the_tool_has_its_release_date() {
    // Bumping the version without dating its release would date its variants wrongly.
    assert_eq!((TOOL_VERSION, TOOL_RELEASED), ("0.1.0", "2026-12-04"));
    assert!(is_date(TOOL_RELEASED));
    // Another version's card is dated by the caller.
    let mut input = variant();
    input.tool_version = "0.0.9".into();
    input.date_published = Some("2026-01-02".into());
    assert_eq!(croissant(&input)["datePublished"], "2026-01-02");
    // The published dataset is PhysioNet's, whatever built it.
    let mut input = published();
    input.tool_version = "0.0.9".into();
    assert_eq!(croissant(&input)["datePublished"], "2025-01-28");
}

#[test]
fn a_stem_shared_by_two_csvs_is_refused() {
    let mut input = published();
    input.files.push(FileEntry { path: "aux/test.csv".into(), bytes: 1, sha256: sha(99) });
    input.csvs.push(CsvTable { file: "aux/test.csv".into(), columns: vec![col("a", ColumnKind::Int)] });
    let e = render_croissant(&input).unwrap_err().to_string();
    assert!(e.contains("stem \"test\""), "{e}");
}

#[test]
fn render_cards_lists_the_readme_in_the_croissant_file_by_its_digest() {
    let mut input = variant();
    input.files.retain(|f| f.path != README);
    let cards = render_cards(&input).unwrap();
    assert_eq!(cards.readme, render_readme(&input).unwrap());
    let c: Value = serde_json::from_str(cards.croissant.as_deref().unwrap()).unwrap();
    let dist = c["distribution"].as_array().unwrap();
    assert_eq!(dist.len(), input.files.len() + 1);
    let readme = dist.iter().find(|o| o["@id"] == README).unwrap();
    assert_eq!(readme["sha256"], FileEntry::of(README, cards.readme.as_bytes()).sha256.as_str());
    assert_eq!(readme["contentSize"], format!("{} B", cards.readme.len()));
    let ids: Vec<&str> = dist.iter().map(|o| o["@id"].as_str().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "in path order: {ids:?}");
    assert_eq!(
        FileEntry::of("a.txt", b"abc").sha256,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );

    input.checksums = false;
    assert_eq!(render_cards(&input).unwrap().croissant, None);
}
