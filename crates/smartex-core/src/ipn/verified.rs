//! A notification whose checksum matched: typed views of its signed values,
//! the unsigned rest, and its serialization.

use alloc::borrow::Cow;
use alloc::vec::Vec;

use super::field;
use super::fields::Fields;
use super::signed::SignedField;
use super::to_values::{ToValue, ToValues, rest_after, to_values_rest};
use super::unsigned::UnsignedPairs;
use crate::checksum::{Checksum, SignedFields};
use crate::error::{Error, Problem, Result};
use crate::status::{OrderStatus, StatusEvent};
use crate::time::UnixMillis;
use crate::types::{Amount, CurrencyCode, ObjectId, OrderUid};

/// A notification whose checksum matched: its seven signed values (see
/// [`signed_fields`](Self::signed_fields)) are authentic and safe to act on.
/// `orderUID`, `toValues` and the unknown fields are not covered by the
/// checksum: act on `orderId`, not on them.
///
/// Typed views (`status`, `in_amount`, …) never fail the notification: when a
/// value does not parse, the accessor says so and the `*_raw` text remains.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifiedIpn<'a> {
    pub(super) fields: Fields<'a>,
    /// The candidate that matched.
    pub(super) checksum: Checksum,
}

impl core::fmt::Debug for VerifiedIpn<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let s = &self.fields.signed;
        f.debug_struct("VerifiedIpn")
            .field("order_uid", &self.fields.order_uid.raw())
            .field("order_id", &s[SignedField::OrderId])
            .field("new_status", &s[SignedField::NewStatus])
            .field("in_amount", &s[SignedField::InAmount])
            .field("out_amount", &s[SignedField::OutAmount])
            .field("xml_from", &s[SignedField::XmlFrom])
            .field("xml_to", &s[SignedField::XmlTo])
            .field("timestamp", &s[SignedField::Timestamp])
            .finish_non_exhaustive()
    }
}

impl<'a> VerifiedIpn<'a> {
    /// `orderUID`, typed; **not** covered by the checksum (find the order by
    /// `orderId`).
    ///
    /// # Errors
    /// Absent, given twice with different values, or not an integer of at
    /// most 11 digits (see [`UnverifiedIpn::order_uid`](super::UnverifiedIpn::order_uid)).
    pub fn order_uid(&self) -> Result<OrderUid> {
        self.fields.order_uid.parse()
    }
    /// `orderId`, typed. # Errors: not 24 hex digits.
    pub fn order_id(&self) -> Result<ObjectId> {
        ObjectId::parse(field::ORDER_ID, &self.fields.signed[SignedField::OrderId])
    }
    /// `newStatus`, typed (an unknown status is [`OrderStatus::Unknown`]).
    pub fn status(&self) -> OrderStatus {
        OrderStatus::parse(&self.fields.signed[SignedField::NewStatus])
    }
    /// `inAmount`, typed. # Errors: not a decimal number.
    pub fn in_amount(&self) -> Result<Amount> {
        Amount::parse(field::IN_AMOUNT, &self.fields.signed[SignedField::InAmount])
    }
    /// `outAmount`, typed. # Errors: not a decimal number.
    pub fn out_amount(&self) -> Result<Amount> {
        Amount::parse(
            field::OUT_AMOUNT,
            &self.fields.signed[SignedField::OutAmount],
        )
    }
    /// `xml_from`, typed. # Errors: not a currency code.
    pub fn xml_from(&self) -> Result<CurrencyCode> {
        CurrencyCode::parse(field::XML_FROM, &self.fields.signed[SignedField::XmlFrom])
    }
    /// `xml_to`, typed. # Errors: not a currency code.
    pub fn xml_to(&self) -> Result<CurrencyCode> {
        CurrencyCode::parse(field::XML_TO, &self.fields.signed[SignedField::XmlTo])
    }
    /// `timestamp` as an instant. The docs say "unix time" and their example
    /// `1571328406072` is in milliseconds, but a sender may use seconds: the
    /// unit is told by magnitude ([`UnixMillis::from_seconds_or_millis`]:
    /// below 10^11 it is seconds).
    ///
    /// # Errors
    /// Not an integer of at most 16 digits.
    pub fn timestamp(&self) -> Result<UnixMillis> {
        parse_timestamp(&self.fields.signed[SignedField::Timestamp])
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
        // A timestamp in seconds stands for its whole second
        // ([`Source::IpnSeconds`](crate::status::Source::IpnSeconds)).
        match timestamp_count(&self.fields.signed[SignedField::Timestamp]) {
            Ok(n) => StatusEvent::ipn_timestamp(self.status(), n),
            Err(_) => StatusEvent {
                status: self.status(),
                at: None,
                source: crate::status::Source::Ipn,
            },
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
        &self.fields.signed[SignedField::OrderId]
    }
    /// `newStatus` as received.
    pub fn status_raw(&self) -> &str {
        &self.fields.signed[SignedField::NewStatus]
    }
    /// `inAmount` as received.
    pub fn in_amount_raw(&self) -> &str {
        &self.fields.signed[SignedField::InAmount]
    }
    /// `outAmount` as received.
    pub fn out_amount_raw(&self) -> &str {
        &self.fields.signed[SignedField::OutAmount]
    }
    /// `timestamp` as received.
    pub fn timestamp_raw(&self) -> &str {
        &self.fields.signed[SignedField::Timestamp]
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
        for signed in SignedField::ALL {
            st.serialize_field(signed.name(), &f[signed])?;
        }
        st.serialize_field("toValues", &Entries(to_values.entries()))?;
        st.serialize_field("toValuesStructured", &to_values.is_structured())?;
        st.serialize_field("extra", &extra)?;
        st.end()
    }
}

/// Parses a timestamp: digits only, at most 16 of them, in seconds or
/// milliseconds ([`UnixMillis::from_seconds_or_millis`]).
pub(crate) fn parse_timestamp(s: &str) -> Result<UnixMillis> {
    timestamp_count(s).map(UnixMillis::from_seconds_or_millis)
}

/// The signed `timestamp` as the count received, in whichever unit it was
/// sent (at most 16 digits).
fn timestamp_count(s: &str) -> Result<u64> {
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
