//! The IPN (instant payment notification) model, verified before trusted.
//!
//! The platform POSTs a form body once per status change. Parsing yields an
//! [`UnverifiedIpn`] that exposes only what is needed to find the secret (the
//! order's id and uid); only [`UnverifiedIpn::verify`] yields a [`VerifiedIpn`]
//! with the status, amounts, currencies and `toValues`.
//!
//! The checksum covers seven values: `orderId`, `newStatus`, `inAmount`,
//! `outAmount`, `xml_from`, `xml_to` and `timestamp`. It does **not** cover
//! `orderUID`, `toValues` or any other field: whoever holds one genuine
//! notification can change those and it still verifies. So find (and update)
//! the order by `orderId`, and treat `toValues` as information, never as an
//! instruction (where to pay out, say).
//!
//! # What may cost a notification
//!
//! The platform sends each notification once, so refusing a genuine one loses
//! it. Only what the checksum covers can therefore refuse a body:
//!
//! - the seven signed fields are strict: one missing, given twice (even with
//!   the same value), nested (`newStatus[x]=…`) or not decodable is refused,
//!   naming the field;
//! - the checksum field may appear more than once: every distinct value is a
//!   candidate and the body verifies if one of them matches (see
//!   [`UnverifiedIpn::verify_any`]);
//! - everything else — `orderUID`, `toValues` and unknown fields, in any
//!   shape, repeated, nested to any depth, with any index, badly escaped or
//!   not UTF-8 — never refuses a body. It is kept as raw decoded pairs
//!   ([`VerifiedIpn::unsigned_pairs`]); `toValues` is also offered as a
//!   best-effort structured view ([`VerifiedIpn::to_values`]) that says when
//!   the sender's spelling could not be structured.
//!
//! Only the body's pair count ([`Limits::max_pairs`]) bounds the rest; the
//! other [`Limits`] apply to the general form decoder, not here.
//!
//! Values are kept exactly as received: the checksum covers the raw text, and a
//! typed view (an [`Amount`], an [`OrderUid`]) that fails to parse never makes a
//! correctly signed notification unreadable — the raw text is always there.
//!
//! ```
//! use smartex_core::ipn::{IpnFormat, UnverifiedIpn};
//! use smartex_core::{IpnSecret, OrderStatus};
//! let body = b"orderUID=104857&orderId=5d8e6002b80b7b4cd75a6424&newStatus=inProgress\
//! &inAmount=2&outAmount=317.42&xml_from=ETH&xml_to=WMZ&timestamp=1571328406072\
//! &toValues%5B0%5D%5Bkey%5D=wallet&toValues%5B0%5D%5Bvalue%5D=Z123\
//! &hash=af3acf947e6f0e0f2c267e300b8582e504dba12d1f2d058652b7414163c09f48";
//! let ipn = UnverifiedIpn::parse_form(body, &IpnFormat::default())?;
//! assert_eq!(ipn.order_id()?.as_str(), "5d8e6002b80b7b4cd75a6424"); // look the secret up by this
//! let ipn = ipn.verify(&IpnSecret::new("SECRET123")?)?;
//! assert_eq!(ipn.status(), OrderStatus::InProgress);
//! assert_eq!(ipn.out_amount()?.as_str(), "317.42");
//! let to_values = ipn.to_values();
//! assert!(to_values.is_structured());
//! assert_eq!(to_values.entries()[0].value(), "Z123");
//! # Ok::<(), smartex_core::Error>(())
//! ```

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use smallvec::SmallVec;

use crate::checksum::{Checksum, SignedFields};
use crate::error::{Error, Limit, Problem, Result};
use crate::form::{Encoded, Limits, find_byte, has_escape};
use crate::percent::{Decoded, decode_qs};
use crate::secret::IpnSecret;
use crate::status::{OrderStatus, StatusEvent};
use crate::time::UnixMillis;
use crate::types::{Amount, CurrencyCode, ObjectId, OrderUid};

/// How an IPN body is laid out: where the checksum is, and the decoder's bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpnFormat<'n> {
    /// The body field that carries the checksum (default `hash`), or `None` when
    /// the checksum comes from elsewhere (a header, a query parameter) and the
    /// caller adds it with [`UnverifiedIpn::add_checksum`]. The docs never
    /// name it; see `API-NOTES` in the repository's docs.
    pub checksum_field: Option<&'n str>,
    /// Bounds of the form decoder. Only [`Limits::max_pairs`] applies to a
    /// notification: the shape of unsigned fields is never a reason to refuse.
    pub limits: Limits,
}

impl Default for IpnFormat<'_> {
    fn default() -> Self {
        Self {
            checksum_field: Some("hash"),
            limits: Limits::default(),
        }
    }
}

/// The wire names of the nine documented fields.
pub mod field {
    /// `orderUID`.
    pub const ORDER_UID: &str = "orderUID";
    /// `orderId`.
    pub const ORDER_ID: &str = "orderId";
    /// `newStatus`.
    pub const NEW_STATUS: &str = "newStatus";
    /// `inAmount`.
    pub const IN_AMOUNT: &str = "inAmount";
    /// `outAmount`.
    pub const OUT_AMOUNT: &str = "outAmount";
    /// `xml_from`.
    pub const XML_FROM: &str = "xml_from";
    /// `xml_to`.
    pub const XML_TO: &str = "xml_to";
    /// `timestamp`.
    pub const TIMESTAMP: &str = "timestamp";
    /// `toValues`.
    pub const TO_VALUES: &str = "toValues";
}

/// The signed fields' wire names, in the order they are hashed.
const SIGNED: [&str; 7] = [
    field::ORDER_ID,
    field::NEW_STATUS,
    field::IN_AMOUNT,
    field::OUT_AMOUNT,
    field::XML_FROM,
    field::XML_TO,
    field::TIMESTAMP,
];

