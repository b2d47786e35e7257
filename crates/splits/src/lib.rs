//! Stage 2 of the Symile-MIMIC build: patient-disjoint splits, lab
//! percentiles and retrieval candidates, reproducing `create_dataset_splits.py`.
//!
//! [`run`] reads the cohort CSV, splits it exactly like sklearn's
//! `train_test_split` on numpy's legacy `RandomState` ([`numpy_rng`]), drops
//! rows whose subject already sits in an earlier split, adds an
//! `<itemid>_percentile` column per lab of the recipe (the published 50) from
//! train-set ECDFs (`labs-ecdf`), writes the mean training percentiles, and
//! expands val and test into retrieval sets with `candidate_n − 1` negatives
//! per query ([`negatives`]). Its parameters are the recipe's `splits`
//! section and its lab list; the effective recipe (sizes fitted to a small
//! cohort) is recorded as `recipe.toml` with the outputs.
//!
//! Every check (flags, columns, ids, sizes, empty lab columns) runs before the
//! first output is created, and all outputs are staged as temporary files and
//! renamed into place only once all of them are complete: a failed run leaves
//! `--save_dir` as it was.

pub mod error;
mod input;
pub mod negatives;
pub mod numpy_rng;

use std::collections::HashSet;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use durable::{AtomicFile, DirLock, Transaction};
use labs_ecdf::{Ecdf, EcdfError, pandas_mean};
use pyfmt::pandas::{ColumnKind, is_na, push_cell, push_csv_field};
use pyfmt::{PyJsonValue, push_py_float, py_json_object};
use rand_chacha::ChaCha12Rng;
use rand_core::SeedableRng;
use recipe::{Field, Provenance, Recipe};
use serde::Serialize;

/// Whether a run keeps its directory's `SHA256SUMS.txt` (a field of the config).
pub use durable::Checksums;
pub use error::SplitsError;
pub use input::COLS_TO_DROP;
use input::Cohort;
use numpy_rng::RandomState;

/// How retrieval negatives are drawn (the recipe's `splits.negatives`).
pub use recipe::Negatives;

/// Inputs and parameters of stage 2.
#[derive(Debug, Clone)]
pub struct SplitsConfig {
    /// The stage-1 cohort CSV (`symile_mimic_data.csv`, may be gzipped).
    pub dataset_path: PathBuf,
    /// Where the outputs go (created if missing).
    pub save_dir: PathBuf,
    /// The build's recipe: its `splits` section and its lab list
    /// (`cohort.labs`, the cohort CSV's lab columns) are used here.
    pub recipe: Recipe,
    /// Where `recipe.splits.seed` came from, for the report.
    pub seed_source: SeedSource,
    /// Keep `save_dir/SHA256SUMS.txt` up to date with the outputs.
    pub checksums: Checksums,
}

impl SplitsConfig {
    /// `dataset_path` → `save_dir` with `recipe` and its own seed.
    pub fn new(dataset_path: impl Into<PathBuf>, save_dir: impl Into<PathBuf>, recipe: Recipe) -> Self {
        Self {
            dataset_path: dataset_path.into(),
            save_dir: save_dir.into(),
            recipe,
            seed_source: SeedSource::Recipe,
            checksums: Checksums::Update,
        }
    }
}

/// Where the seed came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SeedSource {
    /// The recipe (`splits.seed`, or its flag).
    Recipe,
    /// Drawn from the OS (the reference's `--use_seed false`) and put in the
    /// recipe, so the run can be repeated with that seed. (The reference
    /// instead splits from numpy's unseeded global generator, which no seed
    /// reproduces.)
    Os,
}

