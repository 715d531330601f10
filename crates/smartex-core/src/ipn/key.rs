//! What a form key names, as `qs` (the platform's parser) reads it, found
//! without decoding the key into a buffer.

use super::field;
use super::signed::SignedField;
use crate::percent::Decoded;
use crate::scan::has_escape;

/// What a form key names, as `qs` (the platform's parser) would read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum KeyClass {
    /// One of the seven signed fields.
    Signed(SignedField),
    /// A signed field's name with a bracket segment (`newStatus[x]`): `qs`
    /// would make it a nested value, so the signed value is ambiguous.
    SignedNested(SignedField),
    /// The configured checksum field.
    Checksum,
    /// `orderUID`.
    OrderUid,
    /// `orderUID[…]`: makes the uid ambiguous.
    OrderUidNested,
    /// Anything else, `toValues` included.
    Unsigned,
}

/// How a key's decoded text relates to a name.
#[derive(Clone, Copy, PartialEq, Eq)]
enum NameMatch {
    Exact,
    /// The name, then a complete bracket segment: `qs` makes it the parent of
    /// a nested value.
    Nested,
    Other,
}

/// Compares the decoded text of `raw` with `name` without decoding it into a
/// buffer. `Nested` follows `qs`: the parent of a nested key is the text
/// before its first complete `[…]` segment.
fn match_decoded(raw: &[u8], name: &[u8]) -> NameMatch {
    // Most keys differ from the name in their plain first bytes.
    for (&r, &n) in raw.iter().zip(name) {
        if r == b'%' || r == b'+' {
            break;
        }
        if r != n {
            return NameMatch::Other;
        }
    }
    let mut decoded = Decoded::lossy(raw);
    for &want in name {
        if decoded.next() != Some(want) {
            return NameMatch::Other;
        }
    }
    // Rare: the name matched. Compare again as `qs` would decode the key
    // (escapes that do not decode leave the whole key undecoded).
    let mut decoded = Decoded::qs(raw);
    for &want in name {
        if decoded.next() != Some(want) {
            return NameMatch::Other;
        }
    }
    match decoded.next() {
        None => NameMatch::Exact,
        Some(b'[') => match decoded.find(|&b| b == b'[' || b == b']') {
            Some(b']') => NameMatch::Nested,
            _ => NameMatch::Other,
        },
        Some(_) => NameMatch::Other,
    }
}

/// Reads a raw key. `checksum` is the configured checksum field's name.
///
/// The platform's own spellings (`orderId`, `hash`, …) are one comparison
/// each; any other key is checked, without allocating, for a signed name in
/// disguise (`order%49d`, `newStatus[x]`), and is otherwise unsigned.
#[inline(always)]
pub(super) fn classify(key: &[u8], checksum: Option<&str>) -> KeyClass {
    if let Some(class) = platform_name(key) {
        return class;
    }
    if let Some(name) = checksum
        && key == name.as_bytes()
        && !has_escape(key)
    {
        return KeyClass::Checksum;
    }
    // Only names that start with the key's first decoded byte can match:
    // `toValues…` and most unknown fields stop after a byte or two.
    let first = match key.first() {
        Some(b'%' | b'+') | None => None,
        Some(&b) => Some(b),
    };
    let could_be = |name: &str| first.is_none() || name.as_bytes().first().copied() == first;
    let candidates: &[SignedField] = match first {
        None => &SignedField::ALL,
        Some(b'o') => &[SignedField::OrderId, SignedField::OutAmount],
        Some(b'n') => &[SignedField::NewStatus],
        Some(b'i') => &[SignedField::InAmount],
        Some(b'x') => &[SignedField::XmlFrom, SignedField::XmlTo],
        Some(b't') => &[SignedField::Timestamp],
        Some(_) => &[],
    };
    for &signed in candidates {
        let name = signed.name().as_bytes();
        // The second byte, when plain, settles most keys (`toValues…` is
        // not `timestamp`) without a call.
        if let (Some(_), Some(&k), Some(&n)) = (first, key.get(1), name.get(1))
            && k != n
            && k != b'%'
            && k != b'+'
        {
            continue;
        }
        match match_decoded(key, name) {
            NameMatch::Exact => return KeyClass::Signed(signed),
            NameMatch::Nested => return KeyClass::SignedNested(signed),
            NameMatch::Other => {}
        }
    }
    if could_be(field::ORDER_UID) {
        match match_decoded(key, field::ORDER_UID.as_bytes()) {
            NameMatch::Exact => return KeyClass::OrderUid,
            NameMatch::Nested => return KeyClass::OrderUidNested,
            NameMatch::Other => {}
        }
    }
    if let Some(name) = checksum
        && could_be(name)
        && match_decoded(key, name.as_bytes()) == NameMatch::Exact
    {
        return KeyClass::Checksum;
    }
    KeyClass::Unsigned
}

/// The first (up to) eight bytes of `s` as a little-endian word, zero-padded.
const fn word_of(s: &[u8]) -> u64 {
    let mut w = 0u64;
    let mut i = 0;
    while i < s.len() && i < 8 {
        w |= (s[i] as u64) << (8 * i);
        i += 1;
    }
    w
}

