//! The typed `data` of the order methods: `order/create`, `order/get`,
//! `order/update-status`.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

use serde::de::Deserializer;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::Warning;
use super::lenient;
use super::members::{Members, json};
use super::warning::uid_warning;
use crate::secret::OrderSecret;
use crate::status::OrderStatus;
use crate::types::{Amount, ObjectId, OrderUid};

/// `data` of `order/create`.
///
/// `uid` and `secret` are kept whatever their length (see [`Warning`]): the
/// order exists once the platform answered, and these are what finds it.
///
/// Its `Debug` shows the identity, amounts and status, and only the *names*
/// of the fields this crate does not know (`extra`): their values may be
/// requisites or credentials.
#[derive(Clone)]
#[non_exhaustive]
pub struct CreatedOrder {
    /// `_id`.
    pub id: ObjectId,
    /// `uid`, the order's public number.
    pub uid: OrderUid,
    /// `rid`, if sent.
    pub rid: Option<String>,
    /// `secret`: with the uid, opens the order's pages. Keep it.
    pub secret: OrderSecret,
    /// `route`, as sent.
    pub route: Option<Value>,
    /// `inAmount`, exactly as sent.
    pub in_amount: Option<Amount>,
    /// `outAmount`, exactly as sent.
    pub out_amount: Option<Amount>,
    /// `status`, sometimes sent.
    pub status: Option<OrderStatus>,
    /// `expiresAt`, as sent.
    pub expires_at: Option<String>,
    /// Values that break a limit this crate assumed, kept all the same.
    pub warnings: Vec<Warning>,
    /// Every other field, kept (as [`Value`]s: a non-integer number among
    /// them has passed through a float; one no float can hold is kept as a
    /// string of its JSON text).
    pub extra: Map<String, Value>,
}

/// The names of unknown fields, for a `Debug` that must not show their values.
struct Names<'a>(&'a Map<String, Value>);

impl core::fmt::Debug for Names<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

impl core::fmt::Debug for CreatedOrder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CreatedOrder")
            .field("id", &self.id)
            .field("uid", &self.uid)
            .field("rid", &self.rid)
            .field("secret", &self.secret)
            .field("in_amount", &self.in_amount)
            .field("out_amount", &self.out_amount)
            .field("status", &self.status)
            .field("expires_at", &self.expires_at)
            .field("warnings", &self.warnings)
            .field("extra", &Names(&self.extra))
            .finish_non_exhaustive()
    }
}

impl core::fmt::Debug for OrderView {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OrderView")
            .field("order", &self.order)
            .field("verifications", &self.verifications.len())
            .field("extra", &Names(&self.extra))
            .finish()
    }
}

impl core::fmt::Debug for Order {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Order")
            .field("id", &self.id)
            .field("uid", &self.uid)
            .field("rid", &self.rid)
            .field("status", &self.status)
            .field("in_amount", &self.in_amount)
            .field("out_amount", &self.out_amount)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("warnings", &self.warnings)
            .field("extra", &Names(&self.extra))
            .finish_non_exhaustive()
    }
}

impl<'de> Deserialize<'de> for CreatedOrder {
    fn deserialize<D: Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        let mut m = Members::of(&raw)?;
        let id = m.required("_id", json)?;
        let uid = m.required("uid", lenient::platform_uid)?;
        let rid = m.text("rid")?;
        let secret: OrderSecret = m.required("secret", lenient::platform_secret)?;
        let route = m.optional("route")?;
        let expires_at = m.text("expiresAt")?;
        let mut warnings = Vec::new();
        uid_warning(uid, &mut warnings);
        let chars = secret.expose().chars().count();
        if chars > OrderSecret::MAX_LEN {
            warnings.push(Warning::SecretTooLong { chars });
        }
        // The order exists: an amount or a status of an unexpected shape
        // must not cost its uid and secret.
        let in_amount = m.tolerant("inAmount", &mut warnings);
        let out_amount = m.tolerant("outAmount", &mut warnings);
        let status = m.tolerant("status", &mut warnings);
        let extra = m.extra();
        Ok(CreatedOrder {
            id,
            uid,
            rid,
            secret,
            route,
            in_amount,
            out_amount,
            status,
            expires_at,
            warnings,
            extra,
        })
    }
}

/// `data` of `order/get`.
///
/// Its `Debug` shows the order (without requisites), how many verifications
/// there are and the names of unknown fields, never their values.
#[derive(Clone)]
#[non_exhaustive]
pub struct OrderView {
    /// The order.
    pub order: Order,
    /// `verifications`, as sent.
    pub verifications: Vec<Value>,
    /// Every other field, kept.
    pub extra: Map<String, Value>,
}

