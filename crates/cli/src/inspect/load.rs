//! Reading one row of a split from its tensors, with the dataset's lab list.

use std::path::Path;

use anyhow::{Context, Result, bail};
use dataset_layout::{Split, Tensor};
use tensor_store::{DType, TensorReader};

/// One row of a split, as read from its tensors.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Split name.
    pub split: String,
    /// Row index within the split.
    pub row: usize,
    /// Rows in the split's tensors.
    pub rows: usize,
    /// `hadm_id` of the row.
    pub hadm_id: i64,
    /// val_retrieval/test only: `(label, label_hadm_id)`.
    pub label: Option<(i64, i64)>,
    /// Channel 0 of the CXR tensor, normalised as stored, `cxr_h × cxr_w` row-major.
    pub cxr: Vec<f32>,
    /// CXR height in pixels.
    pub cxr_h: usize,
    /// CXR width in pixels.
    pub cxr_w: usize,
    /// ECG, time-major: `ecg[t * leads + l]`.
    pub ecg: Vec<f32>,
    /// ECG samples per lead.
    pub ecg_samples: usize,
    /// ECG leads (12 in MIMIC-IV-ECG).
    pub ecg_leads: usize,
    /// Lab percentiles in tensor order (see [`labs_in_tensor_order`]).
    pub labs: Vec<f32>,
    /// The itemid of each lab, in tensor order.
    pub lab_ids: Vec<u32>,
    /// Lab indicators in tensor order: true = observed, false = missing (train mean imputed).
    pub observed: Vec<bool>,
}

/// An opened tensor of the requested split.
fn open(dir: &Path, split: Split, tensor: Tensor) -> Result<TensorReader> {
    let path = dataset_layout::find_tensor(dir, split, tensor)?;
    TensorReader::open(&path).with_context(|| format!("cannot read the tensor header of {}", path.display()))
}

/// Fails unless the tensor's dtype is one of `dtypes` and its shape matches
/// `want` (`None` = any size); `what` describes the expected shape.
fn expect(t: &TensorReader, dtypes: &[DType], want: &[Option<usize>], what: &str) -> Result<()> {
    let shape = &t.spec().shape;
    let shape_ok = shape.len() == want.len() && shape.iter().zip(want).all(|(&got, w)| w.is_none_or(|w| w == got));
    if !dtypes.contains(&t.spec().dtype) || !shape_ok {
        bail!(
            "{}: expected {} {}, found {:?} {:?}",
            t.path().display(),
            dtypes.iter().map(|d| format!("{d:?}").to_lowercase()).collect::<Vec<_>>().join("/"),
            what,
            t.spec().dtype,
            shape
        );
    }
    Ok(())
}

/// Row `row` of `t`, or its first `len` bytes.
fn row_bytes(t: &TensorReader, row: usize, len: Option<usize>) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; len.unwrap_or(t.row_bytes()).min(t.row_bytes())];
    t.read_row_part(row, 0, &mut buf)?;
    Ok(buf)
}

fn f32s(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

fn i64s(b: &[u8]) -> Vec<i64> {
    b.chunks_exact(8).map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])).collect()
}

