//! [`ReqwestTransport`]: the default [`Transport`], reqwest over HTTP/1.1 with
//! rustls.
//!
//! TLS is rustls with the *aws-lc-rs* crypto provider and the operating
//! system's certificate verifier (`rustls-platform-verifier`: on Linux, the
//! system's root store and WebPKI); there is no OpenSSL dependency. The
//! rustls configuration is built here and handed to reqwest, so the
//! process-wide default provider is neither needed nor touched.
//!
//! Why aws-lc-rs and not *ring*: Cargo unifies features, so the features we
//! enable on reqwest and rustls are enabled in the application's own reqwest
//! and rustls too. reqwest has no feature for a ring provider; with
//! `rustls-no-provider` an application's `reqwest::Client::new()` panicked
//! ("No rustls crypto provider is configured"). With reqwest's `rustls`
//! feature it finds its provider, and with aws-lc-rs alone — rustls's and
//! reqwest's default provider — an application that uses rustls in its
//! default configuration keeps exactly one provider, so
//! `rustls::ClientConfig::builder()` still picks it (with ring as well, two
//! providers are compiled in and rustls refuses to choose).

use std::sync::Arc;
use std::time::Duration;

use crate::transport::{
    HttpRequest, HttpResponse, Transport, TransportError, TransportErrorKind, Verb,
};

/// Default connect timeout (TCP + TLS handshake): 10 s.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default whole-request timeout of the transport itself: 60 s, a backstop
/// above the client's own per-attempt timeout
/// ([`DEFAULT_TIMEOUT`](crate::config::DEFAULT_TIMEOUT), 30 s).
pub const DEFAULT_TRANSPORT_TIMEOUT: Duration = Duration::from_secs(60);

/// The default transport: a shared reqwest client.
///
/// Defaults: HTTP/1.1, rustls (aws-lc-rs), connect timeout
/// [`DEFAULT_CONNECT_TIMEOUT`], whole-request timeout
/// [`DEFAULT_TRANSPORT_TIMEOUT`], **no redirects** (a `3xx` comes back as a
/// response, and the client reports it), proxies from the usual environment
/// variables (`HTTPS_PROXY`, `NO_PROXY`, …), and the response size cap of each
/// request enforced while the body streams in. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ReqwestTransport {
    client: reqwest::Client,
}

impl ReqwestTransport {
    /// A transport with the defaults.
    ///
    /// # Errors
    /// If the TLS configuration cannot be built (no usable root certificate in
    /// the system's store, say).
    pub fn new() -> Result<Self, TransportError> {
        Self::builder().build()
    }

    /// Starts configuring a transport.
    pub fn builder() -> ReqwestTransportBuilder {
        ReqwestTransportBuilder::default()
    }

    /// Wraps a reqwest client configured elsewhere. It should not follow
    /// redirects (`redirect(reqwest::redirect::Policy::none())`): an API call
    /// that is redirected is almost always a misconfigured API root.
    pub fn from_client(client: reqwest::Client) -> Self {
        Self { client }
    }

    /// The reqwest client underneath.
    pub fn reqwest_client(&self) -> &reqwest::Client {
        &self.client
    }
}

/// Configures a [`ReqwestTransport`].
#[derive(Clone, Debug)]
pub struct ReqwestTransportBuilder {
    connect_timeout: Duration,
    timeout: Option<Duration>,
    proxy_from_env: bool,
    pool_idle_timeout: Option<Duration>,
}

impl Default for ReqwestTransportBuilder {
    fn default() -> Self {
        Self {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: Some(DEFAULT_TRANSPORT_TIMEOUT),
            proxy_from_env: true,
            pool_idle_timeout: Some(Duration::from_secs(60)),
        }
    }
}

impl ReqwestTransportBuilder {
    /// The connect timeout (TCP + TLS). A call that fails here was not sent,
    /// so even a read that is retried costs the platform nothing.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The transport's own whole-request timeout (`None`: only the client's).
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// Ignores the proxy environment variables (`HTTP_PROXY`, `HTTPS_PROXY`, …).
    pub fn no_proxy(mut self) -> Self {
        self.proxy_from_env = false;
        self
    }

