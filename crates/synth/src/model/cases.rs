//! The planted edge cases: one enum per modality (each case with the name the
//! manifest records and whether stage 1 finds what it needs), and which
//! planted subject gets which cases.

use crate::SynthConfig;

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
