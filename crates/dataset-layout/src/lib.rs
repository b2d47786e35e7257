//! The Symile-MIMIC dataset's layout, declared once.
//!
//! Every name a dataset directory holds — the stage outputs, the four splits,
//! each split's tensors with their element types and row shapes, which splits
//! carry retrieval labels — is declared here and nowhere else. The stage-3
//! writer, `build`, `verify`, `inspect` and the Python binding all read it
//! from here, so a reader can never disagree with the writer about where a
//! tensor lives or what it holds.
//!
//! ```text
//! <dir>/symile_mimic_data.csv, .parquet, cohort_report.json      stage 1
//! <dir>/{train,val,val_retrieval,test}.csv, labs_means.json,
//!       splits_report.json                                        stage 2
//! <dir>/<split>/<tensor>_<split>.{safetensors,npy,pt}, metadata.json  stage 3
//! <dir>/SHA256SUMS.txt                                            every stage
//! ```
//! The published PhysioNet release keeps its tensors in `data_npy/<split>/`;
//! readers accept that layout (and `tensors/<split>/`, the reference golden
//! set's) too.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

pub use tensor_store::{DType, Format};

/// Stage 1's cohort table.
pub const COHORT_CSV: &str = "symile_mimic_data.csv";
/// Stage 1's typed copy of the cohort table.
pub const COHORT_PARQUET: &str = "symile_mimic_data.parquet";
/// Stage 1's attrition report.
pub const COHORT_REPORT: &str = "cohort_report.json";
/// Stage 2's mean train percentiles, the imputation values of stage 3.
pub const LABS_MEANS: &str = "labs_means.json";
/// Stage 2's report.
pub const SPLITS_REPORT: &str = "splits_report.json";
/// Stage 3's sizes and image parameters.
pub const METADATA: &str = "metadata.json";
/// The recipe that built the dataset (every parameter, as TOML), written
/// with every stage's outputs.
pub const RECIPE_FILE: &str = "recipe.toml";
/// The dataset card (what the directory holds, how to load, evaluate and
/// cite it, the licence), written with the stage that completes a dataset.
pub const CARD: &str = "README.md";
/// The Croissant metadata (JSON-LD) of the directory, written with the card.
pub const CROISSANT: &str = "croissant.json";
/// `build`'s per-stage manifests (inputs, flags, outputs of the last run).
pub const BUILD_DIR: &str = ".symile-build";
/// The published release's tensor folder (`data_npy/<split>/`).
pub const RELEASE_TENSOR_DIR: &str = "data_npy";
/// The reference golden set's tensor folder (`tensors/<split>/`).
pub const GOLDEN_TENSOR_DIR: &str = "tensors";

/// Stage 1's outputs, in the order they are written.
pub const COHORT_OUTPUTS: [&str; 3] = [COHORT_CSV, COHORT_PARQUET, COHORT_REPORT];

/// The dimensions of one row of each tensor, fixed by MIMIC and the reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dims {
    /// Side of the square CXR crop (`--cxr_crop`).
    pub cxr_crop: usize,
    /// Samples per ECG lead (5,000 in MIMIC-IV-ECG: 10 s at 500 Hz).
    pub ecg_samples: usize,
    /// ECG leads (12).
    pub ecg_leads: usize,
    /// Lab columns (the recipe's labs; the published 50).
    pub labs: usize,
}

impl Dims {
    /// MIMIC-IV-ECG's 5,000 × 12 records, `labs` lab columns and `cxr_crop`.
    pub fn mimic(cxr_crop: usize, labs: usize) -> Self {
        Self { cxr_crop, ecg_samples: 5000, ecg_leads: 12, labs }
    }
}

/// One of the four splits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Split {
    Train,
    Val,
    ValRetrieval,
    Test,
}

impl Split {
    /// The four splits, in the order the reference writes them.
    pub const ALL: [Split; 4] = [Split::Train, Split::Val, Split::ValRetrieval, Split::Test];

