//! The evaluator against a plain re-statement of the original procedure
//! (rajesh-lab/symile, `SymileMIMICModel.zeroshot_retrieval` with
//! `losses.zeroshot_retrieval_logits`), its random draws, its errors, and
//! retrieval splits opened from tensor files.

use std::path::{Path, PathBuf};

use dataset_layout::{Format, Split, Tensor};
use evaluate::{EvalError, Kind, Retrieval, ScoresFileError, evaluate, predict, read_scores, scores_from_embeddings};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use tensor_store::{DType, TensorFile, TensorSpec};

/// The published candidate count.
const CANDIDATE_N: usize = 10;

/// A retrieval set as stage 2 writes one, with per-row embeddings: `n`
/// admissions, each a query with `k − 1` negatives drawn from the other
/// admissions; a negative row is a copy of its admission's row, so it has
/// that admission's embeddings.
struct Set {
    hadm: Vec<i64>,
    label_hadm: Vec<i64>,
    label: Vec<i64>,
    r_c: Vec<f32>,
    r_e: Vec<f32>,
    r_l: Vec<f32>,
    d: usize,
}

fn uniform(rng: &mut ChaCha8Rng) -> f32 {
    (rng.next_u32() >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
}

fn below(rng: &mut ChaCha8Rng, n: usize) -> usize {
    (rng.next_u64() % n as u64) as usize
}

/// Embeddings with some signal: an admission's CXR embedding leans towards
/// what the kind's logit rewards, so accuracy is neither chance nor perfect.
fn set(n: usize, k: usize, d: usize, kind: Kind, seed: u64) -> Set {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let ids: Vec<i64> = (0..n as i64).map(|i| 20_000_000 + 7919 * i).collect();
    let mut adm_e = Vec::new();
    let mut adm_l = Vec::new();
    let mut adm_c = Vec::new();
    for _ in 0..n {
        let e: Vec<f32> = (0..d).map(|_| uniform(&mut rng)).collect();
        let l: Vec<f32> = (0..d).map(|_| uniform(&mut rng)).collect();
        let c: Vec<f32> = (0..d)
            .map(|j| {
                let signal = match kind {
                    Kind::Symile => e[j] * l[j],
                    Kind::Clip => (e[j] + l[j]) / 2.0,
                };
                0.4 * signal + uniform(&mut rng)
            })
            .collect();
        adm_e.push(e);
        adm_l.push(l);
        adm_c.push(c);
    }
    let mut s = Set {
        hadm: Vec::new(),
        label_hadm: Vec::new(),
        label: Vec::new(),
        r_c: Vec::new(),
        r_e: Vec::new(),
        r_l: Vec::new(),
        d,
    };
    let push = |s: &mut Set, adm: usize, query: usize, label: i64| {
        s.hadm.push(ids[adm]);
        s.label_hadm.push(ids[query]);
        s.label.push(label);
        s.r_c.extend(&adm_c[adm]);
        s.r_e.extend(&adm_e[adm]);
        s.r_l.extend(&adm_l[adm]);
    };
    for q in 0..n {
        push(&mut s, q, q, 1);
    }
    for q in 0..n {
        let mut picked = Vec::new();
        while picked.len() < k - 1 {
            let a = below(&mut rng, n);
            if a != q && !picked.contains(&a) {
                picked.push(a);
            }
        }
        for a in picked {
            push(&mut s, a, q, 0);
        }
    }
    s
}

impl Set {
    fn retrieval(&self) -> Retrieval {
        Retrieval::from_ids(&self.hadm, &self.label_hadm, &self.label).unwrap()
    }

    fn row(&self, m: &[f32], i: usize) -> Vec<f64> {
        m[i * self.d..(i + 1) * self.d].iter().map(|&x| f64::from(x)).collect()
    }
}

/// The original's accuracy, re-stated step by step: every `label == 1` row
/// is a query; its candidates' CXRs are its own, then those of the rows with
/// `label_hadm_id == hadm_id & label == 0`; the logits are
/// `logit_scale_exp · zeroshot_retrieval_logits(r_c, [r_e, r_l])`; the
/// prediction is the arg max (here required unique: the data is tie-free),
/// correct when it is index 0. Also returns every candidate's logit.
fn original_accuracy(s: &Set, kind: Kind) -> (f64, Vec<Vec<f64>>) {
    let logit_scale_exp = (1.0f64 / 0.07).ln().exp(); // CLIP's initial logit scale
    let rows = s.hadm.len();
    let queries: Vec<usize> = (0..rows).filter(|&i| s.label[i] == 1).collect();
    let mut correct = 0;
    let mut all_logits = Vec::new();
    for &qi in &queries {
        let (r_e, r_l) = (s.row(&s.r_e, qi), s.row(&s.r_l, qi));
        let mut cand_c = vec![s.row(&s.r_c, qi)];
        for i in 0..rows {
            if s.label_hadm[i] == s.hadm[qi] && s.label[i] == 0 {
                cand_c.push(s.row(&s.r_c, i));
            }
        }
        assert_eq!(cand_c.len(), CANDIDATE_N);
        let rep_list = [r_e, r_l];
        let logits: Vec<f64> = match kind {
            Kind::Symile => {
                // product = ones_like(r_e); product *= r for r in rep_list; logits = product @ r_c.T
                let mut product = vec![1.0f64; s.d];
                for r in &rep_list {
                    for (p, x) in product.iter_mut().zip(r) {
                        *p *= x;
                    }
                }
                cand_c.iter().map(|c| product.iter().zip(c).map(|(a, b)| a * b).sum()).collect()
            }
            Kind::Clip => {
                // Σ_r r @ r_c.T  +  Σ_{x, y in combinations(rep_list, 2)} diag(x @ y.T)
                let with_rx: Vec<f64> = cand_c
                    .iter()
                    .map(|c| rep_list.iter().map(|r| r.iter().zip(c).map(|(a, b)| a * b).sum::<f64>()).sum())
                    .collect();
                let mut without_rx = 0.0;
                for i in 0..rep_list.len() {
                    for j in i + 1..rep_list.len() {
                        without_rx += rep_list[i].iter().zip(&rep_list[j]).map(|(a, b)| a * b).sum::<f64>();
                    }
                }
                with_rx.iter().map(|w| w + without_rx).collect()
            }
        };
        let logits: Vec<f64> = logits.iter().map(|l| logit_scale_exp * l).collect();
        let max = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let max_indices: Vec<usize> = (0..logits.len()).filter(|&i| logits[i] == max).collect();
        assert_eq!(max_indices.len(), 1, "the test data should be tie-free");
        if max_indices[0] == 0 {
            correct += 1;
        }
        all_logits.push(logits.iter().map(|l| l / logit_scale_exp).collect());
    }
    (correct as f64 / queries.len() as f64, all_logits)
}

#[test]
fn accuracy_is_the_originals_for_both_kinds() {
    for (kind, seed) in [(Kind::Symile, 1), (Kind::Clip, 2), (Kind::Symile, 3), (Kind::Clip, 4)] {
        let s = set(300, CANDIDATE_N, 16, kind, seed);
        let r = s.retrieval();
        assert_eq!((r.rows(), r.queries(), r.candidates()), (3000, 300, CANDIDATE_N));
        let scores = scores_from_embeddings(&r, &s.r_c, &s.r_e, &s.r_l, s.d, kind).unwrap();
        let (expected, logits) = original_accuracy(&s, kind);
        for (q, l) in logits.iter().enumerate() {
            for (j, &row) in r.candidates_of(q).iter().enumerate() {
                assert!((scores[row] - l[j]).abs() <= 1e-12 * l[j].abs().max(1.0), "{kind:?} query {q} cand {j}");
            }
        }
        for eval_seed in [0, 1, 99] {
            let e = evaluate(&r, &scores, 0, eval_seed).unwrap();
            assert_eq!(e.accuracy, expected, "{kind:?} seed {seed}");
            assert_eq!((e.queries, e.candidates, e.tied_queries), (300, CANDIDATE_N, 0));
        }
        assert!(expected > 0.2 && expected < 0.9, "{kind:?}: accuracy {expected} should be informative");
    }
}

#[test]
fn row_order_does_not_matter() {
    let s = set(120, CANDIDATE_N, 8, Kind::Symile, 5);
    let r = s.retrieval();
    let scores = scores_from_embeddings(&r, &s.r_c, &s.r_e, &s.r_l, s.d, Kind::Symile).unwrap();
    let expected = evaluate(&r, &scores, 0, 0).unwrap().accuracy;
    // Reverse the rows: negatives now come before their queries.
    let rev = |v: &[i64]| v.iter().rev().copied().collect::<Vec<_>>();
    let r2 = Retrieval::from_ids(&rev(&s.hadm), &rev(&s.label_hadm), &rev(&s.label)).unwrap();
    let scores2: Vec<f64> = scores.iter().rev().copied().collect();
    assert_eq!(evaluate(&r2, &scores2, 0, 0).unwrap().accuracy, expected);
}

/// `n` queries with `k` candidates each, rows as stage 2 orders them.
fn blocks(n: usize, k: usize) -> Retrieval {
    let mut hadm: Vec<i64> = (0..n as i64).collect();
    let mut label_hadm = hadm.clone();
    let mut label = vec![1; n];
    for q in 0..n {
        for j in 1..k {
            hadm.push(((q + j) % n) as i64);
            label_hadm.push(q as i64);
            label.push(0);
        }
    }
    Retrieval::from_ids(&hadm, &label_hadm, &label).unwrap()
}

#[test]
fn ties_are_broken_from_the_seed() {
    let r = blocks(2000, CANDIDATE_N);
    let scores = vec![0.5; r.rows()]; // every candidate tied
    let a = predict(&r, &scores, 11).unwrap();
    assert_eq!(a, predict(&r, &scores, 11).unwrap());
    assert_eq!(evaluate(&r, &scores, 0, 11).unwrap(), evaluate(&r, &scores, 0, 11).unwrap());
    let b = predict(&r, &scores, 12).unwrap();
    assert_ne!(a, b);
    // The accuracy counts exactly the queries that retrieve their own row.
    for (seed, p) in [(11, &a), (12, &b)] {
        let own = (0..r.queries()).filter(|&q| p[q] == r.query_row(q)).count();
        let e = evaluate(&r, &scores, 0, seed).unwrap();
        assert_eq!(e.accuracy, own as f64 / r.queries() as f64);
        assert_eq!(e.tied_queries, 2000);
    }

    // Uniform over the tied candidates: the position picked, over 2000 queries and
    // 5 seeds (10,000 draws), has 10 equally likely values. Pearson's χ² with 9
    // degrees of freedom exceeds 37.7 with probability 2.0e-5 under uniformity, so
    // a fair sampler passes for all but a negligible share of seeds (the seeds are
    // fixed: the test is deterministic), while a sampler always picking the first
    // tied candidate (χ² = 90,000) or favouring one position by 20 % (χ² ≈ 44) fails.
    let mut counts = [0usize; CANDIDATE_N];
    for seed in 0..5 {
        let p = predict(&r, &scores, seed).unwrap();
        for q in 0..r.queries() {
            counts[r.candidates_of(q).iter().position(|&row| row == p[q]).unwrap()] += 1;
        }
    }
    let expected = 10_000.0 / CANDIDATE_N as f64;
    let chi2: f64 = counts.iter().map(|&c| (c as f64 - expected).powi(2) / expected).sum();
    assert!(chi2 < 37.7, "χ² = {chi2} for {counts:?}");

    // Only the tied top candidates are drawn from: 3 of 10 tied at the top, the
    // query's own row among them, gives accuracy ≈ 1/3 (Binomial(2000, 1/3):
    // sd 0.0105; 6 sd = 0.063); without its own row among them, 0.
    let mut scores = vec![0.0; r.rows()];
    for q in 0..r.queries() {
        let c = r.candidates_of(q);
        for &row in &c[..3] {
            scores[row] = 1.0;
        }
    }
    let acc = evaluate(&r, &scores, 0, 3).unwrap().accuracy;
    assert!((acc - 1.0 / 3.0).abs() < 0.063, "accuracy {acc}");
    for q in 0..r.queries() {
        scores[r.query_row(q)] = -1.0;
    }
    assert_eq!(evaluate(&r, &scores, 0, 3).unwrap().accuracy, 0.0);
}

#[test]
fn bootstrap_is_reproducible_and_centred_on_the_accuracy() {
    let s = set(464, CANDIDATE_N, 16, Kind::Symile, 8);
    let r = s.retrieval();
    let scores = scores_from_embeddings(&r, &s.r_c, &s.r_e, &s.r_l, s.d, Kind::Symile).unwrap();
    let e = evaluate(&r, &scores, 2000, 42).unwrap();
    assert_eq!(e, evaluate(&r, &scores, 2000, 42).unwrap());
    let other = evaluate(&r, &scores, 2000, 43).unwrap();
    assert_eq!(other.accuracy, e.accuracy); // tie-free: the accuracy has no draw
    assert_ne!(other.bootstrap, e.bootstrap);
    let b = e.bootstrap.clone().unwrap();
    assert_eq!(b.samples, 2000);
    // A resample's accuracy is a mean of 464 Bernoulli(p) draws with p = the
    // accuracy, so its std is sqrt(p(1-p)/464) up to the estimate's own error
    // (relative sd 1/sqrt(2·2000) = 1.6 %; 10 % is 6 sd) and the mean of 2000
    // of them is within 6 · std / sqrt(2000) of p.
    let p = e.accuracy;
    let sd = (p * (1.0 - p) / 464.0).sqrt();
    assert!((b.std / sd - 1.0).abs() < 0.1, "std {} vs {sd}", b.std);
    assert!((b.mean - p).abs() < 6.0 * sd / 2000f64.sqrt(), "mean {} vs {p}", b.mean);
    assert!(b.ci95[0] < b.mean && b.mean < b.ci95[1]);
    // The 95 % interval of a near-normal distribution spans about 3.92 sd.
    assert!(((b.ci95[1] - b.ci95[0]) / (3.92 * sd) - 1.0).abs() < 0.15, "{:?}", b.ci95);

    // Perfect scores: every resample is perfect.
    let perfect: Vec<f64> = (0..r.rows()).map(|i| if s.label[i] == 1 { 1.0 } else { 0.0 }).collect();
    let b = evaluate(&r, &perfect, 10, 0).unwrap().bootstrap.unwrap();
    assert_eq!((b.mean, b.std, b.ci95), (1.0, 0.0, [1.0, 1.0]));
}

#[test]
fn json_keys_and_summary() {
    let r = blocks(4, 3);
    // Queries 0-2 score their own CXR highest, query 3 one of its negatives; no ties.
    let scores: Vec<f64> = (0..r.rows())
        .map(|i| match i {
            0..3 => 1.0,
            3 => 0.0,
            _ => 0.5 - 0.01 * i as f64,
        })
        .collect();
    let e = evaluate(&r, &scores, 0, 0).unwrap();
    assert_eq!(serde_json::to_value(&e).unwrap(), serde_json::json!({"accuracy": 0.75, "queries": 4, "candidates": 3}));
    assert_eq!(e.summary(), "retrieval set: accuracy 0.750 (4 queries × 3 candidates, chance 0.333)");
    let e = evaluate(&r, &scores, 100, 0).unwrap();
    let v = serde_json::to_value(&e).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect(); // sorted
    assert_eq!(keys, ["accuracy", "bootstrap_mean", "bootstrap_std", "candidates", "ci95", "queries"]);
    let text = serde_json::to_string(&e).unwrap();
    assert!(text.starts_with(r#"{"accuracy":0.75,"queries":4,"candidates":3,"bootstrap_mean":"#), "{text}");
    assert_eq!(v["ci95"].as_array().unwrap().len(), 2);
    let b = e.bootstrap.as_ref().unwrap();
    assert_eq!(
        e.summary(),
        format!(
            "retrieval set: accuracy 0.750 (4 queries × 3 candidates, chance 0.333); bootstrap 100: mean {:.3} ± {:.3}, 95 % CI [{:.3}, {:.3}]",
            b.mean, b.std, b.ci95[0], b.ci95[1]
        )
    );
    let tied = evaluate(&r, &vec![0.0; r.rows()], 0, 5).unwrap();
    assert!(tied.summary().ends_with("; 4 queries with a tied top score, broken at random (seed 5)"), "{tied}");
}

#[test]
fn every_error_is_its_own_variant() {
    use EvalError::*;
    let ids = |h: &[i64], lh: &[i64], l: &[i64]| Retrieval::from_ids(h, lh, l).unwrap_err();
    assert!(matches!(ids(&[1, 2], &[1], &[1, 1]), RowCounts { hadm: 2, label_hadm: 1, label: 2, .. }));
    assert!(matches!(ids(&[1, 2], &[1, 1], &[1, 2]), BadLabel { row: 1, value: 2, .. }));
    assert!(matches!(ids(&[1, 2], &[1, 3], &[1, 1]), QueryMismatch { row: 1, hadm_id: 2, label_hadm_id: 3, .. }));
    assert!(matches!(ids(&[1, 1], &[1, 1], &[1, 1]), DuplicateQuery { first: 0, row: 1, hadm_id: 1, .. }));
    assert!(matches!(ids(&[1, 2], &[1, 9], &[1, 0]), OrphanNegative { row: 1, label_hadm_id: 9, .. }));
    assert!(matches!(ids(&[1, 2], &[1, 1], &[0, 0]), NoQueries { .. }));
    assert!(matches!(ids(&[], &[], &[]), NoQueries { .. }));
    assert!(matches!(ids(&[1, 2, 2], &[1, 2, 1], &[1, 1, 0]), UnequalGroups { first_count: 2, count: 1, .. }));

    let r = blocks(3, 2);
    let msg = |e: EvalError| e.to_string();
    let e = evaluate(&r, &[0.0; 5], 0, 0).unwrap_err();
    assert!(matches!(e, ScoresLength { got: 5, expected: 6, .. }));
    assert_eq!(msg(e), "retrieval set: 5 scores, expected 6 (one per row of its tensors, in row order)");
    let mut scores = vec![0.0; 6];
    scores[4] = f64::NAN;
    scores[5] = f64::INFINITY;
    let e = evaluate(&r, &scores, 0, 0).unwrap_err();
    assert!(matches!(e, NonFiniteScore { row: 4, .. }));
    assert_eq!(msg(e), "retrieval set: the score of row 4 is NaN; expected a finite number");
    assert!(matches!(predict(&r, &scores, 0).unwrap_err(), NonFiniteScore { row: 4, .. }));
    assert!(matches!(evaluate(&r, &[0.0; 6], 1, 0).unwrap_err(), BootstrapTooSmall(1)));

    let emb = |c: &[f32], e: &[f32], l: &[f32], d| scores_from_embeddings(&r, c, e, l, d, Kind::Clip).unwrap_err();
    let ok = [0.5f32; 12];
    assert!(matches!(emb(&ok, &ok, &ok, 0), ZeroDim));
    let e = emb(&ok, &ok[..11], &ok, 2);
    assert!(matches!(e, RaggedEmbeddings { which: "r_e", got: 11, expected: 12, rows: 6, d: 2, .. }));
    assert_eq!(msg(e), "retrieval set: r_e has 11 values, expected 12 (6 rows × d = 2, row-major)");
    let mut bad = ok;
    bad[7] = f32::NAN; // row 3 (a negative): its r_l is never used, its r_c is
    assert!(scores_from_embeddings(&r, &ok, &ok, &bad, 2, Kind::Symile).is_ok());
    assert!(matches!(emb(&bad, &ok, &ok, 2), NonFiniteEmbedding { which: "r_c", row: 3, .. }));
    bad[1] = f32::INFINITY; // row 0, a query
    assert!(matches!(emb(&ok, &ok, &bad, 2), NonFiniteEmbedding { which: "r_l", row: 0, .. }));
    assert!(matches!("mip".parse::<Kind>().unwrap_err(), UnknownKind(k) if k == "mip"));
    assert_eq!(("symile".parse::<Kind>().unwrap(), "clip".parse::<Kind>().unwrap()), (Kind::Symile, Kind::Clip));

    let dir = test_support::tempdir();
    for split in [Split::Train, Split::Val] {
        let e = Retrieval::open(dir.path(), split).unwrap_err();
        assert!(matches!(e, NoLabels { split: s } if s == split));
        assert_eq!(msg(e), format!("split {split} has no retrieval labels: only val_retrieval and test do"));
    }
    let e = Retrieval::open(dir.path(), Split::Test).unwrap_err();
    assert!(matches!(e, NotFound(_)));
    assert!(msg(e).contains("hadm_id_test"));
}

/// The committed golden set (the reference pipeline's own outputs) keeps
/// its tensors in `tensors/<split>/`.
fn golden() -> PathBuf {
    test_support::fixture::path("golden/expected")
}

#[test]
fn opens_the_golden_sets_retrieval_splits() {
    let r = Retrieval::open(&golden(), Split::Test).unwrap();
    assert_eq!((r.split(), r.name(), r.rows(), r.queries(), r.candidates()), (Some(Split::Test), "test", 12, 4, 3));
    // Row 4 is a negative for the first query, hadm_id 27448207.
    assert_eq!((r.query_hadm_id(0), r.candidates_of(0)), (27448207, &[0usize, 4, 5][..]));
    let r = Retrieval::open(&golden(), Split::ValRetrieval).unwrap();
    assert_eq!((r.rows(), r.queries(), r.candidates()), (9, 3, 3));
    let e = evaluate(&r, &[0.0; 8], 0, 0).unwrap_err();
    assert_eq!(e.to_string(), "val_retrieval: 8 scores, expected 9 (one per row of its tensors, in row order)");
}

fn write(dir: &Path, name: &str, dtype: DType, format: Format, rows: &[[u8; 8]]) {
    std::fs::create_dir_all(dir).unwrap();
    let spec = TensorSpec { name: name.to_string(), dtype, shape: vec![rows.len()] };
    let f = TensorFile::create(dir, spec, format).unwrap();
    for (i, r) in rows.iter().enumerate() {
        f.write_row(i, &r[..dtype.size()]).unwrap();
    }
    f.commit().unwrap();
}

fn write_ids(root: &Path, split: Split, format: Format, hadm: &[i64], label_hadm: &[i64], label: &[i64]) {
    for (t, v) in [(Tensor::HadmId, hadm), (Tensor::LabelHadmId, label_hadm), (Tensor::Label, label)] {
        let rows: Vec<[u8; 8]> = v.iter().map(|x| x.to_le_bytes()).collect();
        write(&root.join(split.name()), &t.stem(split), DType::I64, format, &rows);
    }
}

#[test]
fn opens_ids_in_every_format_and_the_release_layout() {
    let (hadm, label_hadm, label) = ([5, 6, 6, 5], [5, 6, 5, 6], [1, 1, 0, 0]);
    for format in [Format::Safetensors, Format::Npy, Format::Pt] {
        let dir = test_support::tempdir();
        write_ids(dir.path(), Split::Test, format, &hadm, &label_hadm, &label);
        let r = Retrieval::open(dir.path(), Split::Test).unwrap();
        assert_eq!(r, Retrieval::open(dir.path(), Split::Test).unwrap());
        assert_eq!((r.rows(), r.queries(), r.candidates(), r.candidates_of(1)), (4, 2, 2, &[1usize, 3][..]));
    }
    // The published release: data_npy/<split>/*.npy.
    let dir = test_support::tempdir();
    write_ids(&dir.path().join("data_npy"), Split::ValRetrieval, Format::Npy, &hadm, &label_hadm, &label);
    let r = Retrieval::open(dir.path(), Split::ValRetrieval).unwrap();
    let scores = [2.0, 1.0, 1.0, 3.0]; // query 5 retrieves its own CXR, query 6 the other
    let e = evaluate(&r, &scores, 0, 0).unwrap();
    assert_eq!((e.accuracy, e.set.as_str()), (0.5, "val_retrieval"));
    assert_eq!(e.summary(), "val_retrieval: accuracy 0.500 (2 queries × 2 candidates, chance 0.500)");

    // A label tensor of floats is refused, naming the file.
    let dir = test_support::tempdir();
    write_ids(dir.path(), Split::Test, Format::Npy, &hadm, &label_hadm, &label);
    let label_path = dir.path().join("test/label_test.npy");
    std::fs::remove_file(&label_path).unwrap();
    let floats: Vec<[u8; 8]> = [1f32, 1.0, 0.0, 0.0]
        .iter()
        .map(|x| {
            let mut b = [0u8; 8];
            b[..4].copy_from_slice(&x.to_le_bytes());
            b
        })
        .collect();
    write(&dir.path().join("test"), "label_test", DType::F32, Format::Npy, &floats);
    let e = Retrieval::open(dir.path(), Split::Test).unwrap_err();
    assert!(
        matches!(&e, EvalError::IdTensor { path, dtype: "float32", shape } if *path == label_path && shape == &[4])
    );
}

#[test]
fn reads_scores_files() {
    let dir = test_support::tempdir();
    let v = [0.25f32, -3.5, 7.0];
    let rows: Vec<[u8; 8]> = v
        .iter()
        .map(|x| {
            let mut b = [0u8; 8];
            b[..4].copy_from_slice(&x.to_le_bytes());
            b
        })
        .collect();
    for format in [Format::Npy, Format::Safetensors, Format::Pt] {
        write(dir.path(), "scores", DType::F32, format, &rows);
        let p = dir.path().join(format!("scores.{format}"));
        assert_eq!(read_scores(&p).unwrap(), v.map(f64::from));
    }
    // float64 .npy: numpy.save(np.array([0.1, 1e300]))'s bytes.
    let mut npy = b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }".to_vec();
    npy.resize(10 + 0x76 - 1, b' ');
    npy.push(b'\n');
    npy.extend(0.1f64.to_le_bytes());
    npy.extend(1e300f64.to_le_bytes());
    let p = dir.path().join("f64.npy");
    std::fs::write(&p, &npy).unwrap();
    assert_eq!(read_scores(&p).unwrap(), [0.1, 1e300]);
    // int64 ids are not scores.
    write(dir.path(), "ids", DType::I64, Format::Safetensors, &rows);
    let e = read_scores(&dir.path().join("ids.safetensors")).unwrap_err();
    let chain = errors::Chain(&e).to_string();
    assert!(
        chain.ends_with("ids.safetensors: expected a 1-D float32 or float64 array of scores, found int64 of shape [3]"),
        "{chain}"
    );
    assert!(matches!(&e, EvalError::ScoresFile { source: ScoresFileError::Tensor { dtype: "int64", .. }, .. }));
    let e = read_scores(&dir.path().join("missing.npy")).unwrap_err();
    assert!(
        matches!(&e, EvalError::ScoresFile { source: ScoresFileError::Io(io), .. } if io.kind() == std::io::ErrorKind::NotFound)
    );
    let chain = errors::Chain(&e).to_string();
    assert!(chain.contains("missing.npy: cannot read it: No such file or directory"), "{chain}");
}
