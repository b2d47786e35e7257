//! `symile-mimic plan` on synthetic MIMIC in PhysioNet's layout:
//!
//! - sufficiency: a build from a download holding only the planned files
//!   (plus the tables) writes every output byte-identical to a build from
//!   the complete download, on the demo configuration and on a larger,
//!   MIMIC-proportioned one, including where the archive lacks images its
//!   metadata lists;
//! - `download.sh` run against a stub `wget` serving a local tree: the tree
//!   it leaves, `absent.txt`, a second run fetching nothing, a partial file
//!   continued, and no password in any file;
//! - `plan --check`: missing, truncated and bit-flipped files with and
//!   without SHA256SUMS.txt; a minimal plan whose chosen image the archive lacks;
//! - bad input named by file and line; `--plan` refusing a download that
//!   lacks planned files; the warning of a build on absent files.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::common::{BIN, ProcessDir, Run, assert_same_dataset, os_args, process_dir, read_tree, run, run_with_log};

const SCALE: &str = "48";
const USER: &str = "alice";
/// A password with a space and shell metacharacters, to be found nowhere on disk.
const PASSWORD: &str = "pw with $pace & 'quotes' #7";
const PLAN_FILES: [&str; 3] = ["mimic-cxr-jpg", "mimic-iv-ecg", "mimiciv"];

fn releases() -> synth::Releases {
    synth::Releases::published()
}

/// The demo configuration in PhysioNet's layout.
fn demo() -> synth::SynthConfig {
    synth::SynthConfig { physionet: Some(releases()), ..synth::demo_config() }
}

/// MIMIC's proportions (few admissions have an image 24–72 h in) on 2,500
/// admissions; ECG records are bounded to keep the tree near 250 MB.
fn larger() -> synth::SynthConfig {
    synth::SynthConfig {
        seed: 11,
        admissions: Some(2_500),
        max_ecg_files: Some(2_000),
        physionet: Some(releases()),
        ..synth::SynthConfig::default()
    }
}

/// `<root>/physionet.org/files/<project>/<version>`.
fn project_root(root: &Path, project: &str) -> PathBuf {
    let r = releases();
    let v = match project {
        "mimiciv" => r.mimiciv,
        "mimic-cxr-jpg" => r.cxr,
        _ => r.ecg,
    };
    root.join("physionet.org/files").join(project).join(v)
}

fn build(root: &Path, out: &Path, extra: &[&str]) -> Run {
    let mut a = os_args(&[&"build", &"--mimic-root", &root, &"--out", &out]);
    for x in ["--cxr_scale", SCALE, "--cxr_crop", SCALE, "--candidate_n", "3"].iter().chain(extra) {
        a.push(x.into());
    }
    run_with_log(a, Some("warn"))
}

fn plan(root: &Path, out: &Path, extra: &[&str]) -> Run {
    let mut a = os_args(&[&"plan", &"--mimic-root", &root, &"--out", &out]);
    a.extend(extra.iter().map(Into::into));
    run(a)
}

fn check(root: &Path, plan_dir: &Path) -> Run {
    run(os_args(&[&"plan", &"--check", &"--out", &plan_dir, &"--mimic-root", &root]))
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap_or_default().lines().map(String::from).collect()
}

/// The planned files: (project, path relative to its root).
fn planned(plan_dir: &Path) -> Vec<(&'static str, String)> {
    let mut v = Vec::new();
    for p in ["mimic-cxr-jpg", "mimic-iv-ecg"] {
        v.extend(lines(&plan_dir.join(format!("{p}.txt"))).into_iter().map(|l| (p, l)));
    }
    v
}

/// Every file below `dir`, relative to it.
fn files_below(dir: &Path) -> BTreeSet<String> {
    read_tree(dir).into_keys().map(|p| p.to_string_lossy().into_owned()).collect()
}

/// Deletes every image and ECG file of `root` the plan does not list.
fn keep_only_planned(root: &Path, plan_dir: &Path) -> usize {
    let keep: BTreeSet<(&str, String)> = planned(plan_dir).into_iter().collect();
    let mut deleted = 0;
    for p in ["mimic-cxr-jpg", "mimic-iv-ecg"] {
        let proot = project_root(root, p);
        for rel in files_below(&proot.join("files")) {
            let rel = format!("files/{rel}");
            if !keep.contains(&(p, rel.clone())) {
                std::fs::remove_file(proot.join(&rel)).unwrap();
                deleted += 1;
            }
        }
    }
    deleted
}

