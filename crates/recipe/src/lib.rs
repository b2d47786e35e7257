//! The recipe of a Symile-MIMIC build: every parameter, in one typed value.
//!
//! The published dataset is one setting of a handful of rules — a chest
//! X-ray 24–72 h after admission, an ECG and labs within ±24 h, AP/PA views,
//! 50 labs, 10,000 / 750 rows, 10 candidates, 320-pixel crops. [`Recipe`]
//! holds all of them, with the published values as its [`Default`], so a
//! variant of the dataset is a different value of one type rather than a
//! fork. It is the one declaration the rest derives from: the command line's
//! recipe flags and Python's keywords are built from [`Field`], stage
//! configurations are its sections, build manifests key on it, and every
//! dataset directory records the recipe that built it as `recipe.toml`
//! ([`render`]).
//!
//! A recipe comes in layers: the published defaults, then a TOML file (or a
//! mapping from Python), then flags; each layer overrides only what it
//! names, so a partial file is fine. [`Requested`] keeps the value with the
//! source of each field ([`Provenance`]), so an error about `splits.train_n`
//! can tell a command-line user "--train_n" and a Python user "train_n=".
//! Bad recipes are refused before anything runs, naming the key and where it
//! was set. Each layer is checked alone as it is read (types, ranges, a
//! window's order: a value wrong whatever else is set), and the rules
//! across fields (a crop no larger than the scale) once, on the merged
//! recipe, so that a flag can mend what a file alone would break.

mod choice;
mod field;
mod render;
mod whole;
mod window;

use std::path::{Path, PathBuf};

use dataset_layout::Dims;
pub use dataset_layout::Format;
use serde::{Deserialize, Serialize};

pub use choice::Choice;
pub use field::{Field, Provenance, Section, Source, Spelling, ValueKind};
pub use render::{render, render_template};
pub use window::{HOUR, Hours, Window, seconds_of_hours};

/// The file name of the recipe a dataset directory records.
pub use dataset_layout::RECIPE_FILE;

/// Every parameter of a build. `Recipe::default()` is the published
/// Symile-MIMIC.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Recipe {
    /// Stage 1: which admissions, images, ECGs and labs.
    pub cohort: CohortRecipe,
    /// Stage 2: split sizes, retrieval candidates, the seed.
    pub splits: SplitsRecipe,
    /// Stage 3: image preprocessing and the tensor file format.
    pub tensors: TensorsRecipe,
}

/// Stage 1's rules (see [`Field::doc`] for each).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CohortRecipe {
    /// `lo < Δ ≤ hi` for the chest X-ray.
    pub cxr_window_hours: Window,
    /// `lo ≤ Δ ≤ hi` for the ECG.
    pub ecg_window_hours: Window,
    /// `lo ≤ Δ ≤ hi` for the labs.
    pub labs_window_hours: Window,
    /// `ViewPosition` values kept.
    pub cxr_views: Vec<String>,
    /// Lab itemids, in the cohort CSV's column order.
    #[serde(deserialize_with = "whole::list")]
    pub labs: Vec<u32>,
    /// Count an unreadable candidate ECG as invalid instead of failing.
    pub skip_unreadable_ecg: bool,
}

impl Default for CohortRecipe {
    fn default() -> Self {
        Self {
            cxr_window_hours: Window::hours(24, 72),
            ecg_window_hours: Window::hours(-24, 24),
            labs_window_hours: Window::hours(-24, 24),
            cxr_views: vec!["AP".into(), "PA".into()],
            labs: mimic_io::layout::LABS.to_vec(),
            skip_unreadable_ecg: false,
        }
    }
}

impl CohortRecipe {
    /// `AP/PA`, for reports and messages.
    pub fn views_text(&self) -> String {
        self.cxr_views.join("/")
    }

    /// The rules that decide the rows, without the strictness switch: two
    /// cohorts are the same table exactly when these are equal.
    pub fn rules(&self) -> CohortRecipe {
        CohortRecipe { skip_unreadable_ecg: false, ..self.clone() }
    }
}

