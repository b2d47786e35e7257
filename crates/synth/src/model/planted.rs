//! Planted subjects: one admission each (two for the pair) whose CXR, ECG and
//! lab events are laid out so that one rule of SPEC stage 1 is exercised
//! exactly: window edges, ties, invalid records, missing files.

use mimic_io::Timestamp;
use mimic_io::time::HOUR;

use super::builder::Builder;
use super::cases::{CxrCase, EcgCase, ImgCase, LabCase, PairSide, Plant, Planted};
use super::rows::{EcgKind, FileState, Subject};
use super::{DAY, add, midnight};
use crate::catalog;

impl Builder<'_> {
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

    /// One lab row of `itemid` with a fresh random value (or blank).
    fn lab_at(&mut self, hadm: Option<i64>, itemid: u32, time: Timestamp, valued: bool) {
        let item = catalog::item_index(itemid);
        let value = valued.then(|| self.lab_value(item));
        let specimen = self.rng.int(10_000_000, 99_999_999) as u32;
        self.lab(hadm, specimen, item, time, value);
    }
}