/// Reads row `row` of every tensor of `split` in `dir`, reading only that
/// row's bytes. Fails on an unknown split, a missing or malformed tensor,
/// tensors whose row counts disagree, or a row past the end.
pub fn load_sample(dir: &Path, split_name: &str, row: usize) -> Result<Sample> {
    let split: Split = split_name.parse()?;
    let cxr = open(dir, split, Tensor::Cxr)?;
    expect(&cxr, &[DType::F32], &[None, None, None, None], "(n, 3, S, S)")?;
    let ecg = open(dir, split, Tensor::Ecg)?;
    expect(&ecg, &[DType::F32], &[None, Some(1), None, None], "(n, 1, 5000, 12)")?;
    // The labs of the recipe the dataset records (the published 50 for the release).
    let recipe = recipe::Requested::recorded(dir)?.map(|r| r.recipe).unwrap_or_default();
    let lab_ids = labs_in_tensor_order(&recipe.cohort.labs).into_iter().map(|(id, _)| id).collect::<Vec<_>>();
    let n_labs = lab_ids.len();
    let labs_shape = format!("(n, {n_labs})");
    let pct = open(dir, split, Tensor::LabsPercentiles)?;
    expect(&pct, &[DType::F32], &[None, Some(n_labs)], &labs_shape)?;
    let miss = open(dir, split, Tensor::LabsMissingness)?;
    expect(&miss, &[DType::I64, DType::F32], &[None, Some(n_labs)], &labs_shape)?;
    let hadm = open(dir, split, Tensor::HadmId)?;
    expect(&hadm, &[DType::I64], &[None], "(n,)")?;
    let label_tensors = if split.has_labels() {
        let lh = open(dir, split, Tensor::LabelHadmId)?;
        expect(&lh, &[DType::I64], &[None], "(n,)")?;
        let l = open(dir, split, Tensor::Label)?;
        expect(&l, &[DType::I64], &[None], "(n,)")?;
        Some((l, lh))
    } else {
        None
    };

    let rows = cxr.rows();
    let mut all: Vec<&TensorReader> = vec![&cxr, &ecg, &pct, &miss, &hadm];
    if let Some((l, lh)) = &label_tensors {
        all.push(l);
        all.push(lh);
    }
    for t in &all {
        if t.rows() != rows {
            bail!(
                "row counts disagree in split {split}: {} has {} rows but {} has {rows}",
                t.path().display(),
                t.rows(),
                cxr.path().display()
            );
        }
    }
    if row >= rows {
        bail!(
            "row {row} is out of range: split {split} has {rows} rows (0..={}) in {}",
            rows as i64 - 1,
            dir.display()
        );
    }

    let (channels, cxr_h, cxr_w) = (cxr.spec().shape[1], cxr.spec().shape[2], cxr.spec().shape[3]);
    if channels == 0 || cxr_h == 0 || cxr_w == 0 {
        bail!("{}: empty CXR shape {:?}", cxr.path().display(), cxr.spec().shape);
    }
    // Channel 0 is the first h*w floats of the row; grey images have three equal channels.
    let cxr_px = f32s(&row_bytes(&cxr, row, Some(cxr_h * cxr_w * 4))?);
    let (ecg_samples, ecg_leads) = (ecg.spec().shape[2], ecg.spec().shape[3]);
    let ecg_vals = f32s(&row_bytes(&ecg, row, None)?);
    let labs = f32s(&row_bytes(&pct, row, None)?);
    let miss_bytes = row_bytes(&miss, row, None)?;
    let observed: Vec<bool> = match miss.spec().dtype {
        DType::I64 => i64s(&miss_bytes).into_iter().map(|v| v != 0).collect(),
        DType::F32 => f32s(&miss_bytes).into_iter().map(|v| v != 0.0).collect(),
    };
    let hadm_id = i64s(&row_bytes(&hadm, row, None)?)[0];
    let label = match &label_tensors {
        Some((l, lh)) => Some((i64s(&row_bytes(l, row, None)?)[0], i64s(&row_bytes(lh, row, None)?)[0])),
        None => None,
    };
    Ok(Sample {
        split: split.to_string(),
        row,
        rows,
        hadm_id,
        label,
        cxr: cxr_px,
        cxr_h,
        cxr_w,
        ecg: ecg_vals,
        ecg_samples,
        ecg_leads,
        labs,
        lab_ids,
        observed,
    })
}

/// Lab `(itemid, name)` pairs in tensor order for a recipe's `labs`: the
/// reference sorts the `labs_means` keys (`"<itemid>_percentile"`) as
/// strings, which for itemids of one length (MIMIC's lab itemids all have
/// five digits) is ascending itemid. A lab outside the published 50 has no
/// name.
pub fn labs_in_tensor_order(labs: &[u32]) -> Vec<(u32, &'static str)> {
    let mut keys: Vec<(String, u32)> = labs.iter().map(|&id| (format!("{id}_percentile"), id)).collect();
    keys.sort();
    keys.into_iter().map(|(_, id)| (id, mimic_io::layout::lab_name(id).unwrap_or(""))).collect()
}
