//! The JSON spelling of a notification.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use super::fields::{Builder, Uid};
use super::signed::SignedField;
use super::unsigned::Unsigned;
use super::{IpnFormat, UnverifiedIpn, field};
use crate::error::{Error, Limit, Problem, Result};

use alloc::boxed::Box;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

struct Members(Vec<(String, Box<RawValue>)>);

impl<'de> serde::Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> core::result::Result<Members, A::Error> {
                let mut out = Vec::new();
                while let Some(k) = map.next_key::<String>()? {
                    let v = map.next_value::<Box<RawValue>>()?;
                    out.push((k, v));
                }
                Ok(Members(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// A scalar's text: a string's content, or a number's or boolean's exact
/// text; `None` for anything else.
fn scalar(raw: &RawValue) -> Option<String> {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'"') => serde_json::from_str::<String>(text).ok(),
        Some(b'-' | b'0'..=b'9' | b't' | b'f') => Some(String::from(text)),
        _ => None,
    }
}

/// Flattens an unsigned member into pairs in `qs` spelling
/// (`toValues[0][key]`); `null` and empty containers give an empty value.
fn flatten(name: String, raw: &RawValue, out: &mut Vec<(String, String)>) {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'{') => match serde_json::from_str::<Members>(text) {
            Ok(Members(members)) if !members.is_empty() => {
                for (k, v) in members {
                    flatten(alloc::format!("{name}[{k}]"), &v, out);
                }
            }
            _ => out.push((name, String::new())),
        },
        Some(b'[') => match serde_json::from_str::<Vec<Box<RawValue>>>(text) {
            Ok(items) if !items.is_empty() => {
                for (i, v) in items.iter().enumerate() {
                    flatten(alloc::format!("{name}[{i}]"), v, out);
                }
            }
            _ => out.push((name, String::new())),
        },
        _ => {
            let value = scalar(raw).unwrap_or_default();
            out.push((name, value));
        }
    }
}

pub(super) fn parse<'a>(body: &[u8], format: &IpnFormat<'_>) -> Result<UnverifiedIpn<'a>> {
    let not_json = |e: serde_json::Error| Error::InvalidField {
        field: Cow::Borrowed("(body)"),
        problem: Problem::WrongShape {
            expected: if e.is_syntax() || e.is_eof() {
                "valid JSON"
            } else {
                "a JSON object"
            },
        },
    };
    let Members(members) = serde_json::from_slice(body).map_err(not_json)?;
    if members.len() > format.limits.max_pairs {
        return Err(Error::LimitExceeded {
            limit: Limit::Pairs,
            max: format.limits.max_pairs,
        });
    }
    let mut b = Builder::new();
    let mut pairs = Vec::new();
    for (name, raw) in members {
        if let Some(signed) = SignedField::from_name(&name) {
            let value = scalar(&raw).ok_or_else(|| {
                Error::invalid(
                    signed.name(),
                    Problem::WrongShape {
                        expected: "a string or number",
                    },
                )
            })?;
            b.signed(signed, Cow::Owned(value))?;
        } else if format.checksum_field == Some(name.as_str()) {
            b.checksum(&scalar(&raw).unwrap_or_default());
        } else {
            if name == field::ORDER_UID {
                match scalar(&raw) {
                    Some(v) => b.order_uid.offer(Cow::Owned(v)),
                    None => b.order_uid = Uid::Ambiguous,
                }
            }
            flatten(name, &raw, &mut pairs);
        }
    }
    b.finish(Unsigned::Pairs(pairs))
}