/// How retrieval negatives are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Negatives {
    /// numpy-exact, reproduces the reference's rows: a full `permutation(n − 1)`
    /// per query from the global legacy generator (O(n²) per split).
    #[default]
    Reference,
    /// O(n·k) Floyd sampling on ChaCha12 seeded from the seed. Same
    /// distribution, but not the reference's rows.
    Fast,
}

/// Stage 2's parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SplitsRecipe {
    /// Training rows.
    #[serde(deserialize_with = "whole::deserialize")]
    pub train_n: usize,
    /// Validation rows (queries of `val_retrieval`).
    #[serde(deserialize_with = "whole::deserialize")]
    pub val_n: usize,
    /// Candidates per query, the query itself included.
    #[serde(deserialize_with = "whole::deserialize")]
    pub candidate_n: usize,
    /// numpy `RandomState` seed; also seeds the train crops.
    #[serde(deserialize_with = "whole::deserialize")]
    pub seed: u64,
    /// How negatives are drawn.
    pub negatives: Negatives,
    /// Fit the published sizes to a cohort under [`PUBLISHED_MIN_ROWS`] rows.
    pub fit_small_cohort: bool,
}

/// The published split sizes.
pub const PUBLISHED_TRAIN_N: usize = 10_000;
/// The published validation size.
pub const PUBLISHED_VAL_N: usize = 750;
/// Below this many cohort rows the published sizes leave too little for
/// val and test, so `fit_small_cohort` takes fractions instead.
pub const PUBLISHED_MIN_ROWS: usize = 11_000;

impl Default for SplitsRecipe {
    fn default() -> Self {
        Self {
            train_n: PUBLISHED_TRAIN_N,
            val_n: PUBLISHED_VAL_N,
            candidate_n: 10,
            seed: 0,
            negatives: Negatives::Reference,
            fit_small_cohort: true,
        }
    }
}

impl SplitsRecipe {
    /// The sizes for a cohort of `rows` rows: with `fit_small_cohort`, on a
    /// cohort under 11,000 rows (a demo, a MIMIC subset) a `train_n` still at
    /// the published 10,000 becomes 60 % of the rows and a `val_n` at 750
    /// becomes 12 % (at least 1), so all three splits exist. Any other value
    /// is kept as given. Returns the fitted section and the fields changed.
    pub fn fitted(&self, rows: usize) -> (SplitsRecipe, Vec<Field>) {
        let mut out = self.clone();
        let mut changed = Vec::new();
        if self.fit_small_cohort && rows < PUBLISHED_MIN_ROWS {
            if self.train_n == PUBLISHED_TRAIN_N {
                out.train_n = rows * 6 / 10;
                changed.push(Field::TrainN);
            }
            if self.val_n == PUBLISHED_VAL_N {
                out.val_n = (rows * 12 / 100).max(1);
                changed.push(Field::ValN);
            }
        }
        (out, changed)
    }
}

/// Source of the train crop offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CropGenerator {
    /// Order-independent offsets from ChaCha8 keyed by the seed.
    #[default]
    #[serde(rename = "chacha")]
    ChaCha,
    /// A bit-exact replay of torchvision's `RandomCrop` under `torch.manual_seed(seed)`.
    Torch,
}

/// Stage 3's parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TensorsRecipe {
    /// Shorter image edge after resizing.
    #[serde(deserialize_with = "whole::deserialize")]
    pub cxr_scale: u32,
    /// Side of the square crop.
    #[serde(deserialize_with = "whole::deserialize")]
    pub cxr_crop: u32,
    /// Tensor file format.
    pub format: Format,
    /// Train-crop generator.
    pub crop_rng: CropGenerator,
    /// Fail on an ECG that normalises to NaN.
    pub strict: bool,
}

impl Default for TensorsRecipe {
    fn default() -> Self {
        Self {
            cxr_scale: 320,
            cxr_crop: 320,
            format: Format::Safetensors,
            crop_rng: CropGenerator::ChaCha,
            strict: false,
        }
    }
}

