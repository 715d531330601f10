//! Responses: the `{success, data | error, requestId, latency_ms}` envelope and
//! the typed `data` of each method.
//!
//! The platform is not consistent about numbers (`"uid": 1409` in one place,
//! `"1409"` in another), so typed fields accept both, and every type keeps the
//! fields it does not know in `extra`.
//!
//! ```
//! use smartex_core::response::{decode, CreatedOrder};
//! let body = br#"{"success":true,"requestId":"1742774343407-ATmqdjI","latency_ms":50,
//!   "data":{"_id":"5d8e6002b80b7b4cd75a6424","uid":"1409","secret":"dGqwF2M2eBPaSN1G5ljMS1cb",
//!           "inAmount":2,"outAmount":"317.42","status":"new","somethingNew":1}}"#;
//! let response = decode::<CreatedOrder>(body)?;
//! let order = response.result?;
//! assert_eq!(order.uid.get(), 1409);
//! assert_eq!(order.extra["somethingNew"], 1);
//! assert_eq!(response.request_id.as_deref(), Some("1742774343407-ATmqdjI"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::secret::OrderSecret;
use crate::status::OrderStatus;
use crate::types::{Amount, ObjectId, OrderUid};

/// The error code of a parameter that failed validation (`error.object` names it).
pub const CODE_VALIDATION: &str = "6231546409213868";
/// The error code of "technical works": the site is under maintenance.
pub const CODE_MAINTENANCE: &str = "5555555555555555";

/// How many bytes of an unexpected body an error keeps.
pub const EXCERPT_LEN: usize = 200;

/// A decoded response: the method's result, and what support needs to trace it.
#[derive(Clone, Debug)]
pub struct Response<T> {
    /// `data` on success, the platform's error otherwise.
    pub result: core::result::Result<T, ApiError>,
    /// `requestId`, the platform's trace id.
    pub request_id: Option<String>,
    /// `latency_ms`, the platform's own processing time.
    pub latency_ms: Option<u64>,
}

/// What kind of error the platform reported.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApiErrorKind {
    /// A parameter failed validation ([`CODE_VALIDATION`]); see [`ApiError::field_id`].
    Validation,
    /// The site is under maintenance ([`CODE_MAINTENANCE`]): try again later.
    Maintenance,
    /// Anything else.
    Other,
}

/// An error the platform reported in the envelope (`success: false`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the platform refused the request: {message} (code {})", code.as_deref().unwrap_or("none"))]
pub struct ApiError {
    /// What kind of error.
    pub kind: ApiErrorKind,
    /// The platform's message (`Param toValues isn't valid: wallet`).
    pub message: String,
    /// `errorCode`, as text (the codes exceed JavaScript's safe integers).
    pub code: Option<String>,
    /// `error.object.fieldId`: the offending field's id (`wallet`).
    pub field_id: Option<String>,
    /// `error.object.nameField`: its human name (`BTC address`).
    pub field_name: Option<String>,
    /// `error.object.type`: which list the field is in (`toValues`).
    pub field_list: Option<String>,
    /// `error.object.err`: which rule failed (`regexp`, `required`).
    pub rule: Option<String>,
    /// `requestId` of the failed call.
    pub request_id: Option<String>,
}

impl ApiError {
    fn from_value(error: &Value, request_id: Option<String>) -> ApiError {
        let text = |v: Option<&Value>| -> Option<String> {
            match v? {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(alloc::format!("{n}")),
                _ => None,
            }
        };
        let object = error.get("object");
        let field = |name| text(object.and_then(|o| o.get(name)));
        // Error codes such as 6231546409213868 are above 2^53; serde_json keeps
        // integers exactly, so their text is right.
        let code = text(error.get("errorCode"));
        let kind = match code.as_deref() {
            Some(CODE_VALIDATION) => ApiErrorKind::Validation,
            Some(CODE_MAINTENANCE) => ApiErrorKind::Maintenance,
            _ => ApiErrorKind::Other,
        };
        let message = text(error.get("message"))
            .or_else(|| text(Some(error)))
            .unwrap_or_else(|| String::from("(no message)"));
        ApiError {
            kind,
            message,
            code,
            field_id: field("fieldId"),
            field_name: field("nameField"),
            field_list: field("type"),
            rule: field("err"),
            request_id,
        }
    }
}