/// What a form key names, as `qs` (the platform's parser) would read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeyClass {
    /// One of the seven signed fields (the index in [`SIGNED`]).
    Signed(usize),
    /// A signed field's name with a bracket segment (`newStatus[x]`): `qs`
    /// would make it a nested value, so the signed value is ambiguous.
    SignedNested(usize),
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
fn classify(key: &[u8], checksum: Option<&str>) -> KeyClass {
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
    let slots: &[usize] = match first {
        None => &[0, 1, 2, 3, 4, 5, 6],
        Some(b'o') => &[0, 3],
        Some(b'n') => &[1],
        Some(b'i') => &[2],
        Some(b'x') => &[4, 5],
        Some(b't') => &[6],
        Some(_) => &[],
    };
    for &slot in slots {
        let name = SIGNED[slot].as_bytes();
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
            NameMatch::Exact => return KeyClass::Signed(slot),
            NameMatch::Nested => return KeyClass::SignedNested(slot),
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
        6 if head(key) == XML_TO => Some(KeyClass::Signed(5)),
        7 if head(key) == ORDER_ID => Some(KeyClass::Signed(0)),
        8 => match head(key) {
            IN_AMOUNT => Some(KeyClass::Signed(2)),
            XML_FROM => Some(KeyClass::Signed(4)),
            ORDER_UID => Some(KeyClass::OrderUid),
            _ => None,
        },
        9 => match (head(key), key[8]) {
            (NEW_STATU, b's') => Some(KeyClass::Signed(1)),
            (OUT_AMOUN, b't') => Some(KeyClass::Signed(3)),
            (TIMESTAM, b'p') => Some(KeyClass::Signed(6)),
            _ => None,
        },
        _ => None,
    }
}

/// An unsigned value for reading: the text itself when it is UTF-8 with
/// nothing to unescape, else [`decode_qs`].
#[inline]
fn read_unsigned<'a>(text: Option<&'a str>, raw: &'a [u8]) -> Cow<'a, str> {
    match text {
        Some(t) if !has_escape(raw) => Cow::Borrowed(t),
        _ => decode_qs(raw),
    }
}

/// `orderUID` as received: not signed, so never a reason to refuse.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Uid<'a> {
    Absent,
    One(Cow<'a, str>),
    /// Given more than once with different values, or nested.
    Ambiguous,
}

impl<'a> Uid<'a> {
    fn offer(&mut self, value: Cow<'a, str>) {
        *self = match core::mem::replace(self, Uid::Absent) {
            Uid::Absent => Uid::One(value),
            Uid::One(first) if first == value => Uid::One(first),
            _ => Uid::Ambiguous,
        };
    }

    fn into_owned(self) -> Uid<'static> {
        match self {
            Uid::Absent => Uid::Absent,
            Uid::One(v) => Uid::One(Cow::Owned(v.into_owned())),
            Uid::Ambiguous => Uid::Ambiguous,
        }
    }

    fn raw(&self) -> Option<&str> {
        match self {
            Uid::One(v) => Some(v),
            _ => None,
        }
    }

    fn parse(&self) -> Result<OrderUid> {
        match self {
            Uid::One(v) => OrderUid::parse(field::ORDER_UID, v),
            Uid::Absent => Err(Error::missing(field::ORDER_UID)),
            Uid::Ambiguous => Err(Error::DuplicateField {
                field: Cow::Borrowed(field::ORDER_UID),
            }),
        }
    }
}

/// Everything the checksum does not cover, kept raw.
#[derive(Clone, PartialEq, Eq)]
enum Unsigned<'a> {
    /// A form body: its unsigned pairs are found by walking it again when
    /// asked, so the hot path stores nothing for them. `checksum_key` is the
    /// raw key of the body's checksum field, if it had one, to skip it.
    Form {
        body: &'a [u8],
        checksum_key: Option<&'a [u8]>,
    },
    /// Decoded pairs (a JSON body flattened in `qs` spelling, or an owned copy).
    Pairs(Vec<(String, String)>),
}

impl<'a> Unsigned<'a> {
    fn pairs(&self) -> UnsignedPairs<'_> {
        UnsignedPairs {
            inner: match self {
                Unsigned::Form { body, checksum_key } => PairsInner::Form {
                    rest: body,
                    checksum_key: *checksum_key,
                },
                Unsigned::Pairs(pairs) => PairsInner::Pairs(pairs.iter()),
            },
        }
    }

    fn into_owned(self) -> Unsigned<'static> {
        Unsigned::Pairs(
            self.pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }
}

/// The fields the checksum does not cover, as (name, value) pairs decoded
/// for reading, in the order received: `orderUID`, every `toValues` pair in
/// the sender's own spelling, unknown fields. Repetitions are all there.
/// Nothing here is authenticated.
///
/// Names are decoded as they were sent (`toValues[0][key]`, `extra.ref`); a
/// JSON body's nested members are written in brackets.
#[derive(Clone, Debug)]
pub struct UnsignedPairs<'x> {
    inner: PairsInner<'x>,
}

#[derive(Clone, Debug)]
enum PairsInner<'x> {
    Form {
        rest: &'x [u8],
        checksum_key: Option<&'x [u8]>,
    },
    Pairs(core::slice::Iter<'x, (String, String)>),
}

/// Whether two raw keys decode to the same text.
fn same_decoded(a: &[u8], b: &[u8]) -> bool {
    a == b || Decoded::qs(a).eq(Decoded::qs(b))
}

impl<'x> Iterator for UnsignedPairs<'x> {
    type Item = (Cow<'x, str>, Cow<'x, str>);

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            PairsInner::Pairs(iter) => iter
                .next()
                .map(|(k, v)| (Cow::Borrowed(k.as_str()), Cow::Borrowed(v.as_str()))),
            PairsInner::Form { rest, checksum_key } => loop {
                if rest.is_empty() {
                    return None;
                }
                let end = find_byte(rest, b'&').unwrap_or(rest.len());
                let pair = &rest[..end];
                *rest = rest.get(end + 1..).unwrap_or_default();
                if pair.is_empty() {
                    continue;
                }
                let (key, value) = match find_byte(pair, b'=') {
                    Some(i) => (&pair[..i], &pair[i + 1..]),
                    None => (pair, &[][..]),
                };
                match classify(key, None) {
                    KeyClass::Signed(_) | KeyClass::SignedNested(_) => continue,
                    _ => {}
                }
                if checksum_key.is_some_and(|c| same_decoded(key, c)) {
                    continue;
                }
                return Some((decode_qs(key), decode_qs(value)));
            },
        }
    }
}

