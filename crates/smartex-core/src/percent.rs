//! Percent-decoding (`+` and `%XX`), in the three ways this crate reads it.
//!
//! One step decodes ([`unit`]): `+` is a space and `%XX` the byte `0xXX` in
//! every mode. The modes differ only in what a `%` that starts no escape
//! (`%zz`, a trailing `%`) means, and in what becomes of a result that is not
//! UTF-8:
//!
//! | mode | a bad escape | not UTF-8 | for |
//! |---|---|---|---|
//! | Form ([`decode_form`], [`check_form`]) | an error | an error | the form codec, the `ipnUrl` reference, signed IPN values: a strict reader |
//! | Lossy ([`Decoded::lossy`]) | stands for itself | (bytes) | comparing a key with a name without a buffer |
//! | Qs ([`decode_qs`], [`Decoded::qs`]) | only `+` is decoded in the whole text | replaced by U+FFFD | what Node's `qs` reads: unsigned IPN fields, the port of `qs.parse` |
//!
//! Qs is `qs`'s `utils.decode`: `decodeURIComponent` after `+` → space, and
//! the text unchanged when that throws — on a bad escape, or escapes that do
//! not make UTF-8. `qs` reads a JavaScript string, decoded from the body's
//! bytes before it ever sees an escape, so a body that is not UTF-8 is never
//! decoded further than `+` either.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use crate::error::Problem;
use crate::scan::has_escape;

/// The value of a hex digit, in either case.
#[inline]
pub(crate) fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The unit of encoded text that starts with `first` (followed by `rest`):
/// the byte it stands for and how many bytes it takes, or `None` for a `%`
/// that starts no escape. With `escapes` false only `+` is decoded.
#[inline]
fn unit(first: u8, rest: &[u8], escapes: bool) -> Option<(u8, usize)> {
    match (first, rest) {
        (b'+', _) => Some((b' ', 1)),
        (b'%', [hi, lo, ..]) if escapes => Some((hex_digit(*hi)? << 4 | hex_digit(*lo)?, 3)),
        (b'%', _) if escapes => None,
        (b, _) => Some((b, 1)),
    }
}

/// Hands the bytes Form decoding makes of `raw` to `sink`, in order.
///
/// # Errors
/// [`Problem::BadPercentEncoding`] at the first `%` that starts no escape, or
/// the sink's own error.
#[inline]
fn form_bytes(raw: &[u8], mut sink: impl FnMut(u8) -> Result<(), Problem>) -> Result<(), Problem> {
    let mut rest = raw;
    while let Some((&first, tail)) = rest.split_first() {
        let (byte, len) = unit(first, tail, true).ok_or(Problem::BadPercentEncoding)?;
        sink(byte)?;
        rest = rest.get(len..).unwrap_or_default();
    }
    Ok(())
}

/// Form: decodes `raw` strictly; borrows when there is nothing to unescape.
///
/// # Errors
/// [`Problem::BadPercentEncoding`] for a `%` that starts no escape,
/// [`Problem::InvalidUtf8`] for escapes that do not make UTF-8.
pub(crate) fn decode_form(raw: &str) -> Result<Cow<'_, str>, Problem> {
    if !has_escape(raw.as_bytes()) {
        return Ok(Cow::Borrowed(raw));
    }
    let mut out = Vec::with_capacity(raw.len());
    form_bytes(raw.as_bytes(), |b| {
        out.push(b);
        Ok(())
    })?;
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| Problem::InvalidUtf8)
}

/// Form: what [`decode_form`] would say of `raw`, without allocating.
///
/// # Errors
/// Whenever [`decode_form`] fails. Of two problems it may name the other: a
/// chunk that is not UTF-8 is reported as soon as it is full, before a bad
/// escape further on.
pub(crate) fn check_form(raw: &str) -> Result<(), Problem> {
    if !has_escape(raw.as_bytes()) {
        return Ok(());
    }
    // Decoded into a small stack buffer and checked as UTF-8 chunk by chunk,
    // an incomplete sequence carried over to the next chunk.
    let mut buf = [0u8; 64];
    let mut len = 0;
    form_bytes(raw.as_bytes(), |b| {
        buf[len] = b;
        len += 1;
        if len == buf.len() {
            len = flush_utf8(&mut buf, len)?;
        }
        Ok(())
    })?;
    match core::str::from_utf8(&buf[..len]) {
        Ok(_) => Ok(()),
        Err(_) => Err(Problem::InvalidUtf8),
    }
}

