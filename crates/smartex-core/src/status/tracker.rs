//! The pure tracker: what an incoming status change means for what is known
//! of an order. [`transition`] is the one rule; [`Tracker`], the store and
//! every receiver call it, so they cannot decide differently.

use super::OrderStatus;
use crate::time::UnixMillis;

/// Who reported a status, and how precisely its time is known.
///
/// An IPN carries the platform's own timestamp of the change. A poll
/// (`order/get`) says what the status was at some instant during the request;
/// when the answer carries a time of the order's own (on the platform's clock)
/// that time is exact, otherwise only our clock is known, and the platform's
/// clock may differ from ours. Such a poll stands for an instant somewhere in
/// `[at, at + window_ms]` (see [`StatusEvent::polled_between`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// An IPN: `at` is its signed `timestamp`, on the platform's clock.
    Ipn,
    /// A poll: the status held at some platform instant in
    /// `[at, at + window_ms]` (`window_ms` is 0 when the answer carried
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
/// happened (on the platform's clock) and who reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusEvent {
    /// The status the order moved to.
    pub status: OrderStatus,
    /// When, if known: an IPN's `timestamp`; for a poll, the earliest
    /// platform instant it may stand for.
    pub at: Option<UnixMillis>,
    /// Who reported it, and how precise `at` is.
    pub source: Source,
}

impl StatusEvent {
    /// A status from an IPN, at its signed `timestamp`.
    pub fn ipn(status: OrderStatus, timestamp: UnixMillis) -> Self {
        Self {
            status,
            at: Some(timestamp),
            source: Source::Ipn,
        }
    }

    /// A status from a poll whose answer carried the order's own time of its
    /// last change (platform clock): as precise as an IPN.
    pub fn polled_at(status: OrderStatus, order_time: UnixMillis) -> Self {
        Self {
            status,
            at: Some(order_time),
            source: Source::Poll { window_ms: 0 },
        }
    }

    /// A status from a poll whose answer carried no time: the request left at
    /// `sent` and its answer arrived at `received` (our clock), and the
    /// platform's clock may differ from ours by up to `skew_ms`
    /// ([`DEFAULT_CLOCK_SKEW_MS`]). The status held at some platform instant in
    /// `[sent - skew_ms, received + skew_ms]`; [`transition`] treats an IPN
    /// inside that interval as of unknown order relative to the poll.
    ///
    /// ```
    /// use smartex_core::status::{StatusEvent, Source};
    /// use smartex_core::time::UnixMillis;
    /// use smartex_core::OrderStatus::Hold;
    /// let ms = UnixMillis::from_millis;
    /// let ev = StatusEvent::polled_between(Hold, ms(10_000), ms(10_300), 5_000);
    /// assert_eq!(ev.at, Some(ms(5_000)));
    /// assert_eq!(ev.source, Source::Poll { window_ms: 10_300 });
    /// assert_eq!(ev.latest(), Some(ms(15_300)));
    /// ```
    pub fn polled_between(
        status: OrderStatus,
        sent: UnixMillis,
        received: UnixMillis,
        skew_ms: u64,
    ) -> Self {
        let (sent, received) = (sent.as_millis(), received.as_millis());
        let earliest = sent.saturating_sub(skew_ms);
        let latest = received.max(sent).saturating_add(skew_ms);
        Self {
            status,
            at: Some(UnixMillis::from_millis(earliest)),
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
            at: None,
            source: Source::Poll { window_ms: 0 },
        }
    }

    /// The latest platform instant the event may stand for.
    pub fn latest(&self) -> Option<UnixMillis> {
        latest(self.at, self.source)
    }
}

/// The end of the interval an observation starting at `at` stands for.
fn latest(at: Option<UnixMillis>, source: Source) -> Option<UnixMillis> {
    at.map(|at| UnixMillis::from_millis(at.as_millis().saturating_add(source.window_ms())))
}

/// What the merchant knows of an order: its status, the time of the
/// observation that set it and who reported it. Store this beside the order;
/// feed it to [`transition`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnownStatus {
    /// The status last applied.
    pub status: OrderStatus,
    /// The time of the observation that set it, if known (for a poll
    /// without a time of its own, the earliest instant it may stand for).
    pub at: Option<UnixMillis>,
    /// Who reported it, and how precise `at` is.
    pub source: Source,
}

impl KnownStatus {
    /// What becomes known when `event` is applied on top of `previous`: the
    /// event's status, time and source; an event without a time keeps the
    /// previous time (the change happened after it).
    pub fn after(previous: Option<&KnownStatus>, event: &StatusEvent) -> Self {
        match (event.at, previous) {
            (None, Some(prev)) if prev.at.is_some() => Self {
                status: event.status.clone(),
                at: prev.at,
                source: prev.source,
            },
            _ => Self {
                status: event.status.clone(),
                at: event.at,
                source: event.source,
            },
        }
    }

