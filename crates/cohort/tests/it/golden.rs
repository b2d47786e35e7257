//! Parity: `run` on the golden inputs (`testdata/golden`) writes exactly the reference's CSV.

use cohort::{COHORT_CSV, CohortConfig, run};
use progress::NoProgress;
use test_support::fixture;

#[test]
fn golden_csv_is_byte_identical() {
    let g = fixture::path("golden");
    let dir = test_support::tempdir();
    let cfg = CohortConfig {
        hosp_dir: g.join("input/mimiciv/hosp"),
        cxr_dir: g.join("input/mimic-cxr-jpg"),
        ecg_dir: g.join("input/mimic-iv-ecg"),
        save_dir: dir.path().join("out"),
        recipe: recipe::Recipe::default(),
        checksums: durable::Checksums::Update,
        cxr_tables: None,
        versions: None,
        plan: None,
    };
    let rep = run(&cfg, &NoProgress).unwrap();
    let got = std::fs::read_to_string(cfg.save_dir.join(COHORT_CSV)).unwrap();
    let want = std::fs::read_to_string(g.join("expected/symile_mimic_data.csv")).unwrap();
    if got != want {
        let (g, w): (Vec<&str>, Vec<&str>) = (got.lines().collect(), want.lines().collect());
        let first = g.iter().zip(&w).position(|(a, b)| a != b);
        panic!("CSV differs: {} vs {} lines; first differing line {:?}", g.len(), w.len(), first.map(|i| (g[i], w[i])));
    }
    let a = &rep.attrition;
    assert_eq!(a.admissions_read, 62);
    assert_eq!(a.final_rows, 24);
    let chain = [
        a.admissions_read,
        a.with_cxr_candidate,
        a.with_chexpert_candidate,
        a.with_ecg_candidate,
        a.with_labs,
        a.with_cxr_in_window,
        a.after_chexpert_join,
        a.with_valid_ecg,
        a.final_rows,
    ];
    assert!(chain.windows(2).all(|w| w[0] >= w[1]), "attrition only decreases: {chain:?}");
    assert!(rep.ecg_adm_float && !rep.patients_join_gap);
    assert_eq!(rep.input_rows.labevents, 3380);
    assert_eq!(rep.input_rows.cxr_metadata, 179);
    assert_eq!(rep.input_rows.ecg_record_list, 86);
    assert!(rep.ecg_records_opened >= 24 && rep.ecg_records_opened < 86, "lazy: {}", rep.ecg_records_opened);
    assert!(cfg.save_dir.join("symile_mimic_data.parquet").is_file());
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(cfg.save_dir.join("cohort_report.json")).unwrap()).unwrap();
    assert_eq!(report["attrition"]["final_rows"], 24);
    eprintln!("{}", rep.summary());
}
