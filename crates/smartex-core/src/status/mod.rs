//! Order statuses and their lifecycle; the pure tracker ([`transition`], in
//! a file of its own) decides what an incoming change means.
//!
//! The merchant docs list the ten statuses and their meanings but not the
//! transitions between them; the vendor's operator manual says who may move
//! an order from where. [`STEPS`] writes the lifecycle down as data, each row
//! with who may make the move and where we know it from, and
//! [`OrderStatus::can_follow`] is reachability over it:
//!
//! ```text
//! new ─► waitPayment ─► inProgress ─► inProgressPayout ─► done
//!  │         ▲  │     (the customer       │  ▲
//!  │         │  ▼      may set it)        ▼  │
//!  └────► errorPayment                 errorPayout
//! new, waitPayment expire to deleted; returned from errorPayment, inProgress,
//! inProgressPayout, errorPayout; hold may interrupt any non-final status and
//! be lifted back to any; final: done, returned, deleted
//! ```
//!
//! [`OrderStatus::payment`] says what a status means for the money
//! ([`PaymentView`]): only `inProgressPayout`, `errorPayout` and `done` are
//! proof of payment — the customer can set `inProgress` themselves.
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
/// assert!(s.payment().is_received() && !s.is_final());
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
    /// `inProgress`: awaiting processing **or payment** — the customer can set
    /// it ("I have paid"): not proof of payment ([`PaymentView::ClaimedByCustomer`]).
    InProgress,
    /// `inProgressPayout`: payment received; queued for payout.
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

    /// The statuses that may directly follow `self` in the lifecycle
    /// ([`STEPS`], plus `hold`, which may interrupt any non-final status and
    /// be lifted back to any other).
    pub fn successors(&self) -> impl Iterator<Item = &'static OrderStatus> + '_ {
        let hold: &'static [OrderStatus] = match self {
            _ if self.is_final() => &[],
            OrderStatus::Hold => &Self::KNOWN,
            _ => &[OrderStatus::Hold],
        };
        STEPS
            .iter()
            .filter(move |s| s.from == *self)
            .map(|s| &s.to)
            .chain(hold.iter().filter(move |s| *s != self))
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
        // Breadth-first over the lifecycle's rows ([`STEPS`], which has no
        // `hold`); a bit set of the KNOWN indices avoids any allocation.
        let mut seen: u16 = 0;
        let mut frontier: u16 = 1 << earlier.index();
        while frontier != 0 {
            let mut next = 0u16;
            for step in STEPS {
                if frontier & (1 << step.from.index()) == 0 {
                    continue;
                }
                if step.to == *self {
                    return true;
                }
                let bit = 1 << step.to.index();
                if seen & bit == 0 {
                    next |= bit;
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

mod meaning;
mod tracker;

pub use meaning::{Actor, PaymentView, Provenance, STEPS, Step, expires};
pub use tracker::{
    DEFAULT_CLOCK_SKEW_MS, Decision, KnownStatus, SignedMark, Source, StaleHeld, StatusEvent,
    Tracker, Transition, accept_held, decide, transition,
};