/// What a run did; written as `splits_report.json`, which like every other
/// output is identical for identical inputs (no timings, no absolute paths).
#[derive(Debug, Clone, Serialize)]
pub struct SplitsReport {
    /// The cohort CSV (its file name in the JSON).
    #[serde(serialize_with = "file_name_only")]
    pub dataset_path: PathBuf,
    /// The output directory (not in the JSON, which lives there).
    #[serde(skip)]
    pub save_dir: PathBuf,
    /// The seed actually used (repeat the run with `--seed` this value).
    pub seed: u64,
    /// Whether the seed came from the flag or the OS.
    pub seed_source: SeedSource,
    /// How negatives were drawn.
    pub negatives: Negatives,
    /// `--train_n`.
    pub train_n: usize,
    /// `--val_n`.
    pub val_n: usize,
    /// `--candidate_n`.
    pub candidate_n: usize,
    /// Rows in the cohort.
    pub cohort_rows: usize,
    /// Rows in train.csv.
    pub train_rows: usize,
    /// Rows left after train, before the train-subject filter.
    pub rest_rows: usize,
    /// Rows of the rest dropped because their subject is in train.
    pub rest_dropped_train_subjects: usize,
    /// Rows in val.csv (queries of val_retrieval.csv).
    pub val_rows: usize,
    /// Test rows dropped because their subject is in val.
    pub test_dropped_val_subjects: usize,
    /// Test queries (positives of test.csv).
    pub test_queries: usize,
    /// Rows in val_retrieval.csv.
    pub val_retrieval_rows: usize,
    /// Rows in test.csv.
    pub test_retrieval_rows: usize,
    /// Lab columns whose train values include a missing one (their missing
    /// values get NaN percentiles; the others get 1.0).
    pub labs_with_missing_train_values: usize,
    /// Sizes fitted to a small cohort (`splits.fit_small_cohort`): the recipe
    /// had the published value, the run used the one reported here. Not
    /// written: the recorded recipe holds the fitted sizes, and building from
    /// it again must give the same report.
    #[serde(skip)]
    pub fitted: Vec<Field>,
    /// Files written, in `save_dir`.
    pub files: Vec<String>,
    /// Temporary files of an interrupted earlier run removed from `save_dir`.
    pub stale_temps_removed: usize,
    /// Wall-clock seconds of the negatives sampling (printed by `summary`, not
    /// written to the JSON, which must be identical across identical runs).
    #[serde(skip)]
    pub negatives_seconds: f64,
    /// The effective recipe (fitted sizes included), as recorded in `recipe.toml`.
    #[serde(skip)]
    pub recipe: Recipe,
}

impl SplitsReport {
    /// A few lines for the command line.
    pub fn summary(&self) -> String {
        let seed_from = match self.seed_source {
            SeedSource::Recipe => "the recipe",
            SeedSource::Os => "the OS, recorded in recipe.toml",
        };
        let negatives = match self.negatives {
            Negatives::Reference => "reference (numpy-exact)",
            Negatives::Fast => "fast (ChaCha12, not reference rows)",
        };
        format!(
            "splits: {} cohort rows -> train {}, val {}, test {} queries\n\
             subject filters: {} of {} remaining rows dropped for a train subject, {} test rows dropped for a val subject\n\
             retrieval: candidate_n {} -> val_retrieval {} rows, test {} rows; negatives {} in {:.3} s\n\
             seed {} (from {})\n\
             wrote {} to {}",
            self.cohort_rows,
            self.train_rows,
            self.val_rows,
            self.test_queries,
            self.rest_dropped_train_subjects,
            self.rest_rows,
            self.test_dropped_val_subjects,
            self.candidate_n,
            self.val_retrieval_rows,
            self.test_retrieval_rows,
            negatives,
            self.negatives_seconds,
            self.seed,
            seed_from,
            self.files.join(", "),
            self.save_dir.display(),
        )
    }
}

/// Serialises a path as its last component: where the file lay on this
/// machine is not part of what the run did.
fn file_name_only<S: serde::Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&path.file_name().unwrap_or(path.as_os_str()).to_string_lossy())
}

/// The three splits as row positions in the cohort, in output order.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Splits {
    train: Vec<usize>,
    val: Vec<usize>,
    test: Vec<usize>,
    rest_rows: usize,
    rest_dropped: usize,
    test_dropped: usize,
}

/// sklearn `train_test_split(rows, train_size=train_n, shuffle=True,
/// random_state=seed)`: `(train, rest)` with a fresh `RandomState(seed)`.
fn train_test_split(rows: &[usize], train_n: usize, seed: u64) -> Result<(Vec<usize>, Vec<usize>), SplitsError> {
    let mut rng = RandomState::new(seed).map_err(|source| SplitsError::Rng { what: "train_test_split", source })?;
    let p = rng.permutation(rows.len()).map_err(|source| SplitsError::Rng { what: "train_test_split", source })?;
    let n_test = rows.len() - train_n;
    let rest = p[..n_test].iter().map(|&i| rows[i]).collect();
    let train = p[n_test..].iter().map(|&i| rows[i]).collect();
    Ok((train, rest))
}

