//! Secrets: the IPN secret, the order secret and the API secret.
//!
//! Each is its own type so that one can never be passed where another is meant,
//! and none of them prints itself: `Debug` and `Display` show `[redacted]`. The
//! value is reachable only through an explicit [`expose`](IpnSecret::expose).

use alloc::string::String;

use crate::error::{Error, Problem, Result};

macro_rules! secret_type {
    ($(#[$doc:meta])* $name:ident, $field:literal, $max:expr) => {
        $(#[$doc])*
        ///
        /// `==` compares in constant time (for values of the same length).
        #[derive(Clone)]
        pub struct $name(String);

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                use subtle::ConstantTimeEq;
                self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
            }
        }

        impl Eq for $name {}

        impl $name {
            /// The longest value the platform accepts, in characters.
            pub const MAX_LEN: usize = $max;

            /// Wraps a secret, checking that it is non-empty and not longer than
            #[doc = concat!("[`", stringify!($name), "::MAX_LEN`].")]
            ///
            /// The error names the field but never contains the value.
            pub fn new(value: impl Into<String>) -> Result<Self> {
                let value = value.into();
                if value.is_empty() {
                    return Err(Error::invalid($field, Problem::Empty));
                }
                if value.chars().count() > Self::MAX_LEN {
                    return Err(Error::invalid($field, Problem::TooLong { max: Self::MAX_LEN }));
                }
                Ok(Self(value))
            }

            /// The secret itself. Call this only where the bytes are needed
            /// (hashing, sending); never log the result.
            pub fn expose(&self) -> &str {
                &self.0
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("[redacted]")
            }
        }

        impl core::str::FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                Self::new(s)
            }
        }
    };
}

secret_type!(
    /// The secret a merchant sets per order (`ipnSecret`) to sign that order's IPNs.
    ///
    /// ```
    /// use smartex_core::IpnSecret;
    /// let secret = IpnSecret::new("SECRET123")?;
    /// assert_eq!(format!("{secret:?}"), "IpnSecret([redacted])");
    /// assert_eq!(secret.expose(), "SECRET123");
    /// # Ok::<(), smartex_core::Error>(())
    /// ```
    IpnSecret,
    "ipnSecret",
    200
);

secret_type!(
    /// The secret the platform returns with a created order (`secret`, sent back as
    /// `orderSecret`): whoever holds it can see and pay the order.
    ///
    /// ```
    /// use smartex_core::OrderSecret;
    /// let secret = OrderSecret::new("dGqwF2M2eBPaSN1G5ljMS1cb")?;
    /// assert_eq!(secret.to_string(), "[redacted]");
    /// # Ok::<(), smartex_core::Error>(())
    /// ```
    OrderSecret,
    "orderSecret",
    50
);

secret_type!(
    /// The API secret from the merchant's profile, used to sign authenticated calls.
    ///
    /// ```
    /// use smartex_core::ApiSecret;
    /// let secret = ApiSecret::new("97aab8410868ba7c1824f490999607c0ce46a3de")?;
    /// assert!(!format!("{secret:?}").contains("97aab"));
    /// # Ok::<(), smartex_core::Error>(())
    /// ```
    ApiSecret,
    "secret",
    512
);

impl IpnSecret {
    /// How many random bytes a generated secret is made of (256 bits).
    pub const RANDOM_BYTES: usize = 32;

    /// A fresh secret from 32 random bytes: their lowercase hex, 64
    /// characters of `0-9a-f` — within the platform's 200 characters, and an
    /// alphabet no form encoding, URL or log escaping changes.
    ///
    /// The bytes must come from a cryptographically secure source; under
    /// `std`, [`IpnSecret::generate`] takes them from the operating system.
    ///
    /// ```
    /// use smartex_core::IpnSecret;
    /// let secret = IpnSecret::from_random_bytes([0xab; 32]);
    /// assert_eq!(secret.expose(), "ab".repeat(32));
    /// ```
    pub fn from_random_bytes(bytes: [u8; Self::RANDOM_BYTES]) -> Self {
        Self(hex::encode(bytes))
    }

    /// A fresh random secret ([`IpnSecret::from_random_bytes`] over 32
    /// bytes from the operating system's secure random source), for a
    /// merchant who keeps one stored secret per order or one for the shop.
    ///
    /// # Errors
    /// [`RandomUnavailable`] if the operating system gives no random bytes.
    ///
    /// ```
    /// use smartex_core::IpnSecret;
    /// let a = IpnSecret::generate()?;
    /// let b = IpnSecret::generate()?;
    /// assert_eq!(a.expose().len(), 64);
    /// assert_ne!(a, b);
    /// # Ok::<(), smartex_core::secret::RandomUnavailable>(())
    /// ```
    #[cfg(feature = "std")]
    pub fn generate() -> core::result::Result<Self, RandomUnavailable> {
        let mut bytes = [0u8; Self::RANDOM_BYTES];
        getrandom::getrandom(&mut bytes).map_err(|_| RandomUnavailable)?;
        Ok(Self::from_random_bytes(bytes))
    }

    /// Wraps the hex of an HMAC-SHA256 tag from [`crate::derived`]: 64
    /// characters, non-empty and within [`IpnSecret::MAX_LEN`] by
    /// construction, so no check can fail.
    pub(crate) fn from_derived_hex(hex: String) -> Self {
        Self(hex)
    }
}

/// The public half of an API key pair (`apikey` header). Not a secret, but kept as
/// its own type so it cannot be swapped with the secret by mistake.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps an API key; it must be non-empty printable ASCII (it travels in a header).
    ///
    /// ```
    /// use smartex_core::ApiKey;
    /// assert!(ApiKey::new("EF04794F718A3FC8C6DFA0B").is_ok());
    /// assert!(ApiKey::new("bad\nkey").is_err());
    /// ```
    pub fn new(value: impl Into<String>) -> Result<Self> {
        let value = value.into();
        if value.is_empty() {
            return Err(Error::invalid("apikey", Problem::Empty));
        }
        if !value.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::invalid("apikey", Problem::ForbiddenCharacter));
        }
        Ok(Self(value))
    }

    /// The key as sent in the `apikey` header.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl OrderSecret {
    /// Wraps a secret the platform itself sent (in `order/create`'s answer):
    /// any non-empty string, however long. [`MAX_LEN`](Self::MAX_LEN) is what
    /// one public client validates, a guess; the secret of an order that
    /// exists is kept rather than lost.
    pub fn from_platform(value: impl Into<String>) -> Result<Self> {
        let value = value.into();
        if value.is_empty() {
            return Err(Error::invalid("orderSecret", Problem::Empty));
        }
        Ok(Self(value))
    }
}

impl<'de> serde::Deserialize<'de> for OrderSecret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        // Every error names the field, never the value: deserializing straight
        // into a `String` would report a number or a boolean sent in its place
        // with its text ("invalid type: integer `1234`").
        match serde::Deserialize::deserialize(d)? {
            serde_json::Value::String(s) => OrderSecret::new(s).map_err(serde::de::Error::custom),
            _ => Err(serde::de::Error::custom(Error::invalid(
                "orderSecret",
                Problem::WrongShape {
                    expected: "a string",
                },
            ))),
        }
    }
}

/// The operating system gave no random bytes ([`IpnSecret::generate`]).
#[cfg(feature = "std")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RandomUnavailable;

#[cfg(feature = "std")]
impl core::fmt::Display for RandomUnavailable {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("the operating system's random source is unavailable")
    }
}

#[cfg(feature = "std")]
impl core::error::Error for RandomUnavailable {}
