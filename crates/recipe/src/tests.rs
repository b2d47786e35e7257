use std::path::Path;

use super::*;

fn toml(text: &str) -> Result<Requested, RecipeError> {
    Requested::from_toml(text, Path::new("variant.toml"), Source::File("variant.toml".into()))
}

fn problem(e: &RecipeError) -> String {
    e.render(Spelling::CommandLine)
}

#[test]
fn the_default_is_the_published_recipe() {
    let r = Recipe::default();
    assert_eq!(r.cohort.cxr_window_hours, Window { lo: 24 * 3600, hi: 72 * 3600 });
    assert_eq!(r.cohort.ecg_window_hours, Window { lo: -24 * 3600, hi: 24 * 3600 });
    assert_eq!(r.cohort.labs_window_hours, Window { lo: -24 * 3600, hi: 24 * 3600 });
    assert_eq!(r.cohort.cxr_views, ["AP", "PA"]);
    assert_eq!(r.cohort.labs, mimic_io::layout::LABS);
    assert_eq!((r.splits.train_n, r.splits.val_n, r.splits.candidate_n, r.splits.seed), (10_000, 750, 10, 0));
    assert_eq!((r.tensors.cxr_scale, r.tensors.cxr_crop, r.tensors.format), (320, 320, Format::Safetensors));
    assert!(r.differences_from_published().is_empty());
    assert_eq!(r.dims().labs, 50);
    r.validate(&Provenance::default()).unwrap();
}

#[test]
fn the_template_reads_back_as_the_published_recipe_with_every_key_commented() {
    let text = render_template();
    let back = toml(&text).unwrap();
    assert_eq!(back.recipe, Recipe::default());
    // Every field is set by the template (none is left implicit) and has its comment above it.
    for f in Field::ALL {
        assert!(back.provenance.is_explicit(f), "{f} not in the template");
        let key_line = text.lines().position(|l| l.starts_with(&format!("{} = ", f.key()))).unwrap();
        assert_eq!(text.lines().nth(key_line - 1).unwrap(), format!("# {}", f.doc()));
    }
    // Exactly the keys and layout.
    assert!(text.contains("[cohort]\n# "));
    assert!(text.contains("cxr_window_hours = [24, 72]\n"));
    assert!(text.contains("ecg_window_hours = [-24, 24]\n"));
    assert!(text.contains("cxr_views = [\"AP\", \"PA\"]\n"));
    assert!(text.contains("labs = [\n    51221, 51265, 50912,"));
    assert!(text.contains("train_n = 10000\n") && text.contains("format = \"safetensors\"\n"));
}

#[test]
fn a_variant_renders_and_reads_back_exactly() {
    let mut r = Recipe::default();
    r.cohort.cxr_window_hours = Window { lo: 12 * 3600 + 1800, hi: 96 * 3600 };
    r.cohort.ecg_window_hours = Window { lo: -1, hi: 1 };
    r.cohort.cxr_views = vec!["LATERAL".into(), "AP".into()];
    r.cohort.labs = vec![51221, 220_045, 50_912];
    r.splits.negatives = Negatives::Fast;
    r.tensors.crop_rng = CropGenerator::Torch;
    r.tensors.format = Format::Pt;
    let text = render(&r);
    assert!(text.contains("cxr_window_hours = [12.5, 96]\n"), "{text}");
    assert!(text.contains("labs = [51221, 220045, 50912]\n"));
    assert!(text.contains("negatives = \"fast\"\n") && text.contains("crop_rng = \"torch\"\n"));
    assert_eq!(toml(&text).unwrap().recipe, r);
    assert_eq!(render(&toml(&text).unwrap().recipe), text);
    let diff = r.differences_from_published();
    assert!(diff.contains(&Field::CxrWindowHours) && diff.contains(&Field::Labs) && !diff.contains(&Field::Format));
    assert_eq!(r.dims().labs, 3);
}

#[test]
fn a_partial_file_keeps_the_other_defaults_and_says_what_it_set() {
    let req = toml("[cohort]\ncxr_window_hours = [24, 96.5]\n\n[splits]\nseed = 7\n").unwrap();
    assert_eq!(req.recipe.cohort.cxr_window_hours, Window { lo: 24 * 3600, hi: 96 * 3600 + 1800 });
    assert_eq!(req.recipe.splits.seed, 7);
    assert_eq!(req.recipe.tensors, TensorsRecipe::default());
    assert_eq!(req.recipe.cohort.labs, mimic_io::layout::LABS);
    assert_eq!(req.provenance.source(Field::Seed), &Source::File("variant.toml".into()));
    assert_eq!(req.provenance.source(Field::TrainN), &Source::Default);
    assert!(toml("").unwrap().recipe == Recipe::default());
}

