//! Interrupted runs and determinism of the real `symile-mimic` binary.
//!
//! - `symile-mimic tensors` is killed with SIGKILL at fixed and at seeded
//!   random moments; after each kill every file under `data_dir` with a final
//!   name must be byte-identical to the uninterrupted run's (absent is fine:
//!   only a `.symile-tmp.*` file may be incomplete). A rerun must then produce
//!   the uninterrupted run's bytes and leave no temp file behind.
//! - The whole pipeline (cohort, splits, tensors with the default ChaCha
//!   crops) run with the default thread count, `--threads 1` and `--threads 2`
//!   must give byte-identical outputs, reports and `SHA256SUMS.txt` included
//!   (no output records a timing or an absolute path).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use crate::common::*;
use durable::TEMP_PREFIX;
use test_support::tree::files;

/// Synthetic admissions: ~120 cohort rows, so that `tensors` at full scale
/// (320) takes 1–2 s in a debug build: long enough to be killed mid-write.
const ADMISSIONS: usize = 200;
/// `--cxr_scale`/`--cxr_crop` of these runs: the reference's default.
const FULL_SCALE: &str = "320";

fn fx() -> &'static Fixture {
    static FX: OnceLock<Fixture> = OnceLock::new();
    FX.get_or_init(|| Fixture::new(ADMISSIONS, FULL_SCALE))
}

/// The tests of this file take turns: the kill delays are scaled to a
/// measured run time, which a concurrent pipeline on 2 cores would distort.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The `tensors` outputs of the reference run: files in the split
/// directories and `metadata.json` (relative path → bytes).
fn reference_outputs() -> &'static BTreeMap<PathBuf, Vec<u8>> {
    static OUT: OnceLock<BTreeMap<PathBuf, Vec<u8>>> = OnceLock::new();
    OUT.get_or_init(|| {
        let all = read_tree(&fx().data_dir);
        let out: BTreeMap<_, _> = all.into_iter().filter(|(k, _)| is_tensors_output(k)).collect();
        assert!(out.len() >= 19, "expected 18 tensor files and metadata.json, found {:?}", out.keys());
        out
    })
}

/// True for a `tensors` output path (relative to data_dir).
fn is_tensors_output(rel: &Path) -> bool {
    rel.components().count() > 1
        || ["metadata.json", dataset_layout::CARD, dataset_layout::CROISSANT].iter().any(|f| rel == Path::new(f))
}

fn is_temp(rel: &Path) -> bool {
    rel.file_name().is_some_and(|n| n.to_string_lossy().starts_with(TEMP_PREFIX))
}

/// Starts `tensors` on `dir`, kills it (SIGKILL) after `delay`, and reaps it.
/// Returns whether it was still running when killed.
fn kill_after(dir: &Path, delay: Duration) -> bool {
    let started = Instant::now();
    kill_when(dir, |_| started.elapsed() >= delay)
}

