//! What a typed answer says about a value it kept although it broke a
//! limit this crate assumed.

use alloc::vec::Vec;

use crate::secret::OrderSecret;
use crate::types::OrderUid;

/// A value in a response that breaks a limit this crate assumed (the limits
/// are what one public client validates, not a rule of the platform): the
/// value is kept, and this says so. Nothing the platform sends is dropped for
/// breaking a guessed limit — an order that exists must never be lost.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Warning {
    /// `uid` has more digits than [`OrderUid::MAX_DIGITS`].
    UidTooLong {
        /// Its number of digits.
        digits: usize,
    },
    /// `secret` is longer than [`OrderSecret::MAX_LEN`].
    SecretTooLong {
        /// Its length, in characters.
        chars: usize,
    },
    /// A field this crate types (an amount, a status) has a value it cannot
    /// read: the typed field is `None` and the value is kept, as sent, in
    /// `extra` under its wire name.
    Unreadable {
        /// The wire name (`inAmount`).
        field: &'static str,
    },
}

impl core::fmt::Display for Warning {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Warning::UidTooLong { digits } => write!(
                f,
                "field `uid` has {digits} digits, more than the {} expected; kept as sent",
                OrderUid::MAX_DIGITS
            ),
            Warning::SecretTooLong { chars } => write!(
                f,
                "field `secret` has {chars} characters, more than the {} expected; kept as sent",
                OrderSecret::MAX_LEN
            ),
            Warning::Unreadable { field } => write!(
                f,
                "field `{field}` is not as expected; kept as sent in `extra`"
            ),
        }
    }
}

pub(super) fn uid_warning(uid: OrderUid, warnings: &mut Vec<Warning>) {
    let digits = uid.digits();
    if digits > OrderUid::MAX_DIGITS {
        warnings.push(Warning::UidTooLong { digits });
    }
}