    /// The latest platform instant the observation may stand for.
    pub fn latest(&self) -> Option<UnixMillis> {
        latest(self.at, self.source)
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
    /// use smartex_core::time::UnixMillis;
    /// use smartex_core::OrderStatus::InProgressPayout;
    /// let ms = UnixMillis::from_millis;
    /// let known = KnownStatus { status: InProgressPayout, at: Some(ms(1_000)), source: Source::Ipn };
    /// let confirmed = StatusEvent::polled_between(InProgressPayout, ms(20_000), ms(20_100), 5_000);
    /// let merged = known.merge_duplicate(&confirmed).unwrap();
    /// assert_eq!((merged.at, merged.latest()), (Some(ms(15_000)), Some(ms(25_100))));
    /// ```
    pub fn merge_duplicate(&self, event: &StatusEvent) -> Option<KnownStatus> {
        if event.status != self.status {
            return None;
        }
        let (Some(e_start), Some(e_end)) = (event.at, event.latest()) else {
            return None;
        };
        let (Some(k_start), Some(k_end)) = (self.at, self.latest()) else {
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
                window_ms: end.as_millis() - start.as_millis(),
            }
        };
        Some(KnownStatus {
            status: self.status.clone(),
            at: Some(start),
            source,
        })
    }
}

/// What an incoming status change means. Only [`Decision::Apply`] should change
/// the merchant's records.
///
/// Deliberately exhaustive: a decision this SDK adds later must be handled by
/// every match on it (a compile error), never fall into a catch-all arm that
/// could apply it, or refuse it, blindly.
#[derive(Clone, Debug, PartialEq, Eq)]
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

/// The result of [`transition`]: what the event means, and what is known
/// afterwards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    /// What the event means.
    pub decision: Decision,
    /// What is known after it, when that differs from what was known: the
    /// event's status for [`Decision::Apply`], a later time of the same
    /// status for a [`Decision::Duplicate`] observed later
    /// ([`KnownStatus::merge_duplicate`]). `None`: nothing changes.
    pub known: Option<KnownStatus>,
}

/// **The transition rule**: what `event` means for an order whose known state
/// is `known`, and what is known afterwards. Deterministic: no clock is read;
/// times come in the arguments. [`Tracker`], the store's exactly-once apply
/// and every receiver call this one function.
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
/// use smartex_core::status::{transition, Decision, KnownStatus, Source, StatusEvent};
/// use smartex_core::time::UnixMillis;
/// use smartex_core::OrderStatus::*;
/// let ms = UnixMillis::from_millis;
/// let known = KnownStatus { status: Done, at: Some(ms(2_000)), source: Source::Ipn };
/// let late = transition(Some(&known), &StatusEvent::ipn(WaitPayment, ms(1_000)));
/// assert_eq!((late.decision, late.known), (Decision::Stale, None));
/// let first = transition(None, &StatusEvent::ipn(WaitPayment, ms(1_000)));
/// assert_eq!(first.decision, Decision::Apply);
/// assert_eq!(first.known.map(|k| k.status), Some(WaitPayment));
/// let polled = KnownStatus { status: ErrorPayout, at: Some(ms(5_000)), source: Source::Poll { window_ms: 10_300 } };
/// let inside = transition(Some(&polled), &StatusEvent::ipn(InProgressPayout, ms(2_000)));
/// assert_eq!(inside.decision, Decision::Stale);
/// ```
pub fn transition(known: Option<&KnownStatus>, event: &StatusEvent) -> Transition {
    let decision = decide(known, event);
    let known = match decision {
        Decision::Apply => Some(KnownStatus::after(known, event)),
        Decision::Duplicate => known.and_then(|k| k.merge_duplicate(event)),
        Decision::Stale | Decision::Unexpected { .. } => None,
    };
    Transition { decision, known }
}

/// The decision half of [`transition`], for a caller that only needs to
/// know what an event means (an answer to a replayed notification).
pub fn decide(known: Option<&KnownStatus>, event: &StatusEvent) -> Decision {
    let Some(known) = known else {
        return Decision::Apply;
    };
    if event.status == known.status {
        return Decision::Duplicate;
    }
    if let (Some(k_start), Some(k_end), Some(e_start), Some(e_end)) =
        (known.at, known.latest(), event.at, event.latest())
    {
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

/// A [`KnownStatus`] that applies events to itself through [`transition`],
/// for merchants who keep the tracker in memory.
///
/// ```
/// use smartex_core::status::{Decision, StatusEvent, Tracker};
/// use smartex_core::time::UnixMillis;
/// use smartex_core::OrderStatus::*;
/// let mut t = Tracker::default();
/// let ev = |s, ms| StatusEvent::ipn(s, UnixMillis::from_millis(ms));
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

    /// Decides by [`transition`] and keeps what is known afterwards.
    pub fn apply(&mut self, event: &StatusEvent) -> Decision {
        let Transition { decision, known } = transition(self.known.as_ref(), event);
        if known.is_some() {
            self.known = known;
        }
        decision
    }
}
