//! What a user of the dataset cites: the Symile paper, the Symile-MIMIC
//! release, the three MIMIC releases it is built from, and PhysioNet.
//!
//! Every DOI here was read off the project's own PhysioNet page (its "When
//! using this resource, please cite" box) or the publisher's page. A release
//! that is not in the table is cited by its PhysioNet page, which names its DOI.

use mimic_io::discover::{Project, Releases};

/// The Symile-MIMIC release on PhysioNet that the published recipe reproduces.
pub(crate) const SYMILE_MIMIC_VERSION: &str = "1.0.0";
/// Its publication date on PhysioNet (the release page: "Published: Jan. 28, 2025").
pub(crate) const SYMILE_MIMIC_PUBLISHED: &str = "2025-01-28";
pub(crate) const SYMILE_MIMIC_TITLE: &str = "Symile-MIMIC: a multimodal clinical dataset of chest X-rays, \
     electrocardiograms, and blood labs from MIMIC-IV";
pub(crate) const SYMILE_MIMIC_DOI: &str = "10.13026/3vvj-s428";
pub(crate) const SYMILE_MIMIC_URL: &str = "https://physionet.org/content/symile-mimic/1.0.0/";
/// The authors of the Symile paper and of the Symile-MIMIC release, in order.
pub(crate) const AUTHORS: [&str; 4] = ["Adriel Saporta", "Aahlad Manas Puli", "Mark Goldstein", "Rajesh Ranganath"];
pub(crate) const SYMILE_TITLE: &str =
    "Contrasting with Symile: Simple Model-Agnostic Representation Learning for Unlimited Modalities";
pub(crate) const SYMILE_ARXIV: &str = "2411.01053";

/// The licence of every credentialed PhysioNet project this data comes from.
pub(crate) const LICENSE_NAME: &str = "PhysioNet Credentialed Health Data License 1.5.0";
pub(crate) const LICENSE_URL: &str =
    "https://physionet.org/about/licenses/physionet-credentialed-health-data-license-150/";

/// The MIT licence, symile-mimic's (the workspace's `license`), which covers
/// the synthetic demo's data too.
pub(crate) const MIT_URL: &str = "https://spdx.org/licenses/MIT.html";

/// This tool's repository (the workspace's `repository`).
pub(crate) const REPOSITORY: &str = "https://github.com/symile-mimic/symile-mimic";
/// The page describing every output file.
pub(crate) const FORMATS_URL: &str = "https://github.com/symile-mimic/symile-mimic/blob/main/docs/formats.md";
/// The page on scoring retrieval.
pub(crate) const EVALUATE_URL: &str = "https://github.com/symile-mimic/symile-mimic/blob/main/docs/evaluate.md";

/// One release of a MIMIC project as PhysioNet asks it to be cited.
struct Release {
    project: Project,
    version: &'static str,
    year: &'static str,
    authors: &'static str,
    doi: &'static str,
}

const MIMICIV_AUTHORS: &str = "Johnson, A., Bulgarelli, L., Pollard, T., Horng, S., Celi, L. A., & Mark, R.";
const MIMICIV_3_AUTHORS: &str =
    "Johnson, A., Bulgarelli, L., Pollard, T., Gow, B., Moody, B., Horng, S., Celi, L. A., & Mark, R.";
const CXR_AUTHORS: &str = "Johnson, A., Lungren, M., Peng, Y., Lu, Z., Mark, R., Berkowitz, S., & Horng, S.";
const ECG_AUTHORS: &str = "Gow, B., Pollard, T., Nathanson, L. A., Johnson, A., Moody, B., Fernandes, C., \
     Greenbaum, N., Waks, J. W., Eslami, P., Carbonati, T., Chaudhari, A., Herbst, E., Moukheiber, D., \
     Berkowitz, S., Mark, R., & Horng, S.";

const RELEASES: [Release; 7] = [
    Release {
        project: Project::MimicIv,
        version: "2.0",
        year: "2022",
        authors: MIMICIV_AUTHORS,
        doi: "10.13026/7vcr-e114",
    },
    Release {
        project: Project::MimicIv,
        version: "2.2",
        year: "2023",
        authors: MIMICIV_AUTHORS,
        doi: "10.13026/6mm1-ek67",
    },
    Release {
        project: Project::MimicIv,
        version: "3.0",
        year: "2024",
        authors: MIMICIV_3_AUTHORS,
        doi: "10.13026/hxp0-hg59",
    },
    Release {
        project: Project::MimicIv,
        version: "3.1",
        year: "2024",
        authors: MIMICIV_3_AUTHORS,
        doi: "10.13026/kpb9-mt58",
    },
    Release {
        project: Project::CxrJpg,
        version: "2.0.0",
        year: "2019",
        authors: CXR_AUTHORS,
        doi: "10.13026/8360-t248",
    },
    Release {
        project: Project::CxrJpg,
        version: "2.1.0",
        year: "2024",
        authors: CXR_AUTHORS,
        doi: "10.13026/jsn5-t979",
    },
    Release { project: Project::IvEcg, version: "1.0", year: "2023", authors: ECG_AUTHORS, doi: "10.13026/4nqg-sb35" },
];

/// The long title PhysioNet gives a project.
fn title(project: Project) -> &'static str {
    match project {
        Project::MimicIv => "MIMIC-IV",
        Project::CxrJpg => "MIMIC-CXR-JPG - chest radiographs with structured labels",
        Project::IvEcg => "MIMIC-IV-ECG: Diagnostic Electrocardiogram Matched Subset",
    }
}

