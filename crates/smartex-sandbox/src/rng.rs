//! A small non-cryptographic random source for ids, order secrets, request
//! ids, fault draws and IPN spellings. The sandbox is a test tool: its
//! secrets need to be unguessable by accident, not by an attacker.
//!
//! One generator per sandbox, seeded once from the operating system
//! (`getrandom`, the workspace's one source of randomness): the draws happen
//! per request under the state's lock, where a fallible system call each
//! time would be an error path for nothing.

const ALNUM: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// SplitMix64.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator seeded from the operating system; `None` if it has no
    /// random bytes.
    pub(crate) fn from_os() -> Option<Rng> {
        let mut seed = [0u8; 8];
        getrandom::getrandom(&mut seed).ok()?;
        Some(Rng(u64::from_le_bytes(seed)))
    }

    /// A generator of its own, seeded from this one: for draws made where the
    /// state's generator cannot be borrowed.
    pub(crate) fn fork(&mut self) -> Rng {
        Rng(self.next_u64())
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
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let mut rng = Rng::from_os().unwrap();
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
