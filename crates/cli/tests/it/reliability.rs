//! The real binary under the conditions a dataset must survive: two writers
//! on one directory, a disk too small, Ctrl-C and SIGTERM, a kill between
//! the renames of a commit; and the checks that prove a dataset unchanged
//! (`SHA256SUMS.txt`, `sha256sum -c`, `verify`, `verify --against`).
//!
//! Processes are paused with SIGSTOP while they hold their directory, so
//! that the second writer is tried at a known moment whatever the machine's
//! load; comparisons are always against a solo run of the same command.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::common::*;

/// Small enough to be quick, large enough that every stage runs for a while.
const ADMISSIONS: usize = 200;

fn fx() -> &'static Fixture {
    static FX: OnceLock<Fixture> = OnceLock::new();
    FX.get_or_init(|| Fixture::new(ADMISSIONS, SCALE))
}

/// The synthetic MIMIC root (`--mimic-root`) of the fixture.
fn mimic_root() -> PathBuf {
    fx().inputs.hosp.parent().and_then(Path::parent).unwrap().to_path_buf()
}

fn spawn(args: &[OsString]) -> Child {
    Command::new(BIN)
        .arg("--quiet")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start symile-mimic")
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill").args([sig, &child.id().to_string()]).status().unwrap().success();
    assert!(ok, "kill {sig} failed");
}

fn os(args: Vec<PathBuf>) -> Vec<OsString> {
    args.into_iter().map(PathBuf::into_os_string).collect()
}

/// `build` of the fixture's input into `out` at image size `scale`.
fn build_args(out: &Path, scale: &str, extra: &[&str]) -> Vec<OsString> {
    let mut a: Vec<OsString> =
        ["build", "--candidate_n", "3", "--cxr_scale", scale, "--cxr_crop", scale, "--mimic-root"]
            .iter()
            .map(OsString::from)
            .collect();
    a.push(mimic_root().into());
    a.push("--out".into());
    a.push(out.into());
    a.extend(extra.iter().map(OsString::from));
    a
}

/// The pid recorded in `dir`'s lock file, if any.
fn lock_pid(dir: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(dir.join(durable::lock::LOCK_FILE)).ok()?;
    serde_json::from_str::<serde_json::Value>(text.trim()).ok()?["pid"].as_u64().map(|p| p as u32)
}

/// Every file of `got` but `build`'s own manifests equals `want`'s.
fn assert_same_outputs(got: &Path, want: &Path, what: &str) {
    let (g, w) = (dataset(got), dataset(want));
    assert_eq!(g.keys().collect::<Vec<_>>(), w.keys().collect::<Vec<_>>(), "{what}: different files");
    for (k, v) in &w {
        assert!(&g[k] == v, "{what}: {} differs from a solo run", k.display());
    }
}

