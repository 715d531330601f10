//! Order statuses, their lifecycle, and a pure tracker that decides what an
//! incoming status change means for what the merchant already knows.
//!
//! The merchant docs list the ten statuses and their meanings but not the
//! transitions between them. [`OrderStatus::can_follow`] encodes the lifecycle as
//! **inferred** from the docs' meanings (see `ARCHITECTURE.md`):
//!
//! ```text
//! new ─► waitPayment ─► inProgress ─► inProgressPayout ─► done
//!             │                              │
//!             ▼                              ▼
//!        errorPayment                    errorPayout
//! hold: may interrupt any non-final status and be lifted back
//! final: done, returned, deleted
//! ```
//!
//! An operator can set any status by hand, so a transition outside the table is
//! information to look at, not proof of an attack: the tracker reports it as
//! [`Decision::Unexpected`] rather than failing.

use alloc::string::String;

use crate::error::{Error, Result};

/// The status of an exchange order, as the platform spells it on the wire.
///
/// Statuses the platform may add later parse as [`OrderStatus::Unknown`], keeping
/// the raw text, so a new status never makes a notification unreadable.
///
/// ```
/// use smartex_core::OrderStatus;
/// let s: OrderStatus = "inProgressPayout".parse().unwrap();
/// assert_eq!(s, OrderStatus::InProgressPayout);
/// assert_eq!(s.as_str(), "inProgressPayout");
/// assert!(s.is_payment_received() && !s.is_final());
/// assert_eq!("refunded".parse::<OrderStatus>().unwrap(), OrderStatus::Unknown("refunded".into()));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    /// `new`: the order was created.
    New,
    /// `waitPayment`: waiting for the client's payment.
    WaitPayment,
    /// `errorPayment`: the client's payment failed (the merchant reported an error).
    ErrorPayment,
    /// `inProgress`: paid, or waiting for an operator.
    InProgress,
    /// `inProgressPayout`: payment accepted; queued for payout.
    InProgressPayout,
    /// `errorPayout`: the payout failed.
    ErrorPayout,
    /// `hold`: frozen because of a problem with the order.
    Hold,
    /// `done`: completed successfully. Final.
    Done,
    /// `returned`: paid, but the exchange conditions were not met and the funds
    /// were returned to the sender. Final.
    Returned,
    /// `deleted`: cancelled. Final.
    Deleted,
    /// A status this version of the SDK does not know, kept exactly as received.
    Unknown(String),
}

impl OrderStatus {
    /// The ten documented statuses, in lifecycle order.
    pub const KNOWN: [OrderStatus; 10] = [
        OrderStatus::New,
        OrderStatus::WaitPayment,
        OrderStatus::ErrorPayment,
        OrderStatus::InProgress,
        OrderStatus::InProgressPayout,
        OrderStatus::ErrorPayout,
        OrderStatus::Hold,
        OrderStatus::Done,
        OrderStatus::Returned,
        OrderStatus::Deleted,
    ];

    /// Parses a wire string; never fails (unknown strings become [`OrderStatus::Unknown`]).
    /// The match is exact: `Done` is not `done`.
    pub fn parse(s: &str) -> OrderStatus {
        match s {
            "new" => OrderStatus::New,
            "waitPayment" => OrderStatus::WaitPayment,
            "errorPayment" => OrderStatus::ErrorPayment,
            "inProgress" => OrderStatus::InProgress,
            "inProgressPayout" => OrderStatus::InProgressPayout,
            "errorPayout" => OrderStatus::ErrorPayout,
            "hold" => OrderStatus::Hold,
            "done" => OrderStatus::Done,
            "returned" => OrderStatus::Returned,
            "deleted" => OrderStatus::Deleted,
            other => OrderStatus::Unknown(String::from(other)),
        }
    }

    /// The exact wire string.
    pub fn as_str(&self) -> &str {
        match self {
            OrderStatus::New => "new",
            OrderStatus::WaitPayment => "waitPayment",
            OrderStatus::ErrorPayment => "errorPayment",
            OrderStatus::InProgress => "inProgress",
            OrderStatus::InProgressPayout => "inProgressPayout",
            OrderStatus::ErrorPayout => "errorPayout",
            OrderStatus::Hold => "hold",
            OrderStatus::Done => "done",
            OrderStatus::Returned => "returned",
            OrderStatus::Deleted => "deleted",
            OrderStatus::Unknown(raw) => raw,
        }
    }