impl Recipe {
    /// The dimensions of a row of each tensor this recipe writes.
    pub fn dims(&self) -> Dims {
        Dims::mimic(self.tensors.cxr_crop as usize, self.cohort.labs.len())
    }

    /// The recipe's value of `field`, as JSON (a recipe file's value).
    pub fn value(&self, field: Field) -> serde_json::Value {
        let all = serde_json::to_value(self).expect("a recipe serialises");
        all[field.section().name()][field.key()].clone()
    }

    /// Fields whose value differs from the published recipe, among those
    /// that change the data (not the file format or how strictly bad records
    /// are treated).
    pub fn differences_from_published(&self) -> Vec<Field> {
        let published = Recipe::default();
        let packaging = [Field::Format, Field::Strict, Field::SkipUnreadableEcg, Field::FitSmallCohort];
        Field::ALL.into_iter().filter(|f| !packaging.contains(f) && self.value(*f) != published.value(*f)).collect()
    }

    /// Checks the rules that hold whatever the data: each field's own
    /// ([`Recipe::check_field`]: windows with lo < hi, views and labs
    /// non-empty and distinct, positive sizes, a seed numpy accepts), then
    /// those across fields (a crop no larger than the scale). `provenance`
    /// says where each field was set, for the error.
    pub fn validate(&self, provenance: &Provenance) -> Result<(), RecipeError> {
        for field in Field::ALL {
            self.check_field(field).map_err(|problem| RecipeError::at(field, provenance, problem))?;
        }
        self.check_across(provenance)
    }

    /// The rules of `field`'s value alone, whatever the other fields hold:
    /// what is wrong, if anything. A layer (a file, a mapping, a flag) is
    /// checked with these as it is read, so the error names its line.
    pub fn check_field(&self, field: Field) -> Result<(), String> {
        let c = &self.cohort;
        let window = |w: Window| {
            if w.lo >= w.hi {
                return Err(format!("lo ({}) must be less than hi ({})", Hours(w.lo), Hours(w.hi)));
            }
            Ok(())
        };
        let at_least_one = |n: u64| if n == 0 { Err("must be at least 1".to_string()) } else { Ok(()) };
        match field {
            Field::CxrWindowHours => window(c.cxr_window_hours),
            Field::EcgWindowHours => window(c.ecg_window_hours),
            Field::LabsWindowHours => window(c.labs_window_hours),
            Field::CxrViews => {
                if c.cxr_views.is_empty() {
                    return Err("the list of views is empty: no image would be kept".into());
                }
                if let Some(v) = c.cxr_views.iter().find(|v| v.trim().is_empty() || v.contains(',')) {
                    return Err(format!("{v:?} is not a ViewPosition value"));
                }
                match first_duplicate(&c.cxr_views) {
                    Some(d) => Err(format!("{d:?} is listed twice")),
                    None => Ok(()),
                }
            }
            Field::Labs => {
                if c.labs.is_empty() {
                    return Err("the list of labs is empty: no admission would have a lab".into());
                }
                if c.labs.len() > MAX_LABS {
                    return Err(format!("{} labs listed; at most {MAX_LABS}", c.labs.len()));
                }
                match first_duplicate(&c.labs) {
                    Some(d) => Err(format!("itemid {d} is listed twice")),
                    None => Ok(()),
                }
            }
            Field::TrainN => at_least_one(self.splits.train_n as u64),
            Field::ValN => at_least_one(self.splits.val_n as u64),
            Field::CandidateN => at_least_one(self.splits.candidate_n as u64),
            Field::Seed if self.splits.seed > u64::from(u32::MAX) => {
                Err(format!("{} is outside 0..=4294967295 (numpy's RandomState seed range)", self.splits.seed))
            }
            Field::CxrScale => at_least_one(self.tensors.cxr_scale.into()),
            Field::CxrCrop => at_least_one(self.tensors.cxr_crop.into()),
            Field::Seed
            | Field::SkipUnreadableEcg
            | Field::Negatives
            | Field::FitSmallCohort
            | Field::Format
            | Field::CropRng
            | Field::Strict => Ok(()),
        }
    }

