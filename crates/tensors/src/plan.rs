//! Reading a split CSV into a plan of work, before any output file exists.
//!
//! Everything that can be checked cheaply is checked here, for all four
//! splits, so that a bad input fails in seconds instead of after an hour of
//! decoding: columns, ids, labs, path safety, existence of every image and ECG
//! header, the shape of each split's first ECG record, and (train) the
//! resized size of every image, read from its JPEG header, from which the
//! random crop offsets are drawn in row order.
//!
//! A plan holds per-row ids and labs (a few hundred bytes per row, 13 MB for
//! the 23k rows of the real dataset); tensor data is never held per row.
//! Rows are grouped by `cxr_path` and by `ecg_path` in first-appearance order
//! because retrieval splits repeat each query's image and record
//! `candidate_n` times: each group is decoded once and copied to its rows.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use cxr_prep::CropSampler;
use dataset_layout::Split;
use mimic_io::paths::safe_join;
use mimic_io::table::TableReader;
use pyfmt::pandas::is_na;

use crate::TensorsConfig;
use crate::error::TensorsError;
use crate::labs::LabsMeans;

/// Rows sharing one image or one ECG record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Group {
    /// The value in the CSV (relative path).
    pub rel: String,
    /// `rel` joined under its data root.
    pub path: PathBuf,
    /// CSV line of the first row using it (header = line 1).
    pub line: u64,
    /// Row indices, ascending.
    pub rows: Vec<u32>,
}

/// Collects groups in first-appearance order.
#[derive(Debug, Default)]
pub(crate) struct Grouper {
    index: HashMap<String, usize>,
    groups: Vec<Group>,
}

impl Grouper {
    /// Adds `row` to the group of `rel`, creating it on first sight.
    pub fn add(&mut self, rel: &str, path: impl FnOnce() -> PathBuf, line: u64, row: u32) {
        match self.index.get(rel) {
            Some(&g) => self.groups[g].rows.push(row),
            None => {
                self.index.insert(rel.to_string(), self.groups.len());
                self.groups.push(Group { rel: rel.to_string(), path: path(), line, rows: vec![row] });
            }
        }
    }

    /// The groups, in first-appearance order.
    pub fn into_groups(self) -> Vec<Group> {
        self.groups
    }
}

/// One split, read and checked.
#[derive(Debug)]
pub(crate) struct SplitPlan {
    /// Which split.
    pub name: Split,
    /// The CSV it was read from.
    pub csv: PathBuf,
    /// Number of rows.
    pub rows: usize,
    pub hadm_id: Vec<i64>,
    /// Empty unless [`Split::has_labels`].
    pub label_hadm_id: Vec<i64>,
    /// Empty unless [`Split::has_labels`].
    pub label: Vec<i64>,
    /// `rows × 50`, keys in sorted order.
    pub labs_percentiles: Vec<f32>,
    /// `rows × 50`, 1 = observed.
    pub labs_missingness: Vec<i64>,
    pub cxr_groups: Vec<Group>,
    pub ecg_groups: Vec<Group>,
    /// Train only: per row `(top, left)` crop offsets.
    pub crops: Option<Vec<(u32, u32)>>,
    /// Train only: per CXR group the size `(width, height)` after resizing.
    pub resized: Vec<(u32, u32)>,
    /// `(samples, leads)` of the first row's ECG record.
    pub ecg_shape: (usize, usize),
}

