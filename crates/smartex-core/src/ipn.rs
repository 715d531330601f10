//! The IPN (instant payment notification) model, verified before trusted.
//!
//! The platform POSTs a form body once per status change. Parsing yields an
//! [`UnverifiedIpn`] that exposes only what is needed to find the secret (the
//! order's id and uid); only [`UnverifiedIpn::verify`] yields a [`VerifiedIpn`]
//! with the status, amounts, currencies and `toValues`.
//!
//! Values are kept exactly as received: the checksum covers the raw text, and a
//! typed view (an [`Amount`], an [`OrderUid`]) that fails to parse never makes a
//! correctly signed notification unreadable — the raw text is always there.
//!
//! The checksum covers seven values: `orderId`, `newStatus`, `inAmount`,
//! `outAmount`, `xml_from`, `xml_to` and `timestamp`. It does **not** cover
//! `orderUID`, `toValues` or any other field: whoever holds one genuine
//! notification can change those and it still verifies. So find (and update)
//! the order by `orderId`, and treat `toValues` as information, never as an
//! instruction (where to pay out, say).
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
//! assert_eq!(ipn.to_values().next().map(|v| v.value()).as_deref(), Some("Z123"));
//! # Ok::<(), smartex_core::Error>(())
//! ```

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use smallvec::SmallVec;

use crate::checksum::SignedFields;
use crate::error::{Error, Problem, Result};
use crate::form::{Encoded, Key, Limits, Pairs};
use crate::secret::IpnSecret;
use crate::status::{OrderStatus, StatusEvent};
use crate::types::{Amount, CurrencyCode, ObjectId, OrderUid};

/// How an IPN body is laid out: where the checksum is, and the decoder's bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpnFormat<'n> {
    /// The body field that carries the checksum (default `hash`), or `None` when
    /// the checksum comes from elsewhere (a header, a query parameter) and the
    /// caller passes it to [`UnverifiedIpn::verify_checksum`]. The docs never
    /// name it; see `API-NOTES` in the repository's docs.
    pub checksum_field: Option<&'n str>,
    /// Bounds of the form decoder.
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

/// Text from a notification: still form-encoded (decoded on access, already
/// validated), or owned (from a JSON body, or after [`VerifiedIpn::into_owned`]).
#[derive(Clone, PartialEq, Eq)]
enum Text<'a> {
    Form(Encoded<'a>),
    Owned(String),
}

impl<'a> Text<'a> {
    fn get(&self) -> Cow<'_, str> {
        match self {
            Text::Form(e) => e.decode_lossy(),
            Text::Owned(s) => Cow::Borrowed(s),
        }
    }

    fn into_owned(self) -> Text<'static> {
        match self {
            Text::Form(e) => Text::Owned(e.decode_lossy().into_owned()),
            Text::Owned(s) => Text::Owned(s),
        }
    }
}

/// One entry of `toValues`: a requisite of the order (`wallet`, `email`, …).
#[derive(Clone, PartialEq, Eq)]
pub struct ToValue<'a> {
    index: usize,
    key: Option<Text<'a>>,
    name: Option<Text<'a>>,
    value: Option<Text<'a>>,
}

impl ToValue<'_> {
    /// The route field's key (`wallet`); empty if the sender left it out.
    pub fn key(&self) -> Cow<'_, str> {
        self.key.as_ref().map_or(Cow::Borrowed(""), Text::get)
    }

    /// The field's human name (`Wallet`); empty if the sender left it out.
    pub fn name(&self) -> Cow<'_, str> {
        self.name.as_ref().map_or(Cow::Borrowed(""), Text::get)
    }

    /// The value (`Z123456789012`); empty if the sender left it out.
    pub fn value(&self) -> Cow<'_, str> {
        self.value.as_ref().map_or(Cow::Borrowed(""), Text::get)
    }

    fn into_owned(self) -> ToValue<'static> {
        ToValue {
            index: self.index,
            key: self.key.map(Text::into_owned),
            name: self.name.map(Text::into_owned),
            value: self.value.map(Text::into_owned),
        }
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

