//! What a run did, for the CLI to print and log.

use serde::Serialize;

/// One split's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SplitReport {
    /// `train`, `val`, `val_retrieval` or `test`.
    pub split: String,
    /// Rows written to every tensor of the split.
    pub rows: usize,
    /// Distinct images decoded and resized (each once).
    pub unique_images: usize,
    /// Distinct ECG records read (each once).
    pub unique_ecgs: usize,
    /// `(samples, leads)` of the split's ECG records.
    pub ecg_shape: (usize, usize),
    /// ECG records (CSV `ecg_path`) whose signal is flat (max = min): their
    /// rows are NaN, as in the reference.
    pub flat_ecg_records: Vec<String>,
    /// ECG records with NaN samples: their rows are NaN, as in the reference.
    pub nan_ecg_records: Vec<String>,
    /// Rows whose ECG tensor is NaN (flat or NaN records, counted per row).
    pub nan_ecg_rows: usize,
    /// The tensor files written.
    pub files: Vec<String>,
    /// Wall time of the split (decode, resize, write), in seconds: shared
    /// with the split written together with it, if any.
    pub seconds: f64,
    /// The splits written at the same time as this one (their rows
    /// advancing together).
    pub written_with: Vec<String>,
}

/// The outcome of [`crate::run`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TensorsReport {
    /// Per split, in processing order.
    pub splits: Vec<SplitReport>,
    /// Path of `metadata.json`.
    pub metadata: String,
    /// Temporary files of an earlier, killed run that were removed.
    pub stale_temps_removed: Vec<String>,
    /// Time spent reading and checking the inputs before writing, in seconds.
    pub check_seconds: f64,
    /// Seconds spent completing the files once every row was written: the
    /// last chunks written and hashed, and fsynced (the rest of the writing
    /// and hashing overlaps the decoding).
    pub finish_seconds: f64,
    /// Bytes of all files written (checked against the free space first).
    pub output_bytes: u64,
    /// Total wall time, in seconds.
    pub total_seconds: f64,
}

impl TensorsReport {
    /// Names of the ECG records that normalise to NaN (flat or NaN), over all
    /// splits, each once per split it appears in.
    pub fn bad_ecg_records(&self) -> Vec<String> {
        self.splits.iter().flat_map(|s| s.flat_ecg_records.iter().chain(&s.nan_ecg_records).cloned()).collect()
    }

    /// A short human-readable summary, one line per split.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        for s in &self.splits {
            // Splits written together share their time: the rate is theirs.
            let with: Vec<&SplitReport> =
                s.written_with.iter().filter_map(|w| self.splits.iter().find(|o| &o.split == w)).collect();
            let images = s.unique_images + with.iter().map(|o| o.unique_images).sum::<usize>();
            let rate = if s.seconds > 0.0 { images as f64 / s.seconds } else { 0.0 };
            out.push_str(&format!(
                "{:<13} {:>7} rows, {:>7} images, {:>7} ECGs decoded in {:.2} s",
                s.split, s.rows, s.unique_images, s.unique_ecgs, s.seconds
            ));
            if with.is_empty() {
                out.push_str(&format!(" ({rate:.1} images/s)"));
            } else {
                let names: Vec<&str> = with.iter().map(|o| o.split.as_str()).collect();
                out.push_str(&format!(" with {} ({rate:.1} images/s together)", names.join(", ")));
            }
            let bad = s.flat_ecg_records.len() + s.nan_ecg_records.len();
            if bad > 0 {
                out.push_str(&format!(
                    "; {bad} ECG record(s) are NaN after normalisation ({} flat, {} with NaN samples, {} rows)",
                    s.flat_ecg_records.len(),
                    s.nan_ecg_records.len(),
                    s.nan_ecg_rows
                ));
            }
            out.push('\n');
        }
        if !self.stale_temps_removed.is_empty() {
            out.push_str(&format!(
                "removed {} temporary file(s) left by an interrupted run\n",
                self.stale_temps_removed.len()
            ));
        }
        out.push_str(&format!(
            "wrote {} ({}) in {:.2} s ({:.2} s checking inputs, {:.2} s finishing files)\n",
            self.metadata,
            durable::human_bytes(self.output_bytes),
            self.total_seconds,
            self.check_seconds,
            self.finish_seconds
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run's report of `splits`, with fixed totals.
    fn report(splits: Vec<SplitReport>) -> TensorsReport {
        TensorsReport {
            splits,
            metadata: "/d/metadata.json".into(),
            stale_temps_removed: vec![],
            check_seconds: 0.5,
            finish_seconds: 0.25,
            output_bytes: 2_000_000,
            total_seconds: 3.0,
        }
    }

    #[test]
    fn summary_mentions_bad_ecgs_and_totals() {
        let s = SplitReport {
            split: "test".into(),
            rows: 12,
            unique_images: 4,
            unique_ecgs: 4,
            ecg_shape: (5000, 12),
            flat_ecg_records: vec!["files/p1/s2/2".into()],
            nan_ecg_records: vec![],
            nan_ecg_rows: 3,
            files: vec![],
            seconds: 2.0,
            written_with: vec![],
        };
        let (mut a, mut b) = (s.clone(), s.clone());
        (a.split, a.written_with, a.flat_ecg_records) = ("train".into(), vec!["val".into()], vec![]);
        (b.split, b.written_with, b.flat_ecg_records, b.unique_images) =
            ("val".into(), vec!["train".into()], vec![], 2);
        let pair = report(vec![a, b]).summary();
        assert!(pair.contains("decoded in 2.00 s with val (3.0 images/s together)"), "{pair}");
        assert!(pair.contains("decoded in 2.00 s with train (3.0 images/s together)"), "{pair}");
        let r = report(vec![s]);
        let text = r.summary();
        assert!(text.contains("12 rows") && text.contains("(2.0 images/s)"), "{text}");
        assert!(
            text.contains("1 ECG record(s) are NaN") && text.contains("1 flat") && text.contains("3 rows"),
            "{text}"
        );
        assert!(
            text.contains("wrote /d/metadata.json (2.0 MB) in 3.00 s (0.50 s checking inputs, 0.25 s finishing files)"),
            "{text}"
        );
        assert_eq!(r.bad_ecg_records(), vec!["files/p1/s2/2".to_string()]);
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["splits"][0]["flat_ecg_records"][0], "files/p1/s2/2");
    }
}
