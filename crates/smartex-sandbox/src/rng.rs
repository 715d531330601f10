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
}
