//! `indicatif` progress bars behind the libraries' [`Progress`] trait.

use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use progress::Progress;

/// One bar at a time, redrawn for each step a library starts.
#[derive(Debug)]
pub struct Bars {
    quiet: bool,
    bar: Mutex<Option<ProgressBar>>,
}

impl Bars {
    /// Bars on stderr, or none when `quiet` (or stderr is not a terminal,
    /// which indicatif detects itself).
    pub fn new(quiet: bool) -> Self {
        Self { quiet, bar: Mutex::new(None) }
    }
}

impl Progress for Bars {
    fn start(&self, step: &str, total: Option<u64>) {
        let bar = if self.quiet {
            ProgressBar::with_draw_target(total, ProgressDrawTarget::hidden())
        } else {
            match total {
                Some(n) => ProgressBar::new(n).with_style(
                    ProgressStyle::with_template(
                        "{prefix:>14} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} ({per_sec}, ETA {eta})",
                    )
                    .expect("static template is valid"),
                ),
                None => ProgressBar::new_spinner().with_style(
                    ProgressStyle::with_template("{prefix:>14} [{elapsed_precise}] {spinner} {human_pos} ({per_sec})")
                        .expect("static template is valid"),
                ),
            }
        };
        bar.set_prefix(step.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        if let Some(old) = self.bar.lock().expect("progress lock").replace(bar) {
            old.finish_and_clear();
        }
    }

    fn inc(&self, n: u64) {
        if let Some(bar) = self.bar.lock().expect("progress lock").as_ref() {
            bar.inc(n);
        }
    }

    fn finish(&self) {
        if let Some(bar) = self.bar.lock().expect("progress lock").take() {
            bar.finish_and_clear();
        }
    }

    fn cancelled(&self) -> bool {
        crate::signals::received().is_some()
    }
}
