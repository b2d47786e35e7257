//! A compact naive timestamp: whole seconds since 1970-01-01 00:00:00.
//!
//! MIMIC times are naive (no zone), whole seconds, in shifted years such as
//! 2110–2210. An `i64` of seconds compares, subtracts and sorts with plain
//! integer operations, which is all the cohort windows need, and it is 8 bytes
//! per lab event instead of a string. The calendar is the proleptic Gregorian
//! one, as in pandas.

use std::fmt;

/// Seconds in an hour, for window arithmetic.
pub const HOUR: i64 = 3600;

/// A naive timestamp with one-second resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

/// Why a timestamp text was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected a timestamp like YYYY-MM-DD HH:MM:SS, found {0:?}")]
pub struct BadTimestamp(pub String);

/// Days from 1970-01-01 to the given civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

fn digits(b: &[u8]) -> Option<i64> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0i64, |acc, &c| acc * 10 + i64::from(c - b'0')))
}

impl Timestamp {
    /// Builds a timestamp from calendar fields, checking their ranges.
    pub fn from_parts(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Option<Self> {
        if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 59 {
            return None;
        }
        let days = days_from_civil(y, mo, d);
        Some(Self(days * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s)))
    }

    /// Parses `YYYY-MM-DD HH:MM:SS` (also with `T`, without seconds, or a bare
    /// date, which pandas' `to_datetime` accepts too).
    pub fn parse(text: &str) -> Result<Self, BadTimestamp> {
        Self::parse_bytes(text.as_bytes()).ok_or_else(|| BadTimestamp(text.to_string()))
    }

    /// [`Timestamp::parse`] on raw CSV bytes, without allocating.
    pub fn parse_bytes(b: &[u8]) -> Option<Self> {
        if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let y = digits(&b[0..4])?;
        let mo = digits(&b[5..7])? as u32;
        let d = digits(&b[8..10])? as u32;
        let (h, mi, s) = match b.len() {
            10 => (0, 0, 0),
            16 | 19 if b[10] == b' ' || b[10] == b'T' => {
                if b[13] != b':' {
                    return None;
                }
                let h = digits(&b[11..13])? as u32;
                let mi = digits(&b[14..16])? as u32;
                let s = if b.len() == 19 {
                    if b[16] != b':' {
                        return None;
                    }
                    digits(&b[17..19])? as u32
                } else {
                    0
                };
                (h, mi, s)
            }
            _ => return None,
        };
        Self::from_parts(y, mo, d, h, mi, s)
    }

    /// Calendar fields `(year, month, day, hour, minute, second)`.
    pub fn parts(self) -> (i64, u32, u32, u32, u32, u32) {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        (y, m, d, (secs / 3600) as u32, ((secs / 60) % 60) as u32, (secs % 60) as u32)
    }

    /// The calendar year.
    pub fn year(self) -> i64 {
        self.parts().0
    }

    /// True when the time of day is 00:00:00 (pandas then prints dates only
    /// if every value of a column is midnight).
    pub fn is_midnight(self) -> bool {
        self.0.rem_euclid(86_400) == 0
    }

    /// `YYYY-MM-DD`.
    pub fn date_string(self) -> String {
        let (y, m, d, ..) = self.parts();
        format!("{y:04}-{m:02}-{d:02}")
    }
}

impl fmt::Display for Timestamp {
    /// `YYYY-MM-DD HH:MM:SS`, as pandas writes a datetime column.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d, h, mi, s) = self.parts();
        write!(f, "{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_mimic_years() {
        for text in ["2121-04-13 20:06:00", "2110-01-01 00:00:00", "2210-12-31 23:59:59", "2144-02-29 12:00:01"] {
            assert_eq!(Timestamp::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(Timestamp::parse("1970-01-01 00:00:01").unwrap(), Timestamp(1));
        // 2000-03-01 is 11017 days after the epoch.
        assert_eq!(Timestamp::parse("2000-03-01").unwrap(), Timestamp(11_017 * 86_400));
    }

    #[test]
    fn differences_are_seconds() {
        let a = Timestamp::parse("2121-04-13 20:06:00").unwrap();
        let b = Timestamp::parse("2121-04-15 20:06:00").unwrap();
        assert_eq!(b.0 - a.0, 48 * HOUR);
        assert!(Timestamp::parse("2121-04-13").unwrap().is_midnight());
        assert!(!a.is_midnight());
        assert_eq!(a.year(), 2121);
    }

    #[test]
    fn rejects_malformed_text() {
        for bad in [
            "",
            "2121-4-13 20:06:00",
            "2121-02-30 00:00:00",
            "2121-04-13 24:00:00",
            "21210413",
            "2121-04-13 20:06:00.5",
            "abcd-ef-gh",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
