//! Events of one table grouped by subject and sorted by (time, file order),
//! so an admission's window is two binary searches. The CXR images and the
//! ECG records of stage 1 are both kept this way; the rule of which end of
//! the window is open is the caller's.

use std::collections::HashMap;

use recipe::Window;

/// Which ends of a window are included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bounds {
    /// `lo < Δ ≤ hi` (the CXR rule).
    OpenClosed,
    /// `lo ≤ Δ ≤ hi` (the ECG and lab rule).
    Closed,
}

/// Rows of a table by subject, each subject's rows in (time, file order).
#[derive(Debug, Default)]
pub(crate) struct TimeIndex {
    /// Row numbers, sorted by (subject, time, row).
    order: Vec<u32>,
    /// `time[k]` of `order[k]`, seconds.
    times: Vec<i64>,
    /// Range of `order` per subject.
    by_subject: HashMap<i64, (u32, u32)>,
}

impl TimeIndex {
    /// Indexes the rows that have a time (`time(row)` is `None` for a row
    /// without one: NaT in the reference, never inside a window).
    pub fn new(subject: &[i64], time: impl Fn(usize) -> Option<i64>) -> Self {
        let mut rows: Vec<(i64, i64, u32)> =
            (0..subject.len()).filter_map(|r| time(r).map(|t| (subject[r], t, r as u32))).collect();
        rows.sort_unstable();
        let mut by_subject = HashMap::new();
        let mut start = 0;
        while start < rows.len() {
            let s = rows[start].0;
            let end = start + rows[start..].partition_point(|x| x.0 == s);
            by_subject.insert(s, (start as u32, end as u32));
            start = end;
        }
        Self { order: rows.iter().map(|x| x.2).collect(), times: rows.iter().map(|x| x.1).collect(), by_subject }
    }

    /// Rows of `subject` with `Δ = time − admit` in `window`, in (time, file order).
    pub fn window(&self, subject: i64, admit: i64, window: Window, bounds: Bounds) -> &[u32] {
        let Some(&(s, e)) = self.by_subject.get(&subject) else { return &[] };
        let (s, e) = (s as usize, e as usize);
        let times = &self.times[s..e];
        let (lo, hi) = (admit + window.lo, admit + window.hi);
        let first = match bounds {
            Bounds::OpenClosed => times.partition_point(|&t| t <= lo),
            Bounds::Closed => times.partition_point(|&t| t < lo),
        };
        let end = times.partition_point(|&t| t <= hi);
        &self.order[s + first..s + end.max(first)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_follow_their_bounds_and_keep_file_order_on_ties() {
        let subject = [1, 1, 1, 1, 2, 1];
        let times = [Some(100), Some(50), None, Some(100), Some(60), Some(150)];
        let idx = TimeIndex::new(&subject, |r| times[r]);
        let w = Window { lo: 50, hi: 100 };
        assert_eq!(idx.window(1, 0, w, Bounds::OpenClosed), [0, 3]);
        assert_eq!(idx.window(1, 0, w, Bounds::Closed), [1, 0, 3]);
        assert_eq!(idx.window(1, 50, w, Bounds::Closed), [0, 3, 5]);
        assert_eq!(idx.window(2, 0, w, Bounds::Closed), [4]);
        assert!(idx.window(3, 0, w, Bounds::Closed).is_empty());
        assert!(idx.window(1, 1000, w, Bounds::Closed).is_empty());
    }
}
