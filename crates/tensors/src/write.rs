//! Writing one split's tensors, streamed and in parallel.
//!
//! Every tensor's shape is known from the plan, so each file is created with
//! its header and full size up front and every row's bytes go straight to
//! their slot from whichever worker produced them: peak memory is one decoded
//! image plus one row per worker thread, never proportional to the rows. The
//! work units are the CXR groups and the ECG groups of the plan (each distinct
//! image / record once), run together on the rayon pool; the position of a
//! row's bytes never depends on scheduling, so output is byte-identical for
//! any thread count.
//!
//! Files are returned unfinished (still temporary): [`crate::run`] puts all of
//! them in place only when every split has succeeded.

use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::time::Instant;

use dataset_layout::{Dims, Tensor};
use progress::Progress;
use tensor_store::TensorFile;

use crate::TensorsConfig;
use crate::error::TensorsError;
use crate::plan::{Group, SplitPlan};
use crate::report::SplitReport;

/// Why an ECG record's normalised rows are NaN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BadEcg {
    Flat,
    Nan,
}

/// One unit of parallel work.
#[derive(Debug, Clone, Copy)]
enum Task {
    Cxr(usize),
    Ecg(usize),
}

/// Little-endian bytes of `src` into `dst` (`dst.len() == 4 * src.len()`).
pub(crate) fn f32_le(src: &[f32], dst: &mut [u8]) {
    for (d, s) in dst.chunks_exact_mut(4).zip(src) {
        d.copy_from_slice(&s.to_le_bytes());
    }
}

fn i64_le(src: &[i64], dst: &mut Vec<u8>) {
    dst.clear();
    for v in src {
        dst.extend_from_slice(&v.to_le_bytes());
    }
}

