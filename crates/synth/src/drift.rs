//! Schema drift: tables whose columns a later MIMIC release might add or move.
//!
//! The reference reads every column by name, and so do the stage readers;
//! this rewrites printed tables so that tests can prove it. It is not what a
//! known release does: MIMIC-IV 3.1 keeps the 2.2 columns of `patients`,
//! `admissions` and `labevents`, and MIMIC-CXR-JPG 2.1.0 the 2.0.0 metadata
//! columns. The added columns are made up in MIMIC's naming style, and their
//! values are a function of the row's own fields, so the bytes still depend
//! only on the configuration.

/// One output column: an input column, or an added one computed from the row.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Col {
    /// Field `n` of the printed row.
    Src(usize),
    /// An added column, printed from the row's fields.
    Added(fn(&[&[u8]], &mut Vec<u8>)),
}

/// A table's drifted header and where each of its columns comes from.
#[derive(Debug)]
pub(crate) struct Drift {
    /// The new header line, `\n`-terminated.
    pub header: &'static str,
    /// Output columns, in order.
    pub cols: &'static [Col],
}

/// FNV-1a of a field: a stable, thread-independent source for added values.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// `discharge_provider_id`: a provider id like `admit_provider_id`, absent for one admission in seven.
fn discharge_provider(f: &[&[u8]], out: &mut Vec<u8>) {
    let h = fnv(f[1]);
    if !h.is_multiple_of(7) {
        out.extend_from_slice(format!("P{:05X}", (h >> 8) % 0xF_FFFF).as_bytes());
    }
}

/// `result_status`: whether a lab result was final when extracted.
fn result_status(f: &[&[u8]], out: &mut Vec<u8>) {
    out.extend_from_slice(if fnv(f[0]).is_multiple_of(50) { b"Preliminary" } else { b"Final" });
}

/// `StudyInstanceUID`: a DICOM UID under the `2.25` (UUID-derived) root, one per study.
fn study_uid(f: &[&[u8]], out: &mut Vec<u8>) {
    let h = fnv(f[2]);
    out.extend_from_slice(format!("2.25.{}{:019}", 100_000_000 + h % 900_000_000, h).as_bytes());
}

use Col::{Added, Src};

/// `admissions.csv.gz`: `hospital_expire_flag` moves after `deathtime`;
/// `discharge_provider_id` follows `admit_provider_id`.
pub(crate) const ADMISSIONS: Drift = Drift {
    header: "subject_id,hadm_id,admittime,dischtime,deathtime,hospital_expire_flag,admission_type,admit_provider_id,discharge_provider_id,admission_location,discharge_location,insurance,language,marital_status,race,edregtime,edouttime\n",
    cols: &[
        Src(0),
        Src(1),
        Src(2),
        Src(3),
        Src(4),
        Src(15),
        Src(5),
        Src(6),
        Added(discharge_provider),
        Src(7),
        Src(8),
        Src(9),
        Src(10),
        Src(11),
        Src(12),
        Src(13),
        Src(14),
    ],
};

/// `labevents.csv.gz`: `subject_id` first, `valuenum` before `value`, and
/// `result_status` before `comments`.
pub(crate) const LABEVENTS: Drift = Drift {
    header: "subject_id,labevent_id,hadm_id,specimen_id,itemid,order_provider_id,charttime,storetime,valuenum,value,valueuom,ref_range_lower,ref_range_upper,flag,priority,result_status,comments\n",
    cols: &[
        Src(1),
        Src(0),
        Src(2),
        Src(3),
        Src(4),
        Src(5),
        Src(6),
        Src(7),
        Src(9),
        Src(8),
        Src(10),
        Src(11),
        Src(12),
        Src(13),
        Src(14),
        Added(result_status),
        Src(15),
    ],
};

/// The CXR metadata: ids first, study date and time before the image
/// attributes, and `StudyInstanceUID` last.
pub(crate) const METADATA: Drift = Drift {
    header: "subject_id,study_id,dicom_id,StudyDate,StudyTime,ViewPosition,PerformedProcedureStepDescription,Rows,Columns,ProcedureCodeSequence_CodeMeaning,ViewCodeSequence_CodeMeaning,PatientOrientationCodeSequence_CodeMeaning,StudyInstanceUID\n",
    cols: &[
        Src(1),
        Src(2),
        Src(0),
        Src(7),
        Src(8),
        Src(4),
        Src(3),
        Src(5),
        Src(6),
        Src(9),
        Src(10),
        Src(11),
        Added(study_uid),
    ],
};

impl Drift {
    /// Rewrites printed rows (each `\n`-terminated; quoted fields kept as
    /// printed, quotes included) into this table's column order.
    pub(crate) fn rewrite(&self, text: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len() + text.len() / 8);
        let mut fields: Vec<&[u8]> = Vec::with_capacity(32);
        let mut start = 0;
        let mut field_start = 0;
        let mut quoted = false;
        for (i, &b) in text.iter().enumerate() {
            match b {
                b'"' => quoted = !quoted,
                b',' if !quoted => {
                    fields.push(&text[field_start..i]);
                    field_start = i + 1;
                }
                b'\n' if !quoted => {
                    fields.push(&text[field_start..i]);
                    self.write_row(&fields, &mut out);
                    fields.clear();
                    start = i + 1;
                    field_start = start;
                }
                _ => {}
            }
        }
        debug_assert_eq!(start, text.len(), "printed rows end in a newline");
        out
    }

    fn write_row(&self, fields: &[&[u8]], out: &mut Vec<u8>) {
        for (k, c) in self.cols.iter().enumerate() {
            if k > 0 {
                out.push(b',');
            }
            match c {
                Src(n) => out.extend_from_slice(fields[*n]),
                Added(f) => f(fields, out),
            }
        }
        out.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(header: &str) -> Vec<&str> {
        header.trim_end().split(',').collect()
    }

    /// Every drifted header names each original column once, plus its added ones.
    #[test]
    fn headers_match_their_column_plans() {
        for (d, orig) in [
            (&ADMISSIONS, crate::emit::ADMISSIONS_HEADER),
            (&LABEVENTS, crate::emit::LABEVENTS_HEADER),
            (&METADATA, crate::emit::METADATA_HEADER),
        ] {
            let (new, old) = (names(d.header), names(orig));
            assert_eq!(new.len(), d.cols.len(), "{}", d.header);
            for (name, c) in new.iter().zip(d.cols) {
                if let Src(n) = c {
                    assert_eq!(*name, old[*n], "{}", d.header);
                } else {
                    assert!(!old.contains(name), "{name} is not new");
                }
            }
            let srcs = d.cols.iter().filter(|c| matches!(c, Src(_))).count();
            assert_eq!(srcs, old.len(), "every original column is kept");
        }
    }

    #[test]
    fn quoted_fields_move_whole() {
        let row = b"1,2,3,4,5,6,7,8,v,9,mg/dL,1,2,,STAT,\"A, \"\"B\"\"\"\n2,3,4,5,6,7,8,9,,,,,,,,,\n";
        let out = String::from_utf8(LABEVENTS.rewrite(row)).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("2,1,3,4,5,6,7,8,9,v,mg/dL,1,2,,STAT,"), "{out}");
        assert!(lines[0].ends_with(",\"A, \"\"B\"\"\""), "{out}");
        assert!(lines[0].contains(",Final,") || lines[0].contains(",Preliminary,"), "{out}");
    }
}
