//! The send lane: a key's calls reach the platform in nonce order, however
//! many are made at once, against a sandbox that checks nonces strictly in
//! arrival order and reorders concurrent keyed calls.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use smartex_core::request::{CreateOrder, OrderViewKind};
use smartex_core::{ApiKey, ApiSecret, OrderSecret, OrderUid};
use smartex_http::{
    ApiKeyAuth, Client, ClientBuilder, ErrorKind, HttpRequest, HttpResponse, NonceRefusal,
    ReqwestTransport, RetryPolicy, Transport, TransportError,
};
use smartex_sandbox::{Sandbox, SandboxConfig, Schedule, TEST_API_KEY, TEST_API_SECRET};

fn test_key() -> ApiKeyAuth {
    ApiKeyAuth::new(
        ApiKey::new(TEST_API_KEY).unwrap(),
        ApiSecret::new(TEST_API_SECRET).unwrap(),
    )
}

/// A sandbox with the test key required, strict nonces, and concurrent keyed
/// calls reordered by up to 5 ms.
async fn reordering_sandbox() -> Sandbox {
    Sandbox::start(
        SandboxConfig::default()
            .schedule(Schedule::manual())
            .test_api_key()
            .require_api_key(true)
            .reorder_keyed_calls(Duration::from_millis(5)),
    )
    .await
    .unwrap()
}

fn client(sb: &Sandbox, auth: ApiKeyAuth, retry: RetryPolicy) -> Client<ReqwestTransport> {
    client_with(ClientBuilder::new(sb.site_url()), auth, retry)
}

fn client_with(
    builder: ClientBuilder,
    auth: ApiKeyAuth,
    retry: RetryPolicy,
) -> Client<ReqwestTransport> {
    builder
        .api_key(auth)
        .retry(retry)
        .build_with(crate::transport())
        .unwrap()
}

/// This machine's clock, the given milliseconds ahead.
#[derive(Debug)]
struct Ahead(u64);

impl smartex_core::time::Clock for Ahead {
    fn now(&self) -> smartex_core::time::UnixMillis {
        smartex_core::time::UnixMillis::from(std::time::SystemTime::now()).plus_ms(self.0)
    }
}

/// A valid order on the sandbox's ETH → WMZ route.
fn eth_order(sb: &Sandbox) -> CreateOrder {
    let route = sb.route_by_xml("ETH", "WMZ").unwrap();
    CreateOrder::builder()
        .route_id(route.id)
        .amount("0.5")
        .agreement(true)
        .to_value("wallet", "Z123456789012")
        .build()
        .unwrap()
}

async fn an_order(client: &Client<ReqwestTransport>, sb: &Sandbox) -> (OrderUid, OrderSecret) {
    let created = client.create_order(&eth_order(sb)).await.unwrap();
    (created.uid(), created.secret().clone())
}

/// `n` concurrent `get_order` calls through clones of `client`; how many
/// failed, by kind.
async fn concurrent_reads(
    client: &Client<ReqwestTransport>,
    uid: OrderUid,
    secret: &OrderSecret,
    n: usize,
) -> Vec<smartex_http::Error> {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let client = client.clone();
        let secret = secret.clone();
        tasks.spawn(async move { client.get_order(uid, &secret, OrderViewKind::Order).await });
    }
    let mut failures = Vec::new();
    while let Some(result) = tasks.join_next().await {
        if let Err(e) = result.unwrap() {
            failures.push(e);
        }
    }
    failures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_keyed_calls_through_the_lane_none_refused() {
    let sb = reordering_sandbox().await;
    // No retries: a refusal would show as a failure, not be hidden by a retry.
    let client = client(&sb, test_key(), RetryPolicy::none());
    let (uid, secret) = an_order(&client, &sb).await;
    let failures = concurrent_reads(&client, uid, &secret, 200).await;
    assert!(
        failures.is_empty(),
        "{} failed: {:?}",
        failures.len(),
        failures.first()
    );
    assert_eq!(sb.nonce_refusals(), 0);
}

/// The same load without the lane: the reordering sandbox refuses some —
/// what the lane prevents (and proof that the test above can fail).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_lane_concurrent_calls_are_refused() {
    let sb = reordering_sandbox().await;
    let client = client(&sb, test_key().unordered(), RetryPolicy::none());
    let (uid, secret) = an_order(&client, &sb).await;
    let failures = concurrent_reads(&client, uid, &secret, 200).await;
    assert!(!failures.is_empty(), "no refusal without the lane");
    assert!(sb.nonce_refusals() > 0);
    for e in &failures {
        assert_eq!(e.kind(), ErrorKind::Api, "{e}");
        assert_eq!(e.code(), Some("40301"), "{e}");
    }
}

