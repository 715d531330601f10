//! The pure tracker: what an incoming status change means for what is known
//! of an order. [`transition`] is the one rule; [`Tracker`], the store and
//! every receiver call it, so they cannot decide differently. A change it
//! holds for a person ([`Decision::Unexpected`]) becomes current only by that
//! person's decision, and [`accept_held`] says what is known then.

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
    /// An IPN whose signed `timestamp` was in whole seconds: `at` is the
    /// first millisecond of that second, and the change happened somewhere
    /// in `[at, at + 999]` — compared as that interval, never as its first
    /// instant.
    IpnSeconds,
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
            Source::Ipn | Source::IpnSeconds => "ipn",
            Source::Poll { .. } => "poll",
        }
    }

    /// The width of the interval the observation stands for (0 for an IPN
    /// in milliseconds, 999 for one in seconds).
    pub fn window_ms(&self) -> u64 {
        match self {
            Source::Ipn => 0,
            Source::IpnSeconds => 999,
            Source::Poll { window_ms } => *window_ms,
        }
    }

    /// Whether the observation is a signed notification (an IPN).
    pub fn is_signed(&self) -> bool {
        matches!(self, Source::Ipn | Source::IpnSeconds)
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
    /// A status from an IPN, at its signed `timestamp` (in milliseconds).
    pub fn ipn(status: OrderStatus, timestamp: UnixMillis) -> Self {
        Self {
            status,
            at: Some(timestamp),
            source: Source::Ipn,
        }
    }

    /// A status from an IPN whose signed `timestamp` is the count `n` as
    /// received, in whichever unit it was sent: below
    /// [`UnixMillis::SECONDS_BELOW`] it is seconds, and the event stands for
    /// the whole second ([`Source::IpnSeconds`]).
    ///
    /// ```
    /// use smartex_core::status::{Source, StatusEvent};
    /// use smartex_core::time::UnixMillis;
    /// use smartex_core::OrderStatus::Done;
    /// let ev = StatusEvent::ipn_timestamp(Done, 1_700_000_000);
    /// assert_eq!(ev.source, Source::IpnSeconds);
    /// assert_eq!(ev.at, Some(UnixMillis::from_millis(1_700_000_000_000)));
    /// assert_eq!(ev.latest(), Some(UnixMillis::from_millis(1_700_000_000_999)));
    /// assert_eq!(StatusEvent::ipn_timestamp(Done, 1_700_000_000_123).source, Source::Ipn);
    /// ```
    pub fn ipn_timestamp(status: OrderStatus, n: u64) -> Self {
        Self {
            status,
            at: Some(UnixMillis::from_seconds_or_millis(n)),
            source: if n < UnixMillis::SECONDS_BELOW {
                Source::IpnSeconds
            } else {
                Source::Ipn
            },
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
    /// The newest signed change (IPN) recorded for the order, which may be
    /// older than the current status when a poll learned a later one. IPNs
    /// are ordered among themselves by their signed time, so a genuine
    /// change is never judged against a poll's wide window alone.
    pub last_signed: Option<SignedMark>,
}

/// A signed change the tracker has recorded: its status and the interval of
/// its signed timestamp.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedMark {
    /// The status the IPN reported.
    pub status: OrderStatus,
    /// Its signed `timestamp` (the first millisecond, for one in seconds).
    pub at: UnixMillis,
    /// 0 for a timestamp in milliseconds, 999 for one in seconds.
    pub window_ms: u64,
}

impl SignedMark {
    /// The mark of a signed event; `None` for a poll or an IPN without a
    /// readable time.
    fn of(event: &StatusEvent) -> Option<Self> {
        match (event.source.is_signed(), event.at) {
            (true, Some(at)) => Some(Self {
                status: event.status.clone(),
                at,
                window_ms: event.source.window_ms(),
            }),
            _ => None,
        }
    }

    fn end(&self) -> UnixMillis {
        self.at.plus_ms(self.window_ms)
    }

    /// The later of the recorded mark `a` and a new one `b`: by start, then
    /// the narrower; on a tie the recorded one stays (two changes that time
    /// cannot order do not displace each other).
    fn later(a: Option<&SignedMark>, b: SignedMark) -> SignedMark {
        let key = |m: &SignedMark| (m.at, core::cmp::Reverse(m.window_ms));
        match a {
            Some(a) if key(a) >= key(&b) => a.clone(),
            _ => b,
        }
    }
}

/// How a signed event relates to the newest signed change already recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SignedOrder {
    /// Not signed, or nothing signed recorded yet to compare with.
    Unordered,
    /// Ended before the recorded one began: older than a recorded change.
    Older,
    /// The same status at the same signed time: the recorded change again.
    Same,
    /// The same status at another signed time that overlaps the recorded one
    /// (an IPN in milliseconds inside a second another was signed in): time
    /// cannot order them, yet two signed IPNs of one status are two changes —
    /// the platform sends one per change.
    Concurrent,
    /// The same status, after the recorded change ended: the order left the
    /// status and came back (the change in between was lost).
    Revisit,
    /// Not older, another status: a change not recorded yet.
    Newer,
}

