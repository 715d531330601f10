//! The lazy, borrowing decoder.

use alloc::borrow::Cow;
use alloc::boxed::Box;
use alloc::string::String;

use super::Limits;
use crate::error::{Error, Limit, Problem, Result};
use crate::percent;
use crate::scan::{PairSpans, has_escape};

/// The `name=value` pairs of a form body, in order, without decoding them.
///
/// Empty pairs (`a=1&&b=2`) are skipped, as browsers and `qs` do; a pair without
/// `=` has an empty value. Iteration stops with an error at the first pair past
/// [`Limits::max_pairs`] or with a malformed key. A body that is not UTF-8
/// (form bodies are ASCII; raw bytes above 127 must be UTF-8) gives one error
/// naming the field that holds the bad bytes.
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
///
/// Its `Debug` shows how much of the body is left, never the text: the rest of
/// an IPN body holds the checksum and the order's requisites.
#[derive(Clone)]
pub struct Pairs<'a> {
    text: &'a str,
    pairs: PairSpans<'a>,
    count: usize,
    limits: Limits,
    /// An error to report before anything else (the body is not UTF-8); boxed
    /// to keep the walker small.
    pending: Option<Box<Error>>,
    failed: bool,
}

impl core::fmt::Debug for Pairs<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Pairs")
            .field("rest_len", &self.pairs.rest_len())
            .field("count", &self.count)
            .field("limits", &self.limits)
            .field("pending", &self.pending)
            .field("failed", &self.failed)
            .finish()
    }
}

/// Byte classes of a name: what makes it need more than a plain slice.
const PLAIN: u8 = 0;
const ESCAPE: u8 = 1; // `%` or `+`: the text needs unescaping
const BRACKET: u8 = 2; // `[` or `]`: a nested key

const CLASS: [u8; 256] = {
    let mut t = [PLAIN; 256];
    t[b'%' as usize] = ESCAPE;
    t[b'+' as usize] = ESCAPE;
    t[b'[' as usize] = BRACKET;
    t[b']' as usize] = BRACKET;
    t
};

impl<'a> Pairs<'a> {
    /// Walks `body` under `limits`.
    pub fn new(body: &'a [u8], limits: Limits) -> Self {
        let (text, pending) = match core::str::from_utf8(body) {
            Ok(text) => (text, None),
            Err(e) => (
                // Only the error is reported; nothing after it is read.
                "",
                Some(Error::InvalidField {
                    field: Cow::Owned(field_at(body, e.valid_up_to())),
                    problem: Problem::InvalidUtf8,
                }),
            ),
        };
        Self {
            text,
            pairs: PairSpans::new(text.as_bytes()),
            count: 0,
            limits,
            pending: pending.map(Box::new),
            failed: false,
        }
    }
}

/// The decoded key of the pair that holds byte `pos`, for an error message.
fn field_at(body: &[u8], pos: usize) -> String {
    let start = body[..pos]
        .iter()
        .rposition(|&b| b == b'&')
        .map_or(0, |i| i + 1);
    let pair = &body[start..];
    let pair = &pair[..pair.iter().position(|&b| b == b'&').unwrap_or(pair.len())];
    let key = &pair[..pair.iter().position(|&b| b == b'=').unwrap_or(pair.len())];
    let key = String::from_utf8_lossy(key);
    let limits = Limits {
        max_depth: usize::MAX,
        max_index: usize::MAX,
        ..Limits::default()
    };
    match Key::parse_str(&key, &limits) {
        Ok(k) => k.display_lossy(),
        Err(_) => String::from("(form body)"),
    }
}

impl<'a> Pairs<'a> {
    /// The next pair with its name still unparsed: the name, whether it is a
    /// plain root (no brackets, no escapes), and the value.
    fn next_raw(&mut self) -> Option<Result<(&'a str, bool, Encoded<'a>)>> {
        if self.failed {
            return None;
        }
        // Checked before taking: moving the (large) error out on every call
        // would cost a copy per pair.
        if self.pending.is_some() {
            self.failed = true;
            return self.pending.take().map(|e| Err(*e));
        }
        let pair = self.pairs.next()?;
        self.count += 1;
        if self.count > self.limits.max_pairs {
            self.failed = true;
            return Some(Err(Error::LimitExceeded {
                limit: Limit::Pairs,
                max: self.limits.max_pairs,
            }));
        }
        // `&` and `=` are ASCII, so both splits are on char boundaries.
        let key = self.text.get(pair.key()).unwrap_or_default();
        let value = self.text.get(pair.value()).unwrap_or_default();
        if key.is_empty() {
            self.failed = true;
            return Some(Err(Error::MalformedKey {
                key: String::new(),
                problem: Problem::Rule("has no name before its brackets"),
            }));
        }
        let key_plain = key.bytes().all(|b| CLASS[usize::from(b)] == PLAIN);
        let value = Encoded {
            text: value,
            plain: !has_escape(value.as_bytes()),
        };
        Some(Ok((key, key_plain, value)))
    }
}

