//! Writing the splits' tensors, streamed and in parallel, the splits
//! together (their tasks merged, see [`write_splits`]).
//!
//! Every tensor's shape is known from the plan, so each file is created with
//! its header and full size up front and every row's bytes go to their place
//! from whichever worker produced them: peak memory is one decoded image per
//! worker, a few chunks per file and a bounded set of rows to copy, never
//! proportional to the rows. The
//! work units, in the order of the rows they write, are the CXR groups and
//! the ECG groups of the plan (each distinct image / record decoded once)
//! and the copies of a group's first row to its later rows, run together on
//! the rayon pool; the position of a row's bytes never depends on
//! scheduling, so output is byte-identical for any thread count.
//!
//! Files are returned unfinished (still temporary): [`crate::run`] puts all of
//! them in place only when every split has succeeded.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use dataset_layout::{Dims, Tensor};
use progress::Progress;
use tensor_store::{TensorFile, WriteOptions};

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

/// Which of a split's two large tensors a task writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Part {
    Cxr,
    Ecg,
}

/// One unit of parallel work.
#[derive(Debug, Clone, Copy)]
enum Task {
    /// Decode group `g`'s image or record and write its rows: all of them
    /// when their bytes differ (train crops), else only the first.
    Group(Part, usize),
    /// Row `to` holds the same bytes as row `from`, the first row of its
    /// group: written again from memory (see [`CopySources`]) or read back.
    Copy { part: Part, from: u32, to: u32 },
}

impl Task {
    fn part(&self) -> Part {
        match *self {
            Task::Group(part, _) | Task::Copy { part, .. } => part,
        }
    }
}

/// The tasks of a split in the order of the rows they write: a file is
/// assembled in order in memory, hashed and written in large chunks
/// (`tensor_store`'s streams), and rows ahead of its position wait there.
/// A group whose rows all hold the same bytes
/// (an ECG record; an image with its centre crop) is decoded once for its
/// first row; each later row is a [`Task::Copy`] at its own place in the
/// order. Writing each group's rows at once, as the reference's loop
/// order would suggest, fills a retrieval split's files all over (an
/// image is a query's answer and other queries' negatives), and most rows
/// would be held ahead.
fn tasks(plan: &SplitPlan) -> Vec<(u32, Task)> {
    let mut tasks = Vec::with_capacity(2 * plan.rows);
    let mut add = |part: Part, groups: &[Group], uniform: bool| {
        for (g, grp) in groups.iter().enumerate() {
            tasks.push((grp.rows[0], Task::Group(part, g)));
            if uniform {
                let from = grp.rows[0];
                tasks.extend(grp.rows[1..].iter().map(|&to| (to, Task::Copy { part, from, to })));
            }
        }
    };
    add(Part::Cxr, &plan.cxr_groups, plan.crops.is_none());
    add(Part::Ecg, &plan.ecg_groups, true);
    tasks.sort_by_key(|&(row, task)| (row, task.part() == Part::Ecg));
    tasks
}

/// Little-endian bytes of `src` into `dst` (`dst.len() == 4 * src.len()`).
pub(crate) fn f32_le(src: &[f32], dst: &mut [u8]) {
    for (d, s) in dst.chunks_exact_mut(4).zip(src) {
        d.copy_from_slice(&s.to_le_bytes());
    }
}

/// `src` as little-endian bytes, in memory the row's file and its copies
/// share (handed to the file without a copy).
fn le_bytes(src: &[f32]) -> Arc<[u8]> {
    let mut bytes: Arc<[u8]> = std::iter::repeat_n(0u8, 4 * src.len()).collect();
    f32_le(src, Arc::get_mut(&mut bytes).expect("not shared yet"));
    bytes
}

fn i64_le(src: &[i64], dst: &mut Vec<u8>) {
    dst.clear();
    for v in src {
        dst.extend_from_slice(&v.to_le_bytes());
    }
}

/// Memory for the rows that later rows copy (see [`CopySources`]): all of a
/// retrieval split's distinct images at the scale of the published dataset
/// would be over a gigabyte.
const COPY_SOURCES_BUDGET: usize = 256 << 20;