/// Starts `args` (writing into `dir`), waits until it holds `dir`, pauses it,
/// and returns it; `None` if it finished before it could be paused.
fn start_and_pause(args: &[OsString], dir: &Path) -> Option<Child> {
    let mut child = spawn(args);
    loop {
        if child.try_wait().unwrap().is_some() {
            return None;
        }
        if lock_pid(dir) == Some(child.id()) {
            signal(&child, "-STOP");
            return Some(child);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// One stage: a second writer on the directory the first holds exits 2 at
/// once naming the first; the first then finishes with a solo run's bytes.
fn second_writer_is_refused(name: &str, args: impl Fn(&Path) -> Vec<OsString>, prepare: impl Fn(&Path)) {
    let solo = fx().scratch(&format!("{name}-solo"));
    prepare(&solo);
    let r = Command::new(BIN).arg("--quiet").args(args(&solo)).output().unwrap();
    assert!(r.status.success(), "{name} solo: {}", String::from_utf8_lossy(&r.stderr));
    for attempt in 0..5 {
        let dir = fx().scratch(&format!("{name}-pair-{attempt}"));
        prepare(&dir);
        let Some(first) = start_and_pause(&args(&dir), &dir) else { continue };
        let pid = first.id();
        let t = Instant::now();
        let second = Command::new(BIN).arg("--quiet").args(args(&dir)).output().unwrap();
        let waited = t.elapsed();
        signal(&first, "-CONT");
        let first = first.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&second.stderr);
        assert_eq!(second.status.code(), Some(2), "{name}: second writer\n{err}");
        assert!(
            err.contains("is being written by another run")
                && err.contains(&format!("pid {pid}"))
                && err.contains(&format!("--quiet {name}"))
                && err.contains("started 20"),
            "{name}: the message names the directory, the other run's pid, command and start: {err}"
        );
        assert!(err.contains(&dir.display().to_string()), "{name}: {err}");
        assert!(waited < Duration::from_secs(10), "{name}: the second writer waited {waited:?}");
        assert!(first.status.success(), "{name}: first writer: {}", String::from_utf8_lossy(&first.stderr));
        assert_same_outputs(&dir, &solo, name);
        assert!(temp_files(&dir).is_empty(), "{name}: temporaries left");
        return;
    }
    panic!("{name}: the first run always finished before it could be paused");
}

#[test]
fn cohort_second_writer_is_refused() {
    second_writer_is_refused("cohort", |d| os(cohort_args(&fx().inputs, d)), |_| {});
}

#[test]
fn splits_second_writer_is_refused() {
    second_writer_is_refused("splits", |d| os(splits_args(&fx().cohort_csv(), d, fx().sizes)), |_| {});
}

#[test]
fn tensors_second_writer_is_refused() {
    second_writer_is_refused(
        "tensors",
        |d| os(tensors_args(d, &fx().inputs)),
        |d| {
            for f in SPLIT_INPUTS.iter().chain(&[recipe::RECIPE_FILE]) {
                std::fs::copy(fx().data_dir.join(f), d.join(f)).unwrap();
            }
        },
    );
}

#[test]
fn build_second_writer_is_refused() {
    second_writer_is_refused("build", |d| build_args(d, SCALE, &[]), |_| {});
}

#[test]
fn a_killed_holder_does_not_block_the_next_run() {
    let dir = fx().scratch("killed-holder");
    let solo = fx().scratch("killed-holder-solo");
    run(cohort_args(&fx().inputs, &solo)).assert_success();
    let mut child = spawn(&os(cohort_args(&fx().inputs, &dir)));
    while lock_pid(&dir) != Some(child.id()) && child.try_wait().unwrap().is_none() {
        std::thread::sleep(Duration::from_millis(1));
    }
    let _ = child.kill();
    child.wait().unwrap();
    run(cohort_args(&fx().inputs, &dir)).assert_success();
    assert_same_outputs(&dir, &solo, "after a SIGKILLed holder");
}

#[test]
fn tensors_refuse_to_start_without_space_and_change_nothing() {
    let dir = fx().copy_split_inputs("no-space");
    let before = snapshot(&dir);
    let mut args = os(tensors_args(&dir, &fx().inputs));
    args.extend(["--assume-free-bytes".into(), "1000000".into()]);
    let t = Instant::now();
    let r = Command::new(BIN).arg("--quiet").args(&args).output().unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{err}");
    assert!(err.contains("needs ") && err.contains(&format!("under {}, 1.0 MB free", dir.display())), "{err}");
    assert!(t.elapsed() < Duration::from_secs(20), "the check comes before the work");
    assert_eq!(snapshot(&dir), before, "nothing written");
}

#[test]
fn a_disk_that_fills_anyway_names_the_file_and_keeps_the_earlier_outputs() {
    // A file-size limit stands in for a full disk: writes past it fail with EFBIG
    // (SIGXFSZ ignored, as a shell's `trap '' XFSZ` does, so the write returns the error).
    let dir = fx().copy_split_inputs("disk-full");
    run(tensors_args(&dir, &fx().inputs)).assert_success();
    let before = snapshot(&dir);
    let mut cmd = format!("trap '' XFSZ; ulimit -f 1000; exec '{BIN}' --quiet");
    for a in tensors_args(&dir, &fx().inputs) {
        cmd.push_str(&format!(" '{}'", a.display()));
    }
    let r = Command::new("bash").args(["-c", &cmd]).output().unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{err}");
    // The largest split is written first: the file is its CXR tensor's temporary.
    let first = largest_split(&dir);
    let named = format!("{}/.symile-tmp.", dir.join(first.name()).display());
    assert!(
        err.contains(&named)
            && err.contains(&format!(".cxr_{}.safetensors", first.name()))
            && err.contains("File too large"),
        "names the file ({named}…cxr_{}.safetensors): {err}",
        first.name()
    );
    assert_eq!(snapshot(&dir), before, "the earlier outputs are kept, no temporaries are left");
}

/// The split with the most rows in `dir`'s `metadata.json` (the first
/// one ties go to, in the splits' order).
fn largest_split(dir: &Path) -> dataset_layout::Split {
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join(dataset_layout::METADATA)).unwrap()).unwrap();
    let rows = |s: dataset_layout::Split| meta[s.metadata_key()].as_i64().unwrap();
    let mut best = dataset_layout::Split::ALL[0];
    for s in dataset_layout::Split::ALL {
        if rows(s) > rows(best) {
            best = s;
        }
    }
    best
}