impl<'a> Iterator for Pairs<'a> {
    type Item = Result<(Key<'a>, Encoded<'a>)>;

    fn next(&mut self) -> Option<Self::Item> {
        let (key, key_plain, value) = match self.next_raw()? {
            Ok(raw) => raw,
            Err(e) => return Some(Err(e)),
        };
        let key = if key_plain {
            // No brackets and no escapes: the whole name is the root.
            Ok(Key {
                root: Encoded {
                    text: key,
                    plain: true,
                },
                brackets: "",
                depth: 0,
                spans: [(0, 0); INLINE_SEGMENTS],
            })
        } else {
            Key::parse_str(key, &self.limits)
        };
        Some(match key {
            Ok(key) => Ok((key, value)),
            Err(e) => {
                self.failed = true;
                Err(e)
            }
        })
    }
}

/// A form key, still encoded: a root name and bracket segments
/// (`toValues[0][key]` → `toValues`, `0`, `key`). Checked to be well formed when
/// it is made; segments are decoded on demand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key<'a> {
    root: Encoded<'a>,
    /// The raw text from the first bracket on (`[0][key]` or `%5B0%5D%5Bkey%5D`).
    brackets: &'a str,
    depth: usize,
    /// The first segments' text as byte ranges of `brackets`, found while the
    /// key was checked, so reading them does not walk the key again.
    spans: [(u32, u32); INLINE_SEGMENTS],
}

/// How many segments a [`Key`] remembers; deeper ones are found by walking.
const INLINE_SEGMENTS: usize = 4;

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
    let mut from = 0;
    while let Some(i) = s[from..]
        .iter()
        .position(|&b| matches!(b, b'[' | b']' | b'%'))
    {
        let at = from + i;
        if let Some((b, len)) = bracket_at(&s[at..]) {
            return Some((at, b, len));
        }
        from = at + 1;
    }
    None
}

impl<'a> Key<'a> {
    /// Splits and checks a raw key.
    pub fn parse(raw: &'a str, limits: &Limits) -> Result<Self> {
        Self::parse_str(raw, limits)
    }

    fn parse_str(raw: &'a str, limits: &Limits) -> Result<Self> {
        // Brackets are ASCII, so the split is on a char boundary.
        let (root, brackets) = match find_bracket(raw.as_bytes()) {
            Some((i, _, _)) => (&raw[..i], &raw[i..]),
            None => (raw, ""),
        };
        let mut key = Key {
            root: Encoded::new(root),
            brackets,
            depth: 0,
            spans: [(0, 0); INLINE_SEGMENTS],
        };
        if root.is_empty() {
            return Err(key.malformed(Problem::Rule("has no name before its brackets")));
        }
        // Walk the segments once to check the shape and count the depth.
        let mut depth = 0;
        let mut segments = Segments::walking(brackets);
        while let Some(segment) = segments.next_checked() {
            let segment = segment.map_err(|p| key.malformed(p))?;
            if let (Some(span), Ok(end)) =
                (key.spans.get_mut(depth), u32::try_from(segments.consumed()))
            {
                // The segment's text ends one closing bracket before `end`.
                let len = segment.0.text.len() as u32;
                let close = if brackets.as_bytes()[..end as usize].ends_with(b"]") {
                    1
                } else {
                    3
                };
                let stop = end - close;
                *span = (stop - len, stop);
            }
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
        key.depth = depth;
        Ok(key)
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
        let mut segments = Segments::walking(self.brackets);
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
            brackets: self.brackets,
            spans: self.spans,
            inline: self.depth.min(INLINE_SEGMENTS),
            next: 0,
        }
    }

    /// The `i`-th segment, without walking the key when `i` is small.
    pub fn segment(&self, i: usize) -> Option<Segment<'a>> {
        if i >= self.depth {
            return None;
        }
        match self.spans.get(i) {
            Some(&(start, end)) => self
                .brackets
                .get(start as usize..end as usize)
                .map(|text| Segment(Encoded::new(text))),
            None => self.segments().nth(i),
        }
    }
}

