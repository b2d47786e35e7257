//! What the synthetic rows are made of: lab items with plausible value
//! distributions and units, lab panels, and the admission vocabularies.

/// One lab item of `labevents`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LabItem {
    pub itemid: u32,
    /// Centre of the distribution (the median for skewed items).
    pub centre: f64,
    /// Spread: standard deviation, or the log-sd for skewed items.
    pub spread: f64,
    pub skewed: bool,
    /// Decimal places of `valuenum`.
    pub decimals: u8,
    pub uom: &'static str,
    pub ref_lo: &'static str,
    pub ref_hi: &'static str,
}

#[allow(clippy::too_many_arguments)] // one row of a table, read positionally
const fn item(
    itemid: u32,
    centre: f64,
    spread: f64,
    skewed: bool,
    decimals: u8,
    uom: &'static str,
    ref_lo: &'static str,
    ref_hi: &'static str,
) -> LabItem {
    LabItem { itemid, centre, spread, skewed, decimals, uom, ref_lo, ref_hi }
}

/// The 50 reference labs first (any order), then items outside the 50.
pub(crate) const ITEMS: &[LabItem] = &[
    item(51221, 32.0, 6.0, false, 1, "%", "40", "52"),
    item(51265, 220.0, 90.0, false, 0, "K/uL", "150", "440"),
    item(50912, 1.0, 0.6, true, 1, "mg/dL", "0.5", "1.2"),
    item(50971, 4.2, 0.6, false, 1, "mEq/L", "3.3", "5.1"),
    item(51222, 10.5, 2.0, false, 1, "g/dL", "13.7", "17.5"),
    item(51301, 8.5, 0.45, true, 1, "K/uL", "4", "11"),
    item(51249, 32.8, 1.5, false, 1, "g/dL", "31", "37"),
    item(51279, 3.6, 0.7, false, 2, "m/uL", "4.6", "6.1"),
    item(51250, 90.0, 6.0, false, 0, "fL", "80", "100"),
    item(51248, 30.0, 2.5, false, 1, "pg", "26", "32"),
    item(51277, 14.5, 2.0, false, 1, "%", "10.5", "15.5"),
    item(51006, 20.0, 0.6, true, 0, "mg/dL", "6", "20"),
    item(50983, 138.0, 4.0, false, 0, "mEq/L", "133", "145"),
    item(50902, 102.0, 5.0, false, 0, "mEq/L", "96", "108"),
    item(50882, 24.0, 4.0, false, 0, "mEq/L", "22", "32"),
    item(50868, 14.0, 3.0, false, 0, "mEq/L", "8", "20"),
    item(50931, 120.0, 0.35, true, 0, "mg/dL", "70", "100"),
    item(50960, 2.0, 0.3, false, 1, "mg/dL", "1.6", "2.6"),
    item(50893, 8.6, 0.7, false, 1, "mg/dL", "8.4", "10.3"),
    item(50970, 3.5, 1.1, false, 1, "mg/dL", "2.7", "4.5"),
    item(51237, 1.3, 0.3, true, 1, "", "0.9", "1.1"),
    item(51274, 14.0, 0.3, true, 1, "sec", "9.4", "12.5"),
    item(51275, 33.0, 0.35, true, 1, "sec", "25", "36.5"),
    item(51146, 0.3, 0.3, false, 1, "%", "0", "1"),
    item(51256, 75.0, 12.0, false, 1, "%", "34", "71"),
    item(51254, 6.5, 3.0, false, 1, "%", "2", "11"),
    item(51200, 1.2, 1.3, false, 1, "%", "1", "4"),
    item(51244, 15.0, 9.0, false, 1, "%", "18", "42"),
    item(52172, 47.0, 6.0, false, 1, "fL", "35.1", "46.3"),
    item(50934, 20.0, 0.9, true, 0, "", "", ""),
    item(51678, 15.0, 0.9, true, 0, "", "", ""),
    item(50947, 2.0, 0.8, true, 0, "", "", ""),
    item(50861, 30.0, 0.9, true, 0, "IU/L", "0", "40"),
    item(50878, 35.0, 0.9, true, 0, "IU/L", "0", "40"),
    item(50813, 1.7, 0.5, true, 1, "mmol/L", "0.5", "2"),
    item(50863, 95.0, 0.5, true, 0, "IU/L", "35", "105"),
    item(50885, 0.7, 0.8, true, 1, "mg/dL", "0", "1.5"),
    item(50820, 7.38, 0.07, false, 2, "units", "7.35", "7.45"),
    item(50862, 3.4, 0.6, false, 1, "g/dL", "3.5", "5.2"),
    item(50802, 0.0, 4.0, false, 0, "mEq/L", "", ""),
    item(50821, 100.0, 0.5, true, 0, "mm Hg", "85", "105"),
    item(50804, 25.0, 4.0, false, 0, "mEq/L", "21", "30"),
    item(50818, 42.0, 9.0, false, 0, "mm Hg", "35", "45"),
    item(52075, 6.0, 0.6, true, 2, "K/uL", "1.6", "7.7"),
    item(52073, 0.1, 0.9, true, 2, "K/uL", "0.04", "0.45"),
    item(52074, 0.55, 0.5, true, 2, "K/uL", "0.2", "0.95"),
    item(52069, 0.03, 0.7, true, 2, "K/uL", "0.01", "0.08"),
    item(51133, 1.2, 0.6, true, 2, "K/uL", "1.2", "3.7"),
    item(50910, 150.0, 1.2, true, 0, "IU/L", "0", "200"),
    item(52135, 0.5, 0.8, true, 1, "%", "0", "1"),
    // Outside the 50: the cohort must ignore these.
    item(50809, 125.0, 0.3, true, 0, "mg/dL", "70", "105"),
    item(50811, 10.5, 2.0, false, 1, "g/dL", "12", "16"),
    item(51491, 6.0, 0.8, false, 1, "units", "5", "8"),
    item(51498, 1.015, 0.007, false, 3, " ", "1.001", "1.035"),
    item(51516, 5.0, 1.0, true, 0, "#/hpf", "0", "5"),
    item(50852, 6.2, 1.0, false, 1, "%", "4", "6"),
    item(51003, 0.03, 1.0, true, 2, "ng/mL", "0", "0.01"),
    item(50889, 20.0, 1.2, true, 1, "mg/L", "0", "5"),
    item(51214, 320.0, 100.0, false, 0, "mg/dL", "200", "400"),
    item(50956, 35.0, 0.8, true, 0, "IU/L", "0", "60"),
    item(50993, 2.0, 0.7, true, 2, "uIU/mL", "0.27", "4.2"),
    item(51082, 60.0, 0.6, true, 0, "mg/dL", "", ""),
];