/// Starts a build at full image size, signals it while stage 3 is writing,
/// and checks it stopped cleanly; returns the output dir.
fn interrupt_build(name: &str, sig: &str, status: i32) -> PathBuf {
    let dir = fx().scratch(name);
    let mut child = spawn(&build_args(&dir, "320", &[]));
    let splits_done = dir.join(dataset_layout::BUILD_DIR).join("splits.json");
    loop {
        assert!(child.try_wait().unwrap().is_none(), "{name}: the build ended before stage 3 was caught");
        let writing = ["train", "val"].iter().any(|s| !temp_files(&dir.join(s)).is_empty());
        if splits_done.is_file() && writing {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let t = Instant::now();
    signal(&child, sig);
    let out = child.wait_with_output().unwrap();
    let stopped_in = t.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    eprintln!("{name}: stopped {stopped_in:?} after {sig}: {err}");
    assert_eq!(out.status.code(), Some(status), "{err}");
    assert!(stopped_in < Duration::from_secs(5), "{name}: took {stopped_in:?} to stop");
    assert!(err.contains("interrupted by") && err.contains("tensors did not complete"), "{err}");
    assert!(err.contains("complete stages: cohort, splits"), "says what completed: {err}");
    for sub in ["", "train", "val", "val_retrieval", "test"] {
        assert!(temp_files(&dir.join(sub)).is_empty(), "{name}: temporaries left in {sub}/");
    }
    assert!(dir.join(dataset_layout::COHORT_CSV).is_file() && dir.join("test.csv").is_file(), "earlier stages kept");
    assert!(!dir.join(dataset_layout::METADATA).exists(), "no stage-3 output");
    dir
}

#[test]
fn ctrl_c_and_sigterm_stop_a_build_cleanly_and_a_rerun_completes_it() {
    let solo = fx().scratch("interrupt-solo");
    run(build_args(&solo, "320", &[])).assert_success();
    let dir = interrupt_build("sigint", "-INT", 130);
    let rerun = run(build_args(&dir, "320", &[])).assert_success();
    assert!(rerun.stderr.is_empty(), "{}", rerun.stderr);
    assert_same_outputs(&dir, &solo, "rerun after SIGINT");
    interrupt_build("sigterm", "-TERM", 143);
}

#[test]
fn sha256sums_lists_every_output_and_sha256sum_checks_it() {
    let dir = fx().scratch("sums");
    run(build_args(&dir, SCALE, &[])).assert_success();
    let sums = durable::Sums::load(&dir.join(durable::SUMS_FILE)).unwrap().expect("SHA256SUMS.txt");
    let mut want: Vec<String> = dataset_layout::COHORT_OUTPUTS.iter().map(|s| s.to_string()).collect();
    want.extend(dataset_layout::splits_outputs().iter().map(|s| s.to_string()));
    want.extend(
        dataset_layout::tensor_outputs(tensor_store::Format::Safetensors).iter().map(|p| p.display().to_string()),
    );
    want.extend([recipe::RECIPE_FILE, dataset_layout::CARD, dataset_layout::CROISSANT].map(String::from));
    want.sort();
    let listed: Vec<String> = sums.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(listed, want, "every output, sorted, nothing else");
    let check =
        Command::new("sha256sum").args(["-c", "--strict", durable::SUMS_FILE]).current_dir(&dir).output().unwrap();
    assert!(check.status.success(), "sha256sum -c: {}", String::from_utf8_lossy(&check.stdout));

    // verify: a changed byte and a missing file are named, exit 2.
    let copy = fx().scratch("sums-broken");
    for (rel, bytes) in read_tree(&dir) {
        std::fs::create_dir_all(copy.join(&rel).parent().unwrap()).unwrap();
        std::fs::write(copy.join(&rel), bytes).unwrap();
    }
    run(["verify".into(), copy.clone().into_os_string()]).assert_success();
    let labs = copy.join("val/labs_percentiles_val.safetensors");
    let mut bytes = std::fs::read(&labs).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&labs, bytes).unwrap();
    std::fs::remove_file(copy.join("splits_report.json")).unwrap();
    let r = run(["verify".into(), copy.clone().into_os_string()]);
    assert_eq!(r.code, Some(2), "{}", r.stdout);
    assert!(r.stdout.contains("val/labs_percentiles_val.safetensors does not match its checksum"), "{}", r.stdout);
    assert!(r.stdout.contains("splits_report.json is listed but missing"), "{}", r.stdout);

    // --against another build's list: identical, then a build with another seed.
    let own = dir.join(durable::SUMS_FILE);
    run(["verify".into(), dir.clone().into_os_string(), "--against".into(), own.into_os_string()]).assert_success();
    let other = fx().scratch("sums-seed1");
    run(build_args(&other, SCALE, &["--seed", "1"])).assert_success();
    let r = run(["verify".into(), dir.into_os_string(), "--against".into(), other.join(durable::SUMS_FILE).into()]);
    assert_eq!(r.code, Some(2), "{}", r.stdout);
    assert!(
        r.stdout.contains("train.csv differs") && r.stdout.contains("train/cxr_train.safetensors differs"),
        "{}",
        r.stdout
    );
    assert!(
        !r.stdout.contains("symile_mimic_data.csv differs"),
        "the cohort does not depend on the seed: {}",
        r.stdout
    );

    // --no-checksums: no list is written.
    let none = fx().scratch("sums-none");
    run(build_args(&none, SCALE, &["--no-checksums"])).assert_success();
    assert!(!none.join(durable::SUMS_FILE).exists());
}

/// Kills `args` (SIGKILL) between two renames of its commit into `dir`,
/// which holds an earlier run's outputs `old`; checks the mix a kill leaves
/// is reported by `verify` and completed by the next writer.
fn kill_between_renames(name: &str, args: Vec<OsString>, dir: &Path, old: &[&str], finish: Vec<OsString>) {
    let mut child = Command::new(BIN)
        .arg("--quiet")
        .args(&args)
        .env(durable::commit::PAUSE_BETWEEN_RENAMES_ENV, "4000")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start symile-mimic");
    let journal = dir.join(durable::commit::JOURNAL_FILE);
    let first = dir.join(old[0]);
    let before = std::fs::read(&first).unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !(journal.is_file() && std::fs::read(&first).is_ok_and(|b| b != before)) {
        assert!(child.try_wait().unwrap().is_none(), "{name}: the run ended before its first rename");
        assert!(Instant::now() < deadline, "{name}: no commit started");
        std::thread::sleep(Duration::from_millis(1));
    }
    let _ = child.kill();
    child.wait().unwrap();
    // A mix: the first output is new, the last still old; the journal records the rest.
    assert!(journal.is_file(), "{name}: the journal stays");
    let last = old.last().unwrap();
    assert_eq!(std::fs::read(dir.join(last)).unwrap(), format!("old {last}\n").into_bytes(), "{name}: not a mix");
    let r = run(["verify".into(), dir.as_os_str().to_owned()]);
    assert_eq!(r.code, Some(2));
    assert!(r.stdout.contains("an interrupted run left a commit pending"), "{name}: {}", r.stdout);
    // The next writer completes the commit before anything else (here it then fails on its own input).
    let r = run(finish);
    assert_eq!(r.code, Some(2), "{name}: {}", r.stderr);
    assert!(!journal.exists(), "{name}: the commit was completed");
    assert!(temp_files(dir).is_empty(), "{name}: temporaries left");
    for f in old {
        assert_ne!(std::fs::read(dir.join(f)).unwrap(), format!("old {f}\n").into_bytes(), "{name}: {f} is still old");
    }
    let sums = dir.join(durable::SUMS_FILE);
    let check = Command::new("sha256sum").args(["-c", "--strict"]).arg(&sums).current_dir(dir).output().unwrap();
    assert!(check.status.success(), "{name}: {}", String::from_utf8_lossy(&check.stdout));
}

#[test]
fn a_kill_between_the_renames_of_splits_is_completed_by_the_next_run() {
    let dir = fx().scratch("kill-renames-splits");
    let old = dataset_layout::splits_outputs();
    for f in &old {
        std::fs::write(dir.join(f), format!("old {f}\n")).unwrap();
    }
    let solo = fx().scratch("kill-renames-splits-solo");
    run(splits_args(&fx().cohort_csv(), &solo, fx().sizes)).assert_success();
    // The next writer: tensors on the same directory, which locks it first and
    // then fails (no CXR directory) — after completing the pending commit.
    let mut finish = os(tensors_args(&dir, &fx().inputs));
    let cxr = finish.iter().position(|a| a == "--cxr_data_dir").unwrap() + 1;
    finish[cxr] = dir.join("no-such-dir").into();
    kill_between_renames("splits", os(splits_args(&fx().cohort_csv(), &dir, fx().sizes)), &dir, &old, finish);
    for f in &old {
        assert_eq!(std::fs::read(dir.join(f)).unwrap(), std::fs::read(solo.join(f)).unwrap(), "{f}: not the new run's");
    }
}

#[test]
fn a_kill_between_the_renames_of_cohort_is_completed_by_the_next_run() {
    let dir = fx().scratch("kill-renames-cohort");
    let old = dataset_layout::COHORT_OUTPUTS;
    for f in old {
        std::fs::write(dir.join(f), format!("old {f}\n")).unwrap();
    }
    let mut finish = os(tensors_args(&dir, &fx().inputs));
    let cxr = finish.iter().position(|a| a == "--cxr_data_dir").unwrap() + 1;
    finish[cxr] = dir.join("no-such-dir").into();
    kill_between_renames("cohort", os(cohort_args(&fx().inputs, &dir)), &dir, &old, finish);
    for f in old {
        assert_eq!(std::fs::read(dir.join(f)).unwrap(), std::fs::read(fx().cohort_dir.join(f)).unwrap(), "{f}");
    }
}

#[test]
fn use_seed_takes_a_python_boolean_in_both_spellings() {
    let sizes = fx().sizes;
    let splits = |name: &str, extra: &[&str]| {
        let dir = fx().scratch(name);
        let mut a = os(splits_args(&fx().cohort_csv(), &dir, sizes));
        a.extend(extra.iter().map(OsString::from));
        (run(a), dir)
    };
    let report = |dir: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(dir.join("splits_report.json")).unwrap()).unwrap()
    };
    for (name, extra, source) in [
        ("seed-true", &["--use_seed", "true"][..], "recipe"),
        ("seed-True", &["--use_seed", "True"][..], "recipe"),
        ("seed-eq-1", &["--use_seed=1"][..], "recipe"),
        ("seed-False", &["--use_seed", "False"][..], "os"),
        ("seed-eq-false", &["--use_seed=false"][..], "os"),
        ("seed-kebab-no", &["--use-seed", "no"][..], "os"),
    ] {
        let (r, dir) = splits(name, extra);
        let r = r.assert_success();
        assert!(r.stderr.is_empty(), "{name}: {}", r.stderr);
        let rep = report(&dir);
        assert_eq!(rep["seed_source"], source, "{name}");
        let recorded = recipe::Requested::recorded(&dir).unwrap().unwrap().recipe.splits.seed;
        assert_eq!(rep["seed"], recorded, "{name}: the seed used is the one recorded in recipe.toml");
        if source == "recipe" {
            assert_eq!(rep["seed"], 7, "{name}: --seed 7 is used");
        }
    }
    let (r, _) = splits("seed-bad", &["--use_seed", "maybe"]);
    assert_eq!(r.code, Some(2));
    assert!(
        r.stderr.contains("expected a boolean (yes/true/t/y/1 or no/false/f/n/0), found \"maybe\""),
        "{}",
        r.stderr
    );
}