/// Reads one split CSV (ids, labs, groups); no image or record is opened.
pub(crate) fn read_split(
    name: Split,
    csv: &Path,
    cfg: &TensorsConfig,
    labs: &LabsMeans,
) -> Result<SplitPlan, TensorsError> {
    let mut t = TableReader::open(csv)?;
    let labels = name.has_labels();
    let mut base = vec!["hadm_id", "cxr_path", "ecg_path"];
    if labels {
        base.extend(["label_hadm_id", "label"]);
    }
    let raw_names = labs.raw_columns();
    let mut wanted: Vec<&str> = base.clone();
    wanted.extend(raw_names.iter().map(String::as_str));
    wanted.extend(labs.keys.iter().map(String::as_str));
    // One call so that every missing column is listed at once.
    let cols = t.require(&wanted)?;
    let (base_cols, lab_cols) = cols.split_at(base.len());
    let (raw_cols, pct_cols) = lab_cols.split_at(raw_names.len());
    let (c_hadm, c_cxr, c_ecg) = (base_cols[0], base_cols[1], base_cols[2]);

    let n_labs = labs.keys.len();
    let mut plan = SplitPlan {
        name,
        csv: csv.to_path_buf(),
        rows: 0,
        hadm_id: Vec::new(),
        label_hadm_id: Vec::new(),
        label: Vec::new(),
        labs_percentiles: Vec::new(),
        labs_missingness: Vec::new(),
        cxr_groups: Vec::new(),
        ecg_groups: Vec::new(),
        crops: None,
        resized: Vec::new(),
        ecg_shape: (0, 0),
    };
    let (mut cxr, mut ecg) = (Grouper::default(), Grouper::default());
    let mut rec = csv::ByteRecord::new();
    let mut row: u32 = 0;
    while t.next_record(&mut rec)? {
        let line = t.line();
        plan.hadm_id.push(t.parse_i64(&rec, c_hadm)?);
        if labels {
            plan.label_hadm_id.push(t.parse_i64(&rec, base_cols[3])?);
            plan.label.push(t.parse_i64(&rec, base_cols[4])?);
        }
        for (col, root, grouper, what) in
            [(c_cxr, &cfg.cxr_dir, &mut cxr, "a CXR path"), (c_ecg, &cfg.ecg_dir, &mut ecg, "an ECG path")]
        {
            let v = rec.get(col).unwrap_or_default();
            if is_na(v) {
                return Err(t.field_error(col, v, what).into());
            }
            let rel = std::str::from_utf8(v).map_err(|_| t.field_error(col, v, "a UTF-8 path"))?;
            let path = safe_join(root, rel, csv, line)?;
            grouper.add(rel, || path, line, row);
        }
        let start = plan.labs_percentiles.len();
        plan.labs_percentiles.resize(start + n_labs, 0.0);
        plan.labs_missingness.resize(start + n_labs, 0);
        labs.fill_row(
            &rec,
            raw_cols,
            pct_cols,
            &mut plan.labs_percentiles[start..],
            &mut plan.labs_missingness[start..],
        )
        .map_err(|(col, v)| t.field_error(col, v, "a percentile (number) or an empty field"))?;
        row = row.checked_add(1).ok_or_else(|| t.invalid("more than 4 billion rows"))?;
    }
    plan.rows = row as usize;
    if plan.rows == 0 {
        return Err(TensorsError::EmptySplit { table: csv.to_path_buf() });
    }
    plan.cxr_groups = cxr.into_groups();
    plan.ecg_groups = ecg.into_groups();
    Ok(plan)
}

/// `<record>.hea` of a record path given without extension.
pub(crate) fn header_path(record: &Path) -> PathBuf {
    let mut s = record.as_os_str().to_owned();
    s.push(".hea");
    PathBuf::from(s)
}

