//! Background subjects: rough MIMIC proportions of admissions per subject,
//! lab draws clustered around stays, CXRs and ECGs near some admissions.

use mimic_io::Timestamp;
use mimic_io::time::HOUR;

use super::builder::Builder;
use super::rows::{EcgKind, FileState, Subject};
use super::{DAY, add, midnight};
use crate::ids::CXR_SLOTS;

impl Builder<'_> {
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
}
