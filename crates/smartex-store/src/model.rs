//! The records the store keeps and the arguments of its operations.

use std::time::Duration;

use smartex_core::amounts::{AmountCheck, Amounts};
use smartex_core::derived::Reference;
use smartex_core::status::{
    Decision, KnownStatus, PaymentView, Source, StaleHeld, StatusEvent, accept_held,
};
use smartex_core::time::UnixMillis;
use smartex_core::{IpnSecret, ObjectId, OrderSecret, OrderStatus, OrderUid};

/// How the IPN secret of an order is found when its notification arrives.
#[derive(Clone, PartialEq, Eq)]
pub enum IpnSecretSource {
    /// Derived from one of the merchant's master keys and the merchant
    /// reference (`HMAC-SHA256(master key, reference)`): nothing secret is
    /// stored, only which key (`key_id`) derived it.
    Derived {
        /// The id of the master key that derived the secret.
        key_id: String,
    },
    /// A secret of the order's own, stored with it (sealed when the store seals).
    Stored(IpnSecret),
    /// The order expects no IPN (created without an `ipnUrl`): it is learned
    /// by polling only.
    None,
}

impl std::fmt::Debug for IpnSecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Derived { key_id } => f.debug_struct("Derived").field("key_id", key_id).finish(),
            Self::Stored(_) => f.write_str("Stored([redacted])"),
            Self::None => f.write_str("None"),
        }
    }
}

/// An order recorded before the platform is asked to create it: pending
/// until what the platform answers is bound to it
/// ([`OrderStore::bind_order`](crate::OrderStore::bind_order)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingOrder {
    /// The merchant's own reference: unique in the store, never reused.
    pub reference: Reference,
    /// How its IPN secret will be found.
    pub ipn_secret: IpnSecretSource,
    /// When it was recorded (our clock).
    pub created_at: UnixMillis,
    /// When the reconciler should first look at it; `None` never.
    pub first_poll_at: Option<UnixMillis>,
    /// The `amount` the merchant asked for in `order/create` (exact text;
    /// negative: the amount the customer receives), if known.
    pub asked_amount: Option<String>,
}

/// What the platform told about an order: its `orderId`, `uid` and secret,
/// from the create response or (the `orderId`) from a verified IPN. Each field
/// set here is stored once; binding the same value again is a no-op, binding a
/// different one is [`crate::Error::Conflict`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrderBinding {
    /// The platform's `orderId` (`_id`).
    pub order_id: Option<ObjectId>,
    /// The platform's numeric `uid`.
    pub uid: Option<OrderUid>,
    /// The order's secret (needed to poll it with `order/get`).
    pub order_secret: Option<OrderSecret>,
    /// The amounts the platform answered at create: what the business step
    /// compares each change's signed amounts with. Stored once, like the
    /// other fields (a different value later is kept as it was first told).
    pub expected: Option<Amounts>,
}

/// Which order an operation is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderKey<'a> {
    /// By the merchant's reference.
    Reference(&'a Reference),
    /// By the platform's `orderId`.
    OrderId(&'a ObjectId),
}

/// One order as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderRecord {
    /// The merchant's reference.
    pub reference: Reference,
    /// The platform's `orderId`, once known.
    pub order_id: Option<ObjectId>,
    /// The platform's `uid`, once known.
    pub uid: Option<OrderUid>,
    /// The order's secret, once known.
    pub order_secret: Option<OrderSecret>,
    /// How its IPN secret is found.
    pub ipn_secret: IpnSecretSource,
    /// The status last applied, with when it was observed and by whom.
    pub known: Option<KnownStatus>,
    /// Bumped by every change of the record: the compare-and-set token.
    pub version: u64,
    /// When the order was recorded.
    pub created_at: UnixMillis,
    /// When the record last changed.
    pub updated_at: UnixMillis,
    /// When the reconciler should poll it next; `None` when it no longer
    /// needs polling (final, or given up).
    pub next_poll_at: Option<UnixMillis>,
    /// How many polls were finished for it (for backoff).
    pub poll_attempts: u32,
    /// The `amount` the merchant asked for, if recorded.
    pub asked_amount: Option<String>,
    /// The amounts the platform answered at create, if known.
    pub expected: Amounts,
}

