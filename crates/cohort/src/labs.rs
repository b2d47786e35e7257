//! Stage 1.4: the earliest value of each of the recipe's labs (the published
//! 50) in its window around admission (the published ±24 h).
//!
//! `labevents.csv.gz` (~118 M rows) is read in one streaming pass, only ever
//! holding the current record. Rows of subjects that can still be in the
//! cohort are matched, through a binary search over that subject's
//! admission times, against every target admission whose window contains the
//! charttime, and fold into a per-admission `[(time, value); labs]` table with
//! a strict `<` on time. Rows arrive in file order, so a tie keeps the first
//! row in the file, which is what the reference's loop over `labevent_id`s
//! (in file order, strict `<`) does. Memory is one slot per lab per target
//! admission, whatever the size of the lab table.

use std::collections::HashMap;
use std::path::Path;

use mimic_io::Timestamp;
use mimic_io::table::{TableReader, parse_i64_bytes};
use progress::Progress;

use crate::CohortError;
use crate::admissions::Admissions;

/// A fixed-seed fast hasher: ids are not attacker-chosen and the map is never iterated.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// Lab values per target admission.
#[derive(Debug)]
pub(crate) struct LabValues {
    /// Labs per admission (the recipe's list).
    pub labs: usize,
    /// `values[slot * labs + lab]` (the recipe's order), `None` when absent.
    pub values: Vec<Option<f64>>,
    /// Rows of `labevents.csv.gz`.
    pub rows: u64,
    /// Rows that fell in the window of at least one target admission.
    pub rows_in_window: u64,
}

impl LabValues {
    /// No admission, no lab (nothing to look up).
    pub fn empty(labs: usize) -> Self {
        Self { labs, values: Vec::new(), rows: 0, rows_in_window: 0 }
    }

    /// The lab values of target slot `slot`, in the recipe's order.
    pub fn of(&self, slot: usize) -> &[Option<f64>] {
        &self.values[slot * self.labs..(slot + 1) * self.labs]
    }
}

/// The position of an itemid in the recipe's lab list: a dense table over
/// the itemids' range when it is small (MIMIC's lab itemids are five-digit
/// numbers, so any list of them is), else a hash map.
#[derive(Debug)]
enum LabIndex {
    Dense { lo: i64, slots: Vec<u16> },
    Sparse(FastMap<i64, u16>),
}

impl LabIndex {
    const NONE: u16 = u16::MAX;

    fn new(labs: &[u32]) -> Self {
        let lo = labs.iter().copied().min().map_or(0, i64::from);
        let hi = labs.iter().copied().max().map_or(0, i64::from);
        if hi - lo < 1 << 20 {
            let mut slots = vec![Self::NONE; (hi - lo + 1) as usize];
            for (i, &l) in labs.iter().enumerate() {
                slots[(i64::from(l) - lo) as usize] = i as u16;
            }
            LabIndex::Dense { lo, slots }
        } else {
            LabIndex::Sparse(labs.iter().enumerate().map(|(i, &l)| (i64::from(l), i as u16)).collect())
        }
    }

    /// The lab's position, if `itemid` is one of the recipe's labs.
    fn get(&self, itemid: i64) -> Option<usize> {
        let slot = match self {
            LabIndex::Dense { lo, slots } => match itemid.checked_sub(*lo) {
                Some(off) if (off as u64) < slots.len() as u64 => slots[off as usize],
                _ => Self::NONE,
            },
            LabIndex::Sparse(map) => map.get(&itemid).copied().unwrap_or(Self::NONE),
        };
        (slot != Self::NONE).then_some(slot as usize)
    }
}

