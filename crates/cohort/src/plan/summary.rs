//! A plan in words, for whoever made it: the share of each archive, the
//! admissions planned for, the releases, and the commands that come next.

use mimic_io::discover::Project;

use super::report::{ArchiveShare, PlanReport};
use super::{CXR_LIST, DOWNLOAD_SH, ECG_LIST, PLAN_JSON};

/// `1234567` → `1,234,567`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl ArchiveShare {
    /// `CXR: 13,950 of 377,110 images (3.7 %)`.
    pub fn line(&self, label: &str) -> String {
        let files =
            if self.files != self.planned { format!(", {} files", thousands(self.files)) } else { String::new() };
        format!(
            "{label}: {} of {} {} ({:.1} %){files}",
            thousands(self.planned),
            thousands(self.listed),
            self.unit,
            100.0 * self.share
        )
    }
}

impl PlanReport {
    /// A short human-readable summary for the CLI.
    pub fn summary(&self) -> String {
        self.summary_with_dest("DEST")
    }

    /// [`PlanReport::summary`], naming `dest` as where the files go.
    pub fn summary_with_dest(&self, dest: &str) -> String {
        let mut s = String::new();
        s.push_str(&self.cxr.line("CXR"));
        s.push('\n');
        s.push_str(&self.ecg.line("ECG"));
        s.push('\n');
        let a = &self.admissions;
        let r = &self.cohort;
        s.push_str(&format!(
            "admissions that can reach the cohort: {} of {} (CXR listed {} {}, with CheXpert {}, ECG listed {} {}, labs {} {})\n",
            thousands(a.planned),
            thousands(a.read),
            r.cxr_window_hours.describe(true),
            thousands(a.with_cxr_candidate),
            thousands(a.with_chexpert_candidate),
            r.ecg_window_hours.describe(false),
            thousands(a.with_ecg_candidate),
            r.labs_window_hours.describe(false),
            thousands(a.planned),
        ));
        let v: Vec<String> = Project::ALL.iter().map(|&p| format!("{} {}", p.name(), self.version(p))).collect();
        s.push_str(&format!("releases: {}", v.join(", ")));
        if !self.versions_assumed.is_empty() {
            s.push_str(&format!(
                " ({} assumed: the input folders do not name a release; name the releases to plan for others)",
                self.versions_assumed.join(", ")
            ));
        }
        s.push('\n');
        if self.minimal {
            s.push_str(
                "minimal plan: it assumes the archive is complete (every image the metadata lists exists). Where an \
                 image it takes turns out absent, the cohort would fall back to an image not fetched: \
                 `symile-mimic plan --check` names those admissions; plan again with --minimal to take the next image.\n",
            );
            if self.skipped_as_absent > 0 {
                s.push_str(&format!("images passed over as recorded in absent.txt: {}\n", self.skipped_as_absent));
            }
        }
        let d = self.out_dir.display();
        s.push_str(&format!(
            "wrote {d}/{{{CXR_LIST}, {ECG_LIST}, {DOWNLOAD_SH}, {PLAN_JSON}}}\n\
             fetch:  bash {d}/{DOWNLOAD_SH} {dest}   (into {dest}/physionet.org/files/<project>/<version>/)\n\
             check:  symile-mimic plan --check --out {d} --mimic-root {dest}\n\
             build:  symile-mimic build --mimic-root {dest} --plan {d}"
        ));
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(377_110), "377,110");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn share_line_reads_like_a_sentence() {
        let s = ArchiveShare {
            project: "mimic-cxr-jpg".into(),
            version: "2.0.0".into(),
            unit: "images".into(),
            listed: 377_110,
            planned: 13_950,
            files: 13_950,
            share: 13_950.0 / 377_110.0,
        };
        assert_eq!(s.line("CXR"), "CXR: 13,950 of 377,110 images (3.7 %)");
    }
}
