//! One subject's rows: the structures the writers print, and how background
//! subjects and planted edge cases fill them.
//!
//! Background subjects follow rough MIMIC proportions (admissions per subject,
//! lab draws clustered around stays, CXRs and ECGs near some admissions).
//! Planted subjects carry one admission each (two for the "pair" case) whose
//! CXR, ECG and lab events are laid out so that one rule of SPEC stage 1 is
//! exercised exactly: window edges, ties, invalid records, missing files.

use mimic_io::Timestamp;
use mimic_io::time::HOUR;

use crate::catalog::{self, ITEMS};
use crate::ids::{CXR_SLOTS, ECG_SLOTS, Ids};
use crate::rng::Stream;
use crate::{CxrSize, SynthConfig};

const DAY: i64 = 24 * HOUR;

/// Whether a table row's file is on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileState {
    /// Written (unless a file budget drops it; see `budget`).
    Write,
    /// Deliberately absent (planted or background "missing image").
    Missing,
    /// Dropped by `--max-cxr-files`.
    Budget,
}

#[derive(Debug, Clone)]
pub(crate) struct Admission {
    pub hadm_id: i64,
    pub admit: Timestamp,
    pub disch: Timestamp,
    pub death: Option<Timestamp>,
    pub admission_type: &'static str,
    pub provider: u32,
    pub admission_location: &'static str,
    pub discharge_location: &'static str,
    pub insurance: &'static str,
    pub language: &'static str,
    pub marital: &'static str,
    pub race: &'static str,
    pub ed: Option<(Timestamp, Timestamp)>,
    /// The planted cases it exercises; `None` for a background admission.
    pub planted: Option<Planted>,
}

#[derive(Debug, Clone)]
pub(crate) struct Study {
    pub study_id: i64,
    /// `StudyDate` + `StudyTime` truncated to whole seconds.
    pub time: Timestamp,
    /// Fraction of a second in thousandths, and how many digits are printed.
    pub frac_ms: u16,
    pub frac_digits: u8,
    pub procedure: &'static str,
    /// CheXpert labels: 1, 0, -1, or 2 for blank; `None` = no CheXpert row.
    pub chexpert: Option<[i8; 14]>,
}

