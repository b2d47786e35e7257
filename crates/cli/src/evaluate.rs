//! `symile-mimic evaluate DIR --split test --scores FILE.npy [--bootstrap B]
//! [--seed S] [--json]`: the benchmark's zero-shot retrieval accuracy of a
//! model's scores, with the original's procedure (the [`evaluate`](::evaluate)
//! crate; docs/evaluate.md).
//!
//! Only the split's three id tensors and the scores file are read. The
//! scores are one float32 or float64 per row of the split's tensors, in row
//! order: row `i`'s CXR scored as the answer to its query.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use dataset_layout::Split;

/// Flags of `symile-mimic evaluate`.
#[derive(Debug, Clone, Args)]
pub struct EvaluateArgs {
    /// Dataset directory: the split's hadm_id, label_hadm_id and label tensors in <split>/ (ours) or
    /// data_npy/<split>/ (the published release).
    pub dir: PathBuf,
    /// Retrieval split: test or val_retrieval.
    #[arg(long, default_value = "test", value_parser = parse_split)]
    pub split: Split,
    /// One score per row of the split's tensors, in row order (a 1-D float32 or float64 .npy): row i's CXR
    /// scored as the answer to its query.
    #[arg(long, value_name = "FILE.npy")]
    pub scores: PathBuf,
    /// Bootstrap resamples of the queries for the mean, standard deviation and 95 % interval (0: none).
    #[arg(long, default_value_t = 0, value_name = "B")]
    pub bootstrap: usize,
    /// Seed of the tie-breaks and the resamples.
    #[arg(long, default_value_t = 0, value_name = "S")]
    pub seed: u64,
    /// Print the result as JSON ({"accuracy", "queries", "candidates"[, "bootstrap_mean", "bootstrap_std",
    /// "ci95"]}) instead of one line.
    #[arg(long)]
    pub json: bool,
}

fn parse_split(s: &str) -> Result<Split, dataset_layout::UnknownSplit> {
    s.parse()
}

impl EvaluateArgs {
    /// The test split's accuracy of the scores in `scores`, no bootstrap, seed 0.
    pub fn new(dir: impl Into<PathBuf>, scores: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into(), split: Split::Test, scores: scores.into(), bootstrap: 0, seed: 0, json: false }
    }

    /// What the command prints: the JSON object with `--json`, else the one-line summary.
    pub fn render(&self, evaluation: &::evaluate::Evaluation) -> String {
        if self.json {
            serde_json::to_string(evaluation).expect("an evaluation serialises")
        } else {
            evaluation.summary()
        }
    }
}

/// Reads the split's ids and the scores, and evaluates them.
pub fn evaluate(args: &EvaluateArgs) -> Result<::evaluate::Evaluation> {
    if args.bootstrap == 1 {
        bail!("--bootstrap 1: expected 0 (none) or at least 2 resamples (the standard deviation has ddof 1)");
    }
    let retrieval = ::evaluate::Retrieval::open(&args.dir, args.split)?;
    let scores = ::evaluate::read_scores(&args.scores)?;
    ::evaluate::evaluate(&retrieval, &scores, args.bootstrap, args.seed)
        .with_context(|| format!("scoring {}", args.scores.display()))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cmd {
        #[command(flatten)]
        args: EvaluateArgs,
    }

    fn parse(words: &[&str]) -> Result<EvaluateArgs, clap::Error> {
        Cmd::try_parse_from(std::iter::once("evaluate").chain(words.iter().copied())).map(|c| c.args)
    }

    /// The committed golden set: `test` has 4 queries × 3 candidates (12 rows).
    fn golden() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/golden/expected")
    }

    /// A 1-D float64 `.npy` as `numpy.save` writes it.
    fn npy_f64(path: &Path, values: &[f64]) {
        let dict = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': ({},), }}", values.len());
        let pad = 64 - (10 + dict.len() + 1) % 64;
        let header = format!("{dict}{}\n", " ".repeat(pad));
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend((header.len() as u16).to_le_bytes());
        out.extend(header.as_bytes());
        out.extend(values.iter().flat_map(|v| v.to_le_bytes()));
        std::fs::write(path, out).unwrap();
    }

    #[test]
    fn flags_and_defaults() {
        let a = parse(&["d", "--scores", "s.npy"]).unwrap();
        assert_eq!((a.split, a.bootstrap, a.seed, a.json), (Split::Test, 0, 0, false));
        let a = parse(&[
            "d",
            "--split",
            "val_retrieval",
            "--scores",
            "s.npy",
            "--bootstrap",
            "1000",
            "--seed",
            "3",
            "--json",
        ])
        .unwrap();
        assert_eq!((a.split, a.bootstrap, a.seed, a.json), (Split::ValRetrieval, 1000, 3, true));
        let err = parse(&["d", "--split", "valid", "--scores", "s.npy"]).unwrap_err().to_string();
        assert!(err.contains("expected one of train, val, val_retrieval, test"), "{err}");
        assert!(parse(&["d"]).is_err(), "--scores is required");
    }

    #[test]
    fn evaluates_a_scores_file() {
        let dir = tempfile::tempdir().unwrap();
        let scores = dir.path().join("scores.npy");
        // The golden test split's rows: 4 queries, then 2 negatives each. Query rows score 1, negatives 0.
        npy_f64(&scores, &[1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        let mut args = EvaluateArgs::new(golden(), &scores);
        let e = evaluate(&args).unwrap();
        assert_eq!(args.render(&e), "test: accuracy 1.000 (4 queries × 3 candidates, chance 0.333)");
        args.json = true;
        args.bootstrap = 10;
        let e = evaluate(&args).unwrap();
        assert_eq!(
            args.render(&e),
            r#"{"accuracy":1.0,"queries":4,"candidates":3,"bootstrap_mean":1.0,"bootstrap_std":0.0,"ci95":[1.0,1.0]}"#
        );

        npy_f64(&scores, &[1.0; 11]);
        let err = crate::error_chain(&evaluate(&args).unwrap_err());
        assert_eq!(
            err,
            format!(
                "scoring {}: test: 11 scores, expected 12 (one per row of its tensors, in row order)",
                scores.display()
            )
        );
        args.bootstrap = 1;
        assert!(crate::error_chain(&evaluate(&args).unwrap_err()).starts_with("--bootstrap 1: expected 0"));
        args.bootstrap = 0;
        args.split = Split::Val;
        let err = crate::error_chain(&evaluate(&args).unwrap_err());
        assert_eq!(err, "split val has no retrieval labels: only val_retrieval and test do");
    }
}