    /// The rules across fields, on the merged recipe. The error is reported
    /// on the field of the higher layer ([`Provenance::layer`]: the one the
    /// caller set, or set last), naming the other field, its value and
    /// where that came from.
    fn check_across(&self, provenance: &Provenance) -> Result<(), RecipeError> {
        let t = &self.tensors;
        if t.cxr_crop > t.cxr_scale {
            let (crop, scale) = (Field::CxrCrop, Field::CxrScale);
            let (field, problem, other, value) = if provenance.layer(scale) > provenance.layer(crop) {
                (scale, format!("{} is smaller than {crop}", t.cxr_scale), crop, t.cxr_crop)
            } else {
                (crop, format!("{} is larger than {scale}", t.cxr_crop), scale, t.cxr_scale)
            };
            let origin = Some(Origin::of(other, provenance))
                .filter(|o| *o != Origin::Default || self.value(other) == Recipe::default().value(other));
            let related = Related { field: other, value: value.to_string(), origin };
            return Err(RecipeError::at(field, provenance, problem).with_related(related));
        }
        Ok(())
    }
}

/// At most this many labs (a lab's position is kept in 16 bits).
pub const MAX_LABS: usize = 4096;

fn first_duplicate<T: PartialEq + Clone>(items: &[T]) -> Option<T> {
    items.iter().enumerate().find(|(i, x)| items[..*i].contains(x)).map(|(_, x)| x.clone())
}

/// Where a recipe (or one of its values) was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A recipe file, with the line when known.
    File { path: PathBuf, line: Option<usize> },
    /// A mapping given in code (Python's `recipe={...}`).
    Mapping,
    /// A flag.
    Flag,
    /// The published defaults (never wrong on their own; a rule that
    /// involves them and another field is).
    Default,
}

impl Origin {
    /// Where `field`'s value was written, as `provenance` records it.
    pub fn of(field: Field, provenance: &Provenance) -> Self {
        match provenance.source(field) {
            Source::File(p) | Source::Recorded(p) => Origin::File { path: p.clone(), line: provenance.line(field) },
            Source::Mapping => Origin::Mapping,
            Source::Flag => Origin::Flag,
            Source::Default | Source::Fitted => Origin::Default,
        }
    }

    /// `in variant.toml:3`, `set by --cxr_scale`, `the published default`:
    /// where `field`'s value came from, in a caller of `spelling`'s words.
    fn describe(&self, field: Field, spelling: Spelling) -> String {
        match self {
            Origin::File { path, line: Some(l) } => format!("in {}:{l}", path.display()),
            Origin::File { path, line: None } => format!("in {}", path.display()),
            Origin::Mapping if spelling == Spelling::Python => "in recipe=".to_string(),
            Origin::Mapping => "in the recipe mapping".to_string(),
            Origin::Flag if spelling == Spelling::Recipe => "set by a flag".to_string(),
            Origin::Flag => format!("set by {}", field.spelled(spelling)),
            Origin::Default => "the published default".to_string(),
        }
    }
}

/// The other field of a rule across two fields, as an error about one of
/// them names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Related {
    /// The field.
    pub field: Field,
    /// Its value, as a recipe writes it.
    pub value: String,
    /// Where the value came from; `None` when the provenance does not know
    /// (a recipe built in code: a value it calls "default" that is not the
    /// published one).
    pub origin: Option<Origin>,
}

