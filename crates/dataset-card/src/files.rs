//! What each file of a dataset directory holds, in one line, from the names
//! `dataset-layout` declares (a file it does not declare gets no line).

use dataset_layout::{
    COHORT_CSV, COHORT_PARQUET, COHORT_REPORT, DType, Dims, Format, LABS_MEANS, METADATA, RECIPE_FILE, SPLITS_REPORT,
    Split, Tensor,
};

use crate::{CROISSANT, CardInput, README, SUMS_FILE};

/// A one-line description of `path`, or `None` for a file the layout does not declare.
pub(crate) fn describe(path: &str, input: &CardInput) -> Option<String> {
    let fixed = match path {
        COHORT_CSV => {
            return Some(format!(
                "Stage 1, the cohort: one row per admission — the admission and patient, the chosen CXR with its \
                 CheXpert labels, the chosen ECG, the {} labs",
                input.labs
            ));
        }
        RECIPE_FILE => Some("The recipe that built this directory, every parameter (TOML)"),
        COHORT_PARQUET => Some("The cohort table with proper types (Parquet, Snappy)"),
        COHORT_REPORT => Some("Admissions left after each cohort filter, inputs read, the MIMIC releases used"),
        LABS_MEANS => Some("Mean train percentile of each lab: the value imputed for a missing lab in the tensors"),
        SPLITS_REPORT => Some("The seed, the sizes asked for and obtained, the rows each subject filter dropped"),
        METADATA => Some("Row counts of the four splits' tensors and the CXR scale and crop"),
        SUMS_FILE => Some("SHA-256 of every output file (`sha256sum -c SHA256SUMS.txt`)"),
        README => Some("This card"),
        CROISSANT => Some("Croissant 1.1 metadata: these files, their checksums and the CSV columns"),
        _ => None,
    };
    if let Some(text) = fixed {
        return Some(text.to_string());
    }
    for split in Split::ALL {
        if path == split.csv() {
            return Some(split_csv(split, input.labs));
        }
        for &tensor in split.tensors() {
            for format in [Format::Safetensors, Format::Npy, Format::Pt] {
                if path == format!("{}/{}.{}", split.name(), tensor.stem(split), format.extension()) {
                    return Some(describe_tensor(split, tensor, input));
                }
            }
        }
    }
    None
}

fn split_csv(split: Split, labs: usize) -> String {
    let text = match split {
        Split::Train => {
            return format!(
                "Training rows: ids, CXR and ECG paths (relative to the MIMIC-CXR-JPG and MIMIC-IV-ECG roots), \
                 CheXpert labels, the {labs} raw labs and their train percentiles"
            );
        }
        Split::Val => {
            "Validation queries, the columns of train.csv plus `label_hadm_id` (= `hadm_id`) and `label` (= 1)"
        }
        Split::ValRetrieval => {
            "Validation retrieval set: every query (`label` = 1), then each query's negatives (`label` = 0, \
             `label_hadm_id` = the query's `hadm_id`)"
        }
        Split::Test => {
            "Test retrieval set: every query (`label` = 1), then each query's negatives (`label` = 0, \
             `label_hadm_id` = the query's `hadm_id`)"
        }
    };
    text.to_string()
}

fn describe_tensor(split: Split, tensor: Tensor, input: &CardInput) -> String {
    let what = match tensor {
        Tensor::Cxr => "chest X-ray, RGB, ImageNet-normalised",
        Tensor::Ecg => "12-lead ECG, time-major, min-max scaled to [-1, 1] (NaN for a flat record)",
        Tensor::LabsPercentiles => "lab percentiles, sorted itemid order, the train mean where the lab is missing",
        Tensor::LabsMissingness => "1 where the lab was observed, 0 where it was imputed",
        Tensor::HadmId => "the row's admission",
        Tensor::LabelHadmId => "the query the row is a candidate for",
        Tensor::Label => "1 for the query's own row, 0 for a negative",
    };
    let dtype = match tensor.dtype() {
        DType::F32 => "float32",
        DType::I64 => "int64",
    };
    let rows = input.splits.iter().find(|s| s.name == split.name()).map(|s| s.rows.to_string());
    let dims =
        tensor.row_shape(&Dims::mimic(input.cxr_crop, input.labs)).iter().map(|d| d.to_string()).collect::<Vec<_>>();
    let shape = std::iter::once(rows.unwrap_or_else(|| "n".to_string())).chain(dims).collect::<Vec<_>>();
    let shape = if shape.len() == 1 { format!("({},)", shape[0]) } else { format!("({})", shape.join(", ")) };
    format!("`{}` {dtype} {shape}: {what}", tensor.stem(split))
}
