//! The seven fields the checksum covers, by name: an enum for each one's
//! slot, and one value per slot, indexed by it.

use core::ops::{Index, IndexMut};

use super::field;

/// One of the seven fields the checksum covers.
///
/// As wide as the slot index it stands for: measured, a byte-wide field
/// costs the notification path a few dozen instructions in widening moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub(super) enum SignedField {
    /// `orderId`.
    OrderId,
    /// `newStatus`.
    NewStatus,
    /// `inAmount`.
    InAmount,
    /// `outAmount`.
    OutAmount,
    /// `xml_from`.
    XmlFrom,
    /// `xml_to`.
    XmlTo,
    /// `timestamp`.
    Timestamp,
}

impl SignedField {
    /// All seven, in the order they are hashed (and a missing one is reported).
    pub(super) const ALL: [SignedField; 7] = [
        SignedField::OrderId,
        SignedField::NewStatus,
        SignedField::InAmount,
        SignedField::OutAmount,
        SignedField::XmlFrom,
        SignedField::XmlTo,
        SignedField::Timestamp,
    ];

    /// The wire name (`orderId`).
    pub(super) const fn name(self) -> &'static str {
        match self {
            SignedField::OrderId => field::ORDER_ID,
            SignedField::NewStatus => field::NEW_STATUS,
            SignedField::InAmount => field::IN_AMOUNT,
            SignedField::OutAmount => field::OUT_AMOUNT,
            SignedField::XmlFrom => field::XML_FROM,
            SignedField::XmlTo => field::XML_TO,
            SignedField::Timestamp => field::TIMESTAMP,
        }
    }

    /// The signed field whose wire name is `name`, exactly.
    pub(super) fn from_name(name: &str) -> Option<SignedField> {
        SignedField::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// One `T` for each signed field, indexed by [`SignedField`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct SignedValues<T>([T; 7]);

impl<T> SignedValues<T> {
    /// Each value passed through `f`.
    pub(super) fn map<U>(self, f: impl FnMut(T) -> U) -> SignedValues<U> {
        SignedValues(self.0.map(f))
    }
}

impl<T> SignedValues<Option<T>> {
    /// Every value, or the first field (in [`SignedField::ALL`] order) that
    /// has none. Slot by slot rather than checked and then mapped: this is on
    /// the path of every notification, and a map moves the values twice.
    #[inline]
    pub(super) fn all(self) -> Result<SignedValues<T>, SignedField> {
        let [
            order_id,
            new_status,
            in_amount,
            out_amount,
            xml_from,
            xml_to,
            timestamp,
        ] = self.0;
        Ok(SignedValues([
            order_id.ok_or(SignedField::OrderId)?,
            new_status.ok_or(SignedField::NewStatus)?,
            in_amount.ok_or(SignedField::InAmount)?,
            out_amount.ok_or(SignedField::OutAmount)?,
            xml_from.ok_or(SignedField::XmlFrom)?,
            xml_to.ok_or(SignedField::XmlTo)?,
            timestamp.ok_or(SignedField::Timestamp)?,
        ]))
    }
}

impl<T> Index<SignedField> for SignedValues<T> {
    type Output = T;

    #[inline]
    fn index(&self, field: SignedField) -> &T {
        // Seven variants, seven slots: the index is always in bounds.
        &self.0[field as usize]
    }
}

impl<T> IndexMut<SignedField> for SignedValues<T> {
    #[inline]
    fn index_mut(&mut self, field: SignedField) -> &mut T {
        &mut self.0[field as usize]
    }
}