/// The fields of a notification, raw. Shared by both states.
#[derive(Clone, PartialEq, Eq)]
struct Fields<'a> {
    order_uid: Cow<'a, str>,
    order_id: Cow<'a, str>,
    new_status: Cow<'a, str>,
    in_amount: Cow<'a, str>,
    out_amount: Cow<'a, str>,
    xml_from: Cow<'a, str>,
    xml_to: Cow<'a, str>,
    timestamp: Cow<'a, str>,
    to_values: SmallVec<[ToValue<'a>; 4]>,
    extra: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> Fields<'a> {
    fn signed(&self) -> SignedFields<'_> {
        SignedFields {
            order_id: &self.order_id,
            new_status: &self.new_status,
            in_amount: &self.in_amount,
            out_amount: &self.out_amount,
            xml_from: &self.xml_from,
            xml_to: &self.xml_to,
            timestamp: &self.timestamp,
        }
    }

    fn into_owned(self) -> Fields<'static> {
        let own = |c: Cow<'a, str>| Cow::Owned(c.into_owned());
        Fields {
            order_uid: own(self.order_uid),
            order_id: own(self.order_id),
            new_status: own(self.new_status),
            in_amount: own(self.in_amount),
            out_amount: own(self.out_amount),
            xml_from: own(self.xml_from),
            xml_to: own(self.xml_to),
            timestamp: own(self.timestamp),
            to_values: self
                .to_values
                .into_iter()
                .map(ToValue::into_owned)
                .collect(),
            extra: self
                .extra
                .into_iter()
                .map(|(k, v)| (own(k), own(v)))
                .collect(),
        }
    }
}

/// The signed scalar fields by wire name, in a fixed order for the builder.
const SCALARS: [&str; 8] = [
    field::ORDER_UID,
    field::ORDER_ID,
    field::NEW_STATUS,
    field::IN_AMOUNT,
    field::OUT_AMOUNT,
    field::XML_FROM,
    field::XML_TO,
    field::TIMESTAMP,
];

/// The index in [`SCALARS`] of a signed scalar's wire name.
fn scalar_slot(name: &str) -> Option<usize> {
    Some(match name {
        field::ORDER_UID => 0,
        field::ORDER_ID => 1,
        field::NEW_STATUS => 2,
        field::IN_AMOUNT => 3,
        field::OUT_AMOUNT => 4,
        field::XML_FROM => 5,
        field::XML_TO => 6,
        field::TIMESTAMP => 7,
        _ => return None,
    })
}

/// Recognises the two spellings of a plain `toValues` key the platform sends —
/// `toValues[0][key]` and `toValues%5B0%5D%5Bkey%5D`, with an index or `[]` —
/// and returns its index (`None` for `[]`) and attribute name. Anything else
/// (escapes in the name, an index over the limit, other shapes) answers `None`
/// and is left to the general key parser.
fn fast_to_values_key<'k>(key: &'k str, limits: &Limits) -> Option<(Option<usize>, &'k str)> {
    fn segment(s: &str) -> Option<(&str, &str)> {
        let (inner, close) = if let Some(rest) = s.strip_prefix('[') {
            (rest, "]")
        } else if let Some(rest) = s.strip_prefix("%5B").or_else(|| s.strip_prefix("%5b")) {
            (rest, "%5D")
        } else {
            return None;
        };
        let end = inner
            .bytes()
            .position(|b| !b.is_ascii_alphanumeric() && b != b'_')?;
        let (text, rest) = inner.split_at(end);
        let rest = if close == "]" {
            rest.strip_prefix(']')?
        } else {
            rest.strip_prefix("%5D")
                .or_else(|| rest.strip_prefix("%5d"))?
        };
        Some((text, rest))
    }
    if limits.max_depth < 2 {
        return None;
    }
    let rest = key.strip_prefix(field::TO_VALUES)?;
    let (index, rest) = segment(rest)?;
    let (sub, rest) = segment(rest)?;
    if !rest.is_empty() || sub.is_empty() || sub.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let index = if index.is_empty() {
        None
    } else if index.len() <= 9 && index.bytes().all(|b| b.is_ascii_digit()) {
        let i = index
            .bytes()
            .fold(0usize, |n, d| n * 10 + usize::from(d - b'0'));
        if i > limits.max_index {
            return None;
        }
        Some(i)
    } else {
        return None;
    };
    Some((index, sub))
}

