//! The dataset card (`README.md`) and `croissant.json`, written with the
//! stage that completes a dataset, in its commit.
//!
//! Both describe the directory as this commit leaves it: the outputs of the
//! earlier stages that are there (their digests from `SHA256SUMS.txt`, or
//! hashed now if an earlier stage kept no checksums), this stage's files
//! (digests from the hashing that feeds `SHA256SUMS.txt`, so the two lists
//! agree), the recipe and the releases that built it. The Croissant file
//! lists the card, so the card is rendered and hashed first; neither lists
//! `SHA256SUMS.txt` with a digest (it lists both). Without checksums there
//! are no digests to give: only the card is written, and it says why there is
//! no `croissant.json`. A build of the embedded synthetic demo is said to be
//! one (the cohort stage records `"synthetic": true` in its report), so its
//! card claims no patient data and no PhysioNet licence.

use std::path::Path;

use dataset_card::{CardInput, CsvTable, FileEntry, SplitCount, Windows};
use durable::Digest;
use mimic_io::discover::Releases;
use recipe::{Field, Recipe};
use serde_json::Value;
use sha2::Digest as _;

use crate::error::TensorsError;
use crate::plan::SplitPlan;

/// A file of this commit: its path relative to the dataset, size and digest.
pub(crate) struct Staged {
    pub rel: String,
    pub bytes: u64,
    pub digest: Option<Digest>,
}

/// The two files, rendered: `(README.md, croissant.json if checksums are kept)`.
pub(crate) struct Cards {
    pub readme: Vec<u8>,
    pub croissant: Option<Vec<u8>>,
}

fn card_err(source: dataset_card::CardError, path: &Path) -> TensorsError {
    TensorsError::Card { path: path.to_path_buf(), source }
}

fn sha256(bytes: &[u8]) -> Digest {
    sha2::Sha256::digest(bytes).into()
}

/// One line of the card's recipe table for `field`.
fn summary_value(r: &Recipe, field: Field) -> String {
    let c = &r.cohort;
    match field {
        Field::CxrWindowHours => c.cxr_window_hours.describe(true),
        Field::EcgWindowHours => c.ecg_window_hours.describe(false),
        Field::LabsWindowHours => c.labs_window_hours.describe(false),
        Field::CxrViews => c.views_text(),
        Field::Labs if c.labs == mimic_io::layout::LABS => "the published 50".to_string(),
        Field::Labs => c.labs.iter().map(u32::to_string).collect::<Vec<_>>().join(", "),
        f => r.value(f).to_string().trim_matches('"').to_string(),
    }
}

/// What the card takes from the cohort's report: the releases the cohort
/// was built from, and whether its input was the synthetic demo (`"synthetic":
/// true`; the key is absent for any other input).
fn cohort_facts(data_dir: &Path) -> (Releases, bool) {
    let report = std::fs::read(data_dir.join(dataset_layout::COHORT_REPORT))
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .unwrap_or(Value::Null);
    let versions = serde_json::from_value(report["versions"].clone()).unwrap_or_default();
    (versions, report["synthetic"] == Value::Bool(true))
}

/// Renders the card and (with digests) the Croissant file for `data_dir`
/// once this commit's `staged` files are in place.
pub(crate) fn render(
    data_dir: &Path,
    recipe: &Recipe,
    plans: &[SplitPlan],
    staged: &[Staged],
    sums_kept: bool,
) -> Result<Cards, TensorsError> {
    let old = durable::Sums::load(&data_dir.join(durable::SUMS_FILE)).ok().flatten().unwrap_or_default();
    let mut files: Vec<FileEntry> = Vec::new();
    // The earlier stages' outputs that are here.
    let mine: Vec<&str> = staged.iter().map(|s| s.rel.as_str()).collect();
    for rel in dataset_layout::COHORT_OUTPUTS.iter().copied().chain(dataset_layout::splits_outputs()) {
        let path = data_dir.join(rel);
        if mine.contains(&rel) || !path.is_file() {
            continue;
        }
        let bytes = std::fs::metadata(&path).map_err(|source| TensorsError::Io { path: path.clone(), source })?.len();
        let digest = match old.get(rel) {
            Some(d) => *d,
            None if sums_kept => durable::sha256_file(&path, &mut |_| true)
                .map_err(|source| TensorsError::Io { path: path.clone(), source })?,
            None => [0; 32],
        };
        files.push(FileEntry { path: rel.to_string(), bytes, sha256: durable::sums::hex(&digest) });
    }
    for s in staged {
        files.push(FileEntry {
            path: s.rel.clone(),
            bytes: s.bytes,
            sha256: durable::sums::hex(&s.digest.unwrap_or([0; 32])),
        });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));

    let mut csvs = Vec::new();
    for f in &files {
        if f.path.ends_with(".csv") {
            let path = data_dir.join(&f.path);
            let reader =
                std::fs::File::open(&path).map_err(|source| TensorsError::Io { path: path.clone(), source })?;
            csvs.push(CsvTable::infer(f.path.clone(), reader).map_err(|e| card_err(e, &path))?);
        }
    }
    let splits = plans
        .iter()
        .map(|p| {
            let queries = p.name.has_labels().then(|| p.label.iter().filter(|&&l| l == 1).count());
            SplitCount {
                name: p.name.to_string(),
                rows: p.rows,
                queries,
                candidates_per_query: queries.filter(|&q| q > 0).map(|q| p.rows / q),
            }
        })
        .collect();
    let c = &recipe.cohort;
    let (versions, synthetic) = cohort_facts(data_dir);
    let input = CardInput {
        tool_version: dataset_card::TOOL_VERSION.to_string(),
        synthetic,
        checksums: sums_kept,
        recipe_toml: recipe::render(recipe),
        recipe_is_published: recipe.differences_from_published().is_empty(),
        recipe_summary: Field::ALL.iter().map(|&f| (f.path().to_string(), summary_value(recipe, f))).collect(),
        windows: Windows {
            cxr: c.cxr_window_hours.describe(true),
            ecg: c.ecg_window_hours.describe(false),
            labs: c.labs_window_hours.describe(false),
        },
        cxr_views: c.cxr_views.clone(),
        labs: c.labs.len(),
        cxr_crop: recipe.tensors.cxr_crop as usize,
        versions,
        tensor_format: recipe.tensors.format,
        date_published: None,
        splits,
        files,
        csvs,
    };
    // Both cards check the same input, so an error is the card's.
    let cards = dataset_card::render_cards(&input).map_err(|e| card_err(e, &data_dir.join(dataset_card::README)))?;
    Ok(Cards { readme: cards.readme.into_bytes(), croissant: cards.croissant.map(String::into_bytes) })
}

/// The SHA-256 of bytes about to be staged.
pub(crate) fn digest_of(bytes: &[u8]) -> Digest {
    sha256(bytes)
}