/// The signed values and what else a notification carries. Shared by both states.
#[derive(Clone, PartialEq, Eq)]
struct Fields<'a> {
    /// The seven signed values, decoded, in [`SIGNED`] order.
    signed: [Cow<'a, str>; 7],
    order_uid: Uid<'a>,
    unsigned: Unsigned<'a>,
}

impl<'a> Fields<'a> {
    fn signed(&self) -> SignedFields<'_> {
        let [
            order_id,
            new_status,
            in_amount,
            out_amount,
            xml_from,
            xml_to,
            timestamp,
        ] = &self.signed;
        SignedFields {
            order_id,
            new_status,
            in_amount,
            out_amount,
            xml_from,
            xml_to,
            timestamp,
        }
    }

    fn into_owned(self) -> Fields<'static> {
        Fields {
            signed: self.signed.map(|c| Cow::Owned(c.into_owned())),
            order_uid: self.order_uid.into_owned(),
            unsigned: self.unsigned.into_owned(),
        }
    }
}

/// Every distinct well-formed checksum a notification carries, wherever it
/// was found (the body, a header, a query parameter, the caller): usually
/// one. **The one candidate rule**: a value added in transit cannot lose a
/// genuine notification, and a forgery still needs a valid checksum over the
/// signed values, which an extra guess does not provide.
#[derive(Clone, Default)]
struct Candidates {
    found: SmallVec<[Checksum; 1]>,
    /// Why the body's checksum field was no candidate, when it was given but
    /// never well-formed: the error if nothing else is found.
    body_problem: Option<Problem>,
}

impl Candidates {
    /// Offers `hex_digits`: a candidate if it is 64 hex digits (either
    /// case) not seen before; otherwise what is wrong with it.
    #[inline]
    fn offer(&mut self, hex_digits: &[u8]) -> core::result::Result<(), Problem> {
        match Checksum::parse_hex("hash", hex_digits) {
            Ok(c) => {
                if !self.found.contains(&c) {
                    self.found.push(c);
                }
                Ok(())
            }
            Err(Error::InvalidField { problem, .. }) => Err(problem),
            // parse_hex reports nothing else; a malformed value all the same.
            Err(_) => Err(Problem::NotHex),
        }
    }
}

/// Collects the signed values and checksum candidates, refusing what the
/// checksum covers when it is missing or given twice.
struct Builder<'a> {
    signed: [Option<Cow<'a, str>>; 7],
    order_uid: Uid<'a>,
    checksums: Candidates,
}

impl<'a> Builder<'a> {
    fn new() -> Self {
        Self {
            signed: Default::default(),
            order_uid: Uid::Absent,
            checksums: Candidates::default(),
        }
    }

    #[inline]
    fn signed(&mut self, slot: usize, value: Cow<'a, str>) -> Result<()> {
        let target = &mut self.signed[slot];
        if target.is_some() {
            return Err(Error::DuplicateField {
                field: Cow::Borrowed(SIGNED[slot]),
            });
        }
        *target = Some(value);
        Ok(())
    }

    /// A value of the body's checksum field: every distinct well-formed one
    /// is a candidate; a malformed one only says why, if no other is found.
    #[inline]
    fn checksum(&mut self, value: &str) {
        if let Err(problem) = self.checksums.offer(value.as_bytes()) {
            self.checksums.body_problem.get_or_insert(problem);
        }
    }

    fn finish(self, unsigned: Unsigned<'a>) -> Result<UnverifiedIpn<'a>> {
        let [id, status, inn, out, from, to, ts] = self.signed;
        let need =
            |v: Option<Cow<'a, str>>, slot: usize| v.ok_or_else(|| Error::missing(SIGNED[slot]));
        let fields = Fields {
            signed: [
                need(id, 0)?,
                need(status, 1)?,
                need(inn, 2)?,
                need(out, 3)?,
                need(from, 4)?,
                need(to, 5)?,
                need(ts, 6)?,
            ],
            order_uid: self.order_uid,
            unsigned,
        };
        Ok(UnverifiedIpn {
            fields,
            checksums: self.checksums,
        })
    }
}

/// The bytes [`marks`] reads at a time: a 128-bit SSE2 register where
/// there is one (every x86-64 CPU), a 64-bit word elsewhere.
const STRIDE: usize = if cfg!(all(target_arch = "x86_64", target_feature = "sse2")) {
    16
} else {
    8
};

/// How many bits of a [`marks`] mask stand for one byte.
const BITS_PER_BYTE: u32 = if STRIDE == 16 { 1 } else { 8 };

/// Marks the bytes of `chunk` equal to `a`, and those equal to `a` or `b`:
/// byte `i` is bit `i` of the masks. Neither may be 0 (the padding).
///
/// SSE2 compares sixteen bytes at once and hands back one bit per byte,
/// through `safe_arch`'s safe wrappers of the intrinsics (this crate forbids
/// `unsafe`).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline(always)]
fn marks(chunk: &[u8; STRIDE], a: u8, b: u8) -> (u64, u64) {
    use safe_arch::{
        bitor_m128i, cmp_eq_mask_i8_m128i, load_unaligned_m128i, move_mask_i8_m128i,
        set_splat_i8_m128i,
    };
    let bytes = load_unaligned_m128i(chunk);
    let as_a = cmp_eq_mask_i8_m128i(bytes, set_splat_i8_m128i(a.cast_signed()));
    let as_b = cmp_eq_mask_i8_m128i(bytes, set_splat_i8_m128i(b.cast_signed()));
    // `movemask` fills the low 16 bits of an `i32`: never negative.
    let a_bits = u64::from(move_mask_i8_m128i(as_a).unsigned_abs());
    let ab_bits = u64::from(move_mask_i8_m128i(bitor_m128i(as_a, as_b)).unsigned_abs());
    (a_bits, ab_bits)
}

/// Marks the bytes of `chunk` equal to `a`, and those equal to `a` or `b`:
/// byte `i` is bit `8 i + 7` of the masks (eight bytes at a time in a
/// word). Neither may be 0 (the padding).
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
#[inline(always)]
fn marks(chunk: &[u8; STRIDE], a: u8, b: u8) -> (u64, u64) {
    word_marks(chunk, a, b)
}

/// [`marks`] without SIMD: eight bytes in a word, byte `i` at bit `8 i + 7`.
#[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
#[inline(always)]
fn word_marks(chunk: &[u8; 8], a: u8, b: u8) -> (u64, u64) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    // The high bit of every byte of `x` that is zero, and of no other byte
    // (exact: no borrow runs from one byte into the next).
    let zero_bytes = |x: u64| !(((x & LOW7) + LOW7) | x | LOW7);
    let w = u64::from_le_bytes(*chunk);
    let as_a = zero_bytes(w ^ (ONES * u64::from(a)));
    (as_a, as_a | zero_bytes(w ^ (ONES * u64::from(b))))
}

