//! The platform's API-key scheme for authenticated calls.
//!
//! Each request carries a numeric `time` that never repeats nor decreases for a
//! key (a nonce), and two headers: `apikey: <key>` and
//! `hash: sha256_hex(sha256_hex(params) + secret)`, where `params` is
//! `JSON.stringify({...req.query, ...req.body})` as the platform's Express
//! server computes it from what it parsed — not the bytes on the wire. For a
//! JSON body those are the same bytes only if the body is already in
//! JavaScript's spelling (`2.1`, not `2.10`); for a form body or a query string
//! they never are (`"time":"1742774343407"`, a string). [`express_signature`]
//! signs what the server hashes; [`crate::js`] rebuilds it.
//!
//! The profile page's prose says SHA-512, but its worked example is SHA-256 and
//! reproduces exactly (see the test vectors); SHA-256 it is.

use sha2::{Digest, Sha256};

use crate::checksum::{HexDigest, sha256_hex};
use crate::error::Result;
use crate::js::{Body, express_params_json};
use crate::secret::ApiSecret;

/// `sha256_hex(sha256_hex(params) + secret)`: the `hash` header for a request
/// whose parameters, as the platform's server writes them with
/// `JSON.stringify`, are exactly `params`. For a request as it goes over the
/// wire, use [`express_signature`], which computes that text first.
///
/// ```
/// use smartex_core::{auth::request_signature, ApiSecret};
/// let secret = ApiSecret::new("97aab8410868ba7c1824f490999607c0ce46a3de")?;
/// let sig = request_signature(br#"{"time":123456789,"param1":"val1"}"#, &secret);
/// assert_eq!(sig.as_str(), "ac876c6314ffcca01b0e65571cc136cedfb2c3d8e2194aaaf364ca7123568fc7");
/// # Ok::<(), smartex_core::Error>(())
/// ```
pub fn request_signature(body: &[u8], secret: &ApiSecret) -> HexDigest {
    let inner = sha256_hex(body);
    let mut outer = Sha256::new();
    outer.update(inner.as_str().as_bytes());
    outer.update(secret.expose().as_bytes());
    let digest: [u8; 32] = outer.finalize().into();
    crate::checksum::Checksum::from_bytes(digest).to_hex()
}

/// The `hash` the platform's Express server computes for a request with the
/// query string `query` (without `?`) and `body`:
/// [`request_signature`] over [`express_params_json`]. The same for a client
/// (sign this, send `query` and `body`) and for a server (compare with the
/// `hash` header in constant time).
///
/// ```
/// use smartex_core::auth::express_signature;
/// use smartex_core::js::Body;
/// use smartex_core::ApiSecret;
/// let secret = ApiSecret::new("97aab8410868ba7c1824f490999607c0ce46a3de")?;
/// // The published example, sent as JSON, as a form body and as a query string.
/// let json = express_signature(None, Body::Json(br#"{"time":123456789,"param1":"val1"}"#), &secret)?;
/// assert_eq!(json.as_str(), "ac876c6314ffcca01b0e65571cc136cedfb2c3d8e2194aaaf364ca7123568fc7");
/// let form = express_signature(None, Body::Form(b"time=123456789&param1=val1"), &secret)?;
/// let get = express_signature(Some("time=123456789&param1=val1"), Body::None, &secret)?;
/// assert_eq!(form, get); // both hash {"time":"123456789","param1":"val1"}
/// assert_ne!(form, json);
/// # Ok::<(), smartex_core::Error>(())
/// ```
///
/// # Errors
/// What Express refuses before hashing (see [`express_params_json`]).
pub fn express_signature(
    query: Option<&str>,
    body: Body<'_>,
    secret: &ApiSecret,
) -> Result<HexDigest> {
    let params = express_params_json(query, body)?;
    Ok(request_signature(params.as_bytes(), secret))
}