#[derive(Debug, Clone)]
pub(crate) struct Image {
    pub dicom_id: String,
    pub study: usize,
    pub view: &'static str,
    pub rows: u32,
    pub cols: u32,
    pub quality: u8,
    pub file: FileState,
    pub planted: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EcgKind {
    Normal,
    /// Some samples are -32768 (NaN in the physical signal).
    Nan,
    /// Every sample is 0.
    Zero,
    /// Every sample is the same non-zero value (valid for stage 1).
    Constant,
}

#[derive(Debug, Clone)]
pub(crate) struct Ecg {
    pub study_id: i64,
    pub time: Timestamp,
    pub kind: EcgKind,
    pub gain: u16,
    pub planted: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Lab {
    pub hadm_id: Option<i64>,
    pub specimen: u32,
    /// Index into [`catalog::ITEMS`].
    pub item: u16,
    pub time: Timestamp,
    pub store_min: Option<u16>,
    /// `valuenum` as an integer in units of 10^-decimals; `None` = blank.
    pub value: Option<i64>,
    pub blank_text: u8,
    pub provider: Option<u32>,
    pub priority: u8,
    pub comment: Option<u8>,
    /// Write this row's labevent_id swapped with the next row's (a tie whose
    /// file order disagrees with labevent_id order).
    pub swap_id_with_next: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Subject {
    pub index: usize,
    pub subject_id: i64,
    pub in_patients: bool,
    pub gender: &'static str,
    pub anchor_age: i64,
    pub anchor_year: i64,
    pub anchor_group: &'static str,
    pub dod: Option<Timestamp>,
    pub admissions: Vec<Admission>,
    pub studies: Vec<Study>,
    pub images: Vec<Image>,
    pub ecgs: Vec<Ecg>,
    pub labs: Vec<Lab>,
    /// CheXpert rows for studies with no metadata rows (study ids only).
    pub extra_chexpert: Vec<(i64, [i8; 14])>,
    pub planted: bool,
}

/// What a subject is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Background,
    /// In the tables but missing from patients.csv.
    Orphan,
    /// Planted case number `n` (index into [`plan_cases`]).
    Planted(usize),
}

/// Declares a closed set of planted cases: the enum, every case in planting
/// order (`ALL`) and the name the manifest records for each (`name`).
macro_rules! cases {
    ($(#[$doc:meta])* $ty:ident { $($(#[$vdoc:meta])* $variant:ident => $name:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum $ty {
            $($(#[$vdoc])* $variant,)*
        }

        impl $ty {
            /// Every case, in planting order.
            pub(crate) const ALL: &[$ty] = &[$($ty::$variant,)*];

            /// The case's name in the manifest (`cases`, and the `modality:name` counts).
            pub(crate) fn name(self) -> &'static str {
                match self {
                    $($ty::$variant => $name,)*
                }
            }
        }
    };
}

cases! {
    /// How a planted admission's CXRs lie around the (24 h, 72 h] window.
    CxrCase {
        Good => "good",
        Exact24Only => "exact24_only",
        Exact24ThenGood => "exact24_then_good",
        Frac24ThenGood => "frac24_then_good",
        JustAfter24 => "just_after24",
        Exact72 => "exact72",
        Exact72Frac => "exact72_frac",
        After72Only => "after72_only",
        BeforeWindowOnly => "before_window_only",
        EarlyMorning => "early_morning",
        VeryEarly => "very_early",
        TieSameStudy => "tie_same_study",
        TieDiffStudy => "tie_diff_study",
        LateralFirst => "lateral_first",
        OddViewsFirst => "odd_views_first",
        OddViewsOnly => "odd_views_only",
        MissingJpgFirst => "missing_jpg_first",
        MissingJpgOnly => "missing_jpg_only",
        NoChexpertFirst => "no_chexpert_first",
        UnsortedMulti => "unsorted_multi",
        SixteenTie => "sixteen_tie",
        NoCxr => "none",
    }
}

impl CxrCase {
    /// Whether stage 1 finds the admission a CXR with CheXpert labels.
    pub(crate) fn found(self) -> bool {
        use CxrCase::*;
        !matches!(
            self,
            Exact24Only | After72Only | BeforeWindowOnly | OddViewsOnly | MissingJpgOnly | NoChexpertFirst | NoCxr
        )
    }
}

cases! {
    /// How a planted admission's ECGs lie around the [-24 h, 24 h] window.
    EcgCase {
        Good => "good",
        ExactM24 => "exact_m24",
        ExactP24Only => "exact_p24_only",
        BeforeM24Only => "before_m24_only",
        AfterP24Only => "after_p24_only",
        BeforeM24ThenGood => "before_m24_then_good",
        BeforeAdmEarliest => "before_adm_earliest",
        NanFirst => "nan_first",
        NanOnly => "nan_only",
        ZeroFirst => "zero_first",
        ZeroOnly => "zero_only",
        Tie => "tie",
        TieInvalidFirst => "tie_invalid_first",
        UnsortedMulti => "unsorted_multi",
        Gain1000 => "gain1000",
        Gain200 => "gain200",
        NoEcg => "none",
        /// Every sample the same non-zero value: valid for stage 1, NaN after
        /// stage 3's normalisation. Planted only with [`SynthConfig::nasty`].
        Constant => "constant",
    }
}

impl EcgCase {
    /// Whether stage 1 finds the admission a valid ECG.
    pub(crate) fn found(self) -> bool {
        use EcgCase::*;
        !matches!(self, BeforeM24Only | AfterP24Only | NanOnly | ZeroOnly | NoEcg)
    }

    /// Whether the case is planted only with [`SynthConfig::nasty`].
    pub(crate) fn nasty(self) -> bool {
        self == EcgCase::Constant
    }
}

cases! {
    /// How a planted admission's lab events lie around the [-24 h, 24 h] window.
    LabCase {
        Good => "good",
        Boundary => "boundary",
        Tie => "tie",
        TieIdSwapped => "tie_id_swapped",
        NanEarliest => "nan_earliest",
        OnlyNan => "only_nan",
        OnlyNonTop => "only_non_top",
        OutsideOnly => "outside_only",
        NoLabs => "none",
        Outpatient => "outpatient",
        Sparse => "sparse",
        Unsorted => "unsorted",
        LacksAlways => "lacks_always",
    }
}

impl LabCase {
    /// Whether stage 1 finds the admission at least one lab.
    pub(crate) fn found(self) -> bool {
        use LabCase::*;
        !matches!(self, OnlyNan | OnlyNonTop | OutsideOnly | NoLabs)
    }
}

cases! {
    /// Image geometry cases, applied to the image stage 1 chooses in a passing CXR case.
    ImgCase {
        /// The size class's usual spread of sizes.
        Random => "random",
        Tiny64 => "tiny64",
        Square => "square",
        Square320 => "square320",
        Short320 => "short320",
        Landscape => "landscape",
        Large => "large",
    }
}

/// The cases of one planted subject with a single admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cases {
    pub cxr: CxrCase,
    pub ecg: EcgCase,
    pub labs: LabCase,
    pub img: ImgCase,
}

/// One planted subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Plant {
    Single(Cases),
    /// Two close admissions sharing events.
    Pair,
}

/// Which admission of a [`Plant::Pair`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PairSide {
    /// The earlier admission; its labs fall in its own window.
    First,
    /// The later one; its window holds only the first admission's labs.
    Second,
}

/// What a planted admission exercises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Planted {
    Single(Cases),
    Pair(PairSide),
}

impl Planted {
    /// (modality, case name) pairs as the manifest records them.
    pub(crate) fn names(self) -> [(&'static str, &'static str); 4] {
        match self {
            Planted::Single(c) => {
                [("cxr", c.cxr.name()), ("ecg", c.ecg.name()), ("labs", c.labs.name()), ("img", c.img.name())]
            }
            Planted::Pair(PairSide::First) => {
                [("pair", "first"), ("cxr", "shared"), ("ecg", "shared"), ("labs", "good")]
            }
            Planted::Pair(PairSide::Second) => {
                [("pair", "second"), ("cxr", "shared"), ("ecg", "shared"), ("labs", "other_admission")]
            }
        }
    }
}

/// The planted subjects of a run, in placement order.
pub(crate) fn plan_cases(cfg: &SynthConfig) -> Vec<Plant> {
    let mut out = Vec::new();
    if cfg.planted_reps == 0 {
        return out;
    }
    // Cases that pass their rule fill the other modalities of a subject.
    let pc: Vec<CxrCase> = CxrCase::ALL.iter().copied().filter(|c| c.found()).collect();
    let pe: Vec<EcgCase> = EcgCase::ALL.iter().copied().filter(|c| c.found() && !c.nasty()).collect();
    let pl: Vec<LabCase> = LabCase::ALL.iter().copied().filter(|c| c.found()).collect();
    let (mut ic, mut ie, mut il, mut ii) = (0usize, 0usize, 0usize, 0usize);
    let ecg_cases: Vec<EcgCase> = EcgCase::ALL.iter().copied().filter(|c| cfg.nasty || !c.nasty()).collect();
    fn next<T: Copy>(list: &[T], i: &mut usize) -> T {
        let v = list[*i % list.len()];
        *i += 1;
        v
    }
    for _ in 0..cfg.planted_reps {
        for &cxr in CxrCase::ALL {
            let img = if cxr.found() { next(ImgCase::ALL, &mut ii) } else { ImgCase::Random };
            out.push(Plant::Single(Cases { cxr, ecg: next(&pe, &mut ie), labs: next(&pl, &mut il), img }));
        }
        for &ecg in &ecg_cases {
            let cxr = next(&pc, &mut ic);
            out.push(Plant::Single(Cases { cxr, ecg, labs: next(&pl, &mut il), img: next(ImgCase::ALL, &mut ii) }));
        }
        for &labs in LabCase::ALL {
            let cxr = next(&pc, &mut ic);
            out.push(Plant::Single(Cases { cxr, ecg: next(&pe, &mut ie), labs, img: next(ImgCase::ALL, &mut ii) }));
        }
        out.push(Plant::Pair);
    }
    out
}

