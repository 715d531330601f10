//! The one error type of `smartex-http`.

use std::fmt;

use smartex_core::Escaped;
use smartex_core::request::ApiCall;
use smartex_core::request::CreateOrder;
use smartex_core::response::{ApiError, ApiErrorKind, OrderIdentity};

use crate::auth::AuthError;
use crate::transport::{TransportError, TransportErrorKind};

/// What went wrong, coarsely enough to branch on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request was refused before anything was sent: a bad parameter, an
    /// illegal status change, a bad site URL.
    Invalid,
    /// The authorizer failed; nothing was sent.
    Auth,
    /// No connection could be made: the request was **not** sent.
    Connect,
    /// The connection failed after a read was sent (after the retries).
    Transport,
    /// A read timed out.
    Timeout,
    /// A call that is not idempotent (`create_order`) failed after it may have
    /// reached the platform — a timeout, a broken connection, a server or
    /// gateway error other than `503`, or a success status whose body is not the
    /// envelope — so it **may have taken effect**: the order may have been
    /// created. Do not simply repeat it; look for the order first.
    Ambiguous,
    /// The response body was larger than the configured cap.
    BodyTooLarge,
    /// An HTTP error status with a body that is not the API's envelope (see
    /// [`Error::http_status`] and [`Error::excerpt`]).
    HttpStatus,
    /// The platform refused the call (`success: false`); see [`Error::api`],
    /// [`Error::code`] and [`Error::field`].
    Api,
    /// The site is under maintenance (code `5555555555555555`): try later.
    Maintenance,
    /// The platform's anti-flood guard refused the call (code `5030000`):
    /// [`Error::retry_after`] says how long it asked to wait. Reads were
    /// already retried when the wait fit the [retry
    /// policy](crate::RetryPolicy); `create_order` never is.
    RateLimited,
    /// A success status with a body that is not the envelope (an HTML page,
    /// malformed JSON) or whose `data` has an unexpected shape.
    Decode,
}

impl ErrorKind {
    fn describe(self) -> &'static str {
        match self {
            ErrorKind::Invalid => "refused before sending",
            ErrorKind::Auth => "authorization failed",
            ErrorKind::Connect => "could not connect (the request was not sent)",
            ErrorKind::Transport => "the connection failed",
            ErrorKind::Timeout => "timed out",
            ErrorKind::Ambiguous => "ambiguous",
            ErrorKind::BodyTooLarge => "the response is too large",
            ErrorKind::HttpStatus => "HTTP error",
            ErrorKind::Api => "the platform refused the call",
            ErrorKind::Maintenance => "the site is under maintenance",
            ErrorKind::RateLimited => "too many calls (the platform's anti-flood guard)",
            ErrorKind::Decode => "unexpected response",
        }
    }
}

struct Inner {
    kind: ErrorKind,
    path: &'static str,
    attempts: u32,
    http_status: Option<u16>,
    request_id: Option<String>,
    api: Option<ApiError>,
    excerpt: Option<String>,
    detail: Option<String>,
    order: Option<OrderIdentity>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
    not_sent: bool,
}

/// A failed call, with what support needs: the [kind](ErrorKind), the API
/// method, the HTTP status, the platform's request id, error code and
/// offending field, a bounded excerpt of an unexpected body, and how many
/// attempts were made.
///
/// Its `Display` and `Debug` never contain a secret, a URL or a request body.
pub struct Error(Box<Inner>);

impl Error {
    fn new(kind: ErrorKind, path: &'static str) -> Self {
        Self(Box::new(Inner {
            kind,
            path,
            attempts: 0,
            http_status: None,
            request_id: None,
            api: None,
            excerpt: None,
            detail: None,
            order: None,
            source: None,
            not_sent: false,
        }))
    }

    pub(crate) fn invalid(path: &'static str, e: smartex_core::Error) -> Self {
        let mut err = Self::new(ErrorKind::Invalid, path);
        err.0.source = Some(Box::new(e));
        err
    }

    pub(crate) fn auth(path: &'static str, e: AuthError) -> Self {
        let mut err = Self::new(ErrorKind::Auth, path);
        err.0.source = Some(Box::new(e));
        err
    }

    /// No nonce could be issued (nothing was sent).
    pub(crate) fn nonce(path: &'static str, e: crate::nonce::NonceError) -> Self {
        let mut err = Self::new(ErrorKind::Auth, path);
        err.0.source = Some(Box::new(e));
        err
    }

    /// The attempt's timeout passed while the call waited for its key's turn:
    /// nothing was sent, so not ambiguous even for `create_order`.
    pub(crate) fn lane_timeout(path: &'static str, after: std::time::Duration) -> Self {
        let mut err = Self::new(ErrorKind::Timeout, path);
        err.0.not_sent = true;
        err.0.detail = Some(format!(
            "waited {after:?} for the API key's turn to send; nothing was sent"
        ));
        err
    }

