//! A dataset directory's card: `README.md` for people and `croissant.json`
//! (Croissant 1.1 JSON-LD, with the Responsible-AI vocabulary) for tools.
//!
//! Both are pure functions of a [`CardInput`], which holds no absolute path,
//! no timestamp and nothing read from the environment, so the same input gives
//! the same bytes on every run and machine. Objects are printed in a fixed key
//! order, lists in the order given, and each file ends in one newline.
//!
//! ```text
//! CardInput ──► render_readme ──► README.md   (lists `files`, except README.md and croissant.json)
//!     │                                │ hash it, add it to `files`
//!     └───────► render_croissant ──► croissant.json (one FileObject per entry of `files`)
//! ```
//!
//! `croissant.json` carries the SHA-256 of every file it lists, so it cannot
//! list itself, nor a `SHA256SUMS.txt` that lists it (each would have to
//! contain the other's hash): render the README, hash it, render the
//! Croissant file with the README among `files`, then checksum everything.
//!
//! What a card claims follows from the input: a build is called *the
//! published Symile-MIMIC* only when the recipe is the published one **and**
//! the three MIMIC releases are the ones the published dataset was built from
//! (MIMIC-IV 2.2, MIMIC-CXR-JPG 2.0.0, MIMIC-IV-ECG 1.0); anything else is
//! labelled a variant, with the windows and settings of its own recipe. A
//! build of the embedded synthetic demo ([`CardInput::synthetic`]) is
//! neither: its card says that no row is patient data and that nothing in it
//! is derived from PhysioNet data, whatever its recipe.
//!
//! Every card has a `datePublished` and none is the time of the run: the
//! published dataset is dated by PhysioNet's release (2025-01-28), anything
//! else by the release of the symile-mimic version that built it
//! ([`TOOL_RELEASED`]), since a variant is a function of its recipe, the MIMIC
//! releases and the tool version.

use std::collections::BTreeSet;
use std::io::Read;
use std::sync::Arc;

use mimic_io::discover::Releases;

pub use dataset_layout::Format;

mod cite;
mod croissant;
mod facts;
mod files;
mod infer;
mod json;
mod readme;

/// The card's file name in a dataset directory.
pub const README: &str = dataset_layout::CARD;
/// The Croissant file's name in a dataset directory.
pub const CROISSANT: &str = dataset_layout::CROISSANT;
/// `SHA256SUMS.txt` (durable's name; spelled here to keep the card free of I/O
/// crates). It lists both cards, so neither can list it with a digest.
pub const SUMS_FILE: &str = "SHA256SUMS.txt";

/// The symile-mimic version this crate is part of (the workspace's version).
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");
/// The release date of [`TOOL_VERSION`], `YYYY-MM-DD`: the `datePublished` of
/// every card but the published dataset's. A build's bytes depend only on its
/// recipe, the MIMIC releases and the tool version, so the tool's release
/// dates it, and the same build has the same date on every run and machine.
/// A new version needs its date here (a unit test pairs the two).
pub const TOOL_RELEASED: &str = "2026-12-04";

/// Everything a card says about one dataset directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardInput {
    /// The symile-mimic version that built the directory (`0.1.0`). Unless
    /// `date_published` is given it must be [`TOOL_VERSION`], whose release
    /// date ([`TOOL_RELEASED`]) dates a card that is not the published dataset.
    pub tool_version: String,
    /// The rows come from the embedded synthetic demo (symile-mimic's
    /// MIMIC-shaped generator), not from MIMIC: the card then says that no row
    /// is patient data and that no PhysioNet licence applies.
    pub synthetic: bool,
    /// The directory keeps `SHA256SUMS.txt`, so every file has a digest and
    /// `croissant.json` can be written. Without checksums the card says why
    /// there is no `croissant.json`, and [`render_croissant`] refuses.
    pub checksums: bool,
    /// The effective recipe as TOML text, shown verbatim in the card.
    pub recipe_toml: String,
    /// Whether the recipe is the published Symile-MIMIC recipe.
    pub recipe_is_published: bool,
    /// `setting → value` lines for the card's recipe table, in order
    /// (`cohort.cxr_window_hours` → `(24 h, 72 h]`).
    pub recipe_summary: Vec<(String, String)>,
    /// The cohort's time windows, in the words of the summary.
    pub windows: Windows,
    /// The CXR view positions kept (`["AP", "PA"]` published).
    pub cxr_views: Vec<String>,
    /// How many labs each row holds (50 published).
    pub labs: usize,
    /// Side of the square CXR crop in the tensors (`cxr_crop`, 320 published).
    pub cxr_crop: usize,
    /// The release read of each MIMIC project; a project whose release is
    /// not known is reported as not recorded.
    pub versions: Releases,
    /// The format of the tensor files.
    pub tensor_format: Format,
    /// `YYYY-MM-DD` for Croissant's `datePublished`. `None`: the published
    /// dataset's PhysioNet date (2025-01-28) for the published dataset, and
    /// [`TOOL_RELEASED`] for anything else.
    pub date_published: Option<String>,
    /// Row counts of the splits, in the order to show them.
    pub splits: Vec<SplitCount>,
    /// The files of the directory the card describes, relative paths with `/`;
    /// neither `croissant.json` nor `SHA256SUMS.txt` (each holds the digests
    /// of the others), though the card lists the checksums file by name.
    pub files: Vec<FileEntry>,
    /// The CSV files to describe as Croissant record sets (each also in `files`).
    pub csvs: Vec<CsvTable>,
}

