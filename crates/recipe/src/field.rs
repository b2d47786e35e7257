//! The recipe's fields, declared once: the key a recipe file uses, the flag
//! and Python keyword that set it, the one-line comment of the template and
//! of `--help`, and how a flag's text becomes a value.
//!
//! The command line builds its recipe flags from this table and the Python
//! binding reads them from the command line, so adding a field here makes it
//! a key, a flag, a keyword and a line of `symile-mimic recipe` at once.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use crate::Choice;

/// A section of the recipe: which stage a field belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Section {
    /// Stage 1's selection rules.
    Cohort,
    /// Stage 2's sizes and sampling.
    Splits,
    /// Stage 3's preprocessing and file format.
    Tensors,
}

impl Section {
    /// The three sections in stage order.
    pub const ALL: [Section; 3] = [Section::Cohort, Section::Splits, Section::Tensors];

    /// The TOML table name.
    pub fn name(self) -> &'static str {
        match self {
            Section::Cohort => "cohort",
            Section::Splits => "splits",
            Section::Tensors => "tensors",
        }
    }

    /// The fields of the section, in the template's order.
    pub fn fields(self) -> impl Iterator<Item = Field> {
        Field::ALL.into_iter().filter(move |f| f.section() == self)
    }
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a flag's text is read for a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// `LO,HI` hours.
    Window,
    /// Comma-separated words.
    Words,
    /// Comma-separated integers.
    Integers,
    /// One integer.
    Integer,
    /// `true` / `false` (the reference's spellings: yes/true/t/y/1, no/false/f/n/0).
    Bool,
    /// One of a closed set of words: the variant names of the field's serde
    /// enum ([`crate::Choice::names`]).
    Choice(&'static [&'static str]),
}

/// One field of the recipe (serialised as its path, `splits.train_n`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    CxrWindowHours,
    EcgWindowHours,
    LabsWindowHours,
    CxrViews,
    Labs,
    SkipUnreadableEcg,
    TrainN,
    ValN,
    CandidateN,
    Seed,
    Negatives,
    FitSmallCohort,
    CxrScale,
    CxrCrop,
    Format,
    CropRng,
    Strict,
}

impl Field {
    /// Every field, section by section, in the template's order.
    pub const ALL: [Field; 17] = [
        Field::CxrWindowHours,
        Field::EcgWindowHours,
        Field::LabsWindowHours,
        Field::CxrViews,
        Field::Labs,
        Field::SkipUnreadableEcg,
        Field::TrainN,
        Field::ValN,
        Field::CandidateN,
        Field::Seed,
        Field::Negatives,
        Field::FitSmallCohort,
        Field::CxrScale,
        Field::CxrCrop,
        Field::Format,
        Field::CropRng,
        Field::Strict,
    ];

    /// The section holding the field.
    pub fn section(self) -> Section {
        use Field::*;
        match self {
            CxrWindowHours | EcgWindowHours | LabsWindowHours | CxrViews | Labs | SkipUnreadableEcg => Section::Cohort,
            TrainN | ValN | CandidateN | Seed | Negatives | FitSmallCohort => Section::Splits,
            CxrScale | CxrCrop | Format | CropRng | Strict => Section::Tensors,
        }
    }