/// Writes every tensor of `plan` into `dir`; returns the unfinished files
/// (in [`Split::tensors`] order) and the split's report (without `files`,
/// filled in on commit). `register` is handed the files as soon as they are
/// created, before any row is written (the hasher follows them).
pub(crate) fn write_split(
    plan: &SplitPlan,
    dir: &Path,
    dims: &Dims,
    cfg: &TensorsConfig,
    progress: &dyn Progress,
    register: &dyn Fn(&[TensorFile]) -> Result<(), TensorsError>,
) -> Result<(Vec<TensorFile>, SplitReport), TensorsError> {
    let started = Instant::now();
    let n = plan.rows;
    let split = plan.name;
    let n_labs = dims.labs;
    let files: Vec<TensorFile> = split
        .tensors()
        .iter()
        .map(|t| TensorFile::create(dir, t.spec(split, n, dims), cfg.recipe.tensors.format))
        .collect::<Result<_, _>>()?;
    register(&files)?;
    let file = |t: Tensor| &files[split.tensors().iter().position(|&x| x == t).expect("the split has this tensor")];
    let (cxr, ecg, pct, obs, hadm) = (
        file(Tensor::Cxr),
        file(Tensor::Ecg),
        file(Tensor::LabsPercentiles),
        file(Tensor::LabsMissingness),
        file(Tensor::HadmId),
    );
    let labels = split.has_labels().then(|| (file(Tensor::LabelHadmId), file(Tensor::Label)));

    progress.start(split.name(), Some(n as u64));

    // Small per-row tensors: straight from the plan.
    let mut buf = Vec::with_capacity(n_labs * 8);
    for r in 0..n {
        let labs = r * n_labs..(r + 1) * n_labs;
        buf.resize(n_labs * 4, 0);
        f32_le(&plan.labs_percentiles[labs.clone()], &mut buf);
        pct.write_row(r, &buf)?;
        i64_le(&plan.labs_missingness[labs], &mut buf);
        obs.write_row(r, &buf)?;
        hadm.write_row(r, &plan.hadm_id[r].to_le_bytes())?;
        if let Some((label_hadm, label)) = labels {
            label_hadm.write_row(r, &plan.label_hadm_id[r].to_le_bytes())?;
            label.write_row(r, &plan.label[r].to_le_bytes())?;
        }
    }

    // A row is done when both its CXR and its ECG are written.
    let parts_done: Vec<AtomicU8> = (0..n).map(|_| AtomicU8::new(0)).collect();
    let mark_done = |rows: &[u32]| {
        let finished = rows.iter().filter(|&&r| parts_done[r as usize].fetch_add(1, Ordering::Relaxed) == 1).count();
        if finished > 0 {
            progress.inc(finished as u64);
        }
    };

    // Tasks in the order of their first row, taken in that order by every
    // worker (not split into ranges per worker, as a parallel iterator
    // would): the rows are then written from the start of each file on, so
    // the hasher that follows the writers keeps up (see `checksums`).
    let mut tasks: Vec<(u32, Task)> = plan
        .cxr_groups
        .iter()
        .enumerate()
        .map(|(g, grp)| (grp.rows[0], Task::Cxr(g)))
        .chain(plan.ecg_groups.iter().enumerate().map(|(g, grp)| (grp.rows[0], Task::Ecg(g))))
        .collect();
    tasks.sort_by_key(|&(first, task)| (first, matches!(task, Task::Ecg(_))));
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Vec<OnceLock<Result<Option<BadEcg>, TensorsError>>> = tasks.iter().map(|_| OnceLock::new()).collect();
    let run = |task: Task| -> Result<Option<BadEcg>, TensorsError> {
        if progress.cancelled() {
            return Err(TensorsError::Cancelled);
        }
        match task {
            Task::Cxr(g) => {
                write_cxr_group(plan, g, cfg, cxr)?;
                mark_done(&plan.cxr_groups[g].rows);
                Ok(None)
            }
            Task::Ecg(g) => {
                let bad = write_ecg_group(plan, &plan.ecg_groups[g], ecg)?;
                mark_done(&plan.ecg_groups[g].rows);
                Ok(bad)
            }
        }
    };
    rayon::scope(|scope| {
        for _ in 0..rayon::current_num_threads() {
            scope.spawn(|_| {
                while !failed.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(_, task)) = tasks.get(i) else { break };
                    let r = run(task);
                    failed.fetch_or(r.is_err(), Ordering::Relaxed);
                    let _ = results[i].set(r);
                }
            });
        }
    });
    // The first failure in task order (deterministic whatever the threads did).
    let mut ecg_outcomes: Vec<Option<BadEcg>> = vec![None; plan.ecg_groups.len()];
    for ((_, task), r) in tasks.iter().zip(results) {
        match (task, r.into_inner()) {
            (_, Some(Err(e))) => return Err(e),
            (Task::Ecg(g), Some(Ok(bad))) => ecg_outcomes[*g] = bad,
            (_, Some(Ok(_))) => {}
            (_, None) if failed.load(Ordering::Relaxed) => continue,
            (_, None) => return Err(TensorsError::Internal("a write task did not run".into())),
        }
    }
    progress.finish();

    let (mut flat, mut nan, mut nan_rows) = (Vec::new(), Vec::new(), 0);
    for (g, outcome) in plan.ecg_groups.iter().zip(&ecg_outcomes) {
        match outcome {
            Some(BadEcg::Flat) => flat.push(g.rel.clone()),
            Some(BadEcg::Nan) => nan.push(g.rel.clone()),
            None => continue,
        }
        nan_rows += g.rows.len();
    }
    if !flat.is_empty() || !nan.is_empty() {
        tracing::warn!(split = split.name(), flat = ?flat, nan = ?nan, "ECG records normalise to NaN");
    }
    if cfg.recipe.tensors.strict && (!flat.is_empty() || !nan.is_empty()) {
        let records: Vec<String> = flat.iter().chain(&nan).cloned().collect();
        return Err(TensorsError::BadEcg { table: plan.csv.clone(), count: records.len(), records });
    }

    let report = SplitReport {
        split: split.to_string(),
        rows: n,
        unique_images: plan.cxr_groups.len(),
        unique_ecgs: plan.ecg_groups.len(),
        ecg_shape: plan.ecg_shape,
        flat_ecg_records: flat,
        nan_ecg_records: nan,
        nan_ecg_rows: nan_rows,
        files: Vec::new(),
        seconds: started.elapsed().as_secs_f64(),
    };
    Ok((files, report))
}

