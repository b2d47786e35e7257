//! Where a build's inputs are: a download root in any of PhysioNet's
//! layouts (`mimic_io::discover`), or the three project directories given
//! one by one, with the release of each.

use std::path::{Path, PathBuf};

use mimic_io::discover::{self, CxrTables, Project, Releases, VersionChoice};

use crate::PipelineError;

/// What a caller names as the input: a root, or the directories.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputSpec {
    /// A MIMIC download (`physionet.org/files/...` or any of the layouts `discover` reads).
    pub mimic_root: Option<PathBuf>,
    /// Releases to take under the root (or to record for the directories).
    pub versions: VersionChoice,
    /// The MIMIC-IV `hosp` directory.
    pub hosp: Option<PathBuf>,
    /// The MIMIC-CXR-JPG directory.
    pub cxr: Option<PathBuf>,
    /// The MIMIC-IV-ECG directory.
    pub ecg: Option<PathBuf>,
}

impl InputSpec {
    /// Nothing named: a build then runs on the embedded demo input.
    pub fn is_empty(&self) -> bool {
        self.mimic_root.is_none() && self.hosp.is_none() && self.cxr.is_none() && self.ecg.is_none()
    }

    /// The three directories, from the root (logging which releases were
    /// taken) or as given.
    pub fn resolve(&self) -> Result<InputDirs, PipelineError> {
        if let Some(root) = &self.mimic_root {
            let found = discover::discover(root, &self.versions)?;
            for note in &found.notes {
                tracing::info!("{note}");
            }
            for p in Project::ALL {
                let l = found.get(p);
                let version = l.version.as_deref().unwrap_or("(unversioned)");
                tracing::info!("{p} {version}: {}", l.dir.display());
            }
            let versions = found.versions();
            return Ok(InputDirs {
                hosp: found.hosp.dir,
                cxr: found.cxr.dir,
                ecg: found.ecg.dir,
                cxr_tables: found.cxr_tables,
                versions,
            });
        }
        let (Some(h), Some(c), Some(e)) = (&self.hosp, &self.cxr, &self.ecg) else {
            return Err(PipelineError::NoInput { needs: "a MIMIC download root, or the three project directories" });
        };
        let mut versions = discover::infer_versions(h, c, e);
        for p in Project::ALL {
            if let Some(v) = self.versions.get(p) {
                versions.set(p, v);
            }
        }
        Ok(InputDirs { hosp: h.clone(), cxr: c.clone(), ecg: e.clone(), cxr_tables: discover::cxr_tables(c), versions })
    }

    /// The image and record directories only (stage 3 reads no table of
    /// MIMIC-IV): from the root, or as given.
    pub fn resolve_files(&self) -> Result<(PathBuf, PathBuf), PipelineError> {
        if self.mimic_root.is_some() {
            let dirs = self.resolve()?;
            return Ok((dirs.cxr, dirs.ecg));
        }
        match (&self.cxr, &self.ecg) {
            (Some(c), Some(e)) => Ok((c.clone(), e.clone())),
            _ => Err(PipelineError::NoInput {
                needs: "a MIMIC download root, or the MIMIC-CXR-JPG and MIMIC-IV-ECG directories",
            }),
        }
    }
}

/// The three input directories of a build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputDirs {
    /// MIMIC-IV `hosp`.
    pub hosp: PathBuf,
    /// MIMIC-CXR-JPG.
    pub cxr: PathBuf,
    /// MIMIC-IV-ECG.
    pub ecg: PathBuf,
    /// File names of the CXR tables in `cxr`.
    pub cxr_tables: CxrTables,
    /// Release of each input where known.
    pub versions: Releases,
}

impl InputDirs {
    /// The six tables stage 1 reads.
    pub fn tables(&self) -> Vec<PathBuf> {
        use mimic_io::layout as l;
        vec![
            self.hosp.join(l::PATIENTS),
            self.hosp.join(l::ADMISSIONS),
            self.hosp.join(l::LABEVENTS),
            self.cxr.join(&self.cxr_tables.metadata),
            self.cxr.join(&self.cxr_tables.chexpert),
            self.ecg.join(l::ECG_RECORD_LIST),
        ]
    }

    /// The same download, as the download plan sees it.
    pub fn download(&self) -> cohort::plan::Download {
        cohort::plan::Download {
            hosp: self.hosp.clone(),
            cxr: self.cxr.clone(),
            ecg: self.ecg.clone(),
            cxr_tables: self.cxr_tables.clone(),
            versions: self.versions.clone(),
        }
    }
}

/// The folder holding `physionet.org/` when `dir` is a project folder of
/// PhysioNet's layout (`<X>/physionet.org/files/<project>/<version>`):
/// where a plan's `download.sh` puts the files next to the tables.
pub fn physionet_parent(dir: &Path) -> Option<PathBuf> {
    use std::path::Component;
    let dir = std::fs::canonicalize(dir).ok()?;
    let names: Vec<Component> = dir.components().collect();
    let n = names.len();
    (n >= 5 && names[n - 4].as_os_str() == "physionet.org" && names[n - 3].as_os_str() == "files")
        .then(|| names[..n - 4].iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_physionet_parent_is_found_from_a_project_folder() {
        let d = tempfile::tempdir().unwrap();
        let cxr = d.path().join("physionet.org/files/mimic-cxr-jpg/2.0.0");
        std::fs::create_dir_all(&cxr).unwrap();
        assert_eq!(physionet_parent(&cxr), Some(std::fs::canonicalize(d.path()).unwrap()));
        assert_eq!(physionet_parent(d.path()), None);
    }

    #[test]
    fn nothing_named_is_the_demo_and_half_named_is_an_error() {
        assert!(InputSpec::default().is_empty());
        let half = InputSpec { hosp: Some("h".into()), ..InputSpec::default() };
        assert!(!half.is_empty());
        assert!(matches!(half.resolve(), Err(PipelineError::NoInput { .. })));
        let files = InputSpec { cxr: Some("c".into()), ecg: Some("e".into()), ..InputSpec::default() };
        assert_eq!(files.resolve_files().unwrap(), (PathBuf::from("c"), PathBuf::from("e")));
    }
}
