//! Secrets at rest: stored plain, or sealed with XChaCha20-Poly1305.
//!
//! Why XChaCha20-Poly1305 (RustCrypto `chacha20poly1305`): it is constant-time
//! in pure Rust on every CPU (AES-GCM is only safe and fast with AES hardware
//! instructions), and its 192-bit nonce may be drawn at random for every
//! seal without a counter to keep across processes — several instances seal
//! with one key safely. The associated data binds a sealed value to its order
//! and column, so a ciphertext copied to another row does not open.
//!
//! Stored forms: `plain:<text>` or `xc20p:<key id>:<hex(nonce ‖ ciphertext)>`.

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::error::{Error, Result};

/// A 256-bit key that seals secrets, with an id stored beside each sealed value
/// (so keys can rotate: old ids keep opening while new seals use the current key).
#[derive(Clone)]
pub struct SealingKey {
    id: String,
    key: [u8; 32],
}

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealingKey")
            .field("id", &self.id)
            .field("key", &"[redacted]")
            .finish()
    }
}

impl SealingKey {
    /// A key from its id (1–32 of `A–Z a–z 0–9 - _`) and 32 random bytes.
    pub fn new(id: impl Into<String>, key: [u8; 32]) -> Result<Self> {
        let id = id.into();
        let ok = !id.is_empty()
            && id.len() <= 32
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(Error::InvalidInput {
                field: "sealing key id",
                reason: "must be 1 to 32 of A-Z a-z 0-9 - _",
            });
        }
        Ok(Self { id, key })
    }

    /// A key from its id and 64 hex digits.
    pub fn from_hex(id: impl Into<String>, hex_key: &str) -> Result<Self> {
        let mut key = [0u8; 32];
        hex::decode_to_slice(hex_key.trim(), &mut key).map_err(|_| Error::InvalidInput {
            field: "sealing key",
            reason: "must be 64 hex digits",
        })?;
        Self::new(id, key)
    }

    /// The key's id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// How the store keeps order and IPN secrets: plain (the database is the
/// protection), or sealed with a key the database never sees.
#[derive(Clone, Debug, Default)]
pub struct SecretSealing {
    /// The key new seals use; `None` stores new secrets plain.
    current: Option<SealingKey>,
    /// Older keys that still open what they sealed.
    older: Vec<SealingKey>,
}

impl SecretSealing {
    /// Secrets stored as they are.
    pub fn plain() -> Self {
        Self::default()
    }

    /// Secrets sealed with `key`.
    pub fn sealed(key: SealingKey) -> Self {
        Self {
            current: Some(key),
            older: Vec::new(),
        }
    }

    /// Also opens values sealed with `key` (a key being rotated out).
    pub fn also_open_with(mut self, key: SealingKey) -> Self {
        self.older.push(key);
        self
    }

    /// The stored form of `secret` for `column` of the order `reference`.
    pub(crate) fn seal(&self, column: &str, reference: &str, secret: &str) -> Result<String> {
        let Some(key) = &self.current else {
            return Ok(format!("plain:{secret}"));
        };
        let cipher = XChaCha20Poly1305::new((&key.key).into());
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let aad = associated_data(column, reference);
        let sealed = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: secret.as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| Error::InvalidInput {
                field: "secret",
                reason: "cannot be sealed",
            })?;
        let mut out = Vec::with_capacity(nonce.len() + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(format!("xc20p:{}:{}", key.id, hex::encode(out)))
    }

    /// The secret in a stored form made by [`SecretSealing::seal`] (with any
    /// configured key: a plain value opens with any configuration, so that a
    /// store can start sealing without rewriting old rows).
    pub(crate) fn open(
        &self,
        field: &'static str,
        column: &str,
        reference: &str,
        stored: &str,
    ) -> Result<String> {
        if let Some(plain) = stored.strip_prefix("plain:") {
            return Ok(plain.to_owned());
        }
        let Some(rest) = stored.strip_prefix("xc20p:") else {
            return Err(Error::Corrupt {
                field,
                reason: "unknown sealing scheme",
            });
        };
        let (id, hex_blob) = rest.split_once(':').ok_or(Error::Corrupt {
            field,
            reason: "sealed value has no key id",
        })?;
        let key = self
            .current
            .iter()
            .chain(&self.older)
            .find(|k| k.id == id)
            .ok_or(Error::Unseal {
                field,
                reason: "no configured sealing key has its key id",
            })?;
        let blob = hex::decode(hex_blob).map_err(|_| Error::Corrupt {
            field,
            reason: "sealed value is not hex",
        })?;
        if blob.len() < 24 + 16 {
            return Err(Error::Corrupt {
                field,
                reason: "sealed value is too short",
            });
        }
        let (nonce, ciphertext) = blob.split_at(24);
        let aad = associated_data(column, reference);
        let cipher = XChaCha20Poly1305::new((&key.key).into());
        let plain = cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| Error::Unseal {
                field,
                reason: "wrong key, or the value was altered or moved",
            })?;
        String::from_utf8(plain).map_err(|_| Error::Corrupt {
            field,
            reason: "sealed value is not UTF-8",
        })
    }
}

/// Binds a sealed value to its column and order.
fn associated_data(column: &str, reference: &str) -> String {
    format!("smartex-store/v1/{column}/{reference}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_round_trip_and_binding() -> Result<()> {
        let key = SealingKey::new("k1", [7; 32])?;
        let s = SecretSealing::sealed(key.clone());
        let stored = s.seal("order_secret", "ref-1", "SECRET")?;
        assert!(stored.starts_with("xc20p:k1:") && !stored.contains("SECRET"));
        assert_eq!(s.open("f", "order_secret", "ref-1", &stored)?, "SECRET");
        // Moved to another order or column: does not open.
        assert!(s.open("f", "order_secret", "ref-2", &stored).is_err());
        assert!(s.open("f", "ipn_secret", "ref-1", &stored).is_err());
        // Rotation: a new key still opens the old value when kept as older.
        let rotated = SecretSealing::sealed(SealingKey::new("k2", [9; 32])?).also_open_with(key);
        assert_eq!(
            rotated.open("f", "order_secret", "ref-1", &stored)?,
            "SECRET"
        );
        assert!(
            SecretSealing::plain()
                .open("f", "order_secret", "ref-1", &stored)
                .is_err()
        );
        // Plain values open under any configuration.
        assert_eq!(s.open("f", "c", "r", "plain:x")?, "x");
        Ok(())
    }

    #[test]
    fn key_debug_is_redacted() -> Result<()> {
        let key = SealingKey::from_hex("k", &"ab".repeat(32))?;
        assert!(!format!("{key:?}").contains("ab, "));
        assert!(!format!("{key:?}").contains("171"));
        Ok(())
    }
}
