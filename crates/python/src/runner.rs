//! Running a command in-process without holding the GIL, while the calling
//! thread keeps Python responsive.
//!
//! The command runs on a thread of its own. The caller's thread waits for it
//! with the GIL released and wakes every [`TICK`] to do, with the GIL, the two
//! things only it can do:
//! - check Python's pending signals (CPython runs signal handlers only on the
//!   main thread, so the command's worker threads could never see a Ctrl-C):
//!   a `KeyboardInterrupt` sets the flag [`Progress::cancelled`] reports, the
//!   libraries stop within about a second, and the exception is re-raised;
//! - call the Python progress callback with what changed since the last tick,
//!   so Python is called back at most a few times per tick however many rows
//!   the workers finish.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use progress::Progress;
use pyo3::prelude::*;

/// How often the waiting thread checks signals and reports progress.
const TICK: Duration = Duration::from_millis(100);

/// One step a library announced: its name, its unit count if known, the units done.
#[derive(Debug, Clone, PartialEq)]
struct Step {
    name: String,
    total: Option<u64>,
    done: u64,
}

/// The libraries' [`Progress`], recorded for the waiting thread to report.
#[derive(Debug, Default)]
pub struct Recorder {
    steps: Mutex<Vec<Step>>,
    cancel: AtomicBool,
    finished: Mutex<bool>,
    wake: Condvar,
}

impl Progress for Recorder {
    fn start(&self, step: &str, total: Option<u64>) {
        self.lock().push(Step { name: step.to_string(), total, done: 0 });
    }
    fn inc(&self, n: u64) {
        if let Some(s) = self.lock().last_mut() {
            s.done += n;
        }
    }
    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

impl Recorder {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Step>> {
        self.steps.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Marks the command as returned and wakes the waiting thread.
    fn set_finished(&self) {
        *self.finished.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.wake.notify_all();
    }

    /// Waits up to [`TICK`] for the command to return; whether it has.
    fn wait(&self) -> bool {
        let done = self.finished.lock().unwrap_or_else(|e| e.into_inner());
        if *done {
            return true;
        }
        let (done, _) = self.wake.wait_timeout(done, TICK).unwrap_or_else(|e| e.into_inner());
        *done
    }
}

/// Calls `callback(step, done, total)` for every step whose count changed
/// since `reported`, in order (a step that began and ended within one tick
/// is still reported, once, with its final count).
fn report(rec: &Recorder, reported: &mut Vec<Step>, callback: &Bound<'_, PyAny>) -> PyResult<()> {
    let steps = rec.lock().clone();
    for (i, step) in steps.iter().enumerate() {
        if reported.get(i) != Some(step) {
            callback.call1((step.name.as_str(), step.done, step.total))?;
            if i < reported.len() {
                reported[i] = step.clone();
            } else {
                reported.push(step.clone());
            }
        }
    }
    Ok(())
}

/// Runs `work` on a thread of its own with the GIL released, reporting to
/// `callback` and turning Ctrl-C into cancellation. An exception from the
/// callback or a `KeyboardInterrupt` cancels the work, waits for it to stop
/// and is raised; otherwise the work's own result is returned.
pub fn run<T: Send>(
    py: Python<'_>,
    callback: Option<&Bound<'_, PyAny>>,
    work: impl FnOnce(&Recorder) -> T + Send,
) -> PyResult<T> {
    let rec = Recorder::default();
    let mut reported = Vec::new();
    let mut raised: Option<PyErr> = None;
    let result = std::thread::scope(|s| {
        let rec = &rec;
        let handle = s.spawn(move || {
            // Marks the end even when `work` panics, so the wait below ends.
            struct Finish<'a>(&'a Recorder);
            impl Drop for Finish<'_> {
                fn drop(&mut self) {
                    self.0.set_finished();
                }
            }
            let _finish = Finish(rec);
            work(rec)
        });
        loop {
            let finished = py.detach(|| rec.wait());
            if let Err(e) = py.check_signals() {
                rec.cancel.store(true, Ordering::Relaxed);
                raised.get_or_insert(e);
            }
            if let (Some(cb), None) = (callback, &raised)
                && let Err(e) = report(rec, &mut reported, cb)
            {
                rec.cancel.store(true, Ordering::Relaxed);
                raised = Some(e);
            }
            if finished {
                break;
            }
        }
        py.detach(|| handle.join())
    });
    if let Some(e) = raised {
        return Err(e);
    }
    match result {
        Ok(value) => Ok(value),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown cause".to_string());
            Err(pyo3::exceptions::PyRuntimeError::new_err(format!("symile-mimic panicked: {what}")))
        }
    }
}