/// A recipe that cannot be used: the key, where it was set and why.
#[derive(Debug, thiserror::Error)]
pub enum RecipeError {
    /// The file cannot be read.
    #[error("cannot read the recipe {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A key or value is wrong.
    #[error("{}", self.render(Spelling::Recipe))]
    Invalid {
        /// Where the value was written.
        origin: Origin,
        /// `section.key` as written (also for a key that is not a field).
        key: String,
        /// The field, when the key names one.
        field: Option<Field>,
        /// What is wrong.
        problem: String,
        /// For a rule across fields, the other field (boxed: most errors have none).
        related: Option<Box<Related>>,
    },
}

impl RecipeError {
    fn at(field: Field, provenance: &Provenance, problem: String) -> Self {
        RecipeError::Invalid {
            origin: Origin::of(field, provenance),
            key: field.path().to_string(),
            field: Some(field),
            problem,
            related: None,
        }
    }

    fn with_related(mut self, other: Related) -> Self {
        if let RecipeError::Invalid { related, .. } = &mut self {
            *related = Some(Box::new(other));
        }
        self
    }

    /// The field the error is about, if it names one.
    pub fn field(&self) -> Option<Field> {
        match self {
            RecipeError::Invalid { field, .. } => *field,
            RecipeError::Read { .. } => None,
        }
    }

    /// The whole message as a caller of `spelling` reads it: a flag is named
    /// as they typed it (`--train_n` / `train_n=`), a file by its path and
    /// line; for a file that cannot be read, the message and its causes
    /// (what [`errors::Chain`] prints).
    pub fn render(&self, spelling: Spelling) -> String {
        match self {
            RecipeError::Read { .. } => errors::Chain(self).to_string(),
            RecipeError::Invalid { origin, key, field, problem, related } => {
                let problem = match related {
                    Some(r) => match &r.origin {
                        Some(o) => format!("{problem} ({}, {})", r.value, o.describe(r.field, spelling)),
                        None => format!("{problem} ({})", r.value),
                    },
                    None => problem.clone(),
                };
                match (origin, field) {
                    (Origin::File { path, line: Some(l) }, _) if key.is_empty() => {
                        format!("{}:{l}: {problem}", path.display())
                    }
                    (Origin::File { path, line: Some(l) }, _) => format!("{}:{l}: {key}: {problem}", path.display()),
                    (Origin::File { path, line: None }, _) if key.is_empty() => {
                        format!("{}: {problem}", path.display())
                    }
                    (Origin::File { path, line: None }, _) => format!("{}: {key}: {problem}", path.display()),
                    (Origin::Mapping, _) => match spelling {
                        Spelling::Python => format!("recipe= {key}: {problem}"),
                        _ => format!("recipe mapping: {key}: {problem}"),
                    },
                    (Origin::Flag, Some(f)) if spelling != Spelling::Recipe => {
                        format!("{}: {problem}", f.spelled(spelling))
                    }
                    (Origin::Flag, _) => format!("{key} (a flag): {problem}"),
                    (Origin::Default, _) => format!("{key}: {problem}"),
                }
            }
        }
    }
}

/// A recipe with where each field came from: what a caller asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requested {
    /// The value.
    pub recipe: Recipe,
    /// The source of each field not at its default.
    pub provenance: Provenance,
}

impl Requested {
    /// The published recipe.
    pub fn published() -> Self {
        Self::default()
    }