/// The cohort's windows relative to admission time, as the card should say
/// them (`(24 h, 72 h]`, `[-24 h, 24 h]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Windows {
    /// When the chest X-ray was taken.
    pub cxr: String,
    /// When the ECG was taken.
    pub ecg: String,
    /// When the labs were drawn.
    pub labs: String,
}

/// One split's size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitCount {
    /// `train`, `val`, `val_retrieval`, `test`.
    pub name: String,
    /// Rows of the split's CSV and tensors.
    pub rows: usize,
    /// Retrieval queries (retrieval splits).
    pub queries: Option<usize>,
    /// Candidates per query, the query's own row included (retrieval splits).
    pub candidates_per_query: Option<usize>,
}

/// One file of the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// Relative to the directory, `/`-separated (`train/cxr_train.safetensors`).
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// SHA-256, 64 lowercase hex digits (as in `SHA256SUMS.txt`).
    pub sha256: String,
}

/// A CSV file's columns, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvTable {
    /// The file's path, as in [`CardInput::files`] (`test.csv`).
    pub file: String,
    /// Its columns, in header order.
    pub columns: Vec<Column>,
}

/// One CSV column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The header, verbatim (`Lung Opacity`, `51221_percentile`).
    pub name: String,
    /// What pandas reads it as.
    pub kind: ColumnKind,
}

/// A column's type, as `pandas.read_csv` infers it over the whole file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnKind {
    /// `int64`: every value an integer, none missing (`sc:Integer`).
    Int,
    /// `float64`: every present value numeric (`sc:Float`).
    Float,
    /// `object`: anything else (`sc:Text`).
    Text,
    /// `bool`: every value `True`/`False`, none missing (`sc:Boolean`).
    Bool,
}

impl ColumnKind {
    /// The schema.org data type Croissant uses for it.
    pub fn croissant_type(self) -> &'static str {
        match self {
            ColumnKind::Int => "sc:Integer",
            ColumnKind::Float => "sc:Float",
            ColumnKind::Text => "sc:Text",
            ColumnKind::Bool => "sc:Boolean",
        }
    }
}

impl From<pyfmt::pandas::ColumnKind> for ColumnKind {
    fn from(kind: pyfmt::pandas::ColumnKind) -> Self {
        match kind {
            pyfmt::pandas::ColumnKind::Int => ColumnKind::Int,
            pyfmt::pandas::ColumnKind::Float => ColumnKind::Float,
            pyfmt::pandas::ColumnKind::Text => ColumnKind::Text,
        }
    }
}

impl CsvTable {
    /// The columns of the CSV `data` (the contents of `file`), each typed as
    /// pandas reads it over every cell (`pyfmt::pandas::KindInference`,
    /// plus pandas' `True`/`False` columns as [`ColumnKind::Bool`]).
    pub fn infer(file: impl Into<String>, data: impl Read) -> Result<CsvTable, CardError> {
        infer::infer(file.into(), data)
    }
}

