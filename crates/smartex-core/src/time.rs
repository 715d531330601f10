//! Instants and calendar dates for the platform's timestamps.
//!
//! The IPN's `timestamp` and the sandbox's `createdAt` are counted from the
//! Unix epoch. [`UnixMillis`] is such an instant in milliseconds, a type of
//! its own so that a count in seconds, or a duration, cannot be passed where
//! an instant is meant; [`UtcDateTime`] turns one into a UTC date and time for
//! people to read, without a clock and without a date crate: the time is an
//! argument.

/// An instant: milliseconds since 1970-01-01T00:00:00Z.
///
/// The caller's `now` in every time-dependent check (the IPN timestamp
/// window) is one of these, never a bare integer, so seconds and milliseconds
/// cannot be confused. Built from a [`SystemTime`](std::time::SystemTime)
/// (with the `std` feature), or from an explicit unit:
///
/// ```
/// use smartex_core::time::UnixMillis;
/// let t = UnixMillis::from_secs(1_571_328_406);
/// assert_eq!(t, UnixMillis::from_millis(1_571_328_406_000));
/// assert_eq!(t.as_millis(), 1_571_328_406_000);
/// // A notification's `timestamp`, in whichever unit it was sent:
/// assert_eq!(UnixMillis::from_seconds_or_millis(1_571_328_406), t);
/// assert_eq!(UnixMillis::from_seconds_or_millis(1_571_328_406_000), t);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixMillis(u64);

impl UnixMillis {
    /// Values below this are read as seconds by
    /// [`from_seconds_or_millis`](Self::from_seconds_or_millis): 10^11 seconds
    /// is the year 5138, and 10^11 milliseconds is 1973-03-03, before the
    /// platform existed, so neither unit's plausible values reach the other's.
    pub const SECONDS_BELOW: u64 = 100_000_000_000;

    /// The instant `ms` milliseconds after the epoch.
    pub const fn from_millis(ms: u64) -> Self {
        Self(ms)
    }

    /// The instant `s` seconds after the epoch (saturating far in the future).
    pub const fn from_secs(s: u64) -> Self {
        Self(s.saturating_mul(1000))
    }

    /// A count from the epoch whose unit is told by its magnitude: below
    /// [`SECONDS_BELOW`](Self::SECONDS_BELOW) it is seconds, otherwise
    /// milliseconds. The platform documents milliseconds, but a Node server
    /// may send `Math.floor(Date.now() / 1000)`; both are the same instant.
    pub const fn from_seconds_or_millis(n: u64) -> Self {
        if n < Self::SECONDS_BELOW {
            Self::from_secs(n)
        } else {
            Self(n)
        }
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// The instant `ms` milliseconds later (saturating far in the future).
    #[must_use]
    pub const fn plus_ms(self, ms: u64) -> Self {
        Self(self.0.saturating_add(ms))
    }

    /// The instant `ms` milliseconds earlier (the epoch at the latest).
    #[must_use]
    pub const fn minus_ms(self, ms: u64) -> Self {
        Self(self.0.saturating_sub(ms))
    }

    /// Milliseconds from `earlier` to `self`; 0 if `earlier` is later.
    pub const fn millis_since(self, earlier: UnixMillis) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

/// Where "now" comes from: the one way every layer above the core reads the
/// time, so a test can move it instead of sleeping.
///
/// The core itself never calls a clock: its decisions take instants as
/// arguments. The I/O crates take an `Arc<dyn Clock>` (the system clock by
/// default) and read it in one place each; a test passes a [`ManualClock`].
pub trait Clock: Send + Sync + core::fmt::Debug {
    /// The current instant.
    fn now(&self) -> UnixMillis;
}

impl<C: Clock + ?Sized> Clock for alloc::sync::Arc<C> {
    fn now(&self) -> UnixMillis {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> UnixMillis {
        (**self).now()
    }
}

/// A clock that moves only when told to: for tests of leases, retries and
/// time windows that would otherwise sleep.
///
/// ```
/// use smartex_core::time::{Clock, ManualClock, UnixMillis};
/// let clock = ManualClock::new(UnixMillis::from_millis(1_000));
/// assert_eq!(clock.advance_ms(500), UnixMillis::from_millis(1_500));
/// assert_eq!(clock.now(), UnixMillis::from_millis(1_500));
/// clock.set(UnixMillis::from_millis(10));
/// assert_eq!(clock.now().as_millis(), 10);
/// ```
#[derive(Debug, Default)]
pub struct ManualClock {
    ms: core::sync::atomic::AtomicU64,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub const fn new(start: UnixMillis) -> Self {
        Self {
            ms: core::sync::atomic::AtomicU64::new(start.0),
        }
    }

    /// Moves the clock to `t` (backwards too: a clock step is a case to test).
    pub fn set(&self, t: UnixMillis) {
        self.ms.store(t.0, core::sync::atomic::Ordering::SeqCst);
    }

    /// Moves the clock `ms` milliseconds forward and returns the new instant.
    pub fn advance_ms(&self, ms: u64) -> UnixMillis {
        let before = self
            .ms
            .fetch_update(
                core::sync::atomic::Ordering::SeqCst,
                core::sync::atomic::Ordering::SeqCst,
                |t| Some(t.saturating_add(ms)),
            )
            .unwrap_or_else(|t| t);
        UnixMillis(before.saturating_add(ms))
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixMillis {
        UnixMillis(self.ms.load(core::sync::atomic::Ordering::SeqCst))
    }
}

#[cfg(feature = "std")]
impl From<std::time::SystemTime> for UnixMillis {
    /// The same instant; one before the epoch is the epoch, and one past
    /// `u64::MAX` milliseconds saturates.
    fn from(t: std::time::SystemTime) -> Self {
        Self(
            t.duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        )
    }
}

#[cfg(feature = "std")]
impl From<UnixMillis> for std::time::SystemTime {
    fn from(t: UnixMillis) -> Self {
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(t.0)
    }
}

impl core::fmt::Display for UnixMillis {
    /// ISO 8601 in UTC (`2019-10-17T16:06:46.072Z`).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        UtcDateTime::from_unix_ms(self.0).fmt(f)
    }
}

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
    use alloc::string::ToString;

    #[track_caller]
    fn check(ms: u64, expect: &str) {
        assert_eq!(UtcDateTime::from_unix_ms(ms).to_string(), expect);
    }

    #[test]
    fn seconds_and_milliseconds_are_told_apart() {
        use super::UnixMillis;
        let ms = |n| UnixMillis::from_seconds_or_millis(n).as_millis();
        assert_eq!(ms(0), 0);
        assert_eq!(ms(1_700_000_000), 1_700_000_000_000);
        assert_eq!(ms(99_999_999_999), 99_999_999_999_000);
        assert_eq!(ms(100_000_000_000), 100_000_000_000);
        assert_eq!(ms(1_700_000_000_123), 1_700_000_000_123);
        assert_eq!(ms(u64::MAX), u64::MAX);
        #[cfg(feature = "std")]
        {
            let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_571_328_406_072);
            assert_eq!(UnixMillis::from(t).as_millis(), 1_571_328_406_072);
            assert_eq!(std::time::SystemTime::from(UnixMillis::from(t)), t);
        }
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
