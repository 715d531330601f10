//! The envelope every answer comes in, `{success, data | error, requestId,
//! latency_ms}`, and what is said about a body that is not one.

use alloc::borrow::Cow;
use alloc::string::String;

use serde::de::DeserializeOwned;

use super::lenient::scalar_text;
use super::{ApiError, RawObject};
use crate::error::{Error, Result};
use crate::secret::OrderSecret;

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
/// `data` is decoded from its JSON text (never through an intermediate
/// [`Value`](serde_json::Value)), so [`Amount`](crate::types::Amount)s and
/// other numbers this crate types keep their exact digits:
/// `0.123456789012345678` stays `0.123456789012345678`.
///
/// # Errors
/// [`Error::NotEnvelope`] (with an excerpt) if the body is not the JSON envelope
/// — an HTML 502 page, say; [`Error::UnexpectedData`] if `data` does not fit `T`.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<Response<T>> {
    let not_envelope = |reason: &str| Error::NotEnvelope {
        reason: String::from(reason),
        excerpt: excerpt(body),
    };
    let envelope: RawObject<'_> = serde_json::from_slice(body).map_err(|e| {
        not_envelope(match e.classify() {
            serde_json::error::Category::Data => "not a JSON object",
            _ => "not JSON",
        })
    })?;
    let success = match envelope.get("success").map(|r| r.get()) {
        Some("true") => true,
        Some("false") => false,
        _ => return Err(not_envelope("no boolean `success`")),
    };
    let request_id = envelope
        .get("requestId")
        .filter(|r| r.get().starts_with('"'))
        .and_then(|r| scalar_text(r));
    let latency_ms = envelope
        .get("latency_ms")
        .and_then(|r| r.get().parse::<u64>().ok());
    let result = if success {
        let data = envelope.get("data").map_or("null", |r| r.get());
        Ok(
            serde_json::from_str::<T>(data).map_err(|e| Error::UnexpectedData {
                field: Cow::Borrowed("data"),
                reason: alloc::format!("{e}"),
            })?,
        )
    } else {
        Err(ApiError::from_raw(
            envelope.get("error").copied(),
            request_id.clone(),
        ))
    };
    Ok(Response {
        result,
        request_id,
        latency_ms,
    })
}

/// What identifies an order in a success answer of `order/create`, read with
/// no rule but "present": for when the rest of the answer cannot be typed
/// (an `_id` that is no ObjectId, a field of a new shape), so that the order,
/// which exists, can still be found.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct OrderIdentity {
    /// `uid`, as sent (a number's text, or a string).
    pub uid: String,
    /// `secret`.
    pub secret: OrderSecret,
    /// `_id`, as sent, if present.
    pub id: Option<String>,
}

/// The [`OrderIdentity`] in `body`, if it is a success envelope whose `data`
/// holds a `uid` and a non-empty string `secret` — whatever else it holds.
///
/// ```
/// use smartex_core::response::{decode, salvage_order_identity, CreatedOrder};
/// let body = br#"{"success":true,"data":{"_id":"not-an-object-id","uid":1409,"secret":"dGqw"}}"#;
/// assert!(decode::<CreatedOrder>(body).is_err());
/// let found = salvage_order_identity(body).unwrap();
/// assert_eq!(found.uid, "1409");
/// assert_eq!(found.secret.expose(), "dGqw");
/// ```
pub fn salvage_order_identity(body: &[u8]) -> Option<OrderIdentity> {
    let envelope: RawObject<'_> = serde_json::from_slice(body).ok()?;
    if envelope.get("success").map(|r| r.get()) != Some("true") {
        return None;
    }
    let data: RawObject<'_> = serde_json::from_str(envelope.get("data")?.get()).ok()?;
    let uid = data.get("uid").and_then(|r| scalar_text(r))?;
    let secret = data
        .get("secret")
        .filter(|r| r.get().starts_with('"'))
        .and_then(|r| scalar_text(r))?;
    Some(OrderIdentity {
        uid,
        secret: OrderSecret::from_platform(secret).ok()?,
        id: data.get("_id").and_then(|r| scalar_text(r)),
    })
}
