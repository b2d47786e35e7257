//! What the tables alone decide: the admissions that can reach the cohort.
//!
//! An admission is in the cohort when its chosen image (the first in-window
//! AP/PA image whose file exists) has CheXpert labels, it has a valid ECG in
//! its window and at least one of the recipe's labs (the published 50). Whether a file exists and
//! whether a record is valid are only known from the files; everything else
//! is in the tables. So an admission *can* reach the cohort, whatever the
//! files hold, when it has
//!
//! - an in-window image of a kept view whose study has a CheXpert row (were the
//!   images before it absent, that one would be chosen),
//! - a `record_list` row in its ECG window, and
//! - at least one of the recipe's labs in its lab window.
//!
//! Stage 1 looks at image and ECG files only for these admissions, and the
//! download plan fetches exactly the files stage 1 can look at: both are
//! computed here, once, so they cannot drift apart. The lab table is read in
//! one pass, for the admissions that pass the first two tests.

use std::path::Path;

use progress::Progress;

use crate::CohortError;
use crate::admissions::Admissions;
use crate::cxr::Cxr;
use crate::ecg::Ecgs;
use crate::labs::{self, LabValues};

/// The table-only part of stage 1.
#[derive(Debug)]
pub(crate) struct Reach {
    /// Admissions with an image of a kept view listed in the CXR window.
    pub with_cxr_candidate: usize,
    /// … one of which belongs to a study with a CheXpert row.
    pub with_chexpert_candidate: usize,
    /// … and a `record_list` row in the ECG window: the lab scan's targets, in
    /// admissions order (lab slot `k` is `targets[k]`).
    pub targets: Vec<usize>,
    /// The lab values of the targets.
    pub labs: LabValues,
    /// `(admission, lab slot)` of the targets with at least one lab: the
    /// admissions that can reach the cohort, in admissions order.
    pub reach: Vec<(usize, usize)>,
    /// Every admission read has a `record_list` row in its ECG window. The
    /// dtype pandas gives `ecg_adm` then depends on the validity of *every*
    /// admission's records, so all of them may be opened.
    pub every_admission_has_ecg_candidate: bool,
}

impl Reach {
    /// The admissions that can reach the cohort, in admissions order.
    pub fn admissions(&self) -> Vec<usize> {
        self.reach.iter().map(|&(a, _)| a).collect()
    }
}

/// Applies the table-only tests to every admission and scans `labevents`
/// once for those that pass the image and ECG tests.
pub(crate) fn reach(
    hosp_dir: &Path,
    adm: &Admissions,
    cxr: &Cxr,
    ecgs: &Ecgs,
    rules: &recipe::CohortRecipe,
    progress: &dyn Progress,
) -> Result<Reach, CohortError> {
    let mut with_cxr_candidate = 0;
    let mut with_chexpert_candidate = 0;
    let mut targets = Vec::new();
    let mut every_admission_has_ecg_candidate = true;
    for a in 0..adm.len() {
        let has_ecg = !ecgs.candidates(adm.subject[a], adm.admit[a]).is_empty();
        every_admission_has_ecg_candidate &= has_ecg;
        let cands = cxr.candidates(adm.subject[a], adm.admit[a]);
        if cands.is_empty() {
            continue;
        }
        with_cxr_candidate += 1;
        if !cands.iter().any(|&r| cxr.chexpert_of(r).is_some()) {
            continue;
        }
        with_chexpert_candidate += 1;
        if has_ecg {
            targets.push(a);
        }
    }
    let labs = if targets.is_empty() {
        // Nothing to look up: the caller reports the empty cohort without reading the lab table.
        LabValues::empty(rules.labs.len())
    } else {
        labs::scan(hosp_dir, adm, &targets, rules, progress)?
    };
    let reach = targets
        .iter()
        .enumerate()
        .filter(|&(slot, _)| labs.of(slot).iter().any(Option::is_some))
        .map(|(slot, &a)| (a, slot))
        .collect();
    Ok(Reach { with_cxr_candidate, with_chexpert_candidate, targets, labs, reach, every_admission_has_ecg_candidate })
}