#[test]
fn quiet_prints_errors_only_and_colour_needs_a_terminal() {
    let dir = fx().scratch("quiet");
    let quiet = Command::new(BIN).arg("--quiet").args(cohort_args(&fx().inputs, &dir)).output().unwrap();
    assert!(quiet.status.success());
    assert!(quiet.stderr.is_empty() && quiet.stdout.is_empty(), "{}", String::from_utf8_lossy(&quiet.stderr));
    // Without --quiet, log lines on a pipe carry no colour codes.
    let loud = Command::new(BIN).args(cohort_args(&fx().inputs, &dir)).env_remove("NO_COLOR").output().unwrap();
    let err = String::from_utf8_lossy(&loud.stderr);
    assert!(err.contains("INFO") && !err.contains('\u{1b}'), "{err}");
    // SYMILE_MIMIC_LOG wins over --quiet.
    let debug = Command::new(BIN)
        .arg("--quiet")
        .args(cohort_args(&fx().inputs, &dir))
        .env("SYMILE_MIMIC_LOG", "debug")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&debug.stderr).contains("DEBUG"));
    // On a terminal (script(1) gives the run a pty) colour appears, unless NO_COLOR is set.
    let on_tty = |no_color: bool| {
        let cmd = format!(
            "'{BIN}' {}",
            cohort_args(&fx().inputs, &dir).iter().map(|a| format!("'{}'", a.display())).collect::<Vec<_>>().join(" ")
        );
        let mut c = Command::new("script");
        c.args(["-qec", &cmd, "/dev/null"]).env_remove("NO_COLOR");
        if no_color {
            c.env("NO_COLOR", "1");
        }
        String::from_utf8_lossy(&c.output().unwrap().stdout).into_owned()
    };
    assert!(on_tty(false).contains("\u{1b}["), "colour on a terminal");
    let plain = on_tty(true);
    assert!(plain.contains("INFO") && !plain.contains("\u{1b}[3"), "NO_COLOR: {plain}");
}
