//! Layout discovery on small trees of empty tables: every download shape,
//! several releases, explicit choices, and roots that do not resolve (whose
//! messages must say what was found and what is missing).

use std::path::{Path, PathBuf};

use mimic_io::discover::{
    CxrTables, DiscoverError, Note, Project, Releases, Setting, VersionChoice, cxr_tables, discover, infer_versions,
    version_from_path,
};
use mimic_io::layout;

fn touch(root: &Path, rel: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, b"").unwrap();
}

fn hosp(root: &Path, dir: &str) {
    for t in [layout::PATIENTS, layout::ADMISSIONS, layout::LABEVENTS] {
        touch(root, &format!("{dir}/{t}"));
    }
}

fn cxr(root: &Path, dir: &str) {
    for t in [layout::CXR_METADATA, layout::CXR_CHEXPERT] {
        touch(root, &format!("{dir}/{t}"));
    }
    std::fs::create_dir_all(root.join(dir).join("files/p10")).unwrap();
}

fn ecg(root: &Path, dir: &str) {
    touch(root, &format!("{dir}/{}", layout::ECG_RECORD_LIST));
    std::fs::create_dir_all(root.join(dir).join("files/p1000")).unwrap();
}

fn versions(pairs: &[(&str, &str)]) -> Releases {
    pairs.iter().map(|(slug, v)| (Project::from_slug(slug).expect("a project slug"), *v)).collect()
}

fn err(root: &Path, choice: &VersionChoice) -> String {
    match discover(root, choice) {
        Ok(d) => panic!("expected an error, found {d:?}"),
        Err(e) => e.to_string(),
    }
}

/// A front end's spelling of the settings, to check where messages put it.
fn spell(s: Setting) -> Option<String> {
    Some(match s {
        Setting::Release(p) => format!("<release of {}>", p.slug()),
        Setting::ProjectDirs => "<three dirs>".to_string(),
    })
}

/// The error of `discover`, rendered with [`spell`]; its `Display` must be
/// the same text without any setting named.
fn spelled_err(root: &Path, choice: &VersionChoice) -> String {
    match discover(root, choice) {
        Ok(d) => panic!("expected an error, found {d:?}"),
        Err(e) => {
            assert!(!e.to_string().contains('<'), "Display names a setting: {e}");
            assert_eq!(e.render(&|_| None), e.to_string());
            e.render(&spell)
        }
    }
}

fn assert_mentions(msg: &str, needles: &[&str]) {
    for n in needles {
        assert!(msg.contains(n), "message does not mention {n:?}:\n{msg}");
    }
}

fn canon(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap()
}

#[test]
fn unversioned_layout() {
    let t = test_support::tempdir();
    let r = t.path();
    hosp(r, "mimiciv/hosp");
    cxr(r, "mimic-cxr-jpg");
    ecg(r, "mimic-iv-ecg");
    let d = discover(r, &VersionChoice::default()).unwrap();
    assert_eq!(d.hosp.dir, r.join("mimiciv/hosp"));
    assert_eq!(d.cxr.dir, r.join("mimic-cxr-jpg"));
    assert_eq!(d.ecg.dir, r.join("mimic-iv-ecg"));
    assert_eq!((d.hosp.version.as_deref(), d.cxr.version.as_deref(), d.ecg.version.as_deref()), (None, None, None));
    assert_eq!(d.cxr_tables, CxrTables::default());
    assert!(d.notes.is_empty(), "{:?}", d.notes);
    assert!(d.versions().is_empty());
}

#[test]
fn bare_hosp_under_the_root_still_counts() {
    let t = test_support::tempdir();
    let r = t.path();
    hosp(r, "hosp");
    cxr(r, "mimic-cxr-jpg");
    ecg(r, "mimic-iv-ecg");
    let d = discover(r, &VersionChoice::default()).unwrap();
    assert_eq!(d.hosp.dir, r.join("hosp"));
    assert_eq!(d.hosp.version, None);
}