impl OrderRecord {
    /// Whether the known status is final.
    pub fn is_final(&self) -> bool {
        self.known.as_ref().is_some_and(|k| k.status.is_final())
    }

    /// What a change of this order is expected to carry: the amounts the
    /// platform answered at create; without them (an ambiguous create), the
    /// amount the merchant asked for (a positive `amount` is what the
    /// customer pays, a negative one what they receive).
    pub fn expected_amounts(&self) -> Amounts {
        if !self.expected.is_empty() {
            return self.expected.clone();
        }
        let mut expected = Amounts::default();
        if let Some(asked) = &self.asked_amount {
            match asked.strip_prefix('-') {
                Some(received) => expected.out_amount = Some(received.to_owned()),
                None => expected.in_amount = Some(asked.clone()),
            }
        }
        expected
    }
}

/// The identity of one notification, so that a repeat is recognised: for an
/// IPN, its `orderId` and a digest of what identifies it. The facade uses
/// `ipn:<orderId>:<`ReplayKey::storage_key`>` (a SHA-256 of the order id,
/// status, timestamp and matched checksum, which reveals none of them);
/// [`NotificationKey::ipn`] builds one from the checksum itself.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NotificationKey(String);

impl NotificationKey {
    /// A key of a verified IPN from its `orderId` and the checksum that
    /// matched (hex, any case; stored lowercased).
    pub fn ipn(order_id: &ObjectId, checksum_hex: &str) -> Self {
        Self(format!(
            "ipn:{}:{}",
            order_id.as_str(),
            checksum_hex.to_ascii_lowercase()
        ))
    }

    /// A key of the caller's own making (at most 200 bytes).
    pub fn custom(key: impl Into<String>) -> crate::Result<Self> {
        let key = key.into();
        if key.is_empty() || key.len() > 200 {
            return Err(crate::Error::InvalidInput {
                field: "notification key",
                reason: "must be 1 to 200 bytes",
            });
        }
        Ok(Self(key))
    }

    /// The key as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A status observation to decide and apply: a verified IPN or a poll answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observation {
    /// The status, when it was observed and by whom.
    pub event: StatusEvent,
    /// The notification's identity (IPNs); `None` for polls, whose repeats
    /// the tracker answers as duplicates.
    pub key: Option<NotificationKey>,
    /// When we received it (our clock).
    pub received_at: UnixMillis,
    /// The amounts it carried, exactly as received: an IPN's signed
    /// `inAmount`, `outAmount`, `xml_from`, `xml_to`; a poll's amounts.
    pub amounts: Amounts,
}

impl Observation {
    /// With the amounts it carried.
    #[must_use]
    pub fn with_amounts(mut self, amounts: Amounts) -> Self {
        self.amounts = amounts;
        self
    }

    /// A verified IPN: its event, its identity and when it arrived.
    pub fn ipn(event: StatusEvent, key: NotificationKey, received_at: UnixMillis) -> Self {
        Self {
            event,
            key: Some(key),
            received_at,
            amounts: Amounts::default(),
        }
    }

    /// A poll answer.
    pub fn poll(event: StatusEvent, received_at: UnixMillis) -> Self {
        Self {
            event,
            key: None,
            received_at,
            amounts: Amounts::default(),
        }
    }
}

/// A decision as the event log keeps it: the tracker's, or a person's on a
/// change the tracker held for review.
///
/// Deliberately exhaustive, like [`Decision`]: a kind added later must be
/// handled by every match on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DecisionKind {
    /// Applied: the order's state changed and an outbox item was written.
    Apply,
    /// The order already had this status.
    Duplicate,
    /// Older than what was known, or of an order time cannot tell.
    Stale,
    /// A genuine signed change the current status has moved past: recorded,
    /// and given to the business step as history (not current).
    Superseded,
    /// Outside the lifecycle; held for a person to look at
    /// ([`OrderStore::held`](crate::OrderStore::held)).
    Unexpected,
    /// A person accepted a held change: it became the order's current
    /// status and an outbox item was written
    /// ([`OrderStore::accept_held`](crate::OrderStore::accept_held)).
    Accepted,
    /// A person dismissed a held change: nothing else changed
    /// ([`OrderStore::dismiss_held`](crate::OrderStore::dismiss_held)).
    Dismissed,
}

