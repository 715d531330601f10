//! The API-key scheme on the wire: the published example, signatures over what
//! the platform's Express server recomputes from the bytes received, and
//! nonces under concurrency. (`express_peer` checks the same against the real
//! Express.)

use std::collections::HashSet;
use std::sync::Arc;

use serde::Serialize;
use smartex_core::auth::{express_signature, request_signature};
use smartex_core::form::FormWriter;
use smartex_core::js::Body;
use smartex_core::request::{ApiCall, OrderViewKind};
use smartex_core::{ApiKey, ApiSecret, OrderSecret, OrderUid};
use smartex_http::{ApiKeyAuth, Encoding, NonceUnit};

use crate::server::{Action, TestServer, platform};
use crate::{API_SECRET, ORDER_SECRET, make_client, now_ms};

/// The profile page's example method: one parameter.
#[derive(Serialize)]
struct Example {
    param1: &'static str,
}

impl ApiCall for Example {
    const PATH: &'static str = "public/example";
    const IDEMPOTENT: bool = true;
    type Output = serde_json::Value;
    fn write_form(&self, form: &mut FormWriter) {
        form.field("param1", self.param1);
    }
}

fn key() -> ApiKey {
    ApiKey::new("EF04794F718A3FC8C6DFA0B").unwrap()
}

fn secret() -> ApiSecret {
    ApiSecret::new(API_SECRET).unwrap()
}

