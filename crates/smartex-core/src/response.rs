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
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use serde::de::{DeserializeOwned, Deserializer, Error as _};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::secret::OrderSecret;
use crate::status::OrderStatus;
use crate::types::{Amount, ObjectId, OrderUid};

/// The error code of a parameter that failed validation (`error.object` names it).
pub const CODE_VALIDATION: &str = "6231546409213868";
/// The error code of "technical works": the site is under maintenance.
pub const CODE_MAINTENANCE: &str = "5555555555555555";
/// The error code of the anti-flood guard: too many calls, retry after the
/// number of seconds the message names.
pub const CODE_ANTI_FLOOD: &str = "5030000";
/// The error code of an amount above the route's maximum.
pub const CODE_AMOUNT_ABOVE_MAXIMUM: &str = "3631545348962766";
/// The error code of an amount below the route's minimum.
pub const CODE_AMOUNT_BELOW_MINIMUM: &str = "7701545348962387";
/// The error code of "not enough reserve" as the platform defines it. It is
/// above 2^53, so a Node.js server cannot send it exactly: see
/// [`CODE_NOT_ENOUGH_RESERVE_AS_SENT`].
pub const CODE_NOT_ENOUGH_RESERVE: &str = "9951545348963165";
/// [`CODE_NOT_ENOUGH_RESERVE`] as a Node.js server writes it: the nearest
/// double is `9951545348963164`.
pub const CODE_NOT_ENOUGH_RESERVE_AS_SENT: &str = "9951545348963164";
/// The error code of a route that is not available now.
pub const CODE_ROUTE_UNAVAILABLE: &str = "6801545277215051";
/// The error code of an unauthorized call (the API key was refused).
pub const CODE_UNAUTHORIZED: &str = "40301";

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

/// What kind of error the platform reported: the catalogue of the codes its
/// web client knows (docs/API-NOTES.md, "Error codes").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApiErrorKind {
    /// A parameter failed validation ([`CODE_VALIDATION`]); see [`ApiError::field_id`].
    Validation,
    /// The site is under maintenance ([`CODE_MAINTENANCE`]): try again later.
    Maintenance,
    /// Too many calls ([`CODE_ANTI_FLOOD`]); [`ApiError::retry_after`] says how
    /// long to wait, when the platform said it.
    AntiFlood,
    /// The amount is above the route's maximum ([`CODE_AMOUNT_ABOVE_MAXIMUM`]).
    AmountAboveMaximum,
    /// The amount is below the route's minimum ([`CODE_AMOUNT_BELOW_MINIMUM`]).
    AmountBelowMinimum,
    /// The exchanger's reserve of the currency to pay out is too small
    /// ([`CODE_NOT_ENOUGH_RESERVE`], or [`CODE_NOT_ENOUGH_RESERVE_AS_SENT`] as a
    /// Node.js server writes it).
    NotEnoughReserve,
    /// The route is not available now ([`CODE_ROUTE_UNAVAILABLE`]).
    RouteUnavailable,
    /// The API key was refused ([`CODE_UNAUTHORIZED`]).
    Unauthorized,
    /// Anything else.
    Other,
}

impl ApiErrorKind {
    /// The kind of an `errorCode`, given as the integer's decimal text.
    ///
    /// ```
    /// use smartex_core::response::ApiErrorKind;
    /// assert_eq!(ApiErrorKind::from_code("9951545348963164"), ApiErrorKind::NotEnoughReserve);
    /// assert_eq!(ApiErrorKind::from_code("5030000"), ApiErrorKind::AntiFlood);
    /// assert_eq!(ApiErrorKind::from_code("1"), ApiErrorKind::Other);
    /// ```
    pub fn from_code(code: &str) -> ApiErrorKind {
        match code {
            CODE_VALIDATION => ApiErrorKind::Validation,
            CODE_MAINTENANCE => ApiErrorKind::Maintenance,
            CODE_ANTI_FLOOD => ApiErrorKind::AntiFlood,
            CODE_AMOUNT_ABOVE_MAXIMUM => ApiErrorKind::AmountAboveMaximum,
            CODE_AMOUNT_BELOW_MINIMUM => ApiErrorKind::AmountBelowMinimum,
            CODE_NOT_ENOUGH_RESERVE | CODE_NOT_ENOUGH_RESERVE_AS_SENT => {
                ApiErrorKind::NotEnoughReserve
            }
            CODE_ROUTE_UNAVAILABLE => ApiErrorKind::RouteUnavailable,
            CODE_UNAUTHORIZED => ApiErrorKind::Unauthorized,
            _ => ApiErrorKind::Other,
        }
    }
}