/// Per-run generation parameters shared by all subjects.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub cfg: &'a SynthConfig,
    pub ids: Ids,
    /// Probability that a subject has any admission.
    pub p_admitted: f64,
    /// Mean admissions beyond the first for admitted subjects.
    pub extra_adm: f64,
}

fn ts(y: i64, m: u32, d: u32, h: u32, mi: u32, s: u32) -> Timestamp {
    Timestamp::from_parts(y, m, d, h, mi, s).expect("valid calendar fields")
}

fn add(t: Timestamp, secs: i64) -> Timestamp {
    Timestamp(t.0 + secs)
}

fn midnight(t: Timestamp) -> Timestamp {
    Timestamp(t.0 - t.0.rem_euclid(DAY))
}

/// Builds subjects; one per call, from that subject's own stream.
pub(crate) struct Builder<'a> {
    ctx: Ctx<'a>,
    rng: Stream,
    sub: Subject,
    next_cxr_slot: usize,
    next_ecg_slot: usize,
}

impl<'a> Builder<'a> {
    pub(crate) fn new(ctx: Ctx<'a>, index: usize, role: Role) -> Self {
        let seed = ctx.cfg.seed;
        let mut rng = Stream::new(seed, crate::rng::Purpose::Subject, index as u64);
        let anchor_year = rng.int(2110, 2200);
        let age = (rng.int(18, 91) + rng.int(18, 91)) / 2;
        let sub = Subject {
            index,
            subject_id: ctx.ids.subject_id(seed, index),
            in_patients: role != Role::Orphan,
            gender: if rng.chance(0.52) { "F" } else { "M" },
            anchor_age: age,
            anchor_year,
            anchor_group: rng.pick_str(catalog::ANCHOR_YEAR_GROUPS),
            dod: None,
            admissions: Vec::new(),
            studies: Vec::new(),
            images: Vec::new(),
            ecgs: Vec::new(),
            labs: Vec::new(),
            extra_chexpert: Vec::new(),
            planted: matches!(role, Role::Planted(_)),
        };
        Self { ctx, rng, sub, next_cxr_slot: 0, next_ecg_slot: 0 }
    }

    // ---------- admissions ----------

    fn admission(&mut self, admit: Timestamp, los_secs: i64, expire: bool) -> Admission {
        let k = self.sub.admissions.len();
        let r = &mut self.rng;
        let disch = add(admit, los_secs);
        let admission_type = r.pick_str(catalog::ADMISSION_TYPES);
        let emergency = admission_type.contains("EMER") || admission_type.contains("OBSERVATION");
        let ed = if emergency && r.chance(0.8) {
            let reg = add(admit, -r.int(30, 10 * 60) * 60);
            Some((reg, add(admit, r.int(5, 60) * 60)))
        } else {
            None
        };
        Admission {
            hadm_id: self.ctx.ids.hadm_id(self.sub.index, k),
            admit,
            disch,
            death: expire.then_some(if self.ctx.cfg.deathtime_midnight { midnight(disch) } else { disch }),
            admission_type,
            provider: r.int(0, 0xF_FFFF) as u32,
            admission_location: r.pick_str(catalog::ADMISSION_LOCATIONS),
            discharge_location: if expire { "DIED" } else { r.pick_str(catalog::DISCHARGE_LOCATIONS) },
            insurance: r.pick_str(catalog::INSURANCE),
            language: r.pick_str(catalog::LANGUAGE),
            marital: r.pick_str(catalog::MARITAL),
            race: r.pick_str(catalog::RACE),
            ed,
            planted: None,
        }
    }

    fn random_admit(&mut self, year_from: i64) -> Timestamp {
        let r = &mut self.rng;
        let day = r.int(0, 3 * 365);
        add(ts(year_from, 1, 1, 0, 0, 0), day * DAY + r.int(0, 24 * 60 - 1) * 60)
    }

    fn los(&mut self) -> i64 {
        let h = (4.0 * 24.0 * (0.8 * self.rng.normal()).exp()).clamp(6.0, 60.0 * 24.0);
        (h * 60.0) as i64 * 60
    }

    // ---------- CXR ----------

    fn image_size(&mut self, img: ImgCase) -> (u32, u32) {
        let r = &mut self.rng;
        match self.ctx.cfg.cxr_size {
            CxrSize::Full => (r.int(2400, 3056) as u32, r.int(2000, 3050) as u32),
            CxrSize::Small => match img {
                ImgCase::Tiny64 => (r.int(64, 96) as u32, 64),
                ImgCase::Square => {
                    let s = r.int(100, 400) as u32;
                    (s, s)
                }
                ImgCase::Square320 => (320, 320),
                ImgCase::Short320 => (r.int(330, 420) as u32, 320),
                ImgCase::Landscape => {
                    let h = r.int(100, 250) as u32;
                    (h, h + r.int(40, 150) as u32)
                }
                ImgCase::Large => (r.int(380, 420) as u32, r.int(330, 400) as u32),
                ImgCase::Random => {
                    let h = r.int(100, 400);
                    let w = (h as f64 * (0.75 + 0.5 * r.f64())) as i64;
                    (h as u32, w.clamp(64, 420) as u32)
                }
            },
        }
    }