#[tokio::test]
async fn reproduces_the_published_example() {
    let server = TestServer::start(|_, _| Action::ok("{}")).await;
    let auth = ApiKeyAuth::new(key(), secret());
    let client = make_client(&server, |b| {
        b.api_key(auth).clock(crate::clock_at(123_456_789))
    });
    client.call(&Example { param1: "val1" }).await.unwrap();
    let request = &server.requests()[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/service/api/v1/public/example/");
    assert_eq!(request.body_str(), r#"{"time":123456789,"param1":"val1"}"#);
    assert_eq!(request.header("apikey"), Some("EF04794F718A3FC8C6DFA0B"));
    assert_eq!(
        request.header("hash"),
        Some("ac876c6314ffcca01b0e65571cc136cedfb2c3d8e2194aaaf364ca7123568fc7")
    );
}

/// Every request's `hash` is the signature of what an Express server makes of
/// the bytes that arrived (`JSON.stringify({...query, ...body})`); for a JSON
/// body those are the bytes themselves, for a form or a query never.
#[tokio::test]
async fn hash_covers_what_the_server_parses_in_every_mode() {
    for (encoding, get) in [
        (Encoding::Json, false),
        (Encoding::Form, false),
        (Encoding::Json, true),
    ] {
        let server = TestServer::start(platform).await;
        let client = make_client(&server, |b| {
            let b = b
                .api_key(ApiKeyAuth::new(key(), secret()))
                .encoding(encoding);
            if get { b.reads_with_get() } else { b }
        });
        let uid = OrderUid::new(1409).unwrap();
        let order_secret = OrderSecret::new(ORDER_SECRET).unwrap();
        client
            .get_order(uid, &order_secret, OrderViewKind::Order)
            .await
            .unwrap();
        client.mark_paid(uid, &order_secret).await.unwrap();
        for request in server.requests() {
            let query = request.path.split_once('?').map(|(_, q)| q);
            let signed: &[u8] = if request.method == "GET" {
                assert!(request.body.is_empty());
                query.unwrap().as_bytes()
            } else {
                assert_eq!(query, None);
                &request.body
            };
            let body = Body::from_content_type(request.header("content-type"), &request.body);
            let expected = express_signature(query, body, &secret()).unwrap();
            assert_eq!(
                request.header("hash"),
                Some(expected.as_str()),
                "{encoding:?} get={get}"
            );
            let over_bytes = request_signature(signed, &secret());
            let json_body = request.method != "GET" && encoding == Encoding::Json;
            assert_eq!(
                over_bytes == expected,
                json_body,
                "only a JSON body is hashed as sent, {encoding:?} get={get}"
            );
            let text = std::str::from_utf8(signed).unwrap();
            // A GET's query string is always form-encoded.
            let first = if request.method == "GET" || encoding == Encoding::Form {
                "time="
            } else {
                "{\"time\":"
            };
            assert!(
                text.starts_with(first),
                "time comes first, {encoding:?} get={get}: {text}"
            );
        }
    }
}

/// One call of a test-only method that says who sent it.
#[derive(Serialize)]
struct Probe {
    task: u32,
    seq: u32,
}

impl ApiCall for Probe {
    const PATH: &'static str = "public/probe";
    const IDEMPOTENT: bool = true;
    type Output = serde_json::Value;
    fn write_form(&self, form: &mut FormWriter) {
        form.field("task", &self.task.to_string());
        form.field("seq", &self.seq.to_string());
    }
}

/// 1,000 calls in flight at once (then 1,000 more, each after its task's
/// first): every `time` the server records is unique, each task's second
/// `time` is greater than its first, and none is before the test started.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_calls_get_unique_increasing_nonces() {
    const TASKS: u32 = 1000;
    let server = TestServer::start(|_, _| Action::ok("{}")).await;
    let auth = ApiKeyAuth::new(key(), secret());
    let client = make_client(&server, |b| b.api_key(auth.clone()));
    let start = now_ms();
    let barrier = Arc::new(tokio::sync::Barrier::new(TASKS as usize));
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let (client, barrier) = (client.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            for seq in 0..2 {
                client.call(&Probe { task, seq }).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let end = now_ms();

    let requests = server.requests();
    assert_eq!(requests.len(), 2 * TASKS as usize);
    let mut seen = HashSet::new();
    let mut per_task = vec![[0u64; 2]; TASKS as usize];
    for r in &requests {
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        let time = body["time"].as_u64().unwrap();
        assert!(seen.insert(time), "time {time} was sent twice");
        let hash = request_signature(&r.body, &secret());
        assert_eq!(r.header("hash"), Some(hash.as_str()));
        let task = body["task"].as_u64().unwrap() as usize;
        let seq = body["seq"].as_u64().unwrap() as usize;
        per_task[task][seq] = time;
    }
    for (task, [first, second]) in per_task.iter().enumerate() {
        assert!(second > first, "task {task}: {second} after {first}");
        assert!(*first >= start, "a nonce is never behind the clock");
    }
    // Milliseconds: the nonce stays near the clock (2,000 nonces may run
    // ahead of it by at most 2,000 ms).
    let max = *seen.iter().max().unwrap();
    assert!(max <= end + 2 * u64::from(TASKS), "{max} vs clock {end}");
    assert_eq!(auth.last_nonce(), Some(max), "clones share one counter");
}

#[tokio::test]
async fn nonce_in_seconds_and_never_backwards() {
    let server = TestServer::start(|_, _| Action::ok("{}")).await;
    let auth = ApiKeyAuth::new(key(), secret()).unit(NonceUnit::Seconds);
    let client = make_client(&server, |b| b.api_key(auth));
    let before = now_ms() / 1000;
    client.call(&Probe { task: 0, seq: 0 }).await.unwrap();
    client.call(&Probe { task: 0, seq: 1 }).await.unwrap();
    let times: Vec<u64> = server
        .requests()
        .iter()
        .map(|r| {
            serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["time"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert!(
        times[0] >= before && times[0] <= before + 2,
        "{times:?} vs {before}"
    );
    assert!(times[1] > times[0]);

    // A clock that goes back: the nonce still grows; resuming skips ahead.
    let auth = ApiKeyAuth::new(key(), secret()).resume_after(5_000);
    let behind = smartex_core::time::UnixMillis::from_millis(1_000);
    assert_eq!(auth.next_nonce(behind), 5_001);
    assert_eq!(auth.next_nonce(behind), 5_002);
    // In seconds, the same instant counts a thousand times fewer.
    let seconds = ApiKeyAuth::new(key(), secret()).unit(smartex_http::NonceUnit::Seconds);
    let now = smartex_core::time::UnixMillis::from_millis(1_742_774_343_407);
    assert_eq!(seconds.next_nonce(now), 1_742_774_343);
}

#[tokio::test]
async fn each_retry_is_signed_with_a_new_nonce() {
    let server = TestServer::start(|req, i| {
        if i == 0 {
            Action::html(502, "<html>bad gateway</html>")
        } else {
            platform(req, i)
        }
    })
    .await;
    let client = make_client(&server, |b| {
        b.api_key(ApiKeyAuth::new(key(), secret()))
            .clock(crate::clock_at(7))
            .retry(smartex_http::RetryPolicy {
                base_delay: std::time::Duration::from_millis(1),
                ..Default::default()
            })
    });
    let order_secret = OrderSecret::new(ORDER_SECRET).unwrap();
    client
        .get_order(
            OrderUid::new(1409).unwrap(),
            &order_secret,
            OrderViewKind::Order,
        )
        .await
        .unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests[0].body_str().starts_with(r#"{"time":7,"#));
    assert!(requests[1].body_str().starts_with(r#"{"time":8,"#));
    assert_ne!(requests[0].header("hash"), requests[1].header("hash"));
}

/// A nonce the server's JavaScript number cannot hold exactly is refused
/// before anything is sent.
#[tokio::test]
async fn a_nonce_above_max_safe_integer_is_refused() {
    let server = TestServer::start(|_, _| Action::ok("{}")).await;
    let max = smartex_http::auth::MAX_SAFE_INTEGER;
    let auth = ApiKeyAuth::new(key(), secret());
    let client = make_client(&server, |b| b.api_key(auth).clock(crate::clock_at(max)));
    client.call(&Example { param1: "val1" }).await.unwrap();
    let err = client.call(&Example { param1: "val1" }).await.unwrap_err();
    assert_eq!(err.kind(), smartex_http::ErrorKind::Auth, "{err}");
    assert_eq!(server.requests().len(), 1);
    assert!(
        server.requests()[0]
            .body_str()
            .starts_with(r#"{"time":9007199254740991,"#)
    );
}

#[test]
fn debug_output_hides_the_api_secret() {
    let auth = ApiKeyAuth::new(key(), secret());
    crate::assert_no_secret(&format!("{auth:?}"));
    let builder = smartex_http::ClientBuilder::new("https://www.smartexpay.com").api_key(auth);
    crate::assert_no_secret(&format!("{builder:?}"));
}