/// The bracket segments of a [`Key`].
#[derive(Clone, Debug)]
pub struct Segments<'a> {
    /// What is left to walk once the remembered spans are used up.
    rest: &'a str,
    brackets: &'a str,
    spans: [(u32, u32); INLINE_SEGMENTS],
    /// How many of `spans` are valid.
    inline: usize,
    next: usize,
}

impl<'a> Segments<'a> {
    fn walking(brackets: &'a str) -> Self {
        Segments {
            rest: brackets,
            brackets,
            spans: [(0, 0); INLINE_SEGMENTS],
            inline: 0,
            next: 0,
        }
    }

    /// Bytes of `brackets` walked so far.
    fn consumed(&self) -> usize {
        self.brackets.len() - self.rest.len()
    }

    /// One pass over the next `[...]` (brackets plain or percent-encoded).
    fn next_checked(&mut self) -> Option<core::result::Result<Segment<'a>, Problem>> {
        let b = self.rest.as_bytes();
        if b.is_empty() {
            return None;
        }
        let fail = |this: &mut Self, rule| {
            this.rest = "";
            Some(Err(Problem::Rule(rule)))
        };
        let open = match b {
            [b'[', ..] => 1,
            [b'%', b'5', c, ..] if *c | 0x20 == b'b' => 3,
            _ => return fail(self, "has text after a closing bracket"),
        };
        let mut i = open;
        while i < b.len() {
            let close = match b[i] {
                b']' => 1,
                b'[' => return fail(self, "has a `[` inside brackets"),
                b'%' if b.get(i + 1) == Some(&b'5') => match b.get(i + 2).map(|c| c | 0x20) {
                    Some(b'd') => 3,
                    Some(b'b') => return fail(self, "has a `[` inside brackets"),
                    _ => 0,
                },
                _ => 0,
            };
            if close > 0 {
                // Brackets are ASCII, so both splits are on char boundaries.
                let segment = &self.rest[open..i];
                self.rest = &self.rest[i + close..];
                return Some(Ok(Segment(Encoded::new(segment))));
            }
            i += 1;
        }
        fail(self, "has an unclosed `[`")
    }
}

impl<'a> Iterator for Segments<'a> {
    type Item = Segment<'a>;

    fn next(&mut self) -> Option<Segment<'a>> {
        if self.next < self.inline {
            let (start, end) = self.spans[self.next];
            self.next += 1;
            if self.next == self.inline {
                // Resume walking after the last remembered segment's bracket.
                let close = if self.brackets.as_bytes().get(end as usize) == Some(&b']') {
                    1
                } else {
                    3
                };
                self.rest = self
                    .brackets
                    .get(end as usize + close..)
                    .unwrap_or_default();
            }
            return self
                .brackets
                .get(start as usize..end as usize)
                .map(|text| Segment(Encoded::new(text)));
        }
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
        self.0.text.is_empty()
    }

    /// The array index, if the segment is a plain decimal number (`[0]`, `[12]`).
    /// Indices longer than 9 digits are reported as `usize::MAX` so limits catch them.
    pub fn index(&self) -> Option<usize> {
        let raw = self.0.text.as_bytes();
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
pub struct Encoded<'a> {
    text: &'a str,
    /// No `%` and no `+`: decoding is the identity.
    plain: bool,
}

impl core::fmt::Debug for Encoded<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Values may be secrets or personal data; show only their size.
        write!(f, "Encoded({} bytes)", self.text.len())
    }
}

impl<'a> Encoded<'a> {
    /// Wraps encoded text.
    pub fn new(raw: &'a str) -> Self {
        Self {
            text: raw,
            plain: !has_escape(raw.as_bytes()),
        }
    }

    /// The text, still encoded.
    pub fn as_str(&self) -> &'a str {
        self.text
    }

    /// Whether the value needs no unescaping (no `%`, no `+`).
    pub fn is_plain(&self) -> bool {
        self.plain
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
        if self.plain {
            return Ok(Cow::Borrowed(self.text));
        }
        percent::decode_form(self.text).map_err(err)
    }

    /// Checks that [`decode`](Self::decode) would succeed, without allocating.
    ///
    /// # Errors
    /// As [`decode`](Self::decode).
    pub fn validate(&self, field: &'static str) -> Result<()> {
        if self.plain {
            return Ok(());
        }
        percent::check_form(self.text).map_err(|p| Error::invalid(field, p))
    }

    /// Decodes a value already [`validate`](Self::validate)d: the same result as
    /// [`decode`](Self::decode), with invalid input (which cannot occur after
    /// validation) replaced rather than reported.
    pub fn decode_lossy(&self) -> Cow<'a, str> {
        match self.decode("value") {
            Ok(s) => s,
            Err(_) => Cow::Borrowed(self.text),
        }
    }
}
