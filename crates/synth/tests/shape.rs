//! The generated tree: deterministic, shaped like `golden/input`, and
//! consistent with its own manifest.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use synth::{SynthConfig, SynthError, generate};
use test_support::fixture;
use test_support::gz::read_maybe_gz;

fn small() -> SynthConfig {
    SynthConfig {
        seed: 11,
        admissions: Some(120),
        labs_per_admission: 25.0,
        ecgs_per_admission: 1.0,
        p_cxr_window: 0.5,
        p_ecg_window: 0.7,
        ..SynthConfig::default()
    }
}

/// One generation of [`small`], shared by the tests that only read it.
fn small_tree() -> &'static (test_support::TempDir, synth::Manifest) {
    static TREE: OnceLock<(test_support::TempDir, synth::Manifest)> = OnceLock::new();
    TREE.get_or_init(|| {
        let dir = test_support::tempdir();
        let m = generate(dir.path(), &small()).unwrap();
        (dir, m)
    })
}

fn files_under(root: &Path) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
                out.insert(rel, p);
            }
        }
    }
    out
}

/// Table `rel` under `root` as text (inflated when `.gz`).
fn table(root: &Path, rel: &str) -> String {
    String::from_utf8(read_maybe_gz(&root.join(rel))).unwrap()
}

fn fixture() -> Vec<(String, String)> {
    let text = include_str!("data/golden_headers.txt");
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let (a, b) = l.split_once('\t').unwrap();
            (a.to_string(), b.to_string())
        })
        .collect()
}

#[test]
fn same_seed_same_bytes_for_any_thread_count() {
    let (a, b, c) = (test_support::tempdir(), test_support::tempdir(), test_support::tempdir());
    let cfg = small();
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let two = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    let ma = one.install(|| generate(a.path(), &cfg)).unwrap();
    let mb = two.install(|| generate(b.path(), &cfg)).unwrap();
    assert_eq!(ma, mb);
    let (fa, fb) = (files_under(a.path()), files_under(b.path()));
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    assert!(fa.len() > 200, "only {} files", fa.len());
    for (rel, pa) in &fa {
        assert!(std::fs::read(pa).unwrap() == std::fs::read(&fb[rel]).unwrap(), "{rel} differs between runs");
    }
    // A different seed gives different data.
    let other = SynthConfig { seed: 12, ..cfg };
    generate(c.path(), &other).unwrap();
    let rel = "mimiciv/hosp/labevents.csv.gz";
    assert_ne!(std::fs::read(a.path().join(rel)).unwrap(), std::fs::read(c.path().join(rel)).unwrap());
}

