//! The IPN checksum.
//!
//! ```text
//! sha256(orderId:newStatus:inAmount:outAmount:xml_from:xml_to:timestamp:ipnSecret)
//! ```
//!
//! as lowercase hex, over the field values **exactly as received**: `2` and `2.0`
//! are different amounts here, so values are never parsed and re-printed before
//! hashing. The hash is fed piece by piece, so signing and verifying allocate
//! nothing, and the comparison is constant-time ([`subtle`]).

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{Error, Problem, Result};
use crate::secret::IpnSecret;

/// SHA-256's block size.
const BLOCK: usize = 64;

/// One SHA-256 block, as `sha2::compress256` takes it.
type Block = sha2::digest::generic_array::GenericArray<u8, sha2::digest::consts::U64>;

/// SHA-256's initial hash value (FIPS 180-4, 5.3.3).
const SHA256_INITIAL: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// The seven signed IPN values, as received (decoded from the form, not re-formatted).
///
/// ```
/// use smartex_core::checksum::SignedFields;
/// use smartex_core::IpnSecret;
/// let fields = SignedFields {
///     order_id: "5d8e6002b80b7b4cd75a6424",
///     new_status: "inProgress",
///     in_amount: "2",
///     out_amount: "317.42",
///     xml_from: "ETH",
///     xml_to: "WMZ",
///     timestamp: "1571328406072",
/// };
/// let secret = IpnSecret::new("SECRET123")?;
/// assert_eq!(
///     fields.sign(&secret).to_string(),
///     "af3acf947e6f0e0f2c267e300b8582e504dba12d1f2d058652b7414163c09f48",
/// );
/// fields.verify(&secret, "AF3ACF947E6F0E0F2C267E300B8582E504DBA12D1F2D058652B7414163C09F48")?;
/// # Ok::<(), smartex_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignedFields<'a> {
    /// `orderId`.
    pub order_id: &'a str,
    /// `newStatus`.
    pub new_status: &'a str,
    /// `inAmount`.
    pub in_amount: &'a str,
    /// `outAmount`.
    pub out_amount: &'a str,
    /// `xml_from`.
    pub xml_from: &'a str,
    /// `xml_to`.
    pub xml_to: &'a str,
    /// `timestamp`.
    pub timestamp: &'a str,
}

impl SignedFields<'_> {
    /// The string the platform hashes, secret included. Useful to debug a
    /// mismatch on your own machine; never log it (it ends with the secret).
    pub fn signing_string(&self, secret: &IpnSecret) -> alloc::string::String {
        let mut s = alloc::string::String::new();
        for part in self.parts() {
            s.push_str(part);
            s.push(':');
        }
        s.push_str(secret.expose());
        s
    }

    fn parts(&self) -> [&str; 7] {
        [
            self.order_id,
            self.new_status,
            self.in_amount,
            self.out_amount,
            self.xml_from,
            self.xml_to,
            self.timestamp,
        ]
    }

    /// Computes the checksum with `secret`.
    pub fn sign(&self, secret: &IpnSecret) -> Checksum {
        // The usual signing string (under 180 bytes) is assembled on the stack
        // with SHA-256's padding and its blocks are compressed directly: the
        // hasher's buffering and finalisation would copy it twice more. Longer
        // ones are fed piece by piece.
        let mut buf = [0u8; 3 * BLOCK];
        let mut len = 0;
        let secret = secret.expose().as_bytes();
        for part in self.parts() {
            let part = part.as_bytes();
            let Some(slot) = buf.get_mut(len..len + part.len() + 1) else {
                return self.sign_streaming(secret);
            };
            slot[..part.len()].copy_from_slice(part);
            slot[part.len()] = b':';
            len += part.len() + 1;
        }
        match buf.get_mut(len..len + secret.len()) {
            Some(slot) => slot.copy_from_slice(secret),
            None => return self.sign_streaming(secret),
        }
        len += secret.len();
        // FIPS 180-4, 5.1.1: a 1 bit, zeros, and the length in bits in the
        // last eight bytes of the last block.
        let blocks = (len + 9).div_ceil(BLOCK);
        let Some(padded) = buf.get_mut(..blocks * BLOCK) else {
            return self.sign_streaming(secret);
        };
        padded[len] = 0x80;
        let bits = (len as u64) * 8;
        padded[blocks * BLOCK - 8..].copy_from_slice(&bits.to_be_bytes());
        let mut state = SHA256_INITIAL;
        for block in padded.chunks_exact(BLOCK) {
            // `chunks_exact(BLOCK)` hands out exactly 64 bytes, the length
            // `from_slice` asserts.
            sha2::compress256(&mut state, core::slice::from_ref(Block::from_slice(block)));
        }
        let mut digest = [0u8; 32];
        for (out, word) in digest.chunks_exact_mut(4).zip(state) {
            out.copy_from_slice(&word.to_be_bytes());
        }
        Checksum(digest)
    }

    fn sign_streaming(&self, secret: &[u8]) -> Checksum {
        let mut hasher = Sha256::new();
        for part in self.parts() {
            hasher.update(part.as_bytes());
            hasher.update(b":");
        }
        hasher.update(secret);
        Checksum(hasher.finalize().into())
    }

    /// Checks `received` (64 hex digits, either case) against the checksum made
    /// with `secret`, in constant time.
    ///
    /// # Errors
    /// [`Error::InvalidField`] naming `hash` if `received` is not 64 hex digits;
    /// [`Error::BadChecksum`] if it does not match.
    pub fn verify(&self, secret: &IpnSecret, received: &str) -> Result<()> {
        self.verify_any(core::slice::from_ref(secret), received)
    }

    /// Like [`verify`](Self::verify), but accepts the checksum made with any of
    /// `secrets` (secret rotation). Every secret is tried, so the time taken does
    /// not tell which one matched.
    ///
    /// # Errors
    /// As [`verify`](Self::verify); [`Error::BadChecksum`] also when `secrets` is empty.
    pub fn verify_any(&self, secrets: &[IpnSecret], received: &str) -> Result<()> {
        let received = Checksum::parse_hex("hash", received)?;
        let mut matched = subtle::Choice::from(0);
        for secret in secrets {
            matched |= self.sign(secret).0.ct_eq(&received.0);
        }
        if bool::from(matched) {
            Ok(())
        } else {
            Err(Error::BadChecksum)
        }
    }
}