/// The platform's plain spellings of the documented names, compared as
/// words (one or two comparisons, no call to `memcmp`).
#[inline(always)]
fn platform_name(key: &[u8]) -> Option<KeyClass> {
    const ORDER_ID: u64 = word_of(b"orderId");
    const XML_TO: u64 = word_of(b"xml_to");
    const IN_AMOUNT: u64 = word_of(b"inAmount");
    const XML_FROM: u64 = word_of(b"xml_from");
    const ORDER_UID: u64 = word_of(b"orderUID");
    const NEW_STATU: u64 = word_of(b"newStatu");
    const OUT_AMOUN: u64 = word_of(b"outAmoun");
    const TIMESTAM: u64 = word_of(b"timestam");
    // Fixed-size copies: the compiler turns each into a load.
    let head = |k: &[u8]| -> u64 {
        let mut w = [0u8; 8];
        match k.len() {
            6 => w[..6].copy_from_slice(&k[..6]),
            7 => w[..7].copy_from_slice(&k[..7]),
            _ => w.copy_from_slice(&k[..8]),
        }
        u64::from_le_bytes(w)
    };
    match key.len() {
        6 if head(key) == XML_TO => Some(KeyClass::Signed(SignedField::XmlTo)),
        7 if head(key) == ORDER_ID => Some(KeyClass::Signed(SignedField::OrderId)),
        8 => match head(key) {
            IN_AMOUNT => Some(KeyClass::Signed(SignedField::InAmount)),
            XML_FROM => Some(KeyClass::Signed(SignedField::XmlFrom)),
            ORDER_UID => Some(KeyClass::OrderUid),
            _ => None,
        },
        9 => match (head(key), key[8]) {
            (NEW_STATU, b's') => Some(KeyClass::Signed(SignedField::NewStatus)),
            (OUT_AMOUN, b't') => Some(KeyClass::Signed(SignedField::OutAmount)),
            (TIMESTAM, b'p') => Some(KeyClass::Signed(SignedField::Timestamp)),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    // Tests fail loudly by design.
    #![allow(clippy::unwrap_used)]
    use super::*;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    #[test]
    fn keys_are_classified_as_qs_reads_them() {
        let c = |k: &str| classify(k.as_bytes(), Some("hash"));
        assert_eq!(c("orderId"), KeyClass::Signed(SignedField::OrderId));
        assert_eq!(c("order%49d"), KeyClass::Signed(SignedField::OrderId));
        assert_eq!(c("time%73tamp"), KeyClass::Signed(SignedField::Timestamp));
        assert_eq!(
            c("newStatus[x]"),
            KeyClass::SignedNested(SignedField::NewStatus)
        );
        assert_eq!(
            c("newStatus%5B%5D"),
            KeyClass::SignedNested(SignedField::NewStatus)
        );
        assert_eq!(c("newStatus["), KeyClass::Unsigned); // qs: no segment
        assert_eq!(c("newStatus[a[b]"), KeyClass::Unsigned); // qs: parent `newStatus[a`
        assert_eq!(c("newStatusX"), KeyClass::Unsigned);
        assert_eq!(c("hash"), KeyClass::Checksum);
        assert_eq!(c("h%61sh"), KeyClass::Checksum);
        assert_eq!(c("hash[0]"), KeyClass::Unsigned);
        assert_eq!(c("orderUID"), KeyClass::OrderUid);
        assert_eq!(c("orderUID[]"), KeyClass::OrderUidNested);
        assert_eq!(c("toValues%5B0%5D%5Bkey%5D"), KeyClass::Unsigned);
        assert_eq!(c("%ZZ"), KeyClass::Unsigned);
        assert_eq!(c("order%49d[%ZZ]"), KeyClass::Unsigned); // qs leaves it undecoded
        assert_eq!(c("order%49d%FF"), KeyClass::Unsigned);
        assert_eq!(c(""), KeyClass::Unsigned);
        assert_eq!(classify(b"hash", None), KeyClass::Unsigned);
    }

    proptest! {
        /// The allocation-free classifier agrees with decoding the key first.
        #[test]
        fn classify_agrees_with_decoding_first(
            key in "(orderId|newStatus|timestamp|orderUID|hash|toValues|o|x)(%[0-9A-Fa-f]{2}|%|\\+|\\[|\\]|[a-z0-9]){0,6}",
        ) {
            let decoded: Vec<u8> = Decoded::qs(key.as_bytes()).collect();
            let by_decoding = {
                let parent_end = {
                    // qs: the parent ends at the first complete `[...]` segment.
                    let mut end = decoded.len();
                    let mut open = None;
                    for (i, &b) in decoded.iter().enumerate() {
                        match b {
                            b'[' => open = Some(i),
                            b']' if open.is_some() => { end = open.unwrap(); break; }
                            _ => {}
                        }
                    }
                    end
                };
                let parent = &decoded[..parent_end];
                let nested = parent_end < decoded.len();
                let signed = core::str::from_utf8(parent).ok().and_then(SignedField::from_name);
                match (signed, nested) {
                    (Some(signed), false) => KeyClass::Signed(signed),
                    (Some(signed), true) => KeyClass::SignedNested(signed),
                    (None, false) if parent == b"orderUID" => KeyClass::OrderUid,
                    (None, true) if parent == b"orderUID" => KeyClass::OrderUidNested,
                    (None, false) if parent == b"hash" => KeyClass::Checksum,
                    _ => KeyClass::Unsigned,
                }
            };
            prop_assert_eq!(classify(key.as_bytes(), Some("hash")), by_decoding, "{}", key);
        }
    }
}
