//! Per-row scores from per-row embeddings, as the original's
//! `zeroshot_retrieval_logits` (experiments/losses.py) computes them.
//!
//! Row `i`'s score is the logit of its CXR `r_c[i]` as the answer to its
//! query `q` (the query row of `i`'s `label_hadm_id`), from the query's ECG
//! and labs embeddings `r_e[q]`, `r_l[q]`:
//!
//! - [`Kind::Symile`]: the multilinear inner product `Σ_k r_e[q,k]·r_l[q,k]·r_c[i,k]`;
//! - [`Kind::Clip`]: `⟨r_e[q], r_c[i]⟩ + ⟨r_l[q], r_c[i]⟩ + ⟨r_e[q], r_l[q]⟩`, the sum
//!   of the three pairwise dot products the original adds up (the last is
//!   the same for every candidate of a query, so it never changes the ranking;
//!   it is kept so a score is the original's logit).
//!
//! The original multiplies the logits by `exp(logit_scale)`, a positive
//! number shared by every candidate; that changes no ranking and no tie, so
//! it is left out. Sums are taken in f64 over the f32 embeddings (the
//! symile product of two f32 values is exact in f64), so ties are ties of
//! the exact values, not of an accumulation order.

use std::str::FromStr;

use crate::{EvalError, Retrieval};

/// Which logits to score with: the loss the embeddings were trained with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Symile's multilinear inner product of the three embeddings.
    Symile,
    /// CLIP's pairwise dot products, summed.
    Clip,
}

impl Kind {
    /// `symile` or `clip`, the original's `--loss_fn` values.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Symile => "symile",
            Kind::Clip => "clip",
        }
    }
}

impl FromStr for Kind {
    type Err = EvalError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "symile" => Ok(Kind::Symile),
            "clip" => Ok(Kind::Clip),
            other => Err(EvalError::UnknownKind(other.to_string())),
        }
    }
}

/// One score per row of `r` from row-major `rows × d` embeddings of the
/// CXR (`r_c`), ECG (`r_e`) and labs (`r_l`) of each row, in row order.
/// Only the query rows of `r_e` and `r_l` are used (a negative's own ECG and
/// labs are not part of the task); every row of `r_c` is.
pub fn scores_from_embeddings(
    r: &Retrieval,
    r_c: &[f32],
    r_e: &[f32],
    r_l: &[f32],
    d: usize,
    kind: Kind,
) -> Result<Vec<f64>, EvalError> {
    if d == 0 {
        return Err(EvalError::ZeroDim);
    }
    let rows = r.rows();
    for (which, m) in [("r_c", r_c), ("r_e", r_e), ("r_l", r_l)] {
        if Some(m.len()) != rows.checked_mul(d) {
            let set = r.name().to_string();
            return Err(EvalError::RaggedEmbeddings { set, which, got: m.len(), expected: rows * d, rows, d });
        }
    }
    let row = |m: &'static str, x: &[f32], i: usize| -> Result<Vec<f64>, EvalError> {
        let v = &x[i * d..(i + 1) * d];
        match v.iter().find(|x| !x.is_finite()) {
            Some(&value) => Err(EvalError::NonFiniteEmbedding { set: r.name().to_string(), which: m, row: i, value }),
            None => Ok(v.iter().map(|&x| f64::from(x)).collect()),
        }
    };
    // What each query contributes: symile's elementwise product, or CLIP's two vectors and their dot product.
    let mut per_query = Vec::with_capacity(r.queries());
    for q in 0..r.queries() {
        let (e, l) = (row("r_e", r_e, r.query_row(q))?, row("r_l", r_l, r.query_row(q))?);
        per_query.push(match kind {
            Kind::Symile => (e.iter().zip(&l).map(|(a, b)| a * b).collect(), Vec::new(), 0.0),
            Kind::Clip => {
                let el = dot(&e, &l);
                (e, l, el)
            }
        });
    }
    (0..rows)
        .map(|i| {
            let c = row("r_c", r_c, i)?;
            let (a, b, el) = &per_query[r.query_of(i)];
            Ok(match kind {
                Kind::Symile => dot(a, &c),
                Kind::Clip => dot(a, &c) + dot(b, &c) + el,
            })
        })
        .collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
