//! The three projects a build reads, and the release of each.

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One of the three PhysioNet projects the build reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Project {
    /// MIMIC-IV; its `hosp` module holds the tables the build reads.
    MimicIv,
    /// MIMIC-CXR-JPG.
    CxrJpg,
    /// MIMIC-IV-ECG.
    IvEcg,
}

impl Project {
    /// The three projects, in the order the build reads them.
    pub const ALL: [Project; 3] = [Project::MimicIv, Project::CxrJpg, Project::IvEcg];

    /// PhysioNet's folder name (`files/<slug>/<version>/`); also the key of
    /// each release in [`Releases`]' JSON, so reports name projects the way
    /// PhysioNet does.
    pub const fn slug(self) -> &'static str {
        match self {
            Project::MimicIv => "mimiciv",
            Project::CxrJpg => "mimic-cxr-jpg",
            Project::IvEcg => "mimic-iv-ecg",
        }
    }

    /// The project whose slug is `slug`.
    pub fn from_slug(slug: &str) -> Option<Project> {
        Project::ALL.into_iter().find(|p| p.slug() == slug)
    }

    /// The project's name as published.
    pub const fn name(self) -> &'static str {
        match self {
            Project::MimicIv => "MIMIC-IV",
            Project::CxrJpg => "MIMIC-CXR-JPG",
            Project::IvEcg => "MIMIC-IV-ECG",
        }
    }

    /// The release the published Symile-MIMIC dataset was built from.
    pub const fn published_version(self) -> &'static str {
        match self {
            Project::MimicIv => "2.2",
            Project::CxrJpg => "2.0.0",
            Project::IvEcg => "1.0",
        }
    }
}

impl fmt::Display for Project {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// In JSON a project is its [`Project::slug`], as PhysioNet names it.
impl Serialize for Project {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.slug())
    }
}

impl<'de> Deserialize<'de> for Project {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let slug = String::deserialize(d)?;
        Project::from_slug(&slug).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{slug:?} is not a project this build reads (expected one of mimiciv, mimic-cxr-jpg, mimic-iv-ecg)"
            ))
        })
    }
}

/// The release of each project where it is known: what a build read, as its
/// reports (`cohort_report.json`, `plan.json`, the build manifests) and the
/// dataset card record it. A cohort is only comparable with one built from
/// the same releases.
///
/// In JSON an object keyed by [`Project::slug`] in the slugs' order
/// (`mimic-cxr-jpg`, `mimic-iv-ecg`, `mimiciv`), an unknown release left
/// out: `{"mimic-cxr-jpg": "2.0.0", "mimic-iv-ecg": "1.0", "mimiciv": "2.2"}`.
/// Reading one, a key that names none of the three projects is passed over,
/// as `plan.json`'s other unknown keys are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Releases {
    /// Indexed by the project's place in [`Project::ALL`].
    by_project: [Option<String>; 3],
}

/// The projects in the order of their slugs: the order of the JSON keys
/// and of [`Releases::iter`].
const BY_SLUG: [Project; 3] = [Project::CxrJpg, Project::IvEcg, Project::MimicIv];

impl Releases {
    /// The releases the published Symile-MIMIC dataset was built from.
    pub fn published() -> Releases {
        Project::ALL.into_iter().map(|p| (p, p.published_version())).collect()
    }

    /// `project`'s place in [`Project::ALL`], which lists the variants in order.
    fn index(project: Project) -> usize {
        project as usize
    }

    /// The release of `project`, if known.
    pub fn get(&self, project: Project) -> Option<&str> {
        self.by_project[Self::index(project)].as_deref()
    }

    /// Records `release` as the release of `project`, replacing any other.
    pub fn set(&mut self, project: Project, release: impl Into<String>) {
        self.by_project[Self::index(project)] = Some(release.into());
    }

    /// Forgets the release of `project`, returning it.
    pub fn remove(&mut self, project: Project) -> Option<String> {
        self.by_project[Self::index(project)].take()
    }

    /// No release is known.
    pub fn is_empty(&self) -> bool {
        self.by_project.iter().all(Option::is_none)
    }