    fn chexpert_labels(&mut self) -> [i8; 14] {
        let mut l = [2i8; 14];
        for v in &mut l {
            let x = self.rng.f64();
            *v = if x < 0.6 {
                2
            } else if x < 0.8 {
                1
            } else if x < 0.92 {
                0
            } else {
                -1
            };
        }
        l
    }

    /// Adds a study at `time` (+ `frac_ms`) with one image per view; returns
    /// the study index, or `None` when the subject's study slots are used up.
    fn study(&mut self, time: Timestamp, frac_ms: u16, views: &[&'static str], chexpert: bool) -> Option<usize> {
        if self.next_cxr_slot >= CXR_SLOTS as usize - 2 {
            return None;
        }
        let study_id = self.ctx.ids.cxr_study_id(self.sub.index, self.next_cxr_slot);
        self.next_cxr_slot += 1;
        // As few digits as the fraction needs: `.84`, `.691`, `.5`.
        let frac_digits = match frac_ms {
            0 => 0,
            f if f % 100 == 0 => 1,
            f if f % 10 == 0 => 2,
            _ => 3,
        };
        let procedure =
            if views.contains(&"AP") { catalog::CXR_PROCEDURES[1] } else { self.rng.pick_str(catalog::CXR_PROCEDURES) };
        let labels = self.chexpert_labels();
        self.sub.studies.push(Study {
            study_id,
            time,
            frac_ms,
            frac_digits,
            procedure,
            chexpert: chexpert.then_some(labels),
        });
        let s = self.sub.studies.len() - 1;
        for &view in views {
            self.image(s, view, ImgCase::Random, FileState::Write);
        }
        Some(s)
    }

    fn image(&mut self, study: usize, view: &'static str, img: ImgCase, file: FileState) {
        let (rows, cols) = self.image_size(img);
        let r = &mut self.rng;
        // MIMIC-CXR-JPG is quality 95 throughout; small images vary it.
        let quality = match self.ctx.cfg.cxr_size {
            CxrSize::Full => 95,
            CxrSize::Small => *r.pick(&[75u8, 85, 90, 95]),
        };
        let dicom_id = crate::ids::dicom_id(r.u64(), r.u64(), r.u64());
        let planted = self.sub.planted;
        self.sub.images.push(Image { dicom_id, study, view, rows, cols, quality, file, planted });
    }

    fn random_frac(&mut self) -> u16 {
        if self.rng.chance(0.3) { 0 } else { self.rng.int(1, 999) as u16 }
    }

    fn background_study(&mut self, time: Timestamp) {
        let r = &mut self.rng;
        let x = r.f64();
        let views: &[&'static str] = if x < 0.45 {
            &["PA", "LATERAL"]
        } else if x < 0.9 {
            &["AP"]
        } else if x < 0.95 {
            &["AP", "AP"]
        } else if x < 0.975 {
            &["LL"]
        } else {
            &[""]
        };
        let chexpert = r.chance(0.985);
        let frac = self.random_frac();
        if self.study(time, frac, views, chexpert).is_some() {
            // A few background images are absent from disk.
            let first = self.sub.images.len() - views.len();
            for i in first..self.sub.images.len() {
                if self.rng.chance(0.01) {
                    self.sub.images[i].file = FileState::Missing;
                }
            }
        }
    }

    // ---------- ECG ----------

    fn ecg(&mut self, time: Timestamp, kind: EcgKind, gain: Option<u16>) {
        if self.next_ecg_slot >= ECG_SLOTS as usize {
            return;
        }
        let study_id = self.ctx.ids.ecg_study_id(self.sub.index, self.next_ecg_slot);
        self.next_ecg_slot += 1;
        let gain = gain.unwrap_or_else(|| if self.rng.chance(0.7) { 200 } else { 1000 });
        let planted = self.sub.planted;
        self.sub.ecgs.push(Ecg { study_id, time, kind, gain, planted });
    }

    fn background_ecg_kind(&mut self) -> EcgKind {
        let x = self.rng.f64();
        if x < 0.01 {
            EcgKind::Nan
        } else if x < 0.013 {
            EcgKind::Zero
        } else {
            EcgKind::Normal
        }
    }

    // ---------- labs ----------

    fn lab_value(&mut self, item: usize) -> i64 {
        let it = &ITEMS[item];
        let z = self.rng.normal();
        let v = if it.skewed { it.centre * (it.spread * z).exp() } else { it.centre + it.spread * z };
        let scale = 10f64.powi(i32::from(it.decimals));
        let mut q = (v * scale).round() as i64;
        if it.itemid != 50802 {
            q = q.max(1);
        }
        q
    }

    fn lab(&mut self, hadm: Option<i64>, specimen: u32, item: usize, time: Timestamp, value: Option<i64>) {
        let r = &mut self.rng;
        let store_min = if r.chance(0.9) { Some(r.int(10, 300) as u16) } else { None };
        let provider = if r.chance(0.6) { Some(r.int(0, 0xF_FFFF) as u32) } else { None };
        let priority = r.int(0, 2) as u8;
        let comment = if r.chance(0.03) { Some(r.int(0, catalog::LAB_COMMENTS.len() as i64 - 1) as u8) } else { None };
        let blank_text = r.int(0, catalog::BLANK_VALUES.len() as i64 - 1) as u8;
        self.sub.labs.push(Lab {
            hadm_id: hadm,
            specimen,
            item: item as u16,
            time,
            store_min,
            value,
            blank_text,
            provider,
            priority,
            comment,
            swap_id_with_next: false,
        });
    }

    /// Planted helper: one lab row with a fresh random value (or blank).
    fn lab_at(&mut self, hadm: Option<i64>, itemid: u32, time: Timestamp, valued: bool) {
        let item = catalog::item_index(itemid);
        let value = valued.then(|| self.lab_value(item));
        let specimen = self.rng.int(10_000_000, 99_999_999) as u32;
        self.lab(hadm, specimen, item, time, value);
    }

    /// One draw: a few panels at `time`; `force_cbc` keeps the CBC in.
    fn draw(&mut self, hadm: Option<i64>, time: Timestamp, force_cbc: bool) {
        let specimen = self.rng.int(10_000_000, 99_999_999) as u32;
        let mut any = false;
        for (p, panel) in catalog::PANELS.iter().enumerate() {
            let take = (p == 0 && force_cbc) || self.rng.chance(catalog::PANEL_ODDS[p]);
            if !take {
                continue;
            }
            for &itemid in *panel {
                let item = catalog::item_index(itemid);
                let keep = self.rng.chance(0.97) || (force_cbc && p == 0);
                if !keep {
                    continue;
                }
                // The forced CBC is never blank, so 51221 is present in nearly
                // every surviving admission: a lab column without NaN in train,
                // which the planted `lacks_always` admissions then break.
                let blank = self.rng.chance(0.015) && !(force_cbc && p == 0);
                let value = if blank { None } else { Some(self.lab_value(item)) };
                let hadm = if self.rng.chance(0.03) { None } else { hadm };
                self.lab(hadm, specimen, item, add(time, 0), value);
                any = true;
            }
        }
        if !any {
            let item = catalog::item_index(51221);
            let v = self.lab_value(item);
            self.lab(hadm, specimen, item, time, Some(v));
        }
    }

    /// Mean rows of one [`Builder::draw`], used to turn row targets into draws.
    fn rows_per_draw() -> f64 {
        catalog::PANELS.iter().zip(catalog::PANEL_ODDS).map(|(p, o)| p.len() as f64 * o * 0.97).sum()
    }

    // ---------- background ----------

    pub(crate) fn background(mut self) -> Subject {
        let cfg = self.ctx.cfg;
        let admitted = self.rng.chance(self.ctx.p_admitted);
        let n_adm = if admitted { (1 + self.rng.count(self.ctx.extra_adm)).min(12) } else { 0 };
        let year0 = self.sub.anchor_year + self.rng.int(0, 2);
        let mut t = self.random_admit(year0);
        let rpd = Self::rows_per_draw();
        for _ in 0..n_adm {
            let los = self.los();
            let expire = self.rng.chance(0.03);
            let adm = self.admission(t, los, expire);
            let (admit, hadm) = (adm.admit, adm.hadm_id);
            self.sub.admissions.push(adm);
            // Labs.
            let draws = self.rng.count(cfg.labs_per_admission * 0.85 / rpd).max(1);
            let in_window = self.rng.chance(cfg.p_labs_window);
            for d in 0..draws {
                let delta = if d == 0 && in_window {
                    self.rng.int(-12 * HOUR, 20 * HOUR)
                } else if in_window {
                    self.rng.int(0, los.max(HOUR))
                } else {
                    self.rng.int(DAY + 60, (los + DAY).max(2 * DAY))
                };
                let time = add(admit, delta / 60 * 60);
                self.draw(Some(hadm), time, d == 0);
            }
            // CXR.
            if self.rng.chance(cfg.p_cxr_window) {
                let time = add(admit, self.rng.int(DAY + 60, 3 * DAY));
                self.background_study(time);
            }
            if self.rng.chance(0.3) {
                let time = add(admit, self.rng.int(-6 * HOUR, 20 * HOUR));
                self.background_study(time);
            }
            let extra = self.rng.count((cfg.cxr_studies_per_admission - cfg.p_cxr_window - 0.3).max(0.0));
            for _ in 0..extra {
                let time = add(admit, self.rng.int(3 * DAY + 60, (los + 3 * DAY).max(5 * DAY)));
                self.background_study(time);
            }
            // ECG.
            if self.rng.chance(cfg.p_ecg_window) {
                let time = add(admit, self.rng.int(-DAY + 1, DAY - 1));
                let kind = self.background_ecg_kind();
                self.ecg(time, kind, None);
            }
            let extra = self.rng.count((cfg.ecgs_per_admission - cfg.p_ecg_window).max(0.0));
            for _ in 0..extra {
                let delta = if self.rng.chance(0.5) {
                    self.rng.int(DAY + 60, (los + DAY).max(2 * DAY))
                } else {
                    -self.rng.int(2 * DAY, 400 * DAY)
                };
                let kind = self.background_ecg_kind();
                self.ecg(add(admit, delta), kind, None);
            }
            // Next admission: usually months later, sometimes a quick readmission.
            let gap = if self.rng.chance(0.06) {
                self.rng.int(2 * HOUR, 30 * HOUR)
            } else {
                (self.rng.f64() * 400.0 * DAY as f64) as i64 + DAY
            };
            t = add(admit, los + gap / 60 * 60);
        }
        // Outpatient labs (blank hadm_id), some of them near admissions.
        let out_draws = self.rng.count((n_adm.max(1) as f64) * cfg.labs_per_admission * 0.15 / rpd);
        for _ in 0..out_draws {
            let time = add(self.random_admit(year0), self.rng.int(-365, 365) * DAY);
            self.draw(None, time, false);
        }
        if n_adm == 0 && self.rng.chance(0.2) {
            let time = self.random_admit(year0);
            let kind = self.background_ecg_kind();
            self.ecg(time, kind, None);
        }
        if let Some(last) = self.sub.admissions.last().cloned() {
            if last.death.is_some() {
                self.sub.dod = Some(midnight(last.disch));
            } else if self.rng.chance(0.08) {
                self.sub.dod = Some(midnight(add(last.disch, self.rng.int(1, 900) * DAY)));
            }
        }
        if self.rng.chance(0.3) && self.sub.admissions.len() > 1 {
            self.sub.admissions.reverse();
        }
        self.sub.labs.sort_by_key(|l| l.time);
        self.sub.ecgs.sort_by_key(|e| e.time);
        self.sort_images_by_study_id();
        if self.rng.chance(0.002) {
            let labels = self.chexpert_labels();
            let id = self.ctx.ids.cxr_study_id(self.sub.index, CXR_SLOTS as usize - 1);
            self.sub.extra_chexpert.push((id, labels));
        }
        self.sub
    }

    fn sort_images_by_study_id(&mut self) {
        let studies = &self.sub.studies;
        self.sub.images.sort_by_key(|im| studies[im.study].study_id);
    }

    // ---------- planted ----------

    pub(crate) fn planted(mut self, plant: Plant) -> Subject {
        match plant {
            Plant::Single(cases) => {
                let t = self.random_admit(self.sub.anchor_year);
                let los = self.los().max(4 * DAY);
                let mut adm = self.admission(t, los, false);
                adm.planted = Some(Planted::Single(cases));
                let hadm = adm.hadm_id;
                self.sub.admissions.push(adm);
                self.plant_cxr(cases.cxr, cases.img, t);
                self.plant_ecg(cases.ecg, t);
                self.plant_labs(cases.labs, t, hadm);
            }
            Plant::Pair => self.plant_pair(),
        }
        self.sub
    }

    fn plant_cxr(&mut self, case: CxrCase, img: ImgCase, t: Timestamp) {
        let h = HOUR;
        // A good study whose first AP/PA image gets the geometry case.
        let good = |b: &mut Self, at: Timestamp, frac: u16, chex: bool| -> Option<usize> {
            let s = b.study(at, frac, &[], chex)?;
            let view = if b.rng.chance(0.5) { "AP" } else { "PA" };
            b.image(s, view, img, FileState::Write);
            if b.rng.chance(0.5) {
                b.image(s, "LATERAL", ImgCase::Random, FileState::Write);
            }
            Some(s)
        };
        let only = |b: &mut Self, at: Timestamp, frac: u16, view: &'static str, file: FileState| {
            if let Some(s) = b.study(at, frac, &[], true) {
                b.image(s, view, ImgCase::Random, file);
            }
        };
        let mid = add(t, self.rng.int(30 * h, 66 * h));
        match case {
            CxrCase::Good => {
                let f = self.random_frac();
                good(self, mid, f, true);
            }
            CxrCase::Exact24Only => only(self, add(t, 24 * h), 0, "AP", FileState::Write),
            CxrCase::Exact24ThenGood => {
                only(self, add(t, 24 * h), 0, "PA", FileState::Write);
                good(self, add(t, 30 * h), 0, true);
            }
            CxrCase::Frac24ThenGood => {
                only(self, add(t, 24 * h), 999, "AP", FileState::Write);
                good(self, add(t, 41 * h + 17), 250, true);
            }
            CxrCase::JustAfter24 => {
                good(self, add(t, 24 * h + 1), 0, true);
                only(self, add(t, 50 * h), 0, "AP", FileState::Write);
            }
            CxrCase::Exact72 => {
                good(self, add(t, 72 * h), 0, true);
                only(self, add(t, 72 * h + 1), 0, "AP", FileState::Write);
            }
            CxrCase::Exact72Frac => {
                good(self, add(t, 72 * h), 870, true);
            }
            CxrCase::After72Only => only(self, add(t, 72 * h + 1), 0, "PA", FileState::Write),
            CxrCase::BeforeWindowOnly => {
                only(self, add(t, -2 * h), 0, "AP", FileState::Write);
                only(self, add(t, 12 * h), 400, "AP", FileState::Write);
            }
            CxrCase::EarlyMorning => {
                // 00:40:01.84 two days after the admission day: StudyTime `4001.84`.
                let at = add(midnight(t), 2 * DAY + 40 * 60 + 1);
                good(self, at, 840, true);
            }
            CxrCase::VeryEarly => {
                // 00:00:07 two days after the admission day: StudyTime `7.0`.
                let at = add(midnight(t), 2 * DAY + 7);
                good(self, at, 0, true);
            }
            CxrCase::TieSameStudy => {
                if let Some(s) = self.study(mid, 0, &[], true) {
                    self.image(s, "LATERAL", ImgCase::Random, FileState::Write);
                    self.image(s, "AP", img, FileState::Write);
                    self.image(s, "AP", ImgCase::Random, FileState::Write);
                }
            }
            CxrCase::TieDiffStudy => {
                let f = self.random_frac();
                good(self, mid, f, true);
                only(self, mid, f, "PA", FileState::Write);
            }
            CxrCase::LateralFirst => {
                only(self, add(t, 30 * h), 0, "LATERAL", FileState::Write);
                good(self, add(t, 50 * h), 0, true);
            }
            CxrCase::OddViewsFirst | CxrCase::OddViewsOnly => {
                for (i, v) in ["LL", "", "AP AXIAL", "PA LLD"].into_iter().enumerate() {
                    only(self, add(t, (25 + i as i64) * h), 0, v, FileState::Write);
                }
                if case == CxrCase::OddViewsFirst {
                    good(self, add(t, 45 * h), 0, true);
                }
            }
            CxrCase::MissingJpgFirst => {
                only(self, add(t, 30 * h), 0, "AP", FileState::Missing);
                good(self, add(t, 35 * h), 0, true);
            }
            CxrCase::MissingJpgOnly => only(self, add(t, 30 * h), 0, "AP", FileState::Missing),
            CxrCase::NoChexpertFirst => {
                if let Some(s) = self.study(add(t, 30 * h), 0, &[], false) {
                    self.image(s, "AP", ImgCase::Random, FileState::Write);
                }
                good(self, add(t, 35 * h), 0, true);
            }
            CxrCase::UnsortedMulti => {
                for hours in [60, 33, 47] {
                    only(self, add(t, hours * h), 0, "AP", FileState::Write);
                }
                good(self, add(t, 28 * h), 120, true);
                only(self, add(t, 52 * h), 0, "PA", FileState::Write);
            }
            CxrCase::SixteenTie => {
                // 16 candidates (numpy's quicksort is still an insertion sort
                // there), with the minimum tied between the 3rd and the 11th.
                let tmin = add(t, 26 * h);
                for k in 0..16 {
                    let at = if k == 2 || k == 10 { tmin } else { add(t, (27 + 2 * k) * h) };
                    if k == 2 {
                        good(self, at, 0, true);
                    } else {
                        only(self, at, 0, "AP", FileState::Write);
                    }
                }
            }
            CxrCase::NoCxr => {}
        }
        // Every planted subject also has an admission-time CXR (outside the window).
        let f = self.random_frac();
        let at = add(t, self.rng.int(-4 * h, 6 * h));
        only(self, at, f, "AP", FileState::Write);
    }