#[test]
fn flags_override_the_file_and_the_file_the_defaults() {
    let mut req = toml("[splits]\ntrain_n = 500\nval_n = 50\n").unwrap();
    req.set_flag(Field::TrainN, "600").unwrap();
    req.set_flag(Field::CxrWindowHours, "12,48").unwrap();
    req.set_flag(Field::CxrViews, "AP, PA,LL").unwrap();
    req.set_flag(Field::Labs, "51221,50912").unwrap();
    req.set_flag(Field::Format, "npy").unwrap();
    req.set_flag(Field::Strict, "yes").unwrap();
    req.validate().unwrap();
    let r = &req.recipe;
    assert_eq!((r.splits.train_n, r.splits.val_n), (600, 50));
    assert_eq!(r.cohort.cxr_window_hours, Window::hours(12, 48));
    assert_eq!(r.cohort.cxr_views, ["AP", "PA", "LL"]);
    assert_eq!(r.cohort.labs, [51221, 50912]);
    assert_eq!(r.tensors.format, Format::Npy);
    assert!(r.tensors.strict);
    assert_eq!(req.provenance.source(Field::TrainN), &Source::Flag);
    assert_eq!(req.provenance.source(Field::ValN), &Source::File("variant.toml".into()));
}

#[test]
fn a_mapping_is_a_recipe_too() {
    let req =
        Requested::from_mapping(serde_json::json!({"splits": {"candidate_n": 5}, "cohort": {"labs": [1, 2]}})).unwrap();
    assert_eq!(req.recipe.splits.candidate_n, 5);
    assert_eq!(req.recipe.cohort.labs, [1, 2]);
    assert_eq!(req.provenance.source(Field::CandidateN), &Source::Mapping);
    let e = Requested::from_mapping(serde_json::json!({"splits": {"train": 5}})).unwrap_err();
    assert_eq!(
        e.render(Spelling::Python),
        "recipe= splits.train: unknown key (expected one of train_n, val_n, candidate_n, seed, negatives, fit_small_cohort)"
    );
    // A rule across fields waits for the merged recipe.
    let req = Requested::from_mapping(serde_json::json!({"tensors": {"cxr_crop": 400}})).unwrap();
    let e = req.validate().unwrap_err();
    assert_eq!(e.field(), Some(Field::CxrCrop));
    assert_eq!(
        e.render(Spelling::Python),
        "recipe= tensors.cxr_crop: 400 is larger than tensors.cxr_scale (320, the published default)"
    );
}

