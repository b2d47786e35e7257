//! The builder of one subject and the rows it adds one at a time (an
//! admission, a CXR study and its images, an ECG, a lab draw), shared by
//! background and planted subjects.

use mimic_io::Timestamp;

use super::cases::{ImgCase, Role};
use super::rows::{Admission, Ecg, EcgKind, FileState, Image, Lab, Study, Subject};
use super::{DAY, add, midnight, ts};
use crate::catalog::{self, ITEMS};
use crate::ids::{CXR_SLOTS, ECG_SLOTS, Ids};
use crate::rng::Stream;
use crate::{CxrSize, SynthConfig};

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

/// Builds subjects; one per call, from that subject's own stream.
pub(crate) struct Builder<'a> {
    pub(super) ctx: Ctx<'a>,
    pub(super) rng: Stream,
    pub(super) sub: Subject,
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

    pub(super) fn admission(&mut self, admit: Timestamp, los_secs: i64, expire: bool) -> Admission {
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

    pub(super) fn random_admit(&mut self, year_from: i64) -> Timestamp {
        let r = &mut self.rng;
        let day = r.int(0, 3 * 365);
        add(ts(year_from, 1, 1, 0, 0, 0), day * DAY + r.int(0, 24 * 60 - 1) * 60)
    }

    pub(super) fn los(&mut self) -> i64 {
        let h = (4.0 * 24.0 * (0.8 * self.rng.normal()).exp()).clamp(6.0, 60.0 * 24.0);
        (h * 60.0) as i64 * 60
    }

    // ---------- CXR ----------

    pub(super) fn image_size(&mut self, img: ImgCase) -> (u32, u32) {
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

    pub(super) fn chexpert_labels(&mut self) -> [i8; 14] {
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
    pub(super) fn study(
        &mut self,
        time: Timestamp,
        frac_ms: u16,
        views: &[&'static str],
        chexpert: bool,
    ) -> Option<usize> {
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

    pub(super) fn image(&mut self, study: usize, view: &'static str, img: ImgCase, file: FileState) {
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

    pub(super) fn random_frac(&mut self) -> u16 {
        if self.rng.chance(0.3) { 0 } else { self.rng.int(1, 999) as u16 }
    }

    // ---------- ECG ----------

    pub(super) fn ecg(&mut self, time: Timestamp, kind: EcgKind, gain: Option<u16>) {
        if self.next_ecg_slot >= ECG_SLOTS as usize {
            return;
        }
        let study_id = self.ctx.ids.ecg_study_id(self.sub.index, self.next_ecg_slot);
        self.next_ecg_slot += 1;
        let gain = gain.unwrap_or_else(|| if self.rng.chance(0.7) { 200 } else { 1000 });
        let planted = self.sub.planted;
        self.sub.ecgs.push(Ecg { study_id, time, kind, gain, planted });
    }

    // ---------- labs ----------

    pub(super) fn lab_value(&mut self, item: usize) -> i64 {
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

    pub(super) fn lab(&mut self, hadm: Option<i64>, specimen: u32, item: usize, time: Timestamp, value: Option<i64>) {
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

    /// One draw: a few panels at `time`; `force_cbc` keeps the CBC in.
    pub(super) fn draw(&mut self, hadm: Option<i64>, time: Timestamp, force_cbc: bool) {
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
    pub(super) fn rows_per_draw() -> f64 {
        catalog::PANELS.iter().zip(catalog::PANEL_ODDS).map(|(p, o)| p.len() as f64 * o * 0.97).sum()
    }
}
