//! The receiver: request → the core's [`UnverifiedIpn`] → [`VerifiedIpn`].

use std::borrow::Cow;
use std::sync::Arc;

use smartex_core::IpnSecret;
use smartex_core::ipn::{IpnFormat, UnverifiedIpn, VerifiedIpn};
use smartex_core::time::UnixMillis;

use crate::config::{ChecksumLocation, Config, TimestampWindow};
use crate::error::{Error, Result};
use crate::replay::{MemoryReplayGuard, ReplayGuard, ReplayKey};
use crate::request::IpnRequest;

/// The secret(s) to verify one notification with.
///
/// Implemented for one [`IpnSecret`], for several (a slice, an array or a
/// `Vec`: during a rotation, each is tried, in constant time over all of
/// them), and for `Option<_>` of any of these, where `None` means the
/// merchant's lookup found no such order ([`Error::UnknownOrder`]). An empty
/// list verifies nothing ([`Error::BadChecksum`]).
pub trait Secrets {
    /// The secrets, or `None` for an unknown order.
    fn secrets(&self) -> Option<&[IpnSecret]>;
}

impl Secrets for IpnSecret {
    fn secrets(&self) -> Option<&[IpnSecret]> {
        Some(core::slice::from_ref(self))
    }
}

impl Secrets for [IpnSecret] {
    fn secrets(&self) -> Option<&[IpnSecret]> {
        Some(self)
    }
}

impl<const N: usize> Secrets for [IpnSecret; N] {
    fn secrets(&self) -> Option<&[IpnSecret]> {
        Some(self)
    }
}

impl Secrets for Vec<IpnSecret> {
    fn secrets(&self) -> Option<&[IpnSecret]> {
        Some(self)
    }
}

impl<S: Secrets> Secrets for Option<S> {
    fn secrets(&self) -> Option<&[IpnSecret]> {
        self.as_ref().and_then(S::secrets)
    }
}

impl<S: Secrets + ?Sized> Secrets for &S {
    fn secrets(&self) -> Option<&[IpnSecret]> {
        (**self).secrets()
    }
}

/// The current time from the system clock: the `now` to pass to
/// [`Receiver::verify`]. A clock set before 1970 gives the epoch.
///
/// The one place this crate reads a clock, and only when asked: the receiver
/// itself takes `now` as an argument, so an application with a clock of its
/// own (a [`Clock`](smartex_core::time::Clock), as the `smartex` facade
/// does) passes `clock.now()` instead.
pub fn now() -> UnixMillis {
    UnixMillis::from(std::time::SystemTime::now())
}

/// Turns requests into verified notifications, or precise refusals.
///
/// Cheap to clone (the replay guard is shared); build one at start-up and
/// share it between handlers.
///
/// ```
/// use smartex_ipn::{IpnRequest, IpnSecret, Receiver};
/// let body = std::fs::read("../smartex-core/tests/data/sample-ipn-body.txt")?;
/// let request = IpnRequest::new("POST", &body).content_type("application/x-www-form-urlencoded");
/// let receiver = Receiver::new();
///
/// // 1. Parse: HTTP checks, decoding, locating the checksum. No secret yet.
/// let parsed = receiver.parse(&request)?;
/// // 2. Look the order's secret up (may be async: the receiver needs no runtime).
/// let secret = (parsed.order_id_raw() == "5d8e6002b80b7b4cd75a6424").then(|| IpnSecret::new("SECRET123")).transpose()?;
/// // 3. Verify: checksum, timestamp window, replay guard.
/// // A minute after it was sent; usually smartex_ipn::now().
/// let now = smartex_ipn::UnixMillis::from_millis(1_571_328_406_072 + 60_000);
/// let ipn = receiver.verify(parsed, &secret, now)?;
/// assert_eq!(ipn.status_raw(), "inProgress");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Receiver {
    config: Config,
    guard: Option<Arc<dyn ReplayGuard>>,
}

impl core::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Receiver")
            .field("config", &self.config)
            .field("replay_guard", &self.guard.is_some())
            .finish()
    }
}

impl Default for Receiver {
    fn default() -> Self {
        Self::new()
    }
}

