//! The dataset contract, against the directory's recorded recipe.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use dataset_layout::{COHORT_CSV, LABS_MEANS, METADATA, Split, Tensor};
use durable::{SUMS_FILE, Sums};
use errors::Chain;
use mimic_io::table::TableReader;
use recipe::{RECIPE_FILE, Recipe, Requested};
use tensor_store::{DType, TensorReader};

use crate::{Check, VerifyError, VerifyReport};

/// Ids read from one split CSV.
#[derive(Debug, Default)]
struct SplitCsv {
    subject: Vec<i64>,
    hadm: Vec<i64>,
    label_hadm: Vec<i64>,
    label: Vec<i64>,
}

fn read_split_csv(path: &Path) -> Result<SplitCsv, mimic_io::table::TableError> {
    let mut t = TableReader::open(path)?;
    let idx = t.require(&["subject_id", "hadm_id"])?;
    let lab = t.column("label_hadm_id").zip(t.column("label"));
    let mut out = SplitCsv::default();
    let mut rec = csv::ByteRecord::new();
    while t.next_record(&mut rec)? {
        out.subject.push(t.parse_i64(&rec, idx[0])?);
        out.hadm.push(t.parse_i64(&rec, idx[1])?);
        if let Some((lh, l)) = lab {
            out.label_hadm.push(t.parse_i64(&rec, lh)?);
            out.label.push(t.parse_i64(&rec, l)?);
        }
    }
    Ok(out)
}

fn count_rows(path: &Path) -> Result<usize, mimic_io::table::TableError> {
    let mut t = TableReader::open(path)?;
    let mut rec = csv::ByteRecord::new();
    let mut n = 0;
    while t.next_record(&mut rec)? {
        n += 1;
    }
    Ok(n)
}

fn f32s(b: &[u8]) -> impl Iterator<Item = f32> + '_ {
    b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
}

fn i64s(b: &[u8]) -> impl Iterator<Item = i64> + '_ {
    b.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
}

/// Rows (at most five) of `t` whose values break `bad`.
fn bad_rows(t: &TensorReader, bad: impl Fn(&[u8]) -> bool) -> Result<Vec<usize>, VerifyError> {
    let mut rows = Vec::new();
    t.for_each_row(|row, b| {
        if rows.len() < 5 && bad(b) {
            rows.push(row);
        }
        Ok(())
    })?;
    Ok(rows)
}

/// The recipe the directory records; `None` for a directory without one
/// (the PhysioNet release: its 50 labs are the published ones, its sizes
/// are only checked with `expect_published`) or with an unreadable one (a
/// failed check).
fn recorded_recipe(dir: &Path, rep: &mut VerifyReport) -> Option<Recipe> {
    match Requested::recorded(dir) {
        Ok(Some(r)) => {
            let listed = Sums::load(&dir.join(SUMS_FILE)).ok().flatten().map(|s| s.get(RECIPE_FILE).is_some());
            let variant = r.recipe.differences_from_published();
            let what = if variant.is_empty() {
                "the published recipe".to_string()
            } else {
                let names: Vec<&str> = variant.iter().map(|f| f.path()).collect();
                format!("a variant of the published recipe ({})", names.join(", "))
            };
            match listed {
                Some(false) => rep.check(Check::Recipe, false, format!("{RECIPE_FILE} is not listed in {SUMS_FILE}")),
                _ => rep.check(Check::Recipe, true, format!("{RECIPE_FILE}: {what}")),
            }
            Some(r.recipe)
        }
        Ok(None) => {
            rep.check(Check::Recipe, true, format!("no {RECIPE_FILE}: the published lab list is assumed"));
            None
        }
        Err(e) => {
            rep.check(Check::Recipe, false, Chain(&e).to_string());
            None
        }
    }
}