/// Two processes sharing a key without coordination, one clock 50 ms ahead:
/// the other's calls are refused for their nonce, re-signed after the backoff
/// (by then its clock has passed) and accepted — reads, `update-status` and
/// `create_order` alike. With no refusal rule, the refusal is the caller's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_nonce_is_re_signed_and_retried() {
    let sb = Sandbox::start(
        SandboxConfig::default()
            .schedule(Schedule::manual())
            .test_api_key()
            .require_api_key(true),
    )
    .await
    .unwrap();
    let retry = RetryPolicy {
        max_retries: 3,
        base_delay: Duration::from_millis(120),
        max_delay: Duration::from_millis(400),
    };
    let ahead = client_with(
        ClientBuilder::new(sb.site_url()).clock(std::sync::Arc::new(Ahead(50))),
        test_key(),
        RetryPolicy::none(),
    );
    let behind = client(&sb, test_key(), retry);
    let (uid, secret) = an_order(&ahead, &sb).await;

    ahead
        .get_order(uid, &secret, OrderViewKind::Order)
        .await
        .unwrap();
    let read = behind
        .call(&smartex_core::request::GetOrder::new(uid, secret.clone()))
        .await;
    assert_eq!(read.unwrap().attempts, 2);

    ahead
        .get_order(uid, &secret, OrderViewKind::Order)
        .await
        .unwrap();
    behind.mark_paid(uid, &secret).await.unwrap();

    ahead
        .get_order(uid, &secret, OrderViewKind::Order)
        .await
        .unwrap();
    let order = eth_order(&sb);
    let orders_before = sb.orders().len();
    behind.create_order(&order).await.unwrap();
    assert_eq!(
        sb.orders().len(),
        orders_before + 1,
        "exactly one order created"
    );
    assert!(sb.nonce_refusals() >= 3, "{}", sb.nonce_refusals());

    let strict = ClientBuilder::new(sb.site_url())
        .api_key(test_key())
        .retry(retry)
        .nonce_refusal(NonceRefusal::none())
        .build_with(crate::transport())
        .unwrap();
    ahead
        .get_order(uid, &secret, OrderViewKind::Order)
        .await
        .unwrap();
    let refused = strict
        .get_order(uid, &secret, OrderViewKind::Order)
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Api);
    assert_eq!(refused.attempts(), 1);
}

/// Answers every request after `delay`, counting them.
struct Slow {
    delay: Duration,
    sent: Arc<AtomicUsize>,
}

impl Transport for Slow {
    async fn send(&self, _: HttpRequest) -> Result<HttpResponse, TransportError> {
        self.sent.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(self.delay).await;
        let body = r#"{"success":true,"data":{"order":{"_id":"5d8e6002b80b7b4cd75a6424","uid":1409,"status":"new"}}}"#;
        Ok(HttpResponse::new(200, vec![], body.as_bytes().to_vec()))
    }
}

/// A call waiting for its key's turn past its timeout gives up without
/// sending: a plain timeout, not ambiguous even for `create_order`.
#[tokio::test(flavor = "current_thread")]
async fn waiting_for_the_lane_keeps_the_callers_timeout() {
    let sent = Arc::new(AtomicUsize::new(0));
    let auth = test_key();
    let build = |timeout: Duration| {
        ClientBuilder::new("https://www.smartexpay.com")
            .api_key(auth.clone())
            .timeout(timeout)
            .build_with(Slow {
                delay: Duration::from_millis(300),
                sent: Arc::clone(&sent),
            })
            .unwrap()
    };
    let patient = build(Duration::from_secs(5));
    let hurried = build(Duration::from_millis(50));
    let uid = OrderUid::new(1409).unwrap();
    let secret = OrderSecret::new("dGqwF2M2eBPaSN1G5ljMS1cb").unwrap();
    let order = CreateOrder::builder()
        .route_id("5d8e6002b80b7b4cd75a6424")
        .amount("0.5")
        .agreement(true)
        .build()
        .unwrap();
    let (first, second) = tokio::join!(
        patient.get_order(uid, &secret, OrderViewKind::Order),
        async {
            tokio::task::yield_now().await;
            hurried.create_order(&order).await
        }
    );
    first.unwrap();
    let e = second.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(!e.is_ambiguous() && e.nothing_sent());
    assert_eq!(
        sent.load(Ordering::SeqCst),
        1,
        "the waiting call sent nothing"
    );
    // A turn that comes with less than half the attempt's time left (here
    // ~100 ms of 400) is given back unused rather than sent into a likely
    // timeout: still nothing sent, still not ambiguous.
    let late = build(Duration::from_millis(400));
    let (first, second) = tokio::join!(
        patient.get_order(uid, &secret, OrderViewKind::Order),
        async {
            tokio::task::yield_now().await;
            late.create_order(&order).await
        }
    );
    first.unwrap();
    let e = second.unwrap_err();
    assert!(e.nothing_sent() && !e.is_ambiguous(), "{e}");
    assert_eq!(sent.load(Ordering::SeqCst), 2, "the late turn sent nothing");
    sent.store(1, Ordering::SeqCst);
    // The lane is free again.
    hurried
        .get_order(uid, &secret, OrderViewKind::Order)
        .await
        .unwrap_err();
    assert_eq!(sent.load(Ordering::SeqCst), 2);
}
