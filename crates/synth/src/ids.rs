//! Identifiers: unique, MIMIC-looking, and computable per subject.
//!
//! Real MIMIC ids are 8-digit integers in fixed ranges (subjects 1xxxxxxx,
//! admissions 2xxxxxxx, ECG studies 4xxxxxxx, CXR studies 5xxxxxxx) that look
//! random. Each subject owns a fixed block of "slots" per id kind; a keyed
//! permutation (a Feistel network with cycle walking) maps slots to ids, so
//! ids are unique without any global counter or set, which lets subjects be
//! generated in parallel.

use crate::rng::mix64;

/// A keyed bijection of `0..domain`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Permutation {
    domain: u64,
    half_bits: u32,
    key: u64,
}

impl Permutation {
    pub(crate) fn new(domain: u64, key: u64) -> Self {
        let bits = 64 - (domain.max(4) - 1).leading_zeros();
        let half_bits = bits.div_ceil(2);
        Self { domain, half_bits, key }
    }

    fn round(&self, r: u32, x: u64) -> u64 {
        mix64(self.key ^ mix64(u64::from(r) << 40 ^ x)) & ((1 << self.half_bits) - 1)
    }

    fn feistel(&self, x: u64) -> u64 {
        let mask = (1u64 << self.half_bits) - 1;
        let (mut l, mut r) = (x >> self.half_bits, x & mask);
        for round in 0..4 {
            let next = l ^ self.round(round, r);
            l = r;
            r = next;
        }
        (l << self.half_bits) | r
    }

    /// The image of `x` (`x < domain`).
    pub(crate) fn apply(&self, x: u64) -> u64 {
        debug_assert!(x < self.domain);
        let mut y = self.feistel(x);
        while y >= self.domain {
            y = self.feistel(y);
        }
        y
    }
}

/// Admissions per subject slot block (a subject never has more).
pub(crate) const ADM_SLOTS: u64 = 16;
/// CXR studies per subject slot block.
pub(crate) const CXR_SLOTS: u64 = 32;
/// ECG studies per subject slot block.
pub(crate) const ECG_SLOTS: u64 = 32;

/// The id allocators of one run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ids {
    subjects: u64,
    hadm: Permutation,
    cxr: Permutation,
    ecg: Permutation,
}

impl Ids {
    pub(crate) fn new(seed: u64, subjects: u64) -> Self {
        let dom = |slots: u64| (subjects * slots).max(10_000_000);
        Self {
            subjects,
            hadm: Permutation::new(dom(ADM_SLOTS), mix64(seed ^ 0x4841_444D)),
            cxr: Permutation::new(dom(CXR_SLOTS), mix64(seed ^ 0x4358_5252)),
            ecg: Permutation::new(dom(ECG_SLOTS), mix64(seed ^ 0x4543_4721)),
        }
    }

    /// Subject ids increase with the subject index (MIMIC tables are sorted by
    /// subject), spaced evenly over 10000000..19999999 with a seeded jitter.
    pub(crate) fn subject_id(&self, seed: u64, index: usize) -> i64 {
        let stride = (9_000_000 / self.subjects.max(1)).max(1);
        let jitter = mix64(seed ^ mix64(index as u64 ^ 0x5355_424A)) % stride;
        10_000_000 + (index as u64 * stride + jitter) as i64
    }

    pub(crate) fn hadm_id(&self, index: usize, k: usize) -> i64 {
        debug_assert!((k as u64) < ADM_SLOTS);
        20_000_000 + self.hadm.apply(index as u64 * ADM_SLOTS + k as u64) as i64
    }

    pub(crate) fn cxr_study_id(&self, index: usize, k: usize) -> i64 {
        debug_assert!((k as u64) < CXR_SLOTS);
        50_000_000 + self.cxr.apply(index as u64 * CXR_SLOTS + k as u64) as i64
    }

    pub(crate) fn ecg_study_id(&self, index: usize, k: usize) -> i64 {
        debug_assert!((k as u64) < ECG_SLOTS);
        40_000_000 + self.ecg.apply(index as u64 * ECG_SLOTS + k as u64) as i64
    }
}

/// A DICOM id like MIMIC-CXR-JPG's: five groups of eight lowercase hex digits.
pub(crate) fn dicom_id(a: u64, b: u64, c: u64) -> String {
    let words = [(a >> 32) as u32, a as u32, (b >> 32) as u32, b as u32, (c >> 32) as u32];
    let parts: Vec<String> = words.iter().map(|w| format!("{w:08x}")).collect();
    parts.join("-")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn permutation_is_a_bijection() {
        for domain in [5u64, 1000, 4097] {
            let p = Permutation::new(domain, 99);
            let seen: BTreeSet<u64> = (0..domain).map(|x| p.apply(x)).collect();
            assert_eq!(seen.len() as u64, domain);
            assert_eq!(*seen.iter().next_back().unwrap(), domain - 1);
        }
    }

    #[test]
    fn ids_are_unique_and_in_range() {
        let ids = Ids::new(3, 5000);
        let mut subjects = Vec::new();
        let mut hadm = BTreeSet::new();
        for i in 0..5000 {
            subjects.push(ids.subject_id(3, i));
            for k in 0..3 {
                assert!(hadm.insert(ids.hadm_id(i, k)));
            }
        }
        assert!(subjects.windows(2).all(|w| w[0] < w[1]));
        assert!(subjects.iter().all(|s| (10_000_000..20_000_000).contains(s)));
        assert!(hadm.iter().all(|h| (20_000_000..30_000_000).contains(h)));
        assert_eq!(dicom_id(0x0123_4567_89ab_cdef, 1, u64::MAX), "01234567-89abcdef-00000000-00000001-ffffffff");
    }
}