/// The layout PhysioNet serves, with the host folders stripped: the bare
/// parents `mimic-cxr-jpg/` and `mimic-iv-ecg/` exist and hold nothing, and
/// must not be taken for the projects.
#[test]
fn versioned_layout_skips_the_bare_parents() {
    let t = test_support::tempdir();
    let r = t.path();
    hosp(r, "mimiciv/2.2/hosp");
    touch(r, "mimiciv/2.2/icu/icustays.csv.gz");
    cxr(r, "mimic-cxr-jpg/2.0.0");
    ecg(r, "mimic-iv-ecg/1.0");
    let d = discover(r, &VersionChoice::default()).unwrap();
    assert_eq!(d.hosp.dir, r.join("mimiciv/2.2/hosp"));
    assert_eq!(d.cxr.dir, r.join("mimic-cxr-jpg/2.0.0"));
    assert_eq!(d.ecg.dir, r.join("mimic-iv-ecg/1.0"));
    assert_eq!(d.versions(), versions(&[("mimiciv", "2.2"), ("mimic-cxr-jpg", "2.0.0"), ("mimic-iv-ecg", "1.0")]));
    assert!(d.notes.is_empty(), "{:?}", d.notes);
}

/// `wget -r https://physionet.org/files/<project>/<version>/` leaves
/// `physionet.org/files/...`; the root may be above it, `physionet.org` or
/// `physionet.org/files`.
#[test]
fn wget_tree_from_any_of_its_levels() {
    let t = test_support::tempdir();
    let r = t.path();
    hosp(r, "physionet.org/files/mimiciv/3.1/hosp");
    touch(r, "physionet.org/files/mimiciv/3.1/SHA256SUMS.txt");
    cxr(r, "physionet.org/files/mimic-cxr-jpg/2.1.0");
    ecg(r, "physionet.org/files/mimic-iv-ecg/1.0");
    touch(r, "physionet.org/robots.txt");
    let files = r.join("physionet.org/files");
    for root in [r.to_path_buf(), r.join("physionet.org"), files.clone()] {
        let d = discover(&root, &VersionChoice::default()).unwrap_or_else(|e| panic!("{}: {e}", root.display()));
        assert_eq!(canon(&d.hosp.dir), canon(&files.join("mimiciv/3.1/hosp")), "{}", root.display());
        assert_eq!(canon(&d.cxr.dir), canon(&files.join("mimic-cxr-jpg/2.1.0")));
        assert_eq!(canon(&d.ecg.dir), canon(&files.join("mimic-iv-ecg/1.0")));
        assert_eq!(d.versions(), versions(&[("mimiciv", "3.1"), ("mimic-cxr-jpg", "2.1.0"), ("mimic-iv-ecg", "1.0")]));
        assert!(d.notes.is_empty(), "{:?}", d.notes);
    }
}

fn two_releases_each(r: &Path) {
    hosp(r, "mimiciv/2.2/hosp");
    hosp(r, "mimiciv/3.1/hosp");
    cxr(r, "mimic-cxr-jpg/2.0.0");
    cxr(r, "mimic-cxr-jpg/2.1.0");
    ecg(r, "mimic-iv-ecg/1.0");
}

#[test]
fn several_releases_take_the_published_ones_and_say_so() {
    let t = test_support::tempdir();
    let r = t.path();
    two_releases_each(r);
    let d = discover(r, &VersionChoice::default()).unwrap();
    assert_eq!(d.versions(), versions(&[("mimiciv", "2.2"), ("mimic-cxr-jpg", "2.0.0"), ("mimic-iv-ecg", "1.0")]));
    assert_eq!(d.hosp.dir, r.join("mimiciv/2.2/hosp"));
    assert_eq!(
        d.notes,
        vec![
            Note::TookPublished {
                project: Project::MimicIv,
                version: "2.2".into(),
                dir: r.join("mimiciv/2.2/hosp"),
                others: vec!["3.1".into()],
            },
            Note::TookPublished {
                project: Project::CxrJpg,
                version: "2.0.0".into(),
                dir: r.join("mimic-cxr-jpg/2.0.0"),
                others: vec!["2.1.0".into()],
            },
        ]
    );
    let text = d.notes[0].to_string();
    assert!(text.ends_with("over 3.1"), "{text}");
    assert_eq!(d.notes[0].render(&spell), format!("{text} (choose another with <release of mimiciv>)"));
}