/// Checks that every image and ECG header exists, reads the first ECG
/// record's shape, and for train draws the crop offsets in row order.
pub(crate) fn check_inputs(
    plan: &mut SplitPlan,
    cfg: &TensorsConfig,
    sampler: Option<&mut CropSampler>,
) -> Result<(), TensorsError> {
    for g in &plan.cxr_groups {
        if !g.path.is_file() {
            return Err(missing(plan, g, "image", g.path.clone()));
        }
    }
    for g in &plan.ecg_groups {
        let hea = header_path(&g.path);
        if !hea.is_file() {
            return Err(missing(plan, g, "ECG header", hea));
        }
    }
    let first = &plan.ecg_groups[0];
    let ecg = ecg_prep::load(&first.path).map_err(|source| TensorsError::Ecg {
        table: plan.csv.clone(),
        line: first.line,
        source: Box::new(source),
    })?;
    plan.ecg_shape = (ecg.samples, ecg.leads);

    if let Some(sampler) = sampler {
        let mut resized = Vec::with_capacity(plan.cxr_groups.len());
        let mut group_of_row = vec![0u32; plan.rows];
        for (gi, g) in plan.cxr_groups.iter().enumerate() {
            let (w, h) = cxr_prep::jpeg_dimensions(&g.path).map_err(|source| TensorsError::Cxr {
                table: plan.csv.clone(),
                line: g.line,
                source,
            })?;
            resized.push(cxr_prep::resized_size(w, h, cfg.recipe.tensors.cxr_scale));
            for &r in &g.rows {
                group_of_row[r as usize] = gi as u32;
            }
        }
        // Offsets are drawn strictly in row order: the torch replay consumes
        // the generator row by row, as the reference's loop did.
        let crops = group_of_row
            .iter()
            .enumerate()
            .map(|(r, &gi)| {
                let (w, h) = resized[gi as usize];
                sampler.offsets(r as u64, w, h, cfg.recipe.tensors.cxr_crop)
            })
            .collect();
        plan.resized = resized;
        plan.crops = Some(crops);
    }
    Ok(())
}