/// The contract: CSVs, tensors, values, ids, retrieval blocks, sizes,
/// disjointness, against the recorded recipe.
pub(crate) fn check_contract(dir: &Path, expect_published: bool, rep: &mut VerifyReport) -> Result<(), VerifyError> {
    let recorded = recorded_recipe(dir, rep);
    let recipe = recorded.clone().unwrap_or_default();
    let metadata: Option<serde_json::Value> = dataset_layout::tensor_roots(dir)
        .iter()
        .find_map(|root| std::fs::read(root.join(METADATA)).ok())
        .and_then(|b| serde_json::from_slice(&b).ok());
    let crop = metadata.as_ref().and_then(|m| m["cxr_crop"].as_u64()).map(|c| c as usize);
    if let (Some(m), Some(_)) = (&metadata, &recorded) {
        let (scale, crop) = (m["cxr_scale"].as_u64(), m["cxr_crop"].as_u64());
        let t = &recipe.tensors;
        rep.check(
            Check::MetadataImage,
            scale == Some(t.cxr_scale.into()) && crop == Some(t.cxr_crop.into()),
            format!(
                "{METADATA} cxr_scale {scale:?}, cxr_crop {crop:?}: the recipe's {} and {}",
                t.cxr_scale, t.cxr_crop
            ),
        );
    }

    let mut csvs: BTreeMap<Split, SplitCsv> = BTreeMap::new();
    for split in Split::ALL {
        match read_split_csv(&dir.join(split.csv())) {
            Ok(c) => {
                rep.check(Check::CsvReadable(split), true, format!("{} readable", split.csv()));
                csvs.insert(split, c);
            }
            Err(e) => rep.check(Check::CsvReadable(split), false, format!("{}: {}", split.csv(), Chain(&e))),
        }
    }
    check_labs_means(dir, &recipe, rep);

    let mut candidate_n: Option<usize> = None;
    for split in Split::ALL {
        let csv = csvs.get(&split);
        let n_csv = csv.map(|c| c.hadm.len());
        if let (Some(m), Some(n)) = (&metadata, n_csv) {
            let want = m[split.metadata_key()].as_u64();
            rep.check(
                Check::MetadataSize(split),
                want == Some(n as u64),
                format!("{METADATA} {:?} = {want:?} matches {} rows ({n})", split.metadata_key(), split.csv()),
            );
        }
        let mut ids: BTreeMap<Tensor, Vec<i64>> = BTreeMap::new();
        for &tensor in split.tensors() {
            let stem = tensor.stem(split);
            let opened = dataset_layout::find_tensor(dir, split, tensor)
                .map_err(|e| Chain(&e).to_string())
                .and_then(|p| TensorReader::open(&p).map_err(|e| Chain(&e).to_string()));
            let t = match opened {
                Ok(t) => t,
                Err(e) => {
                    rep.check(Check::TensorReadable(split, tensor), false, e);
                    continue;
                }
            };
            let rows = t.rows();
            if let Some(n) = n_csv {
                rep.check(
                    Check::TensorRows(split, tensor),
                    rows == n,
                    format!("{split}/{stem}: {rows} rows, {} has {n}", split.csv()),
                );
            }
            // The crop comes from metadata.json when there is one, else
            // from the recipe, else (a bare release) from the tensor itself.
            let mut dims = recipe.dims();
            dims.cxr_crop = match (crop, &recorded) {
                (Some(c), _) => c,
                (None, Some(r)) => r.tensors.cxr_crop as usize,
                (None, None) => t.spec().shape.get(2).copied().unwrap_or(0),
            };
            let want = tensor.shape(rows, &dims);
            let ok = t.spec().dtype == tensor.dtype() && t.spec().shape == want;
            rep.check(
                Check::TensorShape(split, tensor),
                ok,
                format!("{split}/{stem}: dtype {:?} shape {:?} (expected {want:?})", t.spec().dtype, t.spec().shape),
            );
            if !ok {
                continue;
            }
            let (what, bad) = match tensor {
                Tensor::Ecg => (
                    "every value finite in [-1, 1]",
                    bad_rows(&t, |b| f32s(b).any(|x| !(x.is_finite() && (-1.0..=1.0).contains(&x))))?,
                ),
                Tensor::LabsPercentiles => {
                    ("percentiles in [0, 1]", bad_rows(&t, |b| f32s(b).any(|x| !(0.0..=1.0).contains(&x)))?)
                }
                Tensor::LabsMissingness => {
                    ("indicators in {0, 1}", bad_rows(&t, |b| i64s(b).any(|x| x != 0 && x != 1))?)
                }
                Tensor::Cxr => ("every value finite", bad_rows(&t, |b| f32s(b).any(|x| !x.is_finite()))?),
                Tensor::HadmId | Tensor::LabelHadmId | Tensor::Label => {
                    debug_assert_eq!(t.spec().dtype, DType::I64);
                    let mut v = Vec::with_capacity(rows);
                    t.for_each_row(|_, b| {
                        v.extend(i64s(b));
                        Ok(())
                    })?;
                    if let Some(c) = csv {
                        let column = match tensor {
                            Tensor::HadmId => &c.hadm,
                            Tensor::LabelHadmId => &c.label_hadm,
                            _ => &c.label,
                        };
                        if !column.is_empty() {
                            rep.check(
                                Check::TensorIds(split, tensor),
                                &v == column,
                                format!("{split}/{stem} equals the {} column of {}", tensor.name(), split.csv()),
                            );
                        }
                    }
                    ids.insert(tensor, v);
                    continue;
                }
            };
            rep.check(
                Check::TensorValues(split, tensor),
                bad.is_empty(),
                format!("{split}/{stem}: {what} (bad rows {bad:?})"),
            );
        }
        check_blocks(split, &ids, csvs.get(&Split::Val), &mut candidate_n, rep);
    }
    if let (Some(k), Some(r)) = (candidate_n, &recorded) {
        let want = r.splits.candidate_n;
        rep.check(
            Check::CandidateN(Split::Test),
            k == want,
            format!("retrieval blocks of {k} rows: the recipe's splits.candidate_n is {want}"),
        );
    }
    if let Some(r) = &recorded {
        check_sizes(&csvs, r, rep);
    }
    check_disjoint(&csvs, rep);
    if expect_published {
        match recorded.as_ref().map(Recipe::differences_from_published).filter(|d| !d.is_empty()) {
            Some(differ) => not_published(&differ, rep),
            None => check_published(dir, &csvs, rep),
        }
    }
    Ok(())
}