    /// The known releases, in the order of the projects' slugs (the JSON's).
    pub fn iter(&self) -> impl Iterator<Item = (Project, &str)> {
        BY_SLUG.into_iter().filter_map(|p| self.get(p).map(|v| (p, v)))
    }
}

impl<S: Into<String>> FromIterator<(Project, S)> for Releases {
    fn from_iter<I: IntoIterator<Item = (Project, S)>>(iter: I) -> Self {
        let mut releases = Releases::default();
        for (p, v) in iter {
            releases.set(p, v);
        }
        releases
    }
}

impl Serialize for Releases {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let known: Vec<(Project, &str)> = self.iter().collect();
        let mut map = serializer.serialize_map(Some(known.len()))?;
        for (p, v) in known {
            map.serialize_entry(p.slug(), v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Releases {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ReleasesVisitor;
        impl<'de> Visitor<'de> for ReleasesVisitor {
            type Value = Releases;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of project slug to release, e.g. {\"mimiciv\": \"2.2\"}")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Releases, A::Error> {
                let mut releases = Releases::default();
                while let Some((slug, release)) = map.next_entry::<String, String>()? {
                    if let Some(p) = Project::from_slug(&slug) {
                        releases.set(p, release);
                    }
                }
                Ok(releases)
            }
        }
        deserializer.deserialize_map(ReleasesVisitor)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn slugs_name_each_project_once() {
        for (i, p) in Project::ALL.into_iter().enumerate() {
            assert_eq!(Releases::index(p), i);
            assert_eq!(Project::from_slug(p.slug()), Some(p));
        }
        assert_eq!(Project::from_slug("mimic-iv"), None);
        let mut sorted = BY_SLUG;
        sorted.sort_by_key(|p| p.slug());
        assert_eq!(sorted, BY_SLUG, "BY_SLUG is in the slugs' order");
    }

    /// The JSON is what a map of slug to release gives: same keys, same
    /// order, unknown releases left out.
    #[test]
    fn json_is_that_of_a_map_keyed_by_slug() {
        let map = |r: &Releases| -> BTreeMap<String, String> {
            r.iter().map(|(p, v)| (p.slug().to_string(), v.to_string())).collect()
        };
        let partial: Releases = [(Project::MimicIv, "3.1"), (Project::IvEcg, "1.0")].into_iter().collect();
        for r in [Releases::published(), partial, Releases::default()] {
            let json = serde_json::to_string_pretty(&r).unwrap();
            assert_eq!(json, serde_json::to_string_pretty(&map(&r)).unwrap());
            assert_eq!(serde_json::from_str::<Releases>(&json).unwrap(), r);
        }
        assert_eq!(
            serde_json::to_string(&Releases::published()).unwrap(),
            r#"{"mimic-cxr-jpg":"2.0.0","mimic-iv-ecg":"1.0","mimiciv":"2.2"}"#
        );
    }

    #[test]
    fn reading_passes_over_other_keys_and_refuses_other_values() {
        let r: Releases = serde_json::from_str(r#"{"mimiciv": "2.2", "eicu": "2.0"}"#).unwrap();
        assert_eq!(r, [(Project::MimicIv, "2.2")].into_iter().collect());
        assert!(serde_json::from_str::<Releases>(r#"{"mimiciv": 2.2}"#).is_err());
        assert!(serde_json::from_str::<Releases>(r#"["mimiciv"]"#).is_err());
    }

    #[test]
    fn set_get_remove() {
        let mut r = Releases::default();
        assert!(r.is_empty());
        r.set(Project::CxrJpg, "2.1.0");
        assert_eq!(r.get(Project::CxrJpg), Some("2.1.0"));
        assert_eq!(r.get(Project::MimicIv), None);
        assert_eq!(r.remove(Project::CxrJpg).as_deref(), Some("2.1.0"));
        assert!(r.is_empty());
        assert_ne!(Releases::published(), Releases::default());
        assert_eq!(Releases::published().get(Project::MimicIv), Some("2.2"));
    }
}
