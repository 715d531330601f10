//! A small non-cryptographic random source for ids, order secrets and request
//! ids. The sandbox is a test tool: its secrets need to be unguessable by
//! accident, not by an attacker.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

const ALNUM: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// SplitMix64, seeded from the standard library's per-process random keys.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn from_entropy() -> Rng {
        let mut h = RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        Rng(h.finish())
    }

    /// The same sequence for the same seed: for faults a run can repeat.
    pub(crate) fn from_seed(seed: u64) -> Rng {
        Rng(seed)
    }

    /// A number in `lo..=hi` (`lo` if `hi < lo`), nearly uniform: the modulo
    /// bias over a 64-bit draw is far below what a test could notice.
    pub(crate) fn between(&mut self, lo: u64, hi: u64) -> u64 {
        match hi.checked_sub(lo).and_then(|span| span.checked_add(1)) {
            Some(n) => lo + self.next_u64() % n,
            // hi < lo, or the whole u64 range.
            None if hi < lo => lo,
            None => self.next_u64(),
        }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// `n` random letters and digits.
    pub(crate) fn alnum(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| {
                // Rejection sampling keeps the 62 symbols equally likely.
                loop {
                    let b = (self.next_u64() >> 56) as u8;
                    if b < 248 {
                        return char::from(ALNUM[usize::from(b % 62)]);
                    }
                }
            })
            .collect()
    }

    /// `n` random bytes as lowercase hex.
    pub(crate) fn hex(&mut self, n: usize) -> String {
        let mut out = String::with_capacity(n * 2);
        for _ in 0..n {
            let b = (self.next_u64() >> 56) as u8;
            out.push_str(&format!("{b:02x}"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let mut rng = Rng::from_entropy();
        let s = rng.alnum(24);
        assert_eq!(s.len(), 24);
        assert!(s.bytes().all(|b| b.is_ascii_alphanumeric()));
        let h = rng.hex(5);
        assert_eq!(h.len(), 10);
        assert!(
            h.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_ne!(rng.alnum(24), s);
    }

    #[test]
    fn seeded_draws_repeat_and_stay_in_range() {
        let draws = |seed| {
            let mut rng = Rng::from_seed(seed);
            (0..100).map(|_| rng.between(3, 7)).collect::<Vec<_>>()
        };
        assert_eq!(draws(42), draws(42));
        assert_ne!(draws(42), draws(43));
        assert!(draws(1).iter().all(|n| (3..=7).contains(n)));
        assert!(
            (3..=7).all(|n| draws(1).contains(&n)),
            "every value comes up"
        );
        let mut rng = Rng::from_seed(0);
        assert_eq!(rng.between(5, 5), 5);
        assert_eq!(rng.between(9, 2), 9);
        let _ = rng.between(0, u64::MAX);
    }
}
