//! The sentences both files say: what the data is, where it came from, its
//! limitations and biases, what it is for. The README shows them to people,
//! `croissant.json` files them under the Responsible-AI vocabulary (`rai:`).
//! Everything that depends on the build (windows, releases, split sizes,
//! settings) comes from the input, so a variant's card is true of the variant,
//! and a build of the synthetic demo says it holds no patient data.

use mimic_io::discover::Project;

use crate::{CardInput, Provenance, cite};

/// "MIMIC-IV 2.2", or "MIMIC-IV (release not recorded)".
pub(crate) fn release_name(input: &CardInput, project: Project) -> String {
    match input.versions.get(project) {
        Some(v) => format!("{} {v}", project.name()),
        None => format!("{} (release not recorded)", project.name()),
    }
}

/// Candidates per query of the retrieval splits, when the input gives them.
pub(crate) fn candidates(input: &CardInput) -> Option<usize> {
    ["test", "val_retrieval"]
        .iter()
        .find_map(|name| input.splits.iter().find(|s| s.name == *name)?.candidates_per_query)
}

/// The first sentence of the description: what the dataset is.
pub(crate) fn what_it_is(input: &CardInput) -> &'static str {
    if input.synthetic {
        "Synthetic, MIMIC-shaped data in the layout of Symile-MIMIC, a multimodal clinical dataset of chest X-rays, \
         electrocardiograms and blood labs made to evaluate Symile, a contrastive objective for any number of \
         modalities (Saporta et al., NeurIPS 2024)."
    } else {
        "Symile-MIMIC is a multimodal clinical dataset of chest X-rays, electrocardiograms and blood labs from \
         MIMIC-IV, made to evaluate Symile, a contrastive objective for any number of modalities (Saporta et al., \
         NeurIPS 2024)."
    }
}

/// One paragraph: what a row is.
pub(crate) fn what_a_row_is(input: &CardInput) -> String {
    let w = &input.windows;
    if input.synthetic {
        return format!(
            "Each row is one synthetic admission made by symile-mimic's deterministic MIMIC-shaped generator (the \
             embedded demo input), not a hospital admission: no row describes a real patient. It has the three \
             modalities of the real dataset, all generated: a chest X-ray image ({} view; with CheXpert-style \
             labels) dated in {} after admission, a 12-lead ECG record (10 s at 500 Hz) dated in {} relative to \
             admission, and values of {} laboratory tests dated in {} relative to admission.",
            views(input),
            w.cxr,
            w.ecg,
            input.labs,
            w.labs,
        );
    }
    format!(
        "Each row is one hospital admission at the Beth Israel Deaconess Medical Center (BIDMC, Boston, MA) with \
         three modalities: a chest X-ray (CXR; {} view; with its CheXpert labels) taken in {} after admission, \
         from {}; a 12-lead electrocardiogram (ECG, 10 s at 500 Hz) taken in {} relative to admission, from {}; \
         and blood labs, the earliest value of each of {} laboratory tests drawn in {} relative to admission, \
         from {}.",
        views(input),
        w.cxr,
        release_name(input, Project::CxrJpg),
        w.ecg,
        release_name(input, Project::IvEcg),
        input.labs,
        w.labs,
        release_name(input, Project::MimicIv),
    )
}

/// `AP/PA`.
fn views(input: &CardInput) -> String {
    input.cxr_views.join("/")
}