/// An input the card cannot be rendered from; each names the field as written.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CardError {
    /// A path that is not a plain relative `/`-separated path.
    #[error("files[{index}].path {path:?}: {why}")]
    BadPath { index: usize, path: String, why: &'static str },
    /// The same path twice.
    #[error("files[{index}].path {path:?} is listed twice")]
    DuplicatePath { index: usize, path: String },
    /// A digest that is not 64 lowercase hex digits.
    #[error("files[{index}].sha256 {sha256:?} for {path}: expected 64 lowercase hex digits")]
    BadSha256 { index: usize, path: String, sha256: String },
    /// A CSV with no file entry (its record set would have no source).
    #[error("csvs[{index}].file {file:?} is not in files")]
    CsvNotListed { index: usize, file: String },
    /// A CSV whose name does not end in `.csv`.
    #[error("csvs[{index}].file {file:?}: expected a .csv file")]
    NotCsv { index: usize, file: String },
    /// Two CSVs with the same stem (record sets are named after it).
    #[error("csvs[{index}].file {file:?}: another CSV has the stem {stem:?}, and record sets are named after it")]
    DuplicateStem { index: usize, file: String, stem: String },
    /// A CSV described with no column, or the same column twice.
    #[error("csvs[{index}] ({file}): {why}")]
    BadColumns { index: usize, file: String, why: String },
    /// The same split twice.
    #[error("splits[{index}].name {name:?} is listed twice")]
    DuplicateSplit { index: usize, name: String },
    /// A `date_published` that is not a calendar date `YYYY-MM-DD`.
    #[error("date_published {0:?}: expected a date YYYY-MM-DD")]
    BadDate(String),
    /// A tool version whose release date this crate does not know, and no
    /// `date_published` to date the card by.
    #[error(
        "tool_version {0:?}: its release date is not known (this is symile-mimic {TOOL_VERSION}, released \
         {TOOL_RELEASED}); give date_published"
    )]
    UnknownToolRelease(String),
    /// `render_croissant` of a directory without checksums.
    #[error("checksums is false: croissant.json gives every file's SHA-256, so it needs a build that keeps them")]
    NoChecksums,
    /// A CSV that cannot be read (its cause says where).
    #[error("{file}: cannot read it as CSV")]
    Csv {
        file: String,
        /// Shared, so that the error stays `Clone`.
        #[source]
        source: Arc<csv::Error>,
    },
    /// A CSV header that is not UTF-8.
    #[error("{file}: column {column} of the header is not UTF-8")]
    HeaderNotUtf8 { file: String, column: usize },
}

/// The dataset directory's `README.md`: what the dataset is, how it was built
/// (with the recipe), its splits and files, how to load, evaluate and cite
/// it, and its licence.
pub fn render_readme(input: &CardInput) -> Result<String, CardError> {
    validate(input)?;
    Ok(readme::render(input))
}

/// The dataset directory's `croissant.json` (Croissant 1.1 with the RAI
/// vocabulary): one `cr:FileObject` per entry of `files`, one `cr:RecordSet`
/// per CSV of `csvs`.
pub fn render_croissant(input: &CardInput) -> Result<String, CardError> {
    validate(input)?;
    if !input.checksums {
        return Err(CardError::NoChecksums);
    }
    Ok(croissant::render(input))
}

/// Both cards of a directory, rendered in the one order that works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cards {
    /// `README.md`.
    pub readme: String,
    /// `croissant.json`, listing the README among its files; `None` when the
    /// directory keeps no checksums ([`CardInput::checksums`]).
    pub croissant: Option<String>,
}

/// Renders `README.md`, then (with checksums) `croissant.json` with the
/// README's size and SHA-256 among its files, in path order. Write both,
/// then the checksums of every file, these two included: `SHA256SUMS.txt`
/// holds the Croissant file's digest, so it comes last and is listed by
/// neither.
pub fn render_cards(input: &CardInput) -> Result<Cards, CardError> {
    let readme = render_readme(input)?;
    if !input.checksums {
        return Ok(Cards { readme, croissant: None });
    }
    let mut with_readme = input.clone();
    with_readme.files.push(FileEntry::of(README, readme.as_bytes()));
    with_readme.files.sort_by(|a, b| a.path.cmp(&b.path));
    let croissant = render_croissant(&with_readme)?;
    Ok(Cards { readme, croissant: Some(croissant) })
}

impl FileEntry {
    /// The entry of a file at `path` (relative, `/`-separated) holding `bytes`.
    pub fn of(path: impl Into<String>, bytes: &[u8]) -> FileEntry {
        use sha2::{Digest, Sha256};
        let sha256 = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
        FileEntry { path: path.into(), bytes: bytes.len() as u64, sha256 }
    }
}

/// What the card may claim the directory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Provenance {
    /// Rows of the embedded synthetic demo, whatever the recipe: no patient data.
    Synthetic,
    /// The published recipe on the published releases: Symile-MIMIC 1.0.0's rows.
    Published,
    /// The published recipe on other (or unrecorded) MIMIC releases.
    PublishedRecipeOtherReleases,
    /// Another recipe.
    Variant,
}

impl Provenance {
    pub(crate) fn of(input: &CardInput) -> Provenance {
        if input.synthetic {
            return Provenance::Synthetic;
        }
        let published_releases = input.versions == Releases::published();
        match (input.recipe_is_published, published_releases) {
            (true, true) => Provenance::Published,
            (true, false) => Provenance::PublishedRecipeOtherReleases,
            (false, _) => Provenance::Variant,
        }
    }
}