    fn plant_ecg(&mut self, case: EcgCase, t: Timestamp) {
        let h = HOUR;
        let n = EcgKind::Normal;
        let r = self.rng.int(-20 * h, 20 * h);
        match case {
            EcgCase::Good => {
                self.ecg(add(t, r), n, None);
            }
            EcgCase::ExactM24 => {
                self.ecg(add(t, -24 * h), n, None);
                self.ecg(add(t, 2 * h), n, None);
            }
            EcgCase::ExactP24Only => {
                self.ecg(add(t, 24 * h), n, None);
            }
            EcgCase::BeforeM24Only => {
                self.ecg(add(t, -24 * h - 1), n, None);
            }
            EcgCase::AfterP24Only => {
                self.ecg(add(t, 24 * h + 1), n, None);
            }
            EcgCase::BeforeM24ThenGood => {
                self.ecg(add(t, -30 * h), n, None);
                self.ecg(add(t, 3 * h), n, None);
            }
            EcgCase::BeforeAdmEarliest => {
                self.ecg(add(t, -5 * h), n, None);
                self.ecg(add(t, h), n, None);
            }
            EcgCase::NanFirst => {
                self.ecg(add(t, -2 * h), EcgKind::Nan, None);
                self.ecg(add(t, h), n, None);
            }
            EcgCase::NanOnly => {
                self.ecg(add(t, h), EcgKind::Nan, None);
            }
            EcgCase::ZeroFirst => {
                self.ecg(add(t, -h), EcgKind::Zero, None);
                self.ecg(add(t, 2 * h), n, None);
            }
            EcgCase::ZeroOnly => {
                self.ecg(add(t, h), EcgKind::Zero, None);
            }
            EcgCase::Tie => {
                self.ecg(add(t, h), n, None);
                self.ecg(add(t, h), n, None);
            }
            EcgCase::TieInvalidFirst => {
                self.ecg(add(t, h), EcgKind::Nan, None);
                self.ecg(add(t, h), n, None);
                self.ecg(add(t, h), n, None);
            }
            EcgCase::UnsortedMulti => {
                for hours in [10, -3, 20] {
                    self.ecg(add(t, hours * h + r % 60), n, None);
                }
            }
            EcgCase::Gain1000 => {
                self.ecg(add(t, r), n, Some(1000));
            }
            EcgCase::Gain200 => {
                self.ecg(add(t, r), n, Some(200));
            }
            EcgCase::Constant => {
                self.ecg(add(t, r), EcgKind::Constant, None);
            }
            EcgCase::NoEcg => {}
        }
        // A far-away ECG (outside every window) for realism.
        let far = add(t, -self.rng.int(40, 400) * DAY);
        self.ecg(far, n, None);
    }

