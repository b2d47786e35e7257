//! Names the MIMIC releases and the reference pipeline fix: file names, the
//! 50 lab itemids, the CheXpert label columns, ImageNet statistics.

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

/// ImageNet channel means used by the reference's `Normalize`.
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// ImageNet channel standard deviations used by the reference's `Normalize`.
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

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
    }

    #[test]
    fn cxr_path_layout() {
        assert_eq!(
            cxr_rel_path(10275656, 52720032, "077e1d17-e13b4983-d49f204c-8538d7b1-5bfdde32"),
            "files/p10/p10275656/s52720032/077e1d17-e13b4983-d49f204c-8538d7b1-5bfdde32.jpg"
        );
    }
}