    /// The key inside its section.
    pub fn key(self) -> &'static str {
        use Field::*;
        match self {
            CxrWindowHours => "cxr_window_hours",
            EcgWindowHours => "ecg_window_hours",
            LabsWindowHours => "labs_window_hours",
            CxrViews => "cxr_views",
            Labs => "labs",
            SkipUnreadableEcg => "skip_unreadable_ecg",
            TrainN => "train_n",
            ValN => "val_n",
            CandidateN => "candidate_n",
            Seed => "seed",
            Negatives => "negatives",
            FitSmallCohort => "fit_small_cohort",
            CxrScale => "cxr_scale",
            CxrCrop => "cxr_crop",
            Format => "format",
            CropRng => "crop_rng",
            Strict => "strict",
        }
    }

    /// `section.key`, the name libraries use in their errors.
    pub fn path(self) -> &'static str {
        use Field::*;
        match self {
            CxrWindowHours => "cohort.cxr_window_hours",
            EcgWindowHours => "cohort.ecg_window_hours",
            LabsWindowHours => "cohort.labs_window_hours",
            CxrViews => "cohort.cxr_views",
            Labs => "cohort.labs",
            SkipUnreadableEcg => "cohort.skip_unreadable_ecg",
            TrainN => "splits.train_n",
            ValN => "splits.val_n",
            CandidateN => "splits.candidate_n",
            Seed => "splits.seed",
            Negatives => "splits.negatives",
            FitSmallCohort => "splits.fit_small_cohort",
            CxrScale => "tensors.cxr_scale",
            CxrCrop => "tensors.cxr_crop",
            Format => "tensors.format",
            CropRng => "tensors.crop_rng",
            Strict => "tensors.strict",
        }
    }

    /// The field of `path` (`splits.train_n`).
    pub fn from_path(path: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.path() == path)
    }

    /// The long flag that sets the field (the original scripts' spelling
    /// where they had the flag).
    pub fn flag(self) -> &'static str {
        use Field::*;
        match self {
            CxrWindowHours => "cxr-window-hours",
            EcgWindowHours => "ecg-window-hours",
            LabsWindowHours => "labs-window-hours",
            CxrViews => "cxr-views",
            Labs => "labs",
            SkipUnreadableEcg => "skip-unreadable-ecg",
            TrainN => "train_n",
            ValN => "val_n",
            CandidateN => "candidate_n",
            Seed => "seed",
            Negatives => "negatives",
            FitSmallCohort => "fit-small-cohort",
            CxrScale => "cxr_scale",
            CxrCrop => "cxr_crop",
            Format => "format",
            CropRng => "crop-rng",
            Strict => "strict",
        }
    }

    /// The flag's other spelling (snake ↔ kebab), when it has one.
    pub fn flag_alias(self) -> Option<&'static str> {
        use Field::*;
        Some(match self {
            CxrWindowHours => "cxr_window_hours",
            EcgWindowHours => "ecg_window_hours",
            LabsWindowHours => "labs_window_hours",
            CxrViews => "cxr_views",
            SkipUnreadableEcg => "skip_unreadable_ecg",
            TrainN => "train-n",
            ValN => "val-n",
            CandidateN => "candidate-n",
            FitSmallCohort => "fit_small_cohort",
            CxrScale => "cxr-scale",
            CxrCrop => "cxr-crop",
            CropRng => "crop_rng",
            Labs | Seed | Negatives | Format | Strict => return None,
        })
    }

    /// The Python keyword (the flag with `-` as `_`).
    pub fn keyword(self) -> String {
        self.flag().replace('-', "_")
    }

    /// The one-line comment of the template and of `--help`.
    pub fn doc(self) -> &'static str {
        use Field::*;
        match self {
            CxrWindowHours => {
                "hours after admittime a chest X-ray may be taken: lo < Δ ≤ hi (the earliest one is chosen)"
            }
            EcgWindowHours => {
                "hours around admittime an ECG may be taken: lo ≤ Δ ≤ hi (the earliest valid one is chosen)"
            }
            LabsWindowHours => {
                "hours around admittime a lab may be drawn: lo ≤ Δ ≤ hi (each lab's earliest value is kept)"
            }
            CxrViews => "ViewPosition values of the images kept (exact match)",
            Labs => "lab itemids, in the CSVs' column order (the lab tensors hold them sorted as the reference sorts)",
            SkipUnreadableEcg => {
                "count an unreadable candidate ECG as invalid (and list it in the report) instead of failing"
            }
            TrainN => {
                "training rows (on a cohort under 11,000 rows the published 10000 becomes 60 % of it, see fit_small_cohort)"
            }
            ValN => {
                "validation rows (the published 750 becomes 12 % of a cohort under 11,000 rows, see fit_small_cohort)"
            }
            CandidateN => "candidates per retrieval query: the query's own CXR and candidate_n - 1 negatives",
            Seed => "seed of the splits, the retrieval negatives and the train crops (0..4294967295)",
            Negatives => {
                "how negatives are drawn: reference (numpy-exact, the published rows) or fast (O(n·k), other rows)"
            }
            FitSmallCohort => {
                "on a cohort under 11,000 rows, the published train_n / val_n become 60 % / 12 % of it (false: an error)"
            }
            CxrScale => "shorter image edge after the bilinear resize, in pixels",
            CxrCrop => "side of the square crop, in pixels (at most cxr_scale): random for train, centred otherwise",
            Format => "tensor file format: safetensors, npy (the PhysioNet release's) or pt (torch.load)",
            CropRng => "train-crop generator: chacha, or torch (replays torch.manual_seed(seed) + RandomCrop)",
            Strict => "fail on an ECG record that normalises to NaN (flat or NaN signal) instead of warning",
        }
    }

    /// How a flag's text is read.
    pub fn kind(self) -> ValueKind {
        use Field::*;
        match self {
            CxrWindowHours | EcgWindowHours | LabsWindowHours => ValueKind::Window,
            CxrViews => ValueKind::Words,
            Labs => ValueKind::Integers,
            TrainN | ValN | CandidateN | Seed | CxrScale | CxrCrop => ValueKind::Integer,
            SkipUnreadableEcg | FitSmallCohort | Strict => ValueKind::Bool,
            // The words are the serde enums' own (see `crate::Choice`).
            Negatives => ValueKind::Choice(<crate::Negatives as Choice>::names()),
            Format => ValueKind::Choice(<crate::Format as Choice>::names()),
            CropRng => ValueKind::Choice(<crate::CropGenerator as Choice>::names()),
        }
    }

    /// The placeholder of the flag's value in `--help`.
    pub fn value_name(self) -> &'static str {
        match self.kind() {
            ValueKind::Window => "LO,HI",
            ValueKind::Words => "VIEW,...",
            ValueKind::Integers => "ITEMID,...",
            ValueKind::Integer => "N",
            ValueKind::Bool => "BOOL",
            ValueKind::Choice(_) => "NAME",
        }
    }

    /// How a caller of `spelling` names the field.
    pub fn spelled(self, spelling: Spelling) -> String {
        match spelling {
            Spelling::Recipe => self.path().to_string(),
            Spelling::CommandLine => format!("--{}", self.flag()),
            Spelling::Python => format!("{}=", self.keyword()),
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path())
    }
}

