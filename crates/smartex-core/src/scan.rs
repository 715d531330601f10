//! The byte scanner: one pass over a form body, a register at a time, that
//! marks the bytes equal to one of two delimiters. It splits a body into its
//! `name=value` pairs ([`PairSpans`], for the IPN parser and the general form
//! decoder alike) and finds what needs unescaping ([`has_escape`]).

/// The bytes [`marks`] reads at a time: a 128-bit SSE2 register where
/// there is one (every x86-64 CPU), a 64-bit word elsewhere.
pub(crate) const STRIDE: usize = if cfg!(all(target_arch = "x86_64", target_feature = "sse2")) {
    16
} else {
    8
};

/// How many bits of a [`marks`] mask stand for one byte.
pub(crate) const BITS_PER_BYTE: u32 = if STRIDE == 16 { 1 } else { 8 };

/// Marks the bytes of `chunk` equal to `a`, and those equal to `a` or `b`:
/// byte `i` is bit `i` of the masks. Neither may be 0 (the padding).
///
/// SSE2 compares sixteen bytes at once and hands back one bit per byte,
/// through `safe_arch`'s safe wrappers of the intrinsics (this crate forbids
/// `unsafe`).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline(always)]
pub(crate) fn marks(chunk: &[u8; STRIDE], a: u8, b: u8) -> (u64, u64) {
    use safe_arch::{
        bitor_m128i, cmp_eq_mask_i8_m128i, load_unaligned_m128i, move_mask_i8_m128i,
        set_splat_i8_m128i,
    };
    let bytes = load_unaligned_m128i(chunk);
    let as_a = cmp_eq_mask_i8_m128i(bytes, set_splat_i8_m128i(a.cast_signed()));
    let as_b = cmp_eq_mask_i8_m128i(bytes, set_splat_i8_m128i(b.cast_signed()));
    // `movemask` fills the low 16 bits of an `i32`: never negative.
    let a_bits = u64::from(move_mask_i8_m128i(as_a).unsigned_abs());
    let ab_bits = u64::from(move_mask_i8_m128i(bitor_m128i(as_a, as_b)).unsigned_abs());
    (a_bits, ab_bits)
}

/// Marks the bytes of `chunk` equal to `a`, and those equal to `a` or `b`:
/// byte `i` is bit `8 i + 7` of the masks (eight bytes at a time in a
/// word). Neither may be 0 (the padding).
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
#[inline(always)]
pub(crate) fn marks(chunk: &[u8; STRIDE], a: u8, b: u8) -> (u64, u64) {
    word_marks(chunk, a, b)
}

/// [`marks`] without SIMD: eight bytes in a word, byte `i` at bit `8 i + 7`.
#[inline(always)]
fn word_marks(chunk: &[u8; 8], a: u8, b: u8) -> (u64, u64) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    // The high bit of every byte of `x` that is zero, and of no other byte
    // (exact: no borrow runs from one byte into the next).
    let zero_bytes = |x: u64| !(((x & LOW7) + LOW7) | x | LOW7);
    let w = u64::from_le_bytes(*chunk);
    let as_a = zero_bytes(w ^ (ONES * u64::from(a)));
    (as_a, as_a | zero_bytes(w ^ (ONES * u64::from(b))))
}

/// Whether `body[start..end]` holds a `%` or a `+` (anything to unescape).
/// A value of a register or less, as the signed ones are, is checked in one
/// step, reading the register from the body in place (bytes past `end` are
/// masked off).
#[inline(always)]
pub(crate) fn needs_unescape(body: &[u8], start: usize, end: usize) -> bool {
    let len = end.saturating_sub(start);
    if (1..=STRIDE).contains(&len)
        && let Some(chunk) = body
            .get(start..)
            .and_then(|rest| rest.first_chunk::<STRIDE>())
    {
        let within = u64::MAX >> (64 - BITS_PER_BYTE as usize * len);
        return marks(chunk, b'%', b'+').1 & within != 0;
    }
    has_escape(body.get(start..end).unwrap_or_default())
}