    pub(crate) fn transport(path: &'static str, e: TransportError, idempotent: bool) -> Self {
        let kind = match e.kind() {
            TransportErrorKind::Connect => ErrorKind::Connect,
            TransportErrorKind::InvalidRequest => ErrorKind::Invalid,
            TransportErrorKind::BodyTooLarge => ErrorKind::BodyTooLarge,
            _ if !idempotent => ErrorKind::Ambiguous,
            TransportErrorKind::Timeout => ErrorKind::Timeout,
            _ => ErrorKind::Transport,
        };
        let mut err = Self::new(kind, path);
        err.0.source = Some(Box::new(e));
        err
    }

    pub(crate) fn timeout(
        path: &'static str,
        after: std::time::Duration,
        idempotent: bool,
    ) -> Self {
        let kind = if idempotent {
            ErrorKind::Timeout
        } else {
            ErrorKind::Ambiguous
        };
        let mut err = Self::new(kind, path);
        err.0.detail = Some(format!("no complete response within {after:?}"));
        err
    }

    pub(crate) fn http(
        kind: ErrorKind,
        path: &'static str,
        status: u16,
        excerpt: Option<String>,
    ) -> Self {
        let mut err = Self::new(kind, path);
        err.0.http_status = Some(status);
        err.0.excerpt = excerpt;
        err
    }

    pub(crate) fn from_api(path: &'static str, status: u16, api: ApiError) -> Self {
        let kind = match api.kind {
            ApiErrorKind::Maintenance => ErrorKind::Maintenance,
            ApiErrorKind::AntiFlood => ErrorKind::RateLimited,
            _ => ErrorKind::Api,
        };
        let mut err = Self::new(kind, path);
        err.0.http_status = Some(status);
        err.0.request_id.clone_from(&api.request_id);
        err.0.api = Some(api);
        err
    }

    pub(crate) fn decode(path: &'static str, status: u16, e: smartex_core::Error) -> Self {
        let mut err = Self::new(ErrorKind::Decode, path);
        err.0.http_status = Some(status);
        let e = match e {
            // The core's excerpt already withholds a body that mentions a secret.
            smartex_core::Error::NotEnvelope { reason, excerpt } => {
                err.0.excerpt = Some(excerpt.clone());
                smartex_core::Error::NotEnvelope { reason, excerpt }
            }
            other => other,
        };
        err.0.source = Some(Box::new(e));
        err
    }

