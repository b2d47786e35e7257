//! Printing rows as MIMIC prints them, and compressing them in pieces.
//!
//! Each chunk of subjects is printed and deflated on its own thread as a raw
//! deflate stream ending in a sync flush; [`GzFile`] concatenates those
//! pieces behind one gzip header and combines their CRCs (what pigz does).
//! The result is one ordinary gzip member, so every reader (Python's gzip,
//! flate2's `GzDecoder`) reads it, and its bytes depend only on the chunk
//! contents, never on the number of threads.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use flate2::{Compress, Compression, FlushCompress};
use mimic_io::Timestamp;

use crate::SynthError;
use crate::catalog::{self, ITEMS};
use crate::model::{Admission, Subject};

/// A deflated piece of a gzip file: raw deflate data ending in a sync flush.
#[derive(Debug, Default)]
pub(crate) struct GzChunk {
    data: Vec<u8>,
    crc: crc32fast::Hasher,
    text_len: u64,
}

impl GzChunk {
    /// Deflates `text` at `level` (raw stream, sync-flushed, not final).
    pub(crate) fn deflate(text: &[u8], level: u32) -> Self {
        let mut crc = crc32fast::Hasher::new();
        crc.update(text);
        if text.is_empty() {
            return Self { data: Vec::new(), crc, text_len: 0 };
        }
        let mut c = Compress::new(Compression::new(level), false);
        let mut data = Vec::with_capacity(text.len() / 3 + 1024);
        loop {
            let consumed = c.total_in() as usize;
            c.compress_vec(&text[consumed..], &mut data, FlushCompress::Sync)
                .expect("deflate of an in-memory buffer cannot fail");
            if c.total_in() as usize == text.len() && data.len() < data.capacity() {
                break;
            }
            data.reserve(data.capacity().max(64 * 1024));
        }
        Self { data, crc, text_len: text.len() as u64 }
    }
}

/// A gzip file assembled from [`GzChunk`]s, with a fixed header (mtime 0).
#[derive(Debug)]
pub(crate) struct GzFile {
    path: PathBuf,
    out: BufWriter<File>,
    crc: crc32fast::Hasher,
    level: u32,
    written: u64,
    text_len: u64,
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SynthError + '_ {
    move |source| SynthError::Io { path: path.to_path_buf(), source }
}

impl GzFile {
    pub(crate) fn create(path: PathBuf, level: u32) -> Result<Self, SynthError> {
        let file = File::create(&path).map_err(io_err(&path))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        // ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=0 OS=255 (unknown), as in golden/.
        out.write_all(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]).map_err(io_err(&path))?;
        Ok(Self { path, out, crc: crc32fast::Hasher::new(), level, written: 0, text_len: 0 })
    }

    pub(crate) fn append(&mut self, chunk: &GzChunk) -> Result<(), SynthError> {
        self.out.write_all(&chunk.data).map_err(io_err(&self.path))?;
        self.crc.combine(&chunk.crc);
        self.written += chunk.data.len() as u64;
        self.text_len += chunk.text_len;
        Ok(())
    }

    /// Writes the final empty block and the trailer; returns compressed bytes.
    pub(crate) fn finish(mut self) -> Result<u64, SynthError> {
        let mut c = Compress::new(Compression::new(self.level), false);
        let mut tail = Vec::with_capacity(64);
        c.compress_vec(&[], &mut tail, FlushCompress::Finish).expect("finishing an empty deflate stream");
        let len = self.text_len;
        let crc = self.crc.clone().finalize();
        self.out.write_all(&tail).map_err(io_err(&self.path))?;
        self.out.write_all(&crc.to_le_bytes()).map_err(io_err(&self.path))?;
        self.out.write_all(&(len as u32).to_le_bytes()).map_err(io_err(&self.path))?;
        self.out.flush().map_err(io_err(&self.path))?;
        Ok(self.written + tail.len() as u64 + 18)
    }
}

// ---------- field printing ----------

pub(crate) fn push_int(buf: &mut Vec<u8>, v: i64) {
    let mut tmp = [0u8; 24];
    let mut i = tmp.len();
    let neg = v < 0;
    let mut u = v.unsigned_abs();
    loop {
        i -= 1;
        tmp[i] = b'0' + (u % 10) as u8;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    if neg {
        i -= 1;
        tmp[i] = b'-';
    }
    buf.extend_from_slice(&tmp[i..]);
}

fn push2(buf: &mut Vec<u8>, v: u32) {
    buf.push(b'0' + (v / 10) as u8);
    buf.push(b'0' + (v % 10) as u8);
}

/// `YYYY-MM-DD HH:MM:SS`.
pub(crate) fn push_ts(buf: &mut Vec<u8>, t: Timestamp) {
    let (y, mo, d, h, mi, s) = t.parts();
    push_int(buf, y);
    buf.push(b'-');
    push2(buf, mo);
    buf.push(b'-');
    push2(buf, d);
    buf.push(b' ');
    push2(buf, h);
    buf.push(b':');
    push2(buf, mi);
    buf.push(b':');
    push2(buf, s);
}

fn push_date(buf: &mut Vec<u8>, t: Timestamp) {
    buf.extend_from_slice(t.date_string().as_bytes());
}

/// A text field, quoted as the csv module would when it needs to be.
pub(crate) fn push_text(buf: &mut Vec<u8>, s: &str) {
    if s.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
        buf.push(b'"');
        for b in s.bytes() {
            if b == b'"' {
                buf.push(b'"');
            }
            buf.push(b);
        }
        buf.push(b'"');
    } else {
        buf.extend_from_slice(s.as_bytes());
    }
}