/// The first rows of groups whose later rows are copies, kept in memory
/// from their writing to their last copy while they fit in
/// [`COPY_SOURCES_BUDGET`]; a copy of a row not kept reads it back from
/// its file (from disk: the files are written with direct I/O, they are
/// not in the page cache).
struct CopySources {
    kept: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    /// Bytes held.
    bytes: usize,
    /// Each kept row, by split (its place among those written together),
    /// part and row.
    rows: HashMap<(usize, Part, u32), Source>,
}

/// A kept row's bytes and the copies still to make of it.
struct Source {
    bytes: Arc<[u8]>,
    copies_left: usize,
}

impl CopySources {
    fn new() -> Self {
        Self { kept: Mutex::new(Kept::default()) }
    }

    /// Keeps `bytes`, row `row` of `part` of split `split`, for its `copies`
    /// later copies.
    fn keep(&self, split: usize, part: Part, row: u32, bytes: &Arc<[u8]>, copies: usize) {
        let mut kept = self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if copies > 0 && kept.bytes + bytes.len() <= COPY_SOURCES_BUDGET {
            kept.bytes += bytes.len();
            kept.rows.insert((split, part, row), Source { bytes: Arc::clone(bytes), copies_left: copies });
        }
    }

    /// Row `row` of `part` of split `split` if it is kept, for one of its copies (forgotten
    /// after the last).
    fn take(&self, split: usize, part: Part, row: u32) -> Option<Arc<[u8]>> {
        let mut kept = self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let source = kept.rows.get_mut(&(split, part, row))?;
        let bytes = Arc::clone(&source.bytes);
        source.copies_left -= 1;
        if source.copies_left == 0 {
            kept.rows.remove(&(split, part, row));
            kept.bytes -= bytes.len();
        }
        Some(bytes)
    }
}

/// A task's outcome, once it has run (an ECG task says whether its record
/// normalised to NaN).
type TaskResult = OnceLock<Result<Option<BadEcg>, TensorsError>>;

/// A split to write: its plan, its directory and its dimensions.
pub(crate) struct SplitJob<'a> {
    pub plan: &'a SplitPlan,
    pub dir: &'a Path,
    pub dims: Dims,
}

/// A split's open files and the state of its rows while it is written.
struct Open<'a> {
    plan: &'a SplitPlan,
    files: Vec<TensorFile>,
    /// Per row: how many of its CXR and ECG are written (done at 2).
    parts_done: Vec<AtomicU8>,
    /// Rows done, for the progress of a split written beside the first.
    rows_done: AtomicU64,
}

impl Open<'_> {
    fn file(&self, t: Tensor) -> &TensorFile {
        let split = self.plan.name;
        &self.files[split.tensors().iter().position(|&x| x == t).expect("the split has this tensor")]
    }

    fn part_file(&self, part: Part) -> &TensorFile {
        match part {
            Part::Cxr => self.file(Tensor::Cxr),
            Part::Ecg => self.file(Tensor::Ecg),
        }
    }
}

/// The tasks of several splits merged into one order, each split's in its
/// own order and all advancing together: every split's files are filled at
/// the same pace, so their gathering threads (each the copying and hashing
/// of one file, one core's work at a time) run side by side.
fn merged(tasks: &[Vec<(u32, Task)>]) -> Vec<(usize, usize)> {
    let mut order: Vec<(usize, usize)> =
        tasks.iter().enumerate().flat_map(|(j, t)| (0..t.len()).map(move |i| (j, i))).collect();
    // Task i of n sits at (2i + 1) / 2n of its split; ties go to the earlier split.
    order.sort_by(|&(ja, ia), &(jb, ib)| {
        let (na, nb) = (tasks[ja].len() as u128, tasks[jb].len() as u128);
        ((2 * ia as u128 + 1) * nb).cmp(&((2 * ib as u128 + 1) * na)).then(ja.cmp(&jb))
    });
    order
}