/// Number of reference labs at the start of [`ITEMS`].
pub(crate) const N_TOP: usize = 50;

/// Index of an itemid in [`ITEMS`].
pub(crate) fn item_index(itemid: u32) -> usize {
    ITEMS.iter().position(|i| i.itemid == itemid).expect("itemid in the catalog")
}

/// Lab panels as lists of itemids; one draw orders a few of them.
pub(crate) const PANELS: &[&[u32]] = &[
    // CBC
    &[51221, 51222, 51248, 51249, 51250, 51265, 51277, 51279, 51301, 52172],
    // Chemistry 7 + anion gap
    &[50912, 50971, 50983, 50902, 50882, 50868, 50931, 51006],
    // Mg / Ca / Phos
    &[50960, 50893, 50970],
    // Coagulation
    &[51237, 51274, 51275],
    // Differential
    &[51146, 51256, 51254, 51200, 51244, 52075, 52073, 52074, 52069, 51133, 52135],
    // Serum indices
    &[50934, 51678, 50947],
    // Liver panel
    &[50861, 50878, 50863, 50885, 50862],
    // Blood gas
    &[50820, 50802, 50821, 50804, 50818, 50813, 50809, 50811],
    // Cardiac / misc
    &[50910, 51003, 50889],
    // Urinalysis (none of the 50)
    &[51491, 51498, 51516],
    // Outpatient misc (none of the 50)
    &[50852, 51214, 50956, 50993, 51082],
];

/// Relative odds of each panel in a draw (same order as [`PANELS`]).
pub(crate) const PANEL_ODDS: &[f64] = &[0.9, 0.9, 0.6, 0.45, 0.35, 0.3, 0.3, 0.2, 0.15, 0.3, 0.15];