fn make_splits(cohort: &Cohort, cfg: &recipe::SplitsRecipe) -> Result<Splits, SplitsError> {
    let n = cohort.rows();
    let seed = cfg.seed;
    if cfg.train_n == 0 || cfg.train_n >= n {
        return Err(SplitsError::TrainN { train_n: cfg.train_n, rows: n, path: cohort.path.clone() });
    }
    let all: Vec<usize> = (0..n).collect();
    let (train, rest) = train_test_split(&all, cfg.train_n, seed)?;
    let train_subjects: HashSet<i64> = train.iter().map(|&r| cohort.subject[r]).collect();
    let rest_rows = rest.len();
    let rest: Vec<usize> = rest.into_iter().filter(|&r| !train_subjects.contains(&cohort.subject[r])).collect();
    let rest_dropped = rest_rows - rest.len();
    if cfg.val_n == 0 || cfg.val_n >= rest.len() {
        return Err(SplitsError::ValN {
            val_n: cfg.val_n,
            train_n: cfg.train_n,
            rows: n,
            dropped: rest_dropped,
            left: rest.len(),
        });
    }
    let (val, test) = train_test_split(&rest, cfg.val_n, seed)?;
    let val_subjects: HashSet<i64> = val.iter().map(|&r| cohort.subject[r]).collect();
    let before = test.len();
    let test: Vec<usize> = test.into_iter().filter(|&r| !val_subjects.contains(&cohort.subject[r])).collect();
    let test_dropped = before - test.len();
    let splits = Splits { train, val, test, rest_rows, rest_dropped, test_dropped };
    check_disjoint(cohort, &splits)?;
    Ok(splits)
}

/// The reference's `run_assertions`: subjects and admissions disjoint across splits.
fn check_disjoint(cohort: &Cohort, s: &Splits) -> Result<(), SplitsError> {
    let named = [("train", &s.train), ("val", &s.val), ("test", &s.test)];
    for (column, ids) in [("subject_id", &cohort.subject), ("hadm_id", &cohort.hadm)] {
        for a in 0..3 {
            let set: HashSet<i64> = named[a].1.iter().map(|&r| ids[r]).collect();
            for b in named.iter().skip(a + 1) {
                if let Some(&r) = b.1.iter().find(|&&r| set.contains(&ids[r])) {
                    return Err(SplitsError::Overlap { column, id: ids[r], a: named[a].0, b: b.0 });
                }
            }
        }
    }
    Ok(())
}

/// One ECDF per lab, from the train rows.
fn build_ecdfs(cohort: &Cohort, train: &[usize], labs: &[u32]) -> Result<Vec<Ecdf>, SplitsError> {
    labs.iter()
        .enumerate()
        .map(|(l, itemid)| {
            let values = &cohort.labs[l];
            let built = if cohort.lab_kinds[l] == ColumnKind::Int {
                let ints: Vec<i64> = train.iter().map(|&r| values[r].map_or(0, |v| v as i64)).collect();
                Ecdf::new_int(&ints)
            } else {
                let col: Vec<Option<f64>> = train.iter().map(|&r| values[r]).collect();
                Ecdf::new(&col)
            };
            built.map_err(|EcdfError::NoObservedValue { .. }| SplitsError::NoTrainValues {
                column: itemid.to_string(),
                train_rows: train.len(),
            })
        })
        .collect()
}

/// Renders a cohort row's kept cells and its percentiles (no line end).
fn render_row(cohort: &Cohort, pcts: &[Vec<f64>], r: usize, out: &mut String, scratch: &mut String) {
    for (c, &kind) in cohort.kinds.iter().enumerate() {
        if c > 0 {
            out.push(',');
        }
        scratch.clear();
        let raw = cohort.cell(r, c);
        // Float columns print what pandas parsed (not always the correctly rounded value).
        let pandas_value =
            if kind == ColumnKind::Float && !is_na(raw) { pyfmt::pandas::parse_float(raw) } else { None };
        match pandas_value {
            Some(v) => push_py_float(scratch, v),
            None => push_cell(scratch, kind, raw),
        }
        push_csv_field(out, scratch);
    }
    for col in pcts {
        out.push(',');
        let p = col[r];
        if !p.is_nan() {
            push_py_float(out, p);
        }
    }
}

fn header(cohort: &Cohort, labs: &[u32], labels: bool) -> String {
    let mut h = String::new();
    for (i, name) in cohort.headers.iter().enumerate() {
        if i > 0 {
            h.push(',');
        }
        push_csv_field(&mut h, name);
    }
    for id in labs {
        h.push_str(&format!(",{id}_percentile"));
    }
    if labels {
        h.push_str(",label_hadm_id,label");
    }
    h.push('\n');
    h
}