    /// Whether the order will not change any more: `done`, `returned`, `deleted`.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            OrderStatus::Done | OrderStatus::Returned | OrderStatus::Deleted
        )
    }

    /// Whether the status reports a failure: `errorPayment` or `errorPayout`.
    pub fn is_error(&self) -> bool {
        matches!(self, OrderStatus::ErrorPayment | OrderStatus::ErrorPayout)
    }

    /// Whether the client's payment has been received: `inProgress`,
    /// `inProgressPayout`, `errorPayout`, `done`, and `returned` (paid, then
    /// returned). `hold` says nothing either way and answers `false`.
    pub fn is_payment_received(&self) -> bool {
        matches!(
            self,
            OrderStatus::InProgress
                | OrderStatus::InProgressPayout
                | OrderStatus::ErrorPayout
                | OrderStatus::Done
                | OrderStatus::Returned
        )
    }

    /// The statuses that may directly follow `self` in the inferred lifecycle
    /// (without a `hold` in between; `hold` may follow any non-final status).
    pub fn successors(&self) -> &'static [OrderStatus] {
        use OrderStatus::*;
        match self {
            New => &[WaitPayment, InProgress, Deleted, Hold],
            WaitPayment => &[InProgress, ErrorPayment, Deleted, Hold],
            ErrorPayment => &[WaitPayment, InProgress, Returned, Deleted, Hold],
            InProgress => &[InProgressPayout, Done, Returned, Deleted, Hold],
            InProgressPayout => &[Done, ErrorPayout, Returned, Hold],
            ErrorPayout => &[InProgressPayout, Done, Returned, Hold],
            // Lifted back to wherever it was, or settled by an operator.
            Hold => &[
                New,
                WaitPayment,
                ErrorPayment,
                InProgress,
                InProgressPayout,
                ErrorPayout,
                Done,
                Returned,
                Deleted,
            ],
            Done | Returned | Deleted | Unknown(_) => &[],
        }
    }

    /// Whether `self` can be reached from `earlier` through the inferred lifecycle,
    /// possibly through statuses whose notifications were lost (the platform sends
    /// each IPN once and does not guarantee delivery). `hold` counts as a detour
    /// that returns where it left, so it does not make every status reachable.
    /// An unknown status is reachable from any non-final status, and any status
    /// may follow it (an unknown status is not final): the SDK cannot judge it.
    ///
    /// ```
    /// use smartex_core::OrderStatus::*;
    /// assert!(Done.can_follow(&WaitPayment)); // inProgress… notifications lost
    /// assert!(!WaitPayment.can_follow(&InProgressPayout)); // backwards
    /// assert!(!InProgress.can_follow(&Done)); // done is final
    /// ```
    pub fn can_follow(&self, earlier: &OrderStatus) -> bool {
        if earlier.is_final() || self == earlier {
            return false;
        }
        if matches!(self, OrderStatus::Hold | OrderStatus::Unknown(_))
            || matches!(earlier, OrderStatus::Hold | OrderStatus::Unknown(_))
        {
            return true;
        }
        // Breadth-first over at most ten statuses, skipping `hold`; a bit set of
        // the KNOWN indices avoids any allocation.
        let mut seen: u16 = 0;
        let mut frontier: u16 = 1 << earlier.index();
        while frontier != 0 {
            let mut next = 0u16;
            for (i, status) in Self::KNOWN.iter().enumerate() {
                if frontier & (1 << i) == 0 {
                    continue;
                }
                for succ in status.successors() {
                    if *succ == OrderStatus::Hold {
                        continue;
                    }
                    if succ == self {
                        return true;
                    }
                    let bit = 1 << succ.index();
                    if seen & bit == 0 {
                        next |= bit;
                    }
                }
            }
            seen |= frontier;
            frontier = next & !seen;
        }
        false
    }

    /// Index in [`OrderStatus::KNOWN`]; 10 for an unknown status, which never
    /// reaches the breadth-first search.
    fn index(&self) -> u32 {
        match self {
            OrderStatus::New => 0,
            OrderStatus::WaitPayment => 1,
            OrderStatus::ErrorPayment => 2,
            OrderStatus::InProgress => 3,
            OrderStatus::InProgressPayout => 4,
            OrderStatus::ErrorPayout => 5,
            OrderStatus::Hold => 6,
            OrderStatus::Done => 7,
            OrderStatus::Returned => 8,
            OrderStatus::Deleted => 9,
            OrderStatus::Unknown(_) => 10,
        }
    }

    /// The platform's rule for `order/update-status`: only from `new` or
    /// `waitPayment`, and never to `inProgressPayout`, `done` or `hold`. The usual
    /// call is a merchant with manual payment moving `waitPayment` → `inProgress`.
    ///
    /// `current` is `None` when the merchant does not know the current status; the
    /// target is still checked. Unknown targets are left to the server to judge.
    ///
    /// ```
    /// use smartex_core::OrderStatus::*;
    /// use smartex_core::status::check_update_status;
    /// assert!(check_update_status(Some(&WaitPayment), &InProgress).is_ok());
    /// assert!(check_update_status(Some(&WaitPayment), &Done).is_err());
    /// assert!(check_update_status(Some(&InProgress), &Deleted).is_err());
    /// ```
    pub fn check_update_status(current: Option<&OrderStatus>, target: &OrderStatus) -> Result<()> {
        check_update_status(current, target)
    }
}