/// One paragraph: which dataset this is (the published one, or what it differs in).
pub(crate) fn which_dataset(input: &CardInput) -> String {
    match Provenance::of(input) {
        Provenance::Synthetic => "This directory is not Symile-MIMIC data and holds no patient data: symile-mimic \
             built it from its synthetic demo input with the recipe below, to try the pipeline, the loaders and the \
             evaluator without credentialed access. Nothing in it is derived from PhysioNet data."
            .to_string(),
        Provenance::Published => format!(
            "This directory is the published Symile-MIMIC (version {} on PhysioNet, \
             https://doi.org/{}) rebuilt from its recipe and MIMIC releases: the same rows, splits and values, \
             its tensors written as {}.",
            cite::SYMILE_MIMIC_VERSION,
            cite::SYMILE_MIMIC_DOI,
            input.tensor_format.extension()
        ),
        Provenance::PublishedRecipeOtherReleases => format!(
            "This directory is a variant of Symile-MIMIC, not the published dataset: it applies the published \
             recipe to MIMIC releases other than those the published dataset was built from (MIMIC-IV {}, \
             MIMIC-CXR-JPG {}, MIMIC-IV-ECG {}), or to releases that were not recorded, so its rows and values \
             differ from the published Symile-MIMIC's.",
            Project::MimicIv.published_version(),
            Project::CxrJpg.published_version(),
            Project::IvEcg.published_version()
        ),
        Provenance::Variant => "This directory is a variant of Symile-MIMIC, not the published dataset: its \
             recipe differs from the published recipe, so its rows, splits or values differ from the published \
             Symile-MIMIC's. The windows and settings stated here are the variant's own."
            .to_string(),
    }
}

/// The paragraph under the introduction on who may have the data.
pub(crate) fn access(input: &CardInput) -> &'static str {
    if input.synthetic {
        "The data is synthetic and not derived from PhysioNet data: no data use agreement applies to it (see \
         [Licence and access](#licence-and-access))."
    } else {
        "The data is derived from credentialed PhysioNet data: only credentialed users bound by its data use \
         agreement may have it (see [Licence and access](#licence-and-access))."
    }
}

/// `rai:dataCollection`.
pub(crate) fn data_collection(input: &CardInput) -> String {
    let w = &input.windows;
    if input.synthetic {
        return format!(
            "No data was collected. Every row was generated by symile-mimic {}'s deterministic MIMIC-shaped \
             generator (its embedded demo input): tables, JPEG images and WFDB records in the layout of MIMIC-IV, \
             MIMIC-CXR-JPG and MIMIC-IV-ECG, made from a fixed seed, with no patient data in them. The cohort rules \
             were applied to it as to MIMIC: admissions with a chest X-ray ({} view, with CheXpert-style labels) \
             in {} after admission, a valid ECG in {} relative to admission, and at least one of {} labs in {} \
             relative to admission.",
            input.tool_version,
            views(input),
            w.cxr,
            w.ecg,
            input.labs,
            w.labs,
        );
    }
    format!(
        "No new data was collected. The rows are selected from three de-identified PhysioNet databases of the \
         Beth Israel Deaconess Medical Center (BIDMC), a single academic medical centre in Boston, MA, USA: {} \
         (credentialed access; the hospital module's admissions, patients and labevents tables; MIMIC-IV covers \
         patients admitted to the emergency department or an intensive care unit), {} (credentialed access; chest \
         radiographs as JPEG with labels extracted from the free-text radiology reports by the CheXpert labeller) \
         and {} (10-second 12-lead diagnostic ECGs sampled at 500 Hz, matched to MIMIC-IV patients). symile-mimic \
         {} kept the admissions with a chest X-ray ({} view, with CheXpert labels) taken in {} after admission, a \
         valid ECG (no missing sample, not all zero) taken in {} relative to admission, and at least one of {} \
         labs drawn in {} relative to admission; for each it took the earliest such CXR and ECG and the earliest \
         value of each lab.",
        release_name(input, Project::MimicIv),
        release_name(input, Project::CxrJpg),
        release_name(input, Project::IvEcg),
        input.tool_version,
        views(input),
        w.cxr,
        w.ecg,
        input.labs,
        w.labs,
    )
}