/// Starts `tensors` on `dir` and kills it (SIGKILL) as soon as `now(dir)`
/// holds (polled every 2 ms). Returns whether it was still running then.
fn kill_when(dir: &Path, now: impl Fn(&Path) -> bool) -> bool {
    let mut child = Command::new(BIN)
        .arg("--quiet")
        .args(fx().tensors_args(dir, &fx().inputs))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("cannot start symile-mimic");
    let running = loop {
        if child.try_wait().unwrap().is_some() {
            break false;
        }
        if now(dir) {
            break true;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    // `Child::kill` sends SIGKILL; a child that already exited is fine.
    let _ = child.kill();
    child.wait().unwrap();
    running
}

/// Every entry of `dir/SHA256SUMS.txt` names a file whose bytes hash to it.
fn assert_sums_hold(dir: &Path, when: &str) {
    let Some(sums) = durable::Sums::load(&dir.join(durable::SUMS_FILE)).unwrap() else { return };
    for (rel, want) in sums.iter() {
        let got = durable::sha256_file(&dir.join(rel), &mut |_| true)
            .unwrap_or_else(|e| panic!("{when}: {rel} is listed in SHA256SUMS.txt but cannot be read: {e}"));
        assert_eq!(&got, want, "{when}: {rel} does not match its SHA256SUMS.txt entry");
    }
}

/// After a kill: every final-named file under `dir` is either an input we
/// put there (unchanged) or a complete reference output, and
/// `SHA256SUMS.txt` (if the run got that far) vouches only for true bytes.
/// A commit journal may remain (the next run completes it). Returns the
/// number of temp files and of final outputs present.
fn check_after_kill(dir: &Path, inputs: &BTreeMap<PathBuf, Vec<u8>>, when: &str) -> (usize, usize) {
    let (mut temps, mut finals) = (0, 0);
    if !durable::pending_commit(dir) {
        assert_sums_hold(dir, when);
    }
    for (rel, entry) in snapshot(dir) {
        if !matches!(entry, Entry::File { .. }) {
            continue;
        }
        if is_temp(&rel) {
            temps += 1;
            continue;
        }
        if rel == Path::new(durable::commit::JOURNAL_FILE) || rel == Path::new(durable::SUMS_FILE) {
            continue;
        }
        let bytes = std::fs::read(dir.join(&rel)).unwrap();
        if let Some(want) = inputs.get(&rel) {
            assert!(&bytes == want, "{when}: input {} was changed", rel.display());
        } else {
            let want = reference_outputs()
                .get(&rel)
                .unwrap_or_else(|| panic!("{when}: unexpected file {} after the kill", rel.display()));
            assert!(
                &bytes == want,
                "{when}: {} has a final name but is not the complete output ({} bytes, want {})",
                rel.display(),
                bytes.len(),
                want.len()
            );
            finals += 1;
        }
    }
    (temps, finals)
}

/// Reruns `tensors` to completion on `dir` and checks the result is the
/// uninterrupted run's, with no temp file left and the inputs untouched.
fn rerun_and_compare(dir: &Path, inputs: &BTreeMap<PathBuf, Vec<u8>>, when: &str) {
    run(fx().tensors_args(dir, &fx().inputs)).assert_success();
    let tree = read_tree(dir);
    let outputs: BTreeMap<_, _> = tree.iter().filter(|(k, _)| is_tensors_output(k)).collect();
    let want: BTreeMap<_, _> = reference_outputs().iter().collect();
    assert_eq!(outputs.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>(), "{when}: output files differ");
    for (k, v) in &want {
        assert!(outputs[k] == *v, "{when}: {} differs from the uninterrupted run", k.display());
    }
    for (k, v) in inputs {
        assert!(&tree[k] == v, "{when}: input {} was changed", k.display());
    }
    assert_eq!(temp_files(dir), Vec::<PathBuf>::new(), "{when}: temp files left behind");
    assert!(!durable::pending_commit(dir), "{when}: a commit is still pending");
    assert_sums_hold(dir, when);
    let sums = durable::Sums::load(&dir.join(durable::SUMS_FILE)).unwrap().expect("SHA256SUMS.txt");
    for k in want.keys() {
        assert!(sums.get(k.to_str().unwrap()).is_some(), "{when}: {} is not in SHA256SUMS.txt", k.display());
    }
}

/// A data dir with the split inputs and a user file.
fn fresh_data_dir(name: &str) -> (PathBuf, BTreeMap<PathBuf, Vec<u8>>) {
    let d = fx().copy_split_inputs(name);
    std::fs::write(d.join("my notes.txt"), b"not yours\n").unwrap();
    let inputs = read_tree(&d);
    (d, inputs)
}

/// xorshift64*: a seeded, dependency-free source of kill delays.
fn next(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

#[test]
fn killed_tensors_runs_leave_only_complete_outputs_and_resume() {
    let _turn = serial();
    let _ = reference_outputs();
    // An uninterrupted run on a fresh copy: its duration bounds the random delays,
    // and it must equal the reference run (two runs, same bytes).
    let (d, inputs) = fresh_data_dir("uninterrupted");
    let t = Instant::now();
    rerun_and_compare(&d, &inputs, "second uninterrupted run");
    let full = t.elapsed();
    eprintln!("uninterrupted tensors run: {full:?}");

    let mut killed_mid_write = 0;
    // Fixed moments, one after another on one data dir (each later run also
    // finds the temp files of the killed ones), then a rerun.
    let (d, inputs) = fresh_data_dir("kill-fixed");
    for ms in [50u64, 150, 400] {
        let when = format!("killed after {ms} ms");
        let running = kill_after(&d, Duration::from_millis(ms));
        let (temps, finals) = check_after_kill(&d, &inputs, &when);
        eprintln!("{when}: running {running}, {temps} temp file(s), {finals} final output(s)");
        killed_mid_write += usize::from(running && temps > 0);
    }
    rerun_and_compare(&d, &inputs, "rerun after the fixed kills");
    // The moment the first temp file appears, and 100 ms later: mid-write
    // whatever the machine's load.
    let (d, inputs) = fresh_data_dir("kill-temp");
    for extra in [0u64, 100] {
        let when = format!("killed {extra} ms after the first temp file appeared");
        let seen: std::cell::Cell<Option<Instant>> = std::cell::Cell::new(None);
        let running = kill_when(&d, |dir| {
            if seen.get().is_none() && !temp_files(dir).is_empty() {
                seen.set(Some(Instant::now()));
            }
            seen.get().is_some_and(|t| t.elapsed() >= Duration::from_millis(extra))
        });
        let (temps, finals) = check_after_kill(&d, &inputs, &when);
        eprintln!("{when}: running {running}, {temps} temp file(s), {finals} final output(s)");
        if extra == 0 {
            assert!(running && temps > 0, "{when}: the run was not caught mid-write");
        }
        killed_mid_write += usize::from(running && temps > 0);
    }
    rerun_and_compare(&d, &inputs, "rerun after the kills at the first temp file");
    // Seeded random moments, one after another on the same data dir, so that
    // later runs also find the temp files of several killed runs.
    let (d, inputs) = fresh_data_dir("kill-random");
    let mut state = 0x5EED_0007_u64;
    let span = full.as_millis().max(200) as u64;
    for k in 0..2 {
        let ms = span / 10 + next(&mut state) % (span * 8 / 10);
        let when = format!("random kill #{k} after {ms} ms");
        let running = kill_after(&d, Duration::from_millis(ms));
        let (temps, finals) = check_after_kill(&d, &inputs, &when);
        eprintln!("{when}: running {running}, {temps} temp file(s), {finals} final output(s)");
        killed_mid_write += usize::from(running && temps > 0);
    }
    rerun_and_compare(&d, &inputs, "rerun after the random kills");
    // The test means something only if some kill landed while files were being written.
    assert!(killed_mid_write > 0, "no kill happened while tensor files were being written");
}

/// Runs the whole pipeline under `dir` (optionally with `--threads n`).
fn pipeline(dir: &Path, threads: Option<usize>) {
    let with_threads = |args: Vec<PathBuf>| {
        let mut a: Vec<PathBuf> = threads.map(|n| vec!["--threads".into(), n.to_string().into()]).unwrap_or_default();
        a.extend(args);
        a
    };
    let cohort = dir.join("cohort");
    let data = dir.join("data");
    run(with_threads(cohort_args(&fx().inputs, &cohort))).assert_success();
    run(with_threads(splits_args(&cohort.join(COHORT_DATA[0]), &data, fx().sizes))).assert_success();
    run(with_threads(fx().tensors_args(&data, &fx().inputs))).assert_success();
}

/// Every file of a pipeline run (`cohort/…`, `data/…`), as written.
fn normalised_outputs(run_dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for sub in ["cohort", "data"] {
        for (rel, bytes) in read_tree(&run_dir.join(sub)) {
            out.insert(Path::new(sub).join(rel), bytes);
        }
    }
    out
}

#[test]
fn pipeline_outputs_do_not_depend_on_the_thread_count() {
    let _turn = serial();
    let reference = normalised_outputs(fx().root.path());
    // 3 cohort outputs, 6 splits outputs, 24 tensor files, metadata.json and two SHA256SUMS.txt.
    assert!(reference.len() >= 3 + 6 + 24 + 1 + 2, "{:?}", reference.keys());
    for threads in [1, 2] {
        let dir = fx().scratch(&format!("threads-{threads}"));
        pipeline(&dir, Some(threads));
        let got = normalised_outputs(&dir);
        assert_eq!(got.keys().collect::<Vec<_>>(), reference.keys().collect::<Vec<_>>(), "--threads {threads}");
        for (k, v) in &reference {
            assert!(
                &got[k] == v,
                "--threads {threads}: {} differs from the default-thread run\nwant: {}\ngot:  {}",
                k.display(),
                String::from_utf8_lossy(&v[..v.len().min(400)]),
                String::from_utf8_lossy(&got[k][..got[k].len().min(400)])
            );
        }
    }
}

/// The floors `cargo xtask bench` compares stage 3 with: `decode-floor`
/// decodes each split's distinct images once and writes (then deletes) as
/// many bytes as the tensors' data, or does only one of the two. The counts
/// are recomputed here from the split CSVs and the reference run's files.
#[test]
fn decode_floor_decodes_each_distinct_image_and_writes_the_tensors_bytes() {
    // It decodes and writes as much as a run: not beside the timed kills.
    let _turn = serial();
    let fx = fx();
    let dir = fx.copy_split_inputs("decode-floor");
    let images: usize = dataset_layout::Split::ALL
        .iter()
        .map(|s| {
            let t = table::Table::read(&fx.data_dir.join(s.csv()));
            t.column("cxr_path").into_iter().collect::<std::collections::BTreeSet<_>>().len()
        })
        .sum();
    // A safetensors file: an 8-byte header length, the header, the data.
    let bytes: u64 = files(&fx.data_dir)
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .map(|p| {
            let b = std::fs::read(fx.data_dir.join(p)).unwrap();
            let header = u64::from_le_bytes(b[..8].try_into().unwrap());
            b.len() as u64 - 8 - header
        })
        .sum();
    assert!(images > 0 && bytes > 0, "{images} images, {bytes} bytes");
    let before = files(&dir);
    for (flags, want) in [
        (&[][..], (images, bytes)),
        (&["--decode-only"][..], (images, 0)),
        (&["--write-only"][..], (0, bytes)),
        (&["--write-only", "--direct"][..], (0, bytes)),
    ] {
        let mut args = os_args(&[&"decode-floor", &"--data_dir", &dir, &"--cxr_data_dir", &fx.inputs.cxr]);
        args.extend(flags.iter().map(Into::into));
        let r = run(args).assert_success();
        assert_eq!(r.stdout.trim(), format!("decoded {} distinct images, wrote {} bytes", want.0, want.1), "{flags:?}");
        assert_eq!(files(&dir), before, "{flags:?} left a file behind");
    }
    let r = run(os_args(&[
        &"decode-floor",
        &"--data_dir",
        &dir,
        &"--cxr_data_dir",
        &fx.inputs.cxr,
        &"--decode-only",
        &"--write-only",
    ]));
    assert_eq!(r.code, Some(2), "--decode-only with --write-only: {}", r.stderr);
}
