//! A notification parsed but not verified: only what finds its secret.

use alloc::borrow::Cow;

use super::candidates::Candidates;
use super::fields::Fields;
use super::signed::SignedField;
use super::unsigned::Unsigned;
use super::{IpnFormat, VerifiedIpn, field, form, json};
use crate::error::{Error, Result};
use crate::percent::decode_qs;
use crate::secret::IpnSecret;
use crate::types::{ObjectId, OrderUid};

/// A parsed notification whose checksum has not been checked yet.
///
/// It shows only what is needed to find the secret: the order's id and uid.
/// Everything else is reachable only through [`verify`](Self::verify).
#[derive(Clone)]
pub struct UnverifiedIpn<'a> {
    pub(super) fields: Fields<'a>,
    pub(super) checksums: Candidates,
}

impl core::fmt::Debug for UnverifiedIpn<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("UnverifiedIpn")
            .field("order_uid", &self.fields.order_uid.raw())
            .field("order_id", &self.fields.signed[SignedField::OrderId])
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
    /// or more pairs than [`Limits::max_pairs`](crate::form::Limits::max_pairs). Never anything about
    /// `orderUID`, `toValues` or unknown fields.
    pub fn parse_form(body: &'a [u8], format: &IpnFormat<'_>) -> Result<Self> {
        form::parse(body, format)
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
        &self.fields.signed[SignedField::OrderId]
    }

    /// The order's id, typed.
    ///
    /// # Errors
    /// If `orderId` is not 24 hex digits.
    pub fn order_id(&self) -> Result<ObjectId> {
        ObjectId::parse(field::ORDER_ID, &self.fields.signed[SignedField::OrderId])
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
