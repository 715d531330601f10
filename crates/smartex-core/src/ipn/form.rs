//! The form spelling of a notification: one pass over the body that picks
//! out the signed fields and the checksum.

use alloc::borrow::Cow;

use super::fields::{Builder, Uid};
use super::key::{KeyClass, classify};
use super::unsigned::Unsigned;
use super::{IpnFormat, SIGNED_SHAPE, UnverifiedIpn};
use crate::error::{Error, Limit, Problem, Result};
use crate::form::{Encoded, has_escape};
use crate::percent::decode_qs;
use crate::scan::{BITS_PER_BYTE, STRIDE, marks, needs_unescape};

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

    /// Handles the pair `body[start..end]` whose first `=` is at `eq`.
    #[inline(always)]
    fn pair(&mut self, start: usize, eq: Option<usize>, end: usize) -> Result<()> {
        let body = self.body;
        let key_end = eq.unwrap_or(end);
        if start == end {
            return Ok(()); // `a=1&&b=2`: skipped, as browsers and `qs` do
        }
        self.count += 1;
        if self.count > self.max_pairs {
            return Err(Error::LimitExceeded {
                limit: Limit::Pairs,
                max: self.max_pairs,
            });
        }
        let key = body.get(start..key_end).unwrap_or_default();
        let value_start = eq.map_or(end, |e| e + 1);
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
    // One pass over the body, a register at a time, marking every `&`
    // and `=`: each byte is read once, and each pair handled as its `&`
    // is met.
    let mut start = 0; // of the current pair
    let mut eq = None; // its first `=`
    let mut base = 0;
    while base < body.len() {
        let rest = body.get(base..).unwrap_or_default();
        let (amps, mut marks) = match rest.first_chunk::<STRIDE>() {
            Some(chunk) => marks(chunk, b'&', b'='),
            None => {
                // The last, short chunk, padded with zeros (neither `&` nor `=`).
                let mut chunk = [0u8; STRIDE];
                chunk[..rest.len()].copy_from_slice(rest);
                marks(&chunk, b'&', b'=')
            }
        };
        while marks != 0 {
            let bit = marks.trailing_zeros();
            let at = base + (bit / BITS_PER_BYTE) as usize;
            marks &= marks - 1;
            if amps & (1 << bit) != 0 {
                p.pair(start, eq, at)?;
                start = at + 1;
                eq = None;
            } else if eq.is_none() {
                eq = Some(at);
            }
        }
        base += STRIDE;
    }
    p.pair(start, eq, body.len())?;
    let FormPass {
        b, checksum_key, ..
    } = p;
    b.finish(Unsigned::Form { body, checksum_key })
}
