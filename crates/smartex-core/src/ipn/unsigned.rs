//! Everything the checksum does not cover, kept raw and read on demand.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use super::key::{KeyClass, classify};
use crate::percent::{Decoded, decode_qs};
use crate::scan::PairSpans;

/// Everything the checksum does not cover, kept raw.
#[derive(Clone, PartialEq, Eq)]
pub(super) enum Unsigned<'a> {
    /// A form body: its unsigned pairs are found by walking it again when
    /// asked, so the hot path stores nothing for them. `checksum_key` is the
    /// raw key of the body's checksum field, if it had one, to skip it.
    Form {
        body: &'a [u8],
        checksum_key: Option<&'a [u8]>,
    },
    /// Decoded pairs (a JSON body flattened in `qs` spelling, or an owned copy).
    Pairs(Vec<(String, String)>),
}

impl<'a> Unsigned<'a> {
    pub(super) fn pairs(&self) -> UnsignedPairs<'_> {
        UnsignedPairs {
            inner: match self {
                Unsigned::Form { body, checksum_key } => PairsInner::Form {
                    body,
                    pairs: PairSpans::new(body),
                    checksum_key: *checksum_key,
                },
                Unsigned::Pairs(pairs) => PairsInner::Pairs(pairs.iter()),
            },
        }
    }

    pub(super) fn into_owned(self) -> Unsigned<'static> {
        Unsigned::Pairs(
            self.pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }
}

/// The fields the checksum does not cover, as (name, value) pairs decoded
/// for reading, in the order received: `orderUID`, every `toValues` pair in
/// the sender's own spelling, unknown fields. Repetitions are all there.
/// Nothing here is authenticated.
///
/// Names are decoded as they were sent (`toValues[0][key]`, `extra.ref`); a
/// JSON body's nested members are written in brackets.
#[derive(Clone, Debug)]
pub struct UnsignedPairs<'x> {
    inner: PairsInner<'x>,
}

#[derive(Clone, Debug)]
enum PairsInner<'x> {
    Form {
        body: &'x [u8],
        pairs: PairSpans<'x>,
        checksum_key: Option<&'x [u8]>,
    },
    Pairs(core::slice::Iter<'x, (String, String)>),
}

/// Whether two raw keys decode to the same text.
fn same_decoded(a: &[u8], b: &[u8]) -> bool {
    a == b || Decoded::qs(a).eq(Decoded::qs(b))
}

impl<'x> Iterator for UnsignedPairs<'x> {
    type Item = (Cow<'x, str>, Cow<'x, str>);

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            PairsInner::Pairs(iter) => iter
                .next()
                .map(|(k, v)| (Cow::Borrowed(k.as_str()), Cow::Borrowed(v.as_str()))),
            PairsInner::Form {
                body,
                pairs,
                checksum_key,
            } => loop {
                let pair = pairs.next()?;
                let key = body.get(pair.key()).unwrap_or_default();
                let value = body.get(pair.value()).unwrap_or_default();
                match classify(key, None) {
                    KeyClass::Signed(_) | KeyClass::SignedNested(_) => continue,
                    _ => {}
                }
                if checksum_key.is_some_and(|c| same_decoded(key, c)) {
                    continue;
                }
                return Some((decode_qs(key), decode_qs(value)));
            },
        }
    }
}