/// An error the platform reported in the envelope (`success: false`).
///
/// Its `Display` escapes control characters in the platform's text, so a
/// message cannot forge a log line.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// What kind of error.
    pub kind: ApiErrorKind,
    /// The platform's message (`Param toValues isn't valid: wallet`).
    pub message: String,
    /// `errorCode`, as the integer's decimal text: read from the JSON text,
    /// never through a float (the codes exceed JavaScript's safe integers).
    pub code: Option<String>,
    /// `error.object.fieldId`: the offending field's id (`wallet`).
    pub field_id: Option<String>,
    /// `error.object.nameField`: its human name (`BTC address`).
    pub field_name: Option<String>,
    /// `error.object.type`: which list the field is in (`toValues`).
    pub field_list: Option<String>,
    /// `error.object.err`: which rule failed (`regexp`, `required`).
    pub rule: Option<String>,
    /// For [`ApiErrorKind::AntiFlood`]: how long the platform asks to wait
    /// (a numeric `time` in the error, else the first number in its message,
    /// in seconds).
    pub retry_after: Option<Duration>,
    /// `requestId` of the failed call.
    pub request_id: Option<String>,
}

impl core::fmt::Display for ApiError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "the platform refused the request: {} (code {})",
            crate::error::Escaped(&self.message),
            crate::error::Escaped(self.code.as_deref().unwrap_or("none"))
        )
    }
}

impl core::error::Error for ApiError {}

/// An object's members as raw JSON text (the last of duplicate keys wins, as
/// in JavaScript).
type RawObject<'a> = BTreeMap<String, &'a RawValue>;

impl ApiError {
    /// An error from the platform's parts, for tests and for other transports.
    pub fn new(code: Option<String>, message: impl Into<String>) -> ApiError {
        let message = message.into();
        let kind = code
            .as_deref()
            .map_or(ApiErrorKind::Other, ApiErrorKind::from_code);
        let retry_after = match kind {
            ApiErrorKind::AntiFlood => first_number_secs(&message),
            _ => None,
        };
        ApiError {
            kind,
            message,
            code,
            field_id: None,
            field_name: None,
            field_list: None,
            rule: None,
            retry_after,
            request_id: None,
        }
    }

    fn from_raw(error: Option<&RawValue>, request_id: Option<String>) -> ApiError {
        let object: Option<RawObject<'_>> = error.and_then(|e| serde_json::from_str(e.get()).ok());
        fn member<'a>(o: Option<&RawObject<'a>>, name: &str) -> Option<&'a RawValue> {
            o.and_then(|o| o.get(name).copied())
        }
        let text = |o: Option<&RawObject<'_>>, name: &str| member(o, name).and_then(scalar_text);
        let details: Option<RawObject<'_>> =
            member(object.as_ref(), "object").and_then(|o| serde_json::from_str(o.get()).ok());
        let field = |name: &str| text(details.as_ref(), name);
        let code = member(object.as_ref(), "errorCode").and_then(code_text);
        let message = text(object.as_ref(), "message")
            .or_else(|| error.and_then(scalar_text))
            .unwrap_or_else(|| String::from("(no message)"));
        let mut err = ApiError::new(code, message);
        if err.kind == ApiErrorKind::AntiFlood {
            let time = member(object.as_ref(), "time").or_else(|| member(details.as_ref(), "time"));
            if let Some(secs) = time.and_then(|t| decimal_secs(t.get())) {
                err.retry_after = Some(secs);
            }
        }
        err.field_id = field("fieldId");
        err.field_name = field("nameField");
        err.field_list = field("type");
        err.rule = field("err");
        err.request_id = request_id;
        err
    }
}