impl<'de> Deserialize<'de> for OrderView {
    fn deserialize<D: Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        let mut m = Members::of(&raw)?;
        Ok(OrderView {
            order: m.required("order", json)?,
            verifications: m.or_default("verifications")?,
            extra: m.extra(),
        })
    }
}

/// An order as `order/get` returns it.
///
/// Its `Debug` leaves out the requisites (`fromValues`, `toValues`,
/// `routeValues`: the customer's card or wallet) and shows only the names of
/// unknown fields.
#[derive(Clone)]
#[non_exhaustive]
pub struct Order {
    /// `_id`.
    pub id: ObjectId,
    /// `uid` (kept whatever its length; see [`Warning`]).
    pub uid: OrderUid,
    /// `rid`, if sent.
    pub rid: Option<String>,
    /// `status`.
    pub status: OrderStatus,
    /// `inAmount`, exactly as sent.
    pub in_amount: Option<Amount>,
    /// `outAmount`, exactly as sent.
    pub out_amount: Option<Amount>,
    /// `fromValues`, as sent.
    pub from_values: Option<Value>,
    /// `toValues`, as sent.
    pub to_values: Option<Value>,
    /// `routeValues`, as sent.
    pub route_values: Option<Value>,
    /// `route`, as sent.
    pub route: Option<Value>,
    /// `createdAt`, as sent.
    pub created_at: Option<String>,
    /// `expiresAt`, as sent.
    pub expires_at: Option<String>,
    /// `rate`, as sent.
    pub rate: Option<Value>,
    /// Values that break a limit this crate assumed, kept all the same.
    pub warnings: Vec<Warning>,
    /// Every other field, kept.
    pub extra: Map<String, Value>,
}

impl<'de> Deserialize<'de> for Order {
    fn deserialize<D: Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        let mut m = Members::of(&raw)?;
        let id = m.required("_id", json)?;
        let uid = m.required("uid", lenient::platform_uid)?;
        let rid = m.text("rid")?;
        let status = m.required("status", json)?;
        let from_values = m.optional("fromValues")?;
        let to_values = m.optional("toValues")?;
        let route_values = m.optional("routeValues")?;
        let route = m.optional("route")?;
        let created_at = m.text("createdAt")?;
        let expires_at = m.text("expiresAt")?;
        let rate = m.optional("rate")?;
        let mut warnings = Vec::new();
        uid_warning(uid, &mut warnings);
        let in_amount = m.tolerant("inAmount", &mut warnings);
        let out_amount = m.tolerant("outAmount", &mut warnings);
        let extra = m.extra();
        Ok(Order {
            id,
            uid,
            rid,
            status,
            in_amount,
            out_amount,
            from_values,
            to_values,
            route_values,
            route,
            created_at,
            expires_at,
            rate,
            warnings,
            extra,
        })
    }
}

/// `data` of `order/update-status`: `{ok, oldStatus, newStatus}`.
///
/// ```
/// use smartex_core::response::{decode, StatusUpdate};
/// use smartex_core::OrderStatus;
/// let body = br#"{"success":true,"data":{"ok":1,"oldStatus":"waitPayment","newStatus":"inProgress"}}"#;
/// let update = decode::<StatusUpdate>(body)?.result?;
/// assert!(update.ok);
/// assert_eq!(update.new_status, Some(OrderStatus::InProgress));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct StatusUpdate {
    /// `ok`: `1` (or `true`) when the status was changed; `true` if absent
    /// (the envelope's `success` already said so).
    pub ok: bool,
    /// `oldStatus`: the status before the change.
    pub old_status: Option<OrderStatus>,
    /// `newStatus`: the status now.
    pub new_status: Option<OrderStatus>,
    /// Every other field, kept.
    pub extra: Map<String, Value>,
}

impl<'de> Deserialize<'de> for StatusUpdate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        let mut m = Members::of(&raw)?;
        Ok(StatusUpdate {
            ok: m.field("ok", lenient::opt_bool)?.flatten().unwrap_or(true),
            old_status: m.optional("oldStatus")?,
            new_status: m.optional("newStatus")?,
            extra: m.extra(),
        })
    }
}

impl Serialize for StatusUpdate {
    /// The platform's shape: `{"ok":1,"oldStatus":…,"newStatus":…}` plus the
    /// other fields.
    fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("ok", &u8::from(self.ok))?;
        if let Some(old) = &self.old_status {
            map.serialize_entry("oldStatus", old.as_str())?;
        }
        if let Some(new) = &self.new_status {
            map.serialize_entry("newStatus", new.as_str())?;
        }
        for (k, v) in &self.extra {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}
