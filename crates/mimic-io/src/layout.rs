//! Names the MIMIC releases and the reference pipeline fix: file names, the
//! 50 lab itemids and their names, the CheXpert label columns, the ECG leads,
//! the CXR path layout.

/// `patients.csv.gz` in the MIMIC-IV v2.2 `hosp` module.
pub const PATIENTS: &str = "patients.csv.gz";
/// `admissions.csv.gz` in the MIMIC-IV v2.2 `hosp` module.
pub const ADMISSIONS: &str = "admissions.csv.gz";
/// `labevents.csv.gz` in the MIMIC-IV v2.2 `hosp` module.
pub const LABEVENTS: &str = "labevents.csv.gz";
/// MIMIC-CXR-JPG 2.0.0 image metadata.
pub const CXR_METADATA: &str = "mimic-cxr-2.0.0-metadata.csv.gz";
/// MIMIC-CXR-JPG 2.0.0 CheXpert labels.
pub const CXR_CHEXPERT: &str = "mimic-cxr-2.0.0-chexpert.csv.gz";
/// MIMIC-IV-ECG 1.0 record list.
pub const ECG_RECORD_LIST: &str = "record_list.csv";

/// The 50 most common blood labs, in the reference's order ("LABS order").
pub const LABS: [u32; 50] = [
    51221, 51265, 50912, 50971, 51222, 51301, 51249, 51279, 51250, 51248, 51277, 51006, 50983, 50902, 50882, 50868,
    50931, 50960, 50893, 50970, 51237, 51274, 51275, 51146, 51256, 51254, 51200, 51244, 52172, 50934, 51678, 50947,
    50861, 50878, 50813, 50863, 50885, 50820, 50862, 50802, 50821, 50804, 50818, 52075, 52073, 52074, 52069, 51133,
    50910, 52135,
];

/// The name of each of the 50 labs (the reference's `constants.LABS`,
/// shortened to fit a label), by itemid.
pub const LAB_NAMES: [(u32, &str); 50] = [
    (51221, "Hematocrit"),
    (51265, "Platelet Count"),
    (50912, "Creatinine"),
    (50971, "Potassium"),
    (51222, "Hemoglobin"),
    (51301, "White Blood Cells"),
    (51249, "MCHC"),
    (51279, "Red Blood Cells"),
    (51250, "MCV"),
    (51248, "MCH"),
    (51277, "RDW"),
    (51006, "Urea Nitrogen"),
    (50983, "Sodium"),
    (50902, "Chloride"),
    (50882, "Bicarbonate"),
    (50868, "Anion Gap"),
    (50931, "Glucose"),
    (50960, "Magnesium"),
    (50893, "Calcium, Total"),
    (50970, "Phosphate"),
    (51237, "INR(PT)"),
    (51274, "PT"),
    (51275, "PTT"),
    (51146, "Basophils"),
    (51256, "Neutrophils"),
    (51254, "Monocytes"),
    (51200, "Eosinophils"),
    (51244, "Lymphocytes"),
    (52172, "RDW-SD"),
    (50934, "H (hemolysis)"),
    (51678, "L (lipemia)"),
    (50947, "I (icterus)"),
    (50861, "ALT"),
    (50878, "AST"),
    (50813, "Lactate"),
    (50863, "Alkaline Phosphatase"),
    (50885, "Bilirubin, Total"),
    (50820, "pH"),
    (50862, "Albumin"),
    (50802, "Base Excess"),
    (50821, "pO2"),
    (50804, "Calc. Total CO2"),
    (50818, "pCO2"),
    (52075, "Abs. Neutrophils"),
    (52073, "Abs. Eosinophils"),
    (52074, "Abs. Monocytes"),
    (52069, "Abs. Basophils"),
    (51133, "Abs. Lymphocytes"),
    (50910, "Creatine Kinase"),
    (52135, "Immature Granulocytes"),
];

/// The name of lab `itemid`, if it is one of the 50.
pub fn lab_name(itemid: u32) -> Option<&'static str> {
    LAB_NAMES.iter().find(|(id, _)| *id == itemid).map(|(_, n)| *n)
}

/// Position of `itemid` in [`LABS`], if it is one of the 50.
pub fn lab_index(itemid: u32) -> Option<usize> {
    LABS.iter().position(|&l| l == itemid)
}

/// The 14 CheXpert labels in the order of `mimic-cxr-2.0.0-chexpert.csv.gz`.
pub const CHEXPERT_LABELS: [&str; 14] = [
    "Atelectasis",
    "Cardiomegaly",
    "Consolidation",
    "Edema",
    "Enlarged Cardiomediastinum",
    "Fracture",
    "Lung Lesion",
    "Lung Opacity",
    "No Finding",
    "Pleural Effusion",
    "Pleural Other",
    "Pneumonia",
    "Pneumothorax",
    "Support Devices",
];

/// The six CheXpert labels the split CSVs keep, in their order.
pub const SPLIT_CHEXPERT_LABELS: [&str; 6] =
    ["Atelectasis", "Cardiomegaly", "Edema", "Lung Opacity", "No Finding", "Pleural Effusion"];

/// ECG leads of MIMIC-IV-ECG records, in header order.
pub const ECG_LEADS: [&str; 12] = ["I", "II", "III", "aVR", "aVF", "aVL", "V1", "V2", "V3", "V4", "V5", "V6"];

/// Relative path of a CXR image: `files/p{first 2 digits}/p{subject}/s{study}/{dicom}.jpg`.
pub fn cxr_rel_path(subject_id: i64, study_id: i64, dicom_id: &str) -> String {
    let subject = subject_id.to_string();
    let head: String = subject.chars().take(2).collect();
    format!("files/p{head}/p{subject}/s{study_id}/{dicom_id}.jpg")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labs_are_fifty_distinct() {
        let mut sorted = LABS.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 50);
        assert_eq!(lab_index(51221), Some(0));
        assert_eq!(lab_index(52135), Some(49));
        assert_eq!(lab_index(12345), None);
        for id in LABS {
            assert!(lab_name(id).is_some(), "{id}");
        }
        assert_eq!(lab_name(50802), Some("Base Excess"));
        assert_eq!(lab_name(12345), None);
    }

    #[test]
    fn cxr_path_layout() {
        assert_eq!(
            cxr_rel_path(10275656, 52720032, "077e1d17-e13b4983-d49f204c-8538d7b1-5bfdde32"),
            "files/p10/p10275656/s52720032/077e1d17-e13b4983-d49f204c-8538d7b1-5bfdde32.jpg"
        );
    }
}
