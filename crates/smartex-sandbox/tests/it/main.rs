//! Integration tests: the sandbox driven over real loopback HTTP, with a real
//! IPN receiver on 127.0.0.1 that verifies every notification with the core.

// Tests assert by unwrapping and panicking; that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin;
mod api;
mod lifecycle;
mod moves;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HOST, HeaderName, HeaderValue};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use smartex_core::IpnSecret;
use smartex_core::ipn::{IpnFormat, UnverifiedIpn, VerifiedIpn};
use smartex_core::response::Response as Decoded;
use smartex_sandbox::{Sandbox, SandboxConfig, Schedule};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long any wait in these tests may take before the test fails.
pub(crate) const WAIT: Duration = Duration::from_secs(10);

/// The built-in routes' ids.
pub(crate) const BTC_USDT: &str = "5f1a0c9e8b3d4a0012a1b001";
pub(crate) const ETH_WMZ: &str = "5f1a0c9e8b3d4a0012a1b002";
pub(crate) const CARDRUB_BTC: &str = "5f1a0c9e8b3d4a0012a1b003";
pub(crate) const CARD_FIELD: &str = "5f1a0c9e8b3d4a0012a1d001";
pub(crate) const EMAIL_FIELD: &str = "5f1a0c9e8b3d4a0012a1d002";
pub(crate) const TRON_WALLET: &str = "TJRabPrwbZy45sbavfcjinPJC18kjpRTv8";
pub(crate) const WMZ_WALLET: &str = "Z123456789012";
pub(crate) const BTC_WALLET: &str = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq";

/// A sandbox whose orders move only on command.
pub(crate) async fn manual_sandbox() -> Sandbox {
    Sandbox::start(SandboxConfig::default().schedule(Schedule::manual()))
        .await
        .unwrap()
}

/// An HTTP answer.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) content_type: String,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Decodes the envelope with the core, as a client would.
    pub(crate) fn decode<T: serde::de::DeserializeOwned>(&self) -> Decoded<T> {
        smartex_core::response::decode::<T>(&self.body)
            .unwrap_or_else(|e| panic!("core could not decode ({e}): {}", self.text()))
    }

    /// The envelope's `data`, asserting success.
    pub(crate) fn data(&self) -> Value {
        let v = self.json();
        assert_eq!(v["success"], true, "{v}");
        v["data"].clone()
    }

    /// The envelope's `error`, asserting failure.
    pub(crate) fn error(&self) -> Value {
        let v = self.json();
        assert_eq!(v["success"], false, "{v}");
        v["error"].clone()
    }
}

