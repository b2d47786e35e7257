//! Builds small MIMIC-shaped inputs in a temporary directory: gzip tables,
//! CXR image files (a few bytes: stage 1 only looks at their existence; a
//! download plan also wants them non-empty) and
//! MIMIC-IV-ECG-shaped WFDB records (12 leads, 500 Hz, 5000 samples, format 16).

pub mod scenario;

use std::path::{Path, PathBuf};

/// Signal content of a generated ECG record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sig {
    /// Varying non-zero samples.
    Valid,
    /// One sample is −32768 (NaN after conversion).
    Nan,
    /// Every sample equals the baseline (all-zero physical signal).
    Zero,
    /// No files at all.
    Missing,
    /// A header but a truncated `.dat`.
    Short,
}

pub const ADM_HEADER: &str = "subject_id,hadm_id,admittime,dischtime,deathtime,admission_type,admit_provider_id,\
admission_location,discharge_location,insurance,language,marital_status,race,edregtime,edouttime,hospital_expire_flag";
pub const PAT_HEADER: &str = "subject_id,gender,anchor_age,anchor_year,anchor_year_group,dod";
pub const LAB_HEADER: &str = "labevent_id,subject_id,hadm_id,specimen_id,itemid,charttime,value,valuenum,comments";
pub const META_HEADER: &str = "dicom_id,subject_id,study_id,PerformedProcedureStepDescription,ViewPosition,Rows,\
Columns,StudyDate,StudyTime,ProcedureCodeSequence_CodeMeaning,ViewCodeSequence_CodeMeaning,\
PatientOrientationCodeSequence_CodeMeaning";
pub const CHEX_HEADER: &str = "subject_id,study_id,Atelectasis,Cardiomegaly,Consolidation,Edema,\
Enlarged Cardiomediastinum,Fracture,Lung Lesion,Lung Opacity,No Finding,Pleural Effusion,Pleural Other,Pneumonia,\
Pneumothorax,Support Devices";
pub const ECG_HEADER: &str = "subject_id,study_id,file_name,ecg_time,path";

/// A MIMIC-shaped input tree being built.
#[derive(Debug)]
pub struct Fixture {
    pub root: test_support::TempDir,
    pub patients: Vec<String>,
    pub admissions: Vec<String>,
    pub labs: Vec<String>,
    pub meta: Vec<String>,
    pub chex: Vec<String>,
    pub ecg: Vec<String>,
    pub headers: [String; 6],
    lab_id: u64,
}

impl Default for Fixture {
    fn default() -> Self {
        Self::new()
    }
}

impl Fixture {
    pub fn new() -> Self {
        Self {
            root: test_support::tempdir(),
            patients: Vec::new(),
            admissions: Vec::new(),
            labs: Vec::new(),
            meta: Vec::new(),
            chex: Vec::new(),
            ecg: Vec::new(),
            headers: [PAT_HEADER, ADM_HEADER, LAB_HEADER, META_HEADER, CHEX_HEADER, ECG_HEADER].map(String::from),
            lab_id: 0,
        }
    }

    pub fn hosp(&self) -> PathBuf {
        self.root.path().join("hosp")
    }
    pub fn cxr_dir(&self) -> PathBuf {
        self.root.path().join("cxr")
    }
    pub fn ecg_dir(&self) -> PathBuf {
        self.root.path().join("ecg")
    }
    pub fn save(&self) -> PathBuf {
        self.root.path().join("out")
    }

    pub fn patient(&mut self, subject: i64, age: &str, year: &str, dod: &str) {
        self.patients.push(format!("{subject},F,{age},{year},2014 - 2016,{dod}"));
    }

    pub fn admission(&mut self, subject: i64, hadm: i64, admit: &str, deathtime: &str) {
        self.admissions.push(format!(
            "{subject},{hadm},{admit},2199-01-01 00:00:00,{deathtime},EW EMER.,P1,EMERGENCY ROOM,HOME,Medicare,\
             ENGLISH,SINGLE,\"WHITE, OTHER\",,,0"
        ));
    }

    /// A lab row; `hadm` and `value` may be empty.
    pub fn lab(&mut self, subject: i64, hadm: &str, itemid: u32, time: &str, value: &str) {
        self.lab_id += 1;
        self.labs.push(format!("{},{subject},{hadm},1,{itemid},{time},{value},{value},", self.lab_id));
    }

