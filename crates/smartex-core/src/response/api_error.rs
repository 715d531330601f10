//! The platform's errors: the `error` member of a failed envelope, its
//! catalogue of codes, and the wait an anti-flood refusal asks for.

use alloc::string::String;
use core::time::Duration;

use serde_json::value::RawValue;

use super::RawObject;
use super::lenient::{integer_text, scalar_text};

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

    pub(super) fn from_raw(error: Option<&RawValue>, request_id: Option<String>) -> ApiError {
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
