//! Stateless per-order IPN secrets: `ipnSecret = HMAC-SHA256(master key,
//! merchant reference)`, with the reference carried in the `ipnUrl`.
//!
//! Every order gets its own `ipnSecret`, yet the receiver needs nothing stored
//! to verify its notifications: the reference comes back in the query string
//! of the URL the platform POSTs to, and the secret is derived from it again.
//! So a notification that arrives before the merchant has stored the create
//! response — the platform sends `waitPayment` at once — or after a create
//! that failed ambiguously (a timeout after the request was sent) is verified
//! all the same, and its signed `orderId` binds the platform's order to the
//! merchant's reference: the order is recovered, not lost.
//!
//! ```
//! use smartex_core::derived::{IpnUrlTemplate, MasterKey, MasterKeys, Reference};
//!
//! // 32 bytes or more from a secrets manager; the id names it for rotation.
//! let keys = MasterKeys::new(MasterKey::from_hex("k1", &"42".repeat(32))?);
//! let reference = Reference::new("order-2026-0001")?;
//! let template = IpnUrlTemplate::new("https://shop.example/ipn")?;
//!
//! // At create: the URL and the secret to send with the order.
//! let ipn_url = template.url_for(&reference)?;
//! assert_eq!(ipn_url, "https://shop.example/ipn?ref=order-2026-0001");
//! let secret = keys.current().ipn_secret(&reference);
//! assert_eq!(secret.expose().len(), 64);
//!
//! // At receipt: the reference from the request's query, the secrets again
//! // (one per accepted key), then verify the notification with them.
//! let received = template.reference_from_query("ref=order-2026-0001")?;
//! assert_eq!(received, reference);
//! assert!(keys.ipn_secrets(&received).contains(&secret));
//! # Ok::<(), smartex_core::Error>(())
//! ```
//!
//! ## Why a forged reference cannot verify
//!
//! The reference is not secret and nothing signs the query string: anyone can
//! POST to the `ipnUrl` with any `ref`. That gains nothing:
//!
//! - The checksum of a notification is computed with the order's `ipnSecret`.
//!   The platform computes it with the secret **we** gave it at create —
//!   `HMAC(master key, reference)` for that order's reference.
//! - An attacker without the master key cannot compute `HMAC(master key, r)`
//!   for any `r` (HMAC-SHA256 is a pseudo-random function), so cannot sign a
//!   notification that verifies under any reference — a new one or an
//!   existing one.
//! - Changing the reference of a genuine notification changes the derived
//!   secret, so its checksum no longer matches: a genuine notification cannot
//!   be moved onto another order. (`orderId` is signed, and the facade
//!   refuses a reference already bound to another `orderId`.)
//! - Only the hex of the HMAC travels (as `ipnSecret`, over TLS, to the
//!   platform); it reveals nothing of the master key, and one order's secret
//!   says nothing about another's.
//!
//! The master key must be dedicated to this use (not shared with, say, a
//! session-signing key): the message is the bare reference.
//!
//! ## Rotation
//!
//! [`MasterKeys`] holds the current key, used for new orders, and any number
//! of previous ones, still accepted for orders created under them. The
//! receiver tries the secrets of every key (the checksum comparison is
//! constant time for each); the key id is recorded with each order so that an
//! old key can be retired once no open order uses it.
//!
//! ## Test vectors
//!
//! `tests/data/derived-secrets.json`, computed with Python's `hmac` module.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{Error, Problem, Result};
use crate::request::{MAX_URL_LEN, check_url};
use crate::secret::IpnSecret;

/// The query parameter that carries the reference unless configured otherwise.
pub const DEFAULT_REFERENCE_PARAM: &str = "ref";

/// The shortest master key accepted, in bytes: HMAC-SHA256's output size, so
/// the key is not the weakest link.
pub const MIN_MASTER_KEY_LEN: usize = 32;

/// The longest [`Reference`], in characters.
pub const MAX_REFERENCE_LEN: usize = 64;

/// The longest key id, in characters.
pub const MAX_KEY_ID_LEN: usize = 32;