/// Collects fields from either encoding, refusing duplicates.
#[derive(Default)]
struct Builder<'a> {
    scalars: [Option<Cow<'a, str>>; 8],
    checksum: Option<Cow<'a, str>>,
    to_values: SmallVec<[ToValue<'a>; 4]>,
    extra: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> Builder<'a> {
    fn scalar(&mut self, slot: usize, value: Cow<'a, str>) -> Result<()> {
        let target = &mut self.scalars[slot];
        if target.is_some() {
            return Err(Error::DuplicateField {
                field: Cow::Borrowed(SCALARS[slot]),
            });
        }
        *target = Some(value);
        Ok(())
    }

    fn checksum(&mut self, name: &str, value: Cow<'a, str>) -> Result<()> {
        if self.checksum.is_some() {
            return Err(Error::DuplicateField {
                field: Cow::Owned(String::from(name)),
            });
        }
        self.checksum = Some(value);
        Ok(())
    }

    /// Sets `toValues[index][sub]`; `index` is `None` for `[]` (push).
    fn set_to_value(&mut self, index: Option<usize>, sub: &str, text: Text<'a>) -> Result<()> {
        let which = match sub {
            "key" => 0,
            "name" => 1,
            "value" => 2,
            _ => 3,
        };
        let has = |v: &ToValue<'a>| match which {
            0 => v.key.is_some(),
            1 => v.name.is_some(),
            2 => v.value.is_some(),
            _ => false,
        };
        let index = match index {
            Some(i) => i,
            None => match self.to_values.last() {
                // `toValues[][key]`: fill the last entry while it lacks the name.
                Some(last) if !has(last) => last.index,
                // Saturating: limits may allow any index, up to `usize::MAX`.
                Some(_) => self
                    .to_values
                    .iter()
                    .map(|v| v.index.saturating_add(1))
                    .max()
                    .unwrap_or(0),
                None => 0,
            },
        };
        let pos = match self.to_values.iter().position(|v| v.index == index) {
            Some(pos) => pos,
            None => {
                self.to_values.push(ToValue {
                    index,
                    key: None,
                    name: None,
                    value: None,
                });
                self.to_values.len() - 1
            }
        };
        let entry = &mut self.to_values[pos];
        let target = match which {
            0 => &mut entry.key,
            1 => &mut entry.name,
            2 => &mut entry.value,
            _ => {
                // An attribute this SDK does not know: keep it among the extras.
                let name = alloc::format!("toValues[{index}][{sub}]");
                self.extra
                    .push((Cow::Owned(name), Cow::Owned(text.get().into_owned())));
                return Ok(());
            }
        };
        if target.is_some() {
            return Err(Error::DuplicateField {
                field: Cow::Owned(alloc::format!("toValues[{index}][{sub}]")),
            });
        }
        *target = Some(text);
        Ok(())
    }

    fn finish(self) -> Result<UnverifiedIpn<'a>> {
        let [uid, id, status, inn, out, from, to, ts] = self.scalars;
        let need =
            |v: Option<Cow<'a, str>>, name: &'static str| v.ok_or_else(|| Error::missing(name));
        let mut to_values = self.to_values;
        to_values.sort_unstable_by_key(|v| v.index);
        let fields = Fields {
            order_uid: need(uid, SCALARS[0])?,
            order_id: need(id, SCALARS[1])?,
            new_status: need(status, SCALARS[2])?,
            in_amount: need(inn, SCALARS[3])?,
            out_amount: need(out, SCALARS[4])?,
            xml_from: need(from, SCALARS[5])?,
            xml_to: need(to, SCALARS[6])?,
            timestamp: need(ts, SCALARS[7])?,
            to_values,
            extra: self.extra,
        };
        Ok(UnverifiedIpn {
            fields,
            checksum: self.checksum,
        })
    }
}

