//! Calendar dates for the platform's millisecond timestamps.
//!
//! The IPN's `timestamp` and the sandbox's `createdAt` are milliseconds since
//! the Unix epoch. This turns one into a UTC date and time for people to read,
//! without a clock and without a date crate: the time is an argument.

/// A UTC date and time with millisecond precision.
///
/// `Display` writes ISO 8601 as the platform's JSON does:
///
/// ```
/// use smartex_core::time::UtcDateTime;
/// let t = UtcDateTime::from_unix_ms(1_571_328_406_072);
/// assert_eq!(t.to_string(), "2019-10-17T16:06:46.072Z");
/// assert_eq!((t.year, t.month, t.day, t.hour), (2019, 10, 17, 16));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UtcDateTime {
    /// The year (1970 or later).
    pub year: u32,
    /// The month, 1–12.
    pub month: u8,
    /// The day of the month, 1–31.
    pub day: u8,
    /// The hour, 0–23.
    pub hour: u8,
    /// The minute, 0–59.
    pub minute: u8,
    /// The second, 0–59.
    pub second: u8,
    /// The millisecond, 0–999.
    pub millisecond: u16,
}

impl UtcDateTime {
    /// The date and time `ms` milliseconds after 1970-01-01T00:00:00Z.
    pub fn from_unix_ms(ms: u64) -> Self {
        let (days, rest) = (ms / 86_400_000, ms % 86_400_000);
        // Howard Hinnant's civil-from-days, in unsigned arithmetic: `days` is
        // never before the epoch, so every intermediate value is non-negative.
        let z = days + 719_468;
        let era = z / 146_097;
        let doe = z % 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + u64::from(month <= 2);
        // Each value is within its field's range by construction (a u64 of
        // milliseconds ends before the year 600,000,000, within u32).
        Self {
            year: u32::try_from(year).unwrap_or(u32::MAX),
            month: month as u8,
            day: day as u8,
            hour: (rest / 3_600_000) as u8,
            minute: (rest / 60_000 % 60) as u8,
            second: (rest / 1000 % 60) as u8,
            millisecond: (rest % 1000) as u16,
        }
    }
}

impl core::fmt::Display for UtcDateTime {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second, self.millisecond
        )
    }
}

#[cfg(test)]
mod tests {
    use super::UtcDateTime;

    #[track_caller]
    fn check(ms: u64, expect: &str) {
        assert_eq!(UtcDateTime::from_unix_ms(ms).to_string(), expect);
    }

    #[test]
    fn known_dates() {
        check(0, "1970-01-01T00:00:00.000Z");
        check(1_571_328_406_072, "2019-10-17T16:06:46.072Z"); // the docs' IPN
        check(951_782_400_000, "2000-02-29T00:00:00.000Z"); // a leap day
        check(4_107_542_399_999, "2100-02-28T23:59:59.999Z"); // 2100 is not a leap year
        check(4_107_542_400_000, "2100-03-01T00:00:00.000Z");
        check(253_402_300_799_999, "9999-12-31T23:59:59.999Z");
    }
}