/// Whether `body[start..end]` holds a `%` or a `+` (anything to unescape).
/// A value of a register or less, as the signed ones are, is checked in one
/// step, reading the register from the body in place (bytes past `end` are
/// masked off).
#[inline(always)]
fn needs_unescape(body: &[u8], start: usize, end: usize) -> bool {
    let len = end.saturating_sub(start);
    if (1..=STRIDE).contains(&len)
        && let Some(chunk) = body
            .get(start..)
            .and_then(|rest| rest.first_chunk::<STRIDE>())
    {
        let within = u64::MAX >> (64 - BITS_PER_BYTE as usize * len);
        return marks(chunk, b'%', b'+').1 & within != 0;
    }
    has_escape(body.get(start..end).unwrap_or_default())
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
            KeyClass::Signed(slot) => {
                let name = SIGNED[slot];
                let text = self
                    .text_of(value_start, end)
                    .ok_or_else(|| Error::invalid(name, Problem::InvalidUtf8))?;
                let decoded = if needs_unescape(body, value_start, end) {
                    Encoded::new(text).decode(name)?
                } else {
                    Cow::Borrowed(text)
                };
                self.b.signed(slot, decoded)?;
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

/// A parsed notification whose checksum has not been checked yet.
///
/// It shows only what is needed to find the secret: the order's id and uid.
/// Everything else is reachable only through [`verify`](Self::verify).
#[derive(Clone)]
pub struct UnverifiedIpn<'a> {
    fields: Fields<'a>,
    checksums: Candidates,
}

impl core::fmt::Debug for UnverifiedIpn<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("UnverifiedIpn")
            .field("order_uid", &self.fields.order_uid.raw())
            .field("order_id", &self.fields.signed[0])
            .finish_non_exhaustive()
    }
}

impl<'a> UnverifiedIpn<'a> {
    /// Parses an `application/x-www-form-urlencoded` body in any spelling a
    /// Node sender may use, in one pass that only picks out the signed fields
    /// and the checksum. Allocates nothing when no signed value needs
    /// unescaping; unsigned fields are read only when asked for.
    ///
    /// # Errors
    /// A signed field missing, given twice, nested or not decodable (named),
    /// or more pairs than [`Limits::max_pairs`]. Never anything about
    /// `orderUID`, `toValues` or unknown fields.
    pub fn parse_form(body: &'a [u8], format: &IpnFormat<'_>) -> Result<Self> {
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

    /// Parses a JSON object body with the same fields (numbers or strings; a
    /// number's exact text is kept). Only for merchants who configure the
    /// platform, or a proxy, to send JSON. Unsigned members of any shape are
    /// kept, flattened into pairs in `qs` spelling (`toValues[0][key]`).
    ///
    /// # Errors
    /// As [`parse_form`](Self::parse_form); a signed member that is not a
    /// string or number is [`Error::InvalidField`]; a body that is not JSON,
    /// or not a JSON object, is [`Error::InvalidField`] on the field `(body)`.
    ///
    /// The result owns its text, so it may have any lifetime (`'static` too).
    pub fn parse_json(body: &[u8], format: &IpnFormat<'_>) -> Result<Self> {
        json::parse(body, format)
    }

    /// The order's id, as received.
    pub fn order_id_raw(&self) -> &str {
        &self.fields.signed[0]
    }

    /// The order's id, typed.
    ///
    /// # Errors
    /// If `orderId` is not 24 hex digits.
    pub fn order_id(&self) -> Result<ObjectId> {
        ObjectId::parse(field::ORDER_ID, &self.fields.signed[0])
    }

    /// The order's uid as received, or `None` if the body has none or gives
    /// several different ones. Not covered by the checksum, even once
    /// verified: look the secret up by [`order_id`](Self::order_id).
    pub fn order_uid_raw(&self) -> Option<&str> {
        self.fields.order_uid.raw()
    }

    /// The order's uid, typed. Not covered by the checksum.
    ///
    /// # Errors
    /// [`Error::MissingField`] if the body has none, [`Error::DuplicateField`]
    /// if it gives different ones, [`Error::InvalidField`] if it is not an
    /// integer of at most 11 digits. None of these refuses the notification.
    pub fn order_uid(&self) -> Result<OrderUid> {
        self.fields.order_uid.parse()
    }

    /// Adds a checksum found outside the body — a header, a query parameter
    /// of the `ipnUrl`, one the caller located itself — as a candidate
    /// beside those of the body's checksum field. Every distinct well-formed
    /// value is a candidate, and the notification verifies if one matches.
    /// Returns `false`, adding nothing, if `hex_digits` is not 64 hex digits
    /// (either case): the caller may name the place in its error if no
    /// candidate is found at all ([`has_checksum`](Self::has_checksum)).
    pub fn add_checksum(&mut self, hex_digits: impl AsRef<[u8]>) -> bool {
        self.checksums.offer(hex_digits.as_ref()).is_ok()
    }

    /// Whether at least one well-formed checksum was found (in the body's
    /// checksum field or through [`add_checksum`](Self::add_checksum)).
    pub fn has_checksum(&self) -> bool {
        !self.checksums.found.is_empty()
    }

    /// Whether the body's checksum field was given with a value that is not
    /// 64 hex digits (so that a caller can name the place when no candidate
    /// is found anywhere).
    pub fn body_checksum_malformed(&self) -> bool {
        self.checksums.body_problem.is_some()
    }

    /// Verifies the checksum against `secret`.
    ///
    /// # Errors
    /// As [`verify_any`](Self::verify_any).
    pub fn verify(self, secret: &IpnSecret) -> Result<VerifiedIpn<'a>> {
        self.verify_any(core::slice::from_ref(secret))
    }

