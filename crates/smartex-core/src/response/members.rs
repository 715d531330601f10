//! Reading an object member by member, so that numbers keep their digits
//! and what no field took is kept in `extra`.

use alloc::string::String;
use alloc::vec::Vec;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::lenient;
use super::{RawObject, Warning};

/// An object's members as raw JSON text, taken field by field; what no field
/// took is the `extra` of the type being read. Each field is decoded from its
/// own JSON text, so numbers keep their digits (`#[serde(flatten)]` would
/// buffer them as floats). Of duplicate names the last wins, as in JavaScript.
pub(super) struct Members<'a>(RawObject<'a>);

impl<'a> Members<'a> {
    /// The members of the JSON object `raw`.
    pub(super) fn of<E: serde::de::Error>(raw: &'a RawValue) -> core::result::Result<Self, E> {
        serde_json::from_str(raw.get())
            .map(Members)
            .map_err(|e| E::custom(without_position(&e)))
    }

    /// Takes `name` and decodes it with `read`; `None` if it is absent.
    pub(super) fn field<T, E: serde::de::Error>(
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
    pub(super) fn required<T, E: serde::de::Error>(
        &mut self,
        name: &'static str,
        read: impl FnOnce(&'a RawValue) -> core::result::Result<T, serde_json::Error>,
    ) -> core::result::Result<T, E> {
        self.field(name, read)?
            .ok_or_else(|| E::missing_field(name))
    }

    /// Takes `name` as a `T`; `None` if it is absent or `null`.
    pub(super) fn optional<T: Deserialize<'a>, E: serde::de::Error>(
        &mut self,
        name: &'static str,
    ) -> core::result::Result<Option<T>, E> {
        Ok(self.field(name, json::<Option<T>>)?.flatten())
    }

    /// Takes `name` as a `T`; `T::default()` if it is absent.
    pub(super) fn or_default<T: Deserialize<'a> + Default, E: serde::de::Error>(
        &mut self,
        name: &'static str,
    ) -> core::result::Result<T, E> {
        Ok(self.field(name, json::<T>)?.unwrap_or_default())
    }

    /// Takes `name` as text (a string, or a number as written); `None` if it is
    /// absent or not a scalar.
    pub(super) fn text<E: serde::de::Error>(
        &mut self,
        name: &'static str,
    ) -> core::result::Result<Option<String>, E> {
        Ok(self.field(name, lenient::opt_text)?.flatten())
    }

    /// A field that must not cost the whole answer: takes `name` if it reads
    /// as a `T` (or is `null`); else leaves it, as sent, for `extra` and
    /// adds a [`Warning::Unreadable`].
    pub(super) fn tolerant<T: Deserialize<'a>>(
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
    pub(super) fn extra(self) -> Map<String, Value> {
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
pub(super) fn json<'a, T: Deserialize<'a>>(
    raw: &'a RawValue,
) -> core::result::Result<T, serde_json::Error> {
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
