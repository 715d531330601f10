//! What a notification carries, shared by both states: the seven signed
//! values, `orderUID` and the unsigned rest; and the builder that collects
//! them from a body.

use alloc::borrow::Cow;

use super::candidates::Candidates;
use super::signed::{SignedField, SignedValues};
use super::unsigned::Unsigned;
use super::{UnverifiedIpn, field};
use crate::checksum::SignedFields;
use crate::error::{Error, Result};
use crate::types::OrderUid;

/// `orderUID` as received: not signed, so never a reason to refuse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Uid<'a> {
    Absent,
    One(Cow<'a, str>),
    /// Given more than once with different values, or nested.
    Ambiguous,
}

impl<'a> Uid<'a> {
    pub(super) fn offer(&mut self, value: Cow<'a, str>) {
        *self = match core::mem::replace(self, Uid::Absent) {
            Uid::Absent => Uid::One(value),
            Uid::One(first) if first == value => Uid::One(first),
            _ => Uid::Ambiguous,
        };
    }

    pub(super) fn into_owned(self) -> Uid<'static> {
        match self {
            Uid::Absent => Uid::Absent,
            Uid::One(v) => Uid::One(Cow::Owned(v.into_owned())),
            Uid::Ambiguous => Uid::Ambiguous,
        }
    }

    pub(super) fn raw(&self) -> Option<&str> {
        match self {
            Uid::One(v) => Some(v),
            _ => None,
        }
    }

    pub(super) fn parse(&self) -> Result<OrderUid> {
        match self {
            Uid::One(v) => OrderUid::parse(field::ORDER_UID, v),
            Uid::Absent => Err(Error::missing(field::ORDER_UID)),
            Uid::Ambiguous => Err(Error::DuplicateField {
                field: Cow::Borrowed(field::ORDER_UID),
            }),
        }
    }
}

/// The signed values and what else a notification carries. Shared by both states.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct Fields<'a> {
    /// The seven signed values, decoded.
    pub(super) signed: SignedValues<Cow<'a, str>>,
    pub(super) order_uid: Uid<'a>,
    pub(super) unsigned: Unsigned<'a>,
}

impl<'a> Fields<'a> {
    pub(super) fn signed(&self) -> SignedFields<'_> {
        let s = &self.signed;
        SignedFields {
            order_id: &s[SignedField::OrderId],
            new_status: &s[SignedField::NewStatus],
            in_amount: &s[SignedField::InAmount],
            out_amount: &s[SignedField::OutAmount],
            xml_from: &s[SignedField::XmlFrom],
            xml_to: &s[SignedField::XmlTo],
            timestamp: &s[SignedField::Timestamp],
        }
    }

    pub(super) fn into_owned(self) -> Fields<'static> {
        Fields {
            signed: self.signed.map(|c| Cow::Owned(c.into_owned())),
            order_uid: self.order_uid.into_owned(),
            unsigned: self.unsigned.into_owned(),
        }
    }
}

/// Collects the signed values and checksum candidates, refusing what the
/// checksum covers when it is missing or given twice.
pub(super) struct Builder<'a> {
    signed: SignedValues<Option<Cow<'a, str>>>,
    pub(super) order_uid: Uid<'a>,
    checksums: Candidates,
}

impl<'a> Builder<'a> {
    pub(super) fn new() -> Self {
        Self {
            signed: Default::default(),
            order_uid: Uid::Absent,
            checksums: Candidates::default(),
        }
    }

    #[inline]
    pub(super) fn signed(&mut self, field: SignedField, value: Cow<'a, str>) -> Result<()> {
        let target = &mut self.signed[field];
        if target.is_some() {
            return Err(Error::DuplicateField {
                field: Cow::Borrowed(field.name()),
            });
        }
        *target = Some(value);
        Ok(())
    }

    /// A value of the body's checksum field: every distinct well-formed one
    /// is a candidate; a malformed one only says why, if no other is found.
    #[inline]
    pub(super) fn checksum(&mut self, value: &str) {
        if let Err(problem) = self.checksums.offer(value.as_bytes()) {
            self.checksums.body_problem.get_or_insert(problem);
        }
    }

    pub(super) fn finish(self, unsigned: Unsigned<'a>) -> Result<UnverifiedIpn<'a>> {
        let fields = Fields {
            signed: self
                .signed
                .all()
                .map_err(|missing| Error::missing(missing.name()))?,
            order_uid: self.order_uid,
            unsigned,
        };
        Ok(UnverifiedIpn {
            fields,
            checksums: self.checksums,
        })
    }
}