/// A parsed notification whose checksum has not been checked yet.
///
/// It shows only what is needed to find the secret: the order's id and uid.
/// Everything else is reachable only through [`verify`](Self::verify).
#[derive(Clone)]
pub struct UnverifiedIpn<'a> {
    fields: Fields<'a>,
    checksum: Option<Cow<'a, str>>,
}

impl core::fmt::Debug for UnverifiedIpn<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("UnverifiedIpn")
            .field("order_uid", &self.fields.order_uid)
            .field("order_id", &self.fields.order_id)
            .finish_non_exhaustive()
    }
}

impl<'a> UnverifiedIpn<'a> {
    /// Parses an `application/x-www-form-urlencoded` body in any `qs` spelling.
    /// Allocates nothing when no value needs unescaping (values of `toValues` are
    /// checked now and unescaped only when read).
    ///
    /// # Errors
    /// A missing, duplicated or undecodable field (named), a malformed key, or a
    /// bound of `format.limits` exceeded.
    pub fn parse_form(body: &'a [u8], format: &IpnFormat<'_>) -> Result<Self> {
        let mut b = Builder::default();
        let mut pairs = Pairs::new(body, format.limits);
        while let Some(pair) = pairs.next_raw() {
            let (raw_key, key_plain, value) = pair?;
            // The keys the platform sends take a direct path; anything else goes
            // through the general key parser, which gives the same answers.
            if key_plain {
                if let Some(slot) = scalar_slot(raw_key) {
                    b.scalar(slot, value.decode(SCALARS[slot])?)?;
                    continue;
                }
                if format.checksum_field == Some(raw_key) {
                    let v = value.decode_with(|p| Error::InvalidField {
                        field: Cow::Owned(String::from(raw_key)),
                        problem: p,
                    })?;
                    b.checksum(raw_key, v)?;
                    continue;
                }
            } else if let Some((index, sub)) = fast_to_values_key(raw_key, pairs.limits()) {
                value.validate(field::TO_VALUES)?;
                b.set_to_value(index, sub, Text::Form(value))?;
                continue;
            }
            let key = match Key::parse(raw_key, pairs.limits()) {
                Ok(key) => key,
                Err(e) => {
                    pairs.fail();
                    return Err(e);
                }
            };
            let root = key.root()?;
            if key.depth() == 0 {
                if let Some(slot) = scalar_slot(&root) {
                    b.scalar(slot, value.decode(SCALARS[slot])?)?;
                    continue;
                }
                if format.checksum_field == Some(&*root) {
                    let v = value.decode_with(|p| Error::InvalidField {
                        field: Cow::Owned(String::from(&*root)),
                        problem: p,
                    })?;
                    b.checksum(&root, v)?;
                    continue;
                }
                if root == field::TO_VALUES {
                    return Err(Error::invalid(
                        field::TO_VALUES,
                        Problem::WrongShape { expected: "a list" },
                    ));
                }
            } else if root == field::TO_VALUES {
                let (2, Some(index), Some(sub)) = (key.depth(), key.segment(0), key.segment(1))
                else {
                    return Err(Error::MalformedKey {
                        key: key.display_lossy(),
                        problem: Problem::Rule("is not toValues[index][name]"),
                    });
                };
                let index = match (index.is_push(), index.index()) {
                    (true, _) => None,
                    (false, Some(i)) => Some(i),
                    (false, None) => {
                        return Err(Error::MalformedKey {
                            key: key.display_lossy(),
                            problem: Problem::Rule("toValues needs a numeric index or []"),
                        });
                    }
                };
                value.validate(field::TO_VALUES)?;
                let sub = sub.decode()?;
                b.set_to_value(index, &sub, Text::Form(value))?;
                continue;
            } else if scalar_slot(&root).is_some() || format.checksum_field == Some(&*root) {
                return Err(Error::InvalidField {
                    field: Cow::Owned(key.display_lossy()),
                    problem: Problem::WrongShape {
                        expected: "a single value",
                    },
                });
            }
            // An unknown field: kept, decoded.
            let name = if key.depth() == 0 {
                root
            } else {
                Cow::Owned(key.display_lossy())
            };
            let value = value.decode_with(|p| Error::InvalidField {
                field: Cow::Owned(key.display_lossy()),
                problem: p,
            })?;
            if b.extra.iter().any(|(k, _)| *k == name) {
                return Err(Error::DuplicateField {
                    field: Cow::Owned(name.into_owned()),
                });
            }
            b.extra.push((name, value));
        }
        b.finish()
    }

