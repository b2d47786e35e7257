//! Every selection rule of stage 1 on small hand-made inputs: window bounds,
//! ties, missing files, invalid ECGs, lab filters, pandas printing quirks,
//! and the bad-input errors.

use crate::common::scenario::*;
use crate::common::{Fixture, Sig, read_csv};
use cohort::{COHORT_CSV, COHORT_PARQUET, COHORT_REPORT, CohortConfig, CohortError, run};
use mimic_io::discover::{CxrTables, Project, Releases};
use mimic_io::table::TableError;
use progress::NoProgress;

fn cfg(f: &Fixture, skip: bool) -> CohortConfig {
    CohortConfig {
        hosp_dir: f.hosp(),
        cxr_dir: f.cxr_dir(),
        ecg_dir: f.ecg_dir(),
        save_dir: f.save(),
        recipe: recipe::Recipe {
            cohort: recipe::CohortRecipe { skip_unreadable_ecg: skip, ..Default::default() },
            ..Default::default()
        },
        checksums: durable::Checksums::Update,
        cxr_tables: None,
        versions: None,
        plan: None,
    }
}

fn col(header: &[String], name: &str) -> usize {
    header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"))
}

#[test]
fn scenario_selects_by_every_rule() {
    let f = scenario();
    f.write();
    let rep = run(&cfg(&f, false), &NoProgress).unwrap();
    let (h, rows) = read_csv(&f.save().join(COHORT_CSV));
    let get = |r: usize, name: &str| rows[r][col(&h, name)].as_str();
    let hadms: Vec<&str> = (0..rows.len()).map(|r| get(r, "hadm_id")).collect();
    assert_eq!(hadms, ["20000001", "20000002", "20000004"]);

    // CXR: exact +24 h (after truncation) out, lateral out, missing JPG skipped, tie → file order.
    for r in 0..2 {
        assert_eq!(get(r, "cxr_24_72_hr"), "d-tie-first");
        assert_eq!(get(r, "cxr_dicom_id"), "d-tie-first");
        assert_eq!(get(r, "cxr_study_id"), "50000004");
        assert_eq!(get(r, "study_id"), "50000004");
        assert_eq!(get(r, "cxr_ViewPosition"), "PA");
        assert_eq!(get(r, "cxr_StudyDateTime"), "2150-01-12 04:00:00");
        assert_eq!(get(r, "cxr_path"), "files/p10/p10000001/s50000004/d-tie-first.jpg");
        assert_eq!(get(r, "Atelectasis"), "1.0");
        assert_eq!(get(r, "Cardiomegaly"), "");
        assert_eq!(get(r, "Edema"), "-1.0");
    }
    assert_eq!(get(2, "cxr_dicom_id"), "d3-72"); // exactly +72 h in, +72 h + 1 s out
    assert_eq!(get(2, "cxr_StudyDateTime"), "2150-01-13 12:00:00");
    assert_eq!(get(2, "Support Devices"), "1.0");

    // ECG: −24 h − 1 s out, NaN and all-zero skipped, tie → record_list order, +24 h in.
    assert_eq!(get(0, "ecg_adm"), "40000004.0"); // float: some admission has no valid ECG
    assert_eq!(get(0, "ecg_study_id"), "40000004");
    assert_eq!(get(0, "ecg_file_name"), "40000004");
    assert_eq!(get(0, "ecg_time"), "2150-01-10 07:00:00");
    assert_eq!(get(0, "ecg_path"), "files/p1000/p10000001/s40000004/40000004");
    assert_eq!(get(1, "ecg_study_id"), "40000004");
    assert_eq!(get(2, "ecg_study_id"), "40000030");

    // Labs per admission.
    let lab = |r: usize, itemid: &str| get(r, itemid).to_string();
    assert_eq!(lab(0, "51249"), "8.0");
    assert_eq!(lab(0, "51221"), "1.5");
    assert_eq!(lab(1, "51221"), "2.5");
    assert_eq!(lab(0, "51265"), "100.0");
    assert_eq!(lab(0, "50912"), "0.7");
    assert_eq!(lab(1, "50912"), "0.7");
    assert_eq!(lab(0, "50971"), "4.1");
    assert_eq!(lab(0, "51222"), "13.25");
    assert_eq!(lab(0, "51274"), "");
    assert_eq!(lab(0, "51275"), "1e-05");
    assert_eq!(lab(0, "51301"), "");
    assert_eq!(lab(2, "51221"), "33.0");
    assert!(!h.iter().any(|c| c == "99999"));
    assert_eq!(get(0, "labs_all_nan"), "0");

    // pandas quirks: the patients gap makes ints floats; all-midnight deathtime prints as dates.
    assert_eq!(get(0, "anchor_age"), "65.0");
    assert_eq!(get(0, "anchor_year"), "2150.0");
    assert_eq!(get(0, "age"), "65.0");
    assert_eq!(get(2, "age"), "71.0");
    assert_eq!(get(0, "admittime_year"), "2150");
    assert_eq!(get(0, "deathtime"), "2150-01-20");
    assert_eq!(get(1, "deathtime"), "");
    assert_eq!(get(0, "dod"), "2150-01-20");
    assert_eq!(get(0, "race"), "WHITE, OTHER");
    assert_eq!(get(0, "hospital_expire_flag"), "0");
    let text = std::fs::read_to_string(f.save().join(COHORT_CSV)).unwrap();
    assert!(text.contains(",\"WHITE, OTHER\",") && !text.contains('\r'));
    assert!(text.starts_with(
        "subject_id,hadm_id,admittime,dischtime,deathtime,admission_type,admission_location,discharge_location,race,\
         hospital_expire_flag,gender,anchor_age,anchor_year,dod,admittime_year,age,cxr_24_72_hr,cxr_dicom_id,"
    ));
    assert!(text.lines().next().unwrap().ends_with(",50910,52135,labs_all_nan"));

    // Report.
    let a = &rep.attrition;
    // Table-only filters first: A5 has no image listed, A6 no top-50 lab; then
    // the files: A2's chosen image (on disk) has no labels, A4 only a NaN ECG.
    assert_eq!(
        [a.admissions_read, a.with_cxr_candidate, a.with_chexpert_candidate, a.with_ecg_candidate, a.with_labs],
        [7, 6, 6, 6, 5]
    );
    assert_eq!([a.with_cxr_in_window, a.after_chexpert_join], [5, 4]);
    assert_eq!([a.with_valid_ecg, a.final_rows, rep.unique_subjects], [3, 3, 2]);
    assert_eq!(rep.ecg_records_opened, 5);
    assert_eq!([rep.ecg_invalid_nan, rep.ecg_invalid_all_zero], [2, 1]);
    assert_eq!(rep.cxr_candidates_absent, 1);
    assert!(rep.ecg_unreadable_skipped.is_empty());
    assert!(rep.patients_join_gap && rep.ecg_adm_float);
    assert_eq!(rep.input_rows.labevents, 19);
    assert_eq!(rep.input_rows.cxr_metadata, 12);
    assert_eq!(rep.input_rows.cxr_metadata_ap_pa, 11);
}