#[test]
fn bad_recipes_name_the_key_the_file_and_the_line() {
    let cases: [(&str, &str); 16] = [
        (
            "[cohort]\ncxr_windows = [1, 2]\n",
            "variant.toml:2: cohort.cxr_windows: unknown key (expected one of cxr_window_hours,",
        ),
        ("[cohorts]\n", "variant.toml:1: cohorts: unknown key (expected one of cohort, splits, tensors)"),
        (
            "[splits]\ntrain_n = \"many\"\n",
            "variant.toml:2: splits.train_n: invalid type: string \"many\", expected a whole number",
        ),
        (
            "[splits]\n\ntrain_n = -5\n",
            "variant.toml:3: splits.train_n: invalid value: -5, expected a whole number (0 or more)",
        ),
        ("[splits]\nval_n = 0\n", "variant.toml:2: splits.val_n: must be at least 1"),
        (
            "[cohort]\necg_window_hours = [24, -24]\n",
            "variant.toml:2: cohort.ecg_window_hours: lo (24 h) must be less than hi (-24 h)",
        ),
        (
            "[cohort]\nlabs_window_hours = [1, 1]\n",
            "variant.toml:2: cohort.labs_window_hours: lo (1 h) must be less than hi (1 h)",
        ),
        (
            "[cohort]\ncxr_window_hours = [24, 0.0001]\n",
            "variant.toml:2: cohort.cxr_window_hours: 0.0001 h is 0.36 s, not a whole number of seconds",
        ),
        (
            "[cohort]\ncxr_window_hours = [24]\n",
            "variant.toml:2: cohort.cxr_window_hours: invalid length 1, expected [lo, hi] in hours",
        ),
        ("[cohort]\ncxr_views = []\n", "variant.toml:2: cohort.cxr_views: the list of views is empty"),
        ("# labs\n[cohort]\n\nlabs = []\n", "variant.toml:4: cohort.labs: the list of labs is empty"),
        ("[cohort]\nlabs = [51221, 50912, 51221]\n", "variant.toml:2: cohort.labs: itemid 51221 is listed twice"),
        (
            "[tensors]\ncxr_scale = 64\ncxr_crop = 65\n",
            "variant.toml:3: tensors.cxr_crop: 65 is larger than tensors.cxr_scale (64, in variant.toml:2)",
        ),
        (
            "[tensors]\ncxr_scale = 200\n",
            "variant.toml:2: tensors.cxr_scale: 200 is smaller than tensors.cxr_crop (320, the published default)",
        ),
        ("tensors.cxr_crop = 0\n", "variant.toml:1: tensors.cxr_crop: must be at least 1"),
        (
            "[tensors]\nformat = \"hdf5\"\n",
            "variant.toml:2: tensors.format: unknown variant `hdf5`, expected one of `safetensors`, `npy`, `pt`",
        ),
    ];
    for (text, want) in cases {
        // Refused by the file alone, or (a rule across fields) once merged.
        let e = toml(text).and_then(|r| r.validate()).unwrap_err();
        let got = problem(&e);
        assert!(got.starts_with(want), "for {text:?}\n got: {got}\nwant: {want}…");
    }
    // Not TOML at all.
    let e = toml("[cohort\n").unwrap_err();
    assert!(problem(&e).starts_with("variant.toml:1: "), "{e}");
    // A file that cannot be read.
    let e = Requested::from_file(Path::new("/nonexistent/r.toml")).unwrap_err();
    assert_eq!(e.to_string(), "cannot read the recipe /nonexistent/r.toml");
    let cause = std::error::Error::source(&e).expect("the I/O error is the source");
    assert_eq!(cause.downcast_ref::<std::io::Error>().map(|e| e.kind()), Some(std::io::ErrorKind::NotFound));
    assert_eq!(e.render(Spelling::CommandLine), format!("cannot read the recipe /nonexistent/r.toml: {cause}"));
}

#[test]
fn bad_flags_are_named_as_the_caller_typed_them() {
    let mut req = Requested::published();
    let e = req.set_flag(Field::CxrWindowHours, "24").unwrap_err();
    assert_eq!(
        e.render(Spelling::CommandLine),
        "--cxr-window-hours: expected LO,HI in hours (e.g. 24,72), found \"24\""
    );
    assert_eq!(e.render(Spelling::Python), "cxr_window_hours=: expected LO,HI in hours (e.g. 24,72), found \"24\"");
    assert_eq!(e.to_string(), "cohort.cxr_window_hours (a flag): expected LO,HI in hours (e.g. 24,72), found \"24\"");
    let e = req.set_flag(Field::Format, "hdf5").unwrap_err();
    assert_eq!(e.render(Spelling::CommandLine), "--format: expected one of safetensors, npy, pt, found \"hdf5\"");
    let e = req.set_flag(Field::TrainN, "-1").unwrap_err();
    assert_eq!(e.render(Spelling::Python), "train_n=: invalid value: -1, expected a whole number (0 or more)");
    req.set_flag(Field::CxrCrop, "400").unwrap();
    let e = req.validate().unwrap_err();
    assert_eq!(
        e.render(Spelling::CommandLine),
        "--cxr_crop: 400 is larger than tensors.cxr_scale (320, the published default)"
    );
    req.set_flag(Field::CxrCrop, "320").unwrap();
    // A value wrong alone is refused as the flag is read, the recipe unchanged.
    let e = req.set_flag(Field::Seed, "4294967296").unwrap_err();
    assert_eq!(
        e.render(Spelling::CommandLine),
        "--seed: 4294967296 is outside 0..=4294967295 (numpy's RandomState seed range)"
    );
    assert_eq!(req.recipe.splits.seed, 0);
    let e = req.set_flag(Field::CxrViews, ",").unwrap_err();
    assert_eq!(e.render(Spelling::Python), "cxr_views=: the list of views is empty: no image would be kept");
}

