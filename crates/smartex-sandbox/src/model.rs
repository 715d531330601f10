//! What the sandbox shows of its orders and of the IPNs it sent.

use std::time::Duration;

use serde_json::{Value, json};
use smartex_core::status::Actor;
use smartex_core::{ObjectId, OrderSecret, OrderStatus, OrderUid};

/// `server`, `customer` or `operator`: how the admin endpoint names who set
/// a status.
pub(crate) fn actor_name(actor: Actor) -> &'static str {
    match actor {
        Actor::Server => "server",
        Actor::Customer => "customer",
        Actor::Operator => "operator",
    }
}

/// The actor [`actor_name`] names `name`.
pub(crate) fn parse_actor(name: &str) -> Option<Actor> {
    [Actor::Server, Actor::Customer, Actor::Operator]
        .into_iter()
        .find(|a| actor_name(*a) == name)
}

/// One status an order went through, when (milliseconds since the Unix
/// epoch: the IPN's `timestamp` when IPNs are timed in milliseconds) and who
/// set it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatusChange {
    /// The status.
    pub status: OrderStatus,
    /// When the order took it, in ms.
    pub at_ms: u64,
    /// Who set it: the [server](Actor::Server) (the schedule, expiry,
    /// [`Sandbox::advance`](crate::Sandbox::advance)), the
    /// [customer](Actor::Customer) (`order/update-status` with the uid and
    /// secret) or an [operator](Actor::Operator)
    /// ([`Sandbox::set_status`](crate::Sandbox::set_status)).
    pub by: Actor,
}

impl StatusChange {
    pub(crate) fn to_json(&self) -> Value {
        json!({"status": self.status.as_str(), "at": self.at_ms, "by": actor_name(self.by)})
    }
}

/// One `{key, name, value}` entry of an order's `fromValues`, `toValues` or
/// `routeValues`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueEntry {
    /// The route field's id.
    pub key: String,
    /// The field's name.
    pub name: String,
    /// The value.
    pub value: String,
}

impl ValueEntry {
    pub(crate) fn to_json(&self) -> Value {
        json!({"key": self.key, "name": self.name, "value": self.value})
    }
}

/// An order as the sandbox holds it, at one moment. Its `Debug` hides both secrets.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct OrderSnapshot {
    /// `_id`.
    pub id: ObjectId,
    /// `uid`.
    pub uid: OrderUid,
    /// `secret`: with the uid, opens the order (redacted in `Debug`).
    pub secret: OrderSecret,
    /// The current status.
    pub status: OrderStatus,
    /// Every status so far, `new` first.
    pub history: Vec<StatusChange>,
    /// The route's id.
    pub route_id: String,
    /// `xml_from`: the code of the currency sent.
    pub xml_from: String,
    /// `xml_to`: the code of the currency received.
    pub xml_to: String,
    /// `inAmount` as `order/get` and the next IPN carry it now (decimal
    /// text): what the customer paid if [marked](crate::Sandbox::set_paid_amount),
    /// else the current quote.
    pub in_amount: String,
    /// `outAmount` as `order/get` and the next IPN carry it now: the current
    /// quote (recalculated on floating-rate routes).
    pub out_amount: String,
    /// The amount to send at the current rate (differs from
    /// [`in_amount`](Self::in_amount) once a paid amount is marked).
    pub quoted_in_amount: String,
    /// `inAmount` as `order/create` answered it.
    pub created_in_amount: String,
    /// `outAmount` as `order/create` answered it.
    pub created_out_amount: String,
    /// What the customer actually paid, if [marked](crate::Sandbox::set_paid_amount).
    pub paid_in_amount: Option<String>,
    /// The factor the route's rate was [recalculated](crate::Sandbox::recalculate)
    /// by for this order, as decimal text (`1` when never).
    pub rate_factor: String,
    /// `toValues`.
    pub to_values: Vec<ValueEntry>,
    /// `ipnUrl`, if the order has one.
    pub ipn_url: Option<String>,
    /// Whether the order has an `ipnSecret` (the secret itself is not shown).
    pub has_ipn_secret: bool,
    /// `lang`.
    pub lang: String,
    /// When it was created, in ms since the Unix epoch.
    pub created_at_ms: u64,
    /// `expiresAt`, in ms since the Unix epoch.
    pub expires_at_ms: u64,
}

impl OrderSnapshot {
    /// Whether the order ever had `status`.
    pub fn reached(&self, status: &OrderStatus) -> bool {
        self.history.iter().any(|c| c.status == *status)
    }

    /// The snapshot as JSON, without secrets (what the admin endpoint shows).
    pub fn to_json(&self) -> Value {
        json!({
            "_id": self.id.as_str(),
            "uid": self.uid.get(),
            "status": self.status.as_str(),
            "history": self.history.iter().map(StatusChange::to_json).collect::<Vec<_>>(),
            "routeId": self.route_id,
            "xml_from": self.xml_from,
            "xml_to": self.xml_to,
            "inAmount": self.in_amount,
            "outAmount": self.out_amount,
            "quotedInAmount": self.quoted_in_amount,
            "createdInAmount": self.created_in_amount,
            "createdOutAmount": self.created_out_amount,
            "paidInAmount": self.paid_in_amount,
            "rateFactor": self.rate_factor,
            "toValues": self.to_values.iter().map(ValueEntry::to_json).collect::<Vec<_>>(),
            "ipnUrl": self.ipn_url,
            "hasIpnSecret": self.has_ipn_secret,
            "lang": self.lang,
            "createdAt": self.created_at_ms,
            "expiresAt": self.expires_at_ms,
        })
    }
}