/// Scans `labevents.csv.gz` for the admissions in `which` (slot `k` is
/// `which[k]`), keeping the rules' labs in the rules' window.
pub(crate) fn scan(
    hosp_dir: &Path,
    adm: &Admissions,
    which: &[usize],
    rules: &recipe::CohortRecipe,
    progress: &dyn Progress,
) -> Result<LabValues, CohortError> {
    let path = hosp_dir.join(mimic_io::layout::LABEVENTS);
    // Targets sorted by (subject, admittime); one range per subject.
    let mut targets: Vec<(i64, i64, u32)> =
        which.iter().enumerate().map(|(k, &a)| (adm.subject[a], adm.admit[a].0, k as u32)).collect();
    targets.sort_unstable();
    let mut by_subject: FastMap<i64, (u32, u32)> = FastMap::default();
    let mut start = 0;
    while start < targets.len() {
        let mut end = start;
        while end < targets.len() && targets[end].0 == targets[start].0 {
            end += 1;
        }
        by_subject.insert(targets[start].0, (start as u32, end as u32));
        start = end;
    }
    let index = LabIndex::new(&rules.labs);
    let n_labs = rules.labs.len();
    let window = rules.labs_window_hours;
    let mut best_time = vec![i64::MAX; which.len() * n_labs];
    let mut values: Vec<Option<f64>> = vec![None; which.len() * n_labs];

    let mut t = TableReader::open(&path)?;
    let c = t.require(&["labevent_id", "subject_id", "itemid", "charttime", "valuenum"])?;
    let [c_subj, c_item, c_time, c_val] = [c[1], c[2], c[3], c[4]];
    progress.start("labevents", None);
    let mut rec = csv::ByteRecord::new();
    let (mut rows, mut in_window) = (0u64, 0u64);
    while t.next_record(&mut rec)? {
        rows += 1;
        if rows & 0xFFFF == 0 {
            progress.inc(0x10000);
            if progress.cancelled() {
                return Err(CohortError::Cancelled);
            }
        }
        let sb = rec.get(c_subj).unwrap_or_default();
        let subject = parse_i64_bytes(sb).ok_or_else(|| t.field_error(c_subj, sb, "an integer"))?;
        let Some(&(s, e)) = by_subject.get(&subject) else { continue };
        let ib = rec.get(c_item).unwrap_or_default();
        let itemid = parse_i64_bytes(ib).ok_or_else(|| t.field_error(c_item, ib, "an integer"))?;
        let Some(lab) = index.get(itemid) else { continue };
        let Some(value) = t.parse_opt_f64(&rec, c_val)? else { continue };
        // A missing charttime is NaT in the reference: never inside a window.
        let Some(time) = t.parse_opt_time(&rec, c_time)? else { continue };
        let time: Timestamp = time;
        let span = &targets[s as usize..e as usize];
        // Admissions with lo ≤ charttime − admittime ≤ hi: admittime in [t − hi, t − lo].
        let first = span.partition_point(|x| x.1 < time.0 - window.hi);
        let mut hit = false;
        for x in &span[first..] {
            if x.1 > time.0 - window.lo {
                break;
            }
            hit = true;
            let k = x.2 as usize * n_labs + lab;
            if time.0 < best_time[k] {
                best_time[k] = time.0;
                values[k] = Some(value);
            }
        }
        in_window += u64::from(hit);
    }
    progress.inc(rows & 0xFFFF);
    progress.finish();
    tracing::debug!(rows, in_window, targets = which.len(), "labevents scanned");
    Ok(LabValues { labs: n_labs, values, rows, rows_in_window: in_window })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lab_index_maps_every_lab_and_nothing_else() {
        let published = mimic_io::layout::LABS;
        let dense = LabIndex::new(&published);
        assert!(matches!(dense, LabIndex::Dense { .. }));
        for (i, &l) in published.iter().enumerate() {
            assert_eq!(dense.get(i64::from(l)), Some(i));
        }
        assert_eq!((50_000..54_000).filter(|&id| dense.get(id).is_some()).count(), 50);
        assert_eq!(dense.get(-1), None);
        let sparse = LabIndex::new(&[51221, 7, 4_000_000]);
        assert!(matches!(sparse, LabIndex::Sparse(_)));
        assert_eq!((sparse.get(7), sparse.get(4_000_000), sparse.get(8)), (Some(1), Some(2), None));
    }
}