/// A SHA-256 checksum. `Display` writes it as 64 lowercase hex digits.
///
/// Its `Debug` is redacted: an expected checksum is as good as a forged
/// notification, so it must not reach logs; and `==` compares in constant time.
#[derive(Clone, Copy)]
pub struct Checksum([u8; 32]);

impl PartialEq for Checksum {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq_checksum(other).into()
    }
}

impl Eq for Checksum {}

impl Checksum {
    /// Parses 64 hex digits in either case; errors name `field`. The one hex
    /// decoder for received checksums, wherever they were found (a body
    /// field, a header's bytes, a query parameter).
    pub fn parse_hex(field: &'static str, hex_digits: impl AsRef<[u8]>) -> Result<Self> {
        let digits = hex_digits.as_ref();
        if digits.len() != 64 {
            return Err(Error::invalid(field, Problem::WrongLength { expected: 64 }));
        }
        // Eight digits at a time (SWAR), every digit visited (no early exit
        // whose timing would depend on the received value), one check at the
        // end. A digit's value is its low nibble, plus 9 for a letter (bit 6).
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        // Bit 7 of each byte: set iff the byte is >= `lo` (bytes under 0x80).
        let ge = |w: u64, lo: u8| ((w | HIGH) - ONES * u64::from(lo)) & HIGH;
        // Bit 7 of each byte: set iff the byte is <= `hi` (bytes under 0x80).
        let le = |w: u64, hi: u8| (((ONES * u64::from(hi)) | HIGH) - w) & HIGH;
        let mut out = [0u8; 32];
        let mut bad = 0u64;
        for (bytes, chunk) in out.chunks_exact_mut(4).zip(digits.chunks_exact(8)) {
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            let w = u64::from_le_bytes(w);
            let ascii = !w & HIGH; // set for bytes under 0x80
            let w7 = w & !HIGH;
            let digit = ge(w7, b'0') & le(w7, b'9');
            let lower = w7 | (ONES * 0x20);
            let letter = ge(lower, b'a') & le(lower, b'f');
            bad |= !(ascii & (digit | letter)) & HIGH;
            let nibbles = (w & (ONES * 0x0F)) + ((w >> 6) & ONES) * 9;
            // Byte 2k holds the high digit, byte 2k+1 the low one.
            let pairs = (nibbles << 4) | (nibbles >> 8);
            let p = pairs.to_le_bytes();
            bytes.copy_from_slice(&[p[0], p[2], p[4], p[6]]);
        }
        if bad != 0 {
            return Err(Error::invalid(field, Problem::NotHex));
        }
        Ok(Self(out))
    }