#[test]
fn parquet_has_typed_columns() {
    use arrow_array::cast::AsArray;
    use arrow_schema::{DataType, TimeUnit};
    let f = scenario();
    f.write();
    run(&cfg(&f, false), &NoProgress).unwrap();
    let file = std::fs::File::open(f.save().join(COHORT_PARQUET)).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
    let batches: Vec<_> = reader.map(Result::unwrap).collect();
    let b = &batches[0];
    assert_eq!(b.num_rows(), 3);
    let s = b.schema();
    let ty = |n: &str| s.field_with_name(n).unwrap().data_type().clone();
    assert_eq!(ty("hadm_id"), DataType::Int64);
    assert_eq!(ty("ecg_adm"), DataType::Int64);
    assert_eq!(ty("anchor_age"), DataType::Int64);
    assert_eq!(ty("admittime"), DataType::Timestamp(TimeUnit::Millisecond, None));
    assert_eq!(ty("51221"), DataType::Float64);
    assert_eq!(ty("Atelectasis"), DataType::Float64);
    assert_eq!(ty("race"), DataType::Utf8);
    assert!(s.field_with_name("deathtime").unwrap().is_nullable());
    assert!(!s.field_with_name("hadm_id").unwrap().is_nullable());
    let hadm = b.column(s.index_of("hadm_id").unwrap()).as_primitive::<arrow_array::types::Int64Type>();
    assert_eq!(hadm.values().to_vec(), vec![20000001, 20000002, 20000004]);
    let l = b.column(s.index_of("51221").unwrap()).as_primitive::<arrow_array::types::Float64Type>();
    assert_eq!((l.value(0), l.value(1), l.value(2)), (1.5, 2.5, 33.0));
    let adm = b.column(s.index_of("admittime").unwrap()).as_primitive::<arrow_array::types::TimestampMillisecondType>();
    assert_eq!(adm.value(0), mimic_io::Timestamp::parse(T).unwrap().0 * 1000);
}