#[test]
fn explicit_choices_take_other_releases() {
    let t = test_support::tempdir();
    let r = t.path();
    two_releases_each(r);
    let choice = VersionChoice { mimiciv: Some("3.1".into()), cxr: Some("2.1.0".into()), ecg: Some("1.0".into()) };
    let d = discover(r, &choice).unwrap();
    assert_eq!(d.hosp.dir, r.join("mimiciv/3.1/hosp"));
    assert_eq!(d.cxr.dir, r.join("mimic-cxr-jpg/2.1.0"));
    assert_eq!(d.versions(), versions(&[("mimiciv", "3.1"), ("mimic-cxr-jpg", "2.1.0"), ("mimic-iv-ecg", "1.0")]));
    assert!(d.notes.is_empty(), "{:?}", d.notes);
}

#[test]
fn unversioned_next_to_the_published_release_takes_the_published_one() {
    let t = test_support::tempdir();
    let r = t.path();
    hosp(r, "mimiciv/hosp");
    cxr(r, "mimic-cxr-jpg");
    ecg(r, "mimic-iv-ecg");
    ecg(r, "mimic-iv-ecg/1.0");
    let d = discover(r, &VersionChoice::default()).unwrap();
    assert_eq!(d.ecg.dir, r.join("mimic-iv-ecg/1.0"));
    assert!(
        matches!(&d.notes[..], [Note::TookPublished { project: Project::IvEcg, others, .. }] if others == &["(unversioned)"]),
        "{:?}",
        d.notes
    );
}

#[test]
fn several_releases_without_the_published_one_are_listed() {
    let t = test_support::tempdir();
    let r = t.path();
    hosp(r, "mimiciv/3.0/hosp");
    hosp(r, "mimiciv/3.1/hosp");
    cxr(r, "mimic-cxr-jpg/2.0.0");
    ecg(r, "mimic-iv-ecg/1.0");
    let msg = spelled_err(r, &VersionChoice::default());
    assert_mentions(
        &msg,
        &[
            "found mimic-cxr-jpg/2.0.0 and mimic-iv-ecg/1.0 under",
            "several MIMIC-IV releases and none is the published 2.2",
            "3.0 (mimiciv/3.0/hosp)",
            "3.1 (mimiciv/3.1/hosp); choose one with <release of mimiciv>",
        ],
    );
    // A choice resolves it.
    let d = discover(r, &VersionChoice { mimiciv: Some("3.0".into()), ..VersionChoice::default() }).unwrap();
    assert_eq!(d.hosp.version.as_deref(), Some("3.0"));
}

#[test]
fn a_chosen_release_that_is_absent_is_named_with_what_is_there() {
    let t = test_support::tempdir();
    let r = t.path();
    two_releases_each(r);
    let choice = VersionChoice { ecg: Some("2.0".into()), ..VersionChoice::default() };
    assert_mentions(&err(r, &choice), &["MIMIC-IV-ECG 2.0 was asked for but is not there"]);
    let msg = spelled_err(r, &choice);
    assert_mentions(
        &msg,
        &[
            "found mimiciv/2.2/hosp and mimic-cxr-jpg/2.0.0 under",
            "MIMIC-IV-ECG 2.0 was asked for (<release of mimic-iv-ecg> 2.0) but is not there",
            "found 1.0 (mimic-iv-ecg/1.0)",
        ],
    );
}

#[test]
fn one_release_in_two_places_is_ambiguous() {
    let t = test_support::tempdir();
    let r = t.path();
    hosp(r, "mimiciv/2.2/hosp");
    cxr(r, "mimic-cxr-jpg/2.0.0");
    cxr(r, "physionet.org/files/mimic-cxr-jpg/2.0.0");
    ecg(r, "mimic-iv-ecg/1.0");
    let msg = spelled_err(r, &VersionChoice::default());
    assert_mentions(
        &msg,
        &[
            "found mimiciv/2.2/hosp and mimic-iv-ecg/1.0 under",
            "MIMIC-CXR-JPG 2.0.0 is in more than one place",
            "keep one, or name the three project directories (<three dirs>)",
            "mimic-cxr-jpg/2.0.0",
            "physionet.org/files/mimic-cxr-jpg/2.0.0",
        ],
    );
    // Two unversioned copies are just as ambiguous.
    let t = test_support::tempdir();
    let r = t.path();
    hosp(r, "mimiciv/hosp");
    hosp(r, "hosp");
    cxr(r, "mimic-cxr-jpg");
    ecg(r, "mimic-iv-ecg");
    let msg = err(r, &VersionChoice::default());
    assert_mentions(&msg, &["MIMIC-IV (unversioned) is in more than one place", "mimiciv/hosp, hosp"]);
}

