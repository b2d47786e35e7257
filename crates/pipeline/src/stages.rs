//! The three stages as a caller runs them: a requested recipe in, the
//! stage's configuration out, with the recipe that built the stage's inputs
//! taken into account.
//!
//! A stage cannot change how its inputs were made: stage 2 reads a cohort
//! built with some `cohort` rules, stage 3 splits made with some `splits`
//! section. When the directory of a stage's inputs records the recipe that
//! built them (`recipe.toml`), the stage takes those earlier sections from
//! it, so `splits` after `cohort --recipe variant.toml` needs no recipe of
//! its own and the `recipe.toml` it writes stays true. A value the caller
//! set explicitly that differs from the record is refused: it could not
//! take effect.

use std::path::{Path, PathBuf};

use progress::Progress;
use recipe::{Field, Provenance, Recipe, Requested, Section, Source};

use crate::PipelineError;
use crate::inputs::InputDirs;

/// A seed for `use_seed = false` (the reference's unseeded run): drawn from
/// the OS once, then used and recorded like any other seed.
pub fn draw_seed() -> Result<u64, PipelineError> {
    getrandom::u32().map(u64::from).map_err(|source| PipelineError::OsSeed { source })
}

/// How much of the recipe recorded with a stage's inputs the stage takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adopt {
    /// The earlier stages' sections only (a build: its own request is the
    /// whole recipe of the later ones).
    Earlier,
    /// Everything the caller did not set (a stage run alone: `splits` after
    /// `cohort --recipe variant.toml` takes the variant's seed and sizes too).
    Unset,
}

/// `requested` with the sections `earlier` taken from the recipe recorded in
/// `dir`, if `dir` records one (an explicit value there that differs is an
/// error), and with `Adopt::Unset` every other field the caller left at its
/// default taken from it too.
pub fn adopt_recorded(
    requested: &Requested,
    dir: &Path,
    earlier: &[Section],
    adopt: Adopt,
) -> Result<Requested, PipelineError> {
    let Some(recorded) = Requested::recorded(dir)? else { return Ok(requested.clone()) };
    let record = dir.join(recipe::RECIPE_FILE);
    let mut out = requested.clone();
    let mut doc = serde_json::to_value(&out.recipe).expect("a recipe serialises");
    for field in Field::ALL {
        let want = requested.recipe.value(field);
        let have = recorded.recipe.value(field);
        let explicit = requested.provenance.is_explicit(field);
        if want == have {
            continue;
        }
        let made_the_inputs = earlier.contains(&field.section());
        if made_the_inputs && explicit && !fitted_from(&requested.recipe, field, &have) {
            return Err(PipelineError::RecipeConflict {
                field,
                requested: want.to_string(),
                recorded: have.to_string(),
                record,
            });
        }
        if made_the_inputs || (adopt == Adopt::Unset && !explicit) {
            doc[field.section().name()][field.key()] = have;
            out.provenance.set(field, Source::Recorded(record.clone()));
        }
    }
    out.recipe = serde_json::from_value(doc).expect("values of a valid recipe");
    Ok(out)
}

/// Whether `recorded` is what `splits.fit_small_cohort` makes of the
/// requested published size (the record holds the fitted value).
fn fitted_from(requested: &Recipe, field: Field, recorded: &serde_json::Value) -> bool {
    let s = &requested.splits;
    let published = match field {
        Field::TrainN => s.train_n == recipe::PUBLISHED_TRAIN_N,
        Field::ValN => s.val_n == recipe::PUBLISHED_VAL_N,
        _ => false,
    };
    published && s.fit_small_cohort && recorded.as_u64().is_some()
}

/// Stage 1 into `save_dir`.
pub fn cohort(
    dirs: &InputDirs,
    save_dir: &Path,
    requested: &Requested,
    plan: Option<PathBuf>,
    checksums: durable::Checksums,
    progress: &dyn Progress,
) -> Result<cohort::CohortReport, PipelineError> {
    cohort_of(dirs, cohort::Input::Mimic, save_dir, requested, plan, checksums, progress)
}

/// [`cohort`], saying what the input is: `build` passes
/// [`cohort::Input::SyntheticDemo`] for the embedded demo, so that the report
/// and the dataset card say the rows are synthetic.
pub fn cohort_of(
    dirs: &InputDirs,
    input: cohort::Input,
    save_dir: &Path,
    requested: &Requested,
    plan: Option<PathBuf>,
    checksums: durable::Checksums,
    progress: &dyn Progress,
) -> Result<cohort::CohortReport, PipelineError> {
    requested.validate()?;
    let report = cohort::run_on(
        &cohort::CohortConfig {
            hosp_dir: dirs.hosp.clone(),
            cxr_dir: dirs.cxr.clone(),
            ecg_dir: dirs.ecg.clone(),
            save_dir: save_dir.to_path_buf(),
            recipe: requested.recipe.clone(),
            checksums,
            cxr_tables: Some(dirs.cxr_tables.clone()),
            versions: Some(dirs.versions.clone()),
            plan,
        },
        input,
        progress,
    )?;
    if let Some(w) = report.absent_files_warning() {
        tracing::warn!("{w}");
    }
    Ok(report)
}

/// How stage 2 gets its seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedChoice {
    /// The recipe's `splits.seed`.
    Recipe,
    /// A seed drawn from the OS (`use_seed = false`), recorded in the recipe.
    Os,
}