    /// `train`, `val`, `val_retrieval`, `test`.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Val => "val",
            Split::ValRetrieval => "val_retrieval",
            Split::Test => "test",
        }
    }

    /// The split's CSV written by stage 2, e.g. `val_retrieval.csv`.
    pub fn csv(self) -> &'static str {
        match self {
            Split::Train => "train.csv",
            Split::Val => "val.csv",
            Split::ValRetrieval => "val_retrieval.csv",
            Split::Test => "test.csv",
        }
    }

    /// The split's size key in `metadata.json` (the reference's spelling).
    pub fn metadata_key(self) -> &'static str {
        match self {
            Split::Train => "train size",
            Split::Val => "val size",
            Split::ValRetrieval => "val retrieval size",
            Split::Test => "test size",
        }
    }

    /// Whether the split is a retrieval set: each query's positive first,
    /// then its negatives, with `label_hadm_id` and `label` tensors.
    pub fn has_labels(self) -> bool {
        matches!(self, Split::ValRetrieval | Split::Test)
    }

    /// The split's tensors, in the order the writer creates them.
    pub fn tensors(self) -> &'static [Tensor] {
        const PLAIN: [Tensor; 5] =
            [Tensor::Cxr, Tensor::Ecg, Tensor::LabsPercentiles, Tensor::LabsMissingness, Tensor::HadmId];
        const LABELLED: [Tensor; 7] = [
            Tensor::Cxr,
            Tensor::Ecg,
            Tensor::LabsPercentiles,
            Tensor::LabsMissingness,
            Tensor::HadmId,
            Tensor::LabelHadmId,
            Tensor::Label,
        ];
        if self.has_labels() { &LABELLED } else { &PLAIN }
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A split name that is not one of the four.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown split {0:?}: expected one of train, val, val_retrieval, test")]
pub struct UnknownSplit(pub String);

impl FromStr for Split {
    type Err = UnknownSplit;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Split::ALL.into_iter().find(|x| x.name() == s).ok_or_else(|| UnknownSplit(s.to_string()))
    }
}

/// One of the tensors a split holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tensor {
    /// f32 `(3, crop, crop)`: the ImageNet-normalised chest X-ray.
    Cxr,
    /// f32 `(1, samples, leads)`: the ECG scaled to [-1, 1] (NaN for a flat record).
    Ecg,
    /// f32 `(50,)`: lab percentiles, itemid order; the train mean where missing.
    LabsPercentiles,
    /// i64 `(50,)`: 1 where the lab was observed, 0 where imputed (the reference's name).
    LabsMissingness,
    /// i64 `()` per row: the admission.
    HadmId,
    /// i64 `()` per row: the query this candidate belongs to (retrieval splits).
    LabelHadmId,
    /// i64 `()` per row: 1 for the query's own row, 0 for a negative (retrieval splits).
    Label,
}

impl Tensor {
    /// The name in file names and in a sample's keys: `cxr`, `labs_missingness`, …
    pub fn name(self) -> &'static str {
        match self {
            Tensor::Cxr => "cxr",
            Tensor::Ecg => "ecg",
            Tensor::LabsPercentiles => "labs_percentiles",
            Tensor::LabsMissingness => "labs_missingness",
            Tensor::HadmId => "hadm_id",
            Tensor::LabelHadmId => "label_hadm_id",
            Tensor::Label => "label",
        }
    }

    /// Element type.
    pub fn dtype(self) -> DType {
        match self {
            Tensor::Cxr | Tensor::Ecg | Tensor::LabsPercentiles => DType::F32,
            _ => DType::I64,
        }
    }

    /// Shape of one row (the tensor's shape without its leading row count).
    pub fn row_shape(self, dims: &Dims) -> Vec<usize> {
        match self {
            Tensor::Cxr => vec![3, dims.cxr_crop, dims.cxr_crop],
            Tensor::Ecg => vec![1, dims.ecg_samples, dims.ecg_leads],
            Tensor::LabsPercentiles | Tensor::LabsMissingness => vec![dims.labs],
            Tensor::HadmId | Tensor::LabelHadmId | Tensor::Label => vec![],
        }
    }

    /// The full shape of the tensor of a split with `rows` rows.
    pub fn shape(self, rows: usize, dims: &Dims) -> Vec<usize> {
        let mut s = vec![rows];
        s.extend(self.row_shape(dims));
        s
    }

    /// The tensor's name inside its file and its file stem: `cxr_train`.
    pub fn stem(self, split: Split) -> String {
        format!("{}_{}", self.name(), split.name())
    }

    /// The tensor's spec for a split of `rows` rows.
    pub fn spec(self, split: Split, rows: usize, dims: &Dims) -> tensor_store::TensorSpec {
        tensor_store::TensorSpec { name: self.stem(split), dtype: self.dtype(), shape: self.shape(rows, dims) }
    }
}

/// The folder of a split's tensors in a dataset this tool writes: `<dir>/<split>/`.
pub fn split_dir(dir: &Path, split: Split) -> PathBuf {
    dir.join(split.name())
}

/// A tensor file as this tool writes it: `<dir>/<split>/<tensor>_<split>.<ext>`.
pub fn tensor_path(dir: &Path, split: Split, tensor: Tensor, format: Format) -> PathBuf {
    split_dir(dir, split).join(format!("{}.{}", tensor.stem(split), format.extension()))
}

/// Every file stage 3 writes for `format`, relative to the dataset directory:
/// each split's tensors in split order, then `metadata.json`.
pub fn tensor_outputs(format: Format) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = Split::ALL
        .iter()
        .flat_map(|&s| s.tensors().iter().map(move |&t| tensor_path(Path::new(""), s, t, format)))
        .collect();
    v.push(PathBuf::from(METADATA));
    v
}

