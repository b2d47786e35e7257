//! The benchmark's retrieval evaluator for Python: the `evaluate` crate,
//! with arrays passed as raw little-endian bytes (the Python wrapper
//! `symile_mimic._evaluate` makes them with numpy), so this module needs no
//! numpy of its own.

use std::path::{Path, PathBuf};

use ::evaluate::{EvalError, Kind, Retrieval};
use dataset_layout::Split;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::Error;

fn raise(err: EvalError) -> PyErr {
    crate::raise(&err)
}

fn open(root: &Path, split: &str) -> PyResult<Retrieval> {
    let split: Split = split.parse().map_err(|e: dataset_layout::UnknownSplit| crate::raise(&e))?;
    Retrieval::open(root, split).map_err(raise)
}

/// `bytes` as little-endian values of `dtype` (`float64` or `float32`), widened to f64.
fn floats(what: &str, bytes: &[u8], dtype: &str) -> PyResult<Vec<f64>> {
    let size = match dtype {
        "float64" => 8,
        "float32" => 4,
        other => return Err(Error::new_err(format!("{what}: dtype {other:?}: expected float64 or float32"))),
    };
    if !bytes.len().is_multiple_of(size) {
        return Err(Error::new_err(format!("{what}: {} bytes is not a whole number of {dtype} values", bytes.len())));
    }
    Ok(if size == 8 {
        bytes.chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes"))).collect()
    } else {
        bytes.chunks_exact(4).map(|b| f64::from(f32::from_le_bytes(b.try_into().expect("4 bytes")))).collect()
    })
}

/// `bytes` as little-endian f32 values.
fn f32s(what: &str, bytes: &[u8]) -> PyResult<Vec<f32>> {
    if !bytes.len().is_multiple_of(4) {
        return Err(Error::new_err(format!("{what}: {} bytes is not a whole number of float32 values", bytes.len())));
    }
    Ok(bytes.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes"))).collect())
}

/// The zero-shot retrieval accuracy of `scores` (one per row of the split's
/// tensors, raw bytes of `dtype`) as JSON: `{"accuracy", "queries",
/// "candidates"}`, plus `"bootstrap_mean"`, `"bootstrap_std"`, `"ci95"`
/// when `bootstrap > 0`.
#[pyfunction]
#[pyo3(name = "evaluate", signature = (root, split, scores, dtype="float64", bootstrap=0, seed=0))]
fn evaluate_scores(
    py: Python<'_>,
    root: PathBuf,
    split: &str,
    scores: &[u8],
    dtype: &str,
    bootstrap: usize,
    seed: u64,
) -> PyResult<String> {
    let scores = floats("scores", scores, dtype)?;
    let split = split.to_string();
    let evaluation = py.detach(move || {
        let retrieval = open(&root, &split)?;
        ::evaluate::evaluate(&retrieval, &scores, bootstrap, seed).map_err(raise)
    })?;
    serde_json::to_string(&evaluation).map_err(|e| Error::new_err(format!("cannot serialise the evaluation: {e}")))
}

/// One float64 score per row of the split (raw little-endian bytes) from
/// per-row `rows × d` float32 embeddings (raw little-endian bytes, row-major)
/// of the CXR, ECG and labs; `kind` is `symile` or `clip`.
#[pyfunction]
#[pyo3(signature = (root, split, r_c, r_e, r_l, d, kind="symile"))]
#[allow(clippy::too_many_arguments)]
fn scores_from_embeddings<'py>(
    py: Python<'py>,
    root: PathBuf,
    split: &str,
    r_c: &[u8],
    r_e: &[u8],
    r_l: &[u8],
    d: usize,
    kind: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let kind: Kind = kind.parse().map_err(raise)?;
    let (r_c, r_e, r_l) = (f32s("r_c", r_c)?, f32s("r_e", r_e)?, f32s("r_l", r_l)?);
    let split = split.to_string();
    let scores = py.detach(move || {
        let retrieval = open(&root, &split)?;
        ::evaluate::scores_from_embeddings(&retrieval, &r_c, &r_e, &r_l, d, kind).map_err(raise)
    })?;
    let bytes: Vec<u8> = scores.iter().flat_map(|s| s.to_le_bytes()).collect();
    Ok(PyBytes::new(py, &bytes))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(evaluate_scores, m)?)?;
    m.add_function(wrap_pyfunction!(scores_from_embeddings, m)?)?;
    Ok(())
}