    /// Verifies against any of `secrets` (rotation) and any candidate
    /// checksum (the body's checksum field, given once or more, and those
    /// added with [`add_checksum`](Self::add_checksum)): accepted if one
    /// candidate matches the checksum made with one secret, compared in
    /// constant time over all pairs.
    ///
    /// # Errors
    /// [`Error::MissingChecksum`] if there is no candidate,
    /// [`Error::InvalidField`] naming the body's checksum field if it was
    /// given but never 64 hex digits and nothing else was added,
    /// [`Error::BadChecksum`] if none matches (or `secrets` is empty).
    pub fn verify_any(self, secrets: &[IpnSecret]) -> Result<VerifiedIpn<'a>> {
        let candidates = &self.checksums.found;
        if candidates.is_empty() {
            return Err(match self.checksums.body_problem {
                Some(problem) => Error::InvalidField {
                    field: match &self.fields.unsigned {
                        Unsigned::Form {
                            checksum_key: Some(key),
                            ..
                        } => Cow::Owned(decode_qs(key).into_owned()),
                        _ => Cow::Borrowed("hash"),
                    },
                    problem,
                },
                None => Error::MissingChecksum,
            });
        }
        let signed = self.fields.signed();
        let mut matched = subtle::Choice::from(0);
        for secret in secrets {
            let expected = signed.sign(secret);
            for candidate in candidates {
                matched |= expected.ct_eq_checksum(candidate);
            }
        }
        if !bool::from(matched) {
            return Err(Error::BadChecksum);
        }
        // Which candidate matched is no secret once one has: the sender
        // chose them all.
        let checksum = match candidates.as_slice() {
            [one] => *one,
            _ => secrets
                .iter()
                .map(|s| signed.sign(s))
                .find(|expected| candidates.contains(expected))
                .unwrap_or(candidates[0]),
        };
        Ok(VerifiedIpn {
            fields: self.fields,
            checksum,
        })
    }
}

/// The shape a signed field must have.
const SIGNED_SHAPE: &str = "a single value";

/// A notification whose checksum matched: its seven signed values (see
/// [`signed_fields`](Self::signed_fields)) are authentic and safe to act on.
/// `orderUID`, `toValues` and the unknown fields are not covered by the
/// checksum: act on `orderId`, not on them.
///
/// Typed views (`status`, `in_amount`, …) never fail the notification: when a
/// value does not parse, the accessor says so and the `*_raw` text remains.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifiedIpn<'a> {
    fields: Fields<'a>,
    /// The candidate that matched.
    checksum: Checksum,
}

impl core::fmt::Debug for VerifiedIpn<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let s = &self.fields.signed;
        f.debug_struct("VerifiedIpn")
            .field("order_uid", &self.fields.order_uid.raw())
            .field("order_id", &s[0])
            .field("new_status", &s[1])
            .field("in_amount", &s[2])
            .field("out_amount", &s[3])
            .field("xml_from", &s[4])
            .field("xml_to", &s[5])
            .field("timestamp", &s[6])
            .finish_non_exhaustive()
    }
}

impl<'a> VerifiedIpn<'a> {
    /// `orderUID`, typed; **not** covered by the checksum (find the order by
    /// `orderId`).
    ///
    /// # Errors
    /// Absent, given twice with different values, or not an integer of at
    /// most 11 digits (see [`UnverifiedIpn::order_uid`]).
    pub fn order_uid(&self) -> Result<OrderUid> {
        self.fields.order_uid.parse()
    }
    /// `orderId`, typed. # Errors: not 24 hex digits.
    pub fn order_id(&self) -> Result<ObjectId> {
        ObjectId::parse(field::ORDER_ID, &self.fields.signed[0])
    }
    /// `newStatus`, typed (an unknown status is [`OrderStatus::Unknown`]).
    pub fn status(&self) -> OrderStatus {
        OrderStatus::parse(&self.fields.signed[1])
    }
    /// `inAmount`, typed. # Errors: not a decimal number.
    pub fn in_amount(&self) -> Result<Amount> {
        Amount::parse(field::IN_AMOUNT, &self.fields.signed[2])
    }
    /// `outAmount`, typed. # Errors: not a decimal number.
    pub fn out_amount(&self) -> Result<Amount> {
        Amount::parse(field::OUT_AMOUNT, &self.fields.signed[3])
    }
    /// `xml_from`, typed. # Errors: not a currency code.
    pub fn xml_from(&self) -> Result<CurrencyCode> {
        CurrencyCode::parse(field::XML_FROM, &self.fields.signed[4])
    }
    /// `xml_to`, typed. # Errors: not a currency code.
    pub fn xml_to(&self) -> Result<CurrencyCode> {
        CurrencyCode::parse(field::XML_TO, &self.fields.signed[5])
    }
    /// `timestamp` as an instant. The docs say "unix time" and their example
    /// `1571328406072` is in milliseconds, but a sender may use seconds: the
    /// unit is told by magnitude ([`UnixMillis::from_seconds_or_millis`]:
    /// below 10^11 it is seconds).
    ///
    /// # Errors
    /// Not an integer of at most 16 digits.
    pub fn timestamp(&self) -> Result<UnixMillis> {
        parse_timestamp(&self.fields.signed[6])
    }
    /// [`timestamp`](Self::timestamp) in milliseconds since the Unix epoch,
    /// whichever unit it was sent in.
    ///
    /// # Errors
    /// As [`timestamp`](Self::timestamp).
    pub fn timestamp_ms(&self) -> Result<u64> {
        self.timestamp().map(UnixMillis::as_millis)
    }
    /// The status change this notification reports, for the [tracker](crate::status),
    /// its time in milliseconds whichever unit was sent. A timestamp that does
    /// not parse gives an event without a time.
    pub fn event(&self) -> StatusEvent {
        StatusEvent {
            status: self.status(),
            at: self.timestamp().ok(),
            source: crate::status::Source::Ipn,
        }
    }
    /// The seven signed values exactly as received.
    pub fn signed_fields(&self) -> SignedFields<'_> {
        self.fields.signed()
    }
    /// The checksum that matched (when several were offered, the one that did).
    pub fn checksum(&self) -> Checksum {
        self.checksum
    }
    /// `orderUID` as received, or `None` if absent or given with different
    /// values; **not** covered by the checksum.
    pub fn order_uid_raw(&self) -> Option<&str> {
        self.fields.order_uid.raw()
    }
    /// `orderId` as received.
    pub fn order_id_raw(&self) -> &str {
        &self.fields.signed[0]
    }
    /// `newStatus` as received.
    pub fn status_raw(&self) -> &str {
        &self.fields.signed[1]
    }
    /// `inAmount` as received.
    pub fn in_amount_raw(&self) -> &str {
        &self.fields.signed[2]
    }
    /// `outAmount` as received.
    pub fn out_amount_raw(&self) -> &str {
        &self.fields.signed[3]
    }
    /// `timestamp` as received.
    pub fn timestamp_raw(&self) -> &str {
        &self.fields.signed[6]
    }
    /// Every field the checksum does not cover, as decoded pairs in the order
    /// received (see [`UnsignedPairs`]). **Not** authenticated.
    pub fn unsigned_pairs(&self) -> UnsignedPairs<'_> {
        self.fields.unsigned.pairs()
    }
    /// The `toValues` entries (the order's requisites), structured as well as
    /// the sender's spelling allows; [`ToValues::is_structured`] says whether
    /// it could be read completely. **Not** covered by the checksum:
    /// information, not an instruction. Built on each call (it allocates).
    pub fn to_values(&self) -> ToValues<'_> {
        ToValues::from_pairs(self.unsigned_pairs())
    }
    /// Fields this SDK does not know (neither signed, the checksum, `orderUID`
    /// nor `toValues…`), as decoded (name, value), in the order received,
    /// repetitions included. **Not** covered by the checksum.
    pub fn extra(&self) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
        self.unsigned_pairs().filter(|(k, _)| {
            rest_after(k, field::ORDER_UID).is_none() && to_values_rest(k).is_none()
        })
    }
    /// A copy that owns its text, to keep beyond the request body's lifetime.
    pub fn into_owned(self) -> VerifiedIpn<'static> {
        VerifiedIpn {
            fields: self.fields.into_owned(),
            checksum: self.checksum,
        }
    }
}