    pub(crate) fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.0.kind = kind;
        self
    }

    pub(crate) fn with_order(mut self, order: Option<OrderIdentity>) -> Self {
        self.0.order = order;
        self
    }

    pub(crate) fn with_attempts(mut self, attempts: u32) -> Self {
        self.0.attempts = attempts;
        self
    }

    pub(crate) fn with_request_id(mut self, request_id: Option<String>) -> Self {
        if self.0.request_id.is_none() {
            self.0.request_id = request_id;
        }
        self
    }

    /// What kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// Whether the call is known never to have left this process: it timed
    /// out waiting for its API key's turn to send. Such a failure of
    /// `create_order` created nothing, although its kind is
    /// [`ErrorKind::Timeout`].
    pub fn nothing_sent(&self) -> bool {
        self.0.not_sent
    }

    /// The same failure, reported as [`ErrorKind::Ambiguous`] (the platform
    /// may have done the work).
    pub(crate) fn into_ambiguous(mut self) -> Self {
        self.0.kind = ErrorKind::Ambiguous;
        self
    }

    /// The API call's path (`public/exchanger/order/create`); empty for a
    /// failure outside a call (building the client).
    pub fn path(&self) -> &str {
        self.0.path
    }

    /// How many requests were sent or tried (retries included); 0 if the call
    /// was refused before sending.
    pub fn attempts(&self) -> u32 {
        self.0.attempts
    }

    /// The HTTP status of the last response, if one came.
    pub fn http_status(&self) -> Option<u16> {
        self.0.http_status
    }

    /// The platform's `requestId`, if the response carried one: quote it to the
    /// platform's support.
    pub fn request_id(&self) -> Option<&str> {
        self.0.request_id.as_deref()
    }

    /// The platform's error, for [`ErrorKind::Api`] and [`ErrorKind::Maintenance`].
    pub fn api(&self) -> Option<&ApiError> {
        self.0.api.as_ref()
    }

    /// The platform's kind of error ([`ApiErrorKind`]: validation, amount
    /// above the maximum, not enough reserve, …), for a call it refused.
    pub fn api_kind(&self) -> Option<ApiErrorKind> {
        self.0.api.as_ref().map(|a| a.kind)
    }

    /// How long the platform asked to wait before calling again (anti-flood,
    /// [`ErrorKind::RateLimited`]), if it said.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        self.0.api.as_ref().and_then(|a| a.retry_after)
    }

    /// The platform's error code (`6231546409213868`), as text.
    pub fn code(&self) -> Option<&str> {
        self.0.api.as_ref().and_then(|a| a.code.as_deref())
    }

    /// The offending field's id (`wallet`), for a validation error.
    pub fn field(&self) -> Option<&str> {
        self.0.api.as_ref().and_then(|a| a.field_id.as_deref())
    }

    /// The first bytes of an unexpected body (an HTML error page), bounded by
    /// [`EXCERPT_LEN`](smartex_core::response::EXCERPT_LEN).
    pub fn excerpt(&self) -> Option<&str> {
        self.0.excerpt.as_deref()
    }

    /// For `create_order` answered with a success envelope whose order could
    /// not be typed: the order's uid and secret as the platform sent them.
    /// The order exists; keep these to find it.
    pub fn created_order(&self) -> Option<&OrderIdentity> {
        self.0.order.as_ref()
    }

    /// Whether the call may have taken effect although it failed
    /// ([`ErrorKind::Ambiguous`]).
    pub fn is_ambiguous(&self) -> bool {
        self.0.kind == ErrorKind::Ambiguous
    }

    /// Whether repeating the same call later is reasonable: the failure was on
    /// the way (connection, timeout of a read, `429`/`5xx`, maintenance, the
    /// anti-flood guard — wait [`retry_after`](Self::retry_after) first), not
    /// in the request itself. Never true for an ambiguous failure.
    pub fn is_transient(&self) -> bool {
        match self.0.kind {
            ErrorKind::Connect
            | ErrorKind::Transport
            | ErrorKind::Timeout
            | ErrorKind::Maintenance
            | ErrorKind::RateLimited => true,
            ErrorKind::HttpStatus => self
                .0
                .http_status
                .is_some_and(|s| s == 429 || (500..600).contains(&s)),
            _ => false,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.0;
        if inner.path.is_empty() {
            f.write_str("smartex: ")?;
        } else {
            write!(f, "smartex {}: ", inner.path)?;
        }
        f.write_str(inner.kind.describe())?;
        if inner.kind == ErrorKind::Ambiguous {
            if inner.path == <CreateOrder as ApiCall>::PATH {
                f.write_str(
                    " — the order may have been created: do not create it again; its first IPN \
                     (or, with its uid and secret, order/get) tells",
                )?;
            } else {
                f.write_str(" — the call may have taken effect")?;
            }
        }
        if let Some(status) = inner.http_status {
            write!(f, "; HTTP {status}")?;
        }
        // Everything the platform wrote is escaped: it may hold control
        // characters, and this text goes to logs.
        if let Some(api) = &inner.api {
            write!(f, "; {}", Escaped(&api.message))?;
            if let Some(code) = &api.code {
                write!(f, " (code {})", Escaped(code))?;
            }
            if let Some(field) = &api.field_id {
                write!(f, "; field `{}`", Escaped(field))?;
                if let Some(list) = &api.field_list {
                    write!(f, " in {}", Escaped(list))?;
                }
            }
            if let Some(wait) = api.retry_after {
                write!(f, "; retry after {wait:?}")?;
            }
        }
        if let Some(detail) = &inner.detail {
            write!(f, "; {detail}")?;
        }
        if let Some(order) = &inner.order {
            // The uid is not a secret; the secret is never written.
            write!(
                f,
                "; the platform created order uid {} (its secret is in Error::created_order)",
                Escaped(&order.uid)
            )?;
        }
        if let Some(source) = &inner.source {
            // A transport's or authorizer's message may quote what a server sent.
            write!(f, ": {}", EscapedDisplay(&**source))?;
        }
        if let Some(id) = &inner.request_id {
            write!(f, "; request id {}", Escaped(id))?;
        }
        // A decode error's source already quotes the excerpt.
        if let (Some(excerpt), None) = (&inner.excerpt, &inner.source) {
            write!(f, "; body starts with {excerpt:?}")?;
        }
        if inner.attempts > 1 {
            write!(f, "; after {} attempts", inner.attempts)?;
        }
        Ok(())
    }
}

/// Writes a source's `Display` with its control characters escaped (a
/// transport's message may quote what a server sent).
struct EscapedDisplay<'a>(&'a (dyn std::error::Error + Send + Sync));

impl fmt::Display for EscapedDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0.to_string();
        // A source (a core error) may already be escaped and longer than the
        // bound of `Escaped`; escaping only the characters keeps it whole.
        if text
            .chars()
            .any(|c| c.is_control() || c == '\u{2028}' || c == '\u{2029}')
        {
            for c in text.chars() {
                if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
                    write!(f, "\\u{{{:x}}}", u32::from(c))?;
                } else {
                    fmt::Write::write_char(f, c)?;
                }
            }
            Ok(())
        } else {
            f.write_str(&text)
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.0;
        f.debug_struct("Error")
            .field("kind", &inner.kind)
            .field("path", &inner.path)
            .field("attempts", &inner.attempts)
            .field("http_status", &inner.http_status)
            .field("request_id", &inner.request_id)
            .field("api", &inner.api)
            .field("excerpt", &inner.excerpt)
            .field("detail", &inner.detail)
            .field("order", &inner.order)
            .field("source", &inner.source)
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_ref()
            .map(|s| &**s as &(dyn std::error::Error + 'static))
    }
}