fn signed_order(last: Option<&SignedMark>, event: &StatusEvent) -> SignedOrder {
    let (Some(last), Some(mark)) = (last, SignedMark::of(event)) else {
        return SignedOrder::Unordered;
    };
    if mark.end() < last.at {
        SignedOrder::Older
    } else if mark.status != last.status {
        SignedOrder::Newer
    } else if mark.at > last.end() {
        SignedOrder::Revisit
    } else if mark == *last {
        SignedOrder::Same
    } else {
        SignedOrder::Concurrent
    }
}

impl KnownStatus {
    /// What becomes known when `event` is applied on top of `previous`: the
    /// event's status, time and source; an event without a time keeps the
    /// previous time (the change happened after it). A signed event also
    /// becomes the newest signed change when it is later than the one
    /// recorded.
    pub fn after(previous: Option<&KnownStatus>, event: &StatusEvent) -> Self {
        // The change made current is the newest signed one, ties included.
        let last_signed = match SignedMark::of(event) {
            Some(mark) => Some(mark),
            None => previous.and_then(|p| p.last_signed.clone()),
        };
        match (event.at, previous) {
            (None, Some(prev)) if prev.at.is_some() => Self {
                status: event.status.clone(),
                at: prev.at,
                source: prev.source,
                last_signed,
            },
            _ => Self {
                status: event.status.clone(),
                at: event.at,
                source: event.source,
                last_signed,
            },
        }
    }

