//! The transport: one HTTP request in, one HTTP response (or a classified
//! failure) out.
//!
//! [`Client`](crate::Client) is generic over [`Transport`], so a merchant can
//! plug in another HTTP client, wrap the default one in middleware (logging,
//! metrics, a proxy that adds a header), or point the client at a test double.
//! The types here are the crate's own: no HTTP library's types appear in the
//! trait.
//!
//! ```
//! use smartex_http::transport::{HttpRequest, HttpResponse, Transport, TransportError};
//!
//! /// Middleware: counts the calls, then hands them to the real transport.
//! struct Counting<T> {
//!     inner: T,
//!     calls: std::sync::atomic::AtomicUsize,
//! }
//!
//! impl<T: Transport> Transport for Counting<T> {
//!     async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
//!         self.calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
//!         self.inner.send(request).await
//!     }
//! }
//! ```

use std::borrow::Cow;
use std::future::Future;

/// The HTTP verb of an API call.
///
/// The platform's own web app POSTs every method; one public client uses GET
/// (with the parameters in the query string) for reads and PUT for
/// `update-status`. See [`ClientBuilder::verb`](crate::ClientBuilder::verb).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Verb {
    /// `GET`: the parameters go in the query string, form-encoded; no body.
    Get,
    /// `POST`: the parameters are the body (the default for every method).
    Post,
    /// `PUT`: the parameters are the body.
    Put,
}

impl Verb {
    /// The verb as written in a request line.
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Put => "PUT",
        }
    }

    /// Whether the parameters travel in a body (`POST`, `PUT`) rather than in
    /// the query string (`GET`).
    pub fn has_body(self) -> bool {
        !matches!(self, Verb::Get)
    }
}

impl std::fmt::Display for Verb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One HTTP request, fully prepared by the client: URL (with the query string
/// for `GET`), headers (including any signature) and the exact body bytes.
///
/// A transport must send `body` unchanged: an API-key signature covers these
/// very bytes.
#[derive(Clone)]
#[non_exhaustive]
pub struct HttpRequest {
    /// The verb.
    pub verb: Verb,
    /// The absolute URL, `{api_root}{path}/`, plus `?{query}` for `GET`.
    /// For `GET` the query string may hold the order secret: do not log it.
    pub url: String,
    /// Header names (lowercase) and values, in the order the client set them.
    pub headers: Vec<(Cow<'static, str>, String)>,
    /// The body, exactly as signed; empty for `GET`.
    pub body: Vec<u8>,
    /// The most response-body bytes the client accepts. A transport should stop
    /// reading once the body exceeds it and fail with
    /// [`TransportErrorKind::BodyTooLarge`]; the client checks it again.
    pub max_response_bytes: usize,
    /// The API call's path (`public/exchanger/order/get`): for middleware
    /// that logs or meters calls.
    pub path: &'static str,
    /// Whether sending the request twice is harmless (see
    /// [`ApiCall::IDEMPOTENT`](smartex_core::request::ApiCall::IDEMPOTENT)).
    pub idempotent: bool,
}

impl HttpRequest {
    /// A request with no headers and an empty body (for tests and middleware).
    pub fn new(verb: Verb, url: impl Into<String>) -> Self {
        Self {
            verb,
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
            max_response_bytes: crate::config::DEFAULT_MAX_RESPONSE_BYTES,
            path: "",
            idempotent: false,
        }
    }

    /// The value of the first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Leaves out the URL (a `GET` URL carries the order secret), every header
/// value (only the names are shown), and the body (it carries secrets).
impl std::fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_ref()).collect();
        f.debug_struct("HttpRequest")
            .field("verb", &self.verb)
            .field("path", &self.path)
            .field("headers", &header_names)
            .field("body_len", &self.body.len())
            .field("idempotent", &self.idempotent)
            .finish_non_exhaustive()
    }
}

/// One HTTP response: status, headers and the whole body.
///
/// Its `Debug` shows the status, the header names and the body's length,
/// never the body: an `order/create` or `order/get` answer holds the order
/// secret, and header values may hold cookies.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpResponse {
    /// The status code (`200`, `502`, …).
    pub status: u16,
    /// Header names (lowercase) and values; values that are not UTF-8 are
    /// decoded lossily.
    pub headers: Vec<(String, String)>,
    /// The body (at most the request's `max_response_bytes`).
    pub body: Vec<u8>,
}