/// Writes every tensor of each job's plan into its directory, the splits'
/// rows together (see [`merged`]); returns each split's unfinished files (in
/// [`Split::tensors`] order) and its report (without `files`, filled in on
/// commit), in the jobs' order. `options` say whether each file's SHA-256 is
/// computed as it is written and which buffers the files share. Progress is
/// one step per split, the first live, the others reported when it ends.
pub(crate) fn write_splits(
    jobs: &[SplitJob<'_>],
    cfg: &TensorsConfig,
    options: &WriteOptions,
    progress: &dyn Progress,
) -> Result<Vec<(Vec<TensorFile>, SplitReport)>, TensorsError> {
    let started = Instant::now();
    let format = cfg.recipe.tensors.format;
    let mut open = Vec::with_capacity(jobs.len());
    for job in jobs {
        let (plan, n, split) = (job.plan, job.plan.rows, job.plan.name);
        let files: Vec<TensorFile> = split
            .tensors()
            .iter()
            .map(|t| TensorFile::create_with(job.dir, t.spec(split, n, &job.dims), format, options))
            .collect::<Result<_, _>>()?;
        let o =
            Open { plan, files, parts_done: (0..n).map(|_| AtomicU8::new(0)).collect(), rows_done: AtomicU64::new(0) };
        write_small(&o, job.dims.labs)?;
        open.push(o);
    }
    if let Some(first) = open.first() {
        progress.start(first.plan.name.name(), Some(first.plan.rows as u64));
    }
    // A row is done when both its CXR and its ECG are written.
    let mark_done = |j: usize, rows: &[u32]| {
        let o: &Open = &open[j];
        let finished =
            rows.iter().filter(|&&r| o.parts_done[r as usize].fetch_add(1, Ordering::Relaxed) == 1).count() as u64;
        if finished > 0 {
            o.rows_done.fetch_add(finished, Ordering::Relaxed);
            if j == 0 {
                progress.inc(finished);
            }
        }
    };

    let split_tasks: Vec<Vec<(u32, Task)>> = open.iter().map(|o| tasks(o.plan)).collect();
    let order = merged(&split_tasks);
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Vec<Vec<TaskResult>> =
        split_tasks.iter().map(|t| t.iter().map(|_| OnceLock::new()).collect()).collect();
    let sources = CopySources::new();
    let run = |j: usize, task: Task| -> Result<Option<BadEcg>, TensorsError> {
        if progress.cancelled() {
            return Err(TensorsError::Cancelled);
        }
        let o = &open[j];
        let plan = o.plan;
        match task {
            Task::Group(Part::Cxr, g) => {
                let rows = write_cxr_group(plan, g, cfg, o.part_file(Part::Cxr), &sources, j)?;
                mark_done(j, rows);
                Ok(None)
            }
            Task::Group(Part::Ecg, g) => {
                let bad = write_ecg_group(plan, &plan.ecg_groups[g], o.part_file(Part::Ecg), &sources, j)?;
                mark_done(j, &plan.ecg_groups[g].rows[..1]);
                Ok(bad)
            }
            Task::Copy { part, from, to } => {
                let file = o.part_file(part);
                match sources.take(j, part, from) {
                    Some(bytes) => file.write_row_shared(to as usize, bytes)?,
                    None => {
                        let mut row = vec![0u8; file.row_bytes()];
                        file.read_row(from as usize, &mut row)?;
                        file.write_row_owned(to as usize, row)?;
                    }
                }
                mark_done(j, &[to]);
                Ok(None)
            }
        }
    };
    rayon::scope(|scope| {
        for _ in 0..rayon::current_num_threads() {
            scope.spawn(|_| {
                // Copies whose first row another worker is still decoding:
                // done as soon as it is written, meanwhile the next tasks.
                let mut waiting: Vec<usize> = Vec::new();
                let mut exhausted = false;
                let task = |k: usize| {
                    let (j, i) = order[k];
                    (j, i, split_tasks[j][i].1)
                };
                let ready = |k: usize| match task(k) {
                    (j, _, Task::Copy { part, from, .. }) => open[j].part_file(part).row_is_final(from as usize),
                    (_, _, Task::Group(..)) => true,
                };
                loop {
                    if failed.load(Ordering::Relaxed) {
                        break;
                    }
                    let k = match waiting.iter().position(|&k| ready(k)) {
                        Some(w) => waiting.swap_remove(w),
                        None if exhausted => {
                            if waiting.is_empty() {
                                break;
                            }
                            // Another worker is decoding the row these copy
                            // (tens of ms for a full-size image): leave the
                            // core to it and to the hashing meanwhile.
                            std::thread::sleep(std::time::Duration::from_micros(200));
                            continue;
                        }
                        None => {
                            let k = next.fetch_add(1, Ordering::Relaxed);
                            if k >= order.len() {
                                exhausted = true;
                                continue;
                            }
                            if !ready(k) {
                                waiting.push(k);
                                continue;
                            }
                            k
                        }
                    };
                    let (j, i, t) = task(k);
                    let r = run(j, t);
                    failed.fetch_or(r.is_err(), Ordering::Relaxed);
                    let _ = results[j][i].set(r);
                }
            });
        }
    });
    // Every kept row was taken by each of its copies (a row kept after its
    // first copy had run would stay held, and crowd out later ones).
    debug_assert!(
        failed.load(Ordering::Relaxed) || sources.kept.lock().map(|k| k.bytes).unwrap_or(0) == 0,
        "rows kept for copies never made"
    );
    let seconds = started.elapsed().as_secs_f64();
    let mut written = Vec::with_capacity(open.len());
    for (j, (o, results)) in open.into_iter().zip(results).enumerate() {
        if j > 0 {
            progress.start(o.plan.name.name(), Some(o.plan.rows as u64));
            progress.inc(o.rows_done.load(Ordering::Relaxed));
        }
        let mut report = split_outcome(o.plan, &split_tasks[j], results, &failed, cfg, seconds)?;
        report.written_with =
            jobs.iter().filter(|w| w.plan.name != o.plan.name).map(|w| w.plan.name.to_string()).collect();
        progress.finish();
        written.push((o.files, report));
    }
    Ok(written)
}

/// Writes a split's small per-row tensors, straight from the plan.
fn write_small(o: &Open<'_>, n_labs: usize) -> Result<(), TensorsError> {
    let plan = o.plan;
    let (pct, obs, hadm) = (o.file(Tensor::LabsPercentiles), o.file(Tensor::LabsMissingness), o.file(Tensor::HadmId));
    let labels = plan.name.has_labels().then(|| (o.file(Tensor::LabelHadmId), o.file(Tensor::Label)));
    let mut buf = Vec::with_capacity(n_labs * 8);
    for r in 0..plan.rows {
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
    Ok(())
}

/// A split's report from its tasks' results: the first failure in task
/// order (deterministic whatever the threads did), the ECG records that
/// normalise to NaN (an error when strict).
fn split_outcome(
    plan: &SplitPlan,
    tasks: &[(u32, Task)],
    results: Vec<TaskResult>,
    failed: &AtomicBool,
    cfg: &TensorsConfig,
    seconds: f64,
) -> Result<SplitReport, TensorsError> {
    let split = plan.name;
    let mut ecg_outcomes: Vec<Option<BadEcg>> = vec![None; plan.ecg_groups.len()];
    for ((_, task), r) in tasks.iter().zip(results) {
        match (task, r.into_inner()) {
            (_, Some(Err(e))) => return Err(e),
            (Task::Group(Part::Ecg, g), Some(Ok(bad))) => ecg_outcomes[*g] = bad,
            (_, Some(Ok(_))) => {}
            (_, None) if failed.load(Ordering::Relaxed) => continue,
            (_, None) => return Err(TensorsError::Internal("a write task did not run".into())),
        }
    }

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
    Ok(SplitReport {
        split: split.to_string(),
        rows: plan.rows,
        unique_images: plan.cxr_groups.len(),
        unique_ecgs: plan.ecg_groups.len(),
        ecg_shape: plan.ecg_shape,
        flat_ecg_records: flat,
        nan_ecg_records: nan,
        nan_ecg_rows: nan_rows,
        files: Vec::new(),
        seconds,
        written_with: Vec::new(),
    })
}

/// Decodes and resizes one image, then writes its crop to the rows using
/// it: each row its own crop when the split has drawn crops (train), else
/// the first row only (the others are copies of it, see [`tasks`], kept
/// for them in `sources` under `split`, the split's place among those
/// written together).
/// Returns the rows written.
fn write_cxr_group<'p>(
    plan: &'p SplitPlan,
    gi: usize,
    cfg: &TensorsConfig,
    file: &TensorFile,
    sources: &CopySources,
    split: usize,
) -> Result<&'p [u32], TensorsError> {
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
    let rows = if plan.crops.is_some() { &g.rows[..] } else { &g.rows[..1] };
    // The last crop made, and its bytes (rows with the same crop share them).
    let mut last: Option<(u32, u32)> = None;
    let mut last_bytes: Arc<[u8]> = Arc::from([]);
    for &r in rows {
        let offsets = match &plan.crops {
            Some(crops) => crops[r as usize],
            None => center,
        };
        if last != Some(offsets) {
            cxr_prep::write_normalized(&img, offsets.0, offsets.1, crop, &mut floats);
            last_bytes = le_bytes(&floats);
            last = Some(offsets);
        }
        let bytes = Arc::clone(&last_bytes);
        if plan.crops.is_none() {
            // Kept before the row is written: its copies may start as soon as it is.
            sources.keep(split, Part::Cxr, r, &bytes, g.rows.len() - 1);
        }
        file.write_row_shared(r as usize, bytes)?;
    }
    Ok(rows)
}

