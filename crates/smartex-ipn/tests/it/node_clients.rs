//! Peer proof with real Node HTTP clients: `tools/node/post-ipn-clients.js`
//! posts signed IPNs over HTTP to a receiver on 127.0.0.1 through real npm
//! clients and encoders, each encoding the nested `toValues` by its own
//! default (`fetch` + `URLSearchParams`, `undici` + `querystring`, `qs` with
//! its default, `allowDots` and every `arrayFormat`, `form-urlencoded`,
//! `axios`, `got`, `superagent`), half of them with the timestamp in seconds.
//! Every genuine one must be accepted with exactly the signed values sent;
//! every one whose signed `newStatus` was changed after signing must be
//! refused as a bad checksum.
//!
//! Needs Node.js ≥ 20 with npm, like `node_compat` (same rules: fails without
//! node unless `SMARTEX_ALLOW_NO_NODE=1`).

use std::convert::Infallible;
use std::process::Command;
use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use smartex_ipn::{IpnRequest, IpnSecret, Receiver};

use crate::node::{node_dir, node_ready};

const SECRET: &str = "node-clients-secret";

/// Verifies with the default configuration (form bodies, the timestamp
/// window against the clock) and answers the signed values it read as JSON,
/// or the refusal's status and message.
async fn handle(receiver: Arc<Receiver>, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let content_type = parts
        .headers
        .get("content-type")
        .map(|v| v.as_bytes().to_vec());
    let mut req = IpnRequest::new(parts.method.as_str(), &body);
    if let Some(ct) = &content_type {
        req = req.content_type_bytes(ct);
    }
    let secret = IpnSecret::new(SECRET).unwrap();
    let (status, text) = match receiver.receive(&req, &secret, smartex_ipn::now()) {
        Ok(n) => {
            let s = n.signed_fields();
            let to_values: Vec<Value> = n
                .to_values()
                .map(|v| json!([v.key(), v.name(), v.value()]))
                .collect();
            let reply = json!({
                "signed": {
                    "orderId": s.order_id, "newStatus": s.new_status, "inAmount": s.in_amount,
                    "outAmount": s.out_amount, "xml_from": s.xml_from, "xml_to": s.xml_to,
                    "timestamp": s.timestamp,
                },
                "timestampMs": n.timestamp_ms().ok(),
                "orderUID": n.order_uid_raw(),
                "toValuesStructured": n.to_values().is_structured(),
                "toValues": to_values,
            });
            (200, reply.to_string())
        }
        Err(e) => (e.answer().status, e.to_string()),
    };
    Response::builder()
        .status(status)
        .body(Full::new(Bytes::from(text)))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_node_clients_post_signed_ipns_that_verify() {
    if !node_ready("node_clients", "the Node.js HTTP clients test") {
        return;
    }
    let receiver = Arc::new(Receiver::new().without_replay_guard());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let receiver = Arc::clone(&receiver);
            tokio::spawn(async move {
                let service = service_fn(move |r| {
                    let receiver = Arc::clone(&receiver);
                    async move { Ok::<_, Infallible>(handle(receiver, r).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });

    let url = format!("http://{addr}/ipn");
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .args(["post-ipn-clients.js", "--url", &url, "--secret", SECRET])
            .current_dir(node_dir())
            .output()
            .expect("run post-ipn-clients.js")
    })
    .await
    .unwrap();
    server.abort();
    assert!(
        out.status.success(),
        "post-ipn-clients.js failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let posts: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let clients: std::collections::BTreeSet<&str> =
        posts.iter().filter_map(|p| p["client"].as_str()).collect();
    assert!(clients.len() >= 10, "too few clients: {clients:?}");

    let (mut genuine, mut tampered, mut seconds, mut unstructured) = (0, 0, 0, 0);
    for p in &posts {
        let what = format!("{} {}: sent {}", p["client"], p["case"], p["body"]);
        let status = p["status"].as_u64().unwrap();
        let reply = p["reply"].as_str().unwrap();
        match p["case"].as_str().unwrap() {
            "genuine" => {
                genuine += 1;
                assert_eq!(status, 200, "{what}\nreply: {reply}");
                let reply: Value = serde_json::from_str(reply)
                    .unwrap_or_else(|e| panic!("{what}\nreply {reply:?}: {e}"));
                assert_eq!(reply["signed"], p["sent"], "{what}");
                let ts: u64 = p["sent"]["timestamp"].as_str().unwrap().parse().unwrap();
                if ts < 100_000_000_000 {
                    seconds += 1;
                    assert_eq!(reply["timestampMs"], json!(ts * 1000), "{what}");
                }
                if reply["toValuesStructured"] == json!(false) {
                    unstructured += 1;
                } else if !reply["toValues"].as_array().unwrap().is_empty() {
                    assert_eq!(
                        reply["toValues"][0],
                        json!(["wallet", "Wallet", "Z123456789012"]),
                        "{what}"
                    );
                    assert_eq!(reply["toValues"][1][2], "customer+1@example.com", "{what}");
                }
            }
            "tampered" => {
                tampered += 1;
                assert_eq!(status, 401, "{what}\nreply: {reply}");
            }
            other => panic!("unknown case {other}"),
        }
    }
    println!(
        "node clients: {} clients, {genuine} genuine accepted ({seconds} with seconds, \
         {unstructured} with toValues in a spelling that lost its structure), {tampered} tampered refused",
        clients.len()
    );
    assert!(seconds > 0 && unstructured > 0 && tampered == genuine);
}