#[test]
fn output_does_not_depend_on_thread_count() {
    let f = scenario();
    f.write();
    let mut outs = Vec::new();
    for threads in [1, 4] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let rep = pool.install(|| run(&cfg(&f, false), &NoProgress)).unwrap();
        let csv = std::fs::read(f.save().join(COHORT_CSV)).unwrap();
        let pq = std::fs::read(f.save().join(COHORT_PARQUET)).unwrap();
        outs.push((csv, pq, rep.ecg_records_opened, rep.ecg_invalid_nan));
    }
    assert!(outs[0] == outs[1]);
}

/// A minimal input whose cohort is one admission.
#[test]
fn minimal_cohort_has_int_columns_without_gaps() {
    let mut f = minimal();
    f.admission(S3, 20000005, "2150-03-01 00:00:00", "2150-03-02 10:00:00"); // no CXR: dropped
    f.ecg(S3, 40000031, "2150-03-01 00:00:00", Sig::Valid); // so every admission has a valid ECG
    f.write();
    let rep = run(&cfg(&f, false), &NoProgress).unwrap();
    let (h, rows) = read_csv(&f.save().join(COHORT_CSV));
    assert_eq!(rows.len(), 1);
    let get = |name: &str| rows[0][col(&h, name)].as_str();
    // No admission lacks a valid ECG: ecg_adm stays an integer; no patients gap: ages stay integers.
    assert!(!rep.ecg_adm_float && !rep.patients_join_gap);
    assert_eq!(get("ecg_adm"), "40000030");
    assert_eq!(get("anchor_age"), "70");
    assert_eq!(get("age"), "71");
    // The dropped admission's non-midnight deathtime does not count: this column is empty here.
    assert_eq!(get("deathtime"), "");
}

fn expect_err(f: &Fixture, skip: bool) -> String {
    f.write();
    let e = run(&cfg(f, skip), &NoProgress).unwrap_err();
    let msg = errors::Chain(&e).to_string();
    assert!(!f.save().join(COHORT_CSV).exists() && !f.save().join(COHORT_PARQUET).exists(), "{msg}");
    msg
}

#[test]
fn duplicate_keys_are_errors() {
    let mut f = minimal();
    f.admission(S3, 20000004, "2150-02-10 12:00:00", "");
    let m = expect_err(&f, false);
    assert!(m.contains("admissions.csv.gz:3") && m.contains("hadm_id 20000004") && m.contains("line 2"), "{m}");

    let mut f = minimal();
    f.chexpert(S3, 50000020, LABELS);
    let m = expect_err(&f, false);
    assert!(m.contains("chexpert.csv.gz:3") && m.contains("study_id 50000020"), "{m}");

    let mut f = minimal();
    f.cxr("d3", S3, 50000099, "PA", "21500111", "180000", false);
    let m = expect_err(&f, false);
    assert!(m.contains("metadata.csv.gz:3") && m.contains("dicom_id d3"), "{m}");

    let mut f = minimal();
    f.patient(S3, "1", "2100", "");
    let m = expect_err(&f, false);
    assert!(m.contains("patients.csv.gz:3") && m.contains("subject_id 10000003"), "{m}");
}

#[test]
fn empty_cohort_names_the_filter() {
    let mut f = minimal();
    f.meta.clear();
    f.cxr("d3", S3, 50000020, "LATERAL", "21500111", "180000", true);
    let m = expect_err(&f, false);
    assert!(m.contains("CXR window"), "{m}");

    let mut f = minimal();
    f.labs.clear();
    f.lab(S3, "", 51221, "2150-01-12 12:00:00", "1");
    let m = expect_err(&f, false);
    assert!(m.contains("labs window"), "{m}");

    let mut f = minimal();
    f.chex.clear();
    f.chexpert(S3, 50000021, LABELS);
    assert!(expect_err(&f, false).contains("CheXpert join"));

    let mut f = minimal();
    f.ecg.clear();
    f.ecg(S3, 40000031, "2150-01-12 12:00:00", Sig::Valid);
    assert!(expect_err(&f, false).contains("ECG window"));

    let mut f = minimal();
    f.ecg.clear();
    f.ecg(S3, 40000031, T, Sig::Zero);
    assert!(expect_err(&f, false).contains("ECG validity"));
}

