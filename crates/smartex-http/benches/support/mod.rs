//! What the benches share: a local hyper server answering `order/get`, the
//! default transport, and an in-memory transport with the same answer.
// A benchmark may unwrap: a failure aborts the measurement, which is the point.
#![allow(clippy::unwrap_used, dead_code)]

use std::convert::Infallible;
use std::hint::black_box;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use smartex_http::ReqwestTransport;

pub(crate) const RESPONSE: &str = r#"{"success":true,"data":{"order":{"_id":"5d8e6002b80b7b4cd75a6424","uid":1409,"rid":"R1409","status":"waitPayment","inAmount":2,"outAmount":"317.42","fromValues":[{"key":"email","value":"buyer@shop.example"}],"toValues":[{"key":"wallet","name":"WMZ wallet","value":"Z123456789012"}],"route":{"from":{"name":"Ethereum","symbol":"ETH"},"to":{"name":"WebMoney","symbol":"WMZ"}},"createdAt":"2025-03-24T10:00:00.000Z","expiresAt":"2025-03-24T11:00:00.000Z","rate":{"in":1,"out":158.71}},"verifications":[]},"latency_ms":3,"requestId":"1742774343407-ATmqdjI"}"#;

/// Starts the server on its own thread and runtime; returns its address.
pub(crate) fn start_server() -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                stream.set_nodelay(true).unwrap();
                tokio::spawn(async move {
                    let service =
                        service_fn(|req: hyper::Request<hyper::body::Incoming>| async move {
                            // Read the whole request body, as a real server would.
                            let _ = http_body_util::BodyExt::collect(req.into_body()).await;
                            Ok::<_, Infallible>(
                                hyper::Response::builder()
                                    .header("content-type", "application/json; charset=utf-8")
                                    .body(Full::new(Bytes::from_static(RESPONSE.as_bytes())))
                                    .unwrap(),
                            )
                        });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    });
    rx.recv().unwrap()
}

pub(crate) fn transport() -> ReqwestTransport {
    ReqwestTransport::builder().no_proxy().build().unwrap()
}

/// A transport that answers at once with the canned response: what is left is
/// the client's own work per call.
pub(crate) struct Canned;

impl smartex_http::Transport for Canned {
    async fn send(
        &self,
        request: smartex_http::HttpRequest,
    ) -> Result<smartex_http::HttpResponse, smartex_http::TransportError> {
        black_box(&request);
        Ok(smartex_http::HttpResponse::new(
            200,
            vec![(
                "content-type".to_owned(),
                "application/json; charset=utf-8".to_owned(),
            )],
            RESPONSE.as_bytes().to_vec(),
        ))
    }
}

/// Per-call times of two sides measured round by round: each side's median
/// and the median of the per-round ratios (`a / b`).
#[derive(Default)]
pub(crate) struct Paired {
    a: Vec<std::time::Duration>,
    b: Vec<std::time::Duration>,
    ratios: Vec<f64>,
}

impl Paired {
    /// Records one round.
    pub(crate) fn push(&mut self, a: std::time::Duration, b: std::time::Duration) {
        self.a.push(a);
        self.b.push(b);
        self.ratios.push(a.as_secs_f64() / b.as_secs_f64());
    }

    /// `(median a, median b, median ratio)`.
    pub(crate) fn medians(mut self) -> (std::time::Duration, std::time::Duration, f64) {
        self.a.sort();
        self.b.sort();
        self.ratios.sort_by(f64::total_cmp);
        let mid = self.ratios.len() / 2;
        (self.a[mid], self.b[mid], self.ratios[mid])
    }
}

/// Whether to run the interleaved comparison: only under `cargo bench`
/// (which passes `--bench`), and unless a filter that is not `paired` was
/// given.
pub(crate) fn run_paired() -> bool {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let bench_mode = args.iter().any(|a| a == "--bench");
    let filtered_out = args
        .iter()
        .any(|a| !a.starts_with('-') && !"paired".contains(a.as_str()));
    bench_mode && !filtered_out
}