    fn plant_labs(&mut self, case: LabCase, t: Timestamp, hadm: i64) {
        let h = HOUR;
        let hadm = Some(hadm);
        let early = add(t, self.rng.int(-10 * h, 10 * h) / 60 * 60);
        // Later draws of the stay, outside the window.
        let later = |b: &mut Self| {
            for d in 2..4 {
                let at = add(t, d * DAY + b.rng.int(0, 8 * h) / 60 * 60);
                b.draw(hadm, at, true);
            }
        };
        match case {
            LabCase::Good => {
                self.draw(hadm, early, true);
                self.draw(hadm, add(early, 6 * h), false);
            }
            LabCase::Boundary => {
                // -24 h and +24 h are in, one second further is out.
                self.lab_at(hadm, 50813, add(t, -24 * h), true);
                self.lab_at(hadm, 50813, add(t, -24 * h - 1), true);
                self.lab_at(hadm, 50910, add(t, 24 * h), true);
                self.lab_at(hadm, 52135, add(t, 24 * h + 1), true);
                self.lab_at(hadm, 52135, add(t, -24 * h - 1), true);
                for id in [51221, 50912, 50983] {
                    self.lab_at(hadm, id, add(t, h), true);
                }
            }
            LabCase::Tie | LabCase::TieIdSwapped => {
                // Same itemid, same charttime, different values: file order wins.
                // An earlier row of that item has a blank valuenum and is ignored.
                self.lab_at(hadm, 50971, add(early, -h), false);
                for id in [51221, 50971, 50971, 50912] {
                    self.lab_at(hadm, id, early, true);
                }
                if case == LabCase::TieIdSwapped {
                    let n = self.sub.labs.len();
                    self.sub.labs[n - 3].swap_id_with_next = true;
                }
            }
            LabCase::NanEarliest => {
                self.lab_at(hadm, 51221, add(t, 5 * h), true);
                self.lab_at(hadm, 50931, add(t, -3 * h), false);
                self.lab_at(hadm, 50931, add(t, 2 * h), true);
                self.lab_at(hadm, 51222, add(t, 2 * h), true);
            }
            LabCase::OnlyNan => {
                for id in [51221, 51265, 50912, 50971] {
                    self.lab_at(hadm, id, early, false);
                }
                self.lab_at(hadm, 51491, early, true);
            }
            LabCase::OnlyNonTop => {
                for id in [50809, 50811, 51491, 51498, 50852] {
                    self.lab_at(hadm, id, early, true);
                }
            }
            LabCase::OutsideOnly => {
                self.draw(hadm, add(t, -30 * h), true);
                self.draw(hadm, add(t, 30 * h), true);
            }
            LabCase::NoLabs => {}
            LabCase::Outpatient => self.draw(None, early, true),
            LabCase::Sparse => {
                self.lab_at(hadm, 51221, early, true);
                self.lab_at(hadm, 50862, early, true);
                self.lab_at(hadm, 50820, add(early, 30 * 60), true);
            }
            LabCase::Unsorted => {
                // The later value comes first in the file.
                self.lab_at(hadm, 51265, add(t, 10 * h), true);
                self.lab_at(hadm, 51265, add(t, -5 * h), true);
                self.lab_at(hadm, 51221, add(t, 4 * h), true);
                self.lab_at(hadm, 51221, add(t, 3 * h), true);
            }
            LabCase::LacksAlways => {
                // A CBC and a chemistry panel without 51221, the lab nearly
                // every other survivor has.
                let specimen = self.rng.int(10_000_000, 99_999_999) as u32;
                let panels = catalog::PANELS[0].iter().chain(catalog::PANELS[1]).chain(catalog::PANELS[2]);
                for &id in panels.filter(|&&id| id != 51221) {
                    let item = catalog::item_index(id);
                    let v = self.lab_value(item);
                    self.lab(hadm, specimen, item, early, Some(v));
                }
            }
        }
        if case != LabCase::NoLabs {
            later(self);
        }
    }