/// One HTTP/1.1 request to `addr` over a fresh connection; the test fails if
/// the answer has not fully arrived within [`WAIT`].
pub(crate) async fn request(
    addr: SocketAddr,
    method: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Answer {
    tokio::time::timeout(
        WAIT,
        request_unbounded(addr, method, path_and_query, headers, body),
    )
    .await
    .unwrap_or_else(|_| panic!("no complete answer to {method} {path_and_query} within {WAIT:?}"))
}

async fn request_unbounded(
    addr: SocketAddr,
    method: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Answer {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    let conn = tokio::spawn(conn);
    let mut req = Request::new(Full::new(Bytes::copy_from_slice(body)));
    *req.method_mut() = method.parse().unwrap();
    *req.uri_mut() = path_and_query.parse().unwrap();
    req.headers_mut()
        .insert(HOST, HeaderValue::from_str(&addr.to_string()).unwrap());
    for (name, value) in headers {
        req.headers_mut().insert(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    let resp = sender.send_request(req).await.unwrap();
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get(CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    conn.abort();
    Answer {
        status,
        content_type,
        body,
    }
}

/// `POST {api_root}{method}/` with a JSON body.
pub(crate) async fn call(sb: &Sandbox, method: &str, body: &Value) -> Answer {
    request(
        sb.local_addr(),
        "POST",
        &format!("/service/api/v1/{method}/"),
        &[("content-type", "application/json")],
        body.to_string().as_bytes(),
    )
    .await
}

/// `POST {api_root}{method}/` with a form body.
pub(crate) async fn call_form(sb: &Sandbox, method: &str, body: &str) -> Answer {
    request(
        sb.local_addr(),
        "POST",
        &format!("/service/api/v1/{method}/"),
        &[("content-type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    )
    .await
}

/// Creates an order over HTTP and returns `data`.
pub(crate) async fn create(sb: &Sandbox, body: Value) -> Value {
    let answer = call(sb, "public/exchanger/order/create", &body).await;
    assert_eq!(answer.status, 200);
    answer.data()
}

/// The `ipnSecret` the tests' orders are created with.
pub(crate) const SECRET: &str = "per-order-ipn-secret";

/// `body` with an `ipnUrl` to `receiver` and the `ipnSecret` [`SECRET`].
pub(crate) fn with_ipn(mut body: Value, receiver: &Receiver) -> Value {
    body["ipnUrl"] = serde_json::json!(receiver.url());
    body["ipnSecret"] = serde_json::json!(SECRET);
    body
}

/// A valid `order/create` body for 0.05 BTC → USDT (a floating-rate,
/// automatic-payment route), notifying `receiver`.
pub(crate) fn btc_usdt(receiver: &Receiver) -> Value {
    with_ipn(
        serde_json::json!({
            "routeId": BTC_USDT,
            "amount": "0.05",
            "toValues": [{"key": "wallet", "value": TRON_WALLET}],
            "agreement": true,
        }),
        receiver,
    )
}

/// The `uid` of a created order's `data`.
pub(crate) fn uid_of(data: &Value) -> smartex_core::OrderUid {
    smartex_core::OrderUid::new(data["uid"].as_u64().unwrap()).unwrap()
}

/// `{method} /_sandbox{path}` with a JSON body.
pub(crate) async fn admin(sb: &Sandbox, method: &str, path: &str, body: Option<Value>) -> Answer {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    request(
        sb.local_addr(),
        method,
        &format!("/_sandbox{path}"),
        &[("content-type", "application/json")],
        body.as_bytes(),
    )
    .await
}

/// A valid `order/create` body for ETH → WMZ.
pub(crate) fn eth_wmz(amount: Value) -> Value {
    serde_json::json!({
        "routeId": ETH_WMZ,
        "amount": amount,
        "toValues": [{"key": "wallet", "value": WMZ_WALLET}],
        "agreement": true,
    })
}

/// What the IPN receiver saw of one request.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) content_type: String,
    pub(crate) body: Vec<u8>,
    /// The notification, verified with the core (or why not).
    pub(crate) ipn: Result<VerifiedIpn<'static>, smartex_core::Error>,
}

impl Received {
    /// The verified notification, asserting it verified.
    pub(crate) fn verified(&self) -> &VerifiedIpn<'static> {
        self.ipn.as_ref().unwrap_or_else(|e| {
            panic!(
                "IPN did not verify ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

struct ReceiverState {
    got: Mutex<Vec<Received>>,
    changed: watch::Sender<usize>,
    secret: IpnSecret,
    checksum_field: String,
    answer_status: u16,
}

/// A minimal merchant IPN endpoint on 127.0.0.1:0 that verifies every body
/// with `UnverifiedIpn::parse_form` + `verify` and answers `answer_status`.
pub(crate) struct Receiver {
    pub addr: SocketAddr,
    state: Arc<ReceiverState>,
    task: JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    pub(crate) async fn start(secret: &str) -> Receiver {
        Receiver::with(secret, "hash", 200).await
    }

    pub(crate) async fn with(secret: &str, checksum_field: &str, answer_status: u16) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (changed, _) = watch::channel(0);
        let state = Arc::new(ReceiverState {
            got: Mutex::new(Vec::new()),
            changed,
            secret: IpnSecret::new(secret).unwrap(),
            checksum_field: checksum_field.to_owned(),
            answer_status,
        });
        let st = Arc::clone(&state);
        let task = tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let st = Arc::clone(&st);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let st = Arc::clone(&st);
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body.collect().await.unwrap().to_bytes().to_vec();
                            let format = IpnFormat {
                                checksum_field: Some(&st.checksum_field),
                                ..IpnFormat::default()
                            };
                            let ipn = UnverifiedIpn::parse_form(&body, &format)
                                .and_then(|u| u.verify(&st.secret))
                                .map(VerifiedIpn::into_owned);
                            let received = Received {
                                method: parts.method.to_string(),
                                path: parts.uri.to_string(),
                                content_type: parts
                                    .headers
                                    .get(CONTENT_TYPE)
                                    .map(|v| v.to_str().unwrap().to_owned())
                                    .unwrap_or_default(),
                                body,
                                ipn,
                            };
                            let n = {
                                let mut got = st.got.lock().unwrap();
                                got.push(received);
                                got.len()
                            };
                            st.changed.send_replace(n);
                            let mut resp = Response::new(Full::new(Bytes::from_static(b"OK")));
                            *resp.status_mut() =
                                hyper::StatusCode::from_u16(st.answer_status).unwrap();
                            Ok::<_, std::convert::Infallible>(resp)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Receiver { addr, state, task }
    }

    /// The URL to give as `ipnUrl`.
    pub(crate) fn url(&self) -> String {
        format!("http://{}/ipn?shop=1", self.addr)
    }

    /// Everything received so far.
    pub(crate) fn received(&self) -> Vec<Received> {
        self.state.got.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests arrived.
    pub(crate) async fn wait_for(&self, n: usize) -> Vec<Received> {
        let mut rx = self.state.changed.subscribe();
        tokio::time::timeout(WAIT, rx.wait_for(|got| *got >= n))
            .await
            .unwrap_or_else(|_| panic!("fewer than {n} IPNs arrived: {:?}", self.received()))
            .unwrap();
        self.received()
    }

    /// The verified statuses received, in arrival order.
    pub(crate) fn statuses(&self) -> Vec<String> {
        self.received()
            .iter()
            .map(|r| r.verified().status_raw().to_owned())
            .collect()
    }
}