/// The publication each project's page also asks to be cited, if any.
fn original_publication(project: Project) -> Option<&'static str> {
    match project {
        Project::MimicIv => Some(
            "Johnson, A. E. W., Bulgarelli, L., Shen, L., et al. (2023). MIMIC-IV, a freely accessible electronic \
             health record dataset. Scientific Data, 10, 1. https://doi.org/10.1038/s41597-022-01899-x",
        ),
        Project::CxrJpg => Some(
            "Johnson, A. E. W., Pollard, T. J., Berkowitz, S., Greenbaum, N. R., Lungren, M. P., Deng, C. Y., \
             Mark, R. G., & Horng, S. (2019). MIMIC-CXR: A large publicly available database of labeled chest \
             radiographs. arXiv:1901.07042",
        ),
        Project::IvEcg => None,
    }
}

/// The PhysioNet page of a project's release.
pub(crate) fn release_page(project: Project, version: &str) -> String {
    format!("https://physionet.org/content/{}/{}/", project.slug(), version)
}

/// The DOI of a release the table knows.
pub(crate) fn release_doi(project: Project, version: &str) -> Option<&'static str> {
    RELEASES.iter().find(|r| r.project == project && r.version == version).map(|r| r.doi)
}

/// The citation of `project` at `version` (`None`: the release is not known).
pub(crate) fn release_citation(project: Project, version: Option<&str>) -> String {
    let Some(version) = version else {
        return format!(
            "{}, the release used was not recorded: cite the release you downloaded, as its page on \
             https://physionet.org/content/{}/ asks.",
            project.name(),
            project.slug()
        );
    };
    match RELEASES.iter().find(|r| r.project == project && r.version == version) {
        Some(r) => format!(
            "{} ({}). {} (version {}). PhysioNet. https://doi.org/{}",
            r.authors,
            r.year,
            title(project),
            version,
            r.doi
        ),
        None => format!(
            "{} (version {}). PhysioNet. {} (the page gives the release's DOI and authors).",
            title(project),
            version,
            release_page(project, version)
        ),
    }
}

/// The lines of the card's "How to cite" list, in order.
pub(crate) fn citations(versions: &Releases) -> Vec<String> {
    let mut lines = vec![
        format!(
            "Saporta, A., Puli, A., Goldstein, M., & Ranganath, R. (2024). {SYMILE_TITLE}. Advances in Neural \
             Information Processing Systems 37 (NeurIPS 2024). arXiv:{SYMILE_ARXIV}"
        ),
        format!(
            "Saporta, A., Puli, A. M., Goldstein, M., & Ranganath, R. (2025). {SYMILE_MIMIC_TITLE} (version \
             {SYMILE_MIMIC_VERSION}). PhysioNet. https://doi.org/{SYMILE_MIMIC_DOI}"
        ),
    ];
    for project in Project::ALL {
        lines.push(release_citation(project, versions.get(project)));
        if let Some(paper) = original_publication(project) {
            lines.push(paper.to_string());
        }
    }
    lines.push(
        "Goldberger, A. L., Amaral, L. A. N., Glass, L., Hausdorff, J. M., Ivanov, P. Ch., Mark, R. G., Mietus, \
         J. E., Moody, G. B., Peng, C.-K., & Stanley, H. E. (2000). PhysioBank, PhysioToolkit, and PhysioNet: \
         Components of a new research resource for complex physiologic signals. Circulation, 101(23), \
         e215–e220. https://doi.org/10.1161/01.CIR.101.23.e215"
            .to_string(),
    );
    lines
}

/// BibTeX for the two works the dataset itself is: the Symile-MIMIC release
/// and the paper it was made for (Croissant's `citeAs`).
pub(crate) fn bibtex() -> String {
    format!(
        "@misc{{saporta2025symilemimic,\n  author = {{Saporta, Adriel and Puli, Aahlad Manas and Goldstein, Mark and \
         Ranganath, Rajesh}},\n  title = {{{{{SYMILE_MIMIC_TITLE}}} (version {SYMILE_MIMIC_VERSION})}},\n  \
         publisher = {{PhysioNet}},\n  year = {{2025}},\n  doi = {{{SYMILE_MIMIC_DOI}}},\n  url = \
         {{https://doi.org/{SYMILE_MIMIC_DOI}}}\n}}\n\n@inproceedings{{saporta2024symile,\n  author = {{Saporta, \
         Adriel and Puli, Aahlad and Goldstein, Mark and Ranganath, Rajesh}},\n  title = {{{SYMILE_TITLE}}},\n  \
         booktitle = {{Advances in Neural Information Processing Systems}},\n  volume = {{37}},\n  year = \
         {{2024}},\n  eprint = {{{SYMILE_ARXIV}}},\n  archivePrefix = {{arXiv}}\n}}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_releases_are_cited_by_doi_and_others_by_page() {
        assert!(release_citation(Project::MimicIv, Some("2.2")).ends_with("https://doi.org/10.13026/6mm1-ek67"));
        assert!(release_citation(Project::CxrJpg, Some("2.0.0")).contains("https://doi.org/10.13026/8360-t248"));
        assert!(release_citation(Project::IvEcg, Some("1.0")).contains("https://doi.org/10.13026/4nqg-sb35"));
        let other = release_citation(Project::IvEcg, Some("1.1"));
        assert!(other.contains("https://physionet.org/content/mimic-iv-ecg/1.1/") && !other.contains("doi.org"));
        assert!(release_citation(Project::CxrJpg, None).contains("not recorded"));
    }

    #[test]
    fn published_releases_are_in_the_table() {
        for p in Project::ALL {
            assert!(RELEASES.iter().any(|r| r.project == p && r.version == p.published_version()), "{p:?}");
        }
    }

    #[test]
    fn bibtex_braces_balance() {
        let b = bibtex();
        assert_eq!(b.matches('{').count(), b.matches('}').count());
        assert!(b.contains("doi = {10.13026/3vvj-s428}"));
    }
}
