//! What the receiver accepts: methods, content types, sizes, where the
//! checksum is, and the timestamp window.

use std::borrow::Cow;
use std::time::Duration;

use smartex_core::form::Limits;

/// One place where the checksum may be.
///
/// The platform's docs do not say where the IPN checksum travels; the body
/// field `hash` is the default (what the docs' JavaScript reads). Several
/// places may be configured at once; every distinct value found (in any
/// place, repeated or not) is a candidate, and the notification verifies if
/// one matches. A checksum the caller passes with
/// [`IpnRequest::checksum`](crate::IpnRequest::checksum) is always one more
/// place.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChecksumLocation {
    /// A top-level field of the body (form or JSON), e.g. `hash`. The field is
    /// then not reported among the notification's unknown fields.
    BodyField(Cow<'static, str>),
    /// A parameter of the request URL's query string (the `ipnUrl` the
    /// merchant registered may carry one), e.g. `?hash=…`.
    QueryParam(Cow<'static, str>),
    /// A request header, e.g. `X-Hash`.
    Header(Cow<'static, str>),
}

impl ChecksumLocation {
    /// A body field.
    pub fn body_field(name: impl Into<Cow<'static, str>>) -> Self {
        Self::BodyField(name.into())
    }

    /// A query parameter.
    pub fn query_param(name: impl Into<Cow<'static, str>>) -> Self {
        Self::QueryParam(name.into())
    }

    /// A header.
    pub fn header(name: impl Into<Cow<'static, str>>) -> Self {
        Self::Header(name.into())
    }

    /// Words for error messages: ``body field `hash` ``.
    pub(crate) fn describe(&self) -> Cow<'static, str> {
        match self {
            Self::BodyField(n) => Cow::Owned(format!("body field `{n}`")),
            Self::QueryParam(n) => Cow::Owned(format!("query parameter `{n}`")),
            Self::Header(n) => Cow::Owned(format!("header `{n}`")),
        }
    }
}

/// Which `Content-Type`s are accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContentTypes {
    /// `application/x-www-form-urlencoded` (default: yes).
    pub form: bool,
    /// `application/json` (default: no — only for a platform or proxy
    /// configured to send JSON).
    pub json: bool,
    /// A request without any `Content-Type` is read as a form body (default:
    /// no).
    pub missing_as_form: bool,
}

impl Default for ContentTypes {
    fn default() -> Self {
        Self {
            form: true,
            json: false,
            missing_as_form: false,
        }
    }
}

impl ContentTypes {
    pub(crate) fn describe(&self) -> &'static str {
        match (self.form, self.json) {
            (true, true) => "application/x-www-form-urlencoded or application/json",
            (false, true) => "application/json",
            _ => "application/x-www-form-urlencoded",
        }
    }
}

/// How far a notification's signed `timestamp` may be from `now`.
///
/// The default accepts notifications up to **24 hours old** and up to **5
/// minutes in the future**. It is generous on purpose: the platform sends each
/// notification once and never again, so a genuine notification held up by
/// network trouble, a queue or a restarting server must still be accepted;
/// replays inside the window are caught by the replay guard and by the status
/// tracker (a `waitPayment` never overwrites `done`). The future bound allows
/// for clock skew between the platform and the merchant.
///
/// ```
/// use std::time::Duration;
/// use smartex_ipn::TimestampWindow;
/// let w = TimestampWindow::default();
/// assert_eq!(w, TimestampWindow::Within { max_age: Duration::from_secs(86_400), max_ahead: Duration::from_secs(300) });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimestampWindow {
    /// `now - max_age <= timestamp <= now + max_ahead`.
    Within {
        /// The largest accepted age.
        max_age: Duration,
        /// The largest accepted distance into the future.
        max_ahead: Duration,
    },
    /// No check at all (the timestamp need not even parse). See
    /// [`Config::danger_accept_any_timestamp`].
    AcceptAny,
}

impl Default for TimestampWindow {
    fn default() -> Self {
        Self::Within {
            max_age: Duration::from_secs(24 * 60 * 60),
            max_ahead: Duration::from_secs(5 * 60),
        }
    }
}

