//! Values that are valid once they exist: ids, order numbers, languages, amounts,
//! currency codes and `{key, value}` lists.
//!
//! Each type checks its rules when it is made ("parse, don't validate"), so code
//! that holds one never checks again.

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::{Error, Problem, Result};

/// A MongoDB ObjectId as the platform uses for orders, routes and route fields:
/// 24 hexadecimal characters, kept in lowercase.
///
/// ```
/// use smartex_core::ObjectId;
/// let id: ObjectId = "5D8E6002B80B7B4CD75A6424".parse()?;
/// assert_eq!(id.as_str(), "5d8e6002b80b7b4cd75a6424");
/// assert!("5d8e6002".parse::<ObjectId>().is_err());
/// # Ok::<(), smartex_core::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId([u8; 24]);

impl ObjectId {
    /// Parses an ObjectId; errors name `field`.
    pub fn parse(field: &'static str, s: &str) -> Result<Self> {
        let bytes = s.as_bytes();
        if bytes.len() != 24 {
            return Err(Error::invalid(field, Problem::WrongLength { expected: 24 }));
        }
        let mut out = [0u8; 24];
        for (slot, &b) in out.iter_mut().zip(bytes) {
            if !b.is_ascii_hexdigit() {
                return Err(Error::invalid(field, Problem::NotHex));
            }
            *slot = b.to_ascii_lowercase();
        }
        Ok(Self(out))
    }

    /// The id as 24 lowercase hex characters.
    pub fn as_str(&self) -> &str {
        // The bytes are ASCII hex digits by construction, so this never fails; the
        // fallback keeps library code free of panics all the same.
        core::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl core::str::FromStr for ObjectId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse("id", s)
    }
}

impl core::fmt::Display for ObjectId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::fmt::Debug for ObjectId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "ObjectId({})", self.as_str())
    }
}

impl serde::Serialize for ObjectId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for ObjectId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let s: alloc::borrow::Cow<'de, str> = serde::Deserialize::deserialize(d)?;
        ObjectId::parse("id", &s).map_err(serde::de::Error::custom)
    }
}

/// An order's public number (`uid`, sent as `orderUID`): a non-negative integer of
/// at most 11 digits.
///
/// ```
/// use smartex_core::OrderUid;
/// let uid: OrderUid = "104857".parse()?;
/// assert_eq!(uid.get(), 104857);
/// assert!("123456789012".parse::<OrderUid>().is_err()); // 12 digits
/// assert!("-1".parse::<OrderUid>().is_err());
/// # Ok::<(), smartex_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrderUid(u64);

impl OrderUid {
    /// The most digits an order uid may have.
    pub const MAX_DIGITS: usize = 11;

    /// Makes an uid from a number, refusing one of more than 11 digits.
    pub fn new(uid: u64) -> Result<Self> {
        if uid > 99_999_999_999 {
            return Err(Error::invalid(
                "orderUID",
                Problem::TooManyDigits {
                    max: Self::MAX_DIGITS,
                },
            ));
        }
        Ok(Self(uid))
    }