/// Whether `text` holds a `%` or a `+` (anything to unescape), a register
/// at a time.
pub(crate) fn has_escape(text: &[u8]) -> bool {
    let mut chunks = text.chunks_exact(STRIDE);
    for chunk in chunks.by_ref() {
        if let Some(chunk) = chunk.first_chunk::<STRIDE>()
            && marks(chunk, b'%', b'+').1 != 0
        {
            return true;
        }
    }
    // A word, then byte by byte: padding the tail into a register would
    // cost a `memcpy` call.
    let mut tail = chunks.remainder();
    if STRIDE > 8
        && let Some((word, rest)) = tail.split_first_chunk::<8>()
    {
        if word_marks(word, b'%', b'+').1 != 0 {
            return true;
        }
        tail = rest;
    }
    tail.iter().any(|&b| b == b'%' || b == b'+')
}

/// One pair of a form body: `body[start..end]`, its first `=` at `eq`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PairSpan {
    pub(crate) start: usize,
    pub(crate) eq: Option<usize>,
    pub(crate) end: usize,
}

impl PairSpan {
    /// The name: up to the first `=`, or the whole pair.
    #[inline(always)]
    pub(crate) fn key(&self) -> core::ops::Range<usize> {
        self.start..self.eq.unwrap_or(self.end)
    }

    /// The value: after the first `=`, or empty.
    #[inline(always)]
    pub(crate) fn value(&self) -> core::ops::Range<usize> {
        self.eq.map_or(self.end, |e| e + 1)..self.end
    }
}

/// The `&`-separated pairs of a form body, each with its first `=`, in
/// order. Empty pairs (`a=1&&b=2`) are skipped, as browsers and `qs` do.
///
/// One pass: each chunk of [`STRIDE`] bytes is read once and its `&` and
/// `=` marked together, and a pair is handed out as its `&` is met.
#[derive(Clone, Debug)]
pub(crate) struct PairSpans<'a> {
    body: &'a [u8],
    /// Where the chunk of the pending marks starts.
    base: usize,
    /// Where the next chunk to mark starts.
    next: usize,
    /// The chunk's `&`s not yet handed out.
    amps: u64,
    /// The chunk's `&`s and `=`s not yet handed out.
    marks: u64,
    /// Where the current pair starts.
    start: usize,
    /// The current pair's first `=`.
    eq: Option<usize>,
}

impl<'a> PairSpans<'a> {
    /// The pairs of `body`.
    #[inline(always)]
    pub(crate) fn new(body: &'a [u8]) -> Self {
        Self {
            body,
            base: 0,
            next: 0,
            amps: 0,
            marks: 0,
            start: 0,
            eq: None,
        }
    }

    /// How many bytes of the body follow the pairs handed out so far.
    pub(crate) fn rest_len(&self) -> usize {
        self.body.len().saturating_sub(self.start)
    }
}

impl Iterator for PairSpans<'_> {
    type Item = PairSpan;

    #[inline(always)]
    fn next(&mut self) -> Option<PairSpan> {
        loop {
            while self.marks != 0 {
                let bit = self.marks.trailing_zeros();
                let at = self.base + (bit / BITS_PER_BYTE) as usize;
                self.marks &= self.marks - 1;
                if self.amps & (1 << bit) != 0 {
                    let pair = PairSpan {
                        start: self.start,
                        eq: self.eq,
                        end: at,
                    };
                    self.start = at + 1;
                    self.eq = None;
                    if pair.start < pair.end {
                        return Some(pair);
                    }
                } else if self.eq.is_none() {
                    self.eq = Some(at);
                }
            }
            let rest = self.body.get(self.next..).unwrap_or_default();
            if rest.is_empty() {
                // The last pair ends with the body.
                let pair = PairSpan {
                    start: self.start,
                    eq: self.eq,
                    end: self.body.len(),
                };
                self.start = self.body.len();
                return (pair.start < pair.end).then_some(pair);
            }
            let (amps, marks) = match rest.first_chunk::<STRIDE>() {
                Some(chunk) => marks(chunk, b'&', b'='),
                None => {
                    // The last, short chunk, padded with zeros (neither `&` nor `=`).
                    let mut chunk = [0u8; STRIDE];
                    chunk[..rest.len()].copy_from_slice(rest);
                    marks(&chunk, b'&', b'=')
                }
            };
            self.base = self.next;
            self.next += STRIDE;
            self.amps = amps;
            self.marks = marks;
        }
    }
}