/// The text of a JSON scalar: a string decoded, a number exactly as written,
/// a boolean as `true`/`false`; `None` for `null`, objects and arrays.
pub(crate) fn scalar_text(raw: &RawValue) -> Option<String> {
    let text = raw.get();
    match text.as_bytes().first()? {
        b'"' => serde_json::from_str::<String>(text).ok(),
        b't' | b'f' => Some(String::from(text)),
        b'n' | b'{' | b'[' => None,
        _ => Some(String::from(text)),
    }
}

/// An `errorCode` as the integer's decimal text: a JSON integer as written, a
/// number with a fraction or exponent that is an integer converted exactly
/// (`9.951545348963164e15` → `9951545348963164`), a string as sent.
fn code_text(raw: &RawValue) -> Option<String> {
    let text = raw.get();
    match text.as_bytes().first()? {
        b'"' => serde_json::from_str::<String>(text).ok(),
        b'-' | b'0'..=b'9' => Some(integer_text(text).unwrap_or_else(|| String::from(text))),
        _ => None,
    }
}

/// The exact decimal integer a JSON number's text denotes, if it is one
/// (`1E3` → `1000`, `5030000.0` → `5030000`); `None` for a fraction or an
/// exponent too large to write out.
pub(crate) fn integer_text(number: &str) -> Option<String> {
    let (negative, rest) = match number.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, number),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], rest[i + 1..].parse::<i32>().ok()?),
        None => (rest, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut digits = String::from(int);
    digits.push_str(frac);
    let shift = exponent.checked_sub(i32::try_from(frac.len()).ok()?)?;
    if shift >= 0 {
        // An error code has at most 20 digits; refuse to write out 1e999999.
        if shift > 40 {
            return None;
        }
        digits.extend(core::iter::repeat_n('0', shift.unsigned_abs() as usize));
    } else {
        // All digits after the point: an integer only if all are zero.
        let cut = digits.len().saturating_sub(shift.unsigned_abs() as usize);
        if !digits[cut..].bytes().all(|b| b == b'0') {
            return None;
        }
        digits.truncate(cut);
    }
    let trimmed = digits.trim_start_matches('0');
    let mut out = String::new();
    if trimmed.is_empty() {
        out.push('0');
    } else {
        if negative {
            out.push('-');
        }
        out.push_str(trimmed);
    }
    Some(out)
}

/// Seconds written as a decimal (`12`, `1.5`), as a duration; `None` for
/// anything else or for more than a day (not a wait, a misreading).
fn decimal_secs(text: &str) -> Option<Duration> {
    let text = text.trim_matches('"');
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if int.is_empty() || int.len() > 6 || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: u64 = int.parse().ok()?;
    let mut millis = 0u64;
    for (i, b) in frac.bytes().take(3).enumerate() {
        millis += u64::from(b - b'0') * [100, 10, 1][i];
    }
    let d = Duration::from_secs(secs) + Duration::from_millis(millis);
    (d <= Duration::from_secs(86_400)).then_some(d)
}

/// The first number in a message (`Too many requests, retry after 3 seconds`
/// → 3 s).
fn first_number_secs(message: &str) -> Option<Duration> {
    let start = message.find(|c: char| c.is_ascii_digit())?;
    let rest = &message[start..];
    let mut end = rest
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(rest.len());
    // "3." at the end of a sentence: the point is punctuation.
    while rest[..end].ends_with('.') {
        end -= 1;
    }
    decimal_secs(&rest[..end])
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
/// [`Value`]), so [`Amount`]s and other numbers this crate types keep their
/// exact digits: `0.123456789012345678` stays `0.123456789012345678`.
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

/// A value in a response that breaks a limit this crate assumed (the limits
/// are what one public client validates, not a rule of the platform): the
/// value is kept, and this says so. Nothing the platform sends is dropped for
/// breaking a guessed limit — an order that exists must never be lost.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Warning {
    /// `uid` has more digits than [`OrderUid::MAX_DIGITS`].
    UidTooLong {
        /// Its number of digits.
        digits: usize,
    },
    /// `secret` is longer than [`OrderSecret::MAX_LEN`].
    SecretTooLong {
        /// Its length, in characters.
        chars: usize,
    },
    /// A field this crate types (an amount, a status) has a value it cannot
    /// read: the typed field is `None` and the value is kept, as sent, in
    /// `extra` under its wire name.
    Unreadable {
        /// The wire name (`inAmount`).
        field: &'static str,
    },
}

