//! The flags the commands share, each declared once.
//!
//! The recipe's flags are not written out here: [`RecipeArgs`] builds one
//! flag per [`recipe::Field`] of the sections a command uses, from the
//! field's own name, comment and value syntax, so a field added to the
//! recipe is a flag (and a Python keyword) with no edit here.
//!
//! The closed sets (`--format`, `--crop-rng`, `--negatives`) are not
//! `clap::ValueEnum`s on purpose: the enums live in the libraries, which
//! never depend on clap, so deriving `ValueEnum` would need a second
//! declaration of every variant here. Their accepted words come from the
//! recipe's field table instead, which reads them from the serde enums
//! themselves (`recipe::Choice`), so the flag takes exactly what a recipe
//! file takes.

use std::marker::PhantomData;
use std::path::PathBuf;

use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};
use mimic_io::discover::VersionChoice;
use pipeline::InputSpec;
use recipe::{Field, Requested, Section, ValueKind};

/// Which recipe fields a command takes as flags.
pub trait Fields: Send + Sync + 'static {
    /// The fields.
    fn fields() -> Vec<Field>;
}

/// Stage 1's rules (`cohort`, `plan`).
#[derive(Debug, Clone, Copy)]
pub struct CohortFields;
impl Fields for CohortFields {
    fn fields() -> Vec<Field> {
        Section::Cohort.fields().collect()
    }
}

/// Stage 2's parameters.
#[derive(Debug, Clone, Copy)]
pub struct SplitsFields;
impl Fields for SplitsFields {
    fn fields() -> Vec<Field> {
        Section::Splits.fields().collect()
    }
}

/// Stage 3's parameters, and the seed of its train crops.
#[derive(Debug, Clone, Copy)]
pub struct TensorsFields;
impl Fields for TensorsFields {
    fn fields() -> Vec<Field> {
        let mut v: Vec<Field> = Section::Tensors.fields().collect();
        v.push(Field::Seed);
        v
    }
}

/// Every field (`build`).
#[derive(Debug, Clone, Copy)]
pub struct AllFields;
impl Fields for AllFields {
    fn fields() -> Vec<Field> {
        Field::ALL.to_vec()
    }
}

/// `--recipe FILE` and one flag per recipe field of `F`.
#[derive(Debug, Clone)]
pub struct RecipeArgs<F> {
    /// The recipe file, if given.
    pub file: Option<PathBuf>,
    /// A recipe given as a mapping (Python's `recipe={...}`); set by the
    /// binding, never by a flag.
    pub mapping: Option<serde_json::Value>,
    /// Flags given, in field order.
    pub values: Vec<(Field, String)>,
    _fields: PhantomData<F>,
}

impl<F> Default for RecipeArgs<F> {
    fn default() -> Self {
        Self { file: None, mapping: None, values: Vec::new(), _fields: PhantomData }
    }
}

const RECIPE_ID: &str = "recipe";