impl DecisionKind {
    /// The kind of a core [`Decision`] (one kind for each: both enums are
    /// exhaustive, so a decision added later must be given its kind here).
    /// [`Accepted`](Self::Accepted) and [`Dismissed`](Self::Dismissed) are
    /// people's decisions, never the tracker's.
    pub fn of(decision: &Decision) -> Self {
        match decision {
            Decision::Apply => Self::Apply,
            Decision::Duplicate => Self::Duplicate,
            Decision::Stale => Self::Stale,
            Decision::Superseded => Self::Superseded,
            Decision::Unexpected { .. } => Self::Unexpected,
        }
    }

    /// Whether the decision reaches the business step (an outbox item):
    /// applied as the current status (by the tracker or a person), or
    /// recorded as history.
    pub fn is_delivered(&self) -> bool {
        match self {
            Self::Apply | Self::Superseded | Self::Accepted => true,
            Self::Duplicate | Self::Stale | Self::Unexpected | Self::Dismissed => false,
        }
    }

    /// Whether the decision made the change the order's current status.
    pub fn is_current(&self) -> bool {
        match self {
            Self::Apply | Self::Accepted => true,
            Self::Duplicate
            | Self::Stale
            | Self::Superseded
            | Self::Unexpected
            | Self::Dismissed => false,
        }
    }

    /// How the event log spells it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Apply => "apply",
            Self::Duplicate => "duplicate",
            Self::Stale => "stale",
            Self::Superseded => "superseded",
            Self::Unexpected => "unexpected",
            Self::Accepted => "accepted",
            Self::Dismissed => "dismissed",
        }
    }

    /// Reads a stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "apply" => Self::Apply,
            "duplicate" => Self::Duplicate,
            "stale" => Self::Stale,
            "superseded" => Self::Superseded,
            "unexpected" => Self::Unexpected,
            "accepted" => Self::Accepted,
            "dismissed" => Self::Dismissed,
            _ => return None,
        })
    }
}

impl std::fmt::Display for DecisionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of the append-only event log: an observation and its decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRow {
    /// Its id (increasing in insertion order; on PostgreSQL not necessarily
    /// in commit order).
    pub id: i64,
    /// The order's reference.
    pub reference: Reference,
    /// The observation.
    pub event: StatusEvent,
    /// The notification's identity, if it had one.
    pub key: Option<NotificationKey>,
    /// When it was received.
    pub received_at: UnixMillis,
    /// What was decided: by the tracker, or — [`DecisionKind::Accepted`],
    /// [`DecisionKind::Dismissed`] — by a person ([`EventRow::resolution`]).
    pub decision: DecisionKind,
    /// Why, for [`DecisionKind::Unexpected`].
    pub reason: Option<String>,
    /// The order's version after this row (unchanged unless applied or
    /// accepted).
    pub version: u64,
    /// The amounts the observation carried, exactly as received.
    pub amounts: Amounts,
    /// For a person's decision on a held change: which change, who and when.
    /// The row repeats the held observation (its status, time, source,
    /// amounts and `received_at`).
    pub resolution: Option<Resolution>,
}

/// A person's decision on a change held for review, as the event log keeps
/// it: on a row of its own (the log is append-only), decided
/// [`DecisionKind::Accepted`] or [`DecisionKind::Dismissed`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolution {
    /// The id of the held row it resolves (each is resolved at most once).
    pub resolves: i64,
    /// Who decided, as they gave it (an operator's name, `cli:alice`):
    /// free text, so escape it before printing it.
    pub by: String,
    /// When, on the deciding instance's clock.
    pub at: UnixMillis,
}

/// A change held for review: a verified observation the tracker decided
/// [`DecisionKind::Unexpected`] (a final status changing, a move the
/// lifecycle does not know — an operator's hand, most often), not resolved
/// yet. Listed by [`OrderStore::held`](crate::OrderStore::held).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldChange {
    /// The held row: its id (to accept or dismiss it), the order's
    /// reference, the status with its signed time and source, why it was
    /// held ([`EventRow::reason`]), its amounts, and when it was received
    /// ([`EventRow::received_at`]).
    pub event: EventRow,
    /// What the order knows now: its current status, which accepting the
    /// held change would replace.
    pub current: Option<KnownStatus>,
}