    /// Parses the decimal text of an uid; errors name `field`.
    pub fn parse(field: &'static str, s: &str) -> Result<Self> {
        if s.is_empty() {
            return Err(Error::invalid(field, Problem::Empty));
        }
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::invalid(field, Problem::NotAnInteger));
        }
        if s.len() > Self::MAX_DIGITS {
            return Err(Error::invalid(
                field,
                Problem::TooManyDigits {
                    max: Self::MAX_DIGITS,
                },
            ));
        }
        // At most 11 ASCII digits always fit in a u64.
        let mut value = 0u64;
        for b in s.bytes() {
            value = value * 10 + u64::from(b - b'0');
        }
        Ok(Self(value))
    }

    /// Parses an uid the platform itself sent (in a response): any
    /// non-negative integer that fits in 64 bits, however many digits.
    ///
    /// The 11-digit limit of [`parse`](Self::parse) is what one public client
    /// validates in requests, a guess; an uid the platform returned names an
    /// order that exists, and refusing it would lose that order.
    ///
    /// ```
    /// use smartex_core::OrderUid;
    /// let uid = OrderUid::parse_platform("uid", "123456789012")?;
    /// assert_eq!(uid.digits(), 12);
    /// assert!(OrderUid::parse_platform("uid", "99999999999999999999").is_err()); // over u64
    /// # Ok::<(), smartex_core::Error>(())
    /// ```
    pub fn parse_platform(field: &'static str, s: &str) -> Result<Self> {
        if s.is_empty() {
            return Err(Error::invalid(field, Problem::Empty));
        }
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::invalid(field, Problem::NotAnInteger));
        }
        s.parse::<u64>()
            .map(Self)
            .map_err(|_| Error::invalid(field, Problem::TooManyDigits { max: 20 }))
    }

    /// The number.
    pub fn get(self) -> u64 {
        self.0
    }

    /// How many decimal digits the number has (at least 1).
    pub fn digits(self) -> usize {
        let mut n = self.0;
        let mut digits = 1;
        while n >= 10 {
            n /= 10;
            digits += 1;
        }
        digits
    }
}

impl core::str::FromStr for OrderUid {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse("orderUID", s)
    }
}

impl core::fmt::Display for OrderUid {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl serde::Serialize for OrderUid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl<'de> serde::Deserialize<'de> for OrderUid {
    /// Accepts a JSON number or a string of digits (the platform is not consistent).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let n = crate::response::lenient::NumberOrString::deserialize(d)?;
        OrderUid::parse("uid", n.as_text()).map_err(serde::de::Error::custom)
    }
}

/// The client's language: `ru`, `en`, or another code of at most three ASCII
/// letters, kept in lowercase.
///
/// ```
/// use smartex_core::Lang;
/// assert_eq!("EN".parse::<Lang>()?, Lang::EN);
/// assert_eq!("ukr".parse::<Lang>()?.as_str(), "ukr");
/// assert!("english".parse::<Lang>().is_err());
/// # Ok::<(), smartex_core::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Lang {
    code: [u8; 3],
    len: u8,
}

impl Lang {
    /// Russian.
    pub const RU: Lang = Lang {
        code: *b"ru\0",
        len: 2,
    };
    /// English.
    pub const EN: Lang = Lang {
        code: *b"en\0",
        len: 2,
    };

    /// Parses a language code; errors name `field`.
    pub fn parse(field: &'static str, s: &str) -> Result<Self> {
        if s.is_empty() {
            return Err(Error::invalid(field, Problem::Empty));
        }
        if s.len() > 3 {
            return Err(Error::invalid(field, Problem::TooLong { max: 3 }));
        }
        let mut code = [0u8; 3];
        for (slot, b) in code.iter_mut().zip(s.bytes()) {
            if !b.is_ascii_alphabetic() {
                return Err(Error::invalid(field, Problem::ForbiddenCharacter));
            }
            *slot = b.to_ascii_lowercase();
        }
        Ok(Self {
            code,
            // s.len() <= 3 was checked above.
            len: s.len() as u8,
        })
    }

