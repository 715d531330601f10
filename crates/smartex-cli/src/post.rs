//! Plain HTTP POSTs of raw bodies (`ipn send`, `ipn listen --forward-to`),
//! over the SDK's reqwest transport: rustls with the aws-lc-rs provider, no
//! redirects, proxies from the environment except for loopback targets.

use std::net::IpAddr;
use std::time::Duration;

use smartex_http::ReqwestTransport;

use crate::exit::Error;

/// How much of an answer is kept for display.
pub(crate) const ANSWER_EXCERPT: usize = 200;

/// Whether `url`'s host is this machine (`localhost`, `127.0.0.0/8`, `::1`).
pub(crate) fn is_loopback(url: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(url) else {
        return false;
    };
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Checks that `url` is an absolute `http://` or `https://` URL.
pub(crate) fn check_http_url(option: &str, url: &str) -> Result<(), Error> {
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
        _ => Err(Error::usage(format!(
            "{option} must be an absolute http:// or https:// URL"
        ))),
    }
}

/// The reqwest transport for `url`: no proxy for loopback targets.
pub(crate) fn transport_for(url: &str, timeout: Duration) -> Result<ReqwestTransport, Error> {
    let mut builder = ReqwestTransport::builder().timeout(Some(timeout));
    if is_loopback(url) {
        builder = builder.no_proxy();
    }
    builder
        .build()
        .map_err(|e| Error::unavailable(format!("the HTTP client could not be set up: {e}")))
}

/// An HTTP answer: status and the first bytes of the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Answered {
    pub(crate) status: u16,
    pub(crate) body: String,
}

/// POSTs raw bodies to one URL.
#[derive(Clone, Debug)]
pub(crate) struct Poster {
    client: reqwest::Client,
    url: String,
}

impl Poster {
    /// A poster to `url`, each request bounded by `timeout`.
    pub(crate) fn new(url: &str, timeout: Duration) -> Result<Poster, Error> {
        let transport = transport_for(url, timeout)?;
        Ok(Poster {
            client: transport.reqwest_client().clone(),
            url: url.to_owned(),
        })
    }

    /// The target URL.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// POSTs `body` with `content_type`; the error says why no answer came
    /// (without the URL or the body). Only the first [`ANSWER_EXCERPT`] bytes
    /// of the answer are read (and one more, to know whether it goes on), so
    /// an endless or huge answer costs neither memory nor time.
    pub(crate) async fn post(&self, content_type: &str, body: Vec<u8>) -> Result<Answered, String> {
        let mut response = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .header(
                reqwest::header::USER_AGENT,
                smartex_http::config::USER_AGENT,
            )
            .body(body)
            .send()
            .await
            .map_err(describe)?;
        let status = response.status().as_u16();
        let mut kept = Vec::with_capacity(ANSWER_EXCERPT + 1);
        while kept.len() <= ANSWER_EXCERPT {
            let Some(chunk) = response.chunk().await.map_err(describe)? else {
                break;
            };
            let wanted = (ANSWER_EXCERPT + 1 - kept.len()).min(chunk.len());
            kept.extend_from_slice(&chunk[..wanted]);
        }
        // Dropping the response closes the connection on whatever is left.
        let cut = kept.len().min(ANSWER_EXCERPT);
        let mut text = String::from_utf8_lossy(&kept[..cut]).into_owned();
        if kept.len() > cut {
            text.push_str("...");
        }
        Ok(Answered { status, body: text })
    }
}

/// Why a request got no answer, in words (the URL is left out).
fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let what = if e.is_connect() {
        "could not connect"
    } else if e.is_timeout() {
        "timed out"
    } else {
        "the connection failed"
    };
    let mut source = std::error::Error::source(&e);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        what.to_owned()
    } else {
        format!("{what}: {detail}")
    }
}