impl serde::Serialize for Field {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.path())
    }
}

/// Who is asking: how a field is named back to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Spelling {
    /// `splits.train_n`, as a recipe file writes it (and libraries do).
    #[default]
    Recipe,
    /// `--train_n`.
    CommandLine,
    /// `train_n=`.
    Python,
}

/// Where a field's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The published setting.
    Default,
    /// A recipe file.
    File(PathBuf),
    /// A recipe given as a mapping (Python's `recipe={...}`).
    Mapping,
    /// The recipe recorded in a dataset directory, which built its files.
    Recorded(PathBuf),
    /// A flag (or its Python keyword).
    Flag,
    /// Fitted to the cohort's size (`splits.fit_small_cohort`).
    Fitted,
}

/// The source of every field that is not at its default, and the line of
/// each key a file set (so that a rule found broken only once every layer
/// is in still names the line the value was written on).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    sources: BTreeMap<Field, Source>,
    lines: BTreeMap<Field, usize>,
}

impl Provenance {
    /// Where `field`'s value came from.
    pub fn source(&self, field: Field) -> &Source {
        self.sources.get(&field).unwrap_or(&Source::Default)
    }

    /// The 1-based line of `field`'s key in the file it came from, if a file set it.
    pub fn line(&self, field: Field) -> Option<usize> {
        self.lines.get(&field).copied()
    }

    /// Records where `field`'s value came from.
    pub fn set(&mut self, field: Field, source: Source) {
        self.set_at(field, source, None);
    }

    /// Records where `field`'s value came from, with the line of its key
    /// when a file holds it.
    pub fn set_at(&mut self, field: Field, source: Source, line: Option<usize>) {
        match line {
            Some(l) => self.lines.insert(field, l),
            None => self.lines.remove(&field),
        };
        if source == Source::Default {
            self.sources.remove(&field);
        } else {
            self.sources.insert(field, source);
        }
    }