/// Creates `dir/name` as an uncommitted atomic file filled by `fill`.
fn stage_file(
    dir: &Path,
    name: &str,
    fill: impl FnOnce(&mut BufWriter<&mut AtomicFile>) -> std::io::Result<()>,
) -> Result<AtomicFile, SplitsError> {
    let mut f = AtomicFile::create(dir.join(name))?;
    let res = {
        let mut w = BufWriter::with_capacity(1 << 20, &mut f);
        fill(&mut w).and_then(|()| w.flush())
    };
    match res {
        Ok(()) => Ok(f),
        Err(e) => Err(f.write_error(e).into()),
    }
}

/// Writes one retrieval CSV: positives, then each query's negatives.
fn write_retrieval(
    w: &mut impl Write,
    head: &str,
    rows: &[usize],
    negs: &[u32],
    per_query: usize,
    text: &[String],
    hadm: &[i64],
) -> std::io::Result<()> {
    w.write_all(head.as_bytes())?;
    for &r in rows {
        writeln!(w, "{},{},1", text[r], hadm[r])?;
    }
    if per_query > 0 {
        for (q, chunk) in negs.chunks(per_query).enumerate() {
            let label = hadm[rows[q]];
            for &pos in chunk {
                writeln!(w, "{},{label},0", text[rows[pos as usize]])?;
            }
        }
    }
    Ok(())
}