/// The part of a decoded key after `toValues`, if the key is rooted there
/// (`toValues`, `toValues[…]`, `toValues.…`).
fn to_values_rest(key: &str) -> Option<&str> {
    rest_after(key, field::TO_VALUES)
}

/// The part of a decoded key after `root`, if the key is rooted there
/// (`root`, `root[…]`, `root.…`).
fn rest_after<'k>(key: &'k str, root: &str) -> Option<&'k str> {
    let rest = key.strip_prefix(root)?;
    (rest.is_empty() || rest.starts_with('[') || rest.starts_with('.')).then_some(rest)
}

/// One entry of `toValues`: a requisite of the order (`wallet`, `email`, …).
#[derive(Clone, PartialEq, Eq)]
pub struct ToValue<'x> {
    index: u64,
    key: Option<Cow<'x, str>>,
    name: Option<Cow<'x, str>>,
    value: Option<Cow<'x, str>>,
}

impl ToValue<'_> {
    /// The route field's key (`wallet`); empty if the sender left it out.
    pub fn key(&self) -> &str {
        self.key.as_deref().unwrap_or_default()
    }

    /// The field's human name (`Wallet`); empty if the sender left it out.
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or_default()
    }

    /// The value (`Z123456789012`); empty if the sender left it out.
    pub fn value(&self) -> &str {
        self.value.as_deref().unwrap_or_default()
    }
}

impl core::fmt::Debug for ToValue<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Requisites are personal data: show keys, not values.
        f.debug_struct("ToValue")
            .field("key", &self.key())
            .field("value", &"[..]")
            .finish()
    }
}

/// `toValues` read as a list of entries, as far as the sender's spelling
/// allows.
///
/// Read as entries: `toValues[0][key]` (brackets plain or percent-encoded,
/// any index, sparse indices kept in order), `toValues[][key]` and
/// `toValues[key]` (`qs` with `arrayFormat: 'brackets'` or `indices: false`:
/// a repeated attribute starts a new entry), `toValues.0.key` (`qs` with
/// `allowDots`). Anything else — `toValues=[object Object]` (`URLSearchParams`),
/// `toValues=&toValues=` (Node's `querystring`), a lone `toValues=` (an empty
/// list from `URLSearchParams`, or one entry from `querystring`: which, cannot
/// be told), deeper nesting, an attribute
/// given twice for one index — is not structured: [`is_structured`](Self::is_structured)
/// is `false`, the entries hold what could be placed, and every pair is in
/// [`VerifiedIpn::unsigned_pairs`] as received.
///
/// Iterates over the entries in index order.
#[derive(Clone, Debug)]
pub struct ToValues<'x> {
    entries: Vec<ToValue<'x>>,
    structured: bool,
    next: usize,
}

/// An attribute of an entry: `key`, `name`, `value` or another.
fn attribute_slot<'e, 'x>(
    entry: &'e mut ToValue<'x>,
    attr: &str,
) -> Option<&'e mut Option<Cow<'x, str>>> {
    match attr {
        "key" => Some(&mut entry.key),
        "name" => Some(&mut entry.name),
        "value" => Some(&mut entry.value),
        _ => None,
    }
}

/// Whether `entry` lacks the attribute `attr` (`key`, `name`, `value`).
fn lacks(entry: &ToValue<'_>, attr: &str) -> bool {
    match attr {
        "key" => entry.key.is_none(),
        "name" => entry.name.is_none(),
        "value" => entry.value.is_none(),
        _ => false,
    }
}