/// A scaled decimal (`v` × 10^-decimals) without trailing zeros: `33`, `3.7`, `-2`.
pub(crate) fn push_scaled(buf: &mut Vec<u8>, v: i64, decimals: u8) {
    let p = 10i64.pow(u32::from(decimals));
    if v < 0 {
        buf.push(b'-');
    }
    let a = v.abs();
    push_int(buf, a / p);
    let mut frac = a % p;
    if frac == 0 {
        return;
    }
    let mut digits = decimals as usize;
    while frac % 10 == 0 {
        frac /= 10;
        digits -= 1;
    }
    buf.push(b'.');
    let s = format!("{frac:0digits$}");
    buf.extend_from_slice(s.as_bytes());
}

/// The f64 pandas reads from a printed scaled value.
pub(crate) fn scaled_f64(v: i64, decimals: u8) -> f64 {
    let mut b = Vec::new();
    push_scaled(&mut b, v, decimals);
    std::str::from_utf8(&b).expect("ascii").parse().expect("a printed decimal parses")
}

fn provider(buf: &mut Vec<u8>, p: u32) {
    buf.extend_from_slice(format!("P{p:05X}").as_bytes());
}

// ---------- tables ----------

pub(crate) const PATIENTS_HEADER: &str = "subject_id,gender,anchor_age,anchor_year,anchor_year_group,dod\n";
pub(crate) const ADMISSIONS_HEADER: &str = "subject_id,hadm_id,admittime,dischtime,deathtime,admission_type,admit_provider_id,admission_location,discharge_location,insurance,language,marital_status,race,edregtime,edouttime,hospital_expire_flag\n";
pub(crate) const LABEVENTS_HEADER: &str = "labevent_id,subject_id,hadm_id,specimen_id,itemid,order_provider_id,charttime,storetime,value,valuenum,valueuom,ref_range_lower,ref_range_upper,flag,priority,comments\n";
pub(crate) const METADATA_HEADER: &str = "dicom_id,subject_id,study_id,PerformedProcedureStepDescription,ViewPosition,Rows,Columns,StudyDate,StudyTime,ProcedureCodeSequence_CodeMeaning,ViewCodeSequence_CodeMeaning,PatientOrientationCodeSequence_CodeMeaning\n";
pub(crate) const RECORD_LIST_HEADER: &str = "subject_id,study_id,file_name,ecg_time,path\n";

pub(crate) fn chexpert_header() -> String {
    let mut h = String::from("subject_id,study_id");
    for l in mimic_io::layout::CHEXPERT_LABELS {
        h.push(',');
        h.push_str(l);
    }
    h.push('\n');
    h
}

pub(crate) fn patient_row(buf: &mut Vec<u8>, s: &Subject) {
    push_int(buf, s.subject_id);
    buf.push(b',');
    buf.extend_from_slice(s.gender.as_bytes());
    buf.push(b',');
    push_int(buf, s.anchor_age);
    buf.push(b',');
    push_int(buf, s.anchor_year);
    buf.push(b',');
    buf.extend_from_slice(s.anchor_group.as_bytes());
    buf.push(b',');
    if let Some(d) = s.dod {
        push_date(buf, d);
    }
    buf.push(b'\n');
}

pub(crate) fn admission_row(buf: &mut Vec<u8>, s: &Subject, a: &Admission) {
    push_int(buf, s.subject_id);
    buf.push(b',');
    push_int(buf, a.hadm_id);
    buf.push(b',');
    push_ts(buf, a.admit);
    buf.push(b',');
    push_ts(buf, a.disch);
    buf.push(b',');
    if let Some(d) = a.death {
        push_ts(buf, d);
    }
    buf.push(b',');
    push_text(buf, a.admission_type);
    buf.push(b',');
    provider(buf, a.provider);
    buf.push(b',');
    push_text(buf, a.admission_location);
    buf.push(b',');
    push_text(buf, a.discharge_location);
    buf.push(b',');
    push_text(buf, a.insurance);
    buf.push(b',');
    push_text(buf, a.language);
    buf.push(b',');
    push_text(buf, a.marital);
    buf.push(b',');
    push_text(buf, a.race);
    buf.push(b',');
    if let Some((reg, out)) = a.ed {
        push_ts(buf, reg);
        buf.push(b',');
        push_ts(buf, out);
    } else {
        buf.push(b',');
    }
    buf.push(b',');
    buf.push(if a.death.is_some() { b'1' } else { b'0' });
    buf.push(b'\n');
}