impl core::fmt::Display for Warning {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Warning::UidTooLong { digits } => write!(
                f,
                "field `uid` has {digits} digits, more than the {} expected; kept as sent",
                OrderUid::MAX_DIGITS
            ),
            Warning::SecretTooLong { chars } => write!(
                f,
                "field `secret` has {chars} characters, more than the {} expected; kept as sent",
                OrderSecret::MAX_LEN
            ),
            Warning::Unreadable { field } => write!(
                f,
                "field `{field}` is not as expected; kept as sent in `extra`"
            ),
        }
    }
}

fn uid_warning(uid: OrderUid, warnings: &mut Vec<Warning>) {
    let digits = uid.digits();
    if digits > OrderUid::MAX_DIGITS {
        warnings.push(Warning::UidTooLong { digits });
    }
}

/// An object's members as raw JSON text, taken field by field; what no field
/// took is the `extra` of the type being read. Each field is decoded from its
/// own JSON text, so numbers keep their digits (`#[serde(flatten)]` would
/// buffer them as floats). Of duplicate names the last wins, as in JavaScript.
struct Members<'a>(RawObject<'a>);

impl<'a> Members<'a> {
    /// The members of the JSON object `raw`.
    fn of<E: serde::de::Error>(raw: &'a RawValue) -> core::result::Result<Self, E> {
        serde_json::from_str(raw.get())
            .map(Members)
            .map_err(|e| E::custom(without_position(&e)))
    }

    /// Takes `name` and decodes it with `read`; `None` if it is absent.
    fn field<T, E: serde::de::Error>(
        &mut self,
        name: &'static str,
        read: impl FnOnce(&'a RawValue) -> core::result::Result<T, serde_json::Error>,
    ) -> core::result::Result<Option<T>, E> {
        match self.0.remove(name) {
            None => Ok(None),
            Some(raw) => read(raw)
                .map(Some)
                .map_err(|e| E::custom(format_args!("field `{name}`: {}", without_position(&e)))),
        }
    }

    /// Takes `name` and decodes it with `read`; an error if it is absent.
    fn required<T, E: serde::de::Error>(
        &mut self,
        name: &'static str,
        read: impl FnOnce(&'a RawValue) -> core::result::Result<T, serde_json::Error>,
    ) -> core::result::Result<T, E> {
        self.field(name, read)?
            .ok_or_else(|| E::missing_field(name))
    }

    /// Takes `name` as a `T`; `None` if it is absent or `null`.
    fn optional<T: Deserialize<'a>, E: serde::de::Error>(
        &mut self,
        name: &'static str,
    ) -> core::result::Result<Option<T>, E> {
        Ok(self.field(name, json::<Option<T>>)?.flatten())
    }

    /// Takes `name` as a `T`; `T::default()` if it is absent.
    fn or_default<T: Deserialize<'a> + Default, E: serde::de::Error>(
        &mut self,
        name: &'static str,
    ) -> core::result::Result<T, E> {
        Ok(self.field(name, json::<T>)?.unwrap_or_default())
    }

    /// Takes `name` as text (a string, or a number as written); `None` if it is
    /// absent or not a scalar.
    fn text<E: serde::de::Error>(
        &mut self,
        name: &'static str,
    ) -> core::result::Result<Option<String>, E> {
        Ok(self.field(name, lenient::opt_text)?.flatten())
    }

