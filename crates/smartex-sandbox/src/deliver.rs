//! Posting one IPN: plain HTTP/1.1 over a fresh connection, once, no retry.

use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::header::{CONNECTION, CONTENT_TYPE, HOST, HeaderValue, USER_AGENT};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use crate::model::DeliveryResult;

/// How much of a receiver's answer is kept.
const ANSWER_EXCERPT: usize = 200;
/// How much of a receiver's answer is read at most.
const ANSWER_LIMIT: usize = 64 * 1024;

/// The parts of an `http://` URL needed to post to it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct HttpUrl {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) authority: String,
    pub(crate) path_and_query: String,
}

impl HttpUrl {
    /// Parses `http://host[:port][/path][?query][#fragment]`; `None` for anything
    /// else (https, user info, an empty host, a bad port).
    pub(crate) fn parse(url: &str) -> Option<HttpUrl> {
        let scheme = url.get(..7)?;
        if !scheme.eq_ignore_ascii_case("http://") {
            return None;
        }
        let rest = &url[7..];
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        if authority.is_empty() || authority.contains('@') {
            return None;
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']')?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':')?),
            };
            (host, port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return None;
        }
        let port = match port {
            Some(p) => p.parse().ok()?,
            None => 80,
        };
        let tail = tail.split('#').next().unwrap_or_default();
        let path_and_query = match tail.chars().next() {
            None => "/".to_owned(),
            Some('?') => format!("/{tail}"),
            Some(_) => tail.to_owned(),
        };
        Some(HttpUrl {
            host: host.to_owned(),
            port,
            authority: authority.to_owned(),
            path_and_query,
        })
    }
}

/// Aborts the connection task when the delivery ends, however it ends.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The addresses the sandbox may connect to: loopback ones only, unless any
/// host is allowed. Checked after resolution, so a name that resolves elsewhere
/// is refused too.
fn allowed_targets(addrs: Vec<SocketAddr>, allow_any_host: bool) -> Vec<SocketAddr> {
    if allow_any_host {
        addrs
    } else {
        addrs.into_iter().filter(|a| a.ip().is_loopback()).collect()
    }
}

/// Posts `body` to `target` once, within `timeout`.
pub(crate) async fn post_ipn(
    target: &str,
    body: &str,
    allow_any_host: bool,
    timeout: Duration,
) -> DeliveryResult {
    let Some(url) = HttpUrl::parse(target) else {
        return DeliveryResult::NotSent(
            "the ipnUrl is not a plain http:// URL (the sandbox does not speak TLS)".to_owned(),
        );
    };
    match tokio::time::timeout(timeout, send(&url, body, allow_any_host)).await {
        Ok(outcome) => outcome,
        Err(_) => DeliveryResult::Failed(format!("no answer within {timeout:?}")),
    }
}

async fn send(url: &HttpUrl, body: &str, allow_any_host: bool) -> DeliveryResult {
    let addrs: Vec<SocketAddr> = match tokio::net::lookup_host((url.host.as_str(), url.port)).await
    {
        Ok(addrs) => addrs.collect(),
        Err(e) => return DeliveryResult::Failed(format!("cannot resolve {}: {e}", url.host)),
    };
    let addrs = allowed_targets(addrs, allow_any_host);
    if addrs.is_empty() {
        return DeliveryResult::NotSent(format!(
            "{} is not a loopback address (see SandboxConfig::danger_allow_any_ipn_host)",
            url.host
        ));
    }
    let mut stream = None;
    let mut last_error = String::new();
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last_error = format!("cannot connect to {addr}: {e}"),
        }
    }
    let Some(stream) = stream else {
        return DeliveryResult::Failed(last_error);
    };
    let (mut sender, conn) = match hyper::client::conn::http1::handshake(TokioIo::new(stream)).await
    {
        Ok(pair) => pair,
        Err(e) => return DeliveryResult::Failed(format!("HTTP handshake failed: {e}")),
    };
    let _conn = AbortOnDrop(tokio::spawn(conn));
    let mut request = Request::new(Full::new(Bytes::copy_from_slice(body.as_bytes())));
    *request.method_mut() = Method::POST;
    *request.uri_mut() = match url.path_and_query.parse() {
        Ok(uri) => uri,
        Err(e) => return DeliveryResult::NotSent(format!("the ipnUrl's path is not valid: {e}")),
    };
    let headers = request.headers_mut();
    match HeaderValue::from_str(&url.authority) {
        Ok(host) => headers.insert(HOST, host),
        Err(_) => return DeliveryResult::NotSent("the ipnUrl's host is not valid".to_owned()),
    };
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    headers.insert(USER_AGENT, HeaderValue::from_static("smartex-sandbox"));
    headers.insert(CONNECTION, HeaderValue::from_static("close"));
    let response = match sender.send_request(request).await {
        Ok(r) => r,
        Err(e) => return DeliveryResult::Failed(format!("request failed: {e}")),
    };
    let status = response.status().as_u16();
    let answer = match Limited::new(response.into_body(), ANSWER_LIMIT)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            return DeliveryResult::Failed(format!(
                "reading the answer (status {status}) failed: {e}"
            ));
        }
    };
    let cut = answer.len().min(ANSWER_EXCERPT);
    DeliveryResult::Delivered {
        status,
        body: String::from_utf8_lossy(&answer[..cut]).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(url: &str, expect: Option<(&str, u16, &str, &str)>) {
        let got = HttpUrl::parse(url);
        let got = got.as_ref().map(|u| {
            (
                u.host.as_str(),
                u.port,
                u.authority.as_str(),
                u.path_and_query.as_str(),
            )
        });
        assert_eq!(got, expect, "{url}");
    }

    #[test]
    fn only_loopback_targets_unless_allowed() {
        let addrs: Vec<SocketAddr> = ["127.0.0.1:80", "[::1]:80", "192.0.2.1:80", "127.8.9.10:1"]
            .iter()
            .filter_map(|a| a.parse().ok())
            .collect();
        let kept: Vec<String> = allowed_targets(addrs.clone(), false)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(kept, ["127.0.0.1:80", "[::1]:80", "127.8.9.10:1"]);
        assert_eq!(allowed_targets(addrs.clone(), true), addrs);
    }

    #[tokio::test]
    async fn a_non_loopback_target_is_refused_before_connecting() {
        // An IP literal resolves without the network, and is refused before any
        // connection is attempted.
        let outcome = post_ipn(
            "http://192.0.2.1:9/ipn",
            "a=1",
            false,
            Duration::from_secs(5),
        )
        .await;
        assert!(
            matches!(&outcome, DeliveryResult::NotSent(why) if why.contains("not a loopback")),
            "{outcome:?}"
        );
        let outcome = post_ipn("https://127.0.0.1/", "a=1", false, Duration::from_secs(5)).await;
        assert!(matches!(outcome, DeliveryResult::NotSent(_)));
    }

    #[test]
    fn parses_http_urls() {
        check(
            "http://127.0.0.1:8080/ipn?x=1#f",
            Some(("127.0.0.1", 8080, "127.0.0.1:8080", "/ipn?x=1")),
        );
        check(
            "HTTP://localhost",
            Some(("localhost", 80, "localhost", "/")),
        );
        check("http://[::1]:9/a", Some(("::1", 9, "[::1]:9", "/a")));
        check("http://h?q", Some(("h", 80, "h", "/?q")));
        check("https://127.0.0.1/", None);
        check("http://user@127.0.0.1/", None);
        check("http://:80/", None);
        check("http://h:99999/", None);
        check("http://[::1/", None);
        check("ftp://x", None);
    }
}