    /// A recipe file over the published defaults, each value checked alone
    /// ([`Recipe::check_field`]); the rules across fields wait for
    /// [`Requested::validate`], once the flags are in.
    pub fn from_file(path: &Path) -> Result<Self, RecipeError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| RecipeError::Read { path: path.to_path_buf(), source })?;
        Self::from_toml(&text, path, Source::File(path.to_path_buf()))
    }

    /// The recipe a dataset directory records (`recipe.toml`), if it has
    /// one, checked whole: it is not a layer under flags but what built the
    /// files.
    pub fn recorded(dir: &Path) -> Result<Option<Self>, RecipeError> {
        let path = dir.join(RECIPE_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let req = Self::from_toml(&text, &path, Source::Recorded(path.clone()))?;
                req.validate()?;
                Ok(Some(req))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(RecipeError::Read { path, source }),
        }
    }

    /// TOML text over the published defaults; `path` names it in errors.
    /// Each key's line is kept in the provenance, and each value it sets is
    /// checked alone; the rules across fields are [`Requested::validate`]'s.
    pub fn from_toml(text: &str, path: &Path, source: Source) -> Result<Self, RecipeError> {
        let file_err = |key: String, line: Option<usize>, problem: String| RecipeError::Invalid {
            origin: Origin::File { path: path.to_path_buf(), line },
            field: Field::from_path(&key),
            key,
            problem,
            related: None,
        };
        let de = toml::Deserializer::parse(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start));
            file_err(String::new(), line, e.message().to_string())
        })?;
        let recipe: Recipe = serde_path_to_error::deserialize(de).map_err(|e| {
            let line = e.inner().span().map(|s| line_of(text, s.start));
            let (key, problem) = split_path_error(&e.path().to_string(), e.inner().message());
            file_err(key, line, problem)
        })?;
        let keys = key_lines(text).map_err(|e| file_err(String::new(), None, e.message().to_string()))?;
        let mut provenance = Provenance::default();
        for (field, line) in keys {
            provenance.set_at(field, source.clone(), Some(line));
        }
        let req = Self { recipe, provenance };
        req.check_layer()?;
        Ok(req)
    }

    /// A mapping (`{"splits": {"train_n": 100}}`, from Python) over the
    /// published defaults, each value checked alone (as [`Requested::from_toml`]).
    pub fn from_mapping(doc: serde_json::Value) -> Result<Self, RecipeError> {
        let err = |key: String, problem: String| RecipeError::Invalid {
            origin: Origin::Mapping,
            field: Field::from_path(&key),
            key,
            problem,
            related: None,
        };
        let recipe: Recipe = serde_path_to_error::deserialize(doc.clone()).map_err(|e| {
            let (key, problem) = split_path_error(&e.path().to_string(), &e.inner().to_string());
            err(key, problem)
        })?;
        let mut provenance = Provenance::default();
        for f in present_fields(&doc) {
            provenance.set(f, Source::Mapping);
        }
        let req = Self { recipe, provenance };
        req.check_layer()?;
        Ok(req)
    }

    /// Sets `field` from a flag's text (`24,72`, `AP,PA`, `10000`, `true`),
    /// checking the value alone. Call [`Requested::validate`] once every
    /// flag is set.
    pub fn set_flag(&mut self, field: Field, text: &str) -> Result<(), RecipeError> {
        let invalid = |problem: String| RecipeError::Invalid {
            origin: Origin::Flag,
            key: field.path().to_string(),
            field: Some(field),
            problem,
            related: None,
        };
        let value = flag_value(field, text).map_err(invalid)?;
        let mut doc = serde_json::to_value(&self.recipe).expect("a recipe serialises");
        doc[field.section().name()][field.key()] = value;
        let recipe: Recipe = serde_path_to_error::deserialize(doc)
            .map_err(|e| invalid(split_path_error(&e.path().to_string(), &e.inner().to_string()).1))?;
        recipe.check_field(field).map_err(invalid)?;
        self.recipe = recipe;
        self.provenance.set(field, Source::Flag);
        Ok(())
    }

    /// Every rule ([`Recipe::validate`]) with this provenance: what a caller
    /// runs once all layers are in.
    pub fn validate(&self) -> Result<(), RecipeError> {
        self.recipe.validate(&self.provenance)
    }

    /// The rules of each value this layer sets, alone.
    fn check_layer(&self) -> Result<(), RecipeError> {
        for field in Field::ALL.into_iter().filter(|f| *self.provenance.source(*f) != Source::Default) {
            self.recipe.check_field(field).map_err(|problem| RecipeError::at(field, &self.provenance, problem))?;
        }
        Ok(())
    }
}