    /// The layer `field`'s value came from, lowest first: the defaults (or
    /// the cohort's size), a recorded recipe, a file or mapping, a flag. A
    /// rule across two fields is reported on the one of the higher layer,
    /// the value the caller wrote last.
    pub fn layer(&self, field: Field) -> u8 {
        match self.source(field) {
            Source::Default | Source::Fitted => 0,
            Source::Recorded(_) => 1,
            Source::File(_) | Source::Mapping => 2,
            Source::Flag => 3,
        }
    }

    /// Whether the caller chose `field`'s value (a file, a mapping or a flag).
    pub fn is_explicit(&self, field: Field) -> bool {
        matches!(self.source(field), Source::File(_) | Source::Mapping | Source::Flag)
    }

    /// `field` as the caller of `spelling` set it: `--train_n` for a flag,
    /// `splits.train_n in variant.toml` for a file, `splits.train_n` (the
    /// published default) otherwise.
    pub fn describe(&self, field: Field, spelling: Spelling) -> String {
        match self.source(field) {
            Source::Default => format!("{} (the published default)", field.path()),
            Source::File(p) => format!("{} in {}", field.path(), p.display()),
            Source::Mapping => match spelling {
                Spelling::Python => format!("recipe[{:?}][{:?}]", field.section().name(), field.key()),
                _ => format!("{} in the recipe mapping", field.path()),
            },
            Source::Recorded(p) => format!("{} in {} (the recipe that built the inputs)", field.path(), p.display()),
            Source::Flag => match spelling {
                Spelling::Recipe => format!("{} (a flag)", field.path()),
                s => field.spelled(s),
            },
            Source::Fitted => format!("{} (fitted to the cohort's size)", field.path()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_has_one_path_flag_and_keyword() {
        // Distinct paths, keys within a section, flags (with their aliases) and keywords.
        let distinct = |names: Vec<String>| {
            let n = names.len();
            let set: std::collections::BTreeSet<String> = names.into_iter().collect();
            assert_eq!(set.len(), n, "a name is used twice: {set:?}");
        };
        distinct(Field::ALL.iter().map(|f| f.path().to_string()).collect());
        distinct(
            Field::ALL.iter().flat_map(|f| [Some(f.flag()), f.flag_alias()]).flatten().map(str::to_string).collect(),
        );
        distinct(Field::ALL.iter().map(|f| f.keyword()).collect());
        // The check itself catches a repeat that is not next to its twin.
        let twice = ["a", "b", "a"].map(String::from).to_vec();
        assert!(std::panic::catch_unwind(|| distinct(twice)).is_err());
        for f in Field::ALL {
            assert_eq!(f.path(), format!("{}.{}", f.section(), f.key()));
            assert_eq!(Field::from_path(f.path()), Some(f));
            assert!(!f.doc().is_empty() && !f.doc().contains('\n'));
        }
        assert_eq!(Field::TrainN.spelled(Spelling::CommandLine), "--train_n");
        assert_eq!(Field::CropRng.spelled(Spelling::Python), "crop_rng=");
        assert_eq!(Field::CropRng.flag_alias(), Some("crop_rng"));
        for f in Field::ALL {
            let other = |s: &str| if s.contains('_') { s.replace('_', "-") } else { s.replace('-', "_") };
            assert_eq!(f.flag_alias().map(str::to_string), Some(other(f.flag())).filter(|o| o != f.flag()), "{f}");
        }
        assert_eq!(Field::Labs.flag_alias(), None);
    }

    #[test]
    fn provenance_describes_a_field_in_the_callers_words() {
        let mut p = Provenance::default();
        p.set(Field::TrainN, Source::Flag);
        p.set(Field::ValN, Source::File("v.toml".into()));
        assert_eq!(p.describe(Field::TrainN, Spelling::CommandLine), "--train_n");
        assert_eq!(p.describe(Field::TrainN, Spelling::Python), "train_n=");
        assert_eq!(p.describe(Field::ValN, Spelling::Python), "splits.val_n in v.toml");
        assert!(p.describe(Field::Seed, Spelling::CommandLine).contains("published default"));
        assert!(p.is_explicit(Field::ValN) && !p.is_explicit(Field::Seed));
    }
}