/// Decodes and resizes one image, then writes its crop to every row using it.
fn write_cxr_group(plan: &SplitPlan, gi: usize, cfg: &TensorsConfig, file: &TensorFile) -> Result<(), TensorsError> {
    let g = &plan.cxr_groups[gi];
    let prep = cxr_prep::CxrPrep { scale: cfg.recipe.tensors.cxr_scale, crop: cfg.recipe.tensors.cxr_crop };
    let img = prep.load_resized(&g.path).map_err(|source| TensorsError::Cxr {
        table: plan.csv.clone(),
        line: g.line,
        source,
    })?;
    if let Some(&(want_w, want_h)) = plan.resized.get(gi)
        && (img.width, img.height) != (want_w, want_h)
    {
        return Err(TensorsError::CxrSize {
            table: plan.csv.clone(),
            line: g.line,
            path: g.path.clone(),
            got_w: img.width,
            got_h: img.height,
            want_w,
            want_h,
        });
    }
    let crop = cfg.recipe.tensors.cxr_crop;
    if img.width < crop || img.height < crop {
        return Err(TensorsError::Internal(format!(
            "{}: resized image {}x{} is smaller than the crop {crop}",
            g.path.display(),
            img.width,
            img.height
        )));
    }
    let center = cxr_prep::center_crop_offsets(img.width, img.height, crop);
    let len = 3 * crop as usize * crop as usize;
    let mut floats = vec![0f32; len];
    let mut bytes = vec![0u8; 4 * len];
    let mut last: Option<(u32, u32)> = None;
    for &r in &g.rows {
        let offsets = match &plan.crops {
            Some(crops) => crops[r as usize],
            None => center,
        };
        if last != Some(offsets) {
            cxr_prep::write_normalized(&img, offsets.0, offsets.1, crop, &mut floats);
            f32_le(&floats, &mut bytes);
            last = Some(offsets);
        }
        file.write_row(r as usize, &bytes)?;
    }
    Ok(())
}

/// Reads and normalises one ECG record, then writes it to every row using it.
fn write_ecg_group(plan: &SplitPlan, g: &Group, file: &TensorFile) -> Result<Option<BadEcg>, TensorsError> {
    let ecg = ecg_prep::load(&g.path).map_err(|source| TensorsError::Ecg {
        table: plan.csv.clone(),
        line: g.line,
        source: Box::new(source),
    })?;
    let (samples, leads) = plan.ecg_shape;
    if (ecg.samples, ecg.leads) != (samples, leads) {
        return Err(TensorsError::EcgShape {
            table: plan.csv.clone(),
            line: g.line,
            record: g.rel.clone(),
            samples: ecg.samples,
            leads: ecg.leads,
            first: plan.ecg_groups[0].rel.clone(),
            want_samples: samples,
            want_leads: leads,
        });
    }
    let mut floats = vec![0f32; samples * leads];
    let stats = ecg.normalize_into(&mut floats);
    let mut bytes = vec![0u8; 4 * floats.len()];
    f32_le(&floats, &mut bytes);
    for &r in &g.rows {
        file.write_row(r as usize, &bytes)?;
    }
    Ok(if stats.has_nan {
        Some(BadEcg::Nan)
    } else if stats.flat {
        Some(BadEcg::Flat)
    } else {
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn little_endian_conversions() {
        let mut b = vec![0u8; 8];
        f32_le(&[1.0, -0.5], &mut b);
        assert_eq!(b, [0, 0, 0x80, 0x3f, 0, 0, 0, 0xbf]);
        let mut v = vec![9u8];
        i64_le(&[1, -2], &mut v);
        assert_eq!(v, [1, 0, 0, 0, 0, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    }
}
