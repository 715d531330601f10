//! What the platform's Node.js server makes of a request's parameters, so the
//! API-key hash covers exactly what the server hashes.
//!
//! The platform documents the hash as
//! `sha256_hex(sha256_hex(JSON.stringify({...query, ...body})) + secret)`, over
//! the parameters **as Express parsed them**: `express.json()` (`JSON.parse`:
//! numbers become doubles and are written back by JavaScript's
//! `Number.prototype.toString`), `express.urlencoded({extended: true})` (`qs`:
//! every value a string, brackets become arrays and objects) and Express's
//! default query parser (`qs` again, with its default limits). This module
//! rebuilds that JSON text, byte for byte, without any I/O:
//!
//! ```
//! use smartex_core::js::{Body, express_params_json};
//! // A JSON body: numbers in JavaScript's spelling, everything else kept.
//! assert_eq!(
//!     express_params_json(None, Body::Json(br#"{"time":1,"amount":2.10,"e":1E-7,"n":100.0}"#))?,
//!     r#"{"time":1,"amount":2.1,"e":1e-7,"n":100}"#
//! );
//! // A form body or a query string: strings, nested as `qs` nests them.
//! assert_eq!(
//!     express_params_json(None, Body::Form(b"time=1742774343407&toValues[0][key]=wallet&toValues[0][value]=Z1+2"))?,
//!     r#"{"time":"1742774343407","toValues":[{"key":"wallet","value":"Z1 2"}]}"#
//! );
//! // Both: `{...query, ...body}`.
//! assert_eq!(
//!     express_params_json(Some("a=1&b=2"), Body::Json(br#"{"b":3}"#))?,
//!     r#"{"a":"1","b":3}"#
//! );
//! # Ok::<(), smartex_core::Error>(())
//! ```
//!
//! The `qs` port follows the versions Express 4.22 installs: `qs` 6.16 under
//! `body-parser` 1.20 for form bodies, `qs` 6.14 for the query string. A test
//! (`smartex-http`'s `express_peer`) runs the real packages side by side.

mod json;
mod number;
mod qs;
mod value;

use alloc::borrow::Cow;
use alloc::string::String;

use crate::error::{Error, Limit, Problem, Result};
pub use number::{exact_js_number, number_text, write_number};
use value::{Object, Value, stringify};

/// `body-parser`'s `parameterLimit` (and `qs`'s): a form body with more
/// `&`-separated parts is refused (413); a query string's extra parts are
/// ignored.
pub const PARAMETER_LIMIT: usize = 1000;
/// `body-parser`'s default `limit` for `json` and `urlencoded` bodies, in
/// bytes: a larger body is refused (413) before it is parsed. It also bounds
/// the work done here.
pub const BODY_LIMIT: usize = 100 * 1024;
/// `body-parser`'s `depth` for `urlencoded` (deeper keys: 400).
pub const BODY_DEPTH: usize = 32;
/// `qs`'s default `depth`, used by Express's query parser (deeper brackets stay
/// in one key).
pub const QUERY_DEPTH: usize = 5;
/// `qs`'s default `arrayLimit`, used by Express's query parser: an index of 20
/// or more makes an object. (`body-parser` uses `max(100, number of pairs)`.)
pub const QUERY_ARRAY_LIMIT: usize = 20;

/// A request body as Express's parsers see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Body<'a> {
    /// No body, or one no parser takes (`req.body` is `{}`).
    None,
    /// An `application/json` body (`express.json()`).
    Json(&'a [u8]),
    /// An `application/x-www-form-urlencoded` body
    /// (`express.urlencoded({extended: true})`).
    Form(&'a [u8]),
}

impl<'a> Body<'a> {
    /// The parser Express picks by `Content-Type` (its media type, without
    /// parameters, case-insensitive): `application/json` or
    /// `application/x-www-form-urlencoded`; anything else is not parsed.
    ///
    /// ```
    /// use smartex_core::js::Body;
    /// assert_eq!(Body::from_content_type(Some("application/json; charset=utf-8"), b"{}"), Body::Json(b"{}"));
    /// assert_eq!(Body::from_content_type(Some("text/plain"), b"a=1"), Body::None);
    /// ```
    pub fn from_content_type(content_type: Option<&str>, body: &'a [u8]) -> Self {
        let media = content_type
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .trim();
        if media.eq_ignore_ascii_case("application/json") {
            Body::Json(body)
        } else if media.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            Body::Form(body)
        } else {
            Body::None
        }
    }
}