/// See [`OrderStatus::check_update_status`].
pub fn check_update_status(current: Option<&OrderStatus>, target: &OrderStatus) -> Result<()> {
    let from = current.map_or("(unknown)", OrderStatus::as_str);
    if matches!(
        target,
        OrderStatus::InProgressPayout | OrderStatus::Done | OrderStatus::Hold
    ) {
        return Err(Error::TransitionNotAllowed {
            from: String::from(from),
            to: String::from(target.as_str()),
            reason: "update-status may not set inProgressPayout, done or hold",
        });
    }
    if let Some(current) = current {
        if !matches!(current, OrderStatus::New | OrderStatus::WaitPayment) {
            return Err(Error::TransitionNotAllowed {
                from: String::from(from),
                to: String::from(target.as_str()),
                reason: "update-status is allowed only from new or waitPayment",
            });
        }
        if current == target {
            return Err(Error::TransitionNotAllowed {
                from: String::from(from),
                to: String::from(target.as_str()),
                reason: "the order already has this status",
            });
        }
    }
    Ok(())
}

impl core::str::FromStr for OrderStatus {
    type Err = core::convert::Infallible;
    fn from_str(s: &str) -> core::result::Result<Self, Self::Err> {
        Ok(OrderStatus::parse(s))
    }
}

impl core::fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for OrderStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for OrderStatus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let s: alloc::borrow::Cow<'de, str> = serde::Deserialize::deserialize(d)?;
        Ok(OrderStatus::parse(&s))
    }
}

/// Who reported a status, and how precisely its time is known.
///
/// An IPN carries the platform's own timestamp of the change. A poll
/// (`order/get`) says what the status was at some instant during the request;
/// when the answer carries a time of the order's own (on the platform's clock)
/// that time is exact, otherwise only our clock is known, and the platform's
/// clock may differ from ours. Such a poll stands for an instant somewhere in
/// `[at_ms, at_ms + window_ms]` (see [`StatusEvent::polled_between`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// An IPN: `at_ms` is its signed `timestamp`, on the platform's clock.
    Ipn,
    /// A poll: the status held at some platform instant in
    /// `[at_ms, at_ms + window_ms]` (`window_ms` is 0 when the answer carried
    /// the order's own time).
    Poll {
        /// The width of the interval the observation may stand for, in ms.
        window_ms: u64,
    },
}

impl Source {
    /// `ipn` or `poll`: how an event log names the source.
    pub fn as_str(&self) -> &'static str {
        match self {
            Source::Ipn => "ipn",
            Source::Poll { .. } => "poll",
        }
    }

    /// The width of the interval the observation stands for (0 for an IPN).
    pub fn window_ms(&self) -> u64 {
        match self {
            Source::Ipn => 0,
            Source::Poll { window_ms } => *window_ms,
        }
    }
}