    fn plant_pair(&mut self) {
        // Admission A at t, B at t+40h: they share the ECG at t+20h and the
        // CXR at t+70h; A's labs at t+30h fall in B's window only.
        let h = HOUR;
        let t = self.random_admit(self.sub.anchor_year);
        let mut a = self.admission(t, 38 * h, false);
        a.planted = Some(Planted::Pair(PairSide::First));
        self.sub.admissions.push(a);
        let mut b = self.admission(add(t, 40 * h), 5 * DAY, false);
        b.planted = Some(Planted::Pair(PairSide::Second));
        self.sub.admissions.push(b);
        let (ha, hb) = (self.sub.admissions[0].hadm_id, self.sub.admissions[1].hadm_id);
        // File order: the later admission first.
        self.sub.admissions.swap(0, 1);
        self.ecg(add(t, 20 * h), EcgKind::Normal, None);
        if let Some(s) = self.study(add(t, 70 * h), 0, &[], true) {
            self.image(s, "AP", ImgCase::Random, FileState::Write);
        }
        self.draw(Some(ha), add(t, h), true);
        self.draw(Some(ha), add(t, 30 * h), true);
        self.draw(Some(hb), add(t, 4 * DAY), true);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn unique(names: impl IntoIterator<Item = &'static str>) -> bool {
        let names: Vec<_> = names.into_iter().collect();
        names.iter().collect::<BTreeSet<_>>().len() == names.len()
    }

    #[test]
    fn case_names_are_unique_per_modality() {
        assert!(unique(CxrCase::ALL.iter().map(|c| c.name())));
        assert!(unique(EcgCase::ALL.iter().map(|c| c.name())));
        assert!(unique(LabCase::ALL.iter().map(|c| c.name())));
        assert!(unique(ImgCase::ALL.iter().map(|c| c.name())));
    }

    #[test]
    fn every_case_is_planted_and_constant_only_when_nasty() {
        let singles = |cfg: &SynthConfig| -> Vec<Cases> {
            plan_cases(cfg).into_iter().filter_map(|p| if let Plant::Single(c) = p { Some(c) } else { None }).collect()
        };
        let nasty = singles(&SynthConfig { nasty: true, ..SynthConfig::default() });
        assert!(CxrCase::ALL.iter().all(|c| nasty.iter().any(|p| p.cxr == *c)));
        assert!(EcgCase::ALL.iter().all(|c| nasty.iter().any(|p| p.ecg == *c)));
        assert!(LabCase::ALL.iter().all(|c| nasty.iter().any(|p| p.labs == *c)));
        assert!(ImgCase::ALL.iter().all(|c| nasty.iter().any(|p| p.img == *c)));
        let plain = singles(&SynthConfig::default());
        assert_eq!(plain.len() + 1, nasty.len());
        assert!(plain.iter().all(|p| p.ecg != EcgCase::Constant));
        // A case that fails its rule is planted only as itself, never as a filler.
        assert!(
            plain.iter().all(|p| [p.cxr.found(), p.ecg.found(), p.labs.found()].iter().filter(|f| !**f).count() <= 1)
        );
    }
}
