//! A real HTTP/1.1 server (hyper) on 127.0.0.1, port 0, that records every
//! request and answers as the test's handler says.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::BodyExt;
use http_body_util::combinators::BoxBody;
use hyper::body::{Body, Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// A request as the server received it.
#[derive(Clone, Debug)]
pub(crate) struct Recorded {
    pub(crate) method: String,
    /// Path and query.
    pub(crate) path: String,
    /// Lowercase names, in arrival order.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Recorded {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn body_str(&self) -> &str {
        std::str::from_utf8(&self.body).expect("the client sends UTF-8 bodies")
    }

    /// Method, path, headers (sorted; `host` without its port) and body, as
    /// a snapshot shows them.
    pub(crate) fn render(&self) -> String {
        let mut headers: Vec<_> = self
            .headers
            .iter()
            .map(|(n, v)| {
                // The port changes from run to run, the version from release to release.
                let v = match n.as_str() {
                    "host" => "127.0.0.1:<port>",
                    "user-agent" if v == smartex_http::config::USER_AGENT => "smartex/<version>",
                    _ => v,
                };
                format!("{n}: {v}")
            })
            .collect();
        headers.sort();
        format!(
            "{} {}\n{}\n\n{}\n",
            self.method,
            self.path,
            headers.join("\n"),
            self.body_str()
        )
    }
}

/// What the server does with a request.
pub(crate) enum Action {
    /// Answers with a status, a content type and a body.
    Respond {
        status: u16,
        content_type: &'static str,
        body: Vec<u8>,
        headers: Vec<(&'static str, String)>,
    },
    /// Never answers (the connection stays open).
    Stall,
    /// Drops the connection without an answer; the socket has `SO_LINGER` 0,
    /// so the client sees a reset.
    Reset,
    /// `200`, chunked, a body that never ends.
    Endless,
}

impl Action {
    pub(crate) fn json(status: u16, body: impl Into<String>) -> Self {
        Action::Respond {
            status,
            content_type: "application/json; charset=utf-8",
            body: body.into().into_bytes(),
            headers: Vec::new(),
        }
    }

    pub(crate) fn html(status: u16, body: &str) -> Self {
        Action::Respond {
            status,
            content_type: "text/html",
            body: body.as_bytes().to_vec(),
            headers: Vec::new(),
        }
    }

    /// A success envelope around `data`.
    pub(crate) fn ok(data: &str) -> Self {
        Self::json(
            200,
            format!(
                r#"{{"success":true,"data":{data},"latency_ms":3,"requestId":"1742774343407-ATmqdjI"}}"#
            ),
        )
    }
}

type Handler = dyn Fn(&Recorded, usize) -> Action + Send + Sync;

pub(crate) struct TestServer {
    pub(crate) addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    count: Arc<AtomicUsize>,
    /// Bytes of endless bodies handed to hyper so far.
    pub(crate) streamed: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

const CHUNK: usize = 64 * 1024;
static CHUNK_DATA: [u8; CHUNK] = [b'x'; CHUNK];

struct EndlessBody {
    streamed: Arc<AtomicUsize>,
}

impl Body for EndlessBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.streamed.fetch_add(CHUNK, Ordering::SeqCst);
        Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(&CHUNK_DATA)))))
    }
}

#[derive(Debug)]
struct ResetConnection;

impl std::fmt::Display for ResetConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("reset by the test server")
    }
}

impl std::error::Error for ResetConnection {}

