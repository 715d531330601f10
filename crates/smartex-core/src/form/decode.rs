//! The lazy, borrowing decoder.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use super::Limits;
use crate::error::{Error, Limit, Problem, Result};

/// The `name=value` pairs of a form body, in order, without decoding them.
///
/// Empty pairs (`a=1&&b=2`) are skipped, as browsers and `qs` do; a pair without
/// `=` has an empty value. Iteration stops with an error at the first pair past
/// [`Limits::max_pairs`] or with a malformed key.
///
/// ```
/// use smartex_core::form::{Limits, Pairs};
/// let mut pairs = Pairs::new(b"orderUID=104857&toValues%5B0%5D%5Bkey%5D=wallet", Limits::default());
/// let (key, value) = pairs.next().unwrap()?;
/// assert_eq!(key.root()?, "orderUID");
/// assert_eq!(value.decode("orderUID")?, "104857");
/// let (key, _) = pairs.next().unwrap()?;
/// let segments: Vec<_> = key.segments().map(|s| s.decode().unwrap().into_owned()).collect();
/// assert_eq!(segments, ["0", "key"]);
/// # Ok::<(), smartex_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Pairs<'a> {
    rest: &'a [u8],
    count: usize,
    limits: Limits,
    failed: bool,
}

impl<'a> Pairs<'a> {
    /// Walks `body` under `limits`.
    pub fn new(body: &'a [u8], limits: Limits) -> Self {
        Self {
            rest: body,
            count: 0,
            limits,
            failed: false,
        }
    }
}

impl<'a> Iterator for Pairs<'a> {
    type Item = Result<(Key<'a>, Encoded<'a>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let (pair, rest) = match self.rest.iter().position(|&b| b == b'&') {
                Some(i) => (&self.rest[..i], &self.rest[i + 1..]),
                None => (self.rest, &b""[..]),
            };
            self.rest = rest;
            if pair.is_empty() {
                continue;
            }
            self.count += 1;
            if self.count > self.limits.max_pairs {
                self.failed = true;
                return Some(Err(Error::LimitExceeded {
                    limit: Limit::Pairs,
                    max: self.limits.max_pairs,
                }));
            }
            let (key, value) = match pair.iter().position(|&b| b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &b""[..]),
            };
            let key = match Key::parse(key, &self.limits) {
                Ok(key) => key,
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            };
            return Some(Ok((key, Encoded(value))));
        }
    }
}

/// A form key, still encoded: a root name and bracket segments
/// (`toValues[0][key]` → `toValues`, `0`, `key`). Checked to be well formed when
/// it is made; segments are decoded on demand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key<'a> {
    root: Encoded<'a>,
    /// The raw text from the first bracket on (`[0][key]` or `%5B0%5D%5Bkey%5D`).
    brackets: &'a [u8],
    depth: usize,
}

/// Recognises an opening or closing bracket, plain or percent-encoded, at the
/// start of `s`; returns the bracket and its encoded length.
fn bracket_at(s: &[u8]) -> Option<(u8, usize)> {
    match s {
        [b @ (b'[' | b']'), ..] => Some((*b, 1)),
        [b'%', b'5', c, ..] if c.eq_ignore_ascii_case(&b'b') => Some((b'[', 3)),
        [b'%', b'5', c, ..] if c.eq_ignore_ascii_case(&b'd') => Some((b']', 3)),
        _ => None,
    }
}

/// Finds the first bracket (plain or encoded) in `s`.
fn find_bracket(s: &[u8]) -> Option<(usize, u8, usize)> {
    let mut i = 0;
    while i < s.len() {
        if let Some((b, len)) = bracket_at(&s[i..]) {
            return Some((i, b, len));
        }
        i += 1;
    }
    None
}

impl<'a> Key<'a> {
    /// Splits and checks a raw key.
    pub fn parse(raw: &'a [u8], limits: &Limits) -> Result<Self> {
        let (root, brackets) = match find_bracket(raw) {
            Some((i, _, _)) => (&raw[..i], &raw[i..]),
            None => (raw, &b""[..]),
        };
        let key = Key {
            root: Encoded(root),
            brackets,
            depth: 0,
        };
        if root.is_empty() {
            return Err(key.malformed(Problem::Rule("has no name before its brackets")));
        }
        // Walk the segments once to check the shape and count the depth.
        let mut depth = 0;
        let mut segments = Segments { rest: brackets };
        while let Some(segment) = segments.next_checked() {
            let segment = segment.map_err(|p| key.malformed(p))?;
            depth += 1;
            if depth > limits.max_depth {
                return Err(Error::LimitExceeded {
                    limit: Limit::Depth,
                    max: limits.max_depth,
                });
            }
            if segment
                .index()
                .is_some_and(|index| index > limits.max_index)
            {
                return Err(Error::LimitExceeded {
                    limit: Limit::ArrayIndex,
                    max: limits.max_index,
                });
            }
        }
        Ok(Key { depth, ..key })
    }