/// The next `time` nonce: `now`, unless that would not be greater than the last
/// value issued for the key, in which case `last + 1`. Pure: the caller reads the
/// clock (in the unit it configured) and keeps `last` (atomically, if calls run
/// concurrently). Never returns 0: the platform wants `time > 0`. The one
/// value it cannot step past is `u64::MAX`: after it, `u64::MAX` comes again.
///
/// ```
/// use smartex_core::auth::next_nonce;
/// assert_eq!(next_nonce(1_000, None), 1_000);
/// assert_eq!(next_nonce(1_000, Some(999)), 1_000);
/// assert_eq!(next_nonce(1_000, Some(1_000)), 1_001); // same tick: step past it
/// assert_eq!(next_nonce(900, Some(1_000)), 1_001);   // clock went back: never decrease
/// assert_eq!(next_nonce(0, None), 1);
/// assert_eq!(next_nonce(5, Some(u64::MAX)), u64::MAX); // saturated
/// ```
pub fn next_nonce(now: u64, last: Option<u64>) -> u64 {
    let floor = last.map_or(1, |l| l.saturating_add(1));
    now.max(floor)
}

/// The unit of an API key's `time` nonces.
///
/// The platform's profile page says "unix time" without a unit; the platform is
/// a Node.js application, whose clock (`Date.now()`) and whose IPN timestamps
/// are in milliseconds, so milliseconds is the default. A key's nonces keep
/// one unit for its whole life: once the platform has seen millisecond nonces,
/// a seconds nonce is smaller forever.
///
/// ```
/// use smartex_core::auth::NonceUnit;
/// use smartex_core::time::UnixMillis;
/// let now = UnixMillis::from_millis(1_742_774_343_407);
/// assert_eq!(NonceUnit::Millis.count(now), 1_742_774_343_407);
/// assert_eq!(NonceUnit::Seconds.count(now), 1_742_774_343);
/// assert_eq!(NonceUnit::parse(NonceUnit::Seconds.as_str()), Some(NonceUnit::Seconds));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NonceUnit {
    /// Milliseconds since the Unix epoch (the default).
    #[default]
    Millis,
    /// Seconds since the Unix epoch. Under load the nonce runs ahead of the clock
    /// (one step per call within a second), which the scheme allows.
    Seconds,
}

impl NonceUnit {
    /// `ms` or `s`: how a store records the unit of a key's last nonce.
    pub fn as_str(self) -> &'static str {
        match self {
            NonceUnit::Millis => "ms",
            NonceUnit::Seconds => "s",
        }
    }

    /// The unit written by [`as_str`](Self::as_str).
    pub fn parse(text: &str) -> Option<NonceUnit> {
        match text {
            "ms" => Some(NonceUnit::Millis),
            "s" => Some(NonceUnit::Seconds),
            _ => None,
        }
    }

    /// The instant `now` counted in this unit since the epoch: the clock's
    /// reading that [`next_nonce`] takes.
    pub fn count(self, now: crate::time::UnixMillis) -> u64 {
        match self {
            NonceUnit::Millis => now.as_millis(),
            NonceUnit::Seconds => now.as_millis() / 1000,
        }
    }
}

impl core::fmt::Display for NonceUnit {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            NonceUnit::Millis => "milliseconds",
            NonceUnit::Seconds => "seconds",
        })
    }
}

/// Puts `"time":<time>` first in a JSON object body, as the profile page's
/// example does (`{"time":123456789,"param1":"val1"}`). `body` must be a JSON
/// object's text (what [`ApiCall::to_json`](crate::request::ApiCall::to_json) gives).
///
/// ```
/// use smartex_core::auth::json_with_time;
/// assert_eq!(json_with_time(r#"{"param1":"val1"}"#, 123456789), r#"{"time":123456789,"param1":"val1"}"#);
/// assert_eq!(json_with_time("{}", 5), r#"{"time":5}"#);
/// ```
pub fn json_with_time(body: &str, time: u64) -> alloc::string::String {
    let inner = body
        .trim()
        .strip_prefix('{')
        .and_then(|b| b.strip_suffix('}'))
        .unwrap_or_default()
        .trim();
    if inner.is_empty() {
        alloc::format!("{{\"time\":{time}}}")
    } else {
        alloc::format!("{{\"time\":{time},{inner}}}")
    }
}

/// Puts `time=<time>` first in a form body or query string.
///
/// ```
/// assert_eq!(smartex_core::auth::form_with_time("a=1", 7), "time=7&a=1");
/// assert_eq!(smartex_core::auth::form_with_time("", 7), "time=7");
/// ```
pub fn form_with_time(body: &str, time: u64) -> alloc::string::String {
    if body.is_empty() {
        alloc::format!("time={time}")
    } else {
        alloc::format!("time={time}&{body}")
    }
}