/// The characters allowed in references, key ids and parameter names: URL
/// "unreserved" characters, which travel in a query string unescaped, so the
/// text that is hashed is the text that is sent and received.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
}

fn check_token(field: &'static str, value: &str, max: usize) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid(field, Problem::Empty));
    }
    if !value.bytes().all(is_unreserved) {
        return Err(Error::invalid(field, Problem::ForbiddenCharacter));
    }
    if value.len() > max {
        return Err(Error::invalid(field, Problem::TooLong { max }));
    }
    Ok(())
}

/// The merchant's own reference for an order (its order number): 1 to 64
/// characters among `A-Z a-z 0-9 - _ . ~`, so it travels in the `ipnUrl`
/// without escaping. Unique per order: two orders with one reference would
/// share a secret.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference(String);

impl Reference {
    /// Checks and wraps a reference.
    ///
    /// ```
    /// use smartex_core::derived::Reference;
    /// assert!(Reference::new("shop-42.1").is_ok());
    /// assert!(Reference::new("a b").is_err());
    /// assert!(Reference::new("").is_err());
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidField`] naming `reference`: empty, a character outside
    /// the set, or longer than [`MAX_REFERENCE_LEN`].
    pub fn new(value: impl Into<String>) -> Result<Self> {
        let value = value.into();
        check_token("reference", &value, MAX_REFERENCE_LEN)?;
        Ok(Self(value))
    }

    /// The reference's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl core::fmt::Display for Reference {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

impl core::str::FromStr for Reference {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::new(s)
    }
}

/// A master key: the secret every order's `ipnSecret` is derived from, with
/// an id that names it (stored with each order, for rotation).
///
/// `Debug` shows the id only; there is no `Display`.
#[derive(Clone)]
pub struct MasterKey {
    id: String,
    // The keyed HMAC state, ready to be cloned per derivation: the raw key is
    // not kept anywhere else.
    mac: Hmac<Sha256>,
}

impl core::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.id)
            .field("key", &"[redacted]")
            .finish()
    }
}

impl MasterKey {
    /// A key from raw bytes (at least [`MIN_MASTER_KEY_LEN`]). The id is 1 to
    /// 32 characters among `A-Z a-z 0-9 - _ . ~`.
    ///
    /// ```
    /// use smartex_core::derived::MasterKey;
    /// let key = MasterKey::new("2026-01", [7u8; 32])?;
    /// assert_eq!(format!("{key:?}"), r#"MasterKey { id: "2026-01", key: "[redacted]" }"#);
    /// assert!(MasterKey::new("short", [7u8; 16]).is_err());
    /// # Ok::<(), smartex_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidField`] naming `masterKeyId` or `masterKey` (never
    /// showing the key).
    pub fn new(id: impl Into<String>, key: impl AsRef<[u8]>) -> Result<Self> {
        let id = id.into();
        check_token("masterKeyId", &id, MAX_KEY_ID_LEN)?;
        let key = key.as_ref();
        if key.len() < MIN_MASTER_KEY_LEN {
            return Err(Error::invalid(
                "masterKey",
                Problem::Rule("must be at least 32 bytes"),
            ));
        }
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
            .map_err(|_| Error::invalid("masterKey", Problem::Rule("is not a usable HMAC key")))?;
        Ok(Self { id, mac })
    }

    /// A key from its hexadecimal text (at least 64 hex digits), as kept in an
    /// environment variable or a secrets manager.
    ///
    /// # Errors
    /// As [`new`](Self::new), and [`Problem::NotHex`] for text that is not
    /// an even number of hex digits.
    pub fn from_hex(id: impl Into<String>, hex_key: &str) -> Result<Self> {
        let key = hex::decode(hex_key.trim())
            .map_err(|_| Error::invalid("masterKey", Problem::NotHex))?;
        Self::new(id, key)
    }

    /// The key's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The order's `ipnSecret`: the lowercase hex of
    /// `HMAC-SHA256(key, reference)`, 64 characters.
    pub fn ipn_secret(&self, reference: &Reference) -> IpnSecret {
        let mut mac = self.mac.clone();
        mac.update(reference.as_str().as_bytes());
        IpnSecret::from_derived_hex(hex::encode(mac.finalize().into_bytes()))
    }
}