/// What an excerpt says instead of a body that mentions a secret.
pub const WITHHELD: &str = "[withheld: it mentions a secret]";

/// The first [`EXCERPT_LEN`] bytes of `body`, lossily decoded, for error
/// messages — or [`WITHHELD`] if they mention a secret: a truncated
/// `order/create` answer carries the order's `secret`, and errors are logged.
///
/// ```
/// use smartex_core::response::{excerpt, WITHHELD};
/// assert_eq!(excerpt(b"<html>502 Bad Gateway</html>"), "<html>502 Bad Gateway</html>");
/// assert_eq!(excerpt(br#"{"success":true,"data":{"uid":1,"secret":"dGqw"#), WITHHELD);
/// ```
pub fn excerpt(body: &[u8]) -> String {
    let cut = body.len().min(EXCERPT_LEN);
    let mut s = String::from_utf8_lossy(&body[..cut]).into_owned();
    if s.to_ascii_lowercase().contains("secret") {
        return String::from(WITHHELD);
    }
    if body.len() > cut {
        s.push_str("...");
    }
    s
}

/// Decodes a response body into [`Response<T>`].
///
/// # Errors
/// [`Error::NotEnvelope`] (with an excerpt) if the body is not the JSON envelope
/// — an HTML 502 page, say; [`Error::UnexpectedData`] if `data` does not fit `T`.
pub fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<Response<T>> {
    let not_envelope = |reason: &str| Error::NotEnvelope {
        reason: String::from(reason),
        excerpt: excerpt(body),
    };
    let value: Value = serde_json::from_slice(body).map_err(|_| not_envelope("not JSON"))?;
    let Value::Object(mut envelope) = value else {
        return Err(not_envelope("not a JSON object"));
    };
    let Some(Value::Bool(success)) = envelope.get("success") else {
        return Err(not_envelope("no boolean `success`"));
    };
    let success = *success;
    let request_id = match envelope.get("requestId") {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    };
    let latency_ms = envelope.get("latency_ms").and_then(Value::as_u64);
    let result = if success {
        let data = envelope.remove("data").unwrap_or(Value::Null);
        Ok(T::deserialize(data).map_err(|e| Error::UnexpectedData {
            field: Cow::Borrowed("data"),
            reason: alloc::format!("{e}"),
        })?)
    } else {
        let error = envelope.get("error").unwrap_or(&Value::Null);
        Err(ApiError::from_value(error, request_id.clone()))
    };
    Ok(Response {
        result,
        request_id,
        latency_ms,
    })
}