/// How much the platform's clock may differ from ours, by default, when a
/// poll's answer carries no time of its own: 5 seconds. NTP keeps servers
/// within milliseconds; the allowance is generous because a too-small one can
/// let a late IPN move an order backwards, while a too-large one only delays a
/// genuine change in a lifecycle cycle (`hold`, `errorPayout` ↔
/// `inProgressPayout`) until the next poll.
pub const DEFAULT_CLOCK_SKEW_MS: u64 = 5_000;

/// A status change as an IPN or a poll reports it: the new status, when it
/// happened (on the platform's clock, in milliseconds since the Unix epoch)
/// and who reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusEvent {
    /// The status the order moved to.
    pub status: OrderStatus,
    /// When, in milliseconds since the Unix epoch, if known: an IPN's
    /// `timestamp`; for a poll, the earliest platform instant it may stand for.
    pub at_ms: Option<u64>,
    /// Who reported it, and how precise `at_ms` is.
    pub source: Source,
}

impl StatusEvent {
    /// A status from an IPN, at its signed `timestamp` (ms).
    pub fn ipn(status: OrderStatus, timestamp_ms: u64) -> Self {
        Self {
            status,
            at_ms: Some(timestamp_ms),
            source: Source::Ipn,
        }
    }

    /// A status from a poll whose answer carried the order's own time of its
    /// last change (platform clock, ms): as precise as an IPN.
    pub fn polled_at(status: OrderStatus, order_time_ms: u64) -> Self {
        Self {
            status,
            at_ms: Some(order_time_ms),
            source: Source::Poll { window_ms: 0 },
        }
    }

    /// A status from a poll whose answer carried no time: the request left at
    /// `sent_ms` and its answer arrived at `received_ms` (our clock), and the
    /// platform's clock may differ from ours by up to `skew_ms`
    /// ([`DEFAULT_CLOCK_SKEW_MS`]). The status held at some platform instant in
    /// `[sent_ms - skew_ms, received_ms + skew_ms]`; [`decide`] treats an IPN
    /// inside that interval as of unknown order relative to the poll.
    ///
    /// ```
    /// use smartex_core::status::{StatusEvent, Source};
    /// use smartex_core::OrderStatus::Hold;
    /// let ev = StatusEvent::polled_between(Hold, 10_000, 10_300, 5_000);
    /// assert_eq!(ev.at_ms, Some(5_000));
    /// assert_eq!(ev.source, Source::Poll { window_ms: 10_300 });
    /// assert_eq!(ev.latest_ms(), Some(15_300));
    /// ```
    pub fn polled_between(
        status: OrderStatus,
        sent_ms: u64,
        received_ms: u64,
        skew_ms: u64,
    ) -> Self {
        let earliest = sent_ms.saturating_sub(skew_ms);
        let latest = received_ms.max(sent_ms).saturating_add(skew_ms);
        Self {
            status,
            at_ms: Some(earliest),
            source: Source::Poll {
                window_ms: latest - earliest,
            },
        }
    }

    /// A status from a poll with no time at all (the tracker then relies on
    /// the lifecycle alone). Prefer [`StatusEvent::polled_between`].
    pub fn polled_untimed(status: OrderStatus) -> Self {
        Self {
            status,
            at_ms: None,
            source: Source::Poll { window_ms: 0 },
        }
    }

    /// The latest platform instant the event may stand for.
    pub fn latest_ms(&self) -> Option<u64> {
        self.at_ms
            .map(|at| at.saturating_add(self.source.window_ms()))
    }
}

/// What the merchant knows of an order: its status, the time of the
/// observation that set it and who reported it. Store this beside the order;
/// feed it to [`decide`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnownStatus {
    /// The status last applied.
    pub status: OrderStatus,
    /// The time of the observation that set it, in ms, if known (for a poll
    /// without a time of its own, the earliest instant it may stand for).
    pub at_ms: Option<u64>,
    /// Who reported it, and how precise `at_ms` is.
    pub source: Source,
}