    /// A field that must not cost the whole answer: takes `name` if it reads
    /// as a `T` (or is `null`); else leaves it, as sent, for `extra` and
    /// adds a [`Warning::Unreadable`].
    fn tolerant<T: Deserialize<'a>>(
        &mut self,
        name: &'static str,
        warnings: &mut Vec<Warning>,
    ) -> Option<T> {
        let raw = *self.0.get(name)?;
        match json::<Option<T>>(raw) {
            Ok(value) => {
                self.0.remove(name);
                value
            }
            Err(_) => {
                warnings.push(Warning::Unreadable { field: name });
                None
            }
        }
    }

    /// The members no field took.
    fn extra(self) -> Map<String, Value> {
        self.0
            .into_iter()
            .map(|(name, value)| {
                // A number no float can hold (`1e400`) is kept as its text
                // rather than failing the whole response.
                let value = serde_json::from_str(value.get())
                    .unwrap_or_else(|_| Value::String(String::from(value.get())));
                (name, value)
            })
            .collect()
    }
}

/// Decodes a `T` from its JSON text.
fn json<'a, T: Deserialize<'a>>(raw: &'a RawValue) -> core::result::Result<T, serde_json::Error> {
    T::deserialize(raw)
}

/// A decoder's message without serde_json's "at line 1 column 7": the position
/// is in a member's own text, meaningless once the member is named.
fn without_position(e: &serde_json::Error) -> String {
    let mut message = alloc::format!("{e}");
    if e.line() != 0 {
        let position = alloc::format!(" at line {} column {}", e.line(), e.column());
        if message.ends_with(&position) {
            message.truncate(message.len() - position.len());
        }
    }
    message
}

/// `data` of `order/create`.
///
/// `uid` and `secret` are kept whatever their length (see [`Warning`]): the
/// order exists once the platform answered, and these are what finds it.
#[derive(Clone, Debug)]
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
#[derive(Clone, Debug)]
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
#[derive(Clone, Debug)]
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

pub(crate) mod lenient {
    //! Deserializers that accept a number where text is expected and vice
    //! versa, reading numbers from their JSON text (never through a float).
    //!
    //! They read a [`RawValue`], so they work with serde_json's deserializers
    //! (from text or from a `Value`), which is what this crate decodes with.

    use alloc::boxed::Box;
    use alloc::string::String;
    use serde::de::Error as _;
    use serde::{Deserialize as _, Deserializer};
    use serde_json::value::RawValue;

    use crate::secret::OrderSecret;
    use crate::types::OrderUid;

    /// A scalar received as a JSON string, number or boolean, kept as text
    /// (a number exactly as written).
    pub(crate) struct NumberOrString(String);

    impl NumberOrString {
        pub(crate) fn as_text(&self) -> &str {
            &self.0
        }
    }

    impl<'de> serde::Deserialize<'de> for NumberOrString {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let raw = Box::<RawValue>::deserialize(d)?;
            super::scalar_text(&raw)
                .map(NumberOrString)
                .ok_or_else(|| D::Error::custom("expected a string or a number"))
        }
    }

    pub(crate) fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        NumberOrString::deserialize(d).map(|n| n.0)
    }

    pub(crate) fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        let raw: Option<Box<RawValue>> = serde::Deserialize::deserialize(d)?;
        Ok(raw.and_then(|r| super::scalar_text(&r)))
    }

    /// An uid the platform sent: any non-negative integer that fits in 64
    /// bits, however many digits (see [`OrderUid::parse_platform`]).
    pub(crate) fn platform_uid<'de, D: Deserializer<'de>>(d: D) -> Result<OrderUid, D::Error> {
        let n = NumberOrString::deserialize(d)?;
        OrderUid::parse_platform("uid", n.as_text()).map_err(D::Error::custom)
    }

    /// A secret the platform sent: any non-empty string, however long (see
    /// [`OrderSecret::from_platform`]). The error never shows the value.
    pub(crate) fn platform_secret<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<OrderSecret, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        let text = raw
            .get()
            .starts_with('"')
            .then(|| serde_json::from_str::<String>(raw.get()).ok())
            .flatten();
        match text {
            Some(s) => OrderSecret::from_platform(s).map_err(D::Error::custom),
            None => Err(D::Error::custom(crate::error::Error::invalid(
                "orderSecret",
                crate::error::Problem::WrongShape {
                    expected: "a string",
                },
            ))),
        }
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
