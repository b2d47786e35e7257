//! A retrieval set's structure: which row is each query, and which rows are
//! its candidates, from the three id tensors alone.

use std::collections::HashMap;
use std::path::Path;

use dataset_layout::{Split, Tensor};
use tensor_store::{DType, TensorReader};

use crate::EvalError;

/// The name errors give a set built by [`Retrieval::from_ids`].
const GIVEN: &str = "retrieval set";

/// The queries of a retrieval split and their candidates.
///
/// Every `label == 1` row is a query; its candidates are itself (first) and
/// the `label == 0` rows whose `label_hadm_id` is its `hadm_id`, in row order
/// — the order the original's `zeroshot_retrieval` gathers them in. Rows may
/// come in any order; the structure is checked when it is built, so scoring
/// never meets a malformed group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retrieval {
    /// The split's name, or [`GIVEN`]; errors name it.
    name: String,
    split: Option<Split>,
    rows: usize,
    /// Candidates per query, the query included (the same for every query).
    candidates: usize,
    /// Row of each query, in row order.
    query_rows: Vec<usize>,
    /// `hadm_id` of each query.
    query_hadm: Vec<i64>,
    /// For each row, the query it is a candidate for (an index into `query_rows`).
    query_of: Vec<usize>,
    /// Query `q`'s candidate rows are `members[q * candidates .. (q + 1) * candidates]`,
    /// its own row first.
    members: Vec<usize>,
}

impl Retrieval {
    /// Reads `hadm_id_<split>`, `label_hadm_id_<split>` and `label_<split>`
    /// from a dataset directory, wherever [`dataset_layout::find_tensor`] finds
    /// them (ours, the release's `data_npy/`, the golden set's `tensors/`; any
    /// of safetensors, npy, pt). Only these three small tensors are read.
    pub fn open(root: &Path, split: Split) -> Result<Self, EvalError> {
        if !split.has_labels() {
            return Err(EvalError::NoLabels { split });
        }
        let hadm = read_ids(root, split, Tensor::HadmId)?;
        let label_hadm = read_ids(root, split, Tensor::LabelHadmId)?;
        let label = read_ids(root, split, Tensor::Label)?;
        Self::build(split.name().to_string(), Some(split), &hadm, &label_hadm, &label)
    }

    /// A retrieval set from its three id columns (one value per row each),
    /// e.g. for tests or ids held in memory. Errors call it `retrieval set`.
    pub fn from_ids(hadm: &[i64], label_hadm: &[i64], label: &[i64]) -> Result<Self, EvalError> {
        Self::build(GIVEN.to_string(), None, hadm, label_hadm, label)
    }

    fn build(
        name: String,
        split: Option<Split>,
        hadm: &[i64],
        label_hadm: &[i64],
        label: &[i64],
    ) -> Result<Self, EvalError> {
        let rows = hadm.len();
        if label_hadm.len() != rows || label.len() != rows {
            return Err(EvalError::RowCounts {
                set: name,
                hadm: rows,
                label_hadm: label_hadm.len(),
                label: label.len(),
            });
        }
        // Queries first, so that a negative listed before its query is still found.
        let mut query_rows = Vec::new();
        let mut query_of_hadm: HashMap<i64, usize> = HashMap::new();
        for row in 0..rows {
            match label[row] {
                1 => {}
                0 => continue,
                value => return Err(EvalError::BadLabel { set: name, row, value }),
            }
            if label_hadm[row] != hadm[row] {
                return Err(EvalError::QueryMismatch {
                    set: name,
                    row,
                    hadm_id: hadm[row],
                    label_hadm_id: label_hadm[row],
                });
            }
            if let Some(&q) = query_of_hadm.get(&hadm[row]) {
                return Err(EvalError::DuplicateQuery { set: name, first: query_rows[q], row, hadm_id: hadm[row] });
            }
            query_of_hadm.insert(hadm[row], query_rows.len());
            query_rows.push(row);
        }
        if query_rows.is_empty() {
            return Err(EvalError::NoQueries { set: name });
        }
        let mut query_of = Vec::with_capacity(rows);
        let mut counts = vec![0usize; query_rows.len()];
        for (row, &label_hadm_id) in label_hadm.iter().enumerate() {
            let q = match query_of_hadm.get(&label_hadm_id) {
                Some(&q) => q,
                None => return Err(EvalError::OrphanNegative { set: name, row, label_hadm_id }),
            };
            query_of.push(q);
            counts[q] += 1;
        }
        let candidates = counts[0];
        if let Some(q) = counts.iter().position(|&c| c != candidates) {
            return Err(EvalError::UnequalGroups {
                set: name,
                first_hadm_id: hadm[query_rows[0]],
                first_count: candidates,
                hadm_id: hadm[query_rows[q]],
                count: counts[q],
            });
        }
        // Each group: its query's row, then its negatives in row order.
        let mut members = vec![0usize; rows];
        let mut next: Vec<usize> = (0..query_rows.len()).map(|q| q * candidates + 1).collect();
        for (q, &row) in query_rows.iter().enumerate() {
            members[q * candidates] = row;
        }
        for (row, &q) in query_of.iter().enumerate() {
            if label[row] == 0 {
                members[next[q]] = row;
                next[q] += 1;
            }
        }
        let query_hadm = query_rows.iter().map(|&r| hadm[r]).collect();
        Ok(Self { name, split, rows, candidates, query_rows, query_hadm, query_of, members })
    }

