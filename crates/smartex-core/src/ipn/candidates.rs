//! The checksum candidates of a notification: the one candidate rule.

use smallvec::SmallVec;

use crate::checksum::Checksum;
use crate::error::{Error, Problem};

/// Every distinct well-formed checksum a notification carries, wherever it
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
    /// case) not seen before; otherwise what is wrong with it.
    #[inline]
    pub(super) fn offer(&mut self, hex_digits: &[u8]) -> core::result::Result<(), Problem> {
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