    /// Parses a JSON object body with the same fields (numbers or strings; a
    /// number's exact text is kept). Only for merchants who configure the
    /// platform, or a proxy, to send JSON.
    ///
    /// # Errors
    /// As [`parse_form`](Self::parse_form); a body that is not JSON, or not a
    /// JSON object, is [`Error::InvalidField`] on the field `(body)`.
    ///
    /// The result owns its text, so it may have any lifetime (`'static` too).
    pub fn parse_json(body: &[u8], format: &IpnFormat<'_>) -> Result<Self> {
        json::parse(body, format)
    }

    /// The order's id, as received.
    pub fn order_id_raw(&self) -> &str {
        &self.fields.order_id
    }

    /// The order's id, typed.
    ///
    /// # Errors
    /// If `orderId` is not 24 hex digits.
    pub fn order_id(&self) -> Result<ObjectId> {
        ObjectId::parse(field::ORDER_ID, &self.fields.order_id)
    }

    /// The order's uid, as received. Not covered by the checksum, even once
    /// verified: look the secret up by [`order_id`](Self::order_id).
    pub fn order_uid_raw(&self) -> &str {
        &self.fields.order_uid
    }

    /// The order's uid, typed. Not covered by the checksum.
    ///
    /// # Errors
    /// If `orderUID` is not an integer of at most 11 digits.
    pub fn order_uid(&self) -> Result<OrderUid> {
        OrderUid::parse(field::ORDER_UID, &self.fields.order_uid)
    }

    /// The checksum found in the body, if the format names a checksum field and
    /// the body has it.
    pub fn checksum_in_body(&self) -> Option<&str> {
        self.checksum.as_deref()
    }

    /// Verifies the checksum carried in the body against `secret`.
    ///
    /// # Errors
    /// [`Error::MissingChecksum`] if the body has no checksum (in the field named
    /// by [`IpnFormat::checksum_field`]), [`Error::InvalidField`] if it is not
    /// 64 hex digits, [`Error::BadChecksum`] if it does not match.
    pub fn verify(self, secret: &IpnSecret) -> Result<VerifiedIpn<'a>> {
        self.verify_any(core::slice::from_ref(secret))
    }

    /// Verifies the body's checksum against any of `secrets` (rotation), in
    /// constant time over all of them.
    ///
    /// # Errors
    /// As [`verify`](Self::verify).
    pub fn verify_any(self, secrets: &[IpnSecret]) -> Result<VerifiedIpn<'a>> {
        let Some(checksum) = self.checksum.clone() else {
            return Err(Error::MissingChecksum);
        };
        self.verify_checksum(secrets, &checksum)
    }

    /// Verifies a checksum the caller found elsewhere (a header, a query
    /// parameter) against any of `secrets`.
    ///
    /// A checksum in the body ([`checksum_in_body`](Self::checksum_in_body)) is
    /// not consulted: if both may be present, compare them first and refuse a
    /// mismatch (smartex-ipn's receiver does), or parse with
    /// [`IpnFormat::checksum_field`] `None`.
    ///
    /// # Errors
    /// [`Error::InvalidField`] if `checksum` is not 64 hex digits,
    /// [`Error::BadChecksum`] if it does not match.
    pub fn verify_checksum(self, secrets: &[IpnSecret], checksum: &str) -> Result<VerifiedIpn<'a>> {
        self.fields.signed().verify_any(secrets, checksum)?;
        Ok(VerifiedIpn {
            fields: self.fields,
        })
    }
}

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
}