/// Splits `[a][b]`, `.a.b` or a mix into segments; `None` if malformed.
fn segments(mut rest: &str) -> Option<SmallVec<[&str; 2]>> {
    let mut out = SmallVec::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            out.push(&r[..end]);
            rest = &r[end + 1..];
        } else if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            out.push(&r[..end]);
            rest = &r[end..];
        } else {
            return None;
        }
    }
    Some(out)
}

/// A decimal index of at most 18 digits.
fn index_of(segment: &str) -> Option<u64> {
    if segment.is_empty() || segment.len() > 18 || !segment.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    segment.parse().ok()
}

impl<'x> ToValues<'x> {
    fn from_pairs(pairs: UnsignedPairs<'x>) -> Self {
        let mut entries: Vec<ToValue<'x>> = Vec::new();
        let mut structured = true;
        let mut bare = 0usize; // `toValues=…` pairs
        for (key, value) in pairs {
            let Some(rest) = to_values_rest(&key) else {
                continue;
            };
            let Some(segs) = segments(rest) else {
                structured = false;
                continue;
            };
            let (index, attr) = match segs.as_slice() {
                [] => {
                    bare += 1;
                    continue;
                }
                [attr] if index_of(attr).is_none() && !attr.is_empty() => (None, *attr),
                ["", attr] => (None, *attr),
                [index, attr] => match index_of(index) {
                    Some(i) => (Some(i), *attr),
                    None => {
                        structured = false;
                        continue;
                    }
                },
                _ => {
                    structured = false;
                    continue;
                }
            };
            // Where a push (`[]` or no index) goes: the last entry while it
            // lacks this attribute, else a new one after the highest index.
            let index = match index {
                Some(i) => i,
                None => match entries.last() {
                    Some(last) if lacks(last, attr) => last.index,
                    _ => entries
                        .iter()
                        .map(|e| e.index.saturating_add(1))
                        .max()
                        .unwrap_or(0),
                },
            };
            let pos = match entries.iter().position(|e| e.index == index) {
                Some(pos) => pos,
                None => {
                    entries.push(ToValue {
                        index,
                        key: None,
                        name: None,
                        value: None,
                    });
                    entries.len() - 1
                }
            };
            // Other attributes are kept only among the raw pairs.
            if let Some(slot) = attribute_slot(&mut entries[pos], attr) {
                if slot.is_some() {
                    structured = false; // given twice: keep the first
                } else {
                    *slot = Some(value);
                }
            }
        }
        // Any bare value has lost the structure: `[object Object]`,
        // `toValues=&toValues=`, and even a lone `toValues=`, which is both
        // `URLSearchParams` of an empty list and `querystring` of a list of
        // one object: which one cannot be told.
        if bare > 0 {
            structured = false;
        }
        entries.sort_by_key(|e| e.index);
        Self {
            entries,
            structured,
            next: 0,
        }
    }

    /// Whether every `toValues` pair was placed in an entry. `false` says the
    /// sender's spelling lost the structure (or was ambiguous): read the raw
    /// pairs to see what was sent.
    pub fn is_structured(&self) -> bool {
        self.structured
    }

    /// All entries, in index order (whatever has been iterated too).
    pub fn entries(&self) -> &[ToValue<'x>] {
        &self.entries
    }
}

impl<'x> Iterator for ToValues<'x> {
    type Item = ToValue<'x>;

    fn next(&mut self) -> Option<ToValue<'x>> {
        let item = self.entries.get(self.next).cloned();
        self.next += 1;
        item
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.entries.len().saturating_sub(self.next);
        (n, Some(n))
    }
}

impl ExactSizeIterator for ToValues<'_> {}

impl serde::Serialize for VerifiedIpn<'_> {
    /// The notification as received: raw text for every signed field, the
    /// structured `toValues` (and whether it could be structured), and the
    /// unknown fields as a list of `[name, value]` pairs (names may repeat).
    fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq, SerializeStruct};
        struct Entries<'x, 'y>(&'x [ToValue<'y>]);
        impl serde::Serialize for Entries<'_, '_> {
            fn serialize<S: serde::Serializer>(
                &self,
                s: S,
            ) -> core::result::Result<S::Ok, S::Error> {
                let mut seq = s.serialize_seq(Some(self.0.len()))?;
                for v in self.0 {
                    seq.serialize_element(&Entry(v))?;
                }
                seq.end()
            }
        }
        struct Entry<'x, 'y>(&'x ToValue<'y>);
        impl serde::Serialize for Entry<'_, '_> {
            fn serialize<S: serde::Serializer>(
                &self,
                s: S,
            ) -> core::result::Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(3))?;
                m.serialize_entry("key", self.0.key())?;
                m.serialize_entry("name", self.0.name())?;
                m.serialize_entry("value", self.0.value())?;
                m.end()
            }
        }
        let extra: Vec<_> = self.extra().collect();
        let to_values = self.to_values();
        let f = &self.fields.signed;
        let mut st = s.serialize_struct("VerifiedIpn", 12)?;
        st.serialize_field("orderUID", &self.order_uid_raw())?;
        st.serialize_field("orderId", &f[0])?;
        st.serialize_field("newStatus", &f[1])?;
        st.serialize_field("inAmount", &f[2])?;
        st.serialize_field("outAmount", &f[3])?;
        st.serialize_field("xml_from", &f[4])?;
        st.serialize_field("xml_to", &f[5])?;
        st.serialize_field("timestamp", &f[6])?;
        st.serialize_field("toValues", &Entries(to_values.entries()))?;
        st.serialize_field("toValuesStructured", &to_values.is_structured())?;
        st.serialize_field("extra", &extra)?;
        st.end()
    }
}

/// Parses a timestamp: digits only, at most 16 of them, in seconds or
/// milliseconds ([`UnixMillis::from_seconds_or_millis`]).
pub(crate) fn parse_timestamp(s: &str) -> Result<UnixMillis> {
    if s.is_empty() {
        return Err(Error::invalid(field::TIMESTAMP, Problem::Empty));
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid(field::TIMESTAMP, Problem::NotAnInteger));
    }
    if s.len() > 16 {
        return Err(Error::invalid(
            field::TIMESTAMP,
            Problem::TooManyDigits { max: 16 },
        ));
    }
    Ok(UnixMillis::from_seconds_or_millis(
        s.bytes().fold(0u64, |n, d| n * 10 + u64::from(d - b'0')),
    ))
}