fn missing(plan: &SplitPlan, g: &Group, what: &'static str, path: PathBuf) -> TensorsError {
    TensorsError::MissingInput { table: plan.csv.clone(), line: g.line, what, path }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_keep_first_appearance_order_and_rows() {
        let mut g = Grouper::default();
        for (row, rel) in ["b", "a", "b", "c", "a", "b"].iter().enumerate() {
            g.add(rel, || PathBuf::from(format!("/r/{rel}")), row as u64 + 2, row as u32);
        }
        let groups = g.into_groups();
        let summary: Vec<(&str, u64, Vec<u32>)> =
            groups.iter().map(|g| (g.rel.as_str(), g.line, g.rows.clone())).collect();
        assert_eq!(summary, vec![("b", 2, vec![0, 2, 5]), ("a", 3, vec![1, 4]), ("c", 5, vec![3])]);
        assert_eq!(groups[1].path, PathBuf::from("/r/a"));
    }

    #[test]
    fn header_path_appends_without_replacing_an_extension() {
        assert_eq!(header_path(Path::new("/e/files/p1/s2/40012345")), PathBuf::from("/e/files/p1/s2/40012345.hea"));
        assert_eq!(header_path(Path::new("/e/rec.v2")), PathBuf::from("/e/rec.v2.hea"));
    }

    /// A split CSV with the given `(cxr_path, ecg_path, lab 50802 value)` rows;
    /// every other lab is missing. Returns the config and labs means.
    fn fixture(dir: &Path, file: &str, labels: bool, rows: &[(&str, &str, &str)]) -> (TensorsConfig, LabsMeans) {
        let mut pairs: Vec<(String, f64)> = mimic_io::layout::LABS
            .iter()
            .enumerate()
            .map(|(i, id)| (format!("{id}_percentile"), i as f64 / 100.0))
            .collect();
        pairs.sort_by(|x, y| x.0.cmp(&y.0));
        let (keys, means) = pairs.into_iter().unzip();
        let labs = LabsMeans { keys, means };
        let mut header = vec!["subject_id".to_string(), "hadm_id".into(), "cxr_path".into(), "ecg_path".into()];
        header.extend(mimic_io::layout::LABS.iter().map(|id| id.to_string()));
        header.extend(mimic_io::layout::LABS.iter().map(|id| format!("{id}_percentile")));
        if labels {
            header.extend(["label_hadm_id".into(), "label".into()]);
        }
        let mut text = header.join(",") + "\n";
        for (i, (cxr, ecg, lab)) in rows.iter().enumerate() {
            let mut fields = vec!["1".to_string(), format!("{}", 100 + i), cxr.to_string(), ecg.to_string()];
            for id in mimic_io::layout::LABS {
                fields.push(if id == 50802 { lab.to_string() } else { String::new() });
            }
            for id in mimic_io::layout::LABS {
                fields.push(if id == 50802 && !lab.is_empty() { "0.625".into() } else { String::new() });
            }
            if labels {
                fields.extend(["100".into(), format!("{}", i32::from(i == 0))]);
            }
            text += &(fields.join(",") + "\n");
        }
        std::fs::write(dir.join(file), text).unwrap();
        (TensorsConfig::new(dir, "/ecg", "/cxr"), labs)
    }

    #[test]
    fn a_split_csv_becomes_ids_labs_and_groups() {
        let dir = tempfile::tempdir().unwrap();
        let rows = [("a.jpg", "e/1", "7.1"), ("b.jpg", "e/2", ""), ("a.jpg", "e/1", "-3")];
        let (cfg, labs) = fixture(dir.path(), "test.csv", true, &rows);
        let plan = read_split(Split::Test, &dir.path().join("test.csv"), &cfg, &labs).unwrap();
        assert_eq!(plan.rows, 3);
        assert_eq!(plan.hadm_id, [100, 101, 102]);
        assert_eq!(plan.label_hadm_id, [100, 100, 100]);
        assert_eq!(plan.label, [1, 0, 0]);
        let groups: Vec<(&str, PathBuf, u64, Vec<u32>)> =
            plan.cxr_groups.iter().map(|g| (g.rel.as_str(), g.path.clone(), g.line, g.rows.clone())).collect();
        assert_eq!(
            groups,
            vec![
                ("a.jpg", PathBuf::from("/cxr/a.jpg"), 2, vec![0, 2]),
                ("b.jpg", PathBuf::from("/cxr/b.jpg"), 3, vec![1])
            ]
        );
        assert_eq!(plan.ecg_groups[1].path, PathBuf::from("/ecg/e/2"));
        // 50802_percentile sorts first: observed rows take the CSV percentile,
        // the missing row the mean (LABS index 39 → 0.39).
        let first: Vec<(f32, i64)> =
            (0..3).map(|r| (plan.labs_percentiles[r * 50], plan.labs_missingness[r * 50])).collect();
        assert_eq!(first, vec![(0.625, 1), (0.39f64 as f32, 0), (0.625, 1)]);
        // every other lab is missing in every row
        assert!(plan.labs_missingness.iter().filter(|&&m| m == 1).count() == 2);
    }

    #[test]
    fn bad_split_csvs_are_named_errors() {
        let dir = tempfile::tempdir().unwrap();
        let (cfg, labs) = fixture(dir.path(), "val.csv", false, &[]);
        let err = read_split(Split::Val, &dir.path().join("val.csv"), &cfg, &labs).unwrap_err();
        assert!(matches!(err, TensorsError::EmptySplit { .. }), "{err}");

        // retrieval splits need the label columns
        let (cfg, labs) = fixture(dir.path(), "test.csv", false, &[("a.jpg", "e/1", "")]);
        let msg = read_split(Split::Test, &dir.path().join("test.csv"), &cfg, &labs).unwrap_err().to_string();
        assert!(msg.contains("test.csv") && msg.contains("\"label_hadm_id\"") && msg.contains("\"label\""), "{msg}");

        let (cfg, labs) = fixture(dir.path(), "val.csv", false, &[("a.jpg", "e/1", ""), ("/etc/x.jpg", "e/1", "")]);
        let msg = read_split(Split::Val, &dir.path().join("val.csv"), &cfg, &labs).unwrap_err().to_string();
        assert!(msg.contains("val.csv:3") && msg.contains("/etc/x.jpg"), "{msg}");

        let (cfg, labs) = fixture(dir.path(), "val.csv", false, &[("a.jpg", "", "")]);
        let msg = read_split(Split::Val, &dir.path().join("val.csv"), &cfg, &labs).unwrap_err().to_string();
        assert!(msg.contains("val.csv:2") && msg.contains("ecg_path"), "{msg}");
    }
}