    /// How long an idle pooled connection is kept (`None`: forever).
    pub fn pool_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.pool_idle_timeout = timeout;
        self
    }

    /// Builds the transport.
    ///
    /// # Errors
    /// If the TLS configuration or the reqwest client cannot be built.
    pub fn build(self) -> Result<ReqwestTransport, TransportError> {
        let tls = tls_config()?;
        let mut builder = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(self.connect_timeout)
            .pool_idle_timeout(self.pool_idle_timeout)
            .http1_only()
            .tcp_nodelay(true);
        if let Some(timeout) = self.timeout {
            builder = builder.timeout(timeout);
        }
        if !self.proxy_from_env {
            builder = builder.no_proxy();
        }
        let client = builder.build().map_err(|e| {
            TransportError::new(
                TransportErrorKind::InvalidRequest,
                "the reqwest client could not be built",
            )
            .with_source(e.without_url())
        })?;
        Ok(ReqwestTransport { client })
    }
}

/// rustls with the aws-lc-rs provider and the platform verifier, HTTP/1.1 by ALPN.
fn tls_config() -> Result<rustls::ClientConfig, TransportError> {
    let tls_error = |what: &'static str| {
        move |e: rustls::Error| {
            TransportError::new(TransportErrorKind::InvalidRequest, what).with_source(e)
        }
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = rustls_platform_verifier::Verifier::new(provider.clone()).map_err(tls_error(
        "the platform's certificate verifier could not be set up",
    ))?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_error("no TLS version is supported"))?
        .dangerous()
        // Not dangerous: this is the platform verifier (system roots + WebPKI),
        // the same one reqwest installs by default.
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Classifies a reqwest error; the URL (which may hold a secret in a GET query)
/// is stripped first.
fn classify(e: reqwest::Error) -> TransportError {
    let e = e.without_url();
    let (kind, message) = if e.is_builder() {
        (
            TransportErrorKind::InvalidRequest,
            "the request could not be built",
        )
    } else if e.is_connect() {
        (
            TransportErrorKind::Connect,
            "could not connect to the platform",
        )
    } else if e.is_timeout() {
        (
            TransportErrorKind::Timeout,
            "the transport's timeout elapsed",
        )
    } else if e.is_request() || e.is_body() {
        (
            TransportErrorKind::Connection,
            "the connection failed after the request was sent",
        )
    } else {
        (TransportErrorKind::Other, "the HTTP transport failed")
    };
    TransportError::new(kind, message).with_source(e)
}

impl Transport for ReqwestTransport {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let method = match request.verb {
            Verb::Get => reqwest::Method::GET,
            Verb::Post => reqwest::Method::POST,
            Verb::Put => reqwest::Method::PUT,
        };
        let mut headers = reqwest::header::HeaderMap::with_capacity(request.headers.len());
        for (name, value) in &request.headers {
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                TransportError::new(TransportErrorKind::InvalidRequest, "invalid header name")
            })?;
            let value = reqwest::header::HeaderValue::from_str(value).map_err(|_| {
                TransportError::new(
                    TransportErrorKind::InvalidRequest,
                    "invalid header value (a header must be printable ASCII)",
                )
            })?;
            headers.append(name, value);
        }
        let limit = request.max_response_bytes;
        let mut builder = self.client.request(method, &request.url).headers(headers);
        if request.verb.has_body() {
            builder = builder.body(request.body);
        }
        let mut response = builder.send().await.map_err(classify)?;

        let status = response.status().as_u16();
        if response
            .content_length()
            .is_some_and(|len| len > limit as u64)
        {
            return Err(TransportError::body_too_large(limit));
        }
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        // Read chunk by chunk so that an endless or oversized body is cut at the
        // cap: memory stays below the cap plus one chunk.
        let capacity = response
            .content_length()
            .map_or(8 * 1024, |len| usize::try_from(len).unwrap_or(limit))
            .min(limit);
        let mut body = Vec::with_capacity(capacity);
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if body.len() + chunk.len() > limit {
                return Err(TransportError::body_too_large(limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(HttpResponse::new(status, headers, body))
    }
}