/// Links `to` to the file `from` (replacing `to`): a download that costs no space.
fn link(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(to);
    std::fs::hard_link(from, to).unwrap();
}

/// Gives `path` its own copy of its bytes, so that changing it leaves the
/// file it was linked to alone.
fn unshare(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    std::fs::remove_file(path).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// What `download.sh` would leave, by linking to `served`'s files: the
/// tables, each project's SHA256SUMS.txt and the planned files the archive
/// has; the others are recorded in the plan's `absent.txt`. Files a test
/// changes are [`unshare`]d first.
fn copy_download(served: &Path, plan_dir: &Path, dest: &Path) {
    let mut absent = String::new();
    for p in PLAN_FILES {
        let (from, to) = (project_root(served, p), project_root(dest, p));
        for rel in files_below(&from) {
            if !rel.starts_with("files/") {
                link(&from.join(&rel), &to.join(&rel));
            }
        }
    }
    for (p, rel) in planned(plan_dir) {
        let (from, to) = (project_root(served, p).join(&rel), project_root(dest, p).join(&rel));
        if from.is_file() {
            link(&from, &to);
        } else {
            absent.push_str(&format!("{p}/{}/{rel}\n", project_root(served, p).file_name().unwrap().to_string_lossy()));
        }
    }
    std::fs::write(plan_dir.join("absent.txt"), absent).unwrap();
}

/// Planned files the archive (`served`) lacks, as `absent.txt` keys.
fn absent_keys(served: &Path, plan_dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = planned(plan_dir)
        .into_iter()
        .filter(|(p, rel)| !project_root(served, p).join(rel).is_file())
        .map(|(p, rel)| format!("{p}/{}/{rel}", project_root(served, p).file_name().unwrap().to_string_lossy()))
        .collect();
    v.sort();
    v
}

/// Where these tests write: under the target directory (the trees are
/// large), in a directory of this process that the next test process removes,
/// so a run leaves at most its own files behind (the fixture below lives as
/// long as the process) and never touches another run's.
fn tmp_root() -> &'static Path {
    static ROOT: OnceLock<ProcessDir> = OnceLock::new();
    ROOT.get_or_init(|| process_dir!("plan")).path()
}

fn tempdir() -> test_support::TempDir {
    test_support::dirs::tempdir_in(tmp_root())
}

/// A complete demo tree served by the stub, and its build.
#[derive(Debug)]
struct Served {
    root: test_support::TempDir,
    input: PathBuf,
    manifest: synth::Manifest,
    out: PathBuf,
    /// What the build said.
    built: Run,
}

fn served() -> &'static Served {
    static S: OnceLock<Served> = OnceLock::new();
    S.get_or_init(|| {
        let root = tempdir();
        let input = root.path().join("served");
        let manifest = synth::generate(&input, &demo()).unwrap();
        let out = root.path().join("served-out");
        let built = build(&input, &out, &[]).assert_success();
        Served { root, input, manifest, out, built }
    })
}

fn scratch(name: &str) -> PathBuf {
    let p = served().root.path().join(name);
    assert!(!p.exists(), "scratch {name} used twice");
    std::fs::create_dir_all(&p).unwrap();
    p
}

/// The complete tree a sufficiency check starts from.
enum Tree<'a> {
    /// The demo tree of [`served`], linked (its build is build A when the
    /// recipe is the published one).
    Served,
    /// A tree generated from this configuration.
    Generated(&'a synth::SynthConfig),
}

