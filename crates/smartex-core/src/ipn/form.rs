//! The form spelling of a notification: one pass over the body that picks
//! out the signed fields and the checksum.

use alloc::borrow::Cow;

use super::fields::{Builder, Uid};
use super::key::{KeyClass, classify};
use super::unsigned::Unsigned;
use super::{IpnFormat, SIGNED_SHAPE, UnverifiedIpn};
use crate::error::{Error, Limit, Problem, Result};
use crate::form::Encoded;
use crate::percent::decode_qs;
use crate::scan::{PairSpan, PairSpans, has_escape, needs_unescape};

/// An unsigned value for reading: the text itself when it is UTF-8 with
/// nothing to unescape, else [`decode_qs`].
#[inline]
fn read_unsigned<'a>(text: Option<&'a str>, raw: &'a [u8]) -> Cow<'a, str> {
    match text {
        Some(t) if !has_escape(raw) => Cow::Borrowed(t),
        _ => decode_qs(raw),
    }
}

/// The state of [`UnverifiedIpn::parse_form`]'s pass.
struct FormPass<'a, 'n> {
    body: &'a [u8],
    text: Option<&'a str>,
    checksum_field: Option<&'n str>,
    max_pairs: usize,
    count: usize,
    b: Builder<'a>,
    checksum_key: Option<&'a [u8]>,
}

impl<'a> FormPass<'a, '_> {
    /// The body's text from `start` to `end`, if it is UTF-8.
    #[inline(always)]
    fn text_of(&self, start: usize, end: usize) -> Option<&'a str> {
        match self.text {
            Some(t) => t.get(start..end),
            None => core::str::from_utf8(self.body.get(start..end)?).ok(),
        }
    }

    /// Handles one (non-empty) pair.
    #[inline(always)]
    fn pair(&mut self, pair: PairSpan) -> Result<()> {
        let body = self.body;
        self.count += 1;
        if self.count > self.max_pairs {
            return Err(Error::LimitExceeded {
                limit: Limit::Pairs,
                max: self.max_pairs,
            });
        }
        let key = body.get(pair.key()).unwrap_or_default();
        let (value_start, end) = (pair.value().start, pair.end);
        let value = body.get(value_start..end).unwrap_or_default();
        match classify(key, self.checksum_field) {
            KeyClass::Unsigned => {}
            KeyClass::Signed(field) => {
                let text = self
                    .text_of(value_start, end)
                    .ok_or_else(|| Error::invalid(field.name(), Problem::InvalidUtf8))?;
                let decoded = if needs_unescape(body, value_start, end) {
                    Encoded::new(text).decode(field.name())?
                } else {
                    Cow::Borrowed(text)
                };
                self.b.signed(field, decoded)?;
            }
            KeyClass::Checksum => {
                self.checksum_key.get_or_insert(key);
                let v = read_unsigned(self.text_of(value_start, end), value);
                self.b.checksum(&v);
            }
            KeyClass::OrderUid => {
                let v = read_unsigned(self.text_of(value_start, end), value);
                self.b.order_uid.offer(v);
            }
            KeyClass::OrderUidNested => self.b.order_uid = Uid::Ambiguous,
            KeyClass::SignedNested(_) => {
                return Err(Error::InvalidField {
                    field: Cow::Owned(decode_qs(key).into_owned()),
                    problem: Problem::WrongShape {
                        expected: SIGNED_SHAPE,
                    },
                });
            }
        }
        Ok(())
    }
}

/// The one pass of [`UnverifiedIpn::parse_form`].
pub(super) fn parse<'a>(body: &'a [u8], format: &IpnFormat<'_>) -> Result<UnverifiedIpn<'a>> {
    // Form bodies are ASCII: checked once, values are then slices of one
    // `&str`. A body that is not UTF-8 (bytes above 127 in some unsigned
    // value, say) is read value by value instead.
    let text = core::str::from_utf8(body).ok();
    let mut p = FormPass {
        body,
        text,
        checksum_field: format.checksum_field,
        max_pairs: format.limits.max_pairs,
        count: 0,
        b: Builder::new(),
        checksum_key: None,
    };
    // Each byte is read once, and each pair handled as its `&` is met.
    for pair in PairSpans::new(body) {
        p.pair(pair)?;
    }
    let FormPass {
        b, checksum_key, ..
    } = p;
    b.finish(Unsigned::Form { body, checksum_key })
}
