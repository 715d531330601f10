//! The checksum candidates of a notification: the one candidate rule.

use smallvec::SmallVec;

use crate::checksum::Checksum;
use crate::error::{Error, Problem};

/// Every well-formed checksum a notification carries, wherever it
/// was found (the body, a header, a query parameter, the caller): usually
/// one. **The one candidate rule**: a value added in transit cannot lose a
/// genuine notification, and a forgery still needs a valid checksum over the
/// signed values, which an extra guess does not provide.
#[derive(Clone, Default)]
pub(super) struct Candidates {
    pub(super) found: SmallVec<[Checksum; 1]>,
    /// Why the body's checksum field was no candidate, when it was given but
    /// never well-formed: the error if nothing else is found.
    pub(super) body_problem: Option<Problem>,
}

impl Candidates {
    /// Offers `hex_digits`: a candidate if it is 64 hex digits (either
    /// case); otherwise what is wrong with it.
    ///
    /// Repeats are not searched for: verifying compares every candidate with
    /// the expected checksum once per secret, linear in their number, and a
    /// repeat only costs one more comparison — while looking for repeats
    /// among thousands of values a rewritten request may carry would be
    /// quadratic, before any secret is known. Only a value equal to the one
    /// just offered (the same field given twice in a row) is dropped.
    #[inline]
    pub(super) fn offer(&mut self, hex_digits: &[u8]) -> core::result::Result<(), Problem> {
        match Checksum::parse_hex("hash", hex_digits) {
            Ok(c) => {
                if self.found.last() != Some(&c) {
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