/// Builds a signed form body, as the platform would send it. For tests, the
/// sandbox and the `smartex ipn sign` command.
///
/// ```
/// use smartex_core::checksum::SignedFields;
/// use smartex_core::ipn::{IpnBody, IpnFormat, UnverifiedIpn};
/// use smartex_core::IpnSecret;
/// let secret = IpnSecret::new("s3cret")?;
/// let body = IpnBody {
///     order_uid: "42",
///     signed: SignedFields {
///         order_id: "5d8e6002b80b7b4cd75a6424", new_status: "done", in_amount: "1",
///         out_amount: "2.5", xml_from: "BTC", xml_to: "USDT", timestamp: "1700000000000",
///     },
///     to_values: &[("wallet", "Wallet", "T9yD14Nj9j7xAB4dbGeiX9h8unkKHxuWwb")],
/// }
/// .to_form(&secret, "hash");
/// let ipn = UnverifiedIpn::parse_form(body.as_bytes(), &IpnFormat::default())?.verify(&secret)?;
/// assert_eq!(ipn.status_raw(), "done");
/// # Ok::<(), smartex_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct IpnBody<'a> {
    /// `orderUID` (not signed).
    pub order_uid: &'a str,
    /// The seven signed values.
    pub signed: SignedFields<'a>,
    /// `toValues` as (key, name, value) (not signed).
    pub to_values: &'a [(&'a str, &'a str, &'a str)],
}

impl IpnBody<'_> {
    /// The signed values.
    pub fn signed_fields(&self) -> SignedFields<'_> {
        self.signed
    }

    /// The form body in the platform's spelling (`qs` defaults: brackets
    /// percent-encoded, indices), signed with `secret`, the checksum in the field
    /// `checksum_field`.
    pub fn to_form(&self, secret: &IpnSecret, checksum_field: &str) -> String {
        let f = &self.signed;
        let mut w = crate::form::FormWriter::default();
        w.field(field::ORDER_UID, self.order_uid);
        w.field(field::ORDER_ID, f.order_id);
        w.field(field::NEW_STATUS, f.new_status);
        w.field(field::IN_AMOUNT, f.in_amount);
        w.field(field::OUT_AMOUNT, f.out_amount);
        w.field(field::XML_FROM, f.xml_from);
        w.field(field::XML_TO, f.xml_to);
        w.field(field::TIMESTAMP, f.timestamp);
        for (i, (key, name, value)) in self.to_values.iter().enumerate() {
            // `qs` percent-encodes the brackets by default; so do we.
            for (sub, v) in [("key", key), ("name", name), ("value", value)] {
                w.field(&alloc::format!("toValues[{i}][{sub}]"), v);
            }
        }
        w.field(checksum_field, self.signed.sign(secret).to_hex().as_str());
        w.finish()
    }
}

mod json {
    //! The JSON spelling of a notification.

    use super::*;
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
            if let Some(slot) = SIGNED.iter().position(|s| *s == name) {
                let value = scalar(&raw).ok_or_else(|| {
                    Error::invalid(
                        SIGNED[slot],
                        Problem::WrongShape {
                            expected: "a string or number",
                        },
                    )
                })?;
                b.signed(slot, Cow::Owned(value))?;
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
}

#[cfg(test)]
mod tests {
    // Tests fail loudly by design.
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keys_are_classified_as_qs_reads_them() {
        let c = |k: &str| classify(k.as_bytes(), Some("hash"));
        assert_eq!(c("orderId"), KeyClass::Signed(0));
        assert_eq!(c("order%49d"), KeyClass::Signed(0));
        assert_eq!(c("time%73tamp"), KeyClass::Signed(6));
        assert_eq!(c("newStatus[x]"), KeyClass::SignedNested(1));
        assert_eq!(c("newStatus%5B%5D"), KeyClass::SignedNested(1));
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
        /// The register and word scans mark exactly the bytes equal to `a`
        /// (or to `a` or `b`), as a byte loop finds them, and the escape
        /// check of a value read in place ignores the bytes after it.
        #[test]
        fn scans_mark_what_a_byte_loop_finds(
            bytes in prop::collection::vec(prop_oneof![Just(b'&'), Just(b'='), Just(b'%'), Just(b'+'), Just(b'\''), Just(b'<'), Just(0u8), any::<u8>()], 16),
            a in 1u8..=255,
            b in 1u8..=255,
            start in 0usize..16,
            len in 0usize..17,
        ) {
            let chunk: [u8; 16] = bytes.as_slice().try_into().unwrap();
            for half in [&chunk[..8], &chunk[8..]] {
                let half: [u8; 8] = half.try_into().unwrap();
                let (as_a, as_ab) = word_marks(&half, a, b);
                for (i, &x) in half.iter().enumerate() {
                    let bit = 1u64 << (8 * i + 7);
                    prop_assert_eq!(as_a & bit != 0, x == a);
                    prop_assert_eq!(as_ab & bit != 0, x == a || x == b);
                }
                prop_assert_eq!(as_ab & !(0x8080_8080_8080_8080), 0);
            }
            let full: [u8; STRIDE] = chunk[..STRIDE].try_into().unwrap();
            let (as_a, as_ab) = marks(&full, a, b);
            for (i, &x) in full.iter().enumerate() {
                let bit = 1u64 << (i as u32 * BITS_PER_BYTE + BITS_PER_BYTE - 1);
                prop_assert_eq!(as_a & bit != 0, x == a);
                prop_assert_eq!(as_ab & bit != 0, x == a || x == b);
            }
            let end = (start + len).min(chunk.len());
            prop_assert_eq!(
                needs_unescape(&chunk, start, end),
                chunk[start..end].iter().any(|&x| x == b'%' || x == b'+')
            );
        }

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
                let signed = SIGNED.iter().position(|s| s.as_bytes() == parent);
                match (signed, nested) {
                    (Some(slot), false) => KeyClass::Signed(slot),
                    (Some(slot), true) => KeyClass::SignedNested(slot),
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
