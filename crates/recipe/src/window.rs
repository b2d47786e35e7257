//! A time window relative to `admittime`, written in hours and held in
//! whole seconds.
//!
//! MIMIC's timestamps have a resolution of one second, and stage 1 compares
//! `event − admittime` with the window's bounds in seconds: a bound that is
//! not a whole number of seconds could not be compared exactly, so it is
//! refused when the recipe is read rather than rounded silently.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeTuple, Serializer};
use serde::{Deserialize, Serialize};

/// Seconds in an hour.
pub const HOUR: i64 = 3600;

/// `[lo, hi]`: bounds of `Δ = event time − admittime`, in seconds. Which
/// ends are included is the rule's (the CXR window excludes `lo`); the
/// window itself only holds the two numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Window {
    /// Lower bound, seconds.
    pub lo: i64,
    /// Upper bound, seconds.
    pub hi: i64,
}

impl Window {
    /// A window of whole hours.
    pub const fn hours(lo: i64, hi: i64) -> Self {
        Self { lo: lo * HOUR, hi: hi * HOUR }
    }

    /// `lo < Δ ≤ hi` (the CXR rule).
    pub fn contains_open_closed(&self, delta_seconds: i64) -> bool {
        self.lo < delta_seconds && delta_seconds <= self.hi
    }

    /// `lo ≤ Δ ≤ hi` (the ECG and lab rule).
    pub fn contains_closed(&self, delta_seconds: i64) -> bool {
        self.lo <= delta_seconds && delta_seconds <= self.hi
    }

    /// `(24 h, 72 h]` or `[-24 h, 24 h]`, for reports and messages.
    pub fn describe(&self, open_lo: bool) -> String {
        format!("{}{}, {}]", if open_lo { "(" } else { "[" }, Hours(self.lo), Hours(self.hi))
    }
}

/// Seconds shown as hours: `24 h`, `1.5 h`, `-0.25 h`.
#[derive(Debug, Clone, Copy)]
pub struct Hours(pub i64);

impl fmt::Display for Hours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} h", HoursValue(self.0))
    }
}

/// The number of hours alone, as a recipe writes it (`24`, `1.5`).
struct HoursValue(i64);

impl fmt::Display for HoursValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 % HOUR == 0 { write!(f, "{}", self.0 / HOUR) } else { write!(f, "{}", self.0 as f64 / HOUR as f64) }
    }
}

/// Whole seconds in `hours` (an integer or a decimal), or why not.
pub fn seconds_of_hours(hours: f64) -> Result<i64, String> {
    if !hours.is_finite() {
        return Err(format!("{hours} is not a number of hours"));
    }
    let s = hours * HOUR as f64;
    let whole = s.round();
    // A decimal written in hours (0.1 h) is not exact in binary; anything
    // within a microsecond of a whole second is that second.
    if (s - whole).abs() > 1e-6 {
        let shown = (s * 1e6).round() / 1e6;
        return Err(format!("{hours} h is {shown} s, not a whole number of seconds"));
    }
    if whole.abs() > 1e15 {
        return Err(format!("{hours} h is out of range"));
    }
    Ok(whole as i64)
}

impl Serialize for Window {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(2)?;
        for v in [self.lo, self.hi] {
            if v % HOUR == 0 {
                t.serialize_element(&(v / HOUR))?;
            } else {
                t.serialize_element(&(v as f64 / HOUR as f64))?;
            }
        }
        t.end()
    }
}

impl<'de> Deserialize<'de> for Window {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Window;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("[lo, hi] in hours (two numbers)")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Window, A::Error> {
                let mut bounds = [0i64; 2];
                for (i, b) in bounds.iter_mut().enumerate() {
                    let h: Number =
                        seq.next_element()?.ok_or_else(|| de::Error::invalid_length(i, &"[lo, hi] in hours"))?;
                    *b = seconds_of_hours(h.0).map_err(de::Error::custom)?;
                }
                if seq.next_element::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom("expected [lo, hi] in hours, found more than two numbers"));
                }
                Ok(Window { lo: bounds[0], hi: bounds[1] })
            }
        }
        d.deserialize_seq(V)
    }
}

/// An integer or a float, as f64.
struct Number(f64);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Number;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number of hours")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Number, E> {
                Ok(Number(v))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_become_whole_seconds() {
        assert_eq!(seconds_of_hours(24.0), Ok(86_400));
        assert_eq!(seconds_of_hours(-0.5), Ok(-1800));
        assert_eq!(seconds_of_hours(0.1), Ok(360));
        assert_eq!(seconds_of_hours(1.0 / 3600.0), Ok(1));
        assert!(seconds_of_hours(0.0001).unwrap_err().contains("not a whole number of seconds"));
        assert!(seconds_of_hours(f64::NAN).is_err());
    }

    #[test]
    fn windows_read_and_write_hours() {
        let w: Window = serde_json::from_str("[24, 72.5]").unwrap();
        assert_eq!(w, Window { lo: 86_400, hi: 72 * 3600 + 1800 });
        assert_eq!(serde_json::to_string(&w).unwrap(), "[24,72.5]");
        assert_eq!(w.describe(true), "(24 h, 72.5 h]");
        assert!(serde_json::from_str::<Window>("[1, 2, 3]").unwrap_err().to_string().contains("more than two"));
        assert!(serde_json::from_str::<Window>("[1]").is_err());
        assert!(serde_json::from_str::<Window>("\"24,72\"").unwrap_err().to_string().contains("[lo, hi] in hours"));
        assert!(Window::hours(24, 72).contains_open_closed(72 * 3600));
        assert!(!Window::hours(24, 72).contains_open_closed(24 * 3600));
        assert!(Window::hours(-24, 24).contains_closed(-24 * 3600));
    }
}