/// The master keys: the current one, for new orders, and previous ones still
/// accepted for orders created under them.
#[derive(Clone, Debug)]
pub struct MasterKeys {
    current: MasterKey,
    previous: Vec<MasterKey>,
}

impl MasterKeys {
    /// Keys with `current` as the only one.
    pub fn new(current: MasterKey) -> Self {
        Self {
            current,
            previous: Vec::new(),
        }
    }

    /// Adds a previous key, still accepted at receipt but never used for new
    /// orders. A key whose id is already present is ignored (the first wins:
    /// one id, one key).
    #[must_use]
    pub fn with_previous(mut self, key: MasterKey) -> Self {
        if self.get(key.id()).is_none() {
            self.previous.push(key);
        }
        self
    }

    /// The key new orders are derived with.
    pub fn current(&self) -> &MasterKey {
        &self.current
    }

    /// The key with this id, if held.
    pub fn get(&self, id: &str) -> Option<&MasterKey> {
        self.iter().find(|k| k.id == id)
    }

    /// Every key, the current one first.
    pub fn iter(&self) -> impl Iterator<Item = &MasterKey> {
        core::iter::once(&self.current).chain(self.previous.iter())
    }

    /// The secrets `reference` may have been given, one per key, the current
    /// key's first: pass them all to the verifier, which tries each.
    pub fn ipn_secrets(&self, reference: &Reference) -> Vec<IpnSecret> {
        self.iter().map(|k| k.ipn_secret(reference)).collect()
    }
}

/// Builds the `ipnUrl` for a reference, and finds the reference again in a
/// received request's query string.
///
/// The reference goes into one query parameter (default
/// [`DEFAULT_REFERENCE_PARAM`], `ref`), appended to the base URL's query if
/// it has one. The platform accepts an `ipnUrl` of at most
/// [`MAX_URL_LEN`] (200) characters, so the base
/// URL bounds the reference's length: [`max_reference_len`](Self::max_reference_len).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpnUrlTemplate {
    base: String,
    param: Cow<'static, str>,
}

impl IpnUrlTemplate {
    /// A template over `base` (an absolute http(s) URL without a fragment,
    /// possibly with a query of its own), with the parameter `ref`.
    ///
    /// # Errors
    /// [`Error::InvalidField`] naming `ipnUrl` if `base` is not an absolute
    /// http(s) URL, has a fragment, or leaves no room for a reference within
    /// 200 characters; or if it already has a `ref` parameter.
    pub fn new(base: impl Into<String>) -> Result<Self> {
        Self::with_param(base, DEFAULT_REFERENCE_PARAM)
    }

    /// As [`new`](Self::new), with the reference in parameter `param` (1 to
    /// 32 characters among `A-Z a-z 0-9 - _ . ~`).
    ///
    /// # Errors
    /// As [`new`](Self::new); [`Error::InvalidField`] naming
    /// `referenceParam` for a bad name.
    pub fn with_param(
        base: impl Into<String>,
        param: impl Into<Cow<'static, str>>,
    ) -> Result<Self> {
        let base = base.into();
        let param = param.into();
        check_token("referenceParam", &param, MAX_KEY_ID_LEN)?;
        check_url("ipnUrl", &base)?;
        if base.contains('#') {
            return Err(Error::invalid(
                "ipnUrl",
                Problem::Rule("must not have a fragment (the reference goes in the query)"),
            ));
        }
        let template = Self { base, param };
        if let Some((_, query)) = template.base.split_once('?')
            && query_values(query, &template.param).next().is_some()
        {
            return Err(Error::invalid(
                "ipnUrl",
                Problem::Rule("already has the reference parameter"),
            ));
        }
        if template.max_reference_len() == 0 {
            return Err(Error::invalid(
                "ipnUrl",
                Problem::Rule("leaves no room for a reference within 200 characters"),
            ));
        }
        Ok(template)
    }