/// Which body decoder a content type calls for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum BodyKind {
    Form,
    Json,
}

impl Receiver {
    /// A receiver with the default [`Config`] and an in-memory replay guard
    /// ([`MemoryReplayGuard::default`]).
    pub fn new() -> Self {
        Self::with_config(Config::default())
    }

    /// A receiver with this configuration and an in-memory replay guard.
    pub fn with_config(config: Config) -> Self {
        Self {
            config,
            guard: Some(Arc::new(MemoryReplayGuard::default())),
        }
    }

    /// Uses `guard` as the replay guard (e.g. one backed by a shared store).
    #[must_use]
    pub fn with_replay_guard(mut self, guard: impl ReplayGuard + 'static) -> Self {
        self.guard = Some(Arc::new(guard));
        self
    }

    /// Turns the replay guard off (the caller checks [`ReplayKey::of`] the
    /// verified notification itself, or relies on the tracker alone).
    #[must_use]
    pub fn without_replay_guard(mut self) -> Self {
        self.guard = None;
        self
    }

    /// Makes the replay guard forget `notification`, so that the same
    /// notification is verified again next time rather than refused as
    /// [`Error::Replayed`]. Call it when your processing of a verified
    /// notification failed and you want a retry to go through.
    pub fn forget(&self, notification: &VerifiedIpn<'_>) {
        if let Some(guard) = &self.guard {
            guard.forget(&ReplayKey::of(notification));
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Step 1: checks method, size and content type, decodes the body, and
    /// adds every checksum found in the configured places to the core's
    /// [`UnverifiedIpn`] ([`UnverifiedIpn::add_checksum`]). Needs no secret;
    /// the result shows only the order's id and uid, to look the secret up.
    ///
    /// # Errors
    /// [`Error::WrongMethod`], [`Error::TooLarge`],
    /// [`Error::WrongContentType`], [`Error::Malformed`],
    /// [`Error::MissingChecksum`], [`Error::MalformedChecksum`].
    #[inline]
    pub fn parse<'a>(&self, request: &IpnRequest<'a>) -> Result<UnverifiedIpn<'a>> {
        let result = self.parse_inner(request);
        if let Err(e) = &result {
            trace::refused(e);
        }
        result
    }