#[test]
fn a_symlinked_release_folder_is_one_candidate() {
    let t = test_support::tempdir();
    let r = t.path();
    hosp(r, "mimiciv/3.1/hosp");
    std::os::unix::fs::symlink(r.join("mimiciv/3.1"), r.join("mimiciv/current")).unwrap();
    cxr(r, "mimic-cxr-jpg/2.0.0");
    ecg(r, "mimic-iv-ecg/1.0");
    let d = discover(r, &VersionChoice::default()).unwrap();
    assert_eq!(d.hosp.version.as_deref(), Some("3.1"));
}

/// The message names what was found, what is missing, where it looked, and
/// which directories were close but lack tables.
#[test]
fn an_incomplete_root_lists_found_and_missing() {
    let t = test_support::tempdir();
    let r = t.path();
    touch(r, &format!("mimiciv/2.2/hosp/{}", layout::PATIENTS));
    touch(r, &format!("mimiciv/2.2/hosp/{}", layout::ADMISSIONS));
    std::fs::create_dir_all(r.join("mimiciv/3.1/icu")).unwrap();
    cxr(r, "mimic-cxr-jpg/2.0.0");
    ecg(r, "mimic-iv-ecg/1.0");
    let msg = err(r, &VersionChoice::default());
    assert_mentions(
        &msg,
        &[
            &format!("found mimic-cxr-jpg/2.0.0 and mimic-iv-ecg/1.0 under {}", r.display()),
            "missing MIMIC-IV hosp: looked for mimiciv/<version>/hosp or mimiciv/hosp with patients.csv.gz, admissions.csv.gz, labevents.csv.gz",
            "physionet.org/files/",
            "mimiciv/2.2/hosp lacks labevents.csv.gz",
            "mimiciv/3.1 has no hosp/",
        ],
    );
    assert!(!msg.contains("mimic-cxr-jpg lacks"), "the bare parent is not worth a mention:\n{msg}");
    match discover(r, &VersionChoice::default()) {
        Err(DiscoverError::Unresolved { found, problems, .. }) => {
            assert_eq!(found, ["mimic-cxr-jpg/2.0.0", "mimic-iv-ecg/1.0"]);
            assert_eq!(problems.len(), 1);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_empty_root_lists_all_three_projects() {
    let t = test_support::tempdir();
    let r = t.path();
    std::fs::create_dir_all(r.join("mimic-cxr-jpg/2.0.0/files")).unwrap();
    touch(r, "mimic-iv-ecg/1.0/machine_measurements.csv");
    let msg = err(r, &VersionChoice::default());
    assert_mentions(
        &msg,
        &[
            "found none of MIMIC-IV hosp, MIMIC-CXR-JPG and MIMIC-IV-ECG under",
            "missing MIMIC-IV hosp",
            "missing MIMIC-CXR-JPG: looked for mimic-cxr-jpg/<version>/ or mimic-cxr-jpg/ with mimic-cxr-2.0.0-metadata.csv.gz and mimic-cxr-2.0.0-chexpert.csv.gz",
            "mimic-cxr-jpg/2.0.0 lacks mimic-cxr-2.0.0-metadata.csv.gz",
            "missing MIMIC-IV-ECG: looked for mimic-iv-ecg/<version>/ or mimic-iv-ecg/ with record_list.csv",
            "mimic-iv-ecg/1.0 lacks record_list.csv",
        ],
    );
    let file = r.join("mimic-iv-ecg/1.0/machine_measurements.csv");
    assert_mentions(&err(&file, &VersionChoice::default()), &["machine_measurements.csv: not a directory"]);
}

#[test]
fn cxr_tables_of_another_release_are_taken_when_alone() {
    let t = test_support::tempdir();
    let r = t.path();
    hosp(r, "mimiciv/3.1/hosp");
    touch(r, "mimic-cxr-jpg/2.2.0/mimic-cxr-2.2.0-metadata.csv.gz");
    touch(r, "mimic-cxr-jpg/2.2.0/mimic-cxr-2.2.0-chexpert.csv.gz");
    touch(r, "mimic-cxr-jpg/2.2.0/mimic-cxr-2.1.0-test-set-labeled.csv");
    ecg(r, "mimic-iv-ecg/1.0");
    let d = discover(r, &VersionChoice::default()).unwrap();
    let want = CxrTables {
        metadata: "mimic-cxr-2.2.0-metadata.csv.gz".into(),
        chexpert: "mimic-cxr-2.2.0-chexpert.csv.gz".into(),
    };
    assert_eq!(d.cxr_tables, want);
    assert_eq!(d.notes, vec![Note::CxrTableNames { dir: r.join("mimic-cxr-jpg/2.2.0"), tables: want.clone() }]);
    assert_eq!(cxr_tables(&r.join("mimic-cxr-jpg/2.2.0")), want);

    // The 2.0.0 names win when both are there.
    touch(r, &format!("mimic-cxr-jpg/2.2.0/{}", layout::CXR_METADATA));
    touch(r, &format!("mimic-cxr-jpg/2.2.0/{}", layout::CXR_CHEXPERT));
    let d = discover(r, &VersionChoice::default()).unwrap();
    assert_eq!(d.cxr_tables, CxrTables::default());
    assert!(d.notes.is_empty(), "{:?}", d.notes);
}

#[test]
fn several_renamed_cxr_tables_prefer_the_folders_release() {
    let t = test_support::tempdir();
    let r = t.path();
    for v in ["2.1.0", "2.2.0"] {
        for kind in ["metadata", "chexpert"] {
            touch(r, &format!("mimic-cxr-jpg/2.2.0/mimic-cxr-{v}-{kind}.csv.gz"));
            touch(r, &format!("flat/mimic-cxr-jpg/mimic-cxr-{v}-{kind}.csv.gz"));
        }
    }
    assert_eq!(cxr_tables(&r.join("mimic-cxr-jpg/2.2.0")).metadata, "mimic-cxr-2.2.0-metadata.csv.gz");
    // Without a release folder to go by, two candidates are an error naming both.
    hosp(r, "flat/mimiciv/hosp");
    ecg(r, "flat/mimic-iv-ecg");
    let msg = err(&r.join("flat"), &VersionChoice::default());
    assert_mentions(
        &msg,
        &[
            "missing MIMIC-CXR-JPG",
            "mimic-cxr-jpg has several metadata tables (mimic-cxr-2.1.0-metadata.csv.gz, mimic-cxr-2.2.0-metadata.csv.gz) and no release folder to choose by",
        ],
    );
    // A directory without any table gets the default names (the reader then names the one it expected).
    assert_eq!(cxr_tables(r), CxrTables::default());
}

#[test]
fn versions_are_read_from_directory_names() {
    let p = Path::new;
    assert_eq!(version_from_path(Project::MimicIv, p("/d/mimiciv/3.1/hosp")).as_deref(), Some("3.1"));
    assert_eq!(version_from_path(Project::MimicIv, p("/d/mimiciv/hosp")), None);
    assert_eq!(version_from_path(Project::MimicIv, p("/d/mimiciv/3.1")), None);
    assert_eq!(
        version_from_path(Project::CxrJpg, p("/d/physionet.org/files/mimic-cxr-jpg/2.1.0/")).as_deref(),
        Some("2.1.0")
    );
    assert_eq!(version_from_path(Project::CxrJpg, p("/d/mimic-cxr-jpg")), None);
    assert_eq!(version_from_path(Project::CxrJpg, p("/d/mimic-cxr-jpg/files")), None);
    assert_eq!(version_from_path(Project::IvEcg, p("/d/mimic-iv-ecg/1.0/.")).as_deref(), Some("1.0"));
    assert_eq!(version_from_path(Project::IvEcg, p("golden/input/mimic-iv-ecg")), None);
    assert_eq!(
        infer_versions(p("/a/mimiciv/2.2/hosp"), p("/a/mimic-cxr-jpg"), p("/a/mimic-iv-ecg/1.0")),
        versions(&[("mimiciv", "2.2"), ("mimic-iv-ecg", "1.0")])
    );
    // A relative path is resolved when its own components say nothing.
    let t = test_support::tempdir();
    ecg(t.path(), "mimic-iv-ecg/1.0");
    let inside = t.path().join("mimic-iv-ecg/1.0/files/..");
    assert_eq!(version_from_path(Project::IvEcg, &inside).as_deref(), Some("1.0"));
    assert_eq!(version_from_path(Project::IvEcg, &t.path().join("mimic-iv-ecg/1.0/..")), None);
}