/// Lab rows of one subject; `first_id` is the labevent_id of its first row.
pub(crate) fn lab_rows(buf: &mut Vec<u8>, s: &Subject, first_id: i64, ranges: &[(Option<f64>, Option<f64>)]) {
    for (i, l) in s.labs.iter().enumerate() {
        let mut id = first_id + i as i64;
        if l.swap_id_with_next {
            id += 1;
        } else if i > 0 && s.labs[i - 1].swap_id_with_next {
            id -= 1;
        }
        let it = &ITEMS[l.item as usize];
        push_int(buf, id);
        buf.push(b',');
        push_int(buf, s.subject_id);
        buf.push(b',');
        if let Some(h) = l.hadm_id {
            push_int(buf, h);
        }
        buf.push(b',');
        push_int(buf, i64::from(l.specimen));
        buf.push(b',');
        push_int(buf, i64::from(it.itemid));
        buf.push(b',');
        if let Some(p) = l.provider {
            provider(buf, p);
        }
        buf.push(b',');
        push_ts(buf, l.time);
        buf.push(b',');
        if let Some(m) = l.store_min {
            push_ts(buf, Timestamp(l.time.0 + i64::from(m) * 60));
        }
        buf.push(b',');
        let mut abnormal = false;
        match l.value {
            Some(v) => {
                push_scaled(buf, v, it.decimals);
                buf.push(b',');
                push_scaled(buf, v, it.decimals);
                let x = v as f64 / 10f64.powi(i32::from(it.decimals));
                let (lo, hi) = ranges[l.item as usize];
                abnormal = lo.is_some_and(|lo| x < lo) || hi.is_some_and(|hi| x > hi);
            }
            None => {
                push_text(buf, catalog::BLANK_VALUES[l.blank_text as usize]);
                buf.push(b',');
            }
        }
        buf.push(b',');
        push_text(buf, it.uom);
        buf.push(b',');
        buf.extend_from_slice(it.ref_lo.as_bytes());
        buf.push(b',');
        buf.extend_from_slice(it.ref_hi.as_bytes());
        buf.push(b',');
        if abnormal {
            buf.extend_from_slice(b"abnormal");
        }
        buf.push(b',');
        buf.extend_from_slice(["", "STAT", "ROUTINE"][l.priority as usize].as_bytes());
        buf.push(b',');
        if let Some(c) = l.comment {
            push_text(buf, catalog::LAB_COMMENTS[c as usize]);
        }
        buf.push(b'\n');
    }
}

/// Parsed reference ranges of every catalog item (for the `flag` column).
pub(crate) fn ref_ranges() -> Vec<(Option<f64>, Option<f64>)> {
    ITEMS.iter().map(|it| (it.ref_lo.parse().ok(), it.ref_hi.parse().ok())).collect()
}

/// `StudyTime` as MIMIC-CXR-JPG prints it: `HHMMSS` as a float, e.g.
/// `102543.691`, `4001.84`, `200600.0`.
pub(crate) fn push_study_time(buf: &mut Vec<u8>, t: Timestamp, frac_ms: u16, digits: u8) {
    let (.., h, mi, s) = t.parts();
    push_int(buf, i64::from(h * 10_000 + mi * 100 + s));
    buf.push(b'.');
    match digits {
        0 => buf.push(b'0'),
        1 => buf.push(b'0' + (frac_ms / 100) as u8),
        2 => push2(buf, u32::from(frac_ms / 10)),
        _ => buf.extend_from_slice(format!("{frac_ms:03}").as_bytes()),
    }
}

pub(crate) fn metadata_rows(buf: &mut Vec<u8>, s: &Subject) {
    for im in &s.images {
        let st = &s.studies[im.study];
        buf.extend_from_slice(im.dicom_id.as_bytes());
        buf.push(b',');
        push_int(buf, s.subject_id);
        buf.push(b',');
        push_int(buf, st.study_id);
        buf.push(b',');
        push_text(buf, st.procedure);
        buf.push(b',');
        push_text(buf, im.view);
        buf.push(b',');
        push_int(buf, i64::from(im.rows));
        buf.push(b',');
        push_int(buf, i64::from(im.cols));
        buf.push(b',');
        let (y, mo, d, ..) = st.time.parts();
        push_int(buf, y * 10_000 + i64::from(mo * 100 + d));
        buf.push(b',');
        push_study_time(buf, st.time, st.frac_ms, st.frac_digits);
        buf.push(b',');
        push_text(buf, st.procedure);
        buf.push(b',');
        push_text(buf, catalog::view_meaning(im.view));
        buf.push(b',');
        buf.extend_from_slice(if im.view.is_empty() { b"" as &[u8] } else { b"Erect" });
        buf.push(b'\n');
    }
}