/// Builds A from a complete tree, plans, deletes every image and ECG file
/// the plan does not list, builds B with the same flags: same bytes.
/// `recipe` is what both the builds and the plan are given (`--recipe FILE`).
fn sufficiency(tree: Tree, recipe: &[&str]) -> (serde_json::Value, usize) {
    let tmp = tempdir();
    let input = tmp.path().join("input");
    let planted = |m: &synth::Manifest| m.cases.contains_key("cxr:missing_jpg_first");
    let has_planted = match tree {
        Tree::Served => {
            test_support::tree::link_dir(&served().input, &input);
            planted(&served().manifest)
        }
        Tree::Generated(cfg) => planted(&synth::generate(&input, cfg).unwrap()),
    };
    let build = |input: &Path, out: &Path, extra: &[&str]| {
        let flags: Vec<&str> = recipe.iter().chain(extra).copied().collect();
        build(input, out, &flags)
    };
    let (a, b) = (tmp.path().join("A"), tmp.path().join("B"));
    let (a, built_a) = match tree {
        Tree::Served if recipe.is_empty() => (served().out.clone(), served().built.clone()),
        _ => {
            let built = build(&input, &a, &[]).assert_success();
            (a, built)
        }
    };
    let plan_dir = tmp.path().join("plan");
    plan(&input, &plan_dir, recipe).assert_success();
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(plan_dir.join("plan.json")).unwrap()).unwrap();
    // The archive lacks images its metadata lists (planted): the plan lists them, the download cannot have them.
    let absent = absent_keys(&input, &plan_dir);
    assert!(!absent.is_empty() && absent.iter().all(|k| k.ends_with(".jpg")), "{absent:?}");
    assert!(has_planted);
    let deleted = keep_only_planned(&input, &plan_dir);
    assert!(deleted > 0);
    let built_b = build(&input, &b, &[]).assert_success();
    assert_same_dataset(&a, &b);
    // Both builds looked at the same absent images and say so, with the fix.
    for r in [&built_a, &built_b] {
        assert!(r.stderr.contains("WARN") && r.stderr.contains("symile-mimic plan"), "{}", r.stderr);
    }
    // A rerun keeps that cohort (nothing changed) and says again what it was built on.
    let again = build(&input, &b, &[]).assert_success();
    assert!(again.stderr.contains("the cohort kept from an earlier build was built while"), "{}", again.stderr);
    // With the plan and the absences the download recorded: the same bytes, no warning.
    std::fs::write(plan_dir.join("absent.txt"), absent.join("\n") + "\n").unwrap();
    let c = tmp.path().join("C");
    let plan_arg = plan_dir.display().to_string();
    let built_c = build(&input, &c, &["--plan", &plan_arg]).assert_success();
    assert!(!built_c.stderr.contains("WARN"), "{}", built_c.stderr);
    assert_same_dataset(&a, &c);
    (json, deleted)
}

#[test]
fn a_download_of_the_demo_plan_builds_the_same_dataset() {
    let (json, deleted) = sufficiency(Tree::Served, &[]);
    assert!(json["cxr"]["planned"].as_u64().unwrap() < json["cxr"]["listed"].as_u64().unwrap());
    eprintln!("demo: {deleted} files deleted; cxr {} ecg {}", json["cxr"], json["ecg"]);
}

#[test]
fn a_download_of_a_larger_plan_builds_the_same_dataset() {
    let (json, deleted) = sufficiency(Tree::Generated(&larger()), &[]);
    // With MIMIC's proportions the plan is a small share of each archive.
    assert!(json["cxr"]["share"].as_f64().unwrap() < 0.2, "{}", json["cxr"]);
    assert!(json["ecg"]["share"].as_f64().unwrap() < 0.2, "{}", json["ecg"]);
    eprintln!("larger: {deleted} files deleted; cxr {} ecg {}", json["cxr"], json["ecg"]);
}

/// A variant: wider and shifted windows, lateral views, labs outside the 50.
const VARIANT: &str = "[cohort]\ncxr_window_hours = [12, 96.5]\necg_window_hours = [-36, 12]\n\
    labs_window_hours = [-12, 36]\ncxr_views = [\"AP\", \"PA\", \"LATERAL\"]\n\
    labs = [51221, 50809, 50912, 51491, 50802, 50811]\n";