    /// Step 2: verifies the checksum with the order's secret(s) (any of the
    /// checksums found matching is enough), checks the timestamp window
    /// against `now` (see [`now`]; the notification's `timestamp` may be in
    /// seconds or milliseconds), and consults the replay guard. A
    /// [`VerifiedIpn`] from here has passed all three.
    ///
    /// # Errors
    /// [`Error::UnknownOrder`] if `secrets` is `None`, [`Error::BadChecksum`],
    /// [`Error::TooOld`], [`Error::InTheFuture`], [`Error::Malformed`] for a
    /// signed `timestamp` that is not a number, [`Error::Replayed`].
    #[inline]
    pub fn verify<'a, S: Secrets + ?Sized>(
        &self,
        parsed: UnverifiedIpn<'a>,
        secrets: &S,
        now: UnixMillis,
    ) -> Result<VerifiedIpn<'a>> {
        let result = self.verify_inner(parsed, secrets, now);
        match &result {
            Ok(n) => trace::accepted(n),
            Err(e) => trace::refused(e),
        }
        result
    }

    /// Steps 1 and 2 at once, for a merchant with fixed secret(s).
    ///
    /// # Errors
    /// As [`parse`](Self::parse) and [`verify`](Self::verify).
    #[inline]
    pub fn receive<'a, S: Secrets + ?Sized>(
        &self,
        request: &IpnRequest<'a>,
        secrets: &S,
        now: UnixMillis,
    ) -> Result<VerifiedIpn<'a>> {
        let parsed = self.parse(request)?;
        self.verify(parsed, secrets, now)
    }

    #[inline]
    fn parse_inner<'a>(&self, request: &IpnRequest<'a>) -> Result<UnverifiedIpn<'a>> {
        let config = &self.config;
        if !config.methods.contains(&request.method()) {
            return Err(Error::WrongMethod {
                allowed: config.methods,
            });
        }
        let body = request.body();
        if body.len() > config.max_body {
            return Err(Error::TooLarge {
                max: config.max_body,
            });
        }
        let kind = self.body_kind(request)?;
        let format = IpnFormat {
            checksum_field: config.body_field(),
            limits: config.limits,
        };
        let mut ipn = match kind {
            BodyKind::Form => UnverifiedIpn::parse_form(body, &format)?,
            BodyKind::Json => UnverifiedIpn::parse_json(body, &format)?,
        };
        self.locate_checksums(request, &mut ipn)?;
        Ok(ipn)
    }

    fn body_kind(&self, request: &IpnRequest<'_>) -> Result<BodyKind> {
        let accepted = self.config.content_types;
        let mut count = 0usize;
        let mut kind = None;
        request.content_types(&mut |value| {
            count += 1;
            kind = media_kind(value);
        });
        let wrong = || Error::WrongContentType {
            expected: accepted.describe(),
        };
        match (count, kind) {
            (0, _) if accepted.missing_as_form && accepted.form => Ok(BodyKind::Form),
            (1, Some(BodyKind::Form)) if accepted.form => Ok(BodyKind::Form),
            (1, Some(BodyKind::Json)) if accepted.json => Ok(BodyKind::Json),
            _ => Err(wrong()),
        }
    }

    /// Adds the checksums of the configured places other than the body
    /// field (which the core's parser read) to `ipn`: the core's candidate
    /// rule decides what counts. Only naming the place of a malformed value,
    /// when nothing well-formed was found anywhere, is this crate's.
    fn locate_checksums(
        &self,
        request: &IpnRequest<'_>,
        ipn: &mut UnverifiedIpn<'_>,
    ) -> Result<()> {
        let body_field = self.config.body_field();
        let mut malformed: Option<Option<usize>> = None;
        for (i, location) in self.config.checksum.iter().enumerate() {
            let mut offer = |text: &[u8]| {
                if !ipn.add_checksum(text) {
                    malformed.get_or_insert(Some(i));
                }
            };
            match location {
                // The core's parser took the (first) body field's values.
                ChecksumLocation::BodyField(name) => {
                    if body_field == Some(&**name) && ipn.body_checksum_malformed() {
                        malformed.get_or_insert(Some(i));
                    }
                }
                ChecksumLocation::QueryParam(name) => {
                    if let Some(query) = request.query_string() {
                        for text in query_params(query, name) {
                            offer(text.as_bytes());
                        }
                    }
                }
                ChecksumLocation::Header(name) => {
                    request.header_source().for_each(name, &mut |value| {
                        // Optional whitespace around a header value is not part of it.
                        offer(value.trim_ascii());
                    });
                }
            }
        }
        if let Some(text) = request.supplied_checksum()
            && !ipn.add_checksum(text)
        {
            malformed.get_or_insert(None);
        }
        if ipn.has_checksum() {
            return Ok(());
        }
        Err(match malformed {
            Some(place) => Error::MalformedChecksum {
                location: match place.and_then(|i| self.config.checksum.get(i)) {
                    Some(location) => location.describe(),
                    None => Cow::Borrowed("the checksum supplied by the caller"),
                },
            },
            None => Error::MissingChecksum,
        })
    }

    #[inline]
    fn verify_inner<'a, S: Secrets + ?Sized>(
        &self,
        parsed: UnverifiedIpn<'a>,
        secrets: &S,
        now: UnixMillis,
    ) -> Result<VerifiedIpn<'a>> {
        let Some(secrets) = secrets.secrets() else {
            return Err(Error::UnknownOrder);
        };
        let ipn = parsed.verify_any(secrets)?;
        if let TimestampWindow::Within { max_age, max_ahead } = self.config.window {
            let at = ipn.timestamp()?.as_millis();
            let now = now.as_millis();
            let max_age_ms = duration_ms(max_age);
            let max_ahead_ms = duration_ms(max_ahead);
            if at < now && now - at > max_age_ms {
                return Err(Error::TooOld {
                    age_ms: now - at,
                    max_age_ms,
                });
            }
            if at > now && at - now > max_ahead_ms {
                return Err(Error::InTheFuture {
                    ahead_ms: at - now,
                    max_ahead_ms,
                });
            }
        }
        if let Some(guard) = &self.guard
            && !guard.first_sight(&ReplayKey::of(&ipn))
        {
            return Err(Error::Replayed {
                order_id: ipn.order_id_raw().to_owned(),
                event: ipn.event(),
            });
        }
        Ok(ipn)
    }
}