/// Checks the complete UTF-8 prefix of `buf[..len]` and moves an incomplete
/// trailing sequence (at most 3 bytes) to the front; returns the new length.
fn flush_utf8(buf: &mut [u8; 64], len: usize) -> Result<usize, Problem> {
    match core::str::from_utf8(&buf[..len]) {
        Ok(_) => Ok(0),
        Err(e) if e.error_len().is_none() => {
            let valid = e.valid_up_to();
            buf.copy_within(valid..len, 0);
            Ok(len - valid)
        }
        Err(_) => Err(Problem::InvalidUtf8),
    }
}

/// Qs: `raw` decoded as Node's `qs` reads it; never fails (bytes that are not
/// UTF-8 become U+FFFD); borrows when there is nothing to decode.
pub(crate) fn decode_qs(raw: &[u8]) -> Cow<'_, str> {
    if !has_escape(raw) {
        return String::from_utf8_lossy(raw);
    }
    let bytes: Vec<u8> = Decoded::qs(raw).collect();
    match String::from_utf8(bytes) {
        Ok(text) => Cow::Owned(text),
        Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

/// The decoded bytes of encoded text, one at a time, without a buffer: in
/// the Lossy mode or the Qs mode (see the [module](self)).
#[derive(Clone, Debug)]
pub(crate) struct Decoded<'r> {
    raw: &'r [u8],
    /// Whether `%XX` is decoded (else only `+`).
    escapes: bool,
}

impl<'r> Decoded<'r> {
    /// Lossy: every escape decoded, a `%` that starts none standing for itself.
    pub(crate) fn lossy(raw: &'r [u8]) -> Self {
        Self { raw, escapes: true }
    }

    /// Qs: decoded fully when Form decoding of the text would succeed, else
    /// only `+`.
    pub(crate) fn qs(raw: &'r [u8]) -> Self {
        let escapes = core::str::from_utf8(raw).is_ok_and(|s| check_form(s).is_ok());
        Self { raw, escapes }
    }
}

impl Iterator for Decoded<'_> {
    type Item = u8;

    #[inline]
    fn next(&mut self) -> Option<u8> {
        let (&first, rest) = self.raw.split_first()?;
        let (byte, len) = unit(first, rest, self.escapes).unwrap_or((b'%', 1));
        self.raw = self.raw.get(len..).unwrap_or_default();
        Some(byte)
    }
}

#[cfg(test)]
mod tests {
    // Tests fail loudly by design.
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_modes_differ_only_where_they_say() {
        let lossy = |s: &str| String::from_utf8(Decoded::lossy(s.as_bytes()).collect()).unwrap();
        let qs = |s: &str| decode_qs(s.as_bytes()).into_owned();
        // A good text: the same in every mode.
        for mode in [lossy, qs] {
            assert_eq!(mode("a+b%20c%2B%c3%a9"), "a b c+é");
        }
        assert_eq!(decode_form("a+b%20c%2B%c3%a9").unwrap(), "a b c+é");
        // A bad escape: an error, itself, or the whole text kept.
        assert_eq!(decode_form("a+b%zz%41"), Err(Problem::BadPercentEncoding));
        assert_eq!(lossy("a+b%zz%41"), "a b%zzA");
        assert_eq!(qs("a+b%zz%41"), "a b%zz%41");
        assert_eq!(qs("100%"), "100%");
        // Escapes that do not make UTF-8.
        assert_eq!(decode_form("%FF+x"), Err(Problem::InvalidUtf8));
        assert_eq!(qs("%FF+x"), "%FF x");
        // Raw bytes that are not UTF-8, even where an escape would complete
        // them (`qs` sees U+FFFD there, never the byte).
        assert_eq!(decode_qs(b"%C3\xA9+"), "%C3\u{FFFD} ");
        assert_eq!(decode_qs(b"\xFF"), "\u{FFFD}");
    }

    proptest! {
        /// `check_form` says what `decode_form` does, across the stack
        /// buffer's chunks; Qs is Form when Form succeeds, else `+` only.
        #[test]
        fn modes_agree_with_their_definitions(
            raw in "([a-z+]|%[0-9A-Fa-f]{2}|%[zZ]|%|%C3|%A9|é){0,80}",
        ) {
            let form = decode_form(&raw);
            prop_assert_eq!(check_form(&raw).is_ok(), form.is_ok());
            let qs = decode_qs(raw.as_bytes());
            match form {
                Ok(text) => prop_assert_eq!(qs, text),
                Err(_) => prop_assert_eq!(qs.into_owned(), raw.replace('+', " ")),
            }
        }
    }
}