#[test]
fn a_download_of_a_variant_plan_builds_the_same_variant() {
    let tmp = tempdir();
    let file = tmp.path().join("variant.toml");
    std::fs::write(&file, VARIANT).unwrap();
    let path = file.display().to_string();
    let (json, deleted) = sufficiency(Tree::Served, &["--recipe", &path]);
    // The plan is for the variant's rules, and says so.
    assert_eq!(json["cohort"]["cxr_window_hours"], serde_json::json!([12, 96.5]), "{json}");
    assert!(json["rules"]["admissions"].as_str().unwrap().contains("view AP/PA/LATERAL"), "{json}");
    // A wider window plans more images than the published rules do.
    let published = tmp.path().join("published-plan");
    plan(&served().input, &published, &[]).assert_success();
    let p: serde_json::Value = serde_json::from_slice(&std::fs::read(published.join("plan.json")).unwrap()).unwrap();
    assert!(json["cxr"]["planned"].as_u64() > p["cxr"]["planned"].as_u64(), "{} vs {}", json["cxr"], p["cxr"]);
    eprintln!("variant: {deleted} files deleted; cxr {} ecg {}", json["cxr"], json["ecg"]);
}

#[test]
fn a_plan_made_for_other_rules_is_refused_before_anything_is_written() {
    let s = served();
    let tmp = tempdir();
    let plan_dir = tmp.path().join("plan");
    plan(&s.input, &plan_dir, &[]).assert_success();
    let out = tmp.path().join("out");
    let plan_arg = plan_dir.display().to_string();
    let r = build(&s.input, &out, &["--cxr-window-hours", "12,96", "--plan", &plan_arg]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(
        r.stderr.contains("was made for cohort.cxr_window_hours = [24,72], the cohort's recipe has [12,96]")
            && r.stderr.contains("(set by --cxr-window-hours)"),
        "{}",
        r.stderr
    );
    assert!(!out.join(dataset_layout::COHORT_CSV).exists());
}

/// `bash download.sh DEST` with the stub `wget` first on PATH.
fn download_sh(plan_dir: &Path, dest: &Path, extra: &[&str], password: &str, log: &Path) -> Run {
    let bin = served().root.path().join("stub-bin");
    if !bin.exists() {
        std::fs::create_dir_all(&bin).unwrap();
        let stub = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/stub-wget");
        std::fs::copy(stub, bin.join("wget")).unwrap();
    }
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let mut cmd = Command::new("bash");
    cmd.arg(plan_dir.join("download.sh"))
        .args(extra)
        .arg(dest)
        .env("PATH", path)
        .env("PHYSIONET_USER", USER)
        .env("STUB_ROOT", &served().input)
        .env("STUB_BASE", "https://physionet.org")
        .env("STUB_USER", USER)
        .env("STUB_PASSWORD", PASSWORD)
        .env("STUB_LOG", log)
        .env_remove("PHYSIONET_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child.stdin.take().unwrap().write_all(format!("{password}\n").as_bytes()).unwrap();
    let o = child.wait_with_output().unwrap();
    Run {
        code: o.status.code(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

#[test]
fn download_sh_fetches_the_plan_resumably_and_stores_no_password() {
    let s = served();
    let plan_dir = scratch("stub-plan");
    plan(&s.input, &plan_dir, &[]).assert_success();
    let script = plan_dir.join("download.sh");
    let syntax = Command::new("bash").arg("-n").arg(&script).output().unwrap();
    assert!(syntax.status.success(), "bash -n: {}", String::from_utf8_lossy(&syntax.stderr));

    let dest = scratch("stub-dest");
    let log = served().root.path().join("stub.log");
    let first = download_sh(&plan_dir, &dest, &[], PASSWORD, &log).assert_success();
    assert!(first.stderr.contains("done: symile-mimic build --mimic-root"), "{}", first.stderr);

    // absent.txt: exactly the planned files the archive lacks (answered 404).
    let absent = absent_keys(&s.input, &plan_dir);
    assert!(!absent.is_empty());
    let mut recorded = lines(&plan_dir.join("absent.txt"));
    recorded.sort();
    assert_eq!(recorded, absent);
    // The tree: each project's SHA256SUMS.txt and tables, and the planned files the archive has, as served.
    for p in PLAN_FILES {
        let mut want: BTreeSet<String> =
            files_below(&project_root(&s.input, p)).into_iter().filter(|rel| !rel.starts_with("files/")).collect();
        want.extend(
            planned(&plan_dir)
                .into_iter()
                .filter(|(q, rel)| *q == p && project_root(&s.input, q).join(rel).is_file())
                .map(|(_, r)| r),
        );
        let got = files_below(&project_root(&dest, p));
        assert_eq!(got, want, "{p}");
        for rel in &got {
            let (a, b) = (project_root(&dest, p).join(rel), project_root(&s.input, p).join(rel));
            assert!(std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(), "{rel} differs from the served file");
        }
    }
    assert_eq!(files_below(&dest).iter().filter(|f| !f.starts_with("physionet.org/files/")).count(), 0);

    // A second run fetches nothing and records nothing twice.
    std::fs::remove_file(&log).unwrap();
    download_sh(&plan_dir, &dest, &[], PASSWORD, &log).assert_success();
    assert!(lines(&log).is_empty(), "the second run fetched {:?}", lines(&log));
    assert_eq!(lines(&plan_dir.join("absent.txt")).len(), absent.len());

    // A partial file is continued, a deleted one fetched again.
    let ecg = planned(&plan_dir).into_iter().find(|(p, r)| *p == "mimic-iv-ecg" && r.ends_with(".dat")).unwrap().1;
    let jpg = planned(&plan_dir)
        .into_iter()
        .find(|(p, r)| *p == "mimic-cxr-jpg" && project_root(&s.input, p).join(r).is_file())
        .unwrap()
        .1;
    let ecg_path = project_root(&dest, "mimic-iv-ecg").join(&ecg);
    std::fs::OpenOptions::new().write(true).open(&ecg_path).unwrap().set_len(1000).unwrap();
    std::fs::remove_file(project_root(&dest, "mimic-cxr-jpg").join(&jpg)).unwrap();
    download_sh(&plan_dir, &dest, &[], PASSWORD, &log).assert_success();
    let log_lines = lines(&log);
    assert_eq!(log_lines.len(), 2, "{log_lines:?}");
    assert!(log_lines.iter().any(|l| l.starts_with("RESUME ") && l.contains(&ecg)), "{log_lines:?}");
    assert!(log_lines.iter().any(|l| l.starts_with("GET ") && l.contains(&jpg)), "{log_lines:?}");
    assert!(
        std::fs::read(&ecg_path).unwrap() == std::fs::read(project_root(&s.input, "mimic-iv-ecg").join(&ecg)).unwrap()
    );

    // A wrong password stops the script with a clear message.
    let wrong = download_sh(&plan_dir, &dest, &[], "not it", &log);
    assert_eq!(wrong.code, Some(2), "{}", wrong.stderr);
    assert!(wrong.stderr.contains("refused the user name or password"), "{}", wrong.stderr);

    // The password is in no file: not the tree, the plan, the stub's log or anything else the test wrote.
    for (path, bytes) in read_tree(served().root.path()) {
        assert!(
            !bytes.windows(PASSWORD.len()).any(|w| w == PASSWORD.as_bytes()),
            "{} holds the password",
            path.display()
        );
    }

    // The download builds the dataset of the complete tree.
    let out = scratch("stub-out");
    let plan_arg = plan_dir.display().to_string();
    let r = build(&dest, &out, &["--plan", &plan_arg]).assert_success();
    assert!(!r.stderr.contains("WARN"), "{}", r.stderr);
    assert_same_dataset(&s.out, &out);
    let checked = check(&dest, &plan_dir).assert_success();
    assert!(checked.stdout.is_empty(), "--quiet prints a passing check's summary: {}", checked.stdout);

    // A file damaged after the download: the check lists it, --refetch replaces it.
    let damaged = project_root(&dest, "mimic-cxr-jpg").join(&jpg);
    flip(&damaged, 700);
    assert_eq!(check(&dest, &plan_dir).code, Some(2));
    assert_eq!(lines(&plan_dir.join("refetch.txt")).len(), 1);
    std::fs::remove_file(&log).unwrap();
    download_sh(&plan_dir, &dest, &["--refetch"], PASSWORD, &log).assert_success();
    assert_eq!(lines(&log).len(), 1, "{:?}", lines(&log));
    assert!(
        std::fs::read(&damaged).unwrap() == std::fs::read(project_root(&s.input, "mimic-cxr-jpg").join(&jpg)).unwrap()
    );
    check(&dest, &plan_dir).assert_success();
}

/// Flips one bit at byte `at` (from the end when negative).
fn flip(path: &Path, at: i64) {
    unshare(path);
    let mut b = std::fs::read(path).unwrap();
    let i = if at < 0 { (b.len() as i64 + at) as usize } else { at as usize };
    b[i] ^= 0x01;
    std::fs::write(path, b).unwrap();
}

#[test]
fn plan_check_finds_missing_truncated_and_corrupt_files() {
    let s = served();
    let plan_dir = scratch("check-plan");
    plan(&s.input, &plan_dir, &[]).assert_success();
    let dest = scratch("check-dest");
    copy_download(&s.input, &plan_dir, &dest);
    let ok = run(os_args(&[&"plan", &"--check", &"--out", &plan_dir, &"--mimic-root", &dest]));
    assert_eq!(ok.code, Some(0), "{}\n{}", ok.stdout, ok.stderr);
    assert!(lines(&plan_dir.join("refetch.txt")).is_empty());

    let present: Vec<(&str, String)> =
        planned(&plan_dir).into_iter().filter(|(p, r)| project_root(&dest, p).join(r).is_file()).collect();
    let jpgs: Vec<&String> = present.iter().filter(|(p, _)| *p == "mimic-cxr-jpg").map(|(_, r)| r).collect();
    let dat = &present.iter().find(|(_, r)| r.ends_with(".dat")).unwrap().1;
    let cxr = project_root(&dest, "mimic-cxr-jpg");
    let ecg = project_root(&dest, "mimic-iv-ecg");
    std::fs::remove_file(cxr.join(jpgs[0])).unwrap();
    unshare(&ecg.join(dat));
    std::fs::OpenOptions::new().write(true).open(ecg.join(dat)).unwrap().set_len(60_000).unwrap();
    // In the middle of the entropy-coded data: only a hash sees it.
    let len = std::fs::metadata(cxr.join(jpgs[1])).unwrap().len() as i64;
    flip(&cxr.join(jpgs[1]), len / 2);
    let url = |p: &str, rel: &str| {
        format!(
            "https://physionet.org/files/{p}/{}/{rel}",
            project_root(&dest, p).file_name().unwrap().to_string_lossy()
        )
    };

    let r = check(&dest, &plan_dir);
    assert_eq!(r.code, Some(2), "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("by sha256") && r.stdout.contains("1 missing, 1 truncated, 1 corrupt"), "{}", r.stdout);
    assert!(r.stderr.contains("error: the download is not complete for the plan"), "{}", r.stderr);
    let mut want = vec![url("mimic-cxr-jpg", jpgs[0]), url("mimic-cxr-jpg", jpgs[1]), url("mimic-iv-ecg", dat)];
    want.sort();
    assert_eq!(lines(&plan_dir.join("refetch.txt")), want);

    // Without SHA256SUMS.txt: the structure. A bit flipped in pixel data passes; one in the JPEG's header does not.
    for p in PLAN_FILES {
        std::fs::remove_file(project_root(&dest, p).join("SHA256SUMS.txt")).unwrap();
    }
    flip(&cxr.join(jpgs[2]), 1);
    let r = check(&dest, &plan_dir);
    assert_eq!(r.code, Some(2));
    assert!(
        r.stdout.contains("by structure") && r.stdout.contains("1 missing, 1 truncated, 1 corrupt"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("the header states 120000"), "{}", r.stdout);
    let mut want = vec![url("mimic-cxr-jpg", jpgs[0]), url("mimic-cxr-jpg", jpgs[2]), url("mimic-iv-ecg", dat)];
    want.sort();
    assert_eq!(lines(&plan_dir.join("refetch.txt")), want);

    // A truncated JPEG lacks its end-of-image marker.
    let j = cxr.join(jpgs[3]);
    unshare(&j);
    let len = std::fs::metadata(&j).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&j).unwrap().set_len(len - 100).unwrap();
    let r = check(&dest, &plan_dir);
    assert!(r.stdout.contains("2 truncated") && r.stdout.contains("no JPEG end-of-image marker"), "{}", r.stdout);
}

#[test]
fn a_minimal_plan_names_the_admissions_whose_chosen_image_the_archive_lacks() {
    let s = served();
    let full_dir = scratch("minimal-full-plan");
    plan(&s.input, &full_dir, &[]).assert_success();
    let plan_dir = scratch("minimal-plan");
    plan(&s.input, &plan_dir, &["--minimal"]).assert_success();
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(plan_dir.join("plan.json")).unwrap()).unwrap();
    assert_eq!(json["assumes_complete_archive"], true);
    assert!(lines(&plan_dir.join("mimic-cxr-jpg.txt")).len() < lines(&full_dir.join("mimic-cxr-jpg.txt")).len());

    let dest = scratch("minimal-dest");
    copy_download(&s.input, &plan_dir, &dest);
    // The planted admissions whose first in-window image is missing from the archive.
    let fallbacks: Vec<String> = s
        .manifest
        .admissions
        .iter()
        .filter(|(_, a)| a.cases.get("cxr").is_some_and(|c| c == "missing_jpg_first") && a.survive)
        .map(|(hadm, _)| format!("hadm_id {hadm}"))
        .collect();
    assert!(!fallbacks.is_empty());
    let r = check(&dest, &plan_dir);
    assert_eq!(r.code, Some(2), "{}\n{}", r.stdout, r.stderr);
    for f in &fallbacks {
        assert!(r.stdout.contains(f), "{f} not named:\n{}", r.stdout);
    }
    assert!(r.stdout.contains("plan again with --minimal"), "{}", r.stdout);
    let out = scratch("minimal-out");
    let plan_arg = plan_dir.display().to_string();
    let refused = build(&dest, &out, &["--plan", &plan_arg]);
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("minimal download plan") && refused.stderr.contains(&fallbacks[0]),
        "{}",
        refused.stderr
    );

    // Planned again (passing over the images absent.txt records) and fetched: the complete dataset.
    plan(&s.input, &plan_dir, &["--minimal"]).assert_success();
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(plan_dir.join("plan.json")).unwrap()).unwrap();
    assert!(json["skipped_as_absent"].as_u64().unwrap() >= fallbacks.len() as u64);
    copy_download(&s.input, &plan_dir, &dest);
    check(&dest, &plan_dir).assert_success();
    build(&dest, &out, &["--plan", &plan_arg]).assert_success();
    assert_same_dataset(&s.out, &out);
}

#[test]
fn a_plan_prints_its_shares_and_the_next_commands() {
    let s = served();
    let plan_dir = scratch("printed-plan");
    let mut cmd = Command::new(BIN);
    let o = cmd
        .args(os_args(&[&"plan", &"--mimic-root", &s.input, &"--out", &plan_dir]))
        .env_remove("SYMILE_MIMIC_LOG")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success());
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(plan_dir.join("plan.json")).unwrap()).unwrap();
    let c = &json["cxr"];
    let n = |v: &serde_json::Value| cohort::plan::thousands(v.as_u64().unwrap() as usize);
    let want = format!(
        "CXR: {} of {} images ({:.1} %)",
        n(&c["planned"]),
        n(&c["listed"]),
        100.0 * c["share"].as_f64().unwrap()
    );
    assert!(out.contains(&want), "{want:?} not in\n{out}");
    assert!(out.contains("ECG: ") && out.contains(" records (") && out.contains(" files"), "{out}");
    assert!(out.contains("bash ") && out.contains("download.sh") && out.contains("--plan"), "{out}");
    let minimal = Command::new(BIN)
        .args(os_args(&[&"plan", &"--minimal", &"--mimic-root", &s.input, &"--out", &scratch("printed-minimal")]))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&minimal.stdout).contains("assumes the archive is complete"));
}