fn chexpert_row(buf: &mut Vec<u8>, subject_id: i64, study_id: i64, labels: &[i8; 14]) {
    push_int(buf, subject_id);
    buf.push(b',');
    push_int(buf, study_id);
    for &l in labels {
        buf.push(b',');
        buf.extend_from_slice(match l {
            1 => b"1.0" as &[u8],
            0 => b"0.0",
            -1 => b"-1.0",
            _ => b"",
        });
    }
    buf.push(b'\n');
}

/// CheXpert rows of one subject, by study_id; returns how many.
pub(crate) fn chexpert_rows(buf: &mut Vec<u8>, s: &Subject) -> usize {
    let mut rows: Vec<(i64, &[i8; 14])> =
        s.studies.iter().filter_map(|st| st.chexpert.as_ref().map(|l| (st.study_id, l))).collect();
    rows.extend(s.extra_chexpert.iter().map(|(id, l)| (*id, l)));
    rows.sort_by_key(|r| r.0);
    for (id, l) in &rows {
        chexpert_row(buf, s.subject_id, *id, l);
    }
    rows.len()
}

/// `files/pNNNN/pSUBJECT/sSTUDY/STUDY` (MIMIC-IV-ECG: first four digits).
pub(crate) fn ecg_rel_path(subject_id: i64, study_id: i64) -> String {
    let subject = subject_id.to_string();
    format!("files/p{}/p{subject}/s{study_id}/{study_id}", &subject[..4.min(subject.len())])
}

pub(crate) fn record_list_rows(buf: &mut Vec<u8>, s: &Subject) {
    for e in &s.ecgs {
        push_int(buf, s.subject_id);
        buf.push(b',');
        push_int(buf, e.study_id);
        buf.push(b',');
        push_int(buf, e.study_id);
        buf.push(b',');
        push_ts(buf, e.time);
        buf.push(b',');
        buf.extend_from_slice(ecg_rel_path(s.subject_id, e.study_id).as_bytes());
        buf.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn scaled_values_print_like_mimic() {
        let p = |v, d| {
            let mut b = Vec::new();
            push_scaled(&mut b, v, d);
            String::from_utf8(b).unwrap()
        };
        assert_eq!(p(33, 0), "33");
        assert_eq!(p(370, 2), "3.7");
        assert_eq!(p(1015, 3), "1.015");
        assert_eq!(p(-3, 0), "-3");
        assert_eq!(p(-5, 2), "-0.05");
        assert_eq!(p(700, 2), "7");
        assert_eq!(scaled_f64(740, 2), 7.4);
    }

    #[test]
    fn study_time_keeps_fraction_and_drops_leading_zeros() {
        let t = Timestamp::parse("2121-04-16 10:25:43").unwrap();
        let mut b = Vec::new();
        push_study_time(&mut b, t, 691, 3);
        assert_eq!(b, b"102543.691");
        b.clear();
        push_study_time(&mut b, Timestamp::parse("2121-02-08 00:40:01").unwrap(), 840, 2);
        assert_eq!(b, b"4001.84");
        b.clear();
        push_study_time(&mut b, Timestamp::parse("2121-02-08 00:00:07").unwrap(), 0, 0);
        assert_eq!(b, b"7.0");
    }

    #[test]
    fn quoting_and_paths() {
        let mut b = Vec::new();
        push_text(&mut b, "A, \"B\"");
        assert_eq!(b, b"\"A, \"\"B\"\"\"");
        assert_eq!(ecg_rel_path(10205842, 49886407), "files/p1020/p10205842/s49886407/49886407");
    }

    #[test]
    fn chunked_gzip_is_one_valid_member() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.gz");
        let parts: Vec<Vec<u8>> = (0..5).map(|i| format!("chunk {i}\n").repeat(1000 * i).into_bytes()).collect();
        let mut gz = GzFile::create(path.clone(), 1).unwrap();
        for p in &parts {
            gz.append(&GzChunk::deflate(p, 1)).unwrap();
        }
        gz.finish().unwrap();
        let mut text = Vec::new();
        flate2::read::GzDecoder::new(File::open(&path).unwrap()).read_to_end(&mut text).unwrap();
        assert_eq!(text, parts.concat());
        let raw = std::fs::read(&path).unwrap();
        assert_eq!(&raw[..10], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    }
}