/// Text written in `value` when `valuenum` is blank.
pub(crate) const BLANK_VALUES: &[&str] = &["___", "HEMOLYZED", "ERROR", "UNABLE TO REPORT", ""];

pub(crate) const LAB_COMMENTS: &[&str] = &[
    "VERIFIED BY REPLICATE ANALYSIS.",
    "LIPEMIC SPECIMEN, RESULTS MAY BE AFFECTED.",
    "HEMOLYSIS FALSELY ELEVATES K.",
    "NOTIFIED \"DR. ___\" AT 10:15.",
];

pub(crate) const ADMISSION_TYPES: &[&str] = &[
    "EW EMER.",
    "EW EMER.",
    "EW EMER.",
    "URGENT",
    "OBSERVATION ADMIT",
    "EU OBSERVATION",
    "ELECTIVE",
    "SURGICAL SAME DAY ADMISSION",
    "DIRECT EMER.",
    "DIRECT OBSERVATION",
    "AMBULATORY OBSERVATION",
];
pub(crate) const ADMISSION_LOCATIONS: &[&str] = &[
    "EMERGENCY ROOM",
    "EMERGENCY ROOM",
    "PHYSICIAN REFERRAL",
    "TRANSFER FROM HOSPITAL",
    "WALK-IN/SELF REFERRAL",
    "CLINIC REFERRAL",
    "PROCEDURE SITE",
    "PACU",
    "TRANSFER FROM SKILLED NURSING FACILITY",
    "AMBULATORY SURGERY TRANSFER",
    "INFORMATION NOT AVAILABLE",
];
pub(crate) const DISCHARGE_LOCATIONS: &[&str] = &[
    "HOME",
    "HOME",
    "HOME HEALTH CARE",
    "SKILLED NURSING FACILITY",
    "REHAB",
    "CHRONIC/LONG TERM ACUTE CARE",
    "PSYCH FACILITY",
    "AGAINST ADVICE",
    "HOSPICE",
    "",
];
pub(crate) const INSURANCE: &[&str] = &["Medicare", "Medicaid", "Other"];
pub(crate) const LANGUAGE: &[&str] = &["ENGLISH", "ENGLISH", "ENGLISH", "?"];
pub(crate) const MARITAL: &[&str] = &["MARRIED", "SINGLE", "WIDOWED", "DIVORCED", ""];
pub(crate) const RACE: &[&str] = &[
    "WHITE",
    "WHITE",
    "BLACK/AFRICAN AMERICAN",
    "HISPANIC OR LATINO",
    "ASIAN",
    "OTHER",
    "UNKNOWN",
    "WHITE - OTHER EUROPEAN",
    "HISPANIC/LATINO - PUERTO RICAN",
    "ASIAN - CHINESE",
    "AMERICAN INDIAN/ALASKA NATIVE",
    "UNABLE TO OBTAIN",
];
pub(crate) const ANCHOR_YEAR_GROUPS: &[&str] =
    &["2008 - 2010", "2011 - 2013", "2014 - 2016", "2017 - 2019", "2020 - 2022"];

/// CXR procedure descriptions paired with the view they usually carry.
pub(crate) const CXR_PROCEDURES: &[&str] = &["CHEST (PA AND LAT)", "CHEST (PORTABLE AP)", "CHEST (PRE-OP PA AND LAT)"];

/// `ViewCodeSequence_CodeMeaning` of a `ViewPosition`.
pub(crate) fn view_meaning(view: &str) -> &'static str {
    match view {
        "PA" => "postero-anterior",
        "AP" => "antero-posterior",
        "LATERAL" => "lateral",
        "LL" => "left lateral",
        "AP AXIAL" => "antero-posterior",
        "PA LLD" => "postero-anterior",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_starts_with_the_fifty() {
        assert_eq!(ITEMS.len(), 62);
        for (i, it) in ITEMS.iter().enumerate() {
            assert_eq!(mimic_io::layout::lab_index(it.itemid).is_some(), i < N_TOP, "{}", it.itemid);
        }
        for panel in PANELS {
            for &id in *panel {
                let _ = item_index(id);
            }
        }
        assert_eq!(PANELS.len(), PANEL_ODDS.len());
    }
}
