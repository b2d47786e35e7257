//! `cargo xtask bench [plan|cohort|splits|tensors|all] --scale S`: the
//! release binary on cached synthetic input, next to the physical floors
//! measured in the same run. `plan` (the download plan, which reads the same
//! tables as the cohort and no image or ECG file) is timed next to the
//! cohort stage it shares its rules with.
//!
//! Floors: `zcat labevents.csv.gz > /dev/null` for the cohort (it must at
//! least inflate the lab table once); for tensors, decoding every distinct
//! JPEG once on all cores plus writing the output bytes. Wall time, CPU time
//! and peak RSS come from the child's `rusage` (wait4), so the numbers are
//! the stage's own, not this driver's. Machines here are noisy: compare the
//! ratios printed side by side, not absolute seconds across runs.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Which stage(s) to run.
    #[arg(default_value = "all", value_parser = ["plan", "cohort", "splits", "tensors", "all"])]
    stage: String,
    /// Synthetic scale (1.0 = real MIMIC table sizes).
    #[arg(long, default_value_t = 0.01)]
    scale: f64,
    /// Generate full-size (~2500×3000) JPEGs, as MIMIC-CXR-JPG has.
    #[arg(long)]
    full_cxr: bool,
    /// Training rows for the splits/tensors stages (default: 60 % of the cohort).
    #[arg(long = "train-n")]
    train_n: Option<usize>,
    /// Runs of each stage-3 measurement, alternated (the medians are printed).
    #[arg(long, default_value_t = 1)]
    repeat: usize,
}

fn median(mut v: Vec<Measured>) -> Measured {
    v.sort_by(|a, b| a.wall_s.total_cmp(&b.wall_s));
    v[v.len() / 2].clone()
}

/// One measured process.
#[derive(Debug, Clone)]
pub struct Measured {
    pub wall_s: f64,
    pub cpu_s: f64,
    pub max_rss_mib: f64,
}

/// Runs `cmd` to completion and returns its own resource usage.
///
/// The command is started by a fresh, small copy of this program
/// ([`measure_child`]) rather than by this process: Linux charges a child the
/// high-water RSS of the address space it was forked from, so a command
/// spawned straight from a driver that has just generated gigabytes of input
/// would report the driver's peak, not its own.
pub fn measure(cmd: &mut Command) -> Result<Measured> {
    let stats = std::env::temp_dir().join(format!("symile-bench-{}.stats", std::process::id()));
    let mut wrapper = Command::new(std::env::current_exe()?);
    wrapper.arg(MEASURE_ARG).arg(&stats).arg("--").arg(cmd.get_program()).args(cmd.get_args());
    if let Some(dir) = cmd.get_current_dir() {
        wrapper.current_dir(dir);
    }
    let status = wrapper.stdout(std::process::Stdio::null()).status()?;
    let text = fs::read_to_string(&stats).with_context(|| format!("no measurement from {cmd:?}"))?;
    let _ = fs::remove_file(&stats);
    if !status.success() {
        bail!("{cmd:?} failed");
    }
    let v: Vec<f64> = text.split_whitespace().map(|x| x.parse().unwrap_or(f64::NAN)).collect();
    Ok(Measured { wall_s: v[0], cpu_s: v[1], max_rss_mib: v[2] })
}

/// The hidden first argument that turns this program into [`measure_child`].
pub const MEASURE_ARG: &str = "__measure";