/// The release's frozen counts are those of the published recipe: a
/// dataset built by another one cannot have them, so instead of failing
/// each count the check fails once, saying why.
fn not_published(differ: &[recipe::Field], rep: &mut VerifyReport) {
    let names: Vec<&str> = differ.iter().map(|f| f.path()).collect();
    rep.check(
        Check::Published("recipe"),
        false,
        format!(
            "published: the recorded recipe ({RECIPE_FILE}) differs from the published one in {}, so the published \
             contract does not apply",
            names.join(", ")
        ),
    );
}

/// `labs_means.json` holds one `<itemid>_percentile` per lab of the recipe.
fn check_labs_means(dir: &Path, recipe: &Recipe, rep: &mut VerifyReport) {
    let path = dir.join(LABS_MEANS);
    let Ok(text) = std::fs::read_to_string(&path) else {
        rep.check(Check::LabsMeans, false, format!("{LABS_MEANS} missing"));
        return;
    };
    // Python's json.dump writes NaN as a bare word; only the keys matter here.
    let keys: HashSet<String> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix('"').and_then(|r| r.split_once('"')).map(|(k, _)| k.to_string()))
        .collect();
    let want: HashSet<String> = recipe.cohort.labs.iter().map(|id| format!("{id}_percentile")).collect();
    let missing = want.difference(&keys).count();
    let extra = keys.difference(&want).count();
    rep.check(
        Check::LabsMeans,
        missing == 0 && extra == 0,
        format!(
            "{LABS_MEANS}: the {} labs of the recipe (cohort.labs){}",
            want.len(),
            if missing + extra > 0 { format!(": {missing} missing, {extra} not in the recipe") } else { String::new() }
        ),
    );
}

/// train and val have the recipe's sizes (as fitted to the cohort and recorded).
fn check_sizes(csvs: &BTreeMap<Split, SplitCsv>, recipe: &Recipe, rep: &mut VerifyReport) {
    for (split, want, field) in
        [(Split::Train, recipe.splits.train_n, "train_n"), (Split::Val, recipe.splits.val_n, "val_n")]
    {
        if let Some(c) = csvs.get(&split) {
            let n = c.hadm.len();
            rep.check(
                Check::SplitSize(split),
                n == want,
                format!("{} has {n} rows: the recipe's splits.{field} is {want}", split.csv()),
            );
        }
    }
}