#[test]
fn shape_matches_golden_input() {
    let (dir, m) = small_tree();
    let root = dir.path();
    assert!(m.complete);
    let fix = fixture();
    // Same tables, same headers, gzip exactly where golden has gzip.
    for (rel, header) in fix.iter().filter(|(r, _)| r != "hea") {
        let raw = std::fs::read(root.join(rel)).unwrap();
        assert_eq!(raw.starts_with(&[0x1f, 0x8b]), rel.ends_with(".gz"), "{rel}");
        let text = table(root, rel);
        assert_eq!(text.lines().next().unwrap(), header, "{rel}");
    }
    // Layouts.
    let files = files_under(root);
    let tables: BTreeSet<&str> = fix.iter().filter(|(r, _)| r != "hea").map(|(r, _)| r.as_str()).collect();
    let mut jpgs = 0;
    let mut heas = 0;
    for rel in files.keys() {
        let parts: Vec<&str> = rel.split('/').collect();
        if let Some(rest) = rel.strip_prefix("mimic-cxr-jpg/files/") {
            let p: Vec<&str> = rest.split('/').collect();
            assert_eq!(p.len(), 4, "{rel}");
            assert!(p[0].len() == 3 && p[1].starts_with(p[0]) && p[1].len() == 9, "{rel}");
            assert!(p[2].starts_with('s') && p[3].ends_with(".jpg") && p[3].len() == 48, "{rel}");
            jpgs += 1;
        } else if let Some(rest) = rel.strip_prefix("mimic-iv-ecg/files/") {
            let p: Vec<&str> = rest.split('/').collect();
            assert_eq!(p.len(), 4, "{rel}");
            assert!(p[0].len() == 5 && p[1].starts_with(p[0]) && p[1].len() == 9, "{rel}");
            let study = &p[2][1..];
            assert!(p[3] == format!("{study}.hea") || p[3] == format!("{study}.dat"), "{rel}");
            heas += usize::from(p[3].ends_with(".hea"));
        } else {
            assert!(tables.contains(rel.as_str()) || rel == synth::MANIFEST, "unexpected file {rel} ({parts:?})");
        }
    }
    assert_eq!(jpgs, m.counts.cxr_jpgs);
    assert_eq!(heas, m.counts.ecgs);
    // WFDB header line structure, token by token against the golden header.
    let golden_hea: Vec<Vec<String>> =
        fix.iter().filter(|(r, _)| r == "hea").map(|(_, l)| l.split(' ').map(String::from).collect()).collect();
    let hea_path = files.iter().find(|(r, _)| r.ends_with(".hea")).unwrap().1;
    let hea = std::fs::read_to_string(hea_path).unwrap();
    let lines: Vec<Vec<&str>> = hea.lines().map(|l| l.split(' ').collect()).collect();
    assert_eq!(lines.len(), golden_hea.len());
    assert_eq!(lines[0].len(), golden_hea[0].len());
    assert_eq!(lines[0][1..4], golden_hea[0][1..4]);
    for (ours, theirs) in lines[1..].iter().zip(&golden_hea[1..]) {
        assert_eq!(ours.len(), theirs.len());
        assert_eq!(ours[0], format!("{}.dat", lines[0][0]));
        assert_eq!(ours[1], theirs[1]);
        assert!(ours[2] == "1000.0(0)/mV" || ours[2] == "200.0(0)/mV", "{}", ours[2]);
        assert_eq!(ours[3..5], theirs[3..5]);
        assert_eq!(ours[7..], theirs[7..]);
        let checksum: i64 = ours[6].parse().unwrap();
        assert!((0..65536).contains(&checksum));
    }
    assert_eq!(std::fs::metadata(hea_path.with_extension("dat")).unwrap().len(), 120_000);
    // Number formats of the CXR metadata: StudyTime always has a fraction,
    // some with 2-3 digits, some early-morning ones with fewer than 6 digits.
    let meta = table(root, "mimic-cxr-jpg/mimic-cxr-2.0.0-metadata.csv.gz");
    let times: Vec<&str> = meta.lines().skip(1).map(|l| l.split(',').nth(8).unwrap()).collect();
    assert!(times.iter().all(|t| t.contains('.')));
    assert!(times.iter().any(|t| t.split('.').nth(1).unwrap().len() >= 2));
    assert!(times.iter().any(|t| t.split('.').next().unwrap().len() < 6));
    let views: BTreeSet<&str> = meta.lines().skip(1).map(|l| l.split(',').nth(4).unwrap()).collect();
    for v in ["AP", "PA", "LATERAL", "LL", ""] {
        assert!(views.contains(v), "view {v:?} missing");
    }
    let chex = table(root, "mimic-cxr-jpg/mimic-cxr-2.0.0-chexpert.csv.gz");
    let labels: BTreeSet<&str> = chex.lines().skip(1).flat_map(|l| l.split(',').skip(2)).collect();
    assert_eq!(labels, BTreeSet::from(["", "0.0", "1.0", "-1.0"]));
}

/// `tests/data/golden_headers.txt` is what the reference golden set's input
/// (`testdata/golden/input`) really has, and the generator writes the same
/// set of table files.
#[test]
fn fixture_matches_golden_input() {
    let root = fixture::path("golden/input");
    for (rel, line) in fixture() {
        if rel == "hea" {
            continue;
        }
        assert_eq!(table(&root, &rel).lines().next().unwrap(), line, "{rel}");
    }
    let hea = std::fs::read_to_string(root.join("mimic-iv-ecg/files/p1020/p10205842/s49886407/49886407.hea")).unwrap();
    let fix: Vec<String> = fixture().into_iter().filter(|(r, _)| r == "hea").map(|(_, l)| l).collect();
    assert_eq!(hea.lines().collect::<Vec<_>>(), fix);
    // Same set of non-record files.
    let ours = &small_tree().0;
    let top =
        |r: &Path| -> BTreeSet<String> { files_under(r).into_keys().filter(|k| !k.contains("/files/")).collect() };
    assert_eq!(top(ours.path()), top(&root));
}