    /// The newest signed change once `event` is recorded.
    fn signed_after(previous: Option<&KnownStatus>, event: &StatusEvent) -> Option<SignedMark> {
        let last = previous.and_then(|p| p.last_signed.as_ref());
        match SignedMark::of(event) {
            Some(mark) => Some(SignedMark::later(last, mark)),
            None => last.cloned(),
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
    /// let known = KnownStatus { status: InProgressPayout, at: Some(ms(1_000)), source: Source::Ipn, last_signed: None };
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
            return Some(KnownStatus {
                last_signed: self.last_signed.clone(),
                ..KnownStatus::after(None, event)
            });
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
            last_signed: self.last_signed.clone(),
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
    /// `done`), or of an order that cannot be told from what is known (a
    /// poll inside another poll's window, in a lifecycle cycle): do nothing.
    /// A later poll settles the second case. A signed change (an IPN) is
    /// stale only when it is older than a signed change already recorded;
    /// otherwise it is [`Decision::Superseded`].
    Stale,
    /// A genuine signed change (an IPN) that is not the current status any
    /// more: a poll has already learned a later one, or the two cannot be
    /// ordered (its time falls inside the poll's window, in a lifecycle
    /// cycle). Recorded and given to the business step **as history**, never
    /// made current; the current status does not move backwards. When the
    /// two could not be ordered, [`Transition::repoll`] asks for a prompt
    /// poll to settle which is current.
    Superseded,
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
    /// ([`KnownStatus::merge_duplicate`]), a newer signed change recorded
    /// ([`KnownStatus::last_signed`]). `None`: nothing changes.
    pub known: Option<KnownStatus>,
    /// A signed change could not be ordered against the current status (its
    /// time falls inside a poll's window, in a lifecycle cycle): poll the
    /// order again soon, and let the answer decide which is current.
    pub repoll: bool,
}

/// **The transition rule**: what `event` means for an order whose known state
/// is `known`, and what is known afterwards. Deterministic: no clock is read;
/// times come in the arguments. [`Tracker`], the store's exactly-once apply
/// and every receiver call this one function.
///
/// Two things are tracked, and a decision answers for both:
///
/// **The current status never moves backwards.** Times are compared as
/// intervals on the platform's clock (an IPN in milliseconds and a poll that
/// carried the order's own time are instants; an IPN in seconds is its whole
/// second; a poll without a time is the interval of
/// [`StatusEvent::polled_between`]): an event that ended before the known
/// observation began is not current; when the intervals overlap, the
/// lifecycle orders them only when it allows one way round and not the
/// other; an event that began after the known observation is judged by the
/// lifecycle ([`Decision::Unexpected`] if it does not lead there).
///
/// **Every genuine signed change reaches the business step, in the
/// platform's order.** IPNs are ordered among themselves by their signed
/// time ([`KnownStatus::last_signed`]), never against a poll's wide window
/// alone. An IPN the current status has moved past is
/// [`Decision::Superseded`] — recorded and delivered as history — unless it
/// is older than a signed change already recorded ([`Decision::Stale`]).
/// An IPN of the current status signed after the current observation ended
/// (the order left it and came back) is applied again; one signed within
/// that observation, other than the sighting already recorded, is history
/// too — it may be a return the platform made, or the change a poll saw
/// first: delivered, never applied twice. A poll decides only the current
/// status.
///
/// IPN `inProgress`@1000 → poll `errorPayout` at 10 000 → a late IPN
/// `inProgressPayout`@2000 is history, and the order stays `errorPayout`:
///
/// ```
/// use smartex_core::status::{transition, Decision, KnownStatus, Source, StatusEvent};
/// use smartex_core::time::UnixMillis;
/// use smartex_core::OrderStatus::*;
/// let ms = UnixMillis::from_millis;
/// let first = transition(None, &StatusEvent::ipn(InProgress, ms(1_000)));
/// assert_eq!(first.decision, Decision::Apply);
/// let known = first.known.unwrap();
/// let poll = StatusEvent::polled_between(ErrorPayout, ms(10_000), ms(10_300), 5_000);
/// let polled = transition(Some(&known), &poll).known.unwrap();
/// assert_eq!(polled.status, ErrorPayout);
/// let late = transition(Some(&polled), &StatusEvent::ipn(InProgressPayout, ms(2_000)));
/// assert_eq!(late.decision, Decision::Superseded);
/// assert_eq!(late.known.as_ref().map(|k| &k.status), Some(&ErrorPayout));
/// // Older than the signed change just recorded: stale.
/// let older = transition(late.known.as_ref(), &StatusEvent::ipn(WaitPayment, ms(500)));
/// assert_eq!((older.decision, older.known), (Decision::Stale, None));
/// ```
pub fn transition(known: Option<&KnownStatus>, event: &StatusEvent) -> Transition {
    let current = decide_current(known, event);
    // The newest signed change: as recorded, or — for a known status set by
    // an IPN with no mark recorded beside it (built by hand, or stored before
    // marks were) — that status itself.
    let implicit = known.filter(|k| k.last_signed.is_none()).and_then(|k| {
        SignedMark::of(&StatusEvent {
            status: k.status.clone(),
            at: k.at,
            source: k.source,
        })
    });
    let last = known
        .and_then(|k| k.last_signed.as_ref())
        .or(implicit.as_ref());
    let order = signed_order(last, event);
    let signed = event.source.is_signed();
    let duplicate = current == Decision::Duplicate;
    let decision = match (current, order) {
        // The current status moves forward: applied, whatever the signed order.
        (Decision::Apply, _) => Decision::Apply,
        // Not newer than a signed change already recorded: nothing to record.
        (_, SignedOrder::Older | SignedOrder::Same) if duplicate => Decision::Duplicate,
        (_, SignedOrder::Older | SignedOrder::Same) => Decision::Stale,
        // The current status, signed after the current observation ended:
        // provably a new change of it — the order left the status and came
        // back (the change in between was lost). Within that observation, it
        // is history (the arms below). A final status is never left.
        (
            Decision::Duplicate,
            SignedOrder::Revisit | SignedOrder::Newer | SignedOrder::Unordered,
        ) if signed && !event.status.is_final() && after_current(known, event) => Decision::Apply,
        // Another change of the current status that time cannot order against
        // the one recorded: history for the business step (never applied
        // twice, the current status does not move). A final status is never
        // left, so a second sighting of it is the change known.
        (Decision::Duplicate, SignedOrder::Concurrent) if !event.status.is_final() => {
            Decision::Superseded
        }
        // The current status, signed after the newest signed change (of
        // another status, or of this one; or with none recorded: a poll set
        // it), inside the current observation's window: the order
        // may have come back to it (the business step must see that), or a
        // poll may have seen this very change first. History either way:
        // delivered, never applied twice.
        (
            Decision::Duplicate,
            SignedOrder::Newer | SignedOrder::Revisit | SignedOrder::Unordered,
        ) if signed && event.at.is_some() && !event.status.is_final() => Decision::Superseded,
        (Decision::Duplicate, _) => Decision::Duplicate,
        // A genuine change the current status has moved past, or that cannot
        // be ordered against a poll: history for the business step.
        (Decision::Stale, _) if signed => Decision::Superseded,
        (other, _) => other,
    };
    let repoll = decision == Decision::Superseded && overlaps_current(known, event);
    let after = match decision {
        // A revisit of the current status: the same status, its time merged
        // (never moved back to an earlier sighting), the change recorded.
        Decision::Apply if duplicate => {
            let merged = known.and_then(|k| k.merge_duplicate(event));
            record_signed(merged.as_ref().or(known), event).or(merged)
        }
        Decision::Apply => Some(KnownStatus::after(known, event)),
        // Only the current observation's time moves: the newest signed
        // change stays the newest one *delivered*, so that a change older
        // than this undelivered sighting but newer than everything delivered
        // is still delivered.
        Decision::Duplicate => known.and_then(|k| k.merge_duplicate(event)),
        Decision::Superseded => record_signed(known, event),
        Decision::Stale | Decision::Unexpected { .. } => None,
    };
    Transition {
        decision,
        known: after,
        repoll,
    }
}

/// `known` with `event` recorded as the newest signed change, if it is one
/// and it changes what is recorded.
fn record_signed(known: Option<&KnownStatus>, event: &StatusEvent) -> Option<KnownStatus> {
    let known = known?;
    let last_signed = KnownStatus::signed_after(Some(known), event);
    (last_signed != known.last_signed).then(|| KnownStatus {
        last_signed,
        ..known.clone()
    })
}

/// Whether `event` began after the current observation ended.
fn after_current(known: Option<&KnownStatus>, event: &StatusEvent) -> bool {
    matches!(
        (known.and_then(KnownStatus::latest), event.at),
        (Some(end), Some(start)) if start > end
    )
}

/// Whether `event`'s interval overlaps the current observation's.
fn overlaps_current(known: Option<&KnownStatus>, event: &StatusEvent) -> bool {
    match (
        known.and_then(|k| k.at.zip(k.latest())),
        event.at.zip(event.latest()),
    ) {
        (Some((k_start, k_end)), Some((e_start, e_end))) => e_end >= k_start && e_start <= k_end,
        _ => false,
    }
}

/// The decision half of [`transition`], for a caller that only needs to
/// know what an event means (an answer to a replayed notification).
pub fn decide(known: Option<&KnownStatus>, event: &StatusEvent) -> Decision {
    transition(known, event).decision
}

/// Why a change held for review ([`Decision::Unexpected`]) can no longer be
/// accepted ([`accept_held`]): the order has learned something newer since.
///
/// Exhaustive, like [`Decision`]: a reason added later must be handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StaleHeld {
    /// The order's current status was observed after the held change began
    /// (or over a time that overlaps it): accepting it would move the
    /// current status backwards, or over a fact of unknown order.
    CurrentIsNewer,
    /// A signed change (an IPN) recorded for the order began after the held
    /// change ended.
    SignedIsNewer,
}

impl StaleHeld {
    /// Why, in words (for an error message or a log line).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::CurrentIsNewer => {
                "the order's current status was observed at or after the held change: \
                 the order has moved on since it was held"
            }
            Self::SignedIsNewer => "a newer signed change of the order was recorded since",
        }
    }
}