    /// Constant-time equality, as words rather than byte by byte.
    #[inline]
    pub(crate) fn ct_eq_checksum(&self, other: &Self) -> subtle::Choice {
        let mut diff = 0u64;
        for (a, b) in self.0.chunks_exact(8).zip(other.0.chunks_exact(8)) {
            let mut wa = [0u8; 8];
            let mut wb = [0u8; 8];
            wa.copy_from_slice(a);
            wb.copy_from_slice(b);
            diff |= u64::from_ne_bytes(wa) ^ u64::from_ne_bytes(wb);
        }
        diff.ct_eq(&0)
    }

    /// Wraps 32 raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 64 lowercase hex digits, without allocating.
    pub fn to_hex(&self) -> HexDigest {
        let mut out = [0u8; 64];
        // 32 bytes always encode into exactly 64 hex digits, so this cannot fail.
        let _ = hex::encode_to_slice(self.0, &mut out);
        HexDigest(out)
    }
}

impl core::fmt::Display for Checksum {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.to_hex().as_str())
    }
}

impl core::fmt::Debug for Checksum {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Checksum([redacted])")
    }
}

/// 64 lowercase hex digits on the stack. `==` compares in constant time.
#[derive(Clone, Copy)]
pub struct HexDigest([u8; 64]);

impl PartialEq for HexDigest {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for HexDigest {}

impl HexDigest {
    /// The digits.
    pub fn as_str(&self) -> &str {
        // Hex digits are ASCII by construction; the fallback is never taken.
        core::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl core::fmt::Debug for HexDigest {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("HexDigest([redacted])")
    }
}

/// SHA-256 of `bytes` as 64 lowercase hex digits, on the stack.
///
/// ```
/// assert_eq!(
///     smartex_core::checksum::sha256_hex(b"abc").as_str(),
///     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
/// );
/// ```
pub fn sha256_hex(bytes: &[u8]) -> HexDigest {
    Checksum(Sha256::digest(bytes).into()).to_hex()
}

#[cfg(test)]
mod tests {
    // Tests fail loudly by design.
    #![allow(clippy::unwrap_used)]
    use super::*;
    use alloc::string::String;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    /// Every length of signing string, around each padding boundary (55/56
    /// bytes, 119/120, the stack buffer's 183/184) and past it, hashes as
    /// the streaming hasher does.
    #[test]
    fn every_signing_string_length_pads_correctly() {
        let secret = IpnSecret::new("SECRET123").unwrap();
        for len in 0..=250 {
            let order_id = "o".repeat(len);
            let f = SignedFields {
                order_id: &order_id,
                new_status: "b",
                in_amount: "c",
                out_amount: "d",
                xml_from: "e",
                xml_to: "f",
                timestamp: "g",
            };
            let expected: [u8; 32] = Sha256::digest(f.signing_string(&secret).as_bytes()).into();
            assert_eq!(
                f.sign(&secret).0,
                expected,
                "signing string of {} bytes",
                21 + len
            );
        }
    }

    proptest! {
        /// Signing hashes exactly the documented signing string.
        #[test]
        fn sign_hashes_the_signing_string(values in prop::array::uniform7("[^\u{0}]{0,60}"), secret in "[^\u{0}]{1,80}") {
            let [order_id, new_status, in_amount, out_amount, xml_from, xml_to, timestamp] = &values;
            let f = SignedFields { order_id, new_status, in_amount, out_amount, xml_from, xml_to, timestamp };
            let secret = IpnSecret::new(secret).unwrap();
            prop_assert_eq!(f.sign_streaming(secret.expose().as_bytes()).0, f.sign(&secret).0);
            prop_assert_eq!(f.sign(&secret).0, <[u8; 32]>::from(Sha256::digest(f.signing_string(&secret).as_bytes())));
        }

        /// The table decoder agrees with the `hex` crate on every input.
        #[test]
        fn parse_hex_agrees_with_the_hex_crate(digits in "[0-9a-fA-F]{64}", pos in 0usize..64, junk in "[^0-9a-fA-F]") {
            let mut expected = [0u8; 32];
            hex::decode_to_slice(&digits, &mut expected).unwrap();
            prop_assert_eq!(Checksum::parse_hex("hash", &digits).unwrap().0, expected);
            // One non-digit anywhere (ASCII or not) is refused.
            let mut bad: Vec<char> = digits.chars().collect();
            bad[pos] = junk.chars().next().unwrap();
            let bad: String = bad.into_iter().collect();
            prop_assert!(Checksum::parse_hex("hash", &bad).is_err());
        }
    }
}