    /// Rows of the split's tensors: the length `scores` must have.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of queries (`label == 1` rows).
    pub fn queries(&self) -> usize {
        self.query_rows.len()
    }

    /// Candidates per query, the query's own row included (`candidate_n`;
    /// chance accuracy is its reciprocal).
    pub fn candidates(&self) -> usize {
        self.candidates
    }

    /// The split it was opened from; `None` for [`Retrieval::from_ids`].
    pub fn split(&self) -> Option<Split> {
        self.split
    }

    /// The split's name, or `retrieval set`: what errors and summaries call it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The row of query `q` (queries are numbered in row order).
    pub fn query_row(&self, q: usize) -> usize {
        self.query_rows[q]
    }

    /// The `hadm_id` of query `q`.
    pub fn query_hadm_id(&self, q: usize) -> i64 {
        self.query_hadm[q]
    }

    /// The candidate rows of query `q`: its own row first, then its
    /// negatives in row order.
    pub fn candidates_of(&self, q: usize) -> &[usize] {
        &self.members[q * self.candidates..(q + 1) * self.candidates]
    }

    /// The query (its number) that row `row` is a candidate for.
    pub fn query_of(&self, row: usize) -> usize {
        self.query_of[row]
    }
}

/// One of a split's id tensors, as i64 values.
fn read_ids(root: &Path, split: Split, tensor: Tensor) -> Result<Vec<i64>, EvalError> {
    let path = dataset_layout::find_tensor(root, split, tensor)?;
    let reader = TensorReader::open(&path)?;
    let spec = reader.spec();
    if spec.dtype != DType::I64 || spec.shape.len() != 1 {
        let dtype = match spec.dtype {
            DType::F32 => "float32",
            DType::I64 => "int64",
        };
        return Err(EvalError::IdTensor { path, dtype, shape: spec.shape.clone() });
    }
    let bytes = reader.read_all()?;
    Ok(bytes.chunks_exact(8).map(|b| i64::from_le_bytes(b.try_into().expect("8-byte chunks"))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_put_the_query_first_then_its_negatives_in_row_order() {
        // Rows in any order: a negative before its query, queries interleaved.
        let hadm = [30, 1, 2, 3, 1, 2];
        let label_hadm = [1, 1, 2, 3, 3, 3];
        let label = [0, 1, 1, 1, 0, 0];
        let err = Retrieval::from_ids(&hadm, &label_hadm, &label).unwrap_err();
        assert!(matches!(err, EvalError::UnequalGroups { first_hadm_id: 1, first_count: 2, hadm_id: 2, count: 1, .. }));

        let hadm = [30, 1, 2, 1, 2, 40];
        let label_hadm = [1, 1, 2, 2, 1, 2];
        let label = [0, 1, 1, 0, 0, 0];
        let r = Retrieval::from_ids(&hadm, &label_hadm, &label).unwrap();
        assert_eq!((r.rows(), r.queries(), r.candidates()), (6, 2, 3));
        assert_eq!(r.candidates_of(0), &[1, 0, 4]);
        assert_eq!(r.candidates_of(1), &[2, 3, 5]);
        assert_eq!((r.query_row(1), r.query_hadm_id(1), r.query_of(5)), (2, 2, 1));
        assert_eq!(r.name(), "retrieval set");
    }
}