    /// The parameter's name.
    pub fn param(&self) -> &str {
        &self.param
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The longest reference whose `ipnUrl` fits in 200 characters (at most
    /// [`MAX_REFERENCE_LEN`]).
    pub fn max_reference_len(&self) -> usize {
        // base + one separator + param + '='
        let overhead = self.base.chars().count() + 1 + self.param.len() + 1;
        MAX_URL_LEN.saturating_sub(overhead).min(MAX_REFERENCE_LEN)
    }

    /// The `ipnUrl` for `reference`.
    ///
    /// ```
    /// use smartex_core::derived::{IpnUrlTemplate, Reference};
    /// let t = IpnUrlTemplate::with_param("https://shop.example/ipn?shop=3", "order")?;
    /// let r = Reference::new("A-17")?;
    /// assert_eq!(t.url_for(&r)?, "https://shop.example/ipn?shop=3&order=A-17");
    /// # Ok::<(), smartex_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidField`] naming `ipnUrl` with [`Problem::TooLong`] if
    /// the URL would exceed 200 characters.
    pub fn url_for(&self, reference: &Reference) -> Result<String> {
        if reference.as_str().len() > self.max_reference_len() {
            return Err(Error::invalid(
                "ipnUrl",
                Problem::TooLong { max: MAX_URL_LEN },
            ));
        }
        let separator = if self.base.contains('?') {
            if self.base.ends_with('?') || self.base.ends_with('&') {
                ""
            } else {
                "&"
            }
        } else {
            "?"
        };
        let mut url = String::with_capacity(MAX_URL_LEN);
        url.push_str(&self.base);
        url.push_str(separator);
        url.push_str(&self.param);
        url.push('=');
        url.push_str(reference.as_str());
        Ok(url)
    }

    /// The reference in a received request's query string (the part after
    /// `?`, without it). Percent-escapes are undone before the reference is
    /// checked (a proxy may escape what needed no escaping).
    ///
    /// ```
    /// use smartex_core::derived::IpnUrlTemplate;
    /// let t = IpnUrlTemplate::new("https://shop.example/ipn")?;
    /// assert_eq!(t.reference_from_query("x=1&ref=A%2D17")?.as_str(), "A-17");
    /// assert!(t.reference_from_query("x=1").is_err());        // missing
    /// assert!(t.reference_from_query("ref=a&ref=b").is_err()); // twice
    /// # Ok::<(), smartex_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::MissingField`], [`Error::DuplicateField`] (the parameter given
    /// twice is refused, never "first wins") or [`Error::InvalidField`], each
    /// naming the parameter.
    pub fn reference_from_query(&self, query: &str) -> Result<Reference> {
        let field = || Cow::Owned(String::from(&*self.param));
        let mut values = query_values(query, &self.param);
        let Some(raw) = values.next() else {
            return Err(Error::MissingField { field: field() });
        };
        if values.next().is_some() {
            return Err(Error::DuplicateField { field: field() });
        }
        // Either problem (a bad escape, escapes that do not make UTF-8) is
        // reported as a bad escape, as it always was.
        let decoded = crate::percent::decode_form(raw)
            .map_err(|_| Error::InvalidField {
                field: field(),
                problem: Problem::BadPercentEncoding,
            })?
            .into_owned();
        check_token("reference", &decoded, MAX_REFERENCE_LEN).map_err(|e| match e {
            Error::InvalidField { problem, .. } => Error::InvalidField {
                field: field(),
                problem,
            },
            other => other,
        })?;
        Ok(Reference(decoded))
    }
}

/// The raw values of parameter `name` in `query`. Names are compared as
/// written: the name is ours, made of unreserved characters, and the platform
/// POSTs to the URL we gave it.
fn query_values<'q>(query: &'q str, name: &'q str) -> impl Iterator<Item = &'q str> + 'q {
    query.split('&').filter_map(move |pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then_some(value)
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // Fixed test values.
    use super::*;

    fn template() -> IpnUrlTemplate {
        IpnUrlTemplate::new("https://shop.example/ipn").unwrap()
    }

    #[test]
    fn urls_stay_within_200_characters() {
        let base = alloc::format!("https://shop.example/{}", "p".repeat(150));
        let t = IpnUrlTemplate::new(base).unwrap();
        let max = t.max_reference_len();
        assert!(max < MAX_REFERENCE_LEN);
        let fits = Reference::new("r".repeat(max)).unwrap();
        assert_eq!(t.url_for(&fits).unwrap().chars().count(), MAX_URL_LEN);
        let long = Reference::new("r".repeat(max + 1)).unwrap();
        let err = t.url_for(&long).unwrap_err();
        assert_eq!(err.field(), Some("ipnUrl"));
        assert!(matches!(
            err,
            Error::InvalidField {
                problem: Problem::TooLong { max: 200 },
                ..
            }
        ));
    }

    #[test]
    fn a_base_without_room_or_with_the_parameter_is_refused() {
        let base = alloc::format!("https://shop.example/{}", "p".repeat(176));
        assert!(IpnUrlTemplate::new(base).is_err());
        assert!(IpnUrlTemplate::new("https://shop.example/ipn?ref=1").is_err());
        assert!(IpnUrlTemplate::new("https://shop.example/ipn#x").is_err());
        assert!(IpnUrlTemplate::new("ftp://shop.example/ipn").is_err());
        assert!(IpnUrlTemplate::with_param("https://shop.example/ipn", "a b").is_err());
    }

    #[test]
    fn url_then_query_round_trips() {
        let t = template();
        for r in ["a", "A-1_b.c~d", &"z".repeat(64)] {
            let r = Reference::new(r).unwrap();
            let url = t.url_for(&r).unwrap();
            let (_, query) = url.split_once('?').unwrap();
            assert_eq!(t.reference_from_query(query).unwrap(), r);
        }
        let t = IpnUrlTemplate::with_param("http://127.0.0.1:9/ipn?", "o").unwrap();
        assert_eq!(
            t.url_for(&Reference::new("x").unwrap()).unwrap(),
            "http://127.0.0.1:9/ipn?o=x"
        );
    }

    #[test]
    fn bad_queries_name_the_parameter() {
        let t = template();
        for (query, check) in [
            ("", "missing"),
            ("refx=1", "missing"),
            ("ref=a&ref=a", "appears more than once"),
            ("ref=", "is empty"),
            ("ref=a%2", "%"),
            ("ref=a%20b", "not allowed"),
            ("ref=%FF", "%"),
        ] {
            let err = t.reference_from_query(query).unwrap_err();
            assert_eq!(err.field(), Some("ref"), "{query}");
            assert!(alloc::format!("{err}").contains(check), "{query}: {err}");
        }
    }

    #[test]
    fn rotation_tries_every_key_current_first() {
        let k1 = MasterKey::new("k1", [1u8; 32]).unwrap();
        let k2 = MasterKey::new("k2", [2u8; 32]).unwrap();
        let keys = MasterKeys::new(k2.clone()).with_previous(k1.clone());
        let r = Reference::new("o1").unwrap();
        let secrets = keys.ipn_secrets(&r);
        assert_eq!(secrets, [k2.ipn_secret(&r), k1.ipn_secret(&r)]);
        assert_eq!(keys.current().id(), "k2");
        assert_eq!(keys.get("k1").map(MasterKey::id), Some("k1"));
        // A second key with a known id is ignored.
        let keys = keys.with_previous(MasterKey::new("k1", [9u8; 32]).unwrap());
        assert_eq!(keys.iter().count(), 2);
    }

    #[test]
    fn secrets_differ_per_reference_and_per_key() {
        let k1 = MasterKey::new("k1", [1u8; 32]).unwrap();
        let k2 = MasterKey::new("k2", [2u8; 32]).unwrap();
        let a = Reference::new("a").unwrap();
        let b = Reference::new("b").unwrap();
        assert_ne!(k1.ipn_secret(&a), k1.ipn_secret(&b));
        assert_ne!(k1.ipn_secret(&a), k2.ipn_secret(&a));
        assert!(!alloc::format!("{k1:?}").contains("0101"));
    }
}