/// Why an IPN record exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IpnKind {
    /// The notification of a status change.
    Original,
    /// The second delivery of the same body ([`IpnFault::Duplicate`](crate::IpnFault::Duplicate)).
    Duplicate,
    /// An earlier body sent again, late ([`Sandbox::resend_stale_ipn`](crate::Sandbox::resend_stale_ipn)).
    Stale,
}

impl IpnKind {
    /// `original`, `duplicate` or `stale`.
    pub fn as_str(self) -> &'static str {
        match self {
            IpnKind::Original => "original",
            IpnKind::Duplicate => "duplicate",
            IpnKind::Stale => "stale",
        }
    }
}

/// What became of an IPN.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeliveryResult {
    /// Queued or on its way.
    Pending,
    /// The receiver answered (any HTTP status: the platform does not retry).
    Delivered {
        /// The HTTP status it answered.
        status: u16,
        /// The first bytes of its answer.
        body: String,
    },
    /// The delivery failed (connection refused, timeout, …).
    Failed(String),
    /// Lost on purpose ([`IpnFault::Drop`](crate::IpnFault::Drop)).
    Dropped,
    /// Not sent: the order has no `ipnSecret`, the URL is not plain `http://`,
    /// or the host is not a loopback address.
    NotSent(String),
}

impl DeliveryResult {
    /// Whether the outcome is final (not [`Pending`](Self::Pending)).
    pub fn is_settled(&self) -> bool {
        !matches!(self, DeliveryResult::Pending)
    }

    /// The HTTP status, if the receiver answered.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            DeliveryResult::Delivered { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// One IPN the sandbox sent, or meant to send.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct IpnRecord {
    /// Its number among all the sandbox's IPNs, from 0.
    pub seq: u64,
    /// Why it exists.
    pub kind: IpnKind,
    /// The order.
    pub order_uid: OrderUid,
    /// `newStatus`.
    pub status: OrderStatus,
    /// `timestamp`, exactly as signed and sent (milliseconds or seconds, see
    /// [`IpnTimestampUnit`](crate::IpnTimestampUnit)).
    pub timestamp: String,
    /// `inAmount`, exactly as signed and sent.
    pub in_amount: String,
    /// `outAmount`, exactly as signed and sent.
    pub out_amount: String,
    /// The `ipnUrl` it goes to.
    pub target: String,
    /// The exact form body (`application/x-www-form-urlencoded`), signed; empty
    /// when [`NotSent`](DeliveryResult::NotSent) for want of a secret.
    pub body: String,
    /// How long delivery was held back ([`IpnFault::Delay`](crate::IpnFault::Delay)).
    pub delay: Option<Duration>,
    /// When it was queued, in ms since the Unix epoch.
    pub queued_at_ms: u64,
    /// What became of it.
    pub outcome: DeliveryResult,
}

impl IpnRecord {
    /// Whether the receiver got it (answered with any status).
    pub fn delivered(&self) -> bool {
        matches!(self.outcome, DeliveryResult::Delivered { .. })
    }

    /// The record as JSON (what the admin endpoint shows).
    pub fn to_json(&self) -> Value {
        let (outcome, detail) = match &self.outcome {
            DeliveryResult::Pending => ("pending", Value::Null),
            DeliveryResult::Delivered { status, body } => {
                ("delivered", json!({"status": status, "body": body}))
            }
            DeliveryResult::Failed(e) => ("failed", json!(e)),
            DeliveryResult::Dropped => ("dropped", Value::Null),
            DeliveryResult::NotSent(why) => ("notSent", json!(why)),
        };
        json!({
            "seq": self.seq,
            "kind": self.kind.as_str(),
            "orderUID": self.order_uid.get(),
            "status": self.status.as_str(),
            "timestamp": self.timestamp,
            "inAmount": self.in_amount,
            "outAmount": self.out_amount,
            "target": self.target,
            "body": self.body,
            "delayMs": self.delay.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            "queuedAt": self.queued_at_ms,
            "outcome": outcome,
            "detail": detail,
        })
    }
}

/// A status change made on command, and the IPNs it sent.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Transition {
    /// The order.
    pub uid: OrderUid,
    /// The status before.
    pub from: OrderStatus,
    /// The status now.
    pub to: OrderStatus,
    /// Who set it.
    pub by: Actor,
    /// The IPNs of this change, settled (none if the order has no `ipnUrl`; two
    /// with [`IpnFault::Duplicate`](crate::IpnFault::Duplicate)).
    pub ipns: Vec<IpnRecord>,
}

impl Transition {
    /// As JSON (what the admin endpoint answers).
    pub fn to_json(&self) -> Value {
        json!({
            "uid": self.uid.get(),
            "from": self.from.as_str(),
            "status": self.to.as_str(),
            "by": actor_name(self.by),
            "ipns": self.ipns.iter().map(IpnRecord::to_json).collect::<Vec<_>>(),
        })
    }
}