    /// A metadata row (`date` YYYYMMDD, `time` HHMMSS[.fff]); writes the JPG when `on_disk`.
    #[allow(clippy::too_many_arguments)] // one argument per metadata field a test varies
    pub fn cxr(&mut self, dicom: &str, subject: i64, study: i64, view: &str, date: &str, time: &str, on_disk: bool) {
        self.meta.push(format!(
            "{dicom},{subject},{study},CHEST,{view},10,10,{date},{time},CHEST,{},Erect",
            if view == "PA" { "postero-anterior" } else { "antero-posterior" }
        ));
        if on_disk {
            let p = self.cxr_dir().join(mimic_io::layout::cxr_rel_path(subject, study, dicom));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"not a JPEG").unwrap();
        }
    }

    pub fn chexpert(&mut self, subject: i64, study: i64, labels: &str) {
        self.chex.push(format!("{subject},{study},{labels}"));
    }

    /// A record_list row and its WFDB files.
    pub fn ecg(&mut self, subject: i64, study: i64, time: &str, sig: Sig) {
        let s = subject.to_string();
        let rel = format!("files/p{}/p{s}/s{study}/{study}", &s[..4]);
        self.ecg.push(format!("{subject},{study},{study},{time},{rel}"));
        write_wfdb(&self.ecg_dir().join(&rel), sig);
    }

    /// Writes every table (gzip where MIMIC has it).
    pub fn write(&self) {
        let hosp = self.hosp();
        std::fs::create_dir_all(&hosp).unwrap();
        std::fs::create_dir_all(self.cxr_dir()).unwrap();
        std::fs::create_dir_all(self.ecg_dir()).unwrap();
        gz(&hosp.join("patients.csv.gz"), &self.headers[0], &self.patients);
        gz(&hosp.join("admissions.csv.gz"), &self.headers[1], &self.admissions);
        gz(&hosp.join("labevents.csv.gz"), &self.headers[2], &self.labs);
        gz(&self.cxr_dir().join("mimic-cxr-2.0.0-metadata.csv.gz"), &self.headers[3], &self.meta);
        gz(&self.cxr_dir().join("mimic-cxr-2.0.0-chexpert.csv.gz"), &self.headers[4], &self.chex);
        std::fs::write(self.ecg_dir().join("record_list.csv"), lines(&self.headers[5], &self.ecg)).unwrap();
    }
}

/// Writes `header` and `rows`, one a line, gzipped to `path`.
pub fn gz(path: &Path, header: &str, rows: &[String]) {
    test_support::gz::write_gz(path, lines(header, rows).as_bytes());
}

/// `header` and `rows`, each ended by `\n`.
fn lines(header: &str, rows: &[String]) -> String {
    let mut text = format!("{header}\n");
    for r in rows {
        text.push_str(r);
        text.push('\n');
    }
    text
}

/// Writes `<record>.hea` and `<record>.dat` like MIMIC-IV-ECG (baseline 0).
pub fn write_wfdb(record: &Path, sig: Sig) {
    if sig == Sig::Missing {
        return;
    }
    std::fs::create_dir_all(record.parent().unwrap()).unwrap();
    let name = record.file_name().unwrap().to_string_lossy().into_owned();
    let (nsig, len) = (12usize, 5000usize);
    let mut hea = format!("{name} {nsig} 500 {len} 10:00:00 01/01/2150\n");
    for (i, lead) in mimic_io::layout::ECG_LEADS.iter().enumerate() {
        hea.push_str(&format!("{name}.dat 16 200.0(0)/mV 16 0 {} 0 0 {lead}\n", i as i32 - 6));
    }
    std::fs::write(record.with_extension("hea"), hea).unwrap();
    let mut dat = Vec::with_capacity(nsig * len * 2);
    for t in 0..len {
        for s in 0..nsig {
            let v: i16 = match sig {
                Sig::Zero => 0,
                Sig::Nan if t == 2500 && s == 3 => -32768,
                _ => ((t * 7 + s * 13) % 200) as i16 - 100,
            };
            dat.extend_from_slice(&v.to_le_bytes());
        }
    }
    if sig == Sig::Short {
        dat.truncate(1000);
    }
    std::fs::write(record.with_extension("dat"), dat).unwrap();
}

/// Parses a CSV written by the cohort into (header, rows); fields unquoted.
pub fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let t = test_support::table::Table::read(path);
    (t.headers, t.rows)
}
