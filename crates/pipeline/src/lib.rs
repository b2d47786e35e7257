//! The Symile-MIMIC build as a library: what the command line, `cargo xtask`
//! and the Python binding all call.
//!
//! - [`inputs`]: a download root or three directories → the inputs, with
//!   their releases.
//! - [`stages`]: each stage from a requested recipe, taking the earlier
//!   sections from the recipe recorded next to the stage's inputs.
//! - [`build`]: the three stages into one directory, resumable through
//!   per-stage manifests keyed on the recipe ([`manifest`]).
//! - [`demo`]: the embedded demo input, cached by its configuration.
//! - [`plan`]: the download plan for a recipe, and its check.
//!
//! Nothing here parses flags or prints: errors are [`PipelineError`]s that
//! name recipe fields (`splits.train_n`); [`PipelineError::field`] tells the
//! caller which, so it can say how *its* user sets it.

pub mod build;
pub mod demo;
pub mod floor;
pub mod inputs;
pub mod manifest;
pub mod plan;
pub mod stages;

use std::path::PathBuf;

pub use build::{BuildRequest, BuildSummary, build, count_rows};
pub use inputs::{InputDirs, InputSpec};
use recipe::Field;

/// Why a build, a stage or a plan failed.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The recipe is wrong.
    #[error(transparent)]
    Recipe(#[from] recipe::RecipeError),
    /// Stage 1 failed.
    #[error(transparent)]
    Cohort(#[from] cohort::CohortError),
    /// Stage 2 failed.
    #[error(transparent)]
    Splits(#[from] splits::SplitsError),
    /// Stage 3 failed.
    #[error(transparent)]
    Tensors(#[from] tensors::TensorsError),
    /// The download root could not be read.
    #[error(transparent)]
    Discover(#[from] mimic_io::discover::DiscoverError),
    /// A table could not be read.
    #[error(transparent)]
    Table(#[from] mimic_io::table::TableError),
    /// A path from a table is unsafe.
    #[error(transparent)]
    UnsafePath(#[from] mimic_io::paths::UnsafePath),
    /// The output directory could not be locked or committed.
    #[error(transparent)]
    Durable(#[from] durable::DurableError),
    /// A manifest or cache record could not be written.
    #[error(transparent)]
    Atomic(#[from] durable::AtomicError),
    /// The demo input could not be generated.
    #[error("generating the demo input")]
    Synth(#[from] synth::SynthError),
    /// No input was named where one is needed.
    #[error("no MIMIC input: give {needs}")]
    NoInput {
        /// What would do.
        needs: &'static str,
    },
    /// A stage was asked for a value that differs from the recipe that
    /// built its inputs (it cannot change how they were made).
    #[error(
        "{field} = {requested} differs from the recipe that built the inputs ({}: {recorded}); a stage cannot change \
         how its inputs were made: leave it out, or rerun the earlier stages with it",
        record.display()
    )]
    RecipeConflict {
        /// The field.
        field: Field,
        /// The value asked for.
        requested: String,
        /// The value recorded.
        recorded: String,
        /// The recipe file recorded with the inputs.
        record: PathBuf,
    },
    /// A stage of a build failed; the stages before it are complete.
    #[error("{stage} did not complete; complete stages: {done}")]
    Stage {
        /// The stage.
        stage: &'static str,
        /// The stages complete (run or up to date).
        done: String,
        /// Why.
        #[source]
        source: Box<PipelineError>,
    },
    /// The build was asked to stop between stages.
    #[error("stopped before {before}; complete stages: {done}")]
    Stopped {
        /// The next stage.
        before: &'static str,
        /// The stages complete.
        done: String,
    },
    /// Checking a download against its plan failed.
    #[error("checking the download against the plan in {}", plan.display())]
    PlanCheck {
        /// The plan directory.
        plan: PathBuf,
        /// Why.
        #[source]
        source: Box<cohort::CohortError>,
    },
    /// A file-system operation failed.
    #[error("{}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `use_seed = false` but the OS random source failed.
    #[error("cannot draw a seed from the OS")]
    OsSeed {
        /// The OS error.
        source: getrandom::Error,
    },
    /// The decode floor (a benchmark) could not decode an image.
    #[error("decode floor")]
    Floor {
        /// The decoder's error.
        source: cxr_prep::CxrError,
    },
}

impl PipelineError {
    /// The recipe field the error is about, if any.
    pub fn field(&self) -> Option<Field> {
        match self {
            PipelineError::Recipe(e) => e.field(),
            PipelineError::Cohort(e) => e.field(),
            PipelineError::PlanCheck { source, .. } => source.field(),
            PipelineError::Splits(e) => e.field(),
            PipelineError::Tensors(e) => e.field(),
            PipelineError::RecipeConflict { field, .. } => Some(*field),
            PipelineError::Stage { source, .. } => source.field(),
            _ => None,
        }
    }

    /// The recipe error inside, if the error is one (its text depends on
    /// the caller's spelling).
    pub fn recipe_error(&self) -> Option<&recipe::RecipeError> {
        match self {
            PipelineError::Recipe(e) => Some(e),
            PipelineError::Splits(splits::SplitsError::Recipe(e)) => Some(e),
            PipelineError::Tensors(tensors::TensorsError::Recipe(e)) => Some(e),
            PipelineError::Stage { source, .. } => source.recipe_error(),
            _ => None,
        }
    }
}
