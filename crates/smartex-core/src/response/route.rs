//! The typed `data` of the route methods: `route/get`, `route/get/one`,
//! `route/get/one/by-xml`.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

use serde::Deserialize;
use serde::de::{Deserializer, Error as _};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::lenient;
use super::members::{Members, json};
use crate::types::ObjectId;

/// `data` of `route/get`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Routes {
    /// The routes.
    pub routes: Vec<Route>,
    /// Every other field, kept.
    pub extra: Map<String, Value>,
}

impl<'de> Deserialize<'de> for Routes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        let mut m = Members::of(&raw)?;
        Ok(Routes {
            routes: m.or_default("routes")?,
            extra: m.extra(),
        })
    }
}

/// `data` of `route/get/one` and `route/get/one/by-xml`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RouteView {
    /// The route.
    pub route: Route,
    /// Every other field, kept.
    pub extra: Map<String, Value>,
}

impl<'de> Deserialize<'de> for RouteView {
    fn deserialize<D: Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        let mut m = Members::of(&raw)?;
        Ok(RouteView {
            route: m.required("route", json)?,
            extra: m.extra(),
        })
    }
}

/// An exchange route: from one currency to another, with the fields it needs.
///
/// A route object may carry its id as `routeId`, as `_id`, or as both (a
/// MongoDB document exposed with an API alias); both at once is accepted, and
/// `routeId` wins.
///
/// ```
/// use smartex_core::response::{decode, Routes};
/// let body = br#"{"success":true,"data":{"routes":[
///     {"_id":"5f1a0c9e8b3d4a0012a1b001","routeId":"5f1a0c9e8b3d4a0012a1b001"},
///     {"_id":"5f1a0c9e8b3d4a0012a1b002"}]}}"#;
/// let routes = decode::<Routes>(body)?.result?.routes;
/// assert_eq!(routes[1].route_id.as_str(), "5f1a0c9e8b3d4a0012a1b002");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Route {
    /// `routeId` (or `_id`).
    pub route_id: ObjectId,
    /// `from`: the currency the client sends.
    pub from: Option<RouteSide>,
    /// `to`: the currency the client receives.
    pub to: Option<RouteSide>,
    /// `fields` of the route itself (`routeValues`).
    pub fields: Vec<RouteField>,
    /// `rate`, as sent.
    pub rate: Option<Value>,
    /// `orderTTL`, as sent.
    pub order_ttl: Option<Value>,
    /// `isShowWeb`.
    pub is_show_web: Option<bool>,
    /// Every other field, kept.
    pub extra: Map<String, Value>,
}

impl<'de> Deserialize<'de> for Route {
    fn deserialize<D: Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        let mut m = Members::of(&raw)?;
        // `routeId` and `_id` are read apart, so that a route carrying both is
        // not refused.
        let route_id: Option<ObjectId> = m.optional("routeId")?;
        let id: Option<ObjectId> = m.optional("_id")?;
        let from = m.optional("from")?;
        let to = m.optional("to")?;
        let fields = m.or_default("fields")?;
        let rate = m.optional("rate")?;
        let order_ttl = m.optional("orderTTL")?;
        let is_show_web = m.optional("isShowWeb")?;
        let mut extra = m.extra();
        let route_id = match (route_id, id) {
            (Some(route_id), Some(id)) => {
                if id != route_id {
                    // Two different ids: keep the other one rather than lose it.
                    extra.insert(
                        String::from("_id"),
                        Value::String(String::from(id.as_str())),
                    );
                }
                route_id
            }
            (Some(id), None) | (None, Some(id)) => id,
            (None, None) => return Err(D::Error::missing_field("routeId")),
        };
        Ok(Route {
            route_id,
            from,
            to,
            fields,
            rate,
            order_ttl,
            is_show_web,
            extra,
        })
    }
}

/// One side of a [`Route`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RouteSide {
    /// `name` (`Bitcoin`).
    pub name: Option<String>,
    /// `symbol` (`BTC`).
    pub symbol: Option<String>,
    /// `xml`, the currency code used in IPNs and `by-xml` lookups.
    pub xml: Option<String>,
    /// The fields this side needs (`fromValues` / `toValues`).
    pub fields: Vec<RouteField>,
    /// Every other field, kept.
    pub extra: Map<String, Value>,
}

impl<'de> Deserialize<'de> for RouteSide {
    fn deserialize<D: Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        let mut m = Members::of(&raw)?;
        Ok(RouteSide {
            name: m.text("name")?,
            symbol: m.text("symbol")?,
            xml: m.text("xml")?,
            fields: m.or_default("fields")?,
            extra: m.extra(),
        })
    }
}

/// A field a route asks for: which `fromValues`/`toValues`/`routeValues` key,
/// and its rules.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RouteField {
    /// `_id` (or `key`): the key to send (an ObjectId, or a name such as `wallet`).
    pub id: String,
    /// `name`: for people.
    pub name: Option<String>,
    /// `type`.
    pub kind: Option<String>,
    /// `required`.
    pub required: Option<bool>,
    /// `regex` the value must match.
    pub regex: Option<String>,
    /// `min` length or amount, exactly as sent.
    pub min: Option<String>,
    /// `max` length or amount, exactly as sent.
    pub max: Option<String>,
    /// Every other field, kept.
    pub extra: Map<String, Value>,
}

impl<'de> Deserialize<'de> for RouteField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        let mut m = Members::of(&raw)?;
        // The id is `_id` (or `key`, in older answers); `_id` wins.
        let id = match m.field("_id", lenient::text)? {
            Some(id) => id,
            None => m
                .field("key", lenient::text)?
                .ok_or_else(|| D::Error::missing_field("_id"))?,
        };
        Ok(RouteField {
            id,
            name: m.text("name")?,
            kind: m.text("type")?,
            required: m.field("required", lenient::opt_bool)?.flatten(),
            regex: m.text("regex")?,
            min: m.text("min")?,
            max: m.text("max")?,
            extra: m.extra(),
        })
    }
}