#[test]
fn a_flag_mends_a_rule_across_fields_that_the_file_alone_breaks() {
    // The file alone: a scale under the published crop.
    let mut req = toml("[tensors]\ncxr_scale = 200\n").unwrap();
    assert!(req.validate().is_err());
    req.set_flag(Field::CxrCrop, "200").unwrap();
    req.validate().unwrap();
    assert_eq!((req.recipe.tensors.cxr_scale, req.recipe.tensors.cxr_crop), (200, 200));
    // The same from a mapping.
    let mut req = Requested::from_mapping(serde_json::json!({"tensors": {"cxr_scale": 200}})).unwrap();
    req.set_flag(Field::CxrCrop, "200").unwrap();
    req.validate().unwrap();
    // Still broken after the flags: reported on the value set last, naming the other and its source.
    let mut req = toml("[tensors]\n\ncxr_scale = 200\n").unwrap();
    req.set_flag(Field::CxrCrop, "250").unwrap();
    let e = req.validate().unwrap_err();
    assert_eq!(e.field(), Some(Field::CxrCrop));
    assert_eq!(
        e.render(Spelling::CommandLine),
        "--cxr_crop: 250 is larger than tensors.cxr_scale (200, in variant.toml:3)"
    );
    assert_eq!(e.render(Spelling::Python), "cxr_crop=: 250 is larger than tensors.cxr_scale (200, in variant.toml:3)");
    let mut req = toml("[tensors]\ncxr_crop = 100\n").unwrap();
    req.set_flag(Field::CxrScale, "64").unwrap();
    let e = req.validate().unwrap_err();
    assert_eq!(e.field(), Some(Field::CxrScale));
    assert_eq!(e.render(Spelling::Python), "cxr_scale=: 64 is smaller than tensors.cxr_crop (100, in variant.toml:2)");
    let e = Requested::from_mapping(serde_json::json!({"tensors": {"cxr_scale": 64}})).unwrap().validate().unwrap_err();
    assert_eq!(
        e.render(Spelling::Python),
        "recipe= tensors.cxr_scale: 64 is smaller than tensors.cxr_crop (320, the published default)"
    );
    let mut req = Requested::from_mapping(serde_json::json!({"tensors": {"cxr_crop": 400}})).unwrap();
    req.set_flag(Field::CxrScale, "300").unwrap();
    assert_eq!(
        req.validate().unwrap_err().render(Spelling::Python),
        "cxr_scale=: 300 is smaller than tensors.cxr_crop (400, in recipe=)"
    );
}

#[test]
fn a_recipe_built_in_code_names_no_source_it_does_not_know() {
    let mut r = Recipe::default();
    r.tensors.cxr_scale = 64;
    r.tensors.cxr_crop = 65;
    let e = r.validate(&Provenance::default()).unwrap_err();
    assert_eq!(e.to_string(), "tensors.cxr_crop: 65 is larger than tensors.cxr_scale (64)");
}

#[test]
fn a_recorded_recipe_is_checked_whole_when_read_back() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join(RECIPE_FILE), "[tensors]\ncxr_scale = 64\ncxr_crop = 65\n").unwrap();
    let e = Requested::recorded(d.path()).unwrap_err();
    let path = d.path().join(RECIPE_FILE);
    assert_eq!(
        e.render(Spelling::CommandLine),
        format!(
            "{}:3: tensors.cxr_crop: 65 is larger than tensors.cxr_scale (64, in {}:2)",
            path.display(),
            path.display()
        )
    );
    std::fs::write(&path, "[tensors]\ncxr_scale = 64\ncxr_crop = 64\n").unwrap();
    let req = Requested::recorded(d.path()).unwrap().unwrap();
    assert_eq!(req.provenance.source(Field::CxrCrop), &Source::Recorded(path));
    assert_eq!(req.provenance.line(Field::CxrCrop), Some(3));
    assert!(Requested::recorded(&d.path().join("none")).unwrap().is_none());
}

#[test]
fn published_sizes_are_fitted_to_a_small_cohort_and_nothing_else_is() {
    let s = SplitsRecipe::default();
    assert_eq!(s.fitted(11_622).0, s);
    let (f, changed) = s.fitted(200);
    assert_eq!((f.train_n, f.val_n), (120, 24));
    assert_eq!(changed, [Field::TrainN, Field::ValN]);
    assert_eq!(s.fitted(5).0.val_n, 1);
    let mine = SplitsRecipe { train_n: 50, ..s.clone() };
    assert_eq!((mine.fitted(200).0.train_n, mine.fitted(200).0.val_n), (50, 24));
    let strict = SplitsRecipe { fit_small_cohort: false, ..s };
    assert_eq!(strict.fitted(200).0, strict);
}