#[cfg(test)]
mod tests {
    // Tests fail loudly by design.
    #![allow(clippy::unwrap_used)]
    use super::*;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    proptest! {
        /// The register and word scans mark exactly the bytes equal to `a`
        /// (or to `a` or `b`), as a byte loop finds them, and the escape
        /// check of a value read in place ignores the bytes after it.
        #[test]
        fn scans_mark_what_a_byte_loop_finds(
            bytes in prop::collection::vec(prop_oneof![Just(b'&'), Just(b'='), Just(b'%'), Just(b'+'), Just(b'\''), Just(b'<'), Just(0u8), any::<u8>()], 16),
            a in 1u8..=255,
            b in 1u8..=255,
            start in 0usize..16,
            len in 0usize..17,
        ) {
            let chunk: [u8; 16] = bytes.as_slice().try_into().unwrap();
            for half in [&chunk[..8], &chunk[8..]] {
                let half: [u8; 8] = half.try_into().unwrap();
                let (as_a, as_ab) = word_marks(&half, a, b);
                for (i, &x) in half.iter().enumerate() {
                    let bit = 1u64 << (8 * i + 7);
                    prop_assert_eq!(as_a & bit != 0, x == a);
                    prop_assert_eq!(as_ab & bit != 0, x == a || x == b);
                }
                prop_assert_eq!(as_ab & !(0x8080_8080_8080_8080), 0);
            }
            let full: [u8; STRIDE] = chunk[..STRIDE].try_into().unwrap();
            let (as_a, as_ab) = marks(&full, a, b);
            for (i, &x) in full.iter().enumerate() {
                let bit = 1u64 << (i as u32 * BITS_PER_BYTE + BITS_PER_BYTE - 1);
                prop_assert_eq!(as_a & bit != 0, x == a);
                prop_assert_eq!(as_ab & bit != 0, x == a || x == b);
            }
            let end = (start + len).min(chunk.len());
            prop_assert_eq!(
                needs_unescape(&chunk, start, end),
                chunk[start..end].iter().any(|&x| x == b'%' || x == b'+')
            );
        }

        /// The pairs are what splitting on `&` and then at the first `=`
        /// gives, empty ones left out; the escape check is a byte loop's.
        #[test]
        fn pairs_are_what_splitting_gives(
            body in prop::collection::vec(prop_oneof![Just(b'&'), Just(b'='), Just(b'%'), Just(b'+'), Just(b'a'), Just(0u8), any::<u8>()], 0..80),
        ) {
            let mut expected = Vec::new();
            let mut start = 0;
            for piece in body.split(|&b| b == b'&') {
                if !piece.is_empty() {
                    let eq = piece.iter().position(|&b| b == b'=').map(|i| start + i);
                    expected.push(PairSpan { start, eq, end: start + piece.len() });
                }
                start += piece.len() + 1;
            }
            let spans: Vec<PairSpan> = PairSpans::new(&body).collect();
            prop_assert_eq!(spans, expected);
            let mut spans = PairSpans::new(&body);
            while spans.next().is_some() {}
            prop_assert_eq!(spans.rest_len(), 0);
            prop_assert_eq!(has_escape(&body), body.iter().any(|&b| b == b'%' || b == b'+'));
        }

    }
}