/// The receiver's settings. Start from [`Config::default`] and change what
/// you need:
///
/// ```
/// use std::time::Duration;
/// use smartex_ipn::{ChecksumLocation, Config};
/// let config = Config::default()
///     .checksum_in([ChecksumLocation::body_field("hash"), ChecksumLocation::header("X-Hash")])
///     .max_body(16 * 1024)
///     .timestamp_window(Duration::from_secs(6 * 3600), Duration::from_secs(60));
/// assert_eq!(config.max_body_bytes(), 16 * 1024);
/// ```
///
/// | setting | default |
/// |---|---|
/// | methods | `POST` |
/// | content types | `application/x-www-form-urlencoded` only |
/// | body size | 64 KiB |
/// | decoder limits | [`Limits::default`] (256 pairs, depth 4, index 100) |
/// | checksum | body field `hash` |
/// | timestamp window | 24 h old … 5 min ahead ([`TimestampWindow`]) |
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub(crate) methods: &'static [&'static str],
    pub(crate) content_types: ContentTypes,
    pub(crate) max_body: usize,
    pub(crate) limits: Limits,
    pub(crate) checksum: Vec<ChecksumLocation>,
    pub(crate) window: TimestampWindow,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            methods: &["POST"],
            content_types: ContentTypes::default(),
            max_body: Self::DEFAULT_MAX_BODY,
            limits: Limits::default(),
            checksum: vec![ChecksumLocation::BodyField(Cow::Borrowed("hash"))],
            window: TimestampWindow::default(),
        }
    }
}

impl Config {
    /// The default body limit: 64 KiB (a real notification is under 2 KiB).
    pub const DEFAULT_MAX_BODY: usize = 64 * 1024;

    /// The accepted methods, compared exactly (`POST` by default).
    #[must_use]
    pub fn methods(mut self, methods: &'static [&'static str]) -> Self {
        self.methods = methods;
        self
    }

    /// The accepted content types.
    #[must_use]
    pub fn content_types(mut self, content_types: ContentTypes) -> Self {
        self.content_types = content_types;
        self
    }

    /// Also accepts `application/json` bodies (the same fields as a JSON
    /// object).
    #[must_use]
    pub fn allow_json(mut self) -> Self {
        self.content_types.json = true;
        self
    }

    /// The largest accepted body, in bytes. Enforce it while reading the body
    /// too (see the examples), so that a huge body is never buffered.
    #[must_use]
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// The form decoder's bounds.
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Where to look for the checksum (replaces the default body field
    /// `hash`). An empty list means: only a checksum the caller supplies.
    /// At most one body field is looked at: the first one in the list.
    #[must_use]
    pub fn checksum_in(mut self, locations: impl IntoIterator<Item = ChecksumLocation>) -> Self {
        self.checksum = locations.into_iter().collect();
        self
    }

    /// Accepts timestamps from `max_age` in the past to `max_ahead` in the
    /// future.
    #[must_use]
    pub fn timestamp_window(mut self, max_age: Duration, max_ahead: Duration) -> Self {
        self.window = TimestampWindow::Within { max_age, max_ahead };
        self
    }

    /// Turns the timestamp check off. Replays of genuine old notifications are
    /// then stopped only by the replay guard (while it remembers them) and the
    /// status tracker. For tests and for merchants who check times themselves.
    #[must_use]
    pub fn danger_accept_any_timestamp(mut self) -> Self {
        self.window = TimestampWindow::AcceptAny;
        self
    }

    /// The largest accepted body, in bytes.
    pub fn max_body_bytes(&self) -> usize {
        self.max_body
    }

    /// The accepted methods.
    pub fn allowed_methods(&self) -> &'static [&'static str] {
        self.methods
    }

    /// The timestamp window.
    pub fn window(&self) -> TimestampWindow {
        self.window
    }

    /// The configured checksum locations.
    pub fn checksum_locations(&self) -> &[ChecksumLocation] {
        &self.checksum
    }

    /// The body field that holds the checksum, if one is configured.
    pub(crate) fn body_field(&self) -> Option<&str> {
        self.checksum.iter().find_map(|l| match l {
            ChecksumLocation::BodyField(n) => Some(&**n),
            _ => None,
        })
    }
}