/// The flag of `field`, described from the recipe.
fn arg(field: Field) -> Arg {
    let default = recipe::Recipe::default().value(field);
    let shown = match &default {
        serde_json::Value::Array(items) if items.len() > 4 => format!("the published {}", items.len()),
        serde_json::Value::Array(items) => {
            items.iter().map(|v| v.to_string().trim_matches('"').to_string()).collect::<Vec<_>>().join(",")
        }
        v => v.to_string().trim_matches('"').to_string(),
    };
    let help = format!("{} [recipe: {}; default: {shown}]", capitalised(field.doc()), field.path());
    let mut a = Arg::new(field.key()).long(field.flag()).value_name(field.value_name()).help(help);
    if let Some(alias) = field.flag_alias() {
        a = a.visible_alias(alias);
    }
    // The recipe reads the value; clap only asks it whether the text is one.
    let check = move |s: &str| recipe::check_flag(field, s).map(|()| s.to_string());
    match field.kind() {
        ValueKind::Bool => a.num_args(0..=1).default_missing_value("true").action(ArgAction::Set).value_parser(check),
        ValueKind::Choice(choices) => a.value_parser(clap::builder::PossibleValuesParser::new(choices)),
        ValueKind::Window => a.allow_hyphen_values(true).value_parser(check),
        ValueKind::Integer => a.allow_negative_numbers(true).value_parser(check),
        _ => a.value_parser(check),
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

impl<F: Fields> Args for RecipeArgs<F> {
    fn augment_args(cmd: Command) -> Command {
        let mut cmd = cmd.arg(
            Arg::new(RECIPE_ID)
                .long("recipe")
                .value_name("FILE")
                .value_parser(clap::value_parser!(PathBuf))
                .help("A recipe (TOML; `symile-mimic recipe` prints the published one): every key it sets overrides the published default, and flags override it"),
        );
        for f in F::fields() {
            cmd = cmd.arg(arg(f));
        }
        cmd
    }
    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl<F: Fields> FromArgMatches for RecipeArgs<F> {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let mut out = Self::default();
        out.update_from_arg_matches(m)?;
        Ok(out)
    }
    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        if let Some(p) = m.get_one::<PathBuf>(RECIPE_ID) {
            self.file = Some(p.clone());
        }
        for f in F::fields() {
            if let Some(v) = m.get_one::<String>(f.key()) {
                self.values.retain(|(g, _)| *g != f);
                self.values.push((f, v.clone()));
            }
        }
        Ok(())
    }
}

impl<F> RecipeArgs<F> {
    /// The recipe asked for: the published defaults, the file (or mapping)
    /// over them, the flags over that. Each layer's values are checked alone
    /// as it is read (naming the file and line, or the flag); the rules
    /// across fields once, on the merged recipe, so a flag can mend what the
    /// file alone breaks (`cxr_scale = 200` in the file, `--cxr_crop 200`).
    pub fn requested(&self) -> Result<Requested, recipe::RecipeError> {
        let mut req = match (&self.mapping, &self.file) {
            (Some(m), _) => Requested::from_mapping(m.clone())?,
            (None, Some(p)) => Requested::from_file(p)?,
            (None, None) => Requested::published(),
        };
        for (field, text) in &self.values {
            req.set_flag(*field, text)?;
        }
        req.validate()?;
        Ok(req)
    }
}

/// A MIMIC download root and the releases to take under it.
#[derive(Debug, Clone, Default, Args)]
pub struct RootFlags {
    /// A MIMIC download holding mimiciv/<version>/hosp/ (or mimiciv/hosp/), mimic-cxr-jpg/<version>/ and
    /// mimic-iv-ecg/<version>/ (or unversioned), or physionet.org/files/ as `wget -r` leaves it. With several
    /// releases the published ones (2.2, 2.0.0, 1.0) are taken. Alternatively give the project directories.
    #[arg(long = "mimic-root", alias = "mimic_root")]
    pub mimic_root: Option<PathBuf>,
    /// MIMIC-IV release: the one to take under --mimic-root, or the one the directories hold [default: from the
    /// folder names, else 2.2].
    #[arg(long = "mimiciv-version", alias = "mimiciv_version")]
    pub mimiciv_version: Option<String>,
    /// MIMIC-CXR-JPG release (as --mimiciv-version) [default: from the folder names, else 2.0.0].
    #[arg(long = "cxr-version", alias = "cxr_version")]
    pub cxr_version: Option<String>,
    /// MIMIC-IV-ECG release (as --mimiciv-version) [default: from the folder names, else 1.0].
    #[arg(long = "ecg-version", alias = "ecg_version")]
    pub ecg_version: Option<String>,
}

/// The MIMIC-IV `hosp` directory (stage 1's tables).
#[derive(Debug, Clone, Default, Args)]
pub struct HospFlag {
    /// MIMIC-IV hosp module directory (patients.csv.gz, admissions.csv.gz, labevents.csv.gz).
    #[arg(long = "mimiciv_hosp_dir", visible_alias = "mimiciv-hosp-dir")]
    pub mimiciv_hosp_dir: Option<PathBuf>,
}

/// The MIMIC-CXR-JPG and MIMIC-IV-ECG directories.
#[derive(Debug, Clone, Default, Args)]
pub struct FileDirFlags {
    /// MIMIC-CXR-JPG directory (mimic-cxr-2.0.0-metadata.csv.gz, mimic-cxr-2.0.0-chexpert.csv.gz, files/).
    #[arg(long = "cxr_data_dir", visible_alias = "cxr-data-dir")]
    pub cxr_data_dir: Option<PathBuf>,
    /// MIMIC-IV-ECG directory (record_list.csv, files/).
    #[arg(long = "ecg_data_dir", visible_alias = "ecg-data-dir")]
    pub ecg_data_dir: Option<PathBuf>,
}

/// Every input flag of a command that reads MIMIC's tables.
#[derive(Debug, Clone, Default, Args)]
pub struct InputFlags {
    #[command(flatten)]
    pub root: RootFlags,
    #[command(flatten)]
    pub hosp: HospFlag,
    #[command(flatten)]
    pub dirs: FileDirFlags,
}

impl RootFlags {
    fn versions(&self) -> VersionChoice {
        VersionChoice {
            mimiciv: self.mimiciv_version.clone(),
            cxr: self.cxr_version.clone(),
            ecg: self.ecg_version.clone(),
        }
    }
}

impl InputFlags {
    /// What the flags name.
    pub fn spec(&self) -> InputSpec {
        InputSpec {
            mimic_root: self.root.mimic_root.clone(),
            versions: self.root.versions(),
            hosp: self.hosp.mimiciv_hosp_dir.clone(),
            cxr: self.dirs.cxr_data_dir.clone(),
            ecg: self.dirs.ecg_data_dir.clone(),
        }
    }
}

/// The image and record inputs of stage 3.
#[derive(Debug, Clone, Default, Args)]
pub struct FileInputFlags {
    #[command(flatten)]
    pub root: RootFlags,
    #[command(flatten)]
    pub dirs: FileDirFlags,
}

impl FileInputFlags {
    /// What the flags name.
    pub fn spec(&self) -> InputSpec {
        InputSpec {
            mimic_root: self.root.mimic_root.clone(),
            versions: self.root.versions(),
            hosp: None,
            cxr: self.dirs.cxr_data_dir.clone(),
            ecg: self.dirs.ecg_data_dir.clone(),
        }
    }
}

/// Flags every command that writes a dataset directory takes.
#[derive(Debug, Clone, Default, Args)]
pub struct OutputFlags {
    /// Do not hash the outputs into the directory's SHA256SUMS.txt (entries of
    /// replaced files are dropped from it, so it never vouches for unhashed bytes).
    #[arg(long = "no-checksums", alias = "no_checksums")]
    pub no_checksums: bool,
}

impl OutputFlags {
    /// The checksum policy.
    pub fn checksums(&self) -> durable::Checksums {
        if self.no_checksums { durable::Checksums::Skip } else { durable::Checksums::Update }
    }
}

/// Free space to assume (tests; filesystems that misreport).
#[derive(Debug, Clone, Default, Args)]
pub struct SpaceFlags {
    /// Free bytes to assume under the output directory instead of asking the filesystem.
    #[arg(long = "assume-free-bytes", hide = true)]
    pub assume_free_bytes: Option<u64>,
}

/// The reference's `str_to_bool`.
pub fn parse_py_bool(s: &str) -> Result<bool, String> {
    recipe::parse_bool(s).ok_or_else(|| format!("expected a boolean (yes/true/t/y/1 or no/false/f/n/0), found {s:?}"))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct T {
        #[command(flatten)]
        r: RecipeArgs<AllFields>,
    }

    #[test]
    fn every_field_is_a_flag_with_its_comment_and_the_file_is_overridden() {
        let cmd = <T as clap::CommandFactory>::command();
        for f in Field::ALL {
            let a = cmd.get_arguments().find(|a| a.get_long() == Some(f.flag())).unwrap_or_else(|| panic!("{f}"));
            assert!(a.get_help().unwrap().to_string().contains(f.path()));
        }
        let d = tempfile::tempdir().unwrap();
        let file = d.path().join("r.toml");
        std::fs::write(&file, "[splits]\ntrain_n = 5\nval_n = 3\n").unwrap();
        let t = T::try_parse_from([
            "t",
            "--recipe",
            file.to_str().unwrap(),
            "--train-n",
            "7",
            "--cxr-window-hours",
            "-12,48",
            "--strict",
            "--skip-unreadable-ecg=false",
        ])
        .unwrap();
        let r = t.r.requested().unwrap();
        assert_eq!((r.recipe.splits.train_n, r.recipe.splits.val_n), (7, 3));
        assert_eq!(r.recipe.cohort.cxr_window_hours, recipe::Window::hours(-12, 48));
        assert!(r.recipe.tensors.strict && !r.recipe.cohort.skip_unreadable_ecg);
        let e = T::try_parse_from(["t", "--format", "hdf5"]).unwrap_err().to_string();
        assert!(e.contains("safetensors") && e.contains("npy"), "{e}");
    }

    #[test]
    fn a_flag_mends_what_the_file_alone_breaks_and_a_rule_left_broken_names_both_sources() {
        let d = tempfile::tempdir().unwrap();
        let file = d.path().join("r.toml");
        std::fs::write(&file, "[tensors]\ncxr_scale = 200\n").unwrap();
        let f = file.to_str().unwrap();
        let r = T::try_parse_from(["t", "--recipe", f, "--cxr_crop", "200"]).unwrap().r.requested().unwrap();
        assert_eq!((r.recipe.tensors.cxr_scale, r.recipe.tensors.cxr_crop), (200, 200));
        let e = T::try_parse_from(["t", "--recipe", f]).unwrap().r.requested().unwrap_err();
        assert_eq!(
            e.render(recipe::Spelling::CommandLine),
            format!("{f}:2: tensors.cxr_scale: 200 is smaller than tensors.cxr_crop (320, the published default)")
        );
        let e = T::try_parse_from(["t", "--recipe", f, "--cxr-crop", "240"]).unwrap().r.requested().unwrap_err();
        assert_eq!(
            e.render(recipe::Spelling::CommandLine),
            format!("--cxr_crop: 240 is larger than tensors.cxr_scale (200, in {f}:2)")
        );
    }

    #[test]
    fn a_choice_flag_offers_the_enums_words() {
        let cmd = <T as clap::CommandFactory>::command();
        for (field, names) in [
            (Field::Format, <recipe::Format as recipe::Choice>::names()),
            (Field::CropRng, <recipe::CropGenerator as recipe::Choice>::names()),
            (Field::Negatives, <recipe::Negatives as recipe::Choice>::names()),
        ] {
            let a = cmd.get_arguments().find(|a| a.get_long() == Some(field.flag())).unwrap();
            let offered: Vec<String> = a.get_possible_values().iter().map(|v| v.get_name().to_string()).collect();
            assert_eq!(offered, names, "{field}");
        }
    }
}