/// `data` of `order/create`.
#[derive(Clone, Debug, Deserialize)]
#[non_exhaustive]
pub struct CreatedOrder {
    /// `_id`.
    #[serde(rename = "_id")]
    pub id: ObjectId,
    /// `uid`, the order's public number.
    pub uid: OrderUid,
    /// `rid`, if sent.
    #[serde(default, deserialize_with = "lenient::opt_text")]
    pub rid: Option<String>,
    /// `secret`: with the uid, opens the order's pages. Keep it.
    pub secret: OrderSecret,
    /// `route`, as sent.
    #[serde(default)]
    pub route: Option<Value>,
    /// `inAmount`.
    #[serde(default, rename = "inAmount")]
    pub in_amount: Option<Amount>,
    /// `outAmount`.
    #[serde(default, rename = "outAmount")]
    pub out_amount: Option<Amount>,
    /// `status`, sometimes sent.
    #[serde(default)]
    pub status: Option<OrderStatus>,
    /// `expiresAt`, as sent.
    #[serde(default, rename = "expiresAt", deserialize_with = "lenient::opt_text")]
    pub expires_at: Option<String>,
    /// Every other field, kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `data` of `order/get`.
#[derive(Clone, Debug, Deserialize)]
#[non_exhaustive]
pub struct OrderView {
    /// The order.
    pub order: Order,
    /// `verifications`, as sent.
    #[serde(default)]
    pub verifications: Vec<Value>,
    /// Every other field, kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An order as `order/get` returns it.
#[derive(Clone, Debug, Deserialize)]
#[non_exhaustive]
pub struct Order {
    /// `_id`.
    #[serde(rename = "_id")]
    pub id: ObjectId,
    /// `uid`.
    pub uid: OrderUid,
    /// `rid`, if sent.
    #[serde(default, deserialize_with = "lenient::opt_text")]
    pub rid: Option<String>,
    /// `status`.
    pub status: OrderStatus,
    /// `inAmount`.
    #[serde(default, rename = "inAmount")]
    pub in_amount: Option<Amount>,
    /// `outAmount`.
    #[serde(default, rename = "outAmount")]
    pub out_amount: Option<Amount>,
    /// `fromValues`, as sent.
    #[serde(default, rename = "fromValues")]
    pub from_values: Option<Value>,
    /// `toValues`, as sent.
    #[serde(default, rename = "toValues")]
    pub to_values: Option<Value>,
    /// `routeValues`, as sent.
    #[serde(default, rename = "routeValues")]
    pub route_values: Option<Value>,
    /// `route`, as sent.
    #[serde(default)]
    pub route: Option<Value>,
    /// `createdAt`, as sent.
    #[serde(default, rename = "createdAt", deserialize_with = "lenient::opt_text")]
    pub created_at: Option<String>,
    /// `expiresAt`, as sent.
    #[serde(default, rename = "expiresAt", deserialize_with = "lenient::opt_text")]
    pub expires_at: Option<String>,
    /// `rate`, as sent.
    #[serde(default)]
    pub rate: Option<Value>,
    /// Every other field, kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `data` of `route/get`.
#[derive(Clone, Debug, Deserialize)]
#[non_exhaustive]
pub struct Routes {
    /// The routes.
    #[serde(default)]
    pub routes: Vec<Route>,
    /// Every other field, kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `data` of `route/get/one` and `route/get/one/by-xml`.
#[derive(Clone, Debug, Deserialize)]
#[non_exhaustive]
pub struct RouteView {
    /// The route.
    pub route: Route,
    /// Every other field, kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
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
#[derive(Clone, Debug, Deserialize)]
#[serde(try_from = "RawRoute")]
#[non_exhaustive]
pub struct Route {
    /// `routeId` (or `_id`).
    pub route_id: ObjectId,
    /// `from`: the currency the client sends.
    #[serde(default)]
    pub from: Option<RouteSide>,
    /// `to`: the currency the client receives.
    #[serde(default)]
    pub to: Option<RouteSide>,
    /// `fields` of the route itself (`routeValues`).
    #[serde(default)]
    pub fields: Vec<RouteField>,
    /// `rate`, as sent.
    #[serde(default)]
    pub rate: Option<Value>,
    /// `orderTTL`, as sent.
    #[serde(default, rename = "orderTTL")]
    pub order_ttl: Option<Value>,
    /// `isShowWeb`.
    #[serde(default, rename = "isShowWeb")]
    pub is_show_web: Option<bool>,
    /// Every other field, kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// [`Route`] as received: `routeId` and `_id` apart, so that a route carrying
/// both is not a duplicate-field error (a serde alias would make it one).
#[derive(Deserialize)]
struct RawRoute {
    #[serde(default, rename = "routeId")]
    route_id: Option<ObjectId>,
    #[serde(default, rename = "_id")]
    id: Option<ObjectId>,
    #[serde(default)]
    from: Option<RouteSide>,
    #[serde(default)]
    to: Option<RouteSide>,
    #[serde(default)]
    fields: Vec<RouteField>,
    #[serde(default)]
    rate: Option<Value>,
    #[serde(default, rename = "orderTTL")]
    order_ttl: Option<Value>,
    #[serde(default, rename = "isShowWeb")]
    is_show_web: Option<bool>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

impl TryFrom<RawRoute> for Route {
    type Error = &'static str;

