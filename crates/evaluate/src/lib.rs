//! The Symile-MIMIC benchmark's evaluator: zero-shot retrieval of an
//! admission's chest X-ray among `candidate_n` candidates from its ECG and
//! labs, exactly as the original training code scores it
//! (`SymileMIMICModel.zeroshot_retrieval` in rajesh-lab/symile).
//!
//! It needs only a retrieval split's `hadm_id`, `label_hadm_id` and `label`
//! tensors ([`Retrieval`]) and one score per row: a model's logit of the
//! row's CXR as the answer to its query ([`scores_from_embeddings`] makes
//! them from embeddings). [`evaluate`] gives the accuracy (chance is
//! `1 / candidate_n`) and, with a bootstrap, its spread and a 95 % interval.
//! Every random draw (tie-breaks, resamples) comes from the seed given.
//!
//! ```
//! use evaluate::{Kind, Retrieval, evaluate, scores_from_embeddings};
//! // Two queries (rows 0, 1), each with one negative (rows 2, 3): the other's CXR.
//! let r = Retrieval::from_ids(&[7, 8, 8, 7], &[7, 8, 7, 8], &[1, 1, 0, 0])?;
//! // Row-major 4 × 2 embeddings. Both queries' ECG · labs product is [1, 0]: it
//! // matches 7's CXR [1, 0], so query 7 retrieves its own and query 8 the wrong one.
//! let r_c = [1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0];
//! let (r_e, r_l) = ([1.0, 0.0].repeat(4), [1.0; 8]);
//! let scores = scores_from_embeddings(&r, &r_c, &r_e, &r_l, 2, Kind::Symile)?;
//! assert_eq!(scores, [1.0, 0.0, 0.0, 1.0]);
//! let e = evaluate(&r, &scores, 0, 0)?;
//! assert_eq!((e.accuracy, e.queries, e.candidates), (0.5, 2, 2));
//! println!("{e}"); // retrieval set: accuracy 0.500 (2 queries × 2 candidates, chance 0.500)
//! # Ok::<(), evaluate::EvalError>(())
//! ```

mod embeddings;
mod error;
mod metric;
mod retrieval;
mod scores_file;

pub use embeddings::{Kind, scores_from_embeddings};
pub use error::{EvalError, ScoresFileError};
pub use metric::{Bootstrap, Evaluation, evaluate, predict};
pub use retrieval::Retrieval;
pub use scores_file::read_scores;