impl core::fmt::Debug for VerifiedIpn<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("VerifiedIpn")
            .field("order_uid", &self.fields.order_uid)
            .field("order_id", &self.fields.order_id)
            .field("new_status", &self.fields.new_status)
            .field("in_amount", &self.fields.in_amount)
            .field("out_amount", &self.fields.out_amount)
            .field("xml_from", &self.fields.xml_from)
            .field("xml_to", &self.fields.xml_to)
            .field("timestamp", &self.fields.timestamp)
            .field("to_values", &self.fields.to_values.len())
            .finish_non_exhaustive()
    }
}

impl<'a> VerifiedIpn<'a> {
    /// `orderUID`, typed; **not** covered by the checksum (find the order by
    /// `orderId`). # Errors: not an integer of at most 11 digits.
    pub fn order_uid(&self) -> Result<OrderUid> {
        OrderUid::parse(field::ORDER_UID, &self.fields.order_uid)
    }
    /// `orderId`, typed. # Errors: not 24 hex digits.
    pub fn order_id(&self) -> Result<ObjectId> {
        ObjectId::parse(field::ORDER_ID, &self.fields.order_id)
    }
    /// `newStatus`, typed (an unknown status is [`OrderStatus::Unknown`]).
    pub fn status(&self) -> OrderStatus {
        OrderStatus::parse(&self.fields.new_status)
    }
    /// `inAmount`, typed. # Errors: not a decimal number.
    pub fn in_amount(&self) -> Result<Amount> {
        Amount::parse(field::IN_AMOUNT, &self.fields.in_amount)
    }
    /// `outAmount`, typed. # Errors: not a decimal number.
    pub fn out_amount(&self) -> Result<Amount> {
        Amount::parse(field::OUT_AMOUNT, &self.fields.out_amount)
    }
    /// `xml_from`, typed. # Errors: not a currency code.
    pub fn xml_from(&self) -> Result<CurrencyCode> {
        CurrencyCode::parse(field::XML_FROM, &self.fields.xml_from)
    }
    /// `xml_to`, typed. # Errors: not a currency code.
    pub fn xml_to(&self) -> Result<CurrencyCode> {
        CurrencyCode::parse(field::XML_TO, &self.fields.xml_to)
    }
    /// `timestamp` in milliseconds since the Unix epoch (the docs say "unix time";
    /// their example `1571328406072` is in milliseconds).
    ///
    /// # Errors
    /// Not an integer of at most 16 digits.
    pub fn timestamp_ms(&self) -> Result<u64> {
        parse_timestamp(&self.fields.timestamp)
    }
    /// The status change this notification reports, for the [tracker](crate::status).
    /// A timestamp that does not parse gives an event without a time.
    pub fn event(&self) -> StatusEvent {
        StatusEvent {
            status: self.status(),
            at_ms: self.timestamp_ms().ok(),
            source: crate::status::Source::Ipn,
        }
    }
    /// The seven signed values exactly as received.
    pub fn signed_fields(&self) -> SignedFields<'_> {
        self.fields.signed()
    }
    /// `orderUID` as received; **not** covered by the checksum.
    pub fn order_uid_raw(&self) -> &str {
        &self.fields.order_uid
    }
    /// `orderId` as received.
    pub fn order_id_raw(&self) -> &str {
        &self.fields.order_id
    }
    /// `newStatus` as received.
    pub fn status_raw(&self) -> &str {
        &self.fields.new_status
    }
    /// `inAmount` as received.
    pub fn in_amount_raw(&self) -> &str {
        &self.fields.in_amount
    }
    /// `outAmount` as received.
    pub fn out_amount_raw(&self) -> &str {
        &self.fields.out_amount
    }
    /// `timestamp` as received.
    pub fn timestamp_raw(&self) -> &str {
        &self.fields.timestamp
    }
    /// The `toValues` entries (the order's requisites), in index order.
    /// **Not** covered by the checksum: information, not an instruction.
    pub fn to_values(&self) -> impl Iterator<Item = &ToValue<'a>> {
        self.fields.to_values.iter()
    }
    /// Fields this SDK does not know, as (name, value), in the order received.
    /// Nested names are written in brackets (`extraData[ref]`). **Not** covered
    /// by the checksum.
    pub fn extra(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.extra.iter().map(|(k, v)| (&**k, &**v))
    }
    /// A copy that owns its text, to keep beyond the request body's lifetime.
    pub fn into_owned(self) -> VerifiedIpn<'static> {
        VerifiedIpn {
            fields: self.fields.into_owned(),
        }
    }
}