/// The fields a TOML document sets, each with the 1-based line of its key.
fn key_lines(text: &str) -> Result<Vec<(Field, usize)>, toml::de::Error> {
    let doc = toml::de::DeTable::parse(text)?;
    let mut out = Vec::new();
    for (section, value) in doc.get_ref() {
        let toml::de::DeValue::Table(table) = value.get_ref() else { continue };
        for (key, _) in table {
            if let Some(field) = Field::from_path(&format!("{}.{}", section.get_ref(), key.get_ref())) {
                out.push((field, line_of(text, key.span().start)));
            }
        }
    }
    Ok(out)
}

/// 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// A serde error at `path` → (`section.key`, problem). serde_path_to_error
/// already puts an unknown key in the path; its message is reworded.
fn split_path_error(path: &str, message: &str) -> (String, String) {
    let path = if path == "." { "" } else { path };
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some((_, tail)) = rest.split_once('`')
    {
        let expected = tail.trim_start_matches(", ").replace('`', "");
        return (path.to_string(), format!("unknown key ({expected})"));
    }
    (path.to_string(), message.to_string())
}

/// The fields a parsed document sets.
fn present_fields(doc: &serde_json::Value) -> Vec<Field> {
    let mut out = Vec::new();
    for section in Section::ALL {
        if let Some(table) = doc.get(section.name()).and_then(|t| t.as_object()) {
            out.extend(table.keys().filter_map(|k| Field::from_path(&format!("{section}.{k}"))));
        }
    }
    out
}

/// The reference's `str_to_bool`.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "yes" | "true" | "t" | "y" | "1" => Some(true),
        "no" | "false" | "f" | "n" | "0" => Some(false),
        _ => None,
    }
}

/// Whether `text` is a value `field`'s flag can take (its syntax; the
/// rules across fields are [`Recipe::validate`]'s).
pub fn check_flag(field: Field, text: &str) -> Result<(), String> {
    let value = flag_value(field, text)?;
    let mut doc = serde_json::to_value(Recipe::default()).expect("a recipe serialises");
    doc[field.section().name()][field.key()] = value;
    serde_json::from_value::<Recipe>(doc).map(drop).map_err(|e| strip_position(&e.to_string()))
}

/// serde_json's message without its `at line 1 column 2` suffix.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// A flag's text as the JSON value of `field`.
fn flag_value(field: Field, text: &str) -> Result<serde_json::Value, String> {
    use serde_json::Value;
    let number = |w: &str| -> Result<Value, String> {
        let w = w.trim();
        if let Ok(i) = w.parse::<i64>() {
            return Ok(Value::from(i));
        }
        match w.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Value::from(f)),
            _ => Err(format!("expected a number, found {w:?}")),
        }
    };
    let list = || text.split(',').map(str::trim).filter(|w| !w.is_empty());
    Ok(match field.kind() {
        ValueKind::Window => {
            let parts: Vec<&str> = text.split(',').collect();
            if parts.len() != 2 {
                return Err(format!("expected LO,HI in hours (e.g. 24,72), found {text:?}"));
            }
            Value::Array(vec![number(parts[0])?, number(parts[1])?])
        }
        ValueKind::Words => Value::Array(list().map(|w| Value::from(w.to_string())).collect()),
        ValueKind::Integers => Value::Array(
            list()
                .map(|w| w.parse::<i64>().map(Value::from).map_err(|_| format!("expected an itemid, found {w:?}")))
                .collect::<Result<_, _>>()?,
        ),
        ValueKind::Integer => match text.trim().parse::<i64>() {
            Ok(i) => Value::from(i),
            Err(_) => return Err(format!("expected a whole number, found {text:?}")),
        },
        ValueKind::Bool => match parse_bool(text) {
            Some(b) => Value::from(b),
            None => return Err(format!("expected a boolean (yes/true/t/y/1 or no/false/f/n/0), found {text:?}")),
        },
        ValueKind::Choice(choices) => {
            if !choices.contains(&text) {
                return Err(format!("expected one of {}, found {text:?}", choices.join(", ")));
            }
            Value::from(text)
        }
    })
}

#[cfg(test)]
mod tests;