    fn malformed(&self, problem: Problem) -> Error {
        Error::MalformedKey {
            key: self.display_lossy(),
            problem,
        }
    }

    /// The key decoded for messages (`toValues[0][key]`), lossily, bounded.
    pub fn display_lossy(&self) -> String {
        let mut out = String::new();
        out.push_str(&self.root.decode_lossy());
        let mut segments = Segments {
            rest: self.brackets,
        };
        while let Some(Ok(seg)) = segments.next_checked() {
            out.push('[');
            out.push_str(&seg.0.decode_lossy());
            out.push(']');
        }
        if out.len() > 120 {
            let mut cut = 117;
            while !out.is_char_boundary(cut) {
                cut -= 1;
            }
            out.truncate(cut);
            out.push_str("...");
        }
        out
    }

    /// The name before the first bracket, decoded.
    ///
    /// # Errors
    /// If the name's escapes are not valid UTF-8.
    pub fn root(&self) -> Result<Cow<'a, str>> {
        self.root.decode_with(|p| self.malformed(p))
    }

    /// The root name, still encoded.
    pub fn raw_root(&self) -> Encoded<'a> {
        self.root
    }

    /// How many bracket segments follow the root.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// The bracket segments, in order.
    pub fn segments(&self) -> Segments<'a> {
        Segments {
            rest: self.brackets,
        }
    }
}

/// The bracket segments of a [`Key`].
#[derive(Clone, Debug)]
pub struct Segments<'a> {
    rest: &'a [u8],
}

impl<'a> Segments<'a> {
    fn next_checked(&mut self) -> Option<core::result::Result<Segment<'a>, Problem>> {
        if self.rest.is_empty() {
            return None;
        }
        let Some((b'[', open)) = bracket_at(self.rest) else {
            self.rest = b"";
            return Some(Err(Problem::Rule("has text after a closing bracket")));
        };
        let inner = &self.rest[open..];
        let Some((i, b, len)) = find_bracket(inner) else {
            self.rest = b"";
            return Some(Err(Problem::Rule("has an unclosed `[`")));
        };
        if b != b']' {
            self.rest = b"";
            return Some(Err(Problem::Rule("has a `[` inside brackets")));
        }
        self.rest = &inner[i + len..];
        Some(Ok(Segment(Encoded(&inner[..i]))))
    }
}

impl<'a> Iterator for Segments<'a> {
    type Item = Segment<'a>;

    fn next(&mut self) -> Option<Segment<'a>> {
        // Keys are checked when parsed, so the error arm is never taken for a
        // `Key`'s segments; stopping there keeps the iterator total all the same.
        self.next_checked().and_then(|s| s.ok())
    }
}

/// One bracket segment: an index (`0`), an empty push (`[]`), or a name (`key`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment<'a>(Encoded<'a>);

impl<'a> Segment<'a> {
    /// The segment's text, decoded.
    ///
    /// # Errors
    /// If its escapes are not valid UTF-8.
    pub fn decode(&self) -> Result<Cow<'a, str>> {
        self.0.decode("key segment")
    }

    /// The segment still encoded.
    pub fn raw(&self) -> Encoded<'a> {
        self.0
    }

    /// Whether this is `[]` (append to a list).
    pub fn is_push(&self) -> bool {
        self.0.0.is_empty()
    }

    /// The array index, if the segment is a plain decimal number (`[0]`, `[12]`).
    /// Indices longer than 9 digits are reported as `usize::MAX` so limits catch them.
    pub fn index(&self) -> Option<usize> {
        let raw = self.0.0;
        if raw.is_empty() || !raw.iter().all(u8::is_ascii_digit) {
            return None;
        }
        if raw.len() > 9 {
            return Some(usize::MAX);
        }
        Some(
            raw.iter()
                .fold(0usize, |n, d| n * 10 + usize::from(d - b'0')),
        )
    }
}

/// A form-encoded value (or name) exactly as it stands in the body.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Encoded<'a>(&'a [u8]);

impl core::fmt::Debug for Encoded<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Values may be secrets or personal data; show only their size.
        write!(f, "Encoded({} bytes)", self.0.len())
    }
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