impl HeldChange {
    /// Why accepting it now would be refused (the order has learned
    /// something newer since it was held: [`accept_held`]), if it would.
    pub fn stale(&self) -> Option<StaleHeld> {
        accept_held(self.current.as_ref(), &self.event.event).err()
    }
}

/// What [`OrderStore::accept_held`](crate::OrderStore::accept_held) or
/// [`OrderStore::dismiss_held`](crate::OrderStore::dismiss_held) wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The resolution's row in the event log.
    pub event_id: i64,
    /// The order afterwards: for an accepted change, with its new status
    /// and version.
    pub order: OrderRecord,
    /// The outbox item written for an accepted change.
    pub outbox_id: Option<i64>,
}

/// What [`crate::OrderStore::apply`] did.
// Returned once per apply and matched at once: boxing the record would cost
// an allocation and a less direct API for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApplyOutcome {
    /// The tracker decided against the stored state, and the decision was
    /// written in one transaction with its event-log row — and, when it is
    /// [`Decision::Apply`], with the new state and an outbox item.
    Decided {
        /// The tracker's decision.
        decision: Decision,
        /// The order after the decision.
        order: OrderRecord,
        /// The event-log row written.
        event_id: i64,
        /// The outbox item written (for [`Decision::Apply`] and
        /// [`Decision::Superseded`]).
        outbox_id: Option<i64>,
    },
    /// This notification (same [`NotificationKey`]) was processed before:
    /// nothing was written. Answer it as a success.
    Repeat {
        /// The event-log row of the first processing.
        event_id: i64,
        /// What was decided then.
        decision: DecisionKind,
    },
}

impl ApplyOutcome {
    /// Whether this call changed the order's state.
    pub fn is_applied(&self) -> bool {
        matches!(
            self,
            Self::Decided {
                decision: Decision::Apply,
                ..
            }
        )
    }
}

/// A lease request: who claims, when, for how long and how many rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The claimant (an instance id); shown in the rows it holds.
    pub owner: String,
    /// Now, on the claimant's clock.
    pub now: UnixMillis,
    /// How long the claim holds before others may take the row (counted in
    /// whole milliseconds).
    pub duration: Duration,
    /// At most this many rows.
    pub limit: u32,
}

/// One applied change waiting for the merchant's business step (ship,
/// refund): delivered at least once, until acknowledged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxItem {
    /// Its id (acknowledge with it).
    pub id: i64,
    /// The event-log row of the change.
    pub event_id: i64,
    /// The order's reference.
    pub reference: Reference,
    /// The order's `orderId`, if known when the change was applied.
    pub order_id: Option<ObjectId>,
    /// The status before the change.
    pub previous: Option<OrderStatus>,
    /// The status applied.
    pub status: OrderStatus,
    /// Who reported it.
    pub source: Source,
    /// When the change was applied.
    pub created_at: UnixMillis,
    /// How many times it has been claimed, this claim included.
    pub attempts: u32,
    /// Until when this claim holds.
    pub lease_until: UnixMillis,
    /// Whether the change became the order's current status. `false`: a
    /// genuine signed change the status had already moved past when it
    /// arrived ([`DecisionKind::Superseded`]) — history, not an instruction.
    pub current: bool,
    /// The amounts the change carried, exactly as received (an IPN's are
    /// signed).
    pub amounts: Amounts,
    /// What the order was expected to carry when the change was applied
    /// ([`OrderRecord::expected_amounts`]).
    pub expected: Amounts,
    /// Who made it current, for a change a person accepted after the
    /// tracker held it ([`DecisionKind::Accepted`]); `None` for the
    /// tracker's own decisions. Free text: escape it before printing it.
    pub decided_by: Option<String>,
}

impl OutboxItem {
    /// What the change's status says about the payment. Ship only on
    /// [`PaymentView::Received`] **and** an amount check you accept
    /// ([`OutboxItem::amount_check`]), for a change that is
    /// [`current`](Self::current).
    pub fn payment(&self) -> PaymentView {
        self.status.payment()
    }

    /// How the change's amounts compare with what was expected.
    pub fn amount_check(&self) -> AmountCheck {
        AmountCheck::compare(&self.expected, &self.amounts)
    }
}
