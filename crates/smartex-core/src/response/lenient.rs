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
        scalar_text(&raw)
            .map(NumberOrString)
            .ok_or_else(|| D::Error::custom("expected a string or a number"))
    }
}

pub(crate) fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    NumberOrString::deserialize(d).map(|n| n.0)
}

pub(crate) fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let raw: Option<Box<RawValue>> = serde::Deserialize::deserialize(d)?;
    Ok(raw.and_then(|r| scalar_text(&r)))
}

/// An uid the platform sent: any non-negative integer that fits in 64
/// bits, however many digits (see [`OrderUid::parse_platform`]).
pub(crate) fn platform_uid<'de, D: Deserializer<'de>>(d: D) -> Result<OrderUid, D::Error> {
    let n = NumberOrString::deserialize(d)?;
    OrderUid::parse_platform("uid", n.as_text()).map_err(D::Error::custom)
}

/// A secret the platform sent: any non-empty string, however long (see
/// [`OrderSecret::from_platform`]). The error never shows the value.
pub(crate) fn platform_secret<'de, D: Deserializer<'de>>(d: D) -> Result<OrderSecret, D::Error> {
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

/// The text of a JSON scalar: a string decoded, a number exactly as written,
/// a boolean as `true`/`false`; `None` for `null`, objects and arrays.
pub(super) fn scalar_text(raw: &RawValue) -> Option<String> {
    let text = raw.get();
    match text.as_bytes().first()? {
        b'"' => serde_json::from_str::<String>(text).ok(),
        b't' | b'f' => Some(String::from(text)),
        b'n' | b'{' | b'[' => None,
        _ => Some(String::from(text)),
    }
}

/// The exact decimal integer a JSON number's text denotes, if it is one
/// (`1E3` → `1000`, `5030000.0` → `5030000`); `None` for a fraction or an
/// exponent too large to write out.
pub(super) fn integer_text(number: &str) -> Option<String> {
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