impl KnownStatus {
    /// What becomes known when `event` is applied on top of `previous`: the
    /// event's status, time and source; an event without a time keeps the
    /// previous time (the change happened after it).
    pub fn after(previous: Option<&KnownStatus>, event: &StatusEvent) -> Self {
        match (event.at_ms, previous) {
            (None, Some(prev)) if prev.at_ms.is_some() => Self {
                status: event.status.clone(),
                at_ms: prev.at_ms,
                source: prev.source,
            },
            _ => Self {
                status: event.status.clone(),
                at_ms: event.at_ms,
                source: event.source,
            },
        }
    }

    /// The latest platform instant the observation may stand for.
    pub fn latest_ms(&self) -> Option<u64> {
        self.at_ms
            .map(|at| at.saturating_add(self.source.window_ms()))
    }

    /// What becomes known when `event` repeats the known status
    /// ([`Decision::Duplicate`]) but was observed later: the status is the
    /// same, its time moves forward. `None` when nothing would change.
    ///
    /// Without this, a status the platform revisits (`inProgressPayout` →
    /// `errorPayout` → `inProgressPayout`) and that a poll confirms would keep
    /// its first time, and a late IPN of the status in between would look
    /// newer and be applied. The merged observation starts at the later of
    /// the two starts (an event that ended before it is older than a
    /// confirmed sighting) and ends at the later of the two ends (an event
    /// inside it cannot be ordered by time).
    ///
    /// ```
    /// use smartex_core::status::{KnownStatus, Source, StatusEvent};
    /// use smartex_core::OrderStatus::InProgressPayout;
    /// let known = KnownStatus { status: InProgressPayout, at_ms: Some(1_000), source: Source::Ipn };
    /// let confirmed = StatusEvent::polled_between(InProgressPayout, 20_000, 20_100, 5_000);
    /// let merged = known.merge_duplicate(&confirmed).unwrap();
    /// assert_eq!((merged.at_ms, merged.latest_ms()), (Some(15_000), Some(25_100)));
    /// ```
    pub fn merge_duplicate(&self, event: &StatusEvent) -> Option<KnownStatus> {
        if event.status != self.status {
            return None;
        }
        let (Some(e_start), Some(e_end)) = (event.at_ms, event.latest_ms()) else {
            return None;
        };
        let (Some(k_start), Some(k_end)) = (self.at_ms, self.latest_ms()) else {
            return Some(KnownStatus::after(None, event));
        };
        let start = k_start.max(e_start);
        let end = k_end.max(e_end);
        if start == k_start && end == k_end {
            return None;
        }
        let source = if end == start {
            if start == e_start {
                event.source
            } else {
                self.source
            }
        } else {
            Source::Poll {
                window_ms: end - start,
            }
        };
        Some(KnownStatus {
            status: self.status.clone(),
            at_ms: Some(start),
            source,
        })
    }
}

/// What an incoming status change means. Only [`Decision::Apply`] should change
/// the merchant's records.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// A new, expected status: record it (and ship goods, refund, …).
    Apply,
    /// The merchant already has this status: answer success, do nothing.
    Duplicate,
    /// Older than what the merchant knows (e.g. a delayed `waitPayment` after
    /// `done`), or of an order that cannot be told from what is known (an IPN
    /// sent while a poll was in flight, in a lifecycle cycle): do nothing. A
    /// later poll settles the second case.
    Stale,
    /// Not in the inferred lifecycle (a final status changing, a status going
    /// backwards): do not apply automatically; look at it (an operator may have
    /// set it by hand).
    Unexpected {
        /// Why it is not expected.
        reason: &'static str,
    },
}

