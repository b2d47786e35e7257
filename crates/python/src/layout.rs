//! The dataset layout and tensor headers for Python readers.
//!
//! Python never declares a tensor name, a dtype or a row shape of its own:
//! it asks [`dataset_layout`] through [`layout`] and [`tensor_files`], and the
//! file itself through [`tensor_header`], so a reader cannot disagree with the
//! writer.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use dataset_layout::{DType, Dims, Format, Split, Tensor};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::Error;

/// numpy's name of a dtype (`numpy.dtype(name)` gives the element type; the
/// files are little-endian, which readers state themselves).
fn numpy_dtype(d: DType) -> &'static str {
    match d {
        DType::F32 => "float32",
        DType::I64 => "int64",
    }
}

/// A tensor's row shape; the dimensions that depend on a recipe value not
/// given (`cxr_crop`, the number of `labs`) are `None`. They are found by
/// comparing two values of each, so this knows nothing of which tensor has
/// them.
fn row_shape(t: Tensor, cxr_crop: Option<usize>, labs: Option<usize>) -> Vec<Option<usize>> {
    let a = t.row_shape(&Dims::mimic(cxr_crop.unwrap_or(1), labs.unwrap_or(1)));
    let b = t.row_shape(&Dims::mimic(cxr_crop.unwrap_or(2), labs.unwrap_or(2)));
    a.into_iter().zip(b).map(|(x, y)| (x == y).then_some(x)).collect()
}

/// The layout as JSON: the splits in order, each with its CSV, its size key
/// in `metadata.json`, whether it carries retrieval labels and its tensors
/// (name, file stem, numpy dtype, row shape) in the writer's order; the
/// formats; the folders that may hold the split folders; the other files.
#[pyfunction]
#[pyo3(signature = (cxr_crop=None, labs=None))]
fn layout(cxr_crop: Option<usize>, labs: Option<usize>) -> String {
    let splits: Vec<serde_json::Value> = Split::ALL
        .iter()
        .map(|&s| {
            let tensors: Vec<serde_json::Value> = s
                .tensors()
                .iter()
                .map(|&t| {
                    serde_json::json!({
                        "name": t.name(),
                        "stem": t.stem(s),
                        "dtype": numpy_dtype(t.dtype()),
                        "row_shape": row_shape(t, cxr_crop, labs),
                    })
                })
                .collect();
            serde_json::json!({
                "name": s.name(),
                "csv": s.csv(),
                "metadata_key": s.metadata_key(),
                "has_labels": s.has_labels(),
                "tensors": tensors,
            })
        })
        .collect();
    let roots: Vec<String> =
        dataset_layout::tensor_roots(Path::new("")).iter().map(|p| p.to_string_lossy().into_owned()).collect();
    serde_json::json!({
        "splits": splits,
        "formats": ([Format::Safetensors, Format::Npy, Format::Pt].map(|f| f.extension())),
        "tensor_roots": roots,
        "files": {
            "cohort_csv": dataset_layout::COHORT_CSV,
            "cohort_parquet": dataset_layout::COHORT_PARQUET,
            "cohort_report": dataset_layout::COHORT_REPORT,
            "labs_means": dataset_layout::LABS_MEANS,
            "splits_report": dataset_layout::SPLITS_REPORT,
            "metadata": dataset_layout::METADATA,
            "recipe": dataset_layout::RECIPE_FILE,
        },
    })
    .to_string()
}

/// Where the dataset under `root` keeps each tensor of `split`, in the
/// writer's order, as `(tensor name, path)`: the first file found among
/// `root/<split>/`, `root/data_npy/<split>/` and `root/tensors/<split>/`,
/// in any format or only in `format`.
#[pyfunction]
#[pyo3(signature = (root, split, format=None))]
fn tensor_files(root: PathBuf, split: &str, format: Option<&str>) -> PyResult<Vec<(&'static str, OsString)>> {
    let split: Split = split.parse().map_err(|e: dataset_layout::UnknownSplit| crate::raise(&e))?;
    let format: Option<Format> =
        format.map(str::parse).transpose().map_err(|e: tensor_store::StoreError| crate::raise(&e))?;
    if !root.is_dir() {
        return Err(Error::new_err(format!("{}: not a directory", root.display())));
    }
    split
        .tensors()
        .iter()
        .map(|&t| {
            let path = match format {
                None => dataset_layout::find_tensor(&root, split, t).map_err(|e| crate::raise(&e))?,
                Some(f) => {
                    let tried: Vec<PathBuf> = dataset_layout::tensor_roots(&root)
                        .iter()
                        .map(|r| dataset_layout::tensor_path(r, split, t, f))
                        .collect();
                    tried.iter().find(|p| p.is_file()).cloned().ok_or_else(|| {
                        let tried: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
                        Error::new_err(format!("tensor {} not found; tried {}", t.stem(split), tried.join(", ")))
                    })?
                }
            };
            Ok((t.name(), path.into_os_string()))
        })
        .collect()
}

/// A tensor file's header (any of the three formats), checked against the
/// file's length: `{"name", "dtype", "shape", "rows", "row_bytes",
/// "data_offset"}`. Rows are `row_bytes` apart from `data_offset`.
#[pyfunction]
fn tensor_header<'py>(py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyDict>> {
    let h = header(&path)?;
    let d = PyDict::new(py);
    d.set_item("name", h.spec.name)?;
    d.set_item("dtype", numpy_dtype(h.spec.dtype))?;
    d.set_item("shape", PyTuple::new(py, &h.spec.shape)?)?;
    d.set_item("rows", h.spec.shape.first().copied().unwrap_or(0))?;
    d.set_item("row_bytes", h.row_bytes)?;
    d.set_item("data_offset", h.data_offset)?;
    Ok(d)
}

/// What a reader needs to find rows in a tensor file.
struct Header {
    spec: tensor_store::TensorSpec,
    data_offset: u64,
    row_bytes: u64,
}

/// A tensor file's header, read and checked against the file by
/// `tensor_store::TensorReader` (every size it states is bounded by the
/// file's real length), so Python maps only what the file holds.
fn header(path: &Path) -> PyResult<Header> {
    let t = tensor_store::TensorReader::open(path).map_err(|e| crate::raise(&e))?;
    Ok(Header { spec: t.spec().clone(), data_offset: t.data_offset(), row_bytes: t.row_bytes() as u64 })
}

/// The recipe the dataset under `root` records (`recipe.toml`) as JSON, or
/// `None` for a directory without one (the published release).
#[pyfunction]
fn recorded_recipe(root: PathBuf) -> PyResult<Option<String>> {
    let recorded = recipe::Requested::recorded(&root).map_err(|e| crate::raise(&e))?;
    Ok(recorded.map(|r| serde_json::to_string(&r.recipe).expect("a recipe serialises")))
}

/// The lab columns of the dataset under `root`: its recorded recipe's, or
/// the published recipe's for a directory that records none.
#[pyfunction]
fn lab_count(root: PathBuf) -> PyResult<usize> {
    let recorded = recipe::Requested::recorded(&root).map_err(|e| crate::raise(&e))?;
    Ok(recorded.map(|r| r.recipe).unwrap_or_default().cohort.labs.len())
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(layout, m)?)?;
    m.add_function(wrap_pyfunction!(recorded_recipe, m)?)?;
    m.add_function(wrap_pyfunction!(lab_count, m)?)?;
    m.add_function(wrap_pyfunction!(tensor_files, m)?)?;
    m.add_function(wrap_pyfunction!(tensor_header, m)?)?;
    Ok(())
}