impl<'a> Encoded<'a> {
    /// Wraps raw encoded bytes.
    pub fn new(raw: &'a [u8]) -> Self {
        Self(raw)
    }

    /// The raw bytes, still encoded.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// Whether the value needs no unescaping (no `%`, no `+`).
    pub fn is_plain(&self) -> bool {
        !self.0.iter().any(|&b| b == b'%' || b == b'+')
    }

    /// Decodes `+` and `%XX`; borrows when there is nothing to unescape.
    ///
    /// # Errors
    /// [`Error::InvalidField`] naming `field` for a bad `%` escape or a result
    /// that is not UTF-8.
    pub fn decode(&self, field: &'static str) -> Result<Cow<'a, str>> {
        self.decode_with(|p| Error::invalid(field, p))
    }

    /// [`decode`](Self::decode) with the caller's error constructor.
    pub fn decode_with(&self, err: impl Fn(Problem) -> Error) -> Result<Cow<'a, str>> {
        if self.is_plain() {
            return core::str::from_utf8(self.0)
                .map(Cow::Borrowed)
                .map_err(|_| err(Problem::InvalidUtf8));
        }
        let mut out = Vec::with_capacity(self.0.len());
        let mut i = 0;
        while i < self.0.len() {
            match self.0[i] {
                b'+' => {
                    out.push(b' ');
                    i += 1;
                }
                b'%' => {
                    let hi = self.0.get(i + 1).copied().and_then(hex_val);
                    let lo = self.0.get(i + 2).copied().and_then(hex_val);
                    match (hi, lo) {
                        (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
                        _ => return Err(err(Problem::BadPercentEncoding)),
                    }
                    i += 3;
                }
                b => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        String::from_utf8(out)
            .map(Cow::Owned)
            .map_err(|_| err(Problem::InvalidUtf8))
    }

    /// Checks that [`decode`](Self::decode) would succeed, without allocating.
    ///
    /// # Errors
    /// As [`decode`](Self::decode).
    pub fn validate(&self, field: &'static str) -> Result<()> {
        if self.is_plain() {
            return core::str::from_utf8(self.0)
                .map(|_| ())
                .map_err(|_| Error::invalid(field, Problem::InvalidUtf8));
        }
        // Decode into a small stack buffer and validate UTF-8 chunk by chunk,
        // carrying an incomplete sequence over to the next chunk.
        let mut buf = [0u8; 64];
        let mut len = 0;
        let mut i = 0;
        let bad = |p| Error::invalid(field, p);
        while i < self.0.len() {
            let byte = match self.0[i] {
                b'+' => {
                    i += 1;
                    b' '
                }
                b'%' => {
                    let hi = self.0.get(i + 1).copied().and_then(hex_val);
                    let lo = self.0.get(i + 2).copied().and_then(hex_val);
                    i += 3;
                    match (hi, lo) {
                        (Some(hi), Some(lo)) => hi << 4 | lo,
                        _ => return Err(bad(Problem::BadPercentEncoding)),
                    }
                }
                b => {
                    i += 1;
                    b
                }
            };
            buf[len] = byte;
            len += 1;
            if len == buf.len() {
                len = flush_utf8(&mut buf, len).map_err(|_| bad(Problem::InvalidUtf8))?;
            }
        }
        match core::str::from_utf8(&buf[..len]) {
            Ok(_) => Ok(()),
            Err(_) => Err(bad(Problem::InvalidUtf8)),
        }
    }

    /// Decodes a value already [`validate`](Self::validate)d: the same result as
    /// [`decode`](Self::decode), with invalid input (which cannot occur after
    /// validation) replaced rather than reported.
    pub fn decode_lossy(&self) -> Cow<'a, str> {
        match self.decode("value") {
            Ok(s) => s,
            Err(_) => Cow::Owned(String::from_utf8_lossy(self.0).into_owned()),
        }
    }
}

/// Validates the complete UTF-8 prefix of `buf[..len]` and moves an incomplete
/// trailing sequence (at most 3 bytes) to the front; returns the new length.
fn flush_utf8(buf: &mut [u8; 64], len: usize) -> core::result::Result<usize, ()> {
    match core::str::from_utf8(&buf[..len]) {
        Ok(_) => Ok(0),
        Err(e) if e.error_len().is_none() => {
            let valid = e.valid_up_to();
            let tail = len - valid;
            buf.copy_within(valid..len, 0);
            Ok(tail)
        }
        Err(_) => Err(()),
    }
}