    fn try_from(raw: RawRoute) -> core::result::Result<Route, &'static str> {
        let mut extra = raw.extra;
        let route_id = match (raw.route_id, raw.id) {
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
            (None, None) => return Err("missing field `routeId`"),
        };
        Ok(Route {
            route_id,
            from: raw.from,
            to: raw.to,
            fields: raw.fields,
            rate: raw.rate,
            order_ttl: raw.order_ttl,
            is_show_web: raw.is_show_web,
            extra,
        })
    }
}

/// One side of a [`Route`].
#[derive(Clone, Debug, Deserialize)]
#[non_exhaustive]
pub struct RouteSide {
    /// `name` (`Bitcoin`).
    #[serde(default, deserialize_with = "lenient::opt_text")]
    pub name: Option<String>,
    /// `symbol` (`BTC`).
    #[serde(default, deserialize_with = "lenient::opt_text")]
    pub symbol: Option<String>,
    /// `xml`, the currency code used in IPNs and `by-xml` lookups.
    #[serde(default, deserialize_with = "lenient::opt_text")]
    pub xml: Option<String>,
    /// The fields this side needs (`fromValues` / `toValues`).
    #[serde(default)]
    pub fields: Vec<RouteField>,
    /// Every other field, kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A field a route asks for: which `fromValues`/`toValues`/`routeValues` key,
/// and its rules.
#[derive(Clone, Debug, Deserialize)]
#[non_exhaustive]
pub struct RouteField {
    /// `_id`: the key to send (an ObjectId, or a name such as `wallet`).
    #[serde(rename = "_id", alias = "key", deserialize_with = "lenient::text")]
    pub id: String,
    /// `name`: for people.
    #[serde(default, deserialize_with = "lenient::opt_text")]
    pub name: Option<String>,
    /// `type`.
    #[serde(default, rename = "type", deserialize_with = "lenient::opt_text")]
    pub kind: Option<String>,
    /// `required`.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub required: Option<bool>,
    /// `regex` the value must match.
    #[serde(default, deserialize_with = "lenient::opt_text")]
    pub regex: Option<String>,
    /// `min` length or amount.
    #[serde(default, deserialize_with = "lenient::opt_text")]
    pub min: Option<String>,
    /// `max` length or amount.
    #[serde(default, deserialize_with = "lenient::opt_text")]
    pub max: Option<String>,
    /// Every other field, kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

pub(crate) mod lenient {
    //! Deserializers that accept a number where text is expected and vice versa.

    use alloc::string::String;
    use serde::Deserializer;
    use serde::de::{self, Visitor};

    /// A scalar received as a JSON string, number or boolean, kept as text.
    pub(crate) struct NumberOrString(String);

    impl NumberOrString {
        pub(crate) fn as_text(&self) -> &str {
            &self.0
        }
    }

    struct TextVisitor;

    impl Visitor<'_> for TextVisitor {
        type Value = String;
        fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.write_str("a string or a number")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
            Ok(String::from(v))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
            Ok(v)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
            Ok(alloc::format!("{v}"))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
            Ok(alloc::format!("{v}"))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
            // Shortest text that reads back as the same f64, like JavaScript's
            // String(n) for ordinary magnitudes.
            Ok(alloc::format!("{v}"))
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
            Ok(String::from(if v { "true" } else { "false" }))
        }
    }

    impl<'de> serde::Deserialize<'de> for NumberOrString {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(TextVisitor).map(NumberOrString)
        }
    }

    pub(crate) fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        d.deserialize_any(TextVisitor)
    }

    pub(crate) fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        let v: Option<serde_json::Value> = serde::Deserialize::deserialize(d)?;
        Ok(match v {
            Some(serde_json::Value::String(s)) => Some(s),
            Some(serde_json::Value::Number(n)) => Some(alloc::format!("{n}")),
            Some(serde_json::Value::Bool(b)) => {
                Some(String::from(if b { "true" } else { "false" }))
            }
            _ => None,
        })
    }

    pub(crate) fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        let v: Option<serde_json::Value> = serde::Deserialize::deserialize(d)?;
        Ok(match v {
            Some(serde_json::Value::Bool(b)) => Some(b),
            Some(serde_json::Value::String(s)) => match s.as_str() {
                "true" | "1" => Some(true),
                "false" | "0" | "" => Some(false),
                _ => None,
            },
            Some(serde_json::Value::Number(n)) => n.as_u64().map(|n| n != 0),
            _ => None,
        })
    }
}