impl serde::Serialize for VerifiedIpn<'_> {
    /// The notification as received, raw text for every field.
    fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeStruct};
        struct ToValues<'x, 'a>(&'x [ToValue<'a>]);
        impl serde::Serialize for ToValues<'_, '_> {
            fn serialize<S: serde::Serializer>(
                &self,
                s: S,
            ) -> core::result::Result<S::Ok, S::Error> {
                use serde::ser::SerializeSeq;
                let mut seq = s.serialize_seq(Some(self.0.len()))?;
                for v in self.0 {
                    seq.serialize_element(&Entry(v))?;
                }
                seq.end()
            }
        }
        struct Entry<'x, 'a>(&'x ToValue<'a>);
        impl serde::Serialize for Entry<'_, '_> {
            fn serialize<S: serde::Serializer>(
                &self,
                s: S,
            ) -> core::result::Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(3))?;
                m.serialize_entry("key", &self.0.key())?;
                m.serialize_entry("name", &self.0.name())?;
                m.serialize_entry("value", &self.0.value())?;
                m.end()
            }
        }
        struct Extra<'x, 'a>(&'x [(Cow<'a, str>, Cow<'a, str>)]);
        impl serde::Serialize for Extra<'_, '_> {
            fn serialize<S: serde::Serializer>(
                &self,
                s: S,
            ) -> core::result::Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(self.0.len()))?;
                for (k, v) in self.0 {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
        }
        let f = &self.fields;
        let mut st = s.serialize_struct("VerifiedIpn", 11)?;
        st.serialize_field("orderUID", &f.order_uid)?;
        st.serialize_field("orderId", &f.order_id)?;
        st.serialize_field("newStatus", &f.new_status)?;
        st.serialize_field("inAmount", &f.in_amount)?;
        st.serialize_field("outAmount", &f.out_amount)?;
        st.serialize_field("xml_from", &f.xml_from)?;
        st.serialize_field("xml_to", &f.xml_to)?;
        st.serialize_field("timestamp", &f.timestamp)?;
        st.serialize_field("toValues", &ToValues(&f.to_values))?;
        st.serialize_field("extra", &Extra(&f.extra))?;
        st.end()
    }
}