impl core::fmt::Display for StaleHeld {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.reason())
    }
}

/// **What is known after a person accepts a held change**: `held` — an event
/// that [`transition`] decided [`Decision::Unexpected`] — made the order's
/// current status against `known`, what the order knows now.
///
/// The person's decision overrides the lifecycle (a final status changing, a
/// move the inferred lifecycle does not know: an operator's hand), never
/// time: the current status still never moves backwards. So the held change
/// is accepted only if it began after the current observation ended — as it
/// did when it was held, unless the order has learned something since — and
/// did not end before a signed change already recorded; otherwise
/// [`StaleHeld`] says why, and the person looks at the order again. What is
/// known afterwards is what applying it would give ([`KnownStatus::after`]):
/// its status, time and source, and the newest signed change.
///
/// `done`@1 000 by IPN, then an operator's `hold`@2 000 — held, since a final
/// status does not change by itself — accepted; a second held change older
/// than the accepted one is refused:
///
/// ```
/// use smartex_core::status::{accept_held, transition, Decision, StaleHeld, StatusEvent};
/// use smartex_core::time::UnixMillis;
/// use smartex_core::OrderStatus::*;
/// let ms = UnixMillis::from_millis;
/// let done = transition(None, &StatusEvent::ipn(Done, ms(1_000))).known.unwrap();
/// let hold = StatusEvent::ipn(Hold, ms(2_000));
/// assert!(matches!(transition(Some(&done), &hold).decision, Decision::Unexpected { .. }));
/// let accepted = accept_held(Some(&done), &hold).unwrap();
/// assert_eq!((accepted.status.clone(), accepted.at), (Hold, Some(ms(2_000))));
/// let older = StatusEvent::ipn(InProgressPayout, ms(1_500));
/// assert_eq!(accept_held(Some(&accepted), &older), Err(StaleHeld::CurrentIsNewer));
/// ```
pub fn accept_held(
    known: Option<&KnownStatus>,
    held: &StatusEvent,
) -> Result<KnownStatus, StaleHeld> {
    if let Some(known) = known {
        if let (Some(current_end), Some(start)) = (known.latest(), held.at)
            && start <= current_end
        {
            return Err(StaleHeld::CurrentIsNewer);
        }
        if let (Some(signed), Some(end)) = (known.last_signed.as_ref(), held.latest())
            && end < signed.at
        {
            return Err(StaleHeld::SignedIsNewer);
        }
    }
    Ok(KnownStatus::after(known, held))
}

/// The rule for the current status alone: time first (as intervals), then
/// the lifecycle. It never moves the current status backwards.
fn decide_current(known: Option<&KnownStatus>, event: &StatusEvent) -> Decision {
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
        let Transition {
            decision, known, ..
        } = transition(self.known.as_ref(), event);
        if known.is_some() {
            self.known = known;
        }
        decision
    }
}
