//! The reference shop over HTTP against the sandbox: lost, duplicate and
//! stale IPNs, a restart in the middle of an order, two instances on one
//! database, and concurrent keyed checkouts. The shop runs in process (its
//! `serve`, as the binary calls it) on a real SQLite file; the tests talk to
//! it over HTTP and drive the sandbox as the platform.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use smartex::core::OrderStatus;
use smartex_sandbox::{DeliveryResult, Sandbox, SandboxConfig, Schedule};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running shop: its port, and what stops it.
struct Shop {
    port: u16,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), smartex_shop::BoxError>>,
}

impl Shop {
    /// Stops it gracefully and checks it returned without error.
    async fn stop(self) {
        self.stop.send(()).unwrap();
        let served = tokio::time::timeout(Duration::from_secs(10), self.task).await;
        served.expect("the shop stops").unwrap().unwrap();
    }
}

/// The settings every instance shares: the sandbox, the key, the database
/// and the fulfilment log in `dir`.
fn settings(sb: &Sandbox, dir: &Path) -> HashMap<String, String> {
    let route = sb.route_by_xml("ETH", "WMZ").unwrap();
    [
        ("SMARTEX_SITE", sb.site_url().to_owned()),
        ("SMARTEX_MASTER_KEY", "42".repeat(32)),
        ("SHOP_ROUTE_ID", route.id.to_string()),
        ("SHOP_PAYOUT", "wallet=Z123456789012".to_owned()),
        ("SHOP_DATABASE", dir.join("shop.db").display().to_string()),
        ("SHOP_FULFILMENT_LOG", log_path(dir).display().to_string()),
        ("SHOP_POLL_MS", "100".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn log_path(dir: &Path) -> PathBuf {
    dir.join("fulfilment.log")
}

/// Starts a shop on `port` (0: any) whose `ipnUrl` points at `ipn_port`
/// (`None`: itself).
async fn start(mut vars: HashMap<String, String>, port: u16, ipn_port: Option<u16>) -> Shop {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let ipn_port = ipn_port.unwrap_or(port);
    vars.insert(
        "SHOP_IPN_URL".into(),
        format!("http://127.0.0.1:{ipn_port}/ipn"),
    );
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(smartex_shop::serve(vars, listener, async {
        _ = stopped.await;
    }));
    Shop { port, stop, task }
}

async fn sandbox(config: SandboxConfig) -> Sandbox {
    Sandbox::start(config.schedule(Schedule::manual()))
        .await
        .unwrap()
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap()
}

/// `POST /checkout` as the customer's browser sends it; the answer's status
/// and `Location` (or, without one, its body).
async fn checkout(client: &reqwest::Client, port: u16, order: &str) -> (u16, String) {
    let response = client
        .post(format!("http://127.0.0.1:{port}/checkout"))
        .form(&[("order", order), ("amount", "2")])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    match response.headers().get("location") {
        Some(location) => (status, location.to_str().unwrap().to_owned()),
        None => (status, response.text().await.unwrap()),
    }
}

/// Checks out `order` and expects the redirect to its payment page; the
/// sandbox's order.
async fn paid_checkout(
    sb: &Sandbox,
    client: &reqwest::Client,
    port: u16,
    order: &str,
) -> smartex::core::OrderUid {
    let (status, location) = checkout(client, port, order).await;
    assert_eq!(status, 303, "checkout of {order} redirects");
    let uid = sandbox_uid(sb, order);
    assert!(
        location.contains(&uid.to_string()),
        "{location} is the payment page of {uid}"
    );
    uid
}

/// The sandbox's order whose `ipnUrl` carries `reference`.
fn sandbox_uid(sb: &Sandbox, reference: &str) -> smartex::core::OrderUid {
    let suffix = format!("={reference}");
    let found: Vec<_> = sb
        .orders()
        .into_iter()
        .filter(|o| o.ipn_url.as_deref().is_some_and(|u| u.ends_with(&suffix)))
        .collect();
    assert_eq!(found.len(), 1, "one order on the sandbox for {reference}");
    found[0].uid
}

/// The fulfilment log's lines.
fn fulfilled(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(log_path(dir))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// How often `order` was fulfilled with `status`.
fn times_fulfilled(dir: &Path, order: &str, status: &OrderStatus) -> usize {
    let line = format!("{order} {status}");
    fulfilled(dir).iter().filter(|l| **l == line).count()
}

/// Waits until `order` was fulfilled with `status` (polled: the shop's
/// background work is asynchronous).
async fn wait_fulfilled(dir: &Path, order: &str, status: &OrderStatus) {
    for _ in 0..200 {
        if times_fulfilled(dir, order, status) > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "{order} was never fulfilled as {status}; the log: {:?}",
        fulfilled(dir)
    );
}

/// Moves the sandbox's order on and waits for its IPN to settle; the
/// status reached.
async fn advance(sb: &Sandbox, uid: smartex::core::OrderUid) -> OrderStatus {
    sb.advance(uid).await.unwrap();
    sb.wait_ipns_settled(Duration::from_secs(10)).await.unwrap();
    sb.order(uid).unwrap().status
}

/// The answers the shop gave to the IPNs of `uid` with `status`.
fn answers(
    sb: &Sandbox,
    uid: smartex::core::OrderUid,
    status: &OrderStatus,
) -> Vec<DeliveryResult> {
    sb.ipns_for(uid)
        .into_iter()
        .filter(|ipn| ipn.status == *status)
        .map(|ipn| ipn.outcome)
        .collect()
}

fn delivered(status: u16) -> impl Fn(&DeliveryResult) -> bool {
    move |outcome| matches!(outcome, DeliveryResult::Delivered { status: s, .. } if *s == status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_ipn_is_recovered_by_the_reconciler() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox(SandboxConfig::default()).await;
    let shop = start(settings(&sb, dir.path()), 0, None).await;
    let uid = paid_checkout(&sb, &http(), shop.port, "lost-1").await;

    sb.drop_next_ipn(uid);
    let status = advance(&sb, uid).await;
    assert_eq!(answers(&sb, uid, &status), vec![DeliveryResult::Dropped]);
    wait_fulfilled(dir.path(), "lost-1", &status).await;
    assert_eq!(times_fulfilled(dir.path(), "lost-1", &status), 1);
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_ipn_is_fulfilled_once() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox(SandboxConfig::default()).await;
    let shop = start(settings(&sb, dir.path()), 0, None).await;
    let uid = paid_checkout(&sb, &http(), shop.port, "dup-1").await;

    sb.duplicate_next_ipn(uid);
    let status = advance(&sb, uid).await;
    let answered = answers(&sb, uid, &status);
    assert_eq!(answered.len(), 2, "delivered twice: {answered:?}");
    assert!(answered.iter().all(delivered(200)), "{answered:?}");
    wait_fulfilled(dir.path(), "dup-1", &status).await;
    // Give a second application every chance to show up.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(times_fulfilled(dir.path(), "dup-1", &status), 1);
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_ipn_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox(SandboxConfig::default()).await;
    let shop = start(settings(&sb, dir.path()), 0, None).await;
    let uid = paid_checkout(&sb, &http(), shop.port, "stale-1").await;

    let first = advance(&sb, uid).await;
    let second = advance(&sb, uid).await;
    assert_ne!(first, second);
    wait_fulfilled(dir.path(), "stale-1", &second).await;
    let resent = sb.resend_stale_ipn(uid, first.clone()).await.unwrap();
    assert!(delivered(200)(&resent.outcome), "{:?}", resent.outcome);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        fulfilled(dir.path()),
        vec![format!("stale-1 {first}"), format!("stale-1 {second}")],
        "the stale notification applied nothing"
    );
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_in_the_middle_of_an_order_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox(SandboxConfig::default()).await;
    let shop = start(settings(&sb, dir.path()), 0, None).await;
    let port = shop.port;
    let uid = paid_checkout(&sb, &http(), port, "restart-1").await;
    shop.stop().await;

    // The order moves on while the shop is down: its IPNs are lost.
    advance(&sb, uid).await;
    let while_down = advance(&sb, uid).await;
    assert!(
        matches!(
            answers(&sb, uid, &while_down)[..],
            [DeliveryResult::Failed(_)]
        ),
        "nobody listened: {:?}",
        sb.ipns_for(uid)
    );

    // Back on the same port: the reconciler catches up at start …
    let shop = start(settings(&sb, dir.path()), port, None).await;
    wait_fulfilled(dir.path(), "restart-1", &while_down).await;
    // … and the next IPN reaches the new instance.
    let next = advance(&sb, uid).await;
    assert!(answers(&sb, uid, &next).iter().all(delivered(200)));
    wait_fulfilled(dir.path(), "restart-1", &next).await;
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_database_fulfil_each_change_once() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox(SandboxConfig::default()).await;
    // Behind a balancer: A creates orders whose IPNs reach B, and B the
    // other way round; both reconcile the one database.
    let a = start(settings(&sb, dir.path()), 0, None).await;
    let b = start(settings(&sb, dir.path()), 0, Some(a.port)).await;
    let a = {
        let port = a.port;
        a.stop().await;
        start(settings(&sb, dir.path()), port, Some(b.port)).await
    };
    let client = http();
    let mut orders = Vec::new();
    for i in 0..6 {
        let (name, port) = (format!("two-{i}"), [a.port, b.port][i % 2]);
        orders.push((paid_checkout(&sb, &client, port, &name).await, name));
    }
    for (n, (uid, _)) in orders.iter().enumerate() {
        loop {
            if n % 3 == 0 {
                sb.drop_next_ipn(*uid); // left to the reconcilers
            }
            if advance(&sb, *uid).await == OrderStatus::Done {
                break;
            }
        }
    }
    for (_, name) in &orders {
        wait_fulfilled(dir.path(), name, &OrderStatus::Done).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let log = fulfilled(dir.path());
    let mut unique = log.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(log.len(), unique.len(), "a change fulfilled twice: {log:?}");
    a.stop().await;
    b.stop().await;
}

/// Concurrent calls of one key could arrive out of nonce order and be refused
/// ("Param time must be greater…"; 17–18 of 20 succeeded before the lane).
/// The per-key send lane keeps them in order, against a sandbox that checks
/// strictly and reorders concurrent keyed calls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_keyed_checkouts_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox(
        SandboxConfig::default()
            .test_api_key()
            .require_api_key(true)
            .reorder_keyed_calls(Duration::from_millis(20)),
    )
    .await;
    let mut vars = settings(&sb, dir.path());
    vars.insert(
        "SMARTEX_API_KEY".into(),
        smartex_sandbox::TEST_API_KEY.into(),
    );
    vars.insert(
        "SMARTEX_API_SECRET".into(),
        smartex_sandbox::TEST_API_SECRET.into(),
    );
    let shop = start(vars, 0, None).await;
    let client = http();
    let checkouts = (0..20).map(|i| {
        let client = client.clone();
        let port = shop.port;
        tokio::spawn(async move { checkout(&client, port, &format!("keyed-{i}")).await })
    });
    let mut answered = Vec::new();
    for checkout in checkouts.collect::<Vec<_>>() {
        answered.push(checkout.await.unwrap());
    }
    let redirected = answered.iter().filter(|(status, _)| *status == 303).count();
    assert_eq!(redirected, 20, "{answered:?}");
    assert_eq!(sb.orders().len(), 20);
    assert_eq!(sb.nonce_refusals(), 0);
    shop.stop().await;
}