impl std::fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("headers", &header_names)
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl HttpResponse {
    /// A response.
    pub fn new(status: u16, headers: Vec<(String, String)>, body: Vec<u8>) -> Self {
        Self {
            status,
            headers,
            body,
        }
    }

    /// The value of the first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the status is `2xx`.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// How a transport failed: what the client needs to decide whether a retry is
/// safe and whether the request may have had an effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// No connection could be made (name resolution, refused, TLS handshake,
    /// connect timeout): the request was **not** sent.
    Connect,
    /// The connection failed after the request may have been sent (reset,
    /// closed before the response was complete).
    Connection,
    /// The transport's own timeout elapsed after the request may have been sent.
    Timeout,
    /// The response body is larger than the request's `max_response_bytes`.
    BodyTooLarge,
    /// The request could not be built (a bad URL or header): not sent.
    InvalidRequest,
    /// Anything else; treated like [`Connection`](Self::Connection).
    Other,
}

impl TransportErrorKind {
    /// Whether the request certainly did not reach the server.
    pub fn is_before_send(self) -> bool {
        matches!(
            self,
            TransportErrorKind::Connect | TransportErrorKind::InvalidRequest
        )
    }
}

/// A transport failure: its [kind](TransportErrorKind), a message, and the
/// underlying error. Messages must not contain the request URL or body (they
/// may hold secrets).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct TransportError {
    kind: TransportErrorKind,
    message: Cow<'static, str>,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl TransportError {
    /// A failure of `kind` described by `message` (which must hold no URL,
    /// body or secret).
    pub fn new(kind: TransportErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// Attaches the underlying error (its `Display` must hold no secret either).
    pub fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        self.source = Some(source.into());
        self
    }

    /// What kind of failure.
    pub fn kind(&self) -> TransportErrorKind {
        self.kind
    }

    /// The failure for a body over `limit` bytes.
    pub fn body_too_large(limit: usize) -> Self {
        Self::new(
            TransportErrorKind::BodyTooLarge,
            format!("the response body is larger than the limit of {limit} bytes"),
        )
    }
}

/// Sends one HTTP request and returns the response.
///
/// Implementations send [`HttpRequest::body`] byte for byte, follow no
/// redirects (a `3xx` is a response like any other), should stop reading a
/// body past [`HttpRequest::max_response_bytes`], and classify failures with
/// [`TransportErrorKind`] — in particular, [`Connect`](TransportErrorKind::Connect)
/// only when the request certainly was not sent, because the client retries
/// nothing else for methods that are not idempotent.
///
/// The client applies its whole-request timeout around `send` itself, so a
/// transport need not have one.
pub trait Transport: Send + Sync {
    /// Sends `request`.
    fn send(
        &self,
        request: HttpRequest,
    ) -> impl Future<Output = Result<HttpResponse, TransportError>> + Send;
}

impl<T: Transport> Transport for std::sync::Arc<T> {
    fn send(
        &self,
        request: HttpRequest,
    ) -> impl Future<Output = Result<HttpResponse, TransportError>> + Send {
        (**self).send(request)
    }
}

impl<T: Transport> Transport for &T {
    fn send(
        &self,
        request: HttpRequest,
    ) -> impl Future<Output = Result<HttpResponse, TransportError>> + Send {
        (**self).send(request)
    }
}

#[cfg(test)]
mod tests {
    use super::{HttpRequest, Verb};

    #[test]
    fn debug_shows_neither_url_nor_header_values_nor_body() {
        let mut request =
            HttpRequest::new(Verb::Get, "https://x.example/?orderSecret=SECRET-IN-URL");
        request.body = b"SECRET-IN-BODY".to_vec();
        request.headers.push(("hash".into(), "SECRET-HASH".into()));
        let debug = format!("{request:?}");
        assert!(!debug.contains("SECRET"), "{debug}");
        assert!(debug.contains("hash") && debug.contains("Get"), "{debug}");
    }

    #[test]
    fn response_debug_hides_the_body_and_header_values() {
        use super::HttpResponse;
        let body = br#"{"success":true,"data":{"secret":"ORDER-SECRET-1"}}"#.to_vec();
        let response =
            HttpResponse::new(200, vec![("set-cookie".into(), "sid=COOKIE".into())], body);
        let debug = format!("{response:?}");
        assert!(
            !debug.contains("ORDER-SECRET") && !debug.contains("COOKIE"),
            "{debug}"
        );
        assert!(
            debug.contains("200") && debug.contains("set-cookie"),
            "{debug}"
        );
    }
}