/// `rai:dataPreprocessingProtocol`: one step per entry, then the recipe's settings.
pub(crate) fn preprocessing(input: &CardInput) -> Vec<String> {
    let retrieval = match candidates(input) {
        Some(k) => format!(
            "val_retrieval and test are retrieval sets with {k} candidates per query: the query's own row and \
             {} rows of other queries of the same split.",
            k.saturating_sub(1)
        ),
        None => "val_retrieval and test are retrieval sets: each query's own row and rows of other queries of the \
                 same split as its candidates."
            .to_string(),
    };
    let mut steps = vec![
        format!(
            "Splits: subjects are assigned to train, val and test so that no patient is in two splits. {retrieval}"
        ),
        format!(
            "CXR: resized so the short edge is the recipe's scale (Pillow's bilinear filter), cropped to {c} x {c} \
             (a random offset for train, centred otherwise), converted to RGB and normalised with ImageNet's mean \
             and standard deviation.",
            c = input.cxr_crop
        ),
        "ECG: the physical signal of all 12 leads min-max scaled to [-1, 1] over the whole record; a flat record \
         or one with missing samples is NaN."
            .to_string(),
        "Labs: the CSVs keep the raw values; the tensors hold each lab's percentile in the train distribution, with \
         a missingness indicator."
            .to_string(),
    ];
    steps.extend(input.recipe_summary.iter().map(|(k, v)| format!("Recipe setting {k} = {v}")));
    steps
}

/// `rai:dataImputationProtocol`.
pub(crate) fn imputation() -> String {
    "In the tensors, a missing lab's percentile is the mean train percentile of that lab (labs_means.json), and \
     labs_missingness is 1 where the lab was observed and 0 where it was imputed. The CSVs leave missing values \
     empty. Nothing else is imputed."
        .to_string()
}

/// `rai:dataCollectionType`.
pub(crate) fn collection_type(input: &CardInput) -> &'static str {
    if input.synthetic { "Synthetic data generation" } else { "Secondary Data analysis" }
}

/// `rai:dataCollectionRawData`.
pub(crate) fn raw_data(input: &CardInput) -> String {
    if input.synthetic {
        return "The embedded demo input, generated by symile-mimic's synthetic MIMIC-shaped generator; no raw \
                data of any person."
            .to_string();
    }
    let names: Vec<String> = Project::ALL.iter().map(|&p| release_name(input, p)).collect();
    format!(
        "{} (hosp module), {} and {}, as downloaded from PhysioNet by a credentialed user.",
        names[0], names[1], names[2]
    )
}

/// `rai:dataLimitations`.
pub(crate) fn limitations(input: &CardInput) -> String {
    if input.synthetic {
        return "Synthetic: the images, signals, lab values and labels are generated, not measured, and their \
                distributions are the generator's, with edge cases planted on purpose. The data supports no \
                finding about patients or models: a model trained on it learns nothing clinical, and a retrieval \
                accuracy on it says nothing about the Symile-MIMIC benchmark. It exists to run the pipeline, \
                loaders and evaluator end to end."
            .to_string();
    }
    "Single centre: every row comes from one academic medical centre in Boston, USA (BIDMC), so results may not \
     transfer to other hospitals, populations, scanners or ECG machines. Dates are shifted into the future per \
     patient for de-identification, so calendar time cannot be compared across patients. The CheXpert labels are \
     extracted automatically from radiology reports and are noisy; an empty label means the report did not mention \
     the finding. Many labs are missing for many admissions, and not at random: a lab exists because a clinician \
     ordered it. Ages above 89 are recorded as 91 by MIMIC's de-identification. The dataset was built to benchmark \
     representation learning; it is not validated for diagnosis or any clinical use."
        .to_string()
}

/// `rai:dataBiases`.
pub(crate) fn biases(input: &CardInput) -> Vec<String> {
    if input.synthetic {
        return vec![
            "No population is represented: the rows are generated, so they carry no selection, demographic or \
             label bias of a hospital, and none of the real dataset's biases can be studied on them."
                .to_string(),
        ];
    }
    vec![
        "Selection bias: only admissions with all three modalities in their windows are kept, that is, patients \
         ill enough to have a chest X-ray, an ECG and blood tests around admission; healthier admitted \
         patients are under-represented, and people never admitted to the hospital are absent."
            .to_string(),
        "Population: the patients of one US hospital's emergency department and intensive care units, whose age, \
         race and insurance mix differs from other regions' and from the general population."
            .to_string(),
        "Label bias: the CheXpert labeller's error rates differ between findings, and a report's wording reflects \
         its radiologist."
            .to_string(),
        "Measurement: which labs are drawn and when an ECG is taken follow clinical practice, not a protocol, so \
         missingness carries information about the patient and the care they received."
            .to_string(),
    ]
}

