//! Stage 1.4: the earliest value of each of the 50 labs within ±24 h of admission.
//!
//! `labevents.csv.gz` (~118 M rows) is read in one streaming pass, only ever
//! holding the current record. Rows of subjects that can still be in the
//! cohort are matched, through a binary search over that subject's
//! admission times, against every target admission whose window contains the
//! charttime, and fold into a per-admission `[(time, value); 50]` table with a
//! strict `<` on time. Rows arrive in file order, so a tie keeps the first
//! row in the file, which is what the reference's loop over `labevent_id`s
//! (in file order, strict `<`) does. Memory is 50 slots per target admission,
//! whatever the size of the lab table.

use std::collections::HashMap;
use std::path::Path;

use mimic_io::Timestamp;
use mimic_io::layout::LABS;
use mimic_io::progress::Progress;
use mimic_io::table::{TableReader, parse_i64_bytes};
use mimic_io::time::HOUR;

use crate::CohortError;
use crate::admissions::Admissions;

/// A fixed-seed fast hasher: ids are not attacker-chosen and the map is never iterated.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// Lab values per target admission.
#[derive(Debug)]
pub(crate) struct LabValues {
    /// `values[slot * 50 + lab]` (LABS order), `None` when absent.
    pub values: Vec<Option<f64>>,
    /// Rows of `labevents.csv.gz`.
    pub rows: u64,
    /// Rows that fell in the window of at least one target admission.
    pub rows_in_window: u64,
}

impl LabValues {
    /// The 50 values of target slot `slot`.
    pub fn of(&self, slot: usize) -> &[Option<f64>] {
        &self.values[slot * 50..slot * 50 + 50]
    }
}

/// Position in LABS of every itemid in the LABS range (255: not a top-50 lab).
fn lab_table() -> (u32, Vec<u8>) {
    let lo = *LABS.iter().min().expect("LABS is not empty");
    let hi = *LABS.iter().max().expect("LABS is not empty");
    let mut table = vec![u8::MAX; (hi - lo + 1) as usize];
    for (i, &l) in LABS.iter().enumerate() {
        table[(l - lo) as usize] = i as u8;
    }
    (lo, table)
}

/// Scans `labevents.csv.gz` for the admissions in `which` (slot `k` is `which[k]`).
pub(crate) fn scan(
    hosp_dir: &Path,
    adm: &Admissions,
    which: &[usize],
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
    let (lab_lo, lab_of) = lab_table();
    let mut best_time = vec![i64::MAX; which.len() * 50];
    let mut values: Vec<Option<f64>> = vec![None; which.len() * 50];

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
        let lab = match itemid.checked_sub(i64::from(lab_lo)) {
            Some(off) if (off as u64) < lab_of.len() as u64 => lab_of[off as usize],
            _ => continue,
        };
        if lab == u8::MAX {
            continue;
        }
        let Some(value) = t.parse_opt_f64(&rec, c_val)? else { continue };
        // A missing charttime is NaT in the reference: never inside a window.
        let Some(time) = t.parse_opt_time(&rec, c_time)? else { continue };
        let time: Timestamp = time;
        let span = &targets[s as usize..e as usize];
        // Admissions with |charttime − admittime| ≤ 24 h: admittime in [t − 24 h, t + 24 h].
        let lo = span.partition_point(|x| x.1 < time.0 - 24 * HOUR);
        let mut hit = false;
        for x in &span[lo..] {
            if x.1 > time.0 + 24 * HOUR {
                break;
            }
            hit = true;
            let k = x.2 as usize * 50 + lab as usize;
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
    Ok(LabValues { values, rows, rows_in_window: in_window })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_table_maps_every_lab_and_nothing_else() {
        let (lo, table) = lab_table();
        for (i, &l) in LABS.iter().enumerate() {
            assert_eq!(table[(l - lo) as usize] as usize, i);
        }
        assert_eq!(table.iter().filter(|&&v| v != u8::MAX).count(), 50);
    }
}
