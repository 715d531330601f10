//! What a notification carries, shared by both states: the seven signed
//! values, `orderUID` and the unsigned rest; and the builder that collects
//! them from a body.

use alloc::borrow::Cow;

use super::candidates::Candidates;
use super::unsigned::Unsigned;
use super::{SIGNED, UnverifiedIpn, field};
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
    /// The seven signed values, decoded, in [`SIGNED`] order.
    pub(super) signed: [Cow<'a, str>; 7],
    pub(super) order_uid: Uid<'a>,
    pub(super) unsigned: Unsigned<'a>,
}

impl<'a> Fields<'a> {
    pub(super) fn signed(&self) -> SignedFields<'_> {
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
    signed: [Option<Cow<'a, str>>; 7],
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
    pub(super) fn signed(&mut self, slot: usize, value: Cow<'a, str>) -> Result<()> {
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
    pub(super) fn checksum(&mut self, value: &str) {
        if let Err(problem) = self.checksums.offer(value.as_bytes()) {
            self.checksums.body_problem.get_or_insert(problem);
        }
    }

    pub(super) fn finish(self, unsigned: Unsigned<'a>) -> Result<UnverifiedIpn<'a>> {
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