/// Decides what `event` means for an order whose known state is `known`.
/// Deterministic: no clock is read; times come in the arguments.
///
/// Times are compared as intervals on the platform's clock (an IPN and a poll
/// that carried the order's own time are instants; a poll without one is the
/// interval of [`StatusEvent::polled_between`]):
///
/// - the event ended before the known observation began: [`Decision::Stale`];
/// - the intervals overlap, so the time cannot order them: the lifecycle
///   orders them when it can (the event can follow the known status, and the
///   known status cannot follow the event); otherwise [`Decision::Stale`] —
///   never a guess that could move the order backwards. A later poll settles
///   it;
/// - the event began after the known observation: the lifecycle decides.
///
/// This is what keeps a poll-learned status from being undone by a late IPN:
/// IPN `inProgress`@1000 → poll `errorPayout` at 10 000 → an IPN
/// `inProgressPayout`@2000 arriving late is stale.
///
/// ```
/// use smartex_core::status::{decide, Decision, KnownStatus, Source, StatusEvent};
/// use smartex_core::OrderStatus::*;
/// let known = KnownStatus { status: Done, at_ms: Some(2_000), source: Source::Ipn };
/// assert_eq!(decide(Some(&known), &StatusEvent::ipn(WaitPayment, 1_000)), Decision::Stale);
/// assert_eq!(decide(None, &StatusEvent::ipn(WaitPayment, 1_000)), Decision::Apply);
/// let polled = KnownStatus { status: ErrorPayout, at_ms: Some(5_000), source: Source::Poll { window_ms: 10_300 } };
/// assert_eq!(decide(Some(&polled), &StatusEvent::ipn(InProgressPayout, 2_000)), Decision::Stale);
/// ```
pub fn decide(known: Option<&KnownStatus>, event: &StatusEvent) -> Decision {
    let Some(known) = known else {
        return Decision::Apply;
    };
    if event.status == known.status {
        return Decision::Duplicate;
    }
    if let (Some(k_start), Some(k_end), Some(e_start), Some(e_end)) = (
        known.at_ms,
        known.latest_ms(),
        event.at_ms,
        event.latest_ms(),
    ) {
        if e_end < k_start {
            return Decision::Stale;
        }
        if e_start <= k_end {
            // The intervals overlap: time cannot tell which is newer. Only an
            // order the lifecycle allows one way and not the other is taken.
            let forward = event.status.can_follow(&known.status);
            let backward = known.status.can_follow(&event.status);
            if !forward || backward {
                return Decision::Stale;
            }
        }
    }
    if known.status.is_final() {
        return Decision::Unexpected {
            reason: "the order's status is final",
        };
    }
    if !event.status.can_follow(&known.status) {
        return Decision::Unexpected {
            reason: "the lifecycle does not lead from the known status to this one",
        };
    }
    Decision::Apply
}

/// A [`KnownStatus`] that applies events to itself: a convenience over [`decide`]
/// for merchants who keep the tracker in memory (the reconcile loop does).
///
/// ```
/// use smartex_core::status::{Decision, StatusEvent, Tracker};
/// use smartex_core::OrderStatus::*;
/// let mut t = Tracker::default();
/// let ev = StatusEvent::ipn;
/// assert_eq!(t.apply(&ev(WaitPayment, 1)), Decision::Apply);
/// assert_eq!(t.apply(&ev(WaitPayment, 1)), Decision::Duplicate);
/// assert_eq!(t.apply(&ev(Done, 3)), Decision::Apply);
/// assert_eq!(t.apply(&ev(InProgress, 2)), Decision::Stale);
/// assert_eq!(t.known().map(|k| &k.status), Some(&Done));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tracker {
    known: Option<KnownStatus>,
}

impl Tracker {
    /// A tracker that starts from what the merchant already knows.
    pub fn from_known(known: KnownStatus) -> Self {
        Self { known: Some(known) }
    }

    /// What is known, if anything.
    pub fn known(&self) -> Option<&KnownStatus> {
        self.known.as_ref()
    }

    /// Decides, and records the event when the decision is
    /// [`Decision::Apply`]; a [`Decision::Duplicate`] observed later moves the
    /// known time forward ([`KnownStatus::merge_duplicate`]).
    pub fn apply(&mut self, event: &StatusEvent) -> Decision {
        let decision = decide(self.known.as_ref(), event);
        match decision {
            Decision::Apply => {
                self.known = Some(KnownStatus::after(self.known.as_ref(), event));
            }
            Decision::Duplicate => {
                if let Some(merged) = self.known.as_ref().and_then(|k| k.merge_duplicate(event)) {
                    self.known = Some(merged);
                }
            }
            _ => {}
        }
        decision
    }
}