    /// The code, e.g. `"en"`.
    pub fn as_str(&self) -> &str {
        // ASCII letters by construction; the fallback is never taken.
        core::str::from_utf8(&self.code[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl Default for Lang {
    /// English, the language of the platform's English sites.
    fn default() -> Self {
        Lang::EN
    }
}

impl core::str::FromStr for Lang {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse("lang", s)
    }
}

impl core::fmt::Display for Lang {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::fmt::Debug for Lang {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Lang({})", self.as_str())
    }
}

impl serde::Serialize for Lang {
    fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A decimal amount kept as its exact text, never as a float.
///
/// The grammar is that of a JSON number (`2`, `317.42`, `-0.5`, `1e-7`): what a
/// Node.js server prints for a number, and what can be written into a JSON request
/// verbatim. A negative amount in an order request means "the amount the client
/// receives".
///
/// ```
/// use smartex_core::Amount;
/// let a: Amount = "317.42".parse()?;
/// assert_eq!(a.as_str(), "317.42");
/// assert!("-0.5".parse::<Amount>()?.is_negative());
/// for bad in ["", "NaN", "1,5", "Infinity", "0x10", "1.", ".5"] {
///     assert!(bad.parse::<Amount>().is_err(), "{bad}");
/// }
/// # Ok::<(), smartex_core::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Amount(String);

impl Amount {
    /// The longest amount text accepted.
    pub const MAX_LEN: usize = 64;

    /// Parses an amount; errors name `field`.
    pub fn parse(field: &'static str, s: &str) -> Result<Self> {
        check_decimal(field, s)?;
        Ok(Self(String::from(s)))
    }

    /// The exact text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the amount is below zero (in an order: the amount to receive).
    pub fn is_negative(&self) -> bool {
        self.0.starts_with('-')
    }

    /// Whether the amount is zero, in any spelling (`0`, `-0.00`, `0e5`).
    pub fn is_zero(&self) -> bool {
        let mantissa = self.0.split(['e', 'E']).next().unwrap_or_default();
        mantissa.bytes().all(|b| matches!(b, b'0' | b'.' | b'-'))
    }
}

/// Checks the JSON-number grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
pub(crate) fn check_decimal(field: &'static str, s: &str) -> Result<()> {
    if s.is_empty() {
        return Err(Error::invalid(field, Problem::Empty));
    }
    if s.len() > Amount::MAX_LEN {
        return Err(Error::invalid(
            field,
            Problem::TooLong {
                max: Amount::MAX_LEN,
            },
        ));
    }
    if is_json_number(s.as_bytes()) {
        Ok(())
    } else {
        Err(Error::invalid(field, Problem::NotADecimal))
    }
}

fn is_json_number(b: &[u8]) -> bool {
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.first() == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            digits(&mut i);
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

impl core::str::FromStr for Amount {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse("amount", s)
    }
}

impl core::fmt::Display for Amount {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

impl core::fmt::Debug for Amount {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Amount({})", self.0)
    }
}

impl serde::Serialize for Amount {
    /// With `serde_json`, written as a JSON number from its exact text (never
    /// through `f64`: `0.1` stays `0.1`, `12345678901234567890.5` keeps every
    /// digit). The text is a valid JSON number by construction.
    fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        let raw = serde_json::value::RawValue::from_string(self.0.clone())
            .map_err(serde::ser::Error::custom)?;
        raw.serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for Amount {
    /// Accepts a JSON number or a string holding one, from serde_json (from
    /// text or from a `Value`). A number is read from its JSON text, never
    /// through a float: `0.123456789012345678` keeps all its digits.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let n = crate::response::lenient::NumberOrString::deserialize(d)?;
        Amount::parse("amount", n.as_text()).map_err(serde::de::Error::custom)
    }
}

/// A currency's code on the platform (`xml_from`, `xml_to`, a route's `xml`):
/// `ETH`, `WMZ`, `USDTTRC20`. 1–32 characters of ASCII letters, digits, `_`, `-`
/// or `.`, kept as received.
///
/// ```
/// use smartex_core::CurrencyCode;
/// assert_eq!("USDTTRC20".parse::<CurrencyCode>()?.as_str(), "USDTTRC20");
/// assert!("ET H".parse::<CurrencyCode>().is_err());
/// # Ok::<(), smartex_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CurrencyCode(String);

impl CurrencyCode {
    /// The longest code accepted.
    pub const MAX_LEN: usize = 32;

    /// Parses a currency code; errors name `field`.
    pub fn parse(field: &'static str, s: &str) -> Result<Self> {
        if s.is_empty() {
            return Err(Error::invalid(field, Problem::Empty));
        }
        if s.len() > Self::MAX_LEN {
            return Err(Error::invalid(
                field,
                Problem::TooLong { max: Self::MAX_LEN },
            ));
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        {
            return Err(Error::invalid(field, Problem::ForbiddenCharacter));
        }
        Ok(Self(String::from(s)))
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl core::str::FromStr for CurrencyCode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse("xml", s)
    }
}

impl core::fmt::Display for CurrencyCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for CurrencyCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for CurrencyCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let s: alloc::borrow::Cow<'de, str> = serde::Deserialize::deserialize(d)?;
        CurrencyCode::parse("xml", &s).map_err(serde::de::Error::custom)
    }
}

/// One `{key, value}` entry of `fromValues`, `toValues` or `routeValues`: the
/// value of one of the fields a route asks for (a wallet, an e-mail, …).
///
/// ```
/// use smartex_core::FieldValue;
/// let wallet = FieldValue::new("wallet", "Z123456789012")?;
/// assert_eq!(wallet.key(), "wallet");
/// # Ok::<(), smartex_core::Error>(())
/// ```
///
/// Deserializing checks the same rules as [`FieldValue::new`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldValue {
    key: String,
    value: String,
}

impl serde::Serialize for FieldValue {
    /// `{"key": …, "value": …}`, the shape the platform reads.
    fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut entry = s.serialize_struct("FieldValue", 2)?;
        entry.serialize_field("key", &self.key)?;
        entry.serialize_field("value", &self.value)?;
        entry.end()
    }
}

impl<'de> serde::Deserialize<'de> for FieldValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        d.deserialize_struct("FieldValue", &["key", "value"], FieldValueVisitor)
    }
}