#[test]
fn manifest_counts_match_the_files() {
    let (dir, m) = small_tree();
    let root = dir.path();
    let rows = |rel: &str| table(root, rel).lines().count() - 1;
    assert_eq!(rows("mimiciv/hosp/patients.csv.gz"), m.counts.patients);
    assert_eq!(m.counts.patients + m.counts.orphans, m.counts.subjects);
    assert_eq!(rows("mimiciv/hosp/admissions.csv.gz"), m.counts.admissions);
    assert_eq!(rows("mimiciv/hosp/labevents.csv.gz"), m.counts.labevents);
    assert_eq!(rows("mimic-cxr-jpg/mimic-cxr-2.0.0-metadata.csv.gz"), m.counts.cxr_rows);
    assert_eq!(rows("mimic-cxr-jpg/mimic-cxr-2.0.0-chexpert.csv.gz"), m.counts.chexpert_rows);
    assert_eq!(rows("mimic-iv-ecg/record_list.csv"), m.counts.ecgs);
    assert_eq!(m.counts.ambiguous_ties, 0);
    // Every record_list row has its record; labevent ids are unique.
    for line in table(root, "mimic-iv-ecg/record_list.csv").lines().skip(1) {
        let path = line.rsplit(',').next().unwrap();
        assert!(root.join("mimic-iv-ecg").join(format!("{path}.hea")).is_file(), "{path}");
        assert!(root.join("mimic-iv-ecg").join(format!("{path}.dat")).is_file(), "{path}");
    }
    let labs = table(root, "mimiciv/hosp/labevents.csv.gz");
    let ids: BTreeSet<&str> = labs.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(ids.len(), m.counts.labevents);
    // Orphans: subjects of admissions missing from patients.
    let pats: BTreeSet<String> = table(root, "mimiciv/hosp/patients.csv.gz")
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    let adm = table(root, "mimiciv/hosp/admissions.csv.gz");
    let adm_rows: Vec<Vec<&str>> = adm.lines().skip(1).map(|l| l.split(',').collect()).collect();
    let orphan_subjects: BTreeSet<&str> = adm_rows.iter().map(|r| r[0]).filter(|s| !pats.contains(*s)).collect();
    assert!(!orphan_subjects.is_empty() && orphan_subjects.len() <= m.counts.orphans);
    // Planted admissions are in admissions.csv; survivors are in file order.
    let hadm_order: Vec<i64> = adm_rows.iter().map(|r| r[1].parse().unwrap()).collect();
    for (h, a) in &m.admissions {
        let h: i64 = h.parse().unwrap();
        let row = adm_rows.iter().find(|r| r[1] == h.to_string()).expect("planted admission present");
        assert_eq!(row[0], a.subject_id.to_string());
    }
    let survivors = m.survivors.clone().unwrap();
    assert_eq!(survivors.len(), m.counts.expected_survivors);
    let pos: Vec<usize> = survivors.iter().map(|s| hadm_order.iter().position(|h| h == s).unwrap()).collect();
    assert!(pos.windows(2).all(|w| w[0] < w[1]));
    // The manifest on disk is the returned one.
    let on_disk: synth::Manifest =
        serde_json::from_str(&std::fs::read_to_string(root.join(synth::MANIFEST)).unwrap()).unwrap();
    assert_eq!(&on_disk, m);
    // Every chosen CXR file exists; every chosen ECG is in record_list.
    for a in m.admissions.values() {
        if let Some(p) = &a.cxr_path {
            assert!(root.join("mimic-cxr-jpg").join(p).is_file(), "{p}");
        }
    }
}