/// Disjointness across train / val / test.
fn check_disjoint(csvs: &BTreeMap<Split, SplitCsv>, rep: &mut VerifyReport) {
    type Key = fn(&SplitCsv) -> &Vec<i64>;
    let keys: [(&'static str, Key); 2] = [("subject_id", |c| &c.subject), ("hadm_id", |c| &c.hadm)];
    for (what, key) in keys {
        let s: Vec<(Split, HashSet<i64>)> = [Split::Train, Split::Val, Split::Test]
            .iter()
            .filter_map(|s| csvs.get(s).map(|c| (*s, key(c).iter().copied().collect())))
            .collect();
        for i in 0..s.len() {
            for j in i + 1..s.len() {
                let shared = s[i].1.intersection(&s[j].1).count();
                rep.check(
                    Check::Disjoint(what, s[i].0, s[j].0),
                    shared == 0,
                    format!("{what} disjoint between {} and {} ({shared} shared)", s[i].0, s[j].0),
                );
            }
        }
    }
}

/// The published release's frozen counts.
fn check_published(dir: &Path, csvs: &BTreeMap<Split, SplitCsv>, rep: &mut VerifyReport) {
    let count = |s: Split| csvs.get(&s).map(|c| c.hadm.len());
    let queries = |s: Split| csvs.get(&s).map(|c| c.label.iter().filter(|&&l| l == 1).count());
    for (what, got, want) in [
        ("train has 10,000 rows", count(Split::Train), 10_000),
        ("val has 750 rows", count(Split::Val), 750),
        ("test has 464 queries", queries(Split::Test), 464),
        ("val_retrieval has 7,500 rows", count(Split::ValRetrieval), 7_500),
        ("test has 4,640 rows", count(Split::Test), 4_640),
    ] {
        rep.check(Check::Published(what), got == Some(want), format!("published: {what} ({got:?})"));
    }
    if let Ok(n) = count_rows(&dir.join(COHORT_CSV)) {
        rep.check(
            Check::Published("cohort rows"),
            n == 11_622,
            format!("published: {COHORT_CSV} has 11,622 rows ({n})"),
        );
    }
}

/// Retrieval blocks: the positives first, then `candidate_n - 1` negatives
/// per query in query order, each labelled with its query's hadm_id.
fn check_blocks(
    split: Split,
    ids: &BTreeMap<Tensor, Vec<i64>>,
    val: Option<&SplitCsv>,
    candidate_n: &mut Option<usize>,
    rep: &mut VerifyReport,
) {
    let (Some(h), Some(lh), Some(l)) =
        (ids.get(&Tensor::HadmId), ids.get(&Tensor::LabelHadmId), ids.get(&Tensor::Label))
    else {
        return;
    };
    if h.len() != lh.len() || h.len() != l.len() {
        rep.check(
            Check::RetrievalBlocks(split),
            false,
            format!("{split}: hadm_id, label_hadm_id and label have {}, {} and {} rows", h.len(), lh.len(), l.len()),
        );
        return;
    }
    let positives = l.iter().take_while(|&&x| x == 1).count();
    let total = l.len();
    let ok_layout = positives > 0 && total % positives == 0;
    rep.check(
        Check::RetrievalBlocks(split),
        ok_layout,
        format!("{split}: {positives} positives first, {total} rows in all"),
    );
    if !ok_layout {
        return;
    }
    let k = total / positives;
    if let Some(prev) = *candidate_n {
        rep.check(
            Check::CandidateN(split),
            prev == k,
            format!("{split}: candidate_n {k} equals the other split's {prev}"),
        );
    }
    *candidate_n = Some(k);
    let mut bad = None;
    'queries: for q in 0..positives {
        if lh[q] != h[q] {
            bad = Some(format!("positive row {q} has label_hadm_id {} ≠ hadm_id {}", lh[q], h[q]));
            break;
        }
        for r in positives + q * (k - 1)..positives + (q + 1) * (k - 1) {
            if l[r] != 0 || lh[r] != h[q] || h[r] == h[q] {
                bad = Some(format!("row {r} is not a negative of query {q} (hadm {})", h[q]));
                break 'queries;
            }
        }
    }
    rep.check(
        Check::RetrievalBlocks(split),
        bad.is_none(),
        format!(
            "{split}: every query has 1 positive and {} negatives{}",
            k - 1,
            bad.map(|b| format!(": {b}")).unwrap_or_default()
        ),
    );
    if let Some(v) = val.filter(|_| split == Split::ValRetrieval) {
        rep.check(
            Check::ValPositives,
            v.hadm[..] == h[..positives],
            format!("{split}: positives are val.csv's rows in order"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn published_findings(rep: &VerifyReport) -> Vec<&crate::Finding> {
        rep.findings().iter().filter(|f| matches!(f.check, Check::Published(_))).collect()
    }

    #[test]
    fn a_variant_fails_the_published_contract_once_saying_why() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join(RECIPE_FILE),
            "[cohort]\ncxr_window_hours = [12, 96]\n\n[tensors]\nformat = \"npy\"\n",
        )
        .unwrap();
        let mut rep = VerifyReport::default();
        check_contract(d.path(), true, &mut rep).unwrap();
        let published = published_findings(&rep);
        assert_eq!(published.len(), 1, "{}", rep.text());
        assert_eq!(published[0].check, Check::Published("recipe"));
        assert!(!published[0].passed);
        assert_eq!(
            published[0].detail,
            "published: the recorded recipe (recipe.toml) differs from the published one in \
             cohort.cxr_window_hours, so the published contract does not apply"
        );
        // Without expect_published the recipe is not held against the release.
        let mut rep = VerifyReport::default();
        check_contract(d.path(), false, &mut rep).unwrap();
        assert!(published_findings(&rep).is_empty());
    }

    #[test]
    fn the_published_recipe_is_held_to_the_frozen_counts() {
        let d = tempfile::tempdir().unwrap();
        // The format is packaging, not a difference of the data.
        std::fs::write(d.path().join(RECIPE_FILE), "[tensors]\nformat = \"npy\"\n").unwrap();
        let mut rep = VerifyReport::default();
        check_contract(d.path(), true, &mut rep).unwrap();
        let checks: Vec<Check> = published_findings(&rep).iter().map(|f| f.check).collect();
        assert!(checks.contains(&Check::Published("train has 10,000 rows")), "{checks:?}");
        assert!(!checks.contains(&Check::Published("recipe")));
    }
}