fn duration_ms(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Reads a media type: `application/x-www-form-urlencoded` or
/// `application/json`, case-insensitively, with an optional `charset` that
/// must be UTF-8 (or its subset US-ASCII). Other parameters are ignored.
fn media_kind(value: &[u8]) -> Option<BodyKind> {
    let value = core::str::from_utf8(value).ok()?;
    let mut parts = value.split(';');
    let essence = parts.next()?.trim();
    let kind = if essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        BodyKind::Form
    } else if essence.eq_ignore_ascii_case("application/json") {
        BodyKind::Json
    } else {
        return None;
    };
    for param in parts {
        let param = param.trim();
        if param.is_empty() {
            continue;
        }
        let (name, val) = param.split_once('=')?;
        if name.trim().eq_ignore_ascii_case("charset") {
            let val = val.trim().trim_matches('"');
            if !["utf-8", "utf8", "us-ascii"]
                .iter()
                .any(|c| val.eq_ignore_ascii_case(c))
            {
                return None;
            }
        }
    }
    Some(kind)
}

/// The values of the top-level query parameter `name`, every one (decoded;
/// pairs that do not decode are skipped). The query is unsigned: nothing in
/// it refuses a notification, a malformed checksum value included (it is
/// then only not a candidate).
fn query_params(query: &str, name: &str) -> Vec<String> {
    let decode = |text: &str| {
        smartex_core::form::Encoded::new(text)
            .decode("query")
            .ok()
            .map(Cow::into_owned)
    };
    query
        .split('&')
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(key)? == name).then(|| decode(value)).flatten()
        })
        .collect()
}

mod trace {
    //! `tracing` events, when the feature is on. Never a secret or checksum.
    use super::{Error, VerifiedIpn};

    #[cfg(feature = "tracing")]
    pub(super) fn refused(e: &Error) {
        match e {
            Error::Replayed { .. } => tracing::debug!(error = %e, "IPN replay ignored"),
            Error::BadChecksum | Error::UnknownOrder => {
                tracing::warn!(error = %e, "IPN refused")
            }
            _ => tracing::info!(error = %e, "IPN refused"),
        }
    }

    #[cfg(feature = "tracing")]
    pub(super) fn accepted(n: &VerifiedIpn<'_>) {
        tracing::info!(
            order_id = n.order_id_raw(),
            order_uid = n.order_uid_raw(),
            status = n.status_raw(),
            timestamp = n.timestamp_raw(),
            "IPN verified"
        );
    }

    #[cfg(not(feature = "tracing"))]
    pub(super) fn refused(_: &Error) {}

    #[cfg(not(feature = "tracing"))]
    pub(super) fn accepted(_: &VerifiedIpn<'_>) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types() {
        let form = Some(BodyKind::Form);
        assert!(media_kind(b"application/x-www-form-urlencoded") == form);
        assert!(media_kind(b"Application/X-WWW-Form-URLEncoded ; charset=UTF-8") == form);
        assert!(media_kind(b"application/x-www-form-urlencoded; charset=\"utf-8\"") == form);
        assert!(media_kind(b"application/x-www-form-urlencoded; boundary=x") == form);
        assert!(media_kind(b"application/json") == Some(BodyKind::Json));
        assert!(media_kind(b"application/x-www-form-urlencoded; charset=latin1").is_none());
        assert!(media_kind(b"application/x-www-form-urlencoded; charset").is_none());
        assert!(media_kind(b"text/plain").is_none());
        assert!(media_kind(b"multipart/form-data; boundary=x").is_none());
        assert!(media_kind(b"\xff").is_none());
        assert!(media_kind(b"").is_none());
    }

    #[test]
    fn now_is_after_2024() {
        assert!(now().as_millis() > 1_704_067_200_000);
    }
}
