//! What stage 1 must conclude for an admission, from the generator's own
//! knowledge of the rows it wrote (no file is read back).
//!
//! This is the expectation tests assert the cohort against. It works on one
//! subject at a time, which is enough: every stage-1 rule looks only at the
//! admission's subject.

use std::collections::BTreeMap;

use mimic_io::time::HOUR;

use crate::catalog::{ITEMS, N_TOP};
use crate::model::{Admission, EcgKind, FileState, Subject};

/// numpy's quicksort is an insertion sort (stable) up to this many elements;
/// with more candidates a tie at the minimum has no file-order guarantee.
pub(crate) const STABLE_SORT_MAX: usize = 16;

/// The expected stage-1 outcome of one admission.
#[derive(Debug, Clone)]
pub(crate) struct Expect {
    pub cxr: Option<usize>,
    pub cxr_candidates: usize,
    pub cxr_has_chexpert: bool,
    pub ecg: Option<usize>,
    pub ecg_candidates: usize,
    /// Per itemid (as in LABS) the index of the chosen lab row.
    pub labs: BTreeMap<u32, usize>,
    /// A tie at the minimum among more than [`STABLE_SORT_MAX`] candidates.
    pub ambiguous: bool,
}

impl Expect {
    pub(crate) fn survives(&self) -> bool {
        self.cxr.is_some() && self.cxr_has_chexpert && self.ecg.is_some() && !self.labs.is_empty()
    }

    /// Why the admission is dropped (empty when it survives).
    pub(crate) fn dropped_by(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.cxr.is_none() {
            out.push("cxr".to_string());
        } else if !self.cxr_has_chexpert {
            out.push("chexpert".to_string());
        }
        if self.ecg.is_none() {
            out.push("ecg".to_string());
        }
        if self.labs.is_empty() {
            out.push("labs".to_string());
        }
        out
    }
}

/// Earliest by time, ties to the first in file order; also reports whether
/// that choice relies on a stable sort of more than 16 candidates.
fn earliest(cands: &[(i64, usize)]) -> (Option<usize>, bool) {
    let Some(&(tmin, _)) = cands.iter().min_by_key(|c| c.0) else {
        return (None, false);
    };
    let first = cands.iter().filter(|c| c.0 == tmin).map(|c| c.1).min();
    let ties = cands.iter().filter(|c| c.0 == tmin).count();
    (first, ties > 1 && cands.len() > STABLE_SORT_MAX)
}

pub(crate) fn expect(sub: &Subject, adm: &Admission) -> Expect {
    let a = adm.admit.0;
    // CXR: AP/PA, file on disk, 24 h < delta <= 72 h.
    let cxr: Vec<(i64, usize)> = sub
        .images
        .iter()
        .enumerate()
        .filter(|(_, im)| (im.view == "AP" || im.view == "PA") && im.file == FileState::Write)
        .map(|(i, im)| (sub.studies[im.study].time.0, i))
        .filter(|&(t, _)| t - a > 24 * HOUR && t - a <= 72 * HOUR)
        .collect();
    let (cxr_pick, amb_c) = earliest(&cxr);
    let cxr_has_chexpert = cxr_pick.is_some_and(|i| sub.studies[sub.images[i].study].chexpert.is_some());
    // ECG: valid, -24 h <= delta <= 24 h.
    let ecg: Vec<(i64, usize)> = sub
        .ecgs
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e.kind, EcgKind::Normal | EcgKind::Constant))
        .map(|(i, e)| (e.time.0, i))
        .filter(|&(t, _)| (t - a).abs() <= 24 * HOUR)
        .collect();
    let (ecg_pick, amb_e) = earliest(&ecg);
    // Labs: one of the 50, valuenum present, -24 h <= delta <= 24 h; per item
    // the earliest, ties to the first in file.
    let mut labs: BTreeMap<u32, (i64, usize)> = BTreeMap::new();
    for (i, l) in sub.labs.iter().enumerate() {
        if (l.item as usize) >= N_TOP || l.value.is_none() || (l.time.0 - a).abs() > 24 * HOUR {
            continue;
        }
        let itemid = ITEMS[l.item as usize].itemid;
        let e = labs.entry(itemid).or_insert((l.time.0, i));
        if l.time.0 < e.0 {
            *e = (l.time.0, i);
        }
    }
    Expect {
        cxr: cxr_pick,
        cxr_candidates: cxr.len(),
        cxr_has_chexpert,
        ecg: ecg_pick,
        ecg_candidates: ecg.len(),
        labs: labs.into_iter().map(|(k, v)| (k, v.1)).collect(),
        ambiguous: amb_c || amb_e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_prefers_file_order_on_ties() {
        assert_eq!(earliest(&[(5, 0), (3, 1), (3, 2)]), (Some(1), false));
        assert_eq!(earliest(&[]), (None, false));
        let many: Vec<(i64, usize)> = (0..17).map(|i| (if i < 2 { 0 } else { 1 }, i)).collect();
        assert_eq!(earliest(&many), (Some(0), true));
        assert_eq!(earliest(&many[..16]), (Some(0), false));
    }
}