/// Croissant's `version`: the release reproduced (`1.0.0`), or for anything
/// else `1.0.0+variant.<12 hex>` (`+synthetic.` for the demo) — SemVer build
/// metadata from a hash of the recipe and the releases, so two different
/// variants never share a version.
pub(crate) fn dataset_version(input: &CardInput) -> String {
    use sha2::{Digest, Sha256};
    let kind = match Provenance::of(input) {
        Provenance::Published => return cite::SYMILE_MIMIC_VERSION.to_string(),
        Provenance::Synthetic => "synthetic",
        Provenance::PublishedRecipeOtherReleases | Provenance::Variant => "variant",
    };
    let mut h = Sha256::new();
    h.update(input.recipe_toml.as_bytes());
    for (project, release) in input.versions.iter() {
        h.update(format!("\n{}={release}", project.slug()).as_bytes());
    }
    let digest = h.finalize();
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("{}+{kind}.{hex}", cite::SYMILE_MIMIC_VERSION)
}

/// `datePublished`: the date given, else PhysioNet's for the published
/// dataset and the tool's release for anything else (never the run's time).
pub(crate) fn date_published(input: &CardInput) -> String {
    match (&input.date_published, Provenance::of(input)) {
        (Some(d), _) => d.clone(),
        (None, Provenance::Published) => cite::SYMILE_MIMIC_PUBLISHED.to_string(),
        (None, _) => TOOL_RELEASED.to_string(),
    }
}

/// The last path segment without `.csv`: the record set's name.
pub(crate) fn csv_stem(file: &str) -> &str {
    let name = file.rsplit('/').next().unwrap_or(file);
    name.strip_suffix(".csv").unwrap_or(name)
}

fn validate(input: &CardInput) -> Result<(), CardError> {
    let mut paths = BTreeSet::new();
    for (index, f) in input.files.iter().enumerate() {
        let bad = |why| CardError::BadPath { index, path: f.path.clone(), why };
        check_path(&f.path).map_err(bad)?;
        if f.path == CROISSANT {
            return Err(bad("croissant.json cannot list itself: it holds every listed file's hash"));
        }
        if f.path == SUMS_FILE {
            return Err(bad("SHA256SUMS.txt holds croissant.json's hash, so croissant.json cannot hold its hash"));
        }
        if !paths.insert(f.path.as_str()) {
            return Err(CardError::DuplicatePath { index, path: f.path.clone() });
        }
        if f.sha256.len() != 64 || !f.sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(CardError::BadSha256 { index, path: f.path.clone(), sha256: f.sha256.clone() });
        }
    }
    let mut stems = BTreeSet::new();
    for (index, t) in input.csvs.iter().enumerate() {
        if !t.file.ends_with(".csv") || csv_stem(&t.file).is_empty() {
            return Err(CardError::NotCsv { index, file: t.file.clone() });
        }
        if !paths.contains(t.file.as_str()) {
            return Err(CardError::CsvNotListed { index, file: t.file.clone() });
        }
        if !stems.insert(csv_stem(&t.file)) {
            return Err(CardError::DuplicateStem { index, file: t.file.clone(), stem: csv_stem(&t.file).to_string() });
        }
        let bad = |why: String| CardError::BadColumns { index, file: t.file.clone(), why };
        if t.columns.is_empty() {
            return Err(bad("no columns".to_string()));
        }
        let mut names = BTreeSet::new();
        for c in &t.columns {
            if c.name.is_empty() {
                return Err(bad("a column with an empty name".to_string()));
            }
            if !names.insert(c.name.as_str()) {
                return Err(bad(format!("column {:?} appears twice", c.name)));
            }
        }
    }
    let mut splits = BTreeSet::new();
    for (index, s) in input.splits.iter().enumerate() {
        if !splits.insert(s.name.as_str()) {
            return Err(CardError::DuplicateSplit { index, name: s.name.clone() });
        }
    }
    match &input.date_published {
        Some(d) if !is_date(d) => return Err(CardError::BadDate(d.clone())),
        None if Provenance::of(input) != Provenance::Published && input.tool_version != TOOL_VERSION => {
            return Err(CardError::UnknownToolRelease(input.tool_version.clone()));
        }
        _ => {}
    }
    Ok(())
}

/// A relative path made of names a URL carries unescaped, so that
/// `contentUrl` is the path itself.
fn check_path(path: &str) -> Result<(), &'static str> {
    if path.is_empty() {
        return Err("empty");
    }
    if path.starts_with('/') {
        return Err("an absolute path; paths are relative to the dataset directory");
    }
    if path.contains('\\') {
        return Err("a backslash; paths are '/'-separated");
    }
    if path.split('/').any(|seg| seg.is_empty() || seg == "." || seg == "..") {
        return Err("an empty, '.' or '..' segment");
    }
    if !path.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'_' | b'-' | b'+')) {
        return Err("a character other than ASCII letters, digits and / . _ - +");
    }
    Ok(())
}

/// `YYYY-MM-DD`, a real calendar day.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num =
        |r: std::ops::Range<usize>| s.get(r).filter(|p| p.bytes().all(|c| c.is_ascii_digit()))?.parse::<u32>().ok();
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    let leap = (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

#[cfg(test)]
mod tests;