#[test]
fn unreadable_candidate_ecg_fails_or_is_skipped() {
    let mut f = minimal();
    f.ecg.clear();
    f.ecg(S3, 40000029, "2150-01-10 11:00:00", Sig::Missing); // earliest candidate: no files
    f.ecg(S3, 40000030, T, Sig::Valid);
    f.ecg(S3, 40000099, "2151-01-01 00:00:00", Sig::Missing); // not a candidate: never opened
    let m = expect_err(&f, false);
    assert!(m.contains("s40000029/40000029") && m.contains("record_list.csv:2") && m.contains("20000004"), "{m}");

    let rep = run(&cfg(&f, true), &NoProgress).unwrap();
    assert_eq!(rep.ecg_unreadable_skipped.len(), 1);
    assert!(rep.ecg_unreadable_skipped[0].ends_with("s40000029/40000029"));
    assert_eq!(rep.ecg_records_opened, 2);
    let (h, rows) = read_csv(&f.save().join(COHORT_CSV));
    assert_eq!(rows[0][col(&h, "ecg_study_id")], "40000030");

    let mut f = minimal();
    f.ecg.clear();
    f.ecg(S3, 40000030, T, Sig::Short);
    let m = expect_err(&f, false);
    assert!(m.contains("40000030"), "{m}");
}

#[test]
fn bad_inputs_name_flag_file_line_and_column() {
    let f = minimal();
    f.write();
    std::fs::remove_file(f.ecg_dir().join("record_list.csv")).unwrap();
    let m = run(&cfg(&f, false), &NoProgress).unwrap_err();
    assert!(matches!(m, CohortError::MissingInput { dir: "MIMIC-IV-ECG", .. }), "{m}");
    assert!(m.to_string().contains("record_list.csv"));

    let mut f = minimal();
    f.admission(S3, 20000009, "2150-13-01 00:00:00", "");
    let m = expect_err(&f, false);
    assert!(m.contains("admissions.csv.gz:3") && m.contains("admittime") && m.contains("2150-13-01"), "{m}");

    let mut f = minimal();
    f.lab(S3, "", 51221, "yesterday", "1");
    let m = expect_err(&f, false);
    assert!(m.contains("labevents.csv.gz:3") && m.contains("charttime") && m.contains("yesterday"), "{m}");

    let mut f = minimal();
    f.lab(S3, "", 51221, T, "high");
    let m = expect_err(&f, false);
    assert!(m.contains("labevents.csv.gz:3") && m.contains("valuenum"), "{m}");

    let mut f = minimal();
    f.cxr("dx", S3, 50000021, "AP", "21500111", "250000", false);
    let m = expect_err(&f, false);
    assert!(m.contains("metadata.csv.gz:3") && m.contains("StudyTime"), "{m}");

    let mut f = minimal();
    f.ecg.push(format!("{S3},40000077,40000077,{T},../../etc/passwd"));
    let m = expect_err(&f, false);
    assert!(m.contains("record_list.csv:3") && m.contains(".."), "{m}");

    let mut f = minimal();
    f.headers[1] = f.headers[1].replace(",race,", ",ethnicity,");
    let m = expect_err(&f, false);
    assert!(m.contains("admissions.csv.gz") && m.contains("\"race\""), "{m}");
}

