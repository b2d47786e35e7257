//! The outcome of a verification: one [`Finding`] per check, typed by what
//! was checked, with the words that say which file and row broke the rule.

use std::fmt;

use dataset_layout::{Split, Tensor};
use serde::ser::SerializeStruct;

/// What a check looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// No commit left pending by an interrupted run.
    NoPendingCommit,
    /// No other run holds the directory.
    NotBeingWritten,
    /// `SHA256SUMS.txt` is readable.
    SumsReadable,
    /// Every file `SHA256SUMS.txt` lists hashes to its entry.
    Checksums,
    /// The files agree with another build's checksum list.
    Against,
    /// `croissant.json`'s files and digests agree with `SHA256SUMS.txt`.
    Croissant,
    /// The recorded recipe is readable and listed in `SHA256SUMS.txt`.
    Recipe,
    /// A split CSV is readable.
    CsvReadable(Split),
    /// `labs_means.json` is there and has the recipe's keys.
    LabsMeans,
    /// `metadata.json` states the split's row count.
    MetadataSize(Split),
    /// `metadata.json` states the recipe's image sizes.
    MetadataImage,
    /// The tensor file exists and its header is sound.
    TensorReadable(Split, Tensor),
    /// The tensor has a row per CSV row.
    TensorRows(Split, Tensor),
    /// Its dtype and shape are the layout's for the recipe.
    TensorShape(Split, Tensor),
    /// Its values are in range.
    TensorValues(Split, Tensor),
    /// Its ids equal the CSV's column.
    TensorIds(Split, Tensor),
    /// The retrieval split's rows form blocks of one positive and its negatives.
    RetrievalBlocks(Split),
    /// Blocks of the recipe's `candidate_n`.
    CandidateN(Split),
    /// `val_retrieval`'s positives are `val.csv`'s rows.
    ValPositives,
    /// The split has the recipe's size.
    SplitSize(Split),
    /// Two splits share no subject / admission.
    Disjoint(&'static str, Split, Split),
    /// One of the published release's frozen counts.
    Published(&'static str),
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Check::NoPendingCommit => f.write_str("no-pending-commit"),
            Check::NotBeingWritten => f.write_str("not-being-written"),
            Check::SumsReadable => f.write_str("sums-readable"),
            Check::Checksums => f.write_str("checksums"),
            Check::Against => f.write_str("against"),
            Check::Croissant => f.write_str("croissant"),
            Check::Recipe => f.write_str("recipe"),
            Check::CsvReadable(s) => write!(f, "csv-readable:{s}"),
            Check::LabsMeans => f.write_str("labs-means"),
            Check::MetadataSize(s) => write!(f, "metadata-size:{s}"),
            Check::MetadataImage => f.write_str("metadata-image"),
            Check::TensorReadable(s, t) => write!(f, "tensor-readable:{}", t.stem(*s)),
            Check::TensorRows(s, t) => write!(f, "tensor-rows:{}", t.stem(*s)),
            Check::TensorShape(s, t) => write!(f, "tensor-shape:{}", t.stem(*s)),
            Check::TensorValues(s, t) => write!(f, "tensor-values:{}", t.stem(*s)),
            Check::TensorIds(s, t) => write!(f, "tensor-ids:{}", t.stem(*s)),
            Check::RetrievalBlocks(s) => write!(f, "retrieval-blocks:{s}"),
            Check::CandidateN(s) => write!(f, "candidate-n:{s}"),
            Check::ValPositives => f.write_str("val-positives"),
            Check::SplitSize(s) => write!(f, "split-size:{s}"),
            Check::Disjoint(col, a, b) => write!(f, "disjoint:{col}:{a}:{b}"),
            Check::Published(what) => write!(f, "published:{what}"),
        }
    }
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What was checked.
    pub check: Check,
    /// Whether it held.
    pub passed: bool,
    /// What was found, naming the file and row.
    pub detail: String,
}

impl serde::Serialize for Finding {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Finding", 3)?;
        st.serialize_field("check", &self.check.to_string())?;
        st.serialize_field("passed", &self.passed)?;
        st.serialize_field("detail", &self.detail)?;
        st.end()
    }
}

/// The outcome of a verification.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    findings: Vec<Finding>,
}

impl serde::Serialize for VerifyReport {
    /// `{"passed": [detail…], "failed": [detail…], "checks": [{"check", "passed", "detail"}…]}`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("VerifyReport", 3)?;
        st.serialize_field("passed", &self.passed())?;
        st.serialize_field("failed", &self.failed())?;
        st.serialize_field("checks", &self.findings)?;
        st.end()
    }
}

impl VerifyReport {
    /// Records a check.
    pub fn check(&mut self, check: Check, passed: bool, detail: impl Into<String>) {
        self.findings.push(Finding { check, passed, detail: detail.into() });
    }
    /// Every finding, in the order checked.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }
    /// True when nothing failed.
    pub fn ok(&self) -> bool {
        self.findings.iter().all(|f| f.passed)
    }
    /// Number of failed checks.
    pub fn failures(&self) -> usize {
        self.findings.iter().filter(|f| !f.passed).count()
    }
    /// The failed checks' details.
    pub fn failed(&self) -> Vec<&str> {
        self.findings.iter().filter(|f| !f.passed).map(|f| f.detail.as_str()).collect()
    }
    /// The passed checks' details.
    pub fn passed(&self) -> Vec<&str> {
        self.findings.iter().filter(|f| f.passed).map(|f| f.detail.as_str()).collect()
    }
    /// The failed findings of a kind.
    pub fn failed_of(&self, check: Check) -> Vec<&Finding> {
        self.findings.iter().filter(|f| !f.passed && f.check == check).collect()
    }
    /// A readable report.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for f in self.findings.iter().filter(|f| !f.passed) {
            s.push_str(&format!("FAIL {}\n", f.detail));
        }
        s.push_str(&format!("{} checks passed, {} failed", self.findings.len() - self.failures(), self.failures()));
        s
    }
}
