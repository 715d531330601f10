//! The byte scanner: marks the bytes of a chunk equal to one of two
//! delimiters, a register at a time.

use crate::form::has_escape;

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
#[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
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

#[cfg(test)]
mod tests {
    // Tests fail loudly by design.
    #![allow(clippy::unwrap_used)]
    use super::*;
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

    }
}