/// Planted cases reach the outcome their name promises.
#[test]
fn planted_cases_have_their_intended_outcome() {
    let (_, m) = small_tree();
    let failing_cxr =
        ["exact24_only", "after72_only", "before_window_only", "odd_views_only", "missing_jpg_only", "none"];
    let failing_ecg = ["before_m24_only", "after_p24_only", "nan_only", "zero_only", "none"];
    let failing_labs = ["only_nan", "only_non_top", "outside_only", "none"];
    let mut seen = BTreeSet::new();
    for (h, a) in &m.admissions {
        let case = |k: &str| a.cases.get(k).map(String::as_str).unwrap_or("");
        let (c, e, l) = (case("cxr"), case("ecg"), case("labs"));
        seen.insert(format!("cxr:{c}"));
        seen.insert(format!("ecg:{e}"));
        seen.insert(format!("labs:{l}"));
        let d = &a.dropped_by;
        assert_eq!(failing_cxr.contains(&c), d.contains(&"cxr".to_string()), "{h} {:?} {d:?}", a.cases);
        assert_eq!(c == "no_chexpert_first", d.contains(&"chexpert".to_string()), "{h} {:?}", a.cases);
        assert_eq!(failing_ecg.contains(&e), d.contains(&"ecg".to_string()), "{h} {:?}", a.cases);
        assert_eq!(failing_labs.contains(&l), d.contains(&"labs".to_string()), "{h} {:?}", a.cases);
        assert_eq!(a.survive, d.is_empty());
        match c {
            "tie_same_study" | "tie_diff_study" => assert!(a.cxr_candidates >= 2),
            "sixteen_tie" => assert_eq!(a.cxr_candidates, 16),
            "unsorted_multi" => assert_eq!(a.cxr_candidates, 5),
            "exact24_then_good" | "exact72" | "just_after24" => assert!(a.cxr_candidates >= 1),
            _ => {}
        }
        match e {
            "tie" => assert_eq!(a.ecg_candidates, 2),
            "tie_invalid_first" => assert_eq!(a.ecg_candidates, 2),
            "exact_m24" => assert_eq!(a.ecg_candidates, 2),
            _ => {}
        }
        match l {
            "boundary" => {
                assert!(a.labs.contains_key("50813") && a.labs.contains_key("50910"));
                assert!(!a.labs.contains_key("52135"));
            }
            "lacks_always" => assert!(!a.labs.contains_key("51221")),
            "sparse" => assert_eq!(a.labs.len(), 3),
            _ => {}
        }
    }
    for must in ["cxr:sixteen_tie", "ecg:tie", "labs:tie_id_swapped", "labs:other_admission", "cxr:early_morning"] {
        assert!(seen.contains(must), "{must} not planted");
    }
    let pair: Vec<_> = m.admissions.values().filter(|a| a.cases.contains_key("pair")).collect();
    assert_eq!(pair.len(), 2);
    assert!(pair.iter().all(|a| a.survive));
    assert_eq!(pair[0].ecg_study_id, pair[1].ecg_study_id);
    assert_eq!(pair[0].cxr_dicom_id, pair[1].cxr_dicom_id);
}

#[test]
fn refuses_a_foreign_directory_and_replaces_its_own() {
    let dir = test_support::tempdir();
    std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
    let err = generate(dir.path(), &small()).unwrap_err();
    assert!(matches!(err, SynthError::NotOurs { .. }), "{err}");
    assert_eq!(std::fs::read_to_string(dir.path().join("notes.txt")).unwrap(), "mine");
    let own = test_support::tempdir();
    let cfg = SynthConfig { admissions: Some(30), ..small() };
    let first = generate(own.path(), &cfg).unwrap();
    let again = generate(own.path(), &cfg).unwrap();
    assert_eq!(first, again);
    let bad = SynthConfig { gzip_level: 0, ..cfg };
    assert!(matches!(generate(own.path(), &bad), Err(SynthError::Config(_))));
}

#[test]
fn demo_config_yields_a_few_hundred_survivors() {
    let dir = test_support::tempdir();
    let m = generate(dir.path(), &synth::demo_config()).unwrap();
    assert!((300..=600).contains(&m.counts.expected_survivors), "{:?}", m.counts);
    assert_eq!(m.counts.ambiguous_ties, 0);
    assert!(m.counts.max_cxr_candidates <= 16 && m.counts.max_ecg_candidates <= 16);
}