/// `rai:personalSensitiveInformation`.
pub(crate) fn sensitive(input: &CardInput) -> Vec<String> {
    if input.synthetic {
        return vec![
            "None: every row, image, signal and lab value is generated. subject_id and hadm_id are the \
             generator's numbers and link to no MIMIC record; the demographic columns are generated too."
                .to_string(),
        ];
    }
    vec![
        "Health data of real patients, de-identified by the MIMIC teams under the HIPAA Safe Harbor provision: no \
         names, medical record numbers or real dates (dates are shifted per patient; ages above 89 are set to 91)."
            .to_string(),
        "Sensitive attributes remain: symile_mimic_data.csv holds gender, race, age, admission type and location, \
         discharge location, in-hospital death and date of death; every split holds chest X-rays, ECGs and lab \
         values."
            .to_string(),
        "subject_id and hadm_id are MIMIC's identifiers and link every row to the credentialed MIMIC records. \
         Attempting to identify any person is forbidden by the data use agreement."
            .to_string(),
    ]
}

/// `rai:dataUseCases`.
pub(crate) fn use_cases(input: &CardInput) -> Vec<String> {
    if input.synthetic {
        return vec![
            "Trying symile-mimic end to end without credentialed data: the build, the loaders (symile_mimic.Dataset, \
             safetensors, numpy, torch, mlcroissant) and the retrieval evaluator."
                .to_string(),
            "Not for research findings, benchmarking or any clinical use: build from MIMIC for those.".to_string(),
        ];
    }
    vec![
        "Research on multimodal representation learning, as in the Symile paper (NeurIPS 2024): pretraining CXR, \
         ECG and lab encoders on train, and zero-shot retrieval on val_retrieval and test, where the CXR of an \
         admission is to be found among its candidates from the admission's ECG and labs (accuracy over queries)."
            .to_string(),
        "Other research on the three modalities that the PhysioNet data use agreements of MIMIC-IV and \
         MIMIC-CXR-JPG permit."
            .to_string(),
        "Not intended for clinical decision making or diagnosis, nor for any use by people who are not \
         credentialed PhysioNet users bound by those agreements."
            .to_string(),
    ]
}

/// `rai:dataReleaseMaintenancePlan`.
pub(crate) fn maintenance(input: &CardInput) -> String {
    if input.synthetic {
        return format!(
            "A build output, not a maintained release: symile-mimic ({}) rebuilds it from its embedded demo input, \
             byte-identical for the same recipe and tool version.",
            cite::REPOSITORY
        );
    }
    format!(
        "A build output, not a maintained release: it is rebuilt from the MIMIC releases by symile-mimic ({}), \
         whose outputs are byte-identical for the same recipe and releases. The published Symile-MIMIC is \
         maintained on PhysioNet ({}).",
        cite::REPOSITORY,
        cite::SYMILE_MIMIC_URL
    )
}

/// The licence paragraph.
pub(crate) fn licence(input: &CardInput) -> String {
    if input.synthetic {
        return format!(
            "This directory holds synthetic data made by symile-mimic's generator in the layout of MIMIC. It is not \
             derived from PhysioNet data and holds no patient data, so neither the {} nor any PhysioNet data use \
             agreement applies to it; like the generator that made it, it is covered by the MIT licence of \
             symile-mimic ({}). A build from MIMIC itself comes under that licence and those agreements.",
            cite::LICENSE_NAME,
            cite::MIT_URL
        );
    }
    format!(
        "This dataset is derived from credentialed-access PhysioNet data: every row joins MIMIC-IV and \
         MIMIC-CXR-JPG, both credentialed (MIMIC-IV-ECG, the third source, is open access). The {} ({}) and the \
         data use agreements you signed for MIMIC-IV and MIMIC-CXR-JPG apply to every file here, as they do to \
         the published Symile-MIMIC. Do not share these files, or anything from which rows \
         could be recovered, with anyone who is not a credentialed PhysioNet user bound by those agreements; do \
         not attempt to identify any person or institution; do not send the data to online services that may \
         keep or learn from it. The MIT licence of symile-mimic covers its code, not this data.",
        cite::LICENSE_NAME,
        cite::LICENSE_URL
    )
}
