//! `cargo xtask synth`: writes a deterministic MIMIC-shaped synthetic tree.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;

/// Flags of `cargo xtask synth`.
#[derive(Debug, clap::Args)]
pub struct SynthArgs {
    /// Output directory (created; a previous synth output in it is replaced,
    /// any other non-empty directory is refused).
    #[arg(long)]
    pub out: PathBuf,
    /// Start from the embedded demo configuration (`cargo xtask build-dataset`'s input).
    #[arg(long)]
    pub demo: bool,
    #[arg(long)]
    pub seed: Option<u64>,
    /// Fraction of real MIMIC row counts (1.0 = ~300k patients, 431k admissions, 118M lab events).
    #[arg(long)]
    pub scale: Option<f64>,
    /// Background admissions wanted (overrides --scale).
    #[arg(long)]
    pub admissions: Option<usize>,
    /// `small` (64-420 px) or `full` (~2500x3000 like MIMIC-CXR-JPG).
    #[arg(long, value_parser = clap::value_parser!(synth::CxrSize))]
    pub cxr_size: Option<synth::CxrSize>,
    /// Most background JPEGs written (images that can fall in a window first).
    #[arg(long)]
    pub max_cxr_files: Option<usize>,
    /// Most background ECG records, hence ECG rows (ECGs near admissions first).
    #[arg(long)]
    pub max_ecg_files: Option<usize>,
    /// Copies of the planted edge-case set (0 = none).
    #[arg(long)]
    pub planted_reps: Option<usize>,
    /// Subjects missing from patients.csv.
    #[arg(long)]
    pub orphans: Option<usize>,
    /// gzip level of the .csv.gz tables (1-9).
    #[arg(long)]
    pub gzip_level: Option<u32>,
    /// Mean lab rows per admission.
    #[arg(long)]
    pub labs_per_admission: Option<f64>,
    /// Also plant cases that give NaN tensors in stage 3.
    #[arg(long)]
    pub nasty: bool,
    /// Put every deathtime at midnight (pandas then writes that column as dates).
    #[arg(long)]
    pub deathtime_midnight: bool,
    /// Lay the tree out as `wget -r` fetches it from PhysioNet:
    /// physionet.org/files/<project>/<version>/ with a SHA256SUMS.txt per project, for the current releases
    /// (MIMIC-IV 3.1, MIMIC-CXR-JPG 2.1.0, MIMIC-IV-ECG 1.0) unless named below.
    #[arg(long)]
    pub physionet: bool,
    /// MIMIC-IV release folder of the PhysioNet layout (implies --physionet).
    #[arg(long)]
    pub mimiciv_version: Option<String>,
    /// MIMIC-CXR-JPG release folder of the PhysioNet layout (implies --physionet).
    #[arg(long)]
    pub cxr_version: Option<String>,
    /// MIMIC-IV-ECG release folder of the PhysioNet layout (implies --physionet).
    #[arg(long)]
    pub ecg_version: Option<String>,
    /// Add columns to and move columns of admissions, labevents and the CXR metadata, as a later release might.
    #[arg(long)]
    pub schema_drift: bool,
}

impl SynthArgs {
    /// The generator configuration these flags describe.
    pub fn config(&self) -> synth::SynthConfig {
        let mut cfg = if self.demo { synth::demo_config() } else { synth::SynthConfig::default() };
        if let Some(v) = self.seed {
            cfg.seed = v;
        }
        if let Some(v) = self.scale {
            cfg.scale = v;
            cfg.admissions = None;
        }
        if self.admissions.is_some() {
            cfg.admissions = self.admissions;
        }
        if let Some(v) = self.cxr_size {
            cfg.cxr_size = v;
        }
        if self.max_cxr_files.is_some() {
            cfg.max_cxr_files = self.max_cxr_files;
        }
        if self.max_ecg_files.is_some() {
            cfg.max_ecg_files = self.max_ecg_files;
        }
        if let Some(v) = self.planted_reps {
            cfg.planted_reps = v;
        }
        if let Some(v) = self.orphans {
            cfg.orphans = v;
        }
        if let Some(v) = self.gzip_level {
            cfg.gzip_level = v;
        }
        if let Some(v) = self.labs_per_admission {
            cfg.labs_per_admission = v;
        }
        cfg.nasty |= self.nasty;
        cfg.deathtime_midnight |= self.deathtime_midnight;
        let named = [&self.mimiciv_version, &self.cxr_version, &self.ecg_version];
        if self.physionet || named.iter().any(|v| v.is_some()) {
            let mut r = cfg.physionet.take().unwrap_or_else(synth::Releases::current);
            for (slot, v) in [(&mut r.mimiciv, named[0]), (&mut r.cxr, named[1]), (&mut r.ecg, named[2])] {
                if let Some(v) = v {
                    slot.clone_from(v);
                }
            }
            cfg.physionet = Some(r);
        }
        cfg.schema_drift |= self.schema_drift;
        cfg
    }
}

/// Runs `cargo xtask synth`.
pub fn run(args: &SynthArgs) -> anyhow::Result<()> {
    let cfg = args.config();
    let start = Instant::now();
    let manifest = synth::generate(&args.out, &cfg)
        .with_context(|| format!("generating synthetic MIMIC into {}", args.out.display()))?;
    let c = &manifest.counts;
    println!(
        "synth: wrote {} in {:.1} s: {} patients ({} orphan subjects), {} admissions, {} lab events, {} CXR rows ({} JPEGs), {} CheXpert rows, {} ECGs; stage 1 should keep {} admissions ({} planted edge-case admissions, see {})",
        args.out.display(),
        start.elapsed().as_secs_f64(),
        c.patients,
        c.orphans,
        c.admissions,
        c.labevents,
        c.cxr_rows,
        c.cxr_jpgs,
        c.chexpert_rows,
        c.ecgs,
        c.expected_survivors,
        c.planted_admissions,
        synth::MANIFEST,
    );
    Ok(())
}