/// Runs stage 2 (see the crate doc). Nothing is written unless every check passes.
pub fn run(cfg: &SplitsConfig) -> Result<SplitsReport, SplitsError> {
    cfg.recipe.validate(&Provenance::default())?;
    let labs = &cfg.recipe.cohort.labs;
    let started = Instant::now();
    // One writer per directory for the whole run; the earlier outputs are
    // replaced all together at the end.
    let lock = DirLock::acquire(&cfg.save_dir).map_err(|e| match e {
        durable::DurableError::Io { path, source } if path == cfg.save_dir => SplitsError::SaveDir { path, source },
        e => e.into(),
    })?;
    let stale_temps_removed = lock.remove_stale_temps(&cfg.save_dir)?.len();
    let cohort = Cohort::read(&cfg.dataset_path, labs)?;
    // The published sizes on a small cohort become fractions of it (recorded).
    let (sizes, fitted) = cfg.recipe.splits.fitted(cohort.rows());
    if !fitted.is_empty() {
        tracing::info!(
            "cohort has {} rows: using splits.train_n = {}, splits.val_n = {} (fit_small_cohort)",
            cohort.rows(),
            sizes.train_n,
            sizes.val_n
        );
    }
    let effective = Recipe { splits: sizes.clone(), ..cfg.recipe.clone() };
    let seed = sizes.seed;
    let splits = make_splits(&cohort, &sizes)?;
    for (split, rows) in [("val", splits.val.len()), ("test", splits.test.len())] {
        if rows > 0 && sizes.candidate_n > rows {
            return Err(SplitsError::CandidateN { candidate_n: sizes.candidate_n, split, rows });
        }
    }
    if splits.test.is_empty() {
        tracing::warn!("the test split is empty after the val-subject filter; test.csv will have only a header");
    }
    let ecdfs = build_ecdfs(&cohort, &splits.train, labs)?;
    // Percentiles of every cohort row, one lab at a time (each lookup table stays in cache).
    let pcts: Vec<Vec<f64>> =
        ecdfs.iter().enumerate().map(|(l, e)| cohort.labs[l].iter().map(|&v| e.pct(v)).collect()).collect();
    tracing::debug!(elapsed = ?started.elapsed(), "read, split and built ECDFs");

    // labs_means.json: pandas mean of each train percentile column, in the recipe's order.
    let means: Vec<(String, PyJsonValue)> = labs
        .iter()
        .enumerate()
        .map(|(l, id)| {
            let col: Vec<Option<f64>> =
                splits.train.iter().map(|&r| Some(pcts[l][r]).filter(|p| !p.is_nan())).collect();
            (format!("{id}_percentile"), PyJsonValue::Float(pandas_mean(&col).unwrap_or(f64::NAN)))
        })
        .collect();

    // Negatives from ONE stream seeded once: val first, then test.
    let neg_started = Instant::now();
    let (val_negs, test_negs) = match sizes.negatives {
        Negatives::Reference => {
            let mut rng = RandomState::new(seed).map_err(|source| SplitsError::Rng { what: "negatives", source })?;
            let v = negatives::reference(&mut rng, splits.val.len(), sizes.candidate_n);
            let v = v.map_err(|source| SplitsError::Rng { what: "val negatives", source })?;
            let t = negatives::reference(&mut rng, splits.test.len(), sizes.candidate_n);
            (v, t.map_err(|source| SplitsError::Rng { what: "test negatives", source })?)
        }
        Negatives::Fast => {
            let mut rng = ChaCha12Rng::seed_from_u64(seed);
            let v = negatives::fast(&mut rng, splits.val.len(), sizes.candidate_n);
            let v = v.map_err(|source| SplitsError::Rng { what: "val negatives", source })?;
            let t = negatives::fast(&mut rng, splits.test.len(), sizes.candidate_n);
            (v, t.map_err(|source| SplitsError::Rng { what: "test negatives", source })?)
        }
    };
    let negatives_seconds = neg_started.elapsed().as_secs_f64();
    tracing::debug!(negatives_seconds, "drew negatives");

    // Render every row of a split once.
    let mut text = vec![String::new(); cohort.rows()];
    let mut scratch = String::new();
    for &r in splits.train.iter().chain(&splits.val).chain(&splits.test) {
        render_row(&cohort, &pcts, r, &mut text[r], &mut scratch);
    }

    let per_query = sizes.candidate_n - 1;
    let outputs = dataset_layout::splits_outputs();
    let files: Vec<String> = outputs.iter().map(|s| s.to_string()).collect();
    let report = SplitsReport {
        dataset_path: cfg.dataset_path.clone(),
        save_dir: cfg.save_dir.clone(),
        seed,
        seed_source: cfg.seed_source,
        negatives: sizes.negatives,
        train_n: sizes.train_n,
        val_n: sizes.val_n,
        candidate_n: sizes.candidate_n,
        cohort_rows: cohort.rows(),
        train_rows: splits.train.len(),
        rest_rows: splits.rest_rows,
        rest_dropped_train_subjects: splits.rest_dropped,
        val_rows: splits.val.len(),
        test_dropped_val_subjects: splits.test_dropped,
        test_queries: splits.test.len(),
        val_retrieval_rows: splits.val.len() * sizes.candidate_n,
        test_retrieval_rows: splits.test.len() * sizes.candidate_n,
        labs_with_missing_train_values: ecdfs.iter().filter(|e| e.pct(None).is_nan()).count(),
        fitted,
        files,
        stale_temps_removed,
        negatives_seconds,
        recipe: effective,
    };
    let report_json = serde_json::to_string_pretty(&report)? + "\n";

    // Output phase: stage all six files, then commit them together.
    let dir = cfg.save_dir.as_path();
    let head_train = header(&cohort, labs, false);
    let head_eval = header(&cohort, labs, true);
    let hadm = &cohort.hadm;
    let staged = vec![
        stage_file(dir, outputs[0], |w| {
            w.write_all(head_train.as_bytes())?;
            for &r in &splits.train {
                writeln!(w, "{}", text[r])?;
            }
            Ok(())
        })?,
        stage_file(dir, outputs[1], |w| {
            w.write_all(head_eval.as_bytes())?;
            for &r in &splits.val {
                writeln!(w, "{},{},1", text[r], hadm[r])?;
            }
            Ok(())
        })?,
        stage_file(dir, outputs[2], |w| {
            write_retrieval(w, &head_eval, &splits.val, &val_negs, per_query, &text, hadm)
        })?,
        stage_file(dir, outputs[3], |w| {
            write_retrieval(w, &head_eval, &splits.test, &test_negs, per_query, &text, hadm)
        })?,
        stage_file(dir, outputs[4], |w| w.write_all(py_json_object(&means).as_bytes()))?,
        stage_file(dir, outputs[5], |w| w.write_all(report_json.as_bytes()))?,
        stage_file(dir, recipe::RECIPE_FILE, |w| w.write_all(recipe::render(&report.recipe).as_bytes()))?,
    ];
    let mut tx = Transaction::new(&lock, cfg.checksums);
    for f in staged {
        tx.stage(f);
    }
    tx.commit()?;
    tracing::info!(elapsed = ?started.elapsed(), "stage 2 wrote {}", dir.display());
    Ok(report)
}
