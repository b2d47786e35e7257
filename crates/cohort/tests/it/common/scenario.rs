//! The hand-made inputs several tests share: the scenario that exercises
//! every selection rule of stage 1, and a one-admission cohort.

use super::{Fixture, Sig};

pub const S1: i64 = 10000001;
pub const S2: i64 = 10000002;
pub const S3: i64 = 10000003;
pub const S4: i64 = 10000004;
pub const S5: i64 = 10000005;
pub const S6: i64 = 10000006;
pub const T: &str = "2150-01-10 12:00:00";
pub const LABELS: &str = "1.0,,0.0,-1.0,,,,,,,,,,";

/// The scenario described in each line's comment.
pub fn scenario() -> Fixture {
    let mut f = Fixture::new();
    f.patient(S1, "65", "2150", "2150-01-20");
    f.patient(S2, "50", "2150", "");
    f.patient(S3, "70", "2149", "");
    f.patient(S4, "40", "2150", "");
    f.patient(S6, "30", "2150", ""); // S5 is missing: a left-join gap
    f.admission(S1, 20000001, T, "2150-01-20 00:00:00");
    f.admission(S1, 20000002, "2150-01-10 13:00:00", ""); // T + 1 h: shares CXR/ECG, different labs
    f.admission(S2, 20000003, T, "");
    f.admission(S3, 20000004, T, "");
    f.admission(S4, 20000005, T, "");
    f.admission(S5, 20000006, T, "");
    f.admission(S6, 20000007, T, "");

    // S1 images.
    f.cxr("d-exact24", S1, 50000001, "AP", "21500111", "120000.999", true); // truncates to exactly +24 h: out
    f.cxr("d-lateral", S1, 50000002, "LATERAL", "21500111", "130000", true); // not AP/PA
    f.cxr("d-missing", S1, 50000003, "AP", "21500111", "180000", false); // +30 h, no JPG
    f.cxr("d-tie-first", S1, 50000004, "PA", "21500112", "40000.5", true); // +40 h (zero-padded 040000)
    f.cxr("d-tie-second", S1, 50000005, "AP", "21500112", "40000", true); // same time, later in file
    f.cxr("d-72", S1, 50000006, "AP", "21500113", "120000", true);
    // S2: the earliest image's study has no CheXpert row; no fallback to the later one.
    f.cxr("d2-nochex", S2, 50000010, "AP", "21500111", "180000", true);
    f.cxr("d2-later", S2, 50000011, "AP", "21500112", "40000", true);
    // S3: +72 h + 1 s (listed first) is out, exactly +72 h is in.
    f.cxr("d3-72p", S3, 50000021, "AP", "21500113", "120001", true);
    f.cxr("d3-72", S3, 50000020, "AP", "21500113", "120000", true);
    f.cxr("d4", S4, 50000030, "AP", "21500111", "180000", true);
    f.cxr("d6", S6, 50000040, "AP", "21500111", "180000", true);
    for (s, st) in [(S1, 50000001), (S1, 50000004), (S1, 50000005), (S1, 50000006), (S2, 50000011)] {
        f.chexpert(s, st, LABELS);
    }
    for (s, st) in [(S3, 50000020), (S3, 50000021), (S4, 50000030), (S6, 50000040)] {
        f.chexpert(s, st, "0.0,1.0,,,,,,,,,,,,1.0");
    }

    // ECGs.
    f.ecg(S1, 40000001, "2150-01-09 11:59:59", Sig::Valid); // −24 h − 1 s: out
    f.ecg(S1, 40000002, "2150-01-09 12:00:00", Sig::Nan); // exactly −24 h but NaN
    f.ecg(S1, 40000003, "2150-01-10 02:00:00", Sig::Zero);
    f.ecg(S1, 40000004, "2150-01-10 07:00:00", Sig::Valid); // tie, first in the list: chosen
    f.ecg(S1, 40000005, "2150-01-10 07:00:00", Sig::Valid);
    f.ecg(S2, 40000010, T, Sig::Valid);
    f.ecg(S3, 40000031, "2150-01-11 12:00:01", Sig::Valid); // +24 h + 1 s: out
    f.ecg(S3, 40000030, "2150-01-11 12:00:00", Sig::Valid); // exactly +24 h: in
    f.ecg(S4, 40000040, T, Sig::Nan); // only a NaN record
    f.ecg(S6, 40000060, T, Sig::Valid);
    f.ecg(S5, 40000050, "", Sig::Missing); // no time, never a candidate, never opened

    // Labs (file order matters for ties).
    f.lab(S1, "", 51249, "2150-01-10 17:00:00", "9");
    f.lab(S1, "20000001", 51249, "2150-01-10 13:00:00", "8"); // later in file, earlier in time: wins
    f.lab(S1, "", 51221, "2150-01-09 12:00:00", "1.5"); // exactly −24 h for A1
    f.lab(S1, "", 51221, "2150-01-09 13:00:00", "2.5"); // A1b's earliest (A1's is −25 h for A1b)
    f.lab(S1, "", 51265, "2150-01-10 13:00:00", "100"); // tie: first in file wins
    f.lab(S1, "", 51265, "2150-01-10 13:00:00", "200");
    f.lab(S1, "", 50912, "2150-01-11 12:00:01", "0.9"); // +24 h + 1 s for A1: out; in for A1b
    f.lab(S1, "", 50912, "2150-01-11 12:00:00", "0.7"); // exactly +24 h
    f.lab(S1, "", 50971, "2150-01-10 10:00:00", ""); // blank valuenum: ignored
    f.lab(S1, "", 50971, "2150-01-10 14:00:00", "4.1");
    f.lab(S1, "", 99999, T, "5"); // not a top-50 lab
    f.lab(S1, "29999999", 51222, "2150-01-10 13:00:00", "13.25"); // another admission's lab counts
    f.lab(S1, "", 51274, "", "3"); // no charttime: never in a window
    f.lab(S1, "", 51275, "2150-01-10 15:00:00", "0.00001");
    f.lab(S2, "", 51301, T, "7");
    f.lab(S3, "", 51221, T, "33");
    f.lab(S4, "", 51221, T, "34");
    f.lab(S6, "", 99999, T, "1"); // S6 only has non-top and blank labs
    f.lab(S6, "", 51221, T, "");
    f
}

/// One admission that makes it into the cohort.
pub fn minimal() -> Fixture {
    let mut f = Fixture::new();
    f.patient(S3, "70", "2149", "");
    f.admission(S3, 20000004, T, "");
    f.cxr("d3", S3, 50000020, "AP", "21500111", "180000", true);
    f.chexpert(S3, 50000020, LABELS);
    f.ecg(S3, 40000030, T, Sig::Valid);
    f.lab(S3, "", 51221, T, "33");
    f
}