impl TestServer {
    /// Starts a server whose handler gets each request and its 0-based index.
    pub(crate) async fn start(
        handler: impl Fn(&Recorded, usize) -> Action + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let count = Arc::new(AtomicUsize::new(0));
        let streamed = Arc::new(AtomicUsize::new(0));
        let handler: Arc<Handler> = Arc::new(handler);
        let task = {
            let (requests, count, streamed) = (requests.clone(), count.clone(), streamed.clone());
            tokio::spawn(async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    // Dropping the socket then sends RST, which is what
                    // `Action::Reset` wants; other connections are closed by
                    // the client first.
                    let _ = stream.set_zero_linger();
                    let (requests, count, streamed, handler) = (
                        requests.clone(),
                        count.clone(),
                        streamed.clone(),
                        handler.clone(),
                    );
                    tokio::spawn(async move {
                        let service = service_fn(move |req: hyper::Request<Incoming>| {
                            let (requests, count, streamed, handler) = (
                                requests.clone(),
                                count.clone(),
                                streamed.clone(),
                                handler.clone(),
                            );
                            async move {
                                let (parts, body) = req.into_parts();
                                let body = body
                                    .collect()
                                    .await
                                    .map(|b| b.to_bytes())
                                    .unwrap_or_default();
                                let recorded = Recorded {
                                    method: parts.method.to_string(),
                                    path: parts
                                        .uri
                                        .path_and_query()
                                        .map(|p| p.as_str().to_owned())
                                        .unwrap_or_default(),
                                    headers: parts
                                        .headers
                                        .iter()
                                        .map(|(n, v)| {
                                            (
                                                n.as_str().to_owned(),
                                                v.to_str().unwrap_or("<bytes>").to_owned(),
                                            )
                                        })
                                        .collect(),
                                    body: body.to_vec(),
                                };
                                let index = count.fetch_add(1, Ordering::SeqCst);
                                let action = handler(&recorded, index);
                                requests.lock().expect("not poisoned").push(recorded);
                                match action {
                                    Action::Respond {
                                        status,
                                        content_type,
                                        body,
                                        headers,
                                    } => {
                                        let mut response = hyper::Response::builder()
                                            .status(status)
                                            .header("content-type", content_type);
                                        for (n, v) in headers {
                                            response = response.header(n, v);
                                        }
                                        let body: BoxBody<Bytes, Infallible> =
                                            http_body_util::Full::new(Bytes::from(body)).boxed();
                                        Ok(response.body(body).expect("a valid response"))
                                    }
                                    Action::Endless => {
                                        let body: BoxBody<Bytes, Infallible> =
                                            BoxBody::new(EndlessBody { streamed });
                                        Ok(hyper::Response::builder()
                                            .status(200)
                                            .header("content-type", "application/json")
                                            .body(body)
                                            .expect("a valid response"))
                                    }
                                    Action::Stall => {
                                        std::future::pending::<()>().await;
                                        Err(ResetConnection)
                                    }
                                    Action::Reset => Err(ResetConnection),
                                }
                            }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            })
        };
        Self {
            addr,
            requests,
            count,
            streamed,
            task,
        }
    }

    /// The site URL of this server.
    pub(crate) fn site(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many requests arrived.
    pub(crate) fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// The requests so far, in arrival order.
    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("not poisoned").clone()
    }
}

/// A stand-in for the platform: answers each method with a plausible
/// success envelope.
pub(crate) fn platform(req: &Recorded, _index: usize) -> Action {
    let path = req.path.split('?').next().unwrap_or_default();
    // Strict, like a router: the API root and the trailing slash are required.
    let method = path
        .strip_prefix("/service/api/v1/")
        .and_then(|p| p.strip_suffix('/'))
        .unwrap_or_default();
    match method {
        "public/exchanger/order/create" => Action::ok(
            r#"{"_id":"5d8e6002b80b7b4cd75a6424","uid":1409,"rid":"R1409","secret":"dGqwF2M2eBPaSN1G5ljMS1cb",
               "route":{"from":{"name":"Ethereum","symbol":"ETH"},"to":{"name":"WebMoney","symbol":"WMZ"}},
               "inAmount":2,"outAmount":"317.42"}"#,
        ),
        "public/exchanger/order/get" => Action::ok(
            r#"{"order":{"_id":"5d8e6002b80b7b4cd75a6424","uid":1409,"status":"waitPayment","inAmount":2,"outAmount":"317.42"},"verifications":[]}"#,
        ),
        "public/exchanger/order/update-status" => Action::ok("{}"),
        "public/exchanger/route/get" => Action::ok(
            r#"{"routes":[{"routeId":"5d8e6002b80b7b4cd75a6424","from":{"name":"Bitcoin","symbol":"BTC","xml":"BTC"},"to":{"name":"WebMoney","symbol":"WMZ","xml":"WMZ"},"isShowWeb":true}]}"#,
        ),
        "public/exchanger/route/get/one" | "public/exchanger/route/get/one/by-xml" => Action::ok(
            r#"{"route":{"routeId":"5d8e6002b80b7b4cd75a6424","fields":[{"_id":"wallet","name":"WMZ wallet","required":true,"regex":"^Z\\d{12}$"}]}}"#,
        ),
        _ => Action::json(
            404,
            r#"{"success":false,"error":{"message":"Not found","errorCode":404}}"#,
        ),
    }
}