/// Stage 2's outputs, in the order they are written.
pub fn splits_outputs() -> Vec<&'static str> {
    let mut v: Vec<&str> = Split::ALL.iter().map(|s| s.csv()).collect();
    v.extend([LABS_MEANS, SPLITS_REPORT]);
    v
}

/// The folders, in order of preference, that may hold a dataset's split
/// tensor folders: the dataset directory itself (this tool), `data_npy/`
/// (the published release) and `tensors/` (the reference golden set).
pub fn tensor_roots(dir: &Path) -> [PathBuf; 3] {
    [dir.to_path_buf(), dir.join(RELEASE_TENSOR_DIR), dir.join(GOLDEN_TENSOR_DIR)]
}

/// A tensor a reader looked for and did not find.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("tensor {stem} not found; tried {}", tried.join(", "))]
pub struct TensorNotFound {
    /// The tensor's file stem.
    pub stem: String,
    /// Every place looked at.
    pub tried: Vec<String>,
}

/// Where an existing dataset keeps `tensor` of `split`: the first file that
/// exists among [`tensor_roots`] × the three formats.
pub fn find_tensor(dir: &Path, split: Split, tensor: Tensor) -> Result<PathBuf, TensorNotFound> {
    let stem = tensor.stem(split);
    let mut tried = Vec::new();
    for root in tensor_roots(dir) {
        for format in [Format::Safetensors, Format::Npy, Format::Pt] {
            let p = tensor_path(&root, split, tensor, format);
            if p.is_file() {
                return Ok(p);
            }
        }
        tried.push(format!("{}.{{safetensors,npy,pt}}", split_dir(&root, split).join(&stem).display()));
    }
    Err(TensorNotFound { stem, tried })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_the_reference_ones() {
        let p = tensor_path(Path::new("/d"), Split::ValRetrieval, Tensor::LabelHadmId, Format::Pt);
        assert_eq!(p, PathBuf::from("/d/val_retrieval/label_hadm_id_val_retrieval.pt"));
        let outs = tensor_outputs(Format::Npy);
        assert_eq!(outs.len(), 5 + 5 + 7 + 7 + 1);
        assert_eq!(outs[0], PathBuf::from("train/cxr_train.npy"));
        assert_eq!(outs.last().unwrap(), &PathBuf::from("metadata.json"));
        assert_eq!(
            splits_outputs(),
            ["train.csv", "val.csv", "val_retrieval.csv", "test.csv", "labs_means.json", "splits_report.json"]
        );
    }

    #[test]
    fn shapes_and_dtypes_match_the_release() {
        let d = Dims::mimic(320, 50);
        assert_eq!(Tensor::Cxr.shape(10_000, &d), vec![10_000, 3, 320, 320]);
        assert_eq!(Tensor::Ecg.shape(7, &d), vec![7, 1, 5000, 12]);
        assert_eq!(Tensor::LabsMissingness.shape(7, &d), vec![7, 50]);
        assert_eq!(Tensor::Label.shape(7, &d), vec![7]);
        assert_eq!(Tensor::LabsMissingness.dtype(), DType::I64);
        assert_eq!(Tensor::LabsPercentiles.dtype(), DType::F32);
        assert!(!Split::Val.has_labels() && Split::Test.has_labels());
        assert_eq!(Split::Train.tensors().len(), 5);
        assert_eq!("val_retrieval".parse::<Split>().unwrap(), Split::ValRetrieval);
        assert!("valid".parse::<Split>().unwrap_err().to_string().contains("train, val, val_retrieval, test"));
    }

    #[test]
    fn find_tensor_prefers_ours_then_the_release_layout() {
        let dir = tempfile::tempdir().unwrap();
        let release = dir.path().join("data_npy/test");
        std::fs::create_dir_all(&release).unwrap();
        std::fs::write(release.join("label_test.npy"), b"").unwrap();
        assert_eq!(find_tensor(dir.path(), Split::Test, Tensor::Label).unwrap(), release.join("label_test.npy"));
        std::fs::create_dir_all(dir.path().join("test")).unwrap();
        std::fs::write(dir.path().join("test/label_test.safetensors"), b"").unwrap();
        assert_eq!(
            find_tensor(dir.path(), Split::Test, Tensor::Label).unwrap(),
            dir.path().join("test/label_test.safetensors")
        );
        let err = find_tensor(dir.path(), Split::Val, Tensor::Cxr).unwrap_err().to_string();
        assert!(err.contains("cxr_val") && err.contains("data_npy/val/cxr_val.{safetensors,npy,pt}"), "{err}");
    }
}