/// Stage 2: `dataset_path` (a cohort CSV) into `save_dir`, the cohort rules
/// (and with `Adopt::Unset`, whatever the caller did not set) taken from the
/// recipe recorded next to the cohort.
pub fn splits(
    dataset_path: &Path,
    save_dir: &Path,
    requested: &Requested,
    adopt: Adopt,
    seed: SeedChoice,
    checksums: durable::Checksums,
) -> Result<splits::SplitsReport, PipelineError> {
    let input_dir = dataset_path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut effective = adopt_recorded(requested, input_dir, &[Section::Cohort], adopt)?;
    let seed_source = match seed {
        SeedChoice::Recipe => splits::SeedSource::Recipe,
        SeedChoice::Os => {
            effective.recipe.splits.seed = draw_seed()?;
            tracing::info!("seed {} drawn from the OS (recorded in recipe.toml)", effective.recipe.splits.seed);
            splits::SeedSource::Os
        }
    };
    effective.validate()?;
    Ok(splits::run(&splits::SplitsConfig {
        dataset_path: dataset_path.to_path_buf(),
        save_dir: save_dir.to_path_buf(),
        recipe: effective.recipe,
        seed_source,
        checksums,
    })?)
}

/// Stage 3's inputs and options besides the recipe.
#[derive(Debug, Clone)]
pub struct TensorsInputs {
    /// The directory with the split CSVs; tensors go to `<data_dir>/<split>/`.
    pub data_dir: PathBuf,
    /// MIMIC-IV-ECG.
    pub ecg_dir: PathBuf,
    /// MIMIC-CXR-JPG.
    pub cxr_dir: PathBuf,
    /// `labs_means.json` and the split CSVs, relative to `data_dir`
    /// (`None`: the reference's names).
    pub files: Option<TensorsFiles>,
    /// Free bytes to assume under `data_dir` instead of asking the filesystem.
    pub free_space: Option<u64>,
}

/// Stage 3's input file names.
#[derive(Debug, Clone)]
pub struct TensorsFiles {
    pub labs_means: PathBuf,
    pub train_csv: PathBuf,
    pub val_csv: PathBuf,
    pub val_retrieval_csv: PathBuf,
    pub test_csv: PathBuf,
}

/// Stage 3, the cohort and splits sections (and with `Adopt::Unset`,
/// whatever the caller did not set) taken from the recipe recorded in
/// `data_dir`.
pub fn tensors(
    inputs: &TensorsInputs,
    requested: &Requested,
    adopt: Adopt,
    checksums: durable::Checksums,
    progress: &dyn Progress,
) -> Result<tensors::TensorsReport, PipelineError> {
    let effective = adopt_recorded(requested, &inputs.data_dir, &[Section::Cohort, Section::Splits], adopt)?;
    effective.validate()?;
    let mut cfg = tensors::TensorsConfig::new(&inputs.data_dir, &inputs.ecg_dir, &inputs.cxr_dir);
    if let Some(f) = &inputs.files {
        cfg.labs_means = f.labs_means.clone();
        cfg.train_csv = f.train_csv.clone();
        cfg.val_csv = f.val_csv.clone();
        cfg.val_retrieval_csv = f.val_retrieval_csv.clone();
        cfg.test_csv = f.test_csv.clone();
    }
    cfg.recipe = effective.recipe;
    cfg.checksums = checksums;
    cfg.free_space = inputs.free_space;
    Ok(tensors::run(&cfg, progress)?)
}

/// The provenance of a recipe that is entirely the record's (for messages
/// about a dataset built earlier).
pub fn recorded_provenance(path: &Path) -> Provenance {
    let mut p = Provenance::default();
    for f in Field::ALL {
        p.set(f, Source::Recorded(path.to_path_buf()));
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(dir: &Path, r: &Recipe) {
        std::fs::write(dir.join(recipe::RECIPE_FILE), recipe::render(r)).unwrap();
    }

    #[test]
    fn earlier_sections_come_from_the_record_and_explicit_conflicts_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let mut built = Recipe::default();
        built.cohort.labs = vec![51221, 50912];
        built.splits.train_n = 60;
        built.splits.seed = 7;
        record(d.path(), &built);

        // Nothing requested: the record's cohort and splits sections, the requested tensors section.
        let mut req = Requested::published();
        req.set_flag(Field::CxrCrop, "64").unwrap();
        req.set_flag(Field::CxrScale, "64").unwrap();
        let got = adopt_recorded(&req, d.path(), &[Section::Cohort, Section::Splits], Adopt::Earlier).unwrap();
        assert_eq!(got.recipe.cohort.labs, [51221, 50912]);
        assert_eq!((got.recipe.splits.train_n, got.recipe.splits.seed), (60, 7));
        assert_eq!(got.recipe.tensors.cxr_crop, 64);
        assert!(matches!(got.provenance.source(Field::Labs), Source::Recorded(_)));

        // The published train_n fitted to a small cohort is not a conflict.
        let mut template = Requested::published();
        template.set_flag(Field::TrainN, "10000").unwrap();
        template.set_flag(Field::Seed, "7").unwrap();
        template.set_flag(Field::Labs, "51221,50912").unwrap();
        assert!(adopt_recorded(&template, d.path(), &[Section::Cohort, Section::Splits], Adopt::Earlier).is_ok());

        // An explicit seed that differs from the one the splits were made with is.
        let mut other = Requested::published();
        other.set_flag(Field::Seed, "8").unwrap();
        let e = adopt_recorded(&other, d.path(), &[Section::Cohort, Section::Splits], Adopt::Earlier).unwrap_err();
        assert!(matches!(&e, PipelineError::RecipeConflict { field: Field::Seed, .. }), "{e}");
        assert!(e.to_string().contains("splits.seed = 8"), "{e}");
        assert_eq!(e.field(), Some(Field::Seed));

        // Without a record the request is taken as it is.
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(adopt_recorded(&other, empty.path(), &[Section::Cohort], Adopt::Unset).unwrap(), other);
    }
}