#[test]
fn bad_input_is_named_by_file_and_line() {
    let s = served();
    // A table missing.
    let tables = scratch("bad-tables");
    for p in PLAN_FILES {
        let (from, to) = (project_root(&s.input, p), project_root(&tables, p));
        for rel in files_below(&from).into_iter().filter(|r| !r.starts_with("files/")) {
            link(&from.join(&rel), &to.join(&rel));
        }
    }
    let hosp = project_root(&tables, "mimiciv").join("hosp");
    let three = |plan_dir: &Path, extra: &[&str]| {
        let mut a = os_args(&[
            &"plan",
            &"--mimiciv_hosp_dir",
            &hosp,
            &"--cxr_data_dir",
            &project_root(&tables, "mimic-cxr-jpg"),
            &"--ecg_data_dir",
            &project_root(&tables, "mimic-iv-ecg"),
            &"--out",
            &plan_dir,
        ]);
        a.extend(extra.iter().map(Into::into));
        run(a)
    };
    // The tables alone make the same plan as the complete tree.
    let from_tables = scratch("bad-from-tables");
    three(&from_tables, &[]).assert_success();
    let full = scratch("bad-full");
    plan(&s.input, &full, &[]).assert_success();
    for f in ["mimic-cxr-jpg.txt", "mimic-iv-ecg.txt"] {
        assert_eq!(lines(&from_tables.join(f)), lines(&full.join(f)), "{f}");
    }
    std::fs::rename(hosp.join("labevents.csv.gz"), hosp.join("labevents.aside")).unwrap();
    let r = three(&scratch("bad-no-labs"), &[]);
    assert_eq!(r.code, Some(2));
    assert!(r.stderr.contains("MIMIC-IV hosp directory") && r.stderr.contains("labevents.csv.gz"), "{}", r.stderr);
    std::fs::rename(hosp.join("labevents.aside"), hosp.join("labevents.csv.gz")).unwrap();

    // A malformed SHA256SUMS.txt line.
    let dest = scratch("bad-dest");
    copy_download(&s.input, &full, &dest);
    let sums = project_root(&dest, "mimic-iv-ecg").join("SHA256SUMS.txt");
    unshare(&sums);
    let text = std::fs::read_to_string(&sums).unwrap();
    let mut l: Vec<&str> = text.lines().collect();
    l[2] = "not a checksum line";
    std::fs::write(&sums, l.join("\n") + "\n").unwrap();
    let r = check(&dest, &full);
    assert_eq!(r.code, Some(2));
    assert!(r.stderr.contains(&format!("{}:3:", sums.display())) && r.stderr.contains("64 hex digits"), "{}", r.stderr);
    std::fs::write(&sums, text).unwrap();

    // A plan for another release than the download's.
    let other = scratch("bad-other-release");
    three(&other, &["--cxr-version", "2.1.0"]).assert_success();
    let r = check(&dest, &other);
    assert_eq!(r.code, Some(2));
    let json = std::fs::read_to_string(other.join("plan.json")).unwrap();
    let line = json.lines().position(|l| l.contains("\"mimic-cxr-jpg\": \"2.1.0\"")).unwrap() + 1;
    assert!(
        r.stderr.contains(&format!("plan.json:{line}: the plan is for MIMIC-CXR-JPG 2.1.0, the download has 2.0.0")),
        "{}",
        r.stderr
    );

    // `cohort --plan` on a download lacking planned files: exit 2, the count and the first paths, nothing written.
    let missing: Vec<(&str, String)> =
        planned(&full).into_iter().filter(|(p, r)| project_root(&dest, p).join(r).is_file()).take(7).collect();
    for (p, rel) in &missing {
        std::fs::remove_file(project_root(&dest, p).join(rel)).unwrap();
    }
    let save = s.root.path().join("bad-cohort-save");
    let r = run(os_args(&[
        &"cohort",
        &"--mimiciv_hosp_dir",
        &project_root(&dest, "mimiciv").join("hosp"),
        &"--cxr_data_dir",
        &project_root(&dest, "mimic-cxr-jpg"),
        &"--ecg_data_dir",
        &project_root(&dest, "mimic-iv-ecg"),
        &"--save_dir",
        &save,
        &"--plan",
        &full,
    ]));
    assert_eq!(r.code, Some(2));
    assert!(r.stderr.contains("7 file(s) of the download plan") && r.stderr.contains(", …)"), "{}", r.stderr);
    let mut first: Vec<String> =
        missing.iter().map(|(p, rel)| project_root(&dest, p).join(rel).display().to_string()).collect();
    first.sort();
    assert!(r.stderr.contains(&first[0]), "{}", r.stderr);
    assert!(!save.exists(), "nothing is written");
}