/// Reads and normalises one ECG record, then writes it to the first row
/// using it (the others are copies of it, see [`tasks`], kept for them in
/// `sources` under `split`).
fn write_ecg_group(
    plan: &SplitPlan,
    g: &Group,
    file: &TensorFile,
    sources: &CopySources,
    split: usize,
) -> Result<Option<BadEcg>, TensorsError> {
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
    let bytes = le_bytes(&floats);
    // Kept before the row is written: its copies may start as soon as it is.
    sources.keep(split, Part::Ecg, g.rows[0], &bytes, g.rows.len() - 1);
    file.write_row_shared(g.rows[0] as usize, bytes)?;
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

    /// A plan with the given CXR and ECG group rows (everything else empty).
    fn plan(split: dataset_layout::Split, cxr: &[&[u32]], ecg: &[&[u32]], crops: bool) -> SplitPlan {
        let rows = cxr.iter().map(|g| g.len()).sum();
        let groups = |gs: &[&[u32]]| {
            gs.iter()
                .enumerate()
                .map(|(i, rows)| Group {
                    rel: format!("g{i}"),
                    path: format!("/g{i}").into(),
                    line: rows[0] as u64 + 2,
                    rows: rows.to_vec(),
                })
                .collect()
        };
        SplitPlan {
            name: split,
            csv: "split.csv".into(),
            rows,
            hadm_id: vec![0; rows],
            label_hadm_id: Vec::new(),
            label: Vec::new(),
            labs_percentiles: Vec::new(),
            labs_missingness: Vec::new(),
            cxr_groups: groups(cxr),
            ecg_groups: groups(ecg),
            crops: crops.then(|| vec![(0, 0); rows]),
            resized: Vec::new(),
            ecg_shape: (1, 1),
        }
    }

    /// `(row, kind)` of each task: `C3` decodes CXR group 3, `c0>5` copies
    /// CXR row 0 to row 5; `E`/`e` the same for ECG.
    fn summary(tasks: &[(u32, Task)]) -> Vec<String> {
        tasks
            .iter()
            .map(|&(row, t)| match t {
                Task::Group(Part::Cxr, g) => format!("{row}:C{g}"),
                Task::Group(Part::Ecg, g) => format!("{row}:E{g}"),
                Task::Copy { part: Part::Cxr, from, to } => format!("{row}:c{from}>{to}"),
                Task::Copy { part: Part::Ecg, from, to } => format!("{row}:e{from}>{to}"),
            })
            .collect()
    }

    #[test]
    fn a_retrieval_split_is_written_in_row_order_each_image_decoded_once() {
        // Rows 0-2 query admission A (its image is also row 4's negative), 3-5 B.
        let p = plan(dataset_layout::Split::Test, &[&[0, 4], &[1, 3], &[2, 5]], &[&[0, 5], &[1, 2, 3, 4]], false);
        let t = tasks(&p);
        assert_eq!(
            summary(&t),
            [
                "0:C0", "0:E0", "1:C1", "1:E1", "2:C2", "2:e1>2", "3:c1>3", "3:e1>3", "4:c0>4", "4:e1>4", "5:c2>5",
                "5:e0>5"
            ]
        );
        // Every row of both tensors is written exactly once, and each copy
        // reads a row that an earlier task writes.
        for part in [Part::Cxr, Part::Ecg] {
            let mut written = vec![0; p.rows];
            for (i, &(row, task)) in t.iter().enumerate().filter(|(_, (_, task))| task.part() == part) {
                written[row as usize] += 1;
                if let Task::Copy { from, to, .. } = task {
                    assert_eq!(to, row);
                    assert!(
                        t[..i].iter().any(|&(r, task)| r == from && matches!(task, Task::Group(q, _) if q == part))
                    );
                }
            }
            assert_eq!(written, vec![1; p.rows], "{part:?}");
        }
    }

    #[test]
    fn splits_written_together_advance_at_the_same_pace() {
        let t = |n: usize| -> Vec<(u32, Task)> { (0..n as u32).map(|r| (r, Task::Group(Part::Cxr, 0))).collect() };
        let order = merged(&[t(6), t(3), t(0)]);
        assert_eq!(order, [(0, 0), (1, 0), (0, 1), (0, 2), (1, 1), (0, 3), (0, 4), (1, 2), (0, 5)]);
        assert_eq!(merged(&[t(2)]), [(0, 0), (0, 1)], "one split keeps its order");
    }

    #[test]
    fn copy_sources_are_kept_until_their_last_copy_within_the_budget() {
        let s = CopySources::new();
        s.keep(0, Part::Cxr, 0, &Arc::from([1, 2, 3]), 2);
        s.keep(0, Part::Ecg, 0, &Arc::from([4]), 1);
        s.keep(1, Part::Cxr, 0, &Arc::from([6]), 1);
        s.keep(0, Part::Cxr, 7, &Arc::from([5]), 0);
        s.keep(0, Part::Cxr, 9, &Arc::from(vec![0; COPY_SOURCES_BUDGET]), 1);
        assert_eq!(s.take(0, Part::Cxr, 0).as_deref(), Some(&[1u8, 2, 3][..]));
        assert_eq!(s.take(0, Part::Ecg, 0).as_deref(), Some(&[4u8][..]));
        assert_eq!(s.take(0, Part::Ecg, 0), None, "forgotten after its only copy");
        assert_eq!(s.take(1, Part::Cxr, 0).as_deref(), Some(&[6u8][..]), "each split's rows are its own");
        assert_eq!(s.take(0, Part::Cxr, 7), None, "a row without copies is not kept");
        assert_eq!(s.take(0, Part::Cxr, 9), None, "over the budget: read back instead");
        assert_eq!(s.take(0, Part::Cxr, 0).as_deref(), Some(&[1u8, 2, 3][..]));
        assert_eq!(s.take(0, Part::Cxr, 0), None);
        assert_eq!(s.kept.lock().unwrap().bytes, 0, "nothing is held once every copy is made");
    }

    #[test]
    fn train_crops_are_drawn_per_row_so_its_images_are_not_copied() {
        let p = plan(dataset_layout::Split::Train, &[&[0, 2], &[1]], &[&[0], &[1], &[2]], true);
        assert_eq!(summary(&tasks(&p)), ["0:C0", "0:E0", "1:C1", "1:E1", "2:E2"]);
    }
}