#[test]
fn deathtime_midnight_knob_puts_every_deathtime_at_midnight() {
    let dir = test_support::tempdir();
    let cfg = SynthConfig {
        admissions: Some(400),
        labs_per_admission: 5.0,
        ecgs_per_admission: 0.5,
        planted_reps: 0,
        deathtime_midnight: true,
        // Only admissions.csv is read: no image or ECG files.
        max_cxr_files: Some(0),
        max_ecg_files: Some(0),
        ..small()
    };
    generate(dir.path(), &cfg).unwrap();
    let adm = table(dir.path(), "mimiciv/hosp/admissions.csv.gz");
    let deaths: Vec<&str> =
        adm.lines().skip(1).map(|l| l.split(',').nth(4).unwrap()).filter(|d| !d.is_empty()).collect();
    assert!(!deaths.is_empty());
    assert!(deaths.iter().all(|d| d.ends_with(" 00:00:00")), "{deaths:?}");
    // Without the knob, deathtime equals dischtime (minute resolution).
    let plain = test_support::tempdir();
    generate(plain.path(), &SynthConfig { deathtime_midnight: false, ..cfg }).unwrap();
    let adm = table(plain.path(), "mimiciv/hosp/admissions.csv.gz");
    let rows: Vec<Vec<&str>> =
        adm.lines().skip(1).map(|l| l.split(',').collect::<Vec<_>>()).filter(|r| !r[4].is_empty()).collect();
    assert!(!rows.is_empty() && rows.iter().all(|r| r[4] == r[3] && r[15] == "1"));
}

/// Every record of a table as column name → value, read by header.
fn by_name(path: &Path) -> (Vec<String>, Vec<BTreeMap<String, String>>) {
    let mut t = mimic_io::table::TableReader::open(path).unwrap();
    let headers = t.headers().to_vec();
    let mut rec = csv::ByteRecord::new();
    let mut rows = Vec::new();
    while t.next_record(&mut rec).unwrap() {
        rows.push(
            headers.iter().zip(rec.iter()).map(|(h, v)| (h.clone(), String::from_utf8_lossy(v).into_owned())).collect(),
        );
    }
    (headers, rows)
}