/// How body-parser turns bytes into text: UTF-8, invalid sequences replaced,
/// a leading byte-order mark dropped (iconv-lite's default).
fn body_text(bytes: &[u8]) -> Cow<'_, str> {
    match String::from_utf8_lossy(bytes) {
        Cow::Borrowed(s) => Cow::Borrowed(s.strip_prefix('\u{feff}').unwrap_or(s)),
        Cow::Owned(s) => Cow::Owned(match s.strip_prefix('\u{feff}') {
            Some(rest) => String::from(rest),
            None => s,
        }),
    }
}

fn body_error(rule: &'static str) -> Error {
    Error::invalid("body", Problem::Rule(rule))
}

/// `req.query`: Express 4's default ("extended") query parser,
/// `qs.parse(query, {allowPrototypes: true})`.
fn parse_query(query: &str) -> Object {
    let options = qs::Options {
        array_limit: QUERY_ARRAY_LIMIT,
        depth: QUERY_DEPTH,
        strict_depth: false,
        parameter_limit: PARAMETER_LIMIT,
        qs_6_14: true,
    };
    // Without strict depth `qs` never fails.
    qs::parse(query, &options).unwrap_or_default()
}

/// `req.body` from `express.urlencoded({extended: true})`.
fn parse_form(text: &str) -> Result<Object> {
    if text.is_empty() {
        return Ok(Object::default());
    }
    let count = text.bytes().filter(|&b| b == b'&').count() + 1;
    if count > PARAMETER_LIMIT {
        return Err(Error::LimitExceeded {
            limit: Limit::Pairs,
            max: PARAMETER_LIMIT,
        });
    }
    let options = qs::Options {
        array_limit: count.max(100),
        depth: BODY_DEPTH,
        strict_depth: true,
        parameter_limit: PARAMETER_LIMIT,
        qs_6_14: false,
    };
    qs::parse(text, &options).map_err(|qs::DepthExceeded| Error::LimitExceeded {
        limit: Limit::Depth,
        max: BODY_DEPTH,
    })
}

/// `req.body` from `express.json()` (strict: an object or an array).
fn parse_json(text: &str) -> Result<Value> {
    if text.is_empty() {
        return Ok(Value::Object(Object::default()));
    }
    let first = text
        .trim_start_matches([' ', '\t', '\n', '\r'])
        .as_bytes()
        .first();
    if !matches!(first, Some(b'{' | b'[')) {
        return Err(body_error(
            "is not a JSON object or array (express.json refuses it)",
        ));
    }
    json::parse(text).map_err(|e| match e {
        json::JsonError::Syntax => body_error("is not valid JSON"),
        json::JsonError::TooDeep => body_error("nests JSON deeper than this reader follows"),
    })
}

/// `JSON.stringify({...req.query, ...req.body})` as an Express 4 server with
/// `express.json()` and `express.urlencoded({extended: true})` computes it for
/// a request with the query string `query` (without the `?`) and `body`.
///
/// # Errors
/// What Express itself refuses before any handler runs: a body over
/// [`BODY_LIMIT`], a JSON body that is
/// not JSON or not an object/array ([`Error::InvalidField`] on `body`), a form
/// body with more than [`PARAMETER_LIMIT`] parts or keys nested deeper than
/// [`BODY_DEPTH`] ([`Error::LimitExceeded`]). JSON nested deeper than 256
/// levels is refused too (V8 would read it).
pub fn express_params_json(query: Option<&str>, body: Body<'_>) -> Result<String> {
    let mut params = match query {
        Some(q) => parse_query(q),
        None => Object::default(),
    };
    if let Body::Json(bytes) | Body::Form(bytes) = body
        && bytes.len() > BODY_LIMIT
    {
        return Err(body_error(
            "is larger than Express's default limit of 100 kB (it answers 413)",
        ));
    }
    let body = match body {
        Body::None => Value::Object(Object::default()),
        Body::Json(bytes) => parse_json(&body_text(bytes))?,
        Body::Form(bytes) => Value::Object(parse_form(&body_text(bytes))?),
    };
    // The spread: the body's own keys (an array's indices) over the query's.
    match body {
        Value::Object(obj) => {
            for (k, v) in obj.into_ordered() {
                params.set(k, v);
            }
        }
        Value::Array(a) => {
            for (i, v) in a.items.into_iter().enumerate() {
                if let Some(v) = v {
                    params.set(value::JsStr(alloc::format!("{i}")), v);
                }
            }
        }
        _ => {}
    }
    let mut out = String::new();
    stringify(&Value::Object(params), &mut out);
    Ok(out)
}

/// `JSON.stringify(JSON.parse(text))` for a JSON object or array: the text a
/// Node.js server writes back for a JSON body (numbers in JavaScript's
/// spelling, a repeated key once, array-index keys first).
///
/// # Errors
/// As [`express_params_json`] for a JSON body.
pub fn restringify_json(text: &str) -> Result<String> {
    let v = parse_json(text)?;
    let mut out = String::new();
    stringify(&v, &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests;