/// Reads `{"key": …, "value": …}` (other members ignored) and checks it as
/// [`FieldValue::new`] does.
struct FieldValueVisitor;

impl<'de> serde::de::Visitor<'de> for FieldValueVisitor {
    type Value = FieldValue;

    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("an object with `key` and `value`")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> core::result::Result<FieldValue, A::Error> {
        use serde::de::Error as _;
        let (mut key, mut value) = (None, None);
        while let Some(name) = map.next_key::<alloc::borrow::Cow<'de, str>>()? {
            let (slot, field) = match &*name {
                "key" => (&mut key, "key"),
                "value" => (&mut value, "value"),
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    continue;
                }
            };
            if slot.is_some() {
                return Err(A::Error::duplicate_field(field));
            }
            *slot = Some(map.next_value::<String>()?);
        }
        let key = key.ok_or_else(|| A::Error::missing_field("key"))?;
        let value = value.ok_or_else(|| A::Error::missing_field("value"))?;
        FieldValue::new(key, value).map_err(A::Error::custom)
    }
}

impl FieldValue {
    /// The longest key accepted.
    pub const MAX_KEY_LEN: usize = 100;
    /// The longest value accepted.
    pub const MAX_VALUE_LEN: usize = 1000;

    /// Makes an entry; the key must be non-empty, and both are bounded in length.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Result<Self> {
        let (key, value) = (key.into(), value.into());
        if key.is_empty() {
            return Err(Error::invalid("key", Problem::Empty));
        }
        if key.chars().count() > Self::MAX_KEY_LEN {
            return Err(Error::invalid(
                "key",
                Problem::TooLong {
                    max: Self::MAX_KEY_LEN,
                },
            ));
        }
        if value.chars().count() > Self::MAX_VALUE_LEN {
            return Err(Error::invalid(
                "value",
                Problem::TooLong {
                    max: Self::MAX_VALUE_LEN,
                },
            ));
        }
        Ok(Self { key, value })
    }

    /// The route field's key (an ObjectId for `fromValues`/`routeValues`, a name
    /// such as `wallet` for `toValues`).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The value.
    pub fn value(&self) -> &str {
        &self.value
    }
}

/// A list of [`FieldValue`]s, in the order they will be sent.
pub type FieldValues = Vec<FieldValue>;