/// Parses a millisecond timestamp: digits only, at most 16 of them.
pub(crate) fn parse_timestamp(s: &str) -> Result<u64> {
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
    Ok(s.bytes().fold(0u64, |n, d| n * 10 + u64::from(d - b'0')))
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

    /// A scalar's text: a string's content, or a number's or boolean's exact text.
    fn scalar(name: &str, raw: &RawValue) -> Result<String> {
        let text = raw.get();
        let shape = || Error::InvalidField {
            field: Cow::Owned(String::from(name)),
            problem: Problem::WrongShape {
                expected: "a string or number",
            },
        };
        match text.as_bytes().first() {
            Some(b'"') => serde_json::from_str::<String>(text).map_err(|_| shape()),
            Some(b'-' | b'0'..=b'9' | b't' | b'f') => Ok(String::from(text)),
            _ => Err(shape()),
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
                limit: crate::error::Limit::Pairs,
                max: format.limits.max_pairs,
            });
        }
        let mut b = Builder::default();
        for (name, raw) in members {
            if let Some(slot) = scalar_slot(&name) {
                b.scalar(slot, Cow::Owned(scalar(SCALARS[slot], &raw)?))?;
            } else if format.checksum_field == Some(name.as_str()) {
                let v = scalar(&name, &raw)?;
                b.checksum(&name, Cow::Owned(v))?;
            } else if name == field::TO_VALUES {
                let entries: Vec<Vec<(String, Box<RawValue>)>> = {
                    let list: Vec<Members> = serde_json::from_str(raw.get()).map_err(|_| {
                        Error::invalid(
                            field::TO_VALUES,
                            Problem::WrongShape {
                                expected: "a list of objects",
                            },
                        )
                    })?;
                    list.into_iter().map(|m| m.0).collect()
                };
                if entries.len() > format.limits.max_index.saturating_add(1) {
                    return Err(Error::LimitExceeded {
                        limit: crate::error::Limit::ArrayIndex,
                        max: format.limits.max_index,
                    });
                }
                for (i, entry) in entries.into_iter().enumerate() {
                    for (sub, raw) in entry {
                        let v = scalar(&alloc::format!("toValues[{i}][{sub}]"), &raw)?;
                        b.set_to_value(Some(i), &sub, Text::Owned(v))?;
                    }
                }
            } else {
                if b.extra.iter().any(|(k, _)| *k == name) {
                    return Err(Error::DuplicateField {
                        field: Cow::Owned(name),
                    });
                }
                let v = match scalar(&name, &raw) {
                    Ok(v) => v,
                    Err(_) => String::from(raw.get()),
                };
                b.extra.push((Cow::Owned(name), Cow::Owned(v)));
            }
        }
        b.finish()
    }
}

#[cfg(test)]
mod tests {
    // Tests fail loudly by design.
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The direct path for `toValues` keys agrees with the general key parser
        /// whenever it answers, and answers for every key the platform sends.
        #[test]
        fn fast_to_values_key_agrees_with_the_key_parser(
            key in "toValues(\\[|%5[Bb])[0-9a-z_%]{0,4}(\\]|%5[Dd])(\\[|%5[Bb])[a-z0-9_%+]{0,6}(\\]|%5[Dd])[a-z\\[\\]]{0,2}",
            max_depth in 0usize..4,
            max_index in 0usize..20,
        ) {
            let limits = Limits { max_depth, max_index, ..Limits::default() };
            if let Some((index, sub)) = fast_to_values_key(&key, &limits) {
                let parsed = Key::parse(&key, &limits).unwrap();
                prop_assert_eq!(parsed.root().unwrap(), "toValues");
                prop_assert_eq!(parsed.depth(), 2);
                let seg0 = parsed.segment(0).unwrap();
                prop_assert_eq!(index, if seg0.is_push() { None } else { seg0.index() });
                prop_assert_eq!(parsed.segment(1).unwrap().decode().unwrap(), sub);
            }
        }
    }

    #[test]
    fn fast_path_takes_the_platform_spellings() {
        let l = Limits::default();
        assert_eq!(
            fast_to_values_key("toValues%5B0%5D%5Bkey%5D", &l),
            Some((Some(0), "key"))
        );
        assert_eq!(
            fast_to_values_key("toValues[12][value]", &l),
            Some((Some(12), "value"))
        );
        assert_eq!(
            fast_to_values_key("toValues%5B%5D%5Bname%5D", &l),
            Some((None, "name"))
        );
        assert_eq!(fast_to_values_key("toValues[101][key]", &l), None); // over the limit
        assert_eq!(fast_to_values_key("toValues[0][k%65y]", &l), None); // escaped name
        assert_eq!(fast_to_values_key("toValues[0][key][x]", &l), None);
    }
}