#[test]
fn a_failed_run_keeps_an_earlier_cohort_untouched() {
    let f = minimal();
    f.write();
    run(&cfg(&f, false), &NoProgress).unwrap();
    let before = std::fs::read(f.save().join(COHORT_CSV)).unwrap();
    let before_pq = std::fs::read(f.save().join(COHORT_PARQUET)).unwrap();
    let mut f2 = minimal();
    f2.admission(S3, 20000004, T, ""); // duplicate hadm_id
    f2.write();
    let c = CohortConfig { save_dir: f.save(), ..cfg(&f2, false) };
    match run(&c, &NoProgress) {
        Err(CohortError::Table(TableError::Duplicate { column: "hadm_id", at, first_line: 2, .. })) => {
            assert_eq!(at.line, 3, "the repeat is on admissions.csv.gz:3");
        }
        other => panic!("want the duplicate hadm_id at admissions.csv.gz:3, got {other:?}"),
    }
    // Nothing the user had is lost: the earlier outputs are byte-identical.
    assert_eq!(std::fs::read(f.save().join(COHORT_CSV)).unwrap(), before);
    assert_eq!(std::fs::read(f.save().join(COHORT_PARQUET)).unwrap(), before_pq);
    let leftovers: Vec<_> = std::fs::read_dir(f.save()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(leftovers.iter().all(|n| !n.to_string_lossy().starts_with(".symile-tmp")), "{leftovers:?}");
}

#[test]
fn unknown_columns_are_doubled_like_pandas_merge_suffixes() {
    // The reference's CXR and ECG frames both carry columns it does not drop;
    // its final merge names them `<c>_x` (in place) and `<c>_y` (before ecg_adm).
    let mut f = minimal();
    f.headers[1].push_str(",foo");
    f.headers[0].push_str(",bar");
    f.admissions.iter_mut().for_each(|r| r.push_str(",7"));
    f.patients.iter_mut().for_each(|r| r.push_str(",b"));
    f.write();
    run(&cfg(&f, false), &NoProgress).unwrap();
    let (h, rows) = read_csv(&f.save().join(COHORT_CSV));
    assert_eq!((col(&h, "foo_x"), col(&h, "bar_x")), (10, 15));
    assert_eq!((col(&h, "foo_y"), col(&h, "bar_y"), col(&h, "ecg_adm")), (40, 41, 42));
    assert_eq!((rows[0][10].as_str(), rows[0][15].as_str(), rows[0][40].as_str()), ("7", "b", "7"));
}

#[test]
fn text_quoting_na_strings_and_float_ages_match_pandas() {
    // Output checked byte for byte against the reference script on this input.
    let mut f = minimal();
    f.admissions[0] = f.admissions[0].replace("EW EMER.", "NA").replace("\"WHITE, OTHER\"", "\"SAID \"\"NO\"\"\"");
    f.admission(S3, 20000005, "2150-01-10 13:00:00", "2150-01-11 13:30:00");
    f.admissions[1] = f.admissions[1].replace("HOME", "\"LINE1\nLINE2\"");
    f.patients[0] = format!("{S3},F,,2149,2014 - 2016,");
    f.meta[0] = f.meta[0].replace("antero-posterior", "");
    f.write();
    run(&cfg(&f, false), &NoProgress).unwrap();
    let text = std::fs::read_to_string(f.save().join(COHORT_CSV)).unwrap();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    assert!(lines[1].starts_with(
        "10000003,20000004,2150-01-10 12:00:00,2199-01-01,,,EMERGENCY ROOM,HOME,\"SAID \"\"NO\"\"\",0,F,,2149,,2150,,d3,d3,\
         50000020,AP,,2150-01-11 18:00:00,files/p10/p10000003/s50000020/d3.jpg,50000020,1.0,,0.0,-1.0,"
    ));
    assert!(lines[2].starts_with(
        "10000003,20000005,2150-01-10 13:00:00,2199-01-01,2150-01-11 13:30:00,EW EMER.,EMERGENCY ROOM,\"LINE1\n"
    ));
    assert!(lines[3].starts_with("LINE2\",\"WHITE, OTHER\",0,F,,2149,,2150,,d3,"));
}

#[test]
fn cxr_tables_under_another_release_name_are_read_and_versions_reported() {
    let f = minimal();
    f.write();
    let first = run(&cfg(&f, false), &NoProgress).unwrap();
    let csv = std::fs::read(f.save().join(COHORT_CSV)).unwrap();
    // Unversioned folders: no release is known, and the report says nothing about them.
    assert!(first.versions.is_empty());
    let report = std::fs::read_to_string(f.save().join(COHORT_REPORT)).unwrap();
    assert!(!report.contains("\"versions\""), "{report}");

    for kind in ["metadata", "chexpert"] {
        let from = f.cxr_dir().join(format!("mimic-cxr-2.0.0-{kind}.csv.gz"));
        std::fs::rename(from, f.cxr_dir().join(format!("mimic-cxr-2.1.0-{kind}.csv.gz"))).unwrap();
    }
    let versions: Releases =
        [(Project::MimicIv, "3.1"), (Project::CxrJpg, "2.1.0"), (Project::IvEcg, "1.0")].into_iter().collect();
    let rep = run(&CohortConfig { versions: Some(versions.clone()), ..cfg(&f, false) }, &NoProgress).unwrap();
    assert_eq!(std::fs::read(f.save().join(COHORT_CSV)).unwrap(), csv);
    assert_eq!(rep.versions, versions);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(f.save().join(COHORT_REPORT)).unwrap()).unwrap();
    assert_eq!(report["versions"]["mimic-cxr-jpg"], "2.1.0");

    // Names given explicitly are the ones looked for.
    let named = CohortConfig { cxr_tables: Some(CxrTables::default()), ..cfg(&f, false) };
    let m = run(&named, &NoProgress).unwrap_err().to_string();
    assert!(m.contains("MIMIC-CXR-JPG directory") && m.contains("mimic-cxr-2.0.0-metadata.csv.gz"), "{m}");
}