/// `wget -r` of the current releases, with columns added and moved: the
/// same rows and files as the default tree, in PhysioNet's folders, each
/// project with a `sha256sum -c`-able SHA256SUMS.txt.
#[test]
fn physionet_layout_with_drifted_columns_holds_the_same_data() {
    let (flat, pn) = (test_support::tempdir(), test_support::tempdir());
    let m_flat = generate(flat.path(), &small()).unwrap();
    let cfg = SynthConfig { physionet: Some(synth::Releases::current()), schema_drift: true, ..small() };
    let m_pn = generate(pn.path(), &cfg).unwrap();
    assert_eq!(
        (&m_pn.counts, &m_pn.admissions, &m_pn.survivors),
        (&m_flat.counts, &m_flat.admissions, &m_flat.survivors)
    );

    let files = pn.path().join("physionet.org/files");
    let projects = [
        (files.join("mimiciv/3.1"), flat.path().join("mimiciv")),
        (files.join("mimic-cxr-jpg/2.1.0"), flat.path().join("mimic-cxr-jpg")),
        (files.join("mimic-iv-ecg/1.0"), flat.path().join("mimic-iv-ecg")),
    ];
    let top: BTreeSet<String> = files_under(pn.path()).into_keys().filter(|k| !k.contains("/files/p")).collect();
    let want: BTreeSet<String> = [
        "synth_manifest.json",
        "physionet.org/files/mimiciv/3.1/SHA256SUMS.txt",
        "physionet.org/files/mimiciv/3.1/hosp/patients.csv.gz",
        "physionet.org/files/mimiciv/3.1/hosp/admissions.csv.gz",
        "physionet.org/files/mimiciv/3.1/hosp/labevents.csv.gz",
        "physionet.org/files/mimic-cxr-jpg/2.1.0/SHA256SUMS.txt",
        "physionet.org/files/mimic-cxr-jpg/2.1.0/mimic-cxr-2.0.0-metadata.csv.gz",
        "physionet.org/files/mimic-cxr-jpg/2.1.0/mimic-cxr-2.0.0-chexpert.csv.gz",
        "physionet.org/files/mimic-iv-ecg/1.0/SHA256SUMS.txt",
        "physionet.org/files/mimic-iv-ecg/1.0/record_list.csv",
    ]
    .map(String::from)
    .into();
    assert_eq!(top, want);

    for (root, flat_root) in &projects {
        // Checksums: every other file once, sorted, each sum right.
        let sums = std::fs::read_to_string(root.join(synth::SHA256SUMS)).unwrap();
        let listed: Vec<(&str, &str)> = sums.lines().map(|l| l.split_once("  ").unwrap()).collect();
        let mut on_disk: Vec<String> = files_under(root).into_keys().filter(|k| k != synth::SHA256SUMS).collect();
        on_disk.sort();
        assert_eq!(listed.iter().map(|(_, p)| p.to_string()).collect::<Vec<_>>(), on_disk, "{}", root.display());
        for (sum, rel) in &listed {
            use sha2::Digest as _;
            let got: String = sha2::Sha256::digest(std::fs::read(root.join(rel)).unwrap())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(*sum, got, "{rel}");
        }
        // Records and images: the same bytes under the same relative paths.
        if !flat_root.join("files").is_dir() {
            continue;
        }
        let ours = files_under(&root.join("files"));
        let theirs = files_under(&flat_root.join("files"));
        assert_eq!(ours.keys().collect::<Vec<_>>(), theirs.keys().collect::<Vec<_>>());
        for (rel, p) in &ours {
            assert!(std::fs::read(p).unwrap() == std::fs::read(&theirs[rel]).unwrap(), "{rel}");
        }
    }

    // Tables: the drifted ones add and move columns; read by name, every original cell is there.
    let tables = [
        ("mimiciv/3.1/hosp/admissions.csv.gz", "mimiciv/hosp/admissions.csv.gz", vec!["discharge_provider_id"]),
        ("mimiciv/3.1/hosp/labevents.csv.gz", "mimiciv/hosp/labevents.csv.gz", vec!["result_status"]),
        ("mimiciv/3.1/hosp/patients.csv.gz", "mimiciv/hosp/patients.csv.gz", vec![]),
        (
            "mimic-cxr-jpg/2.1.0/mimic-cxr-2.0.0-metadata.csv.gz",
            "mimic-cxr-jpg/mimic-cxr-2.0.0-metadata.csv.gz",
            vec!["StudyInstanceUID"],
        ),
        (
            "mimic-cxr-jpg/2.1.0/mimic-cxr-2.0.0-chexpert.csv.gz",
            "mimic-cxr-jpg/mimic-cxr-2.0.0-chexpert.csv.gz",
            vec![],
        ),
        ("mimic-iv-ecg/1.0/record_list.csv", "mimic-iv-ecg/record_list.csv", vec![]),
    ];
    for (ours, theirs, added) in tables {
        let (h_new, new) = by_name(&files.join(ours));
        let (h_old, old) = by_name(&flat.path().join(theirs));
        let mut extra: Vec<&String> = h_new.iter().filter(|h| !h_old.contains(h)).collect();
        extra.sort();
        assert_eq!(extra, added.iter().collect::<Vec<_>>(), "{ours}");
        assert_eq!(h_new.len(), h_old.len() + added.len(), "{ours}");
        if !added.is_empty() {
            assert_ne!(h_new[..h_old.len()], h_old[..], "{ours}: columns are moved too");
        }
        assert_eq!(new.len(), old.len(), "{ours}");
        for (i, (n, o)) in new.iter().zip(&old).enumerate() {
            for (col, v) in o {
                assert_eq!(&n[col], v, "{ours}: row {i}, column {col}");
            }
        }
    }
}

#[test]
fn physionet_release_names_must_be_plain_folder_names() {
    let dir = test_support::tempdir();
    for bad in ["", "../x", "3.1/hosp", "files", ".hidden"] {
        let releases = synth::Releases { mimiciv: bad.into(), ..synth::Releases::current() };
        let cfg = SynthConfig { physionet: Some(releases), ..small() };
        assert!(matches!(generate(dir.path(), &cfg), Err(SynthError::Config(_))), "{bad:?}");
    }
}