/// `xtask __measure STATS -- CMD ARGS…`: runs CMD, waits for it with wait4 and
/// writes "wall cpu max_rss_mib" to STATS; exits with CMD's status.
#[allow(unsafe_code)]
pub fn measure_child(args: &[String]) -> Result<i32> {
    let (stats, rest) = args.split_first().context("__measure needs a stats path")?;
    let cmd_args = rest.strip_prefix(&["--".to_string()][..]).unwrap_or(rest);
    let (program, cmd_args) = cmd_args.split_first().context("__measure needs a command")?;
    let start = Instant::now();
    let child = Command::new(program).args(cmd_args).spawn().with_context(|| format!("cannot start {program}"))?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is plain data that wait4 fills; the pid is our own child,
    // which std has not reaped (we never call `Child::wait`).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall_s = start.elapsed().as_secs_f64();
    if rc < 0 {
        bail!("wait4 failed for {program}: {}", std::io::Error::last_os_error());
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let cpu = tv(usage.ru_utime) + tv(usage.ru_stime);
    fs::write(stats, format!("{wall_s} {cpu} {}", usage.ru_maxrss as f64 / 1024.0))?;
    Ok(if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { 1 })
}

fn cargo_release_build() -> Result<PathBuf> {
    let root = crate::workspace_root();
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(&root)
        .args(["build", "--release", "--quiet", "-p", "symile-mimic"])
        .status()
        .context("cannot run cargo build --release")?;
    if !status.success() {
        bail!("cargo build --release -p symile-mimic failed");
    }
    Ok(root.join("target/release/symile-mimic"))
}

fn bench_input(scale: f64, full_cxr: bool) -> Result<PathBuf> {
    let root = crate::workspace_root().join("target/bench");
    let dir = root.join(format!("scale-{scale}{}", if full_cxr { "-full" } else { "" }));
    let done = dir.join(".complete");
    if done.is_file() {
        eprintln!("bench input: {} (cached)", dir.display());
        return Ok(dir);
    }
    if dir.exists() {
        fs::remove_dir_all(&dir)?;
    }
    fs::create_dir_all(&root)?;
    let cfg = bench_config(scale, full_cxr);
    let t = Instant::now();
    synth::generate(&dir.join("input"), &cfg).context("generating bench input")?;
    eprintln!("bench input: {} generated in {:.1}s", dir.display(), t.elapsed().as_secs_f64());
    fs::write(&done, b"")?;
    Ok(dir)
}

/// MIMIC-like proportions at `scale`. Image and ECG files are bounded so a
/// scale-1.0 table set fits a laptop disk: the tables carry real row counts,
/// but only files that can fall in an admission window are written first.
fn bench_config(scale: f64, full_cxr: bool) -> synth::SynthConfig {
    synth::SynthConfig {
        scale,
        cxr_size: if full_cxr { synth::CxrSize::Full } else { synth::CxrSize::Small },
        max_cxr_files: Some(if full_cxr { 4_000 } else { 40_000 }),
        // ~120 KB per record: 20,000 records keep a scale-1.0 input near 6 GB.
        max_ecg_files: Some(20_000),
        ..synth::SynthConfig::default()
    }
}

fn dir_size(path: &Path) -> u64 {
    let mut total = 0;
    if let Ok(entries) = fs::read_dir(path) {
        for e in entries.flatten() {
            let p = e.path();
            total += if p.is_dir() { dir_size(&p) } else { e.metadata().map_or(0, |m| m.len()) };
        }
    }
    total
}

fn row(name: &str, rows: &str, m: &Measured, floor: Option<(&str, f64)>) {
    let ratio = floor.map(|(n, f)| format!("{:.2}× {n}", m.wall_s / f)).unwrap_or_default();
    println!("| {name} | {rows} | {:.2} | {:.2} | {:.0} | {ratio} |", m.wall_s, m.cpu_s, m.max_rss_mib);
}

pub fn run(args: &BenchArgs) -> Result<()> {
    let bin = cargo_release_build()?;
    let base = bench_input(args.scale, args.full_cxr)?;
    let input = base.join("input");
    let out = base.join("output");
    fs::create_dir_all(&out)?;
    let all = args.stage == "all";
    println!(
        "scale {} ({}), {} cores",
        args.scale,
        if args.full_cxr { "full-size CXR" } else { "small CXR" },
        num_cores()
    );
    println!("| step | rows | wall s | CPU s | peak RSS MiB | vs floor |");
    println!("|---|---|---|---|---|---|");
    let labevents = input.join("mimiciv/hosp/labevents.csv.gz");
    let inputs = |cmd: &mut Command| {
        cmd.arg("--mimiciv_hosp_dir")
            .arg(input.join("mimiciv/hosp"))
            .arg("--cxr_data_dir")
            .arg(input.join("mimic-cxr-jpg"))
            .arg("--ecg_data_dir")
            .arg(input.join("mimic-iv-ecg"));
    };
    if all || args.stage == "plan" || args.stage == "cohort" {
        let plan_dir = out.join("download-plan");
        let mut cmd = Command::new(&bin);
        cmd.args(["--quiet", "plan"]);
        inputs(&mut cmd);
        let m = measure(cmd.arg("--out").arg(&plan_dir).stdout(std::process::Stdio::null()))?;
        let plan: serde_json::Value = serde_json::from_slice(&fs::read(plan_dir.join("plan.json"))?)?;
        let share = |k: &str| {
            let a = &plan[k];
            format!("{} of {} {} ({:.1} %)", a["planned"], a["listed"], a["unit"].as_str().unwrap_or(""), {
                100.0 * a["share"].as_f64().unwrap_or(f64::NAN)
            })
        };
        row("plan (tables only)", &format!("CXR {}, ECG {}", share("cxr"), share("ecg")), &m, None);
    }
    if all || args.stage == "cohort" {
        let zcat = measure(Command::new("sh").arg("-c").arg(format!("zcat '{}' > /dev/null", labevents.display())))?;
        row("floor: zcat labevents", &format!("{} MB gz", fs::metadata(&labevents)?.len() / 1_000_000), &zcat, None);
        let m = measure(
            Command::new(&bin)
                .args(["--quiet", "cohort", "--mimiciv_hosp_dir"])
                .arg(input.join("mimiciv/hosp"))
                .arg("--cxr_data_dir")
                .arg(input.join("mimic-cxr-jpg"))
                .arg("--ecg_data_dir")
                .arg(input.join("mimic-iv-ecg"))
                .arg("--save_dir")
                .arg(&out)
                .stdout(std::process::Stdio::null()),
        )?;
        let rows = pipeline::count_rows(&out.join("symile_mimic_data.csv"))?;
        row("cohort", &format!("{rows} out"), &m, Some(("zcat", zcat.wall_s)));
    }
    let cohort_csv = out.join("symile_mimic_data.csv");
    if (all || args.stage == "splits" || args.stage == "tensors") && !cohort_csv.is_file() {
        bail!("no cohort at {}: run `cargo xtask bench cohort --scale {}` first", cohort_csv.display(), args.scale);
    }
    if all || args.stage == "splits" {
        let rows = pipeline::count_rows(&cohort_csv)?;
        let mut sizes = recipe::SplitsRecipe::default();
        if let Some(n) = args.train_n {
            sizes.train_n = n;
        }
        let (sizes, _) = sizes.fitted(rows as usize);
        let (train_n, val_n) = (sizes.train_n, sizes.val_n);
        let m = measure(
            Command::new(&bin)
                .args(["--quiet", "splits", "--dataset_path"])
                .arg(&cohort_csv)
                .arg("--save_dir")
                .arg(&out)
                .args(["--train_n", &train_n.to_string(), "--val_n", &val_n.to_string(), "--candidate_n", "10"])
                .stdout(std::process::Stdio::null()),
        )?;
        row("splits", &format!("{rows} in"), &m, None);
    }
    if all || args.stage == "tensors" {
        let tensors_out = out.join("tensors");
        fs::create_dir_all(&tensors_out)?;
        for f in ["train.csv", "val.csv", "val_retrieval.csv", "test.csv", "labs_means.json"] {
            fs::copy(out.join(f), tensors_out.join(f)).with_context(|| format!("{f}: run the splits bench first"))?;
        }
        #[derive(Clone, Copy)]
        enum Floor {
            Decode,
            Write { direct: bool },
        }
        let floor_cmd = |floor: Floor| {
            let mut c = Command::new(&bin);
            c.args(["--quiet", "decode-floor", "--cxr_data_dir"])
                .arg(input.join("mimic-cxr-jpg"))
                .arg("--data_dir")
                .arg(&tensors_out)
                .stdout(std::process::Stdio::null());
            match floor {
                Floor::Decode => c.arg("--decode-only"),
                Floor::Write { direct: false } => c.arg("--write-only"),
                Floor::Write { direct: true } => c.args(["--write-only", "--direct"]),
            };
            c
        };
        let tensors = |extra: &[&str]| {
            measure(
                Command::new(&bin)
                    .args(["--quiet", "tensors"])
                    .args(extra)
                    .arg("--data_dir")
                    .arg(&tensors_out)
                    .arg("--ecg_data_dir")
                    .arg(input.join("mimic-iv-ecg"))
                    .arg("--cxr_data_dir")
                    .arg(input.join("mimic-cxr-jpg"))
                    .stdout(std::process::Stdio::null()),
            )
        };
        // Alternated, so that a noisy moment hurts every kind of run alike.
        let (mut decodes, mut writes, mut directs, mut hashed, mut unhashed) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for i in 0..args.repeat.max(1) {
            decodes.push(measure(&mut floor_cmd(Floor::Decode))?);
            writes.push(measure(&mut floor_cmd(Floor::Write { direct: false }))?);
            directs.push(measure(&mut floor_cmd(Floor::Write { direct: true }))?);
            // The run right after the floors is slower (the memory they freed
            // is faulted in again), so the two kinds take turns going first.
            if i % 2 == 0 {
                hashed.push(tensors(&[])?);
                unhashed.push(tensors(&["--no-checksums"])?);
            } else {
                unhashed.push(tensors(&["--no-checksums"])?);
                hashed.push(tensors(&[])?);
            }
        }
        let (decode, buffered, direct) = (median(decodes), median(writes), median(directs));
        let (m, unhashed) = (median(hashed), median(unhashed));
        row("floor: decode every distinct JPEG once", "all cores", &decode, None);
        row("floor: write the bytes + fsync", "through the page cache", &buffered, None);
        row("floor: write the bytes + fsync", "O_DIRECT", &direct, None);
        // Writing's floor is the faster of the two ways to put the bytes on
        // disk; the stage's, the larger of decoding and writing (at best it
        // overlaps them).
        let write = if direct.wall_s < buffered.wall_s { direct } else { buffered };
        let floor = decode.wall_s.max(write.wall_s);
        let bytes = dir_size(&tensors_out);
        row("tensors", &format!("{} MB out", bytes / 1_000_000), &m, Some(("floor", floor)));
        // The same stage without hashing its outputs for SHA256SUMS.txt: the checksums' cost.
        row("tensors --no-checksums", "", &unhashed, Some(("floor", floor)));
        println!(
            "medians of {} alternated run(s): checksums {:.2}× the wall of --no-checksums ({:.2} s vs {:.2} s); \
             tensors {:.2}× the write floor (the faster of the two, {:.2} s), {:.2}× the stage's floor \
             ({:.2} s: the larger of decoding, {:.2} s, and writing)",
            args.repeat.max(1),
            m.wall_s / unhashed.wall_s,
            m.wall_s,
            unhashed.wall_s,
            m.wall_s / write.wall_s,
            write.wall_s,
            m.wall_s / floor,
            floor,
            decode.wall_s,
        );
    }
    Ok(())
}

fn num_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
