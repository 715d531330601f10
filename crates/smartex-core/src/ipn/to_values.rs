//! `toValues`, the order's requisites, read as entries as far as the
//! sender's spelling allows.

use alloc::borrow::Cow;
use alloc::vec::Vec;

use smallvec::SmallVec;

use super::field;
use super::unsigned::UnsignedPairs;

/// The part of a decoded key after `toValues`, if the key is rooted there
/// (`toValues`, `toValues[…]`, `toValues.…`).
pub(super) fn to_values_rest(key: &str) -> Option<&str> {
    rest_after(key, field::TO_VALUES)
}

/// The part of a decoded key after `root`, if the key is rooted there
/// (`root`, `root[…]`, `root.…`).
pub(super) fn rest_after<'k>(key: &'k str, root: &str) -> Option<&'k str> {
    let rest = key.strip_prefix(root)?;
    (rest.is_empty() || rest.starts_with('[') || rest.starts_with('.')).then_some(rest)
}

/// One entry of `toValues`: a requisite of the order (`wallet`, `email`, …).
#[derive(Clone, PartialEq, Eq)]
pub struct ToValue<'x> {
    index: u64,
    key: Option<Cow<'x, str>>,
    name: Option<Cow<'x, str>>,
    value: Option<Cow<'x, str>>,
}

impl ToValue<'_> {
    /// The route field's key (`wallet`); empty if the sender left it out.
    pub fn key(&self) -> &str {
        self.key.as_deref().unwrap_or_default()
    }

    /// The field's human name (`Wallet`); empty if the sender left it out.
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or_default()
    }

    /// The value (`Z123456789012`); empty if the sender left it out.
    pub fn value(&self) -> &str {
        self.value.as_deref().unwrap_or_default()
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

/// `toValues` read as a list of entries, as far as the sender's spelling
/// allows.
///
/// Read as entries: `toValues[0][key]` (brackets plain or percent-encoded,
/// any index, sparse indices kept in order), `toValues[][key]` and
/// `toValues[key]` (`qs` with `arrayFormat: 'brackets'` or `indices: false`:
/// a repeated attribute starts a new entry), `toValues.0.key` (`qs` with
/// `allowDots`). Anything else — `toValues=[object Object]` (`URLSearchParams`),
/// `toValues=&toValues=` (Node's `querystring`), a lone `toValues=` (an empty
/// list from `URLSearchParams`, or one entry from `querystring`: which, cannot
/// be told), deeper nesting, an attribute
/// given twice for one index — is not structured: [`is_structured`](Self::is_structured)
/// is `false`, the entries hold what could be placed, and every pair is in
/// [`VerifiedIpn::unsigned_pairs`](super::VerifiedIpn::unsigned_pairs) as received.
///
/// Iterates over the entries in index order.
#[derive(Clone, Debug)]
pub struct ToValues<'x> {
    entries: Vec<ToValue<'x>>,
    structured: bool,
    next: usize,
}

/// An attribute of an entry: `key`, `name`, `value` or another.
fn attribute_slot<'e, 'x>(
    entry: &'e mut ToValue<'x>,
    attr: &str,
) -> Option<&'e mut Option<Cow<'x, str>>> {
    match attr {
        "key" => Some(&mut entry.key),
        "name" => Some(&mut entry.name),
        "value" => Some(&mut entry.value),
        _ => None,
    }
}

/// Whether `entry` lacks the attribute `attr` (`key`, `name`, `value`).
fn lacks(entry: &ToValue<'_>, attr: &str) -> bool {
    match attr {
        "key" => entry.key.is_none(),
        "name" => entry.name.is_none(),
        "value" => entry.value.is_none(),
        _ => false,
    }
}

/// Splits `[a][b]`, `.a.b` or a mix into segments; `None` if malformed.
fn segments(mut rest: &str) -> Option<SmallVec<[&str; 2]>> {
    let mut out = SmallVec::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            out.push(&r[..end]);
            rest = &r[end + 1..];
        } else if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            out.push(&r[..end]);
            rest = &r[end..];
        } else {
            return None;
        }
    }
    Some(out)
}

/// A decimal index of at most 18 digits.
fn index_of(segment: &str) -> Option<u64> {
    if segment.is_empty() || segment.len() > 18 || !segment.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    segment.parse().ok()
}

impl<'x> ToValues<'x> {
    pub(super) fn from_pairs(pairs: UnsignedPairs<'x>) -> Self {
        let mut entries: Vec<ToValue<'x>> = Vec::new();
        let mut structured = true;
        let mut bare = 0usize; // `toValues=…` pairs
        for (key, value) in pairs {
            let Some(rest) = to_values_rest(&key) else {
                continue;
            };
            let Some(segs) = segments(rest) else {
                structured = false;
                continue;
            };
            let (index, attr) = match segs.as_slice() {
                [] => {
                    bare += 1;
                    continue;
                }
                [attr] if index_of(attr).is_none() && !attr.is_empty() => (None, *attr),
                ["", attr] => (None, *attr),
                [index, attr] => match index_of(index) {
                    Some(i) => (Some(i), *attr),
                    None => {
                        structured = false;
                        continue;
                    }
                },
                _ => {
                    structured = false;
                    continue;
                }
            };
            // Where a push (`[]` or no index) goes: the last entry while it
            // lacks this attribute, else a new one after the highest index.
            let index = match index {
                Some(i) => i,
                None => match entries.last() {
                    Some(last) if lacks(last, attr) => last.index,
                    _ => entries
                        .iter()
                        .map(|e| e.index.saturating_add(1))
                        .max()
                        .unwrap_or(0),
                },
            };
            let pos = match entries.iter().position(|e| e.index == index) {
                Some(pos) => pos,
                None => {
                    entries.push(ToValue {
                        index,
                        key: None,
                        name: None,
                        value: None,
                    });
                    entries.len() - 1
                }
            };
            // Other attributes are kept only among the raw pairs.
            if let Some(slot) = attribute_slot(&mut entries[pos], attr) {
                if slot.is_some() {
                    structured = false; // given twice: keep the first
                } else {
                    *slot = Some(value);
                }
            }
        }
        // Any bare value has lost the structure: `[object Object]`,
        // `toValues=&toValues=`, and even a lone `toValues=`, which is both
        // `URLSearchParams` of an empty list and `querystring` of a list of
        // one object: which one cannot be told.
        if bare > 0 {
            structured = false;
        }
        entries.sort_by_key(|e| e.index);
        Self {
            entries,
            structured,
            next: 0,
        }
    }

    /// Whether every `toValues` pair was placed in an entry. `false` says the
    /// sender's spelling lost the structure (or was ambiguous): read the raw
    /// pairs to see what was sent.
    pub fn is_structured(&self) -> bool {
        self.structured
    }

    /// All entries, in index order (whatever has been iterated too).
    pub fn entries(&self) -> &[ToValue<'x>] {
        &self.entries
    }
}

impl<'x> Iterator for ToValues<'x> {
    type Item = ToValue<'x>;

    fn next(&mut self) -> Option<ToValue<'x>> {
        let item = self.entries.get(self.next).cloned();
        self.next += 1;
        item
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.entries.len().saturating_sub(self.next);
        (n, Some(n))
    }
}

impl ExactSizeIterator for ToValues<'_> {}
